//! Concurrent writers, on SQLite and PostgreSQL: requests racing on one pupil or one
//! inscription, each from its own thread and actix system over one shared pool, meet in the
//! database. Exactly one wins; the others get the conflict a sequential caller would get
//! (409, or 412 on a stale If-Match) — never a 500, never two active inscriptions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::commun::*;
use crate::ecritures::*;
use actix_web::test;
use onde_domain::{Niveau, StatutInscription};
use serde_json::json;

const N: usize = 8;
/// Rounds per test, each on fresh rows: a race lost once is a failure.
const MANCHES: usize = 5;

fn jeton_de(etat: &api::EtatApp, id: &Identifiants) -> String {
    actix_web::rt::System::new().block_on(async {
        let app = test::init_service(api::app(etat.clone())).await;
        jeton(&app, id).await
    })
}

fn actives(base: &onde_store::testing::BaseDeTest, eleve: &str) -> Vec<String> {
    inscriptions_de(base, eleve)
        .into_iter()
        .filter(|i| i.annee_scolaire.as_str() == ANNEE && i.statut != StatutInscription::Radie)
        .map(|i| i.id.to_string())
        .collect()
}

deux_backends! {
    // The case: the same pupil admitted to several schools for one year at once.
    fn meme_eleve_dans_plusieurs_ecoles(base: ecritures()) {
        let m = monde(base);
        let etat = etat_neuf(base, 16);
        let j = jeton_de(&etat, &mairie_de_toutes_les_communes(base));
        for manche in 0..MANCHES {
            let eleve = eleve_direct(base, &dossier(&nom_unique("Convoite")));
            let envois = (0..N)
                .map(|k| {
                    let uai = m.toutes_cp[k % m.toutes_cp.len()].uai.as_str();
                    Envoi::new("/v1/inscriptions", &j, creation_par_id(&eleve, uai, ANNEE, "CP"))
                })
                .collect();
            let reponses = en_parallele(&etat, envois);
            let statuts = par_statut(&reponses);
            assert_eq!(statuts.get(&201), Some(&1), "manche {manche}\n{}", resume(&reponses));
            assert_eq!(statuts.get(&409), Some(&(N - 1)), "manche {manche}\n{}", resume(&reponses));
            for r in reponses.iter().filter(|r| r.statut == 409) {
                assert_probleme(r, 409, "inscription_active_existante");
            }
            let gagnante = reponses.iter().find(|r| r.statut == 201).unwrap();
            assert_eq!(actives(base, &eleve), [gagnante.corps["id"].as_str().unwrap()]);
            assert_eq!(inscriptions_de(base, &eleve).len(), 1);
        }
    }

    // A new pupil (with an INE) sent by several writers at once: one pupil, one inscription,
    // the others told about the candidate.
    fn meme_nouvel_eleve_avec_ine(base: ecritures()) {
        let m = monde(base);
        let etat = etat_neuf(base, 16);
        let j = jeton_de(&etat, &mairie_de_toutes_les_communes(base));
        for manche in 0..MANCHES {
            let mut d = dossier(&nom_unique("Simultane"));
            d["ine"] = json!(ine_unique());
            let envois = (0..N)
                .map(|k| {
                    let uai = m.toutes_cp[k % m.toutes_cp.len()].uai.as_str();
                    Envoi::new("/v1/inscriptions", &j, creation_nouvel_eleve(d.clone(), uai))
                })
                .collect();
            let reponses = en_parallele(&etat, envois);
            let statuts = par_statut(&reponses);
            assert_eq!(statuts.get(&201), Some(&1), "manche {manche}\n{}", resume(&reponses));
            let gagnante = reponses.iter().find(|r| r.statut == 201).unwrap();
            let eleve = gagnante.corps["eleve"]["id"].as_str().unwrap();
            for r in reponses.iter().filter(|r| r.statut != 201) {
                assert_probleme(r, 409, "eleve_en_doublon");
                assert_eq!(r.corps["candidat"]["id"], eleve, "{}", r.texte);
            }
            assert_eq!(eleves_de_cle(base, &cle_de(&d)), [eleve]);
            assert_eq!(inscriptions_de(base, eleve).len(), 1);
        }
    }

    // The same without an INE: only the five-field key tells the writers they race on one child.
    fn meme_nouvel_eleve_sans_ine(base: ecritures()) {
        let m = monde(base);
        let etat = etat_neuf(base, 16);
        let j = jeton_de(&etat, &mairie_de_toutes_les_communes(base));
        for manche in 0..MANCHES {
            let d = dossier(&nom_unique("Jumeau"));
            let envois = (0..N)
                .map(|k| {
                    let uai = m.toutes_cp[k % m.toutes_cp.len()].uai.as_str();
                    Envoi::new("/v1/inscriptions", &j, creation_nouvel_eleve(d.clone(), uai))
                })
                .collect();
            let reponses = en_parallele(&etat, envois);
            let crees = eleves_de_cle(base, &cle_de(&d));
            assert_eq!(crees.len(), 1, "manche {manche} : un seul élève pour ces cinq champs : {crees:?}\n{}", resume(&reponses));
            let statuts = par_statut(&reponses);
            assert_eq!(statuts.get(&201), Some(&1), "manche {manche}\n{}", resume(&reponses));
            for r in reponses.iter().filter(|r| r.statut != 201) {
                assert_probleme(r, 409, "eleve_en_doublon");
            }
        }
    }

    // Operations racing on one inscription with the same If-Match: exactly one applies, the
    // others are told their version is stale.
    fn operations_avec_le_meme_if_match(base: ecritures()) {
        let m = monde(base);
        let etat = etat_neuf(base, 16);
        let j = jeton_de(&etat, &mairie_de_toutes_les_communes(base));
        let operations = [
            ("admission", json!({"provisoire": true})),
            ("admissibilite", json!({})),
            ("radiation", json!({"date": "2028-10-01", "motif": "demenagement"})),
            ("changement_niveau", json!({"niveau": "CE1"})),
            ("changement_ecole", json!({"uai": m.cp_voisine.uai.as_str()})),
            ("admission", json!({"provisoire": false})),
            ("changement_ecole", json!({"uai": m.cp_ailleurs.uai.as_str()})),
            ("radiation", json!({"date": "2028-10-02", "motif": "autre"})),
        ];
        for manche in 0..MANCHES {
            let eleve = eleve_direct(base, &dossier(&nom_unique("Disputee")));
            let id = inscription_directe(base, &eleve, m.cp.uai.as_str(), ANNEE, Niveau::Cp, StatutInscription::Inscrit);
            let envois = operations
                .iter()
                .map(|(op, c)| Envoi::new(format!("/v1/inscriptions/{id}/{op}"), &j, c.clone()).entete("If-Match", "\"v1\""))
                .collect();
            let reponses = en_parallele(&etat, envois);
            let reussies: Vec<_> = reponses.iter().filter(|r| r.statut.is_success()).collect();
            assert_eq!(reussies.len(), 1, "manche {manche}\n{}", resume(&reponses));
            for r in reponses.iter().filter(|r| !r.statut.is_success()) {
                assert_probleme(r, 412, "version_perimee");
            }
            assert_eq!(en_base(base, &id).1, 2, "une seule écriture");
            let gagnante = reussies[0];
            let (nombre, actives_attendues) = match (gagnante.statut.as_u16(), gagnante.corps["statut"].as_str()) {
                (201, _) => (2, 1),
                (_, Some("radie")) => (1, 0),
                _ => (1, 1),
            };
            assert_eq!(inscriptions_de(base, &eleve).len(), nombre);
            assert_eq!(actives(base, &eleve).len(), actives_attendues);
        }
    }

    // Racing radiations without If-Match: one applies; the others get what a sequential caller
    // would (the transition is refused, or the version moved) — nothing else.
    fn radiations_simultanees(base: ecritures()) {
        let m = monde(base);
        let etat = etat_neuf(base, 16);
        let j = jeton_de(&etat, &mairie_de_toutes_les_communes(base));
        for manche in 0..MANCHES {
            let eleve = eleve_direct(base, &dossier(&nom_unique("Partant")));
            let id = inscription_directe(base, &eleve, m.cp.uai.as_str(), ANNEE, Niveau::Cp, StatutInscription::Inscrit);
            let envois = (0..N)
                .map(|k| Envoi::new(format!("/v1/inscriptions/{id}/radiation"), &j, json!({"date": format!("2028-10-{:02}", k + 1), "motif": "demenagement"})))
                .collect();
            let reponses = en_parallele(&etat, envois);
            let statuts = par_statut(&reponses);
            assert_eq!(statuts.get(&200), Some(&1), "manche {manche}\n{}", resume(&reponses));
            assert!(statuts.keys().all(|s| [200, 409, 412].contains(s)), "manche {manche}\n{}", resume(&reponses));
            let (i, v) = en_base(base, &id);
            assert_eq!((i.statut, v), (StatutInscription::Radie, 2));
            let gagnante = reponses.iter().find(|r| r.statut == 200).unwrap();
            assert_eq!(gagnante.corps["date_radiation"], json!(i.date_radiation.unwrap().format("%Y-%m-%d").to_string()));
        }
    }

    // Racing changes of school: one new inscription, one active inscription.
    fn changements_d_ecole_simultanes(base: ecritures()) {
        let m = monde(base);
        let cibles: Vec<_> = m.toutes_cp.iter().filter(|e| e.uai != m.cp.uai).collect();
        let etat = etat_neuf(base, 16);
        let j = jeton_de(&etat, &mairie_de_toutes_les_communes(base));
        for manche in 0..MANCHES {
            let eleve = eleve_direct(base, &dossier(&nom_unique("Nomade")));
            let id = inscription_directe(base, &eleve, m.cp.uai.as_str(), ANNEE, Niveau::Cp, StatutInscription::Inscrit);
            let envois = (0..N)
                .map(|k| Envoi::new(format!("/v1/inscriptions/{id}/changement_ecole"), &j, json!({"uai": cibles[k % cibles.len()].uai.as_str()})))
                .collect();
            let reponses = en_parallele(&etat, envois);
            let statuts = par_statut(&reponses);
            assert_eq!(statuts.get(&201), Some(&1), "manche {manche}\n{}", resume(&reponses));
            assert!(statuts.keys().all(|s| [201, 409, 412].contains(s)), "manche {manche}\n{}", resume(&reponses));
            let gagnante = reponses.iter().find(|r| r.statut == 201).unwrap();
            assert_eq!(actives(base, &eleve), [gagnante.corps["id"].as_str().unwrap()]);
            assert_eq!(inscriptions_de(base, &eleve).len(), 2);
        }
    }
}
