/// Failures of the persistence layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("URL de base de données invalide : {0}")]
    Url(String),
    #[error("base de données injoignable : {0}")]
    Indisponible(String),
    #[error("échec de migration : {0}")]
    Migration(String),
    #[error("requête en échec : {0}")]
    Requete(#[from] diesel::result::Error),
    /// A stored value no longer parses: a bug or a manual edit, never the caller's fault.
    #[error("donnée stockée incohérente ({table}.{colonne}) : {detail}")]
    Corrompu {
        table: &'static str,
        colonne: &'static str,
        detail: String,
    },
    #[error("{0}")]
    Generation(String),
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        StoreError::Indisponible(e.to_string())
    }
}

impl From<diesel::ConnectionError> for StoreError {
    fn from(e: diesel::ConnectionError) -> Self {
        StoreError::Indisponible(e.to_string())
    }
}

impl StoreError {
    /// The database is unreachable or overloaded: worth a retry later (503), not a bug (500).
    pub fn est_indisponibilite(&self) -> bool {
        match self {
            StoreError::Indisponible(_) => true,
            StoreError::Requete(diesel::result::Error::DatabaseError(kind, _)) => {
                matches!(kind, diesel::result::DatabaseErrorKind::ClosedConnection)
            }
            _ => false,
        }
    }
}
