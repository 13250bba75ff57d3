//! Limits shared by every node of the cluster through Redis: each request runs one atomic
//! script ([`admettre.lua`](admettre.lua), EVALSHA) that takes a token of the client's bucket
//! (GCRA on Redis' clock, same counts as governor's on one node) and a place among its requests
//! in flight (a sorted set of leases: a node that dies leaves places that expire, the places of
//! a living node are renewed in the background). A place is given back when the answer ends,
//! streamed or not (the guard [`Place`] goes with the request's `EnVol`).
//!
//! Redis unreachable, failing or slower than `delai`: the request is served under the node's
//! own limits ([`crate::middleware::limites::Limiteur`]), `onde_limites_repli_total` counts it,
//! a warning is logged (once, then at most once a minute), and Redis is tried again after
//! `reessai`; Redis never turns a request into a 5xx.
//!
//! The connection lives on a thread of its own (a one-thread tokio runtime): its driver task is
//! polled whatever the HTTP workers do, reconnection happens there and not on a request, and
//! places are given back from there when a request's guard drops (in synchronous code).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redis::aio::MultiplexedConnection;
use redis::io::tcp::TcpSettings;
use redis::{AsyncConnectionConfig, Client, IntoConnectionInfo, Script};
use tokio::sync::oneshot;

use super::regle::{ConfigRedis, Depassement, EtatLimite, Regle};
use crate::middleware::metriques;

/// Lease of a place in flight: renewed every third of it while its node lives; a dead node's
/// places are dropped by the next admission of the same client after that.
const BAIL: Duration = Duration::from_secs(30);
/// Connecting (in the background; at start, the node waits that long for Redis at most).
const CONNEXION_MAX: Duration = Duration::from_secs(1);
/// At most one reminder a minute in the logs while the node keeps to its own limits.
const RAPPEL: Duration = Duration::from_secs(60);
/// Places whose release did not reach Redis, kept to be given back once it answers again (past
/// their lease they are gone anyway); beyond this many, the others wait for their lease.
const A_RENDRE_MAX: usize = 10_000;

/// Places to give back: when the release failed, the key and id of the place.
type ARendre = Mutex<Vec<(Instant, String, String)>>;

/// What Redis said of a request, or that it said nothing in time.
pub(super) enum Verdict {
    /// Within the rate (and given a place, when one was asked for).
    Admis(EtatLimite, Option<Place>),
    /// Over the rate.
    Refuse(Depassement),
    /// Within the rate (the token is spent) but over the cap of requests in flight.
    Plafond(EtatLimite, u32),
    /// No answer: the caller applies the node's own limits.
    Repli,
}

/// The shared limiter of this node.
pub struct Grappe {
    config: ConfigRedis,
    client: Client,
    admission: Script,
    renouvellement: Script,
    etat: Mutex<Etat>,
    /// A failure was logged and no request has gone through Redis since.
    degradee: AtomicBool,
    /// This node's id in the places it holds (random, so ids never collide across nodes).
    noeud: String,
    suivant: AtomicU64,
    /// Places held by this node's requests: id -> key of the client's set (renewed in the
    /// background).
    tenues: Mutex<HashMap<u64, String>>,
    /// Releases that failed (Redis lost as a request ended): sent again on reconnection, so a
    /// blip does not cost a client its places for a whole lease.
    a_rendre: Arc<ARendre>,
    /// The Redis thread's runtime, where places are given back.
    fond: tokio::runtime::Handle,
    /// Dropped with the limiter: the Redis thread then ends.
    _arret: oneshot::Sender<()>,
}

#[derive(Default)]
struct Etat {
    connexion: Option<MultiplexedConnection>,
    /// Redis' clock minus this node's (us), measured at each maintenance tick: a request tells
    /// the script when it stops waiting, in Redis' time.
    decalage_us: i64,
    /// After a failure, no request tries Redis before this instant.
    suspendue_jusqu_a: Option<Instant>,
    /// Requests served under the node's own limits since the last failure was logged.
    replis: u64,
    dernier_journal: Option<Instant>,
}

impl std::fmt::Debug for Grappe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grappe").field("config", &self.config).finish()
    }
}

/// A place among a client's requests in flight, held in Redis until dropped.
#[derive(Debug)]
pub struct Place {
    grappe: Arc<Grappe>,
    id: u64,
    cle: String,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.grappe.liberer(self.id, std::mem::take(&mut self.cle));
    }
}

/// 1 s / rate and the burst's tolerance, in microseconds (governor's GCRA with a
/// microsecond clock).
fn intervalles(regle: &Regle) -> (u64, u64) {
    let t = (1_000_000 / u64::from(regle.par_seconde.max(1))).max(1);
    (t, t * u64::from(regle.rafale.max(1) - 1))
}

impl Grappe {
    /// Starts the Redis thread and waits (at most [`CONNEXION_MAX`]) for its first connection:
    /// a node whose Redis answers starts with shared limits.
    pub fn demarrer(config: ConfigRedis) -> Result<Arc<Self>, String> {
        // TCP_NODELAY (redis-rs leaves Nagle on): small commands pipelined on one connection
        // must not wait for the previous one's ACK (with Nagle, the p99 at 16 connections was
        // about 200 ms, Linux's longest delayed ACK: docs/BENCHMARKS.md, "Issue 19, item 2").
        let info = config
            .url
            .as_str()
            .into_connection_info()
            .map(|i| i.set_tcp_settings(TcpSettings::default().set_nodelay(true)))
            .map_err(|e| format!("limites.redis.url : {e}"))?;
        let client = Client::open(info).map_err(|e| format!("limites.redis.url : {e}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("limites.redis : {e}"))?;
        let (arret, fin) = oneshot::channel();
        let grappe = Arc::new(Self {
            config,
            client,
            admission: Script::new(include_str!("admettre.lua")),
            renouvellement: Script::new(include_str!("renouveler.lua")),
            etat: Mutex::new(Etat::default()),
            degradee: AtomicBool::new(false),
            noeud: format!("{:016x}", rand::random::<u64>()),
            suivant: AtomicU64::new(0),
            tenues: Mutex::new(HashMap::new()),
            a_rendre: Arc::new(Mutex::new(Vec::new())),
            fond: runtime.handle().clone(),
            _arret: arret,
        });
        let (pret, attendre) = mpsc::channel();
        let faible = Arc::downgrade(&grappe);
        std::thread::Builder::new()
            .name("limites-redis".into())
            .spawn(move || runtime.block_on(entretien(faible, fin, pret)))
            .map_err(|e| format!("limites.redis : {e}"))?;
        // Whatever the outcome: without Redis the node starts on its own limits.
        let _ = attendre.recv_timeout(CONNEXION_MAX + Duration::from_millis(200));
        Ok(grappe)
    }

    /// A token of `cle`'s bucket under `regle`, and a place among `en_vol`'s requests in flight.
    pub(super) async fn admettre(self: &Arc<Self>, cle: &str, en_vol: Option<&str>, regle: &Regle) -> Verdict {
        let Some((mut connexion, decalage_us)) = self.connexion() else {
            self.repli();
            return Verdict::Repli;
        };
        let echeance = maintenant_us() + decalage_us + self.config.delai.as_micros() as i64;
        let (t, tau) = intervalles(regle);
        let p = &self.config.prefixe;
        let place = en_vol.map(|c| (self.suivant.fetch_add(1, Ordering::Relaxed), format!("{p}:en_vol:{c}")));
        let mut appel = self.admission.key(format!("{p}:{cle}"));
        if let Some((_, cle_en_vol)) = &place {
            appel.key(cle_en_vol);
        }
        appel
            .arg(t)
            .arg(tau)
            .arg(regle.simultanees)
            .arg(BAIL.as_millis() as u64)
            .arg(place.as_ref().map(|(id, _)| self.membre(*id)).unwrap_or_default())
            .arg(echeance);
        let reponse =
            tokio::time::timeout(self.config.delai, appel.invoke_async::<(u8, u64, u32)>(&mut connexion)).await;
        let (verdict, attente_us, restant) = match reponse {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                self.panne(&e.to_string());
                self.repli();
                return Verdict::Repli;
            }
            Err(_) => {
                self.panne(&format!("pas de réponse en {} ms", self.config.delai.as_millis()));
                self.repli();
                return Verdict::Repli;
            }
        };
        if verdict == 3 {
            // Only with a clock measure off by more than the delay: measured again on reconnection.
            self.panne("réponse après l'échéance de la requête (horloge de Redis ?)");
            self.repli();
            return Verdict::Repli;
        }
        if self.degradee.load(Ordering::Relaxed) {
            self.retablie();
        }
        let etat = EtatLimite {
            rafale: regle.rafale,
            par_seconde: regle.par_seconde,
            restant,
        };
        match verdict {
            0 => Verdict::Refuse(Depassement::Debit {
                reessayer: Duration::from_micros(attente_us),
                etat,
            }),
            2 => Verdict::Plafond(etat, regle.simultanees),
            _ => Verdict::Admis(
                etat,
                place.map(|(id, cle)| {
                    if let Ok(mut t) = self.tenues.lock() {
                        t.insert(id, cle.clone());
                    }
                    Place {
                        grappe: self.clone(),
                        id,
                        cle,
                    }
                }),
            ),
        }
    }

    fn membre(&self, id: u64) -> String {
        format!("{}:{id}", self.noeud)
    }

    /// The connection and the clocks' offset, unless there is no connection or the node is in
    /// its back-off after a failure.
    fn connexion(&self) -> Option<(MultiplexedConnection, i64)> {
        let e = self.etat.lock().ok()?;
        match e.suspendue_jusqu_a {
            Some(t) if Instant::now() < t => None,
            _ => e.connexion.clone().map(|c| (c, e.decalage_us)),
        }
    }

    /// A failure: the connection is dropped (a fresh one is opened in the background after
    /// the back-off: a connection that timed out may be half-dead), logged once.
    fn panne(&self, cause: &str) {
        let Ok(mut e) = self.etat.lock() else { return };
        e.connexion = None;
        let maintenant = Instant::now();
        e.suspendue_jusqu_a = Some(maintenant + self.config.reessai);
        if !self.degradee.swap(true, Ordering::Relaxed) {
            e.dernier_journal = Some(maintenant);
            e.replis = 0;
            tracing::warn!(
                redis = %self.config.url_masquee(),
                cause,
                reessai_ms = self.config.reessai.as_millis() as u64,
                "limites partagées indisponibles (Redis) : ce nœud applique ses propres limites"
            );
        }
    }

    /// One request served under the node's own limits.
    fn repli(&self) {
        metriques::repli_limites();
        let Ok(mut e) = self.etat.lock() else { return };
        e.replis += 1;
        let maintenant = Instant::now();
        if e.dernier_journal.is_none_or(|t| maintenant.duration_since(t) >= RAPPEL) {
            e.dernier_journal = Some(maintenant);
            tracing::warn!(
                redis = %self.config.url_masquee(),
                replis = e.replis,
                "limites partagées toujours indisponibles (Redis) : ce nœud applique ses propres limites"
            );
        }
    }

    fn retablie(&self) {
        if self.degradee.swap(false, Ordering::Relaxed) {
            let replis = self.etat.lock().map(|e| e.replis).unwrap_or(0);
            tracing::info!(redis = %self.config.url_masquee(), replis, "limites partagées rétablies (Redis)");
        }
    }

    /// Gives a place back, from the Redis thread (this runs where a request's guard drops, in
    /// synchronous code). Without a connection, or if this fails, the place is given back on
    /// reconnection ([`A_RENDRE_MAX`] at most), else expires with its lease.
    fn liberer(&self, id: u64, cle: String) {
        if let Ok(mut t) = self.tenues.lock() {
            t.remove(&id);
        }
        let membre = self.membre(id);
        let Some((mut connexion, _)) = self.connexion() else {
            garder(&self.a_rendre, cle, membre);
            return;
        };
        let a_rendre = self.a_rendre.clone();
        self.fond.spawn(async move {
            let mut zrem = redis::cmd("ZREM");
            zrem.arg(&cle).arg(&membre);
            if !matches!(
                tokio::time::timeout(CONNEXION_MAX, zrem.query_async::<()>(&mut connexion)).await,
                Ok(Ok(()))
            ) {
                garder(&a_rendre, cle, membre);
            }
        });
    }

    /// Sends again the releases that failed, those still within their lease.
    async fn rendre(&self, connexion: &mut MultiplexedConnection) {
        let places: Vec<(Instant, String, String)> = match self.a_rendre.lock() {
            Ok(mut v) => v.drain(..).filter(|(t, _, _)| t.elapsed() < BAIL).collect(),
            Err(_) => return,
        };
        if places.is_empty() {
            return;
        }
        let mut p = redis::pipe();
        for (_, cle, membre) in &places {
            p.cmd("ZREM").arg(cle).arg(membre).ignore();
        }
        if !matches!(
            tokio::time::timeout(CONNEXION_MAX, p.query_async::<()>(connexion)).await,
            Ok(Ok(()))
        ) {
            for (_, cle, membre) in places {
                garder(&self.a_rendre, cle, membre);
            }
        }
    }

    /// Opens the connection when there is none and the back-off is over (scripts loaded, so a
    /// request's EVALSHA never has to), measures the clocks' offset (which also finds a lost
    /// Redis without waiting for a request), and renews the leases of the places held.
    async fn entretenir(&self, renouveler: bool) {
        let (connexion, a_ouvrir) = match self.etat.lock() {
            Ok(e) => (
                e.connexion.clone(),
                e.connexion.is_none() && e.suspendue_jusqu_a.is_none_or(|t| Instant::now() >= t),
            ),
            Err(_) => return,
        };
        let nouvelle = connexion.is_none();
        let ouverte = match connexion {
            Some(c) => Some(Ok(c)),
            None if a_ouvrir => Some(self.ouvrir().await),
            None => None,
        };
        if let Some(ouverte) = ouverte {
            let mesure = match ouverte {
                Ok(mut c) => match tokio::time::timeout(CONNEXION_MAX, horloge(&mut c)).await {
                    Ok(Ok(d)) => Ok((c, d)),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err(format!("TIME sans réponse en {} ms", CONNEXION_MAX.as_millis())),
                },
                Err(cause) => Err(cause),
            };
            match mesure {
                Ok((c, decalage_us)) => {
                    if let Ok(mut e) = self.etat.lock() {
                        e.decalage_us = decalage_us;
                        // A connection a request has given up on meanwhile stays given up.
                        if nouvelle {
                            e.connexion = Some(c);
                            e.suspendue_jusqu_a = None;
                        }
                    }
                }
                Err(cause) => self.panne(&cause),
            }
        }
        let Some((mut connexion, _)) = self.connexion() else {
            return;
        };
        self.rendre(&mut connexion).await;
        let tenues: Vec<(u64, String)> = match self.tenues.lock() {
            Ok(t) if renouveler && !t.is_empty() => t.iter().map(|(id, c)| (*id, c.clone())).collect(),
            _ => return,
        };
        let mut appel = self.renouvellement.prepare_invoke();
        for (_, cle) in &tenues {
            appel.key(cle);
        }
        for (id, _) in &tenues {
            appel.arg(self.membre(*id));
        }
        appel.arg(BAIL.as_millis() as u64);
        if let Ok(Err(e)) = tokio::time::timeout(CONNEXION_MAX, appel.invoke_async::<u64>(&mut connexion)).await {
            tracing::debug!(erreur = %e, "renouvellement des places en vol (Redis)");
        }
    }

    async fn ouvrir(&self) -> Result<MultiplexedConnection, String> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNEXION_MAX))
            .set_response_timeout(Some(CONNEXION_MAX));
        let ouvrir = async {
            let mut c = self
                .client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            self.admission.load_async(&mut c).await?;
            self.renouvellement.load_async(&mut c).await?;
            Ok::<_, redis::RedisError>(c)
        };
        match tokio::time::timeout(CONNEXION_MAX * 2, ouvrir).await {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!(
                "connexion sans réponse en {} ms",
                (CONNEXION_MAX * 2).as_millis()
            )),
        }
    }
}

fn garder(a_rendre: &ARendre, cle: String, membre: String) {
    if let Ok(mut v) = a_rendre.lock() {
        if v.len() < A_RENDRE_MAX {
            v.push((Instant::now(), cle, membre));
        }
    }
}

fn maintenant_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Redis' clock minus this node's, in microseconds (to half a round trip).
async fn horloge(c: &mut MultiplexedConnection) -> redis::RedisResult<i64> {
    let avant = maintenant_us();
    let (secondes, micro): (i64, i64) = redis::cmd("TIME").query_async(c).await?;
    let apres = maintenant_us();
    Ok(secondes * 1_000_000 + micro - (avant + apres) / 2)
}

/// The Redis thread: (re)connects and renews leases until the limiter is dropped.
async fn entretien(grappe: Weak<Grappe>, mut fin: oneshot::Receiver<()>, pret: mpsc::Sender<()>) {
    let mut pret = Some(pret);
    let mut dernier_renouvellement = Instant::now();
    loop {
        let Some(g) = grappe.upgrade() else { return };
        let renouveler = dernier_renouvellement.elapsed() >= BAIL / 3;
        if renouveler {
            dernier_renouvellement = Instant::now();
        }
        g.entretenir(renouveler).await;
        if let Some(p) = pret.take() {
            let _ = p.send(());
        }
        let pas = g.config.reessai.min(BAIL / 3).max(Duration::from_millis(10));
        drop(g);
        // Ends when the limiter is dropped (its sender with it).
        if tokio::time::timeout(pas, &mut fin).await.is_ok() {
            return;
        }
    }
}
