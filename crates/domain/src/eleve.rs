//! A pupil.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{CodeInsee, DomainError, Ine, Responsable, Sexe};

/// One to three given names, none empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Prenoms(Vec<String>);

impl utoipa::PartialSchema for Prenoms {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        ArrayBuilder::new()
            .items(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(100)),
            )
            .min_items(Some(1))
            .max_items(Some(3))
            .description(Some("Prénoms de l'élève, du premier au troisième."))
            .examples([serde_json::json!(["Léa", "Marie"])])
            .into()
    }
}

impl ToSchema for Prenoms {}

impl Prenoms {
    pub fn parse(prenoms: Vec<String>) -> Result<Self, DomainError> {
        if prenoms.is_empty() || prenoms.len() > 3 {
            return Err(DomainError::invalide("prenoms_nombre", "un élève a de 1 à 3 prénoms"));
        }
        if prenoms.iter().any(|p| p.trim().is_empty() || p.chars().count() > 100) {
            return Err(DomainError::invalide(
                "prenom_longueur",
                "chaque prénom a de 1 à 100 caractères, espaces exclus aux extrémités",
            ));
        }
        Ok(Self(prenoms))
    }

    pub fn premier(&self) -> &str {
        self.0.first().map(String::as_str).unwrap_or("")
    }

    pub fn tous(&self) -> &[String] {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Prenoms {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::parse(Vec::<String>::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Postal address of residence; `commune` is the INSEE code of the commune of residence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(description = "Adresse de résidence de l'élève.")]
pub struct Adresse {
    /// Numéro et voie.
    #[schema(example = "12 rue de la République", max_length = 200)]
    pub voie: String,
    /// Code postal (5 chiffres).
    #[schema(example = "75011", pattern = r"^[0-9]{5}$", max_length = 5)]
    pub code_postal: String,
    /// Commune de résidence (code INSEE, pas le code postal).
    pub commune: CodeInsee,
}

/// A pupil with their guardians. `ine` is absent while the pupil awaits one ("en attente
/// d'INE"); `id` is the gateway's stable internal identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(description = "Un élève et ses responsables légaux.")]
pub struct Eleve {
    pub id: Uuid,
    pub ine: Option<Ine>,
    #[schema(example = "Dupont-Lefèvre", max_length = 100)]
    pub nom: String,
    pub prenoms: Prenoms,
    pub sexe: Sexe,
    pub date_naissance: NaiveDate,
    /// Commune de naissance, ou pays (99xxx) pour une naissance à l'étranger.
    pub lieu_naissance: CodeInsee,
    pub adresse: Option<Adresse>,
    pub responsables: Vec<Responsable>,
}

/// The identity part of a pupil that lists carry (no address, no guardians).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(description = "L'identité d'un élève dans une liste.")]
pub struct ResumeEleve {
    pub id: Uuid,
    pub ine: Option<Ine>,
    #[schema(example = "Dupont-Lefèvre", max_length = 100)]
    pub nom: String,
    pub prenoms: Prenoms,
    pub sexe: Sexe,
    pub date_naissance: NaiveDate,
}
