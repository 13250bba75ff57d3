//! HTTP side of the ONDE partner gateway: the actix-web application, one module per resource,
//! problem+json errors, keyset pagination and the OpenAPI document derived from the handlers.
//!
//! Handlers never decide who may see what: they take an [`acces::Acces`] extractor and pass its
//! perimeter to the store, which AND-s it into every query.

pub mod acces;
pub mod admin;
pub mod audit;
pub mod auditeur;
mod bloquant;
mod changements;
mod conditionnel;
mod corps;
mod docs;
mod dossiers;
mod doublons;
pub mod ecriture;
pub mod error;
pub mod exigences;
mod export;
mod identifiant_requete;
pub mod imports;
pub mod jeton;
pub mod limites;
pub mod metriques;
mod oauth;
pub mod pagination;
mod parametres;
pub mod partenaires;
pub mod probleme;
pub mod vue;

mod ecoles;
mod eleves;
mod inscriptions;
mod lots;
mod sante;
mod workflow;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use std::sync::Arc;

use actix_web::{web, App};
use onde_store::Store;
use utoipa_actix_web::AppExt;

pub use error::ApiError;

/// Largest request body accepted (413 beyond).
pub const TAILLE_MAX_CORPS: usize = 8 * 1024 * 1024;

/// What every request needs, shared by all workers.
#[derive(Clone)]
pub struct EtatApp {
    pub store: Store,
    pub trousseau: Arc<jeton::Trousseau>,
    pub exigences: Arc<exigences::Exigences>,
    pub chemins: Arc<exigences::Chemins>,
    pub partenaires: Arc<acces::CachePartenaires>,
    pub auditeur: auditeur::Auditeur,
    pub limiteur: Arc<limites::Limiteur>,
    /// Where pulls read (lists, CSV exports, the change feed): a read replica, or the primary.
    pub lecture: Store,
    /// Spool directory of uploads (`None`: `ONDE_IMPORTS_DOSSIER` or the temporary directory).
    pub dossier_imports: Option<std::path::PathBuf>,
    /// The import workers of this node and their queue.
    pub imports: Arc<imports::Ateliers>,
}

impl EtatApp {
    /// Loads (or creates, on first start) the signing keys, reads each operation's required
    /// scope from the OpenAPI document and starts the audit writer. Blocking.
    pub fn ouvrir(store: Store, config: jeton::ConfigJetons) -> Result<Self, ApiError> {
        let mut conn = store.connexion()?;
        let trousseau = jeton::Trousseau::ouvrir(&mut conn, config)?;
        drop(conn);
        let document = openapi();
        let exigences = exigences::Exigences::depuis(&document).map_err(ApiError::Interne)?;
        let auditeur = auditeur::Auditeur::demarrer(store.clone());
        Ok(Self {
            chemins: Arc::new(exigences::Chemins::depuis(&document)),
            imports: imports::Ateliers::demarrer(store.clone(), imports::ConfigImports::default()),
            auditeur,
            lecture: store.clone(),
            store,
            trousseau: Arc::new(trousseau),
            exigences: Arc::new(exigences),
            partenaires: Arc::new(acces::CachePartenaires::default()),
            limiteur: limites::Limiteur::new(limites::ConfigLimites::default()),
            dossier_imports: None,
        })
    }

    /// Pulls read from this store (a PostgreSQL read replica). Writes, single resources read
    /// before a write, and everything a partner reads right after writing stay on the primary.
    pub fn avec_lecture(mut self, lecture: Store) -> Self {
        self.lecture = lecture;
        self
    }

    pub fn avec_dossier_imports(mut self, dossier: std::path::PathBuf) -> Self {
        self.dossier_imports = Some(dossier);
        self
    }

    /// Replaces the default import workers, queue and line bound (configuration).
    pub fn avec_imports(mut self, config: imports::ConfigImports) -> Self {
        self.imports = imports::Ateliers::demarrer(self.store.clone(), config);
        self
    }

    /// Replaces the default rate limits (configuration).
    pub fn avec_limites(mut self, config: limites::ConfigLimites) -> Self {
        self.limiteur = limites::Limiteur::new(config);
        self
    }
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
                .service(metriques::exposer);
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
                    .service(workflow::creer)
                    .service(workflow::rattacher)
                    .service(workflow::admission)
                    .service(workflow::admissibilite)
                    .service(workflow::admission_definitive)
                    .service(workflow::radiation)
                    .service(workflow::changement_ecole)
                    .service(workflow::changement_niveau)
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
    app.app_data(web::Data::new(etat))
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
        .default_service(web::to(error::route_inconnue))
        .wrap(from_fn(conditionnel::middleware))
        .wrap(from_fn(limites::middleware))
        .wrap(from_fn(metriques::middleware))
        .wrap(
            actix_web::middleware::ErrorHandlers::new()
                .handler(actix_web::http::StatusCode::PAYLOAD_TOO_LARGE, error::corps_trop_grand),
        )
        .wrap(from_fn(identifiant_requete::middleware))
}
