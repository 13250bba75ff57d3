//! Constants several roles share (bounds, content types): a leaf module, so that reading a
//! bound never pulls in the module that enforces it.

/// Largest request body accepted (413 beyond).
pub const TAILLE_MAX_CORPS: usize = 8 * 1024 * 1024;

/// Most items in one batch (`POST /v1/lots/eleves`).
pub const TAILLE_MAX_LOT: usize = 1000;

/// Largest upload accepted by `POST /v1/imports` (413 beyond).
pub const TAILLE_MAX_IMPORT: u64 = 512 * 1024 * 1024;

pub const JSON: &str = "application/json";
pub const MERGE_PATCH: &str = "application/merge-patch+json";
pub const NDJSON: &str = "application/x-ndjson";
pub const CSV: &str = "text/csv";
pub const TYPE_PROBLEME_JSON: &str = "application/problem+json";
