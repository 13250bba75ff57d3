//! Deterministic import files for tests and benchmarks: valid records against the schools of
//! a database (same database, same parameters, same file), optionally with a few invalid lines.

use std::collections::HashSet;

use chrono::NaiveDate;
use onde_domain::dossier::{cle_doublon, normaliser};
use onde_domain::{AnneeScolaire, CodeInsee, Ine, Niveau, Sexe, TypeEcole, Uai};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use onde_store::chargement;
use onde_store::DbConnection;

use crate::listes::{NOMS, PRENOMS_F, PRENOMS_M, VOIES_NOMS};
use crate::SeedError;

/// Académie code of generated INEs (the seed uses real académie codes, which stop well before).
const ACADEMIE: u8 = 98;

#[derive(Debug, Clone)]
pub struct ParametresExemple {
    pub eleves: u32,
    pub graine: u64,
    pub annee: AnneeScolaire,
    /// Only these schools (e.g. a private school partner's); all schools when empty.
    pub uais: Vec<Uai>,
    /// Lines replaced by an invalid record, spread over the file (the file keeps `eleves` lines).
    pub invalides: u32,
}

/// What each kind of invalid line breaks, in the order they are injected.
pub const CODES_INVALIDES: [&str; 5] = [
    "ine_cle",
    "date_future",
    "ecole_inconnue",
    "telephone_format",
    "sexe_inconnu",
];

struct Ecole {
    uai: String,
    niveaux: Vec<Niveau>,
    commune: String,
}

fn generation(e: impl std::fmt::Display) -> SeedError {
    SeedError::Generation(e.to_string())
}

/// Calls `ecrire` with each record, in file order.
pub fn generer(
    conn: &mut DbConnection,
    p: &ParametresExemple,
    ecrire: &mut dyn FnMut(&Value) -> Result<(), SeedError>,
) -> Result<(), SeedError> {
    let lignes = chargement::ecoles_existantes(conn, &p.uais)?;
    let ecoles: Vec<Ecole> = lignes
        .into_iter()
        .filter_map(|(uai, t, commune)| {
            let t = TypeEcole::parse(&t).ok()?;
            // TPS is left out: its pupils may be under the youngest age a record accepts.
            let niveaux: Vec<Niveau> = Niveau::TOUS
                .into_iter()
                .filter(|n| *n != Niveau::Tps && t.accueille(*n))
                .collect();
            Some(Ecole { uai, niveaux, commune })
        })
        .collect();
    if ecoles.is_empty() {
        return Err(SeedError::Generation(
            "aucune école dans la base (ou parmi les UAI demandés) : lancez d'abord `seed`".into(),
        ));
    }
    // Existing INEs and duplicate keys are avoided, so every valid line is a creation.
    let ines: HashSet<String> = chargement::ines_existants(conn)?;
    let mut cles: HashSet<String> = chargement::cles_doublon_existantes(conn)?;
    let inconnue = (0..100u32)
        .filter_map(|i| Uai::depuis_numero(959_999 - i).ok())
        .find(|u| !ecoles.iter().any(|e| e.uai == u.as_str()))
        .ok_or_else(|| generation("UAI inconnu introuvable"))?;

    let mut rng = ChaCha8Rng::seed_from_u64(p.graine);
    let annee_ine = u8::try_from(p.graine % 100).unwrap_or(0);
    let mut sequence: u32 = 0;
    let debut = i32::from(p.annee.debut());
    let pas = p.eleves.checked_div(p.invalides).map_or(0, |n| n.max(1));
    let mut injectes = 0u32;
    for i in 0..p.eleves {
        let ine = loop {
            let ine = Ine::bea(ACADEMIE, annee_ine, sequence).map_err(generation)?;
            sequence += 1;
            if !ines.contains(ine.as_str()) {
                break ine;
            }
        };
        let ecole = &ecoles[rng.random_range(0..ecoles.len())];
        let niveau = ecole.niveaux[rng.random_range(0..ecole.niveaux.len())];
        let annee_naissance = i32::from(niveau.annee_naissance_theorique(p.annee));
        let lieu = CodeInsee::parse(&ecole.commune).map_err(generation)?;
        let (sexe, nom, prenom, naissance) = loop {
            let sexe = if rng.random_bool(0.5) {
                Sexe::Feminin
            } else {
                Sexe::Masculin
            };
            let nom = if rng.random_bool(0.3) {
                format!(
                    "{}-{}",
                    NOMS[rng.random_range(0..NOMS.len())],
                    NOMS[rng.random_range(0..NOMS.len())]
                )
            } else {
                NOMS[rng.random_range(0..NOMS.len())].to_owned()
            };
            let prenoms: &[&str] = if sexe == Sexe::Feminin { &PRENOMS_F } else { &PRENOMS_M };
            let prenom = prenoms[rng.random_range(0..prenoms.len())].to_owned();
            let naissance = NaiveDate::from_yo_opt(annee_naissance, rng.random_range(1..=365))
                .ok_or_else(|| generation("date de naissance"))?;
            if cles.insert(cle_doublon(&nom, &prenom, sexe, naissance, &lieu)) {
                break (sexe, nom, prenom, naissance);
            }
        };
        let departement: String = ecole.commune.replace("2A", "20").replace("2B", "20");
        let mere = PRENOMS_F[rng.random_range(0..PRENOMS_F.len())];
        let mut responsables = vec![json!({
            "nom": nom, "prenom": mere, "lien": "mere", "autorite_parentale": true,
            "telephone": format!("06{:08}", rng.random_range(0..100_000_000u32)),
            "courriel": format!("{}.{}@exemple.fr", normaliser(mere), normaliser(&nom)),
        })];
        if rng.random_bool(0.6) {
            let pere = PRENOMS_M[rng.random_range(0..PRENOMS_M.len())];
            responsables.push(json!({
                "nom": nom, "prenom": pere, "lien": "pere", "autorite_parentale": true,
                "telephone": format!("07{:08}", rng.random_range(0..100_000_000u32)),
            }));
        }
        let mut e = json!({
            "eleve": {
                "ine": ine.as_str(),
                "nom": nom,
                "prenoms": [prenom],
                "sexe": sexe.as_str(),
                "date_naissance": naissance.format("%Y-%m-%d").to_string(),
                "lieu_naissance": lieu.as_str(),
                "adresse": {
                    "voie": format!("{} rue {}", rng.random_range(1..200), VOIES_NOMS[rng.random_range(0..VOIES_NOMS.len())]),
                    "code_postal": departement,
                    "commune": ecole.commune,
                },
                "responsables": responsables,
            },
            "inscriptions": [{
                "uai": ecole.uai,
                "annee_scolaire": p.annee.as_str(),
                "niveau": niveau.as_str(),
                "classe": format!("{} A", niveau.as_str()),
                "statut": "admis_definitif",
                "date_inscription": format!("{debut}-05-15"),
                "date_admission": format!("{debut}-09-01"),
            }],
        });
        if pas > 0 && injectes < p.invalides && i % pas == pas / 2 {
            match CODES_INVALIDES[(injectes as usize) % CODES_INVALIDES.len()] {
                "ine_cle" => {
                    let mut s = ine.as_str().to_owned();
                    let fausse = if s.ends_with('A') { 'B' } else { 'A' };
                    s.pop();
                    s.push(fausse);
                    e["eleve"]["ine"] = json!(s);
                }
                "date_future" => e["eleve"]["date_naissance"] = json!("2099-01-01"),
                "ecole_inconnue" => e["inscriptions"][0]["uai"] = json!(inconnue.as_str()),
                "telephone_format" => e["eleve"]["responsables"][0]["telephone"] = json!("12"),
                _ => e["eleve"]["sexe"] = json!("X"),
            }
            injectes += 1;
        }
        ecrire(&e)?;
    }
    Ok(())
}
