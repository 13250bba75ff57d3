//! Client credentials: generation (shown once), argon2 hashing, and verification that takes
//! the same time whether the client exists or not.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

use crate::ApiError;

fn aleatoire(octets: usize) -> String {
    let mut b = vec![0u8; octets];
    rand::rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// A new client id: readable prefix, 96 random bits.
pub fn nouvel_identifiant_client() -> String {
    format!("onde_{}", aleatoire(12))
}

/// A new secret: 256 random bits.
pub fn nouveau_secret() -> String {
    aleatoire(32)
}

/// argon2id PHC string of `secret`.
pub fn hacher(secret: &str) -> Result<String, ApiError> {
    let mut sel = [0u8; 16];
    rand::rng().fill_bytes(&mut sel);
    let sel = SaltString::encode_b64(&sel).map_err(|e| ApiError::Interne(format!("sel argon2 : {e}")))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &sel)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Interne(format!("hachage argon2 : {e}")))
}

/// Whether `secret` matches the PHC string `hache`.
pub fn verifier(secret: &str, hache: &str) -> bool {
    PasswordHash::new(hache)
        .map(|h| Argon2::default().verify_password(secret.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// Spends the time of one verification for an unknown client, so that response times do not
/// tell which client ids exist.
pub fn verifier_leurre(secret: &str) {
    static LEURRE: OnceLock<String> = OnceLock::new();
    let hache = LEURRE.get_or_init(|| hacher("leurre-de-temps-constant").unwrap_or_default());
    let _ = verifier(secret, hache);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hachage_et_verification() {
        let s = nouveau_secret();
        assert!(s.len() >= 43);
        let h = hacher(&s).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verifier(&s, &h));
        assert!(!verifier("autre", &h));
        assert!(!verifier(&s, "pas un hachage"));
        assert_ne!(nouvel_identifiant_client(), nouvel_identifiant_client());
    }
}
