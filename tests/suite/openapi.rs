//! The committed `api-spec/openapi.json` is the snapshot of the document the code generates.
//! Regenerate it with `ONDE_MAJ_SPEC=1 cargo test --test suite openapi`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use onde_domain::{AnneeScolaire, CodeInsee, Ine, Uai};

use crate::commun::api;

fn genere() -> String {
    format!("{}\n", api::openapi().to_pretty_json().unwrap())
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
        "api-spec/openapi.json diffère du document généré : lancer `ONDE_MAJ_SPEC=1 cargo test --test suite openapi` et committer"
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

/// Absent, not a string, or blank.
fn sans_texte(v: &serde_json::Value) -> bool {
    v.as_str().is_none_or(|s| s.trim().is_empty())
}

/// The `$ref`-resolved schema (one level of `oneOf: [null, $ref]` too).
fn resolu<'a>(doc: &'a serde_json::Value, s: &'a serde_json::Value) -> &'a serde_json::Value {
    let mut s = s;
    if let Some(branches) = s["oneOf"].as_array() {
        if let Some(r) = branches.iter().find(|b| b.get("$ref").is_some()) {
            s = r;
        }
    }
    match s["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(nom) => &doc["components"]["schemas"][nom],
        None => s,
    }
}

fn a_un_exemple(doc: &serde_json::Value, s: &serde_json::Value) -> bool {
    let porte = |s: &serde_json::Value| {
        s.get("example").is_some() || s["examples"].as_array().is_some_and(|e| !e.is_empty()) || s.get("enum").is_some()
    };
    let r = resolu(doc, s);
    // An object (or a list of objects) is exemplified by its own fields.
    let compose =
        |s: &serde_json::Value| s.get("properties").is_some() || s.get("allOf").is_some() || s.get("oneOf").is_some();
    porte(s) || porte(r) || compose(r) || compose(resolu(doc, &r["items"]))
}

/// Integrators' checklist: every operation, parameter, body, schema and field is described in
/// French with an example; every error response names its problem types with an example.
#[test]
fn la_spec_est_documentee_pour_les_integrateurs() {
    let doc: serde_json::Value = serde_json::from_str(&genere()).unwrap();
    let mut manques = Vec::new();
    for (chemin, item) in doc["paths"].as_object().unwrap() {
        for (methode, op) in item.as_object().unwrap() {
            let ici = format!("{methode} {chemin}");
            for champ in ["summary", "description"] {
                if sans_texte(&op[champ]) {
                    manques.push(format!("{ici} : {champ}"));
                }
            }
            if op["tags"].as_array().is_none_or(|t| t.len() != 1) {
                manques.push(format!("{ici} : un tag"));
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                let nom = p["name"].as_str().unwrap_or("?");
                if sans_texte(&p["description"]) {
                    manques.push(format!("{ici} : description du paramètre {nom}"));
                }
                if p.get("example").is_none() && !a_un_exemple(&doc, &p["schema"]) {
                    manques.push(format!("{ici} : exemple du paramètre {nom}"));
                }
            }
            if let Some(corps) = op.get("requestBody") {
                if sans_texte(&corps["description"]) {
                    manques.push(format!("{ici} : description du corps"));
                }
            }
            for (statut, reponse) in op["responses"].as_object().unwrap() {
                let Some(probleme) = reponse["content"].get("application/problem+json") else {
                    continue;
                };
                let description = reponse["description"].as_str().unwrap_or("");
                let type_exemple = probleme["example"]["type"].as_str().unwrap_or("(aucun exemple)");
                if !description.contains(&format!("`{type_exemple}`")) {
                    manques.push(format!(
                        "{ici} {statut} : types de problème et exemple ({type_exemple})"
                    ));
                }
                assert_eq!(
                    probleme["example"]["status"].as_u64().map(|s| s.to_string()).as_deref(),
                    Some(statut.as_str()),
                    "{ici}"
                );
            }
            if !op["responses"].as_object().unwrap().contains_key("500") {
                manques.push(format!("{ici} : réponse 500"));
            }
        }
    }
    for (nom, schema) in doc["components"]["schemas"].as_object().unwrap() {
        if sans_texte(&schema["description"]) {
            manques.push(format!("schéma {nom} : description"));
        }
        let mut proprietes: Vec<(&String, &serde_json::Value)> = Vec::new();
        proprietes.extend(schema["properties"].as_object().into_iter().flatten());
        for partie in schema["allOf"].as_array().into_iter().flatten() {
            proprietes.extend(partie["properties"].as_object().into_iter().flatten());
            // A closed member would refuse the fields the other members add.
            assert_ne!(
                resolu(&doc, partie)["additionalProperties"],
                false,
                "{nom} : membre allOf fermé"
            );
        }
        for (champ, p) in proprietes {
            let decrit = p["description"].as_str().is_some_and(|s| !s.is_empty())
                || p["oneOf"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|b| b["description"].is_string());
            if !decrit {
                manques.push(format!("{nom}.{champ} : description"));
            }
            if !a_un_exemple(&doc, p) {
                manques.push(format!("{nom}.{champ} : exemple"));
            }
        }
    }
    assert!(manques.is_empty(), "à documenter :\n{}", manques.join("\n"));
}

/// The header patterns the document publishes are the ones the gateway applies.
#[test]
fn les_motifs_des_en_tetes_sont_ceux_du_serveur() {
    let doc: serde_json::Value = serde_json::from_str(&genere()).unwrap();
    let mut vus = 0;
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let attendu = match p["name"].as_str() {
                    Some("If-Match") => api::MOTIF_IF_MATCH,
                    Some("Idempotency-Key") => api::MOTIF_IDEMPOTENCE,
                    _ => continue,
                };
                assert_eq!(p["schema"]["pattern"], attendu);
                vus += 1;
            }
        }
    }
    assert!(vus > 10);
}
