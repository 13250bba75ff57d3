//! Request plumbing the handlers share: bodies, parameters, pagination, preconditions and
//! idempotency of writes, CSV exports, blocking work, content codings (compressors).

pub mod bloquant;
pub mod compresseur;
pub mod corps;
pub mod ecriture;
pub mod export;
pub mod pagination;
pub mod parametres;
