//! The one clock of the services.

use chrono::{NaiveDateTime, SubsecRound, Utc};

/// Now, to the microsecond: what PostgreSQL keeps, so both backends answer the same instants.
pub fn maintenant() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}
