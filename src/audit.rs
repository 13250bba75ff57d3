//! `onde-echanges audit …`: read the audit trail, and purge it past its retention. Same
//! service as `GET /v1/admin/audit` (`onde_service::audit`).

use anyhow::Context;
use clap::{Args, Subcommand};
use onde_service::audit::{self, Borne, EleveCherche, Recherche};
use uuid::Uuid;

use crate::options::OptionsBase;
use crate::partenaire::erreur;

/// Consulte la piste d'audit (du plus récent au plus ancien), ou la purge.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CommandeAudit {
    #[command(subcommand)]
    action: Option<ActionAudit>,
    #[command(flatten)]
    base: OptionsBase,
    /// Seulement les accès de ce partenaire (identifiant).
    #[arg(long)]
    partenaire: Option<Uuid>,
    /// Seulement les accès à cet élève : identifiant interne (UUID) ou INE.
    #[arg(long)]
    eleve: Option<String>,
    /// Début de période, inclus : date (2026-03-01) ou instant ISO 8601.
    #[arg(long)]
    depuis: Option<String>,
    /// Fin de période : une date inclut toute la journée ; un instant est exclu.
    #[arg(long)]
    jusqua: Option<String>,
    /// Nombre maximal d'entrées affichées.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    limit: u32,
    /// Sortie JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum ActionAudit {
    /// Supprime les entrées antérieures à une date (durée de conservation).
    Purger {
        #[command(flatten)]
        base: OptionsBase,
        /// Les entrées antérieures à cette date (ou cet instant) sont supprimées.
        #[arg(long)]
        avant: String,
    },
}

fn date(option: &str, texte: &str, borne: Borne) -> anyhow::Result<chrono::NaiveDateTime> {
    audit::lire_instant(texte, borne).map_err(|e| anyhow::anyhow!("--{option} : {e}"))
}

pub fn executer(commande: CommandeAudit) -> anyhow::Result<()> {
    let maintenant = chrono::Utc::now().naive_utc();
    if let Some(ActionAudit::Purger { base, avant }) = commande.action {
        let avant = date("avant", &avant, Borne::Debut)?;
        let store = crate::options::ouvrir(&base)?;
        let n = audit::purger(&mut *store.connexion()?, avant, maintenant).map_err(erreur)?;
        println!(
            "{n} entrée(s) d'audit antérieure(s) au {} supprimée(s)",
            avant.format("%Y-%m-%d %H:%M:%S UTC")
        );
        return Ok(());
    }
    let recherche = Recherche {
        partenaire: commande.partenaire,
        eleve: commande
            .eleve
            .as_deref()
            .map(EleveCherche::parse)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--eleve : {e}"))?,
        depuis: commande
            .depuis
            .as_deref()
            .map(|d| date("depuis", d, Borne::Debut))
            .transpose()?,
        jusqua: commande
            .jusqua
            .as_deref()
            .map(|d| date("jusqua", d, Borne::Fin))
            .transpose()?,
    };
    let store = crate::options::ouvrir(&commande.base)?;
    let (entrees, suite) =
        audit::rechercher(&mut *store.connexion()?, &recherche, commande.limit, None).map_err(erreur)?;
    if commande.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&entrees).context("sérialisation JSON")?
        );
        return Ok(());
    }
    if entrees.is_empty() {
        println!("aucune entrée");
    }
    for e in &entrees {
        let pour = e
            .pour_le_compte_de
            .as_deref()
            .map(|m| format!(" pour {m}"))
            .unwrap_or_default();
        println!(
            "{}  {}  {}{pour}  {} ({})  {} élève(s)  requête {}",
            e.horodatage.format("%Y-%m-%d %H:%M:%S"),
            e.partenaire_id,
            e.client_id,
            e.operation,
            e.scope,
            e.nombre,
            e.id_requete
        );
    }
    if suite.is_some() {
        println!("… d'autres entrées plus anciennes : augmentez --limit ou resserrez la période");
    }
    Ok(())
}
