//! `import`: runs the import of an NDJSON or CSV file straight against the database (no HTTP),
//! with a progress bar and a report; `import exemple` writes deterministic files to import.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use onde_domain::{AnneeScolaire, Perimetre, Uai};
use onde_store::imports::{self, FormatImport, Import, OptionsImport};
use onde_store::tableur::{EcrivainTableur, FinDeLigne};
use uuid::Uuid;

use crate::options::OptionsBase;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CommandeImport {
    #[command(subcommand)]
    exemple: Option<CommandeExemple>,
    /// Fichier à importer : NDJSON (un objet {"eleve", "inscriptions"} par ligne) ou CSV
    /// (séparateur « ; », en-tête aux noms de colonnes français).
    fichier: Option<PathBuf>,
    /// Format du fichier (par défaut : d'après l'extension, .csv ou sinon NDJSON).
    #[arg(long, value_parser = ["ndjson", "csv"])]
    format: Option<String>,
    #[command(flatten)]
    base: OptionsBase,
    /// Importe au nom de ce partenaire, dans son périmètre (identifiant du partenaire).
    #[arg(long, conflicts_with = "national")]
    partenaire: Option<Uuid>,
    /// Importe sans restriction de périmètre (équipe nationale).
    #[arg(long)]
    national: bool,
    /// Lignes par transaction.
    #[arg(long, default_value_t = imports::TAILLE_TRANCHE)]
    tranche: usize,
}

#[derive(Subcommand)]
enum CommandeExemple {
    /// Écrit sur la sortie standard un fichier d'import déterministe, valide contre les écoles
    /// de la base (même base et mêmes paramètres, même fichier).
    Exemple {
        #[command(flatten)]
        base: OptionsBase,
        /// Nombre de lignes.
        #[arg(long, default_value_t = 1000)]
        eleves: u32,
        /// Graine du générateur.
        #[arg(long = "seed", default_value_t = 42)]
        graine: u64,
        /// Seulement ces écoles (répétable), par exemple celles d'une école privée partenaire.
        #[arg(long)]
        uai: Vec<String>,
        /// Année scolaire des inscriptions (par défaut : l'année en cours).
        #[arg(long)]
        annee: Option<String>,
        /// Nombre de lignes invalides à injecter, réparties dans le fichier.
        #[arg(long, default_value_t = 0)]
        invalides: u32,
        #[arg(long, value_parser = ["ndjson", "csv"], default_value = "ndjson")]
        format: String,
    },
}

pub fn executer(c: CommandeImport) -> anyhow::Result<()> {
    if let Some(CommandeExemple::Exemple {
        base,
        eleves,
        graine,
        uai,
        annee,
        invalides,
        format,
    }) = c.exemple
    {
        return exemple(&base, eleves, graine, &uai, annee.as_deref(), invalides, &format);
    }
    let fichier = c
        .fichier
        .ok_or_else(|| anyhow::anyhow!("indiquez le fichier à importer (ou `import exemple`)"))?;
    let format = match c.format.as_deref() {
        Some(f) => FormatImport::parse(f),
        None if fichier.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) => Some(FormatImport::Csv),
        None => Some(FormatImport::Ndjson),
    }
    .ok_or_else(|| anyhow::anyhow!("format inconnu"))?;
    if c.partenaire.is_none() && !c.national {
        anyhow::bail!("choisissez le périmètre : --partenaire ID ou --national");
    }
    let store = crate::options::ouvrir(&c.base)?;
    store.migrer()?;
    let mut conn = store.connexion()?;
    let (perimetre, partenaire) = match c.partenaire {
        Some(id) => {
            let p = onde_store::partenaires::trouver(&mut conn, id)?
                .ok_or_else(|| anyhow::anyhow!("partenaire {id} inconnu"))?;
            let droits = p
                .partenaire
                .droits(None, onde_domain::Scope::ElevesWrite)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            (droits.perimetre, Some(id))
        }
        None => (Perimetre::National, None),
    };
    if format == FormatImport::Csv {
        imports::lecture::verifier_csv(&fichier, imports::lecture::LIGNE_MAX_OCTETS)
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    }
    let id = Uuid::now_v7();
    let maintenant = chrono::Utc::now().naive_utc();
    imports::creer(
        &mut conn,
        // No OAuth client sent this file: the operator did. A client id here is looked up at
        // every chunk (a revoked client stops the job), and a made-up one stopped them all.
        &Import::nouveau(id, partenaire, None, format, maintenant),
    )?;
    let barre = ProgressBar::new(0);
    barre.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} lignes ({per_sec}, reste {eta}) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let debut = std::time::Instant::now();
    let options = OptionsImport {
        taille_tranche: c.tranche,
        ..OptionsImport::default()
    };
    let fin = imports::executer(&mut conn, id, &fichier, format, &perimetre, &options, &mut |a, _| {
        barre.set_length(a.total);
        barre.set_position(a.traites);
        barre.set_message(format!(
            "créés {} · modifiés {} · inchangés {} · rejetés {}",
            a.crees, a.modifies, a.inchanges, a.rejetes
        ));
        true
    })?
    .ok_or_else(|| anyhow::anyhow!("l'import {id} a été pris par un autre processus"))?;
    barre.finish_and_clear();
    let duree = debut.elapsed().as_secs_f64();
    println!(
        "import {id} : {} ({} lignes en {duree:.1} s, {:.0} lignes/s)",
        fin.statut,
        fin.traites,
        fin.traites as f64 / duree.max(1e-9)
    );
    println!(
        "  créés {} · modifiés {} · inchangés {} · rejetés {}",
        fin.crees, fin.modifies, fin.inchanges, fin.rejetes
    );
    if let Some(e) = &fin.erreur {
        println!("  erreur : {e}");
    }
    if fin.rejetes > 0 {
        let rapport = rapport_rejets(&mut conn, id, &fichier)?;
        let premiers = imports::rejets(&mut conn, id, None, 10)?;
        println!("  premiers rejets :");
        for r in &premiers {
            println!("    ligne {} {} [{}] {}", r.ligne, r.pointeur, r.code, r.message);
        }
        println!(
            "  rapport complet : {} (et table imports_rejets, import_id = {id})",
            rapport.display()
        );
    }
    if fin.statut != "termine" {
        anyhow::bail!("import {id} non terminé ({})", fin.statut);
    }
    Ok(())
}

/// Writes every rejection as CSV beside the imported file (formulas neutralised, as every CSV
/// the gateway writes: [`onde_store::tableur`]).
fn rapport_rejets(conn: &mut onde_store::DbConnection, id: Uuid, fichier: &Path) -> anyhow::Result<PathBuf> {
    let chemin = PathBuf::from(format!("{}.rejets.csv", fichier.display()));
    let f = std::fs::File::create(&chemin).with_context(|| format!("création de {}", chemin.display()))?;
    let mut w = EcrivainTableur::new(std::io::BufWriter::new(f), FinDeLigne::Lf);
    w.ecrire(["ligne", "pointeur", "code", "message"])?;
    let mut apres = None;
    loop {
        let page = imports::rejets(conn, id, apres, 10_000)?;
        for r in &page {
            w.ecrire([r.ligne.to_string().as_str(), &r.pointeur, &r.code, &r.message])?;
        }
        match page.last() {
            Some(r) => apres = Some((r.ligne, r.rang)),
            None => break,
        }
    }
    w.into_inner()?.flush()?;
    Ok(chemin)
}

fn exemple(
    base: &OptionsBase,
    eleves: u32,
    graine: u64,
    uais: &[String],
    annee: Option<&str>,
    invalides: u32,
    format: &str,
) -> anyhow::Result<()> {
    let annee = match annee {
        Some(a) => AnneeScolaire::parse(a).map_err(|e| anyhow::anyhow!("--annee : {e}"))?,
        None => AnneeScolaire::depuis_debut(crate::demo::rentree_courante()).map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let uais = uais
        .iter()
        .map(|u| Uai::parse(u).map_err(|e| anyhow::anyhow!("--uai : {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let store = crate::options::ouvrir(base)?;
    let mut conn = store.connexion()?;
    let parametres = onde_seed::exemple::ParametresExemple {
        eleves,
        graine,
        annee,
        uais,
        invalides,
    };
    let sortie = std::io::BufWriter::new(std::io::stdout().lock());
    let erreur = |e: &dyn std::fmt::Display| onde_seed::SeedError::Generation(format!("écriture : {e}"));
    if format == "csv" {
        let mut w = imports::lecture::EcrivainCsv::new(sortie)?;
        onde_seed::exemple::generer(&mut conn, &parametres, &mut |e| w.ecrire(e).map_err(|x| erreur(&x)))?;
        w.terminer()?;
    } else {
        let mut w = sortie;
        onde_seed::exemple::generer(&mut conn, &parametres, &mut |e| {
            writeln!(w, "{e}").map_err(|x| erreur(&x))
        })?;
        w.flush()?;
    }
    Ok(())
}
