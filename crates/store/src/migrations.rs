//! Migrations of both backends, embedded in the binary.

use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::{DbConnection, StoreError};

pub const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
pub const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Arbitrary key of the advisory lock that serialises migrations of concurrent nodes.
const VERROU_MIGRATIONS: i64 = 0x4f4e_4445;

fn en_texte(versions: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    versions.into_iter().map(|v| v.to_string()).collect()
}

/// Applies pending migrations. On PostgreSQL, several nodes starting together take turns.
pub fn appliquer(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    let erreur = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(e.to_string());
    match conn {
        DbConnection::Pg(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({VERROU_MIGRATIONS})"))?;
            let resultat = c.run_pending_migrations(POSTGRES).map(en_texte).map_err(erreur);
            c.batch_execute(&format!("SELECT pg_advisory_unlock({VERROU_MIGRATIONS})"))?;
            resultat
        }
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE).map(en_texte).map_err(erreur),
    }
}

/// Reverts every migration (tests check that each `down.sql` works).
pub fn tout_annuler(conn: &mut DbConnection) -> Result<(), StoreError> {
    let erreur = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(e.to_string());
    match conn {
        DbConnection::Pg(c) => c.revert_all_migrations(POSTGRES).map(|_| ()).map_err(erreur),
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE).map(|_| ()).map_err(erreur),
    }
}
