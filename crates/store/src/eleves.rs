//! Pupils and their guardians: read queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use onde_domain::dossier::DossierEleve;
use onde_domain::{Adresse, CodeInsee, Eleve, Ine, Perimetre, Sexe};
use uuid::Uuid;

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

/// What the retention purge of pupils removes (or, simulated, would remove).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BilanRetention {
    pub eleves: usize,
    pub inscriptions: usize,
    /// Guardians left without any pupil.
    pub responsables: usize,
}

/// First day of the school year `jour` falls in (the year turns on 1 September).
pub fn debut_annee_scolaire(jour: chrono::NaiveDate) -> chrono::NaiveDate {
    use chrono::Datelike;
    let annee = if jour.month() >= 9 {
        jour.year()
    } else {
        jour.year() - 1
    };
    chrono::NaiveDate::from_ymd_opt(annee, 9, 1).unwrap_or(jour)
}

/// Retention (DOMAIN.md): a pupil's data is kept at most until the end of the calendar year in
/// which the child leaves the first degree. The pupils that go, as of `aujourdhui`: none of
/// their inscriptions is still running this calendar year — each one either belongs to a
/// school year that ended before this year, or was radiated before this year — and their
/// record was neither created nor changed during the current school year (a pupil a mairie
/// recorded last week, with no inscription yet, stays).
fn partants(conn: &mut DbConnection, aujourdhui: chrono::NaiveDate) -> Result<Vec<String>, StoreError> {
    use chrono::Datelike;
    use diesel::dsl::{exists, not};

    use crate::schema::inscriptions;

    let annee = aujourdhui.year();
    // "AAAA-BBBB" ends in June of BBBB = AAAA + 1: it runs this calendar year when AAAA >= annee - 1,
    // which for these fixed-width strings is a plain comparison with "AAAA-".
    let premiere_annee_en_cours = format!("{:04}-", annee - 1);
    let rentree = debut_annee_scolaire(aujourdhui).and_time(chrono::NaiveTime::MIN);
    let encore_la = inscriptions::table
        .filter(inscriptions::eleve_id.eq(eleves::id))
        .filter(
            inscriptions::annee_scolaire.ge(premiere_annee_en_cours).and(
                inscriptions::statut
                    .ne("radie")
                    .or(inscriptions::date_radiation.ge(chrono::NaiveDate::from_ymd_opt(annee, 1, 1))),
            ),
        );
    Ok(eleves::table
        .filter(not(exists(encore_la)))
        .filter(eleves::cree_le.lt(rentree))
        .filter(eleves::modifie_le.lt(rentree))
        .select(eleves::id)
        .load(conn)?)
}

/// Deletes, as of `aujourdhui`, every pupil that retention lets go (see [`partants`]), with
/// their inscriptions, guardian links and guardians no other pupil shares.
pub fn purger_retention(conn: &mut DbConnection, aujourdhui: chrono::NaiveDate) -> Result<BilanRetention, StoreError> {
    use diesel::dsl::{exists, not};

    use crate::schema::inscriptions;

    conn.transaction(|conn| {
        let partants = partants(conn, aujourdhui)?;
        let mut bilan = BilanRetention {
            eleves: partants.len(),
            ..BilanRetention::default()
        };
        for lot in partants.chunks(500) {
            // Links first, while the pupils' inscriptions still say which partners saw their
            // guardians: the change feed keys the guardians' departure under them.
            diesel::delete(eleves_responsables::table.filter(eleves_responsables::eleve_id.eq_any(lot)))
                .execute(conn)?;
            bilan.inscriptions +=
                diesel::delete(inscriptions::table.filter(inscriptions::eleve_id.eq_any(lot))).execute(conn)?;
            diesel::delete(eleves::table.filter(eleves::id.eq_any(lot))).execute(conn)?;
        }
        bilan.responsables = diesel::delete(responsables::table.filter(not(exists(
            eleves_responsables::table.filter(eleves_responsables::responsable_id.eq(responsables::id)),
        ))))
        .execute(conn)?;
        Ok(bilan)
    })
}

/// What [`purger_retention`] would delete as of `aujourdhui`, deleting nothing.
pub fn simuler_retention(conn: &mut DbConnection, aujourdhui: chrono::NaiveDate) -> Result<BilanRetention, StoreError> {
    use diesel::dsl::{exists, not};
    use std::collections::{HashMap, HashSet};

    use crate::schema::inscriptions;

    conn.transaction(|conn| {
        let partants = partants(conn, aujourdhui)?;
        let mut bilan = BilanRetention {
            eleves: partants.len(),
            ..BilanRetention::default()
        };
        let partants_set: HashSet<&str> = partants.iter().map(String::as_str).collect();
        // Guardians of leaving pupils, then whether any of them keeps a pupil who stays.
        let mut candidats: HashSet<String> = HashSet::new();
        for lot in partants.chunks(500) {
            let n: i64 = inscriptions::table
                .filter(inscriptions::eleve_id.eq_any(lot))
                .count()
                .get_result(conn)?;
            bilan.inscriptions += usize::try_from(n).unwrap_or(0);
            candidats.extend(
                eleves_responsables::table
                    .filter(eleves_responsables::eleve_id.eq_any(lot))
                    .select(eleves_responsables::responsable_id)
                    .load::<String>(conn)?,
            );
        }
        let candidats: Vec<String> = candidats.into_iter().collect();
        let mut garde: HashMap<String, bool> = HashMap::new();
        for lot in candidats.chunks(500) {
            let liens: Vec<(String, String)> = eleves_responsables::table
                .filter(eleves_responsables::responsable_id.eq_any(lot))
                .select((eleves_responsables::responsable_id, eleves_responsables::eleve_id))
                .load(conn)?;
            for (r, e) in liens {
                *garde.entry(r).or_default() |= !partants_set.contains(e.as_str());
            }
        }
        let deja_seuls: i64 = responsables::table
            .filter(not(exists(
                eleves_responsables::table.filter(eleves_responsables::responsable_id.eq(responsables::id)),
            )))
            .count()
            .get_result(conn)?;
        bilan.responsables = garde.values().filter(|g| !**g).count() + usize::try_from(deja_seuls).unwrap_or(0);
        Ok(bilan)
    })
}

/// A pupil's id and version by INE, whatever the perimeter (to choose between creation and
/// replacement, and to refuse an INE already held by another pupil).
pub fn id_par_ine(conn: &mut DbConnection, ine: &Ine) -> Result<Option<(Uuid, i64)>, StoreError> {
    let ligne = eleves::table
        .filter(eleves::ine.eq(ine.as_str().to_owned()))
        .select((eleves::id, eleves::version))
        .first::<(String, i64)>(conn)
        .optional()?;
    ligne
        .map(|(id, v)| Ok((lire_uuid("eleves", "id", &id)?, v)))
        .transpose()
}

/// The pupil with this duplicate-detection key, if any (DOMAIN.md's five normalised fields).
pub fn par_cle_doublon(conn: &mut DbConnection, cle: &str) -> Result<Option<(Uuid, Option<String>)>, StoreError> {
    let ligne = eleves::table
        .filter(eleves::cle_doublon.eq(cle))
        .select((eleves::id, eleves::ine))
        .first::<(String, Option<String>)>(conn)
        .optional()?;
    ligne
        .map(|(id, ine)| Ok((lire_uuid("eleves", "id", &id)?, ine)))
        .transpose()
}

/// What a caller may learn of a known pupil that a record it sent matches (the same INE, or
/// the same duplicate key): decided here, from the caller's perimeter, for every write path
/// (inscriptions, pupil writes, batches, imports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Correspondance {
    /// In the caller's perimeter: its id and INE may be told (the caller can read them anyway).
    Visible { id: Uuid, ine: Option<String> },
    /// Outside it: only that a match exists, and how to link the pupil (its rattachement, with
    /// the identity the family gave); never its id, INE, names or birth date.
    HorsPerimetre,
}

/// The [`Correspondance`] of the known pupil `id` (INE `ine`) for a caller of `perimetre`.
pub fn correspondance(
    conn: &mut DbConnection,
    perimetre: &Perimetre,
    id: Uuid,
    ine: Option<String>,
) -> Result<Correspondance, StoreError> {
    Ok(if visible(conn, perimetre, id)? {
        Correspondance::Visible { id, ine }
    } else {
        Correspondance::HorsPerimetre
    })
}

/// Whether the pupil has an active inscription in a school of the perimeter (a lookup by pupil).
pub fn scolarise_dans(conn: &mut DbConnection, perimetre: &Perimetre, id: Uuid) -> Result<bool, StoreError> {
    use crate::schema::{ecoles, inscriptions};
    let Perimetre::Restreint { communes, uais } = perimetre else {
        return Ok(true);
    };
    let communes: Vec<String> = communes.iter().map(|c| c.as_str().to_owned()).collect();
    let uais: Vec<String> = uais.iter().map(|u| u.as_str().to_owned()).collect();
    Ok(inscriptions::table
        .inner_join(ecoles::table)
        .filter(inscriptions::eleve_id.eq(id.to_string()))
        .filter(inscriptions::statut.ne("radie"))
        .filter(ecoles::code_commune.eq_any(&communes).or(ecoles::uai.eq_any(&uais)))
        .select(inscriptions::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// Whether a write keeps the pupil in the caller's perimeter (DOMAIN.md: pupils schooled in or
/// living in the caller's communes): the pupil `id` (`None`: a new one) with the residence
/// `adresse` once written, and `inscrit` when the write also enrols it in a school of the
/// perimeter. A write must never put a pupil where its writer cannot see it.
pub fn resterait_visible(
    conn: &mut DbConnection,
    perimetre: &Perimetre,
    id: Option<Uuid>,
    adresse: Option<&Adresse>,
    inscrit: bool,
) -> Result<bool, StoreError> {
    let Perimetre::Restreint { communes, .. } = perimetre else {
        return Ok(true);
    };
    if inscrit || adresse.is_some_and(|a| communes.contains(&a.commune)) {
        return Ok(true);
    }
    match id {
        Some(id) => scolarise_dans(conn, perimetre, id),
        None => Ok(false),
    }
}

/// Whether the pupil is in the perimeter.
pub fn visible(conn: &mut DbConnection, perimetre: &Perimetre, id: Uuid) -> Result<bool, StoreError> {
    Ok(eleves::table
        .into_boxed()
        .filter(perimetre::eleves(perimetre))
        .filter(eleves::id.eq(id.to_string()))
        .select(eleves::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// A pupil by internal id with guardians, `None` when unknown or outside the perimeter.
pub fn trouver(conn: &mut DbConnection, perimetre: &Perimetre, id: Uuid) -> Result<Option<(Eleve, i64)>, StoreError> {
    let ligne = eleves::table
        .into_boxed()
        .filter(perimetre::eleves(perimetre))
        .filter(eleves::id.eq(id.to_string()))
        .select(LigneEleve::as_select())
        .first::<LigneEleve>(conn)
        .optional()?;
    let Some(ligne) = ligne else { return Ok(None) };
    let version = ligne.version;
    let responsables = responsables_de(conn, &ligne.id)?;
    Ok(Some((eleve(ligne, responsables)?, version)))
}

/// Filters of the pupils list: pupils with an active inscription in the school, or in a school
/// of the commune.
#[derive(Debug, Clone, Default)]
pub struct FiltreEleves {
    pub uai: Option<onde_domain::Uai>,
    pub commune: Option<CodeInsee>,
}

/// Pupils of the perimeter matching the filter, with guardians, in id order: one query for the
/// page's ids, two for their records.
pub fn lister(
    conn: &mut DbConnection,
    perimetre: &Perimetre,
    filtre: &FiltreEleves,
    page: &crate::DemandePage,
) -> Result<crate::Page<Eleve>, StoreError> {
    use crate::schema::{ecoles, inscriptions};
    let mut q = eleves::table
        .into_boxed()
        .filter(perimetre::eleves(perimetre))
        .select(eleves::id)
        .order(eleves::id.asc())
        .limit(i64::from(page.limite) + 1);
    if let Some(u) = &filtre.uai {
        q = q.filter(
            eleves::id.eq_any(
                inscriptions::table
                    .filter(inscriptions::uai.eq(u.as_str().to_owned()))
                    .filter(inscriptions::statut.ne("radie"))
                    .select(inscriptions::eleve_id),
            ),
        );
    }
    if let Some(c) = &filtre.commune {
        q = q.filter(
            eleves::id.eq_any(
                inscriptions::table
                    .inner_join(ecoles::table)
                    .filter(ecoles::code_commune.eq(c.as_str().to_owned()))
                    .filter(inscriptions::statut.ne("radie"))
                    .select(inscriptions::eleve_id),
            ),
        );
    }
    if let Some(apres) = &page.apres {
        q = q.filter(eleves::id.gt(apres.cle().to_owned()));
    }
    let ids: Vec<String> = q.load(conn)?;
    let mut trouves = par_ids(conn, perimetre, &ids)?;
    trouves.sort_by_key(|e| e.id.to_string());
    Ok(crate::Page::depuis_lignes(trouves, page.limite, |e| e.id.to_string()))
}

/// The pupils among `ids` in the perimeter, with guardians, in two queries.
pub fn par_ids(conn: &mut DbConnection, perimetre: &Perimetre, ids: &[String]) -> Result<Vec<Eleve>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let lignes = eleves::table
        .into_boxed()
        .filter(perimetre::eleves(perimetre))
        .filter(eleves::id.eq_any(ids.to_vec()))
        .select(LigneEleve::as_select())
        .load::<LigneEleve>(conn)?;
    let trouves: Vec<String> = lignes.iter().map(|l| l.id.clone()).collect();
    let mut par_eleve: std::collections::HashMap<String, Vec<onde_domain::Responsable>> = Default::default();
    for (r, l) in eleves_responsables::table
        .inner_join(responsables::table)
        .filter(eleves_responsables::eleve_id.eq_any(trouves))
        .order((eleves_responsables::eleve_id.asc(), eleves_responsables::rang.asc()))
        .select((LigneResponsable::as_select(), LigneLien::as_select()))
        .load::<(LigneResponsable, LigneLien)>(conn)?
    {
        let eleve_id = l.eleve_id.clone();
        par_eleve.entry(eleve_id).or_default().push(responsable(r, l)?);
    }
    lignes
        .into_iter()
        .map(|l| {
            let rs = par_eleve.remove(&l.id).unwrap_or_default();
            eleve(l, rs)
        })
        .collect()
}

fn responsables_de(conn: &mut DbConnection, eleve_id: &str) -> Result<Vec<onde_domain::Responsable>, StoreError> {
    eleves_responsables::table
        .inner_join(responsables::table)
        .filter(eleves_responsables::eleve_id.eq(eleve_id.to_owned()))
        .order(eleves_responsables::rang.asc())
        .select((LigneResponsable::as_select(), LigneLien::as_select()))
        .load::<(LigneResponsable, LigneLien)>(conn)?
        .into_iter()
        .map(|(r, l)| responsable(r, l))
        .collect()
}

fn ligne_eleve(
    id: Uuid,
    d: &DossierEleve,
    version: i64,
    cree_le: NaiveDateTime,
    maintenant: NaiveDateTime,
) -> LigneEleve {
    let p = d.prenoms.tous();
    LigneEleve {
        id: id.to_string(),
        ine: d.ine.as_ref().map(|i| i.as_str().to_owned()),
        nom: d.nom.clone(),
        prenom1: p.first().cloned().unwrap_or_default(),
        prenom2: p.get(1).cloned(),
        prenom3: p.get(2).cloned(),
        sexe: d.sexe.as_str().to_owned(),
        date_naissance: d.date_naissance,
        lieu_naissance: d.lieu_naissance.as_str().to_owned(),
        adresse_voie: d.adresse.as_ref().map(|a| a.voie.clone()),
        adresse_code_postal: d.adresse.as_ref().map(|a| a.code_postal.clone()),
        adresse_commune: d.adresse.as_ref().map(|a| a.commune.as_str().to_owned()),
        cree_le,
        modifie_le: maintenant,
        version,
        cle_doublon: d.cle_doublon(),
    }
}

fn inserer_responsables(
    conn: &mut DbConnection,
    eleve_id: &str,
    d: &DossierEleve,
    maintenant: NaiveDateTime,
) -> Result<(), StoreError> {
    for (rang, r) in d.responsables.iter().enumerate() {
        let id = Uuid::now_v7().to_string();
        diesel::insert_into(responsables::table)
            .values(LigneResponsable {
                id: id.clone(),
                nom: r.nom.clone(),
                prenom: r.prenom.clone(),
                telephone: r.telephone.as_ref().map(|t| t.as_str().to_owned()),
                courriel: r.courriel.as_ref().map(|c| c.as_str().to_owned()),
                adresse: r.adresse.clone(),
                cree_le: maintenant,
                modifie_le: maintenant,
            })
            .execute(conn)?;
        diesel::insert_into(eleves_responsables::table)
            .values(LigneLien {
                eleve_id: eleve_id.to_owned(),
                responsable_id: id,
                lien: r.lien.as_str().to_owned(),
                autorite_parentale: r.autorite_parentale,
                rang: i32::try_from(rang + 1).unwrap_or(i32::MAX),
            })
            .execute(conn)?;
    }
    Ok(())
}

/// Creates a pupil with its guardians and fingerprint. Call inside a transaction.
pub fn inserer(
    conn: &mut DbConnection,
    id: Uuid,
    d: &DossierEleve,
    maintenant: NaiveDateTime,
) -> Result<(), StoreError> {
    let empreinte = eleves::empreinte.eq(Some(crate::empreinte::du_dossier(d)));
    diesel::insert_into(eleves::table)
        .values((ligne_eleve(id, d, 1, maintenant, maintenant), empreinte))
        .execute(conn)?;
    inserer_responsables(conn, &id.to_string(), d, maintenant)
}

/// Whether the stored pupil already holds exactly this record.
pub fn identique(stocke: &Eleve, d: &DossierEleve) -> bool {
    stocke.ine == d.ine
        && stocke.nom == d.nom
        && stocke.prenoms == d.prenoms
        && stocke.sexe == d.sexe
        && stocke.date_naissance == d.date_naissance
        && stocke.lieu_naissance == d.lieu_naissance
        && stocke.adresse == d.adresse
        && stocke.responsables.len() == d.responsables.len()
        && stocke.responsables.iter().zip(&d.responsables).all(|(s, n)| {
            s.nom == n.nom
                && s.prenom == n.prenom
                && s.lien == n.lien
                && s.autorite_parentale == n.autorite_parentale
                && s.telephone.as_deref() == n.telephone.as_ref().map(|t| t.as_str())
                && s.courriel.as_deref() == n.courriel.as_ref().map(|c| c.as_str())
                && s.adresse == n.adresse
        })
}

/// Replaces a pupil's record and guardians if its version is still `version_attendue`
/// (optimistic concurrency); returns the new version, or `None` when the version moved.
/// Guardians no longer linked to any pupil are deleted. Call inside a transaction.
pub fn remplacer(
    conn: &mut DbConnection,
    id: Uuid,
    d: &DossierEleve,
    version_attendue: i64,
    maintenant: NaiveDateTime,
) -> Result<Option<i64>, StoreError> {
    let cle = id.to_string();
    let cree_le = eleves::table
        .find(&cle)
        .select(eleves::cree_le)
        .first::<NaiveDateTime>(conn)?;
    let nouvelle = version_attendue + 1;
    let l = ligne_eleve(id, d, nouvelle, cree_le, maintenant);
    let n = diesel::update(
        eleves::table
            .filter(eleves::id.eq(&cle))
            .filter(eleves::version.eq(version_attendue)),
    )
    .set((
        eleves::ine.eq(l.ine),
        eleves::nom.eq(l.nom),
        eleves::prenom1.eq(l.prenom1),
        eleves::prenom2.eq(l.prenom2),
        eleves::prenom3.eq(l.prenom3),
        eleves::sexe.eq(l.sexe),
        eleves::date_naissance.eq(l.date_naissance),
        eleves::lieu_naissance.eq(l.lieu_naissance),
        eleves::adresse_voie.eq(l.adresse_voie),
        eleves::adresse_code_postal.eq(l.adresse_code_postal),
        eleves::adresse_commune.eq(l.adresse_commune),
        eleves::modifie_le.eq(maintenant),
        eleves::version.eq(nouvelle),
        eleves::cle_doublon.eq(l.cle_doublon),
        eleves::empreinte.eq(Some(crate::empreinte::du_dossier(d))),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    let anciens: Vec<String> = eleves_responsables::table
        .filter(eleves_responsables::eleve_id.eq(&cle))
        .select(eleves_responsables::responsable_id)
        .load(conn)?;
    diesel::delete(eleves_responsables::table.filter(eleves_responsables::eleve_id.eq(&cle))).execute(conn)?;
    inserer_responsables(conn, &cle, d, maintenant)?;
    diesel::delete(
        responsables::table
            .filter(responsables::id.eq_any(anciens))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                eleves_responsables::table.filter(eleves_responsables::responsable_id.eq(responsables::id)),
            ))),
    )
    .execute(conn)?;
    Ok(Some(nouvelle))
}

/// Serialises concurrent creations of the same pupil (same duplicate key or INE) so that the
/// duplicate check that follows is reliable: on PostgreSQL, transaction-scoped advisory locks
/// on the keys; on SQLite, writers are already serialised by [`crate::verrou_ecriture`].
pub fn verrouiller_identite(conn: &mut DbConnection, cle_doublon: &str, ine: Option<&Ine>) -> Result<(), StoreError> {
    let mut cles = vec![format!("doublon:{cle_doublon}")];
    if let Some(ine) = ine {
        cles.push(format!("ine:{}", ine.as_str()));
    }
    verrouiller_cles(conn, cles)
}

/// [`verrouiller_identite`] for many keys (`doublon:…`, `ine:…`) at once. Every writer takes
/// its locks in the order of their hashes (the lock ids), in one statement: two writers
/// locking some of the same keys cannot deadlock, whatever their number.
pub fn verrouiller_cles(conn: &mut DbConnection, cles: Vec<String>) -> Result<(), StoreError> {
    if let DbConnection::Pg(c) = conn {
        // DISTINCT and ORDER BY keep the subquery apart: the locks are taken row by row in
        // that order.
        diesel::sql_query(
            "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($1) k ORDER BY h) v",
        )
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(cles)
        .execute(c)?;
    }
    Ok(())
}
