//! Unit tests of the generator, without a database.

use onde_domain::{AnneeScolaire, CodeInsee, Niveau, StatutInscription, TypeEcole};

use crate::communes::departements;
use crate::eleves::ascii_courriel;
use crate::generateur::Generateur;
use crate::parametres::{ParametresSeed, ELEVES_PAR_COMMUNE, MAX_COMMUNES_DEFAUT};

#[test]
fn chaque_departement_a_une_academie_et_des_codes_valides() {
    let deps = departements();
    assert_eq!(deps.len(), 94 + 2 + 5);
    for d in &deps {
        assert_ne!(d.academie, 0, "département {} sans académie", d.code);
        let code = if d.numeros == 999 {
            format!("{}999", d.code)
        } else {
            format!("{}99", d.code)
        };
        let insee = CodeInsee::parse(&code).unwrap();
        assert!(insee.prefixe_uai().is_some(), "{code}");
    }
}

#[test]
fn courriel_ascii() {
    assert_eq!(ascii_courriel("Anaïs"), "anais");
    assert_eq!(ascii_courriel("N'Diaye"), "ndiaye");
    assert_eq!(ascii_courriel("Le Gall"), "legall");
    assert_eq!(ascii_courriel("Martin-Dubois"), "martin-dubois");
    assert_eq!(ascii_courriel("Cœur"), "coeur");
}

/// Generates `eleves` pupils into the buffers, without a database.
fn generer_en_memoire(eleves: u32, graine: u64) -> Generateur {
    let p = ParametresSeed {
        eleves,
        graine,
        rentree: 2026,
        communes: None,
    };
    let mut g = Generateur::nouveau(&p, AnneeScolaire::depuis_debut(2026).unwrap()).unwrap();
    g.communes((eleves / ELEVES_PAR_COMMUNE).max(1), eleves).unwrap();
    g.ecoles().unwrap();
    for c in 0..g.communes.len() {
        let mut restants = g.communes[c].eleves;
        while restants > 0 {
            restants -= g.foyer_suivant(c, restants).unwrap();
        }
    }
    g
}

#[test]
fn tous_les_statuts_des_200_eleves() {
    // Random draws alone miss a 2 % status in a few percent of 200-pupil sets.
    for graine in 0..200 {
        let g = generer_en_memoire(200, graine);
        assert_eq!(g.tampons.eleves.len(), 200);
        let statuts: std::collections::BTreeSet<StatutInscription> = g
            .tampons
            .inscriptions
            .iter()
            .filter(|i| i.annee_scolaire == "2026-2027")
            .map(|i| StatutInscription::parse(&i.statut).unwrap())
            .collect();
        assert_eq!(
            statuts.len(),
            StatutInscription::TOUS.len(),
            "graine {graine} : {statuts:?}"
        );
        let provisoire = g.tampons.inscriptions.iter().any(|i| i.admission_provisoire);
        assert!(provisoire, "graine {graine} : aucune admission provisoire");
    }
}

#[test]
fn echelle_nationale_48_000_ecoles_pour_35_000_communes() {
    let p = ParametresSeed {
        eleves: 6_300_000,
        graine: 42,
        rentree: 2026,
        communes: None,
    };
    let mut g = Generateur::nouveau(&p, AnneeScolaire::depuis_debut(2026).unwrap()).unwrap();
    g.communes(MAX_COMMUNES_DEFAUT, p.eleves).unwrap();
    g.ecoles().unwrap();
    assert_eq!(g.communes.len(), 35_000);
    assert!((45_000..=51_000).contains(&g.ecoles.len()), "{} écoles", g.ecoles.len());
    let sans = g.communes.iter().filter(|c| c.sans_ecole).count();
    assert!((8_000..=20_000).contains(&sans), "{sans} communes sans école");
    // A village without a school is hosted in its own département, by a school that
    // teaches every niveau.
    for c in g.communes.iter().filter(|c| c.sans_ecole) {
        let [e] = c.ecoles[..] else {
            panic!("{} : {:?}", c.code, c.ecoles)
        };
        let hote = &g.ecoles[e].ligne.code_commune;
        assert_ne!(hote, &c.code);
        assert_eq!(&hote[..2], &c.code[..2], "{} accueilli à {hote}", c.code);
        assert_eq!(g.ecoles[e].type_ecole, TypeEcole::Primaire);
    }
}

#[test]
fn repartition_exacte_des_eleves() {
    let p = ParametresSeed {
        eleves: 12_345,
        graine: 7,
        rentree: 2026,
        communes: None,
    };
    let mut g = Generateur::nouveau(&p, AnneeScolaire::depuis_debut(2026).unwrap()).unwrap();
    g.communes(68, p.eleves).unwrap();
    assert_eq!(g.communes.iter().map(|c| c.eleves).sum::<u32>(), p.eleves);
    assert!(g.communes[0].eleves > 10 * g.communes[67].eleves);
    g.ecoles().unwrap();
    for c in &g.communes {
        assert!(!c.ecoles.is_empty());
        for n in Niveau::TOUS {
            assert!(c.ecoles.iter().any(|e| g.ecoles[*e].type_ecole.accueille(n)));
        }
    }
}
