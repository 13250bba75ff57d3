//! OAuth 2.0 client credentials grant (RFC 6749 section 4.4) and the public keys (JWKS).

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::Utc;
use onde_domain::Scopes;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::jeton::Jwks;
use crate::erreurs::erreur::ApiError;
use crate::erreurs::probleme::Probleme;
use crate::etat::EtatApp;
use onde_service::secrets;

/// Corps d'une demande de jeton (`application/x-www-form-urlencoded`).
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct DemandeJeton {
    /// Toujours `client_credentials`.
    #[schema(example = "client_credentials", max_length = 18, pattern = "^client_credentials$")]
    grant_type: String,
    /// Identifiant du client (ou en HTTP Basic).
    #[schema(example = "onde_k3J9xQ2m7VbL1pZa", max_length = 100)]
    client_id: Option<String>,
    /// Secret du client (ou en HTTP Basic).
    #[schema(max_length = 200, example = "w2Y1c0Zx8hQm3rKp9VtLb7NdE4aJ6sGfTyUiOoPq1Zc")]
    client_secret: Option<String>,
    /// Scopes demandés, séparés par des espaces ; par défaut tous ceux du partenaire.
    #[schema(example = "ecoles:read inscriptions:read", max_length = 200)]
    scope: Option<String>,
}

/// Jeton d'accès délivré.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReponseJeton {
    /// JWT signé EdDSA, à présenter en `Authorization: Bearer`.
    #[schema(
        max_length = 4000,
        example = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSIsImtpZCI6InExdzJlM3I0dDV5NiJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl"
    )]
    pub access_token: String,
    /// Toujours `Bearer`.
    #[schema(example = "Bearer", max_length = 6, pattern = "^Bearer$")]
    pub token_type: String,
    /// Durée de validité en secondes.
    #[schema(example = 600, minimum = 1, maximum = 86400, format = Int32)]
    pub expires_in: u64,
    /// Scopes accordés, séparés par des espaces.
    #[schema(example = "ecoles:read inscriptions:read", max_length = 200)]
    pub scope: String,
}

/// Erreur OAuth 2.0 (RFC 6749 §5.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErreurOAuth {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`, `unsupported_grant_type` ou `invalid_scope`.
    #[schema(example = "invalid_scope", max_length = 30)]
    pub error: String,
    /// Explication en français.
    #[schema(example = "scope « admin » non détenu par ce partenaire", max_length = 500)]
    pub error_description: String,
}

struct Refus {
    statut: StatusCode,
    code: &'static str,
    description: String,
    basic: bool,
}

fn refus(code: &'static str, description: impl Into<String>) -> Refus {
    Refus {
        statut: if code == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        },
        code,
        description: description.into(),
        basic: false,
    }
}

fn sans_cache(r: &mut actix_web::HttpResponseBuilder) {
    r.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    r.insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")));
}

fn repondre_refus(r: Refus) -> HttpResponse {
    let mut b = HttpResponse::build(r.statut);
    sans_cache(&mut b);
    if r.statut == StatusCode::UNAUTHORIZED {
        let defi = if r.basic {
            "Basic realm=\"onde-echanges\""
        } else {
            "Bearer realm=\"onde-echanges\""
        };
        b.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static(defi)));
    }
    b.json(ErreurOAuth {
        error: r.code.into(),
        error_description: r.description,
    })
}

/// `client_id:client_secret` from HTTP Basic, each form-urlencoded (RFC 6749 §2.3.1).
fn basic(req: &HttpRequest) -> Result<Option<(String, String)>, Refus> {
    let Some(v) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let illisible = || refus("invalid_request", "en-tête Authorization Basic illisible");
    let texte = v.to_str().map_err(|_| illisible())?;
    let Some((schema, code)) = texte.split_once(' ') else {
        return Err(illisible());
    };
    if !schema.eq_ignore_ascii_case("basic") {
        return Err(refus(
            "invalid_request",
            "seule l'authentification client HTTP Basic est acceptée ici",
        ));
    }
    let octets = STANDARD.decode(code.trim()).map_err(|_| illisible())?;
    let clair = String::from_utf8(octets).map_err(|_| illisible())?;
    let (id, secret) = clair.split_once(':').ok_or_else(illisible)?;
    let decode = |s: &str| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
            .ok()
            .and_then(|v| v.into_iter().next())
            .map(|(_, v)| v)
    };
    Ok(Some((
        decode(id).ok_or_else(illisible)?,
        decode(secret).ok_or_else(illisible)?,
    )))
}

/// Largest token request read: the form's fields are bounded far below (client id 100,
/// secret 200, scope 200 characters), and a flood of 8 MiB forms must not sit in memory.
const TAILLE_MAX_DEMANDE: usize = 4096;

/// The form, read up to [`TAILLE_MAX_DEMANDE`] bytes; `None` beyond (the rest is not read).
async fn lire_borne(mut flux: web::Payload) -> Result<Option<Vec<u8>>, actix_web::error::PayloadError> {
    use futures_util::StreamExt;
    let mut corps = Vec::new();
    while let Some(morceau) = flux.next().await {
        let morceau = morceau?;
        if corps.len() + morceau.len() > TAILLE_MAX_DEMANDE {
            return Ok(None);
        }
        corps.extend_from_slice(&morceau);
    }
    Ok(Some(corps))
}

/// Obtenir un jeton d'accès
///
/// Flux OAuth 2.0 « client credentials ». Le client s'authentifie par HTTP Basic ou par les
/// champs `client_id` et `client_secret` du formulaire. Les scopes accordés sont ceux demandés
/// (tous ceux du partenaire par défaut) ; demander un scope non détenu est refusé
/// (`invalid_scope`). Le jeton (JWT EdDSA, `kid` publié dans `/.well-known/jwks.json`) vaut
/// 10 minutes par défaut.
///
/// Les demandes d'un même client partagent un débit borné ; celles qui nomment un client
/// inconnu partagent toutes un seul petit débit, par nœud ou pour tous les nœuds quand les
/// limites sont partagées (429 au-delà). La vérification du
/// secret est bornée par nœud (503 `verifications_saturees` avec `Retry-After` si saturée).
/// Le formulaire fait au plus 4 096 octets et chaque champ a sa longueur maximale (`client_id`
/// 100, `client_secret` 200, `scope` 200 caractères, aussi en HTTP Basic) : au-delà, 400
/// `invalid_request` sans vérification du secret.
#[utoipa::path(
    tag = "authentification",
    operation_id = "obtenir_jeton",
    request_body(content = DemandeJeton, content_type = "application/x-www-form-urlencoded", description = "Formulaire OAuth 2.0 ; `client_id` et `client_secret` peuvent aussi venir de l'en-tête HTTP Basic."),
    responses(
        (status = 200, description = "Jeton délivré", body = ReponseJeton),
        (status = 400, description = "Demande invalide (`invalid_request`, `unsupported_grant_type`, `invalid_scope`)", body = ErreurOAuth),
        (status = 401, description = "Client inconnu, secret faux ou client révoqué (`invalid_client`)", body = ErreurOAuth),
        (status = 503, description = "Vérifications de secret saturées sur ce nœud (`verifications_saturees`) : réessayer après `Retry-After` secondes", body = Probleme, content_type = "application/problem+json",
         headers(("Retry-After" = u32, description = "Délai conseillé avant un nouvel essai, en secondes"))),
    )
)]
#[post("/oauth/token")]
pub async fn jeton(etat: web::Data<EtatApp>, req: HttpRequest, flux: web::Payload) -> HttpResponse {
    let corps = match lire_borne(flux).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return repondre_refus(refus(
                "invalid_request",
                format!("demande de jeton trop longue ({TAILLE_MAX_DEMANDE} octets au plus)"),
            ))
        }
        Err(_) => return repondre_refus(refus("invalid_request", "corps de la demande interrompu ou illisible")),
    };
    match delivrer(&etat, &req, &corps).await {
        Ok(r) => {
            let mut b = HttpResponse::Ok();
            sans_cache(&mut b);
            b.json(r)
        }
        Err(Ok(r)) => repondre_refus(r),
        Err(Err(e)) => actix_web::ResponseError::error_response(&e),
    }
}

async fn delivrer(etat: &EtatApp, req: &HttpRequest, corps: &[u8]) -> Result<ReponseJeton, Result<Refus, ApiError>> {
    let type_contenu = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !type_contenu
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(Ok(refus(
            "invalid_request",
            "le corps doit être de type application/x-www-form-urlencoded",
        )));
    }
    let paires: Vec<(String, String)> =
        serde_urlencoded::from_bytes(corps).map_err(|_| Ok(refus("invalid_request", "formulaire illisible")))?;
    let mut champs = std::collections::HashMap::new();
    for (k, v) in paires {
        if champs.insert(k.clone(), v).is_some() {
            return Err(Ok(refus("invalid_request", format!("paramètre « {k} » répété"))));
        }
    }
    // The documented bounds (DemandeJeton): a longer field is refused before any lookup.
    for (champ, max) in [("grant_type", 18), ("scope", 200)] {
        if champs.get(champ).is_some_and(|v| v.chars().count() > max) {
            return Err(Ok(refus(
                "invalid_request",
                format!("paramètre « {champ} » trop long ({max} caractères au plus)"),
            )));
        }
    }
    match champs.get("grant_type").map(String::as_str) {
        None => return Err(Ok(refus("invalid_request", "paramètre grant_type manquant"))),
        Some("client_credentials") => {}
        Some(_) => {
            return Err(Ok(refus(
                "unsupported_grant_type",
                "seul le flux client_credentials est pris en charge",
            )))
        }
    }
    let en_basic = basic(req).map_err(Ok)?;
    let par_formulaire = match (champs.get("client_id"), champs.get("client_secret")) {
        (Some(i), Some(s)) => Some((i.clone(), s.clone())),
        (None, None) => None,
        _ => return Err(Ok(refus("invalid_request", "client_id et client_secret vont ensemble"))),
    };
    let a_basic = en_basic.is_some();
    let (client_id, secret) = match (en_basic, par_formulaire) {
        (Some(_), Some(_)) => {
            return Err(Ok(refus(
                "invalid_request",
                "une seule méthode d'authentification du client à la fois (Basic ou formulaire)",
            )))
        }
        (Some(c), None) | (None, Some(c)) => c,
        (None, None) => {
            let mut r = refus("invalid_client", "authentification du client requise");
            r.basic = true;
            return Err(Ok(r));
        }
    };
    // Form or Basic alike, the documented bounds, before any lookup or verification.
    if client_id.chars().count() > 100 || secret.chars().count() > 200 {
        return Err(Ok(refus(
            "invalid_request",
            "client_id (100 caractères au plus) ou client_secret (200 au plus) trop long",
        )));
    }
    let demandes = champs
        .get("scope")
        .map(|s| Scopes::parse_liste(s))
        .transpose()
        .map_err(|e| Ok(refus("invalid_scope", e.to_string())))?;

    // The client and its partner, the connection released at once: argon2 runs without one.
    let store = etat.store.clone();
    let cherche = client_id.clone();
    let trouve = web::block(move || -> Result<_, ApiError> {
        let mut conn = store.connexion()?;
        let Some(client) = onde_store::partenaires::client(&mut conn, &cherche)? else {
            return Ok(None);
        };
        let id = uuid::Uuid::parse_str(&client.partenaire_id).map_err(|e| ApiError::Interne(e.to_string()))?;
        let partenaire = onde_store::partenaires::trouver(&mut conn, id)?;
        Ok(Some((client, partenaire)))
    })
    .await
    .map_err(|e| Err(ApiError::Interne(e.to_string())))?
    .map_err(Err)?;
    // Token requests of a client share its bucket: secrets cannot be guessed at speed, and
    // argon2's cost cannot be turned against the gateway. Unknown ids all share one small
    // bucket: random ids get no budget each, and the limiter keeps no key for them.
    etat.limiteur
        .admettre_demande_de_jeton(trouve.as_ref().map(|(client, _)| client.client_id.as_str()))
        .await
        .map_err(|d| Err(ApiError::TropDeRequetes(d)))?;
    let maintenant = Utc::now().naive_utc();
    let haches: Vec<String> = match &trouve {
        Some((client, _)) => std::iter::once(client.secret_hash.clone())
            .chain(
                client
                    .ancien_secret_hash
                    .clone()
                    .filter(|_| client.ancien_secret_expire_le.is_some_and(|f| f > maintenant)),
            )
            .collect(),
        // A decoy verification: timing does not reveal which ids exist.
        None => Vec::new(),
    };
    let bon = secrets::verifier_borne(secret, haches)
        .await
        .map_err(|e| Err(ApiError::from(e)))?;
    let verifie = match trouve {
        Some((client, partenaire)) if bon && client.revoque_le.is_none() => partenaire
            .filter(|p| p.partenaire.actif)
            .map(|p| (p.partenaire, client.client_id)),
        _ => None,
    };
    let Some((partenaire, client_id)) = verifie else {
        let mut r = refus("invalid_client", "client inconnu, secret invalide ou client révoqué");
        r.basic = a_basic;
        return Err(Ok(r));
    };
    let accordes = match demandes {
        None => partenaire.scopes.clone(),
        Some(d) => {
            if !d.inclus_dans(&partenaire.scopes) {
                let hors: Vec<String> = d
                    .iter()
                    .filter(|s| !partenaire.scopes.contient(*s))
                    .map(|s| s.as_str().to_owned())
                    .collect();
                return Err(Ok(refus(
                    "invalid_scope",
                    format!("scope non détenu par ce partenaire : {}", hors.join(" ")),
                )));
            }
            d.intersection(&partenaire.scopes)
        }
    };
    if accordes.est_vide() {
        return Err(Ok(refus("invalid_scope", "aucun scope à accorder")));
    }
    let scope = accordes.to_string();
    if etat.trousseau.a_recharger() {
        let (trousseau, store) = (etat.trousseau.clone(), etat.store.clone());
        web::block(move || -> Result<(), ApiError> {
            let mut conn = store.connexion()?;
            trousseau.recharger(&mut conn)
        })
        .await
        .map_err(|e| Err(ApiError::Interne(e.to_string())))?
        .map_err(Err)?;
    }
    let access_token = etat
        .trousseau
        .emettre(&partenaire.id.to_string(), &client_id, &scope)
        .map_err(Err)?;
    Ok(ReponseJeton {
        access_token,
        token_type: "Bearer".into(),
        expires_in: etat.trousseau.config().duree.as_secs(),
        scope,
    })
}

/// Clés publiques de signature des jetons
///
/// Jeu de clés JWK (Ed25519) pour vérifier les jetons d'accès ; une clé retirée reste publiée
/// tant que des jetons qu'elle a signés peuvent être valides.
#[utoipa::path(
    tag = "authentification",
    operation_id = "cles_publiques",
    responses((status = 200, description = "Jeu de clés", body = Jwks))
)]
#[get("/.well-known/jwks.json")]
pub async fn jwks(etat: web::Data<EtatApp>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")))
        .json(etat.trousseau.jwks())
}
