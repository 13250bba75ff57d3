//! The scope each operation requires, read from the OpenAPI document the handlers declare:
//! the published contract and the enforcement cannot disagree.

use std::collections::HashMap;

use onde_domain::Scope;
use utoipa::openapi::OpenApi;

/// Name of the OAuth 2.0 security scheme in the document.
pub const SCHEMA_OAUTH2: &str = "oauth2";

#[derive(Debug, Clone)]
pub struct Exigence {
    pub operation: String,
    pub scopes: Vec<Scope>,
}

/// path template -> METHOD -> requirement. An operation absent from the map is public. Nested
/// so that the per-request lookup borrows `&str` keys instead of building owned ones.
#[derive(Debug, Clone, Default)]
pub struct Exigences(HashMap<String, HashMap<String, Exigence>>);

impl Exigences {
    pub fn depuis(api: &OpenApi) -> Result<Self, String> {
        let mut carte = HashMap::new();
        let json = serde_json::to_value(api).map_err(|e| e.to_string())?;
        let chemins = json["paths"].as_object().cloned().unwrap_or_default();
        for (chemin, item) in chemins {
            let Some(methodes) = item.as_object() else { continue };
            for (methode, operation) in methodes {
                let Some(securites) = operation["security"].as_array() else {
                    continue;
                };
                let mut scopes = Vec::new();
                for exigence in securites {
                    if let Some(liste) = exigence[SCHEMA_OAUTH2].as_array() {
                        for s in liste {
                            let s = s.as_str().unwrap_or_default();
                            scopes.push(Scope::parse(s).map_err(|e| format!("{chemin} : {e}"))?);
                        }
                    }
                }
                if scopes.is_empty() {
                    return Err(format!("{methode} {chemin} : sécurité déclarée sans scope"));
                }
                let operation_id = operation["operationId"].as_str().unwrap_or(&chemin).to_owned();
                carte.entry(chemin.clone()).or_insert_with(HashMap::new).insert(
                    methode.to_ascii_uppercase(),
                    Exigence {
                        operation: operation_id,
                        scopes,
                    },
                );
            }
        }
        Ok(Self(carte))
    }

    pub fn pour(&self, methode: &str, chemin: &str) -> Option<&Exigence> {
        self.0.get(chemin)?.get(methode)
    }

    /// (METHOD, path template, requirement) of every secured operation.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &Exigence)> {
        self.0
            .iter()
            .flat_map(|(chemin, m)| m.iter().map(move |(methode, e)| (methode.as_str(), chemin.as_str(), e)))
    }
}
