//! The replaceable schema: the change feed's trigger functions and triggers, and the trigger
//! keeping the audit trail append-only, as `.sql` files (`crates/store/sql/<backend>/`), one
//! source per backend. Migrations hold tables, indexes and data changes; these definitions are
//! re-applied after them on every [`crate::migrations::appliquer`], in one transaction, so a
//! function is changed by editing its file and every base (new, or migrated by an older
//! version) ends with the same definitions. Each file is idempotent: `CREATE OR REPLACE
//! FUNCTION`, `DROP TRIGGER IF EXISTS` then `CREATE TRIGGER`.

use diesel::connection::SimpleConnection;
use diesel::Connection;

use crate::backend::Backend;
use crate::error::StoreError;

/// One definition file.
#[derive(Debug, Clone, Copy)]
pub struct Definition {
    /// File name under `crates/store/sql/<backend>/`.
    pub fichier: &'static str,
    pub sql: &'static str,
}

macro_rules! definitions {
    ($dossier:literal: $($fichier:literal),* $(,)?) => {
        &[$(Definition {
            fichier: $fichier,
            sql: include_str!(concat!("../sql/", $dossier, "/", $fichier)),
        }),*]
    };
}

/// PostgreSQL, in the order they are applied: the helpers before the triggers calling them.
pub const POSTGRES: &[Definition] = definitions!("postgres":
    "changements_noter.sql",
    "changements_ecoles.sql",
    "changements_eleves.sql",
    "changements_inscriptions.sql",
    "changements_responsables.sql",
    "changements_liens.sql",
    "audit.sql",
);

/// SQLite (triggers only: it has no stored functions).
pub const SQLITE: &[Definition] = definitions!("sqlite":
    "changements_ecoles.sql",
    "changements_eleves.sql",
    "changements_inscriptions.sql",
    "changements_responsables.sql",
    "changements_liens.sql",
    "audit.sql",
);

/// The definitions of one backend.
pub fn de(backend: Backend) -> &'static [Definition] {
    match backend {
        Backend::Postgres => POSTGRES,
        Backend::Sqlite => SQLITE,
    }
}

/// Applies `definitions` in one transaction (a failing file leaves the previous definitions in
/// place). On PostgreSQL the caller holds the migrations' advisory lock.
pub(crate) fn appliquer<C: Connection + SimpleConnection>(
    c: &mut C,
    definitions: &[Definition],
) -> Result<(), StoreError> {
    c.transaction(|c| {
        for d in definitions {
            c.batch_execute(d.sql)
                .map_err(|e| StoreError::Migration(format!("{} : {e}", d.fichier)))?;
        }
        Ok(())
    })
}
