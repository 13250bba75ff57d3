//! Partner administration, on SQLite and PostgreSQL: the service shared by the admin API and
//! the CLI (create, show, change, rotate, revoke; secrets shown once and stored hashed; invalid
//! definitions refused with their code), the demo partners, the admin API end to end with real
//! tokens (scope `admin` enforced, changes effective on the partner's next request, audit
//! query, key rotation), and the CLI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use crate::commun::api::{
    partenaires, CibleDemande, DefinitionPartenaire, DemandeRotation, MandatDemande, NouveauPartenaire, ServiceError,
};
use crate::commun::*;
use actix_web::http::Method;
use actix_web::test;
use chrono::{Duration, NaiveDateTime};
use onde_domain::TypePartenaire;
use onde_store::testing::BaseDeTest;
use serde_json::{json, Value};

mod http;
mod service;

fn t(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

/// Whole seconds: PostgreSQL keeps microseconds, SQLite everything; comparisons stay exact.
fn t0() -> NaiveDateTime {
    t("2026-03-01 10:00:00")
}

fn mairie(nom: &str, communes: &[&str]) -> NouveauPartenaire {
    NouveauPartenaire {
        nom: nom.into(),
        type_partenaire: "mairie".into(),
        scopes: vec!["ecoles:read".into(), "inscriptions:read".into()],
        communes: communes.iter().map(|c| (*c).to_owned()).collect(),
        uais: Vec::new(),
        mandats: Vec::new(),
        actif: true,
    }
}

/// The (pointer, code) of each violation of a refused definition.
fn violations<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> Vec<(String, String)> {
    match r {
        Err(ServiceError::NonConforme(v)) | Err(ServiceError::CorpsIllisible(v)) => {
            v.into_iter().map(|v| (v.pointer.unwrap_or_default(), v.code)).collect()
        }
        autre => panic!("définition refusée attendue : {autre:?}"),
    }
}

fn code_conflit<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> &'static str {
    match r {
        Err(ServiceError::Conflit { code, .. }) => code,
        autre => panic!("409 attendu : {autre:?}"),
    }
}

fn introuvable<T: std::fmt::Debug>(r: Result<T, ServiceError>) {
    assert!(
        matches!(r, Err(ServiceError::Introuvable { .. })),
        "404 attendu : {r:?}"
    );
}

fn client(base: &BaseDeTest, client_id: &str) -> onde_store::partenaires::Client {
    onde_store::partenaires::client(&mut base.store.connexion().unwrap(), client_id)
        .unwrap()
        .unwrap()
}

/// A body sent as-is with the given content type (`None`: no Content-Type header).
fn brute(methode: Method, uri: &str, jeton: &str, type_contenu: Option<&str>, corps: &str) -> actix_http::Request {
    let mut req = test::TestRequest::default()
        .method(methode)
        .uri(uri)
        .insert_header(("Authorization", format!("Bearer {jeton}")))
        .set_payload(corps.to_owned());
    if let Some(tc) = type_contenu {
        req = req.insert_header(("Content-Type", tc));
    }
    req.to_request()
}

/// The `kid` of a JWT's header (base64url, decoded by hand: no base64 crate here).
fn kid(jeton: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let entete = jeton.split('.').next().unwrap();
    let mut bits = 0u32;
    let mut n = 0;
    let mut octets = Vec::new();
    for c in entete.bytes() {
        bits = (bits << 6) | ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            octets.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    let v: Value = serde_json::from_slice(&octets).unwrap();
    v["kid"].as_str().unwrap().to_owned()
}
