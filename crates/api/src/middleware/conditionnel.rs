//! Conditional GETs in one place: every `200` to a `GET` carries an `ETag` — the resource's
//! version when the handler set one (`"v3"`, also what `If-Match` takes), otherwise a digest
//! of the body (list pages, the change feed) — and a request whose `If-None-Match` names it
//! gets `304 Not Modified` with no body. Streamed bodies (CSV exports) are left as they are.
//! The tag is computed on the uncompressed body; when [`super::compression`] is going to code
//! the answer, the representation's tag is that tag with the coding as suffix (`"hAbC-gzip"`),
//! and that is what `If-None-Match` is compared with and what a 304 carries.

use actix_web::body::{self, BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse};
use base64::Engine;

use crate::http::compresseur::etiquette;
use crate::middleware::compression::Negociation;

/// Whether `If-None-Match` (a list of tags, or `*`) names `etag`, with the weak comparison
/// RFC 9110 prescribes for it.
fn correspond(si_aucun: &str, etag: &str) -> bool {
    let nu = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    si_aucun.trim() == "*" || si_aucun.split(',').any(|t| nu(t) == nu(etag))
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let lecture = matches!(*req.method(), Method::GET | Method::HEAD);
    let si_aucun = req
        .headers()
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let res = next.call(req).await?;
    if !lecture || res.status() != StatusCode::OK || !matches!(res.response().body().size(), BodySize::Sized(_)) {
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let (mut tete, corps) = res.into_parts();
    // A body already in memory (every JSON answer) is taken as it is, without a copy.
    let octets = match corps.try_into_bytes() {
        Ok(octets) => octets,
        Err(corps) => body::to_bytes(corps)
            .await
            .map_err(|_| actix_web::error::ErrorInternalServerError("corps de réponse illisible"))?,
    };
    let etag = match tete.headers().get(ETAG).and_then(|v| v.to_str().ok()) {
        Some(e) => e.to_owned(),
        None => {
            // A validator, not a secret: a 128-bit XXH3 of the body (a tenth of SHA-256's cost
            // on a page of 500 inscriptions).
            let empreinte = xxhash_rust::xxh3::xxh3_128(&octets).to_be_bytes();
            format!(
                "\"h{}\"",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(empreinte)
            )
        }
    };
    if let Ok(v) = HeaderValue::from_str(&etag) {
        tete.headers_mut().insert(ETAG, v);
    }
    if !tete.headers().contains_key(CACHE_CONTROL) {
        // Personal data: no shared cache may keep it; a client revalidates with its ETag.
        tete.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    }
    // The tag of what this request gets: coded or not, as the compression middleware decides
    // with the same inputs once this answer reaches it.
    let negociation = req.extensions().get::<Negociation>().copied();
    let codage =
        negociation.and_then(|n| n.codage_pour(StatusCode::OK, tete.headers(), BodySize::Sized(octets.len() as u64)));
    let representation = codage.map_or_else(|| etag.clone(), |c| etiquette(&etag, c));
    if si_aucun.as_deref().is_some_and(|s| correspond(s, &representation)) {
        let mut r = HttpResponse::NotModified();
        for (nom, valeur) in tete.headers().iter() {
            if nom == CACHE_CONTROL || nom.as_str().starts_with("x-") {
                r.insert_header((nom.clone(), valeur.clone()));
            }
        }
        if let Ok(v) = HeaderValue::from_str(&representation) {
            r.insert_header((ETAG, v));
        }
        return Ok(ServiceResponse::new(req, r.finish()));
    }
    Ok(ServiceResponse::new(req, tete.set_body(octets).map_into_boxed_body()))
}

#[cfg(test)]
mod tests {
    use super::correspond;

    #[test]
    fn comparaison_faible_et_listes() {
        assert!(correspond("\"v3\"", "\"v3\""));
        assert!(correspond("W/\"v3\"", "\"v3\""));
        assert!(correspond("\"a\", \"v3\"", "\"v3\""));
        assert!(correspond("*", "\"v3\""));
        assert!(!correspond("\"v2\"", "\"v3\""));
        assert!(!correspond("", "\"v3\""));
    }
}
