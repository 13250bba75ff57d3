use crate::DomainError;

/// Sex as recorded in the first-degree base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(example = "F")]
#[schema(description = "Sexe tel qu'enregistré dans la base élèves : M ou F.")]
pub enum Sexe {
    #[serde(rename = "M")]
    Masculin,
    #[serde(rename = "F")]
    Feminin,
}

impl Sexe {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "M" => Ok(Sexe::Masculin),
            "F" => Ok(Sexe::Feminin),
            _ => Err(DomainError::invalide("sexe_inconnu", "le sexe vaut M ou F")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sexe::Masculin => "M",
            Sexe::Feminin => "F",
        }
    }
}
