//! Rate limits and concurrency caps per client, so that one partner's bug cannot starve the
//! others: a token bucket (GCRA, governor) of `par_seconde` requests a second with bursts of
//! `rafale`, and at most `simultanees` requests in flight. A partner may get its own rule. The
//! admission middleware ([`crate::middleware::admission`]) applies them right after the token
//! is verified, before any database work; the answer is 429 with `Retry-After`, and every
//! answer carries `RateLimit-*` headers.
//!
//! Memory stays bounded whatever a caller sends: buckets are keyed by client ids the gateway
//! issued (from verified tokens, or found in the base by `POST /oauth/token`); token requests
//! naming a client id that does not exist all share one bucket (`inconnus`), so random ids get
//! neither a bucket each nor a fresh budget each.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use serde::Deserialize;
use uuid::Uuid;

use crate::middleware::metriques::PartenaireRequete;

/// One rule: sustained rate, burst, requests in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regle {
    pub par_seconde: u32,
    pub rafale: u32,
    pub simultanees: u32,
}

impl Default for Regle {
    fn default() -> Self {
        Self {
            par_seconde: 50,
            rafale: 100,
            simultanees: 16,
        }
    }
}

/// The default rule and the partners' own.
#[derive(Debug, Clone)]
pub struct ConfigLimites {
    pub defaut: Regle,
    pub partenaires: HashMap<Uuid, Regle>,
    /// The one bucket shared by every token request naming an unknown client id (its
    /// `simultanees` is unused).
    pub inconnus: Regle,
}

/// Token requests with unknown client ids: a few a second per node (each costs a decoy
/// argon2 verification, so that answers do not tell which ids exist).
pub const REGLE_INCONNUS: Regle = Regle {
    par_seconde: 5,
    rafale: 10,
    simultanees: 1,
};

impl Default for ConfigLimites {
    fn default() -> Self {
        Self {
            defaut: Regle::default(),
            partenaires: HashMap::new(),
            inconnus: REGLE_INCONNUS,
        }
    }
}

impl ConfigLimites {
    /// Every number must be at least 1.
    pub fn verifier(&self) -> Result<(), String> {
        let ok = |r: &Regle| r.par_seconde >= 1 && r.rafale >= 1 && r.simultanees >= 1;
        if !ok(&self.defaut) || self.inconnus.par_seconde < 1 || self.inconnus.rafale < 1 {
            return Err("limites : par_seconde, rafale et simultanees valent au moins 1".into());
        }
        match self.partenaires.iter().find(|(_, r)| !ok(r)) {
            Some((id, _)) => Err(format!(
                "limites du partenaire {id} : par_seconde, rafale et simultanees valent au moins 1"
            )),
            None => Ok(()),
        }
    }
}

type Seau = DefaultKeyedRateLimiter<String, StateInformationMiddleware>;
type SeauUnique = DefaultDirectRateLimiter<StateInformationMiddleware>;

fn quota(r: &Regle) -> Quota {
    let un = NonZeroU32::MIN;
    Quota::per_second(NonZeroU32::new(r.par_seconde).unwrap_or(un)).allow_burst(NonZeroU32::new(r.rafale).unwrap_or(un))
}

fn seau(r: &Regle) -> Seau {
    governor::RateLimiter::keyed(quota(r)).with_middleware::<StateInformationMiddleware>()
}

/// What a request learns of its limit (for the response headers).
#[derive(Debug, Clone, Copy)]
pub struct EtatLimite {
    pub rafale: u32,
    pub par_seconde: u32,
    pub restant: u32,
}

/// Why a request is refused.
#[derive(Debug, Clone, Copy)]
pub enum Depassement {
    Debit { reessayer: Duration, etat: EtatLimite },
    Simultanees { max: u32 },
}

/// The limiters of this node (limits are per node: N nodes allow N times the rate).
pub struct Limiteur {
    config: ConfigLimites,
    defaut: Seau,
    partenaires: HashMap<Uuid, Seau>,
    inconnus: SeauUnique,
    en_vol: Mutex<HashMap<String, u32>>,
    appels: std::sync::atomic::AtomicU64,
}

/// A request in flight; the count goes down when the last clone is dropped.
#[derive(Debug)]
pub struct EnVol {
    limiteur: Arc<Limiteur>,
    cle: String,
}

impl Drop for EnVol {
    fn drop(&mut self) {
        if let Ok(mut carte) = self.limiteur.en_vol.lock() {
            if let Some(n) = carte.get_mut(&self.cle) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    carte.remove(&self.cle);
                }
            }
        }
    }
}

impl std::fmt::Debug for Limiteur {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiteur").field("config", &self.config).finish()
    }
}

impl Limiteur {
    pub fn new(config: ConfigLimites) -> Arc<Self> {
        Arc::new(Self {
            defaut: seau(&config.defaut),
            partenaires: config.partenaires.iter().map(|(id, r)| (*id, seau(r))).collect(),
            inconnus: governor::RateLimiter::direct(quota(&config.inconnus))
                .with_middleware::<StateInformationMiddleware>(),
            config,
            en_vol: Mutex::new(HashMap::new()),
            appels: std::sync::atomic::AtomicU64::new(0),
        })
    }

    fn regle(&self, partenaire: Option<Uuid>) -> (&Regle, &Seau) {
        match partenaire.and_then(|p| self.config.partenaires.get(&p).zip(self.partenaires.get(&p))) {
            Some(x) => x,
            None => (&self.config.defaut, &self.defaut),
        }
    }

    /// Takes one token of `cle`'s bucket (under its partner's rule, if any). The key is the
    /// client id the token already holds: no allocation on the request path.
    #[allow(clippy::ptr_arg)] // governor keys by &String.
    pub fn debit(&self, partenaire: Option<Uuid>, cle: &String) -> Result<EtatLimite, Depassement> {
        if self.appels.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 100_000 == 99_999 {
            self.menage();
        }
        let (regle, seau) = self.regle(partenaire);
        let etat = |restant| EtatLimite {
            rafale: regle.rafale,
            par_seconde: regle.par_seconde,
            restant,
        };
        match seau.check_key(cle) {
            Ok(s) => Ok(etat(s.remaining_burst_capacity())),
            Err(n) => Err(Depassement::Debit {
                reessayer: n.wait_time_from(DefaultClock::default().now()),
                etat: etat(0),
            }),
        }
    }

    /// Takes one token of the bucket shared by token requests naming unknown client ids.
    pub fn debit_inconnu(&self) -> Result<EtatLimite, Depassement> {
        let r = &self.config.inconnus;
        let etat = |restant| EtatLimite {
            rafale: r.rafale,
            par_seconde: r.par_seconde,
            restant,
        };
        match self.inconnus.check() {
            Ok(s) => Ok(etat(s.remaining_burst_capacity())),
            Err(n) => Err(Depassement::Debit {
                reessayer: n.wait_time_from(DefaultClock::default().now()),
                etat: etat(0),
            }),
        }
    }

    /// Keys held by the rate limiters and the in-flight counts (what the limiter's memory
    /// grows with).
    pub fn cles(&self) -> usize {
        let en_vol = self.en_vol.lock().map(|c| c.len()).unwrap_or(0);
        self.defaut.len() + self.partenaires.values().map(|s| s.len()).sum::<usize>() + en_vol
    }

    /// Counts one more request in flight for `cle`, or refuses it over the cap.
    pub fn entrer(self: &Arc<Self>, partenaire: Option<Uuid>, cle: &str) -> Result<Arc<EnVol>, Depassement> {
        let max = self.regle(partenaire).0.simultanees;
        let mut carte = self.en_vol.lock().map_err(|_| Depassement::Simultanees { max })?;
        match carte.get_mut(cle) {
            Some(n) if *n >= max => return Err(Depassement::Simultanees { max }),
            Some(n) => *n += 1,
            None => {
                carte.insert(cle.to_owned(), 1);
            }
        }
        Ok(Arc::new(EnVol {
            limiteur: self.clone(),
            cle: cle.to_owned(),
        }))
    }

    /// Forgets buckets that are full again (bounded memory whatever the number of clients).
    pub fn menage(&self) {
        self.defaut.retain_recent();
        for s in self.partenaires.values() {
            s.retain_recent();
        }
    }
}

const LIMITE: HeaderName = HeaderName::from_static("ratelimit-limit");
const RESTANT: HeaderName = HeaderName::from_static("ratelimit-remaining");
const REINITIALISATION: HeaderName = HeaderName::from_static("ratelimit-reset");
const POLITIQUE: HeaderName = HeaderName::from_static("ratelimit-policy");

/// The `RateLimit-*` headers (IETF draft) of a request's limit.
pub fn entetes(etat: &EtatLimite) -> [(HeaderName, String); 4] {
    let manquants = etat.rafale.saturating_sub(etat.restant);
    // Seconds until the bucket is full again.
    let reinitialisation = manquants.div_ceil(etat.par_seconde.max(1));
    [
        (LIMITE, etat.rafale.to_string()),
        (RESTANT, etat.restant.to_string()),
        (REINITIALISATION, reinitialisation.to_string()),
        (
            POLITIQUE,
            format!("{};w={}", etat.rafale, etat.rafale.div_ceil(etat.par_seconde.max(1))),
        ),
    ]
}

/// The limits of an authenticated request, charged by the admission middleware as soon as the
/// token verifies and before any database work: the client's rate bucket (its state goes in the
/// request's extensions, for the `RateLimit-*` headers [`middleware`] adds), the partner tag of
/// the metrics, and a place among the client's requests in flight, held by the returned guard.
pub fn admettre(
    limiteur: &Arc<Limiteur>,
    requete: &HttpRequest,
    partenaire: Option<Uuid>,
    client_id: &String,
) -> Result<Arc<EnVol>, Depassement> {
    let limite = limiteur.debit(partenaire, client_id)?;
    requete.extensions_mut().insert(limite);
    if let Some(p) = partenaire {
        requete.extensions_mut().insert(PartenaireRequete(p));
    }
    limiteur.entrer(partenaire, client_id)
}

/// Copies the limit the admission middleware recorded onto the response.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut reponse = next.call(req).await?;
    let etat = reponse.request().extensions().get::<EtatLimite>().copied();
    if let Some(etat) = etat {
        for (nom, valeur) in entetes(&etat) {
            if let Ok(v) = HeaderValue::from_str(&valeur) {
                reponse.headers_mut().insert(nom, v);
            }
        }
    }
    Ok(reponse)
}
