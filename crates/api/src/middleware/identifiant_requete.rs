//! Every request gets a server-generated id (UUIDv7) in `X-Request-Id`, in problem documents,
//! in the logs and in the audit trail. A caller's own `X-Request-Id` is never used as ours —
//! a partner must not choose what its audit records say — but, when sane, it is logged and
//! echoed back in `X-Client-Request-Id` for correlation.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub const X_CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-client-request-id");

tokio::task_local! {
    static ID_REQUETE: String;
}

/// The id of the request being served, if any.
pub fn courant() -> Option<String> {
    ID_REQUETE.try_with(Clone::clone).ok()
}

fn acceptable(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    let ok = (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| s.to_owned())
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = uuid::Uuid::now_v7().to_string();
    let id_client = req.headers().get(&X_REQUEST_ID).and_then(acceptable);
    let debut = Instant::now();
    let methode = req.method().clone();
    // One span per request (exported as a trace when OpenTelemetry is configured).
    let span = tracing::info_span!(
        "requête",
        request_id = %id,
        methode = %methode,
        route = tracing::field::Empty,
        statut = tracing::field::Empty,
        partenaire = tracing::field::Empty,
    );
    let mut reponse =
        tracing::Instrument::instrument(ID_REQUETE.scope(id.clone(), next.call(req)), span.clone()).await?;
    let route = reponse.request().match_pattern().unwrap_or_else(|| "(inconnue)".into());
    let partenaire = actix_web::HttpMessage::extensions(reponse.request())
        .get::<crate::middleware::metriques::PartenaireRequete>()
        .map(|p| p.0.to_string())
        .unwrap_or_default();
    span.record("route", route.as_str());
    span.record("statut", reponse.status().as_u16());
    span.record("partenaire", partenaire.as_str());
    tracing::info!(
        request_id = %id,
        partenaire = %partenaire,
        id_client = id_client.as_deref().unwrap_or(""),
        methode = %methode,
        route = %route,
        statut = reponse.status().as_u16(),
        duree_ms = debut.elapsed().as_secs_f64() * 1000.0,
        "requête"
    );
    if let Ok(v) = HeaderValue::from_str(&id) {
        reponse.headers_mut().insert(X_REQUEST_ID, v);
    }
    if let Some(v) = id_client.and_then(|c| HeaderValue::from_str(&c).ok()) {
        reponse.headers_mut().insert(X_CLIENT_REQUEST_ID, v);
    }
    Ok(reponse)
}
