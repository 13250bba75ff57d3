//! Partners: their request and response bodies ([`types`]), the validation of a definition
//! ([`validation`]), the administration service ([`gestion`]) and the demo partners ([`demo`]).
//! Callers use the flat paths re-exported here (`onde_service::partenaires::creer`).

pub mod demo;
pub mod gestion;
pub mod types;
pub mod validation;

pub use demo::{creer_partenaires_demo, IdentifiantsDemo, PerimetreDemo, FICHIER_DEMO};
pub use gestion::{
    creer, lister, lister_tout, modifier, modifier_partiellement, montrer, revoquer, secret_accepte, tourner_secret,
    FiltrePartenaires, CHEVAUCHEMENT_MAX_HEURES, CHEVAUCHEMENT_PAR_DEFAUT_HEURES,
};
pub use types::{
    CibleDemande, DefinitionPartenaire, DemandeRotation, FicheClient, FichePartenaire, Identifiants, MandatDemande,
    NouveauPartenaire, NouveauSecret, PartenaireCree, ResumePartenaire,
};
pub use validation::PERIMETRE_MAX;
