//! Bulk loading of an empty base with rows generated elsewhere (the `onde-seed` crate), and
//! the few reads a generator of import files needs. The store knows nothing of how rows are
//! made up; it writes them as fast as each backend allows: binary COPY on PostgreSQL with the
//! loaded tables' constraints, indexes and change-feed triggers set aside until the end,
//! multi-row inserts under the bind-parameter limit on SQLite.

use std::collections::HashSet;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use onde_domain::Uai;

pub use crate::lignes::{LigneCommune, LigneEcole, LigneEleve, LigneInscription, LigneLien, LigneResponsable};
use crate::schema::{communes, ecoles, eleves, eleves_responsables, inscriptions, responsables};
use crate::{DbConnection, StoreError};

/// Inserts `$lignes` in statements that stay under the backend's bind-parameter limit.
macro_rules! inserer {
    ($conn:expr, $table:expr, $lignes:expr, $colonnes:expr, $max:expr) => {{
        let par_requete = ($max / $colonnes).max(1);
        for lot in $lignes.chunks(par_requete) {
            $crate::par_backend!(&mut *$conn, c => diesel::insert_into($table).values(lot).execute(c))?;
        }
    }};
}

/// Rows of whole households, written parents before children.
#[derive(Debug, Default)]
pub struct Foyers {
    pub eleves: Vec<LigneEleve>,
    pub responsables: Vec<LigneResponsable>,
    pub liens: Vec<LigneLien>,
    pub inscriptions: Vec<LigneInscription>,
}

/// True when the base holds no commune, i.e. has never been seeded nor loaded.
pub fn base_vide(conn: &mut DbConnection) -> Result<bool, StoreError> {
    let premiere = communes::table
        .select(communes::code_insee)
        .first::<String>(conn)
        .optional()?;
    Ok(premiere.is_none())
}

/// The open load of [`charger_base_vide`]: writes reference rows, then households.
pub struct Chargement<'a> {
    conn: &'a mut DbConnection,
    max_parametres: usize,
}

impl Chargement<'_> {
    /// Writes communes, then schools.
    pub fn ecrire_reference(
        &mut self,
        lignes_communes: &[LigneCommune],
        lignes_ecoles: &[LigneEcole],
    ) -> Result<(), StoreError> {
        let max = self.max_parametres;
        inserer!(self.conn, communes::table, lignes_communes, 2, max);
        inserer!(self.conn, ecoles::table, lignes_ecoles, 10, max);
        Ok(())
    }

    /// Writes buffered households, parents before children.
    pub fn ecrire(&mut self, foyers: &Foyers) -> Result<(), StoreError> {
        ecrire(self.conn, foyers, self.max_parametres)
    }
}

/// A failure inside the load's transaction: the store's own, or the caller's.
enum Echec<E> {
    Store(StoreError),
    Appelant(E),
}

impl<E> From<StoreError> for Echec<E> {
    fn from(e: StoreError) -> Self {
        Echec::Store(e)
    }
}

impl<E> From<diesel::result::Error> for Echec<E> {
    fn from(e: diesel::result::Error) -> Self {
        Echec::Store(e.into())
    }
}

/// Loads an empty base in one transaction: `charge` writes through the [`Chargement`] it is
/// given, and any error, its own or the store's, rolls everything back. A base that already
/// holds data is refused.
pub fn charger_base_vide<T, E: From<StoreError>>(
    conn: &mut DbConnection,
    charge: impl FnOnce(&mut Chargement<'_>) -> Result<T, E>,
) -> Result<T, E> {
    let cache = agrandir_cache(conn)?;
    let resultat = conn
        .transaction(|conn| -> Result<T, Echec<E>> {
            if !base_vide(conn)? {
                return Err(Echec::Store(StoreError::Generation(
                    "la base contient déjà des données : le jeu synthétique ne se génère que dans une base vide".into(),
                )));
            }
            // An empty base's initial load is a snapshot, not a history: the change feed records
            // nothing of it (partners start from a cursor taken afterwards). The row is never
            // seen outside this transaction.
            diesel::sql_query("INSERT INTO changements_suspendus (raison) VALUES ('seed')").execute(conn)?;
            let max_parametres = max_parametres(conn)?;
            let differes = preparer_chargement(conn)?;
            let valeur = charge(&mut Chargement {
                conn: &mut *conn,
                max_parametres,
            })
            .map_err(Echec::Appelant)?;
            terminer_chargement(conn, &differes)?;
            diesel::sql_query("DELETE FROM changements_suspendus").execute(conn)?;
            Ok(valeur)
        })
        .map_err(|e| match e {
            Echec::Store(e) => E::from(e),
            Echec::Appelant(e) => e,
        });
    let retabli = match (cache, conn) {
        // A PRAGMA takes no bind parameter: `avant` is the integer SQLite itself reported.
        (Some(avant), DbConnection::Sqlite(c)) => c.batch_execute(&format!("PRAGMA cache_size = {avant}")),
        _ => Ok(()),
    };
    let valeur = resultat?;
    retabli.map_err(StoreError::from)?;
    Ok(valeur)
}

/// Schools as `(uai, type_ecole, code_commune)`, in UAI order: only `uais` when not empty.
pub fn ecoles_existantes(conn: &mut DbConnection, uais: &[Uai]) -> Result<Vec<(String, String, String)>, StoreError> {
    let mut q = ecoles::table
        .select((ecoles::uai, ecoles::type_ecole, ecoles::code_commune))
        .order(ecoles::uai.asc())
        .into_boxed();
    if !uais.is_empty() {
        q = q.filter(ecoles::uai.eq_any(uais.iter().map(|u| u.as_str().to_owned()).collect::<Vec<_>>()));
    }
    Ok(q.load(conn)?)
}

/// The INEs held by stored pupils.
pub fn ines_existants(conn: &mut DbConnection) -> Result<HashSet<String>, StoreError> {
    Ok(eleves::table
        .select(eleves::ine)
        .load::<Option<String>>(conn)?
        .into_iter()
        .flatten()
        .collect())
}

/// The duplicate keys of stored pupils.
pub fn cles_doublon_existantes(conn: &mut DbConnection) -> Result<HashSet<String>, StoreError> {
    Ok(eleves::table
        .select(eleves::cle_doublon)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

#[derive(QueryableByName)]
struct TailleCache {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    cache_size: i64,
}

/// SQLite: a 64 MiB page cache while seeding, since random UUID keys touch pages all over the
/// indexes (about 10 % faster at 100,000 pupils). Returns the setting to restore.
fn agrandir_cache(conn: &mut DbConnection) -> Result<Option<i64>, StoreError> {
    match conn {
        DbConnection::Pg(_) => Ok(None),
        DbConnection::Sqlite(c) => {
            let avant = diesel::sql_query("PRAGMA cache_size")
                .get_result::<TailleCache>(c)?
                .cache_size;
            c.batch_execute("PRAGMA cache_size = -65536")?;
            Ok(Some(avant))
        }
    }
}

/// Bind-parameter ceiling of one statement.
fn max_parametres(conn: &mut DbConnection) -> Result<usize, StoreError> {
    match conn {
        DbConnection::Pg(_) => Ok(65_535),
        DbConnection::Sqlite(c) => {
            let version: String =
                diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>("sqlite_version()")).get_result(c)?;
            let mut parties = version.split('.').map(|x| x.parse::<u32>().unwrap_or(0));
            let (majeure, mineure) = (parties.next().unwrap_or(0), parties.next().unwrap_or(0));
            // SQLite raised its default limit from 999 to 32766 in 3.32.
            Ok(if (majeure, mineure) >= (3, 32) { 32_766 } else { 999 })
        }
    }
}

/// Writes buffered households, parents before children: binary COPY on PostgreSQL,
/// multi-row inserts under the bind-parameter limit on SQLite.
fn ecrire(conn: &mut DbConnection, t: &Foyers, max: usize) -> Result<(), StoreError> {
    match conn {
        DbConnection::Pg(c) => {
            diesel::copy_from(responsables::table)
                .from_insertable(&t.responsables)
                .execute(c)?;
            diesel::copy_from(eleves::table).from_insertable(&t.eleves).execute(c)?;
            diesel::copy_from(eleves_responsables::table)
                .from_insertable(&t.liens)
                .execute(c)?;
            diesel::copy_from(inscriptions::table)
                .from_insertable(&t.inscriptions)
                .execute(c)?;
        }
        DbConnection::Sqlite(_) => {
            inserer!(conn, responsables::table, t.responsables, 8, max);
            inserer!(conn, eleves::table, t.eleves, 15, max);
            inserer!(conn, eleves_responsables::table, t.liens, 5, max);
            inserer!(conn, inscriptions::table, t.inscriptions, 16, max);
        }
    }
    Ok(())
}

/// Tables bulk-loaded by the seed.
const TABLES_CHARGEES: [&str; 4] = ["responsables", "eleves", "eleves_responsables", "inscriptions"];

/// An index or a constraint set aside during the load: how to drop it, how to build it again.
#[derive(QueryableByName)]
struct ObjetDifere {
    #[diesel(sql_type = diesel::sql_types::Text)]
    suppression: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    creation: String,
}

/// PostgreSQL, inside the seed's transaction on an empty base: the change-feed triggers are
/// disabled (their transition tables would copy every row once more) and the constraints and
/// indexes of the loaded tables dropped, to be built again once at the end: COPY then only
/// appends to the heap, one sort builds each index instead of millions of random insertions
/// into B-trees larger than the cache, and one join validates each foreign key instead of a
/// lookup per row. Uniqueness and references are still checked, at the rebuild. All of it is
/// transactional: a failed seed leaves the schema as it was. What to rebuild is read from the
/// catalogue, so that it follows the migrations.
fn preparer_chargement(conn: &mut DbConnection) -> Result<Vec<ObjetDifere>, StoreError> {
    let DbConnection::Pg(c) = conn else {
        return Ok(Vec::new());
    };
    // `ordre`: built in increasing order (keys, then indexes, then the foreign keys that need
    // them), dropped in decreasing order.
    let objets: Vec<ObjetDifere> = diesel::sql_query(
        "WITH charge AS (
            SELECT oid FROM pg_class WHERE relname = ANY($1) AND relnamespace = current_schema()::regnamespace)
         SELECT suppression, creation FROM (
            SELECT format('ALTER TABLE %I DROP CONSTRAINT %I', t.relname, k.conname) AS suppression,
                   format('ALTER TABLE %I ADD CONSTRAINT %I %s', t.relname, k.conname, pg_get_constraintdef(k.oid)) AS creation,
                   CASE k.contype WHEN 'f' THEN 3 ELSE 1 END AS ordre, k.conname AS nom
              FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
             WHERE (k.contype IN ('p', 'u') AND k.conrelid IN (SELECT oid FROM charge))
                OR (k.contype = 'f' AND (k.conrelid IN (SELECT oid FROM charge) OR k.confrelid IN (SELECT oid FROM charge)))
            UNION ALL
            SELECT format('DROP INDEX %I', i.relname), pg_get_indexdef(i.oid), 2, i.relname
              FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
             WHERE x.indrelid IN (SELECT oid FROM charge)
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                                WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid AND k.contype IN ('p', 'u', 'x'))
         ) o ORDER BY ordre, nom",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(TABLES_CHARGEES.to_vec())
    .load(c)?;
    let mut ddl = String::from("SET LOCAL maintenance_work_mem = '256MB';");
    // Table names are constants of this module (DDL takes no bind parameter); the constraints'
    // and indexes' DDL comes from the catalogue, quoted by PostgreSQL's own format('%I').
    for t in TABLES_CHARGEES {
        ddl.push_str(&format!("ALTER TABLE {t} DISABLE TRIGGER USER;"));
    }
    for o in objets.iter().rev() {
        ddl.push_str(&o.suppression);
        ddl.push(';');
    }
    c.batch_execute(&ddl)?;
    Ok(objets)
}

/// Rebuilds what [`preparer_chargement`] set aside and refreshes the planner's statistics.
fn terminer_chargement(conn: &mut DbConnection, objets: &[ObjetDifere]) -> Result<(), StoreError> {
    let DbConnection::Pg(c) = conn else {
        return Ok(());
    };
    let mut ddl = String::new();
    for o in objets {
        ddl.push_str(&o.creation);
        ddl.push(';');
    }
    // Constants of this module, as in preparer_chargement.
    for t in TABLES_CHARGEES {
        ddl.push_str(&format!("ALTER TABLE {t} ENABLE TRIGGER USER;"));
    }
    ddl.push_str("ANALYZE communes, ecoles, responsables, eleves, eleves_responsables, inscriptions;");
    c.batch_execute(&ddl)?;
    Ok(())
}
