//! Stored first answers of idempotent writes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::idempotence;
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotence)]
pub struct ReponseEnregistree {
    pub partenaire_id: String,
    pub cle: String,
    pub empreinte: String,
    pub statut: i32,
    pub corps: String,
    pub entetes: String,
    pub eleves: String,
    pub cree_le: NaiveDateTime,
}

pub fn trouver(
    conn: &mut DbConnection,
    partenaire_id: &str,
    cle: &str,
) -> Result<Option<ReponseEnregistree>, StoreError> {
    Ok(idempotence::table
        .find((partenaire_id, cle))
        .select(ReponseEnregistree::as_select())
        .first(conn)
        .optional()?)
}

/// Records the answer; call inside the write's transaction. A concurrent request that got
/// there first makes this fail with a unique violation, which rolls the second write back.
pub fn enregistrer(conn: &mut DbConnection, r: &ReponseEnregistree) -> Result<(), StoreError> {
    diesel::insert_into(idempotence::table).values(r).execute(conn)?;
    Ok(())
}

/// Forgets answers older than `avant` (keys are meant for retries, not forever; a stored
/// answer holds pupil data: retention, `onde-echanges retention`).
pub fn purger(conn: &mut DbConnection, avant: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(diesel::delete(idempotence::table.filter(idempotence::cree_le.lt(avant))).execute(conn)?)
}

/// How many answers [`purger`] would forget.
pub fn compter_anciennes(conn: &mut DbConnection, avant: NaiveDateTime) -> Result<usize, StoreError> {
    let n: i64 = idempotence::table
        .filter(idempotence::cree_le.lt(avant))
        .count()
        .get_result(conn)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Serialises requests carrying the same key for the rest of the transaction (PostgreSQL
/// advisory lock; SQLite writers are serialised already), so that a retry racing the first
/// attempt waits for it and then replays its answer instead of colliding with its effects.
pub fn verrouiller(conn: &mut DbConnection, partenaire_id: &str, cle: &str) -> Result<(), StoreError> {
    if let DbConnection::Pg(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<diesel::sql_types::Text, _>(format!("idempotence:{partenaire_id}:{cle}"))
            .execute(c)?;
    }
    Ok(())
}
