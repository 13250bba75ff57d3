//! A first-degree school.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{CodeInsee, DomainError, Uai};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TypeEcole {
    Maternelle,
    Elementaire,
    Primaire,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
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
pub struct Ecole {
    pub uai: Uai,
    /// Nom usuel de l'école.
    #[schema(example = "École élémentaire Jean Jaurès")]
    pub nom: String,
    #[serde(rename = "type")]
    pub type_ecole: TypeEcole,
    pub secteur: Secteur,
    /// Commune d'implantation (code INSEE).
    pub commune: CodeInsee,
    /// Circonscription du premier degré.
    #[schema(example = "Paris 11e")]
    pub circonscription: Option<String>,
    #[schema(example = "12 rue de la République")]
    pub adresse: Option<String>,
    /// Identifiant du regroupement pédagogique intercommunal dont l'école fait partie.
    #[schema(example = "RPI-0021")]
    pub rpi: Option<String>,
    pub date_ouverture: Option<NaiveDate>,
    pub date_fermeture: Option<NaiveDate>,
}
