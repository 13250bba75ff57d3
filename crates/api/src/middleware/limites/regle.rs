//! What the limits are: the rules (rate, burst, requests in flight), the optional Redis server
//! that shares them between nodes, and what a request learns of them (its state, or why it is
//! refused). Types only: the node's own limiter and the one shared through Redis both read
//! them.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use uuid::Uuid;

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

/// Token requests with unknown client ids: a few a second (each costs a decoy argon2
/// verification, so that answers do not tell which ids exist).
pub const REGLE_INCONNUS: Regle = Regle {
    par_seconde: 5,
    rafale: 10,
    simultanees: 1,
};

/// The Redis server through which every node shares the same buckets and counts of requests
/// in flight (`[limites.redis]`).
#[derive(Clone)]
pub struct ConfigRedis {
    /// `redis://[:password@]host:port[/db]` (or `rediss://` for TLS).
    pub url: String,
    /// Prefix of every key, so that several gateways (or tests) can share one server.
    pub prefixe: String,
    /// Longest wait for Redis on a request; past it the request is served under the node's
    /// own limits.
    pub delai: Duration,
    /// After a failure, how long the node keeps to its own limits before it tries Redis again.
    pub reessai: Duration,
}

impl ConfigRedis {
    pub const PREFIXE: &'static str = "onde:limites";
    pub const DELAI: Duration = Duration::from_millis(50);
    pub const REESSAI: Duration = Duration::from_secs(2);

    /// A server with the default prefix and delays.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefixe: Self::PREFIXE.into(),
            delai: Self::DELAI,
            reessai: Self::REESSAI,
        }
    }

    /// The URL with its password, if any, masked (for logs and `--afficher-config`).
    pub fn url_masquee(&self) -> String {
        masquer(&self.url)
    }
}

/// `redis://user:secret@host` -> `redis://user:***@host`.
pub fn masquer(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(debut), Some(fin)) if fin > debut + 3 => {
            let identite = &url[debut + 3..fin];
            let utilisateur = identite.split_once(':').map_or("", |(u, _)| u);
            format!("{}{utilisateur}:***{}", &url[..debut + 3], &url[fin..])
        }
        _ => url.to_owned(),
    }
}

// The URL may carry the server's password: never printed.
impl std::fmt::Debug for ConfigRedis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigRedis")
            .field("url", &self.url_masquee())
            .field("prefixe", &self.prefixe)
            .field("delai", &self.delai)
            .field("reessai", &self.reessai)
            .finish()
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
    /// Limits shared by every node through Redis; `None`: each node keeps its own.
    pub redis: Option<ConfigRedis>,
}

impl Default for ConfigLimites {
    fn default() -> Self {
        Self {
            defaut: Regle::default(),
            partenaires: HashMap::new(),
            inconnus: REGLE_INCONNUS,
            redis: None,
        }
    }
}

impl ConfigLimites {
    /// Every number must be at least 1; a Redis URL must be one.
    pub fn verifier(&self) -> Result<(), String> {
        let ok = |r: &Regle| r.par_seconde >= 1 && r.rafale >= 1 && r.simultanees >= 1;
        if !ok(&self.defaut) || self.inconnus.par_seconde < 1 || self.inconnus.rafale < 1 {
            return Err("limites : par_seconde, rafale et simultanees valent au moins 1".into());
        }
        if let Some((id, _)) = self.partenaires.iter().find(|(_, r)| !ok(r)) {
            return Err(format!(
                "limites du partenaire {id} : par_seconde, rafale et simultanees valent au moins 1"
            ));
        }
        if let Some(r) = &self.redis {
            redis::Client::open(r.url.as_str())
                .map_err(|e| format!("limites.redis.url « {} » : {e}", r.url_masquee()))?;
            if r.prefixe.is_empty() {
                return Err("limites.redis.prefixe ne peut pas être vide".into());
            }
            if r.delai.is_zero() || r.reessai.is_zero() {
                return Err("limites.redis : delai_ms et reessai_ms valent au moins 1".into());
            }
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    #[test]
    fn mot_de_passe_masque() {
        assert_eq!(super::masquer("redis://:secret@r:6379/0"), "redis://:***@r:6379/0");
        assert_eq!(super::masquer("rediss://onde:s@c:r@h"), "rediss://onde:***@h");
        assert_eq!(super::masquer("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
