//! Which rows a caller may see: the whole base, or the schools of some communes and some UAIs.
//! Resolved server-side from the partner; the store AND-s it into every query.

use std::collections::BTreeSet;

use crate::{CodeInsee, Uai};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Perimetre {
    /// Every row (operations team, public reference data).
    National,
    /// Schools located in one of `communes`, or whose UAI is in `uais`.
    Restreint {
        communes: BTreeSet<CodeInsee>,
        uais: BTreeSet<Uai>,
    },
}

impl Perimetre {
    pub fn contient_ecole(&self, uai: &Uai, commune: &CodeInsee) -> bool {
        match self {
            Perimetre::National => true,
            Perimetre::Restreint { communes, uais } => communes.contains(commune) || uais.contains(uai),
        }
    }

    /// An empty restricted perimeter sees nothing.
    pub fn est_vide(&self) -> bool {
        matches!(self, Perimetre::Restreint { communes, uais } if communes.is_empty() && uais.is_empty())
    }
}
