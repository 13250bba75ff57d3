//! The bearer token of a request: read from `Authorization` (RFC 6750), verified once per
//! request by the admission middleware ([`crate::middleware::admission`]), whose verdict waits
//! in the request's extensions for the [`crate::auth::acces::Acces`] extractor.

use actix_web::http::header::AUTHORIZATION;
use actix_web::HttpRequest;

use crate::auth::jeton::{JetonRefuse, Revendications};
use crate::erreurs::erreur::ApiError;

/// The verdict on the request's bearer token: its verified claims, or why it is refused.
#[derive(Debug, Clone)]
pub struct JetonVerifie(pub Result<Revendications, JetonRefuse>);

/// The bearer token of `Authorization`: `None` without the header, an error when the header is
/// not `Bearer <token>`.
pub fn jeton_porteur(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(valeur) = req.headers().get(AUTHORIZATION) else {
        return Ok(None);
    };
    let texte = valeur
        .to_str()
        .map_err(|_| ApiError::NonAuthentifie(Some("en-tête Authorization illisible".into())))?;
    let (schema, jeton) = texte
        .split_once(' ')
        .ok_or_else(|| ApiError::NonAuthentifie(Some("en-tête Authorization attendu : Bearer <jeton>".into())))?;
    if !schema.eq_ignore_ascii_case("bearer") || jeton.trim().is_empty() {
        return Err(ApiError::NonAuthentifie(Some(
            "schéma d'authentification attendu : Bearer".into(),
        )));
    }
    Ok(Some(jeton.trim().to_owned()))
}
