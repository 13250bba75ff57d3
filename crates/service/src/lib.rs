//! The services of the ONDE partner gateway that both the HTTP API (`onde-api`) and the CLI
//! (`onde-echanges partenaire …`, `audit`, `cles`, `retention`, `serve --demo`) call: partner
//! administration, client secrets, the sealing and rotation of the token signing keys, the
//! audit trail's reading and purge, retention, and the demo partners.
//!
//! Functions are blocking (diesel, argon2) and take a connection or a store; they answer
//! [`ServiceError`], which carries what the HTTP side needs to build the same problem document
//! (status, code, detail, located violations) and what the CLI prints. Nothing here knows HTTP.

pub mod audit;
pub mod chiffrement;
pub mod cles;
pub mod erreur;
pub mod horloge;
pub mod json;
pub mod partenaires;
pub mod retention;
pub mod secrets;
pub mod violation;

pub use erreur::ServiceError;
pub use violation::Violation;
