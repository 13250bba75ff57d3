//! Legal guardians (responsables légaux). A guardian is one person, possibly shared by
//! siblings; the link (mère, père...) and parental authority belong to the pupil–guardian pair.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "Lien du responsable avec l'élève.", example = "mere")]
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
#[schema(description = "Un responsable légal vu depuis un élève.")]
pub struct Responsable {
    /// Identifiant interne du responsable (partagé entre frères et sœurs).
    pub id: Uuid,
    /// Nom de famille.
    #[schema(example = "Martin", max_length = 100)]
    pub nom: String,
    /// Prénom.
    #[schema(example = "Sophie", max_length = 100)]
    pub prenom: String,
    /// Lien avec l'élève.
    pub lien: LienResponsable,
    /// Exerce l'autorité parentale.
    #[schema(example = true)]
    pub autorite_parentale: bool,
    /// Téléphone (chiffres seuls, ou +indicatif).
    #[schema(example = "0612345678", max_length = 16)]
    pub telephone: Option<String>,
    /// Adresse électronique.
    #[schema(example = "sophie.martin@example.fr", max_length = 254)]
    pub courriel: Option<String>,
    /// Adresse postale, si différente de celle de l'élève.
    #[schema(example = "12 rue de la République, 75011 Paris", max_length = 300)]
    pub adresse: Option<String>,
}
