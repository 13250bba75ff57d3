//! Large imports: a job per uploaded file (NDJSON or CSV) of pupil records with their
//! inscriptions, the same items and rules as the synchronous batch (`partiel` mode: valid
//! lines applied, invalid ones reported with line, JSON pointer, code and French message).
//!
//! The file is read in chunks (`taille_tranche` lines); each chunk is one transaction holding
//! its rows, its rejections and the job's counters, so a job stopped at any point has applied
//! whole lines only, and its counters say exactly which. Re-running a file changes nothing and
//! reports every line `inchange`.
//!
//! Each line is read and checked in Rust by the domain (`ElementPousse::lire`), plus what one
//! file can tell about itself (an INE or a duplicate key repeated, a school unknown or outside
//! the perimeter, a niveau the school does not teach). What needs the base is then decided by
//! the backend: set-based statements over a COPY-loaded staging table on PostgreSQL
//! ([`postgres`]), one savepoint per line on SQLite ([`ligne_a_ligne`]); both give the same
//! outcome line by line.
//!
//! Uploads are kept in a spool directory of the node that received them (never in the
//! database); a job whose worker stops (crash, restart) stops beating and is marked `echoue` by
//! [`marquer_abandonnes`], not resumed: its committed chunks stay applied, and submitting the
//! file again completes it (the lines already applied come back `inchange`).
//!
//! Before each chunk, inside its transaction, the job re-reads its partner: revoked, suspended
//! or without `eleves:write`, the job applies nothing more and ends `interrompu` with a
//! [`MotifInterruption`]; the chunks committed before stay applied and are counted.

pub mod lecture;
mod ligne_a_ligne;
pub(crate) mod postgres;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use onde_domain::dossier::Lecture;
use onde_domain::poussee::ElementPousse;
use onde_domain::{CodeInsee, Perimetre, TypeEcole};
use uuid::Uuid;

use crate::schema::{ecoles, imports, imports_rejets, imports_suivi};
use crate::{par_backend, DbConnection, StoreError};

pub use lecture::ErreurFichier;

/// Lines per chunk (one transaction each): bounded memory, steady progress.
pub const TAILLE_TRANCHE: usize = 20_000;
/// A job whose worker has not committed anything for this long is considered stopped.
pub const SILENCE_MAX: chrono::Duration = chrono::Duration::minutes(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatImport {
    Ndjson,
    Csv,
}

impl FormatImport {
    pub fn as_str(self) -> &'static str {
        match self {
            FormatImport::Ndjson => "ndjson",
            FormatImport::Csv => "csv",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ndjson" => Some(FormatImport::Ndjson),
            "csv" => Some(FormatImport::Csv),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatutImport {
    EnAttente,
    EnCours,
    Termine,
    Echoue,
    /// Stopped at a chunk boundary because its partner may no longer write (see
    /// [`MotifInterruption`]).
    Interrompu,
}

impl StatutImport {
    pub fn as_str(self) -> &'static str {
        match self {
            StatutImport::EnAttente => "en_attente",
            StatutImport::EnCours => "en_cours",
            StatutImport::Termine => "termine",
            StatutImport::Echoue => "echoue",
            StatutImport::Interrompu => "interrompu",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            StatutImport::EnAttente,
            StatutImport::EnCours,
            StatutImport::Termine,
            StatutImport::Echoue,
            StatutImport::Interrompu,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// Why a job was interrupted: checked before every chunk against the partner's current
/// state, so a revocation, a suspension or a withdrawn `eleves:write` stops the job at its
/// next chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MotifInterruption {
    /// The partner, or the client that sent the file, was revoked.
    PartenaireRevoque,
    /// The partner was deactivated.
    PartenaireSuspendu,
    /// The partner no longer holds `eleves:write`.
    ScopeRetire,
    /// The partner's perimeter no longer covers the job's (a mandate, commune or UAI withdrawn).
    PerimetreReduit,
}

impl MotifInterruption {
    pub const TOUS: [MotifInterruption; 4] = [
        MotifInterruption::PartenaireRevoque,
        MotifInterruption::PartenaireSuspendu,
        MotifInterruption::ScopeRetire,
        MotifInterruption::PerimetreReduit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MotifInterruption::PartenaireRevoque => "partenaire_revoque",
            MotifInterruption::PartenaireSuspendu => "partenaire_suspendu",
            MotifInterruption::ScopeRetire => "scope_retire",
            MotifInterruption::PerimetreReduit => "perimetre_reduit",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::TOUS.into_iter().find(|m| m.as_str() == s)
    }

    fn message(self) -> &'static str {
        match self {
            MotifInterruption::PartenaireRevoque => "import interrompu : l'accès du partenaire a été révoqué",
            MotifInterruption::PartenaireSuspendu => "import interrompu : le partenaire a été suspendu",
            MotifInterruption::ScopeRetire => "import interrompu : le partenaire n'a plus le droit eleves:write",
            MotifInterruption::PerimetreReduit => {
                "import interrompu : le périmètre du partenaire ne couvre plus celui de l'import (mandat, commune ou école retiré)"
            }
        }
    }
}

/// A job row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = imports, treat_none_as_default_value = false)]
pub struct Import {
    pub id: String,
    pub partenaire_id: Option<String>,
    pub client_id: Option<String>,
    pub format: String,
    pub mode: String,
    pub statut: String,
    pub total: Option<i64>,
    pub traites: i64,
    pub crees: i64,
    pub modifies: i64,
    pub inchanges: i64,
    pub rejetes: i64,
    pub cree_le: NaiveDateTime,
    pub debut_le: Option<NaiveDateTime>,
    pub fin_le: Option<NaiveDateTime>,
    pub erreur: Option<String>,
}

impl Import {
    /// A new job waiting for its worker.
    pub fn nouveau(
        id: Uuid,
        partenaire_id: Option<Uuid>,
        client_id: Option<String>,
        format: FormatImport,
        maintenant: NaiveDateTime,
    ) -> Self {
        Self {
            id: id.to_string(),
            partenaire_id: partenaire_id.map(|p| p.to_string()),
            client_id,
            format: format.as_str().into(),
            mode: "partiel".into(),
            statut: StatutImport::EnAttente.as_str().into(),
            total: None,
            traites: 0,
            crees: 0,
            modifies: 0,
            inchanges: 0,
            rejetes: 0,
            cree_le: maintenant,
            debut_le: None,
            fin_le: None,
            erreur: None,
        }
    }
}

/// One rule a line breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejet {
    pub ligne: u64,
    pub pointeur: String,
    pub code: String,
    pub message: String,
    /// What the base found, for callers that answer with more than the message (the batch
    /// endpoint's problem documents); `None` for rules checked without the base.
    pub cause: Option<Cause>,
}

/// The facts behind a rejection decided by the base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// Another pupil holds the duplicate-detection key: what the caller may learn of it.
    Doublon(crate::eleves::Correspondance),
    /// The inscription state machine forbids the status change.
    Transition(onde_domain::DomainError),
}

/// What became of a line that was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Etat {
    Cree,
    Modifie,
    Inchange,
}

/// An applied line: its pupil and what became of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssueLigne {
    pub ligne: u64,
    pub eleve_id: Uuid,
    pub etat: Etat,
}

/// A stored rejection, with its rank among the violations of its line.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = imports_rejets)]
pub struct RejetStocke {
    pub import_id: String,
    pub ligne: i64,
    pub rang: i32,
    pub pointeur: String,
    pub code: String,
    pub message: String,
}

pub fn creer(conn: &mut DbConnection, import: &Import) -> Result<(), StoreError> {
    diesel::insert_into(imports::table).values(import).execute(conn)?;
    Ok(())
}

pub fn trouver(conn: &mut DbConnection, id: Uuid) -> Result<Option<Import>, StoreError> {
    Ok(imports::table
        .find(id.to_string())
        .select(Import::as_select())
        .first(conn)
        .optional()?)
}

/// Takes a waiting job for this worker; `false` if it is not (or no longer) waiting.
pub fn demarrer(conn: &mut DbConnection, id: Uuid, maintenant: NaiveDateTime) -> Result<bool, StoreError> {
    let n = diesel::update(
        imports::table
            .filter(imports::id.eq(id.to_string()))
            .filter(imports::statut.eq(StatutImport::EnAttente.as_str())),
    )
    .set((
        imports::statut.eq(StatutImport::EnCours.as_str()),
        imports::debut_le.eq(Some(maintenant)),
    ))
    .execute(conn)?;
    if n == 1 {
        battre(conn, id, maintenant)?;
    }
    Ok(n == 1)
}

/// The worker's sign of life.
fn battre(conn: &mut DbConnection, id: Uuid, t: NaiveDateTime) -> Result<(), StoreError> {
    diesel::update(imports_suivi::table.filter(imports_suivi::id.eq(id.to_string())))
        .set(imports_suivi::battement_le.eq(Some(t)))
        .execute(conn)?;
    Ok(())
}

/// The heartbeat of jobs queued on a node, waiting for one of its workers: they are alive
/// though no worker has claimed them yet. Jobs no longer waiting are left alone.
pub fn signaler_attente(conn: &mut DbConnection, ids: &[Uuid], t: NaiveDateTime) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    diesel::update(
        imports_suivi::table
            .filter(imports_suivi::statut.eq(StatutImport::EnAttente.as_str()))
            .filter(imports_suivi::id.eq_any(ids)),
    )
    .set(imports_suivi::battement_le.eq(Some(t)))
    .execute(conn)?;
    Ok(())
}

/// Marks failed every waiting or running job silent since before `avant` (its worker stopped:
/// crash, restart, lost node); returns how many. Chunks it committed stay applied.
pub fn marquer_abandonnes(
    conn: &mut DbConnection,
    avant: NaiveDateTime,
    maintenant: NaiveDateTime,
) -> Result<usize, StoreError> {
    use imports_suivi::dsl as s;
    let vivants = [StatutImport::EnAttente.as_str(), StatutImport::EnCours.as_str()];
    // coalesce(battement_le, cree_le) < avant: the last heartbeat, or the creation if none.
    let silencieux = || {
        s::imports_suivi.filter(s::statut.eq_any(vivants)).filter(
            s::battement_le
                .lt(avant)
                .or(s::battement_le.is_null().and(s::cree_le.lt(avant))),
        )
    };
    // Read first: this runs on every poll of a job, and a write would queue behind a running
    // chunk's write lock on SQLite (busy timeout, then an error) though nothing is to mark.
    let n: i64 = silencieux().count().get_result(conn)?;
    if n == 0 {
        return Ok(0);
    }
    Ok(diesel::update(silencieux())
        .set((
            s::statut.eq(StatutImport::Echoue.as_str()),
            s::fin_le.eq(Some(maintenant)),
            s::erreur.eq(Some(MESSAGE_ABANDON)),
        ))
        .execute(conn)?)
}

pub const MESSAGE_ABANDON: &str =
    "import interrompu (arrêt ou redémarrage du service) : les lignes comptées dans « traites » \
     sont appliquées ; renvoyez le fichier pour terminer (les lignes déjà appliquées seront inchangées)";

/// Rejections of a job in (line, rank) order, after `apres` when given.
pub fn rejets(
    conn: &mut DbConnection,
    id: Uuid,
    apres: Option<(i64, i32)>,
    limite: i64,
) -> Result<Vec<RejetStocke>, StoreError> {
    let mut q = imports_rejets::table
        .filter(imports_rejets::import_id.eq(id.to_string()))
        .select(RejetStocke::as_select())
        .order((imports_rejets::ligne.asc(), imports_rejets::rang.asc()))
        .limit(limite)
        .into_boxed();
    if let Some((ligne, rang)) = apres {
        q = q.filter(
            imports_rejets::ligne
                .gt(ligne)
                .or(imports_rejets::ligne.eq(ligne).and(imports_rejets::rang.gt(rang))),
        );
    }
    Ok(q.load(conn)?)
}

/// Retention of rejection reports (they quote the rejected lines' values): the reports of
/// finished imports created before `avant`. Returns (rejection rows, imports concerned); the
/// imports themselves (counts, state) are kept. With `simulation`, nothing is deleted.
pub fn purger_rejets(
    conn: &mut DbConnection,
    avant: NaiveDateTime,
    simulation: bool,
) -> Result<(usize, usize), StoreError> {
    conn.transaction(|conn| {
        let anciens: Vec<String> = imports::table
            .filter(imports::cree_le.lt(avant))
            .filter(imports::statut.eq_any(["termine", "echoue"]))
            .select(imports::id)
            .load(conn)?;
        let (mut lignes, mut concernes) = (0, 0);
        for lot in anciens.chunks(500) {
            let rejets = || imports_rejets::table.filter(imports_rejets::import_id.eq_any(lot));
            let avec: Vec<String> = rejets().select(imports_rejets::import_id).distinct().load(conn)?;
            concernes += avec.len();
            lignes += if simulation {
                let n: i64 = rejets().count().get_result(conn)?;
                usize::try_from(n).unwrap_or(0)
            } else {
                diesel::delete(rejets()).execute(conn)?
            };
        }
        Ok((lignes, concernes))
    })
}

/// Schools by UAI: type and commune, to check inscriptions while reading.
pub(crate) type Ecoles = HashMap<String, (TypeEcole, CodeInsee)>;

fn charger_ecoles(conn: &mut DbConnection) -> Result<Ecoles, StoreError> {
    let lignes: Vec<(String, String, String)> = ecoles::table
        .select((ecoles::uai, ecoles::type_ecole, ecoles::code_commune))
        .load(conn)?;
    carte_ecoles(lignes)
}

/// The schools among `uais` (a batch's), the others being unknown.
pub(crate) fn charger_ecoles_parmi(conn: &mut DbConnection, uais: &[String]) -> Result<Ecoles, StoreError> {
    let lignes: Vec<(String, String, String)> = ecoles::table
        .filter(ecoles::uai.eq_any(uais))
        .select((ecoles::uai, ecoles::type_ecole, ecoles::code_commune))
        .load(conn)?;
    carte_ecoles(lignes)
}

fn carte_ecoles(lignes: Vec<(String, String, String)>) -> Result<Ecoles, StoreError> {
    let mut carte = HashMap::with_capacity(lignes.len());
    for (uai, t, commune) in lignes {
        let t = crate::lignes::lire("ecoles", "type_ecole", TypeEcole::parse(&t))?;
        let commune = crate::lignes::lire("ecoles", "code_commune", CodeInsee::parse(&commune))?;
        carte.insert(uai, (t, commune));
    }
    Ok(carte)
}

/// A line that passed every check that needs no database.
#[derive(Debug, Clone)]
pub(crate) struct LigneValide {
    pub ligne: u64,
    pub element: ElementPousse,
    pub cle_doublon: String,
    /// A school check failed at this inscription rank (from 1), to be reported only if the
    /// base finds nothing that the item-by-item order checks first (the batch endpoint's
    /// order); the import rejects such lines while reading and leaves this `None`.
    pub faute_ecole: Option<(i32, Rejet)>,
}

/// What the backend decided for a chunk.
#[derive(Debug, Default)]
pub(crate) struct IssueTranche {
    pub crees: u64,
    pub modifies: u64,
    pub inchanges: u64,
    pub rejets: Vec<Rejet>,
    /// Pupils created or modified, for the audit trail.
    pub ecrits: Vec<Uuid>,
    /// Every applied line with its pupil and outcome.
    pub lignes: Vec<IssueLigne>,
}

impl IssueTranche {
    /// Counts an applied line (both backends).
    pub(crate) fn appliquee(&mut self, ligne: IssueLigne) {
        match ligne.etat {
            Etat::Cree => self.crees += 1,
            Etat::Modifie => self.modifies += 1,
            Etat::Inchange => self.inchanges += 1,
        }
        if ligne.etat != Etat::Inchange {
            self.ecrits.push(ligne.eleve_id);
        }
        self.lignes.push(ligne);
    }
}

/// The school check of one inscription: known, in the perimeter, teaching the niveau.
/// Returns the violation (pointer, code, message) when it fails.
pub(crate) fn verifier_ecole(
    ecoles: &Ecoles,
    perimetre: &Perimetre,
    p: &onde_domain::poussee::InscriptionPoussee,
) -> Option<(String, &'static str, String)> {
    match ecoles.get(p.uai.as_str()) {
        Some((t, commune)) if perimetre.contient_ecole(&p.uai, commune) => (!t.accueille(p.niveau)).then(|| {
            (
                format!("{}/niveau", p.pointeur),
                "niveau_non_accueilli",
                format!("une école {} n'accueille pas le niveau {}", t.as_str(), p.niveau),
            )
        }),
        _ => Some((
            format!("{}/uai", p.pointeur),
            "ecole_inconnue",
            format!("école {} inconnue ou hors de votre périmètre", p.uai),
        )),
    }
}

/// The per-file state of the checks made while reading.
struct Verificateur<'a> {
    ecoles: &'a Ecoles,
    perimetre: &'a Perimetre,
    aujourdhui: NaiveDate,
    /// INEs seen so far in the file.
    ines: HashSet<String>,
    /// Duplicate-detection key -> INE of the first line holding it.
    cles: HashMap<String, String>,
}

impl Verificateur<'_> {
    fn verifier(&mut self, ligne: u64, valeur: &serde_json::Value) -> Result<LigneValide, Vec<Rejet>> {
        let mut l = Lecture::default();
        let rejets = |l: Lecture| {
            l.manquements
                .into_iter()
                .map(|m| Rejet {
                    ligne,
                    pointeur: m.pointeur,
                    code: m.code.into(),
                    message: m.message,
                    cause: None,
                })
                .collect::<Vec<_>>()
        };
        let Some(element) = ElementPousse::lire(valeur, "", self.aujourdhui, &mut l).filter(|_| l.est_vide()) else {
            return Err(rejets(l));
        };
        for p in &element.inscriptions {
            if let Some((pointeur, code, message)) = verifier_ecole(self.ecoles, self.perimetre, p) {
                l.signaler(&pointeur, code, message);
            }
        }
        if !l.est_vide() {
            return Err(rejets(l));
        }
        let ine = element.ine.as_str().to_owned();
        if self.ines.contains(&ine) {
            l.signaler(
                "/eleve/ine",
                "ine_repete",
                format!("l'INE {ine} figure déjà sur une ligne précédente du fichier"),
            );
            return Err(rejets(l));
        }
        let cle = element.dossier.cle_doublon();
        if let Some(autre) = self.cles.get(&cle) {
            l.signaler(
                "/eleve",
                "eleve_en_doublon",
                format!(
                    "un élève de mêmes nom, prénom, sexe, date et lieu de naissance figure déjà dans le fichier (INE {autre})"
                ),
            );
            return Err(rejets(l));
        }
        self.ines.insert(ine.clone());
        self.cles.insert(cle.clone(), ine);
        Ok(LigneValide {
            ligne,
            element,
            cle_doublon: cle,
            faute_ecole: None,
        })
    }
}

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

fn maintenant() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// Ends a running job `interrompu` with its reason, in one statement (the table ties the
/// status and the reason together).
fn interrompre(conn: &mut DbConnection, id: Uuid, motif: MotifInterruption) -> Result<(), StoreError> {
    let erreur = format!(
        "{} : les lignes comptées dans « traites » sont appliquées, les suivantes ne le sont pas",
        motif.message()
    );
    diesel::update(
        imports_suivi::table
            .filter(imports_suivi::id.eq(id.to_string()))
            .filter(imports_suivi::statut.eq(StatutImport::EnCours.as_str())),
    )
    .set((
        imports_suivi::statut.eq(StatutImport::Interrompu.as_str()),
        imports_suivi::motif.eq(Some(motif.as_str())),
        imports_suivi::fin_le.eq(Some(maintenant())),
        imports_suivi::erreur.eq(Some(erreur)),
    ))
    .execute(conn)?;
    Ok(())
}

/// Why an `interrompu` job stopped (`None` for any other job, or an unknown one).
pub fn motif(conn: &mut DbConnection, id: Uuid) -> Result<Option<MotifInterruption>, StoreError> {
    let lignes: Vec<Option<String>> = imports_suivi::table
        .filter(imports_suivi::id.eq(id.to_string()))
        .select(imports_suivi::motif)
        .load(conn)?;
    lignes
        .into_iter()
        .next()
        .flatten()
        .map(|m| {
            MotifInterruption::parse(&m).ok_or_else(|| StoreError::Corrompu {
                table: "imports",
                colonne: "motif",
                detail: m.clone(),
            })
        })
        .transpose()
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
    let mut verificateur = Verificateur {
        ecoles: &ecoles,
        perimetre,
        aujourdhui: options.aujourdhui,
        ines: HashSet::new(),
        cles: HashMap::new(),
    };
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
