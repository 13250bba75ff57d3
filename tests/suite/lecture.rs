//! End-to-end tests of the read API, on SQLite and on PostgreSQL, through the real app.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use crate::commun::*;
use actix_web::test;

deux_backends! {
    fn pagination_par_curseur_sans_recouvrement(base: eleves(300)) {
        executer(async {
            let app = service(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let complet = get(&app, &j, "/v1/inscriptions?limit=1000").await;
            assert_eq!(complet.statut, 200);
            let attendu: Vec<(String, String, String)> = complet.corps["elements"].as_array().unwrap().iter()
                .map(|i| (
                    i["uai"].as_str().unwrap().to_owned(),
                    i["annee_scolaire"].as_str().unwrap().to_owned(),
                    i["id"].as_str().unwrap().to_owned(),
                )).collect();
            assert!(attendu.len() > 300, "{} inscriptions", attendu.len());
            assert!(complet.corps["curseur_suivant"].is_null());

            let mut vus = Vec::new();
            let mut uri = "/v1/inscriptions?limit=50".to_owned();
            loop {
                let r = get(&app, &j, &uri).await;
                assert_eq!(r.statut, 200, "{}", r.texte);
                let elements = r.corps["elements"].as_array().unwrap();
                assert!(elements.len() <= 50);
                vus.extend(elements.iter().map(|i| {
                    // The list's order: school, school year, id.
                    (
                        i["uai"].as_str().unwrap().to_owned(),
                        i["annee_scolaire"].as_str().unwrap().to_owned(),
                        i["id"].as_str().unwrap().to_owned(),
                    )
                }));
                match r.corps["lien_suivant"].as_str() {
                    Some(lien) => {
                        assert_eq!(elements.len(), 50);
                        assert_eq!(r.entete("link"), Some(format!("<{lien}>; rel=\"next\"").as_str()));
                        assert!(lien.contains("limit=50"));
                        uri = lien.to_owned();
                    }
                    None => {
                        assert!(r.entete("link").is_none());
                        break;
                    }
                }
            }
            assert_eq!(vus, attendu, "pages concaténées = liste complète, même ordre");
            assert_eq!(vus.iter().collect::<HashSet<_>>().len(), vus.len(), "aucun doublon");
            let mut trie = vus.clone();
            trie.sort();
            assert_eq!(trie, vus, "ordre déterministe");
        });
    }

    fn filtres_des_inscriptions(base: eleves(300)) {
        executer(async {
            let app = service(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let ecoles = get(&app, &j, "/v1/ecoles?limit=1000").await;
            let ecoles = ecoles.corps["elements"].as_array().unwrap().clone();
            let commune = ecoles[0]["commune"].as_str().unwrap().to_owned();
            let uais_commune: HashSet<String> = ecoles.iter()
                .filter(|e| e["commune"] == commune.as_str())
                .map(|e| e["uai"].as_str().unwrap().to_owned()).collect();
            let r = get(&app, &j, &format!("/v1/inscriptions?commune={commune}&limit=1000")).await;
            let elements = r.corps["elements"].as_array().unwrap();
            assert!(!elements.is_empty());
            assert!(elements.iter().all(|i| uais_commune.contains(i["uai"].as_str().unwrap())));

            let r = get(&app, &j, "/v1/inscriptions?annee_scolaire=2026-2027&niveau=CP&statut=admis_definitif&limit=1000").await;
            let elements = r.corps["elements"].as_array().unwrap();
            assert!(!elements.is_empty());
            for i in elements {
                assert_eq!(i["annee_scolaire"], "2026-2027");
                assert_eq!(i["niveau"], "CP");
                assert_eq!(i["statut"], "admis_definitif");
                assert!(i["eleve"]["nom"].as_str().is_some());
            }
            let r = get(&app, &j, "/v1/ecoles?type=maternelle&secteur=public&limit=1000").await;
            assert_eq!(r.statut, 200);
            for e in r.corps["elements"].as_array().unwrap() {
                assert_eq!(e["type"], "maternelle");
                assert_eq!(e["secteur"], "public");
            }
        });
    }

    fn ressources_unitaires(base: eleves(200)) {
        executer(async {
            let app = service(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let liste = get(&app, &j, "/v1/inscriptions?limit=1000").await;
            let avec_ine = liste.corps["elements"].as_array().unwrap().iter()
                .find(|i| i["eleve"]["ine"].is_string()).unwrap().clone();
            let id = avec_ine["id"].as_str().unwrap();
            let r = get(&app, &j, &format!("/v1/inscriptions/{id}")).await;
            assert_eq!(r.statut, 200);
            assert_eq!(r.corps, avec_ine);

            let uai = avec_ine["uai"].as_str().unwrap();
            let r = get(&app, &j, &format!("/v1/ecoles/{uai}")).await;
            assert_eq!(r.statut, 200);
            assert_eq!(r.corps["uai"], uai);

            let ine = avec_ine["eleve"]["ine"].as_str().unwrap();
            let r = get(&app, &j, &format!("/v1/eleves/{ine}")).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.corps["ine"], ine);
            assert_eq!(r.corps["id"], avec_ine["eleve"]["id"]);
            let responsables = r.corps["responsables"].as_array().unwrap();
            assert!(!responsables.is_empty());
            assert!(responsables.iter().all(|p| p["lien"].is_string() && p["nom"].is_string()));
        });
    }

    fn identifiants_mal_formes_400(base) {
        executer(async {
            let app = service(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            for (uri, parametre, code) in [
                ("/v1/ecoles/0750655F", "uai", "uai_cle"),
                ("/v1/ecoles/075065", "uai", "uai_format"),
                ("/v1/eleves/0494004062N", "ine", "ine_cle"),
                ("/v1/eleves/abc", "ine", "ine_format"),
                ("/v1/inscriptions/pas-un-uuid", "id", "identifiant_format"),
                ("/v1/inscriptions?commune=7505", "commune", "code_insee_format"),
                ("/v1/inscriptions?uai=0750655F", "uai", "uai_cle"),
                ("/v1/inscriptions?annee_scolaire=2025-2027", "annee_scolaire", "annee_scolaire_non_consecutive"),
                ("/v1/inscriptions?niveau=6E", "niveau", "niveau_inconnu"),
                ("/v1/inscriptions?statut=termine", "statut", "statut_inconnu"),
                ("/v1/inscriptions?limit=0", "limit", "limite_hors_bornes"),
                ("/v1/inscriptions?limit=1001", "limit", "limite_hors_bornes"),
                ("/v1/inscriptions?limit=dix", "limit", "limite_hors_bornes"),
                ("/v1/inscriptions?curseur=nimportequoi", "curseur", "curseur_invalide"),
                ("/v1/inscriptions?comune=75056", "comune", "parametre_inconnu"),
                ("/v1/ecoles?type=college", "type", "type_ecole_inconnu"),
                ("/v1/ecoles?secteur=prive", "secteur", "secteur_inconnu"),
            ] {
                let r = get(&app, &j, uri).await;
                assert_probleme(&r, 400, "parametre_invalide");
                let erreurs = r.corps["erreurs"].as_array().unwrap();
                assert_eq!(erreurs.len(), 1, "{uri}: {}", r.texte);
                assert_eq!(erreurs[0]["parametre"], parametre, "{uri}");
                assert_eq!(erreurs[0]["code"], code, "{uri}");
                assert!(erreurs[0]["message"].as_str().unwrap().len() > 10);
            }
            // A well-formed cursor that is not this list's (an id alone, as lists gave before
            // they were sorted by school): refused, not answered with an empty page.
            let etranger = onde_store::Curseur::apres("0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e").encoder();
            let r = get(&app, &j, &format!("/v1/inscriptions?curseur={etranger}")).await;
            assert_probleme(&r, 400, "parametre_invalide");
            assert_eq!(r.corps["erreurs"][0]["code"], "curseur_invalide", "{}", r.texte);
            // Every violation is reported at once.
            let r = get(&app, &j, "/v1/inscriptions?commune=1&uai=2&niveau=3&limit=0").await;
            assert_probleme(&r, 400, "parametre_invalide");
            assert_eq!(r.corps["erreurs"].as_array().unwrap().len(), 4);
        });
    }

    fn introuvables_et_routes_inconnues(base: eleves(50)) {
        executer(async {
            let app = service(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            // Valid identifiers that exist nowhere.
            assert_probleme(&get(&app, &j, "/v1/ecoles/0750655E").await, 404, "ressource_introuvable");
            assert_probleme(&get(&app, &j, "/v1/eleves/0494004062M").await, 404, "ressource_introuvable");
            assert_probleme(
                &get(&app, &j, "/v1/inscriptions/0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e").await,
                404,
                "ressource_introuvable",
            );
            assert_probleme(&get(&app, &j, "/v1/nulle-part").await, 404, "route_inconnue");
            let r = appeler(&app, test::TestRequest::delete().uri("/v1/ecoles").insert_header(("Authorization", format!("Bearer {j}"))).to_request()).await;
            assert_probleme(&r, 405, "methode_non_autorisee");
            assert_eq!(r.entete("allow"), Some("GET"));
            // Any undeclared method on a declared path, parameters included, is a 405 naming
            // the declared ones (found by schemathesis: TRACE answered 404).
            let r = appeler(&app, test::TestRequest::default().method(actix_web::http::Method::TRACE).uri("/v1/eleves/0494004062M").to_request()).await;
            assert_probleme(&r, 405, "methode_non_autorisee");
            assert_eq!(r.entete("allow"), Some("GET, PUT, PATCH"));
            let r = appeler(&app, test::TestRequest::post().uri("/v1/nulle-part").to_request()).await;
            assert_probleme(&r, 404, "route_inconnue");
        });
    }

    fn sante_et_identifiant_de_requete(base) {
        executer(async {
            let app = service(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let r = get(&app, &j, "/health/live").await;
            assert_eq!(r.statut, 200);
            let r = get(&app, &j, "/health/ready").await;
            assert_eq!(r.statut, 200);
            assert_eq!(r.corps["statut"], "ok");
            assert!(r.entete("x-request-id").is_some_and(|id| id.len() == 36));
            // The caller's id is echoed for correlation but never becomes ours (the audit trail
            // records our ids).
            let req = test::TestRequest::get().uri("/health/live").insert_header(("x-request-id", "abc-123")).to_request();
            let r = appeler(&app, req).await;
            assert!(r.entete("x-request-id").is_some_and(|id| id.len() == 36 && id != "abc-123"));
            assert_eq!(r.entete("x-client-request-id"), Some("abc-123"));
            // An unsafe incoming id is not echoed at all.
            let req = test::TestRequest::get().uri("/health/live").insert_header(("x-request-id", "a b<script>")).to_request();
            let r = appeler(&app, req).await;
            assert_ne!(r.entete("x-request-id"), Some("a b<script>"));
            assert!(r.entete("x-client-request-id").is_none());
        });
    }

    fn documentation_servie(base) {
        executer(async {
            let app = service(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let r = get(&app, &j, "/openapi.json").await;
            assert_eq!(r.statut, 200);
            assert_eq!(r.corps, serde_json::to_value(api::openapi()).unwrap());
            let r = get(&app, &j, "/docs/").await;
            assert_eq!(r.statut, 200);
            assert!(r.texte.contains("swagger"), "{}", &r.texte[..r.texte.len().min(200)]);
            // The French page around Swagger UI: language, title, skip link, nothing external.
            assert!(r.texte.contains(r#"<html lang="fr">"#));
            assert!(r.texte.contains("<title>Documentation de l'API — ONDE échanges</title>"));
            assert!(r.texte.contains(r##"href="#contenu""##));
            assert!(!r.texte.contains("https://"), "aucune ressource externe");
            for (chemin, type_contenu) in [
                ("/docs/onde.js", "text/javascript"),
                ("/docs/onde.css", "text/css"),
                ("/docs/swagger-ui-bundle.js", "javascript"),
                ("/docs/swagger-ui.css", "text/css"),
            ] {
                let r = get(&app, &j, chemin).await;
                assert_eq!(r.statut, 200, "{chemin}");
                assert!(r.entete("content-type").unwrap_or("").contains(type_contenu), "{chemin}");
            }
            let r = get(&app, &j, "/docs/onde.js").await;
            assert!(r.texte.contains("/openapi.json") && !r.texte.contains("https://"));
            let r = get(&app, &j, "/docs/swagger-initializer.js").await;
            assert_eq!(r.statut, 200);
            assert!(r.texte.contains("/openapi.json"));
            assert!(!r.texte.contains("https://"), "aucune ressource externe");
            let r = get(&app, &j, "/docs").await;
            assert_eq!(r.statut, 308);
        });
    }
}
