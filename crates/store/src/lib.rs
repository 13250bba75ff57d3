//! Persistence of the ONDE partner gateway: one code path over PostgreSQL (production) and
//! SQLite (embedded default), pooled connections, embedded migrations, read queries that
//! always AND the caller's perimeter, and the bulk loading of generated data (the generator
//! itself is the `onde-seed` crate).
//!
//! Functions take a `&mut DbConnection` and are blocking: the HTTP layer runs them off its
//! async workers.

mod backend;
mod connection;
pub mod definitions;
mod error;
mod lignes;
pub mod migrations;
pub mod pagination;
mod perimetre;
pub mod schema;

pub mod audit;
pub mod changements;
pub mod chargement;
pub mod cles;
pub mod communes;
pub mod ecoles;
pub mod eleves;
pub mod empreinte;
pub mod idempotence;
pub mod imports;
pub mod inscriptions;
pub mod lots;
pub mod partenaires;
pub mod tableur;

#[cfg(feature = "testing")]
pub mod testing;

pub use backend::{verrou_ecriture, Backend, Db, DbConnection};
pub use connection::{Connexion, OptionsPool, Store, UrlBase};

/// diesel's error type, for callers that run transactions.
pub use diesel::result as diesel_erreur;
pub use error::StoreError;

pub use pagination::{Curseur, DemandePage, Page};
