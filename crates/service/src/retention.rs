//! Retention over what holds or echoes pupil data: the pupils who left the first degree
//! (DOMAIN.md), the stored idempotent answers (they replay pupil records) and the import
//! rejection reports (they quote the rejected values). A simulation counts what would go.

use chrono::{NaiveDate, NaiveTime};
use onde_store::StoreError;

/// What retention removes (or, simulated, would remove), per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bilan {
    pub eleves: onde_store::eleves::BilanRetention,
    pub idempotence: usize,
    pub rejets: usize,
    pub imports: usize,
}

/// Runs (or simulates) the purges as of `jour`, in this order: pupils, idempotent answers
/// older than `idempotence_jours`, rejection reports of imports older than `rejets_jours`.
pub fn appliquer(
    conn: &mut onde_store::DbConnection,
    jour: NaiveDate,
    idempotence_jours: u32,
    rejets_jours: u32,
    simulation: bool,
) -> Result<Bilan, StoreError> {
    let maintenant = jour.and_time(NaiveTime::MIN);
    let avant = |jours: u32| maintenant - chrono::Duration::days(i64::from(jours));
    let eleves = if simulation {
        onde_store::eleves::simuler_retention(conn, jour)?
    } else {
        onde_store::eleves::purger_retention(conn, jour)?
    };
    let idempotence = if simulation {
        onde_store::idempotence::compter_anciennes(conn, avant(idempotence_jours))?
    } else {
        onde_store::idempotence::purger(conn, avant(idempotence_jours))?
    };
    let (rejets, imports) = onde_store::imports::purger_rejets(conn, avant(rejets_jours), simulation)?;
    Ok(Bilan {
        eleves,
        idempotence,
        rejets,
        imports,
    })
}
