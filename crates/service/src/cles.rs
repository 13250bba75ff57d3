//! The token signing keys as stored: generation (the private half sealed under the current
//! key-encryption key, [`crate::chiffrement`]), rotation and re-encryption. Signing and
//! verifying tokens with them is the API's key ring (`onde_api`'s `Trousseau`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{NaiveDateTime, Utc};
use diesel::Connection;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::SigningKey;
use onde_store::cles::CleSignature;
use onde_store::DbConnection;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::chiffrement::Chiffrement;
use crate::erreur::ServiceError;

/// A new Ed25519 key, as stored: its private half sealed under the current KEK.
pub fn generer_cle(maintenant: NaiveDateTime, chiffrement: &Chiffrement) -> Result<CleSignature, ServiceError> {
    let mut graine = zeroize::Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(graine.as_mut_slice());
    let cle = SigningKey::from_bytes(&graine);
    let der = cle
        .to_pkcs8_der()
        .map_err(|e| ServiceError::Interne(format!("encodage PKCS#8 : {e}")))?;
    let mut kid = [0u8; 9];
    rand::rng().fill_bytes(&mut kid);
    let kid = URL_SAFE_NO_PAD.encode(kid);
    Ok(CleSignature {
        cle_privee: chiffrement.sceller(&kid, der.as_bytes())?,
        kid,
        algorithme: "EdDSA".into(),
        cle_publique: URL_SAFE_NO_PAD.encode(cle.verifying_key().to_bytes()),
        cree_le: maintenant,
        retiree_le: None,
    })
}

/// What [`rechiffrer`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BilanRechiffrement {
    /// Keys re-sealed under the current KEK (in clear before, or under a previous KEK).
    pub rechiffrees: usize,
    /// Keys already sealed under the current KEK.
    pub a_jour: usize,
}

/// Re-seals every stored private key (retired ones too) under the current KEK, in one
/// transaction: after a KEK rotation, once this has run, the previous KEK can be dropped from
/// the configuration. A key that no configured KEK opens stops it, nothing changed. Keys in
/// clear (earlier versions) are sealed too.
pub fn rechiffrer(conn: &mut DbConnection, chiffrement: &Chiffrement) -> Result<BilanRechiffrement, ServiceError> {
    conn.transaction(|conn| {
        let mut bilan = BilanRechiffrement::default();
        for c in onde_store::cles::toutes(conn)? {
            if chiffrement.a_jour(&c.cle_privee) {
                bilan.a_jour += 1;
                continue;
            }
            let clair = chiffrement.cle_privee(&c.kid, &c.cle_privee)?;
            let scellee = chiffrement.sceller(&c.kid, &clair)?;
            // Compare-and-set: a node sealing the same key concurrently wins, this one skips.
            if onde_store::cles::remplacer_cle_privee(conn, &c.kid, &c.cle_privee, &scellee)? {
                bilan.rechiffrees += 1;
            } else {
                bilan.a_jour += 1;
            }
        }
        Ok(bilan)
    })
}

/// Seals the keys still in clear (written by an earlier version) under the current KEK.
pub fn sceller_cles_en_clair(conn: &mut DbConnection, chiffrement: &Chiffrement) -> Result<usize, ServiceError> {
    let mut n = 0;
    for c in onde_store::cles::toutes(conn)? {
        if Chiffrement::en_clair(&c.cle_privee) {
            let clair = chiffrement.cle_privee(&c.kid, &c.cle_privee)?;
            let scellee = chiffrement.sceller(&c.kid, &clair)?;
            if onde_store::cles::remplacer_cle_privee(conn, &c.kid, &c.cle_privee, &scellee)? {
                n += 1;
            }
        }
    }
    Ok(n)
}

/// La nouvelle clé de signature des jetons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CleTournee {
    /// Identifiant (`kid`) de la clé qui signe désormais ; la précédente vérifie encore les
    /// jetons qu'elle a signés jusqu'à leur expiration.
    #[schema(example = "q1w2e3r4t5y6", max_length = 100)]
    pub kid: String,
}

/// Rotates the signing key: a new key signs from now on; the previous one keeps verifying its
/// tokens until they expire. Refused when the given KEKs do not open the current signing key:
/// the new key would be sealed under a KEK the servers may not have.
pub fn tourner_cles(conn: &mut DbConnection, chiffrement: &Chiffrement) -> Result<CleTournee, ServiceError> {
    for c in onde_store::cles::toutes(conn)?
        .iter()
        .filter(|c| c.retiree_le.is_none())
    {
        chiffrement.cle_privee(&c.kid, &c.cle_privee)?;
    }
    let cle = generer_cle(Utc::now().naive_utc(), chiffrement)?;
    onde_store::cles::remplacer(conn, &cle)?;
    Ok(CleTournee { kid: cle.kid })
}
