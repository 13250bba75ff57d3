//! Test partners created directly in the store, and their tokens.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test;
use onde_domain::{CibleMandat, CodeInsee, Mandat, Partenaire, Scopes, TypePartenaire, Uai};
use onde_store::testing::BaseDeTest;
use uuid::Uuid;

use super::{api, appeler, Reponse};

/// Credentials of a partner created directly in the store.
#[derive(Debug, Clone)]
pub struct Identifiants {
    pub partenaire_id: Uuid,
    pub client_id: String,
    pub secret: String,
}

/// argon2id hash of a test client's secret at the lowest cost argon2 accepts (8 KiB, one pass,
/// one lane). The gateway verifies it with its own code, which reads the parameters from the
/// PHC string as it does for any stored hash, in microseconds instead of the production cost's
/// tens of milliseconds: the suite requests hundreds of tokens, and argon2 at the production
/// cost was the largest share of its CPU. The production cost is checked where it matters:
/// `onde-service`'s own tests (the hashes it makes), the comparison of a wrong secret's
/// verification time with an unknown client's ([`partenaire_au_cout_reel`]), and every partner
/// created through the admin API or the CLI.
fn hacher_leger(secret: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let params = argon2::Params::new(argon2::Params::MIN_M_COST, 1, 1, None).unwrap();
    let sel = SaltString::encode_b64(Uuid::now_v7().as_bytes()).unwrap();
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(secret.as_bytes(), &sel)
        .unwrap()
        .to_string()
}

/// Creates a partner (checked by the domain) with one client, its secret hashed at the lowest
/// cost ([`hacher_leger`]).
pub fn partenaire(
    base: &BaseDeTest,
    type_partenaire: TypePartenaire,
    scopes: &str,
    communes: &[&str],
    uais: &[&str],
    mandats: &[&str],
) -> Identifiants {
    creer_en_base(base, type_partenaire, scopes, communes, uais, mandats, hacher_leger)
}

/// [`partenaire`], its secret hashed as the gateway hashes new secrets (production cost), for
/// the tests that compare verification times.
pub fn partenaire_au_cout_reel(
    base: &BaseDeTest,
    type_partenaire: TypePartenaire,
    scopes: &str,
    communes: &[&str],
    uais: &[&str],
    mandats: &[&str],
) -> Identifiants {
    creer_en_base(base, type_partenaire, scopes, communes, uais, mandats, |s| {
        api::hacher(s).unwrap()
    })
}

fn creer_en_base(
    base: &BaseDeTest,
    type_partenaire: TypePartenaire,
    scopes: &str,
    communes: &[&str],
    uais: &[&str],
    mandats: &[&str],
    hacher: impl Fn(&str) -> String,
) -> Identifiants {
    let p = Partenaire {
        id: Uuid::now_v7(),
        nom: format!("{type_partenaire} de test"),
        type_partenaire,
        scopes: Scopes::parse_liste(scopes).unwrap(),
        communes: communes.iter().map(|c| CodeInsee::parse(c).unwrap()).collect(),
        uais: uais.iter().map(|u| Uai::parse(u).unwrap()).collect(),
        mandats: mandats
            .iter()
            .map(|m| Mandat {
                cible: CibleMandat::parse(m).unwrap(),
                libelle: None,
            })
            .collect(),
        actif: true,
    };
    p.verifier().unwrap();
    let secret = api::nouveau_secret();
    let maintenant = chrono::Utc::now().naive_utc();
    let client = onde_store::partenaires::Client {
        client_id: api::nouvel_identifiant_client(),
        partenaire_id: p.id.to_string(),
        secret_hash: hacher(&secret),
        ancien_secret_hash: None,
        ancien_secret_expire_le: None,
        cree_le: maintenant,
        revoque_le: None,
    };
    let mut conn = base.store.connexion().unwrap();
    onde_store::partenaires::creer(&mut conn, &p, &client, maintenant).unwrap();
    Identifiants {
        partenaire_id: p.id,
        client_id: client.client_id,
        secret,
    }
}

/// A mairie whose perimeter is every commune of the base, with all its scopes.
pub fn mairie_de_toutes_les_communes(base: &BaseDeTest) -> Identifiants {
    let codes = onde_store::communes::codes(&mut base.store.connexion().unwrap()).unwrap();
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    partenaire(
        base,
        TypePartenaire::Mairie,
        "ecoles:read eleves:read inscriptions:read inscriptions:write",
        &codes,
        &[],
        &[],
    )
}

/// POST /oauth/token with form credentials; the access token, or the raw response on failure.
pub async fn demander_jeton<S, B>(app: &S, id: &Identifiants, scope: Option<&str>) -> Result<String, Reponse>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut form = vec![
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", id.client_id.clone()),
        ("client_secret", id.secret.clone()),
    ];
    if let Some(s) = scope {
        form.push(("scope", s.to_owned()));
    }
    let req = test::TestRequest::post()
        .uri("/oauth/token")
        .set_form(&form)
        .to_request();
    let r = appeler(app, req).await;
    if r.statut == StatusCode::OK {
        Ok(r.corps["access_token"].as_str().unwrap().to_owned())
    } else {
        Err(r)
    }
}

pub async fn jeton<S, B>(app: &S, id: &Identifiants) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    demander_jeton(app, id, None).await.map_err(|r| r.texte).unwrap()
}
