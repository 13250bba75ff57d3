//! The feed's retention: how far it was purged ([`purge`], read by every feed page) and the
//! purge itself ([`purger`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use diesel::PgConnection;

use super::{horizon_pg, Position};
use crate::{DbConnection, StoreError};

/// How far the feed was purged (retention): every event at or before `position` is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purge {
    pub position: Position,
    pub le: NaiveDateTime,
}

diesel::table! {
    changements_purge (id) {
        id -> BigInt,
        xid -> BigInt,
        seq -> BigInt,
        purge_le -> Timestamp,
    }
}

#[derive(QueryableByName)]
struct LignePosition {
    #[diesel(sql_type = BigInt)]
    xid: i64,
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

/// The last purge, if the feed was ever purged. (Read on every feed page: through the DSL, so
/// the statement is prepared once per connection rather than parsed each time.)
pub fn purge(conn: &mut DbConnection) -> Result<Option<Purge>, StoreError> {
    let l: Option<(i64, i64, NaiveDateTime)> = changements_purge::table
        .select((
            changements_purge::xid,
            changements_purge::seq,
            changements_purge::purge_le,
        ))
        .first(conn)
        .optional()?;
    Ok(l.map(|(xid, seq, le)| Purge {
        position: Position { xid, seq },
        le,
    }))
}

/// Events deleted per statement of a purge: a short transaction each, so that a purge of tens
/// of millions of events neither holds one long transaction (which would hold back vacuum and
/// every reader's horizon) nor reads the tables from their start at every step.
const PURGE_PAR_LOT: i64 = 20_000;

/// Retention: deletes the longest head of the feed whose events were all recorded before
/// `avant` (never one recorded since, nor one of a transaction still running), with their
/// perimeter keys, and records where it stopped. A head, not every old event: a cursor is a
/// position, and a reader must be able to tell it has lost nothing (see [`lire`]). Returns the
/// number of events deleted and the purge now in force.
///
/// The position is recorded (and committed) first, then the events at or before it are deleted
/// by position ranges, [`PURGE_PAR_LOT`] at a time: a reader whose cursor precedes it gets 410
/// from the moment the first event may be gone, and one after it never meets a deleted event. A
/// purge interrupted half-way leaves events that only a cursor before the position could reach;
/// the next purge deletes them.
pub fn purger(
    conn: &mut DbConnection,
    avant: NaiveDateTime,
    maintenant: NaiveDateTime,
) -> Result<(usize, Option<Purge>), StoreError> {
    purger_par_lots(conn, avant, maintenant, PURGE_PAR_LOT)
}

/// [`purger`], deleting `par_lot` events per statement on PostgreSQL (tests use small batches).
pub fn purger_par_lots(
    conn: &mut DbConnection,
    avant: NaiveDateTime,
    maintenant: NaiveDateTime,
    par_lot: i64,
) -> Result<(usize, Option<Purge>), StoreError> {
    let (cible, en_vigueur) = conn.transaction(|conn| {
        let dernier = fin_de_purge(conn, avant)?;
        let deja = purge(conn)?;
        match dernier {
            Some(d) if deja.is_none_or(|p| p.position < d) => {
                noter_purge(conn, d, maintenant)?;
                Ok::<_, StoreError>((
                    Some(d),
                    Some(Purge {
                        position: d,
                        le: maintenant,
                    }),
                ))
            }
            _ => Ok((deja.map(|p| p.position), deja)),
        }
    })?;
    let Some(cible) = cible else {
        return Ok((0, en_vigueur));
    };
    let n = match &mut *conn {
        DbConnection::Pg(c) => supprimer_pg(c, cible, par_lot.max(1))?,
        // One writer, small bases: one transaction.
        DbConnection::Sqlite(c) => c.transaction(|c| {
            diesel::sql_query("DELETE FROM changements_cles WHERE seq <= ?")
                .bind::<BigInt, _>(cible.seq)
                .execute(c)?;
            diesel::sql_query("DELETE FROM changements WHERE seq <= ?")
                .bind::<BigInt, _>(cible.seq)
                .execute(c)
        })?,
    };
    Ok((n, en_vigueur))
}

/// The last event a purge of what was recorded before `avant` deletes: the one before the first
/// event that must stay, in feed order.
fn fin_de_purge(conn: &mut DbConnection, avant: NaiveDateTime) -> Result<Option<Position>, StoreError> {
    let dernier: Option<LignePosition> = match &mut *conn {
        DbConnection::Pg(c) => {
            let h = horizon_pg(c)?;
            let garde: Option<LignePosition> = diesel::sql_query(
                "SELECT xid, seq FROM changements WHERE horodatage >= $1 OR xid >= $2 ORDER BY xid, seq LIMIT 1",
            )
            .bind::<Timestamp, _>(avant)
            .bind::<BigInt, _>(h)
            .get_result(c)
            .optional()?;
            match garde {
                Some(g) => diesel::sql_query(
                    "SELECT xid, seq FROM changements WHERE (xid, seq) < ($1, $2) \
                     ORDER BY xid DESC, seq DESC LIMIT 1",
                )
                .bind::<BigInt, _>(g.xid)
                .bind::<BigInt, _>(g.seq)
                .get_result(c)
                .optional()?,
                None => diesel::sql_query("SELECT xid, seq FROM changements ORDER BY xid DESC, seq DESC LIMIT 1")
                    .get_result(c)
                    .optional()?,
            }
        }
        DbConnection::Sqlite(c) => {
            let garde: Option<LignePosition> =
                diesel::sql_query("SELECT xid, seq FROM changements WHERE horodatage >= ? ORDER BY seq LIMIT 1")
                    .bind::<Text, _>(instant_texte(avant))
                    .get_result(c)
                    .optional()?;
            match garde {
                Some(g) => {
                    diesel::sql_query("SELECT xid, seq FROM changements WHERE seq < ? ORDER BY seq DESC LIMIT 1")
                        .bind::<BigInt, _>(g.seq)
                        .get_result(c)
                        .optional()?
                }
                None => diesel::sql_query("SELECT xid, seq FROM changements ORDER BY seq DESC LIMIT 1")
                    .get_result(c)
                    .optional()?,
            }
        }
    };
    Ok(dernier.map(|l| Position { xid: l.xid, seq: l.seq }))
}

/// Records the purge's position (the one row of `changements_purge`).
fn noter_purge(conn: &mut DbConnection, p: Position, maintenant: NaiveDateTime) -> Result<(), StoreError> {
    match &mut *conn {
        DbConnection::Pg(c) => diesel::sql_query(
            "INSERT INTO changements_purge (id, xid, seq, purge_le) VALUES (1, $1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET xid = excluded.xid, seq = excluded.seq, purge_le = excluded.purge_le",
        )
        .bind::<BigInt, _>(p.xid)
        .bind::<BigInt, _>(p.seq)
        .bind::<Timestamp, _>(maintenant)
        .execute(c)?,
        DbConnection::Sqlite(c) => diesel::sql_query(
            "INSERT INTO changements_purge (id, xid, seq, purge_le) VALUES (1, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET xid = excluded.xid, seq = excluded.seq, purge_le = excluded.purge_le",
        )
        .bind::<BigInt, _>(p.xid)
        .bind::<BigInt, _>(p.seq)
        .bind::<Text, _>(instant_texte(maintenant))
        .execute(c)?,
    };
    Ok(())
}

#[derive(QueryableByName)]
struct LotSupprime {
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    xid: i64,
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

/// PostgreSQL: deletes the events at or before `cible` and their keys, one range of positions
/// per statement (the primary key and `changements_cles_par_position` lead to it), each range
/// starting where the previous one ended. Returns the number of events deleted.
fn supprimer_pg(c: &mut PgConnection, cible: Position, par_lot: i64) -> Result<usize, StoreError> {
    let mut depuis = Position {
        xid: i64::MIN,
        seq: i64::MIN,
    };
    let mut total: usize = 0;
    loop {
        let lot: Option<LotSupprime> = diesel::sql_query(concat!(
            "WITH lot AS (SELECT xid, seq FROM changements WHERE (xid, seq) > ($1, $2) AND (xid, seq) <= ($3, $4) ",
            "ORDER BY xid, seq LIMIT $5), ",
            "fin AS (SELECT xid, seq FROM lot ORDER BY xid DESC, seq DESC LIMIT 1), ",
            "evenements AS (DELETE FROM changements c USING lot WHERE c.xid = lot.xid AND c.seq = lot.seq RETURNING 1), ",
            "cles AS (DELETE FROM changements_cles k USING fin WHERE (k.xid, k.seq) > ($1, $2) ",
            "AND (k.xid, k.seq) <= (fin.xid, fin.seq)) ",
            "SELECT (SELECT count(*) FROM evenements) AS n, fin.xid, fin.seq FROM fin"
        ))
        .bind::<BigInt, _>(depuis.xid)
        .bind::<BigInt, _>(depuis.seq)
        .bind::<BigInt, _>(cible.xid)
        .bind::<BigInt, _>(cible.seq)
        .bind::<BigInt, _>(par_lot)
        .get_result(c)
        .optional()?;
        let Some(lot) = lot else {
            break;
        };
        total += usize::try_from(lot.n).unwrap_or(0);
        depuis = Position {
            xid: lot.xid,
            seq: lot.seq,
        };
    }
    // Keys after the last event deleted but not after the purge's position (an event deleted
    // by an older version that left its keys): the ranges above covered everything before.
    diesel::sql_query("DELETE FROM changements_cles WHERE (xid, seq) > ($1, $2) AND (xid, seq) <= ($3, $4)")
        .bind::<BigInt, _>(depuis.xid)
        .bind::<BigInt, _>(depuis.seq)
        .bind::<BigInt, _>(cible.xid)
        .bind::<BigInt, _>(cible.seq)
        .execute(c)?;
    Ok(total)
}

/// A timestamp in the text form SQLite stores and compares it in (a TIMESTAMP column holds
/// text there; microseconds, as the triggers' and the purge's own values).
fn instant_texte(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}
