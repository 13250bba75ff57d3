//! INE: the national pupil identifier, in its four families.

use crate::cle::{lettre_cle, tous_chiffres, ALPHABET};
use crate::macros::identifiant_texte;
use crate::uai::tronque;
use crate::DomainError;

/// The INE family, recognised from the shape of the value.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FamilleIne {
    /// INE-BEA (first-degree base and SIECLE): `AABBNNNNNNK`, key checked.
    Bea,
    /// INE-RNIE: 9 digits + 2 letters (shape only: key rule not verified).
    Rnie,
    /// INE-BASE: 10 characters [0-9A-Z] + 1 digit (shape only).
    Base,
    /// INE-SIFA (apprentices): `\d{4}A\d{5}` + key letter (shape only).
    Sifa,
}

/// A pupil's INE (11 characters). An INE-BEA carries a checked key; a provisional INE-BEA
/// (a `D` before the sequence) is accepted on its shape and flagged, since how the letter
/// enters the key is not verified.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ine {
    valeur: String,
    famille: FamilleIne,
    provisoire: bool,
}

fn est_lettre_cle(b: u8) -> bool {
    ALPHABET.contains(&b)
}

impl Ine {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let b = s.as_bytes();
        let format = || {
            DomainError::invalide(
                "ine_format",
                format!(
                    "« {} » n'est pas un INE : 11 caractères d'une des familles BEA (10 chiffres + lettre clé), RNIE, BASE ou SIFA sont attendus (ex. 0494004062M)",
                    tronque(s)
                ),
            )
        };
        if b.len() != 11 || !b.iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()) {
            return Err(format());
        }
        let (famille, provisoire) = if tous_chiffres(&s[..10]) && est_lettre_cle(b[10]) {
            let attendue = lettre_cle(&s[..10]);
            if char::from(b[10]) != attendue {
                return Err(DomainError::invalide(
                    "ine_cle",
                    format!(
                        "INE-BEA « {s} » : la lettre clé devrait être {attendue} (reste modulo 23 des 10 chiffres)"
                    ),
                ));
            }
            (FamilleIne::Bea, false)
        } else if tous_chiffres(&s[..4]) && b[4] == b'D' && tous_chiffres(&s[5..10]) && est_lettre_cle(b[10]) {
            (FamilleIne::Bea, true)
        } else if tous_chiffres(&s[..4]) && b[4] == b'A' && tous_chiffres(&s[5..10]) && b[10].is_ascii_uppercase() {
            (FamilleIne::Sifa, false)
        } else if tous_chiffres(&s[..9]) && b[9].is_ascii_uppercase() && b[10].is_ascii_uppercase() {
            (FamilleIne::Rnie, false)
        } else if b[10].is_ascii_digit() {
            (FamilleIne::Base, false)
        } else {
            return Err(format());
        };
        Ok(Self {
            valeur: s.to_owned(),
            famille,
            provisoire,
        })
    }

    /// Parses an INE that must be a definitive INE-BEA (the family the first-degree base issues).
    pub fn parse_bea(s: &str) -> Result<Self, DomainError> {
        let ine = Self::parse(s)?;
        if ine.famille != FamilleIne::Bea || ine.provisoire {
            return Err(DomainError::invalide(
                "ine_famille",
                format!(
                    "« {} » n'est pas un INE-BEA définitif (10 chiffres + lettre clé)",
                    tronque(s)
                ),
            ));
        }
        Ok(ine)
    }

    /// Builds the INE-BEA `AABBNNNNNN` + key: académie, 2-digit year, 6-digit sequence.
    pub fn bea(academie: u8, annee: u8, sequence: u32) -> Result<Self, DomainError> {
        if academie > 99 || annee > 99 || sequence > 999_999 {
            return Err(DomainError::invalide("ine_format", "composantes d'INE-BEA hors bornes"));
        }
        let chiffres = format!("{academie:02}{annee:02}{sequence:06}");
        let cle = lettre_cle(&chiffres);
        Self::parse(&format!("{chiffres}{cle}"))
    }

    pub fn as_str(&self) -> &str {
        &self.valeur
    }

    pub fn famille(&self) -> FamilleIne {
        self.famille
    }

    /// A provisional INE-BEA, whose key could not be checked.
    pub fn est_provisoire(&self) -> bool {
        self.provisoire
    }
}

identifiant_texte!(
    Ine,
    r"^([0-9]{10}[A-HJ-NP-Z]|[0-9]{4}D[0-9]{5}[A-HJ-NP-Z]|[0-9]{4}A[0-9]{5}[A-Z]|[0-9]{9}[A-Z]{2}|[0-9A-Z]{10}[0-9])$",
    "0494004062M",
    "INE de l'élève (11 caractères). INE-BEA : 10 chiffres puis une lettre clé (reste modulo 23 des 10 chiffres) ; les familles RNIE, BASE et SIFA sont acceptées sur leur forme."
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exemple_reel_accepte() {
        let ine = Ine::parse("0494004062M").unwrap();
        assert_eq!(ine.famille(), FamilleIne::Bea);
        assert!(!ine.est_provisoire());
        assert_eq!(Ine::parse_bea("0494004062M").unwrap(), ine);
    }

    #[test]
    fn familles_reconnues() {
        assert_eq!(Ine::parse("1234D12345K").unwrap().famille(), FamilleIne::Bea);
        assert!(Ine::parse("1234D12345K").unwrap().est_provisoire());
        assert_eq!(Ine::parse("123456789AB").unwrap().famille(), FamilleIne::Rnie);
        assert_eq!(Ine::parse("AB12CD34EF5").unwrap().famille(), FamilleIne::Base);
        assert_eq!(Ine::parse("1234A12345Z").unwrap().famille(), FamilleIne::Sifa);
        assert!(Ine::parse_bea("1234D12345K").is_err());
    }

    #[test]
    fn formes_invalides_refusees() {
        for s in [
            "",
            "0494004062",
            "0494004062MM",
            "0494004062m",
            "04940040-2M",
            "ABCDEFGHIJK",
        ] {
            assert!(Ine::parse(s).is_err(), "{s} accepté");
        }
        assert_eq!(Ine::parse("0494004062N").unwrap_err().code(), "ine_cle");
    }

    fn ine_bea() -> impl Strategy<Value = Ine> {
        (0u8..100, 0u8..100, 0u32..1_000_000).prop_map(|(a, y, n)| Ine::bea(a, y, n).unwrap())
    }

    const CARACTERES: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

    /// A single-character error in an INE-BEA is never accepted as that INE-BEA family:
    /// `parse_bea` refuses it, and `parse` refuses every variant that keeps the BEA shape
    /// (a variant that happens to have another family's shape is only shape-checked there).
    fn refuse_comme_bea(s: &str) -> Result<(), TestCaseError> {
        prop_assert!(Ine::parse_bea(s).is_err(), "{} accepté comme INE-BEA", s);
        let b = s.as_bytes();
        if b[..10].iter().all(u8::is_ascii_digit) && b[10].is_ascii_uppercase() {
            prop_assert!(Ine::parse(s).is_err(), "{} accepté", s);
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn aller_retour(ine in ine_bea()) {
            prop_assert_eq!(Ine::parse(&format!("{ine}")).unwrap(), ine.clone());
            let json = serde_json::to_string(&ine).unwrap();
            prop_assert_eq!(serde_json::from_str::<Ine>(&json).unwrap(), ine);
        }

        #[test]
        fn toute_substitution_refusee(ine in ine_bea(), pos in 0usize..11, c in proptest::sample::select(CARACTERES.chars().collect::<Vec<_>>())) {
            let mut chars: Vec<char> = ine.as_str().chars().collect();
            prop_assume!(chars[pos] != c);
            chars[pos] = c;
            refuse_comme_bea(&chars.into_iter().collect::<String>())?;
        }

        #[test]
        fn toute_transposition_refusee(ine in ine_bea(), pos in 0usize..10) {
            let mut chars: Vec<char> = ine.as_str().chars().collect();
            prop_assume!(chars[pos] != chars[pos + 1]);
            chars.swap(pos, pos + 1);
            refuse_comme_bea(&chars.into_iter().collect::<String>())?;
        }

        #[test]
        fn toute_substitution_de_chiffre_refusee(ine in ine_bea(), pos in 0usize..10, d in 0u8..10) {
            let mut b = ine.as_str().as_bytes().to_vec();
            prop_assume!(b[pos] != b'0' + d);
            b[pos] = b'0' + d;
            let s = String::from_utf8(b).unwrap();
            prop_assert!(Ine::parse(&s).is_err(), "{} accepté", s);
        }
    }
}
