//! Compressed answers (RFC 9110 §8.4 and §12.5.3): `Accept-Encoding` is negotiated once per
//! request, and an answer is compressed when it is worth it, in one place for every route:
//!
//! - codings: zstd, br, gzip (the client's highest q-value wins; among equals, that order);
//!   `*` stands for any coding the client does not name; `x-gzip` is gzip; a header that does
//!   not parse counts as absent (no coding);
//! - what: JSON, problem documents, CSV (streamed exports included, chunk by chunk), other
//!   text, of at least [`ConfigCompression::seuil_octets`] (below, the coding costs more than
//!   it saves), unless the client refuses `identity`: then every body is coded;
//! - never: the token endpoint and any answer marked `Cache-Control: no-store` (secrets, which
//!   a compressed body next to attacker-chosen text would leak by its length: BREACH), a
//!   `HEAD`, 204, 206, 304, redirections, an answer already coded;
//! - every answer that could have been compressed (by its type), compressed or not, carries
//!   `Vary: Accept-Encoding`, and so does a 304;
//! - a compressed answer's strong `ETag` gets the coding as suffix (`"hAbC-gzip"`, `"v3-zstd"`):
//!   RFC 9110 §8.8.3 wants distinct tags for distinct bytes. [`super::conditionnel`] compares
//!   `If-None-Match` with the tag of the representation this request would get
//!   ([`compresseur::etiquette`]); writes read the version out of a suffixed `If-Match`
//!   ([`crate::http::ecriture::si_correspond`], through [`compresseur::sans_suffixe`]);
//! - a client that refuses `identity` and accepts none of the three codings gets 406
//!   `codage_non_acceptable` (RFC 9110 §15.5.7), before its request runs.

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    AcceptEncoding, ContentEncoding, Encoding, Header, HeaderMap, HeaderValue, Preference, Quality, ACCEPT_ENCODING,
    CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG, VARY,
};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};

use crate::erreurs::erreur::ApiError;
use crate::http::compresseur::{self, etiquette, Codage, Encodeur, FluxCompresse, Niveaux};

/// Paths whose answers are never compressed, whatever their headers say.
const JAMAIS: &[&str] = &["/oauth/token"];

/// What the configuration sets (`[serveur.compression]`).
#[derive(Debug, Clone)]
pub struct ConfigCompression {
    /// Smallest body compressed when the client also accepts `identity`.
    pub seuil_octets: usize,
    /// Codings offered, in the order preferred among those the client rates alike (empty: no
    /// compression at all).
    pub codages: Vec<Codage>,
    pub niveaux: Niveaux,
}

impl Default for ConfigCompression {
    fn default() -> Self {
        Self {
            seuil_octets: 1024,
            codages: Codage::TOUS.to_vec(),
            niveaux: Niveaux::default(),
        }
    }
}

/// What a request's `Accept-Encoding` allows, decided before the request runs and kept in its
/// extensions for [`super::conditionnel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negociation {
    /// The coding a large enough answer gets (`None`: identity).
    pub codage: Option<Codage>,
    /// `identity;q=0` (or `*;q=0` without `identity`): every body is coded, whatever its size.
    pub identite_refusee: bool,
    pub seuil_octets: usize,
}

/// The quality the client gives a coding by its own entry, and through `*`.
fn qualite(liste: &AcceptEncoding, vise: &Encoding) -> (Option<Quality>, Option<Quality>) {
    let propre = liste.iter().find(|q| match &q.item {
        Preference::Specific(e) => e == vise || (*vise == Encoding::gzip() && *e == Encoding::Unknown("x-gzip".into())),
        Preference::Any => false,
    });
    let tout = liste.iter().find(|q| q.item == Preference::Any);
    (propre.map(|q| q.quality), tout.map(|q| q.quality))
}

impl Negociation {
    /// Reads `Accept-Encoding`; 406 `codage_non_acceptable` when the client refuses `identity`
    /// and every coding offered.
    pub fn lire(req: &impl HttpMessage, config: &ConfigCompression) -> Result<Negociation, ApiError> {
        let identite = Negociation {
            codage: None,
            identite_refusee: false,
            seuil_octets: config.seuil_octets,
        };
        // Absent: RFC 9110 lets any coding be used, but clients that send nothing are scripts
        // and probes that may not decode one; empty: no coding wanted.
        if !req.headers().contains_key(ACCEPT_ENCODING) {
            return Ok(identite);
        }
        let Ok(liste) = AcceptEncoding::parse(req) else {
            return Ok(identite);
        };
        let (identite_propre, tout) = qualite(&liste, &Encoding::identity());
        let identite_refusee = identite_propre.or(tout) == Some(Quality::ZERO);
        let mut meilleur: Option<(Codage, Quality)> = None;
        for &c in &config.codages {
            let (propre, tout) = qualite(&liste, &Encoding::Known(a_actix(c)));
            let q = propre.or(tout).unwrap_or(Quality::ZERO);
            if q > Quality::ZERO && meilleur.is_none_or(|(_, m)| q > m) {
                meilleur = Some((c, q));
            }
        }
        // `identity` named and rated above every coding: the client's choice.
        let codage = match (meilleur, identite_propre) {
            (Some((_, q)), Some(qi)) if qi > q => None,
            (m, _) => m.map(|(c, _)| c),
        };
        if codage.is_none() && identite_refusee {
            let offerts: Vec<&str> = config.codages.iter().map(|c| c.nom()).collect();
            return Err(ApiError::CodageNonAcceptable {
                offerts: offerts.join(", "),
            });
        }
        Ok(Negociation {
            codage,
            identite_refusee,
            seuil_octets: config.seuil_octets,
        })
    }

    /// The coding an answer with these headers and body gets, if any.
    pub fn codage_pour(&self, statut: StatusCode, entetes: &HeaderMap, taille: BodySize) -> Option<Codage> {
        let codage = self.codage?;
        let statut_compressible =
            (statut.is_success() && statut != StatusCode::NO_CONTENT && statut != StatusCode::PARTIAL_CONTENT)
                || statut.is_client_error()
                || statut.is_server_error();
        if !statut_compressible
            || entetes.contains_key(CONTENT_ENCODING)
            || secret(entetes)
            || !type_compressible(entetes)
        {
            return None;
        }
        match taille {
            BodySize::None | BodySize::Sized(0) => None,
            BodySize::Sized(n) if !self.identite_refusee && n < self.seuil_octets as u64 => None,
            _ => Some(codage),
        }
    }
}

fn a_actix(c: Codage) -> ContentEncoding {
    match c {
        Codage::Zstd => ContentEncoding::Zstd,
        Codage::Brotli => ContentEncoding::Brotli,
        Codage::Gzip => ContentEncoding::Gzip,
    }
}

/// Secrets (the token, a client secret) are marked `no-store` by their handlers.
fn secret(entetes: &HeaderMap) -> bool {
    entetes
        .get(CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("no-store"))
}

/// JSON (`application/json`, `application/*+json`), CSV and other text, JavaScript (the
/// documentation's pages); not images nor what is already compressed.
fn type_compressible(entetes: &HeaderMap) -> bool {
    let Some(t) = entetes.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let t = t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    t.starts_with("text/")
        || t == "application/json"
        || (t.starts_with("application/") && t.ends_with("+json"))
        || t == "application/x-ndjson"
        || t == "application/javascript"
}

/// Adds `Accept-Encoding` to `Vary` unless it is there.
fn varier(entetes: &mut HeaderMap) {
    let deja = entetes.get_all(VARY).any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|n| n.trim().eq_ignore_ascii_case("accept-encoding") || n.trim() == "*")
        })
    });
    if !deja {
        entetes.append(VARY, HeaderValue::from_static("Accept-Encoding"));
    }
}

pub async fn middleware(
    config: web::Data<ConfigCompression>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if *req.method() == Method::HEAD || JAMAIS.contains(&req.path()) || config.codages.is_empty() {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let negociation = match Negociation::lire(&req, &config) {
        Ok(n) => n,
        Err(refus) => {
            let mut reponse = refus.error_response();
            varier(reponse.headers_mut());
            return Ok(req.into_response(reponse));
        }
    };
    req.extensions_mut().insert(negociation);
    let res = next.call(req).await?.map_into_boxed_body();
    let statut = res.status();
    if statut == StatusCode::NOT_MODIFIED || (type_compressible(res.headers()) && !secret(res.headers())) {
        let (req, mut reponse) = res.into_parts();
        varier(reponse.headers_mut());
        let res = ServiceResponse::new(req, reponse);
        return compresser(res, negociation, config.niveaux).await;
    }
    Ok(res)
}

async fn compresser(
    res: ServiceResponse<BoxBody>,
    negociation: Negociation,
    niveaux: Niveaux,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let taille = res.response().body().size();
    let Some(codage) = negociation.codage_pour(res.status(), res.headers(), taille) else {
        return Ok(res);
    };
    let (req, reponse) = res.into_parts();
    let (mut tete, corps) = reponse.into_parts();
    let entetes = tete.headers_mut();
    entetes.insert(CONTENT_ENCODING, HeaderValue::from_static(codage.nom()));
    entetes.remove(CONTENT_LENGTH);
    if let Some(etag) = entetes
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .map(|e| etiquette(e, codage))
    {
        if let Ok(v) = HeaderValue::from_str(&etag) {
            entetes.insert(ETAG, v);
        }
    }
    let interne = |e: std::io::Error| {
        tracing::error!(erreur = %e, "compression de la réponse");
        actix_web::error::ErrorInternalServerError("compression impossible")
    };
    let corps = match corps.try_into_bytes() {
        Ok(octets) => {
            let compresse = if octets.len() > compresseur::EN_PLACE_MAX {
                web::block(move || compresseur::compresser(codage, niveaux, &octets))
                    .await
                    .map_err(actix_web::error::ErrorInternalServerError)?
            } else {
                compresseur::compresser(codage, niveaux, &octets)
            };
            BoxBody::new(compresse.map_err(interne)?)
        }
        Err(corps) => {
            let encodeur = Encodeur::nouveau(codage, niveaux, 0).map_err(interne)?;
            BoxBody::new(FluxCompresse::new(corps, encodeur))
        }
    };
    Ok(ServiceResponse::new(req, tete.set_body(corps)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn lire(accept: Option<&str>) -> Result<Negociation, ApiError> {
        let mut r = TestRequest::default();
        if let Some(a) = accept {
            r = r.insert_header((ACCEPT_ENCODING, a));
        }
        Negociation::lire(&r.to_http_request(), &ConfigCompression::default())
    }

    fn codage(accept: Option<&str>) -> Option<Codage> {
        lire(accept).unwrap().codage
    }

    #[test]
    fn negociation_rfc_9110() {
        assert_eq!(codage(None), None);
        assert_eq!(codage(Some("")), None);
        assert_eq!(codage(Some("identity")), None);
        assert_eq!(codage(Some("gzip")), Some(Codage::Gzip));
        assert_eq!(codage(Some("x-gzip")), Some(Codage::Gzip));
        assert_eq!(codage(Some("deflate, gzip, br, zstd")), Some(Codage::Zstd));
        assert_eq!(codage(Some("gzip, br")), Some(Codage::Brotli));
        assert_eq!(codage(Some("gzip;q=0, zstd")), Some(Codage::Zstd));
        assert_eq!(codage(Some("gzip;q=1, zstd;q=0.5")), Some(Codage::Gzip));
        assert_eq!(codage(Some("*")), Some(Codage::Zstd));
        assert_eq!(codage(Some("*, zstd;q=0")), Some(Codage::Brotli));
        assert_eq!(codage(Some("zstd;q=0.2, identity;q=0.9")), None);
        assert_eq!(codage(Some("deflate, compress")), None);
        // Unparseable: as if absent.
        assert_eq!(codage(Some("gzip;q=2")), None);
        let n = lire(Some("gzip, identity;q=0")).unwrap();
        assert_eq!((n.codage, n.identite_refusee), (Some(Codage::Gzip), true));
        assert!(lire(Some("gzip;q=0, identity;q=0")).is_err());
        assert!(lire(Some("*;q=0")).is_err());
        assert!(lire(Some("deflate, *;q=0")).is_err());
        assert_eq!(codage(Some("identity, *;q=0")), None);
    }

    #[test]
    fn seuil_type_et_secrets() {
        let n = lire(Some("gzip")).unwrap();
        let mut json = HeaderMap::new();
        json.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert_eq!(
            n.codage_pour(StatusCode::OK, &json, BodySize::Sized(1024)),
            Some(Codage::Gzip)
        );
        assert_eq!(n.codage_pour(StatusCode::OK, &json, BodySize::Sized(1023)), None);
        assert_eq!(
            n.codage_pour(StatusCode::OK, &json, BodySize::Stream),
            Some(Codage::Gzip)
        );
        assert_eq!(
            n.codage_pour(StatusCode::NOT_FOUND, &json, BodySize::Sized(5000)),
            Some(Codage::Gzip)
        );
        assert_eq!(
            n.codage_pour(StatusCode::NO_CONTENT, &json, BodySize::Sized(5000)),
            None
        );
        assert_eq!(n.codage_pour(StatusCode::FOUND, &json, BodySize::Sized(5000)), None);
        let refuse = lire(Some("gzip, identity;q=0")).unwrap();
        assert_eq!(
            refuse.codage_pour(StatusCode::OK, &json, BodySize::Sized(10)),
            Some(Codage::Gzip)
        );
        let mut secret = json.clone();
        secret.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        assert_eq!(refuse.codage_pour(StatusCode::OK, &secret, BodySize::Sized(5000)), None);
        let mut image = HeaderMap::new();
        image.insert(CONTENT_TYPE, HeaderValue::from_static("image/png"));
        assert_eq!(n.codage_pour(StatusCode::OK, &image, BodySize::Sized(5000)), None);
        let mut deja = json.clone();
        deja.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        assert_eq!(n.codage_pour(StatusCode::OK, &deja, BodySize::Sized(5000)), None);
    }
}
