//! The chunk's staging tables on PostgreSQL and their binary COPY: one row per line, guardian
//! and pushed inscription, each line with the fingerprint of its record
//! (crates/store/src/empreinte.rs) and the ids a creation would give.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use super::super::verification::LigneValide;
use crate::StoreError;

/// Below this many lines the staging tables are not analysed: the planner's estimates from
/// their actual size are good enough, and ANALYZE would cost more than it saves.
pub(super) const LIGNES_ANALYSE: usize = 5_000;

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
        empreinte -> Binary,
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
    empreinte: Vec<u8>,
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

pub(super) fn vers_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Loads the valid lines into the (emptied) staging tables.
pub(super) fn charger(c: &mut PgConnection, lignes: &[LigneValide]) -> Result<(), StoreError> {
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
            empreinte: crate::empreinte::du_dossier(d),
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
