//! Persistence of the ONDE partner gateway: one code path over PostgreSQL (production) and
//! SQLite (embedded default), pooled connections, embedded migrations, read queries that
//! always AND the caller's perimeter, and the bulk loading of generated data (the generator
//! itself is the `onde-seed` crate).
//!
//! Functions take a `&mut DbConnection` and are blocking: the HTTP layer runs them off its
//! async workers.

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
pub mod idempotence;
pub mod imports;
pub mod inscriptions;
pub mod lots;
pub mod partenaires;
pub mod tableur;

#[cfg(feature = "testing")]
pub mod testing;

pub use connection::{Backend, Connexion, DbConnection, OptionsPool, Store, UrlBase};

/// Takes the database's write lock at the start of a write transaction. SQLite otherwise starts
/// a transaction as a reader and fails with SQLITE_BUSY, without waiting, when it must upgrade a
/// stale snapshot to write; taking the lock first makes concurrent writers queue (busy_timeout)
/// instead. PostgreSQL needs nothing: row locks and unique indexes arbitrate.
pub fn verrou_ecriture(conn: &mut DbConnection) -> Result<(), StoreError> {
    use diesel::RunQueryDsl;
    if let DbConnection::Sqlite(c) = conn {
        // A write statement that changes nothing still opens the write transaction.
        diesel::sql_query("UPDATE idempotence SET cle = cle WHERE 0 = 1").execute(c)?;
    }
    Ok(())
}
/// diesel's error type, for callers that run transactions.
pub use diesel::result as diesel_erreur;
pub use error::StoreError;

/// The backend type of [`DbConnection`] (diesel's MultiBackend).
pub type Db = <DbConnection as diesel::Connection>::Backend;
pub use pagination::{Curseur, DemandePage, Page};
