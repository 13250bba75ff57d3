//! How an [`ApiError`] answers over HTTP: status, `Retry-After`, `Allow`, the Bearer challenge,
//! the problem document; the fallback route and the 413 of actix's own body limit.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use crate::constantes::TYPE_PROBLEME_JSON;
use crate::erreurs::erreur::{secondes, ApiError};

/// `realm` of the authentication challenges.
pub const ROYAUME: &str = "onde-echanges";

/// Header values are ASCII: accents are folded, quotes dropped.
fn ascii_sans_guillemets(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'à' | 'â' => 'a',
            'î' | 'ï' => 'i',
            'ô' => 'o',
            'ù' | 'û' => 'u',
            'ç' => 'c',
            c if c.is_ascii() && c != '"' && c != '\\' => c,
            _ => ' ',
        })
        .collect()
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Parametres(_) => StatusCode::BAD_REQUEST,
            ApiError::Introuvable { .. } | ApiError::RouteInconnue => StatusCode::NOT_FOUND,
            ApiError::MethodeNonAutorisee { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Indisponible | ApiError::Sature { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NonAuthentifie(_) => StatusCode::UNAUTHORIZED,
            ApiError::ScopeInsuffisant { .. } | ApiError::Interdit { .. } => StatusCode::FORBIDDEN,
            ApiError::Doublon { .. }
            | ApiError::DoublonHorsPerimetre
            | ApiError::IneHorsPerimetre
            | ApiError::Transition(_) => StatusCode::CONFLICT,
            ApiError::IdentiteNonConcordante => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PreconditionEchouee { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::IdempotenceReutilisee | ApiError::LotRefuse { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::CorpsIllisible(_) => StatusCode::BAD_REQUEST,
            ApiError::NonConforme(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflit { .. } => StatusCode::CONFLICT,
            ApiError::TypeContenu { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::CodageNonAcceptable { .. } => StatusCode::NOT_ACCEPTABLE,
            ApiError::TropDeRequetes(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::CorpsTropGrand => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::CurseurExpire { .. } => StatusCode::GONE,
            ApiError::Interne(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Interne(detail) = self {
            tracing::error!(erreur = %detail, "erreur interne");
        }
        let mut reponse = HttpResponse::build(self.status_code());
        reponse.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(TYPE_PROBLEME_JSON)));
        if let ApiError::MethodeNonAutorisee { autorisees } = self {
            if let Ok(v) = HeaderValue::from_str(autorisees) {
                reponse.insert_header((header::ALLOW, v));
            }
        }
        match self {
            ApiError::Indisponible => {
                reponse.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
            }
            ApiError::Sature { reessayer_s, .. } => {
                reponse.insert_header((header::RETRY_AFTER, HeaderValue::from(*reessayer_s)));
            }
            ApiError::TropDeRequetes(d) => {
                let (attente, etat) = match d {
                    crate::middleware::limites::Depassement::Debit { reessayer, etat } => {
                        (secondes(*reessayer), Some(etat))
                    }
                    crate::middleware::limites::Depassement::Simultanees { .. } => (1, None),
                };
                reponse.insert_header((header::RETRY_AFTER, HeaderValue::from(attente)));
                for (nom, valeur) in etat.map(crate::middleware::limites::entetes).into_iter().flatten() {
                    if let Ok(v) = HeaderValue::from_str(&valeur) {
                        reponse.insert_header((nom, v));
                    }
                }
            }
            _ => {}
        }
        // RFC 6750 section 3: tell the client how to authenticate and what went wrong.
        let defi = match self {
            ApiError::NonAuthentifie(None) => Some(format!("Bearer realm=\"{ROYAUME}\"")),
            ApiError::NonAuthentifie(Some(raison)) => Some(format!(
                "Bearer realm=\"{ROYAUME}\", error=\"invalid_token\", error_description=\"{}\"",
                ascii_sans_guillemets(raison)
            )),
            ApiError::ScopeInsuffisant { requis, .. } => Some(format!(
                "Bearer realm=\"{ROYAUME}\", error=\"insufficient_scope\", scope=\"{}\"",
                requis.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
            )),
            _ => None,
        };
        if let Some(v) = defi.and_then(|d| HeaderValue::from_str(&d).ok()) {
            reponse.insert_header((header::WWW_AUTHENTICATE, v));
        }
        reponse.json(self.probleme())
    }
}

/// Fallback for requests no handler matched: 405 with `Allow` on a path the OpenAPI document
/// declares (the method is not one of its operations), 404 on any other path.
pub async fn route_inconnue(req: HttpRequest) -> ApiError {
    let methodes = req
        .app_data::<actix_web::web::Data<crate::etat::EtatApp>>()
        .and_then(|etat| etat.chemins.methodes(req.path()).map(|m| m.join(", ")));
    match methodes {
        Some(autorisees) if !autorisees.is_empty() => ApiError::MethodeNonAutorisee { autorisees },
        _ => ApiError::RouteInconnue,
    }
}

impl actix_web::Responder for ApiError {
    type Body = actix_web::body::BoxBody;
    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        self.error_response()
    }
}

/// actix answers a body over the extractor's limit with a plain-text 413: this turns it into
/// the problem document every other error is (a 413 already in that form is left alone).
pub fn corps_trop_grand<B>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<actix_web::middleware::ErrorHandlerResponse<B>> {
    use actix_web::middleware::ErrorHandlerResponse;
    let deja = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(TYPE_PROBLEME_JSON.as_bytes()));
    if deja {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let (req, _) = res.into_parts();
    let reponse = ApiError::CorpsTropGrand.error_response();
    Ok(ErrorHandlerResponse::Response(
        actix_web::dev::ServiceResponse::new(req, reponse).map_into_right_body(),
    ))
}
