//! What every request needs, shared by all workers: the application state.

use std::sync::Arc;

use onde_store::Store;

use crate::ateliers::{Ateliers, ConfigImports};
use crate::auth::cache_partenaires::CachePartenaires;
use crate::auth::exigences::{Chemins, Exigences};
use crate::auth::jeton::Trousseau;
use crate::middleware::compression::ConfigCompression;
use crate::middleware::limites::{ConfigLimites, Limiteur};
use crate::securite::auditeur::Auditeur;

/// What every request needs, shared by all workers.
#[derive(Clone)]
pub struct EtatApp {
    pub store: Store,
    pub trousseau: Arc<Trousseau>,
    pub exigences: Arc<Exigences>,
    pub chemins: Arc<Chemins>,
    pub partenaires: Arc<CachePartenaires>,
    pub auditeur: Auditeur,
    pub limiteur: Arc<Limiteur>,
    /// Where pulls read (lists, CSV exports, the change feed): a read replica, or the primary.
    pub lecture: Store,
    /// Spool directory of uploads (`None`: `ONDE_IMPORTS_DOSSIER` or the temporary directory).
    pub dossier_imports: Option<std::path::PathBuf>,
    /// The import workers of this node and their queue.
    pub imports: Arc<Ateliers>,
    /// When and how answers are compressed.
    pub compression: ConfigCompression,
}

impl EtatApp {
    /// Pulls read from this store (a PostgreSQL read replica). Writes, single resources read
    /// before a write, and everything a partner reads right after writing stay on the primary.
    pub fn avec_lecture(mut self, lecture: Store) -> Self {
        self.lecture = lecture;
        self
    }

    pub fn avec_dossier_imports(mut self, dossier: std::path::PathBuf) -> Self {
        self.dossier_imports = Some(dossier);
        self
    }

    /// Replaces the default import workers, queue and line bound (configuration).
    pub fn avec_imports(mut self, config: ConfigImports) -> Self {
        self.imports = Ateliers::demarrer(self.store.clone(), config);
        self
    }

    /// Replaces the default compression (configuration).
    pub fn avec_compression(mut self, config: ConfigCompression) -> Self {
        self.compression = config;
        self
    }

    /// Replaces the default rate limits (configuration).
    pub fn avec_limites(mut self, config: ConfigLimites) -> Self {
        self.limiteur = Limiteur::new(config);
        self
    }
}
