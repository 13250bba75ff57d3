//! JSON request bodies: content type checked, unknown fields refused, and every error located
//! by a JSON pointer (RFC 6901) so that the partner sees which field to fix.
//!
//! Handlers take the body as `web::Bytes` and read it here rather than through `web::Json`,
//! whose errors are plain text without the field's location.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::HttpRequest;
use serde::de::DeserializeOwned;

use crate::probleme::Violation;
use crate::ApiError;

pub const JSON: &str = "application/json";
pub const MERGE_PATCH: &str = "application/merge-patch+json";

/// A violation located by a JSON pointer into the body.
pub fn violation(pointeur: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Violation {
    Violation {
        pointer: Some(pointeur.into()),
        parametre: None,
        code: code.into(),
        message: message.into(),
    }
}

/// A 422 for one rule broken by the field at `pointeur`.
pub fn non_conforme(pointeur: &str, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::NonConforme(vec![violation(pointeur, code, message)])
}

/// Escapes a key for a JSON pointer (RFC 6901: `~` -> `~0`, `/` -> `~1`).
pub fn segment(cle: &str) -> String {
    cle.replace('~', "~0").replace('/', "~1")
}

/// Refuses a body whose `Content-Type` is none of `attendus` (parameters such as `charset`
/// are ignored).
pub fn verifier_type(req: &HttpRequest, attendus: &'static [&'static str]) -> Result<(), ApiError> {
    let essence = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match essence {
        Some(e) if attendus.contains(&e.as_str()) => Ok(()),
        _ => Err(ApiError::TypeContenu { attendus }),
    }
}

/// Reads a JSON body of type `T` sent as one of `attendus`.
pub fn lire<T: DeserializeOwned>(
    req: &HttpRequest,
    octets: &[u8],
    attendus: &'static [&'static str],
) -> Result<T, ApiError> {
    verifier_type(req, attendus)?;
    objet_attendu(octets)?;
    depuis_octets(octets)
}

/// Every body read by [`lire`] is a JSON object: serde would also read a struct from an array
/// (`[null, null]` as a `DemandeRotation`), a form the OpenAPI document does not allow (found by
/// schemathesis).
fn objet_attendu(octets: &[u8]) -> Result<(), ApiError> {
    match octets.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | None => Ok(()),
        Some(_) => Err(ApiError::CorpsIllisible(vec![violation(
            "",
            "type_invalide",
            "le corps est un objet JSON",
        )])),
    }
}

/// Reads an optional JSON body: an empty body gives `T::default()`, whatever its content type.
pub fn lire_optionnel<T: DeserializeOwned + Default>(
    req: &HttpRequest,
    octets: &[u8],
    attendus: &'static [&'static str],
) -> Result<T, ApiError> {
    if octets.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    lire(req, octets, attendus)
}

pub fn depuis_octets<T: DeserializeOwned>(octets: &[u8]) -> Result<T, ApiError> {
    let mut lecteur = serde_json::Deserializer::from_slice(octets);
    let valeur = serde_path_to_error::deserialize(&mut lecteur).map_err(erreur)?;
    // Trailing garbage after the document is an error too.
    lecteur.end().map_err(|e| {
        ApiError::CorpsIllisible(vec![violation(
            "",
            "json_invalide",
            format!(
                "JSON mal formé : contenu après la fin du document (ligne {}, colonne {})",
                e.line(),
                e.column()
            ),
        )])
    })?;
    Ok(valeur)
}

/// Deserialises an already parsed document (e.g. the result of a merge patch).
pub fn depuis_valeur<T: DeserializeOwned>(valeur: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(valeur).map_err(erreur)
}

fn erreur(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let pointeur = pointeur(e.path());
    let inner = e.inner();
    let (code, message) = match inner.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof | serde_json::error::Category::Io => (
            "json_invalide",
            format!("JSON mal formé (ligne {}, colonne {})", inner.line(), inner.column()),
        ),
        serde_json::error::Category::Data => traduire(&sans_position(&inner.to_string())),
    };
    let pointeur = match code {
        // serde names the missing field but the path stops at its parent.
        "champ_manquant" => format!("{pointeur}/{}", segment(&cite(&message).unwrap_or_default())),
        "json_invalide" => String::new(),
        _ => pointeur,
    };
    ApiError::CorpsIllisible(vec![violation(pointeur, code, message)])
}

/// `a.b[0].c` as the JSON pointer `/a/b/0/c`.
fn pointeur(chemin: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut p = String::new();
    for s in chemin.iter() {
        match s {
            Segment::Seq { index } => p.push_str(&format!("/{index}")),
            Segment::Map { key } => p.push_str(&format!("/{}", segment(key))),
            Segment::Enum { variant } => p.push_str(&format!("/{}", segment(variant))),
            Segment::Unknown => p.push_str("/?"),
        }
    }
    p
}

/// serde_json appends " at line L column C" to data errors; the pointer says more.
fn sans_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// The first name between backquotes.
fn entre_apostrophes(message: &str) -> Option<&str> {
    let debut = message.find('`')? + 1;
    let fin = message[debut..].find('`')? + debut;
    Some(&message[debut..fin])
}

fn cite(message: &str) -> Option<String> {
    let debut = message.find('«')? + '«'.len_utf8();
    let fin = message[debut..].find('»')? + debut;
    Some(message[debut..fin].trim().to_owned())
}

/// serde's messages are English; partners read French. Custom messages (from the domain
/// parsers, already French) pass through.
fn traduire(message: &str) -> (&'static str, String) {
    if let Some(reste) = message.strip_prefix("unknown field ") {
        let nom = entre_apostrophes(reste).unwrap_or("");
        let attendus: Vec<&str> = reste.split('`').skip(3).step_by(2).collect();
        let liste = if attendus.is_empty() {
            "aucun".to_owned()
        } else {
            attendus.join(", ")
        };
        return (
            "champ_inconnu",
            format!("champ inconnu « {nom} » ; champs acceptés : {liste}"),
        );
    }
    if let Some(reste) = message.strip_prefix("missing field ") {
        let nom = entre_apostrophes(reste).unwrap_or("");
        return ("champ_manquant", format!("champ obligatoire absent : « {nom} »"));
    }
    if let Some(reste) = message.strip_prefix("duplicate field ") {
        let nom = entre_apostrophes(reste).unwrap_or("");
        return ("champ_repete", format!("champ « {nom} » répété"));
    }
    if let Some(reste) = message.strip_prefix("invalid type: ") {
        let attendu = reste.split(", expected ").nth(1).unwrap_or("");
        return (
            "type_invalide",
            format!("type de valeur inattendu ; attendu : {}", traduire_attendu(attendu)),
        );
    }
    if let Some(reste) = message.strip_prefix("invalid value: ") {
        let attendu = reste.split(", expected ").nth(1).unwrap_or("");
        return (
            "valeur_invalide",
            format!("valeur invalide ; attendu : {}", traduire_attendu(attendu)),
        );
    }
    if message.starts_with("unknown variant ") {
        let attendus: Vec<&str> = message.split('`').skip(3).step_by(2).collect();
        return (
            "valeur_inconnue",
            format!("valeur inconnue ; valeurs acceptées : {}", attendus.join(", ")),
        );
    }
    ("valeur_invalide", message.to_owned())
}

fn traduire_attendu(attendu: &str) -> String {
    match attendu {
        "a string" => "une chaîne".into(),
        "a boolean" => "un booléen (true ou false)".into(),
        "a sequence" => "un tableau".into(),
        "u32" | "u64" | "u16" | "i64" | "i32" => "un entier".into(),
        a if a.starts_with("struct ") => "un objet".into(),
        a if a.starts_with("a map") => "un objet".into(),
        a => a.to_owned(),
    }
}

/// Refuses the unknown members of a merge patch (RFC 7396) like unknown fields of any body,
/// `null` ones included: merging `{"nomm": null}` removes nothing and would silently succeed,
/// hiding the typo (found by schemathesis). `objets` lists the members patched member by member
/// and their own fields.
pub fn verifier_correctif(
    correctif: &serde_json::Value,
    connus: &[&str],
    objets: &[(&str, &[&str])],
) -> Result<(), ApiError> {
    let mut violations = Vec::new();
    let mut verifier = |objet: &serde_json::Map<String, serde_json::Value>, base: &str, connus: &[&str]| {
        for cle in objet.keys().filter(|c| !connus.contains(&c.as_str())) {
            let court: String = cle.chars().take(60).collect();
            violations.push(violation(
                format!("{base}/{}", segment(&court)),
                "champ_inconnu",
                format!("champ inconnu « {court} » ; champs acceptés : {}", connus.join(", ")),
            ));
        }
    };
    if let Some(objet) = correctif.as_object() {
        verifier(objet, "", connus);
        for (membre, champs) in objets {
            if let Some(sous) = objet.get(*membre).and_then(serde_json::Value::as_object) {
                verifier(sous, &format!("/{membre}"), champs);
            }
        }
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(ApiError::NonConforme(violations))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Interne {
        code: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Externe {
        nom: String,
        #[serde(default)]
        liste: Vec<Interne>,
        #[serde(default)]
        actif: bool,
    }

    fn violation_de(json: &str) -> Violation {
        match depuis_octets::<Externe>(json.as_bytes()) {
            Err(ApiError::CorpsIllisible(v)) => v.into_iter().next().unwrap(),
            autre => panic!("erreur attendue : {autre:?}"),
        }
    }

    #[test]
    fn chaque_erreur_est_situee() {
        let v = violation_de(r#"{"nom": "a", "liste": [{"code": "x"}, {"code": "y", "intrus": 1}]}"#);
        assert_eq!(
            (v.pointer.as_deref(), v.code.as_str()),
            (Some("/liste/1/intrus"), "champ_inconnu")
        );
        assert!(
            v.message.contains("« intrus »") && v.message.contains("code"),
            "{}",
            v.message
        );

        let v = violation_de(r#"{"liste": []}"#);
        assert_eq!(
            (v.pointer.as_deref(), v.code.as_str()),
            (Some("/nom"), "champ_manquant")
        );

        let v = violation_de(r#"{"nom": "a", "liste": [{}]}"#);
        assert_eq!(
            (v.pointer.as_deref(), v.code.as_str()),
            (Some("/liste/0/code"), "champ_manquant")
        );

        let v = violation_de(r#"{"nom": 3}"#);
        assert_eq!((v.pointer.as_deref(), v.code.as_str()), (Some("/nom"), "type_invalide"));
        assert!(v.message.contains("chaîne"), "{}", v.message);

        let v = violation_de(r#"{"nom": "a", "actif": "oui"}"#);
        assert_eq!(
            (v.pointer.as_deref(), v.code.as_str()),
            (Some("/actif"), "type_invalide")
        );

        let v = violation_de(r#"{"nom": "a""#);
        assert_eq!((v.pointer.as_deref(), v.code.as_str()), (Some(""), "json_invalide"));

        let v = violation_de(r#"{"nom": "a"} {"#);
        assert_eq!(v.code, "json_invalide");
    }

    #[test]
    fn un_tableau_n_est_pas_un_objet() {
        let req = actix_web::test::TestRequest::default()
            .insert_header((CONTENT_TYPE, JSON))
            .to_http_request();
        match lire::<Externe>(&req, b" [null, null]", &[JSON]) {
            Err(ApiError::CorpsIllisible(v)) => assert_eq!(v[0].code, "type_invalide"),
            autre => panic!("400 attendu : {autre:?}"),
        }
        assert!(lire::<Externe>(&req, br#"{"nom": "a"}"#, &[JSON]).is_ok());
    }

    #[test]
    fn correctif_aux_champs_connus() {
        let connus = ["nom", "adresse"];
        let objets: [(&str, &[&str]); 1] = [("adresse", &["voie"])];
        assert!(verifier_correctif(
            &serde_json::json!({"nom": null, "adresse": {"voie": "x"}}),
            &connus,
            &objets
        )
        .is_ok());
        match verifier_correctif(
            &serde_json::json!({"nomm": null, "adresse": {"rue": null}}),
            &connus,
            &objets,
        ) {
            Err(ApiError::NonConforme(v)) => {
                let pointeurs: Vec<_> = v.iter().filter_map(|v| v.pointer.as_deref()).collect();
                assert_eq!(pointeurs, ["/nomm", "/adresse/rue"]);
            }
            autre => panic!("422 attendu : {autre:?}"),
        }
    }

    #[test]
    fn pointeur_echappe() {
        assert_eq!(segment("a/b~c"), "a~1b~0c");
    }
}
