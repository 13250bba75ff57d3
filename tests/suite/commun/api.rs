//! Every item of the HTTP crate (`onde_api`) the tests use, named here once: when a module of
//! that crate moves, this file is the one to follow it. Tests write `api::app`, `api::EtatApp`…
pub use onde_api::admin::tourner_cles;
pub use onde_api::chiffrement::{Chiffrement, CleChiffrement};
pub use onde_api::ecriture::{MOTIF_IDEMPOTENCE, MOTIF_IF_MATCH};
pub use onde_api::imports::ConfigImports;
pub use onde_api::jeton::{rechiffrer, ConfigJetons, Trousseau};
pub use onde_api::limites::{ConfigLimites, Depassement, Limiteur, Regle};
pub use onde_api::partenaires::{
    self, CibleDemande, DefinitionPartenaire, DemandeRotation, MandatDemande, NouveauPartenaire,
};
pub use onde_api::secrets::{hacher, nouveau_secret, nouvel_identifiant_client, verifier};
pub use onde_api::{app, openapi, ApiError, EtatApp, TAILLE_MAX_CORPS};
