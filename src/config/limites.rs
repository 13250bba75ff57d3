//! `[limites]`: each client's rate, burst and requests in flight, partners' own rules, the
//! bucket of unknown client ids, and `[limites.redis]`, the server through which every node
//! shares them (the limiter is crates/api/src/middleware/limites.rs).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use onde_api::middleware::limites::{ConfigLimites, ConfigRedis, Regle, REGLE_INCONNUS};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limites {
    pub par_seconde: u32,
    pub rafale: u32,
    pub simultanees: u32,
    /// The one bucket shared by token requests naming an unknown client id.
    pub inconnus_par_seconde: u32,
    pub inconnus_rafale: u32,
    /// Partner id -> its own rule.
    pub partenaires: HashMap<String, RegleConfig>,
    /// Limits shared by every node through Redis (absent: each node keeps its own).
    pub redis: Option<Redis>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegleConfig {
    pub par_seconde: u32,
    pub rafale: u32,
    pub simultanees: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Redis {
    /// `redis://host:6379`; or read from `url_fichier` (a secret file, when it holds a password).
    pub url: Option<String>,
    pub url_fichier: Option<PathBuf>,
    /// Prefix of the keys (several gateways may share one server).
    pub prefixe: String,
    /// Longest wait for Redis on a request, in milliseconds; past it, the node's own limits.
    pub delai_ms: u64,
    /// After a failure, milliseconds before the node tries Redis again.
    pub reessai_ms: u64,
}

impl Default for Limites {
    fn default() -> Self {
        let r = Regle::default();
        Self {
            par_seconde: r.par_seconde,
            rafale: r.rafale,
            simultanees: r.simultanees,
            inconnus_par_seconde: REGLE_INCONNUS.par_seconde,
            inconnus_rafale: REGLE_INCONNUS.rafale,
            partenaires: HashMap::new(),
            redis: None,
        }
    }
}

impl Default for Redis {
    fn default() -> Self {
        Self {
            url: None,
            url_fichier: None,
            prefixe: ConfigRedis::PREFIXE.into(),
            delai_ms: ConfigRedis::DELAI.as_millis() as u64,
            reessai_ms: ConfigRedis::REESSAI.as_millis() as u64,
        }
    }
}

/// Upper bounds: a wait of a second for a rate limit is already an outage.
const DELAI_MAX_MS: u64 = 1000;
const REESSAI_MAX_MS: u64 = 300_000;

impl Limites {
    /// Checked: partner ids, numbers at least 1, one Redis URL (`lire_secret` reads the file).
    pub fn resoudre(
        &self,
        lire_secret: impl Fn(&std::path::Path, &str) -> anyhow::Result<String>,
    ) -> anyhow::Result<ConfigLimites> {
        let regle = |r: &RegleConfig| Regle {
            par_seconde: r.par_seconde,
            rafale: r.rafale,
            simultanees: r.simultanees,
        };
        let mut partenaires = HashMap::new();
        for (id, r) in &self.partenaires {
            let id = Uuid::parse_str(id).map_err(|_| {
                anyhow::anyhow!("limites.partenaires : « {id} » n'est pas un identifiant de partenaire")
            })?;
            partenaires.insert(id, regle(r));
        }
        let redis = match &self.redis {
            None => None,
            Some(r) => {
                let url = match (&r.url, &r.url_fichier) {
                    (Some(_), Some(_)) => bail!("limites.redis.url et limites.redis.url_fichier s'excluent"),
                    (Some(u), None) => u.clone(),
                    (None, Some(f)) => lire_secret(f, "limites.redis.url_fichier")?,
                    (None, None) => bail!("limites.redis : url ou url_fichier attendu"),
                };
                if !(1..=DELAI_MAX_MS).contains(&r.delai_ms) {
                    bail!("limites.redis.delai_ms vaut de 1 à {DELAI_MAX_MS}, pas {}", r.delai_ms);
                }
                if !(1..=REESSAI_MAX_MS).contains(&r.reessai_ms) {
                    bail!(
                        "limites.redis.reessai_ms vaut de 1 à {REESSAI_MAX_MS}, pas {}",
                        r.reessai_ms
                    );
                }
                Some(ConfigRedis {
                    url,
                    prefixe: r.prefixe.clone(),
                    delai: Duration::from_millis(r.delai_ms),
                    reessai: Duration::from_millis(r.reessai_ms),
                })
            }
        };
        let limites = ConfigLimites {
            defaut: Regle {
                par_seconde: self.par_seconde,
                rafale: self.rafale,
                simultanees: self.simultanees,
            },
            partenaires,
            inconnus: Regle {
                par_seconde: self.inconnus_par_seconde,
                rafale: self.inconnus_rafale,
                simultanees: 1,
            },
            redis,
        };
        limites.verifier().map_err(|e| anyhow::anyhow!(e))?;
        Ok(limites)
    }
}
