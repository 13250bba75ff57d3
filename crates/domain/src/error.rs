use crate::statut::StatutInscription;

/// Why a value or an operation is refused. Each variant has a stable machine `code` and a
/// French message for the partner.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A value that does not satisfy its rule (format, check key, range).
    #[error("{message}")]
    Invalide { code: &'static str, message: String },
    /// A workflow step that the current status does not allow.
    #[error("transition interdite : une inscription au statut « {depuis} » ne peut pas passer au statut « {vers} »")]
    TransitionInterdite {
        depuis: StatutInscription,
        vers: StatutInscription,
        autorisees: &'static [StatutInscription],
    },
}

impl DomainError {
    pub(crate) fn invalide(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalide {
            code,
            message: message.into(),
        }
    }

    /// Stable machine code, for problem documents.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalide { code, .. } => code,
            Self::TransitionInterdite { .. } => "transition_interdite",
        }
    }
}
