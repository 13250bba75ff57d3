//! The word lists names are drawn from, compiled in from the data files of `donnees/`: one
//! entry per line, blank lines and `#` comments skipped, split once on first use. An entry
//! listed twice is drawn twice as often.

use std::sync::LazyLock;

type Liste = LazyLock<Vec<&'static str>>;

fn entrees(texte: &'static str) -> Vec<&'static str> {
    texte
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// Most communes have no suffix: this many empty suffixes come before the listed ones.
const SANS_SUFFIXE: usize = 8;

pub(crate) static NOMS: Liste = LazyLock::new(|| entrees(include_str!("../donnees/noms.txt")));
pub(crate) static PRENOMS_F: Liste = LazyLock::new(|| entrees(include_str!("../donnees/prenoms_f.txt")));
pub(crate) static PRENOMS_M: Liste = LazyLock::new(|| entrees(include_str!("../donnees/prenoms_m.txt")));
pub(crate) static SAINTS: Liste = LazyLock::new(|| entrees(include_str!("../donnees/saints.txt")));
pub(crate) static COMMUNES_BASES: Liste = LazyLock::new(|| entrees(include_str!("../donnees/communes_bases.txt")));
pub(crate) static COMMUNES_SUFFIXES: Liste = LazyLock::new(|| {
    let mut l = vec![""; SANS_SUFFIXE];
    l.extend(entrees(include_str!("../donnees/communes_suffixes.txt")));
    l
});
pub(crate) static VOIES_TYPES: Liste = LazyLock::new(|| entrees(include_str!("../donnees/voies_types.txt")));
pub(crate) static VOIES_NOMS: Liste = LazyLock::new(|| entrees(include_str!("../donnees/voies_noms.txt")));
pub(crate) static ECOLES_PATRONS: Liste = LazyLock::new(|| entrees(include_str!("../donnees/ecoles_patrons.txt")));
pub(crate) static ECOLES_LIEUX: Liste = LazyLock::new(|| entrees(include_str!("../donnees/ecoles_lieux.txt")));
pub(crate) static ECOLES_PRIVEES: Liste = LazyLock::new(|| entrees(include_str!("../donnees/ecoles_privees.txt")));
/// Countries of birth abroad, as INSEE codes (99xxx).
pub(crate) static PAYS: Liste = LazyLock::new(|| entrees(include_str!("../donnees/pays.txt")));
pub(crate) static MOTIFS_RADIATION: Liste = LazyLock::new(|| entrees(include_str!("../donnees/motifs_radiation.txt")));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listes_sans_commentaire_ni_blanc() {
        let listes: [&Liste; 13] = [
            &NOMS,
            &PRENOMS_F,
            &PRENOMS_M,
            &SAINTS,
            &COMMUNES_BASES,
            &COMMUNES_SUFFIXES,
            &VOIES_TYPES,
            &VOIES_NOMS,
            &ECOLES_PATRONS,
            &ECOLES_LIEUX,
            &ECOLES_PRIVEES,
            &PAYS,
            &MOTIFS_RADIATION,
        ];
        for liste in listes {
            assert!(liste.len() > 1);
            for e in liste.iter().filter(|e| !e.is_empty()) {
                assert!(!e.starts_with('#') && e.trim() == *e, "{e:?}");
            }
        }
        assert!(COMMUNES_SUFFIXES[..SANS_SUFFIXE].iter().all(|s| s.is_empty()));
        assert!(COMMUNES_SUFFIXES[SANS_SUFFIXE..].iter().all(|s| s.starts_with('-')));
        assert!(NOMS.iter().chain(PRENOMS_F.iter()).all(|e| !e.is_empty()));
        assert!(PAYS.iter().all(|p| p.len() == 5 && p.starts_with("99")));
    }
}
