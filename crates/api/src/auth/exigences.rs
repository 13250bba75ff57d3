//! The scope each operation requires, read from the OpenAPI document the handlers declare:
//! the published contract and the enforcement cannot disagree.

use std::collections::HashMap;

use onde_domain::Scope;
use utoipa::openapi::path::{Operation, PathItem};
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
        for (chemin, item) in &api.paths.paths {
            for (methode, operation) in operations(item) {
                let Some(securites) = &operation.security else {
                    continue;
                };
                let mut scopes = Vec::new();
                for exigence in securites {
                    // utoipa keeps a requirement's map private: its JSON is its only reading.
                    let json = serde_json::to_value(exigence).map_err(|e| e.to_string())?;
                    if let Some(liste) = json[SCHEMA_OAUTH2].as_array() {
                        for s in liste {
                            let s = s.as_str().unwrap_or_default();
                            scopes.push(Scope::parse(s).map_err(|e| format!("{chemin} : {e}"))?);
                        }
                    }
                }
                if scopes.is_empty() {
                    return Err(format!("{methode} {chemin} : sécurité déclarée sans scope"));
                }
                let operation_id = operation.operation_id.clone().unwrap_or_else(|| chemin.clone());
                carte.entry(chemin.clone()).or_insert_with(HashMap::new).insert(
                    methode.to_owned(),
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

/// The operations of a path, with their method in upper case, in the order of OpenAPI's
/// fields.
fn operations(item: &PathItem) -> impl Iterator<Item = (&'static str, &Operation)> {
    [
        ("GET", &item.get),
        ("HEAD", &item.head),
        ("POST", &item.post),
        ("PUT", &item.put),
        ("PATCH", &item.patch),
        ("DELETE", &item.delete),
        ("OPTIONS", &item.options),
        ("TRACE", &item.trace),
    ]
    .into_iter()
    .filter_map(|(methode, operation)| operation.as_ref().map(|o| (methode, o)))
}

impl Chemins {
    pub fn depuis(api: &OpenApi) -> Self {
        let chemins = api
            .paths
            .paths
            .iter()
            .map(|(chemin, item)| {
                let methodes = operations(item).map(|(m, _)| m.to_owned()).collect();
                (chemin.split('/').map(str::to_owned).collect(), methodes)
            })
            .collect();
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
