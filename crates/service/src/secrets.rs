//! Client credentials: generation (shown once), argon2 hashing, and verification that takes
//! the same time whether the client exists or not.
//!
//! A verification costs ~20 MiB and tens of milliseconds of a core: at most one per core runs
//! at once on a node ([`verifier_borne`]), without a database connection held; a request that
//! cannot get a place within [`ATTENTE_VERIFICATION`] is answered 503 with `Retry-After`.
//!
//! Every argon2 computation of the process (verifications, and the hashes of new secrets) runs
//! on the node's argon2 threads, in a working memory each thread allocates once and keeps
//! ([`Memoire`]): a buffer of this size allocated and freed per computation made glibc's malloc
//! keep hundreds of MiB after a token flood.

use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use argon2::password_hash::{self, Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

use crate::erreur::ServiceError;

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

/// Largest argon2 memory cost accepted from a stored hash, in KiB (the hashes made here use
/// argon2's default, 19 MiB): a hash asking for more is not verified.
const MEMOIRE_MAX_KIO: u32 = 256 * 1024;

/// The working memory of argon2 (`m_cost` KiB, 19 MiB with the default parameters), allocated
/// once by an argon2 thread and reused by every computation it runs; never shrunk nor freed.
///
/// Why: glibc's malloc serves a block this large with `mmap`, and on its first `free` raises
/// its mmap threshold (and its trim threshold, to twice that) to the block's size, for the
/// whole process (the "dynamic mmap threshold"). From then on each 19 MiB buffer came from the
/// arenas, interleaved with the small allocations of every other thread, and freed memory was
/// no longer returned: a token flood left the gateway at ~390 MiB resident instead of ~55
/// (docs/BENCHMARKS.md, token flood). A buffer that is never freed never raises the threshold;
/// growing it is a `realloc`, an `mremap` for a mapped block, which does not either.
#[derive(Default)]
pub(crate) struct Memoire(Vec<Block>);

impl Memoire {
    /// The first `n` blocks, the buffer grown first if it is shorter.
    fn blocs(&mut self, n: usize) -> &mut [Block] {
        if self.0.len() < n {
            self.0.resize(n, Block::default());
        }
        &mut self.0[..n]
    }

    /// Blocks held, for tests.
    #[cfg(test)]
    fn taille(&self) -> usize {
        self.0.len()
    }
}

/// The argon2 output of `secret` with these parameters, computed in `memoire` (what
/// `PasswordHasher::hash_password_customized` computes, without allocating the memory).
fn calculer(
    memoire: &mut Memoire,
    secret: &str,
    algorithme: Algorithm,
    version: Version,
    params: &Params,
    sel: Salt<'_>,
) -> password_hash::Result<Output> {
    if params.m_cost() > MEMOIRE_MAX_KIO {
        return Err(password_hash::Error::ParamValueInvalid(
            password_hash::errors::InvalidValue::TooLong,
        ));
    }
    let mut tampon = [0u8; 64];
    let sel = sel.decode_b64(&mut tampon)?;
    let argon2 = Argon2::new(algorithme, version, params.clone());
    let longueur = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    Output::init_with(longueur, |sortie| {
        Ok(argon2.hash_password_into_with_memory(
            secret.as_bytes(),
            sel,
            sortie,
            memoire.blocs(params.block_count()),
        )?)
    })
}

/// argon2id PHC string of `secret` (argon2's default parameters, a random 128-bit salt).
fn hacher_avec(memoire: &mut Memoire, secret: &str) -> Result<String, ServiceError> {
    let mut sel = [0u8; 16];
    rand::rng().fill_bytes(&mut sel);
    let sel = SaltString::encode_b64(&sel).map_err(|e| ServiceError::Interne(format!("sel argon2 : {e}")))?;
    let params = Params::default();
    let hachage = calculer(
        memoire,
        secret,
        Algorithm::Argon2id,
        Version::V0x13,
        &params,
        sel.as_salt(),
    )
    .and_then(|sortie| {
        Ok(PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params)?,
            salt: Some(sel.as_salt()),
            hash: Some(sortie),
        }
        .to_string())
    });
    hachage.map_err(|e| ServiceError::Interne(format!("hachage argon2 : {e}")))
}

/// Whether `secret` matches the PHC string `hache` (its algorithm, version and parameters),
/// compared in constant time.
fn verifier_avec(memoire: &mut Memoire, secret: &str, hache: &str) -> bool {
    fn verifie(memoire: &mut Memoire, secret: &str, hache: &str) -> password_hash::Result<bool> {
        let h = PasswordHash::new(hache)?;
        let (Some(sel), Some(attendu)) = (h.salt, h.hash) else {
            return Ok(false);
        };
        let algorithme = Algorithm::try_from(h.algorithm)?;
        let version = match h.version {
            Some(v) => Version::try_from(v)?,
            None => Version::default(),
        };
        let params = Params::try_from(&h)?;
        // `Output`'s equality is constant-time.
        Ok(calculer(memoire, secret, algorithme, version, &params, sel)? == attendu)
    }
    verifie(memoire, secret, hache).unwrap_or(false)
}

/// Spends the time of one verification for an unknown client, so that response times do not
/// tell which client ids exist.
fn verifier_leurre(memoire: &mut Memoire, secret: &str) {
    static LEURRE: OnceLock<String> = OnceLock::new();
    let hache = LEURRE.get_or_init(|| hacher_avec(memoire, "leurre-de-temps-constant").unwrap_or_default());
    let _ = verifier_avec(memoire, secret, hache);
}

/// argon2id PHC string of `secret`, computed on an argon2 thread (blocks the caller meanwhile).
pub fn hacher(secret: &str) -> Result<String, ServiceError> {
    let secret = secret.to_owned();
    sur_un_fil(move |m| hacher_avec(m, &secret))?
}

/// Whether `secret` matches the PHC string `hache`, computed on an argon2 thread (blocks the
/// caller meanwhile).
pub fn verifier(secret: &str, hache: &str) -> bool {
    let (secret, hache) = (secret.to_owned(), hache.to_owned());
    sur_un_fil(move |m| verifier_avec(m, &secret, &hache)).unwrap_or(false)
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
    pub async fn prendre(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ServiceError> {
        match tokio::time::timeout(self.attente, self.semaphore.clone().acquire_owned()).await {
            Ok(Ok(place)) => Ok(place),
            _ => Err(ServiceError::Sature {
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

/// A computation handed to the node's argon2 threads, run with the thread's memory.
type Travail = Box<dyn FnOnce(&mut Memoire) + Send>;

/// The node's argon2 threads, one per core, started on first use: argon2 (~20 MiB and tens of
/// milliseconds a computation) never takes a thread of the blocking pool that the database
/// calls of every request need, and each thread reuses its own working memory ([`Memoire`]),
/// allocated on its first computation: at most one buffer per core, held for the life of the
/// process. The places above keep this queue at most one verification per thread deep; the
/// hashes of new secrets (administration, rare) queue behind them.
static FILS_ARGON2: LazyLock<Option<std::sync::mpsc::Sender<Travail>>> = LazyLock::new(|| {
    let (envoi, reception) = std::sync::mpsc::channel::<Travail>();
    let reception = Arc::new(std::sync::Mutex::new(reception));
    let mut demarres = 0;
    for i in 0..coeurs() {
        let reception = reception.clone();
        let fil = std::thread::Builder::new()
            .name(format!("onde-argon2-{i}"))
            .spawn(move || {
                let mut memoire = Memoire::default();
                loop {
                    // The lock is held only while waiting for the next job, never while computing.
                    let travail = match reception.lock() {
                        Ok(r) => r.recv(),
                        Err(_) => return,
                    };
                    let Ok(travail) = travail else { return };
                    travail(&mut memoire);
                }
            });
        match fil {
            Ok(_) => demarres += 1,
            Err(e) => tracing::error!(erreur = %e, "fil argon2 non démarré"),
        }
    }
    (demarres > 0).then_some(envoi)
});

/// Hands `travail` to the argon2 threads; when none runs, gives it back to run in place.
fn confier(travail: Travail) -> Result<(), Travail> {
    match FILS_ARGON2.as_ref() {
        Some(envoi) => envoi.send(travail).map_err(|e| e.0),
        None => Err(travail),
    }
}

/// Runs `f` on an argon2 thread and waits for its result (in place if no argon2 thread runs).
fn sur_un_fil<T: Send + 'static>(f: impl FnOnce(&mut Memoire) -> T + Send + 'static) -> Result<T, ServiceError> {
    let (envoi, reception) = std::sync::mpsc::sync_channel(1);
    let travail: Travail = Box::new(move |m| {
        let _ = envoi.send(f(m));
    });
    if let Err(travail) = confier(travail) {
        travail(&mut Memoire::default());
    }
    reception
        .recv()
        .map_err(|_| ServiceError::Interne("calcul argon2 interrompu".into()))
}

/// Whether `secret` matches one of `haches` (a client's current secret, then its previous one
/// during a rotation), on the node's argon2 threads, off the async workers and without a
/// database connection. With no hash (unknown client) a decoy verification takes the same time.
pub async fn verifier_borne(secret: String, haches: Vec<String>) -> Result<bool, ServiceError> {
    let _place = PLACES.prendre().await?;
    let (reponse, attente) = tokio::sync::oneshot::channel();
    let travail: Travail = Box::new(move |m| {
        let bon = if haches.is_empty() {
            verifier_leurre(m, &secret);
            false
        } else {
            haches.iter().any(|h| verifier_avec(m, &secret, h))
        };
        let _ = reponse.send(bon);
    });
    if confier(travail).is_err() {
        return Err(ServiceError::Interne("aucun fil de vérification des secrets".into()));
    }
    attente
        .await
        .map_err(|_| ServiceError::Interne("vérification du secret interrompue".into()))
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
    fn compatible_avec_argon2_et_memoire_reutilisee() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let mut m = Memoire::default();
        // A hash made here opens with argon2's own verifier, and the other way round, with
        // other parameters and algorithms too.
        let h = hacher_avec(&mut m, "s3cret").unwrap();
        let blocs = m.taille();
        assert_eq!(blocs, Params::default().block_count());
        let analyse = PasswordHash::new(&h).unwrap();
        assert!(Argon2::default().verify_password(b"s3cret", &analyse).is_ok());
        assert!(Argon2::default().verify_password(b"autre", &analyse).is_err());
        let sel = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        for (algorithme, version, params) in [
            (Algorithm::Argon2id, Version::V0x13, Params::default()),
            (
                Algorithm::Argon2i,
                Version::V0x10,
                Params::new(1024, 3, 2, Some(48)).unwrap(),
            ),
            (
                Algorithm::Argon2d,
                Version::V0x13,
                Params::new(8192, 1, 1, None).unwrap(),
            ),
        ] {
            let h = Argon2::new(algorithme, version, params)
                .hash_password(b"s3cret", &sel)
                .unwrap()
                .to_string();
            assert!(verifier_avec(&mut m, "s3cret", &h), "{h}");
            assert!(!verifier_avec(&mut m, "s3cres", &h), "{h}");
        }
        // The working memory is the same buffer from one computation to the next.
        assert_eq!(m.taille(), blocs);
        // A stored hash asking for more memory than the bound is not verified.
        let enorme = h.replace("m=19456", &format!("m={}", MEMOIRE_MAX_KIO + 4));
        assert_ne!(enorme, h);
        assert!(!verifier_avec(&mut m, "s3cret", &enorme));
        assert_eq!(m.taille(), blocs);
    }

    #[test]
    fn places_bornees_puis_503() {
        let moteur = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        moteur.block_on(async {
            let places = Places::new(1, Duration::from_millis(50));
            let prise = places.prendre().await.unwrap();
            let e = places.prendre().await.unwrap_err();
            assert!(
                matches!(
                    e,
                    ServiceError::Sature {
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
