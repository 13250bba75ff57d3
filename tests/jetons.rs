//! Attacks on tokens and on the token endpoint, each refused; rights resolved server-side at
//! every request (revocation, narrowed perimeter, withdrawn scope); mandate narrowing of an
//! editor; data profiles. On SQLite and PostgreSQL.
//!
//! Forged tokens are built by hand (header and payload base64url-encoded, signature computed
//! here), several of them with the gateway's own signing key read from the database, so that
//! each refusal can only come from the one property the forgery breaks. A control forgery
//! with nothing broken is accepted, which proves the forging itself is right.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod commun;

use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use commun::*;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{Signer, SigningKey};
use onde_domain::{CodeInsee, TypePartenaire};
use onde_store::testing::BaseDeTest;
use serde_json::{json, Value};

async fn app(
    etat: &onde_api::EtatApp,
) -> impl actix_web::dev::Service<
    actix_http::Request,
    Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
    Error = actix_web::Error,
> {
    actix_web::test::init_service(onde_api::app(etat.clone())).await
}

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

onde_store::tests_deux_backends! {
    fn jetons_forges_refuses(base) {
        seeder(base, 120);
        let r = reperes(base);
        let (a, c) = (r[0].clone(), r[2].clone());
        let etat = etat(base);
        let (kid, cle) = cle_du_gateway(base);
        let id = mairie(base, &[&a.commune]);
        let autre = mairie(base, &[&c.commune]);
        let scopes = TypePartenaire::Mairie.scopes_possibles().to_string();
        let entete = json!({"alg": "EdDSA", "typ": "JWT", "kid": kid});
        let bonnes = revendications(&id, &scopes);
        let uri = format!("/v1/inscriptions/{}", a.inscription);
        executer(async {
            let app = app(&etat).await;

            // Control: the forging is right, the gateway accepts a well-formed token.
            let temoin = signer(&entete, &bonnes, &cle);
            let ok = get(&app, &temoin, &uri).await;
            assert_eq!(ok.statut, 200, "{}", ok.texte);

            let t = maintenant();
            let cle_inconnue = SigningKey::from_bytes(&[7u8; 32]);
            let publique = cle.verifying_key().to_bytes();
            let hs256 = |secret: &[u8]| {
                let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
                h.kid = Some(kid.clone());
                jsonwebtoken::encode(&h, &bonnes, &jsonwebtoken::EncodingKey::from_secret(secret)).unwrap()
            };
            let reel = jeton(&app, &id).await;
            let reel_ecoles = demander_jeton(&app, &id, Some("ecoles:read")).await.map_err(|r| r.texte).unwrap();
            let jwk_x = etat.trousseau.jwks().keys.into_iter().find(|k| k.kid == kid).unwrap().x;
            let attaques: Vec<(&str, String)> = vec![
                (
                    "alg none",
                    format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT", "kid": kid})), b64(&bonnes)),
                ),
                (
                    "alg none, signature d'origine",
                    format!(
                        "{}.{}",
                        b64(&json!({"alg": "none", "typ": "JWT", "kid": kid})),
                        temoin.split_once('.').unwrap().1
                    ),
                ),
                ("HS256 signé avec la clé publique (octets)", hs256(&publique)),
                ("HS256 signé avec la clé publique (JWK x)", hs256(jwk_x.as_bytes())),
                (
                    "expiré",
                    signer(&entete, &avec(avec(avec(bonnes.clone(), "exp", json!(t - 60)), "iat", json!(t - 660)), "nbf", json!(t - 660)), &cle),
                ),
                ("nbf dans le futur", signer(&entete, &avec(bonnes.clone(), "nbf", json!(t + 120)), &cle)),
                ("mauvaise audience", signer(&entete, &avec(bonnes.clone(), "aud", json!("autre-api")), &cle)),
                ("mauvais émetteur", signer(&entete, &avec(bonnes.clone(), "iss", json!("https://attaquant.example")), &cle)),
                ("sans exp", signer(&entete, &sans(bonnes.clone(), "exp"), &cle)),
                ("sans aud", signer(&entete, &sans(bonnes.clone(), "aud"), &cle)),
                (
                    "kid inconnu",
                    signer(&json!({"alg": "EdDSA", "typ": "JWT", "kid": "kid-inconnu"}), &bonnes, &cle_inconnue),
                ),
                ("sans kid", signer(&json!({"alg": "EdDSA", "typ": "JWT"}), &bonnes, &cle)),
                ("autre clé sous le kid du gateway", signer(&entete, &bonnes, &cle_inconnue)),
                (
                    "charge altérée (sub d'un autre partenaire)",
                    remplacer_charge(&reel, &avec(charge_de(&reel), "sub", json!(autre.partenaire_id.to_string()))),
                ),
                (
                    "charge altérée (client d'un autre partenaire)",
                    remplacer_charge(&reel, &avec(charge_de(&reel), "client_id", json!(autre.client_id))),
                ),
                (
                    "charge altérée (exp prolongé)",
                    remplacer_charge(&reel, &avec(charge_de(&reel), "exp", json!(t + 86_400))),
                ),
                (
                    "scope ajouté sans re-signer",
                    remplacer_charge(&reel_ecoles, &avec(charge_de(&reel_ecoles), "scope", json!("ecoles:read inscriptions:read"))),
                ),
                ("signature tronquée", reel[..reel.len() - 4].to_owned()),
                ("pas un JWT", "pas-un-jwt".to_owned()),
            ];
            let mut refusees = Vec::new();
            for (cas, jeton) in &attaques {
                let r = get(&app, jeton, &uri).await;
                assert_jeton_refuse(&r, cas);
                refusees.push(r.entete("x-request-id").unwrap().to_owned());
            }
            // The token whose scope was widened is genuine with its own scope only.
            assert_eq!(get(&app, &reel_ecoles, "/v1/ecoles").await.statut, 200);
            assert_probleme(&get(&app, &reel_ecoles, &uri).await, 403, "insufficient_scope");
            // Another scheme than Bearer, and the access token sent as Basic credentials.
            let req = actix_web::test::TestRequest::get()
                .uri(&uri)
                .insert_header(("Authorization", format!("Basic {}", STANDARD.encode(format!("{}:{}", id.client_id, id.secret)))))
                .to_request();
            assert_jeton_refuse_ou_absent(&appeler(&app, req).await);

            // No refused request left a trace in the audit trail; the control did.
            let piste = piste_audit(&etat);
            assert!(piste.iter().all(|e| !refusees.contains(&e.id_requete)), "{piste:?}");
            assert_eq!(piste.len(), 1, "{piste:?}");
            assert_eq!(piste[0].id_requete, ok.entete("x-request-id").unwrap());
        });
    }

    fn client_revoque(base) {
        seeder(base, 60);
        let a = reperes(base)[0].clone();
        let etat = etat(base);
        let id = mairie(base, &[&a.commune]);
        executer(async {
            let app = app(&etat).await;
            let j = jeton(&app, &id).await;
            let uri = format!("/v1/inscriptions/{}", a.inscription);
            assert_eq!(get(&app, &j, &uri).await.statut, 200);
            let maintenant = chrono::Utc::now().naive_utc();
            assert!(onde_store::partenaires::revoquer(&mut base.store.connexion().unwrap(), id.partenaire_id, maintenant).unwrap());
            // The still-valid token stops working at the next request, on every operation.
            assert_jeton_refuse(&get(&app, &j, &uri).await, "jeton d'un client révoqué");
            assert_jeton_refuse(&get(&app, &j, "/v1/ecoles").await, "jeton d'un client révoqué");
            // And no new token is issued.
            let r = demander_jeton(&app, &id, None).await.unwrap_err();
            assert_eq!(r.statut, 401, "{}", r.texte);
            assert_eq!(r.corps["error"], "invalid_client");
        });
    }

    fn demandes_de_jeton_refusees(base) {
        let etat = etat(base);
        let id = mairie(base, &["15158"]);
        let admin = partenaire(base, TypePartenaire::Admin, "ecoles:read admin", &[], &[], &[]);
        executer(async {
            let app = app(&etat).await;
            // Granted: what is asked, when held.
            let r = demande_jeton(&app, &[
                ("grant_type", "client_credentials"), ("client_id", &id.client_id),
                ("client_secret", &id.secret), ("scope", "ecoles:read"),
            ]).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.corps["token_type"], "Bearer");
            assert_eq!(r.corps["scope"], "ecoles:read");
            assert_eq!(r.corps["expires_in"], 600);
            assert_eq!(charge_de(r.corps["access_token"].as_str().unwrap())["scope"], "ecoles:read");

            // Scopes the partner does not hold: refused, not silently reduced.
            for (qui, demande) in [
                (&id, "eleves:write"),
                (&id, "admin"),
                (&id, "ecoles:read admin"),
                (&id, "inscriptions:read eleves:write"),
                (&id, "toto"),
                (&admin, "eleves:read"),
                (&admin, "inscriptions:read"),
            ] {
                let r = demander_jeton(&app, qui, Some(demande)).await.unwrap_err();
                assert_eq!(r.statut, 400, "{demande} : {}", r.texte);
                assert_eq!(r.corps["error"], "invalid_scope", "{demande}");
                assert!(r.corps.get("access_token").is_none());
            }

            // Wrong secret and unknown client: the same answer...
            let faux = demande_jeton(&app, &[
                ("grant_type", "client_credentials"), ("client_id", &id.client_id), ("client_secret", "mauvais-secret"),
            ]).await;
            let inconnu = demande_jeton(&app, &[
                ("grant_type", "client_credentials"), ("client_id", "onde_inconnuXXXXXXXXX"), ("client_secret", "mauvais-secret"),
            ]).await;
            for r in [&faux, &inconnu] {
                assert_eq!(r.statut, 401, "{}", r.texte);
                assert_eq!(r.corps["error"], "invalid_client");
                assert!(r.entete("www-authenticate").is_some());
            }
            assert_eq!(faux.corps, inconnu.corps);
            assert_eq!(faux.entete("www-authenticate"), inconnu.entete("www-authenticate"));
            // ... also through HTTP Basic.
            let basic = |client: &str| {
                actix_web::test::TestRequest::post()
                    .uri("/oauth/token")
                    .insert_header(("Authorization", format!("Basic {}", STANDARD.encode(format!("{client}:mauvais")))))
                    .set_form([("grant_type", "client_credentials")])
                    .to_request()
            };
            let faux_basic = appeler(&app, basic(&id.client_id)).await;
            let inconnu_basic = appeler(&app, basic("onde_inconnuXXXXXXXXX")).await;
            assert_eq!(faux_basic.statut, 401);
            assert_eq!(faux_basic.corps, inconnu_basic.corps);
            assert_eq!(faux_basic.entete("www-authenticate"), inconnu_basic.entete("www-authenticate"));

            // ... in comparable time: the gateway spends one argon2 verification on an unknown
            // client too. Interleaved, so that load on the machine hits both series alike.
            let mut durees_faux = Vec::new();
            let mut durees_inconnu = Vec::new();
            for _ in 0..5 {
                for (client, durees) in [(&id.client_id, &mut durees_faux), (&"onde_inconnuXXXXXXXXX".to_owned(), &mut durees_inconnu)] {
                    let debut = Instant::now();
                    let r = demande_jeton(&app, &[
                        ("grant_type", "client_credentials"), ("client_id", client), ("client_secret", "mauvais-secret"),
                    ]).await;
                    durees.push(debut.elapsed());
                    assert_eq!(r.statut, 401);
                }
            }
            let mediane = |mut d: Vec<Duration>| { d.sort(); d[d.len() / 2] };
            let (f, i) = (mediane(durees_faux), mediane(durees_inconnu));
            assert!(
                f < i * 3 && i < f * 3,
                "secret faux : {f:?}, client inconnu : {i:?} — le temps de réponse révèle quels clients existent"
            );
        });
    }

    fn droits_relus_a_chaque_requete(base) {
        seeder(base, 120);
        let r = reperes(base);
        let (a, c) = (r[0].clone(), r[2].clone());
        let etat = etat(base);
        let id = mairie(base, &[&a.commune, &c.commune]);
        executer(async {
            let app = app(&etat).await;
            let j = jeton(&app, &id).await;
            let uri_c = format!("/v1/inscriptions/{}", c.inscription);
            let uri_a = format!("/v1/inscriptions/{}", a.inscription);
            assert_eq!(get(&app, &j, &uri_c).await.statut, 200);
            assert_eq!(get(&app, &j, &format!("/v1/eleves/{}", c.ine)).await.statut, 200);
            let avant = get(&app, &j, "/v1/inscriptions?limit=1000").await;
            assert!(avant.corps["elements"].as_array().unwrap().iter().any(|i| i["uai"] == c.uai.as_str()));

            // The admin narrows the perimeter to commune A: the same token sees it at once.
            let mut conn = base.store.connexion().unwrap();
            let mut p = onde_store::partenaires::trouver(&mut conn, id.partenaire_id).unwrap().unwrap().partenaire;
            p.communes = [CodeInsee::parse(&a.commune).unwrap()].into();
            assert!(onde_store::partenaires::remplacer(&mut conn, &p, chrono::Utc::now().naive_utc()).unwrap());
            assert_probleme(&get(&app, &j, &uri_c).await, 404, "ressource_introuvable");
            assert_probleme(&get(&app, &j, &format!("/v1/eleves/{}", c.ine)).await, 404, "ressource_introuvable");
            assert_probleme(&get(&app, &j, &format!("/v1/ecoles/{}", c.uai)).await, 404, "ressource_introuvable");
            let apres = get(&app, &j, "/v1/inscriptions?limit=1000").await;
            let elements = apres.corps["elements"].as_array().unwrap();
            assert!(!elements.is_empty());
            assert!(elements.iter().all(|i| i["uai"] != c.uai.as_str()));
            assert_eq!(get(&app, &j, &uri_a).await.statut, 200);

            // A scope withdrawn from the partner stops working with the token that carries it.
            p.scopes = onde_domain::Scopes::parse_liste("ecoles:read eleves:read").unwrap();
            assert!(onde_store::partenaires::remplacer(&mut conn, &p, chrono::Utc::now().naive_utc()).unwrap());
            assert_probleme(&get(&app, &j, &uri_a).await, 403, "insufficient_scope");
            assert_eq!(get(&app, &j, &format!("/v1/eleves/{}", a.ine)).await.statut, 200);

            // Suspended (not revoked): refused at the next request, back when reactivated.
            p.actif = false;
            assert!(onde_store::partenaires::remplacer(&mut conn, &p, chrono::Utc::now().naive_utc()).unwrap());
            assert_jeton_refuse(&get(&app, &j, &format!("/v1/eleves/{}", a.ine)).await, "partenaire suspendu");
            assert_eq!(demander_jeton(&app, &id, None).await.unwrap_err().corps["error"], "invalid_client");
            p.actif = true;
            assert!(onde_store::partenaires::remplacer(&mut conn, &p, chrono::Utc::now().naive_utc()).unwrap());
            assert_eq!(get(&app, &j, &format!("/v1/eleves/{}", a.ine)).await.statut, 200);
        });
    }

    fn droits_changes_par_l_api_d_administration(base) {
        seeder(base, 120);
        let r = reperes(base);
        let (a, c) = (r[0].clone(), r[2].clone());
        let etat = etat(base);
        let id = mairie(base, &[&a.commune, &c.commune]);
        let admin = partenaire(base, TypePartenaire::Admin, "ecoles:read admin", &[], &[], &[]);
        executer(async {
            let app = app(&etat).await;
            let j = jeton(&app, &id).await;
            let ja = jeton(&app, &admin).await;
            let fiche = format!("/v1/admin/partenaires/{}", id.partenaire_id);
            let uri_c = format!("/v1/inscriptions/{}", c.inscription);
            let uri_a = format!("/v1/inscriptions/{}", a.inscription);
            assert_eq!(get(&app, &j, &uri_c).await.statut, 200);

            // Narrowed through the admin API: the same token sees it at the next request.
            let corps = json!({"communes": [a.commune]});
            let r = requete(&app, actix_web::http::Method::PATCH, &fiche, &ja, &[], Some(&corps)).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_probleme(&get(&app, &j, &uri_c).await, 404, "ressource_introuvable");
            assert_probleme(&get(&app, &j, &format!("/v1/eleves/{}", c.ine)).await, 404, "ressource_introuvable");
            assert_eq!(get(&app, &j, &uri_a).await.statut, 200);

            // Revoked through the admin API: the token is refused at the next request.
            let r = requete(&app, actix_web::http::Method::POST, &format!("{fiche}/revocation"), &ja, &[], None).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_jeton_refuse(&get(&app, &j, &uri_a).await, "jeton d'un partenaire révoqué par l'API");
            assert_eq!(demander_jeton(&app, &id, None).await.unwrap_err().corps["error"], "invalid_client");
        });
    }

    fn mandats_d_un_editeur(base) {
        seeder(base, 300);
        let r = reperes(base);
        let (a, b, c) = (r[0].clone(), r[1].clone(), r[2].clone());
        let etat = etat(base);
        let editeur = partenaire(
            base,
            TypePartenaire::Editeur,
            &TypePartenaire::Editeur.scopes_possibles().to_string(),
            &[],
            &[],
            &[&a.commune, &b.uai],
        );
        let ecoles_a: Vec<String> = toutes_les_ecoles(base)
            .into_iter()
            .filter(|e| e.commune.as_str() == a.commune)
            .map(|e| e.uai.as_str().to_owned())
            .collect();
        let id_mairie = mairie(base, &[&a.commune]);
        executer(async {
            let app = app(&etat).await;
            let j = jeton(&app, &editeur).await;
            let uais = |r: &Reponse| -> Vec<String> {
                assert_eq!(r.statut, 200, "{}", r.texte);
                r.corps["elements"].as_array().unwrap().iter().map(|i| i["uai"].as_str().unwrap().to_owned()).collect()
            };
            let eleve = |ine: &str| format!("/v1/eleves/{ine}");

            // Without narrowing: the union of the mandates, the fields every principal may read.
            let tout = uais(&get(&app, &j, "/v1/inscriptions?limit=1000").await);
            assert!(tout.iter().any(|u| u == &b.uai) && tout.iter().any(|u| ecoles_a.contains(u)));
            assert!(tout.iter().all(|u| u == &b.uai || ecoles_a.contains(u)));
            let r = get(&app, &j, &eleve(&a.ine)).await;
            assert_eq!(r.statut, 200);
            assert!(!contient_cle(&r.corps, "lieu_naissance"), "{}", r.texte);

            // Narrowed to the commune mandate: its rows only, a mairie's profile.
            let m = [("Onde-Mandat", a.commune.as_str())];
            let rows = uais(&get_avec(&app, &j, "/v1/inscriptions?limit=1000", &m).await);
            assert!(!rows.is_empty() && rows.iter().all(|u| ecoles_a.contains(u)), "{rows:?}");
            let rows = uais(&get_avec(&app, &j, &format!("/v1/inscriptions?uai={}&limit=1000", b.uai), &m).await);
            assert!(rows.is_empty(), "a filter does not reach outside the mandate");
            let r = get_avec(&app, &j, &eleve(&a.ine), &m).await;
            assert_eq!(r.statut, 200);
            assert!(!contient_cle(&r.corps, "lieu_naissance"), "{}", r.texte);
            assert_eq!(get_avec(&app, &j, &eleve(&b.ine), &m).await.statut, 404);
            assert_eq!(get_avec(&app, &j, &format!("/v1/ecoles/{}", b.uai), &m).await.statut, 404);

            // Narrowed to the school mandate: that school only, a school's profile.
            let m = [("Onde-Mandat", b.uai.as_str())];
            let rows = uais(&get_avec(&app, &j, "/v1/inscriptions?limit=1000", &m).await);
            assert!(!rows.is_empty() && rows.iter().all(|u| u == &b.uai), "{rows:?}");
            let r = get_avec(&app, &j, &eleve(&b.ine), &m).await;
            assert_eq!(r.statut, 200);
            assert!(r.corps["lieu_naissance"].is_string(), "{}", r.texte);
            assert_eq!(get_avec(&app, &j, &eleve(&a.ine), &m).await.statut, 404);

            // A mandate it does not hold: refused, whatever the operation.
            for (mandat, uri) in [
                (c.commune.as_str(), "/v1/inscriptions".to_owned()),
                (c.uai.as_str(), "/v1/ecoles".to_owned()),
                (c.commune.as_str(), eleve(&c.ine)),
                (a.uai.as_str(), "/v1/inscriptions".to_owned()),
            ] {
                let r = get_avec(&app, &j, &uri, &[("Onde-Mandat", mandat)]).await;
                assert_probleme(&r, 403, "mandat_non_detenu");
            }
            assert_probleme(&get_avec(&app, &j, "/v1/inscriptions", &[("Onde-Mandat", "n'importe quoi")]).await, 400, "parametre_invalide");
            // A mairie holds no mandate: it cannot "narrow" to someone else's, nor to its own.
            let jm = jeton(&app, &id_mairie).await;
            for mandat in [c.commune.as_str(), a.commune.as_str()] {
                let r = get_avec(&app, &jm, "/v1/inscriptions", &[("Onde-Mandat", mandat)]).await;
                assert_probleme(&r, 403, "mandat_non_detenu");
            }
        });
    }

    fn profils_de_donnees(base) {
        seeder(base, 120);
        let a = reperes(base)[0].clone();
        let etat = etat(base);
        let id_mairie = mairie(base, &[&a.commune]);
        let ecole = partenaire(
            base,
            TypePartenaire::EcolePrivee,
            &TypePartenaire::EcolePrivee.scopes_possibles().to_string(),
            &[],
            &[&a.uai],
            &[],
        );
        let admin = partenaire(base, TypePartenaire::Admin, "ecoles:read admin", &[], &[], &[]);
        executer(async {
            let app = app(&etat).await;
            let jm = jeton(&app, &id_mairie).await;
            let je = jeton(&app, &ecole).await;
            // A mairie never receives the place of birth: not in lists, not in any pupil.
            let liste = get(&app, &jm, "/v1/inscriptions?limit=1000").await;
            assert_eq!(liste.statut, 200);
            assert!(!contient_cle(&liste.corps, "lieu_naissance"));
            let ines: Vec<String> = liste.corps["elements"].as_array().unwrap().iter()
                .filter_map(|i| i["eleve"]["ine"].as_str().map(str::to_owned))
                .take(25)
                .collect();
            assert!(ines.len() >= 10);
            let mut vus_par_l_ecole = 0;
            for ine in &ines {
                let r = get(&app, &jm, &format!("/v1/eleves/{ine}")).await;
                assert_eq!(r.statut, 200, "{}", r.texte);
                assert!(!contient_cle(&r.corps, "lieu_naissance"), "{}", r.texte);
                assert!(r.corps["nom"].is_string() && r.corps["responsables"].is_array());
                // Control: the field exists, and a school's profile receives it.
                let r = get(&app, &je, &format!("/v1/eleves/{ine}")).await;
                if r.statut == 200 {
                    assert!(r.corps["lieu_naissance"].is_string(), "{}", r.texte);
                    vus_par_l_ecole += 1;
                }
            }
            assert!(vus_par_l_ecole > 0);

            // The operations team reads no pupil: its token cannot carry the scopes...
            let ja = jeton(&app, &admin).await;
            assert_eq!(get(&app, &ja, "/v1/ecoles").await.statut, 200);
            for uri in [format!("/v1/eleves/{}", a.ine), format!("/v1/inscriptions/{}", a.inscription), "/v1/inscriptions".into()] {
                assert_probleme(&get(&app, &ja, &uri).await, 403, "insufficient_scope");
            }
            // ... and a genuinely signed token claiming them is refused as well.
            let forge = etat.trousseau
                .emettre(&admin.partenaire_id.to_string(), &admin.client_id, "ecoles:read eleves:read inscriptions:read admin")
                .unwrap();
            for uri in [format!("/v1/eleves/{}", a.ine), format!("/v1/inscriptions/{}", a.inscription), "/v1/inscriptions".into()] {
                assert_probleme(&get(&app, &forge, &uri).await, 403, "insufficient_scope");
            }
        });
    }

    fn flux_suit_les_scopes_courants_du_partenaire(base) {
        // Issue 16, item 4: the change feed filters its resource types by the partner's
        // current scopes, not by the token's.
        seeder(base, 120);
        let r = reperes(base);
        let a = r[0].clone();
        let etat = etat(base);
        let id = partenaire(
            base,
            TypePartenaire::Mairie,
            "ecoles:read eleves:read inscriptions:read",
            &[&a.commune],
            &[],
            &[],
        );
        executer(async {
            let app = app(&etat).await;
            let j = jeton(&app, &id).await;
            let depart = get(&app, &j, "/v1/changements").await;
            assert_eq!(depart.statut, 200, "{}", depart.texte);
            let curseur = depart.corps["curseur_suivant"].as_str().unwrap().to_owned();
            // Every pupil renamed, every guardian's phone changed, every inscription's class.
            let mut conn = base.store.connexion().unwrap();
            for sql in [
                "UPDATE eleves SET nom = 'Renommé'",
                "UPDATE responsables SET telephone = '0611223344'",
                "UPDATE inscriptions SET classe = 'B'",
            ] {
                diesel::RunQueryDsl::execute(diesel::sql_query(sql), &mut conn).unwrap();
            }
            // Every event from the cursor on, following pages until the feed is up to date
            // (events of transactions still settling may be held back a moment).
            let lire_tout = |j: String, curseur: String| {
                let app = &app;
                async move {
                    let mut vus = std::collections::BTreeSet::new();
                    let mut texte = String::new();
                    let mut curseur = curseur;
                    for _ in 0..200 {
                        let page = get(app, &j, &format!("/v1/changements?depuis={curseur}&limit=1000")).await;
                        assert_eq!(page.statut, 200, "{}", page.texte);
                        for e in page.corps["elements"].as_array().unwrap() {
                            vus.insert(e["ressource"].as_str().unwrap().to_owned());
                        }
                        texte.push_str(&page.texte);
                        curseur = page.corps["curseur_suivant"].as_str().unwrap().to_owned();
                        if page.corps["a_jour"] == true {
                            return (vus, texte);
                        }
                        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
                    }
                    panic!("flux jamais à jour");
                }
            };
            let (vus, _) = lire_tout(j.clone(), curseur.clone()).await;
            assert!(vus.contains("eleve") && vus.contains("responsable") && vus.contains("inscription"), "{vus:?}");

            // The admin withdraws eleves:read; the token, still valid, carries it.
            let mut p = onde_store::partenaires::trouver(&mut conn, id.partenaire_id).unwrap().unwrap().partenaire;
            p.scopes = onde_domain::Scopes::parse_liste("ecoles:read inscriptions:read").unwrap();
            assert!(onde_store::partenaires::remplacer(&mut conn, &p, chrono::Utc::now().naive_utc()).unwrap());
            assert!(charge_de(&j)["scope"].as_str().unwrap().contains("eleves:read"));
            let (vus, texte) = lire_tout(j.clone(), curseur.clone()).await;
            assert!(vus.contains("inscription"), "{vus:?}");
            assert!(!vus.contains("eleve") && !vus.contains("responsable"), "{vus:?}");
            assert!(!texte.contains("0611223344"), "pas de téléphone de responsable");
            // The pupil operations themselves are refused with the same token.
            assert_probleme(&get(&app, &j, &format!("/v1/eleves/{}", a.ine)).await, 403, "insufficient_scope");
        });
    }
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

onde_store::tests_deux_backends! {
    fn cles_de_signature_chiffrees_au_repos(base) {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        use onde_service::chiffrement::{Chiffrement, CleChiffrement};
        use onde_api::auth::jeton::{ConfigJetons, Trousseau};
        let config = |c: &Chiffrement| ConfigJetons::default().avec_chiffrement(c.clone());
        let mut conn = base.store.connexion().unwrap();

        // A base from an earlier version: its signing key stored in clear (base64 PKCS#8).
        let mut graine = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut graine);
        let ancienne = SigningKey::from_bytes(&graine);
        let en_clair = STANDARD.encode(ancienne.to_pkcs8_der().unwrap().as_bytes());
        let kid = "ancienne-en-clair".to_owned();
        onde_store::cles::creer_si_aucune(&mut conn, &onde_store::cles::CleSignature {
            kid: kid.clone(),
            algorithme: "EdDSA".into(),
            cle_privee: en_clair.clone(),
            cle_publique: URL_SAFE_NO_PAD.encode(ancienne.verifying_key().to_bytes()),
            cree_le: chrono::Utc::now().naive_utc(),
            retiree_le: None,
        })
        .unwrap();
        assert!(utilisable_en_l_etat(&stockee(base, &kid)), "témoin : la clé en clair signe telle quelle");

        // First start with a key-encryption key: the clear key is sealed, and still signs.
        let (k1, _) = CleChiffrement::generer();
        let c1 = Chiffrement::new(k1.clone(), vec![]);
        let t1 = Trousseau::ouvrir(&mut conn, config(&c1)).unwrap();
        let ligne = stockee(base, &kid);
        assert!(ligne.starts_with(&format!("kek1:{}:", k1.id())), "{ligne}");
        assert!(!ligne.contains(&en_clair) && !utilisable_en_l_etat(&ligne), "plus rien en clair dans la base");
        let avant_rotation = t1.emettre("p", "client", "eleves:read").unwrap();
        assert_eq!(t1.verifier(&avant_rotation).unwrap().client_id, "client");

        // The rows alone (a replica, a backup) with any other key-encryption key: no signing,
        // the start fails closed and says which key is missing.
        let (autre, _) = CleChiffrement::generer();
        let e = Trousseau::ouvrir(&mut conn, config(&Chiffrement::new(autre, vec![])))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains(&kid) && e.contains(k1.id()) && e.contains("n'est pas configurée"), "{e}");

        // A new key signs from now on, sealed too.
        let nouveau_kid = onde_service::cles::tourner_cles(&mut conn, &c1).unwrap().kid;
        assert!(stockee(base, &nouveau_kid).starts_with(&format!("kek1:{}:", k1.id())));
        assert!(!utilisable_en_l_etat(&stockee(base, &nouveau_kid)));
        t1.recharger(&mut conn).unwrap();
        let avec_la_nouvelle = t1.emettre("p", "client", "eleves:read").unwrap();

        // Rotation of the key-encryption key: k2 seals, k1 still opens until `rechiffrer`.
        let (k2, _) = CleChiffrement::generer();
        let c2 = Chiffrement::new(k2.clone(), vec![k1.clone()]);
        Trousseau::ouvrir(&mut conn, config(&c2)).unwrap();
        let bilan = onde_service::cles::rechiffrer(&mut conn, &c2).unwrap();
        assert_eq!((bilan.rechiffrees, bilan.a_jour), (2, 0));
        assert_eq!(onde_service::cles::rechiffrer(&mut conn, &c2).unwrap().rechiffrees, 0, "idempotent");
        for c in onde_store::cles::toutes(&mut conn).unwrap() {
            assert!(c.cle_privee.starts_with(&format!("kek1:{}:", k2.id())), "{}", c.kid);
        }
        // k1 dropped from the configuration: tokens issued before still verify, new ones are
        // signed by the current key.
        let c2_seule = Chiffrement::new(k2.clone(), vec![]);
        let t2 = Trousseau::ouvrir(&mut conn, config(&c2_seule)).unwrap();
        assert!(t2.verifier(&avant_rotation).is_ok());
        assert!(t2.verifier(&avec_la_nouvelle).is_ok());
        let apres = t2.emettre("p", "client", "eleves:read").unwrap();
        assert_eq!(jsonwebtoken::decode_header(&apres).unwrap().kid.as_deref(), Some(nouveau_kid.as_str()));
        assert!(t2.verifier(&apres).is_ok() && t1.verifier(&apres).is_ok());
        // The old key-encryption key alone opens nothing any more.
        let e = Trousseau::ouvrir(&mut conn, config(&c1)).err().unwrap().to_string();
        assert!(e.contains(k2.id()), "{e}");

        // A sealed key copied onto another key's row does not open (its kid is bound in).
        let scellee = stockee(base, &kid);
        assert!(onde_store::cles::remplacer_cle_privee(&mut conn, &nouveau_kid, &stockee(base, &nouveau_kid), &scellee).unwrap());
        let e = Trousseau::ouvrir(&mut conn, config(&c2_seule)).err().unwrap().to_string();
        assert!(e.contains("altérée"), "{e}");
    }
}

/// Every size a token request carries is bounded: an oversized form, an overlong field, an
/// overlong secret in HTTP Basic get 400 `invalid_request` (the form is not read past 4 KiB).
#[test]
fn demande_de_jeton_bornee() {
    let base = BaseDeTest::sqlite();
    let id = mairie(&base, &[]);
    let etat = etat(&base);
    executer(async {
        let app = app(&etat).await;
        let long = "x".repeat(10_000);
        let id_long = "x".repeat(101);
        let secret_long = "s".repeat(201);
        for form in [
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", id.client_id.as_str()),
                ("client_secret", long.as_str()),
            ],
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", id_long.as_str()),
                ("client_secret", "x"),
            ],
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", id.client_id.as_str()),
                ("client_secret", secret_long.as_str()),
            ],
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", id.client_id.as_str()),
                ("client_secret", id.secret.as_str()),
                ("scope", long.as_str()),
            ],
        ] {
            let r = demande_jeton(&app, &form).await;
            assert_eq!(r.statut, 400, "{}", r.texte);
            assert_eq!(r.corps["error"], "invalid_request", "{}", r.texte);
        }
        let basic = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{}:{secret_long}", id.client_id),
        );
        let req = actix_web::test::TestRequest::post()
            .uri("/oauth/token")
            .insert_header(("Authorization", format!("Basic {basic}")))
            .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
            .set_payload("grant_type=client_credentials")
            .to_request();
        let r = appeler(&app, req).await;
        assert_eq!(
            (r.statut.as_u16(), r.corps["error"].as_str()),
            (400, Some("invalid_request")),
            "{}",
            r.texte
        );
        // Within the bounds, the same client still gets its token.
        let r = demande_jeton(
            &app,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", id.client_id.as_str()),
                ("client_secret", id.secret.as_str()),
            ],
        )
        .await;
        assert_eq!(r.statut, 200, "{}", r.texte);
    });
}
