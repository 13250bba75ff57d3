//! Hostile input cannot exhaust a node: an import line over the bound is one rejection, import
//! jobs wait in a bounded queue for a fixed number of workers (503 beyond), token requests with
//! random client ids share one bucket and leave no key behind (metric labels stay bounded:
//! tests/metriques.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use crate::commun::api::ConfigImports;
use crate::commun::api::{ConfigLimites, Regle};
use crate::commun::*;
use actix_web::test;
use onde_domain::{AnneeScolaire, TypePartenaire};
use onde_seed::exemple;
use onde_store::testing::BaseDeTest;
use serde_json::Value;

const SCOPES: &str = "ecoles:read eleves:read eleves:write inscriptions:read inscriptions:write";

/// A private school's partner and `n` valid NDJSON lines for its school.
fn ecole_et_lignes(base: &BaseDeTest, n: u32) -> (Identifiants, Vec<String>) {
    let ecole = toutes_les_ecoles(base)
        .into_iter()
        .find(|e| e.type_ecole != onde_domain::TypeEcole::Maternelle)
        .unwrap();
    let id = partenaire(
        base,
        TypePartenaire::EcolePrivee,
        SCOPES,
        &[],
        &[ecole.uai.as_str()],
        &[],
    );
    let mut conn = base.store.connexion().unwrap();
    let p = exemple::ParametresExemple {
        eleves: n,
        graine: 11,
        annee: AnneeScolaire::parse("2026-2027").unwrap(),
        uais: vec![ecole.uai.clone()],
        invalides: 0,
    };
    let mut lignes = Vec::new();
    exemple::generer(&mut conn, &p, &mut |e| {
        lignes.push(e.to_string());
        Ok(())
    })
    .unwrap();
    (id, lignes)
}

fn televerser(jeton: &str, corps: Vec<u8>) -> actix_http::Request {
    test::TestRequest::post()
        .uri("/v1/imports")
        .insert_header(("Authorization", format!("Bearer {jeton}")))
        .insert_header(("Content-Type", "application/x-ndjson"))
        .set_payload(corps)
        .to_request()
}

/// Polls a job until it ends.
async fn fin<S, B>(app: &S, jeton: &str, id: &str) -> Value
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    for _ in 0..1200 {
        let r = get(app, jeton, &format!("/v1/imports/{id}")).await;
        assert_eq!(r.statut, 200, "{}", r.texte);
        if r.corps["statut"] == "termine" || r.corps["statut"] == "echoue" {
            return r.corps;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("import {id} non terminé");
}

deux_backends! {
    fn ligne_trop_longue_un_seul_rejet(base: eleves(300)) {
        let (id, lignes) = ecole_et_lignes(base, 3);
        let etat = etat(base).avec_imports(ConfigImports { ligne_max_octets: 8192, ..ConfigImports::default() });
        executer(async {
            let app = test::init_service(api::app(etat)).await;
            let j = jeton(&app, &id).await;
            // A line of 3 MiB between valid ones.
            let mut corps = format!("{}\n", lignes[0]).into_bytes();
            corps.extend(std::iter::repeat_n(b' ', 1 << 20));
            corps.extend(lignes[1].bytes());
            corps.extend(std::iter::repeat_n(b'x', 2 << 20));
            corps.extend(format!("\n{}\n", lignes[2]).bytes());
            let r = appeler(&app, televerser(&j, corps)).await;
            assert_eq!(r.statut, 202, "{}", r.texte);
            let import = r.corps["id"].as_str().unwrap().to_owned();
            let f = fin(&app, &j, &import).await;
            assert_eq!(f["statut"], "termine", "{f}");
            assert_eq!((f["total"].as_i64(), f["crees"].as_i64(), f["rejetes"].as_i64()), (Some(3), Some(2), Some(1)), "{f}");
            let r = get(&app, &j, &format!("/v1/imports/{import}/rejets")).await;
            let rejets = r.corps["elements"].as_array().unwrap();
            assert_eq!(rejets.len(), 1, "{}", r.texte);
            assert_eq!((rejets[0]["ligne"].as_i64(), rejets[0]["code"].as_str()), (Some(2), Some("ligne_trop_longue")));
            assert!(rejets[0]["message"].as_str().unwrap().contains("8192 octets"), "{}", r.texte);
        });
    }

    fn imports_en_file_bornee(base: eleves(300)) {
        let (id, lignes) = ecole_et_lignes(base, 4000);
        let etat = etat(base).avec_imports(ConfigImports { workers: 1, file: 1, ..ConfigImports::default() });
        executer(async {
            let app = test::init_service(api::app(etat)).await;
            let j = jeton(&app, &id).await;
            let gros: String = lignes.iter().map(|l| format!("{l}\n")).collect();
            let petit: String = lignes[..10].iter().map(|l| format!("{l}\n")).collect();
            // One worker, one waiting place: the first runs, the second waits, the third is refused.
            let a = appeler(&app, televerser(&j, gros.into_bytes())).await;
            assert_eq!(a.statut, 202, "{}", a.texte);
            let b = appeler(&app, televerser(&j, petit.clone().into_bytes())).await;
            assert_eq!(b.statut, 202, "{}", b.texte);
            assert_eq!(b.corps["statut"], "en_attente");
            let c = appeler(&app, televerser(&j, petit.clone().into_bytes())).await;
            assert_probleme(&c, 503, "file_imports_pleine");
            assert!(c.entete("retry-after").is_some_and(|s| s.parse::<u32>().is_ok()), "{:?}", c.entetes);
            let (a, b) = (a.corps["id"].as_str().unwrap().to_owned(), b.corps["id"].as_str().unwrap().to_owned());
            let fa = fin(&app, &j, &a).await;
            let fb = fin(&app, &j, &b).await;
            assert_eq!((fa["statut"].as_str(), fb["statut"].as_str()), (Some("termine"), Some("termine")), "{fa} {fb}");
            // The second started only once the first had ended: one worker.
            let date = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
            assert!(date(&fb["debut_le"]) >= date(&fa["fin_le"]), "{fa} {fb}");
            // Places are given back: a new upload is accepted.
            let d = appeler(&app, televerser(&j, petit.into_bytes())).await;
            assert_eq!(d.statut, 202, "{}", d.texte);
            fin(&app, &j, d.corps["id"].as_str().unwrap()).await;
        });
    }

    fn clients_inconnus_un_seul_seau(base: eleves(20)) {
        let valide = mairie_de_toutes_les_communes(base);
        let large = Regle { par_seconde: 100_000, rafale: 100_000, simultanees: 10_000 };
        let etat = etat(base).avec_limites(ConfigLimites {
            defaut: large,
            partenaires: Default::default(),
            inconnus: Regle { par_seconde: 1, rafale: 3, simultanees: 1 },
            redis: None,
        });
        let limiteur = etat.limiteur.clone();
        executer(async {
            let app = test::init_service(api::app(etat)).await;
            let mut codes = std::collections::BTreeMap::<u16, u32>::new();
            for _ in 0..40 {
                let faux = Identifiants {
                    partenaire_id: uuid::Uuid::now_v7(),
                    client_id: api::nouvel_identifiant_client(),
                    secret: "devine".into(),
                };
                let statut = demander_jeton(&app, &faux, None).await.unwrap_err().statut.as_u16();
                *codes.entry(statut).or_default() += 1;
            }
            // The shared budget: 3 answered (401, after a decoy verification), the others 429.
            assert_eq!(codes.get(&401), Some(&3), "{codes:?}");
            assert_eq!(codes.get(&429), Some(&37), "{codes:?}");
            // A client that exists keeps its own budget.
            jeton(&app, &valide).await;
            // No key is kept per unknown id: the valid client's only.
            assert!(limiteur.cles() <= 2, "{} clés", limiteur.cles());
        });
    }
}
