//! What became of each line: applied (created, modified, unchanged) or rejected with the rules
//! it breaks; the rejections stored with the job, read back and purged.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::schema::{imports, imports_rejets};
use crate::{DbConnection, StoreError};

/// One rule a line breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejet {
    pub ligne: u64,
    pub pointeur: String,
    pub code: String,
    pub message: String,
    /// What the base found, for callers that answer with more than the message (the batch
    /// endpoint's problem documents); `None` for rules checked without the base.
    pub cause: Option<Cause>,
}

/// The facts behind a rejection decided by the base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// Another pupil holds the duplicate-detection key: what the caller may learn of it.
    Doublon(crate::eleves::Correspondance),
    /// The inscription state machine forbids the status change.
    Transition(onde_domain::DomainError),
}

/// What became of a line that was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Etat {
    Cree,
    Modifie,
    Inchange,
}

/// An applied line: its pupil and what became of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssueLigne {
    pub ligne: u64,
    pub eleve_id: Uuid,
    pub etat: Etat,
}

/// A stored rejection, with its rank among the violations of its line.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = imports_rejets)]
pub struct RejetStocke {
    pub import_id: String,
    pub ligne: i64,
    pub rang: i32,
    pub pointeur: String,
    pub code: String,
    pub message: String,
}

/// What the backend decided for a chunk.
#[derive(Debug, Default)]
pub(crate) struct IssueTranche {
    pub crees: u64,
    pub modifies: u64,
    pub inchanges: u64,
    pub rejets: Vec<Rejet>,
    /// Pupils created or modified, for the audit trail.
    pub ecrits: Vec<Uuid>,
    /// Every applied line with its pupil and outcome.
    pub lignes: Vec<IssueLigne>,
}

impl IssueTranche {
    /// Counts an applied line (both backends).
    pub(crate) fn appliquee(&mut self, ligne: IssueLigne) {
        match ligne.etat {
            Etat::Cree => self.crees += 1,
            Etat::Modifie => self.modifies += 1,
            Etat::Inchange => self.inchanges += 1,
        }
        if ligne.etat != Etat::Inchange {
            self.ecrits.push(ligne.eleve_id);
        }
        self.lignes.push(ligne);
    }
}

/// Rejections of a job in (line, rank) order, after `apres` when given.
pub fn rejets(
    conn: &mut DbConnection,
    id: Uuid,
    apres: Option<(i64, i32)>,
    limite: i64,
) -> Result<Vec<RejetStocke>, StoreError> {
    let mut q = imports_rejets::table
        .filter(imports_rejets::import_id.eq(id.to_string()))
        .select(RejetStocke::as_select())
        .order((imports_rejets::ligne.asc(), imports_rejets::rang.asc()))
        .limit(limite)
        .into_boxed();
    if let Some((ligne, rang)) = apres {
        q = q.filter(
            imports_rejets::ligne
                .gt(ligne)
                .or(imports_rejets::ligne.eq(ligne).and(imports_rejets::rang.gt(rang))),
        );
    }
    Ok(q.load(conn)?)
}

/// Retention of rejection reports (they quote the rejected lines' values): the reports of
/// finished imports created before `avant`. Returns (rejection rows, imports concerned); the
/// imports themselves (counts, state) are kept. With `simulation`, nothing is deleted.
pub fn purger_rejets(
    conn: &mut DbConnection,
    avant: NaiveDateTime,
    simulation: bool,
) -> Result<(usize, usize), StoreError> {
    conn.transaction(|conn| {
        let anciens: Vec<String> = imports::table
            .filter(imports::cree_le.lt(avant))
            .filter(imports::statut.eq_any(["termine", "echoue"]))
            .select(imports::id)
            .load(conn)?;
        let (mut lignes, mut concernes) = (0, 0);
        for lot in anciens.chunks(500) {
            let rejets = || imports_rejets::table.filter(imports_rejets::import_id.eq_any(lot));
            let avec: Vec<String> = rejets().select(imports_rejets::import_id).distinct().load(conn)?;
            concernes += avec.len();
            lignes += if simulation {
                let n: i64 = rejets().count().get_result(conn)?;
                usize::try_from(n).unwrap_or(0)
            } else {
                diesel::delete(rejets()).execute(conn)?
            };
        }
        Ok((lignes, concernes))
    })
}
