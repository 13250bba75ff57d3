//! Database calls are blocking (diesel): run them on actix's blocking pool, never on the
//! async workers.

use actix_web::web;
use onde_store::{DbConnection, Store, StoreError};

use crate::ApiError;

pub async fn executer<T, F>(store: &Store, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
{
    let store = store.clone();
    web::block(move || {
        let mut conn = store.connexion()?;
        f(&mut conn)
    })
    .await
    .map_err(|e| ApiError::Interne(format!("tâche bloquante interrompue : {e}")))?
    .map_err(ApiError::from)
}
