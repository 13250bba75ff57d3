//! Encryption at rest of the token signing keys. Each private key is sealed with a
//! key-encryption key (KEK) that never enters the database: a 32-byte secret read from a file
//! (`jetons.cle_chiffrement_fichier`). A replica or a backup of the database alone therefore
//! cannot sign a token.
//!
//! A sealed key is stored as `kek1:<KEK id>:<base64url(nonce ‖ ciphertext)>`: XChaCha20-Poly1305
//! with a random 192-bit nonce per key, the key's `kid` as associated data (a sealed key moved
//! to another row does not open), and the id of the KEK that sealed it, so that a KEK can be
//! rotated: the previous ones (`jetons.cles_chiffrement_precedentes_fichiers`) still open what
//! they sealed until `onde-echanges cles rechiffrer` has re-sealed every key under the current
//! one. The KEK id is a fingerprint of the KEK (a truncated SHA-256 with a domain label), so
//! nothing has to be named by hand and a wrong file is recognised as such.
//!
//! Keys written by earlier versions are in clear (base64 PKCS#8): they are sealed at the next
//! start ([`crate::cles::sceller_cles_en_clair`], called when the API opens its key ring).

use std::path::Path;
use std::sync::OnceLock;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::erreur::ServiceError;

/// Prefix of a sealed private key (format version 1).
const PREFIXE: &str = "kek1";
/// Bytes of a KEK.
pub const TAILLE_CLE: usize = 32;
const TAILLE_NONCE: usize = 24;

/// One key-encryption key. Its bytes are never printed (`Debug` shows the id only).
#[derive(Clone)]
pub struct CleChiffrement {
    id: String,
    aead: XChaCha20Poly1305,
}

impl std::fmt::Debug for CleChiffrement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CleChiffrement")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl CleChiffrement {
    pub fn depuis_octets(octets: &[u8; TAILLE_CLE]) -> Self {
        let mut h = Sha256::new();
        h.update(b"onde-echanges/cle-chiffrement/v1\0");
        h.update(octets);
        let empreinte = h.finalize();
        Self {
            id: URL_SAFE_NO_PAD.encode(&empreinte[..9]),
            aead: XChaCha20Poly1305::new(octets.into()),
        }
    }

    /// A KEK from its file text: 32 bytes in base64 (`openssl rand -base64 32`), surrounding
    /// blanks ignored.
    pub fn depuis_texte(texte: &str) -> Result<Self, String> {
        let octets = Zeroizing::new(
            STANDARD
                .decode(texte.trim())
                .map_err(|_| "32 octets aléatoires en base64 sont attendus (openssl rand -base64 32)".to_owned())?,
        );
        let octets: &[u8; TAILLE_CLE] = octets.as_slice().try_into().map_err(|_| {
            format!(
                "32 octets aléatoires en base64 sont attendus (openssl rand -base64 32), pas {}",
                octets.len()
            )
        })?;
        Ok(Self::depuis_octets(octets))
    }

    /// Reads a KEK file; the error names the file, never its content.
    pub fn lire(chemin: &Path) -> Result<Self, String> {
        let texte = Zeroizing::new(
            std::fs::read_to_string(chemin).map_err(|e| format!("lecture de {} : {e}", chemin.display()))?,
        );
        Self::depuis_texte(&texte).map_err(|e| format!("{} : {e}", chemin.display()))
    }

    /// A new random KEK and the text of its file.
    pub fn generer() -> (Self, Zeroizing<String>) {
        let mut octets = Zeroizing::new([0u8; TAILLE_CLE]);
        rand::rng().fill_bytes(octets.as_mut_slice());
        let texte = Zeroizing::new(format!("{}\n", STANDARD.encode(octets.as_slice())));
        (Self::depuis_octets(&octets), texte)
    }

    /// The KEK's fingerprint, stored with every key it seals.
    pub fn id(&self) -> &str {
        &self.id
    }
}

fn cle_inconnue(kid: &str, kek: &str) -> ServiceError {
    ServiceError::Interne(format!(
        "la clé de signature {kid} est chiffrée par la clé de chiffrement {kek}, qui n'est pas configurée \
         (jetons.cle_chiffrement_fichier, jetons.cles_chiffrement_precedentes_fichiers)"
    ))
}

fn alteree(kid: &str, kek: &str) -> ServiceError {
    ServiceError::Interne(format!(
        "la clé de signature {kid} ne se déchiffre pas avec la clé de chiffrement {kek} (altérée ou déplacée)"
    ))
}

fn format_inconnu(kid: &str) -> ServiceError {
    ServiceError::Interne(format!("la clé de signature {kid} est stockée dans un format inconnu"))
}

/// The configured KEKs: the current one seals, the previous ones only open.
#[derive(Debug, Clone)]
pub struct Chiffrement {
    actuelle: CleChiffrement,
    precedentes: Vec<CleChiffrement>,
}

impl Chiffrement {
    pub fn new(actuelle: CleChiffrement, precedentes: Vec<CleChiffrement>) -> Self {
        Self { actuelle, precedentes }
    }

    /// A KEK drawn once per process: for tests and throw-away tools. Keys it seals cannot be
    /// opened by another process, so a server must be given a KEK from its configuration.
    pub fn ephemere() -> Self {
        static CLE: OnceLock<CleChiffrement> = OnceLock::new();
        Self::new(CLE.get_or_init(|| CleChiffrement::generer().0).clone(), Vec::new())
    }

    pub fn actuelle(&self) -> &CleChiffrement {
        &self.actuelle
    }

    /// Seals a private key (PKCS#8 DER) under the current KEK, bound to its `kid`.
    pub fn sceller(&self, kid: &str, clair: &[u8]) -> Result<String, ServiceError> {
        let mut nonce = [0u8; TAILLE_NONCE];
        rand::rng().fill_bytes(&mut nonce);
        let chiffre = self
            .actuelle
            .aead
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: clair,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| ServiceError::Interne("chiffrement de la clé de signature impossible".into()))?;
        let mut octets = nonce.to_vec();
        octets.extend_from_slice(&chiffre);
        Ok(format!(
            "{PREFIXE}:{}:{}",
            self.actuelle.id,
            URL_SAFE_NO_PAD.encode(octets)
        ))
    }

    /// Whether a stored key is sealed under the current KEK (nothing left to re-seal).
    pub fn a_jour(&self, stockee: &str) -> bool {
        matches!(decouper(stockee), Some((kek, _)) if kek == self.actuelle.id)
    }

    /// Whether a stored key is in clear (written before keys were sealed).
    pub fn en_clair(stockee: &str) -> bool {
        !stockee.starts_with(&format!("{PREFIXE}:"))
    }

    /// Opens a sealed key with whichever configured KEK sealed it.
    pub fn ouvrir(&self, kid: &str, stockee: &str) -> Result<Zeroizing<Vec<u8>>, ServiceError> {
        let (kek, reste) = decouper(stockee).ok_or_else(|| format_inconnu(kid))?;
        let cle = std::iter::once(&self.actuelle)
            .chain(&self.precedentes)
            .find(|c| c.id == kek)
            .ok_or_else(|| cle_inconnue(kid, kek))?;
        let octets = URL_SAFE_NO_PAD.decode(reste).map_err(|_| alteree(kid, kek))?;
        if octets.len() < TAILLE_NONCE {
            return Err(alteree(kid, kek));
        }
        let (nonce, chiffre) = octets.split_at(TAILLE_NONCE);
        let nonce: [u8; TAILLE_NONCE] = nonce.try_into().map_err(|_| alteree(kid, kek))?;
        cle.aead
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: chiffre,
                    aad: kid.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| alteree(kid, kek))
    }

    /// The private key (PKCS#8 DER) of a stored value, sealed or, from earlier versions, in clear.
    pub fn cle_privee(&self, kid: &str, stockee: &str) -> Result<Zeroizing<Vec<u8>>, ServiceError> {
        if Self::en_clair(stockee) {
            return STANDARD
                .decode(stockee)
                .map(Zeroizing::new)
                .map_err(|_| format_inconnu(kid));
        }
        self.ouvrir(kid, stockee)
    }
}

/// `(KEK id, payload)` of a sealed value.
fn decouper(stockee: &str) -> Option<(&str, &str)> {
    let reste = stockee.strip_prefix(PREFIXE)?.strip_prefix(':')?;
    reste.split_once(':')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn scelle_lie_au_kid_et_a_la_cle() {
        let (k1, texte) = CleChiffrement::generer();
        assert_eq!(CleChiffrement::depuis_texte(&texte).unwrap().id(), k1.id());
        let c = Chiffrement::new(k1.clone(), vec![]);
        let scellee = c.sceller("kid-a", b"secret pkcs8").unwrap();
        assert!(scellee.starts_with(&format!("kek1:{}:", k1.id())));
        assert!(!Chiffrement::en_clair(&scellee) && c.a_jour(&scellee));
        assert_eq!(c.ouvrir("kid-a", &scellee).unwrap().as_slice(), b"secret pkcs8");
        // Another row's kid, another KEK, a flipped byte: refused.
        assert!(c.ouvrir("kid-b", &scellee).unwrap_err().to_string().contains("altérée"));
        let (k2, _) = CleChiffrement::generer();
        let autre = Chiffrement::new(k2.clone(), vec![]);
        let e = autre.ouvrir("kid-a", &scellee).unwrap_err().to_string();
        assert!(e.contains(k1.id()) && e.contains("pas configurée"), "{e}");
        let mut abimee = scellee.clone().into_bytes();
        let n = abimee.len() - 3;
        abimee[n] = if abimee[n] == b'A' { b'B' } else { b'A' };
        assert!(c.ouvrir("kid-a", &String::from_utf8(abimee).unwrap()).is_err());
        // After a KEK rotation the previous KEK still opens; the value is no longer current.
        let tournee = Chiffrement::new(k2, vec![k1]);
        assert_eq!(tournee.ouvrir("kid-a", &scellee).unwrap().as_slice(), b"secret pkcs8");
        assert!(!tournee.a_jour(&scellee));
        // Two seals of the same key differ (random nonce).
        assert_ne!(c.sceller("kid-a", b"x").unwrap(), c.sceller("kid-a", b"x").unwrap());
    }

    #[test]
    fn fichier_de_cle_verifie() {
        assert!(CleChiffrement::depuis_texte("pas du base64 !").is_err());
        assert!(CleChiffrement::depuis_texte(&STANDARD.encode([0u8; 16])).is_err());
        assert!(CleChiffrement::depuis_texte(&format!("  {}\n", STANDARD.encode([7u8; 32]))).is_ok());
        let debug = format!("{:?}", CleChiffrement::depuis_octets(&[7u8; 32]));
        assert!(!debug.contains(&STANDARD.encode([7u8; 32])), "{debug}");
    }
}
