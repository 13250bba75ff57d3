//! One connection type over both backends, chosen from the URL scheme (never by trial), and a
//! pool whose manager sets the SQLite pragmas on every new connection.

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use url::Url;

use crate::backend::{Backend, DbConnection};
use crate::error::StoreError;

/// A database location, parsed from `postgres://…`, `postgresql://…`, `sqlite://PATH` or a
/// plain file path (SQLite).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlBase {
    Postgres(String),
    Sqlite(PathBuf),
}

impl UrlBase {
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(StoreError::Url("URL vide".into()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(UrlBase::Postgres(url.to_owned()));
        }
        if let Some(chemin) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if chemin.is_empty() {
                return Err(StoreError::Url("chemin SQLite vide".into()));
            }
            return Ok(UrlBase::Sqlite(PathBuf::from(chemin)));
        }
        if let Some((schema, _)) = url.split_once("://") {
            return Err(StoreError::Url(format!(
                "schéma « {schema} » non pris en charge (postgres://, postgresql://, sqlite:// ou un chemin de fichier)"
            )));
        }
        Ok(UrlBase::Sqlite(PathBuf::from(url)))
    }

    pub fn backend(&self) -> Backend {
        match self {
            UrlBase::Postgres(_) => Backend::Postgres,
            UrlBase::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Printable form with any password masked.
    pub fn masquee(&self) -> String {
        match self {
            UrlBase::Sqlite(p) => format!("sqlite://{}", p.display()),
            UrlBase::Postgres(u) => match Url::parse(u) {
                Ok(mut url) => {
                    if !url.username().is_empty() || url.password().is_some() {
                        // Fails only for a URL that cannot hold credentials, which this one does.
                        let _ = url.set_password(Some("***"));
                    }
                    url.to_string()
                }
                // libpq also takes URIs the URL standard refuses (several hosts): none of it shown.
                Err(_) => "postgres://***".to_owned(),
            },
        }
    }

    /// The database name of a PostgreSQL URL (its path, as written), `None` for SQLite or a URL
    /// without one.
    pub fn nom_base(&self) -> Option<String> {
        let UrlBase::Postgres(u) = self else {
            return None;
        };
        let url = Url::parse(u).ok()?;
        url.path_segments()?.next().filter(|s| !s.is_empty()).map(str::to_owned)
    }

    /// The URL of another database on the same PostgreSQL server: the path (database name)
    /// replaced by `nom`, credentials and parameters (`?sslmode=…`) kept. An error for SQLite.
    pub fn avec_base(&self, nom: &str) -> Result<String, StoreError> {
        let UrlBase::Postgres(u) = self else {
            return Err(StoreError::Url(
                "une base SQLite est un fichier, pas une base d'un serveur".into(),
            ));
        };
        let mut url = Url::parse(u).map_err(|e| StoreError::Url(e.to_string()))?;
        url.path_segments_mut()
            .map_err(|()| StoreError::Url("URL PostgreSQL sans chemin".into()))?
            .clear()
            .push(nom);
        Ok(url.into())
    }

    /// The same PostgreSQL URL pointed at another server address (`hote`, `port`): user,
    /// password, database and parameters kept, e.g. to go through a proxy. An error for SQLite.
    pub fn avec_adresse(&self, hote: &str, port: u16) -> Result<String, StoreError> {
        let UrlBase::Postgres(u) = self else {
            return Err(StoreError::Url("une base SQLite est un fichier, pas un serveur".into()));
        };
        let mut url = Url::parse(u).map_err(|e| StoreError::Url(e.to_string()))?;
        url.set_host(Some(hote)).map_err(|e| StoreError::Url(e.to_string()))?;
        url.set_port(Some(port))
            .map_err(|()| StoreError::Url("URL PostgreSQL sans hôte".into()))?;
        Ok(url.into())
    }

    fn ouvrir(&self) -> Result<DbConnection, diesel::ConnectionError> {
        match self {
            UrlBase::Postgres(url) => PgConnection::establish(url).map(DbConnection::Pg),
            UrlBase::Sqlite(chemin) => {
                let texte = chemin.to_string_lossy();
                let mut conn = SqliteConnection::establish(&texte)?;
                // WAL lets readers run beside the writer; busy_timeout queues writers instead of
                // failing them; foreign keys are off by default in SQLite.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                )
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// r2d2 manager that opens the backend named by the URL.
pub struct Gestionnaire {
    url: UrlBase,
    delai_requete: Option<Duration>,
}

impl ManageConnection for Gestionnaire {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        let mut conn = self.url.ouvrir().map_err(diesel::r2d2::Error::ConnectionError)?;
        if let (Some(d), DbConnection::Pg(c)) = (self.delai_requete, &mut conn) {
            // SET takes no bind parameter; set_config is the same setting, for the session.
            diesel::sql_query("SELECT set_config('statement_timeout', $1, false)")
                .bind::<diesel::sql_types::Text, _>(d.as_millis().to_string())
                .execute(c)
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1").map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        match conn {
            DbConnection::Pg(c) => c.is_broken(),
            DbConnection::Sqlite(c) => c.is_broken(),
        }
    }
}

/// Connection failures are reported once, by the caller that waited for a connection; r2d2's
/// own report of every retry would flood the logs while the database is away.
#[derive(Debug)]
struct JournalErreurs;

impl diesel::r2d2::HandleError<diesel::r2d2::Error> for JournalErreurs {
    fn handle_error(&self, erreur: diesel::r2d2::Error) {
        tracing::debug!(%erreur, "connexion à la base refusée");
    }
}

/// Pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct OptionsPool {
    pub taille_max: u32,
    /// Connections kept open while idle. One-shot commands use 0: a pool refilling itself in
    /// the background while the process exits can crash inside libpq's exit handlers.
    pub min_inactives: u32,
    /// How long a request waits for a connection before failing fast (503, not a hang).
    pub attente_max: Duration,
    /// PostgreSQL `statement_timeout` of every connection: no statement holds a connection
    /// (and its locks) forever.
    pub delai_requete: Option<Duration>,
}

impl Default for OptionsPool {
    fn default() -> Self {
        Self {
            taille_max: 16,
            min_inactives: 1,
            attente_max: Duration::from_secs(3),
            delai_requete: None,
        }
    }
}

/// Handle on the database: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Store {
    pool: Pool<Gestionnaire>,
    url: UrlBase,
}

pub type Connexion = PooledConnection<Gestionnaire>;

impl Store {
    /// Opens a pool on `url`. SQLite files and their folder are created when missing.
    pub fn ouvrir(url: &str, options: &OptionsPool) -> Result<Self, StoreError> {
        let url = UrlBase::parse(url)?;
        if let UrlBase::Sqlite(chemin) = &url {
            if let Some(dossier) = chemin.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dossier).map_err(|e| {
                    StoreError::Indisponible(format!("impossible de créer le dossier {} : {e}", dossier.display()))
                })?;
            }
        }
        let pool = Pool::builder()
            .max_size(options.taille_max)
            .min_idle(Some(options.min_inactives.min(options.taille_max)))
            .connection_timeout(options.attente_max)
            .error_handler(Box::new(JournalErreurs))
            .build(Gestionnaire {
                url: url.clone(),
                delai_requete: options.delai_requete,
            })
            .map_err(|e| StoreError::Indisponible(format!("{} : {e}", url.masquee())))?;
        Ok(Self { pool, url })
    }

    pub fn connexion(&self) -> Result<Connexion, StoreError> {
        Ok(self.pool.get()?)
    }

    pub fn backend(&self) -> Backend {
        self.url.backend()
    }

    pub fn url(&self) -> &UrlBase {
        &self.url
    }

    /// Readiness: a round trip to the database.
    pub fn verifier(&self) -> Result<(), StoreError> {
        let mut conn = self.connexion()?;
        conn.batch_execute("SELECT 1")?;
        Ok(())
    }

    /// Applies pending migrations; returns the versions applied.
    pub fn migrer(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.connexion()?;
        crate::migrations::appliquer(&mut conn)
    }

    /// (connections in use, idle connections), for metrics.
    pub fn etat_pool(&self) -> (u32, u32) {
        let etat = self.pool.state();
        (etat.connections - etat.idle_connections, etat.idle_connections)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_choisi_par_le_schema() {
        assert_eq!(
            UrlBase::parse("postgres://u:p@h/db").unwrap().backend(),
            Backend::Postgres
        );
        assert_eq!(
            UrlBase::parse("postgresql://h/db").unwrap().backend(),
            Backend::Postgres
        );
        assert_eq!(
            UrlBase::parse("sqlite://data/x.sqlite").unwrap(),
            UrlBase::Sqlite("data/x.sqlite".into())
        );
        assert_eq!(
            UrlBase::parse("data/x.sqlite").unwrap(),
            UrlBase::Sqlite("data/x.sqlite".into())
        );
        assert!(UrlBase::parse("mysql://h/db").is_err());
        assert!(UrlBase::parse("").is_err());
        assert_eq!(
            UrlBase::parse("postgres://onde:secret@db:5432/onde").unwrap().masquee(),
            "postgres://onde:***@db:5432/onde"
        );
        assert_eq!(
            UrlBase::parse("postgres://onde@db/onde?sslmode=require")
                .unwrap()
                .masquee(),
            "postgres://onde:***@db/onde?sslmode=require"
        );
        assert_eq!(
            UrlBase::parse("postgres://db/onde").unwrap().masquee(),
            "postgres://db/onde"
        );
        assert_eq!(
            UrlBase::parse("postgres://u:p@h1:1,h2:2/x").unwrap().masquee(),
            "postgres://***"
        );
    }

    #[test]
    fn nom_de_base() {
        let url = UrlBase::parse("postgres://u:p@h:5432/onde?sslmode=disable").unwrap();
        assert_eq!(url.nom_base().as_deref(), Some("onde"));
        assert_eq!(url.avec_base("x").unwrap(), "postgres://u:p@h:5432/x?sslmode=disable");
        assert_eq!(UrlBase::parse("postgres://h").unwrap().nom_base(), None);
        assert_eq!(
            UrlBase::parse("postgres://h").unwrap().avec_base("x").unwrap(),
            "postgres://h/x"
        );
        assert!(UrlBase::parse("sqlite://a.sqlite").unwrap().avec_base("x").is_err());
        assert_eq!(
            url.avec_adresse("127.0.0.1", 6543).unwrap(),
            "postgres://u:p@127.0.0.1:6543/onde?sslmode=disable"
        );
        assert_eq!(
            UrlBase::parse("postgres://postgres@localhost/x")
                .unwrap()
                .avec_adresse("127.0.0.1", 1)
                .unwrap(),
            "postgres://postgres@127.0.0.1:1/x"
        );
    }
}
