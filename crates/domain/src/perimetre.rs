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

    /// Whether the caller may take workflow steps (enrol, link a pupil, admit, radiate, change
    /// school or niveau) in this school of its perimeter. DOMAIN.md: in a private school under
    /// contract the family enrols directly with the school, and the mairie takes no workflow step
    /// there. So such a school is reached by holding it by UAI (the school itself, or an editor
    /// under its mandate), never through a commune (a mairie, a commune's mandate), although a
    /// mairie still reads its resident pupils schooled there.
    pub fn parcours_ouvert(&self, ecole: &crate::Ecole) -> bool {
        match (self, ecole.secteur) {
            (Perimetre::National, _) => true,
            (Perimetre::Restreint { .. }, crate::Secteur::Public) => self.contient_ecole(&ecole.uai, &ecole.commune),
            (Perimetre::Restreint { uais, .. }, crate::Secteur::PriveSousContrat) => uais.contains(&ecole.uai),
        }
    }

    /// Whether every row this perimeter names is named by `autre` too (by the same commune or
    /// UAI: a school named by UAI whose commune `autre` holds is not looked up here, so the
    /// answer may be a conservative no).
    pub fn inclus_dans(&self, autre: &Perimetre) -> bool {
        match (self, autre) {
            (_, Perimetre::National) => true,
            (Perimetre::National, Perimetre::Restreint { .. }) => false,
            (Perimetre::Restreint { communes: c1, uais: u1 }, Perimetre::Restreint { communes: c2, uais: u2 }) => {
                c1.is_subset(c2) && u1.is_subset(u2)
            }
        }
    }

    /// An empty restricted perimeter sees nothing.
    pub fn est_vide(&self) -> bool {
        matches!(self, Perimetre::Restreint { communes, uais } if communes.is_empty() && uais.is_empty())
    }
}
