//! The OpenAPI document and the interactive documentation (Swagger UI, vendored: no network).

use actix_web::http::header::LOCATION;
use actix_web::HttpResponse;
use onde_domain::Scope;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::schema::{ArrayItems, KnownFormat, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::security::{ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityScheme};
use utoipa::openapi::{RefOr, Response, Server};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::constantes::TYPE_PROBLEME_JSON;
use crate::erreurs::catalogue::{exemple, TYPES_PAR_STATUT};
use crate::erreurs::probleme::Probleme;
use onde_service::Violation;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ONDE échanges — API partenaires",
        description = "Passerelle d'échanges de la base élèves du premier degré (ONDE) pour les mairies, \
les écoles privées sous contrat et leurs éditeurs de logiciels.\n\n\
Conventions : JSON UTF-8, vocabulaire français en snake_case ASCII, dates ISO 8601 ; erreurs au format \
`application/problem+json` (RFC 9457) avec un `code` stable et, pour les paramètres, la liste des violations ; \
listes paginées par curseur (`limit`, `curseur`, en-tête `Link`) dans un ordre stable ; chaque réponse porte \
`X-Request-Id`.\n\n\
Compression : selon `Accept-Encoding` (RFC 9110), les réponses JSON, les documents d'erreur et les CSV (exports en \
flux compris) d'au moins 1 Kio sont compressées en `zstd`, `br` ou `gzip` (`Content-Encoding` ; la plus haute valeur \
`q` l'emporte, à égalité dans cet ordre ; `*` vaut pour tout codage non nommé) ; toute réponse qui aurait pu l'être \
porte `Vary: Accept-Encoding`. L'`ETag` d'une réponse compressée porte le codage en suffixe (`\"v3-gzip\"`) : \
`If-None-Match` compare avec celui de la représentation demandée, `If-Match` accepte l'une ou l'autre forme. Jamais \
compressés : `POST /oauth/token` et les réponses `Cache-Control: no-store` (secrets). Un client qui refuse \
`identity` reçoit tout compressé, ou `406` (`codage_non_acceptable`) s'il n'accepte aucun de ces codages.",
        license(name = "EUPL-1.2", identifier = "EUPL-1.2"),
        contact(name = "Équipe ONDE échanges"),
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
            crate::auth::exigences::SCHEMA_OAUTH2,
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::ClientCredentials(ClientCredentials::new("/oauth/token", scopes))],
                "Flux client credentials : POST /oauth/token avec client_id et client_secret (HTTP Basic ou formulaire) ; \
le jeton se présente en `Authorization: Bearer`. Jetons JWT conformes aux bonnes pratiques RFC8725 : algorithme EdDSA \
imposé, `kid` publié, `iss`, `aud`, `exp`, `nbf` vérifiés ; durée de vie de 10 minutes, sans jeton de rafraîchissement \
(un nouveau jeton s'obtient avec les identifiants du client).",
            )),
        );
        composants.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Jeton d'accès JWT obtenu par POST /oauth/token, conforme aux bonnes pratiques RFC8725 \
(algorithme EdDSA imposé, `iss`, `aud`, `exp`, `nbf` vérifiés, 10 minutes).",
                    ))
                    .build(),
            ),
        );
    }
}

pub fn document_de_base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Final touches applied to the collected document: the version, and the bounds that a string's
/// `format` implies (see [`borner`]).
pub fn finaliser(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let mut serveur = Server::new("/");
    serveur.description = Some(
        "La passerelle qui sert ce document : production, ou bac à sable local de démonstration \
(`onde-echanges serve --demo`, http://127.0.0.1:8080)."
            .into(),
    );
    serveur.extensions = Some(Extensions::from_iter([("x-internal", false)]));
    api.servers = Some(vec![serveur]);
    if let Some(composants) = api.components.as_mut() {
        composants.schemas.values_mut().for_each(borner);
    }
    for (chemin, item) in api.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for op in operations.into_iter().flatten() {
            for p in op.parameters.iter_mut().flatten() {
                p.schema.iter_mut().for_each(borner);
            }
            if let Some(corps) = op.request_body.as_mut() {
                for (type_contenu, contenu) in corps.content.iter_mut() {
                    if let Some(schema) = contenu.schema.as_mut() {
                        sans_branche_null(schema);
                        borner(schema);
                        // A file to import: bounded by the upload limit, not the JSON one.
                        if let (true, RefOr::T(Schema::Object(o))) = (
                            ["application/x-ndjson", "text/csv"].contains(&type_contenu.as_str()),
                            schema,
                        ) {
                            o.max_length
                                .get_or_insert(crate::constantes::TAILLE_MAX_IMPORT as usize);
                        }
                    }
                }
            }
            // Rate limits (crate::middleware::limites): every /v1 operation, once the token is verified, and
            // the token endpoint per client id.
            if chemin.starts_with("/v1/") || chemin == "/oauth/token" {
                documenter_limites(chemin.starts_with("/v1/"), &mut op.responses.responses);
            }
            // Any operation may fail unexpectedly; the answer is a problem document too.
            op.responses.responses.entry("500".into()).or_insert_with(|| {
                let mut r =
                    Response::new("Erreur inattendue, journalisée avec l'identifiant de la requête (`instance`).");
                r.content.insert(
                    TYPE_PROBLEME_JSON.into(),
                    utoipa::openapi::ContentBuilder::new()
                        .schema(Some(utoipa::openapi::Ref::from_schema_name("Probleme")))
                        .build(),
                );
                RefOr::T(r)
            });
            for (statut, reponse) in op.responses.responses.iter_mut() {
                if let RefOr::T(r) = reponse {
                    documenter_problemes(statut, r);
                    r.content
                        .values_mut()
                        .filter_map(|c| c.schema.as_mut())
                        .for_each(borner);
                    for (nom, entete) in r.headers.iter_mut() {
                        borner_entete(nom, &mut entete.schema);
                    }
                }
            }
        }
    }
    api
}

/// An integer header between 0 and `maximum`, with its description and example.
fn entete_entier(description: &str, maximum: u32, exemple: u32) -> utoipa::openapi::header::Header {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
                .minimum(Some(0))
                .maximum(Some(maximum))
                .examples([exemple]),
        )
        .description(Some(description))
        .build()
}

/// The `RateLimit-*` headers (IETF draft) a limited answer carries.
fn entetes_limite() -> Vec<(&'static str, utoipa::openapi::header::Header)> {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    vec![
        (
            "RateLimit-Limit",
            entete_entier("Requêtes permises d'affilée (rafale) pour ce client.", 1_000_000, 100),
        ),
        (
            "RateLimit-Remaining",
            entete_entier("Requêtes encore permises tout de suite.", 1_000_000, 97),
        ),
        (
            "RateLimit-Reset",
            entete_entier("Secondes avant que la réserve soit pleine de nouveau.", 1_000_000, 1),
        ),
        (
            "RateLimit-Policy",
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .max_length(Some(40))
                        .pattern(Some(r"^[0-9]+;w=[0-9]+$"))
                        .examples(["100;w=2"]),
                )
                .description(Some("Politique : rafale ; fenêtre en secondes."))
                .build(),
        ),
    ]
}

/// Rate limits: a 429 answer with `Retry-After`, and on a /v1 operation the `RateLimit-*`
/// headers on every answer given once the token is verified (all but 401).
fn documenter_limites(v1: bool, reponses: &mut std::collections::BTreeMap<String, RefOr<Response>>) {
    if v1 {
        for (statut, reponse) in reponses.iter_mut() {
            if let (false, RefOr::T(r)) = (statut == "401", reponse) {
                for (nom, entete) in entetes_limite() {
                    r.headers.entry(nom.into()).or_insert(entete);
                }
            }
        }
    }
    let mut r = Response::new(
        "Trop de requêtes pour ce client : débit (requêtes par seconde, en rafales) ou requêtes \
simultanées dépassés ; réessayer après `Retry-After` secondes.",
    );
    r.headers.insert(
        "Retry-After".into(),
        entete_entier("Délai conseillé avant un nouvel essai, en secondes", 86_400, 1),
    );
    for (nom, entete) in entetes_limite() {
        r.headers.insert(nom.into(), entete);
    }
    r.content.insert(
        TYPE_PROBLEME_JSON.into(),
        utoipa::openapi::ContentBuilder::new()
            .schema(Some(utoipa::openapi::Ref::from_schema_name("Probleme")))
            .build(),
    );
    reponses.entry("429".into()).or_insert(RefOr::T(r));
}

/// utoipa spells an optional request body (`Option<T>`) as « `T` or `null` » and marks it not
/// required; what is meant is a body that may be absent, not a `null` document (refused).
fn sans_branche_null(schema: &mut RefOr<Schema>) {
    let RefOr::T(Schema::OneOf(un_de)) = schema else { return };
    let est_null =
        |s: &RefOr<Schema>| matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null));
    if un_de.items.len() == 2 && un_de.items.iter().any(est_null) {
        if let Some(autre) = un_de.items.iter().find(|s| !est_null(s)).cloned() {
            *schema = autre;
        }
    }
}

/// Under each error response: the problem types (`type`) it may carry, and an example.
fn documenter_problemes(statut: &str, r: &mut Response) {
    let Ok(statut) = statut.parse::<u16>() else { return };
    let Some(contenu) = r.content.get_mut(TYPE_PROBLEME_JSON) else {
        return;
    };
    let Some((_, types)) = TYPES_PAR_STATUT.iter().find(|(s, _)| *s == statut) else {
        return;
    };
    let liste: Vec<String> = types.iter().map(|t| format!("`/problemes/{t}`")).collect();
    r.description = format!(
        "{}\n\nTypes de problème possibles (`type`, et `code` sans le préfixe) : {}.",
        r.description.trim_end(),
        liste.join(", ")
    );
    if contenu.example.is_none() && contenu.examples.is_empty() {
        contenu.example = exemple(statut).and_then(|p| serde_json::to_value(p).ok());
    }
}

/// Response headers are short: the longest is a `Link` to the next page (a path and its query).
fn borner_entete(nom: &str, schema: &mut RefOr<Schema>) {
    let RefOr::T(Schema::Object(o)) = schema else { return };
    match nom {
        "Retry-After" => {
            o.minimum.get_or_insert(0.into());
            o.maximum.get_or_insert(86_400.into());
        }
        "ETag" => {
            // `"v3"` for a resource, `"<22 base64url characters>"` for a page.
            o.max_length.get_or_insert(64);
            o.examples.push("\"v3\"".into());
        }
        "Location" => {
            o.max_length.get_or_insert(200);
            o.examples
                .push("/v1/inscriptions/0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e".into());
        }
        "Link" => {
            o.max_length.get_or_insert(2100);
            o.examples
                .push("</v1/inscriptions?limit=100&curseur=djE6MDE5MmQzZTQ>; rel=\"next\"".into());
        }
        "WWW-Authenticate" => {
            o.max_length.get_or_insert(500);
            o.examples
                .push("Bearer realm=\"onde-echanges\", error=\"invalid_token\"".into());
        }
        _ => {}
    }
}

/// A string's `format` fixes its length: a UUID has 36 characters, a date (`2026-09-01`) 10, a
/// UTC timestamp as serialised here at most 35. utoipa knows the format but not the length;
/// this writes `maxLength` (and an example where the field has none) on every such schema, so
/// that every string of the document is bounded.
fn borner(schema: &mut RefOr<Schema>) {
    let RefOr::T(schema) = schema else { return };
    match schema {
        Schema::Object(o) => {
            let bornes = match &o.format {
                Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)) => {
                    Some((36, "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e"))
                }
                Some(SchemaFormat::KnownFormat(KnownFormat::Date)) => Some((10, "2026-09-01")),
                Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)) => Some((35, "2026-09-01T08:30:00Z")),
                _ => None,
            };
            if let Some((longueur, exemple)) = bornes {
                o.max_length.get_or_insert(longueur);
                if o.example.is_none() && o.examples.is_empty() {
                    o.examples.push(exemple.into());
                }
            }
            o.properties.values_mut().for_each(borner);
        }
        Schema::Array(a) => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items {
                borner(items);
            }
        }
        Schema::OneOf(c) => c.items.iter_mut().for_each(borner),
        Schema::AllOf(c) => c.items.iter_mut().for_each(borner),
        Schema::AnyOf(c) => c.items.iter_mut().for_each(borner),
        _ => {}
    }
}

/// Swagger UI at `/docs/`, reading `/openapi.json`. The validator badge is off: it would call
/// an external service.
pub fn interface(api: utoipa::openapi::OpenApi) -> SwaggerUi {
    SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api).config(
        Config::default()
            .validator_url("none")
            .try_it_out_enabled(true)
            .display_request_duration(true)
            .display_operation_id(true)
            .use_base_layout(),
    )
}

/// The French page of `/docs/` (lang, title, skip link, landmarks, contrast and focus fixes)
/// around Swagger UI, whose vendored assets `interface` still serves: nothing from a CDN.
const PAGE_DOCS: &str = include_str!("../../assets/docs/index.html");
const STYLE_DOCS: &str = include_str!("../../assets/docs/onde.css");
const SCRIPT_DOCS: &str = include_str!("../../assets/docs/onde.js");

pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(PAGE_DOCS)
}

pub async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(STYLE_DOCS)
}

pub async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(SCRIPT_DOCS)
}

pub async fn vers_docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((LOCATION, "/docs/"))
        .finish()
}
