//! INSEE code of a commune (not a postal code), or `99xxx` for a country of birth abroad.

use crate::cle::tous_chiffres;
use crate::macros::identifiant_texte;
use crate::uai::tronque;
use crate::DomainError;

/// Where an INSEE code points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneInsee {
    Metropole,
    Corse,
    OutreMer,
    /// `99xxx`: a country, used for births abroad only.
    Etranger,
}

/// A 5-character INSEE code: `75056`, `2A004`, `97105`, `99109`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CodeInsee(String);

impl CodeInsee {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let err = |detail: &str| {
            DomainError::invalide(
                "code_insee_format",
                format!(
                    "« {} » n'est pas un code INSEE de commune : {detail} (ex. 75056, 2A004, 97105, 99109)",
                    tronque(s)
                ),
            )
        };
        if s.len() != 5 || !s.is_ascii() {
            return Err(err("5 caractères sont attendus"));
        }
        let (dep, num) = s.split_at(2);
        if !tous_chiffres(num) {
            return Err(err("les 3 derniers caractères doivent être des chiffres"));
        }
        let zone = match dep {
            "2A" | "2B" => ZoneInsee::Corse,
            "97" | "98" => ZoneInsee::OutreMer,
            "99" => ZoneInsee::Etranger,
            d if tous_chiffres(d) => match d.parse::<u8>() {
                Ok(1..=19 | 21..=95) => ZoneInsee::Metropole,
                _ => return Err(err("département inconnu")),
            },
            _ => return Err(err("département inconnu")),
        };
        if num == "000" {
            return Err(err("le numéro de commune 000 n'existe pas"));
        }
        if zone == ZoneInsee::Etranger && !matches!(num.as_bytes()[0], b'1'..=b'5') {
            return Err(err("un code pays (99) est de la forme 991xx à 995xx"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn zone(&self) -> ZoneInsee {
        match &self.0[..2] {
            "2A" | "2B" => ZoneInsee::Corse,
            "97" | "98" => ZoneInsee::OutreMer,
            "99" => ZoneInsee::Etranger,
            _ => ZoneInsee::Metropole,
        }
    }

    /// Département part of a French commune (`75`, `2A`, `971`); `None` for a country code.
    pub fn departement(&self) -> Option<&str> {
        match self.zone() {
            ZoneInsee::Etranger => None,
            ZoneInsee::OutreMer => Some(&self.0[..3]),
            _ => Some(&self.0[..2]),
        }
    }

    /// The 3-digit département prefix used in UAIs (`075`, `620` for 2A, `720` for 2B, `971`).
    pub fn prefixe_uai(&self) -> Option<String> {
        match self.zone() {
            ZoneInsee::Etranger => None,
            ZoneInsee::Corse if &self.0[..2] == "2A" => Some("620".into()),
            ZoneInsee::Corse => Some("720".into()),
            ZoneInsee::OutreMer => Some(self.0[..3].to_owned()),
            ZoneInsee::Metropole => Some(format!("0{}", &self.0[..2])),
        }
    }

    /// A commune in France (as opposed to a country code for births abroad).
    pub fn est_commune_francaise(&self) -> bool {
        self.zone() != ZoneInsee::Etranger
    }
}

identifiant_texte!(
    CodeInsee,
    r"^(0[1-9]|1[0-9]|2[1-9]|[3-8][0-9]|9[0-5]|2A|2B|97|98)[0-9]{3}$|^99[1-5][0-9]{2}$",
    "75056",
    "Code INSEE de commune (pas un code postal) : 5 caractères, 2A/2B pour la Corse, 97xxx/98xxx outre-mer ; 99xxx désigne un pays de naissance à l'étranger."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_valides() {
        for (s, zone) in [
            ("75056", ZoneInsee::Metropole),
            ("01001", ZoneInsee::Metropole),
            ("2A004", ZoneInsee::Corse),
            ("2B033", ZoneInsee::Corse),
            ("97105", ZoneInsee::OutreMer),
            ("98818", ZoneInsee::OutreMer),
            ("99109", ZoneInsee::Etranger),
        ] {
            assert_eq!(CodeInsee::parse(s).unwrap().zone(), zone, "{s}");
        }
        assert_eq!(CodeInsee::parse("2A004").unwrap().prefixe_uai().unwrap(), "620");
        assert_eq!(CodeInsee::parse("2B033").unwrap().prefixe_uai().unwrap(), "720");
        assert_eq!(CodeInsee::parse("75056").unwrap().prefixe_uai().unwrap(), "075");
        assert_eq!(CodeInsee::parse("97105").unwrap().departement().unwrap(), "971");
        assert_eq!(CodeInsee::parse("99109").unwrap().prefixe_uai(), None);
    }

    #[test]
    fn codes_invalides() {
        for s in [
            "", "7505", "750566", "00123", "20123", "96001", "2C004", "75000", "99001", "7505A", "75 56",
        ] {
            assert!(CodeInsee::parse(s).is_err(), "{s} accepté");
        }
    }

    #[test]
    fn le_motif_publie_accepte_ce_que_parse_accepte() {
        // Mirrors the schema pattern by hand on the boundaries of each branch.
        for s in [
            "01001", "19999", "21001", "95999", "2A001", "97101", "98801", "99100", "99599",
        ] {
            assert!(CodeInsee::parse(s).is_ok(), "{s}");
        }
    }
}
