//! Pupil records pushed one by one (PUT/PATCH by INE) and in batches, on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod commun;

use actix_web::test;
use commun::*;
use onde_domain::{Ine, TypePartenaire};
use serde_json::{json, Value};

/// A private school partner over one elementary-capable school of the seeded data.
fn ecole_privee(base: &onde_store::testing::BaseDeTest) -> (Identifiants, String) {
    let ecoles = onde_store::ecoles::lister(
        &mut base.store.connexion().unwrap(),
        &onde_domain::Perimetre::National,
        &Default::default(),
        &onde_store::DemandePage {
            limite: 1000,
            apres: None,
        },
    )
    .unwrap();
    let ecole = ecoles
        .elements
        .iter()
        .find(|e| e.type_ecole != onde_domain::TypeEcole::Maternelle)
        .unwrap();
    let uai = ecole.uai.as_str().to_owned();
    let id = partenaire(
        base,
        TypePartenaire::EcolePrivee,
        "ecoles:read eleves:read eleves:write inscriptions:read inscriptions:write",
        &[],
        &[&uai],
        &[],
    );
    (id, uai)
}

fn dossier(sequence: u32, nom: &str) -> Value {
    json!({
        "ine": Ine::bea(75, 20, 900_000 + sequence).unwrap().as_str(),
        "nom": nom,
        "prenoms": ["Léa"],
        "sexe": "F",
        "date_naissance": "2020-04-02",
        "lieu_naissance": "75056",
        "responsables": [{"nom": nom, "prenom": "Anne", "lien": "mere", "autorite_parentale": true, "telephone": "0611223344"}]
    })
}

async fn envoyer<S, B>(
    app: &S,
    jeton: &str,
    methode: &str,
    uri: &str,
    corps: &Value,
    entetes: &[(&str, &str)],
) -> Reponse
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let mut req = match methode {
        "PUT" => test::TestRequest::put(),
        "PATCH" => test::TestRequest::patch(),
        _ => test::TestRequest::post(),
    }
    .uri(uri)
    .insert_header(("Authorization", format!("Bearer {jeton}")))
    .insert_header((
        "Content-Type",
        if methode == "PATCH" {
            "application/merge-patch+json"
        } else {
            "application/json"
        },
    ))
    .set_payload(corps.to_string());
    for (k, v) in entetes {
        req = req.insert_header((*k, *v));
    }
    appeler(app, req.to_request()).await
}

onde_store::tests_deux_backends! {
    fn ecrire_un_eleve_par_ine(base) {
        seeder(base, 200);
        executer(async {
            let app = test::init_service(onde_api::app(etat(base))).await;
            let (id, uai) = ecole_privee(base);
            let j = jeton(&app, &id).await;
            let d = dossier(1, "Morel");
            let ine = d["ine"].as_str().unwrap().to_owned();
            let uri = format!("/v1/eleves/{ine}");

            // A bare new pupil would land outside a school's perimeter: refused, with the way out.
            let r = envoyer(&app, &j, "PUT", &uri, &d, &[]).await;
            assert_probleme(&r, 422, "contenu_invalide");
            assert_eq!(r.corps["erreurs"][0]["code"], "eleve_hors_perimetre");
            // Created with its inscription, the pupil is then the school's to update by INE.
            let inscription = json!([{"uai": uai, "annee_scolaire": "2026-2027", "niveau": "CP"}]);
            let r = envoyer(&app, &j, "POST", "/v1/lots/eleves", &json!({"elements": [{"eleve": d, "inscriptions": inscription}]}), &[]).await;
            assert_eq!(r.corps["resultats"][0]["resultat"], "cree", "{}", r.texte);
            let r = get(&app, &j, &uri).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.entete("etag"), Some("\"v1\""));
            assert_eq!(r.corps["responsables"][0]["telephone"], "0611223344");

            // The same record again changes nothing.
            let r = envoyer(&app, &j, "PUT", &uri, &d, &[]).await;
            assert_eq!(r.statut, 200);
            assert_eq!(r.entete("etag"), Some("\"v1\""));

            // A change with a stale If-Match is refused and leaves the record alone.
            let mut change = d.clone();
            change["nom"] = json!("Morel-Dupuis");
            let r = envoyer(&app, &j, "PUT", &uri, &change, &[("If-Match", "\"v7\"")]).await;
            assert_probleme(&r, 412, "version_perimee");
            let r = envoyer(&app, &j, "PUT", &uri, &change, &[("If-Match", "\"v1\"")]).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.entete("etag"), Some("\"v2\""));
            assert_eq!(r.corps["nom"], "Morel-Dupuis");

            // Merge patch: one field changes, the others stay.
            let r = envoyer(&app, &j, "PATCH", &uri, &json!({"prenoms": ["Léa", "Rose"]}), &[]).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.corps["prenoms"], json!(["Léa", "Rose"]));
            assert_eq!(r.corps["nom"], "Morel-Dupuis");
            assert_eq!(r.entete("etag"), Some("\"v3\""));
            // An unknown member is refused, even to remove it (found by schemathesis).
            let r = envoyer(&app, &j, "PATCH", &uri, &json!({"prenom": null, "adresse": {"rue": null}}), &[]).await;
            assert_probleme(&r, 422, "contenu_invalide");
            let pointeurs: Vec<&str> = r.corps["erreurs"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
            assert_eq!(pointeurs, ["/prenom", "/adresse/rue"]);

            // INE in the body must be the path's; every violation is listed with its pointer.
            let mut faux = d.clone();
            faux["ine"] = json!("0494004062M");
            faux["sexe"] = json!("X");
            let r = envoyer(&app, &j, "PUT", &uri, &faux, &[]).await;
            assert_probleme(&r, 422, "contenu_invalide");
            let pointeurs: Vec<&str> = r.corps["erreurs"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
            assert_eq!(pointeurs, ["/ine", "/sexe"]);

            // A second pupil identical on the five normalised fields is a duplicate.
            let mut double = dossier(2, "MOREL dupuis");
            double["prenoms"] = json!(["LEA"]);
            let r = envoyer(&app, &j, "PUT", &format!("/v1/eleves/{}", double["ine"].as_str().unwrap()), &double, &[]).await;
            assert_probleme(&r, 409, "eleve_en_doublon");
            assert_eq!(r.corps["candidat"]["ine"], ine.as_str());
        });
    }

    fn lot_partiel_et_tout_ou_rien(base) {
        seeder(base, 200);
        executer(async {
            let app = test::init_service(onde_api::app(etat(base))).await;
            let (id, uai) = ecole_privee(base);
            let j = jeton(&app, &id).await;
            let inscription = json!([{"uai": uai, "annee_scolaire": "2026-2027", "niveau": "CP", "statut": "admis_definitif"}]);
            let mut invalide = dossier(11, "Roux");
            invalide["ine"] = json!("0494004062N");
            let lot = json!({"elements": [
                {"eleve": dossier(10, "Garnier"), "inscriptions": inscription},
                {"eleve": invalide, "inscriptions": inscription},
                {"eleve": dossier(12, "Faure"), "inscriptions": inscription},
            ]});
            let r = envoyer(&app, &j, "POST", "/v1/lots/eleves", &lot, &[]).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            let res = r.corps["resultats"].as_array().unwrap();
            assert_eq!(res[0]["resultat"], "cree");
            assert_eq!(res[1]["resultat"], "rejete");
            assert_eq!(res[1]["probleme"]["erreurs"][0]["pointer"], "/elements/1/eleve/ine");
            assert_eq!(res[2]["resultat"], "cree");
            assert_eq!(r.corps["resume"], json!({"crees": 2, "modifies": 0, "inchanges": 0, "rejetes": 1}));
            // The created pupils are enrolled and visible to the school.
            let ine = res[0]["ine"].as_str().unwrap();
            let r = get(&app, &j, &format!("/v1/eleves/{ine}")).await;
            assert_eq!(r.statut, 200, "{}", r.texte);

            // Re-sending the valid items changes nothing.
            let lot2 = json!({"elements": [
                {"eleve": dossier(10, "Garnier"), "inscriptions": inscription},
                {"eleve": dossier(12, "Faure"), "inscriptions": inscription},
            ]});
            let r = envoyer(&app, &j, "POST", "/v1/lots/eleves", &lot2, &[]).await;
            assert_eq!(r.corps["resume"], json!({"crees": 0, "modifies": 0, "inchanges": 2, "rejetes": 0}), "{}", r.texte);

            // All or nothing: one bad item, nothing applied.
            let mut mauvais = dossier(21, "Blanc");
            mauvais["date_naissance"] = json!("2031-01-01");
            let lot3 = json!({"mode": "tout_ou_rien", "elements": [
                {"eleve": dossier(20, "Noir"), "inscriptions": inscription},
                {"eleve": mauvais},
            ]});
            let r = envoyer(&app, &j, "POST", "/v1/lots/eleves", &lot3, &[]).await;
            assert_probleme(&r, 422, "lot_refuse");
            assert_eq!(r.corps["resultats"][0]["resultat"], "annule");
            assert_eq!(r.corps["resultats"][1]["resultat"], "rejete");
            let ine_annule = dossier(20, "Noir")["ine"].as_str().unwrap().to_owned();
            let r = get(&app, &j, &format!("/v1/eleves/{ine_annule}")).await;
            assert_eq!(r.statut, 404, "rien n'a été appliqué");

            // An inscription in a school outside the perimeter rejects the item, wholly.
            let dehors = json!([{"uai": "0750655E", "annee_scolaire": "2026-2027", "niveau": "CP"}]);
            let r = envoyer(&app, &j, "POST", "/v1/lots/eleves", &json!({"elements": [{"eleve": dossier(30, "Vidal"), "inscriptions": dehors}]}), &[]).await;
            assert_eq!(r.corps["resultats"][0]["resultat"], "rejete", "{}", r.texte);
            assert_eq!(r.corps["resultats"][0]["probleme"]["erreurs"][0]["code"], "ecole_inconnue");
            let ine_vidal = dossier(30, "Vidal")["ine"].as_str().unwrap().to_owned();
            let trouve = onde_store::eleves::id_par_ine(&mut base.store.connexion().unwrap(), &Ine::parse(&ine_vidal).unwrap()).unwrap();
            assert!(trouve.is_none(), "l'élève de l'élément rejeté n'a pas été créé");

            // Bounds.
            let trop: Vec<Value> = (0..1001).map(|i| json!({"eleve": dossier(40 + i, "X")})).collect();
            let r = envoyer(&app, &j, "POST", "/v1/lots/eleves", &json!({"elements": trop}), &[]).await;
            assert_probleme(&r, 422, "contenu_invalide");
            assert_eq!(r.corps["erreurs"][0]["code"], "lot_trop_grand");
        });
    }
}
