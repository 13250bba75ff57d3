//! Inscriptions: read queries. Each item carries the pupil's identity summary, which is what
//! a mairie's canteen or after-school list needs.

use diesel::prelude::*;
use onde_domain::{AnneeScolaire, CodeInsee, Inscription, Niveau, Perimetre, ResumeEleve, StatutInscription, Uai};
use uuid::Uuid;

use crate::lignes::{LigneInscription, LigneResumeEleve};
use crate::schema::{ecoles, eleves, inscriptions};
use crate::{perimetre, Curseur, DbConnection, DemandePage, Page, StoreError};

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

/// The sort key of a list: school, school year, id. A commune's or a school's page is then
/// read school by school along the index `inscriptions_par_ecole (uai, annee_scolaire, id)`
/// and stops at the page's end, whatever the size of the town: in id order, every page of a
/// city of 100,000 pupils sorted all of them.
fn cle_liste(i: &Inscription) -> String {
    format!("i{}|{}|{}", i.uai.as_str(), i.annee_scolaire.as_str(), i.id)
}

/// `(uai, annee_scolaire, id)` from a list cursor; `None` for a cursor of another kind.
fn lire_cle_liste(cle: &str) -> Option<(String, String, String)> {
    let mut parties = cle.strip_prefix('i')?.splitn(3, '|');
    Some((
        parties.next()?.to_owned(),
        parties.next()?.to_owned(),
        parties.next()?.to_owned(),
    ))
}

/// Whether a cursor is one of this list's: the API refuses any other with a 400 rather than
/// answering an empty page.
pub fn curseur_de_liste(curseur: &Curseur) -> bool {
    lire_cle_liste(curseur.cle()).is_some()
}

/// Inscriptions of schools in the perimeter matching the filter, by school, year and id.
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
        // By the school's own column: the ordered scan of the commune's schools is then the
        // sort's presorted prefix.
        .order((
            ecoles::uai.asc(),
            inscriptions::annee_scolaire.asc(),
            inscriptions::id.asc(),
        ))
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
        let Some((uai, annee, id)) = lire_cle_liste(apres.cle()) else {
            // Not a list cursor (the API refuses them before): nothing after it.
            return Ok(Page {
                elements: Vec::new(),
                suivant: None,
            });
        };
        // The redundant bound on the school lets the planner skip the schools already read.
        q = q.filter(ecoles::uai.ge(uai.clone())).filter(
            ecoles::uai.gt(uai.clone()).or(ecoles::uai.eq(uai).and(
                inscriptions::annee_scolaire
                    .gt(annee.clone())
                    .or(inscriptions::annee_scolaire.eq(annee).and(inscriptions::id.gt(id))),
            )),
        );
    }
    let lignes = q.load::<(LigneInscription, LigneResumeEleve)>(conn)?;
    let elements = lignes.into_iter().map(convertir).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::depuis_lignes(elements, page.limite, |i| {
        cle_liste(&i.inscription)
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

/// The inscriptions among `ids` in the perimeter, in one query.
pub fn par_ids(
    conn: &mut DbConnection,
    perimetre: &Perimetre,
    ids: &[String],
) -> Result<Vec<InscriptionEleve>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    inscriptions::table
        .inner_join(ecoles::table)
        .inner_join(eleves::table)
        .into_boxed()
        .filter(perimetre::ecoles(perimetre))
        .filter(inscriptions::id.eq_any(ids.to_vec()))
        .select((LigneInscription::as_select(), LigneResumeEleve::as_select()))
        .load::<(LigneInscription, LigneResumeEleve)>(conn)?
        .into_iter()
        .map(convertir)
        .collect()
}

/// Writes an inscription row (creation). Call inside a transaction; a second active
/// inscription of the pupil for the year is refused by the database's unique index.
pub fn inserer(conn: &mut DbConnection, i: &Inscription, maintenant: chrono::NaiveDateTime) -> Result<(), StoreError> {
    diesel::insert_into(inscriptions::table)
        .values(ligne(i, 1, maintenant, maintenant))
        .execute(conn)?;
    Ok(())
}

fn ligne(
    i: &Inscription,
    version: i64,
    cree_le: chrono::NaiveDateTime,
    maintenant: chrono::NaiveDateTime,
) -> LigneInscription {
    LigneInscription {
        id: i.id.to_string(),
        eleve_id: i.eleve_id.to_string(),
        uai: i.uai.as_str().to_owned(),
        annee_scolaire: i.annee_scolaire.as_str().to_owned(),
        niveau: i.niveau.as_str().to_owned(),
        classe: i.classe.clone(),
        dispositif: i.dispositif.clone(),
        statut: i.statut.as_str().to_owned(),
        admission_provisoire: i.admission_provisoire,
        date_inscription: i.date_inscription,
        date_admission: i.date_admission,
        date_radiation: i.date_radiation,
        motif_radiation: i.motif_radiation.clone(),
        cree_le,
        modifie_le: maintenant,
        version,
    }
}

/// An inscription of the perimeter with its version, for a write.
pub fn pour_ecriture(
    conn: &mut DbConnection,
    perimetre: &Perimetre,
    id: Uuid,
) -> Result<Option<(Inscription, i64)>, StoreError> {
    let ligne = inscriptions::table
        .inner_join(ecoles::table)
        .into_boxed()
        .filter(perimetre::ecoles(perimetre))
        .filter(inscriptions::id.eq(id.to_string()))
        .select(LigneInscription::as_select())
        .first::<LigneInscription>(conn)
        .optional()?;
    ligne
        .map(|l| Ok((l.version, Inscription::try_from(l)?)))
        .transpose()
        .map(|o| o.map(|(v, i)| (i, v)))
}

/// The version of an inscription (for ETags), whatever the perimeter.
pub fn version(conn: &mut DbConnection, id: Uuid) -> Result<Option<i64>, StoreError> {
    Ok(inscriptions::table
        .find(id.to_string())
        .select(inscriptions::version)
        .first::<i64>(conn)
        .optional()?)
}

/// Writes the new state of an inscription if its version is still `version_attendue`;
/// returns the new version, or `None` when another writer got there first.
pub fn mettre_a_jour(
    conn: &mut DbConnection,
    i: &Inscription,
    version_attendue: i64,
    maintenant: chrono::NaiveDateTime,
) -> Result<Option<i64>, StoreError> {
    let nouvelle = version_attendue + 1;
    let n = diesel::update(
        inscriptions::table
            .filter(inscriptions::id.eq(i.id.to_string()))
            .filter(inscriptions::version.eq(version_attendue)),
    )
    .set((
        inscriptions::uai.eq(i.uai.as_str().to_owned()),
        inscriptions::niveau.eq(i.niveau.as_str()),
        inscriptions::classe.eq(i.classe.clone()),
        inscriptions::dispositif.eq(i.dispositif.clone()),
        inscriptions::statut.eq(i.statut.as_str()),
        inscriptions::admission_provisoire.eq(i.admission_provisoire),
        inscriptions::date_admission.eq(i.date_admission),
        inscriptions::date_radiation.eq(i.date_radiation),
        inscriptions::motif_radiation.eq(i.motif_radiation.clone()),
        inscriptions::modifie_le.eq(maintenant),
        inscriptions::version.eq(nouvelle),
    ))
    .execute(conn)?;
    Ok((n == 1).then_some(nouvelle))
}

/// The pupil's active inscription for the year, with its version.
pub fn active(
    conn: &mut DbConnection,
    eleve_id: Uuid,
    annee: &AnneeScolaire,
) -> Result<Option<(Inscription, i64)>, StoreError> {
    let ligne = inscriptions::table
        .filter(inscriptions::eleve_id.eq(eleve_id.to_string()))
        .filter(inscriptions::annee_scolaire.eq(annee.as_str().to_owned()))
        .filter(inscriptions::statut.ne("radie"))
        .select(LigneInscription::as_select())
        .first::<LigneInscription>(conn)
        .optional()?;
    ligne
        .map(|l| Ok((l.version, Inscription::try_from(l)?)))
        .transpose()
        .map(|o| o.map(|(v, i)| (i, v)))
}
