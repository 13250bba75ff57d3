//! Compressed answers (issue 18, item 3), on both backends: `Accept-Encoding` negotiated with
//! q-values and `*`, `Vary: Accept-Encoding` on everything that could have been compressed, a
//! decoded body equal byte for byte to the uncompressed one, an ETag per representation (304
//! and `If-Match` included), streamed CSV exports compressed chunk by chunk, small answers and
//! the token endpoint left alone, problem documents under the same rule as any JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;

use crate::commun::*;
use actix_web::http::Method;
use onde_domain::TypePartenaire;
use serde_json::json;

/// The body as sent, decoded according to its `Content-Encoding`.
fn decode(r: &Reponse) -> Vec<u8> {
    let octets = &r.octets[..];
    let mut sortie = Vec::new();
    match r.entete("content-encoding") {
        None => sortie.extend_from_slice(octets),
        Some("gzip") => {
            flate2::read::GzDecoder::new(octets).read_to_end(&mut sortie).unwrap();
        }
        Some("zstd") => sortie = zstd::stream::decode_all(octets).unwrap(),
        Some("br") => {
            brotli::Decompressor::new(octets, 4096)
                .read_to_end(&mut sortie)
                .unwrap();
        }
        Some(autre) => panic!("codage inattendu : {autre}"),
    }
    sortie
}

fn varie(r: &Reponse) -> bool {
    r.entetes
        .get_all("vary")
        .any(|v| v.to_str().unwrap().to_ascii_lowercase().contains("accept-encoding"))
}

/// `"hAbC"` → `"hAbC-gzip"`.
fn suffixe(etag: &str, codage: &str) -> String {
    format!("{}-{codage}\"", etag.strip_suffix('"').unwrap())
}

deux_backends! {
    fn une_page_selon_accept_encoding(base: eleves(300).communes(2)) {
        let etat = etat(base);
        executer(async {
            let app = actix_web::test::init_service(api::app(etat.clone())).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let uri = "/v1/inscriptions?limit=1000";
            let identite = get(&app, &j, uri).await;
            assert_eq!(identite.statut, 200, "{}", identite.texte);
            assert_eq!(identite.entete("content-encoding"), None);
            assert!(varie(&identite), "Vary même sans compression");
            assert!(identite.octets.len() > 20_000, "{} octets", identite.octets.len());
            let etag = identite.entete("etag").unwrap().to_owned();

            let cas: [(&str, Option<&str>); 11] = [
                ("gzip", Some("gzip")),
                ("zstd", Some("zstd")),
                ("br", Some("br")),
                ("identity", None),
                ("", None),
                ("gzip;q=0, zstd", Some("zstd")),
                ("*", Some("zstd")),
                ("deflate, gzip, br, zstd", Some("zstd")),
                ("gzip;q=1.0, zstd;q=0.5", Some("gzip")),
                ("br;q=0.4, identity;q=0.8", None),
                ("deflate, compress", None),
            ];
            for (accept, attendu) in cas {
                let r = get_avec(&app, &j, uri, &[("Accept-Encoding", accept)]).await;
                assert_eq!(r.statut, 200, "{accept}");
                assert_eq!(r.entete("content-encoding"), attendu, "{accept}");
                assert!(varie(&r), "{accept}");
                assert_eq!(decode(&r), identite.octets.to_vec(), "{accept} : corps décodé différent");
                match attendu {
                    Some(c) => {
                        assert_eq!(r.entete("etag"), Some(suffixe(&etag, c).as_str()), "{accept}");
                        // At least a quarter off on this small base's page (the national page's
                        // figures against the 1/5 target: docs/BENCHMARKS.md).
                        assert!(r.octets.len() * 4 <= identite.octets.len(), "{accept} : {} / {}", r.octets.len(), identite.octets.len());
                    }
                    None => assert_eq!(r.entete("etag"), Some(etag.as_str()), "{accept}"),
                }
            }

            // Revalidation: the tag of the gzip answer is that representation's.
            let gzip = suffixe(&etag, "gzip");
            let r = get_avec(&app, &j, uri, &[("Accept-Encoding", "gzip"), ("If-None-Match", &gzip)]).await;
            assert_eq!(r.statut, 304);
            assert!(r.octets.is_empty());
            assert_eq!(r.entete("etag"), Some(gzip.as_str()));
            assert!(varie(&r), "Vary sur le 304");
            // The same tag with another coding, or none: another representation (RFC 9110
            // §13.1.2, strong tags), so the whole answer.
            let r = get_avec(&app, &j, uri, &[("If-None-Match", &gzip)]).await;
            assert_eq!(r.statut, 200);
            assert_eq!(r.entete("etag"), Some(etag.as_str()));
            let r = get_avec(&app, &j, uri, &[("Accept-Encoding", "zstd"), ("If-None-Match", &gzip)]).await;
            assert_eq!(r.statut, 200);
            let r = get_avec(&app, &j, uri, &[("Accept-Encoding", "gzip"), ("If-None-Match", &etag)]).await;
            assert_eq!(r.statut, 200);
            assert_eq!(r.entete("content-encoding"), Some("gzip"));
            let r = get_avec(&app, &j, uri, &[("If-None-Match", &etag)]).await;
            assert_eq!(r.statut, 304);
            assert_eq!(r.entete("etag"), Some(etag.as_str()));
            // A list of tags naming the one this request would get.
            let liste = format!("{gzip}, {}", suffixe(&etag, "zstd"));
            let r = get_avec(&app, &j, uri, &[("Accept-Encoding", "zstd"), ("If-None-Match", &liste)]).await;
            assert_eq!(r.statut, 304);

            // identity refused and nothing offered acceptable: 406, before the request runs.
            for accept in ["deflate, identity;q=0", "*;q=0", "gzip;q=0, zstd;q=0, br;q=0, identity;q=0"] {
                let r = get_avec(&app, &j, uri, &[("Accept-Encoding", accept)]).await;
                assert_probleme(&r, 406, "codage_non_acceptable");
                assert!(r.texte.contains("zstd, br, gzip"), "{}", r.texte);
                assert!(varie(&r));
            }
        });
    }

    fn petites_reponses_jeton_et_erreurs(base: eleves(50)) {
        let etat = etat(base);
        executer(async {
            let app = actix_web::test::init_service(api::app(etat.clone())).await;
            let mairie = mairie_de_toutes_les_communes(base);
            let j = jeton(&app, &mairie).await;

            // Under 1 KiB: not worth it, but it could have been compressed (Vary).
            let r = get_avec(&app, &j, "/v1/inscriptions?limit=1", &[("Accept-Encoding", "gzip")]).await;
            assert_eq!(r.statut, 200);
            assert!(r.octets.len() < 1024, "{}", r.octets.len());
            assert_eq!(r.entete("content-encoding"), None);
            assert!(varie(&r));
            assert_eq!(r.corps["elements"].as_array().unwrap().len(), 1);
            // A client that refuses identity gets it compressed all the same.
            let r = get_avec(&app, &j, "/v1/inscriptions?limit=1", &[("Accept-Encoding", "gzip, identity;q=0")]).await;
            assert_eq!(r.entete("content-encoding"), Some("gzip"));
            let page: serde_json::Value = serde_json::from_slice(&decode(&r)).unwrap();
            assert_eq!(page["elements"].as_array().unwrap().len(), 1);

            // The token: never compressed (BREACH), even for a client refusing identity, and no
            // 406 either.
            for accept in ["gzip", "gzip, identity;q=0", "deflate, identity;q=0"] {
                let req = actix_web::test::TestRequest::post()
                    .uri("/oauth/token")
                    .insert_header(("Accept-Encoding", accept))
                    .set_form([
                        ("grant_type", "client_credentials"),
                        ("client_id", mairie.client_id.as_str()),
                        ("client_secret", mairie.secret.as_str()),
                    ])
                    .to_request();
                let r = appeler(&app, req).await;
                assert_eq!(r.statut, 200, "{accept} : {}", r.texte);
                assert_eq!(r.entete("content-encoding"), None, "{accept}");
                assert!(!varie(&r), "{accept}");
                assert!(r.corps["access_token"].is_string());
            }

            // A problem document follows the rule of any JSON: under the size, plain (and
            // Vary); coded when identity is refused; decodable either way.
            let r = get_avec(&app, &j, "/v1/eleves/0494004062M", &[("Accept-Encoding", "gzip")]).await;
            assert_probleme(&r, 404, "ressource_introuvable");
            assert_eq!(r.entete("content-encoding"), None);
            assert!(varie(&r));
            let r = get_avec(&app, &j, "/v1/eleves/0494004062M", &[("Accept-Encoding", "br, identity;q=0")]).await;
            assert_eq!(r.statut, 404);
            assert_eq!(r.entete("content-encoding"), Some("br"));
            assert_eq!(r.entete("content-type"), Some("application/problem+json"));
            let probleme: serde_json::Value = serde_json::from_slice(&decode(&r)).unwrap();
            assert_eq!(probleme["code"], "ressource_introuvable");
            // A large one (a batch refused item by item) is compressed like a page.
            let elements: Vec<serde_json::Value> = (0..200).map(|i| json!({"eleve": {"ine": format!("X{i}")}})).collect();
            let ecole = toutes_les_ecoles(base).remove(0);
            let editeur = partenaire(base, TypePartenaire::Editeur, &TypePartenaire::Editeur.scopes_possibles().to_string(), &[], &[], &[ecole.uai.as_str()]);
            let je = jeton(&app, &editeur).await;
            let corps = json!({"elements": elements, "mode": "tout_ou_rien"});
            let r = requete(&app, Method::POST, "/v1/lots/eleves", &je, &[("Accept-Encoding", "zstd")], Some(&corps)).await;
            assert!(r.statut.is_client_error(), "{}", r.statut);
            assert_eq!(r.entete("content-encoding"), Some("zstd"));
            let probleme: serde_json::Value = serde_json::from_slice(&decode(&r)).unwrap();
            assert!(probleme["code"].is_string(), "{probleme}");
            assert!(decode(&r).len() > 1024);
        });
    }

    fn export_csv_compresse_en_flux(base: eleves(900).communes(2)) {
        // A cell a spreadsheet would run as a formula: neutralised in every coding.
        sql(base, "UPDATE eleves SET nom = '=HYPERLINK(\"http://x\";\"a\")' WHERE id = (SELECT MIN(id) FROM eleves)");
        let etat = etat(base);
        executer(async {
            let app = actix_web::test::init_service(api::app(etat.clone())).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let uri = "/v1/inscriptions?format=csv";
            let identite = get(&app, &j, uri).await;
            assert_eq!(identite.statut, 200);
            assert!(varie(&identite));
            let lignes = identite.texte.matches("\r\n").count();
            assert!(lignes > 1001, "{lignes} lignes : une seule tranche");
            assert!(identite.texte.contains("'=HYPERLINK(\"\"http://x\"\";\"\"a\"\")"), "formule neutralisée");
            for codage in ["gzip", "zstd", "br"] {
                let r = get_avec(&app, &j, uri, &[("Accept-Encoding", codage)]).await;
                assert_eq!(r.statut, 200);
                assert_eq!(r.entete("content-encoding"), Some(codage));
                assert_eq!(r.entete("content-type"), Some("text/csv; charset=utf-8"));
                assert!(varie(&r));
                assert!(r.entete("content-length").is_none(), "en flux");
                assert!(r.entete("etag").is_none(), "un flux ne porte pas de validateur");
                assert_eq!(decode(&r), identite.octets.to_vec(), "{codage}");
                // Random identifiers (UUIDs) make a third of a row: less than the 1/5 of a JSON
                // page, whose member names repeat (docs/BENCHMARKS.md).
                assert!(r.octets.len() * 2 <= identite.octets.len(), "{codage} : {} / {}", r.octets.len(), identite.octets.len());
            }
        });
    }

    fn if_match_avec_l_etiquette_d_une_reponse_compressee(base: eleves(200)) {
        let inscription = toutes_les_inscriptions(base).into_iter().find(|i| i.eleve.ine.is_some()).unwrap();
        let uai = inscription.inscription.uai.as_str().to_owned();
        let ine = inscription.eleve.ine.unwrap().as_str().to_owned();
        let ecole = partenaire(base, TypePartenaire::EcolePrivee, "eleves:read eleves:write", &[], &[&uai], &[]);
        let etat = etat(base);
        executer(async {
            let app = actix_web::test::init_service(api::app(etat.clone())).await;
            let j = jeton(&app, &ecole).await;
            let uri = format!("/v1/eleves/{ine}");
            let force = ("Accept-Encoding", "zstd, identity;q=0");
            let r = get_avec(&app, &j, &uri, &[force]).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            let etag = r.entete("etag").unwrap().to_owned();
            assert!(etag.starts_with("\"v") && etag.ends_with("-zstd\""), "{etag}");
            let version: i64 = etag.trim_matches('"').trim_start_matches('v').trim_end_matches("-zstd").parse().unwrap();
            // A stale suffixed tag is a stale version: 412, as without compression.
            let perime = format!("\"v{}-zstd\"", version + 5);
            let patch = |si: String| {
                let j = j.clone();
                let uri = uri.clone();
                let app = &app;
                async move {
                    let req = actix_web::test::TestRequest::patch()
                        .uri(&uri)
                        .insert_header(("Authorization", format!("Bearer {j}")))
                        .insert_header(("Content-Type", "application/merge-patch+json"))
                        .insert_header(("If-Match", si))
                        .insert_header(force)
                        .set_payload(json!({"prenoms": ["Rose"]}).to_string())
                        .to_request();
                    appeler(app, req).await
                }
            };
            let r = patch(perime).await;
            assert_eq!(r.statut, 412, "{}", String::from_utf8_lossy(&decode(&r)));
            let probleme: serde_json::Value = serde_json::from_slice(&decode(&r)).unwrap();
            assert_eq!(probleme["code"], "version_perimee");
            let r = patch(etag.clone()).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.entete("content-encoding"), Some("zstd"));
            assert_eq!(r.entete("etag"), Some(format!("\"v{}-zstd\"", version + 1).as_str()));
            let eleve: serde_json::Value = serde_json::from_slice(&decode(&r)).unwrap();
            assert_eq!(eleve["prenoms"], json!(["Rose"]));
            // The plain tag of the same version is understood alike.
            let r = get(&app, &j, &uri).await;
            assert_eq!(r.entete("etag"), Some(format!("\"v{}\"", version + 1).as_str()));
            let r = patch(format!("W/\"v{}-gzip\"", version + 1)).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
        });
    }
}
