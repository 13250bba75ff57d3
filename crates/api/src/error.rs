//! The one HTTP error type: every failure becomes a problem document with a stable code.
//! Internal details (SQL, paths, panics) are logged, never sent.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use onde_store::StoreError;

use crate::identifiant_requete;
use crate::probleme::{Probleme, Violation};

pub const TYPE_PROBLEME_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("paramètres invalides")]
    Parametres(Vec<Violation>),
    #[error("{ressource} introuvable")]
    Introuvable { ressource: &'static str },
    #[error("route inconnue")]
    RouteInconnue,
    #[error("méthode non autorisée")]
    MethodeNonAutorisee,
    #[error("service momentanément indisponible")]
    Indisponible,
    #[error("erreur interne : {0}")]
    Interne(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.est_indisponibilite() {
            tracing::warn!(erreur = %e, "base de données indisponible");
            ApiError::Indisponible
        } else {
            ApiError::Interne(e.to_string())
        }
    }
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            ApiError::Parametres(_) => "parametre_invalide",
            ApiError::Introuvable { .. } => "ressource_introuvable",
            ApiError::RouteInconnue => "route_inconnue",
            ApiError::MethodeNonAutorisee => "methode_non_autorisee",
            ApiError::Indisponible => "service_indisponible",
            ApiError::Interne(_) => "erreur_interne",
        }
    }

    fn titre(&self) -> &'static str {
        match self {
            ApiError::Parametres(_) => "Paramètre invalide",
            ApiError::Introuvable { .. } => "Ressource introuvable",
            ApiError::RouteInconnue => "Route inconnue",
            ApiError::MethodeNonAutorisee => "Méthode non autorisée",
            ApiError::Indisponible => "Service momentanément indisponible",
            ApiError::Interne(_) => "Erreur interne",
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Parametres(v) if v.len() == 1 => v[0].message.clone(),
            ApiError::Parametres(v) => format!("La requête contient {} paramètres invalides.", v.len()),
            ApiError::Introuvable { ressource } => {
                format!("{ressource} n'existe pas ou n'est pas accessible avec ces droits.")
            }
            ApiError::RouteInconnue => "Aucune opération de l'API ne correspond à ce chemin ; voir /docs.".into(),
            ApiError::MethodeNonAutorisee => "Cette méthode HTTP n'est pas disponible sur ce chemin.".into(),
            ApiError::Indisponible => "La base de données ne répond pas ; réessayez dans quelques secondes.".into(),
            ApiError::Interne(_) => {
                "Une erreur inattendue s'est produite ; elle a été journalisée avec l'identifiant de la requête.".into()
            }
        }
    }

    pub fn probleme(&self) -> Probleme {
        Probleme {
            type_probleme: format!("/problemes/{}", self.code()),
            title: self.titre().into(),
            status: self.status_code().as_u16(),
            detail: self.detail(),
            instance: identifiant_requete::courant().map(|id| format!("urn:uuid:{id}")),
            code: self.code().into(),
            erreurs: match self {
                ApiError::Parametres(v) => v.clone(),
                _ => Vec::new(),
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Parametres(_) => StatusCode::BAD_REQUEST,
            ApiError::Introuvable { .. } | ApiError::RouteInconnue => StatusCode::NOT_FOUND,
            ApiError::MethodeNonAutorisee => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Indisponible => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Interne(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Interne(detail) = self {
            tracing::error!(erreur = %detail, "erreur interne");
        }
        let mut reponse = HttpResponse::build(self.status_code());
        reponse.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(TYPE_PROBLEME_JSON)));
        if matches!(self, ApiError::Indisponible) {
            reponse.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
        }
        reponse.json(self.probleme())
    }
}

/// Fallback for paths no operation matches (and wrong methods on known paths).
pub async fn route_inconnue(req: HttpRequest) -> ApiError {
    let chemin_connu = req.path().starts_with("/v1/") || req.path().starts_with("/health/");
    if chemin_connu && req.method() != actix_web::http::Method::GET {
        ApiError::MethodeNonAutorisee
    } else {
        ApiError::RouteInconnue
    }
}

impl actix_web::Responder for ApiError {
    type Body = actix_web::body::BoxBody;
    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        self.error_response()
    }
}
