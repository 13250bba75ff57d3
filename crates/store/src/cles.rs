//! Token signing keys, shared by every node through the database.

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
