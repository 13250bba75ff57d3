//! One broken rule, located: the unit of every refusal the services and the API explain.

use serde::Serialize;
use utoipa::ToSchema;

/// Une règle non respectée par un paramètre ou un champ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Violation {
    /// Pointeur JSON (RFC 6901) vers le champ du corps en cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "/eleve/ine", max_length = 200)]
    pub pointer: Option<String>,
    /// Nom du paramètre de chemin ou de requête en cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "uai", max_length = 200)]
    pub parametre: Option<String>,
    /// Code machine stable de la règle.
    #[schema(example = "uai_cle", max_length = 100)]
    pub code: String,
    /// Message en français.
    #[schema(
        example = "UAI « 0750655F » : la lettre clé devrait être E (reste modulo 23 des 7 chiffres)",
        max_length = 2000
    )]
    pub message: String,
}

impl Violation {
    /// A violation of a path or query parameter, by its name.
    pub fn parametre(nom: &str, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            pointer: None,
            parametre: Some(nom.to_owned()),
            code: code.into(),
            message: message.into(),
        }
    }

    /// A violation located by a JSON pointer into the body.
    pub fn champ(pointeur: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            pointer: Some(pointeur.into()),
            parametre: None,
            code: code.into(),
            message: message.into(),
        }
    }
}
