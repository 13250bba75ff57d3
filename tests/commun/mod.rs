//! Shared helpers of the end-to-end tests: a seeded fresh database and the real app in-process.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::http::StatusCode;
use actix_web::test;
use onde_store::seed::ParametresSeed;
use onde_store::testing::BaseDeTest;

pub const RENTREE: u16 = 2026;

pub fn seeder(base: &BaseDeTest, eleves: u32) {
    let mut conn = base.store.connexion().unwrap();
    let p = ParametresSeed {
        eleves,
        graine: 7,
        rentree: RENTREE,
        communes: Some(3),
    };
    onde_store::seed::generer(&mut conn, &p, &mut |_, _| {}).unwrap();
}

pub struct Reponse {
    pub statut: StatusCode,
    pub entetes: HeaderMap,
    pub corps: serde_json::Value,
    pub texte: String,
}

impl Reponse {
    pub fn entete(&self, nom: &str) -> Option<&str> {
        self.entetes.get(nom).and_then(|v| v.to_str().ok())
    }
}

pub async fn appeler<S, B>(app: &S, req: actix_http::Request) -> Reponse
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(app, req).await;
    let statut = res.status();
    let entetes = res.headers().clone();
    let octets = test::read_body(res).await;
    let texte = String::from_utf8_lossy(&octets).into_owned();
    let corps = serde_json::from_slice(&octets).unwrap_or(serde_json::Value::Null);
    Reponse {
        statut,
        entetes,
        corps,
        texte,
    }
}

pub async fn get<S, B>(app: &S, uri: &str) -> Reponse
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    appeler(app, test::TestRequest::get().uri(uri).to_request()).await
}

/// Runs an async test body on an actix system (the tests themselves are plain `#[test]`s,
/// one per backend).
pub fn executer<F: std::future::Future<Output = ()>>(f: F) {
    actix_web::rt::System::new().block_on(f);
}

/// Asserts a problem document: status, content type, code, and the parameter named.
pub fn assert_probleme(r: &Reponse, statut: u16, code: &str) {
    assert_eq!(r.statut.as_u16(), statut, "{}", r.texte);
    assert_eq!(
        r.entete("content-type"),
        Some("application/problem+json"),
        "{}",
        r.texte
    );
    assert_eq!(r.corps["status"], statut);
    assert_eq!(r.corps["code"], code, "{}", r.texte);
    assert!(r.corps["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(r.corps["detail"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(r.corps["instance"].as_str().is_some_and(|t| t.starts_with("urn:uuid:")));
}
