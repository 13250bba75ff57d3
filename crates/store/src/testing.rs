//! Test support: each test gets a database of its own and drops it at the end, so tests run in
//! parallel and leave nothing behind.
//!
//! A test database is a copy of a *template*: a migrated database, filled once by the caller's
//! `remplir` (e.g. the deterministic seed), then copied per test — `CREATE DATABASE … TEMPLATE`
//! on PostgreSQL, a file copy on SQLite — instead of migrating and seeding every time.
//! Templates are shared across test processes (nextest runs one process per test):
//! - a template's name holds a hash of the caller's key (what `remplir` puts in), of the test
//!   executable's path (one worktree's templates never meet another's) and of the executable's
//!   size and modification time (any change of code, migrations or seed relinks it: a stale
//!   template is never used);
//! - PostgreSQL: it is built under a session advisory lock keyed by the shape, so concurrent
//!   processes build it once; it is closed to connections (`ALLOW_CONNECTIONS false`, also the
//!   "finished" mark) before anyone copies it. SQLite: built aside, `VACUUM INTO` a temporary
//!   file, renamed into place (atomic; two builders at once write the same content).
//! - Templates are kept across runs on purpose (an unchanged executable reuses them). When a
//!   template is built, the older versions of its shape (from an earlier build of the same
//!   executable), unfinished ones (a crashed builder) and any template built more than 24 hours
//!   ago for another executable are dropped: at most one template per shape and executable
//!   stays behind, and the templates of a deleted worktree go within a day.
//!
//! A test database needs no durability: PostgreSQL copies get `synchronous_commit = off` (a
//! commit does not wait for its WAL flush; nothing is lost unless the server itself crashes),
//! and are dropped without the test waiting (see [`supprimer_pg`]).
//!
//! PostgreSQL comes from `TEST_DATABASE_URL` (default: the local server); it is required, and a
//! test fails loudly when it is unreachable rather than passing without it.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::{Backend, OptionsPool, Store, UrlBase};

pub const URL_PG_PAR_DEFAUT: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that exists as long as this value.
pub struct BaseDeTest {
    pub store: Store,
    pub url: String,
    nettoyage: Nettoyage,
}

enum Nettoyage {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin: String,
        nom: String,
    },
    /// A template being built: it outlives this value.
    Aucun,
}

/// `TEST_DATABASE_URL`, without TLS unless the URL asks for it (`sslmode`): the test server is
/// local, and a TLS handshake per connection is CPU the suite's two cores spend for nothing.
fn url_admin() -> String {
    let brute = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| URL_PG_PAR_DEFAUT.to_owned());
    let mut url = url::Url::parse(&brute).unwrap_or_else(|e| panic!("TEST_DATABASE_URL : {e}"));
    if !url.query_pairs().any(|(cle, _)| cle == "sslmode") {
        url.query_pairs_mut().append_pair("sslmode", "disable");
    }
    url.into()
}

/// Replaces the database name (the path) of a PostgreSQL URL.
fn avec_base(url: &str, base: &str) -> String {
    UrlBase::parse(url)
        .and_then(|u| u.avec_base(base))
        .unwrap_or_else(|e| panic!("TEST_DATABASE_URL : {e}"))
}

/// The key of an empty, migrated template (the fresh databases).
const MIGREE: &str = "migree";
/// Templates older than this, for another executable, are dropped.
const DUREE_MODELE: Duration = Duration::from_secs(24 * 3600);
const PREFIXE_PG: &str = "onde_modele_";
/// Test databases: `onde_test_<UUIDv7>`, the UUID's time being their creation.
const PREFIXE_TEST_PG: &str = "onde_test_";
/// Test databases older than this are abandoned (no test lasts an hour).
const DUREE_TEST: Duration = Duration::from_secs(3600);

/// No idle connection kept (`min_inactives: 0`): a pool refilling itself in the background
/// while a test process exits crashes inside libpq (SIGSEGV in an `r2d2-worker` thread, seen
/// under load once a test no longer waited for its database's drop).
fn options_pool() -> OptionsPool {
    OptionsPool {
        taille_max: 4,
        min_inactives: 0,
        ..OptionsPool::default()
    }
}

impl BaseDeTest {
    /// A fresh, migrated, empty database.
    pub fn nouvelle(backend: Backend) -> Self {
        Self::depuis_modele(backend, MIGREE, |_| {})
    }

    pub fn sqlite() -> Self {
        Self::nouvelle(Backend::Sqlite)
    }

    pub fn postgres() -> Self {
        Self::nouvelle(Backend::Postgres)
    }

    /// A database of its own, copied from the template `cle`: a migrated database that
    /// `remplir` filled once (per executable, across processes; see the module's doc). `cle`
    /// must name everything `remplir` does: two fillings with one key share a template.
    pub fn depuis_modele(backend: Backend, cle: &str, remplir: impl Fn(&BaseDeTest)) -> Self {
        let copier = || match backend {
            Backend::Sqlite => Self::copie_sqlite(&modele_sqlite(cle, &remplir)),
            Backend::Postgres => Self::copie_pg(&modele_pg(cle, &remplir)),
        };
        copier().unwrap_or_else(|e| {
            // The template went between our lookup and the copy (dropped as abandoned by
            // another executable's cleanup): look it up, or build it, once more.
            oublier(&format!("{backend:?}:{cle}"));
            copier().unwrap_or_else(|_| panic!("copie du modèle {cle} : {e}"))
        })
    }

    fn copie_sqlite(modele: &Path) -> Result<Self, String> {
        let dossier = tempfile::tempdir().expect("dossier temporaire");
        let chemin = dossier.path().join("test.sqlite");
        std::fs::copy(modele, &chemin).map_err(|e| e.to_string())?;
        let url = format!("sqlite://{}", chemin.display());
        let store = Store::ouvrir(&url, &OptionsPool::default()).expect("ouverture SQLite");
        Ok(Self {
            store,
            url,
            nettoyage: Nettoyage::Sqlite(dossier),
        })
    }

    fn copie_pg(modele: &str) -> Result<Self, String> {
        let admin = url_admin();
        let nom = format!("{PREFIXE_TEST_PG}{}", uuid::Uuid::now_v7().simple());
        let mut conn = connexion_admin(&admin);
        // DDL takes no bind parameter: both names are generated by this module. The setting is
        // the database's own (not copied from the template), for every connection to it,
        // the test's child servers' too.
        // Two statements: CREATE DATABASE cannot run in the implicit transaction of a batch.
        conn.batch_execute(&format!("CREATE DATABASE {nom} TEMPLATE {modele}"))
            .and_then(|()| conn.batch_execute(&format!("ALTER DATABASE {nom} SET synchronous_commit = off")))
            .map_err(|e| e.to_string())?;
        let url = avec_base(&admin, &nom);
        let store = Store::ouvrir(&url, &options_pool()).expect("ouverture PostgreSQL");
        Ok(Self {
            store,
            url,
            nettoyage: Nettoyage::Postgres { admin, nom },
        })
    }
}

fn connexion_admin(admin: &str) -> PgConnection {
    PgConnection::establish(admin)
        .unwrap_or_else(|e| panic!("PostgreSQL est requis pour les tests ({admin}) et n'est pas joignable : {e}"))
}

/// Templates known to this process, by backend and key: their name (PostgreSQL) or file.
static MODELES: Mutex<Option<HashMap<String, String>>> = Mutex::new(None);

fn oublier(cle: &str) {
    let mut m = MODELES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(m) = m.as_mut() {
        m.remove(cle);
    }
}

/// The template's name for this process, built on first use. The process-wide lock makes the
/// process's threads wait for one build; other processes meet at the advisory lock (PostgreSQL)
/// or race harmlessly (SQLite).
fn modele(cle_cache: String, construire: impl FnOnce() -> String) -> String {
    let mut m = MODELES.lock().unwrap_or_else(|e| e.into_inner());
    let m = m.get_or_insert_with(HashMap::new);
    if let Some(nom) = m.get(&cle_cache) {
        return nom.clone();
    }
    let nom = construire();
    m.insert(cle_cache, nom.clone());
    nom
}

/// FNV-1a: a hash that every process computes alike (the templates are named by it).
fn fnv(octets: &[u8]) -> u64 {
    octets.iter().fold(0xcbf2_9ce4_8422_2325, |h, o| {
        (h ^ u64::from(*o)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// (shape, version) of a template: the shape hashes the key and the executable's path, the
/// version the executable's size and modification time.
fn empreintes(cle: &str) -> (String, String) {
    let exe = std::env::current_exe().expect("exécutable de test");
    let meta = std::fs::metadata(&exe).expect("métadonnées de l'exécutable de test");
    let modifie = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let forme = fnv(format!("{}\0{cle}", exe.display()).as_bytes());
    let version = fnv(format!("{}\0{modifie}", meta.len()).as_bytes());
    (format!("{forme:016x}"), format!("{:08x}", version >> 32))
}

fn maintenant_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[derive(diesel::QueryableByName)]
struct BaseExistante {
    #[diesel(sql_type = diesel::sql_types::Text)]
    datname: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    datallowconn: bool,
}

/// The PostgreSQL template `cle`, built if missing: `onde_modele_<shape>_<version>_<built at>`.
fn modele_pg(cle: &str, remplir: &impl Fn(&BaseDeTest)) -> String {
    modele(format!("{:?}:{cle}", Backend::Postgres), || {
        let (forme, version) = empreintes(cle);
        let admin = url_admin();
        let mut conn = connexion_admin(&admin);
        // Session-level: released when this connection closes, even if the build panics.
        let verrou = i64::from_str_radix(&forme[..15], 16).expect("empreinte hexadécimale");
        diesel::sql_query("SELECT pg_advisory_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(verrou)
            .execute(&mut conn)
            .expect("verrou consultatif");
        let existantes: Vec<BaseExistante> =
            diesel::sql_query("SELECT datname::text AS datname, datallowconn FROM pg_database")
                .load(&mut conn)
                .expect("liste des bases");
        let mut pret = None;
        for b in existantes.iter().filter(|b| test_abandonne(&b.datname)) {
            let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", b.datname));
        }
        for b in existantes.iter().filter(|b| b.datname.starts_with(PREFIXE_PG)) {
            let mut parties = b.datname[PREFIXE_PG.len()..].split('_');
            let (f, v, cree) = (parties.next(), parties.next(), parties.next());
            let cree: u64 = cree.and_then(|c| c.parse().ok()).unwrap_or(0);
            if f == Some(forme.as_str()) && v == Some(version.as_str()) && !b.datallowconn {
                pret = Some(b.datname.clone());
            } else if f == Some(forme.as_str()) || maintenant_s().saturating_sub(cree) > DUREE_MODELE.as_secs() {
                // An older build of this shape, an unfinished one, or an abandoned one. Someone
                // still copying it keeps it (the drop fails): it goes next time. (Templates
                // marked IS_TEMPLATE by an earlier version of this code cannot be dropped
                // until unmarked; DROP DATABASE runs on its own, outside any transaction.)
                let _ = conn.batch_execute(&format!("ALTER DATABASE {} WITH IS_TEMPLATE false", b.datname));
                let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {}", b.datname));
            }
        }
        if let Some(nom) = pret {
            return nom;
        }
        let nom = format!("{PREFIXE_PG}{forme}_{version}_{}", maintenant_s());
        conn.batch_execute(&format!("CREATE DATABASE {nom}"))
            .and_then(|()| conn.batch_execute(&format!("ALTER DATABASE {nom} SET synchronous_commit = off")))
            .expect("CREATE DATABASE (modèle)");
        {
            let url = avec_base(&admin, &nom);
            let store = Store::ouvrir(&url, &options_pool()).expect("ouverture PostgreSQL (modèle)");
            store.migrer().expect("migrations PostgreSQL");
            let base = BaseDeTest {
                store,
                url,
                nettoyage: Nettoyage::Aucun,
            };
            remplir(&base);
        }
        // Closed to connections: nobody can hold it open while it is copied, and it marks the
        // template as finished. A session the filling left open (a pool kept by a clone of the
        // store) is ended; the pool's sessions just closed may linger a moment, and CREATE
        // DATABASE … TEMPLATE waits for them.
        conn.batch_execute(&format!(
            "ALTER DATABASE {nom} WITH ALLOW_CONNECTIONS false; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{nom}';"
        ))
        .expect("ALTER DATABASE (modèle)");
        nom
    })
}

/// The SQLite template `cle` (a file under the temporary folder), built if missing.
fn modele_sqlite(cle: &str, remplir: &impl Fn(&BaseDeTest)) -> PathBuf {
    PathBuf::from(modele(format!("{:?}:{cle}", Backend::Sqlite), || {
        let (forme, version) = empreintes(cle);
        let dossier = std::env::temp_dir().join("onde-modeles");
        std::fs::create_dir_all(&dossier).expect("dossier des modèles SQLite");
        let fichier = dossier.join(format!("{forme}_{version}.sqlite"));
        if fichier.exists() {
            return fichier.display().to_string();
        }
        nettoyer_sqlite(&dossier, &forme, &version);
        let travail = tempfile::tempdir().expect("dossier temporaire");
        let url = format!("sqlite://{}", travail.path().join("modele.sqlite").display());
        let provisoire = dossier.join(format!("{forme}_{version}.{}.tmp", uuid::Uuid::now_v7().simple()));
        {
            let store = Store::ouvrir(&url, &OptionsPool::default()).expect("ouverture SQLite (modèle)");
            store.migrer().expect("migrations SQLite");
            let base = BaseDeTest {
                store,
                url,
                nettoyage: Nettoyage::Aucun,
            };
            remplir(&base);
            // One self-contained file (nothing left in the WAL), written aside then renamed:
            // a reader never sees half a template.
            let mut c = base.store.connexion().expect("connexion SQLite (modèle)");
            let chemin = provisoire.display().to_string().replace('\'', "''");
            c.batch_execute(&format!("VACUUM INTO '{chemin}'"))
                .expect("VACUUM INTO (modèle)");
        }
        // VACUUM INTO writes a rollback-journal file. Switched to WAL here, once: otherwise the
        // first connections of every copy race to switch it (an exclusive lock, taken before
        // their busy_timeout is set) and one fails with "database is locked".
        diesel::SqliteConnection::establish(&provisoire.display().to_string())
            .and_then(|mut c| {
                c.batch_execute("PRAGMA journal_mode = WAL")
                    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
            })
            .expect("modèle SQLite en WAL");
        std::fs::rename(&provisoire, &fichier).expect("modèle SQLite mis en place");
        fichier.display().to_string()
    }))
}

/// Drops the older versions of a shape, and any file of the folder untouched for a day.
fn nettoyer_sqlite(dossier: &Path, forme: &str, version: &str) {
    let Ok(entrees) = std::fs::read_dir(dossier) else {
        return;
    };
    for e in entrees.flatten() {
        let nom = e.file_name().to_string_lossy().into_owned();
        let vieux = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > DUREE_MODELE);
        // Our shape's other versions only when finished (a `.tmp` may be another builder's).
        let autre_version = nom.starts_with(forme) && !nom.contains(version) && nom.ends_with(".sqlite");
        if vieux || autre_version {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// A test database left behind for more than an hour (its drop failed, e.g. `psql` found the
/// server out of connections, or its test died between the copy and the pool): dropped by the
/// next template lookup, as abandoned templates are.
fn test_abandonne(nom: &str) -> bool {
    nom.strip_prefix(PREFIXE_TEST_PG)
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
        .and_then(|id| id.get_timestamp())
        .is_some_and(|t| maintenant_s().saturating_sub(t.to_unix().0) > DUREE_TEST.as_secs())
}

/// Drops a test database. PostgreSQL forces a checkpoint for every `DROP DATABASE` and waits
/// for it (0.1 s on an idle server, 1-2 s while other tests write: most of a short test's
/// time), which the test has no reason to wait for: a detached `psql` (which `.ci/run`
/// requires) does it while the test process ends. Without `psql`, the drop is waited for.
fn supprimer_pg(admin: &str, nom: &str) {
    // FORCE ends the pool's connections still open (PostgreSQL 13+). The name is generated by
    // `copie_pg` (DDL takes no bind parameter).
    let sql = format!("DROP DATABASE IF EXISTS {nom} WITH (FORCE)");
    let detache = std::process::Command::new("psql")
        .args(["-X", "-q", "-d", admin, "-c", &sql])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match detache {
        // Reaped by a thread when the process outlives it (`cargo test` runs every test in one
        // process); nextest's one-test processes end first, and psql goes on alone.
        Ok(mut psql) => {
            std::thread::spawn(move || psql.wait());
        }
        Err(_) => {
            if let Ok(mut conn) = PgConnection::establish(admin) {
                let _ = conn.batch_execute(&sql);
            }
        }
    }
}

impl Drop for BaseDeTest {
    fn drop(&mut self) {
        if let Nettoyage::Postgres { admin, nom } = &self.nettoyage {
            supprimer_pg(admin, nom);
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
