//! Test support: each test gets a fresh, migrated database of its own and drops it at the end,
//! so tests run in parallel and leave nothing behind.
//!
//! PostgreSQL comes from `TEST_DATABASE_URL` (default: the local server); it is required, and a
//! test fails loudly when it is unreachable rather than passing without it.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use crate::{Backend, OptionsPool, Store};

pub const URL_PG_PAR_DEFAUT: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that exists as long as this value.
pub struct BaseDeTest {
    pub store: Store,
    pub url: String,
    nettoyage: Nettoyage,
}

enum Nettoyage {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin: String, nom: String },
}

fn url_admin() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| URL_PG_PAR_DEFAUT.to_owned())
}

/// Replaces the database name (the path) of a PostgreSQL URL.
fn avec_base(url: &str, base: &str) -> String {
    let (sans_requete, requete) = match url.split_once('?') {
        Some((u, q)) => (u, Some(q)),
        None => (url, None),
    };
    let debut = sans_requete.find("://").map(|i| i + 3).unwrap_or(0);
    let racine = match sans_requete[debut..].find('/') {
        Some(i) => &sans_requete[..debut + i],
        None => sans_requete,
    };
    match requete {
        Some(q) => format!("{racine}/{base}?{q}"),
        None => format!("{racine}/{base}"),
    }
}

impl BaseDeTest {
    pub fn nouvelle(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite(),
            Backend::Postgres => Self::postgres(),
        }
    }

    pub fn sqlite() -> Self {
        let dossier = tempfile::tempdir().expect("dossier temporaire");
        let url = format!("sqlite://{}", dossier.path().join("test.sqlite").display());
        let store = Store::ouvrir(&url, &OptionsPool::default()).expect("ouverture SQLite");
        store.migrer().expect("migrations SQLite");
        Self {
            store,
            url,
            nettoyage: Nettoyage::Sqlite(dossier),
        }
    }

    pub fn postgres() -> Self {
        let admin = url_admin();
        let nom = format!("onde_test_{}", uuid::Uuid::now_v7().simple());
        let mut conn = PgConnection::establish(&admin)
            .unwrap_or_else(|e| panic!("PostgreSQL est requis pour les tests ({admin}) et n'est pas joignable : {e}"));
        conn.batch_execute(&format!("CREATE DATABASE {nom}"))
            .expect("CREATE DATABASE");
        let url = avec_base(&admin, &nom);
        let options = OptionsPool {
            taille_max: 4,
            ..OptionsPool::default()
        };
        let store = Store::ouvrir(&url, &options).expect("ouverture PostgreSQL");
        store.migrer().expect("migrations PostgreSQL");
        Self {
            store,
            url,
            nettoyage: Nettoyage::Postgres { admin, nom },
        }
    }
}

impl Drop for BaseDeTest {
    fn drop(&mut self) {
        if let Nettoyage::Postgres { admin, nom } = &self.nettoyage {
            if let Ok(mut conn) = PgConnection::establish(admin) {
                // FORCE ends the pool's connections still open (PostgreSQL 13+).
                let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {nom} WITH (FORCE)"));
            }
        }
    }
}

/// Declares one test per backend: `tests_deux_backends! { fn nom(base) { ... } }` gives
/// `nom::sqlite` and `nom::postgres`, each with its own fresh database.
#[macro_export]
macro_rules! tests_deux_backends {
    ($(fn $nom:ident($base:ident) $corps:block)*) => {
        $(
            mod $nom {
                #[allow(unused_imports)]
                use super::*;

                fn corps($base: &$crate::testing::BaseDeTest) $corps

                #[::core::prelude::v1::test]
                fn sqlite() {
                    corps(&$crate::testing::BaseDeTest::sqlite());
                }

                #[::core::prelude::v1::test]
                fn postgres() {
                    corps(&$crate::testing::BaseDeTest::postgres());
                }
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    use super::avec_base;

    #[test]
    fn remplace_le_nom_de_base() {
        assert_eq!(avec_base("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(avec_base("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
        assert_eq!(
            avec_base("postgres://u@h/p?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
