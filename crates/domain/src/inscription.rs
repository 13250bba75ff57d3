//! Enrolment of one pupil in one school for one school year, and its workflow.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{AnneeScolaire, DomainError, Niveau, Uai};

pub use crate::statut::StatutInscription;

/// The fallible operations on a status (the status itself is in `statut.rs`).
impl StatutInscription {
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

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::TOUS.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            DomainError::invalide(
                "statut_inconnu",
                "le statut vaut en_attente, inscrit, admissibilite, admis, admis_definitif ou radie",
            )
        })
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
    use StatutInscription::*;

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
