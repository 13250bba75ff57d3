//! A chunk applied set-based on PostgreSQL: the valid lines are COPY-loaded (binary format)
//! into temporary staging tables emptied at commit (`postgres/etape.rs`), then a bounded number
//! of statements decides and applies every line at once, whatever the chunk size:
//!
//! 1. pupils matched by INE and classified in one pass: `inchange` when the stored fingerprint
//!    equals the record's (`crate::empreinte`), else `modifie`; a pupil without a stored
//!    fingerprint is compared column by column and by its guardians, as before the column;
//! 2. rejections, in the order of the line-by-line path: an existing pupil outside the
//!    perimeter, a new pupil that would land outside it, a duplicate key held by another pupil,
//!    an inscription conflicting with another school's active one or an illegal status change
//!    (transitions from the domain's state machine); the same statement returns the pushed
//!    inscriptions that differ from the stored ones;
//! 3. `INSERT … ON CONFLICT (ine) DO UPDATE` of the new and changed pupils (`xmax = 0` tells a
//!    creation), guardians replaced for the changed ones (orphans deleted), inscriptions updated
//!    where they differ and inserted where the year has none, then the chunk's feed.
//!
//! A statement whose input the earlier ones showed to be empty is not sent: a chunk of
//! unchanged records stops after step 2, and writes nothing, not even to the feed.

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
use diesel::PgConnection;
use onde_domain::{Perimetre, StatutInscription};
use std::collections::HashSet;

use uuid::Uuid;

use super::ligne_a_ligne::{
    message_doublon, message_inscription_existante, MESSAGE_ELEVE_SORTIRAIT, MESSAGE_INE_HORS,
    MESSAGE_NOUVEL_ELEVE_HORS,
};
use super::rejets::{Cause, Etat, IssueLigne, IssueTranche, Rejet};
use super::verification::LigneValide;
use crate::StoreError;
use etape::{charger, vers_i64, LIGNES_ANALYSE};
use preparee::{avec_instant, instructions, preparee};

mod etape;
mod preparee;

/// The staging tables, created once per connection and emptied at every commit.
const TABLES_ETAPE: &str = include_str!("../../sql/postgres/tranche/etape.sql");

/// Turns the feed's statement triggers off until [`NOTER_CHANGEMENTS`], for this transaction
/// only (undone with it, or with the savepoint it was set in): see `changements_differes()` in
/// `crates/store/sql/postgres/changements_noter.sql`.
const FLUX_DIFFERE: &str = "SELECT set_config('onde.changements_differes', 'on', true)";

/// The chunk's feed, written once from the staging tables: the events and perimeter keys the
/// triggers would have written statement by statement, merged into the transaction's other
/// events by `changements_noter`; then the triggers are back on. Written only when the
/// triggers did stand aside (`changements_differes()`); tests/suite/lots.rs compares the two ways.
const NOTER_CHANGEMENTS: &str = include_str!("../../sql/postgres/tranche/noter_changements.sql");

/// The statements of [`appliquer`], in its order; each file says what its statement decides.
const HORS_PERIMETRE: &str = include_str!("../../sql/postgres/tranche/hors_perimetre.sql");
const HORS_PERIMETRE_APRES: &str = include_str!("../../sql/postgres/tranche/hors_perimetre_apres.sql");
const CLASSEMENT: &str = include_str!("../../sql/postgres/tranche/classement.sql");
const DOUBLONS: &str = include_str!("../../sql/postgres/tranche/doublons.sql");
const CONFLITS_INSCRIPTIONS: &str = include_str!("../../sql/postgres/tranche/conflits_inscriptions.sql");
const ECRIRE_ELEVES: &str = include_str!("../../sql/postgres/tranche/ecrire_eleves.sql");
const ANCIENS_LIENS: &str = include_str!("../../sql/postgres/tranche/anciens_liens.sql");
const RESPONSABLES: &str = include_str!("../../sql/postgres/tranche/responsables.sql");
const LIENS: &str = include_str!("../../sql/postgres/tranche/liens.sql");
const INSCRIPTIONS_MODIFIEES: &str = include_str!("../../sql/postgres/tranche/inscriptions_modifiees.sql");
const INSCRIPTIONS_NOUVELLES: &str = include_str!("../../sql/postgres/tranche/inscriptions_nouvelles.sql");

#[derive(QueryableByName)]
struct Ligne {
    #[diesel(sql_type = BigInt)]
    ligne: i64,
}

#[derive(QueryableByName)]
struct Candidat {
    #[diesel(sql_type = BigInt)]
    ligne: i64,
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Nullable<Text>)]
    ine: Option<String>,
    #[diesel(sql_type = Bool)]
    visible: bool,
}

#[derive(QueryableByName)]
struct LigneNouvelle {
    #[diesel(sql_type = BigInt)]
    ligne: i64,
    #[diesel(sql_type = Bool)]
    nouveau: bool,
}

fn listes(p: &Perimetre) -> Option<(Vec<String>, Vec<String>)> {
    match p {
        Perimetre::National => None,
        Perimetre::Restreint { communes, uais } => Some((
            communes.iter().map(|c| c.as_str().to_owned()).collect(),
            uais.iter().map(|u| u.as_str().to_owned()).collect(),
        )),
    }
}

#[derive(QueryableByName)]
struct EcartInscription {
    #[diesel(sql_type = BigInt)]
    ligne: i64,
    #[diesel(sql_type = Text)]
    pointeur: String,
    #[diesel(sql_type = Nullable<Text>)]
    uai_active: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    annee_scolaire: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    statut_actuel: Option<String>,
    #[diesel(sql_type = Text)]
    statut_pousse: String,
    #[diesel(sql_type = Bool)]
    autre_ecole: bool,
    #[diesel(sql_type = Bool)]
    conflit: bool,
}

#[derive(QueryableByName)]
struct Applique {
    #[diesel(sql_type = BigInt)]
    ligne: i64,
    #[diesel(sql_type = Text)]
    eleve_id: String,
    #[diesel(sql_type = Text)]
    etat: String,
}

fn rejeter(c: &mut PgConnection, issue: &mut IssueTranche, rejets: Vec<Rejet>) -> Result<(), StoreError> {
    if rejets.is_empty() {
        return Ok(());
    }
    let lignes: Vec<i64> = rejets.iter().map(|r| vers_i64(r.ligne)).collect();
    diesel::sql_query("UPDATE etape_eleves SET rejete = TRUE WHERE ligne = ANY($1)")
        .bind::<Array<BigInt>, _>(lignes)
        .execute(c)?;
    issue.rejets.extend(rejets);
    Ok(())
}

fn rejet(ligne: i64, pointeur: impl Into<String>, code: &str, message: impl Into<String>) -> Rejet {
    Rejet {
        ligne: u64::try_from(ligne).unwrap_or(0),
        pointeur: pointeur.into(),
        code: code.into(),
        message: message.into(),
        cause: None,
    }
}

/// The legal status changes, from the domain: `(from[i], to[i])`.
fn transitions() -> (Vec<&'static str>, Vec<&'static str>) {
    StatutInscription::TOUS
        .iter()
        .flat_map(|d| d.transitions().iter().map(move |v| (d.as_str(), v.as_str())))
        .unzip()
}

/// Applies the lines of a chunk; call inside the chunk's transaction. A line whose pupil would
/// be outside a restricted perimeter once written (no inscription in it, no address in it) is
/// refused, for the import as for the batch endpoint. The lines must not share an INE.
pub(crate) fn appliquer(
    c: &mut PgConnection,
    perimetre: &Perimetre,
    lignes: &[LigneValide],
    maintenant: NaiveDateTime,
) -> Result<IssueTranche, StoreError> {
    let mut issue = IssueTranche::default();
    if lignes.is_empty() {
        return Ok(issue);
    }
    c.batch_execute(TABLES_ETAPE)?;
    charger(c, lignes)?;

    // Match and classification: created, or changed (fingerprint, or columns and guardians when
    // the stored pupil has none), or unchanged. One pass over the staged lines.
    let trouves: Vec<Applique> = preparee(CLASSEMENT).load(c)?;
    let inchangees: HashSet<i64> = trouves
        .iter()
        .filter(|t| t.etat == "inchange")
        .map(|t| t.ligne)
        .collect();
    // Whether a line not rejected so far has its pupil to write.
    let a_ecrire = |issue: &IssueTranche| {
        let rejetees: HashSet<u64> = issue.rejets.iter().map(|r| r.ligne).collect();
        lignes
            .iter()
            .any(|v| !rejetees.contains(&v.ligne) && !inchangees.contains(&vers_i64(v.ligne)))
    };

    // Perimeter: an existing pupil must be visible, and every pupil must stay (or land) inside
    // once written: enrolled in one of its schools (the school checks reject the others), living
    // in one of its communes, or already enrolled in one of its schools.
    if let Some((communes, uais)) = listes(perimetre) {
        let hors: Vec<Ligne> = diesel::sql_query(HORS_PERIMETRE)
            .bind::<Array<Text>, _>(&communes)
            .bind::<Array<Text>, _>(&uais)
            .load(c)?;
        let rejets = hors
            .into_iter()
            .map(|h| rejet(h.ligne, "/eleve/ine", "ine_hors_perimetre", MESSAGE_INE_HORS))
            .collect();
        rejeter(c, &mut issue, rejets)?;
        let dehors: Vec<LigneNouvelle> = diesel::sql_query(HORS_PERIMETRE_APRES)
            .bind::<Array<Text>, _>(&communes)
            .bind::<Array<Text>, _>(&uais)
            .load(c)?;
        let rejets = dehors
            .into_iter()
            .map(|l| {
                let message = if l.nouveau {
                    MESSAGE_NOUVEL_ELEVE_HORS
                } else {
                    MESSAGE_ELEVE_SORTIRAIT
                };
                rejet(l.ligne, "/eleve", "eleve_hors_perimetre", message)
            })
            .collect();
        rejeter(c, &mut issue, rejets)?;
    }

    // Duplicates: a new or changed record whose key another pupil holds; whether the caller
    // sees that pupil decides what the rejection may tell of it. Unchanged records hold their
    // key already.
    if a_ecrire(&issue) {
        let (communes, uais) = listes(perimetre).unzip();
        let doublons: Vec<Candidat> = diesel::sql_query(DOUBLONS)
            .bind::<Nullable<Array<Text>>, _>(communes)
            .bind::<Nullable<Array<Text>>, _>(uais)
            .load(c)?;
        let rejets = doublons
            .into_iter()
            .map(|d| {
                let correspondance = match Uuid::parse_str(&d.id) {
                    Ok(id) if d.visible => crate::eleves::Correspondance::Visible { id, ine: d.ine },
                    _ => crate::eleves::Correspondance::HorsPerimetre,
                };
                let mut r = rejet(d.ligne, "/eleve", "eleve_en_doublon", message_doublon(&correspondance));
                r.cause = Some(Cause::Doublon(correspondance));
                r
            })
            .collect();
        rejeter(c, &mut issue, rejets)?;
    }

    // Inscriptions: another school's active one this year, or a status change the state
    // machine forbids; the first failing inscription of a line names the line's rejection.
    // The same pass returns the pushed inscriptions that differ from the stored ones.
    let (de, vers) = transitions();
    let ecarts: Vec<EcartInscription> = diesel::sql_query(CONFLITS_INSCRIPTIONS)
        .bind::<Array<Text>, _>(de)
        .bind::<Array<Text>, _>(vers)
        .load(c)?;
    let mut rejets: Vec<Rejet> = Vec::new();
    let mut differentes: Vec<i64> = Vec::with_capacity(ecarts.len());
    for k in ecarts {
        if !k.conflit {
            differentes.push(k.ligne);
        } else if rejets.last().map(|r| r.ligne) != Some(u64::try_from(k.ligne).unwrap_or(0)) {
            rejets.push(rejet_inscription(k));
        }
    }
    rejeter(c, &mut issue, rejets)?;

    // School faults found while reading, for the lines nothing checked before them rejected.
    let deja: HashSet<u64> = issue.rejets.iter().map(|r| r.ligne).collect();
    let rejets = lignes
        .iter()
        .filter(|v| !deja.contains(&v.ligne))
        .filter_map(|v| v.faute_ecole.as_ref().map(|(_, r)| r.clone()))
        .collect();
    rejeter(c, &mut issue, rejets)?;

    let eleves = a_ecrire(&issue);
    let rejetees: HashSet<u64> = issue.rejets.iter().map(|r| r.ligne).collect();
    let inscriptions = differentes
        .iter()
        .any(|l| !rejetees.contains(&u64::try_from(*l).unwrap_or(0)));
    if !eleves && !inscriptions {
        // Nothing to write: every line left is an unchanged pupil with its inscriptions.
        let mut trouves = trouves;
        trouves.sort_unstable_by_key(|t| t.ligne);
        for t in trouves {
            if !rejetees.contains(&u64::try_from(t.ligne).unwrap_or(0)) {
                issue.appliquee(applique(t)?);
            }
        }
        return Ok(issue);
    }

    // Apply: pupils, then their guardians, then their inscriptions. The feed's triggers stand
    // aside for these statements; the chunk's events are written once, at the end.
    preparee(FLUX_DIFFERE).execute(c)?;
    if eleves {
        ecrire_eleves(c, &mut issue, maintenant)?;
    }
    if inscriptions {
        avec_instant(INSCRIPTIONS_MODIFIEES, &maintenant).execute(c)?;
        avec_instant(INSCRIPTIONS_NOUVELLES, &maintenant).execute(c)?;
    }

    if lignes.len() >= LIGNES_ANALYSE {
        // The statistics taken after the load say no line was written yet: planned on them,
        // the notes of a 20,000-line chunk joined every written inscription to every other.
        c.batch_execute(
            "ANALYZE etape_eleves; ANALYZE etape_inscriptions_ecrites; ANALYZE etape_anciens_responsables;",
        )?;
    }
    for i in instructions(NOTER_CHANGEMENTS) {
        preparee(i).execute(c)?;
    }

    let appliques: Vec<Applique> = preparee(
        "SELECT ligne, eleve_id, etat FROM etape_eleves WHERE NOT rejete AND eleve_id IS NOT NULL ORDER BY ligne",
    )
    .load(c)?;
    issue.lignes.reserve(appliques.len());
    for a in appliques {
        issue.appliquee(applique(a)?);
    }
    Ok(issue)
}

/// New and changed pupils written, with their guardians; a line whose pupil another writer
/// created or changed meanwhile is rejected.
fn ecrire_eleves(c: &mut PgConnection, issue: &mut IssueTranche, maintenant: NaiveDateTime) -> Result<(), StoreError> {
    avec_instant(ECRIRE_ELEVES, &maintenant).execute(c)?;
    let concurrentes: Vec<Ligne> = preparee(
        "SELECT ligne FROM etape_eleves WHERE NOT rejete AND etat IN ('cree', 'modifie') AND ecriture IS NULL",
    )
    .load(c)?;
    let rejets = concurrentes
        .into_iter()
        .map(|l| {
            rejet(
                l.ligne,
                "/eleve",
                "version_concurrente",
                "l'élève a été créé ou modifié par une autre écriture pendant celle-ci ; renvoyez la ligne",
            )
        })
        .collect();
    rejeter(c, issue, rejets)?;
    preparee(ANCIENS_LIENS).execute(c)?;
    avec_instant(RESPONSABLES, &maintenant).execute(c)?;
    for i in instructions(LIENS) {
        preparee(i).execute(c)?;
    }
    Ok(())
}

/// The rejection of a line by its first conflicting inscription.
fn rejet_inscription(k: EcartInscription) -> Rejet {
    let statut_actuel = k.statut_actuel.unwrap_or_default();
    if k.autre_ecole {
        return rejet(
            k.ligne,
            format!("{}/uai", k.pointeur),
            "inscription_active_existante",
            message_inscription_existante(
                k.annee_scolaire.as_deref().unwrap_or_default(),
                k.uai_active.as_deref().unwrap_or_default(),
            ),
        );
    }
    let erreur = match (
        StatutInscription::parse(&statut_actuel),
        StatutInscription::parse(&k.statut_pousse),
    ) {
        (Ok(d), Ok(v)) => d.passer_a(v).err(),
        _ => None,
    };
    let message = erreur
        .as_ref()
        .map(|e| e.to_string())
        .unwrap_or_else(|| format!("transition de {} vers {} interdite", statut_actuel, k.statut_pousse));
    let mut r = rejet(
        k.ligne,
        format!("{}/statut", k.pointeur),
        "transition_interdite",
        message,
    );
    r.cause = erreur.map(Cause::Transition);
    r
}

fn applique(a: Applique) -> Result<IssueLigne, StoreError> {
    let eleve_id = crate::lignes::lire_uuid("etape_eleves", "eleve_id", &a.eleve_id)?;
    let etat = match a.etat.as_str() {
        "cree" => Etat::Cree,
        "modifie" => Etat::Modifie,
        _ => Etat::Inchange,
    };
    Ok(IssueLigne {
        ligne: u64::try_from(a.ligne).unwrap_or(0),
        eleve_id,
        etat,
    })
}
