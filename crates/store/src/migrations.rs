//! Migrations of both backends, embedded in the binary, followed by the replaceable schema
//! ([`crate::definitions`]) when it differs from its files.

use diesel::sql_types::BigInt;
use diesel::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::backend::DbConnection;
use crate::definitions;
use crate::error::StoreError;

pub const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
pub const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Arbitrary key of the advisory lock that serialises migrations of concurrent nodes.
const VERROU_MIGRATIONS: i64 = 0x4f4e_4445;

fn en_texte(versions: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    versions.into_iter().map(|v| v.to_string()).collect()
}

/// Applies pending migrations, then brings the replaceable schema up to date: its files are
/// re-applied only when the database's definitions differ from them (a base migrated by an
/// older version, a definition altered by hand), so a start on an up-to-date base takes no
/// lock on the tables. On PostgreSQL, several nodes starting together take turns (advisory
/// lock). Returns the migration versions applied.
pub fn appliquer(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    if let DbConnection::Pg(c) = conn {
        diesel::sql_query("SELECT pg_advisory_lock($1)")
            .bind::<BigInt, _>(VERROU_MIGRATIONS)
            .execute(c)?;
    }
    let resultat = migrer(conn).and_then(|v| definitions::mettre_a_jour(conn).map(|()| v));
    if let DbConnection::Pg(c) = conn {
        diesel::sql_query("SELECT pg_advisory_unlock($1)")
            .bind::<BigInt, _>(VERROU_MIGRATIONS)
            .execute(c)?;
    }
    resultat
}

fn migrer(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    let erreur = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(e.to_string());
    match conn {
        DbConnection::Pg(c) => c.run_pending_migrations(POSTGRES).map(en_texte).map_err(erreur),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE).map(en_texte).map_err(erreur),
    }
}

/// Reverts every migration (tests check that each `down.sql` works). The replaceable schema
/// goes with the tables it is defined on (the `down.sql` of their migrations drop it).
pub fn tout_annuler(conn: &mut DbConnection) -> Result<(), StoreError> {
    let erreur = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(e.to_string());
    match conn {
        DbConnection::Pg(c) => c.revert_all_migrations(POSTGRES).map(|_| ()).map_err(erreur),
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE).map(|_| ()).map_err(erreur),
    }
}
