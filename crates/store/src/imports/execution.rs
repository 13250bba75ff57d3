//! Running a job: the file read in chunks, each chunk one transaction that re-reads the
//! partner's rights, applies the valid lines on the backend, stores the rejections, moves the
//! counters and inserts the audit record.

use std::collections::HashMap;
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use onde_domain::Perimetre;
use uuid::Uuid;

use super::lecture::{self, ErreurFichier};
use super::rejets::{IssueTranche, Rejet, RejetStocke};
use super::statut::{FormatImport, MotifInterruption, StatutImport};
use super::suivi::{battre, demarrer, interrompre, maintenant, trouver, Import};
use super::verification::{charger_ecoles, LigneValide, Verificateur};
use super::{ligne_a_ligne, postgres};
use crate::par_backend;
use crate::schema::{imports, imports_rejets};
use crate::{DbConnection, StoreError};

/// Lines per chunk (one transaction each): bounded memory, steady progress.
pub const TAILLE_TRANCHE: usize = 20_000;

/// Where a job stands, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Avancement {
    pub total: u64,
    pub traites: u64,
    pub crees: u64,
    pub modifies: u64,
    pub inchanges: u64,
    pub rejetes: u64,
}

/// Builds the audit record of the pupils a chunk wrote (`None`: nothing to record). It is
/// inserted in the chunk's own transaction: a chunk never commits without its record.
pub type NoteAudit = std::sync::Arc<Noteur>;
pub type Noteur = dyn Fn(&[Uuid]) -> Option<crate::audit::NouvelleEntree> + Send + Sync;

#[derive(Clone)]
pub struct OptionsImport {
    pub taille_tranche: usize,
    /// Bounds birth dates; defaults inscription dates.
    pub aujourdhui: NaiveDate,
    /// Longest line (or CSV record) read, in bytes; a longer one is one rejection.
    pub ligne_max_octets: usize,
    /// The audit record of each chunk's writes, committed with the chunk.
    pub audit: Option<NoteAudit>,
}

impl std::fmt::Debug for OptionsImport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OptionsImport")
            .field("taille_tranche", &self.taille_tranche)
            .field("aujourdhui", &self.aujourdhui)
            .field("ligne_max_octets", &self.ligne_max_octets)
            .field("audit", &self.audit.is_some())
            .finish()
    }
}

impl Default for OptionsImport {
    fn default() -> Self {
        Self {
            taille_tranche: TAILLE_TRANCHE,
            aujourdhui: chrono::Utc::now().date_naive(),
            ligne_max_octets: lecture::LIGNE_MAX_OCTETS,
            audit: None,
        }
    }
}

/// Why a job stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum EchecImport {
    /// The file itself is unusable (unreadable, bad CSV header).
    #[error("{}", .0.message)]
    Fichier(ErreurFichier),
    #[error(transparent)]
    Base(#[from] StoreError),
    /// The job was taken away (marked failed as silent) or abandoned by the caller.
    #[error("import abandonné")]
    Abandonne,
    /// The partner may no longer write: the job stops before its next chunk.
    #[error("{}", .0.message())]
    Interrompu(MotifInterruption),
}

impl From<diesel::result::Error> for EchecImport {
    fn from(e: diesel::result::Error) -> Self {
        EchecImport::Base(StoreError::from(e))
    }
}

/// Runs a waiting job to its end: claims it, reads `fichier`, applies chunk after chunk and
/// records the outcome on the job. `suivi` is called after each committed chunk with the
/// progress and the pupils written; returning `false` abandons the job there (it stays
/// `en_cours` until [`marquer_abandonnes`] sees it silent — what a crash looks like).
/// Returns `None` when the job was not waiting (already taken by another worker).
pub fn executer(
    conn: &mut DbConnection,
    id: Uuid,
    fichier: &Path,
    format: FormatImport,
    perimetre: &Perimetre,
    options: &OptionsImport,
    suivi: &mut dyn FnMut(&Avancement, &[Uuid]) -> bool,
) -> Result<Option<Import>, StoreError> {
    if !demarrer(conn, id, maintenant())? {
        return Ok(None);
    }
    let auteur = trouver(conn, id)?.and_then(|i| i.partenaire_id.map(|p| (p, i.client_id)));
    let fin = match derouler(conn, id, fichier, format, perimetre, auteur.as_ref(), options, suivi) {
        Ok(()) => (StatutImport::Termine, None),
        Err(EchecImport::Abandonne) => return trouver(conn, id),
        Err(EchecImport::Interrompu(motif)) => {
            interrompre(conn, id, motif)?;
            return trouver(conn, id);
        }
        Err(EchecImport::Fichier(e)) => (StatutImport::Echoue, Some(e.message)),
        Err(EchecImport::Base(e)) => {
            tracing::error!(import = %id, erreur = %e, "import en échec");
            let message = if e.est_indisponibilite() {
                "base de données indisponible pendant l'import"
            } else {
                "erreur interne pendant l'import (journalisée)"
            };
            (
                StatutImport::Echoue,
                Some(format!(
                    "{message} : les lignes comptées dans « traites » sont appliquées ; renvoyez le fichier pour terminer"
                )),
            )
        }
    };
    diesel::update(
        imports::table
            .filter(imports::id.eq(id.to_string()))
            .filter(imports::statut.eq(StatutImport::EnCours.as_str())),
    )
    .set((
        imports::statut.eq(fin.0.as_str()),
        imports::fin_le.eq(Some(maintenant())),
        imports::erreur.eq(fin.1),
    ))
    .execute(conn)?;
    trouver(conn, id)
}

/// Whether the job's partner may still write pupils through the client that sent the file:
/// `None` if so, else why not. Read inside the chunk's transaction.
fn motif_d_arret(
    conn: &mut DbConnection,
    partenaire_id: &str,
    client_id: Option<&str>,
    perimetre: &Perimetre,
) -> Result<Option<MotifInterruption>, StoreError> {
    use crate::schema::{clients, partenaires};
    let partenaire: Option<(bool, String)> = partenaires::table
        .find(partenaire_id)
        .select((partenaires::actif, partenaires::scopes))
        .first(conn)
        .optional()?;
    let Some((actif, scopes)) = partenaire else {
        return Ok(Some(MotifInterruption::PartenaireRevoque));
    };
    if let Some(client) = client_id {
        let revoque: Option<Option<NaiveDateTime>> = clients::table
            .find(client)
            .select(clients::revoque_le)
            .first(conn)
            .optional()?;
        if !matches!(revoque, Some(None)) {
            return Ok(Some(MotifInterruption::PartenaireRevoque));
        }
    }
    if !actif {
        return Ok(Some(MotifInterruption::PartenaireSuspendu));
    }
    let scopes = crate::lignes::lire("partenaires", "scopes", onde_domain::Scopes::parse_liste(&scopes))?;
    if !scopes.contient(onde_domain::Scope::ElevesWrite) {
        return Ok(Some(MotifInterruption::ScopeRetire));
    }
    // Where it may write pupils now must still cover where the job writes (the job's
    // perimeter may be one mandate of it: a subset).
    let id = crate::lignes::lire_uuid("partenaires", "id", partenaire_id)?;
    let courant = crate::partenaires::trouver(conn, id)?
        .and_then(|p| p.partenaire.droits(None, onde_domain::Scope::ElevesWrite).ok())
        .map(|d| d.perimetre);
    if !courant.is_some_and(|c| perimetre.inclus_dans(&c)) {
        return Ok(Some(MotifInterruption::PerimetreReduit));
    }
    Ok(None)
}

/// The partner (and client) a job writes for; `None` for a national import (CLI).
type Auteur = (String, Option<String>);

#[allow(clippy::too_many_arguments)]
fn derouler(
    conn: &mut DbConnection,
    id: Uuid,
    fichier: &Path,
    format: FormatImport,
    perimetre: &Perimetre,
    auteur: Option<&Auteur>,
    options: &OptionsImport,
    suivi: &mut dyn FnMut(&Avancement, &[Uuid]) -> bool,
) -> Result<(), EchecImport> {
    let total = lecture::compter(fichier, format, options.ligne_max_octets).map_err(EchecImport::Fichier)?;
    let n = diesel::update(
        imports::table
            .filter(imports::id.eq(id.to_string()))
            .filter(imports::statut.eq(StatutImport::EnCours.as_str())),
    )
    .set(imports::total.eq(Some(i64::try_from(total).unwrap_or(i64::MAX))))
    .execute(conn)?;
    if n == 0 {
        return Err(EchecImport::Abandonne);
    }
    battre(conn, id, maintenant())?;
    let ecoles = charger_ecoles(conn)?;
    let mut verificateur = Verificateur::nouveau(&ecoles, perimetre, options.aujourdhui);
    let taille = options.taille_tranche.max(1);
    let mut avancement = Avancement {
        total,
        traites: 0,
        crees: 0,
        modifies: 0,
        inchanges: 0,
        rejetes: 0,
    };
    let mut tranche = Tranche::default();
    let mut echec: Option<EchecImport> = None;
    let mut appliquer = |tranche: &mut Tranche, avancement: &mut Avancement| -> Result<bool, EchecImport> {
        let t = std::mem::take(tranche);
        let (issue, lignes) = appliquer_tranche(conn, id, perimetre, auteur, options.audit.as_deref(), t)?;
        avancement.traites += lignes;
        avancement.crees += issue.crees;
        avancement.modifies += issue.modifies;
        avancement.inchanges += issue.inchanges;
        avancement.rejetes += lignes - issue.crees - issue.modifies - issue.inchanges;
        Ok(suivi(avancement, &issue.ecrits))
    };
    lecture::parcourir(fichier, format, options.ligne_max_octets, &mut |e| {
        match e {
            lecture::Enregistrement::Valeur { ligne, valeur } => match verificateur.verifier(ligne, &valeur) {
                Ok(v) => tranche.valides.push(v),
                Err(r) => tranche.rejets.push((ligne, r)),
            },
            lecture::Enregistrement::Illisible(r) => tranche.rejets.push((r.ligne, vec![r])),
        }
        if tranche.len() >= taille {
            match appliquer(&mut tranche, &mut avancement) {
                Ok(true) => {}
                Ok(false) => {
                    echec = Some(EchecImport::Abandonne);
                    return false;
                }
                Err(e) => {
                    echec = Some(e);
                    return false;
                }
            }
        }
        true
    })
    .map_err(EchecImport::Fichier)?;
    if let Some(e) = echec {
        return Err(e);
    }
    if tranche.len() > 0 && !appliquer(&mut tranche, &mut avancement)? {
        return Err(EchecImport::Abandonne);
    }
    Ok(())
}

#[derive(Default)]
struct Tranche {
    valides: Vec<LigneValide>,
    /// Lines rejected while reading, with every violation.
    rejets: Vec<(u64, Vec<Rejet>)>,
}

impl Tranche {
    fn len(&self) -> usize {
        self.valides.len() + self.rejets.len()
    }
}

/// One transaction: the backend's decisions, the rejections and the job's counters. The
/// counters are only moved while the job is still `en_cours`, else everything rolls back.
fn appliquer_tranche(
    conn: &mut DbConnection,
    id: Uuid,
    perimetre: &Perimetre,
    auteur: Option<&Auteur>,
    audit: Option<&Noteur>,
    tranche: Tranche,
) -> Result<(IssueTranche, u64), EchecImport> {
    let lignes = u64::try_from(tranche.len()).unwrap_or(u64::MAX);
    conn.transaction(|c| {
        let horodatage = maintenant();
        // A write first: on SQLite the transaction takes the write lock now, waiting behind
        // other writers (busy timeout), instead of failing at its first write after reads.
        battre(c, id, horodatage)?;
        // The partner's current rights, not those it had when it sent the file: a revoked,
        // suspended or withdrawn partner's job applies no further chunk.
        if let Some((partenaire, client)) = auteur {
            if let Some(motif) = motif_d_arret(c, partenaire, client.as_deref(), perimetre)? {
                return Err(EchecImport::Interrompu(motif));
            }
        }
        let issue = match c {
            DbConnection::Pg(pg) => postgres::appliquer(pg, perimetre, &tranche.valides, horodatage)?,
            DbConnection::Sqlite(_) => ligne_a_ligne::appliquer(c, perimetre, &tranche.valides, horodatage)?,
        };
        let mut stockes: Vec<RejetStocke> = Vec::new();
        let mut rangs: HashMap<u64, i32> = HashMap::new();
        let en_lecture = tranche.rejets.iter().flat_map(|(_, r)| r.iter());
        for r in en_lecture.chain(issue.rejets.iter()) {
            let rang = rangs.entry(r.ligne).or_insert(0);
            *rang += 1;
            stockes.push(RejetStocke {
                import_id: id.to_string(),
                ligne: i64::try_from(r.ligne).unwrap_or(i64::MAX),
                rang: *rang,
                pointeur: r.pointeur.clone(),
                code: r.code.clone(),
                message: r.message.clone(),
            });
        }
        // SQLite binds at most 32,766 parameters per statement: 6 per row.
        for paquet in stockes.chunks(2_000) {
            par_backend!(c, cc => diesel::insert_into(imports_rejets::table).values(paquet).execute(cc))?;
        }
        if let Some(e) = audit.and_then(|noter| noter(&issue.ecrits)) {
            crate::audit::inserer_lot(c, &[e])?;
        }
        let rejetees = i64::try_from(rangs.len()).unwrap_or(i64::MAX);
        let vers_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let n = diesel::update(
            imports::table
                .filter(imports::id.eq(id.to_string()))
                .filter(imports::statut.eq(StatutImport::EnCours.as_str())),
        )
        .set((
            imports::traites.eq(imports::traites + vers_i64(lignes)),
            imports::crees.eq(imports::crees + vers_i64(issue.crees)),
            imports::modifies.eq(imports::modifies + vers_i64(issue.modifies)),
            imports::inchanges.eq(imports::inchanges + vers_i64(issue.inchanges)),
            imports::rejetes.eq(imports::rejetes + rejetees),
        ))
        .execute(c)?;
        if n == 0 {
            return Err(EchecImport::Abandonne);
        }
        Ok((issue, lignes))
    })
}
