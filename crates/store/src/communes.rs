//! Communes (reference data).

use diesel::prelude::*;
use onde_domain::CodeInsee;

use crate::lignes::LigneCommune;
use crate::schema::communes;
use crate::{DbConnection, StoreError};

/// Name of a commune, if known.
pub fn nom(conn: &mut DbConnection, code: &CodeInsee) -> Result<Option<String>, StoreError> {
    Ok(communes::table
        .find(code.as_str())
        .select(LigneCommune::as_select())
        .first(conn)
        .optional()?
        .map(|l| l.nom))
}

/// Every commune code, in order (demo and tests).
pub fn codes(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    Ok(communes::table
        .select(communes::code_insee)
        .order(communes::code_insee)
        .load(conn)?)
}

/// Commune codes with the number of inscriptions in their schools, most first (ties by code).
/// Picks the demo partners' communes: the busiest ones make the richest demo.
pub fn par_inscriptions(conn: &mut DbConnection) -> Result<Vec<(String, i64)>, StoreError> {
    use crate::schema::{ecoles, inscriptions};
    use diesel::dsl::count_star;
    let mut lignes = inscriptions::table
        .inner_join(ecoles::table)
        .group_by(ecoles::code_commune)
        .select((ecoles::code_commune, count_star()))
        .load::<(String, i64)>(conn)?;
    lignes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(lignes)
}
