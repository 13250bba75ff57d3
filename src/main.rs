//! `onde-echanges`: the partner gateway's one binary — serve, migrate, seed, export the spec.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use onde_store::{OptionsPool, Store};

mod audit;
mod demo;
mod import;
mod miroir;
mod partenaire;

const URL_PAR_DEFAUT: &str = "sqlite://data/onde.sqlite";

#[derive(Parser)]
#[command(
    name = "onde-echanges",
    version,
    about = "Passerelle d'échanges partenaires de la base élèves du premier degré (ONDE)"
)]
struct Cli {
    #[command(subcommand)]
    commande: Commande,
}

#[derive(Args, Clone)]
struct OptionsBase {
    /// Base de données : postgres://… (production) ou sqlite://CHEMIN / un chemin de fichier (embarqué).
    #[arg(long, env = "DATABASE_URL", default_value = URL_PAR_DEFAUT, hide_env_values = true)]
    database_url: String,
    /// Nombre maximal de connexions du pool.
    #[arg(long, env = "ONDE_POOL_TAILLE", default_value_t = 16)]
    pool_taille: u32,
}

#[derive(Subcommand)]
enum Commande {
    /// Sert l'API (applique d'abord les migrations en attente).
    Serve {
        /// Adresse d'écoute.
        #[arg(long, env = "ONDE_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        #[command(flatten)]
        base: OptionsBase,
        /// Remplit une base vide avec un jeu de démonstration (quelques communes, ~10 000 élèves).
        #[arg(long)]
        demo: bool,
        /// Nombre de workers HTTP (par défaut : un par cœur).
        #[arg(long, env = "ONDE_WORKERS")]
        workers: Option<usize>,
    },
    /// Applique les migrations en attente.
    Migrate {
        #[command(flatten)]
        base: OptionsBase,
    },
    /// Remplit une base vide de données synthétiques réalistes et déterministes.
    Seed {
        #[command(flatten)]
        base: OptionsBase,
        /// Nombre d'élèves.
        #[arg(long, default_value_t = 10_000)]
        eleves: u32,
        /// Graine du générateur : même graine, mêmes données.
        #[arg(long = "seed", default_value_t = 42)]
        graine: u64,
        /// Année de la rentrée de l'année scolaire courante (par défaut : celle d'aujourd'hui).
        #[arg(long)]
        rentree: Option<u16>,
        /// Nombre de communes (par défaut : un pour 180 élèves).
        #[arg(long)]
        communes: Option<u32>,
    },
    /// Écrit le document OpenAPI sur la sortie standard.
    Openapi,
    /// Administre les partenaires : création, liste, consultation, modification, secret, révocation.
    Partenaire {
        #[command(subcommand)]
        action: partenaire::CommandePartenaire,
    },
    /// Gère les clés de signature des jetons d'accès.
    Cles {
        #[command(subcommand)]
        action: partenaire::CommandeCles,
    },
    /// Consulte la piste d'audit (filtres : partenaire, élève, période), ou la purge.
    Audit(audit::CommandeAudit),
    /// Importe un fichier NDJSON ou CSV d'élèves et d'inscriptions (ou en écrit un exemple).
    Import(import::CommandeImport),
    /// Tient une copie SQLite locale de ce que voit un partenaire, par le flux de changements.
    Miroir(miroir::CommandeMiroir),
    /// Applique la durée de conservation (DOMAIN.md) : supprime les élèves sortis du premier
    /// degré avant l'année civile en cours (inscriptions, liens et responsables orphelins compris).
    Retention {
        #[command(flatten)]
        base: OptionsBase,
        /// Date de référence AAAA-MM-JJ (par défaut : aujourd'hui).
        #[arg(long)]
        date: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_journaux();
    match executer(cli.commande) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One clear line, never a panic or a backtrace.
            let causes: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            let ligne = causes.join(" : ");
            eprintln!("erreur : {}", ligne.split_whitespace().collect::<Vec<_>>().join(" "));
            ExitCode::from(2)
        }
    }
}

fn init_journaux() {
    use tracing_subscriber::EnvFilter;
    let filtre = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filtre)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if std::env::var("ONDE_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.compact().init();
    }
}

/// Opens the database for a one-shot command (no idle connection kept).
fn ouvrir(base: &OptionsBase) -> anyhow::Result<Store> {
    ouvrir_avec(base, 0)
}

fn ouvrir_avec(base: &OptionsBase, min_inactives: u32) -> anyhow::Result<Store> {
    if base.pool_taille == 0 {
        anyhow::bail!("ONDE_POOL_TAILLE/--pool-taille doit être au moins 1");
    }
    let options = OptionsPool {
        taille_max: base.pool_taille,
        min_inactives,
        ..OptionsPool::default()
    };
    Ok(Store::ouvrir(&base.database_url, &options)?)
}

fn executer(commande: Commande) -> anyhow::Result<()> {
    match commande {
        Commande::Openapi => {
            let json = onde_api::openapi()
                .to_pretty_json()
                .context("sérialisation du document OpenAPI")?;
            println!("{json}");
            Ok(())
        }
        Commande::Partenaire { action } => partenaire::executer(action),
        Commande::Cles { action } => partenaire::executer_cles(action),
        Commande::Audit(commande) => audit::executer(commande),
        Commande::Import(commande) => import::executer(commande),
        Commande::Miroir(commande) => miroir::executer(commande),
        Commande::Retention { base, date } => {
            let jour = match date {
                Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .map_err(|_| anyhow::anyhow!("--date « {d} » : une date AAAA-MM-JJ est attendue"))?,
                None => chrono::Utc::now().date_naive(),
            };
            let store = ouvrir(&base)?;
            let n = onde_store::eleves::purger_retention(&mut *store.connexion()?, jour)?;
            println!(
                "{n} élève(s) sorti(s) du premier degré avant {} supprimé(s)",
                jour.format("%Y")
            );
            Ok(())
        }
        Commande::Migrate { base } => {
            let store = ouvrir(&base)?;
            let appliquees = store.migrer()?;
            if appliquees.is_empty() {
                println!("aucune migration en attente");
            }
            for v in appliquees {
                println!("migration appliquée : {v}");
            }
            Ok(())
        }
        Commande::Seed {
            base,
            eleves,
            graine,
            rentree,
            communes,
        } => {
            let store = ouvrir(&base)?;
            store.migrer()?;
            let parametres = onde_store::seed::ParametresSeed {
                eleves,
                graine,
                rentree: rentree.unwrap_or_else(demo::rentree_courante),
                communes,
            };
            demo::remplir(&store, &parametres, true)
        }
        Commande::Serve {
            bind,
            base,
            demo: avec_demo,
            workers,
        } => {
            let adresse: SocketAddr = bind.parse().map_err(|_| {
                anyhow::anyhow!("ONDE_BIND/--bind « {bind} » n'est pas une adresse d'écoute (ex. 127.0.0.1:8080)")
            })?;
            if workers == Some(0) {
                anyhow::bail!("ONDE_WORKERS/--workers doit être au moins 1");
            }
            let store = ouvrir_avec(&base, 1)?;
            let appliquees = store.migrer()?;
            if !appliquees.is_empty() {
                tracing::info!(migrations = ?appliquees, "migrations appliquées");
            }
            let abandonnes = onde_api::imports::au_demarrage(&store).map_err(|e| anyhow::anyhow!("{e}"))?;
            if abandonnes > 0 {
                tracing::warn!(abandonnes, "imports interrompus par un arrêt marqués en échec");
            }
            let identifiants = if avec_demo { Some(demo::preparer(&store)?) } else { None };
            actix_web::rt::System::new().block_on(servir(store, adresse, workers, identifiants))
        }
    }
}

async fn servir(
    store: Store,
    adresse: SocketAddr,
    workers: Option<usize>,
    identifiants_demo: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let etat = onde_api::EtatApp::ouvrir(store.clone(), onde_api::jeton::ConfigJetons::default())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let auditeur = etat.auditeur.clone();
    let mut serveur = actix_web::HttpServer::new(move || onde_api::app(etat.clone()))
        .shutdown_timeout(25)
        .bind(adresse)
        .with_context(|| format!("écoute impossible sur {adresse}"))?;
    if let Some(n) = workers {
        serveur = serveur.workers(n);
    }
    let ecoute = serveur.addrs().first().copied().unwrap_or(adresse);
    tracing::info!(adresse = %ecoute, base = %store.url().masquee(), "passerelle prête");
    if let Some(fichier) = &identifiants_demo {
        demo::annoncer(ecoute, fichier);
    }
    let resultat = serveur.run().await.context("serveur HTTP");
    // In-flight requests are drained; write what they traced before exiting.
    auditeur.vider();
    resultat
}
