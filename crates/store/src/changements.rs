//! The change feed: the events the triggers of migration `changements` write, read in commit
//! order from a cursor, restricted to the keys of the caller's perimeter, and the current
//! state of the resources they name (what the caller may see of them now).
//!
//! No skipped change: on PostgreSQL events sort by (writing transaction id, sequence) and a
//! reader stops below the oldest transaction still running, so a cursor never passes an event
//! that commits later; on SQLite the single writer makes the sequence follow commit order.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use onde_domain::{Ecole, Perimetre};
use uuid::Uuid;

use crate::lignes::{lire_uuid, LigneEcole, LigneResponsable};
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

/// Transactions with an id below this have all ended (PostgreSQL): their events are all
/// visible to any later snapshot. Taken before the read, so the read sees at least as much.
fn horizon(conn: &mut DbConnection) -> Result<Option<i64>, StoreError> {
    match conn {
        DbConnection::Pg(c) => {
            let l: LigneEntier =
                diesel::sql_query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS n").get_result(c)?;
            Ok(l.n)
        }
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

/// The perimeter's keys, as the triggers write them.
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

/// Up to `limite` events after `apres`, in feed order, that concern the perimeter and are of
/// one of `ressources`. Cost: `limite` rows per key of the perimeter, whatever the table size.
pub fn lire(
    conn: &mut DbConnection,
    perimetre: &Perimetre,
    ressources: &[Ressource],
    apres: Position,
    limite: u32,
) -> Result<Vec<Changement>, StoreError> {
    if ressources.is_empty() || perimetre.est_vide() {
        return Ok(Vec::new());
    }
    let horizon = horizon(conn)?;
    // Every value inlined below is an integer or a key built from parsed identifiers
    // (digits and capital letters): nothing a caller typed reaches the SQL text.
    let apres_sql = match horizon {
        Some(h) => format!(
            "(xid > {x} OR (xid = {x} AND seq > {s})) AND xid < {h}",
            x = apres.xid,
            s = apres.seq
        ),
        None => format!("seq > {}", apres.seq),
    };
    let ordre = if horizon.is_some() { "xid, seq" } else { "seq" };
    let types = ressources
        .iter()
        .map(|r| format!("'{}'", r.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = match cles(perimetre) {
        None => format!(
            "SELECT xid, seq, ressource, ressource_id, operation, ancienne_cle, horodatage FROM changements \
             WHERE {apres_sql} AND ressource IN ({types}) ORDER BY {ordre} LIMIT {limite}"
        ),
        Some(cles) => {
            // One bounded index range per key, merged: never more than `limite` rows a key.
            let parties = cles
                .iter()
                .filter(|c| c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b':'))
                .map(|c| {
                    format!(
                        "SELECT xid, seq FROM (SELECT p.xid, p.seq FROM changements_portee p \
                         WHERE p.cle = '{c}' AND {a} ORDER BY {o} LIMIT {limite}) AS k",
                        a = apres_sql.replace("xid", "p.xid").replace("seq", "p.seq"),
                        o = if horizon.is_some() { "p.xid, p.seq" } else { "p.seq" }
                    )
                })
                .collect::<Vec<_>>()
                .join(" UNION ");
            format!(
                "SELECT c.xid, c.seq, c.ressource, c.ressource_id, c.operation, c.ancienne_cle, c.horodatage \
                 FROM changements c JOIN ({parties}) AS t ON t.xid = c.xid AND t.seq = c.seq \
                 WHERE c.ressource IN ({types}) ORDER BY {} LIMIT {limite}",
                if horizon.is_some() { "c.xid, c.seq" } else { "c.seq" }
            )
        }
    };
    let lignes: Vec<LigneChangement> = diesel::sql_query(sql).load(conn)?;
    lignes
        .into_iter()
        .map(|l| {
            Ok(Changement {
                position: Position { xid: l.xid, seq: l.seq },
                ressource: Ressource::parse(&l.ressource).ok_or(StoreError::Corrompu {
                    table: "changements",
                    colonne: "ressource",
                    detail: l.ressource.clone(),
                })?,
                id: l.ressource_id,
                operation: l.operation,
                ancienne_cle: l.ancienne_cle,
                horodatage: l.horodatage,
            })
        })
        .collect()
}

/// The schools among `uais` the perimeter sees.
pub fn ecoles_visibles(conn: &mut DbConnection, p: &Perimetre, uais: &[String]) -> Result<Vec<Ecole>, StoreError> {
    if uais.is_empty() {
        return Ok(Vec::new());
    }
    ecoles::table
        .into_boxed()
        .filter(perimetre::ecoles(p))
        .filter(ecoles::uai.eq_any(uais.to_vec()))
        .select(LigneEcole::as_select())
        .load::<LigneEcole>(conn)?
        .into_iter()
        .map(Ecole::try_from)
        .collect()
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

/// Whether a resource exists at all (to tell a deletion from a move out of the perimeter).
pub fn existe(conn: &mut DbConnection, r: Ressource, id: &str) -> Result<bool, StoreError> {
    let n: i64 = match r {
        Ressource::Ecole => ecoles::table.filter(ecoles::uai.eq(id)).count().get_result(conn)?,
        Ressource::Eleve => eleves::table.filter(eleves::id.eq(id)).count().get_result(conn)?,
        Ressource::Inscription => inscriptions::table
            .filter(inscriptions::id.eq(id))
            .count()
            .get_result(conn)?,
        Ressource::Responsable => responsables::table
            .filter(responsables::id.eq(id))
            .count()
            .get_result(conn)?,
    };
    Ok(n > 0)
}
