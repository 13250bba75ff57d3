//! The replaceable schema's files, embedded: `crates/store/sql/<backend>/*.sql` in the order
//! they are applied.

use crate::backend::Backend;

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
            sql: include_str!(concat!("../../sql/", $dossier, "/", $fichier)),
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
    "empreintes.sql",
    "audit.sql",
);

/// SQLite (triggers only: it has no stored functions).
pub const SQLITE: &[Definition] = definitions!("sqlite":
    "changements_ecoles.sql",
    "changements_eleves.sql",
    "changements_inscriptions.sql",
    "changements_responsables.sql",
    "changements_liens.sql",
    "empreintes.sql",
    "audit.sql",
);

/// The definitions of one backend.
pub fn de(backend: Backend) -> &'static [Definition] {
    match backend {
        Backend::Postgres => POSTGRES,
        Backend::Sqlite => SQLITE,
    }
}
