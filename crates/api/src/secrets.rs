//! Client credentials: generation (shown once), argon2 hashing, and verification that takes
//! the same time whether the client exists or not.
//!
//! A verification costs ~20 MiB and tens of milliseconds of a core: at most one per core runs
//! at once on a node ([`verifier_borne`]), without a database connection held; a request that
//! cannot get a place within [`ATTENTE_VERIFICATION`] is answered 503 with `Retry-After`.

use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

use crate::ApiError;

fn aleatoire(octets: usize) -> String {
    let mut b = vec![0u8; octets];
    rand::rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// A new client id: readable prefix, 96 random bits.
pub fn nouvel_identifiant_client() -> String {
    format!("onde_{}", aleatoire(12))
}

/// A new secret: 256 random bits.
pub fn nouveau_secret() -> String {
    aleatoire(32)
}

/// argon2id PHC string of `secret`.
pub fn hacher(secret: &str) -> Result<String, ApiError> {
    let mut sel = [0u8; 16];
    rand::rng().fill_bytes(&mut sel);
    let sel = SaltString::encode_b64(&sel).map_err(|e| ApiError::Interne(format!("sel argon2 : {e}")))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &sel)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Interne(format!("hachage argon2 : {e}")))
}

/// Whether `secret` matches the PHC string `hache`.
pub fn verifier(secret: &str, hache: &str) -> bool {
    PasswordHash::new(hache)
        .map(|h| Argon2::default().verify_password(secret.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// Spends the time of one verification for an unknown client, so that response times do not
/// tell which client ids exist.
pub fn verifier_leurre(secret: &str) {
    static LEURRE: OnceLock<String> = OnceLock::new();
    let hache = LEURRE.get_or_init(|| hacher("leurre-de-temps-constant").unwrap_or_default());
    let _ = verifier(secret, hache);
}

/// Longest wait for a verification place before a 503.
pub const ATTENTE_VERIFICATION: Duration = Duration::from_secs(1);

/// A bounded pool of verification places.
#[derive(Debug)]
pub struct Places {
    semaphore: Arc<tokio::sync::Semaphore>,
    attente: Duration,
}

impl Places {
    pub fn new(places: usize, attente: Duration) -> Self {
        Self {
            semaphore: Arc::new(tokio::sync::Semaphore::new(places.max(1))),
            attente,
        }
    }

    /// Waits at most `attente` for a place.
    pub async fn prendre(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        match tokio::time::timeout(self.attente, self.semaphore.clone().acquire_owned()).await {
            Ok(Ok(place)) => Ok(place),
            _ => Err(ApiError::Sature {
                code: "verifications_saturees",
                detail:
                    "Trop de demandes de jeton en cours sur ce nœud : réessayez dans une seconde (en-tête Retry-After)."
                        .into(),
                reessayer_s: 1,
            }),
        }
    }
}

/// One place per core, for every token request of the node.
static PLACES: LazyLock<Places> = LazyLock::new(|| Places::new(coeurs(), ATTENTE_VERIFICATION));

fn coeurs() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// A verification handed to the node's verification threads.
struct Travail {
    secret: String,
    haches: Vec<String>,
    reponse: tokio::sync::oneshot::Sender<bool>,
}

/// The node's verification threads, one per core, started on first use: argon2 (~20 MiB and
/// tens of milliseconds a verification) never takes a thread of the blocking pool that the
/// database calls of every request need, and its memory is reused by the same few threads.
/// The places above keep this queue at most one job per thread deep.
static VERIFICATEURS: LazyLock<Option<std::sync::mpsc::Sender<Travail>>> = LazyLock::new(|| {
    let (envoi, reception) = std::sync::mpsc::channel::<Travail>();
    let reception = Arc::new(std::sync::Mutex::new(reception));
    let mut demarres = 0;
    for i in 0..coeurs() {
        let reception = reception.clone();
        let fil = std::thread::Builder::new()
            .name(format!("onde-argon2-{i}"))
            .spawn(move || loop {
                // The lock is held only while waiting for the next job, never while verifying.
                let travail = match reception.lock() {
                    Ok(r) => r.recv(),
                    Err(_) => return,
                };
                let Ok(t) = travail else { return };
                let bon = if t.haches.is_empty() {
                    verifier_leurre(&t.secret);
                    false
                } else {
                    t.haches.iter().any(|h| verifier(&t.secret, h))
                };
                let _ = t.reponse.send(bon);
            });
        match fil {
            Ok(_) => demarres += 1,
            Err(e) => tracing::error!(erreur = %e, "fil de vérification des secrets non démarré"),
        }
    }
    (demarres > 0).then_some(envoi)
});

/// Whether `secret` matches one of `haches` (a client's current secret, then its previous one
/// during a rotation), on the node's verification threads, off the async workers and without
/// a database connection. With no hash (unknown client) a decoy verification takes the same time.
pub async fn verifier_borne(secret: String, haches: Vec<String>) -> Result<bool, ApiError> {
    let _place = PLACES.prendre().await?;
    let envoi = VERIFICATEURS
        .as_ref()
        .ok_or_else(|| ApiError::Interne("aucun fil de vérification des secrets".into()))?;
    let (reponse, attente) = tokio::sync::oneshot::channel();
    envoi
        .send(Travail {
            secret,
            haches,
            reponse,
        })
        .map_err(|_| ApiError::Interne("fils de vérification des secrets arrêtés".into()))?;
    attente
        .await
        .map_err(|_| ApiError::Interne("vérification du secret interrompue".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hachage_et_verification() {
        let s = nouveau_secret();
        assert!(s.len() >= 43);
        let h = hacher(&s).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verifier(&s, &h));
        assert!(!verifier("autre", &h));
        assert!(!verifier(&s, "pas un hachage"));
        assert_ne!(nouvel_identifiant_client(), nouvel_identifiant_client());
    }

    #[test]
    fn places_bornees_puis_503() {
        actix_web::rt::System::new().block_on(async {
            let places = Places::new(1, Duration::from_millis(50));
            let prise = places.prendre().await.unwrap();
            let e = places.prendre().await.unwrap_err();
            assert!(
                matches!(
                    e,
                    ApiError::Sature {
                        code: "verifications_saturees",
                        ..
                    }
                ),
                "{e:?}"
            );
            drop(prise);
            assert!(places.prendre().await.is_ok());
        });
    }
}
