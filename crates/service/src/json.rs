//! JSON documents read with every error located by a JSON pointer (RFC 6901), so that the
//! partner (or the CLI user) sees which field to fix; and JSON merge patches (RFC 7396).

use serde::de::DeserializeOwned;

use crate::erreur::ServiceError;
use crate::violation::Violation;

/// Escapes a key for a JSON pointer (RFC 6901: `~` -> `~0`, `/` -> `~1`).
pub fn segment(cle: &str) -> String {
    cle.replace('~', "~0").replace('/', "~1")
}

pub fn depuis_octets<T: DeserializeOwned>(octets: &[u8]) -> Result<T, ServiceError> {
    let mut lecteur = serde_json::Deserializer::from_slice(octets);
    let valeur = serde_path_to_error::deserialize(&mut lecteur).map_err(erreur)?;
    // Trailing garbage after the document is an error too.
    lecteur.end().map_err(|e| {
        ServiceError::CorpsIllisible(vec![Violation::champ(
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
pub fn depuis_valeur<T: DeserializeOwned>(valeur: serde_json::Value) -> Result<T, ServiceError> {
    serde_path_to_error::deserialize(valeur).map_err(erreur)
}

fn erreur(e: serde_path_to_error::Error<serde_json::Error>) -> ServiceError {
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
    ServiceError::CorpsIllisible(vec![Violation::champ(pointeur, code, message)])
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
) -> Result<(), ServiceError> {
    let mut violations = Vec::new();
    let mut verifier = |objet: &serde_json::Map<String, serde_json::Value>, base: &str, connus: &[&str]| {
        for cle in objet.keys().filter(|c| !connus.contains(&c.as_str())) {
            let court: String = cle.chars().take(60).collect();
            violations.push(Violation::champ(
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
        Err(ServiceError::NonConforme(violations))
    }
}

/// RFC 7396, section 2.
pub fn fusionner(cible: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    let Value::Object(correctif) = patch else {
        *cible = patch.clone();
        return;
    };
    if !cible.is_object() {
        *cible = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(objet) = cible {
        for (cle, valeur) in correctif {
            if valeur.is_null() {
                objet.remove(cle);
            } else {
                fusionner(objet.entry(cle.clone()).or_insert(Value::Null), valeur);
            }
        }
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
            Err(ServiceError::CorpsIllisible(v)) => v.into_iter().next().unwrap(),
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
            Err(ServiceError::NonConforme(v)) => {
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

    #[test]
    fn fusion_rfc_7396() {
        use serde_json::json;
        // The examples of RFC 7396, appendix A (a selection).
        let cas = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (json!({"a": [{"b": "c"}]}), json!({"a": [1]}), json!({"a": [1]})),
            (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
            (json!([1, 2]), json!({"a": "b", "c": null}), json!({"a": "b"})),
        ];
        for (mut cible, patch, attendu) in cas {
            fusionner(&mut cible, &patch);
            assert_eq!(cible, attendu);
        }
    }
}
