//! The OpenAPI document (base, finishing, `/docs`) and the schemas of bodies the domain reads by
//! hand.

pub mod docs;
pub mod dossiers;
