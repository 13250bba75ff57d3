//! The demo data set and the progress display of `seed`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::Datelike;
use indicatif::{ProgressBar, ProgressStyle};
use onde_seed::{self as seed, ParametresSeed};
use onde_store::{Store, UrlBase};

/// A few communes, about 10,000 pupils: enough to page through, small enough to start at once.
pub const ELEVES_DEMO: u32 = 10_000;
pub const COMMUNES_DEMO: u32 = 4;
pub const GRAINE_DEMO: u64 = 42;

/// Start year of the school year in progress (the year turns on 1 September).
pub fn rentree_courante() -> u16 {
    let aujourdhui = chrono::Utc::now().date_naive();
    let annee = u16::try_from(aujourdhui.year()).unwrap_or(2026);
    if aujourdhui.month() >= 9 {
        annee
    } else {
        annee - 1
    }
}

/// Where the demo credentials go: beside the SQLite file, or `./data/` on PostgreSQL.
fn dossier_donnees(store: &Store) -> PathBuf {
    match store.url() {
        UrlBase::Sqlite(chemin) => chemin
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".")),
        UrlBase::Postgres(_) => PathBuf::from("data"),
    }
}

/// Seeds the demo set into an empty database (a non-empty one is left alone), creates the demo
/// partners if there are none, and returns the credentials file.
pub fn preparer(store: &Store) -> anyhow::Result<PathBuf> {
    let mut conn = store.connexion()?;
    let vide = seed::base_vide(&mut conn)?;
    drop(conn);
    if vide {
        let parametres = ParametresSeed {
            eleves: ELEVES_DEMO,
            graine: GRAINE_DEMO,
            rentree: rentree_courante(),
            communes: Some(COMMUNES_DEMO),
        };
        remplir(store, &parametres, false)?;
    } else {
        tracing::info!("base déjà remplie : jeu de démonstration conservé");
    }
    let dossier = dossier_donnees(store);
    std::fs::create_dir_all(&dossier).with_context(|| format!("création de {}", dossier.display()))?;
    onde_service::partenaires::creer_partenaires_demo(store, &dossier).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(dossier.join(FICHIER_IDENTIFIANTS))
}

pub const FICHIER_IDENTIFIANTS: &str = "demo-credentials.json";

/// The demo's key-encryption key file, beside the data: never the way to run in production,
/// where `jetons.cle_chiffrement_fichier` is required.
pub const FICHIER_CLE_CHIFFREMENT: &str = "cle-chiffrement";

/// `serve --demo` without `jetons.cle_chiffrement_fichier`: the key-encryption key of the
/// signing keys is read from (or, the first time, written to) `cle-chiffrement` beside the
/// data, readable by its owner only.
pub fn cle_chiffrement(store: &Store) -> anyhow::Result<onde_service::chiffrement::Chiffrement> {
    use onde_service::chiffrement::{Chiffrement, CleChiffrement};
    let dossier = dossier_donnees(store);
    let chemin = dossier.join(FICHIER_CLE_CHIFFREMENT);
    if !chemin.exists() {
        std::fs::create_dir_all(&dossier).with_context(|| format!("création de {}", dossier.display()))?;
        let (_, texte) = CleChiffrement::generer();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options
            .open(&chemin)
            .with_context(|| format!("création de {}", chemin.display()))?;
        std::io::Write::write_all(&mut f, texte.as_bytes())
            .with_context(|| format!("écriture de {}", chemin.display()))?;
        tracing::warn!(
            fichier = %chemin.display(),
            "démonstration : clé de chiffrement des clés de signature créée à côté des données \
             (en production, jetons.cle_chiffrement_fichier est obligatoire)"
        );
    }
    let cle =
        CleChiffrement::lire(&chemin).map_err(|e| anyhow::anyhow!("clé de chiffrement de démonstration : {e}"))?;
    Ok(Chiffrement::new(cle, Vec::new()))
}

pub fn remplir(store: &Store, parametres: &ParametresSeed, barre: bool) -> anyhow::Result<()> {
    let mut conn = store.connexion()?;
    if !seed::base_vide(&mut conn)? {
        anyhow::bail!("la base contient déjà des données : le jeu synthétique se charge dans une base vide");
    }
    let progression = if barre {
        ProgressBar::new(u64::from(parametres.eleves))
    } else {
        ProgressBar::hidden()
    };
    progression.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} élèves ({per_sec}, reste {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let debut = std::time::Instant::now();
    let bilan = seed::generer(&mut conn, parametres, &mut |fait, total| {
        progression.set_length(total);
        progression.set_position(fait);
    })
    .context("génération des données synthétiques")?;
    progression.finish_and_clear();
    let message = format!(
        "{} communes, {} écoles, {} élèves, {} responsables, {} inscriptions en {:.1} s (graine {}, rentrée {})",
        bilan.communes,
        bilan.ecoles,
        bilan.eleves,
        bilan.responsables,
        bilan.inscriptions,
        debut.elapsed().as_secs_f64(),
        parametres.graine,
        parametres.rentree
    );
    if barre {
        println!("{message}");
    } else {
        tracing::info!("jeu de démonstration : {message}");
    }
    Ok(())
}

/// Tells the person who ran `serve --demo` where to look and what to paste: a token request
/// with the first demo mairie's credentials, then a list call with that token.
pub fn annoncer(adresse: SocketAddr, identifiants: &Path) {
    let hote = if adresse.ip().is_unspecified() {
        format!("127.0.0.1:{}", adresse.port())
    } else {
        adresse.to_string()
    };
    let mairie = std::fs::read_to_string(identifiants)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.as_array()?.iter().find(|p| p["kind"] == "mairie").cloned());
    println!("Démo prête.");
    println!("  Documentation : http://{hote}/docs/");
    println!("  Identifiants  : {}", identifiants.display());
    if let Some(m) = mairie {
        let (id, secret) = (
            m["client_id"].as_str().unwrap_or(""),
            m["client_secret"].as_str().unwrap_or(""),
        );
        println!(
            "  Essai         : JETON=$(curl -s -u '{id}:{secret}' -d grant_type=client_credentials http://{hote}/oauth/token | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/') && curl -s -H \"Authorization: Bearer $JETON\" 'http://{hote}/v1/inscriptions?limit=5'"
        );
    }
}
