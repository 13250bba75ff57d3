//! The synchronous batch (`POST /v1/lots/eleves`) applied set-based on PostgreSQL, with the
//! large import's machinery ([`crate::imports`]): the school checks made in Rust on the
//! batch's schools, then the COPY-loaded staging tables and a fixed number of statements.
//!
//! The outcome of every item is the one the item-by-item path gives (items applied in their
//! order, each in its own savepoint), the batch's order of checks included: an INE outside the
//! perimeter, then a duplicate key, then the inscriptions in their order (school, then active
//! inscription and status change). Items that depend on an earlier item of the batch (the same
//! INE, the same duplicate key, or a key the earlier item's pupil holds or held) are applied in
//! a later round, after it, inside the same transaction; the others do not see each other.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, Text};
use onde_domain::poussee::ElementPousse;
use onde_domain::Perimetre;

use crate::imports::{self, IssueLigne, LigneValide, Rejet};
use crate::{DbConnection, StoreError};

/// What became of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueElement {
    Applique(IssueLigne),
    Rejete(Rejet),
}

#[derive(QueryableByName)]
struct CleStockee {
    #[diesel(sql_type = Text)]
    ine: String,
    #[diesel(sql_type = Text)]
    cle_doublon: String,
}

/// Applies the items (index in the batch, item read) in one go; call inside the batch's
/// transaction. `None` on a backend without the set-based path (SQLite): apply item by item.
/// The outcomes come back in the items' order; a rejected item leaves nothing behind.
pub fn appliquer(
    conn: &mut DbConnection,
    perimetre: &Perimetre,
    elements: Vec<(usize, ElementPousse)>,
    maintenant: NaiveDateTime,
) -> Result<Option<Vec<(usize, IssueElement)>>, StoreError> {
    if !matches!(conn, DbConnection::Pg(_)) {
        return Ok(None);
    }
    if elements.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let cles: Vec<String> = elements.iter().map(|(_, e)| e.dossier.cle_doublon()).collect();
    // The same identity locks as one pupil's write, all taken in one fixed order.
    let verrous: Vec<String> = elements
        .iter()
        .zip(&cles)
        .flat_map(|((_, e), cle)| [format!("doublon:{cle}"), format!("ine:{}", e.ine.as_str())])
        .collect();
    crate::eleves::verrouiller_cles(conn, verrous)?;

    let mut uais: Vec<String> = elements
        .iter()
        .flat_map(|(_, e)| e.inscriptions.iter().map(|p| p.uai.as_str().to_owned()))
        .collect();
    uais.sort_unstable();
    uais.dedup();
    let ecoles = imports::charger_ecoles_parmi(conn, &uais)?;
    let DbConnection::Pg(pg) = conn else {
        return Ok(None);
    };
    // The keys the batch's known pupils hold now: an item changing one frees it.
    let ines: Vec<String> = elements.iter().map(|(_, e)| e.ine.as_str().to_owned()).collect();
    let stockees: Vec<CleStockee> = diesel::sql_query("SELECT ine, cle_doublon FROM eleves WHERE ine = ANY($1)")
        .bind::<Array<Text>, _>(&ines)
        .load(pg)?;
    let mut cles_de: HashMap<String, Vec<String>> = HashMap::new();
    for s in stockees {
        cles_de.entry(s.ine).or_default().push(s.cle_doublon);
    }

    // Rounds: an item goes one round after the last earlier item it shares a token with.
    let mut tour_du_jeton: HashMap<String, usize> = HashMap::new();
    let mut tours: Vec<Vec<LigneValide>> = Vec::new();
    for ((index, element), cle) in elements.into_iter().zip(cles) {
        let ine = element.ine.as_str().to_owned();
        let detenues = cles_de.entry(ine.clone()).or_default();
        let mut jetons = vec![format!("i:{ine}"), format!("k:{cle}")];
        jetons.extend(detenues.iter().map(|k| format!("k:{k}")));
        detenues.push(cle.clone());
        let tour = jetons
            .iter()
            .filter_map(|j| tour_du_jeton.get(j))
            .max()
            .map_or(0, |t| t + 1);
        for j in jetons {
            tour_du_jeton.insert(j, tour);
        }
        let ligne = u64::try_from(index).unwrap_or(u64::MAX);
        let faute_ecole = element.inscriptions.iter().enumerate().find_map(|(rang, p)| {
            imports::verifier_ecole(&ecoles, perimetre, p).map(|(pointeur, code, message)| {
                (
                    i32::try_from(rang + 1).unwrap_or(i32::MAX),
                    Rejet {
                        ligne,
                        pointeur,
                        code: code.into(),
                        message,
                        cause: None,
                    },
                )
            })
        });
        if tours.len() <= tour {
            tours.resize_with(tour + 1, Vec::new);
        }
        tours[tour].push(LigneValide {
            ligne,
            element,
            cle_doublon: cle,
            faute_ecole,
        });
    }

    let mut issues: Vec<(usize, IssueElement)> = Vec::new();
    for tour in &tours {
        let issue = imports::postgres::appliquer(pg, perimetre, tour, maintenant)?;
        let index = |ligne: u64| usize::try_from(ligne).unwrap_or(usize::MAX);
        issues.extend(
            issue
                .lignes
                .into_iter()
                .map(|l| (index(l.ligne), IssueElement::Applique(l))),
        );
        issues.extend(
            issue
                .rejets
                .into_iter()
                .map(|r| (index(r.ligne), IssueElement::Rejete(r))),
        );
    }
    issues.sort_by_key(|(i, _)| *i);
    Ok(Some(issues))
}
