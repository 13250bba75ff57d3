//! The audit trail of personal-data access: append-only (a trigger refuses updates), written
//! in batches, queried by partner, pupil and period, purged past its retention.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::audit;
use crate::{DbConnection, StoreError};

/// One access to personal data.
#[derive(Debug, Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = audit, treat_none_as_default_value = false)]
pub struct NouvelleEntree {
    pub horodatage: NaiveDateTime,
    pub partenaire_id: String,
    pub client_id: String,
    pub pour_le_compte_de: Option<String>,
    pub operation: String,
    pub scope: String,
    /// Space-separated pupil ids.
    pub eleves: String,
    pub nombre: i32,
    pub id_requete: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = audit)]
pub struct Entree {
    pub id: i64,
    pub horodatage: NaiveDateTime,
    pub partenaire_id: String,
    pub client_id: String,
    pub pour_le_compte_de: Option<String>,
    pub operation: String,
    pub scope: String,
    pub eleves: String,
    pub nombre: i32,
    pub id_requete: String,
}

/// Records per INSERT (9 parameters each: within both backends' limits).
pub const PAR_INSTRUCTION: usize = 500;

/// Writes a batch in one statement per chunk of [`PAR_INSTRUCTION`]; the caller runs several
/// in one transaction when the batch must be atomic.
pub fn inserer_lot(conn: &mut DbConnection, lot: &[NouvelleEntree]) -> Result<usize, StoreError> {
    let mut n = 0;
    for morceau in lot.chunks(PAR_INSTRUCTION) {
        n += crate::par_backend!(conn, c => diesel::insert_into(audit::table).values(morceau).execute(c))?;
    }
    Ok(n)
}

#[derive(Debug, Clone, Default)]
pub struct FiltreAudit {
    pub partenaire_id: Option<String>,
    pub eleve_id: Option<String>,
    pub depuis: Option<NaiveDateTime>,
    pub jusqua: Option<NaiveDateTime>,
    /// Only entries with a smaller id (keyset pagination, newest first).
    pub avant_id: Option<i64>,
    pub limite: i64,
}

/// Entries matching the filter, newest first.
pub fn rechercher(conn: &mut DbConnection, f: &FiltreAudit) -> Result<Vec<Entree>, StoreError> {
    let mut q = audit::table
        .into_boxed()
        .select(Entree::as_select())
        .order(audit::id.desc())
        .limit(f.limite);
    if let Some(p) = &f.partenaire_id {
        q = q.filter(audit::partenaire_id.eq(p.clone()));
    }
    if let Some(e) = &f.eleve_id {
        // Pupil ids are fixed-length UUIDs separated by spaces: a substring match is exact.
        q = q.filter(audit::eleves.like(format!("%{e}%")));
    }
    if let Some(d) = f.depuis {
        q = q.filter(audit::horodatage.ge(d));
    }
    if let Some(j) = f.jusqua {
        q = q.filter(audit::horodatage.lt(j));
    }
    if let Some(a) = f.avant_id {
        q = q.filter(audit::id.lt(a));
    }
    Ok(q.load(conn)?)
}

/// Deletes entries older than `avant`; returns how many.
pub fn purger(conn: &mut DbConnection, avant: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(diesel::delete(audit::table.filter(audit::horodatage.lt(avant))).execute(conn)?)
}
