//! The demo data set and the progress display of `seed`.

use std::net::SocketAddr;

use anyhow::Context;
use chrono::Datelike;
use indicatif::{ProgressBar, ProgressStyle};
use onde_store::seed::{self, ParametresSeed};
use onde_store::Store;

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

/// Seeds the demo set into an empty database; leaves a non-empty one alone.
pub fn preparer(store: &Store) -> anyhow::Result<()> {
    let mut conn = store.connexion()?;
    if !seed::base_vide(&mut conn)? {
        tracing::info!("base déjà remplie : jeu de démonstration conservé");
        return Ok(());
    }
    drop(conn);
    let parametres = ParametresSeed {
        eleves: ELEVES_DEMO,
        graine: GRAINE_DEMO,
        rentree: rentree_courante(),
        communes: Some(COMMUNES_DEMO),
    };
    remplir(store, &parametres, false)
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

/// Tells the person who ran `serve --demo` where to look and what to paste.
pub fn annoncer(adresse: SocketAddr) {
    let hote = if adresse.ip().is_unspecified() {
        format!("127.0.0.1:{}", adresse.port())
    } else {
        adresse.to_string()
    };
    println!("Démo prête.");
    println!("  Documentation : http://{hote}/docs/");
    println!("  Essai         : curl -s 'http://{hote}/v1/inscriptions?limit=5'");
}
