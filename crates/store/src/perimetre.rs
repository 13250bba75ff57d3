//! The perimeter as SQL: one clause, AND-ed into every query that reads partner rows, so that
//! no combination of user filters can widen it.

use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use onde_domain::Perimetre;

use crate::schema::{ecoles, eleves, inscriptions};
use crate::Db;

fn listes(p: &Perimetre) -> Option<(Vec<String>, Vec<String>)> {
    match p {
        Perimetre::National => None,
        Perimetre::Restreint { communes, uais } => Some((
            communes.iter().map(|c| c.as_str().to_owned()).collect(),
            uais.iter().map(|u| u.as_str().to_owned()).collect(),
        )),
    }
}

/// Schools in the perimeter, for any query whose FROM clause includes `ecoles`.
pub(crate) fn ecoles<'a, QS: 'a>(p: &Perimetre) -> Box<dyn BoxableExpression<QS, Db, SqlType = Bool> + 'a>
where
    ecoles::code_commune: SelectableExpression<QS> + AppearsOnTable<QS>,
    ecoles::uai: SelectableExpression<QS> + AppearsOnTable<QS>,
{
    // An empty list is left out rather than OR-ed as `= ANY('{}')`: the planner then keeps
    // the ordered index scan of a commune's schools that list queries rely on.
    match listes(p) {
        None => Box::new(true.into_sql::<Bool>()),
        Some((communes, uais)) if uais.is_empty() => Box::new(ecoles::code_commune.eq_any(communes)),
        Some((communes, uais)) if communes.is_empty() => Box::new(ecoles::uai.eq_any(uais)),
        Some((communes, uais)) => Box::new(ecoles::code_commune.eq_any(communes).or(ecoles::uai.eq_any(uais))),
    }
}

/// Pupils in the perimeter: an active inscription in one of its schools, or residence in one
/// of its communes (DOMAIN.md: "pupils schooled in or living in their commune").
///
/// A correlated EXISTS, not `id IN (…)`: the check costs a few index lookups per candidate
/// pupil (by `inscriptions_par_eleve`) instead of materialising every pupil of a city of
/// 200,000 (seconds at national scale) for each query that names a handful of pupils.
pub(crate) fn eleves(p: &Perimetre) -> Box<dyn BoxableExpression<eleves::table, Db, SqlType = Bool>> {
    match listes(p) {
        None => Box::new(true.into_sql::<Bool>()),
        Some((communes, uais)) => {
            let scolarise = diesel::dsl::exists(
                inscriptions::table
                    .inner_join(ecoles::table)
                    .filter(inscriptions::eleve_id.eq(eleves::id))
                    .filter(inscriptions::statut.ne("radie"))
                    .filter(
                        ecoles::code_commune
                            .eq_any(communes.clone())
                            .or(ecoles::uai.eq_any(uais)),
                    )
                    .select(inscriptions::id),
            );
            // NULL IN (...) is NULL, which the WHERE clause treats as false: no address, no match.
            let reside = eleves::adresse_commune.assume_not_null().eq_any(communes);
            Box::new(scolarise.or(reside))
        }
    }
}
