//! The OpenAPI document and the interactive documentation (Swagger UI, vendored: no network).

use actix_web::http::header::LOCATION;
use actix_web::HttpResponse;
use utoipa::OpenApi;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::probleme::{Probleme, Violation};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ONDE échanges — API partenaires",
        description = "Passerelle d'échanges de la base élèves du premier degré (ONDE) pour les mairies, \
les écoles privées sous contrat et leurs éditeurs de logiciels.\n\n\
Conventions : JSON UTF-8, vocabulaire français en snake_case ASCII, dates ISO 8601 ; erreurs au format \
`application/problem+json` (RFC 9457) avec un `code` stable et, pour les paramètres, la liste des violations ; \
listes paginées par curseur (`limit`, `curseur`, en-tête `Link`) dans un ordre stable ; chaque réponse porte \
`X-Request-Id`.",
        license(name = "EUPL-1.2", identifier = "EUPL-1.2"),
    ),
    tags(
        (name = "ecoles", description = "Écoles du premier degré, identifiées par leur UAI."),
        (name = "eleves", description = "Élèves, identifiés par leur INE, et leurs responsables légaux."),
        (name = "inscriptions", description = "Inscriptions d'un élève dans une école pour une année scolaire."),
        (name = "sante", description = "Sondes de vie et de disponibilité pour l'exploitation."),
    ),
    components(schemas(Probleme, Violation))
)]
struct ApiDoc;

pub fn document_de_base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Final touches applied to the collected document.
pub fn finaliser(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    api
}

/// Swagger UI at `/docs/`, reading `/openapi.json`. The validator badge is off: it would call
/// an external service.
pub fn interface(api: utoipa::openapi::OpenApi) -> SwaggerUi {
    SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api).config(
        Config::default()
            .validator_url("none")
            .try_it_out_enabled(true)
            .display_request_duration(true),
    )
}

pub async fn vers_docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((LOCATION, "/docs/"))
        .finish()
}
