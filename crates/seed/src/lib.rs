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

use onde_domain::{AnneeScolaire, DomainError};
use onde_store::chargement::{self, Foyers};
use onde_store::DbConnection;

pub use error::SeedError;
pub use onde_store::chargement::base_vide;

use crate::communes::departements;
use crate::generateur::Generateur;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParametresSeed {
    pub eleves: u32,
    pub graine: u64,
    /// First calendar year of the current school year (2026 for 2026-2027).
    pub rentree: u16,
    /// Number of communes; by default one per 180 pupils, between 1 and 35,000.
    pub communes: Option<u32>,
}

/// Rows written, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BilanSeed {
    pub communes: u64,
    pub ecoles: u64,
    pub eleves: u64,
    pub responsables: u64,
    pub inscriptions: u64,
}

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

const ELEVES_PAR_COMMUNE: u32 = 180;
const ELEVES_PAR_ECOLE: u32 = 130;
/// A village with fewer pupils than this has no school of its own this often (per mille),
/// when its département already has a village school to host them: at national scale that
/// leaves about 48,000 schools for 35,000 communes.
const ELEVES_VILLAGE_SANS_ECOLE: u32 = 80;
const POUR_MILLE_SANS_ECOLE: u32 = 650;
const MAX_COMMUNES_DEFAUT: u32 = 35_000;
/// Pupils per flush: a few thousand rows per table, a handful of statements each.
const ELEVES_PAR_LOT: usize = 4_000;

fn generation(e: DomainError) -> SeedError {
    SeedError::Generation(e.to_string())
}

#[cfg(test)]
mod tests;
