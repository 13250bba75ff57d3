use onde_store::StoreError;

/// Failures of the generators: the store's, or parameters that cannot give a valid data set.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Generation(String),
}
