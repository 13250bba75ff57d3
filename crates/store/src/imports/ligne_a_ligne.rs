//! A chunk applied line by line, one savepoint per line (SQLite, where statements are cheap
//! and there is no COPY): the same decisions as the synchronous batch, in the same order as
//! the set-based PostgreSQL path.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use onde_domain::{Inscription, Perimetre};
use uuid::Uuid;

use super::{Cause, Etat, IssueLigne, IssueTranche, LigneValide, Rejet};
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

fn doublon(candidat: (Uuid, Option<String>)) -> Echec {
    Echec::Rejet(
        "eleve_en_doublon",
        "/eleve".into(),
        message_doublon(candidat.1.as_deref()),
        Some(Cause::Doublon {
            candidat: candidat.0,
            ine: candidat.1,
        }),
    )
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
    use crate::schema::{ecoles, inscriptions};
    let Perimetre::Restreint { communes, uais } = perimetre else {
        return Ok(true);
    };
    let communes: Vec<String> = communes.iter().map(|c| c.as_str().to_owned()).collect();
    let uais: Vec<String> = uais.iter().map(|u| u.as_str().to_owned()).collect();
    let cle = id.to_string();
    let reside = eleves::table
        .filter(eleves::id.eq(&cle))
        .filter(eleves::adresse_commune.assume_not_null().eq_any(&communes))
        .select(eleves::id)
        .first::<String>(conn)
        .optional()?
        .is_some();
    if reside {
        return Ok(true);
    }
    Ok(inscriptions::table
        .inner_join(ecoles::table)
        .filter(inscriptions::eleve_id.eq(&cle))
        .filter(inscriptions::statut.ne("radie"))
        .filter(ecoles::code_commune.eq_any(&communes).or(ecoles::uai.eq_any(&uais)))
        .select(inscriptions::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

pub(super) fn message_doublon(ine: Option<&str>) -> String {
    format!(
        "un élève de mêmes nom, prénom, sexe, date et lieu de naissance existe déjà{} : il ne peut pas être créé une seconde fois",
        ine.map(|i| format!(" (INE {i})")).unwrap_or_default()
    )
}

pub(super) fn message_hors_perimetre(ine: &str) -> String {
    format!("l'INE {ine} est celui d'un élève hors de votre périmètre")
}

pub(super) const MESSAGE_NOUVEL_ELEVE_HORS: &str =
    "un nouvel élève doit être inscrit dans une école de votre périmètre ou résider dans une de vos communes";

fn appliquer_ligne(
    c: &mut DbConnection,
    perimetre: &Perimetre,
    v: &LigneValide,
    maintenant: NaiveDateTime,
) -> Result<(Uuid, Etat), Echec> {
    let e = &v.element;
    let (id, mut etat) = match crate::eleves::id_par_ine(c, &e.ine)? {
        Some((id, version)) => {
            if !visible(c, perimetre, id)? {
                return Err(rejet(
                    "ine_hors_perimetre",
                    "/eleve/ine",
                    message_hors_perimetre(e.ine.as_str()),
                ));
            }
            let (stocke, _) = crate::eleves::trouver(c, &Perimetre::National, id)?
                .ok_or(Echec::Base(StoreError::Generation("élève disparu".into())))?;
            if crate::eleves::identique(&stocke, &e.dossier) {
                (id, Etat::Inchange)
            } else {
                if let Some(autre) = autre_avec_cle(c, &v.cle_doublon, Some(id))? {
                    return Err(doublon(autre));
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
            let reside = match (perimetre, &e.dossier.adresse) {
                (Perimetre::National, _) => true,
                (Perimetre::Restreint { communes, .. }, Some(a)) => communes.contains(&a.commune),
                (Perimetre::Restreint { .. }, None) => false,
            };
            if e.inscriptions.is_empty() && !reside {
                return Err(rejet("eleve_hors_perimetre", "/eleve", MESSAGE_NOUVEL_ELEVE_HORS));
            }
            if let Some(autre) = autre_avec_cle(c, &v.cle_doublon, None)? {
                return Err(doublon(autre));
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
