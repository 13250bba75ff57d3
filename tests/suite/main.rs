//! The end-to-end tests of the gateway, one binary: the real app in-process (or the binary as a
//! child process) over a database of its own per test, on both backends. One module per theme;
//! `commun` (shared helpers) and `ecritures` (helpers of the write tests) are the support.
//! Two tests read state that is the process's and are binaries of their own: `tests/journaux.rs`
//! (it installs the log subscriber) and `tests/metriques.rs` (the metrics registry).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod commun;
mod ecritures;

mod admin;
mod admission;
mod audit;
mod audit_durable;
mod autorisation;
mod changements;
mod cli;
mod cli_import;
mod compression;
mod concurrence;
mod doublons;
mod empreintes;
mod epuisement;
mod exports;
mod idempotence;
mod imports;
mod integrite;
mod jetons;
mod lecture;
mod limites;
mod limites_partagees;
mod lots;
mod openapi;
mod perimetre;
mod proprietes;
mod reprise;
mod resilience;
mod retention;
mod securite_rejeu;
mod validation;
mod workflow;
