//! A first-degree school.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{CodeInsee, DomainError, Uai};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "Type d'école : maternelle (cycle 1), élémentaire (cycles 2 et 3) ou primaire (les deux).",
    example = "elementaire"
)]
pub enum TypeEcole {
    Maternelle,
    Elementaire,
    Primaire,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "Secteur de l'école : public ou privé sous contrat.",
    example = "public"
)]
pub enum Secteur {
    Public,
    PriveSousContrat,
}

impl TypeEcole {
    pub const TOUS: [TypeEcole; 3] = [TypeEcole::Maternelle, TypeEcole::Elementaire, TypeEcole::Primaire];

    pub fn as_str(self) -> &'static str {
        match self {
            TypeEcole::Maternelle => "maternelle",
            TypeEcole::Elementaire => "elementaire",
            TypeEcole::Primaire => "primaire",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::TOUS.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            DomainError::invalide(
                "type_ecole_inconnu",
                "le type d'école vaut maternelle, elementaire ou primaire",
            )
        })
    }

    /// Whether a school of this type teaches that niveau.
    pub fn accueille(self, niveau: crate::Niveau) -> bool {
        match self {
            TypeEcole::Maternelle => niveau.cycle() == crate::Cycle::Un,
            TypeEcole::Elementaire => niveau.cycle() != crate::Cycle::Un,
            TypeEcole::Primaire => true,
        }
    }
}

impl Secteur {
    pub const TOUS: [Secteur; 2] = [Secteur::Public, Secteur::PriveSousContrat];

    pub fn as_str(self) -> &'static str {
        match self {
            Secteur::Public => "public",
            Secteur::PriveSousContrat => "prive_sous_contrat",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::TOUS
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| DomainError::invalide("secteur_inconnu", "le secteur vaut public ou prive_sous_contrat"))
    }
}

/// A school, identified by its UAI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(description = "Une école du premier degré, identifiée par son UAI.")]
pub struct Ecole {
    /// UAI de l'école.
    pub uai: Uai,
    /// Nom usuel de l'école.
    #[schema(example = "École élémentaire Jean Jaurès", max_length = 200)]
    pub nom: String,
    /// Type d'école (niveaux accueillis).
    #[serde(rename = "type")]
    pub type_ecole: TypeEcole,
    /// Secteur (public ou privé sous contrat).
    pub secteur: Secteur,
    /// Commune d'implantation (code INSEE).
    pub commune: CodeInsee,
    /// Circonscription du premier degré.
    #[schema(example = "Paris 11e", max_length = 200)]
    pub circonscription: Option<String>,
    /// Adresse postale de l'école.
    #[schema(example = "12 rue de la République", max_length = 300)]
    pub adresse: Option<String>,
    /// Identifiant du regroupement pédagogique intercommunal dont l'école fait partie.
    #[schema(example = "RPI-0021", max_length = 50)]
    pub rpi: Option<String>,
    /// Date d'ouverture de l'école, si connue.
    #[schema(example = "1998-09-01")]
    pub date_ouverture: Option<NaiveDate>,
    /// Date de fermeture ; absente pour une école ouverte.
    #[schema(example = "2027-07-04")]
    pub date_fermeture: Option<NaiveDate>,
}
