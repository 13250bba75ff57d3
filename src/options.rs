//! The options every one-shot command shares (database, configuration file) and opening the
//! database with them: a leaf module the commands import (the crate root only declares).

use clap::Args;
use onde_store::{OptionsPool, Store};

use crate::config;

const URL_PAR_DEFAUT: &str = "sqlite://data/onde.sqlite";

#[derive(Args, Clone)]
pub struct OptionsBase {
    /// Base de données : postgres://… (production) ou sqlite://CHEMIN / un chemin de fichier (embarqué).
    #[arg(long, env = "DATABASE_URL", default_value = URL_PAR_DEFAUT, hide_env_values = true)]
    pub database_url: String,
    /// Nombre maximal de connexions du pool.
    #[arg(long, env = "ONDE_POOL_TAILLE", default_value_t = 16)]
    pub pool_taille: u32,
}

/// A one-shot command that needs more than the database: the configuration of `serve` (file,
/// `ONDE__…` variables), e.g. the key-encryption keys or the retention periods.
#[derive(Args, Clone)]
pub struct OptionsConfig {
    /// Fichier de configuration TOML (celui de serve, voir deploy/onde-echanges.toml).
    #[arg(long, env = "ONDE_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// Base de données (base.url) : postgres://… ou sqlite://CHEMIN.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

impl OptionsConfig {
    pub fn charger(&self) -> anyhow::Result<config::Resolue> {
        config::charger(
            self.config.as_deref(),
            config::Surcharges {
                database_url: self.database_url.clone(),
                ..config::Surcharges::default()
            },
        )
    }
}

/// Opens the configured database for a one-shot command (no idle connection kept).
pub fn ouvrir_config(c: &config::Resolue) -> anyhow::Result<Store> {
    let options = OptionsPool {
        taille_max: c.brute.base.pool_taille,
        min_inactives: 0,
        ..OptionsPool::default()
    };
    Ok(Store::ouvrir(&c.url, &options)?)
}

/// The key-encryption keys a command needs (`cles …`): from the configuration, or an error
/// that says how to give them.
pub fn chiffrement_requis(c: &config::Resolue) -> anyhow::Result<onde_service::chiffrement::Chiffrement> {
    c.chiffrement.clone().ok_or_else(|| {
        anyhow::anyhow!(
            "jetons.cle_chiffrement_fichier (ONDE__JETONS__CLE_CHIFFREMENT_FICHIER) est obligatoire : un fichier \
             secret de 32 octets aléatoires en base64 (openssl rand -base64 32) qui chiffre les clés de signature \
             des jetons dans la base ; seul « serve --demo » s'en passe (il en crée un à côté des données)"
        )
    })
}

/// Opens the database for a one-shot command (no idle connection kept).
pub fn ouvrir(base: &OptionsBase) -> anyhow::Result<Store> {
    ouvrir_avec(base, 0)
}

fn ouvrir_avec(base: &OptionsBase, min_inactives: u32) -> anyhow::Result<Store> {
    if base.pool_taille == 0 {
        anyhow::bail!("ONDE_POOL_TAILLE/--pool-taille doit être au moins 1");
    }
    let options = OptionsPool {
        taille_max: base.pool_taille,
        min_inactives,
        ..OptionsPool::default()
    };
    Ok(Store::ouvrir(&base.database_url, &options)?)
}
