//! Database rows and their conversion into domain values. A row that no longer parses is
//! reported as corrupt data, never passed on.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use onde_domain::{
    AnneeScolaire, CodeInsee, DomainError, Ecole, Ine, Inscription, LienResponsable, Niveau, Prenoms, Responsable,
    ResumeEleve, Secteur, Sexe, StatutInscription, TypeEcole, Uai,
};
use uuid::Uuid;

use crate::schema::{communes, ecoles, eleves, eleves_responsables, inscriptions, responsables};
use crate::StoreError;

pub(crate) fn lire<T>(table: &'static str, colonne: &'static str, r: Result<T, DomainError>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Corrompu {
        table,
        colonne,
        detail: e.to_string(),
    })
}

pub(crate) fn lire_uuid(table: &'static str, colonne: &'static str, s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrompu {
        table,
        colonne,
        detail: e.to_string(),
    })
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = communes)]
pub struct LigneCommune {
    pub code_insee: String,
    pub nom: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ecoles, treat_none_as_default_value = false)]
pub struct LigneEcole {
    pub uai: String,
    pub nom: String,
    pub type_ecole: String,
    pub secteur: String,
    pub code_commune: String,
    pub circonscription: Option<String>,
    pub adresse: Option<String>,
    pub rpi: Option<String>,
    pub date_ouverture: Option<NaiveDate>,
    pub date_fermeture: Option<NaiveDate>,
}

impl TryFrom<LigneEcole> for Ecole {
    type Error = StoreError;
    fn try_from(l: LigneEcole) -> Result<Self, StoreError> {
        Ok(Ecole {
            uai: lire("ecoles", "uai", Uai::parse(&l.uai))?,
            nom: l.nom,
            type_ecole: lire("ecoles", "type_ecole", TypeEcole::parse(&l.type_ecole))?,
            secteur: lire("ecoles", "secteur", Secteur::parse(&l.secteur))?,
            commune: lire("ecoles", "code_commune", CodeInsee::parse(&l.code_commune))?,
            circonscription: l.circonscription,
            adresse: l.adresse,
            rpi: l.rpi,
            date_ouverture: l.date_ouverture,
            date_fermeture: l.date_fermeture,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = eleves, treat_none_as_default_value = false)]
pub struct LigneEleve {
    pub id: String,
    pub ine: Option<String>,
    pub nom: String,
    pub prenom1: String,
    pub prenom2: Option<String>,
    pub prenom3: Option<String>,
    pub sexe: String,
    pub date_naissance: NaiveDate,
    pub lieu_naissance: String,
    pub adresse_voie: Option<String>,
    pub adresse_code_postal: Option<String>,
    pub adresse_commune: Option<String>,
    pub cree_le: NaiveDateTime,
    pub modifie_le: NaiveDateTime,
    pub version: i64,
    pub cle_doublon: String,
}

pub(crate) fn prenoms(p1: String, p2: Option<String>, p3: Option<String>) -> Result<Prenoms, StoreError> {
    let tous = std::iter::once(p1).chain(p2).chain(p3).collect();
    lire("eleves", "prenom1", Prenoms::parse(tous))
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = eleves)]
pub struct LigneResumeEleve {
    pub id: String,
    pub ine: Option<String>,
    pub nom: String,
    pub prenom1: String,
    pub prenom2: Option<String>,
    pub prenom3: Option<String>,
    pub sexe: String,
    pub date_naissance: NaiveDate,
}

impl TryFrom<LigneResumeEleve> for ResumeEleve {
    type Error = StoreError;
    fn try_from(l: LigneResumeEleve) -> Result<Self, StoreError> {
        Ok(ResumeEleve {
            id: lire_uuid("eleves", "id", &l.id)?,
            ine: l
                .ine
                .as_deref()
                .map(Ine::parse)
                .transpose()
                .map_err(|e| StoreError::Corrompu {
                    table: "eleves",
                    colonne: "ine",
                    detail: e.to_string(),
                })?,
            nom: l.nom,
            prenoms: prenoms(l.prenom1, l.prenom2, l.prenom3)?,
            sexe: lire("eleves", "sexe", Sexe::parse(&l.sexe))?,
            date_naissance: l.date_naissance,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = responsables, treat_none_as_default_value = false)]
pub struct LigneResponsable {
    pub id: String,
    pub nom: String,
    pub prenom: String,
    pub telephone: Option<String>,
    pub courriel: Option<String>,
    pub adresse: Option<String>,
    pub cree_le: NaiveDateTime,
    pub modifie_le: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = eleves_responsables, treat_none_as_default_value = false)]
pub struct LigneLien {
    pub eleve_id: String,
    pub responsable_id: String,
    pub lien: String,
    pub autorite_parentale: bool,
    pub rang: i32,
}

pub(crate) fn responsable(r: LigneResponsable, lien: LigneLien) -> Result<Responsable, StoreError> {
    Ok(Responsable {
        id: lire_uuid("responsables", "id", &r.id)?,
        nom: r.nom,
        prenom: r.prenom,
        lien: lire("eleves_responsables", "lien", LienResponsable::parse(&lien.lien))?,
        autorite_parentale: lien.autorite_parentale,
        telephone: r.telephone,
        courriel: r.courriel,
        adresse: r.adresse,
    })
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = inscriptions, treat_none_as_default_value = false)]
pub struct LigneInscription {
    pub id: String,
    pub eleve_id: String,
    pub uai: String,
    pub annee_scolaire: String,
    pub niveau: String,
    pub classe: Option<String>,
    pub dispositif: Option<String>,
    pub statut: String,
    pub admission_provisoire: bool,
    pub date_inscription: NaiveDate,
    pub date_admission: Option<NaiveDate>,
    pub date_radiation: Option<NaiveDate>,
    pub motif_radiation: Option<String>,
    pub cree_le: NaiveDateTime,
    pub modifie_le: NaiveDateTime,
    pub version: i64,
}

impl TryFrom<LigneInscription> for Inscription {
    type Error = StoreError;
    fn try_from(l: LigneInscription) -> Result<Self, StoreError> {
        Ok(Inscription {
            id: lire_uuid("inscriptions", "id", &l.id)?,
            eleve_id: lire_uuid("inscriptions", "eleve_id", &l.eleve_id)?,
            uai: lire("inscriptions", "uai", Uai::parse(&l.uai))?,
            annee_scolaire: lire(
                "inscriptions",
                "annee_scolaire",
                AnneeScolaire::parse(&l.annee_scolaire),
            )?,
            niveau: lire("inscriptions", "niveau", Niveau::parse(&l.niveau))?,
            classe: l.classe,
            dispositif: l.dispositif,
            statut: lire("inscriptions", "statut", StatutInscription::parse(&l.statut))?,
            admission_provisoire: l.admission_provisoire,
            date_inscription: l.date_inscription,
            date_admission: l.date_admission,
            date_radiation: l.date_radiation,
            motif_radiation: l.motif_radiation,
        })
    }
}
