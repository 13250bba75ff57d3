//! Parsing of path and query parameters into domain types, collecting every violation so the
//! partner fixes them all at once. A malformed identifier is a 400 naming the parameter and
//! the rule, never a 500 or an empty list.

use actix_web::error::{PathError, QueryPayloadError};
use actix_web::{web, HttpRequest};
use onde_domain::DomainError;

use crate::erreurs::erreur::ApiError;
use onde_service::Violation;

#[derive(Default)]
pub struct Lecteur {
    violations: Vec<Violation>,
}

impl Lecteur {
    /// Parses an optional parameter; a violation is recorded and `None` returned on error.
    pub fn optionnel<T>(
        &mut self,
        nom: &str,
        valeur: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, DomainError>,
    ) -> Option<T> {
        let v = valeur?;
        match parse(v) {
            Ok(t) => Some(t),
            Err(e) => {
                self.violations.push(Violation::parametre(nom, e.code(), e.to_string()));
                None
            }
        }
    }

    pub fn violation(&mut self, v: Violation) {
        self.violations.push(v);
    }

    /// `Err` with every violation recorded, if any.
    pub fn terminer(self) -> Result<(), ApiError> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Parametres(self.violations))
        }
    }
}

/// A required path parameter parsed into a domain type.
pub fn chemin<T>(nom: &str, valeur: &str, parse: impl FnOnce(&str) -> Result<T, DomainError>) -> Result<T, ApiError> {
    parse(valeur).map_err(|e| ApiError::Parametres(vec![Violation::parametre(nom, e.code(), e.to_string())]))
}

/// Unknown or repeated query parameters are refused: a typo such as `?comune=` must not
/// silently return an unfiltered list.
pub fn config_query() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|e: QueryPayloadError, _req: &HttpRequest| {
        let message = match &e {
            QueryPayloadError::Deserialize(d) => traduire_serde(&d.to_string()),
            _ => "chaîne de requête illisible".to_owned(),
        };
        ApiError::Parametres(vec![Violation {
            pointer: None,
            parametre: parametre_cite(&message),
            code: "parametre_inconnu".into(),
            message,
        }])
        .into()
    })
}

pub fn config_path() -> web::PathConfig {
    web::PathConfig::default().error_handler(|e: PathError, _req: &HttpRequest| {
        ApiError::Parametres(vec![Violation {
            pointer: None,
            parametre: None,
            code: "chemin_invalide".into(),
            message: format!("paramètre de chemin illisible : {e}"),
        }])
        .into()
    })
}

/// serde_urlencoded says "unknown field `x`, expected one of ..." in English.
fn traduire_serde(message: &str) -> String {
    if let Some(reste) = message.strip_prefix("unknown field `") {
        let nom = reste.split('`').next().unwrap_or("");
        let attendus: Vec<&str> = reste.split('`').skip(2).step_by(2).collect();
        return format!(
            "paramètre de requête inconnu « {nom} » ; paramètres acceptés : {}",
            attendus.join(", ")
        );
    }
    if let Some(reste) = message.strip_prefix("duplicate field `") {
        let nom = reste.split('`').next().unwrap_or("");
        return format!("paramètre de requête « {nom} » répété");
    }
    format!("paramètres de requête invalides : {message}")
}

fn parametre_cite(message: &str) -> Option<String> {
    let debut = message.find('«')? + '«'.len_utf8();
    let fin = message[debut..].find('»')? + debut;
    Some(message[debut..fin].trim().to_owned())
}
