//! `onde-echanges retention`: every retention period over what holds or echoes pupil data —
//! the pupils who left the first degree (DOMAIN.md), the stored idempotent answers (they
//! replay pupil records) and the import rejection reports (they quote the rejected values).
//! `--simulation` counts what would go, per kind, and deletes nothing.

use chrono::NaiveDate;
use onde_service::retention::appliquer;

use crate::options::OptionsConfig;

pub fn executer(
    base: &OptionsConfig,
    date: Option<&str>,
    idempotence_jours: Option<u32>,
    rejets_jours: Option<u32>,
    simulation: bool,
) -> anyhow::Result<()> {
    let jour = match date {
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| anyhow::anyhow!("--date « {d} » : une date AAAA-MM-JJ est attendue"))?,
        None => chrono::Utc::now().date_naive(),
    };
    let c = base.charger()?;
    let idempotence_jours = idempotence_jours.unwrap_or(c.brute.conservation.idempotence_jours);
    let rejets_jours = rejets_jours.unwrap_or(c.brute.conservation.rejets_jours);
    let store = crate::options::ouvrir_config(&c)?;
    let b = appliquer(
        &mut *store.connexion()?,
        jour,
        idempotence_jours,
        rejets_jours,
        simulation,
    )?;
    let verbe = if simulation { "à supprimer" } else { "supprimé(s)" };
    if simulation {
        println!("simulation au {jour} : rien n'est supprimé");
    }
    println!(
        "élèves sortis du premier degré avant {} (ni créés ni modifiés depuis la rentrée du {}) {verbe} : {} \
         (inscriptions : {}, responsables sans autre élève : {})",
        jour.format("%Y"),
        onde_store::eleves::debut_annee_scolaire(jour).format("%d/%m/%Y"),
        b.eleves.eleves,
        b.eleves.inscriptions,
        b.eleves.responsables
    );
    println!(
        "réponses idempotentes de plus de {idempotence_jours} jours {verbe} : {}",
        b.idempotence
    );
    println!(
        "lignes de rapports de rejets des imports de plus de {rejets_jours} jours {verbe} : {} ({} import(s))",
        b.rejets, b.imports
    );
    Ok(())
}
