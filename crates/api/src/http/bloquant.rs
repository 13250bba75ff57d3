//! Database calls are blocking (diesel): run them on actix's blocking pool, never on the
//! async workers.

use actix_web::web;
use onde_store::{DbConnection, Store, StoreError};

use crate::erreurs::erreur::ApiError;

pub async fn executer<T, F>(store: &Store, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
{
    executer_puis(store, f, Ok).await
}

/// As [`executer`], then `puis` on the same blocking thread once the connection is back in the
/// pool: the CPU work on a result (a page's views, audit record and JSON) stays off the async
/// workers and does not hold a connection. A finished page then waits for its worker as one
/// buffer: with 200 clients, results piled up in front of the 2 workers as thousands of small
/// allocations each, and glibc kept the peak for good (docs/BENCHMARKS.md, memory).
pub async fn executer_puis<T, U, F, G>(store: &Store, f: F, puis: G) -> Result<U, ApiError>
where
    U: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    G: FnOnce(T) -> Result<U, ApiError> + Send + 'static,
{
    let store = store.clone();
    web::block(move || {
        let lu = {
            let mut conn = store.connexion()?;
            f(&mut conn)?
        };
        puis(lu)
    })
    .await
    .map_err(|e| ApiError::Interne(format!("tâche bloquante interrompue : {e}")))?
}

/// Runs a blocking service call (diesel, argon2) on the blocking pool.
pub async fn en_tache<T, E, F>(store: &Store, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: Send + 'static,
    ApiError: From<E>,
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
{
    let store = store.clone();
    web::block(move || {
        let mut conn = store.connexion()?;
        f(&mut conn).map_err(ApiError::from)
    })
    .await
    .map_err(|e| ApiError::Interne(format!("tâche bloquante interrompue : {e}")))?
}
