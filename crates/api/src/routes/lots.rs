//! `POST /v1/lots/eleves`: up to 1,000 pupil records with their inscriptions in one request,
//! one result per item. In `partiel` mode each item is applied or rejected on its own; in
//! `tout_ou_rien` mode one rejection rolls everything back. Either way an item is never
//! half-applied, and the whole answer is stored under the `Idempotency-Key` in the same
//! transaction.
//!
//! On PostgreSQL the items are applied set-based, with the large import's machinery
//! ([`onde_store::lots`]); on SQLite, where statements are cheap, one savepoint per item
//! ([`appliquer`]). Both give every item the outcome of applying the items one after the
//! other, in their order.

use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest, HttpResponse};
use chrono::Utc;
use onde_domain::dossier::Lecture;
use onde_domain::poussee::ElementPousse;
use onde_domain::Inscription;
use onde_store::imports::{Cause, Etat, Rejet};
use onde_store::lots::IssueElement;
use onde_store::DbConnection;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::acces::Acces;
use crate::constantes::TAILLE_MAX_LOT;
use crate::erreurs::erreur::ApiError;
use crate::erreurs::probleme::{depuis_manquements, ErreursMiseAJour, Probleme};
use crate::etat::EtatApp;
use crate::http::corps;
use crate::http::ecriture::{self, ReponseEcriture};

/// Ce qu'est devenu un élément du lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(example = "cree")]
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
    #[schema(minimum = 0, maximum = 999, format = Int32, example = 0)]
    pub index: usize,
    /// Ce qu'est devenu l'élément.
    pub resultat: Resultat,
    /// Identifiant interne de l'élève.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6f")]
    pub eleve_id: Option<Uuid>,
    /// INE de l'élément, s'il a pu être lu.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "0494004062M", max_length = 11)]
    pub ine: Option<String>,
    /// Le problème d'un élément rejeté ; les pointeurs désignent des champs de la requête entière.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probleme: Option<Probleme>,
}

/// Décompte des résultats.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Resume {
    /// Éléments créés.
    #[schema(minimum = 0, maximum = 1000, format = Int32, example = 2)]
    pub crees: usize,
    /// Éléments modifiés.
    #[schema(minimum = 0, maximum = 1000, format = Int32, example = 1)]
    pub modifies: usize,
    /// Éléments déjà à jour.
    #[schema(minimum = 0, maximum = 1000, format = Int32, example = 0)]
    pub inchanges: usize,
    /// Éléments rejetés.
    #[schema(minimum = 0, maximum = 1000, format = Int32, example = 1)]
    pub rejetes: usize,
}

/// Réponse à un lot.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReponseLot {
    /// Mode du lot : `partiel` ou `tout_ou_rien`.
    #[schema(example = "partiel", max_length = 12, pattern = "^(partiel|tout_ou_rien)$")]
    pub mode: String,
    /// Décompte des résultats.
    pub resume: Resume,
    /// Un résultat par élément, dans l'ordre des éléments.
    #[schema(max_items = 1000)]
    pub resultats: Vec<ResultatElement>,
}

const CHAMPS_LOT: [&str; 2] = ["mode", "elements"];
fn probleme(e: &ApiError) -> Probleme {
    e.probleme()
}

/// The problem of an item the set-based path rejected: the one the item-by-item path gives.
fn refus(r: Rejet) -> ApiError {
    match (r.code.as_str(), r.cause) {
        (_, Some(Cause::Doublon(c))) => crate::securite::doublons::depuis(c),
        (_, Some(Cause::Transition(e))) => ApiError::Transition(e),
        ("ine_hors_perimetre", None) => ApiError::IneHorsPerimetre,
        ("eleve_hors_perimetre", None) => hors_perimetre(usize::try_from(r.ligne).unwrap_or(usize::MAX)),
        ("version_concurrente", None) => ApiError::Conflit {
            code: "modification_concurrente",
            detail: r.message,
        },
        ("inscription_active_existante", None) => ApiError::Conflit {
            code: "inscription_active_existante",
            detail: r.message,
        },
        ("ecole_inconnue", None) => corps::non_conforme(&r.pointeur, "ecole_inconnue", r.message),
        ("niveau_non_accueilli", None) => corps::non_conforme(&r.pointeur, "niveau_non_accueilli", r.message),
        (code, None) => ApiError::Interne(format!("rejet inattendu du lot : {code}")),
    }
}

/// An item whose pupil would be outside the caller's perimeter once written.
fn hors_perimetre(index: usize) -> ApiError {
    corps::non_conforme(
        &format!("/elements/{index}/eleve"),
        "eleve_hors_perimetre",
        "une fois écrit, l'élève doit être inscrit dans une école de votre périmètre ou résider dans une de vos \
         communes : rien de l'élément n'a été appliqué",
    )
}

/// What became of an item, before the answer is assembled.
enum Issue {
    Applique(Uuid, Resultat),
    Rejete(Box<Probleme>),
}

impl Issue {
    fn rejet(e: &ApiError) -> Self {
        Issue::Rejete(Box::new(probleme(e)))
    }
}

/// Every item's outcome, in the items' order: set-based on PostgreSQL, item by item elsewhere.
fn appliquer_tous(
    c: &mut DbConnection,
    acces: &Acces,
    lus: Vec<Result<ElementPousse, ApiError>>,
) -> Result<Vec<Issue>, ApiError> {
    if !matches!(c, DbConnection::Pg(_)) {
        return Ok(lus
            .iter()
            .enumerate()
            .map(|(index, lu)| match lu {
                Err(e) => Issue::rejet(e),
                // A savepoint per item: a failure undoes that item only.
                Ok(e) => match diesel::Connection::transaction(c, |c| appliquer(c, acces, index, e)) {
                    Ok((id, r)) => Issue::Applique(id, r),
                    Err(e) => Issue::rejet(&e),
                },
            })
            .collect());
    }
    let mut issues: Vec<Option<Issue>> = Vec::with_capacity(lus.len());
    let mut valides = Vec::with_capacity(lus.len());
    for (index, lu) in lus.into_iter().enumerate() {
        match lu {
            Ok(e) => {
                valides.push((index, e));
                issues.push(None);
            }
            Err(e) => issues.push(Some(Issue::rejet(&e))),
        }
    }
    let faits = onde_store::lots::appliquer(c, &acces.perimetre, valides, Utc::now().naive_utc())?
        .ok_or_else(|| ApiError::Interne("lot ensembliste indisponible".into()))?;
    for (index, fait) in faits {
        let issue = match fait {
            IssueElement::Applique(l) => Issue::Applique(
                l.eleve_id,
                match l.etat {
                    Etat::Cree => Resultat::Cree,
                    Etat::Modifie => Resultat::Modifie,
                    Etat::Inchange => Resultat::Inchange,
                },
            ),
            IssueElement::Rejete(r) => Issue::rejet(&refus(r)),
        };
        if let Some(place) = issues.get_mut(index) {
            *place = Some(issue);
        }
    }
    issues
        .into_iter()
        .map(|i| i.ok_or_else(|| ApiError::Interne("élément du lot sans résultat".into())))
        .collect()
}

/// Applies one item; `Err` rolls back its savepoint.
fn appliquer(
    c: &mut DbConnection,
    acces: &Acces,
    index: usize,
    e: &ElementPousse,
) -> Result<(Uuid, Resultat), ApiError> {
    let maintenant = Utc::now().naive_utc();
    let ine = &e.ine;
    onde_store::eleves::verrouiller_identite(c, &e.dossier.cle_doublon(), Some(ine))?;
    let (id, mut resultat) = match onde_store::eleves::id_par_ine(c, ine)? {
        Some((id, version)) => {
            if !onde_store::eleves::visible(c, &acces.perimetre, id)? {
                // The INE is taken outside the perimeter: never overwritten, nothing told of it.
                return Err(ApiError::IneHorsPerimetre);
            }
            let adresse = e.dossier.adresse.as_ref();
            if !onde_store::eleves::resterait_visible(
                c,
                &acces.perimetre,
                Some(id),
                adresse,
                !e.inscriptions.is_empty(),
            )? {
                return Err(hors_perimetre(index));
            }
            // By fingerprint when the stored pupil has one, else field by field.
            let inchange = onde_store::empreinte::inchange(c, id, &e.dossier)?
                .ok_or(ApiError::Introuvable { ressource: "L'élève" })?;
            if inchange {
                (id, Resultat::Inchange)
            } else {
                if let Some((autre, autre_ine)) = onde_store::eleves::par_cle_doublon(c, &e.dossier.cle_doublon())? {
                    if autre != id {
                        return Err(crate::securite::doublons::doublon(
                            c,
                            &acces.perimetre,
                            autre,
                            autre_ine,
                        )?);
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
            let adresse = e.dossier.adresse.as_ref();
            if !onde_store::eleves::resterait_visible(c, &acces.perimetre, None, adresse, !e.inscriptions.is_empty())? {
                return Err(hors_perimetre(index));
            }
            if let Some((autre, autre_ine)) = onde_store::eleves::par_cle_doublon(c, &e.dossier.cle_doublon())? {
                return Err(crate::securite::doublons::doublon(
                    c,
                    &acces.perimetre,
                    autre,
                    autre_ine,
                )?);
            }
            let id = Uuid::now_v7();
            onde_store::eleves::inserer(c, id, &e.dossier, maintenant)?;
            (id, Resultat::Cree)
        }
    };
    for p in &e.inscriptions {
        let ecole = onde_store::ecoles::trouver(c, &acces.perimetre, &p.uai)?.ok_or_else(|| {
            corps::non_conforme(
                &format!("{}/uai", p.pointeur),
                "ecole_inconnue",
                format!("école {} inconnue ou hors de votre périmètre", p.uai),
            )
        })?;
        if !ecole.type_ecole.accueille(p.niveau) {
            return Err(corps::non_conforme(
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
                    date_admission: p.date_admission_a_la_creation(),
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
    params(("Idempotency-Key" = Option<String>, Header, description = "Clé d'idempotence : un nouvel essai avec la même clé et le même corps renvoie la première réponse sans second effet, pendant 30 jours par défaut (durée de conservation)", pattern = "^[!-~]{1,255}$", max_length = 255, example = "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e")),
    request_body(content = crate::openapi::dossiers::DemandeLot, content_type = "application/json", description = "Le lot : son mode et ses éléments (dossier de l'élève avec son INE, et ses inscriptions)."),
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
    corps::verifier_type(&req, &[crate::constantes::JSON])?;
    let v: Value = onde_service::json::depuis_octets(&octets)?;
    let mut l = Lecture::default();
    let vide = serde_json::Map::new();
    // Read in place: the items are borrowed from the body, never copied.
    let o = l.objet(&v, "", &CHAMPS_LOT).unwrap_or(&vide);
    let tout_ou_rien = match o.get("mode").and_then(Value::as_str) {
        None | Some("partiel") => false,
        Some("tout_ou_rien") => true,
        Some(_) => {
            l.signaler("/mode", "mode_inconnu", "le mode vaut partiel ou tout_ou_rien");
            false
        }
    };
    let elements: &[Value] = match o.get("elements") {
        Some(Value::Array(e)) if e.is_empty() => {
            l.signaler("/elements", "lot_vide", "un lot contient au moins un élément");
            &[]
        }
        Some(Value::Array(e)) if e.len() > TAILLE_MAX_LOT => {
            l.signaler(
                "/elements",
                "lot_trop_grand",
                format!("un lot contient au plus {TAILLE_MAX_LOT} éléments ({} reçus)", e.len()),
            );
            &[]
        }
        Some(Value::Array(e)) => e,
        _ => {
            l.signaler(
                "/elements",
                "champ_obligatoire",
                "le champ « elements » (liste) est obligatoire",
            );
            &[]
        }
    };
    if !l.est_vide() {
        return Err(ApiError::NonConforme(depuis_manquements(l.manquements)));
    }
    // Items are read (and their format errors found) before any transaction.
    let aujourdhui = Utc::now().date_naive();
    let lus: Vec<Result<ElementPousse, ApiError>> = elements
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut l = Lecture::default();
            ElementPousse::lire(e, &format!("/elements/{i}"), aujourdhui, &mut l)
                .filter(|_| l.est_vide())
                .ok_or_else(|| ApiError::NonConforme(depuis_manquements(l.manquements)))
        })
        .collect();
    let a = acces.clone();
    ecriture::executer(&etat, &acces, &req, &octets, move |c| {
        let ines: Vec<Option<String>> = lus
            .iter()
            .map(|lu| lu.as_ref().ok().map(|e| e.ine.as_str().to_owned()))
            .collect();
        let issues = appliquer_tous(c, &a, lus)?;
        let mut resultats = Vec::with_capacity(issues.len());
        let mut touches = Vec::new();
        for (index, (issue, ine)) in issues.into_iter().zip(ines).enumerate() {
            resultats.push(match issue {
                Issue::Applique(id, r) => {
                    touches.push(id);
                    ResultatElement {
                        index,
                        resultat: r,
                        eleve_id: Some(id),
                        ine,
                        probleme: None,
                    }
                }
                Issue::Rejete(p) => {
                    // A candidate named in a result is shown too: traced, and a replay of this
                    // answer checks it is still in the caller's perimeter.
                    if let Some(candidat) = &p.candidat {
                        touches.push(candidat.id);
                    }
                    ResultatElement {
                        index,
                        resultat: Resultat::Rejete,
                        eleve_id: None,
                        ine,
                        probleme: Some(*p),
                    }
                }
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
