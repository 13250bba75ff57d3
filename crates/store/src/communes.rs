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
