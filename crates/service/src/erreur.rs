//! The one error type of the services. Each variant maps to one problem document of the API
//! (`impl From<ServiceError> for ApiError`, in `onde-api`: same status, code, detail and located
//! violations); the CLI prints [`ServiceError::code`] and the message.

use onde_store::{diesel_erreur, StoreError};

use crate::violation::Violation;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A parameter that does not parse or breaks a rule (400 `parametre_invalide`).
    #[error("paramètres invalides")]
    Parametres(Vec<Violation>),
    /// A body that cannot be read: malformed JSON, unknown or missing field, wrong type (400).
    #[error("corps de requête illisible")]
    CorpsIllisible(Vec<Violation>),
    /// A body that reads but breaks a rule (identifier format, domain invariant) (422).
    #[error("contenu refusé")]
    NonConforme(Vec<Violation>),
    /// Unknown, or out of the caller's reach: the two are not told apart (404).
    #[error("{ressource} n'existe pas ou n'est pas accessible avec ces droits.")]
    Introuvable { ressource: &'static str },
    /// The resource's current state forbids the operation (e.g. a revoked partner) (409).
    #[error("{detail}")]
    Conflit { code: &'static str, detail: String },
    /// This node is saturated (a bounded queue or pool is full): 503 with `Retry-After`.
    #[error("{detail}")]
    Sature {
        code: &'static str,
        detail: String,
        reessayer_s: u32,
    },
    /// The database does not answer (503).
    #[error("La base de données ne répond pas ; réessayez dans quelques secondes.")]
    Indisponible,
    /// A feed cursor from before the feed's last purge (410).
    #[error("curseur expiré")]
    CurseurExpire { purge_le: chrono::NaiveDateTime },
    /// Anything else: logged, never shown to a partner (500).
    #[error("{0}")]
    Interne(String),
}

impl ServiceError {
    /// The stable machine code, the same as the problem document's.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Parametres(_) => "parametre_invalide",
            ServiceError::CorpsIllisible(_) => "corps_invalide",
            ServiceError::NonConforme(_) => "contenu_invalide",
            ServiceError::Introuvable { .. } => "ressource_introuvable",
            ServiceError::Conflit { code, .. } | ServiceError::Sature { code, .. } => code,
            ServiceError::Indisponible => "service_indisponible",
            ServiceError::CurseurExpire { .. } => "curseur_expire",
            ServiceError::Interne(_) => "erreur_interne",
        }
    }
}

impl From<diesel_erreur::Error> for ServiceError {
    fn from(e: diesel_erreur::Error) -> Self {
        ServiceError::from(StoreError::from(e))
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        if let StoreError::FluxPurge { le } = e {
            return ServiceError::CurseurExpire { purge_le: le };
        }
        if e.est_indisponibilite() {
            tracing::warn!(erreur = %e, "base de données indisponible");
            ServiceError::Indisponible
        } else {
            ServiceError::Interne(e.to_string())
        }
    }
}
