//! The checks made while reading, without the base: each line by the domain, plus what one
//! file tells about itself (an INE or a duplicate key repeated) and the schools it names
//! (unknown or outside the perimeter, niveau not taught).

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use diesel::prelude::*;
use onde_domain::dossier::Lecture;
use onde_domain::poussee::ElementPousse;
use onde_domain::{CodeInsee, Perimetre, TypeEcole};

use super::rejets::Rejet;
use crate::schema::ecoles;
use crate::{DbConnection, StoreError};

/// Schools by UAI: type and commune, to check inscriptions while reading.
pub(crate) type Ecoles = HashMap<String, (TypeEcole, CodeInsee)>;

pub(super) fn charger_ecoles(conn: &mut DbConnection) -> Result<Ecoles, StoreError> {
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
pub(super) struct Verificateur<'a> {
    ecoles: &'a Ecoles,
    perimetre: &'a Perimetre,
    aujourdhui: NaiveDate,
    /// INEs seen so far in the file.
    ines: HashSet<String>,
    /// Duplicate-detection key -> INE of the first line holding it.
    cles: HashMap<String, String>,
}

impl<'a> Verificateur<'a> {
    pub(super) fn nouveau(ecoles: &'a Ecoles, perimetre: &'a Perimetre, aujourdhui: NaiveDate) -> Self {
        Self {
            ecoles,
            perimetre,
            aujourdhui,
            ines: HashSet::new(),
            cles: HashMap::new(),
        }
    }

    pub(super) fn verifier(&mut self, ligne: u64, valeur: &serde_json::Value) -> Result<LigneValide, Vec<Rejet>> {
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
