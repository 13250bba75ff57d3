//! Large imports: a job per uploaded file (NDJSON or CSV) of pupil records with their
//! inscriptions, the same items and rules as the synchronous batch (`partiel` mode: valid
//! lines applied, invalid ones reported with line, JSON pointer, code and French message).
//!
//! The file is read in chunks (`taille_tranche` lines); each chunk is one transaction holding
//! its rows, its rejections and the job's counters, so a job stopped at any point has applied
//! whole lines only, and its counters say exactly which. Re-running a file changes nothing and
//! reports every line `inchange`.
//!
//! Each line is read and checked in Rust by the domain (`ElementPousse::lire`), plus what one
//! file can tell about itself (an INE or a duplicate key repeated, a school unknown or outside
//! the perimeter, a niveau the school does not teach). What needs the base is then decided by
//! the backend: set-based statements over a COPY-loaded staging table on PostgreSQL
//! ([`postgres`]), one savepoint per line on SQLite ([`ligne_a_ligne`]); both give the same
//! outcome line by line.
//!
//! Uploads are kept in a spool directory of the node that received them (never in the
//! database); a job whose worker stops (crash, restart) stops beating and is marked `echoue` by
//! [`marquer_abandonnes`], not resumed: its committed chunks stay applied, and submitting the
//! file again completes it (the lines already applied come back `inchange`).
//!
//! Before each chunk, inside its transaction, the job re-reads its partner: revoked, suspended
//! or without `eleves:write`, the job applies nothing more and ends `interrompu` with a
//! [`MotifInterruption`]; the chunks committed before stay applied and are counted.

mod execution;
pub mod lecture;
mod ligne_a_ligne;
pub(crate) mod postgres;
mod rejets;
mod statut;
mod suivi;
mod verification;

pub use execution::{executer, Avancement, EchecImport, NoteAudit, Noteur, OptionsImport, TAILLE_TRANCHE};
pub use lecture::ErreurFichier;
pub use rejets::{purger_rejets, rejets, Cause, Etat, IssueLigne, Rejet, RejetStocke};
pub use statut::{FormatImport, MotifInterruption, StatutImport};
pub use suivi::{
    creer, demarrer, marquer_abandonnes, motif, signaler_attente, trouver, Import, MESSAGE_ABANDON, SILENCE_MAX,
};

pub(crate) use verification::{charger_ecoles_parmi, verifier_ecole, LigneValide};
