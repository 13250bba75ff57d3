//! The partner cache of the `Acces` extractor: partners by id with the version they were read
//! at, so that a request re-reads a definition only when it changed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use onde_domain::Partenaire;
use uuid::Uuid;

/// Partners by id with the version they were read at; bounded, and only a cache: every
/// request compares the version with the database's.
#[derive(Default)]
pub struct CachePartenaires(Mutex<HashMap<Uuid, (i64, Arc<Partenaire>)>>);

const TAILLE_MAX_CACHE: usize = 50_000;

impl CachePartenaires {
    pub fn lire(&self, id: Uuid, version: i64) -> Option<Arc<Partenaire>> {
        let carte = self.0.lock().ok()?;
        carte.get(&id).filter(|(v, _)| *v == version).map(|(_, p)| p.clone())
    }

    pub fn ecrire(&self, id: Uuid, version: i64, p: Arc<Partenaire>) {
        if let Ok(mut carte) = self.0.lock() {
            if carte.len() >= TAILLE_MAX_CACHE {
                carte.clear();
            }
            carte.insert(id, (version, p));
        }
    }
}
