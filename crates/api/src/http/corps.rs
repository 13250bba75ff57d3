//! JSON request bodies: content type checked, unknown fields refused, and every error located
//! by a JSON pointer (RFC 6901) so that the partner sees which field to fix.
//!
//! Handlers take the body as `web::Bytes` and read it here rather than through `web::Json`,
//! whose errors are plain text without the field's location.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::HttpRequest;
use serde::de::DeserializeOwned;

use onde_service::{json, Violation};

use crate::erreurs::erreur::ApiError;

/// A 422 for one rule broken by the field at `pointeur`.
pub fn non_conforme(pointeur: &str, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::NonConforme(vec![Violation::champ(pointeur, code, message)])
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
    Ok(json::depuis_octets(octets)?)
}

/// Every body read by [`lire`] is a JSON object: serde would also read a struct from an array
/// (`[null, null]` as a `DemandeRotation`), a form the OpenAPI document does not allow (found by
/// schemathesis).
fn objet_attendu(octets: &[u8]) -> Result<(), ApiError> {
    match octets.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | None => Ok(()),
        Some(_) => Err(ApiError::CorpsIllisible(vec![Violation::champ(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::constantes::JSON;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Externe {
        nom: String,
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
}
