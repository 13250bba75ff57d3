//! The gateway's configuration: defaults, then a TOML file (`--config`, `ONDE_CONFIG`), then
//! `ONDE__SECTION__CLE` environment variables, then the historical variables and flags
//! (`DATABASE_URL`, `ONDE_BIND`, `ONDE_WORKERS`, `ONDE_POOL_TAILLE`). Unknown keys and
//! inconsistent values stop the start with one clear line. Secrets may come from files
//! (`base.url_fichier`), and are never printed: `afficher` masks them.

mod compression;
mod limites;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use onde_api::middleware::limites::ConfigLimites;
use onde_service::chiffrement::{Chiffrement, CleChiffrement};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub serveur: Serveur,
    pub base: Base,
    pub journaux: Journaux,
    pub limites: limites::Limites,
    pub imports: Imports,
    pub opentelemetrie: Opentelemetrie,
    pub jetons: Jetons,
    pub conservation: Conservation,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Jetons {
    /// Key-encryption key (a secret file: 32 random bytes in base64) sealing the token signing
    /// keys stored in the database. Required by `serve` outside `--demo`.
    pub cle_chiffrement_fichier: Option<PathBuf>,
    /// Previous key-encryption keys: they still open the keys they sealed, until
    /// `cles rechiffrer` has re-sealed everything under the current one.
    pub cles_chiffrement_precedentes_fichiers: Vec<PathBuf>,
}

/// Retention of what echoes personal data besides the pupils themselves (`retention`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Conservation {
    /// Days a stored idempotent answer is kept (a retry within them is replayed).
    pub idempotence_jours: u32,
    /// Days an import's rejection report is kept after the import.
    pub rejets_jours: u32,
}

impl Default for Conservation {
    fn default() -> Self {
        Self {
            idempotence_jours: 30,
            rejets_jours: 90,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Opentelemetrie {
    /// OTLP/HTTP collector (e.g. http://otel-collector:4318): one span per request is sent
    /// there. Unset: no traces.
    pub point_de_collecte: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Serveur {
    /// Listening address.
    pub adresse: String,
    /// HTTP workers (0: one per core).
    pub workers: usize,
    /// Seconds in-flight requests get to finish on shutdown.
    pub arret_gracieux_s: u64,
    /// Seconds a client has to send its request head.
    pub delai_client_s: u64,
    /// In-process TLS: PEM certificate chain and private key (both or neither).
    pub tls_certificat: Option<PathBuf>,
    pub tls_cle: Option<PathBuf>,
    /// Compressed answers (`[serveur.compression]`).
    pub compression: compression::Compression,
}

impl Default for Serveur {
    fn default() -> Self {
        Self {
            adresse: "127.0.0.1:8080".into(),
            workers: 0,
            arret_gracieux_s: 25,
            delai_client_s: 10,
            tls_certificat: None,
            tls_cle: None,
            compression: Default::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Base {
    /// `postgres://…` or `sqlite://PATH`; or read from `url_fichier` (a secret file).
    pub url: Option<String>,
    pub url_fichier: Option<PathBuf>,
    /// Optional read replica for pulls (lists, CSV exports, the change feed).
    pub url_lecture: Option<String>,
    pub url_lecture_fichier: Option<PathBuf>,
    pub pool_taille: u32,
    /// Milliseconds a request waits for a connection before a 503.
    pub attente_max_ms: u64,
    /// PostgreSQL statement_timeout, milliseconds (0: none).
    pub delai_requete_ms: u64,
}

impl Default for Base {
    fn default() -> Self {
        Self {
            url: None,
            url_fichier: None,
            url_lecture: None,
            url_lecture_fichier: None,
            pool_taille: 16,
            attente_max_ms: 3000,
            delai_requete_ms: 30_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Journaux {
    /// `texte` or `json`.
    pub format: String,
    /// tracing filter (overridden by RUST_LOG).
    pub niveau: String,
}

impl Default for Journaux {
    fn default() -> Self {
        Self {
            format: "texte".into(),
            niveau: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Imports {
    /// Spool directory of uploads (default: the system's temporary directory).
    pub dossier: Option<PathBuf>,
    /// Import jobs run at once by this node (one thread each).
    pub workers: usize,
    /// Accepted jobs that may wait for a worker; beyond, uploads get 503.
    pub file: usize,
    /// Longest line (or CSV record) of an import file, in bytes; a longer one is one rejection.
    pub ligne_max_octets: usize,
}

impl Default for Imports {
    fn default() -> Self {
        let d = onde_api::ateliers::ConfigImports::default();
        Self {
            dossier: None,
            workers: d.workers,
            file: d.file,
            ligne_max_octets: d.ligne_max_octets,
        }
    }
}

/// Bounds of `imports.ligne_max_octets`: a real record needs a few KiB; more than a few MiB
/// per line only serves a hostile file.
const LIGNE_MIN: usize = 4 * 1024;
const LIGNE_MAX: usize = 16 * 1024 * 1024;

/// Values given on the command line or by the historical variables (they win).
#[derive(Debug, Default)]
pub struct Surcharges {
    pub adresse: Option<String>,
    pub database_url: Option<String>,
    pub pool_taille: Option<u32>,
    pub workers: Option<usize>,
}

/// The configuration checked and resolved: what `serve` runs with.
#[derive(Debug, Clone)]
pub struct Resolue {
    pub brute: Config,
    pub adresse: SocketAddr,
    pub url: String,
    pub url_lecture: Option<String>,
    pub limites: ConfigLimites,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub compression: onde_api::middleware::compression::ConfigCompression,
    /// The key-encryption keys of the signing keys, when configured.
    pub chiffrement: Option<Chiffrement>,
}

pub const URL_PAR_DEFAUT: &str = "sqlite://data/onde.sqlite";

fn lire_secret(chemin: &Path, cle: &str) -> anyhow::Result<String> {
    let texte = std::fs::read_to_string(chemin).with_context(|| format!("{cle} : lecture de {}", chemin.display()))?;
    let t = texte.trim();
    if t.is_empty() {
        bail!("{cle} : {} est vide", chemin.display());
    }
    Ok(t.to_owned())
}

/// Loads, merges and checks the configuration.
pub fn charger(fichier: Option<&Path>, s: Surcharges) -> anyhow::Result<Resolue> {
    let mut f = Figment::from(Serialized::defaults(Config::default()));
    if let Some(chemin) = fichier {
        if !chemin.is_file() {
            bail!("fichier de configuration introuvable : {}", chemin.display());
        }
        f = f.merge(Toml::file(chemin));
    }
    f = f.merge(Env::prefixed("ONDE__").split("__"));
    let mut c: Config = f.extract().map_err(|e| anyhow::anyhow!("configuration : {e}"))?;
    if let Some(a) = s.adresse {
        c.serveur.adresse = a;
    }
    if let Some(u) = s.database_url {
        c.base.url = Some(u);
    }
    if let Some(p) = s.pool_taille {
        c.base.pool_taille = p;
    }
    if let Some(w) = s.workers {
        if w == 0 {
            bail!("ONDE_WORKERS/--workers doit être au moins 1");
        }
        c.serveur.workers = w;
    }
    verifier(c)
}

fn verifier(c: Config) -> anyhow::Result<Resolue> {
    let adresse: SocketAddr = c.serveur.adresse.parse().map_err(|_| {
        anyhow::anyhow!(
            "serveur.adresse (ONDE_BIND, --bind) « {} » n'est pas une adresse d'écoute (ex. 127.0.0.1:8080)",
            c.serveur.adresse
        )
    })?;
    let url = match (&c.base.url, &c.base.url_fichier) {
        (Some(_), Some(_)) => bail!("base.url et base.url_fichier s'excluent : n'en donnez qu'un"),
        (Some(u), None) => u.clone(),
        (None, Some(f)) => lire_secret(f, "base.url_fichier")?,
        (None, None) => URL_PAR_DEFAUT.into(),
    };
    let url_lecture = match (&c.base.url_lecture, &c.base.url_lecture_fichier) {
        (Some(_), Some(_)) => bail!("base.url_lecture et base.url_lecture_fichier s'excluent"),
        (Some(u), None) => Some(u.clone()),
        (None, Some(f)) => Some(lire_secret(f, "base.url_lecture_fichier")?),
        (None, None) => None,
    };
    if let Some(l) = &url_lecture {
        let principal = onde_store::UrlBase::parse(&url).map_err(|e| anyhow::anyhow!("base.url : {e}"))?;
        let lecture = onde_store::UrlBase::parse(l).map_err(|e| anyhow::anyhow!("base.url_lecture : {e}"))?;
        if principal.backend() != onde_store::Backend::Postgres || lecture.backend() != onde_store::Backend::Postgres {
            bail!("base.url_lecture (réplique en lecture) suppose PostgreSQL pour les deux bases");
        }
    }
    if c.base.pool_taille == 0 {
        bail!("base.pool_taille (ONDE_POOL_TAILLE, --pool-taille) doit être au moins 1");
    }
    if c.base.attente_max_ms == 0 {
        bail!("base.attente_max_ms doit être au moins 1");
    }
    if !["texte", "json"].contains(&c.journaux.format.as_str()) {
        bail!("journaux.format vaut texte ou json, pas « {} »", c.journaux.format);
    }
    if tracing_subscriber::EnvFilter::try_new(&c.journaux.niveau).is_err() {
        bail!(
            "journaux.niveau « {} » n'est pas un filtre de journaux (ex. info, warn,onde_api=debug)",
            c.journaux.niveau
        );
    }
    let tls = match (&c.serveur.tls_certificat, &c.serveur.tls_cle) {
        (None, None) => None,
        (Some(cert), Some(cle)) => {
            for (nom, f) in [("serveur.tls_certificat", cert), ("serveur.tls_cle", cle)] {
                if !f.is_file() {
                    bail!("{nom} : {} introuvable", f.display());
                }
            }
            Some((cert.clone(), cle.clone()))
        }
        _ => bail!("serveur.tls_certificat et serveur.tls_cle vont ensemble"),
    };
    if let Some(p) = &c.opentelemetrie.point_de_collecte {
        if !(p.starts_with("http://") || p.starts_with("https://")) {
            bail!("opentelemetrie.point_de_collecte : une URL http:// ou https:// est attendue, pas « {p} »");
        }
    }
    if c.imports.workers == 0 || c.imports.workers > 64 {
        bail!("imports.workers vaut de 1 à 64, pas {}", c.imports.workers);
    }
    if c.imports.file > 10_000 {
        bail!("imports.file vaut au plus 10000, pas {}", c.imports.file);
    }
    if !(LIGNE_MIN..=LIGNE_MAX).contains(&c.imports.ligne_max_octets) {
        bail!(
            "imports.ligne_max_octets vaut de {LIGNE_MIN} à {LIGNE_MAX}, pas {}",
            c.imports.ligne_max_octets
        );
    }
    let limites = c.limites.resoudre(lire_secret)?;
    let compression = c.serveur.compression.resoudre()?;
    let j = &c.jetons;
    let chiffrement = match &j.cle_chiffrement_fichier {
        Some(f) => {
            let lire = |cle: &str, f: &Path| CleChiffrement::lire(f).map_err(|e| anyhow::anyhow!("{cle} : {e}"));
            let actuelle = lire("jetons.cle_chiffrement_fichier", f)?;
            let precedentes = j
                .cles_chiffrement_precedentes_fichiers
                .iter()
                .map(|f| lire("jetons.cles_chiffrement_precedentes_fichiers", f))
                .collect::<anyhow::Result<Vec<_>>>()?;
            Some(Chiffrement::new(actuelle, precedentes))
        }
        None if !j.cles_chiffrement_precedentes_fichiers.is_empty() => {
            bail!(
                "jetons.cles_chiffrement_precedentes_fichiers suppose jetons.cle_chiffrement_fichier (la clé actuelle)"
            )
        }
        None => None,
    };
    Ok(Resolue {
        brute: c,
        adresse,
        url,
        url_lecture,
        limites,
        tls,
        compression,
        chiffrement,
    })
}

impl Resolue {
    pub fn imports(&self) -> onde_api::ateliers::ConfigImports {
        onde_api::ateliers::ConfigImports {
            workers: self.brute.imports.workers,
            file: self.brute.imports.file,
            ligne_max_octets: self.brute.imports.ligne_max_octets,
        }
    }

    pub fn options_pool(&self) -> onde_store::OptionsPool {
        onde_store::OptionsPool {
            taille_max: self.brute.base.pool_taille,
            attente_max: Duration::from_millis(self.brute.base.attente_max_ms),
            delai_requete: (self.brute.base.delai_requete_ms > 0)
                .then(|| Duration::from_millis(self.brute.base.delai_requete_ms)),
            ..onde_store::OptionsPool::default()
        }
    }
}

/// The effective configuration as TOML, secrets masked (for `serve --afficher-config`).
pub fn afficher(r: &Resolue) -> anyhow::Result<String> {
    let mut c = r.brute.clone();
    c.base.url = Some(
        onde_store::UrlBase::parse(&r.url)
            .map(|u| u.masquee().to_string())
            .unwrap_or_default(),
    );
    c.base.url_fichier = None;
    c.base.url_lecture = r.url_lecture.as_deref().map(|u| {
        onde_store::UrlBase::parse(u)
            .map(|u| u.masquee().to_string())
            .unwrap_or_default()
    });
    c.base.url_lecture_fichier = None;
    if let (Some(r), Some(config)) = (c.limites.redis.as_mut(), &r.limites.redis) {
        r.url = Some(config.url_masquee());
        r.url_fichier = None;
    }
    toml::to_string_pretty(&c).context("configuration")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use uuid::Uuid;

    fn fichier(texte: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), texte).unwrap();
        f
    }

    #[test]
    fn valeurs_par_defaut_valides() {
        let r = charger(None, Surcharges::default()).unwrap();
        assert_eq!(r.url, URL_PAR_DEFAUT);
        assert_eq!(r.adresse.port(), 8080);
        assert!(r.tls.is_none() && r.url_lecture.is_none());
    }

    #[test]
    fn fichier_puis_options() {
        let id = Uuid::now_v7();
        let f = fichier(&format!(
            "[serveur]\nadresse = \"0.0.0.0:9000\"\n[base]\nurl = \"sqlite:///tmp/x.sqlite\"\npool_taille = 4\n\
             [limites]\npar_seconde = 5\n[limites.partenaires.\"{id}\"]\npar_seconde = 500\nrafale = 1000\nsimultanees = 64\n"
        ));
        let r = charger(
            Some(f.path()),
            Surcharges {
                pool_taille: Some(8),
                ..Surcharges::default()
            },
        )
        .unwrap();
        assert_eq!(r.adresse.port(), 9000);
        assert_eq!(r.brute.base.pool_taille, 8, "l'option l'emporte sur le fichier");
        assert_eq!(r.limites.defaut.par_seconde, 5);
        assert_eq!(r.limites.partenaires[&id].simultanees, 64);
    }

    #[test]
    fn erreurs_claires() {
        let erreur = |texte: &str| {
            charger(Some(fichier(texte).path()), Surcharges::default())
                .unwrap_err()
                .to_string()
        };
        assert!(erreur("[serveur]\nport = 1\n").contains("port"));
        assert!(erreur("[serveur]\nadresse = \"nulle part\"\n").contains("serveur.adresse"));
        assert!(erreur("[base]\nurl = \"sqlite://a\"\nurl_fichier = \"/b\"\n").contains("s'excluent"));
        assert!(erreur("[journaux]\nformat = \"xml\"\n").contains("journaux.format"));
        assert!(erreur("[limites]\nrafale = 0\n").contains("au moins 1"));
        assert!(erreur("[serveur]\ntls_cle = \"/k.pem\"\n").contains("vont ensemble"));
        assert!(erreur("[imports]\nworkers = 0\n").contains("imports.workers"));
        assert!(erreur("[serveur.compression]\ncodages = [\"lzma\"]\n").contains("codages"));
        assert!(erreur("[serveur.compression]\nniveau_gzip = 0\n").contains("niveau_gzip"));
        assert!(erreur("[imports]\nligne_max_octets = 10\n").contains("imports.ligne_max_octets"));
        assert!(erreur("[base]\nurl = \"sqlite://a\"\nurl_lecture = \"postgres://r/x\"\n").contains("PostgreSQL"));
        assert!(
            erreur("[jetons]\ncle_chiffrement_fichier = \"/nulle/part\"\n").contains("jetons.cle_chiffrement_fichier")
        );
        assert!(erreur("[jetons]\ncles_chiffrement_precedentes_fichiers = [\"/k\"]\n").contains("suppose"));
        let pas_une_cle = fichier("motdepasse\n");
        let e = erreur(&format!(
            "[jetons]\ncle_chiffrement_fichier = \"{}\"\n",
            pas_une_cle.path().display()
        ));
        assert!(e.contains("base64") && !e.contains("motdepasse"), "{e}");
        let absent = charger(Some(Path::new("/nulle/part.toml")), Surcharges::default()).unwrap_err();
        assert!(absent.to_string().contains("introuvable"));
    }

    #[test]
    fn cles_de_chiffrement_lues_dans_des_fichiers() {
        let (k1, t1) = CleChiffrement::generer();
        let (k2, t2) = CleChiffrement::generer();
        let (f1, f2) = (fichier(&t1), fichier(&t2));
        let f = fichier(&format!(
            "[jetons]\ncle_chiffrement_fichier = \"{}\"\ncles_chiffrement_precedentes_fichiers = [\"{}\"]\n",
            f2.path().display(),
            f1.path().display()
        ));
        let r = charger(Some(f.path()), Surcharges::default()).unwrap();
        let c = r.chiffrement.unwrap();
        assert_eq!(c.actuelle().id(), k2.id());
        let scellee = Chiffrement::new(k1, vec![]).sceller("kid", b"x").unwrap();
        assert_eq!(
            c.ouvrir("kid", &scellee).unwrap().as_slice(),
            b"x",
            "la précédente ouvre encore"
        );
        assert!(!afficher(&charger(Some(f.path()), Surcharges::default()).unwrap())
            .unwrap()
            .contains(t2.trim()));
        assert_eq!(r.brute.conservation.idempotence_jours, 30);
    }

    #[test]
    fn limites_partagees_par_redis() {
        assert!(charger(None, Surcharges::default()).unwrap().limites.redis.is_none());
        let f = fichier("[limites.redis]\nurl = \"redis://:motdepasse@redis:6379/0\"\ndelai_ms = 20\n");
        let r = charger(Some(f.path()), Surcharges::default()).unwrap();
        let redis = r.limites.redis.clone().unwrap();
        assert_eq!(redis.url, "redis://:motdepasse@redis:6379/0");
        assert_eq!(
            (
                redis.prefixe.as_str(),
                redis.delai.as_millis(),
                redis.reessai.as_millis()
            ),
            ("onde:limites", 20, 2000)
        );
        let affiche = afficher(&r).unwrap();
        assert!(
            !affiche.contains("motdepasse") && affiche.contains("[limites.redis]"),
            "{affiche}"
        );
        let secret = fichier("redis://:s3cret@redis:6379\n");
        let f = fichier(&format!(
            "[limites.redis]\nurl_fichier = \"{}\"\n",
            secret.path().display()
        ));
        let r = charger(Some(f.path()), Surcharges::default()).unwrap();
        assert_eq!(r.limites.redis.unwrap().url, "redis://:s3cret@redis:6379");
        let erreur = |texte: &str| {
            charger(Some(fichier(texte).path()), Surcharges::default())
                .unwrap_err()
                .to_string()
        };
        assert!(erreur("[limites.redis]\nprefixe = \"x\"\n").contains("url ou url_fichier"));
        assert!(erreur("[limites.redis]\nurl = \"http://r\"\n").contains("limites.redis.url"));
        assert!(erreur("[limites.redis]\nurl = \"redis://r\"\ndelai_ms = 0\n").contains("delai_ms"));
        assert!(erreur("[limites.redis]\nurl = \"redis://r\"\nprefixe = \"\"\n").contains("prefixe"));
        assert!(erreur("[limites.redis]\nurl = \"redis://r\"\nport = 1\n").contains("port"));
    }

    #[test]
    fn secret_lu_dans_un_fichier_et_jamais_affiche() {
        let secret = fichier("postgres://onde:motdepasse@db:5432/onde\n");
        let f = fichier(&format!("[base]\nurl_fichier = \"{}\"\n", secret.path().display()));
        let r = charger(Some(f.path()), Surcharges::default()).unwrap();
        assert_eq!(r.url, "postgres://onde:motdepasse@db:5432/onde");
        let affiche = afficher(&r).unwrap();
        assert!(!affiche.contains("motdepasse"), "{affiche}");
    }
}
