//! Access tokens: EdDSA (Ed25519) JWTs with `kid`, issuer and audience checked, algorithm
//! pinned. Keys live in the database so every node signs and verifies with the same set; a
//! key is created on first start, and a rotation keeps the old key verifying until its tokens
//! have expired. Private keys are stored sealed with the key-encryption key of the
//! configuration ([`onde_service::chiffrement`]), never in clear.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use onde_service::chiffrement::Chiffrement;
use onde_service::cles::{generer_cle, sceller_cles_en_clair};
use onde_store::DbConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::erreurs::erreur::ApiError;

/// Issuer, audience and lifetime of the tokens, and the key-encryption keys of the signing keys.
#[derive(Debug, Clone)]
pub struct ConfigJetons {
    pub emetteur: String,
    pub audience: String,
    pub duree: Duration,
    pub chiffrement: Arc<Chiffrement>,
}

impl Default for ConfigJetons {
    /// With a per-process KEK ([`Chiffrement::ephemere`]): for tests; `serve` always sets the
    /// configured one ([`ConfigJetons::avec_chiffrement`]).
    fn default() -> Self {
        Self {
            emetteur: "onde-echanges".into(),
            audience: "onde-echanges-api".into(),
            duree: Duration::from_secs(600),
            chiffrement: Arc::new(Chiffrement::ephemere()),
        }
    }
}

impl ConfigJetons {
    pub fn avec_chiffrement(mut self, chiffrement: Chiffrement) -> Self {
        self.chiffrement = Arc::new(chiffrement);
        self
    }
}

/// Claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revendications {
    pub iss: String,
    pub aud: String,
    /// Partner id.
    pub sub: String,
    pub client_id: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
}

struct Cle {
    encodage: Option<EncodingKey>,
    decodage: DecodingKey,
    x: String,
}

struct Etat {
    signature: Option<String>,
    cles: HashMap<String, Cle>,
    charge_le: Instant,
}

/// Why a token is refused (the detail goes to the partner in `error_description`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JetonRefuse(pub String);

pub struct Trousseau {
    config: ConfigJetons,
    etat: RwLock<Etat>,
}

fn maintenant() -> NaiveDateTime {
    Utc::now().naive_utc()
}

impl Trousseau {
    /// Loads the keys, creating the first one when the database has none and sealing those an
    /// earlier version left in clear. A signing key that the configured KEKs do not open stops
    /// the start (fail closed).
    pub fn ouvrir(conn: &mut DbConnection, config: ConfigJetons) -> Result<Self, ApiError> {
        let scellees = sceller_cles_en_clair(conn, &config.chiffrement)?;
        if scellees > 0 {
            tracing::warn!(
                cles = scellees,
                kek = config.chiffrement.actuelle().id(),
                "clés de signature en clair chiffrées"
            );
        }
        onde_store::cles::creer_si_aucune(conn, &generer_cle(maintenant(), &config.chiffrement)?)?;
        let t = Self {
            etat: RwLock::new(Etat {
                signature: None,
                cles: HashMap::new(),
                charge_le: Instant::now(),
            }),
            config,
        };
        t.recharger(conn)?;
        Ok(t)
    }

    pub fn config(&self) -> &ConfigJetons {
        &self.config
    }

    /// Re-reads the keys (after a rotation, possibly by another node).
    pub fn recharger(&self, conn: &mut DbConnection) -> Result<(), ApiError> {
        let depuis = maintenant() - chrono::Duration::from_std(self.config.duree).unwrap_or_default();
        let stockees = onde_store::cles::utiles(conn, depuis)?;
        let mut cles = HashMap::new();
        let mut signature = None;
        for c in stockees {
            let decodage = DecodingKey::from_ed_components(&c.cle_publique)
                .map_err(|e| ApiError::Interne(format!("clé publique {} illisible : {e}", c.kid)))?;
            let encodage = if c.retiree_le.is_none() {
                let der = self.config.chiffrement.cle_privee(&c.kid, &c.cle_privee)?;
                signature.get_or_insert_with(|| c.kid.clone());
                Some(EncodingKey::from_ed_der(&der))
            } else {
                None
            };
            cles.insert(
                c.kid.clone(),
                Cle {
                    encodage,
                    decodage,
                    x: c.cle_publique,
                },
            );
        }
        let mut etat = self
            .etat
            .write()
            .map_err(|_| ApiError::Interne("trousseau empoisonné".into()))?;
        *etat = Etat {
            signature,
            cles,
            charge_le: Instant::now(),
        };
        Ok(())
    }

    /// Whether an unknown `kid` is worth a reload (at most every few seconds, so forged kids
    /// cannot hammer the database).
    pub fn rechargement_utile(&self, kid: &str) -> bool {
        self.etat
            .read()
            .map(|e| !e.cles.contains_key(kid) && e.charge_le.elapsed() > Duration::from_secs(5))
            .unwrap_or(false)
    }

    /// Whether the keys were read long enough ago that another node may have rotated them:
    /// issuers re-read them before signing, so nobody keeps signing with a retired key.
    pub fn a_recharger(&self) -> bool {
        self.etat
            .read()
            .map(|e| e.charge_le.elapsed() > Duration::from_secs(60))
            .unwrap_or(true)
    }

    /// Signs a token for a partner's client with the granted scopes; returns it with its lifetime.
    pub fn emettre(&self, partenaire_id: &str, client_id: &str, scope: &str) -> Result<String, ApiError> {
        let etat = self
            .etat
            .read()
            .map_err(|_| ApiError::Interne("trousseau empoisonné".into()))?;
        let kid = etat
            .signature
            .clone()
            .ok_or_else(|| ApiError::Interne("aucune clé de signature".into()))?;
        let cle = etat
            .cles
            .get(&kid)
            .and_then(|c| c.encodage.as_ref())
            .ok_or_else(|| ApiError::Interne("clé de signature absente".into()))?;
        let iat = Utc::now().timestamp();
        let revendications = Revendications {
            iss: self.config.emetteur.clone(),
            aud: self.config.audience.clone(),
            sub: partenaire_id.into(),
            client_id: client_id.into(),
            scope: scope.into(),
            iat,
            nbf: iat,
            exp: iat + i64::try_from(self.config.duree.as_secs()).unwrap_or(600),
            jti: uuid::Uuid::now_v7().to_string(),
        };
        let mut entete = Header::new(Algorithm::EdDSA);
        entete.kid = Some(kid);
        jsonwebtoken::encode(&entete, &revendications, cle).map_err(|e| ApiError::Interne(format!("signature : {e}")))
    }

    /// Checks signature (EdDSA only, key by `kid`), issuer, audience, expiry and not-before.
    pub fn verifier(&self, jeton: &str) -> Result<Revendications, JetonRefuse> {
        let refus = |m: &str| JetonRefuse(m.to_owned());
        let entete = jsonwebtoken::decode_header(jeton).map_err(|_| refus("jeton illisible"))?;
        if entete.alg != Algorithm::EdDSA {
            return Err(refus("algorithme non accepté : seul EdDSA l'est"));
        }
        let kid = entete.kid.ok_or_else(|| refus("en-tête sans kid"))?;
        let etat = self.etat.read().map_err(|_| refus("trousseau indisponible"))?;
        let cle = etat.cles.get(&kid).ok_or_else(|| refus("clé de signature inconnue"))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.config.emetteur]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        jsonwebtoken::decode::<Revendications>(jeton, &cle.decodage, &validation)
            .map(|d| d.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind::*;
                JetonRefuse(
                    match e.kind() {
                        ExpiredSignature => "jeton expiré",
                        ImmatureSignature => "jeton pas encore valide (nbf)",
                        InvalidIssuer => "émetteur invalide",
                        InvalidAudience => "audience invalide",
                        InvalidSignature => "signature invalide",
                        MissingRequiredClaim(_) => "revendication obligatoire absente",
                        _ => "jeton invalide",
                    }
                    .to_owned(),
                )
            })
    }

    /// The public keys, as a JWK set.
    pub fn jwks(&self) -> Jwks {
        let keys = self
            .etat
            .read()
            .map(|e| {
                let mut cles: Vec<Jwk> = e
                    .cles
                    .iter()
                    .map(|(kid, c)| Jwk {
                        kty: "OKP".into(),
                        crv: "Ed25519".into(),
                        alg: "EdDSA".into(),
                        utilisation: "sig".into(),
                        kid: kid.clone(),
                        x: c.x.clone(),
                    })
                    .collect();
                cles.sort_by(|a, b| a.kid.cmp(&b.kid));
                cles
            })
            .unwrap_or_default();
        Jwks { keys }
    }
}

/// Verifies a token; when its key is unknown here (rotated by another node), reloads the keys
/// once, rate-limited, and verifies again.
pub async fn verifier_jeton(
    trousseau: &Arc<Trousseau>,
    store: &onde_store::Store,
    jeton: &str,
) -> Result<Revendications, JetonRefuse> {
    let verification = trousseau.verifier(jeton);
    if verification.is_ok() {
        return verification;
    }
    let kid = jsonwebtoken::decode_header(jeton).ok().and_then(|h| h.kid);
    if !kid.is_some_and(|k| trousseau.rechargement_utile(&k)) {
        return verification;
    }
    let (t, store) = (trousseau.clone(), store.clone());
    let recharge = actix_web::web::block(move || -> Result<(), ApiError> {
        let mut conn = store.connexion()?;
        t.recharger(&mut conn)
    })
    .await;
    if let Ok(Err(e)) = recharge {
        tracing::warn!(erreur = %e, "rechargement des clés impossible");
    }
    trousseau.verifier(jeton)
}

/// Une clé publique (RFC 8037, OKP Ed25519).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Jwk {
    /// Type de clé : `OKP` (RFC 8037).
    #[schema(example = "OKP", max_length = 3)]
    pub kty: String,
    /// Courbe : `Ed25519`.
    #[schema(example = "Ed25519", max_length = 7)]
    pub crv: String,
    /// Algorithme : `EdDSA`.
    #[schema(example = "EdDSA", max_length = 5)]
    pub alg: String,
    /// Usage : `sig` (signature).
    #[serde(rename = "use")]
    #[schema(example = "sig", max_length = 3)]
    pub utilisation: String,
    /// Identifiant de la clé, repris dans l'en-tête `kid` des jetons.
    #[schema(example = "q1w2e3r4t5y6", max_length = 100)]
    pub kid: String,
    /// Clé publique, base64url.
    #[schema(example = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", max_length = 43)]
    pub x: String,
}

/// Jeu de clés publiques (RFC 7517).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Jwks {
    /// Les clés qui vérifient les jetons encore valides (en pratique une ou deux).
    #[schema(max_items = 100)]
    pub keys: Vec<Jwk>,
}
