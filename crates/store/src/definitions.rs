//! The replaceable schema: the change feed's trigger functions and triggers, and the trigger
//! keeping the audit trail append-only, as `.sql` files (`crates/store/sql/<backend>/`), one
//! source per backend. Migrations hold tables, indexes and data changes; after them, every
//! [`crate::migrations::appliquer`] compares these definitions with the database's catalogue
//! and re-applies the files, in one transaction, when a definition is missing or differs. So a
//! function is changed by editing its file and every base (new, or migrated by an older
//! version) ends with the same definitions, while a start on an up-to-date base takes no lock
//! on the tables (re-creating a trigger locks its table until commit, behind any write in
//! progress). Each file is idempotent: `CREATE OR REPLACE FUNCTION`, `DROP TRIGGER IF EXISTS`
//! then `CREATE TRIGGER`.

mod ecarts;
mod fichiers;

use diesel::connection::SimpleConnection;
use diesel::Connection;

use crate::backend::{Backend, DbConnection};
use crate::error::StoreError;

pub use ecarts::{attendues, ecarts, en_base, Definitions};
pub use fichiers::{de, Definition, POSTGRES, SQLITE};

/// Re-applies the files of `conn`'s backend if the database's definitions differ from them
/// (logged at info: which ones). Definitions present in the database only (another tool's
/// function in the schema) are logged at warn and left alone: the files cannot remove them,
/// so re-applying for them would lock the tables on every start for nothing. On PostgreSQL
/// the caller holds the migrations' advisory lock.
pub(crate) fn mettre_a_jour(conn: &mut DbConnection) -> Result<(), StoreError> {
    let (a_refaire, en_trop): (Vec<_>, Vec<_>) = ecarts::comparer(conn)?
        .into_iter()
        .partition(ecarts::Ecart::corrige_par_les_fichiers);
    if !en_trop.is_empty() {
        let noms: Vec<&str> = en_trop.iter().map(ecarts::Ecart::nom).collect();
        tracing::warn!(?noms, "définitions en base absentes des fichiers du schéma remplaçable");
    }
    if a_refaire.is_empty() {
        return Ok(());
    }
    let noms: Vec<&str> = a_refaire.iter().map(ecarts::Ecart::nom).collect();
    tracing::info!(
        ?noms,
        "schéma remplaçable : définitions différentes des fichiers, réapplication"
    );
    match conn {
        DbConnection::Pg(c) => appliquer(c, de(Backend::Postgres)),
        DbConnection::Sqlite(c) => appliquer(c, de(Backend::Sqlite)),
    }
}

/// Applies `definitions` in one transaction (a failing file leaves the previous definitions in
/// place).
fn appliquer<C: Connection + SimpleConnection>(c: &mut C, definitions: &[Definition]) -> Result<(), StoreError> {
    c.transaction(|c| {
        for d in definitions {
            c.batch_execute(d.sql)
                .map_err(|e| StoreError::Migration(format!("{} : {e}", d.fichier)))?;
        }
        Ok(())
    })
}
