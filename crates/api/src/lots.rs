//! `POST /v1/lots/eleves`: up to 1,000 pupil records with their inscriptions in one request,
//! one result per item. In `partiel` mode each item is applied or rejected on its own (a
//! savepoint per item inside one transaction); in `tout_ou_rien` mode one rejection rolls
//! everything back. Either way an item is never half-applied, and the whole answer is stored
//! under the `Idempotency-Key` in the same transaction.

use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, Utc};
use onde_domain::dossier::{verifier_age, DossierEleve, Lecture};
use onde_domain::{AnneeScolaire, DomainError, Inscription, Niveau, Perimetre, StatutInscription, Uai};
use onde_store::DbConnection;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::acces::Acces;
use crate::corps;
use crate::ecriture::{self, ReponseEcriture};
use crate::probleme::{depuis_manquements, ErreursMiseAJour, Probleme, Violation};
use crate::{ApiError, EtatApp};

pub const TAILLE_MAX_LOT: usize = 1000;

/// Ce qu'est devenu un élément du lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resultat {
    /// Élève créé (et ses inscriptions).
    Cree,
    /// Élève ou inscription modifiés.
    Modifie,
    /// Rien à changer : l'état transmis est déjà celui de la base.
    Inchange,
    /// Refusé : voir `probleme` ; rien de l'élément n'a été appliqué.
    Rejete,
    /// Valide, mais non appliqué car un autre élément a été refusé (mode `tout_ou_rien`).
    Annule,
}

/// Le résultat d'un élément.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResultatElement {
    /// Position de l'élément dans `elements` (à partir de 0).
    pub index: usize,
    pub resultat: Resultat,
    /// Identifiant interne de l'élève.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eleve_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "0494004062M")]
    pub ine: Option<String>,
    /// Le problème d'un élément rejeté ; les pointeurs désignent des champs de la requête entière.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probleme: Option<Probleme>,
}

/// Décompte des résultats.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Resume {
    pub crees: usize,
    pub modifies: usize,
    pub inchanges: usize,
    pub rejetes: usize,
}

/// Réponse à un lot.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReponseLot {
    #[schema(example = "partiel")]
    pub mode: String,
    pub resume: Resume,
    pub resultats: Vec<ResultatElement>,
}

const CHAMPS_LOT: [&str; 2] = ["mode", "elements"];
const CHAMPS_ELEMENT: [&str; 2] = ["eleve", "inscriptions"];
const CHAMPS_INSCRIPTION: [&str; 9] = [
    "uai",
    "annee_scolaire",
    "niveau",
    "classe",
    "dispositif",
    "statut",
    "admission_provisoire",
    "date_inscription",
    "date_admission",
];

/// An inscription as pushed by school software: the state it is in.
struct InscriptionPoussee {
    uai: Uai,
    annee: AnneeScolaire,
    niveau: Niveau,
    classe: Option<String>,
    dispositif: Option<String>,
    statut: StatutInscription,
    provisoire: bool,
    date_inscription: NaiveDate,
    date_admission: Option<NaiveDate>,
    pointeur: String,
}

struct Element {
    dossier: DossierEleve,
    inscriptions: Vec<InscriptionPoussee>,
}

fn lire_element(v: &Value, base: &str, l: &mut Lecture) -> Option<Element> {
    let avant = l.manquements.len();
    let o = l.objet(v, base, &CHAMPS_ELEMENT)?;
    let dossier = match o.get("eleve") {
        Some(e) => DossierEleve::lire(e, &format!("{base}/eleve"), Utc::now().date_naive(), l),
        None => {
            l.signaler(
                &format!("{base}/eleve"),
                "champ_obligatoire",
                "le champ « eleve » est obligatoire",
            );
            None
        }
    };
    if let Some(d) = &dossier {
        if d.ine.is_none() {
            l.signaler(
                &format!("{base}/eleve/ine"),
                "champ_obligatoire",
                "un lot identifie chaque élève par son INE",
            );
        }
    }
    let mut inscriptions = Vec::new();
    match o.get("inscriptions") {
        None | Some(Value::Null) => {}
        Some(Value::Array(liste)) => {
            for (j, i) in liste.iter().enumerate() {
                let b = format!("{base}/inscriptions/{j}");
                let Some(oi) = l.objet(i, &b, &CHAMPS_INSCRIPTION) else {
                    continue;
                };
                let uai = l.valeur(oi, &b, "uai", true, Uai::parse);
                let annee = l.valeur(oi, &b, "annee_scolaire", true, AnneeScolaire::parse);
                let niveau = l.valeur(oi, &b, "niveau", true, Niveau::parse);
                let classe = l.texte(oi, &b, "classe", false, 50);
                let dispositif = l.texte(oi, &b, "dispositif", false, 50);
                let statut = l
                    .valeur(oi, &b, "statut", false, StatutInscription::parse)
                    .unwrap_or(StatutInscription::Inscrit);
                if statut == StatutInscription::Radie {
                    l.signaler(
                        &format!("{b}/statut"),
                        "statut_interdit",
                        "une radiation passe par l'opération de radiation",
                    );
                }
                let provisoire = match oi.get("admission_provisoire") {
                    None | Some(Value::Null) => false,
                    Some(_) => l.booleen(oi, &b, "admission_provisoire").unwrap_or(false),
                };
                if provisoire && statut != StatutInscription::Admis {
                    l.signaler(
                        &format!("{b}/admission_provisoire"),
                        "provisoire_hors_admis",
                        "une admission provisoire n'existe qu'au statut admis",
                    );
                }
                let date_inscription = l
                    .date(oi, &b, "date_inscription", false)
                    .unwrap_or_else(|| Utc::now().date_naive());
                let date_admission = l.date(oi, &b, "date_admission", false);
                if let (Some(d), Some(n), Some(a)) = (&dossier, niveau, annee) {
                    if let Err(e) = verifier_age(d.date_naissance, n, a) {
                        l.signaler(&format!("{b}/niveau"), e.code(), e.to_string());
                    }
                }
                if let (Some(uai), Some(annee), Some(niveau)) = (uai, annee, niveau) {
                    inscriptions.push(InscriptionPoussee {
                        uai,
                        annee,
                        niveau,
                        classe,
                        dispositif,
                        statut,
                        provisoire,
                        date_inscription,
                        date_admission: date_admission.or_else(|| {
                            matches!(statut, StatutInscription::Admis | StatutInscription::AdmisDefinitif)
                                .then_some(date_inscription)
                        }),
                        pointeur: b,
                    });
                }
            }
        }
        Some(_) => l.signaler(
            &format!("{base}/inscriptions"),
            "type_invalide",
            "une liste d'inscriptions est attendue",
        ),
    }
    if l.manquements.len() > avant {
        return None;
    }
    Some(Element {
        dossier: dossier?,
        inscriptions,
    })
}

fn probleme(e: &ApiError) -> Probleme {
    e.probleme()
}

fn violation(pointeur: &str, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::NonConforme(vec![Violation {
        pointer: Some(pointeur.to_owned()),
        parametre: None,
        code: code.into(),
        message: message.into(),
    }])
}

/// Applies one item; `Err` rolls back its savepoint.
fn appliquer(c: &mut DbConnection, acces: &Acces, e: &Element, base: &str) -> Result<(Uuid, Resultat), ApiError> {
    let maintenant = Utc::now().naive_utc();
    let ine = e
        .dossier
        .ine
        .as_ref()
        .ok_or_else(|| violation(&format!("{base}/eleve/ine"), "champ_obligatoire", "INE manquant"))?;
    onde_store::eleves::verrouiller_identite(c, &e.dossier.cle_doublon(), Some(ine))?;
    let (id, mut resultat) = match onde_store::eleves::id_par_ine(c, ine)? {
        Some((id, version)) => {
            if !onde_store::eleves::visible(c, &acces.perimetre, id)? {
                // A pupil outside the perimeter is answered like an unknown one elsewhere; here the INE is
                // taken, which the partner must sort out with the pupil's current school.
                return Err(ApiError::Conflit {
                    code: "ine_hors_perimetre",
                    detail: format!("l'INE {ine} est celui d'un élève hors de votre périmètre"),
                });
            }
            let (stocke, _) = onde_store::eleves::trouver(c, &Perimetre::National, id)?
                .ok_or(ApiError::Introuvable { ressource: "L'élève" })?;
            if onde_store::eleves::identique(&stocke, &e.dossier) {
                (id, Resultat::Inchange)
            } else {
                if let Some((autre, autre_ine)) = onde_store::eleves::par_cle_doublon(c, &e.dossier.cle_doublon())? {
                    if autre != id {
                        return Err(ApiError::Doublon {
                            candidat: autre,
                            ine: autre_ine,
                        });
                    }
                }
                onde_store::eleves::remplacer(c, id, &e.dossier, version, maintenant)?.ok_or(
                    ApiError::PreconditionEchouee {
                        version_actuelle: version + 1,
                    },
                )?;
                (id, Resultat::Modifie)
            }
        }
        None => {
            if let Some((autre, autre_ine)) = onde_store::eleves::par_cle_doublon(c, &e.dossier.cle_doublon())? {
                return Err(ApiError::Doublon {
                    candidat: autre,
                    ine: autre_ine,
                });
            }
            let id = Uuid::now_v7();
            onde_store::eleves::inserer(c, id, &e.dossier, maintenant)?;
            (id, Resultat::Cree)
        }
    };
    for p in &e.inscriptions {
        let ecole = onde_store::ecoles::trouver(c, &acces.perimetre, &p.uai)?.ok_or_else(|| {
            violation(
                &format!("{}/uai", p.pointeur),
                "ecole_inconnue",
                format!("école {} inconnue ou hors de votre périmètre", p.uai),
            )
        })?;
        if !ecole.type_ecole.accueille(p.niveau) {
            return Err(violation(
                &format!("{}/niveau", p.pointeur),
                "niveau_non_accueilli",
                format!(
                    "une école {} n'accueille pas le niveau {}",
                    ecole.type_ecole.as_str(),
                    p.niveau
                ),
            ));
        }
        let existante = onde_store::inscriptions::active(c, id, &p.annee)?;
        match existante {
            Some((mut i, version)) if i.uai == p.uai => {
                let avant = i.clone();
                if i.statut != p.statut {
                    i.statut = i.statut.passer_a(p.statut).map_err(ApiError::Transition)?;
                }
                i.niveau = p.niveau;
                i.classe = p.classe.clone();
                i.dispositif = p.dispositif.clone();
                i.admission_provisoire = p.provisoire;
                if p.date_admission.is_some() {
                    i.date_admission = p.date_admission;
                }
                if i != avant {
                    onde_store::inscriptions::mettre_a_jour(c, &i, version, maintenant)?.ok_or(
                        ApiError::PreconditionEchouee {
                            version_actuelle: version + 1,
                        },
                    )?;
                    if resultat == Resultat::Inchange {
                        resultat = Resultat::Modifie;
                    }
                }
            }
            Some((i, _)) => {
                return Err(ApiError::Conflit {
                    code: "inscription_active_existante",
                    detail: format!(
                        "l'élève a déjà une inscription active pour {} dans l'école {} : radiez-la ou changez d'école",
                        i.annee_scolaire, i.uai
                    ),
                })
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
                    date_admission: p.date_admission,
                    date_radiation: None,
                    motif_radiation: None,
                };
                onde_store::inscriptions::inserer(c, &nouvelle, maintenant)?;
                if resultat == Resultat::Inchange {
                    resultat = Resultat::Modifie;
                }
            }
        }
    }
    Ok((id, resultat))
}

/// Pousser un lot d'élèves
///
/// Jusqu'à 1 000 dossiers d'élèves (identifiés par leur INE) avec leurs inscriptions, en une
/// requête. Chaque élément reçoit un résultat : `cree`, `modifie`, `inchange` ou `rejete` (avec
/// son problème et le pointeur JSON du champ en cause). Mode `partiel` (par défaut) : les
/// éléments valides sont appliqués, les autres signalés. Mode `tout_ou_rien` : au moindre rejet,
/// rien n'est appliqué (422, les éléments valides sont marqués `annule`). Un élément n'est
/// jamais appliqué à moitié. Avec `Idempotency-Key`, un nouvel essai renvoie la première réponse.
#[utoipa::path(
    tag = "eleves",
    operation_id = "pousser_lot_eleves",
    security(("oauth2" = ["eleves:write"])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Clé d'idempotence : un nouvel essai avec la même clé et le même corps renvoie la première réponse sans second effet")),
    request_body(content = Object, content_type = "application/json",
        description = "`{\"mode\": \"partiel\" | \"tout_ou_rien\", \"elements\": [{\"eleve\": {dossier avec ine}, \"inscriptions\": [{uai, annee_scolaire, niveau, classe?, dispositif?, statut?, admission_provisoire?, date_inscription?, date_admission?}]}]}`"),
    responses(
        (status = 200, description = "Un résultat par élément", body = ReponseLot),
        ErreursMiseAJour,
    )
)]
#[post("/lots/eleves")]
pub async fn pousser(
    etat: web::Data<EtatApp>,
    acces: Acces,
    req: HttpRequest,
    octets: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    corps::verifier_type(&req, &[corps::JSON])?;
    let v: Value = corps::depuis_octets(&octets)?;
    let mut l = Lecture::default();
    let o = l.objet(&v, "", &CHAMPS_LOT).cloned().unwrap_or_default();
    let tout_ou_rien = match o.get("mode").and_then(Value::as_str) {
        None | Some("partiel") => false,
        Some("tout_ou_rien") => true,
        Some(_) => {
            l.signaler("/mode", "mode_inconnu", "le mode vaut partiel ou tout_ou_rien");
            false
        }
    };
    let elements = match o.get("elements") {
        Some(Value::Array(e)) if e.is_empty() => {
            l.signaler("/elements", "lot_vide", "un lot contient au moins un élément");
            Vec::new()
        }
        Some(Value::Array(e)) if e.len() > TAILLE_MAX_LOT => {
            l.signaler(
                "/elements",
                "lot_trop_grand",
                format!("un lot contient au plus {TAILLE_MAX_LOT} éléments ({} reçus)", e.len()),
            );
            Vec::new()
        }
        Some(Value::Array(e)) => e.clone(),
        _ => {
            l.signaler(
                "/elements",
                "champ_obligatoire",
                "le champ « elements » (liste) est obligatoire",
            );
            Vec::new()
        }
    };
    if !l.est_vide() {
        return Err(ApiError::NonConforme(depuis_manquements(l.manquements)));
    }
    // Items are read (and their format errors found) before any transaction.
    let lus: Vec<Result<Element, ApiError>> = elements
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut l = Lecture::default();
            lire_element(e, &format!("/elements/{i}"), &mut l)
                .filter(|_| l.est_vide())
                .ok_or_else(|| ApiError::NonConforme(depuis_manquements(l.manquements)))
        })
        .collect();
    let a = acces.clone();
    ecriture::executer(&etat, &acces, &req, &octets, move |c| {
        let mut resultats = Vec::with_capacity(lus.len());
        let mut touches = Vec::new();
        for (index, lu) in lus.iter().enumerate() {
            let base = format!("/elements/{index}");
            let ine = lu
                .as_ref()
                .ok()
                .and_then(|e| e.dossier.ine.as_ref())
                .map(|i| i.as_str().to_owned());
            let issue = match lu {
                Err(e) => Err(probleme(e)),
                // A savepoint per item: a failure undoes that item only.
                Ok(e) => diesel::Connection::transaction(c, |c| appliquer(c, &a, e, &base)).map_err(|e| probleme(&e)),
            };
            resultats.push(match issue {
                Ok((id, r)) => {
                    touches.push(id);
                    ResultatElement {
                        index,
                        resultat: r,
                        eleve_id: Some(id),
                        ine,
                        probleme: None,
                    }
                }
                Err(p) => ResultatElement {
                    index,
                    resultat: Resultat::Rejete,
                    eleve_id: None,
                    ine,
                    probleme: Some(p),
                },
            });
        }
        let mut resume = Resume::default();
        for r in &resultats {
            match r.resultat {
                Resultat::Cree => resume.crees += 1,
                Resultat::Modifie => resume.modifies += 1,
                Resultat::Inchange => resume.inchanges += 1,
                Resultat::Rejete | Resultat::Annule => resume.rejetes += 1,
            }
        }
        if tout_ou_rien && resume.rejetes > 0 {
            for r in &mut resultats {
                if r.resultat != Resultat::Rejete {
                    r.resultat = Resultat::Annule;
                    r.eleve_id = None;
                }
            }
            return Err(ApiError::LotRefuse {
                resultats: serde_json::to_value(&resultats).unwrap_or_default(),
            });
        }
        let reponse = ReponseLot {
            mode: if tout_ou_rien { "tout_ou_rien" } else { "partiel" }.into(),
            resume,
            resultats,
        };
        let corps = serde_json::to_value(reponse).map_err(|e| ApiError::Interne(e.to_string()))?;
        Ok(ReponseEcriture::new(StatusCode::OK, corps).eleves(touches))
    })
    .await
}

#[allow(dead_code)]
fn _types(_: DomainError) {}
