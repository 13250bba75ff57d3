//! Inscriptions: read queries. Each item carries the pupil's identity summary, which is what
//! a mairie's canteen or after-school list needs.

use diesel::prelude::*;
use onde_domain::{AnneeScolaire, CodeInsee, Inscription, Niveau, Perimetre, ResumeEleve, StatutInscription, Uai};
use uuid::Uuid;

use crate::lignes::{LigneInscription, LigneResumeEleve};
use crate::schema::{ecoles, eleves, inscriptions};
use crate::{perimetre, DbConnection, DemandePage, Page, StoreError};

#[derive(Debug, Clone, Default)]
pub struct FiltreInscriptions {
    pub commune: Option<CodeInsee>,
    pub uai: Option<Uai>,
    pub annee_scolaire: Option<AnneeScolaire>,
    pub niveau: Option<Niveau>,
    pub statut: Option<StatutInscription>,
}

/// An inscription with the identity of its pupil.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InscriptionEleve {
    pub inscription: Inscription,
    pub eleve: ResumeEleve,
}

fn convertir((i, e): (LigneInscription, LigneResumeEleve)) -> Result<InscriptionEleve, StoreError> {
    Ok(InscriptionEleve {
        inscription: i.try_into()?,
        eleve: e.try_into()?,
    })
}

/// Inscriptions of schools in the perimeter matching the filter, in id order.
pub fn lister(
    conn: &mut DbConnection,
    perimetre: &Perimetre,
    filtre: &FiltreInscriptions,
    page: &DemandePage,
) -> Result<Page<InscriptionEleve>, StoreError> {
    let mut q = inscriptions::table
        .inner_join(ecoles::table)
        .inner_join(eleves::table)
        .into_boxed()
        .filter(perimetre::ecoles(perimetre))
        .select((LigneInscription::as_select(), LigneResumeEleve::as_select()))
        .order(inscriptions::id.asc())
        .limit(i64::from(page.limite) + 1);
    if let Some(c) = &filtre.commune {
        q = q.filter(ecoles::code_commune.eq(c.as_str().to_owned()));
    }
    if let Some(u) = &filtre.uai {
        q = q.filter(inscriptions::uai.eq(u.as_str().to_owned()));
    }
    if let Some(a) = &filtre.annee_scolaire {
        q = q.filter(inscriptions::annee_scolaire.eq(a.as_str().to_owned()));
    }
    if let Some(n) = filtre.niveau {
        q = q.filter(inscriptions::niveau.eq(n.as_str()));
    }
    if let Some(s) = filtre.statut {
        q = q.filter(inscriptions::statut.eq(s.as_str()));
    }
    if let Some(apres) = &page.apres {
        q = q.filter(inscriptions::id.gt(apres.cle().to_owned()));
    }
    let lignes = q.load::<(LigneInscription, LigneResumeEleve)>(conn)?;
    let elements = lignes.into_iter().map(convertir).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::depuis_lignes(elements, page.limite, |i| {
        i.inscription.id.to_string()
    }))
}

/// One inscription, `None` when unknown or outside the perimeter.
pub fn trouver(
    conn: &mut DbConnection,
    perimetre: &Perimetre,
    id: Uuid,
) -> Result<Option<InscriptionEleve>, StoreError> {
    inscriptions::table
        .inner_join(ecoles::table)
        .inner_join(eleves::table)
        .into_boxed()
        .filter(perimetre::ecoles(perimetre))
        .filter(inscriptions::id.eq(id.to_string()))
        .select((LigneInscription::as_select(), LigneResumeEleve::as_select()))
        .first::<(LigneInscription, LigneResumeEleve)>(conn)
        .optional()?
        .map(convertir)
        .transpose()
}
