//! The chunk's statements as named prepared statements, parsed and planned once per
//! connection. diesel's `sql_query` marks its statement unsafe to cache (its text could be
//! anything), so each call sent an unnamed statement that PostgreSQL parsed, analysed and
//! planned again, the feed's statement of a dozen CTEs included. These texts are fixed (files of
//! `crates/store/sql/postgres/tranche/`), so diesel's statement cache can keep them: keyed by
//! text, prepared on first use on a connection, then only bound and executed. With no parameter
//! PostgreSQL keeps one generic plan; with the instant `$1` it plans the first five executions
//! for their value, then keeps the generic plan when it is no dearer (the instant never changes
//! a plan). A plan is made again when a staging table is analysed (chunks of 5,000 lines and
//! more): their statistics change.
//!
//! Statements bound to the perimeter's arrays stay unnamed (`sql_query`): `= ANY($1)` is
//! hashed only for an array known at planning time, and a generic plan would compare every row
//! with every commune of a national editor's mandate.

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::QueryResult;
use diesel::sql_types::{Timestamp, Untyped};
use diesel::RunQueryDsl;

/// One statement of fixed text, with no parameter or with the chunk's instant as `$1`.
pub(super) struct Preparee<'a> {
    sql: &'static str,
    instant: Option<&'a NaiveDateTime>,
}

/// A statement with no parameter.
pub(super) fn preparee(sql: &'static str) -> Preparee<'static> {
    Preparee { sql, instant: None }
}

/// A statement whose `$1` (once or more) is `instant`.
pub(super) fn avec_instant<'a>(sql: &'static str, instant: &'a NaiveDateTime) -> Preparee<'a> {
    Preparee {
        sql,
        instant: Some(instant),
    }
}

/// The statements of a file holding several, each ending with `;` at the end of a line.
pub(super) fn instructions(texte: &'static str) -> impl Iterator<Item = &'static str> {
    texte.split(";\n").filter(|i| {
        i.lines()
            .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--"))
    })
}

/// Where the first `$1` outside a comment starts.
fn premier_parametre(sql: &str) -> Option<usize> {
    let mut debut = 0;
    for ligne in sql.split_inclusive('\n') {
        let code = ligne.split("--").next().unwrap_or_default();
        if let Some(i) = code.find("$1") {
            return Some(debut + i);
        }
        debut += ligne.len();
    }
    None
}

impl QueryFragment<Pg> for Preparee<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        match (self.instant, premier_parametre(self.sql).map(|i| self.sql.split_at(i))) {
            (Some(instant), Some((avant, apres))) => {
                // diesel writes the first placeholder, `$1`; a later `$1` of the text is the
                // same parameter.
                out.push_sql(avant);
                out.push_bind_param::<Timestamp, _>(instant)?;
                out.push_sql(apres.get(2..).unwrap_or_default());
            }
            _ => out.push_sql(self.sql),
        }
        Ok(())
    }
}

impl QueryId for Preparee<'_> {
    type QueryId = ();
    // Cached by its text and bind types, not by a type.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Preparee<'_> {
    type SqlType = Untyped;
}

impl<C> RunQueryDsl<C> for Preparee<'_> {}

#[cfg(test)]
mod tests {
    use super::{instructions, premier_parametre};

    #[test]
    fn instructions_d_un_fichier() {
        let texte = "-- a comment\nINSERT INTO t\nSELECT 1;\nDELETE FROM u\n WHERE x;\n";
        let t: Vec<&str> = instructions(texte).collect();
        assert_eq!(t, ["-- a comment\nINSERT INTO t\nSELECT 1", "DELETE FROM u\n WHERE x"]);
    }

    #[test]
    fn parametre_hors_commentaire() {
        let texte = "-- at $1 the instant\nUPDATE t SET a = $1, b = $1 -- $1\n";
        let i = premier_parametre(texte).unwrap();
        assert_eq!(&texte[i..i + 12], "$1, b = $1 -");
        assert_eq!(premier_parametre("-- $1 only\nSELECT 1"), None);
    }
}
