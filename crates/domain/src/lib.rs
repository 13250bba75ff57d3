//! Domain of the ONDE partner gateway: identifiers that can only hold valid values, the
//! entities partners exchange, and the enrolment state machine. Pure: no I/O.
//!
//! Every identifier is built by `parse` (or `FromStr`/serde, which call it) and by nothing else,
//! so a value of these types is valid by construction.

mod cle;
mod macros;

pub mod annee_scolaire;
pub mod code_insee;
pub mod dossier;
pub mod ecole;
pub mod eleve;
pub mod error;
pub mod ine;
pub mod inscription;
pub mod lecture;
pub mod niveau;
pub mod partenaire;
pub mod perimetre;
pub mod poussee;
pub mod responsable;
pub mod sexe;
pub mod statut;
pub mod uai;

pub use annee_scolaire::AnneeScolaire;
pub use code_insee::{CodeInsee, ZoneInsee};
pub use ecole::{Ecole, Secteur, TypeEcole};
pub use eleve::{Adresse, Eleve, Prenoms, ResumeEleve};
pub use error::DomainError;
pub use ine::{FamilleIne, Ine};
pub use inscription::{Inscription, StatutInscription};
pub use niveau::{Cycle, Niveau};
pub use partenaire::{
    ChampEleve, CibleMandat, Droits, Mandat, Partenaire, ProfilDonnees, Scope, Scopes, TypePartenaire,
};
pub use perimetre::Perimetre;
pub use responsable::{LienResponsable, Responsable};
pub use sexe::Sexe;
pub use uai::Uai;
