//! Enrolment of one pupil in one school for one school year, and its workflow.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{AnneeScolaire, DomainError, Niveau, Uai};

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

    /// The status after the step, or the reason it is refused.
    pub fn passer_a(self, vers: StatutInscription) -> Result<StatutInscription, DomainError> {
        if self.peut_passer_a(vers) {
            Ok(vers)
        } else {
            Err(DomainError::TransitionInterdite {
                depuis: self,
                vers,
                autorisees: self.transitions(),
            })
        }
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

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::TOUS.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            DomainError::invalide(
                "statut_inconnu",
                "le statut vaut en_attente, inscrit, admissibilite, admis, admis_definitif ou radie",
            )
        })
    }
}

impl std::fmt::Display for StatutInscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An inscription as stored. No `deny_unknown_fields`: the API flattens it into a view that adds
/// the pupil, and a closed schema (`additionalProperties: false`) would reject that view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(description = "Une inscription d'un élève dans une école pour une année scolaire.")]
pub struct Inscription {
    /// Identifiant de l'inscription.
    pub id: Uuid,
    /// Identifiant interne de l'élève.
    pub eleve_id: Uuid,
    /// École d'inscription.
    pub uai: Uai,
    /// Année scolaire de l'inscription.
    pub annee_scolaire: AnneeScolaire,
    /// Niveau de l'élève.
    pub niveau: Niveau,
    /// Classe (libellé libre de l'école).
    #[schema(example = "CP-A", max_length = 50)]
    pub classe: Option<String>,
    /// Dispositif particulier (ex. ULIS).
    #[schema(example = "ULIS", max_length = 50)]
    pub dispositif: Option<String>,
    /// Statut de l'inscription.
    pub statut: StatutInscription,
    /// Admission provisoire (pièces manquantes : la famille a 3 mois pour les fournir).
    #[schema(example = false)]
    pub admission_provisoire: bool,
    /// Date de l'inscription.
    #[schema(example = "2026-06-02")]
    pub date_inscription: NaiveDate,
    /// Date de l'admission, une fois admis.
    #[schema(example = "2026-09-01")]
    pub date_admission: Option<NaiveDate>,
    /// Date de la radiation, pour une inscription radiée.
    #[schema(example = "2027-02-15")]
    pub date_radiation: Option<NaiveDate>,
    /// Motif de la radiation.
    #[schema(example = "demenagement", max_length = 200)]
    pub motif_radiation: Option<String>,
}

impl Inscription {
    /// The inscription a mairie issues (`inscrit`, nothing admitted nor radiated yet).
    pub fn delivree(
        eleve_id: Uuid,
        uai: Uai,
        annee_scolaire: AnneeScolaire,
        niveau: Niveau,
        classe: Option<String>,
        dispositif: Option<String>,
        date_inscription: NaiveDate,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            eleve_id,
            uai,
            annee_scolaire,
            niveau,
            classe,
            dispositif,
            statut: StatutInscription::Inscrit,
            admission_provisoire: false,
            date_inscription,
            date_admission: None,
            date_radiation: None,
            motif_radiation: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chaque_transition_legale_et_illegale() {
        let legales = [
            (EnAttente, Inscrit),
            (EnAttente, Radie),
            (Inscrit, Admissibilite),
            (Inscrit, Admis),
            (Inscrit, Radie),
            (Admissibilite, Admis),
            (Admissibilite, Radie),
            (Admis, AdmisDefinitif),
            (Admis, Radie),
            (AdmisDefinitif, Radie),
        ];
        for depuis in StatutInscription::TOUS {
            for vers in StatutInscription::TOUS {
                let attendu = legales.contains(&(depuis, vers));
                assert_eq!(depuis.passer_a(vers).is_ok(), attendu, "{depuis} -> {vers}");
                if !attendu {
                    match depuis.passer_a(vers) {
                        Err(DomainError::TransitionInterdite { autorisees, .. }) => {
                            assert_eq!(autorisees, depuis.transitions())
                        }
                        autre => panic!("{autre:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn seule_la_radiation_est_inactive() {
        for s in StatutInscription::TOUS {
            assert_eq!(s.est_active(), s != Radie);
            assert_eq!(StatutInscription::parse(s.as_str()).unwrap(), s);
        }
        assert!(Radie.transitions().is_empty());
    }
}
