//! Keyset pagination: an opaque cursor holding the sort key of the last row returned.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Version prefix, so the cursor format can change without misreading old cursors.
const PREFIXE: &str = "v1:";

/// Position after which the next page starts. Opaque to partners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Curseur(String);

impl Curseur {
    pub fn apres(cle: impl Into<String>) -> Self {
        Self(cle.into())
    }

    pub fn cle(&self) -> &str {
        &self.0
    }

    pub fn encoder(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{PREFIXE}{}", self.0))
    }

    /// `None` when the text is not a cursor this gateway issued.
    pub fn decoder(texte: &str) -> Option<Self> {
        if texte.len() > 200 {
            return None;
        }
        let octets = URL_SAFE_NO_PAD.decode(texte).ok()?;
        let clair = String::from_utf8(octets).ok()?;
        let cle = clair.strip_prefix(PREFIXE)?;
        (!cle.is_empty() && cle.is_ascii()).then(|| Self(cle.to_owned()))
    }
}

/// What a list query asks for.
#[derive(Debug, Clone)]
pub struct DemandePage {
    pub limite: u32,
    pub apres: Option<Curseur>,
}

/// One page and the cursor of the next one, if any.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub elements: Vec<T>,
    pub suivant: Option<Curseur>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limite + 1` rows fetched in key order: the extra row only
    /// says that a next page exists.
    pub(crate) fn depuis_lignes(mut lignes: Vec<T>, limite: u32, cle: impl Fn(&T) -> String) -> Self {
        let limite = limite as usize;
        let suivant = if lignes.len() > limite {
            lignes.truncate(limite);
            lignes.last().map(|d| Curseur::apres(cle(d)))
        } else {
            None
        };
        Self {
            elements: lignes,
            suivant,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curseur_aller_retour_et_rejets() {
        let c = Curseur::apres("0190a3c2-0000-7000-8000-000000000000");
        assert_eq!(Curseur::decoder(&c.encoder()), Some(c));
        assert_eq!(Curseur::decoder("pas un curseur"), None);
        assert_eq!(Curseur::decoder(&URL_SAFE_NO_PAD.encode("v2:x")), None);
        assert_eq!(Curseur::decoder(&URL_SAFE_NO_PAD.encode("v1:")), None);
    }

    #[test]
    fn page_suivante_seulement_si_ligne_en_plus() {
        let p = Page::depuis_lignes(vec![1, 2, 3], 2, |x| x.to_string());
        assert_eq!(p.elements, vec![1, 2]);
        assert_eq!(p.suivant, Some(Curseur::apres("2")));
        let p = Page::depuis_lignes(vec![1, 2], 2, |x| x.to_string());
        assert_eq!(p.suivant, None);
    }
}
