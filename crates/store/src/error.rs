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
    /// A feed cursor from before the feed's last purge: the changes after it are partly gone.
    #[error("curseur antérieur à la purge du flux du {le}")]
    FluxPurge { le: chrono::NaiveDateTime },
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
    /// The unique constraint a write broke, if that is why it failed: PostgreSQL names the
    /// constraint, SQLite lists the columns ("UNIQUE constraint failed: t.a, t.b").
    pub fn violation_unicite(&self) -> Option<String> {
        match self {
            StoreError::Requete(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                info,
            )) => Some(
                info.constraint_name()
                    .map(str::to_owned)
                    .unwrap_or_else(|| info.message().to_owned()),
            ),
            _ => None,
        }
    }

    /// The database is unreachable or overloaded: worth a retry later (503), not a bug (500).
    pub fn est_indisponibilite(&self) -> bool {
        match self {
            StoreError::Indisponible(_) => true,
            StoreError::Requete(diesel::result::Error::DatabaseError(kind, info)) => {
                matches!(
                    kind,
                    diesel::result::DatabaseErrorKind::ClosedConnection
                        | diesel::result::DatabaseErrorKind::UnableToSendCommand
                ) || connexion_perdue(info.message())
            }
            // A transaction whose connection died mid-way.
            StoreError::Requete(diesel::result::Error::BrokenTransactionManager) => true,
            _ => false,
        }
    }
}

/// libpq's wording when the server or the network goes away in the middle of a statement
/// (reported as an unknown database error, not as a closed connection).
fn connexion_perdue(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "server closed the connection",
        "could not receive data from server",
        "could not send data to server",
        "no connection to the server",
        "terminating connection",
        "connection to server",
        "broken pipe",
        "connection reset",
        "ssl syscall error",
        "lost synchronization with server",
    ]
    .iter()
    .any(|p| m.contains(p))
}

#[cfg(test)]
mod tests {
    #[test]
    fn messages_de_connexion_perdue() {
        assert!(super::connexion_perdue(
            "server closed the connection unexpectedly\n\tThis probably means..."
        ));
        assert!(super::connexion_perdue(
            "could not receive data from server: Connection reset by peer"
        ));
        assert!(!super::connexion_perdue(
            "duplicate key value violates unique constraint \"eleves_ine_key\""
        ));
    }
}
