//! The change feed: the events the triggers (`crates/store/sql/<backend>/changements_*.sql`)
//! write, read in commit
//! order from a cursor, restricted to the keys of the caller's perimeter, and the current
//! state of the resources they name (what the caller may see of them now).
//!
//! No skipped change: on PostgreSQL events sort by (writing transaction id, sequence) and a
//! reader stops below the oldest transaction still running, so a cursor never passes an event
//! that commits later; on SQLite the single writer makes the sequence follow commit order.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};
use diesel::{PgConnection, SqliteConnection};
use onde_domain::Perimetre;
use uuid::Uuid;

mod purge;

pub use purge::{purge, purger, purger_par_lots, Purge};

use crate::lignes::{lire_uuid, LigneResponsable};
use crate::schema::{ecoles, eleves, eleves_responsables, inscriptions, responsables};
use crate::{perimetre, Curseur, DbConnection, StoreError};

/// A place in the feed: every event at or before it has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub xid: i64,
    pub seq: i64,
}

impl Position {
    pub fn curseur(&self) -> Curseur {
        Curseur::apres(format!("f{}.{}", self.xid, self.seq))
    }

    /// `None` when the cursor is not a feed position.
    pub fn depuis_curseur(c: &Curseur) -> Option<Self> {
        let (xid, seq) = c.cle().strip_prefix('f')?.split_once('.')?;
        Some(Self {
            xid: xid.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ressource {
    Ecole,
    Eleve,
    Inscription,
    Responsable,
}

impl Ressource {
    pub const TOUTES: [Ressource; 4] = [Self::Ecole, Self::Eleve, Self::Inscription, Self::Responsable];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ecole => "ecole",
            Self::Eleve => "eleve",
            Self::Inscription => "inscription",
            Self::Responsable => "responsable",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::TOUTES.into_iter().find(|r| r.as_str() == s)
    }
}

/// One recorded change (several statements of one transaction merge into one event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changement {
    pub position: Position,
    pub ressource: Ressource,
    /// UAI of a school, internal id of the others.
    pub id: String,
    /// `creation`, `modification`, `changement_cle`, `radiation` or `suppression`.
    pub operation: String,
    /// The former key (INE, UAI) of a key change.
    pub ancienne_cle: Option<String>,
    pub horodatage: NaiveDateTime,
}

#[derive(QueryableByName)]
struct LigneChangement {
    #[diesel(sql_type = BigInt)]
    xid: i64,
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Text)]
    ressource: String,
    #[diesel(sql_type = Text)]
    ressource_id: String,
    #[diesel(sql_type = Text)]
    operation: String,
    #[diesel(sql_type = Nullable<Text>)]
    ancienne_cle: Option<String>,
    #[diesel(sql_type = Timestamp)]
    horodatage: NaiveDateTime,
}

#[derive(QueryableByName)]
struct LigneEntier {
    #[diesel(sql_type = Nullable<BigInt>)]
    n: Option<i64>,
}

#[derive(QueryableByName)]
struct LigneHorizon {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Transactions of this database with an id below this have all ended (PostgreSQL): their
/// events are all visible to any later snapshot. Taken before the read, so the read sees at
/// least as much.
///
/// The transactions still running at the snapshot (`pg_snapshot_xip`) hold it back, except
/// those positively known not to be able to add events this read could miss:
/// - those of a session of another database of the cluster: a session never changes database,
///   a transaction id is never reused while it runs, and a session of another database cannot
///   write this one's feed;
/// - those that have ended since the snapshot (`pg_xact_status` is not `in progress`: the
///   transaction has left the process array, so every later snapshot sees it as ended). The
///   read is a later statement, outside any transaction (READ COMMITTED): it sees every event
///   such a transaction committed.
///
/// What cannot be told so (a session of this database still running, an id `pg_stat_activity`
/// does not show this role, a prepared transaction) holds it back, as every running transaction
/// used to (`pg_snapshot_xmin`): the horizon can only be later than that one for transactions
/// that cannot write this feed any more, so another base's long transaction (a test, a bulk
/// load) does not hold this feed back, nor does one that ended between the snapshot and the
/// look at `pg_stat_activity` (without the second rule, such a one held a read back at random:
/// the same feed page got another `curseur_suivant`, hence another ETag). Ids compare on their
/// low 32 bits (`backend_xid` is an `xid`): two running transactions never share them.
fn horizon_pg(c: &mut PgConnection) -> Result<i64, StoreError> {
    let l: LigneHorizon = diesel::sql_query(HORIZON_PG).get_result(c)?;
    Ok(l.n)
}

/// The horizon's statement over the snapshot `$instantane` (an SQL expression).
macro_rules! horizon_sur {
    ($instantane:literal) => {
        concat!(
            "SELECT coalesce((SELECT min(x.x::text::bigint) FROM pg_snapshot_xip(s.s) AS x(x) ",
            "WHERE pg_xact_status(x.x) = 'in progress' AND NOT EXISTS (",
            "SELECT 1 FROM pg_stat_activity a WHERE a.backend_xid IS NOT NULL ",
            "AND a.datid <> (SELECT d.oid FROM pg_database d WHERE d.datname = current_database()) ",
            "AND a.backend_xid::text::bigint = x.x::text::bigint % 4294967296)), ",
            "pg_snapshot_xmax(s.s)::text::bigint) AS n FROM (SELECT ",
            $instantane,
            " AS s) AS s"
        )
    };
}

const HORIZON_PG: &str = horizon_sur!("pg_current_snapshot()");

/// [`horizon_pg`] over a snapshot taken earlier (`pg_current_snapshot()::text`), for the tests
/// of what happens between the snapshot and the look at the running transactions.
#[cfg(feature = "testing")]
pub fn horizon_sur_instantane(c: &mut PgConnection, instantane: &str) -> Result<i64, StoreError> {
    let l: LigneHorizon = diesel::sql_query(horizon_sur!("$1::pg_snapshot"))
        .bind::<Text, _>(instantane)
        .get_result(c)?;
    Ok(l.n)
}

/// [`horizon_pg`] on PostgreSQL; SQLite's single writer needs none.
fn horizon(conn: &mut DbConnection) -> Result<Option<i64>, StoreError> {
    match conn {
        DbConnection::Pg(c) => horizon_pg(c).map(Some),
        DbConnection::Sqlite(_) => Ok(None),
    }
}

/// The position of "now": a partner that has never synced takes it, then downloads the lists;
/// the feed from it holds every change the lists may have missed.
pub fn position_courante(conn: &mut DbConnection) -> Result<Position, StoreError> {
    match horizon(conn)? {
        Some(h) => Ok(Position {
            xid: h - 1,
            seq: i64::MAX,
        }),
        None => {
            let l: LigneEntier = diesel::sql_query("SELECT max(seq) AS n FROM changements").get_result(conn)?;
            Ok(Position {
                xid: 0,
                seq: l.n.unwrap_or(0),
            })
        }
    }
}

/// The perimeter's keys, as the triggers write them (`c:75056`, `u:0750655E`).
fn cles(p: &Perimetre) -> Option<Vec<String>> {
    match p {
        Perimetre::National => None,
        Perimetre::Restreint { communes, uais } => Some(
            communes
                .iter()
                .map(|c| format!("c:{}", c.as_str()))
                .chain(uais.iter().map(|u| format!("u:{}", u.as_str())))
                .collect(),
        ),
    }
}

/// One read of the feed.
#[derive(Debug, Clone, Default)]
pub struct Lecture {
    /// The events of the requested types, in feed order.
    pub changements: Vec<Changement>,
    /// Position of the last event read (of any type): where the next read starts.
    pub derniere: Option<Position>,
    /// Whether `limite` events were read: more may follow at once.
    pub plein: bool,
    /// Whether committed events of the perimeter wait behind an older transaction still
    /// running (PostgreSQL): they come as soon as it ends.
    pub retenus: bool,
}

/// Up to `limite` events after `apres`, in feed order, that concern the perimeter; those of
/// `ressources` are returned, the others only move the position on. For a restricted perimeter
/// each key's index range is read in order and cut at `limite` rows, then merged: a read costs
/// at most `limite` index rows per key of the perimeter, whatever the size of the tables.
pub fn lire(
    conn: &mut DbConnection,
    perimetre: &Perimetre,
    ressources: &[Ressource],
    apres: Position,
    limite: u32,
) -> Result<Lecture, StoreError> {
    if ressources.is_empty() || perimetre.est_vide() {
        return Ok(Lecture::default());
    }
    let cles_perimetre = cles(perimetre);
    let limite = i64::from(limite);
    let (lignes, horizon) = match &mut *conn {
        DbConnection::Pg(c) => {
            let h = horizon_pg(c)?;
            (lire_pg(c, cles_perimetre.as_deref(), apres, h, limite)?, Some(h))
        }
        DbConnection::Sqlite(c) => (lire_sqlite(c, cles_perimetre.as_deref(), apres, limite)?, None),
    };
    // Checked after the read: a purge that commits between the two statements deleted events
    // this read may have missed, and its position is then visible here.
    if let Some(p) = purge(conn)?.filter(|p| apres < p.position) {
        return Err(StoreError::FluxPurge { le: p.le });
    }
    let plein = i64::try_from(lignes.len()).unwrap_or(i64::MAX) >= limite;
    let derniere = lignes.last().map(|l| Position { xid: l.xid, seq: l.seq });
    let mut changements: Vec<Changement> = Vec::with_capacity(lignes.len());
    for l in lignes {
        let position = Position { xid: l.xid, seq: l.seq };
        // An event under two keys of the perimeter comes twice from the merge.
        if changements.last().is_some_and(|d| d.position == position) {
            continue;
        }
        let ressource = Ressource::parse(&l.ressource).ok_or(StoreError::Corrompu {
            table: "changements",
            colonne: "ressource",
            detail: l.ressource.clone(),
        })?;
        if !ressources.contains(&ressource) {
            continue;
        }
        changements.push(Changement {
            position,
            ressource,
            id: l.ressource_id,
            operation: l.operation,
            ancienne_cle: l.ancienne_cle,
            horodatage: l.horodatage,
        });
    }
    let retenus = match (&mut *conn, horizon, plein) {
        (DbConnection::Pg(c), Some(h), false) => {
            retenus_pg(c, cles_perimetre.as_deref(), derniere.unwrap_or(apres), h)?
        }
        _ => false,
    };
    Ok(Lecture {
        changements,
        derniere,
        plein,
        retenus,
    })
}

const COLONNES: &str = "c.xid, c.seq, c.ressource, c.ressource_id, c.operation, c.ancienne_cle, c.horodatage";

/// PostgreSQL: the events after `apres` below the horizon `h`. For a restricted perimeter, one
/// small plan whatever the number of keys: for each key, the index of each column that may hold
/// it (a commune in `commune` or `commune_bis`, a UAI in `uai` or `uai_bis`) and the key table's
/// are read in order, each range stopping after `limite` rows, then merged.
fn lire_pg(
    c: &mut PgConnection,
    cles: Option<&[String]>,
    apres: Position,
    h: i64,
    limite: i64,
) -> Result<Vec<LigneChangement>, StoreError> {
    Ok(match cles {
        None => diesel::sql_query(concat!(
            "SELECT c.xid, c.seq, c.ressource, c.ressource_id, c.operation, c.ancienne_cle, c.horodatage ",
            "FROM changements c WHERE (xid, seq) > ($1, $2) AND xid < $3 ORDER BY xid, seq LIMIT $4"
        ))
        .bind::<BigInt, _>(apres.xid)
        .bind::<BigInt, _>(apres.seq)
        .bind::<BigInt, _>(h)
        .bind::<BigInt, _>(limite)
        .load(c)?,
        Some(cles) => {
            let (communes, uais) = valeurs(cles);
            diesel::sql_query(LIRE_RESTREINT_PG)
                .bind::<Array<Text>, _>(cles)
                .bind::<BigInt, _>(apres.xid)
                .bind::<BigInt, _>(apres.seq)
                .bind::<BigInt, _>(h)
                .bind::<BigInt, _>(limite)
                .bind::<Array<Text>, _>(communes)
                .bind::<Array<Text>, _>(uais)
                .load(c)?
        }
    })
}

/// The restricted read of [`lire_pg`]: `$1` the keys (`c:…`, `u:…`) for the key table, `$6`
/// and `$7` the perimeter's communes and UAIs for the columns. The `IS NOT NULL` lets the
/// planner use the partial indexes whatever the values bound.
const LIRE_RESTREINT_PG: &str = concat!(
    "SELECT c.xid, c.seq, c.ressource, c.ressource_id, c.operation, c.ancienne_cle, c.horodatage ",
    "FROM (SELECT DISTINCT u.xid, u.seq FROM (",
    "SELECT t.xid, t.seq FROM unnest($6::text[]) AS k(v) CROSS JOIN LATERAL ",
    "(SELECT e.xid, e.seq FROM changements e WHERE e.commune = k.v AND e.commune IS NOT NULL ",
    "AND (e.xid, e.seq) > ($2, $3) AND e.xid < $4 ORDER BY e.commune, e.xid, e.seq LIMIT $5) AS t ",
    "UNION ALL ",
    "SELECT t.xid, t.seq FROM unnest($6::text[]) AS k(v) CROSS JOIN LATERAL ",
    "(SELECT e.xid, e.seq FROM changements e WHERE e.commune_bis = k.v AND e.commune_bis IS NOT NULL ",
    "AND (e.xid, e.seq) > ($2, $3) AND e.xid < $4 ORDER BY e.commune_bis, e.xid, e.seq LIMIT $5) AS t ",
    "UNION ALL ",
    "SELECT t.xid, t.seq FROM unnest($7::text[]) AS k(v) CROSS JOIN LATERAL ",
    "(SELECT e.xid, e.seq FROM changements e WHERE e.uai = k.v AND e.uai IS NOT NULL ",
    "AND (e.xid, e.seq) > ($2, $3) AND e.xid < $4 ORDER BY e.uai, e.xid, e.seq LIMIT $5) AS t ",
    "UNION ALL ",
    "SELECT t.xid, t.seq FROM unnest($7::text[]) AS k(v) CROSS JOIN LATERAL ",
    "(SELECT e.xid, e.seq FROM changements e WHERE e.uai_bis = k.v AND e.uai_bis IS NOT NULL ",
    "AND (e.xid, e.seq) > ($2, $3) AND e.xid < $4 ORDER BY e.uai_bis, e.xid, e.seq LIMIT $5) AS t ",
    "UNION ALL ",
    "SELECT t.xid, t.seq FROM unnest($1::text[]) AS k(cle) CROSS JOIN LATERAL ",
    "(SELECT p.xid, p.seq FROM changements_cles p WHERE p.cle = k.cle AND (p.xid, p.seq) > ($2, $3) ",
    "AND p.xid < $4 ORDER BY p.cle, p.xid, p.seq LIMIT $5) AS t",
    ") AS u ORDER BY u.xid, u.seq LIMIT $5) AS t ",
    "JOIN changements c ON c.xid = t.xid AND c.seq = t.seq ORDER BY c.xid, c.seq"
);

/// The perimeter's communes and UAIs, from its keys (`c:75056`, `u:0750655E`), as the event
/// columns hold them.
fn valeurs(cles: &[String]) -> (Vec<String>, Vec<String>) {
    let communes = cles
        .iter()
        .filter_map(|k| k.strip_prefix("c:"))
        .map(str::to_owned)
        .collect();
    let uais = cles
        .iter()
        .filter_map(|k| k.strip_prefix("u:"))
        .map(str::to_owned)
        .collect();
    (communes, uais)
}

/// SQLite: the events after `apres`. For a restricted perimeter, one index range per key, each
/// cut at `limite` rows, merged: the statement has one such branch per key (its shape depends
/// on how many keys there are, its values are all bound).
fn lire_sqlite(
    c: &mut SqliteConnection,
    cles: Option<&[String]>,
    apres: Position,
    limite: i64,
) -> Result<Vec<LigneChangement>, StoreError> {
    const PAR_CLE: &str = "SELECT * FROM (SELECT p.xid, p.seq FROM changements_cles p WHERE p.cle = ? \
                           AND p.seq > ? ORDER BY p.seq LIMIT ?)";
    Ok(match cles {
        None => diesel::sql_query(
            "SELECT c.xid, c.seq, c.ressource, c.ressource_id, c.operation, c.ancienne_cle, c.horodatage \
             FROM changements c WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind::<BigInt, _>(apres.seq)
        .bind::<BigInt, _>(limite)
        .load(c)?,
        Some(cles) => {
            // Only constants of this module go into the text; every value is bound below.
            let selection = vec![PAR_CLE; cles.len()].join(" UNION ALL ");
            let sql = format!(
                "SELECT {COLONNES} FROM (SELECT * FROM ({selection}) AS u ORDER BY seq LIMIT ?) AS t \
                 JOIN changements c ON c.xid = t.xid AND c.seq = t.seq ORDER BY c.seq"
            );
            let mut requete = diesel::sql_query(sql).into_boxed::<diesel::sqlite::Sqlite>();
            for cle in cles {
                requete = requete
                    .bind::<Text, _>(cle.clone())
                    .bind::<BigInt, _>(apres.seq)
                    .bind::<BigInt, _>(limite);
            }
            requete.bind::<BigInt, _>(limite).load(c)?
        }
    })
}

/// Whether committed events of the perimeter after `p` wait behind a transaction still running
/// (PostgreSQL).
fn retenus_pg(c: &mut PgConnection, cles: Option<&[String]>, p: Position, h: i64) -> Result<bool, StoreError> {
    let l: LigneEntier = match cles {
        None => diesel::sql_query(
            "SELECT count(*) AS n FROM (SELECT 1 FROM changements WHERE (xid, seq) > ($1, $2) AND xid >= $3 LIMIT 1) AS x",
        )
        .bind::<BigInt, _>(p.xid)
        .bind::<BigInt, _>(p.seq)
        .bind::<BigInt, _>(h)
        .get_result(c)?,
        Some(cles) => {
            let (communes, uais) = valeurs(cles);
            diesel::sql_query(concat!(
                "SELECT count(*) AS n FROM (",
                "(SELECT 1 FROM changements WHERE commune = ANY ($5::text[]) AND commune IS NOT NULL ",
                "AND (xid, seq) > ($2, $3) AND xid >= $4 LIMIT 1) UNION ALL ",
                "(SELECT 1 FROM changements WHERE commune_bis = ANY ($5::text[]) AND commune_bis IS NOT NULL ",
                "AND (xid, seq) > ($2, $3) AND xid >= $4 LIMIT 1) UNION ALL ",
                "(SELECT 1 FROM changements WHERE uai = ANY ($6::text[]) AND uai IS NOT NULL ",
                "AND (xid, seq) > ($2, $3) AND xid >= $4 LIMIT 1) UNION ALL ",
                "(SELECT 1 FROM changements WHERE uai_bis = ANY ($6::text[]) AND uai_bis IS NOT NULL ",
                "AND (xid, seq) > ($2, $3) AND xid >= $4 LIMIT 1) UNION ALL ",
                "(SELECT 1 FROM changements_cles WHERE cle = ANY ($1::text[]) ",
                "AND (xid, seq) > ($2, $3) AND xid >= $4 LIMIT 1)) AS x"
            ))
            .bind::<Array<Text>, _>(cles)
            .bind::<BigInt, _>(p.xid)
            .bind::<BigInt, _>(p.seq)
            .bind::<BigInt, _>(h)
            .bind::<Array<Text>, _>(communes)
            .bind::<Array<Text>, _>(uais)
            .get_result(c)?
        }
    };
    Ok(l.n.unwrap_or(0) > 0)
}

/// A guardian on their own (the link to each pupil is in the pupil's record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponsableSeul {
    pub id: Uuid,
    pub nom: String,
    pub prenom: String,
    pub telephone: Option<String>,
    pub courriel: Option<String>,
    pub adresse: Option<String>,
    /// Their pupils the perimeter sees (through whom it sees the guardian).
    pub eleves: Vec<Uuid>,
}

/// The guardians among `ids` the perimeter sees: those of a pupil it sees.
pub fn responsables_visibles(
    conn: &mut DbConnection,
    p: &Perimetre,
    ids: &[String],
) -> Result<Vec<ResponsableSeul>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let tous: Vec<(String, String)> = eleves_responsables::table
        .filter(eleves_responsables::responsable_id.eq_any(ids.to_vec()))
        .select((eleves_responsables::responsable_id, eleves_responsables::eleve_id))
        .load(conn)?;
    let candidats: Vec<String> = tous.iter().map(|(_, e)| e.clone()).collect();
    let visibles: std::collections::HashSet<String> = eleves::table
        .into_boxed()
        .filter(perimetre::eleves(p))
        .filter(eleves::id.eq_any(candidats))
        .select(eleves::id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let liens: Vec<(String, String)> = tous.into_iter().filter(|(_, e)| visibles.contains(e)).collect();
    if liens.is_empty() {
        return Ok(Vec::new());
    }
    let mut par_responsable: std::collections::BTreeMap<String, Vec<Uuid>> = Default::default();
    for (r, e) in liens {
        par_responsable
            .entry(r)
            .or_default()
            .push(lire_uuid("eleves_responsables", "eleve_id", &e)?);
    }
    let lignes: Vec<LigneResponsable> = responsables::table
        .filter(responsables::id.eq_any(par_responsable.keys().cloned().collect::<Vec<_>>()))
        .select(LigneResponsable::as_select())
        .load(conn)?;
    lignes
        .into_iter()
        .map(|l| {
            let eleves = par_responsable.remove(&l.id).unwrap_or_default();
            Ok(ResponsableSeul {
                id: lire_uuid("responsables", "id", &l.id)?,
                nom: l.nom,
                prenom: l.prenom,
                telephone: l.telephone,
                courriel: l.courriel,
                adresse: l.adresse,
                eleves,
            })
        })
        .collect()
}

/// Which of `ids` still exist (to tell a deletion from a move out of the perimeter), in one
/// query.
pub fn existants(
    conn: &mut DbConnection,
    r: Ressource,
    ids: &[String],
) -> Result<std::collections::HashSet<String>, StoreError> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let ids = ids.to_vec();
    let trouves: Vec<String> = match r {
        Ressource::Ecole => ecoles::table
            .filter(ecoles::uai.eq_any(ids))
            .select(ecoles::uai)
            .load(conn)?,
        Ressource::Eleve => eleves::table
            .filter(eleves::id.eq_any(ids))
            .select(eleves::id)
            .load(conn)?,
        Ressource::Inscription => inscriptions::table
            .filter(inscriptions::id.eq_any(ids))
            .select(inscriptions::id)
            .load(conn)?,
        Ressource::Responsable => responsables::table
            .filter(responsables::id.eq_any(ids))
            .select(responsables::id)
            .load(conn)?,
    };
    Ok(trouves.into_iter().collect())
}
