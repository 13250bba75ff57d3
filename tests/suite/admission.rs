//! Admission of an authenticated request (the admission middleware and the `Acces` extractor
//! together): a client over its rate limit still gets 401 for a refused token, never 429, and
//! public routes, unknown routes and unknown methods charge no limit; a request holds its place
//! among its client's requests in flight until its answer is fully sent, streamed or not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::commun::api::{ConfigLimites, Regle};
use crate::commun::*;
use actix_web::http::Method;
use actix_web::test;
use onde_domain::TypePartenaire;

/// The same token with its signature altered (the last character changed).
fn falsifie(jeton: &str) -> String {
    let mut j = jeton.to_owned();
    let dernier = j.pop().unwrap();
    j.push(if dernier == 'A' { 'B' } else { 'A' });
    j
}

deux_backends! {
    fn jeton_refuse_au_dela_de_la_limite(base: eleves(50)) {
        let commune = toutes_les_ecoles(base)[0].commune.as_str().to_owned();
        let mairie = partenaire(base, TypePartenaire::Mairie, "ecoles:read", &[&commune], &[], &[]);
        let regle = Regle { par_seconde: 1, rafale: 2, simultanees: 4 };
        let config = ConfigLimites { defaut: regle, ..ConfigLimites::default() };
        let etat = etat(base).avec_limites(config);
        executer(async {
            let app = test::init_service(api::app(etat)).await;
            let j = jeton(&app, &mairie).await;
            // Empty the bucket (it refills one token a second: a slow machine may need more).
            let mut vus = Vec::new();
            while vus.last() != Some(&429) {
                assert!(vus.len() < 50, "jamais limité : {vus:?}");
                vus.push(get(&app, &j, "/v1/ecoles?limit=1").await.statut.as_u16());
            }
            // Over the limit, a refused token is told so (401), not to wait.
            let r = get(&app, &falsifie(&j), "/v1/ecoles?limit=1").await;
            assert_probleme(&r, 401, "authentification_requise");
            assert!(r.entete("www-authenticate").unwrap().contains("invalid_token"), "{:?}", r.entetes);
            assert!(r.entete("ratelimit-limit").is_none(), "rien n'est débité : {:?}", r.entetes);
            let r = get(&app, "", "/v1/ecoles?limit=1").await;
            assert_probleme(&r, 401, "authentification_requise");
            let r = requete(&app, Method::GET, "/v1/ecoles?limit=1", "", &[("Authorization", format!("Basic {j}").as_str())], None).await;
            assert_probleme(&r, 401, "authentification_requise");
            // What declares no security, or matches no operation, charges no limit.
            for (methode, uri, statut) in [
                (Method::GET, "/health/live", 200),
                (Method::GET, "/.well-known/jwks.json", 200),
                (Method::GET, "/v1/nulle-part", 404),
                (Method::DELETE, "/v1/ecoles", 405),
            ] {
                let r = requete(&app, methode.clone(), uri, &j, &[], None).await;
                assert_eq!(r.statut, statut, "{methode} {uri} : {}", r.texte);
                assert!(r.entete("ratelimit-limit").is_none(), "{methode} {uri} : {:?}", r.entetes);
            }
        });
    }

    fn place_tenue_jusqu_a_la_fin_de_la_reponse(base: eleves(50)) {
        let mairie = mairie_de_toutes_les_communes(base);
        let large = Regle { par_seconde: 100_000, rafale: 100_000, simultanees: 1 };
        let config = ConfigLimites { defaut: large, ..ConfigLimites::default() };
        let etat = etat(base).avec_limites(config);
        executer(async {
            let app = test::init_service(api::app(etat)).await;
            let j = jeton(&app, &mairie).await;
            // One at a time, each answer read before the next request: no refusal.
            for _ in 0..3 {
                assert_eq!(get(&app, &j, "/v1/ecoles?limit=1").await.statut, 200);
            }
            // A streamed export whose body is not read yet holds the client's only place.
            let req = test::TestRequest::get()
                .uri("/v1/eleves?format=csv")
                .insert_header(("Authorization", format!("Bearer {j}")))
                .to_request();
            let export = test::call_service(&app, req).await;
            assert_eq!(export.status(), 200);
            // Time for this small export to be produced whole into its channel: the place
            // stays held by the body until the client has read it, not until production ends.
            actix_web::rt::time::sleep(std::time::Duration::from_millis(300)).await;
            let r = get(&app, &j, "/v1/ecoles?limit=1").await;
            assert_probleme(&r, 429, "trop_de_requetes_simultanees");
            assert_eq!(r.entete("retry-after"), Some("1"));
            // Another client is not affected.
            let autre = mairie_de_toutes_les_communes(base);
            let ja = jeton(&app, &autre).await;
            assert_eq!(get(&app, &ja, "/v1/ecoles?limit=1").await.statut, 200);
            // Once the export is sent, the place is free again.
            let csv = test::read_body(export).await;
            let csv = String::from_utf8_lossy(&csv);
            assert!(csv.trim_start_matches('\u{feff}').starts_with("eleve_id;"), "{csv}");
            assert_eq!(get(&app, &j, "/v1/ecoles?limit=1").await.statut, 200);
        });
    }
}
