//! `onde-echanges`: the partner gateway's one binary — serve, migrate, seed, export the spec.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use onde_store::Store;

use crate::options::{chiffrement_requis, ouvrir, OptionsBase, OptionsConfig};

mod audit;
mod changements;
mod config;
mod demo;
mod import;
mod miroir;
mod options;
mod partenaire;
mod retention;
mod telemetrie;
mod tls;

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

#[derive(Subcommand)]
enum Commande {
    /// Sert l'API (applique d'abord les migrations en attente).
    Serve {
        /// Fichier de configuration TOML (voir deploy/onde-echanges.toml) ; les variables
        /// ONDE__SECTION__CLE, puis les options ci-dessous, l'emportent sur lui.
        #[arg(long, env = "ONDE_CONFIG")]
        config: Option<std::path::PathBuf>,
        /// Adresse d'écoute (serveur.adresse).
        #[arg(long, env = "ONDE_BIND")]
        bind: Option<String>,
        /// Base de données (base.url) : postgres://… ou sqlite://CHEMIN.
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        /// Connexions maximales du pool (base.pool_taille).
        #[arg(long, env = "ONDE_POOL_TAILLE")]
        pool_taille: Option<u32>,
        /// Remplit une base vide avec un jeu de démonstration (quelques communes, ~10 000 élèves).
        #[arg(long)]
        demo: bool,
        /// Nombre de workers HTTP (serveur.workers ; par défaut : un par cœur).
        #[arg(long, env = "ONDE_WORKERS")]
        workers: Option<usize>,
        /// Affiche la configuration effective (secrets masqués) et s'arrête.
        #[arg(long)]
        afficher_config: bool,
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
    /// Durée de conservation du flux de changements : purge des changements anciens.
    Changements(changements::CommandeChangements),
    /// Importe un fichier NDJSON ou CSV d'élèves et d'inscriptions (ou en écrit un exemple).
    Import(import::CommandeImport),
    /// Tient une copie SQLite locale de ce que voit un partenaire, par le flux de changements.
    Miroir(miroir::CommandeMiroir),
    /// Applique les durées de conservation (DOMAIN.md) : supprime les élèves sortis du premier
    /// degré avant l'année civile en cours (inscriptions, liens et responsables orphelins
    /// compris) sauf ceux créés ou modifiés pendant l'année scolaire en cours, les réponses
    /// idempotentes et les rapports de rejets d'imports anciens.
    Retention {
        #[command(flatten)]
        base: OptionsConfig,
        /// Date de référence AAAA-MM-JJ (par défaut : aujourd'hui).
        #[arg(long)]
        date: Option<String>,
        /// Jours de conservation des réponses idempotentes (conservation.idempotence_jours, 30).
        #[arg(long)]
        idempotence_jours: Option<u32>,
        /// Jours de conservation des rapports de rejets d'imports (conservation.rejets_jours, 90).
        #[arg(long)]
        rejets_jours: Option<u32>,
        /// Affiche ce qui serait supprimé, par nature, sans rien supprimer.
        #[arg(long)]
        simulation: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `serve` sets its logs up from its configuration.
    if !matches!(cli.commande, Commande::Serve { .. }) {
        init_journaux();
    }
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
    let format = std::env::var("ONDE_LOG_FORMAT").unwrap_or_else(|_| "texte".into());
    // Without a collector there is nothing that can fail.
    let _ = init_journaux_avec(
        &config::Journaux {
            format,
            niveau: "info".into(),
        },
        None,
    );
}

/// Logs on standard error (RUST_LOG wins over the configured level) and, with a collector,
/// OpenTelemetry traces. Returns the trace provider to flush at shutdown.
fn init_journaux_avec(
    j: &config::Journaux,
    collecteur: Option<&str>,
) -> anyhow::Result<Option<opentelemetry_sdk::trace::SdkTracerProvider>> {
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::EnvFilter;
    let filtre = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&j.niveau));
    let couche = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let json = j.format == "json" || std::env::var("ONDE_LOG_FORMAT").as_deref() == Ok("json");
    let journal = if json {
        couche.json().boxed()
    } else {
        couche.compact().boxed()
    };
    let base = tracing_subscriber::registry().with(journal);
    let (fournisseur, otel) = match collecteur {
        Some(point) => {
            let (f, c) = telemetrie::demarrer(point)?;
            (Some(f), Some(c))
        }
        None => (None, None),
    };
    // A second initialisation is refused by tracing; the first one stays.
    let _ = base.with(otel).with(filtre).try_init();
    Ok(fournisseur)
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
        Commande::Changements(commande) => changements::executer(commande),
        Commande::Import(commande) => import::executer(commande),
        Commande::Miroir(commande) => miroir::executer(commande),
        Commande::Retention {
            base,
            date,
            idempotence_jours,
            rejets_jours,
            simulation,
        } => retention::executer(&base, date.as_deref(), idempotence_jours, rejets_jours, simulation),
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
            let parametres = onde_seed::ParametresSeed {
                eleves,
                graine,
                rentree: rentree.unwrap_or_else(demo::rentree_courante),
                communes,
            };
            demo::remplir(&store, &parametres, true)
        }
        Commande::Serve {
            config,
            bind,
            database_url,
            pool_taille,
            demo: avec_demo,
            workers,
            afficher_config,
        } => {
            let c = config::charger(
                config.as_deref(),
                config::Surcharges {
                    adresse: bind,
                    database_url,
                    pool_taille,
                    workers,
                },
            )?;
            if afficher_config {
                print!("{}", config::afficher(&c)?);
                return Ok(());
            }
            let traces = init_journaux_avec(&c.brute.journaux, c.brute.opentelemetrie.point_de_collecte.as_deref())?;
            let store = Store::ouvrir(&c.url, &c.options_pool())?;
            // Outside the demo, no start without the key-encryption key (before any migration).
            if !avec_demo {
                chiffrement_requis(&c)?;
            }
            let appliquees = store.migrer()?;
            if !appliquees.is_empty() {
                tracing::info!(migrations = ?appliquees, "migrations appliquées");
            }
            let abandonnes = onde_api::ateliers::au_demarrage(&store).map_err(|e| anyhow::anyhow!("{e}"))?;
            if abandonnes > 0 {
                tracing::warn!(abandonnes, "imports interrompus par un arrêt marqués en échec");
            }
            let lecture = match &c.url_lecture {
                Some(u) => Some(Store::ouvrir(u, &c.options_pool()).context("réplique en lecture")?),
                None => None,
            };
            let chiffrement = match &c.chiffrement {
                Some(k) => k.clone(),
                None => demo::cle_chiffrement(&store)?,
            };
            let identifiants = if avec_demo { Some(demo::preparer(&store)?) } else { None };
            let resultat = actix_web::rt::System::new().block_on(servir(store, lecture, c, chiffrement, identifiants));
            if let Some(t) = traces {
                // The last spans leave before the process does.
                if let Err(e) = t.shutdown() {
                    tracing::warn!(erreur = %e, "arrêt de l'export des traces");
                }
            }
            resultat
        }
    }
}

async fn servir(
    store: Store,
    lecture: Option<Store>,
    c: config::Resolue,
    chiffrement: onde_service::chiffrement::Chiffrement,
    identifiants_demo: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let jetons = onde_api::auth::jeton::ConfigJetons::default().avec_chiffrement(chiffrement);
    let mut etat = onde_api::EtatApp::ouvrir(store.clone(), jetons)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .avec_limites(c.limites.clone())
        .avec_compression(c.compression.clone())
        .avec_imports(c.imports());
    if let Some(l) = lecture {
        etat = etat.avec_lecture(l);
    }
    if let Some(d) = &c.brute.imports.dossier {
        etat = etat.avec_dossier_imports(d.clone());
    }
    let auditeur = etat.auditeur.clone();
    let s = &c.brute.serveur;
    let mut serveur = actix_web::HttpServer::new(move || onde_api::app(etat.clone()))
        .shutdown_timeout(s.arret_gracieux_s)
        .client_request_timeout(std::time::Duration::from_secs(s.delai_client_s));
    serveur = match &c.tls {
        Some((certificat, cle)) => serveur
            .bind_rustls_0_23(c.adresse, tls::config(certificat, cle)?)
            .with_context(|| format!("écoute impossible sur {}", c.adresse))?,
        None => serveur
            .bind(c.adresse)
            .with_context(|| format!("écoute impossible sur {}", c.adresse))?,
    };
    let workers = if s.workers > 0 {
        s.workers
    } else {
        std::thread::available_parallelism().map_or(1, usize::from)
    };
    // Database work runs on each worker's blocking pool (512 threads by default). A thread
    // beyond the connection pool's size would only wait for a connection, with its stack and
    // allocator arena: the blocking pools together hold what the pools can serve, plus slack
    // for the CPU-only blocking work (password hashing, exports, and the pages serialised by
    // `executer_puis` once their connection is released).
    let connexions = c.brute.base.pool_taille as usize * if c.url_lecture.is_some() { 2 } else { 1 };
    serveur = serveur
        .workers(workers)
        .worker_max_blocking_threads(connexions.div_ceil(workers) + 2);
    let ecoute = serveur.addrs().first().copied().unwrap_or(c.adresse);
    tracing::info!(
        adresse = %ecoute,
        tls = c.tls.is_some(),
        base = %store.url().masquee(),
        replique = c.url_lecture.is_some(),
        "passerelle prête"
    );
    if let Some(fichier) = &identifiants_demo {
        demo::annoncer(ecoute, fichier);
    }
    let resultat = serveur.run().await.context("serveur HTTP");
    // In-flight requests are drained; write what they traced before exiting.
    auditeur.vider();
    resultat
}
