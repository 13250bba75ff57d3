//! Middleware, one concern per file: request id, metrics, rate limits and concurrency caps,
//! conditional requests, compression.

pub mod compression;
pub mod conditionnel;
pub mod identifiant_requete;
pub mod limites;
pub mod metriques;
