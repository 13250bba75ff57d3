//! Middleware, one concern per file: request id, metrics, rate limits and concurrency caps
//! (the limiters, and the admission that verifies a token and charges its client), conditional
//! requests, compression.

pub mod admission;
pub mod compression;
pub mod conditionnel;
pub mod identifiant_requete;
pub mod limites;
pub mod metriques;
