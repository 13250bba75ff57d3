//! Schools: read queries.

use diesel::prelude::*;
use onde_domain::{CodeInsee, Ecole, Perimetre, Secteur, TypeEcole, Uai};

use crate::lignes::LigneEcole;
use crate::schema::ecoles;
use crate::{perimetre, DbConnection, DemandePage, Page, StoreError};

#[derive(Debug, Clone, Default)]
pub struct FiltreEcoles {
    pub commune: Option<CodeInsee>,
    pub type_ecole: Option<TypeEcole>,
    pub secteur: Option<Secteur>,
}

/// Schools in the perimeter matching the filter, in UAI order.
pub fn lister(
    conn: &mut DbConnection,
    perimetre: &Perimetre,
    filtre: &FiltreEcoles,
    page: &DemandePage,
) -> Result<Page<Ecole>, StoreError> {
    let mut q = ecoles::table
        .into_boxed()
        .filter(perimetre::ecoles(perimetre))
        .select(LigneEcole::as_select())
        .order(ecoles::uai.asc())
        .limit(i64::from(page.limite) + 1);
    if let Some(c) = &filtre.commune {
        q = q.filter(ecoles::code_commune.eq(c.as_str().to_owned()));
    }
    if let Some(t) = filtre.type_ecole {
        q = q.filter(ecoles::type_ecole.eq(t.as_str()));
    }
    if let Some(s) = filtre.secteur {
        q = q.filter(ecoles::secteur.eq(s.as_str()));
    }
    if let Some(apres) = &page.apres {
        q = q.filter(ecoles::uai.gt(apres.cle().to_owned()));
    }
    let lignes = q.load::<LigneEcole>(conn)?;
    let ecoles = lignes.into_iter().map(Ecole::try_from).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::depuis_lignes(ecoles, page.limite, |e| e.uai.as_str().to_owned()))
}

/// One school, `None` when it does not exist or lies outside the perimeter.
pub fn trouver(conn: &mut DbConnection, perimetre: &Perimetre, uai: &Uai) -> Result<Option<Ecole>, StoreError> {
    ecoles::table
        .into_boxed()
        .filter(perimetre::ecoles(perimetre))
        .filter(ecoles::uai.eq(uai.as_str().to_owned()))
        .select(LigneEcole::as_select())
        .first::<LigneEcole>(conn)
        .optional()?
        .map(Ecole::try_from)
        .transpose()
}

/// The schools among `uais` the perimeter sees, in one query.
pub fn par_uais(conn: &mut DbConnection, perimetre: &Perimetre, uais: &[String]) -> Result<Vec<Ecole>, StoreError> {
    if uais.is_empty() {
        return Ok(Vec::new());
    }
    ecoles::table
        .into_boxed()
        .filter(perimetre::ecoles(perimetre))
        .filter(ecoles::uai.eq_any(uais.to_vec()))
        .select(LigneEcole::as_select())
        .load::<LigneEcole>(conn)?
        .into_iter()
        .map(Ecole::try_from)
        .collect()
}
