//! Reads on a seeded base: the perimeter bounds every list and lookup, pagination walks a list
//! exactly once, and no filter can widen the perimeter.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashSet};

use diesel::prelude::*;
use onde_domain::{CodeInsee, Ecole, Ine, Perimetre, Uai};
use onde_seed::{self as seed, ParametresSeed};
use onde_store::ecoles::{self, FiltreEcoles};
use onde_store::inscriptions::{self, FiltreInscriptions, InscriptionEleve};
use onde_store::schema::{ecoles as t_ecoles, eleves as t_eleves, eleves_responsables, inscriptions as t_inscriptions};
use onde_store::{eleves, Curseur, DbConnection, DemandePage};
use uuid::Uuid;

fn seeder(conn: &mut DbConnection) {
    let p = ParametresSeed {
        eleves: 3_000,
        graine: 11,
        rentree: 2026,
        communes: None,
    };
    seed::generer(conn, &p, &mut |_, _| {}).unwrap();
}

fn commune(code: &str) -> CodeInsee {
    CodeInsee::parse(code).unwrap()
}

fn restreint(communes: &[&str], uais: &[&str]) -> Perimetre {
    Perimetre::Restreint {
        communes: communes.iter().map(|c| commune(c)).collect(),
        uais: uais.iter().map(|u| Uai::parse(u).unwrap()).collect(),
    }
}

/// Walks every page, passing the cursor through its text form as a partner would.
fn toutes<T>(limite: u32, mut page: impl FnMut(&DemandePage) -> onde_store::Page<T>) -> Vec<T> {
    let mut demande = DemandePage { limite, apres: None };
    let mut tout = Vec::new();
    for _ in 0..100_000 {
        let p = page(&demande);
        assert!(p.elements.len() <= limite as usize);
        assert!(
            p.suivant.is_none() || p.elements.len() == limite as usize,
            "page courte avant la fin"
        );
        tout.extend(p.elements);
        match p.suivant {
            Some(c) => demande.apres = Some(Curseur::decoder(&c.encoder()).unwrap()),
            None => return tout,
        }
    }
    panic!("pagination sans fin");
}

fn lister_ecoles(conn: &mut DbConnection, p: &Perimetre, filtre: &FiltreEcoles, limite: u32) -> Vec<Ecole> {
    toutes(limite, |d| ecoles::lister(conn, p, filtre, d).unwrap())
}

fn lister_inscriptions(
    conn: &mut DbConnection,
    p: &Perimetre,
    filtre: &FiltreInscriptions,
    limite: u32,
) -> Vec<InscriptionEleve> {
    toutes(limite, |d| inscriptions::lister(conn, p, filtre, d).unwrap())
}

fn sans_doublons<T: Ord + Clone + std::fmt::Debug>(v: &[T]) -> BTreeSet<T> {
    let ensemble: BTreeSet<T> = v.iter().cloned().collect();
    assert_eq!(ensemble.len(), v.len(), "doublons dans la liste paginée");
    ensemble
}

onde_store::tests_deux_backends! {
    fn perimetre_et_pagination(base) {
        let mut conn = base.store.connexion().unwrap();
        seeder(&mut conn);

        // The commune with the most schools, and another one.
        let mut par_commune: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (uai, code) in t_ecoles::table
            .select((t_ecoles::uai, t_ecoles::code_commune))
            .load::<(String, String)>(&mut *conn)
            .unwrap()
        {
            par_commune.entry(code).or_default().insert(uai);
        }
        let x = par_commune.iter().max_by_key(|(_, e)| e.len()).map(|(c, _)| c.clone()).unwrap();
        let y = par_commune.keys().find(|c| **c != x).cloned().unwrap();
        let ecoles_x = par_commune[&x].clone();
        assert!(ecoles_x.len() >= 3, "commune trop petite pour paginer : {}", ecoles_x.len());
        let perimetre_x = restreint(&[&x], &[]);

        // Schools: restricted perimeter, several pages of 2.
        let liste = lister_ecoles(&mut conn, &perimetre_x, &FiltreEcoles::default(), 2);
        let uais: BTreeSet<String> = sans_doublons(&liste.iter().map(|e| e.uai.to_string()).collect::<Vec<_>>());
        assert!(liste.iter().all(|e| e.commune.as_str() == x));
        assert_eq!(uais, ecoles_x);
        // National perimeter + commune filter: the same set.
        let filtre_x = FiltreEcoles { commune: Some(commune(&x)), ..FiltreEcoles::default() };
        let national = lister_ecoles(&mut conn, &Perimetre::National, &filtre_x, 2);
        assert_eq!(national.iter().map(|e| e.uai.to_string()).collect::<BTreeSet<_>>(), ecoles_x);
        // A filter on another commune cannot widen the perimeter.
        let filtre_y = FiltreEcoles { commune: Some(commune(&y)), ..FiltreEcoles::default() };
        assert!(lister_ecoles(&mut conn, &perimetre_x, &filtre_y, 2).is_empty());
        assert!(!lister_ecoles(&mut conn, &Perimetre::National, &filtre_y, 2).is_empty());
        // A perimeter of one UAI.
        let uai_y = par_commune[&y].iter().next().unwrap().clone();
        let une = lister_ecoles(&mut conn, &restreint(&[], &[&uai_y]), &FiltreEcoles::default(), 2);
        assert_eq!(une.iter().map(|e| e.uai.to_string()).collect::<Vec<_>>(), vec![uai_y.clone()]);

        // Inscriptions: every page, only schools of the commune, each row once.
        let attendues: BTreeSet<String> = t_inscriptions::table
            .inner_join(t_ecoles::table)
            .filter(t_ecoles::code_commune.eq(&x))
            .select(t_inscriptions::id)
            .load::<String>(&mut *conn)
            .unwrap()
            .into_iter()
            .collect();
        assert!(attendues.len() > 200, "{}", attendues.len());
        let liste = lister_inscriptions(&mut conn, &perimetre_x, &FiltreInscriptions::default(), 97);
        let ids = sans_doublons(&liste.iter().map(|i| i.inscription.id.to_string()).collect::<Vec<_>>());
        assert!(liste.iter().all(|i| ecoles_x.contains(i.inscription.uai.as_str())));
        assert!(liste.iter().all(|i| i.eleve.id == i.inscription.eleve_id));
        assert_eq!(ids, attendues);
        let filtre_x = FiltreInscriptions { commune: Some(commune(&x)), ..FiltreInscriptions::default() };
        let national = lister_inscriptions(&mut conn, &Perimetre::National, &filtre_x, 97);
        assert_eq!(national.iter().map(|i| i.inscription.id.to_string()).collect::<BTreeSet<_>>(), attendues);
        let filtre_y = FiltreInscriptions { commune: Some(commune(&y)), ..FiltreInscriptions::default() };
        assert!(lister_inscriptions(&mut conn, &perimetre_x, &filtre_y, 97).is_empty());
        let filtre_uai_y =
            FiltreInscriptions { uai: Some(Uai::parse(&uai_y).unwrap()), ..FiltreInscriptions::default() };
        assert!(lister_inscriptions(&mut conn, &perimetre_x, &filtre_uai_y, 97).is_empty());
        assert!(!lister_inscriptions(&mut conn, &Perimetre::National, &filtre_uai_y, 97).is_empty());
    }

    fn lectures_unitaires_bornees_par_le_perimetre(base) {
        let mut conn = base.store.connexion().unwrap();
        seeder(&mut conn);
        let lignes = t_inscriptions::table
            .inner_join(t_ecoles::table)
            .inner_join(t_eleves::table)
            .select((
                t_inscriptions::id,
                t_inscriptions::uai,
                t_inscriptions::statut,
                t_ecoles::code_commune,
                t_eleves::id,
                t_eleves::ine,
                t_eleves::adresse_commune,
            ))
            .load::<(String, String, String, String, String, Option<String>, Option<String>)>(&mut *conn)
            .unwrap();
        // The commune with the most inscriptions.
        let mut compte: BTreeMap<&str, usize> = BTreeMap::new();
        for l in &lignes {
            *compte.entry(l.3.as_str()).or_default() += 1;
        }
        let x = compte.iter().max_by_key(|(_, n)| **n).map(|(c, _)| c.to_string()).unwrap();
        let perimetre_x = restreint(&[&x], &[]);
        let dans_x = lignes.iter().find(|l| l.3 == x).unwrap();
        let hors_x = lignes.iter().find(|l| l.3 != x).unwrap();

        // Inscriptions and schools.
        let id = |l: &(String, String, String, String, String, Option<String>, Option<String>)| {
            Uuid::parse_str(&l.0).unwrap()
        };
        let trouvee = inscriptions::trouver(&mut conn, &perimetre_x, id(dans_x)).unwrap().unwrap();
        assert_eq!(trouvee.inscription.id, id(dans_x));
        assert!(inscriptions::trouver(&mut conn, &perimetre_x, id(hors_x)).unwrap().is_none());
        assert!(inscriptions::trouver(&mut conn, &Perimetre::National, id(hors_x)).unwrap().is_some());
        assert!(inscriptions::trouver(&mut conn, &restreint(&[], &[]), id(dans_x)).unwrap().is_none());
        let uai = |s: &str| Uai::parse(s).unwrap();
        assert!(ecoles::trouver(&mut conn, &perimetre_x, &uai(&dans_x.1)).unwrap().is_some());
        assert!(ecoles::trouver(&mut conn, &perimetre_x, &uai(&hors_x.1)).unwrap().is_none());
        assert!(ecoles::trouver(&mut conn, &restreint(&[], &[&hors_x.1]), &uai(&hors_x.1)).unwrap().is_some());
        assert!(ecoles::trouver(&mut conn, &Perimetre::National, &uai(&hors_x.1)).unwrap().is_some());

        // Pupils: visible when schooled (actively) or living in the commune, not otherwise.
        let actifs_x: HashSet<&str> = lignes
            .iter()
            .filter(|l| l.3 == x && l.2 != "radie")
            .map(|l| l.4.as_str())
            .collect();
        let visible = lignes.iter().find(|l| actifs_x.contains(l.4.as_str()) && l.5.is_some()).unwrap();
        // A pupil who left a school of the commune (radiated there) and lives elsewhere.
        let invisible = lignes
            .iter()
            .find(|l| {
                l.3 == x
                    && l.2 == "radie"
                    && !actifs_x.contains(l.4.as_str())
                    && l.6.as_deref() != Some(x.as_str())
                    && l.5.is_some()
            })
            .expect("le jeu de données devrait contenir un élève parti de la commune");
        let ine = |l: &(String, String, String, String, String, Option<String>, Option<String>)| {
            Ine::parse(l.5.as_deref().unwrap()).unwrap()
        };
        let eleve = eleves::trouver_par_ine(&mut conn, &perimetre_x, &ine(visible)).unwrap().unwrap();
        assert_eq!(eleve.id.to_string(), visible.4);
        assert!(eleves::trouver_par_ine(&mut conn, &perimetre_x, &ine(invisible)).unwrap().is_none());
        assert!(eleves::trouver_par_ine(&mut conn, &Perimetre::National, &ine(invisible)).unwrap().is_some());
        let reside_x = lignes
            .iter()
            .find(|l| !actifs_x.contains(l.4.as_str()) && l.6.as_deref() == Some(x.as_str()) && l.5.is_some());
        if let Some(l) = reside_x {
            assert!(eleves::trouver_par_ine(&mut conn, &perimetre_x, &ine(l)).unwrap().is_some());
        }

        // Guardians come in rang order.
        let liens = eleves_responsables::table
            .select((eleves_responsables::eleve_id, eleves_responsables::responsable_id, eleves_responsables::rang))
            .load::<(String, String, i32)>(&mut *conn)
            .unwrap();
        let mut par_eleve: BTreeMap<&str, Vec<(i32, &str)>> = BTreeMap::new();
        for (e, r, rang) in &liens {
            par_eleve.entry(e.as_str()).or_default().push((*rang, r.as_str()));
        }
        let mut verifies = 0;
        for l in lignes.iter().filter(|l| l.5.is_some() && par_eleve[l.4.as_str()].len() >= 2).take(20) {
            let eleve = eleves::trouver_par_ine(&mut conn, &Perimetre::National, &ine(l)).unwrap().unwrap();
            let mut attendus = par_eleve[l.4.as_str()].clone();
            attendus.sort();
            let obtenus: Vec<String> = eleve.responsables.iter().map(|r| r.id.to_string()).collect();
            let attendus: Vec<String> = attendus.iter().map(|(_, r)| r.to_string()).collect();
            assert_eq!(obtenus, attendus);
            verifies += 1;
        }
        assert!(verifies > 0);
    }
}
