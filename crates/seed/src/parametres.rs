//! What to generate and what was written, and the generator's fixed proportions: a leaf the
//! generator's modules share (the crate root only declares modules and re-exports).

use onde_domain::DomainError;

use crate::error::SeedError;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParametresSeed {
    pub eleves: u32,
    pub graine: u64,
    /// First calendar year of the current school year (2026 for 2026-2027).
    pub rentree: u16,
    /// Number of communes; by default one per 180 pupils, between 1 and 35,000.
    pub communes: Option<u32>,
}

/// Rows written, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BilanSeed {
    pub communes: u64,
    pub ecoles: u64,
    pub eleves: u64,
    pub responsables: u64,
    pub inscriptions: u64,
}

pub(crate) const ELEVES_PAR_COMMUNE: u32 = 180;
pub(crate) const ELEVES_PAR_ECOLE: u32 = 130;
/// A village with fewer pupils than this has no school of its own this often (per mille),
/// when its département already has a village school to host them: at national scale that
/// leaves about 48,000 schools for 35,000 communes.
pub(crate) const ELEVES_VILLAGE_SANS_ECOLE: u32 = 80;
pub(crate) const POUR_MILLE_SANS_ECOLE: u32 = 650;
pub(crate) const MAX_COMMUNES_DEFAUT: u32 = 35_000;
/// Pupils per flush: a few thousand rows per table, a handful of statements each.
pub(crate) const ELEVES_PAR_LOT: usize = 4_000;

pub(crate) fn generation(e: DomainError) -> SeedError {
    SeedError::Generation(e.to_string())
}
