//! One connection type over both backends (a diesel MultiConnection), and what every module
//! needs of it: the backend's name, diesel's backend type, the macro running a statement on the
//! concrete connection, the write lock. A leaf: the pool, the URL and the migrations build on it.

use diesel::RunQueryDsl;
use diesel::{PgConnection, SqliteConnection};

use crate::error::StoreError;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// The backend type of [`DbConnection`] (diesel's MultiBackend).
pub type Db = <DbConnection as diesel::Connection>::Backend;

/// Takes the database's write lock at the start of a write transaction. SQLite otherwise starts
/// a transaction as a reader and fails with SQLITE_BUSY, without waiting, when it must upgrade a
/// stale snapshot to write; taking the lock first makes concurrent writers queue (busy_timeout)
/// instead. PostgreSQL needs nothing: row locks and unique indexes arbitrate.
pub fn verrou_ecriture(conn: &mut DbConnection) -> Result<(), StoreError> {
    if let DbConnection::Sqlite(c) = conn {
        // A write statement that changes nothing still opens the write transaction.
        diesel::sql_query("UPDATE idempotence SET cle = cle WHERE 0 = 1").execute(c)?;
    }
    Ok(())
}

/// Runs `$body` with `$c` bound to the concrete connection, for the few statements that
/// MultiConnection cannot express (batch inserts, COPY, migrations).
#[macro_export]
#[doc(hidden)]
macro_rules! par_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::DbConnection::Pg($c) => $body,
            $crate::DbConnection::Sqlite($c) => $body,
        }
    };
}
