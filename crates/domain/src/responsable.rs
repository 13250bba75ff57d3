//! Legal guardians (responsables légaux). A guardian is one person, possibly shared by
//! siblings; the link (mère, père...) and parental authority belong to the pupil–guardian pair.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LienResponsable {
    Mere,
    Pere,
    Tuteur,
    Autre,
}

impl LienResponsable {
    pub const TOUS: [LienResponsable; 4] = [
        LienResponsable::Mere,
        LienResponsable::Pere,
        LienResponsable::Tuteur,
        LienResponsable::Autre,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LienResponsable::Mere => "mere",
            LienResponsable::Pere => "pere",
            LienResponsable::Tuteur => "tuteur",
            LienResponsable::Autre => "autre",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::TOUS
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| DomainError::invalide("lien_inconnu", "le lien vaut mere, pere, tuteur ou autre"))
    }
}

/// A guardian as seen from one pupil.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Responsable {
    /// Identifiant interne du responsable (partagé entre frères et sœurs).
    pub id: Uuid,
    #[schema(example = "Martin")]
    pub nom: String,
    #[schema(example = "Sophie")]
    pub prenom: String,
    pub lien: LienResponsable,
    /// Exerce l'autorité parentale.
    pub autorite_parentale: bool,
    #[schema(example = "0612345678")]
    pub telephone: Option<String>,
    #[schema(example = "sophie.martin@example.fr")]
    pub courriel: Option<String>,
    #[schema(example = "12 rue de la République, 75011 Paris")]
    pub adresse: Option<String>,
}
