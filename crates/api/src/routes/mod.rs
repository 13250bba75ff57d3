//! The route table: every operation registered once ([`base`]), from which both the actix
//! application ([`app`], with its middleware and `/docs`) and the OpenAPI document ([`openapi`])
//! are built. One module per resource; nothing but this table names a route module.

pub mod admin;
pub mod changements;
pub mod ecoles;
pub mod eleves;
pub mod imports;
pub mod inscriptions;
pub mod lots;
pub mod metriques;
pub mod oauth;
pub mod sante;
pub mod workflow;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{web, App};
use utoipa_actix_web::AppExt;

use std::sync::{Arc, OnceLock};

use onde_store::Store;

use crate::ateliers::{Ateliers, ConfigImports};
use crate::auth::cache_partenaires::CachePartenaires;
use crate::auth::exigences::{Chemins, Exigences};
use crate::auth::jeton::{ConfigJetons, Trousseau};
use crate::constantes::TAILLE_MAX_CORPS;
use crate::erreurs::erreur::ApiError;
use crate::erreurs::reponse;
use crate::etat::EtatApp;
use crate::http::parametres;
use crate::middleware::limites::{ConfigLimites, Limiteur};
use crate::middleware::{admission, compression, conditionnel, identifiant_requete, limites};
use crate::openapi::docs;
use crate::securite::auditeur::Auditeur;

// The state's constructor lives with the route table: the scope each operation requires is
// read from the OpenAPI document the table builds (the state itself knows no route).
impl EtatApp {
    /// Loads (or creates, on first start) the signing keys, reads each operation's required
    /// scope from the OpenAPI document and starts the audit writer. Blocking.
    pub fn ouvrir(store: Store, config: ConfigJetons) -> Result<Self, ApiError> {
        let mut conn = store.connexion()?;
        let trousseau = Trousseau::ouvrir(&mut conn, config)?;
        drop(conn);
        let (exigences, chemins) = tables()?;
        let auditeur = Auditeur::demarrer(store.clone());
        Ok(Self {
            chemins,
            imports: Ateliers::demarrer(store.clone(), ConfigImports::default()),
            auditeur,
            lecture: store.clone(),
            store,
            trousseau: Arc::new(trousseau),
            exigences,
            partenaires: Arc::new(CachePartenaires::default()),
            limiteur: Limiteur::new(ConfigLimites::default()),
            dossier_imports: None,
            compression: Default::default(),
        })
    }
}

/// The scope each operation requires and the path templates, read once per process from the
/// OpenAPI document the route table builds: the document is the same for every app of the
/// process, and building and serialising it took a quarter of a test process's CPU.
fn tables() -> Result<(Arc<Exigences>, Arc<Chemins>), ApiError> {
    type Tables = Result<(Arc<Exigences>, Arc<Chemins>), String>;
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES
        .get_or_init(|| {
            let document = openapi();
            Ok((
                Arc::new(Exigences::depuis(&document)?),
                Arc::new(Chemins::depuis(&document)),
            ))
        })
        .clone()
        .map_err(ApiError::Interne)
}

/// Registers every operation; the OpenAPI document is collected from the same calls.
fn base<T>(app: App<T>) -> (App<T>, utoipa::openapi::OpenApi)
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    app.into_utoipa_app()
        .openapi(docs::document_de_base())
        .configure(|cfg| {
            cfg.service(sante::vivant)
                .service(sante::pret)
                .service(oauth::jeton)
                .service(oauth::jwks)
                .service(self::metriques::exposer);
            cfg.service(
                utoipa_actix_web::scope("/v1")
                    .service(ecoles::lister)
                    .service(ecoles::trouver)
                    .service(eleves::lister)
                    .service(eleves::trouver)
                    .service(eleves::ecrire)
                    .service(eleves::modifier)
                    .service(lots::pousser)
                    .service(imports::lancer)
                    .service(imports::consulter)
                    .service(imports::rejets)
                    .service(changements::lire)
                    .service(inscriptions::lister)
                    .service(inscriptions::trouver)
                    .service(workflow::creation::creer)
                    .service(workflow::rattachement::rattacher)
                    .service(workflow::etapes::admission)
                    .service(workflow::etapes::admissibilite)
                    .service(workflow::etapes::admission_definitive)
                    .service(workflow::etapes::radiation)
                    .service(workflow::etapes::changement_ecole)
                    .service(workflow::etapes::changement_niveau)
                    .configure(admin::configurer),
            );
        })
        .split_for_parts()
}

/// The OpenAPI document, exactly as served at `/openapi.json` and committed in `api-spec/`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    docs::finaliser(base(App::new()).1)
}

/// The whole application; `main` and the end-to-end tests build it through this function.
pub fn app(
    etat: EtatApp,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (app, api) = base(App::new());
    let config_compression = web::Data::new(etat.compression.clone());
    app.app_data(web::Data::new(etat))
        .app_data(config_compression)
        .app_data(parametres::config_query())
        .app_data(parametres::config_path())
        // Batches of 1,000 records with guardians run to a few MiB.
        .app_data(web::PayloadConfig::new(TAILLE_MAX_CORPS))
        // The French page first: it answers /docs/ before Swagger UI's own index.
        .service(web::resource(["/docs/", "/docs/index.html"]).route(web::get().to(docs::page)))
        .service(web::resource("/docs/onde.css").route(web::get().to(docs::style)))
        .service(web::resource("/docs/onde.js").route(web::get().to(docs::script)))
        .service(docs::interface(docs::finaliser(api)))
        .service(web::resource("/docs").route(web::get().to(docs::vers_docs)))
        .default_service(web::to(reponse::route_inconnue))
        // Innermost: its 429 goes through every other middleware, as a handler's answer does.
        .wrap(from_fn(admission::middleware))
        .wrap(from_fn(conditionnel::middleware))
        // Outside the conditional middleware: it reads the negotiated coding to tag the
        // representation, and compresses what that middleware let through.
        .wrap(from_fn(compression::middleware))
        .wrap(from_fn(limites::middleware))
        .wrap(from_fn(crate::middleware::metriques::middleware))
        .wrap(actix_web::middleware::ErrorHandlers::new().handler(
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            reponse::corps_trop_grand,
        ))
        .wrap(from_fn(identifiant_requete::middleware))
}
