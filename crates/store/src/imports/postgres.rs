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
use super::rejets::{Cause, Etat, IssueLigne, IssueTranche, Rejet};
use super::verification::LigneValide;
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

/// Below this many lines the staging tables are not analysed: the planner's estimates from
/// their actual size are good enough, and ANALYZE would cost more than it saves.
const LIGNES_ANALYSE: usize = 5_000;

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
    c.batch_execute(
        "UPDATE etape_eleves s SET eleve_id = e.id, ancienne_commune = e.adresse_commune, version_lue = e.version
           FROM eleves e WHERE e.ine = s.ine",
    )?;

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

    // Classification: created, or changed (columns or guardians), or unchanged. One pass over
    // the matched pupils; each side's guardian fingerprint is a correlated subquery driven by
    // index (the pupil's links, the line's staged guardians). Three updates of the staging table
    // had rewritten it twice more and aggregated every staged guardian, new pupils' included:
    // half of an unchanged batch's database time.
    c.batch_execute(CLASSEMENT)?;

    // Duplicates: a new or changed record whose key another pupil holds; whether the caller
    // sees that pupil decides what the rejection may tell of it.
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

    // Inscriptions: another school's active one this year, or a status change the state
    // machine forbids; the first failing inscription of a line names the line's rejection.
    let (de, vers) = transitions();
    let conflits: Vec<ConflitInscription> = diesel::sql_query(CONFLITS_INSCRIPTIONS)
        .bind::<Array<Text>, _>(de)
        .bind::<Array<Text>, _>(vers)
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
    diesel::sql_query(ECRIRE_ELEVES)
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
    c.batch_execute(ANCIENS_LIENS)?;
    diesel::sql_query(RESPONSABLES)
        .bind::<Timestamp, _>(maintenant)
        .execute(c)?;
    c.batch_execute(LIENS)?;
    diesel::sql_query(INSCRIPTIONS_MODIFIEES)
        .bind::<Timestamp, _>(maintenant)
        .execute(c)?;
    diesel::sql_query(INSCRIPTIONS_NOUVELLES)
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
