//! The logs never carry personal data: a broad session — lists, CSV, single pupils by INE,
//! writes, duplicates, errors naming bad values, imports, batches, the feed — is run with
//! every log level of every crate captured as JSON, and no INE, surname or birth date of any
//! pupil appears in them (while the request lines, with route patterns, do).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "suite/commun/mod.rs"]
#[allow(unused_imports, unused_macros)]
mod commun;

use std::io::Write;
use std::sync::{Arc, Mutex};

use actix_web::http::Method;
use commun::*;
use onde_domain::TypePartenaire;
use serde_json::json;

#[derive(Clone, Default)]
struct Tampon(Arc<Mutex<Vec<u8>>>);

impl Write for Tampon {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Tampon {
    type Writer = Tampon;
    fn make_writer(&'a self) -> Tampon {
        self.clone()
    }
}

/// Both backends one after the other: the subscriber and its buffer are the process's.
#[test]
fn aucune_donnee_personnelle_dans_les_journaux() {
    for base in [
        onde_store::testing::BaseDeTest::sqlite(),
        onde_store::testing::BaseDeTest::postgres(),
    ] {
        session(&base);
    }
}

fn session(base: &onde_store::testing::BaseDeTest) {
    {
        seeder(base, 150);
        // One subscriber and one buffer for the whole process.
        static TAMPON: std::sync::OnceLock<Tampon> = std::sync::OnceLock::new();
        let tampon = TAMPON
            .get_or_init(|| {
                let t = Tampon::default();
                let _ = tracing_subscriber::fmt()
                    .json()
                    .with_max_level(tracing::Level::TRACE)
                    .with_writer(t.clone())
                    .try_init();
                t
            })
            .clone();
        tampon.0.lock().unwrap().clear();
        let inscriptions = toutes_les_inscriptions(base);
        let etat = etat(base);
        let ecole = toutes_les_ecoles(base)
            .into_iter()
            .find(|e| e.type_ecole != onde_domain::TypeEcole::Maternelle)
            .unwrap();
        let mut requetes = 0;
        executer(async {
            let app = actix_web::test::init_service(api::app(etat.clone())).await;
            let mairie = mairie_de_toutes_les_communes(base);
            let editeur = partenaire(
                base,
                TypePartenaire::Editeur,
                "eleves:read eleves:write inscriptions:read inscriptions:write",
                &[],
                &[],
                &[ecole.commune.as_str()],
            );
            let (j, je) = (jeton(&app, &mairie).await, jeton(&app, &editeur).await);
            for uri in [
                "/v1/inscriptions?limit=1000",
                "/v1/inscriptions?format=csv",
                "/v1/eleves?limit=1000",
                "/v1/eleves?format=csv",
                "/v1/changements",
                "/v1/ecoles",
            ] {
                assert_eq!(get(&app, &j, uri).await.statut, 200, "{uri}");
                requetes += 1;
            }
            for i in inscriptions.iter().filter_map(|i| i.eleve.ine.as_ref()).take(20) {
                assert_eq!(get(&app, &j, &format!("/v1/eleves/{}", i.as_str())).await.statut, 200);
                requetes += 1;
            }
            // Errors that name the value they refuse.
            let ine = inscriptions.iter().find_map(|i| i.eleve.ine.clone()).unwrap();
            let mauvais = format!("{}Z", &ine.as_str()[..10]);
            assert_eq!(get(&app, &j, &format!("/v1/eleves/{mauvais}")).await.statut, 400);
            let nouveau = json!({"eleve": {"nom": "Journalisé-Secret", "prenoms": ["Clémence"], "sexe": "F",
                                 "date_naissance": "2020-02-29", "lieu_naissance": "75056"},
                                 "uai": ecole.uai.as_str(), "annee_scolaire": "2026-2027", "niveau": "CP"});
            for attendu in [201, 409] {
                let r = requete(&app, Method::POST, "/v1/inscriptions", &j, &[], Some(&nouveau)).await;
                assert_eq!(r.statut, attendu, "{}", r.texte);
            }
            let invalide = json!({"eleve": {"nom": "", "prenoms": [], "sexe": "X", "date_naissance": "2031-13-01",
                                  "lieu_naissance": "7505", "ine": mauvais}, "uai": "0750655X",
                                  "annee_scolaire": "2026-2027", "niveau": "CP"});
            assert!(
                requete(&app, Method::POST, "/v1/inscriptions", &j, &[], Some(&invalide))
                    .await
                    .statut
                    .is_client_error()
            );
            let lot = json!({"mode": "partiel", "elements": [{"eleve": {"ine": mauvais, "nom": "Lot-Secret", "prenoms": ["A"], "sexe": "M",
                              "date_naissance": "2019-05-05", "lieu_naissance": "75056"}, "inscriptions": []}]});
            assert_eq!(
                requete(&app, Method::POST, "/v1/lots/eleves", &je, &[], Some(&lot))
                    .await
                    .statut,
                200
            );
            let ndjson = serde_json::Value::String(format!("{}\n{{\"eleve\": 3}}\n", lot["elements"][0]));
            assert_eq!(
                requete(&app, Method::POST, "/v1/imports", &je, &[], Some(&ndjson))
                    .await
                    .statut,
                202
            );
            requetes += 6;
            etat.auditeur.vider();
            // Let the import job finish and log.
            actix_web::rt::time::sleep(std::time::Duration::from_millis(500)).await;
        });
        let journaux = String::from_utf8(tampon.0.lock().unwrap().clone()).unwrap();
        let lignes_requete = journaux.lines().filter(|l| l.contains("\"route\"")).count();
        assert!(
            lignes_requete >= requetes,
            "{lignes_requete} lignes de requête pour {requetes} requêtes"
        );
        let mut interdits: Vec<String> = vec!["Journalisé-Secret".into(), "Lot-Secret".into(), "2020-02-29".into()];
        for i in &inscriptions {
            if let Some(ine) = &i.eleve.ine {
                interdits.push(ine.as_str().to_owned());
            }
            if i.eleve.nom.chars().count() >= 6 {
                interdits.push(i.eleve.nom.clone());
            }
            interdits.push(i.eleve.date_naissance.to_string());
        }
        interdits.sort();
        interdits.dedup();
        let trouves: Vec<&String> = interdits.iter().filter(|x| journaux.contains(x.as_str())).collect();
        assert!(
            trouves.is_empty(),
            "données personnelles dans les journaux : {trouves:?}"
        );
    }
}
