//! HTTP side of the ONDE partner gateway, by role:
//!
//! - [`routes`]: the route table ([`app`], [`openapi`]) and one module per resource (handlers
//!   with their request and response types); nothing but the table names a route module;
//! - [`auth`]: who is calling and what it may do (the [`auth::acces::Acces`] extractor, tokens,
//!   the scope each operation requires, the partner cache);
//! - [`middleware`]: one concern per file (request id, metrics, limits, conditional requests);
//! - [`http`]: request plumbing (bodies, parameters, pagination, preconditions and idempotency,
//!   CSV, blocking work);
//! - [`securite`]: what leaves (views by data profile, the audit writer, duplicates);
//! - [`erreurs`]: `ApiError` and the problem documents; [`openapi`]: the document and `/docs`;
//! - [`ateliers`]: the import workers; [`etat`]: the application state; [`constantes`].
//!
//! Handlers never decide who may see what: they take an `Acces` and pass its perimeter to the
//! store, which AND-s it into every query.

pub mod ateliers;
pub mod auth;
pub mod constantes;
pub mod erreurs;
pub mod etat;
pub mod http;
pub mod middleware;
pub mod openapi;
pub mod routes;
pub mod securite;

pub use erreurs::erreur::ApiError;
pub use etat::EtatApp;
pub use routes::{app, openapi};
