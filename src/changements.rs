//! `onde-echanges changements purger`: the change feed's retention. The feed grows with every
//! write (at national scale, millions of rows per rentrée); partners resume from a cursor, so
//! what is purged is a head of the feed, and a cursor from before it gets 410 (start again
//! from a snapshot).

use clap::{Args, Subcommand};
use onde_service::audit::{lire_instant, Borne};

use crate::options::OptionsBase;

#[derive(Args)]
pub struct CommandeChangements {
    #[command(subcommand)]
    action: ActionChangements,
}

#[derive(Subcommand)]
enum ActionChangements {
    /// Supprime les changements enregistrés avant une date, ou il y a plus de N jours ; un
    /// partenaire dont le curseur les précède reçoit 410 et repart d'un instantané.
    Purger {
        #[command(flatten)]
        base: OptionsBase,
        /// Les changements antérieurs à cette date (ou cet instant ISO 8601) sont supprimés.
        #[arg(long, required_unless_present = "jours", conflicts_with = "jours")]
        avant: Option<String>,
        /// Conserve les changements des N derniers jours (pour une tâche planifiée).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
        jours: Option<u32>,
    },
}

pub fn executer(commande: CommandeChangements) -> anyhow::Result<()> {
    let ActionChangements::Purger { base, avant, jours } = commande.action;
    let maintenant = chrono::Utc::now().naive_utc();
    let avant = match (avant, jours) {
        (Some(texte), _) => lire_instant(&texte, Borne::Debut).map_err(|e| anyhow::anyhow!("--avant : {e}"))?,
        (None, Some(n)) => maintenant - chrono::Duration::days(i64::from(n)),
        (None, None) => anyhow::bail!("--avant ou --jours est requis"),
    };
    if avant > maintenant {
        anyhow::bail!("--avant : la purge ne porte que sur le passé");
    }
    let store = crate::options::ouvrir(&base)?;
    let (n, purge) = onde_store::changements::purger(&mut *store.connexion()?, avant, maintenant)?;
    println!(
        "{n} changement(s) antérieur(s) au {} supprimé(s){}",
        avant.format("%Y-%m-%d %H:%M:%S UTC"),
        match purge {
            Some(p) => format!(
                " ; un curseur antérieur à la purge du {} reçoit 410",
                p.le.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            None => String::new(),
        }
    );
    Ok(())
}
