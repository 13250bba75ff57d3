//! Niveau (class level) of the first degree, and its cycle.

use crate::{AnneeScolaire, DomainError};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[schema(example = "CP")]
#[schema(description = "Niveau : TPS, PS, MS, GS (cycle 1, maternelle), CP, CE1, CE2 (cycle 2), CM1, CM2 (cycle 3).")]
pub enum Niveau {
    /// Toute petite section (under-3s, counted in cycle 1).
    #[serde(rename = "TPS")]
    Tps,
    #[serde(rename = "PS")]
    Ps,
    #[serde(rename = "MS")]
    Ms,
    #[serde(rename = "GS")]
    Gs,
    #[serde(rename = "CP")]
    Cp,
    #[serde(rename = "CE1")]
    Ce1,
    #[serde(rename = "CE2")]
    Ce2,
    #[serde(rename = "CM1")]
    Cm1,
    #[serde(rename = "CM2")]
    Cm2,
}

/// Cycle 1 (TPS..GS), 2 (CP..CE2), 3 (CM1, CM2; 6e is in collège, out of scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cycle {
    Un = 1,
    Deux = 2,
    Trois = 3,
}

impl Niveau {
    pub const TOUS: [Niveau; 9] = [
        Niveau::Tps,
        Niveau::Ps,
        Niveau::Ms,
        Niveau::Gs,
        Niveau::Cp,
        Niveau::Ce1,
        Niveau::Ce2,
        Niveau::Cm1,
        Niveau::Cm2,
    ];

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::TOUS.into_iter().find(|n| n.as_str() == s).ok_or_else(|| {
            DomainError::invalide(
                "niveau_inconnu",
                format!(
                    "« {} » n'est pas un niveau du premier degré : TPS, PS, MS, GS, CP, CE1, CE2, CM1 ou CM2",
                    s.chars().take(20).collect::<String>()
                ),
            )
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Niveau::Tps => "TPS",
            Niveau::Ps => "PS",
            Niveau::Ms => "MS",
            Niveau::Gs => "GS",
            Niveau::Cp => "CP",
            Niveau::Ce1 => "CE1",
            Niveau::Ce2 => "CE2",
            Niveau::Cm1 => "CM1",
            Niveau::Cm2 => "CM2",
        }
    }

    pub fn cycle(self) -> Cycle {
        match self {
            Niveau::Tps | Niveau::Ps | Niveau::Ms | Niveau::Gs => Cycle::Un,
            Niveau::Cp | Niveau::Ce1 | Niveau::Ce2 => Cycle::Deux,
            Niveau::Cm1 | Niveau::Cm2 => Cycle::Trois,
        }
    }

    /// Age reached during the calendar year of the rentrée by a pupil at this niveau on time
    /// (CP: 6, TPS: 2).
    pub fn age_theorique(self) -> u16 {
        match self {
            Niveau::Tps => 2,
            Niveau::Ps => 3,
            Niveau::Ms => 4,
            Niveau::Gs => 5,
            Niveau::Cp => 6,
            Niveau::Ce1 => 7,
            Niveau::Ce2 => 8,
            Niveau::Cm1 => 9,
            Niveau::Cm2 => 10,
        }
    }

    /// Birth year of a pupil at this niveau on time in that school year.
    pub fn annee_naissance_theorique(self, annee: AnneeScolaire) -> u16 {
        annee.debut() - self.age_theorique()
    }

    /// Next niveau, `None` after CM2 (collège).
    pub fn suivant(self) -> Option<Niveau> {
        let i = Self::TOUS.iter().position(|n| *n == self)?;
        Self::TOUS.get(i + 1).copied()
    }
}

impl std::fmt::Display for Niveau {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Niveau {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_et_aller_retour() {
        assert_eq!(Niveau::Tps.cycle(), Cycle::Un);
        assert_eq!(Niveau::Gs.cycle(), Cycle::Un);
        assert_eq!(Niveau::Cp.cycle(), Cycle::Deux);
        assert_eq!(Niveau::Ce2.cycle(), Cycle::Deux);
        assert_eq!(Niveau::Cm2.cycle(), Cycle::Trois);
        for n in Niveau::TOUS {
            assert_eq!(Niveau::parse(n.as_str()).unwrap(), n);
            let json = serde_json::to_string(&n).unwrap();
            assert_eq!(json, format!("\"{}\"", n.as_str()));
            assert_eq!(serde_json::from_str::<Niveau>(&json).unwrap(), n);
        }
        assert!(Niveau::parse("6E").is_err());
        assert!(Niveau::parse("cp").is_err());
        assert_eq!(Niveau::Cm2.suivant(), None);
        assert_eq!(Niveau::Gs.suivant(), Some(Niveau::Cp));
        let a = AnneeScolaire::parse("2026-2027").unwrap();
        assert_eq!(Niveau::Cp.annee_naissance_theorique(a), 2020);
    }
}
