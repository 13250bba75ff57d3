//! Inscriptions over three school years: the previous year's (with moves and the passage to
//! the élémentaire), the current year's in every status, and early requests for the next.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use onde_domain::{AnneeScolaire, Cycle, Niveau, StatutInscription};
use onde_store::chargement::LigneInscription;
use rand::Rng;

use crate::error::SeedError;
use crate::generateur::Generateur;
use crate::listes::MOTIFS_RADIATION;
use crate::parametres::generation;

/// An inscription about to be written.
struct Nouvelle {
    uai: String,
    annee: AnneeScolaire,
    niveau: Niveau,
    statut: StatutInscription,
    provisoire: bool,
    date_inscription: NaiveDate,
    date_admission: Option<NaiveDate>,
    date_radiation: Option<NaiveDate>,
    motif: Option<&'static str>,
    classe: Option<String>,
    dispositif: Option<&'static str>,
}

/// Current-year statuses forced on the first pupils, so that every status (and both
/// flavours of `admis`) appears in any data set of more than a handful of pupils.
const STATUTS_IMPOSES: [(StatutInscription, bool); 7] = [
    (StatutInscription::AdmisDefinitif, false),
    (StatutInscription::Admis, true),
    (StatutInscription::Admis, false),
    (StatutInscription::Admissibilite, false),
    (StatutInscription::Inscrit, false),
    (StatutInscription::EnAttente, false),
    (StatutInscription::Radie, false),
];

impl Generateur {
    /// A school of commune `c` that teaches `niveau`, other than `sauf`; `prefere` wins
    /// most of the time when it fits (siblings, pupils staying in their school).
    fn ecole_pour(&mut self, c: usize, niveau: Niveau, prefere: Option<usize>, sauf: Option<usize>) -> Option<usize> {
        if let Some(e) = prefere.filter(|e| Some(*e) != sauf && self.ecoles[*e].type_ecole.accueille(niveau)) {
            if self.pour_mille(800) {
                return Some(e);
            }
        }
        let candidates: Vec<usize> = self.communes[c]
            .ecoles
            .iter()
            .copied()
            .filter(|e| Some(*e) != sauf && self.ecoles[*e].type_ecole.accueille(niveau))
            .collect();
        (!candidates.is_empty()).then(|| candidates[self.rng.random_range(0..candidates.len())])
    }

    fn sans_ecole(&self, c: usize, niveau: Niveau) -> SeedError {
        SeedError::Generation(format!(
            "aucune école de la commune {} n'accueille le niveau {niveau}",
            self.communes[c].code
        ))
    }

    fn classe(&mut self, niveau: Niveau, pour_mille: u32) -> Option<String> {
        self.pour_mille(pour_mille)
            .then(|| format!("{niveau}-{}", self.choisir(&['A', 'B', 'C'])))
    }

    /// The pupil's inscriptions over the previous, current and next school years; returns
    /// the earliest creation time and the school of the current year.
    pub(crate) fn inscriptions(
        &mut self,
        c: usize,
        eleve_id: &str,
        niveau: Niveau,
        redoublant: bool,
        ecole_fratrie: Option<usize>,
    ) -> Result<(NaiveDateTime, usize), SeedError> {
        let ecole = self
            .ecole_pour(c, niveau, ecole_fratrie, None)
            .ok_or_else(|| self.sans_ecole(c, niveau))?;
        let mut premiere: Option<NaiveDateTime> = None;
        let mut noter = |t: NaiveDateTime| premiere = Some(premiere.map_or(t, |p: NaiveDateTime| p.min(t)));

        // Previous year: the niveau below (the same one for a redoublant); a PS pupil only
        // when they attended TPS.
        let precedent = if redoublant {
            Some(niveau)
        } else {
            match niveau {
                Niveau::Tps => None,
                Niveau::Ps => self.pour_mille(100).then_some(Niveau::Tps),
                n => Niveau::TOUS
                    .iter()
                    .position(|x| *x == n)
                    .and_then(|i| i.checked_sub(1))
                    .and_then(|i| Niveau::TOUS.get(i))
                    .copied(),
            }
        };
        if let Some(pn) = precedent {
            let (ecole_prec, motif) = if self.communes.len() > 1 && self.pour_mille(40) {
                // Moved in from another commune over the summer.
                let mut autre = self.rng.random_range(0..self.communes.len() - 1);
                if autre >= c {
                    autre += 1;
                }
                let e = self
                    .ecole_pour(autre, pn, None, None)
                    .ok_or_else(|| self.sans_ecole(autre, pn))?;
                (e, Some("demenagement"))
            } else if self.ecoles[ecole].type_ecole.accueille(pn) {
                match self
                    .pour_mille(50)
                    .then(|| self.ecole_pour(c, pn, None, Some(ecole)))
                    .flatten()
                {
                    Some(e) => (e, Some("demenagement")),
                    None => (ecole, None),
                }
            } else {
                let e = self
                    .ecole_pour(c, pn, None, None)
                    .ok_or_else(|| self.sans_ecole(c, pn))?;
                let motif = if pn.cycle() == Cycle::Un && niveau.cycle() != Cycle::Un {
                    "passage_ecole_elementaire"
                } else {
                    "demenagement"
                };
                (e, Some(motif))
            };
            let date_inscription = self.cal.inscription_prec.tirer(&mut self.rng);
            let date_admission = Some(self.cal.admission_prec.tirer(&mut self.rng));
            let (statut, date_radiation) = match motif {
                Some(_) => (
                    StatutInscription::Radie,
                    Some(self.cal.radiation_prec.tirer(&mut self.rng)),
                ),
                None => (StatutInscription::AdmisDefinitif, None),
            };
            let classe = self.classe(pn, 400);
            let t = self.pousser(
                eleve_id,
                Nouvelle {
                    uai: self.ecoles[ecole_prec].ligne.uai.clone(),
                    annee: self.annee.precedente().map_err(generation)?,
                    niveau: pn,
                    statut,
                    provisoire: false,
                    date_inscription,
                    date_admission,
                    date_radiation,
                    motif,
                    classe,
                    dispositif: None,
                },
            );
            noter(t);
        }

        // Current year.
        let (statut, provisoire) = match usize::try_from(self.eleves_generes)
            .ok()
            .and_then(|i| STATUTS_IMPOSES.get(i))
        {
            Some(&impose) => impose,
            None => match self.rng.random_range(0..100) {
                0..80 => (StatutInscription::AdmisDefinitif, false),
                80..88 => (StatutInscription::Admis, self.rng.random::<bool>()),
                88..90 => (StatutInscription::Admissibilite, false),
                90..95 => (StatutInscription::Inscrit, false),
                95..97 => (StatutInscription::EnAttente, false),
                _ => (StatutInscription::Radie, false),
            },
        };
        let date_inscription = match statut {
            StatutInscription::EnAttente => self.cal.attente.tirer(&mut self.rng),
            _ => self.cal.inscription.tirer(&mut self.rng),
        };
        let date_admission = match statut {
            StatutInscription::AdmisDefinitif => Some(self.cal.admission_definitive.tirer(&mut self.rng)),
            StatutInscription::Admis => Some(self.cal.admission.tirer(&mut self.rng)),
            StatutInscription::Radie => Some(self.cal.admission_radie.tirer(&mut self.rng)),
            _ => None,
        };
        let date_radiation = (statut == StatutInscription::Radie).then(|| self.cal.radiation.tirer(&mut self.rng));
        let motif = date_radiation.map(|_| self.choisir(&MOTIFS_RADIATION));
        let classe = match statut {
            StatutInscription::Admis | StatutInscription::AdmisDefinitif | StatutInscription::Radie => {
                self.classe(niveau, 500)
            }
            _ => None,
        };
        let dispositif = (niveau >= Niveau::Cp && self.pour_mille(12)).then_some("ULIS");
        let t = self.pousser(
            eleve_id,
            Nouvelle {
                uai: self.ecoles[ecole].ligne.uai.clone(),
                annee: self.annee,
                niveau,
                statut,
                provisoire,
                date_inscription,
                date_admission,
                date_radiation,
                motif,
                classe,
                dispositif,
            },
        );
        noter(t);

        // A radiated pupil sometimes moves to another school of the commune the same year.
        let mut active = (statut != StatutInscription::Radie).then_some(ecole);
        if let Some(radiation) = date_radiation {
            if let Some(e) = self
                .pour_mille(500)
                .then(|| self.ecole_pour(c, niveau, None, Some(ecole)))
                .flatten()
            {
                let date_inscription = radiation + Duration::days(self.rng.random_range(1..=10));
                let date_admission = date_inscription + Duration::days(self.rng.random_range(0..=5));
                let classe = self.classe(niveau, 500);
                let t = self.pousser(
                    eleve_id,
                    Nouvelle {
                        uai: self.ecoles[e].ligne.uai.clone(),
                        annee: self.annee,
                        niveau,
                        statut: StatutInscription::AdmisDefinitif,
                        provisoire: false,
                        date_inscription,
                        date_admission: Some(date_admission),
                        date_radiation: None,
                        motif: None,
                        classe,
                        dispositif,
                    },
                );
                noter(t);
                active = Some(e);
            }
        }

        // Next year: early requests, for pupils still at school next year.
        if let (Some(e), Some(suivant)) = (active, niveau.suivant()) {
            if self.pour_mille(100) {
                let cible = if self.ecoles[e].type_ecole.accueille(suivant) {
                    e
                } else {
                    self.ecole_pour(c, suivant, None, None)
                        .ok_or_else(|| self.sans_ecole(c, suivant))?
                };
                let statut = if self.rng.random::<bool>() {
                    StatutInscription::EnAttente
                } else {
                    StatutInscription::Inscrit
                };
                let date_inscription = self.cal.inscription_suiv.tirer(&mut self.rng);
                let t = self.pousser(
                    eleve_id,
                    Nouvelle {
                        uai: self.ecoles[cible].ligne.uai.clone(),
                        annee: self.annee.suivante().map_err(generation)?,
                        niveau: suivant,
                        statut,
                        provisoire: false,
                        date_inscription,
                        date_admission: None,
                        date_radiation: None,
                        motif: None,
                        classe: None,
                        dispositif: None,
                    },
                );
                noter(t);
            }
        }
        let cree_le = premiere.unwrap_or_else(|| self.cal.rentree.and_time(NaiveTime::MIN));
        Ok((cree_le, active.unwrap_or(ecole)))
    }

    /// Buffers one inscription; returns its creation time.
    fn pousser(&mut self, eleve_id: &str, n: Nouvelle) -> NaiveDateTime {
        // Office hours, to the minute.
        let mut heure = |d: NaiveDate| d.and_time(NaiveTime::MIN) + Duration::minutes(self.rng.random_range(480..1080));
        let cree_le = heure(n.date_inscription);
        let derniere = n
            .date_radiation
            .or(n.date_admission)
            .filter(|d| *d > n.date_inscription);
        let modifie_le = derniere.map_or(cree_le, |d| heure(d).max(cree_le));
        let id = self.uuid();
        self.tampons.inscriptions.push(LigneInscription {
            id,
            eleve_id: eleve_id.to_owned(),
            uai: n.uai,
            annee_scolaire: n.annee.as_str().to_owned(),
            niveau: n.niveau.as_str().to_owned(),
            classe: n.classe,
            dispositif: n.dispositif.map(str::to_owned),
            statut: n.statut.as_str().to_owned(),
            admission_provisoire: n.provisoire,
            date_inscription: n.date_inscription,
            date_admission: n.date_admission,
            date_radiation: n.date_radiation,
            motif_radiation: n.motif.map(str::to_owned),
            cree_le,
            modifie_le,
            version: 1,
        });
        cree_le
    }
}
