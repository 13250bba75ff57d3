//! The OpenAPI document and the interactive documentation (Swagger UI, vendored: no network).

use actix_web::http::header::LOCATION;
use actix_web::HttpResponse;
use onde_domain::Scope;
use utoipa::openapi::security::{ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityScheme};
use utoipa::{Modify, OpenApi};
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
        (name = "imports", description = "Imports en masse de dossiers d'élèves (NDJSON ou CSV), traités en arrière-plan."),
        (name = "changements", description = "Flux des changements visibles de l'appelant, pour tenir un miroir à jour à un coût proportionnel aux changements."),
        (name = "sante", description = "Sondes de vie et de disponibilité pour l'exploitation."),
        (name = "admin", description = "Administration : partenaires, piste d'audit, clés de signature (scope admin)."),
        (name = "authentification", description = "Jetons d'accès OAuth 2.0 (client credentials) et clés publiques."),
    ),
    components(schemas(Probleme, Violation)),
    modifiers(&SchemasSecurite)
)]
struct ApiDoc;

/// OAuth 2.0 client credentials (with every scope described) and the bearer JWT it yields.
struct SchemasSecurite;

impl Modify for SchemasSecurite {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let scopes = Scopes::from_iter(Scope::TOUS.iter().map(|s| (s.as_str(), s.description())));
        let composants = api.components.get_or_insert_with(Default::default);
        composants.add_security_scheme(
            crate::exigences::SCHEMA_OAUTH2,
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::ClientCredentials(ClientCredentials::new("/oauth/token", scopes))],
                "Flux client credentials : POST /oauth/token avec client_id et client_secret ; le jeton se présente en `Authorization: Bearer`.",
            )),
        );
        composants.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("Jeton d'accès JWT (EdDSA) obtenu par POST /oauth/token."))
                    .build(),
            ),
        );
    }
}

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
