//! A school year, `2025-2026`: two consecutive calendar years, starting at the rentrée.

use chrono::{Datelike, NaiveDate};

use crate::macros::identifiant_texte;
use crate::uai::tronque;
use crate::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AnneeScolaire {
    debut: u16,
    texte: [u8; 9],
}

impl AnneeScolaire {
    pub const PREMIERE: u16 = 1990;
    pub const DERNIERE: u16 = 2100;

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let b = s.as_bytes();
        let forme = b.len() == 9
            && b[4] == b'-'
            && b[..4].iter().all(u8::is_ascii_digit)
            && b[5..].iter().all(u8::is_ascii_digit);
        if !forme {
            return Err(DomainError::invalide(
                "annee_scolaire_format",
                format!(
                    "« {} » n'est pas une année scolaire : AAAA-AAAA est attendu (ex. 2025-2026)",
                    tronque(s)
                ),
            ));
        }
        let debut: u16 = s[..4]
            .parse()
            .map_err(|_| DomainError::invalide("annee_scolaire_format", "année illisible"))?;
        let fin: u16 = s[5..]
            .parse()
            .map_err(|_| DomainError::invalide("annee_scolaire_format", "année illisible"))?;
        if fin != debut + 1 {
            return Err(DomainError::invalide(
                "annee_scolaire_non_consecutive",
                format!(
                    "« {s} » : les deux années doivent se suivre (ex. {debut}-{})",
                    debut + 1
                ),
            ));
        }
        Self::depuis_debut(debut)
    }

    /// The school year starting in September of `debut`.
    pub fn depuis_debut(debut: u16) -> Result<Self, DomainError> {
        if !(Self::PREMIERE..=Self::DERNIERE).contains(&debut) {
            return Err(DomainError::invalide(
                "annee_scolaire_hors_bornes",
                format!(
                    "l'année scolaire doit commencer entre {} et {}",
                    Self::PREMIERE,
                    Self::DERNIERE
                ),
            ));
        }
        let mut texte = [0u8; 9];
        texte.copy_from_slice(format!("{debut}-{}", debut + 1).as_bytes());
        Ok(Self { debut, texte })
    }

    /// The school year a date falls in (the year turns on 1 September).
    pub fn contenant(date: NaiveDate) -> Result<Self, DomainError> {
        let annee = u16::try_from(date.year()).unwrap_or(0);
        Self::depuis_debut(if date.month() >= 9 {
            annee
        } else {
            annee.saturating_sub(1)
        })
    }

    pub fn debut(&self) -> u16 {
        self.debut
    }

    pub fn suivante(&self) -> Result<Self, DomainError> {
        Self::depuis_debut(self.debut + 1)
    }

    pub fn precedente(&self) -> Result<Self, DomainError> {
        Self::depuis_debut(self.debut - 1)
    }

    pub fn as_str(&self) -> &str {
        // Built from ASCII digits and '-' only.
        std::str::from_utf8(&self.texte).unwrap_or("")
    }
}

identifiant_texte!(
    AnneeScolaire,
    r"^[0-9]{4}-[0-9]{4}$",
    "2025-2026",
    "Année scolaire AAAA-AAAA : deux années civiles consécutives (la rentrée est en septembre de la première)."
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valides_et_invalides() {
        assert_eq!(AnneeScolaire::parse("2025-2026").unwrap().debut(), 2025);
        for s in [
            "2025-2027",
            "2025/2026",
            "2025-2025",
            "25-26",
            "2026-2025",
            "1900-1901",
            "",
        ] {
            assert!(AnneeScolaire::parse(s).is_err(), "{s} accepté");
        }
        assert_eq!(
            AnneeScolaire::parse("2025-2027").unwrap_err().code(),
            "annee_scolaire_non_consecutive"
        );
    }

    #[test]
    fn annee_contenant_une_date() {
        let d = |y, m, j| NaiveDate::from_ymd_opt(y, m, j).unwrap();
        assert_eq!(AnneeScolaire::contenant(d(2026, 11, 25)).unwrap().as_str(), "2026-2027");
        assert_eq!(AnneeScolaire::contenant(d(2026, 8, 31)).unwrap().as_str(), "2025-2026");
        assert_eq!(AnneeScolaire::contenant(d(2026, 9, 1)).unwrap().as_str(), "2026-2027");
    }

    proptest! {
        #[test]
        fn aller_retour(debut in AnneeScolaire::PREMIERE..=AnneeScolaire::DERNIERE) {
            let a = AnneeScolaire::depuis_debut(debut).unwrap();
            prop_assert_eq!(AnneeScolaire::parse(a.as_str()).unwrap(), a);
            let json = serde_json::to_string(&a).unwrap();
            prop_assert_eq!(serde_json::from_str::<AnneeScolaire>(&json).unwrap(), a);
        }
    }
}
