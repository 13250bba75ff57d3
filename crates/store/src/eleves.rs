//! Pupils and their guardians: read queries.

use diesel::prelude::*;
use onde_domain::{Adresse, CodeInsee, Eleve, Ine, Perimetre, Sexe};

use crate::lignes::{lire, lire_uuid, prenoms, responsable, LigneEleve, LigneLien, LigneResponsable};
use crate::schema::{eleves, eleves_responsables, responsables};
use crate::{perimetre, DbConnection, StoreError};

/// A pupil by INE with guardians, `None` when unknown or outside the perimeter.
pub fn trouver_par_ine(conn: &mut DbConnection, perimetre: &Perimetre, ine: &Ine) -> Result<Option<Eleve>, StoreError> {
    let ligne = eleves::table
        .into_boxed()
        .filter(perimetre::eleves(perimetre))
        .filter(eleves::ine.eq(ine.as_str().to_owned()))
        .select(LigneEleve::as_select())
        .first::<LigneEleve>(conn)
        .optional()?;
    let Some(ligne) = ligne else { return Ok(None) };
    let responsables = eleves_responsables::table
        .inner_join(responsables::table)
        .filter(eleves_responsables::eleve_id.eq(ligne.id.clone()))
        .order(eleves_responsables::rang.asc())
        .select((LigneResponsable::as_select(), LigneLien::as_select()))
        .load::<(LigneResponsable, LigneLien)>(conn)?
        .into_iter()
        .map(|(r, l)| responsable(r, l))
        .collect::<Result<Vec<_>, _>>()?;
    eleve(ligne, responsables).map(Some)
}

fn eleve(l: LigneEleve, responsables: Vec<onde_domain::Responsable>) -> Result<Eleve, StoreError> {
    let adresse = match (l.adresse_voie, l.adresse_code_postal, l.adresse_commune) {
        (Some(voie), Some(code_postal), Some(commune)) => Some(Adresse {
            voie,
            code_postal,
            commune: lire("eleves", "adresse_commune", CodeInsee::parse(&commune))?,
        }),
        _ => None,
    };
    Ok(Eleve {
        id: lire_uuid("eleves", "id", &l.id)?,
        ine: l
            .ine
            .as_deref()
            .map(|s| lire("eleves", "ine", Ine::parse(s)))
            .transpose()?,
        nom: l.nom,
        prenoms: prenoms(l.prenom1, l.prenom2, l.prenom3)?,
        sexe: lire("eleves", "sexe", Sexe::parse(&l.sexe))?,
        date_naissance: l.date_naissance,
        lieu_naissance: lire("eleves", "lieu_naissance", CodeInsee::parse(&l.lieu_naissance))?,
        adresse,
        responsables,
    })
}

/// Retention (DOMAIN.md): a pupil's data is kept at most until the end of the calendar year in
/// which the child leaves the first degree. Deletes, as of `aujourdhui`, every pupil none of
/// whose inscriptions is still running this calendar year — each one either belongs to a
/// school year that ended before this year, or was radiated before this year — with their
/// inscriptions, guardian links and guardians no other pupil shares. Returns the pupils deleted.
pub fn purger_retention(conn: &mut DbConnection, aujourdhui: chrono::NaiveDate) -> Result<usize, StoreError> {
    use chrono::Datelike;
    use diesel::dsl::{exists, not};

    use crate::schema::inscriptions;

    let annee = aujourdhui.year();
    // "AAAA-BBBB" ends in June of BBBB = AAAA + 1: it runs this calendar year when AAAA >= annee - 1,
    // which for these fixed-width strings is a plain comparison with "AAAA-".
    let premiere_annee_en_cours = format!("{:04}-", annee - 1);
    conn.transaction(|conn| {
        let encore_la = inscriptions::table
            .filter(inscriptions::eleve_id.eq(eleves::id))
            .filter(
                inscriptions::annee_scolaire.ge(premiere_annee_en_cours.clone()).and(
                    inscriptions::statut
                        .ne("radie")
                        .or(inscriptions::date_radiation.ge(chrono::NaiveDate::from_ymd_opt(annee, 1, 1))),
                ),
            );
        let partants: Vec<String> = eleves::table
            .filter(not(exists(encore_la)))
            .select(eleves::id)
            .load(conn)?;
        for lot in partants.chunks(500) {
            diesel::delete(inscriptions::table.filter(inscriptions::eleve_id.eq_any(lot))).execute(conn)?;
            diesel::delete(eleves_responsables::table.filter(eleves_responsables::eleve_id.eq_any(lot)))
                .execute(conn)?;
            diesel::delete(eleves::table.filter(eleves::id.eq_any(lot))).execute(conn)?;
        }
        diesel::delete(responsables::table.filter(not(exists(
            eleves_responsables::table.filter(eleves_responsables::responsable_id.eq(responsables::id)),
        ))))
        .execute(conn)?;
        Ok(partants.len())
    })
}
