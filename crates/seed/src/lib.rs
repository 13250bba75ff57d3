//! Deterministic synthetic data: communes, schools, households (pupils sharing guardians) and
//! inscriptions over three school years (previous, current, next), and import files to load
//! against them ([`exemple`]). Used by the binary's `seed`, `serve --demo` and
//! `import exemple`, and by the tests; the server's store never links it.
//!
//! The same parameters always give the same rows, ids included: one seeded ChaCha8 stream
//! drives every draw, and timestamps derive from the rentrée, never from the clock. Pupils
//! are generated household by household, commune by commune, and flushed in batches, so
//! memory stays bounded whatever the number of pupils (only communes and schools, a few
//! tens of thousands of small rows at national scale, are kept in memory).
//!
//! The rows are written through the store's bulk loading ([`onde_store::chargement`]), which
//! owns everything about the database: the transaction, COPY, deferred indexes.

mod calendrier;
mod communes;
mod eleves;
mod error;
pub mod exemple;
mod generateur;
mod inscriptions;
mod listes;
mod parametres;

use onde_domain::AnneeScolaire;
use onde_store::chargement::{self, Foyers};
use onde_store::DbConnection;

pub use error::SeedError;
pub use onde_store::chargement::base_vide;
pub use parametres::{BilanSeed, ParametresSeed};

use crate::communes::departements;
use crate::generateur::Generateur;
use crate::parametres::{generation, ELEVES_PAR_COMMUNE, ELEVES_PAR_LOT, MAX_COMMUNES_DEFAUT};

/// Generates the synthetic data set into an empty base, in one transaction.
/// `progression(pupils written so far, total pupils)` is called after each batch.
pub fn generer(
    conn: &mut DbConnection,
    p: &ParametresSeed,
    progression: &mut dyn FnMut(u64, u64),
) -> Result<BilanSeed, SeedError> {
    let annee = AnneeScolaire::depuis_debut(p.rentree).map_err(generation)?;
    // The previous and next school years must exist too.
    annee.precedente().map_err(generation)?;
    annee.suivante().map_err(generation)?;
    let nb_communes = p
        .communes
        .unwrap_or((p.eleves / ELEVES_PAR_COMMUNE).clamp(1, MAX_COMMUNES_DEFAUT));
    let capacite: u32 = departements().iter().map(|d| u32::from(d.numeros)).sum();
    if nb_communes == 0 || nb_communes > capacite {
        return Err(SeedError::Generation(format!(
            "nombre de communes hors bornes : {nb_communes} (de 1 à {capacite})"
        )));
    }
    chargement::charger_base_vide(conn, |chargement| {
        let mut g = Generateur::nouveau(p, annee)?;
        g.communes(nb_communes, p.eleves)?;
        g.ecoles()?;
        g.ecrire_reference(chargement)?;
        let mut bilan = g.bilan;

        // Generation (one core: the random stream, string formatting) runs on its own thread
        // while this one writes the previous batch; two batches in flight bound the memory.
        let total = u64::from(p.eleves);
        std::thread::scope(|s| -> Result<(), SeedError> {
            let (envoi, reception) = std::sync::mpsc::sync_channel::<Foyers>(1);
            let generateur = s.spawn(move || -> Result<(), SeedError> {
                for c in 0..g.communes.len() {
                    let mut restants = g.communes[c].eleves;
                    while restants > 0 {
                        restants -= g.foyer_suivant(c, restants)?;
                        // Flush between households (never inside one), even in a large town.
                        if g.tampons.eleves.len() >= ELEVES_PAR_LOT
                            && envoi.send(std::mem::take(&mut g.tampons)).is_err()
                        {
                            // The writer stopped on an error, which it reports.
                            return Ok(());
                        }
                    }
                }
                // A closed channel means the writer failed: its error is the one reported.
                let _ = envoi.send(std::mem::take(&mut g.tampons));
                Ok(())
            });
            let mut ecrit = Ok(());
            for t in reception.iter() {
                ecrit = chargement.ecrire(&t).map_err(SeedError::from);
                if ecrit.is_err() {
                    break;
                }
                bilan.responsables += t.responsables.len() as u64;
                bilan.eleves += t.eleves.len() as u64;
                bilan.inscriptions += t.inscriptions.len() as u64;
                progression(bilan.eleves, total);
            }
            // Dropping the receiver unblocks a generator waiting to send.
            drop(reception);
            let genere = generateur
                .join()
                .unwrap_or_else(|_| Err(SeedError::Generation("le générateur s'est arrêté brutalement".into())));
            ecrit.and(genere)
        })?;
        Ok(bilan)
    })
}

#[cfg(test)]
mod tests;
