//! Attacks on tokens and on the token endpoint, each refused; rights resolved server-side at
//! every request (revocation, narrowed perimeter, withdrawn scope); mandate narrowing of an
//! editor; data profiles. On SQLite and PostgreSQL.
//!
//! Forged tokens are built by hand (header and payload base64url-encoded, signature computed
//! here), several of them with the gateway's own signing key read from the database, so that
//! each refusal can only come from the one property the forgery breaks. A control forgery
//! with nothing broken is accepted, which proves the forging itself is right.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use crate::commun::*;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{Signer, SigningKey};
use onde_domain::{CodeInsee, TypePartenaire};
use onde_store::testing::BaseDeTest;
use serde_json::{json, Value};

mod attaques;
mod cles;
mod droits;

/// The gateway's current signing key, read from the database.
fn cle_du_gateway(base: &BaseDeTest) -> (String, SigningKey) {
    let mut conn = base.store.connexion().unwrap();
    let cles = onde_store::cles::utiles(&mut conn, chrono::Utc::now().naive_utc()).unwrap();
    let cle = cles.into_iter().find(|c| c.retiree_le.is_none()).unwrap();
    assert_eq!(cle.algorithme, "EdDSA");
    // Sealed at rest: only the configured key-encryption key opens it.
    let der = chiffrement_essai().cle_privee(&cle.kid, &cle.cle_privee).unwrap();
    (cle.kid, SigningKey::from_pkcs8_der(&der).unwrap())
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

/// `header.payload.signature`, signed EdDSA with `cle`.
fn signer(entete: &Value, charge: &Value, cle: &SigningKey) -> String {
    let entree = format!("{}.{}", b64(entete), b64(charge));
    let signature = cle.sign(entree.as_bytes());
    format!("{entree}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

fn maintenant() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The claims the gateway would issue for this client.
fn revendications(id: &Identifiants, scope: &str) -> Value {
    let t = maintenant();
    json!({
        "iss": "onde-echanges",
        "aud": "onde-echanges-api",
        "sub": id.partenaire_id.to_string(),
        "client_id": id.client_id,
        "scope": scope,
        "iat": t,
        "nbf": t,
        "exp": t + 600,
        "jti": uuid::Uuid::now_v7().to_string(),
    })
}

fn avec(mut v: Value, cle: &str, valeur: Value) -> Value {
    v[cle] = valeur;
    v
}

fn sans(mut v: Value, cle: &str) -> Value {
    v.as_object_mut().unwrap().remove(cle);
    v
}

/// The payload of a token, decoded.
fn charge_de(jeton: &str) -> Value {
    let partie = jeton.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(partie).unwrap()).unwrap()
}

/// `jeton` with its payload replaced, header and signature kept.
fn remplacer_charge(jeton: &str, charge: &Value) -> String {
    let parties: Vec<&str> = jeton.split('.').collect();
    assert_eq!(parties.len(), 3);
    format!("{}.{}.{}", parties[0], b64(charge), parties[2])
}

fn assert_jeton_refuse(r: &Reponse, cas: &str) {
    assert_eq!(r.statut, 401, "{cas} : {}", r.texte);
    assert_probleme(r, 401, "authentification_requise");
    let defi = r.entete("www-authenticate").unwrap_or_default();
    assert!(
        defi.starts_with("Bearer") && defi.contains("error=\"invalid_token\""),
        "{cas} : WWW-Authenticate = {defi:?}"
    );
}

/// True when a JSON value holds the key anywhere.
fn contient_cle(v: &Value, cle: &str) -> bool {
    match v {
        Value::Object(o) => o.contains_key(cle) || o.values().any(|x| contient_cle(x, cle)),
        Value::Array(a) => a.iter().any(|x| contient_cle(x, cle)),
        _ => false,
    }
}

/// POST /oauth/token with a form; returns the raw response.
async fn demande_jeton<S, B>(app: &S, form: &[(&str, &str)]) -> Reponse
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let req = actix_web::test::TestRequest::post()
        .uri("/oauth/token")
        .set_form(form)
        .to_request();
    appeler(app, req).await
}

fn mairie(base: &BaseDeTest, communes: &[&str]) -> Identifiants {
    partenaire(
        base,
        TypePartenaire::Mairie,
        &TypePartenaire::Mairie.scopes_possibles().to_string(),
        communes,
        &[],
        &[],
    )
}

/// 401 either way (an unreadable scheme is "no valid token").
fn assert_jeton_refuse_ou_absent(r: &Reponse) {
    assert_probleme(r, 401, "authentification_requise");
    assert!(r.entete("www-authenticate").is_some_and(|d| d.starts_with("Bearer")));
}

/// The stored private half of key `kid`.
fn stockee(base: &BaseDeTest, kid: &str) -> String {
    let mut conn = base.store.connexion().unwrap();
    onde_store::cles::toutes(&mut conn)
        .unwrap()
        .into_iter()
        .find(|c| c.kid == kid)
        .unwrap()
        .cle_privee
}

/// Whether a stored value is a usable private key as it stands (what a stolen backup gives).
fn utilisable_en_l_etat(stockee: &str) -> bool {
    STANDARD
        .decode(stockee)
        .ok()
        .is_some_and(|der| SigningKey::from_pkcs8_der(&der).is_ok())
}
