//! The calendar of generated dates: the windows each date of an inscription is drawn from.

use chrono::{Duration, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::SeedError;

pub(crate) fn date(annee: i32, mois: u32, jour: u32) -> Result<NaiveDate, SeedError> {
    NaiveDate::from_ymd_opt(annee, mois, jour)
        .ok_or_else(|| SeedError::Generation(format!("date invalide {annee}-{mois}-{jour}")))
}

/// A date drawn uniformly between two bounds (inclusive).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Periode {
    debut: NaiveDate,
    jours: i64,
}

impl Periode {
    pub(crate) fn entre(debut: NaiveDate, fin: NaiveDate) -> Self {
        Self {
            debut,
            jours: (fin - debut).num_days().max(0),
        }
    }

    fn de(annee: i32, (m1, j1): (u32, u32), (m2, j2): (u32, u32)) -> Result<Self, SeedError> {
        Ok(Self::entre(date(annee, m1, j1)?, date(annee, m2, j2)?))
    }

    pub(crate) fn tirer(self, rng: &mut ChaCha8Rng) -> NaiveDate {
        self.debut + Duration::days(rng.random_range(0..=self.jours))
    }
}

/// The windows dates are drawn from. Windows of one inscription do not overlap, so
/// inscription ≤ admission ≤ radiation always holds.
pub(crate) struct Calendrier {
    pub(crate) inscription_prec: Periode,
    pub(crate) admission_prec: Periode,
    pub(crate) radiation_prec: Periode,
    pub(crate) inscription: Periode,
    pub(crate) admission_definitive: Periode,
    pub(crate) admission: Periode,
    pub(crate) attente: Periode,
    pub(crate) admission_radie: Periode,
    pub(crate) radiation: Periode,
    pub(crate) inscription_suiv: Periode,
    /// Fallback creation time; unused in practice, every pupil has a current-year inscription.
    pub(crate) rentree: NaiveDate,
}

impl Calendrier {
    pub(crate) fn nouveau(a: i32) -> Result<Self, SeedError> {
        Ok(Self {
            inscription_prec: Periode::de(a - 1, (3, 1), (6, 15))?,
            admission_prec: Periode::de(a - 1, (6, 16), (9, 15))?,
            radiation_prec: Periode::de(a, (6, 20), (7, 10))?,
            inscription: Periode::de(a, (3, 1), (6, 15))?,
            admission_definitive: Periode::de(a, (6, 16), (9, 15))?,
            admission: Periode::de(a, (9, 1), (10, 15))?,
            attente: Periode::de(a, (8, 20), (11, 30))?,
            admission_radie: Periode::de(a, (6, 16), (9, 10))?,
            radiation: Periode::de(a, (9, 15), (12, 18))?,
            inscription_suiv: Periode::de(a + 1, (1, 5), (4, 30))?,
            rentree: date(a, 9, 1)?,
        })
    }
}
