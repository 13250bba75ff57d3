//! A chunk applied set-based on PostgreSQL: the valid lines are COPY-loaded (binary format)
//! into temporary staging tables dropped at commit, then a fixed number of statements decides
//! and applies every line at once, whatever the chunk size:
//!
//! 1. pupils matched by INE; rejections, in the order of the line-by-line path: an existing
//!    pupil outside the perimeter, a new pupil that would land outside it, a duplicate key held
//!    by another pupil, an inscription conflicting with another school's active one or an
//!    illegal status change (transitions from the domain's state machine);
//! 2. a pupil is `inchange` when its columns and its guardians (compared by a fingerprint built
//!    by the same SQL expression on both sides) are equal;
//! 3. `INSERT … ON CONFLICT (ine) DO UPDATE` of the new and changed pupils (`xmax = 0` tells a
//!    creation), guardians replaced for the changed ones (orphans deleted), inscriptions updated
//!    where they differ and inserted where the year has none.

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamp};
use diesel::PgConnection;
use onde_domain::{Perimetre, StatutInscription};
use uuid::Uuid;

use super::ligne_a_ligne::{
    message_doublon, message_inscription_existante, MESSAGE_ELEVE_SORTIRAIT, MESSAGE_INE_HORS,
    MESSAGE_NOUVEL_ELEVE_HORS,
};
use super::{Cause, Etat, IssueLigne, IssueTranche, LigneValide, Rejet};
use crate::StoreError;

diesel::table! {
    etape_eleves (ligne) {
        ligne -> BigInt,
        ine -> Text,
        nouvel_id -> Text,
        nom -> Text,
        prenom1 -> Text,
        prenom2 -> Nullable<Text>,
        prenom3 -> Nullable<Text>,
        sexe -> Text,
        date_naissance -> Date,
        lieu_naissance -> Text,
        adresse_voie -> Nullable<Text>,
        adresse_code_postal -> Nullable<Text>,
        adresse_commune -> Nullable<Text>,
        cle_doublon -> Text,
        nb_inscriptions -> Integer,
        rang_faute -> Nullable<Integer>,
    }
}

diesel::table! {
    etape_responsables (ligne, rang) {
        ligne -> BigInt,
        rang -> Integer,
        id -> Text,
        nom -> Text,
        prenom -> Text,
        lien -> Text,
        autorite_parentale -> Bool,
        telephone -> Nullable<Text>,
        courriel -> Nullable<Text>,
        adresse -> Nullable<Text>,
    }
}

diesel::table! {
    etape_inscriptions (ligne, rang) {
        ligne -> BigInt,
        rang -> Integer,
        pointeur -> Text,
        nouvel_id -> Text,
        uai -> Text,
        annee_scolaire -> Text,
        niveau -> Text,
        classe -> Nullable<Text>,
        dispositif -> Nullable<Text>,
        statut -> Text,
        admission_provisoire -> Bool,
        date_inscription -> Date,
        date_admission -> Nullable<Date>,
        date_admission_creation -> Nullable<Date>,
    }
}

#[derive(Insertable)]
#[diesel(table_name = etape_eleves, treat_none_as_default_value = false)]
struct EtapeEleve<'a> {
    ligne: i64,
    ine: &'a str,
    nouvel_id: String,
    nom: &'a str,
    prenom1: &'a str,
    prenom2: Option<&'a str>,
    prenom3: Option<&'a str>,
    sexe: &'a str,
    date_naissance: chrono::NaiveDate,
    lieu_naissance: &'a str,
    adresse_voie: Option<&'a str>,
    adresse_code_postal: Option<&'a str>,
    adresse_commune: Option<&'a str>,
    cle_doublon: &'a str,
    nb_inscriptions: i32,
    rang_faute: Option<i32>,
}

#[derive(Insertable)]
#[diesel(table_name = etape_responsables, treat_none_as_default_value = false)]
struct EtapeResponsable<'a> {
    ligne: i64,
    rang: i32,
    id: String,
    nom: &'a str,
    prenom: &'a str,
    lien: &'a str,
    autorite_parentale: bool,
    telephone: Option<&'a str>,
    courriel: Option<&'a str>,
    adresse: Option<&'a str>,
}

#[derive(Insertable)]
#[diesel(table_name = etape_inscriptions, treat_none_as_default_value = false)]
struct EtapeInscription<'a> {
    ligne: i64,
    rang: i32,
    pointeur: &'a str,
    nouvel_id: String,
    uai: &'a str,
    annee_scolaire: &'a str,
    niveau: &'a str,
    classe: Option<&'a str>,
    dispositif: Option<&'a str>,
    statut: &'a str,
    admission_provisoire: bool,
    date_inscription: chrono::NaiveDate,
    date_admission: Option<chrono::NaiveDate>,
    date_admission_creation: Option<chrono::NaiveDate>,
}

/// The staging tables live as long as the connection and are emptied at every commit: creating
/// and dropping them per chunk would cost a dozen catalog writes each time (most of a small
/// batch's time). They are emptied on entry too, for a second call in one transaction.
const TABLES_ETAPE: &str = "
CREATE TEMP TABLE IF NOT EXISTS etape_eleves (
    ligne BIGINT PRIMARY KEY, ine TEXT NOT NULL, nouvel_id TEXT NOT NULL, nom TEXT NOT NULL,
    prenom1 TEXT NOT NULL, prenom2 TEXT, prenom3 TEXT, sexe TEXT NOT NULL, date_naissance DATE NOT NULL,
    lieu_naissance TEXT NOT NULL, adresse_voie TEXT, adresse_code_postal TEXT, adresse_commune TEXT,
    cle_doublon TEXT NOT NULL, nb_inscriptions INTEGER NOT NULL, rang_faute INTEGER,
    eleve_id TEXT, etat TEXT, rejete BOOLEAN NOT NULL DEFAULT FALSE,
    -- The matched pupil's version: it is written only if still at this version (and a new
    -- pupil only if no other writer created its INE meanwhile), never overwritten blindly.
    version_lue BIGINT,
    -- For the feed: the residence before the chunk, whether the pupil's own row was written
    -- ('cree', 'modifie'; `etat` also becomes 'modifie' for a new inscription alone), and
    -- whether the summary its inscriptions embed (names, sex, birth date) changes.
    ancienne_commune TEXT, ecriture TEXT, resume_modifie BOOLEAN NOT NULL DEFAULT FALSE
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS etape_responsables (
    ligne BIGINT NOT NULL, rang INTEGER NOT NULL, id TEXT NOT NULL, nom TEXT NOT NULL, prenom TEXT NOT NULL,
    lien TEXT NOT NULL, autorite_parentale BOOLEAN NOT NULL, telephone TEXT, courriel TEXT, adresse TEXT,
    PRIMARY KEY (ligne, rang)
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS etape_inscriptions (
    ligne BIGINT NOT NULL, rang INTEGER NOT NULL, pointeur TEXT NOT NULL, nouvel_id TEXT NOT NULL,
    uai TEXT NOT NULL, annee_scolaire TEXT NOT NULL, niveau TEXT NOT NULL, classe TEXT, dispositif TEXT,
    statut TEXT NOT NULL, admission_provisoire BOOLEAN NOT NULL, date_inscription DATE NOT NULL,
    date_admission DATE, date_admission_creation DATE,
    PRIMARY KEY (ligne, rang)
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS etape_anciens_responsables (
    eleve_id TEXT NOT NULL, responsable_id TEXT NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS etape_inscriptions_ecrites (
    id TEXT NOT NULL PRIMARY KEY, eleve_id TEXT NOT NULL, uai TEXT NOT NULL, operation TEXT NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS etape_notes (ressource TEXT NOT NULL, id TEXT NOT NULL, operation TEXT NOT NULL)
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS etape_notes_cles (ressource TEXT NOT NULL, id TEXT NOT NULL, cle TEXT NOT NULL)
    ON COMMIT DELETE ROWS;
DELETE FROM pg_temp.etape_eleves;
DELETE FROM pg_temp.etape_responsables;
DELETE FROM pg_temp.etape_inscriptions;
DELETE FROM pg_temp.etape_anciens_responsables;
DELETE FROM pg_temp.etape_inscriptions_ecrites;
DELETE FROM pg_temp.etape_notes;
DELETE FROM pg_temp.etape_notes_cles;
";

/// Turns the feed's statement triggers off until [`NOTER_CHANGEMENTS`], for this transaction
/// only (undone with it, or with the savepoint it was set in): see migration
/// `changements_par_lot`.
const FLUX_DIFFERE: &str = "SELECT set_config('onde.changements_differes', 'on', true)";

/// The chunk's feed, written once from the staging tables: the events and perimeter keys the
/// triggers would have written statement by statement (migration `changements`), merged into
/// the transaction's other events by `changements_noter`; then the triggers are back on.
///
/// - inscriptions written: created or modified, under their school's keys (a batch never
///   radiates nor moves one: no pupil becomes visible or invisible through an update);
/// - every inscription (radiated ones included) of a pupil rewritten with a new summary
///   (`resume_modifie`: names, sex, birth date; the INE is the match key), under its school's
///   keys: each embeds that summary (migration `changements_resume_eleve`);
/// - pupils written (`ecriture`), under their residence before and after and the schools of
///   their active inscriptions; pupils only given an inscription, under its school's keys;
/// - guardians: the new ones of a written pupil, like it but for its former residence; the
///   former ones (deleted when no pupil is left them), under the pupil's residences and the
///   schools it had before the chunk; those of a pupil only given an inscription, under its
///   school's keys.
///
/// Written only when the triggers did stand aside (`changements_differes()`), so that nothing
/// is noted twice; tests/lots.rs compares the two ways on the same chunks.
const NOTER_CHANGEMENTS: &str = "
WITH ecrits AS (
    SELECT eleve_id, ecriture, ancienne_commune, adresse_commune
      FROM etape_eleves WHERE NOT rejete AND ecriture IS NOT NULL),
creees AS (SELECT eleve_id, uai FROM etape_inscriptions_ecrites WHERE operation = 'creation'),
resumes AS (
    SELECT i.id, i.uai FROM etape_eleves s
    CROSS JOIN LATERAL (SELECT i.id, i.uai FROM inscriptions i WHERE i.eleve_id = s.eleve_id OFFSET 0) AS i
     WHERE NOT s.rejete AND s.ecriture = 'modifie' AND s.resume_modifie),
avant AS (
    SELECT x.eleve_id, i.uai FROM ecrits x
    CROSS JOIN LATERAL (SELECT i.id, i.uai FROM inscriptions i
                         WHERE i.eleve_id = x.eleve_id AND i.statut <> 'radie' OFFSET 0) AS i
     WHERE NOT EXISTS (SELECT 1 FROM etape_inscriptions_ecrites w WHERE w.id = i.id AND w.operation = 'creation')),
liens AS (
    SELECT x.eleve_id, l.responsable_id FROM ecrits x
    CROSS JOIN LATERAL (SELECT l.responsable_id FROM eleves_responsables l
                         WHERE l.eleve_id = x.eleve_id OFFSET 0) AS l),
cles_avant AS (
    SELECT a.eleve_id, k.cle FROM avant a JOIN ecoles e ON e.uai = a.uai
    CROSS JOIN LATERAL (VALUES ('c:' || e.code_commune), ('u:' || e.uai)) AS k(cle)),
cles_creees AS (
    SELECT a.eleve_id, k.cle FROM creees a JOIN ecoles e ON e.uai = a.uai
    CROSS JOIN LATERAL (VALUES ('c:' || e.code_commune), ('u:' || e.uai)) AS k(cle)),
residences AS (
    SELECT eleve_id, 'c:' || adresse_commune AS cle, TRUE AS actuelle FROM ecrits WHERE adresse_commune IS NOT NULL
    UNION ALL
    SELECT eleve_id, 'c:' || ancienne_commune, FALSE FROM ecrits WHERE ancienne_commune IS NOT NULL),
notes AS (
    INSERT INTO etape_notes
    SELECT 'inscription', id, operation FROM etape_inscriptions_ecrites
    UNION ALL
    SELECT 'inscription', id, 'modification' FROM resumes
    UNION ALL
    SELECT 'eleve', eleve_id, CASE ecriture WHEN 'cree' THEN 'creation' ELSE 'modification' END FROM ecrits
    UNION ALL
    SELECT DISTINCT 'eleve', eleve_id, 'modification' FROM creees
    UNION ALL
    SELECT 'responsable', responsable_id, 'creation' FROM liens
    UNION ALL
    SELECT 'responsable', a.responsable_id, CASE WHEN g.existe THEN 'modification' ELSE 'suppression' END
      FROM etape_anciens_responsables a
      CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM responsables g WHERE g.id = a.responsable_id OFFSET 0)) AS g(existe)
    UNION ALL
    SELECT 'responsable', l.responsable_id, 'modification'
      FROM (SELECT DISTINCT eleve_id FROM creees) c JOIN eleves_responsables l ON l.eleve_id = c.eleve_id)
INSERT INTO etape_notes_cles
SELECT 'inscription', w.id, k.cle FROM etape_inscriptions_ecrites w JOIN ecoles e ON e.uai = w.uai
CROSS JOIN LATERAL (VALUES ('c:' || e.code_commune), ('u:' || e.uai)) AS k(cle)
UNION ALL
SELECT 'inscription', r.id, k.cle FROM resumes r JOIN ecoles e ON e.uai = r.uai
CROSS JOIN LATERAL (VALUES ('c:' || e.code_commune), ('u:' || e.uai)) AS k(cle)
UNION ALL
SELECT 'eleve', eleve_id, cle FROM residences
UNION ALL
SELECT 'eleve', eleve_id, cle FROM cles_avant
UNION ALL
SELECT 'eleve', eleve_id, cle FROM cles_creees
UNION ALL
SELECT 'responsable', l.responsable_id, k.cle
  FROM liens l
  JOIN (SELECT eleve_id, cle FROM residences WHERE actuelle UNION ALL SELECT eleve_id, cle FROM cles_avant) k
    ON k.eleve_id = l.eleve_id
UNION ALL
SELECT 'responsable', a.responsable_id, k.cle
  FROM etape_anciens_responsables a
  JOIN (SELECT eleve_id, cle FROM residences UNION ALL SELECT eleve_id, cle FROM cles_avant) k
    ON k.eleve_id = a.eleve_id
UNION ALL
SELECT 'responsable', l.responsable_id, k.cle
  FROM cles_creees k JOIN eleves_responsables l ON l.eleve_id = k.eleve_id;
SELECT changements_noter(r.ressource, n.ids, n.ops, NULL, k.ids, k.cles)
  FROM (VALUES ('inscription'), ('eleve'), ('responsable')) AS r(ressource)
  CROSS JOIN LATERAL (SELECT array_agg(id) AS ids, array_agg(operation) AS ops
                        FROM etape_notes WHERE ressource = r.ressource) AS n
  CROSS JOIN LATERAL (SELECT array_agg(id) AS ids, array_agg(cle) AS cles
                        FROM etape_notes_cles WHERE ressource = r.ressource) AS k
 WHERE changements_differes();
SELECT set_config('onde.changements_differes', 'off', true);
";

/// Below this many lines the staging tables are not analysed: the planner's estimates from
/// their actual size are good enough, and ANALYZE would cost more than it saves.
const LIGNES_ANALYSE: usize = 5_000;

/// The guardian fingerprint: one expression for both sides, so equal lists give equal text.
/// (The arguments are the SQL expressions of each column, named as in the table.)
#[allow(clippy::too_many_arguments)]
fn empreinte(rang: &str, nom: &str, prenom: &str, lien: &str, autorite: &str, t: &str, c: &str, a: &str) -> String {
    format!(
        "string_agg(concat_ws(chr(31), {rang}::text, {nom}, {prenom}, {lien}, {autorite}::text, \
         coalesce({t}, chr(30)), coalesce({c}, chr(30)), coalesce({a}, chr(30))), chr(29) ORDER BY {rang})"
    )
}

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

/// The perimeter's rule for the pupil aliased `x` (`perimetre::eleves`: an active inscription
/// in one of its schools, or residence in one of its communes), over the communes bound as
/// `$1` and the UAIs as `$2`.
const VISIBLE_X: &str = "(coalesce(x.adresse_commune = ANY($1), FALSE)
    OR EXISTS (SELECT 1 FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai
                WHERE i.eleve_id = x.id AND i.statut <> 'radie'
                  AND (ec.code_commune = ANY($1) OR ec.uai = ANY($2))))";

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
struct ConflitInscription {
    #[diesel(sql_type = BigInt)]
    ligne: i64,
    #[diesel(sql_type = Text)]
    pointeur: String,
    #[diesel(sql_type = Text)]
    uai_active: String,
    #[diesel(sql_type = Text)]
    annee_scolaire: String,
    #[diesel(sql_type = Text)]
    statut_actuel: String,
    #[diesel(sql_type = Text)]
    statut_pousse: String,
    #[diesel(sql_type = Bool)]
    autre_ecole: bool,
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

fn vers_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn charger(c: &mut PgConnection, lignes: &[LigneValide]) -> Result<(), StoreError> {
    let mut eleves = Vec::with_capacity(lignes.len());
    let mut responsables = Vec::new();
    let mut inscriptions = Vec::new();
    for v in lignes {
        let d = &v.element.dossier;
        let p = d.prenoms.tous();
        let ligne = vers_i64(v.ligne);
        eleves.push(EtapeEleve {
            ligne,
            ine: v.element.ine.as_str(),
            nouvel_id: Uuid::now_v7().to_string(),
            nom: &d.nom,
            prenom1: p.first().map(String::as_str).unwrap_or_default(),
            prenom2: p.get(1).map(String::as_str),
            prenom3: p.get(2).map(String::as_str),
            sexe: d.sexe.as_str(),
            date_naissance: d.date_naissance,
            lieu_naissance: d.lieu_naissance.as_str(),
            adresse_voie: d.adresse.as_ref().map(|a| a.voie.as_str()),
            adresse_code_postal: d.adresse.as_ref().map(|a| a.code_postal.as_str()),
            adresse_commune: d.adresse.as_ref().map(|a| a.commune.as_str()),
            cle_doublon: &v.cle_doublon,
            nb_inscriptions: i32::try_from(v.element.inscriptions.len()).unwrap_or(i32::MAX),
            rang_faute: v.faute_ecole.as_ref().map(|(rang, _)| *rang),
        });
        for (i, r) in d.responsables.iter().enumerate() {
            responsables.push(EtapeResponsable {
                ligne,
                rang: i32::try_from(i + 1).unwrap_or(i32::MAX),
                id: Uuid::now_v7().to_string(),
                nom: &r.nom,
                prenom: &r.prenom,
                lien: r.lien.as_str(),
                autorite_parentale: r.autorite_parentale,
                telephone: r.telephone.as_ref().map(|t| t.as_str()),
                courriel: r.courriel.as_ref().map(|t| t.as_str()),
                adresse: r.adresse.as_deref(),
            });
        }
        for (i, p) in v.element.inscriptions.iter().enumerate() {
            inscriptions.push(EtapeInscription {
                ligne,
                rang: i32::try_from(i + 1).unwrap_or(i32::MAX),
                pointeur: &p.pointeur,
                nouvel_id: Uuid::now_v7().to_string(),
                uai: p.uai.as_str(),
                annee_scolaire: p.annee.as_str(),
                niveau: p.niveau.as_str(),
                classe: p.classe.as_deref(),
                dispositif: p.dispositif.as_deref(),
                statut: p.statut.as_str(),
                admission_provisoire: p.provisoire,
                date_inscription: p.date_inscription,
                date_admission: p.date_admission,
                date_admission_creation: p.date_admission_a_la_creation(),
            });
        }
    }
    diesel::copy_from(etape_eleves::table)
        .from_insertable(&eleves)
        .execute(c)?;
    if !responsables.is_empty() {
        diesel::copy_from(etape_responsables::table)
            .from_insertable(&responsables)
            .execute(c)?;
    }
    if !inscriptions.is_empty() {
        diesel::copy_from(etape_inscriptions::table)
            .from_insertable(&inscriptions)
            .execute(c)?;
    }
    // Temporary tables are never analysed by autovacuum: without statistics the planner
    // would guess a few rows and choose nested loops over 20,000.
    if lignes.len() >= LIGNES_ANALYSE {
        c.batch_execute("ANALYZE etape_eleves; ANALYZE etape_responsables; ANALYZE etape_inscriptions;")?;
    }
    Ok(())
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

/// `('en_attente', 'inscrit'), …`: the legal status changes, from the domain.
fn transitions() -> String {
    StatutInscription::TOUS
        .iter()
        .flat_map(|d| {
            d.transitions()
                .iter()
                .map(move |v| format!("('{}', '{}')", d.as_str(), v.as_str()))
        })
        .collect::<Vec<_>>()
        .join(", ")
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
    c.batch_execute(
        "UPDATE etape_eleves s SET eleve_id = e.id, ancienne_commune = e.adresse_commune, version_lue = e.version
           FROM eleves e WHERE e.ine = s.ine",
    )?;

    // Perimeter: an existing pupil must be visible, and every pupil must stay (or land) inside
    // once written: enrolled in one of its schools (the school checks reject the others), living
    // in one of its communes, or already enrolled in one of its schools.
    if let Some((communes, uais)) = listes(perimetre) {
        let hors: Vec<Ligne> = diesel::sql_query(format!(
            "SELECT s.ligne FROM etape_eleves s JOIN eleves x ON x.id = s.eleve_id WHERE NOT {VISIBLE_X}"
        ))
        .bind::<Array<Text>, _>(&communes)
        .bind::<Array<Text>, _>(&uais)
        .load(c)?;
        let rejets = hors
            .into_iter()
            .map(|h| rejet(h.ligne, "/eleve/ine", "ine_hors_perimetre", MESSAGE_INE_HORS))
            .collect();
        rejeter(c, &mut issue, rejets)?;
        let dehors: Vec<LigneNouvelle> = diesel::sql_query(
            "SELECT s.ligne, s.eleve_id IS NULL AS nouveau FROM etape_eleves s
             WHERE NOT s.rejete AND s.nb_inscriptions = 0
               AND NOT coalesce(s.adresse_commune = ANY($1), FALSE)
               AND NOT (s.eleve_id IS NOT NULL
                        AND EXISTS (SELECT 1 FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai
                                     WHERE i.eleve_id = s.eleve_id AND i.statut <> 'radie'
                                       AND (ec.code_commune = ANY($1) OR ec.uai = ANY($2))))",
        )
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

    // Classification: created, or changed (columns or guardians), or unchanged. One pass over
    // the matched pupils; each side's guardian fingerprint is a correlated subquery driven by
    // index (the pupil's links, the line's staged guardians). Three updates of the staging table
    // had rewritten it twice more and aggregated every staged guardian, new pupils' included:
    // half of an unchanged batch's database time.
    let pousse = empreinte(
        "r.rang",
        "r.nom",
        "r.prenom",
        "r.lien",
        "r.autorite_parentale",
        "r.telephone",
        "r.courriel",
        "r.adresse",
    );
    let stocke = empreinte(
        "l.rang",
        "g.nom",
        "g.prenom",
        "l.lien",
        "l.autorite_parentale",
        "g.telephone",
        "g.courriel",
        "g.adresse",
    );
    c.batch_execute(&format!(
        "UPDATE etape_eleves s SET etat = CASE WHEN
             ROW(e.nom, e.prenom1, e.prenom2, e.prenom3, e.sexe, e.date_naissance, e.lieu_naissance,
                 e.adresse_voie, e.adresse_code_postal, e.adresse_commune,
                 (SELECT {stocke} FROM eleves_responsables l JOIN responsables g ON g.id = l.responsable_id
                   WHERE l.eleve_id = e.id))
             IS NOT DISTINCT FROM
             ROW(s.nom, s.prenom1, s.prenom2, s.prenom3, s.sexe, s.date_naissance, s.lieu_naissance,
                 s.adresse_voie, s.adresse_code_postal, s.adresse_commune,
                 (SELECT {pousse} FROM etape_responsables r WHERE r.ligne = s.ligne))
             THEN 'inchange' ELSE 'modifie' END,
           resume_modifie = ROW(e.nom, e.prenom1, e.prenom2, e.prenom3, e.sexe, e.date_naissance)
             IS DISTINCT FROM ROW(s.nom, s.prenom1, s.prenom2, s.prenom3, s.sexe, s.date_naissance)
           FROM eleves e WHERE e.id = s.eleve_id AND NOT s.rejete;
         UPDATE etape_eleves SET etat = 'cree' WHERE eleve_id IS NULL AND NOT rejete;"
    ))?;

    // Duplicates: a new or changed record whose key another pupil holds; whether the caller
    // sees that pupil decides what the rejection may tell of it.
    let doublons = "SELECT DISTINCT ON (s.ligne) s.ligne, x.id, x.ine, {visible} AS visible
           FROM etape_eleves s JOIN eleves x ON x.cle_doublon = s.cle_doublon
          WHERE NOT s.rejete AND s.etat IN ('cree', 'modifie') AND (s.eleve_id IS NULL OR x.id <> s.eleve_id)
          ORDER BY s.ligne, x.id";
    let doublons: Vec<Candidat> = match listes(perimetre) {
        None => diesel::sql_query(doublons.replace("{visible}", "TRUE")).load(c)?,
        Some((communes, uais)) => diesel::sql_query(doublons.replace("{visible}", VISIBLE_X))
            .bind::<Array<Text>, _>(communes)
            .bind::<Array<Text>, _>(uais)
            .load(c)?,
    };
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

    // Inscriptions: another school's active one this year, or a status change the state
    // machine forbids; the first failing inscription of a line names the line's rejection.
    let conflits: Vec<ConflitInscription> = diesel::sql_query(format!(
        "SELECT DISTINCT ON (s.ligne) s.ligne, s.pointeur, a.uai AS uai_active, a.annee_scolaire,
                a.statut AS statut_actuel, s.statut AS statut_pousse, (a.uai <> s.uai) AS autre_ecole
           FROM etape_inscriptions s
           JOIN etape_eleves e ON e.ligne = s.ligne
           JOIN inscriptions a ON a.eleve_id = e.eleve_id AND a.annee_scolaire = s.annee_scolaire AND a.statut <> 'radie'
          WHERE NOT e.rejete AND (e.rang_faute IS NULL OR s.rang < e.rang_faute)
            AND (a.uai <> s.uai OR (a.statut <> s.statut AND (a.statut, s.statut) NOT IN (VALUES {})))
          ORDER BY s.ligne, s.rang",
        transitions()
    ))
    .load(c)?;
    let mut rejets = Vec::with_capacity(conflits.len());
    for k in conflits {
        if k.autre_ecole {
            rejets.push(rejet(
                k.ligne,
                format!("{}/uai", k.pointeur),
                "inscription_active_existante",
                message_inscription_existante(&k.annee_scolaire, &k.uai_active),
            ));
        } else {
            let erreur = match (
                StatutInscription::parse(&k.statut_actuel),
                StatutInscription::parse(&k.statut_pousse),
            ) {
                (Ok(d), Ok(v)) => d.passer_a(v).err(),
                _ => None,
            };
            let message = erreur
                .as_ref()
                .map(|e| e.to_string())
                .unwrap_or_else(|| format!("transition de {} vers {} interdite", k.statut_actuel, k.statut_pousse));
            let mut r = rejet(
                k.ligne,
                format!("{}/statut", k.pointeur),
                "transition_interdite",
                message,
            );
            r.cause = erreur.map(Cause::Transition);
            rejets.push(r);
        }
    }
    rejeter(c, &mut issue, rejets)?;

    // School faults found while reading, for the lines nothing checked before them rejected.
    let deja: std::collections::HashSet<u64> = issue.rejets.iter().map(|r| r.ligne).collect();
    let rejets = lignes
        .iter()
        .filter(|v| !deja.contains(&v.ligne))
        .filter_map(|v| v.faute_ecole.as_ref().map(|(_, r)| r.clone()))
        .collect();
    rejeter(c, &mut issue, rejets)?;

    // Apply: pupils, then their guardians, then their inscriptions. The feed's triggers stand
    // aside for these statements; the chunk's events are written once, at the end.
    c.batch_execute(FLUX_DIFFERE)?;
    diesel::sql_query(
        "WITH ecrits AS (
            INSERT INTO eleves (id, ine, nom, prenom1, prenom2, prenom3, sexe, date_naissance, lieu_naissance,
                                adresse_voie, adresse_code_postal, adresse_commune, cree_le, modifie_le, version,
                                cle_doublon)
            SELECT nouvel_id, ine, nom, prenom1, prenom2, prenom3, sexe, date_naissance, lieu_naissance,
                   adresse_voie, adresse_code_postal, adresse_commune, $1, $1, 1, cle_doublon
              FROM etape_eleves WHERE NOT rejete AND etat IN ('cree', 'modifie')
            -- Only the row matched and checked above, still at the version read: a pupil
            -- another writer created or changed since is left alone (the line is rejected).
            ON CONFLICT (ine) DO UPDATE SET
                nom = EXCLUDED.nom, prenom1 = EXCLUDED.prenom1, prenom2 = EXCLUDED.prenom2,
                prenom3 = EXCLUDED.prenom3, sexe = EXCLUDED.sexe, date_naissance = EXCLUDED.date_naissance,
                lieu_naissance = EXCLUDED.lieu_naissance, adresse_voie = EXCLUDED.adresse_voie,
                adresse_code_postal = EXCLUDED.adresse_code_postal, adresse_commune = EXCLUDED.adresse_commune,
                modifie_le = EXCLUDED.modifie_le, version = eleves.version + 1, cle_doublon = EXCLUDED.cle_doublon
              WHERE (eleves.id, eleves.version) IN
                    (SELECT m.eleve_id, m.version_lue FROM etape_eleves m WHERE m.ine = EXCLUDED.ine)
            RETURNING id, ine, CASE WHEN xmax = 0 THEN 'cree' ELSE 'modifie' END AS etat)
         UPDATE etape_eleves s SET eleve_id = w.id, etat = w.etat, ecriture = w.etat
           FROM ecrits w WHERE w.ine = s.ine",
    )
    .bind::<Timestamp, _>(maintenant)
    .execute(c)?;
    let concurrentes: Vec<Ligne> = diesel::sql_query(
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
    rejeter(c, &mut issue, rejets)?;
    c.batch_execute(
        "WITH liens AS (
            DELETE FROM eleves_responsables l USING etape_eleves s
             WHERE NOT s.rejete AND s.etat = 'modifie' AND l.eleve_id = s.eleve_id
            RETURNING l.eleve_id, l.responsable_id)
         INSERT INTO etape_anciens_responsables SELECT eleve_id, responsable_id FROM liens",
    )?;
    diesel::sql_query(
        "INSERT INTO responsables (id, nom, prenom, telephone, courriel, adresse, cree_le, modifie_le)
         SELECT r.id, r.nom, r.prenom, r.telephone, r.courriel, r.adresse, $1, $1
           FROM etape_responsables r JOIN etape_eleves s ON s.ligne = r.ligne
          WHERE NOT s.rejete AND s.etat IN ('cree', 'modifie')",
    )
    .bind::<Timestamp, _>(maintenant)
    .execute(c)?;
    c.batch_execute(
        "INSERT INTO eleves_responsables (eleve_id, responsable_id, lien, autorite_parentale, rang)
         SELECT s.eleve_id, r.id, r.lien, r.autorite_parentale, r.rang
           FROM etape_responsables r JOIN etape_eleves s ON s.ligne = r.ligne
          WHERE NOT s.rejete AND s.etat IN ('cree', 'modifie');
         DELETE FROM responsables g USING etape_anciens_responsables a
          WHERE g.id = a.responsable_id
            AND NOT EXISTS (SELECT 1 FROM eleves_responsables x WHERE x.responsable_id = g.id);",
    )?;
    diesel::sql_query(
        "WITH maj AS (
            UPDATE inscriptions a SET niveau = s.niveau, classe = s.classe, dispositif = s.dispositif,
                   statut = s.statut, admission_provisoire = s.admission_provisoire,
                   date_admission = coalesce(s.date_admission, a.date_admission),
                   modifie_le = $1, version = a.version + 1
              FROM etape_inscriptions s JOIN etape_eleves e ON e.ligne = s.ligne
             WHERE NOT e.rejete AND a.eleve_id = e.eleve_id AND a.annee_scolaire = s.annee_scolaire
               AND a.statut <> 'radie' AND a.uai = s.uai
               AND ROW(a.niveau, a.classe, a.dispositif, a.statut, a.admission_provisoire, a.date_admission)
                   IS DISTINCT FROM
                   ROW(s.niveau, s.classe, s.dispositif, s.statut, s.admission_provisoire,
                       coalesce(s.date_admission, a.date_admission))
            RETURNING s.ligne, a.id, a.eleve_id, a.uai),
         notees AS (
            INSERT INTO etape_inscriptions_ecrites SELECT id, eleve_id, uai, 'modification' FROM maj)
         UPDATE etape_eleves SET etat = 'modifie' WHERE etat = 'inchange' AND ligne IN (SELECT ligne FROM maj)",
    )
    .bind::<Timestamp, _>(maintenant)
    .execute(c)?;
    diesel::sql_query(
        "WITH nouvelles AS (
            INSERT INTO inscriptions (id, eleve_id, uai, annee_scolaire, niveau, classe, dispositif, statut,
                                      admission_provisoire, date_inscription, date_admission, cree_le, modifie_le,
                                      version)
            SELECT s.nouvel_id, e.eleve_id, s.uai, s.annee_scolaire, s.niveau, s.classe, s.dispositif, s.statut,
                   s.admission_provisoire, s.date_inscription, s.date_admission_creation, $1, $1, 1
              FROM etape_inscriptions s JOIN etape_eleves e ON e.ligne = s.ligne
             WHERE NOT e.rejete
               AND NOT EXISTS (SELECT 1 FROM inscriptions a
                                WHERE a.eleve_id = e.eleve_id AND a.annee_scolaire = s.annee_scolaire
                                  AND a.statut <> 'radie')
            RETURNING id, eleve_id, uai),
         notees AS (
            INSERT INTO etape_inscriptions_ecrites SELECT id, eleve_id, uai, 'creation' FROM nouvelles)
         UPDATE etape_eleves SET etat = 'modifie'
          WHERE etat = 'inchange' AND eleve_id IN (SELECT eleve_id FROM nouvelles)",
    )
    .bind::<Timestamp, _>(maintenant)
    .execute(c)?;

    if lignes.len() >= LIGNES_ANALYSE {
        // The statistics taken after the load say no line was written yet: planned on them,
        // the notes of a 20,000-line chunk joined every written inscription to every other.
        c.batch_execute(
            "ANALYZE etape_eleves; ANALYZE etape_inscriptions_ecrites; ANALYZE etape_anciens_responsables;",
        )?;
    }
    c.batch_execute(NOTER_CHANGEMENTS)?;

    let appliques: Vec<Applique> = diesel::sql_query(
        "SELECT ligne, eleve_id, etat FROM etape_eleves WHERE NOT rejete AND eleve_id IS NOT NULL ORDER BY ligne",
    )
    .load(c)?;
    issue.lignes.reserve(appliques.len());
    for a in appliques {
        let eleve_id = crate::lignes::lire_uuid("etape_eleves", "eleve_id", &a.eleve_id)?;
        let etat = match a.etat.as_str() {
            "cree" => Etat::Cree,
            "modifie" => Etat::Modifie,
            _ => Etat::Inchange,
        };
        issue.appliquee(IssueLigne {
            ligne: u64::try_from(a.ligne).unwrap_or(0),
            eleve_id,
            etat,
        });
    }
    Ok(issue)
}
