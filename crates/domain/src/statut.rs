//! The statuses of an inscription and the steps between them: a leaf module, so that the
//! domain's error can name them ([`crate::DomainError::TransitionInterdite`]) without depending
//! on the inscription. The fallible operations (`parse`, `passer_a`) are in `inscription.rs`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Status of an inscription (DOMAIN.md). Provisional admission is a flag on `admis`,
/// not a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "Statut d'une inscription : en_attente → inscrit → (admissibilite →) admis → admis_definitif ; radie depuis tout statut actif. L'admission provisoire est un indicateur du statut admis.",
    example = "admis"
)]
pub enum StatutInscription {
    /// Demandée en mairie, pas encore affectée.
    EnAttente,
    /// Inscription délivrée par la mairie, affectée à une école.
    Inscrit,
    /// Admission différée par la direction.
    Admissibilite,
    /// Admission acceptée (éventuellement provisoire).
    Admis,
    /// Admission définitive.
    AdmisDefinitif,
    /// Radiation : l'élève a quitté l'école ; l'inscription reste pour l'historique.
    Radie,
}

use StatutInscription::*;

impl StatutInscription {
    pub const TOUS: [StatutInscription; 6] = [EnAttente, Inscrit, Admissibilite, Admis, AdmisDefinitif, Radie];

    /// Statuses reachable in one step. Radiation is possible from every active status (a
    /// request withdrawn, a family moving away); nothing leaves `radie`.
    pub fn transitions(self) -> &'static [StatutInscription] {
        match self {
            EnAttente => &[Inscrit, Radie],
            Inscrit => &[Admissibilite, Admis, Radie],
            Admissibilite => &[Admis, Radie],
            Admis => &[AdmisDefinitif, Radie],
            AdmisDefinitif => &[Radie],
            Radie => &[],
        }
    }

    pub fn peut_passer_a(self, vers: StatutInscription) -> bool {
        self.transitions().contains(&vers)
    }

    /// Counts toward "one active inscription per pupil and school year".
    pub fn est_active(self) -> bool {
        self != Radie
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EnAttente => "en_attente",
            Inscrit => "inscrit",
            Admissibilite => "admissibilite",
            Admis => "admis",
            AdmisDefinitif => "admis_definitif",
            Radie => "radie",
        }
    }
}

impl std::fmt::Display for StatutInscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
