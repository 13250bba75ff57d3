//! Token signing keys, shared by every node through the database. The HTTP layer seals the
//! private halves before they get here (`onde_api::chiffrement`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::cles_signature;
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = cles_signature, treat_none_as_default_value = false)]
pub struct CleSignature {
    pub kid: String,
    pub algorithme: String,
    pub cle_privee: String,
    pub cle_publique: String,
    pub cree_le: NaiveDateTime,
    pub retiree_le: Option<NaiveDateTime>,
}

/// Keys still useful: the signing one and those retired after `depuis` (their tokens may
/// still be alive). Newest first.
pub fn utiles(conn: &mut DbConnection, depuis: NaiveDateTime) -> Result<Vec<CleSignature>, StoreError> {
    Ok(cles_signature::table
        .filter(
            cles_signature::retiree_le
                .is_null()
                .or(cles_signature::retiree_le.gt(depuis)),
        )
        .order(cles_signature::cree_le.desc())
        .select(CleSignature::as_select())
        .load(conn)?)
}

/// Adds `nouvelle` as the signing key and retires the others, atomically.
pub fn remplacer(conn: &mut DbConnection, nouvelle: &CleSignature) -> Result<(), StoreError> {
    conn.transaction(|conn| {
        diesel::update(cles_signature::table.filter(cles_signature::retiree_le.is_null()))
            .set(cles_signature::retiree_le.eq(Some(nouvelle.cree_le)))
            .execute(conn)?;
        diesel::insert_into(cles_signature::table)
            .values(nouvelle)
            .execute(conn)?;
        Ok(())
    })
}

/// Adds `nouvelle` only if no key signs yet (first start; concurrent nodes agree on one key).
pub fn creer_si_aucune(conn: &mut DbConnection, nouvelle: &CleSignature) -> Result<(), StoreError> {
    conn.transaction(|conn| {
        let active = cles_signature::table
            .filter(cles_signature::retiree_le.is_null())
            .select(cles_signature::kid)
            .first::<String>(conn)
            .optional()?;
        if active.is_none() {
            diesel::insert_into(cles_signature::table)
                .values(nouvelle)
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Every stored key, retired ones included, oldest first.
pub fn toutes(conn: &mut DbConnection) -> Result<Vec<CleSignature>, StoreError> {
    Ok(cles_signature::table
        .order((cles_signature::cree_le.asc(), cles_signature::kid.asc()))
        .select(CleSignature::as_select())
        .load(conn)?)
}

/// Replaces a key's stored private half if it still is `ancienne` (compare-and-set, so that
/// nodes re-sealing at the same time agree). Returns whether this call replaced it.
pub fn remplacer_cle_privee(
    conn: &mut DbConnection,
    kid: &str,
    ancienne: &str,
    nouvelle: &str,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        cles_signature::table
            .filter(cles_signature::kid.eq(kid))
            .filter(cles_signature::cle_privee.eq(ancienne)),
    )
    .set(cles_signature::cle_privee.eq(nouvelle))
    .execute(conn)?;
    Ok(n == 1)
}
