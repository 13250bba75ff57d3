//! UAI (ex-RNE): the national identifier of a school.

use crate::cle::{lettre_cle, tous_chiffres};
use crate::macros::identifiant_texte;
use crate::DomainError;

/// A school's UAI: 7 digits then the mod-23 check letter, e.g. `0750655E`.
/// The first 3 digits are the département (`620`/`720` for Corse, `97x`/`98x` overseas).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uai(String);

impl Uai {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let b = s.as_bytes();
        // ASCII first: slicing a non-ASCII string by bytes could split a character.
        if b.len() != 8 || !s.is_ascii() || !tous_chiffres(&s[..7]) || !b[7].is_ascii_uppercase() {
            return Err(DomainError::invalide(
                "uai_format",
                format!(
                    "« {} » n'est pas un UAI : 7 chiffres puis une lettre clé majuscule sont attendus (ex. 0750655E)",
                    tronque(s)
                ),
            ));
        }
        let attendue = lettre_cle(&s[..7]);
        if char::from(b[7]) != attendue {
            return Err(DomainError::invalide(
                "uai_cle",
                format!("UAI « {s} » : la lettre clé devrait être {attendue} (reste modulo 23 des 7 chiffres)"),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// Builds the UAI of number `numero` (7 digits, zero-padded) by computing its key.
    pub fn depuis_numero(numero: u32) -> Result<Self, DomainError> {
        if numero > 9_999_999 {
            return Err(DomainError::invalide("uai_format", "un numéro d'UAI a 7 chiffres"));
        }
        let chiffres = format!("{numero:07}");
        let cle = lettre_cle(&chiffres);
        Ok(Self(format!("{chiffres}{cle}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 3-digit département part (`075`, `620` for Corse-du-Sud, `971`...).
    pub fn departement(&self) -> &str {
        &self.0[..3]
    }
}

identifiant_texte!(
    Uai,
    r"^[0-9]{7}[A-HJ-NP-Z]$",
    "0750655E",
    "UAI de l'école : 7 chiffres puis une lettre clé (reste modulo 23 des 7 chiffres dans l'alphabet sans I, O, Q)."
);

/// Keeps echoed input short in messages.
pub(crate) fn tronque(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const REELS: [&str; 4] = ["0750655E", "0750654D", "0951099D", "0040533H"];

    #[test]
    fn exemples_reels_acceptes() {
        for s in REELS {
            let uai = Uai::parse(s).unwrap();
            assert_eq!(uai.as_str(), s);
        }
        assert_eq!(Uai::parse("0750655E").unwrap().departement(), "075");
    }

    #[test]
    fn formes_invalides_refusees() {
        for s in [
            "",
            "0750655",
            "0750655EE",
            "075065E5",
            "0750655e",
            "O750655E",
            " 0750655E",
            "0750655I",
        ] {
            assert!(Uai::parse(s).is_err(), "{s} accepté");
        }
        assert_eq!(Uai::parse("0750655F").unwrap_err().code(), "uai_cle");
        assert_eq!(Uai::parse("abc").unwrap_err().code(), "uai_format");
    }

    #[test]
    fn variante_ponderee_fausse_refusee() {
        // A weighted-sum key gives other letters on the real examples; only ours accepts them.
        assert!(REELS.iter().all(|s| Uai::parse(s).is_ok()));
    }

    fn uai_valide() -> impl Strategy<Value = Uai> {
        (0u32..=9_999_999).prop_map(|n| Uai::depuis_numero(n).unwrap())
    }

    const CARACTERES: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

    proptest! {
        #[test]
        fn aller_retour(uai in uai_valide()) {
            let affiche = uai.to_string();
            prop_assert_eq!(Uai::parse(&affiche).unwrap(), uai.clone());
            let json = serde_json::to_string(&uai).unwrap();
            prop_assert_eq!(serde_json::from_str::<Uai>(&json).unwrap(), uai);
        }

        #[test]
        fn toute_substitution_refusee(uai in uai_valide(), pos in 0usize..8, c in proptest::sample::select(CARACTERES.chars().collect::<Vec<_>>())) {
            let mut chars: Vec<char> = uai.as_str().chars().collect();
            prop_assume!(chars[pos] != c);
            chars[pos] = c;
            let s: String = chars.into_iter().collect();
            prop_assert!(Uai::parse(&s).is_err(), "{} accepté", s);
        }

        #[test]
        fn toute_transposition_refusee(uai in uai_valide(), pos in 0usize..7) {
            let mut chars: Vec<char> = uai.as_str().chars().collect();
            prop_assume!(chars[pos] != chars[pos + 1]);
            chars.swap(pos, pos + 1);
            let s: String = chars.into_iter().collect();
            prop_assert!(Uai::parse(&s).is_err(), "{} accepté", s);
        }
    }

    #[test]
    fn substitutions_et_transpositions_exhaustives_des_exemples() {
        for s in REELS {
            for pos in 0..8 {
                for c in CARACTERES.chars() {
                    let mut chars: Vec<char> = s.chars().collect();
                    if chars[pos] == c {
                        continue;
                    }
                    chars[pos] = c;
                    let t: String = chars.iter().collect();
                    assert!(Uai::parse(&t).is_err(), "{t} accepté");
                }
            }
            for pos in 0..7 {
                let mut chars: Vec<char> = s.chars().collect();
                if chars[pos] == chars[pos + 1] {
                    continue;
                }
                chars.swap(pos, pos + 1);
                let t: String = chars.iter().collect();
                assert!(Uai::parse(&t).is_err(), "{t} accepté");
            }
        }
    }
}
