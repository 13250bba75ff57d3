//! Writes on inscriptions: creation by a mairie (for an existing pupil or a new one, created in
//! the same transaction) and the workflow steps, each an explicit operation checked by the
//! domain's state machine. All run through [`crate::http::ecriture::executer`]: one transaction,
//! `If-Match`, `Idempotency-Key`, audit once committed.
//! One file per kind: [`creation`], [`rattachement`], the steps ([`etapes`]); shared checks in
//! [`commun`].

pub mod commun;
pub mod creation;
pub mod etapes;
pub mod rattachement;
