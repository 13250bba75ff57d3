//! A chunk applied line by line, one savepoint per line (SQLite, where statements are cheap
//! and there is no COPY): the same decisions as the synchronous batch, in the same order as
//! the set-based PostgreSQL path.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use onde_domain::{Inscription, Perimetre};
use uuid::Uuid;

use super::rejets::{Cause, Etat, IssueLigne, IssueTranche, Rejet};
use super::verification::LigneValide;
use crate::schema::eleves;
use crate::{DbConnection, StoreError};

enum Echec {
    Rejet(&'static str, String, String, Option<Cause>),
    Base(StoreError),
}

impl From<diesel::result::Error> for Echec {
    fn from(e: diesel::result::Error) -> Self {
        Echec::Base(e.into())
    }
}

impl From<StoreError> for Echec {
    fn from(e: StoreError) -> Self {
        Echec::Base(e)
    }
}

fn rejet(code: &'static str, pointeur: impl Into<String>, message: impl Into<String>) -> Echec {
    Echec::Rejet(code, pointeur.into(), message.into(), None)
}

fn doublon(c: &mut DbConnection, perimetre: &Perimetre, candidat: (Uuid, Option<String>)) -> Result<Echec, StoreError> {
    let correspondance = crate::eleves::correspondance(c, perimetre, candidat.0, candidat.1)?;
    Ok(Echec::Rejet(
        "eleve_en_doublon",
        "/eleve".into(),
        message_doublon(&correspondance),
        Some(Cause::Doublon(correspondance)),
    ))
}

/// Another pupil holding this duplicate-detection key (id and INE).
fn autre_avec_cle(
    conn: &mut DbConnection,
    cle: &str,
    sauf: Option<Uuid>,
) -> Result<Option<(Uuid, Option<String>)>, StoreError> {
    let mut q = eleves::table
        .filter(eleves::cle_doublon.eq(cle))
        .select((eleves::id, eleves::ine))
        .into_boxed();
    if let Some(id) = sauf {
        q = q.filter(eleves::id.ne(id.to_string()));
    }
    q.first::<(String, Option<String>)>(conn)
        .optional()?
        .map(|(id, ine)| Ok((crate::lignes::lire_uuid("eleves", "id", &id)?, ine)))
        .transpose()
}

/// Whether the pupil is in the perimeter: the same rule as `perimetre::eleves`, written as a
/// lookup by pupil (SQLite would otherwise evaluate the perimeter's whole IN-list subquery for
/// every line).
fn visible(conn: &mut DbConnection, perimetre: &Perimetre, id: Uuid) -> Result<bool, StoreError> {
    let Perimetre::Restreint { communes, .. } = perimetre else {
        return Ok(true);
    };
    let communes: Vec<String> = communes.iter().map(|c| c.as_str().to_owned()).collect();
    let reside = eleves::table
        .filter(eleves::id.eq(id.to_string()))
        .filter(eleves::adresse_commune.assume_not_null().eq_any(&communes))
        .select(eleves::id)
        .first::<String>(conn)
        .optional()?
        .is_some();
    if reside {
        return Ok(true);
    }
    crate::eleves::scolarise_dans(conn, perimetre, id)
}

/// The rejection of a record matching a known pupil (its duplicate key). A rejection report is
/// stored and read later, when the perimeter may have changed: it never names the pupil, even
/// one the caller sees (the synchronous batch answers its `candidat` instead).
pub(crate) fn message_doublon(c: &crate::eleves::Correspondance) -> String {
    match c {
        crate::eleves::Correspondance::Visible { .. } => {
            "un élève de mêmes nom, prénom, sexe, date et lieu de naissance \
            existe déjà dans votre périmètre : il ne peut pas être créé une seconde fois (mettez à jour sa fiche)"
                .into()
        }
        crate::eleves::Correspondance::HorsPerimetre => MESSAGE_DOUBLON_HORS.into(),
    }
}

/// The duplicate of a pupil outside the caller's perimeter: that it exists, and what to do.
pub(crate) const MESSAGE_DOUBLON_HORS: &str =
    "un élève de mêmes nom, prénom, sexe, date et lieu de naissance est déjà \
    connu, hors de votre périmètre : s'il s'agit d'une famille qui arrive, inscrivez l'enfant par un \
    rattachement (POST /v1/rattachements) avec l'INE, le nom, le prénom et la date de naissance \
    que la famille vous a donnés";

/// An INE held by a pupil outside the caller's perimeter (the INE sent is not repeated).
pub(crate) const MESSAGE_INE_HORS: &str = "cet INE est celui d'un élève hors de votre périmètre, qui ne peut être ni \
    remplacé ni modifié : s'il s'agit d'une famille qui arrive, inscrivez l'enfant par un rattachement \
    (POST /v1/rattachements) avec l'INE, le nom, le prénom et la date de naissance que la famille \
    vous a donnés";

/// A write that would leave an existing pupil outside the perimeter.
pub(crate) const MESSAGE_ELEVE_SORTIRAIT: &str = "après cette écriture l'élève ne serait plus dans votre périmètre \
    (aucune inscription active dans une de vos écoles, résidence hors de vos communes) : rien n'a été appliqué";

pub(super) const MESSAGE_NOUVEL_ELEVE_HORS: &str =
    "un nouvel élève doit être inscrit dans une école de votre périmètre ou résider dans une de vos communes";

fn appliquer_ligne(
    c: &mut DbConnection,
    perimetre: &Perimetre,
    v: &LigneValide,
    maintenant: NaiveDateTime,
) -> Result<(Uuid, Etat), Echec> {
    let e = &v.element;
    // The identity locks every writer of a pupil takes (a no-op on SQLite, whose writers are
    // serialised); the perimeter is checked after them.
    crate::eleves::verrouiller_identite(c, &v.cle_doublon, Some(&e.ine))?;
    let (id, mut etat) = match crate::eleves::id_par_ine(c, &e.ine)? {
        Some((id, version)) => {
            if !visible(c, perimetre, id)? {
                return Err(rejet("ine_hors_perimetre", "/eleve/ine", MESSAGE_INE_HORS));
            }
            let adresse = e.dossier.adresse.as_ref();
            if !crate::eleves::resterait_visible(c, perimetre, Some(id), adresse, !e.inscriptions.is_empty())? {
                return Err(rejet("eleve_hors_perimetre", "/eleve", MESSAGE_ELEVE_SORTIRAIT));
            }
            // By fingerprint when the stored pupil has one, else field by field.
            let inchange = crate::empreinte::inchange(c, id, &e.dossier)?
                .ok_or(Echec::Base(StoreError::Generation("élève disparu".into())))?;
            if inchange {
                (id, Etat::Inchange)
            } else {
                if let Some(autre) = autre_avec_cle(c, &v.cle_doublon, Some(id))? {
                    return Err(doublon(c, perimetre, autre)?);
                }
                crate::eleves::remplacer(c, id, &e.dossier, version, maintenant)?.ok_or(rejet(
                    "version_concurrente",
                    "/eleve",
                    "l'élève a été modifié par une autre écriture pendant l'import ; renvoyez la ligne",
                ))?;
                (id, Etat::Modifie)
            }
        }
        None => {
            let adresse = e.dossier.adresse.as_ref();
            if !crate::eleves::resterait_visible(c, perimetre, None, adresse, !e.inscriptions.is_empty())? {
                return Err(rejet("eleve_hors_perimetre", "/eleve", MESSAGE_NOUVEL_ELEVE_HORS));
            }
            if let Some(autre) = autre_avec_cle(c, &v.cle_doublon, None)? {
                return Err(doublon(c, perimetre, autre)?);
            }
            let id = Uuid::now_v7();
            crate::eleves::inserer(c, id, &e.dossier, maintenant)?;
            (id, Etat::Cree)
        }
    };
    for p in &e.inscriptions {
        match crate::inscriptions::active(c, id, &p.annee)? {
            Some((mut i, version)) if i.uai == p.uai => {
                let avant = i.clone();
                if i.statut != p.statut {
                    i.statut = i.statut.passer_a(p.statut).map_err(|err| {
                        Echec::Rejet(
                            "transition_interdite",
                            format!("{}/statut", p.pointeur),
                            err.to_string(),
                            Some(Cause::Transition(err)),
                        )
                    })?;
                }
                i.niveau = p.niveau;
                i.classe = p.classe.clone();
                i.dispositif = p.dispositif.clone();
                i.admission_provisoire = p.provisoire;
                if p.date_admission.is_some() {
                    i.date_admission = p.date_admission;
                }
                if i != avant {
                    crate::inscriptions::mettre_a_jour(c, &i, version, maintenant)?.ok_or(rejet(
                        "version_concurrente",
                        p.pointeur.clone(),
                        "l'inscription a été modifiée par une autre écriture pendant l'import ; renvoyez la ligne",
                    ))?;
                    if etat == Etat::Inchange {
                        etat = Etat::Modifie;
                    }
                }
            }
            Some((i, _)) => {
                return Err(rejet(
                    "inscription_active_existante",
                    format!("{}/uai", p.pointeur),
                    message_inscription_existante(i.annee_scolaire.as_str(), i.uai.as_str()),
                ))
            }
            None => {
                let nouvelle = Inscription {
                    id: Uuid::now_v7(),
                    eleve_id: id,
                    uai: p.uai.clone(),
                    annee_scolaire: p.annee,
                    niveau: p.niveau,
                    classe: p.classe.clone(),
                    dispositif: p.dispositif.clone(),
                    statut: p.statut,
                    admission_provisoire: p.provisoire,
                    date_inscription: p.date_inscription,
                    date_admission: p.date_admission_a_la_creation(),
                    date_radiation: None,
                    motif_radiation: None,
                };
                crate::inscriptions::inserer(c, &nouvelle, maintenant)?;
                if etat == Etat::Inchange {
                    etat = Etat::Modifie;
                }
            }
        }
    }
    Ok((id, etat))
}

pub(super) fn message_inscription_existante(annee: &str, uai: &str) -> String {
    format!("l'élève a déjà une inscription active pour {annee} dans l'école {uai} : radiez-la ou changez d'école")
}

/// Applies the lines of a chunk; call inside the chunk's transaction.
pub(super) fn appliquer(
    c: &mut DbConnection,
    perimetre: &Perimetre,
    lignes: &[LigneValide],
    maintenant: NaiveDateTime,
) -> Result<IssueTranche, StoreError> {
    let mut issue = IssueTranche::default();
    for v in lignes {
        // A savepoint per line: a rejected line leaves nothing behind.
        match c.transaction(|c| appliquer_ligne(c, perimetre, v, maintenant)) {
            Ok((id, etat)) => issue.appliquee(IssueLigne {
                ligne: v.ligne,
                eleve_id: id,
                etat,
            }),
            Err(Echec::Rejet(code, pointeur, message, cause)) => issue.rejets.push(Rejet {
                ligne: v.ligne,
                pointeur,
                code: code.into(),
                message,
                cause,
            }),
            Err(Echec::Base(e)) => return Err(e),
        }
    }
    Ok(issue)
}
