//! Every item of the HTTP crate (`onde_api`) and of the service layer (`onde_service`) the tests
//! use, named here once: when a module moves, this file is the one to follow it. Tests write
//! `api::app`, `api::EtatApp`…
pub use onde_api::ateliers::ConfigImports;
pub use onde_api::auth::jeton::{ConfigJetons, Trousseau};
pub use onde_api::constantes::TAILLE_MAX_CORPS;
pub use onde_api::http::ecriture::{MOTIF_IDEMPOTENCE, MOTIF_IF_MATCH};
pub use onde_api::middleware::limites::{ConfigLimites, ConfigRedis, Depassement, EnVol, Limiteur, Regle};
pub use onde_api::{app, openapi, EtatApp};
pub use onde_service::chiffrement::{Chiffrement, CleChiffrement};
pub use onde_service::cles::{rechiffrer, tourner_cles};
pub use onde_service::partenaires::{
    self, CibleDemande, DefinitionPartenaire, DemandeRotation, MandatDemande, NouveauPartenaire,
};
pub use onde_service::secrets::{hacher, nouveau_secret, nouvel_identifiant_client, verifier};
pub use onde_service::ServiceError;
