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

/// Every path template of the document with the methods it declares: a request that no handler
/// matched is a 405 naming the allowed methods when its path is known, a 404 otherwise.
#[derive(Debug, Clone, Default)]
pub struct Chemins(Vec<(Vec<String>, Vec<String>)>);

const METHODES: [&str; 8] = ["get", "head", "post", "put", "patch", "delete", "options", "trace"];

impl Chemins {
    pub fn depuis(api: &OpenApi) -> Self {
        let json = serde_json::to_value(api).unwrap_or_default();
        let mut chemins = Vec::new();
        if let Some(items) = json["paths"].as_object() {
            for (chemin, item) in items {
                let methodes: Vec<String> = METHODES
                    .iter()
                    .filter(|m| item.get(**m).is_some())
                    .map(|m| m.to_ascii_uppercase())
                    .collect();
                chemins.push((chemin.split('/').map(str::to_owned).collect(), methodes));
            }
        }
        Self(chemins)
    }

    /// The methods declared for the templates `chemin` matches (`{x}` matches one non-empty
    /// segment); `None` for a path no template matches.
    pub fn methodes(&self, chemin: &str) -> Option<Vec<&str>> {
        let segments: Vec<&str> = chemin.split('/').collect();
        let mut trouvees: Vec<&str> = Vec::new();
        let mut connu = false;
        for (modele, methodes) in &self.0 {
            let correspond = modele.len() == segments.len()
                && modele
                    .iter()
                    .zip(&segments)
                    .all(|(m, s)| if m.starts_with('{') { !s.is_empty() } else { m == s });
            if correspond {
                connu = true;
                for m in methodes {
                    if !trouvees.contains(&m.as_str()) {
                        trouvees.push(m);
                    }
                }
            }
        }
        connu.then_some(trouvees)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methodes_d_un_chemin_connu() {
        let chemins = Chemins::depuis(&crate::openapi());
        assert_eq!(chemins.methodes("/v1/ecoles"), Some(vec!["GET"]));
        assert_eq!(
            chemins.methodes("/v1/eleves/0494004062M"),
            Some(vec!["GET", "PUT", "PATCH"])
        );
        assert_eq!(chemins.methodes("/v1/inscriptions/x/radiation"), Some(vec!["POST"]));
        assert_eq!(chemins.methodes("/v1/nulle-part"), None);
        assert_eq!(chemins.methodes("/v1/eleves/"), None);
    }
}
