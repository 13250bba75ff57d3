//! Property test of the enrolment workflow through the API: random sequences of creations and
//! operations — valid or not: wrong school, niveau or age, illegal transitions, stale
//! If-Match — agree step by step with a model of DOMAIN.md kept in the test, and keep the
//! invariants of DOMAIN.md in the database: at most one active inscription per pupil and
//! school year, a radiation date on every radiated inscription and only there, provisional
//! admission only when `admis`, statuses moving only along the state machine.
//! SQLite runs 16 sequences, PostgreSQL 4 (each case on fresh pupils of one seeded base).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use crate::commun::*;
use crate::ecritures::*;
use actix_web::test;
use diesel::prelude::*;
use onde_domain::{Ecole, TypeEcole};
use onde_store::testing::BaseDeTest;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{json, Value};

mod modele;
mod sequences;

const ANNEES: [&str; 2] = ["2028-2029", "2029-2030"];
const NAISSANCES: [&str; 3] = ["2021-03-10", "2022-07-21", "2023-01-05"];
const NIVEAUX: [&str; 9] = ["TPS", "PS", "MS", "GS", "CP", "CE1", "CE2", "CM1", "CM2"];

/// DOMAIN.md's state machine.
fn autorisees(statut: &str) -> &'static [&'static str] {
    match statut {
        "en_attente" => &["inscrit", "radie"],
        "inscrit" => &["admissibilite", "admis", "radie"],
        "admissibilite" => &["admis", "radie"],
        "admis" => &["admis_definitif", "radie"],
        "admis_definitif" => &["radie"],
        "radie" => &[],
        autre => panic!("statut inconnu {autre}"),
    }
}

#[derive(Debug, Clone, Copy)]
enum SiMatch {
    Aucun,
    Courant,
    Perime,
}

#[derive(Debug, Clone)]
enum Action {
    Creer {
        eleve: usize,
        ecole: usize,
        annee: usize,
        niveau: usize,
    },
    Admission {
        cible: usize,
        provisoire: bool,
        si: SiMatch,
    },
    Admissibilite {
        cible: usize,
        si: SiMatch,
    },
    Definitive {
        cible: usize,
        si: SiMatch,
    },
    Radiation {
        cible: usize,
        si: SiMatch,
    },
    ChangementEcole {
        cible: usize,
        ecole: usize,
        si: SiMatch,
    },
    ChangementNiveau {
        cible: usize,
        niveau: usize,
        si: SiMatch,
    },
}

fn si_match() -> impl Strategy<Value = SiMatch> {
    prop_oneof![6 => Just(SiMatch::Aucun), 3 => Just(SiMatch::Courant), 1 => Just(SiMatch::Perime)]
}

/// Niveaux near the pupils' ages most of the time, any niveau sometimes.
fn niveau() -> impl Strategy<Value = usize> {
    prop_oneof![3 => 3usize..7, 1 => 0usize..9]
}

fn action(ecoles: usize) -> impl Strategy<Value = Action> {
    let cible = 0usize..64;
    prop_oneof![
        4 => (0usize..3, 0..ecoles, 0usize..2, niveau())
            .prop_map(|(eleve, ecole, annee, niveau)| Action::Creer { eleve, ecole, annee, niveau }),
        2 => (cible.clone(), any::<bool>(), si_match())
            .prop_map(|(cible, provisoire, si)| Action::Admission { cible, provisoire, si }),
        1 => (cible.clone(), si_match()).prop_map(|(cible, si)| Action::Admissibilite { cible, si }),
        2 => (cible.clone(), si_match()).prop_map(|(cible, si)| Action::Definitive { cible, si }),
        2 => (cible.clone(), si_match()).prop_map(|(cible, si)| Action::Radiation { cible, si }),
        2 => (cible.clone(), 0..ecoles, si_match())
            .prop_map(|(cible, ecole, si)| Action::ChangementEcole { cible, ecole, si }),
        1 => (cible, niveau(), si_match())
            .prop_map(|(cible, niveau, si)| Action::ChangementNiveau { cible, niveau, si }),
    ]
}

/// The model of one inscription.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Modele {
    id: String,
    eleve: usize,
    uai: String,
    annee: String,
    niveau: String,
    statut: String,
    provisoire: bool,
    date_admission: Option<String>,
    date_radiation: Option<String>,
    motif: Option<String>,
    version: i64,
}

/// What the API must answer.
#[derive(Debug, PartialEq, Eq)]
enum Attendu {
    /// 2xx; for a change of school, the new inscription's index in the model.
    Succes(u16),
    Probleme(u16, &'static str),
    /// 409 transition_interdite from this status.
    Transition(String),
    /// 422 contenu_invalide with this rule.
    Regle(&'static str),
}

struct Monde {
    ecoles: Vec<Ecole>,
    /// Schools of the caller's perimeter.
    visibles: Vec<bool>,
}

fn age_coherent(naissance: &str, niveau: &str, annee: &str) -> bool {
    let age_theorique = NIVEAUX.iter().position(|n| *n == niveau).unwrap() as i32 + 2;
    let debut: i32 = annee[..4].parse().unwrap();
    let ne: i32 = naissance[..4].parse().unwrap();
    (ne - (debut - age_theorique)).abs() <= 1
}

fn accueille(t: TypeEcole, niveau: &str) -> bool {
    let cycle1 = ["TPS", "PS", "MS", "GS"].contains(&niveau);
    match t {
        TypeEcole::Maternelle => cycle1,
        TypeEcole::Elementaire => !cycle1,
        TypeEcole::Primaire => true,
    }
}

/// The inscriptions of `eleves` as stored: id -> model fields (the pupil as an index).
fn en_base_pour(base: &BaseDeTest, eleves: &[String]) -> BTreeMap<String, Modele> {
    use onde_store::schema::inscriptions as t;
    let mut c = base.store.connexion().unwrap();
    type Ligne = (
        String,
        String,
        String,
        String,
        String,
        String,
        bool,
        Option<chrono::NaiveDate>,
        Option<chrono::NaiveDate>,
        Option<String>,
        i64,
    );
    let lignes: Vec<Ligne> = t::table
        .filter(t::eleve_id.eq_any(eleves.to_vec()))
        .select((
            t::id,
            t::eleve_id,
            t::uai,
            t::annee_scolaire,
            t::niveau,
            t::statut,
            t::admission_provisoire,
            t::date_admission,
            t::date_radiation,
            t::motif_radiation,
            t::version,
        ))
        .load(&mut *c)
        .unwrap();
    let jour = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
    lignes
        .into_iter()
        .map(
            |(id, eleve, uai, annee, niveau, statut, provisoire, da, dr, motif, version)| {
                let m = Modele {
                    id: id.clone(),
                    eleve: eleves.iter().position(|e| *e == eleve).unwrap(),
                    uai,
                    annee,
                    niveau,
                    statut,
                    provisoire,
                    date_admission: jour(da),
                    date_radiation: jour(dr),
                    motif,
                    version,
                };
                (id, m)
            },
        )
        .collect()
}

/// DOMAIN.md's invariants on the stored rows, and every status change since `avant` allowed
/// by the state machine.
fn invariants(avant: &BTreeMap<String, Modele>, apres: &BTreeMap<String, Modele>) -> Result<(), TestCaseError> {
    let mut actives = BTreeMap::new();
    for i in apres.values() {
        if i.statut != "radie" {
            *actives.entry((i.eleve, i.annee.clone())).or_insert(0) += 1;
        }
        prop_assert_eq!(
            i.statut == "radie",
            i.date_radiation.is_some(),
            "date de radiation : {:?}",
            i
        );
        prop_assert!(
            !i.provisoire || i.statut == "admis",
            "admission provisoire hors admis : {:?}",
            i
        );
        if let Some(a) = avant.get(&i.id) {
            if a.statut != i.statut {
                prop_assert!(
                    autorisees(&a.statut).contains(&i.statut.as_str()),
                    "{} -> {} interdit : {:?}",
                    a.statut,
                    i.statut,
                    i
                );
            }
        } else {
            prop_assert_eq!(i.statut.as_str(), "inscrit", "une nouvelle inscription est inscrite");
        }
    }
    for (cle, n) in actives {
        prop_assert!(n <= 1, "{} inscriptions actives pour {:?}", n, cle);
    }
    for id in avant.keys() {
        prop_assert!(apres.contains_key(id), "inscription {} disparue", id);
    }
    Ok(())
}
