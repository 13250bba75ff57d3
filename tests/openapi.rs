//! The committed `api-spec/openapi.json` is the snapshot of the document the code generates.
//! Regenerate it with `ONDE_MAJ_SPEC=1 cargo test --test openapi`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use onde_domain::{AnneeScolaire, CodeInsee, Ine, Uai};

fn genere() -> String {
    format!("{}\n", onde_api::openapi().to_pretty_json().unwrap())
}

#[test]
fn la_spec_commitee_correspond_au_code() {
    let chemin = Path::new(env!("CARGO_MANIFEST_DIR")).join("api-spec/openapi.json");
    let genere = genere();
    if std::env::var("ONDE_MAJ_SPEC").as_deref() == Ok("1") {
        std::fs::write(&chemin, &genere).unwrap();
        return;
    }
    let commite = std::fs::read_to_string(&chemin).unwrap_or_default();
    assert!(
        commite == genere,
        "api-spec/openapi.json diffère du document généré : lancer `ONDE_MAJ_SPEC=1 cargo test --test openapi` et committer"
    );
}

#[test]
fn la_spec_porte_les_regles_des_identifiants() {
    let doc: serde_json::Value = serde_json::from_str(&genere()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let schemas = &doc["components"]["schemas"];
    for (nom, motif, exemple) in [
        ("Uai", Uai::PATTERN, Uai::EXEMPLE),
        ("Ine", Ine::PATTERN, Ine::EXEMPLE),
        ("CodeInsee", CodeInsee::PATTERN, CodeInsee::EXEMPLE),
        ("AnneeScolaire", AnneeScolaire::PATTERN, AnneeScolaire::EXEMPLE),
    ] {
        assert_eq!(schemas[nom]["pattern"], motif, "{nom}");
        assert_eq!(schemas[nom]["examples"][0], exemple, "{nom}");
        // The published pattern and example agree with the parser.
        let re = regex_lite::Regex::new(motif).unwrap();
        assert!(re.is_match(exemple), "{nom}");
    }
    assert!(Uai::parse(Uai::EXEMPLE).is_ok());
    assert!(Ine::parse(Ine::EXEMPLE).is_ok());
    assert!(CodeInsee::parse(CodeInsee::EXEMPLE).is_ok());
    assert!(AnneeScolaire::parse(AnneeScolaire::EXEMPLE).is_ok());

    // Every operation documents its problem responses and its summary is in French; every
    // /v1 operation declares the OAuth 2.0 scope it requires (the gateway enforces exactly that).
    for (chemin, item) in doc["paths"].as_object().unwrap() {
        for (methode, op) in item.as_object().unwrap() {
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{methode} {chemin}"
            );
            assert!(op["operationId"].is_string(), "{methode} {chemin}");
            if chemin.starts_with("/v1/") {
                let reponses = &op["responses"];
                for statut in ["400", "401", "403"] {
                    assert!(
                        reponses[statut]["content"]["application/problem+json"].is_object(),
                        "{methode} {chemin} {statut}"
                    );
                }
                let scopes = op["security"][0]["oauth2"].as_array().unwrap();
                assert!(!scopes.is_empty(), "{methode} {chemin}");
            }
        }
    }
    // Path identifiers carry their schema (and so their pattern).
    let uai = &doc["paths"]["/v1/ecoles/{uai}"]["get"]["parameters"][0];
    assert_eq!(uai["name"], "uai");
    assert_eq!(uai["schema"]["$ref"], "#/components/schemas/Uai");
}
