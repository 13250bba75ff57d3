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
//!
//! Limits are per node unless `[limites.redis]` is set: then every node shares each client's
//! bucket and count of requests in flight through Redis ([`grappe`]), and a node falls back to
//! the limiters below whenever Redis does not answer in time.

mod grappe;
mod regle;

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use uuid::Uuid;

use self::grappe::{Grappe, Verdict};
pub use self::regle::{ConfigLimites, ConfigRedis, Depassement, EtatLimite, Regle, REGLE_INCONNUS};
use crate::middleware::metriques::PartenaireRequete;

type Seau = DefaultKeyedRateLimiter<String, StateInformationMiddleware>;
type SeauUnique = DefaultDirectRateLimiter<StateInformationMiddleware>;

fn quota(r: &Regle) -> Quota {
    let un = NonZeroU32::MIN;
    Quota::per_second(NonZeroU32::new(r.par_seconde).unwrap_or(un)).allow_burst(NonZeroU32::new(r.rafale).unwrap_or(un))
}

fn seau(r: &Regle) -> Seau {
    governor::RateLimiter::keyed(quota(r)).with_middleware::<StateInformationMiddleware>()
}

/// The limiters of this node, and the shared ones when Redis is configured (without it,
/// limits are per node: N nodes allow N times the rate).
pub struct Limiteur {
    config: ConfigLimites,
    defaut: Seau,
    partenaires: HashMap<Uuid, Seau>,
    inconnus: SeauUnique,
    en_vol: Mutex<HashMap<String, u32>>,
    appels: std::sync::atomic::AtomicU64,
    grappe: Option<Arc<Grappe>>,
}

/// A request in flight: its place is given back when the last clone is dropped.
#[derive(Debug)]
pub struct EnVol(#[allow(dead_code)] Place);

/// Where the place was taken (held for its `Drop`: nothing reads it).
#[derive(Debug)]
#[allow(dead_code)]
enum Place {
    Locale(PlaceLocale),
    Partagee(grappe::Place),
}

#[derive(Debug)]
struct PlaceLocale {
    limiteur: Arc<Limiteur>,
    cle: String,
}

impl Drop for PlaceLocale {
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

/// A request charged to its client's limits: the state of its bucket (for the headers) and
/// its place in flight, or the cap it is over (its token is spent all the same).
#[derive(Debug)]
pub struct Admission {
    pub etat: EtatLimite,
    pub en_vol: Result<Arc<EnVol>, Depassement>,
}

impl std::fmt::Debug for Limiteur {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiteur").field("config", &self.config).finish()
    }
}

impl Limiteur {
    /// The limiters of `config`. With `config.redis`, waits (one second at most) for a first
    /// connection to Redis; if the Redis thread cannot even start, the node keeps to its own
    /// limits (logged).
    pub fn new(config: ConfigLimites) -> Arc<Self> {
        let grappe = config.redis.clone().and_then(|r| match Grappe::demarrer(r) {
            Ok(g) => Some(g),
            Err(e) => {
                tracing::error!(erreur = %e, "limites partagées (Redis) : ce nœud applique ses propres limites");
                None
            }
        });
        Arc::new(Self {
            grappe,
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

    /// Charges a verified client's request: a token of its bucket, then a place among its
    /// requests in flight; through Redis when configured and answering, else on this node.
    #[allow(clippy::ptr_arg)] // governor keys by &String.
    pub async fn admettre(self: &Arc<Self>, partenaire: Option<Uuid>, cle: &String) -> Result<Admission, Depassement> {
        let regle = *self.regle(partenaire).0;
        if let Some(g) = &self.grappe {
            let en_vol = match g.admettre(&format!("debit:{cle}"), Some(cle), &regle).await {
                Verdict::Admis(etat, Some(place)) => Some((etat, Ok(Arc::new(EnVol(Place::Partagee(place)))))),
                Verdict::Refuse(d) => return Err(d),
                Verdict::Plafond(etat, max) => Some((etat, Err(Depassement::Simultanees { max }))),
                Verdict::Admis(_, None) | Verdict::Repli => None,
            };
            if let Some((etat, en_vol)) = en_vol {
                return Ok(Admission { etat, en_vol });
            }
        }
        let etat = self.debit(partenaire, cle)?;
        Ok(Admission {
            etat,
            en_vol: self.entrer(partenaire, cle),
        })
    }

    /// Charges a token request: the bucket of the client it names (`None`: an unknown id, the
    /// bucket they all share). Through Redis when configured and answering, else on this node.
    pub async fn admettre_demande_de_jeton(&self, client_id: Option<&str>) -> Result<EtatLimite, Depassement> {
        let cle = client_id.map(|c| format!("oauth:{c}"));
        if let Some(g) = &self.grappe {
            let verdict = match &cle {
                Some(c) => g.admettre(&format!("debit:{c}"), None, &self.config.defaut).await,
                None => g.admettre("inconnus", None, &self.config.inconnus).await,
            };
            match verdict {
                Verdict::Admis(etat, _) | Verdict::Plafond(etat, _) => return Ok(etat),
                Verdict::Refuse(d) => return Err(d),
                Verdict::Repli => {}
            }
        }
        match &cle {
            Some(c) => self.debit(None, c),
            None => self.debit_inconnu(),
        }
    }

    /// Counts one more request in flight for `cle` on this node, or refuses it over the cap.
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
        Ok(Arc::new(EnVol(Place::Locale(PlaceLocale {
            limiteur: self.clone(),
            cle: cle.to_owned(),
        }))))
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
pub async fn admettre(
    limiteur: &Arc<Limiteur>,
    requete: &HttpRequest,
    partenaire: Option<Uuid>,
    client_id: &String,
) -> Result<Arc<EnVol>, Depassement> {
    let admission = limiteur.admettre(partenaire, client_id).await?;
    requete.extensions_mut().insert(admission.etat);
    if let Some(p) = partenaire {
        requete.extensions_mut().insert(PartenaireRequete(p));
    }
    admission.en_vol
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
