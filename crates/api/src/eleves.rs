//! `/v1/eleves`: pupils of the caller's perimeter, with their guardians.

use actix_web::http::StatusCode;
use actix_web::{get, patch, put, web, HttpRequest, HttpResponse};
use chrono::Utc;
use onde_domain::dossier::{DossierEleve, Lecture};
use onde_domain::{Eleve, Ine, Perimetre};
use onde_store::DbConnection;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::acces::Acces;
use crate::bloquant::executer;
use crate::corps;
use crate::ecriture::{self, etag, ReponseEcriture};
use crate::parametres::chemin;
use crate::probleme::{depuis_manquements, ErreursMiseAJour, ErreursRessource};
use crate::vue::EleveVue;
use crate::{ApiError, EtatApp};

/// Consulter un élève
///
/// L'élève d'INE donné avec ses responsables légaux, s'il est scolarisé dans une école du
/// périmètre de l'appelant (inscription active) ou réside dans une de ses communes.
#[utoipa::path(
    tag = "eleves",
    operation_id = "consulter_eleve",
    security(("oauth2" = ["eleves:read"])),
    params(("ine" = Ine, Path, description = "INE de l'élève")),
    responses((status = 200, description = "L'élève et ses responsables", body = EleveVue,
        headers(("ETag" = String, description = "Version, à renvoyer en If-Match lors d'une écriture"))), ErreursRessource)
)]
#[get("/eleves/{ine}")]
pub async fn trouver(etat: web::Data<EtatApp>, acces: Acces, ine: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let ine = chemin("ine", &ine, Ine::parse)?;
    let perimetre = acces.perimetre.clone();
    let trouve = executer(&etat.store, move |c| {
        let eleve = onde_store::eleves::trouver_par_ine(c, &perimetre, &ine)?;
        let version = onde_store::eleves::id_par_ine(c, &ine)?.map(|(_, v)| v);
        Ok(eleve.zip(version))
    })
    .await?;
    let (eleve, version) = trouve.ok_or(ApiError::Introuvable { ressource: "L'élève" })?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(version)))
        .json(acces.exposer_eleve(&etat.auditeur, eleve)))
}

/// The record of a stored pupil, in the shape partners send (the base of a merge patch).
fn en_dossier(e: &Eleve) -> Value {
    json!({
        "ine": e.ine,
        "nom": e.nom,
        "prenoms": e.prenoms,
        "sexe": e.sexe,
        "date_naissance": e.date_naissance,
        "lieu_naissance": e.lieu_naissance,
        "adresse": e.adresse,
        "responsables": e.responsables.iter().map(|r| {
            let mut o = json!({
                "nom": r.nom,
                "prenom": r.prenom,
                "lien": r.lien,
                "autorite_parentale": r.autorite_parentale,
            });
            for (cle, valeur) in [("telephone", &r.telephone), ("courriel", &r.courriel), ("adresse", &r.adresse)] {
                if let Some(v) = valeur {
                    o[cle] = json!(v);
                }
            }
            o
        }).collect::<Vec<_>>(),
    })
}

fn lire_dossier(v: &Value, ine: &Ine) -> Result<DossierEleve, ApiError> {
    let mut l = Lecture::default();
    let mut v = v.clone();
    match v.get("ine") {
        None | Some(Value::Null) => {
            if let Some(o) = v.as_object_mut() {
                o.insert("ine".into(), json!(ine.as_str()));
            }
        }
        Some(Value::String(s)) if s == ine.as_str() => {}
        Some(_) => l.signaler(
            "/ine",
            "ine_different_du_chemin",
            format!("l'INE du corps doit être celui du chemin ({ine})"),
        ),
    }
    let d = DossierEleve::lire(&v, "", Utc::now().date_naive(), &mut l);
    match d {
        Some(d) if l.est_vide() => Ok(d),
        _ => Err(ApiError::NonConforme(depuis_manquements(l.manquements))),
    }
}

/// Creates or replaces the pupil `ine`; answers 201 (created), 200 (replaced or unchanged).
fn ecrire_dossier(
    c: &mut DbConnection,
    acces: &Acces,
    ine: &Ine,
    dossier: DossierEleve,
    si_version: Option<i64>,
) -> Result<ReponseEcriture, ApiError> {
    let maintenant = Utc::now().naive_utc();
    onde_store::eleves::verrouiller_identite(c, &dossier.cle_doublon(), Some(ine))?;
    let (id, version, statut) = match onde_store::eleves::id_par_ine(c, ine)? {
        Some((id, version)) => {
            if !onde_store::eleves::visible(c, &acces.perimetre, id)? {
                return Err(ApiError::Introuvable { ressource: "L'élève" });
            }
            ecriture::verifier_version(si_version, version)?;
            let (stocke, _) = onde_store::eleves::trouver(c, &Perimetre::National, id)?
                .ok_or(ApiError::Introuvable { ressource: "L'élève" })?;
            if onde_store::eleves::identique(&stocke, &dossier) {
                (id, version, StatusCode::OK)
            } else {
                if let Some((autre, autre_ine)) = onde_store::eleves::par_cle_doublon(c, &dossier.cle_doublon())? {
                    if autre != id {
                        return Err(ApiError::Doublon {
                            candidat: autre,
                            ine: autre_ine,
                        });
                    }
                }
                let nouvelle = onde_store::eleves::remplacer(c, id, &dossier, version, maintenant)?.ok_or(
                    ApiError::PreconditionEchouee {
                        version_actuelle: version + 1,
                    },
                )?;
                (id, nouvelle, StatusCode::OK)
            }
        }
        None => {
            if si_version.is_some() {
                return Err(ApiError::Introuvable { ressource: "L'élève" });
            }
            if let Some((autre, autre_ine)) = onde_store::eleves::par_cle_doublon(c, &dossier.cle_doublon())? {
                return Err(ApiError::Doublon {
                    candidat: autre,
                    ine: autre_ine,
                });
            }
            // A new pupil must land in the caller's perimeter, or the caller could never read
            // it back: by residence here; with an inscription, through POST /v1/inscriptions
            // or a batch.
            if let Perimetre::Restreint { communes, .. } = &acces.perimetre {
                if !dossier.adresse.as_ref().is_some_and(|a| communes.contains(&a.commune)) {
                    return Err(ApiError::NonConforme(vec![crate::probleme::Violation {
                        pointer: Some("/adresse/commune".into()),
                        parametre: None,
                        code: "eleve_hors_perimetre".into(),
                        message: "un nouvel élève sans inscription doit résider dans une commune de votre périmètre ; \
                                  sinon, créez-le avec son inscription (POST /v1/lots/eleves ou POST /v1/inscriptions)"
                            .into(),
                    }]));
                }
            }
            let id = Uuid::now_v7();
            onde_store::eleves::inserer(c, id, &dossier, maintenant)?;
            (id, 1, StatusCode::CREATED)
        }
    };
    let (eleve, _) = onde_store::eleves::trouver(c, &Perimetre::National, id)?
        .ok_or_else(|| ApiError::Interne("élève introuvable après écriture".into()))?;
    let corps = serde_json::to_value(acces.vue_eleve(eleve)).map_err(|e| ApiError::Interne(e.to_string()))?;
    let mut r = ReponseEcriture::new(statut, corps)
        .entete("ETag", etag(version))
        .eleves(vec![id]);
    if statut == StatusCode::CREATED {
        r = r.entete("Location", format!("/v1/eleves/{ine}"));
    }
    Ok(r)
}

/// Créer ou remplacer un élève
///
/// Écrit le dossier complet de l'élève d'INE donné, responsables compris (ils remplacent les
/// précédents) : création (201) si l'INE est inconnu, remplacement (200) s'il est dans le
/// périmètre, sans effet (200, même ETag) si rien ne change. `If-Match` protège d'une écriture
/// concurrente (412). Un élève identique à un autre sur les cinq champs normalisés est refusé
/// (409, `candidat`).
#[utoipa::path(
    tag = "eleves",
    operation_id = "ecrire_eleve",
    security(("oauth2" = ["eleves:write"])),
    params(
        ("ine" = Ine, Path, description = "INE de l'élève"),
        ("If-Match" = Option<String>, Header, description = "ETag lu (ex. \"v3\") : refus 412 si l'élève a changé depuis"),
    ),
    request_body(content = Object, content_type = "application/json", description = "Dossier de l'élève : ine (facultatif, égal à celui du chemin), nom, prenoms, sexe, date_naissance, lieu_naissance, adresse, responsables"),
    responses(
        (status = 200, description = "Élève remplacé ou inchangé", body = EleveVue, headers(("ETag" = String, description = "Version"))),
        (status = 201, description = "Élève créé", body = EleveVue, headers(("ETag" = String, description = "Version"), ("Location" = String, description = "Chemin de l'élève"))),
        ErreursMiseAJour,
    )
)]
#[put("/eleves/{ine}")]
pub async fn ecrire(
    etat: web::Data<EtatApp>,
    acces: Acces,
    req: HttpRequest,
    octets: web::Bytes,
    ine: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let ine = chemin("ine", &ine, Ine::parse)?;
    let si_version = ecriture::si_correspond(&req)?;
    corps::verifier_type(&req, &[corps::JSON])?;
    let v: Value = corps::depuis_octets(&octets)?;
    let dossier = lire_dossier(&v, &ine)?;
    let a = acces.clone();
    ecriture::executer(&etat, &acces, &req, &octets, move |c| {
        ecrire_dossier(c, &a, &ine, dossier, si_version)
    })
    .await
}

/// Modifier un élève
///
/// Correctif JSON (RFC 7396, `application/merge-patch+json`) appliqué au dossier de l'élève :
/// les champs absents restent, `null` efface un champ facultatif, une liste (prénoms,
/// responsables) est remplacée entière. Le résultat est validé comme un dossier complet.
#[utoipa::path(
    patch,
    tag = "eleves",
    operation_id = "modifier_eleve",
    security(("oauth2" = ["eleves:write"])),
    params(
        ("ine" = Ine, Path, description = "INE de l'élève"),
        ("If-Match" = Option<String>, Header, description = "ETag lu (ex. \"v3\") : refus 412 si l'élève a changé depuis"),
    ),
    request_body(content = Object, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Élève modifié", body = EleveVue, headers(("ETag" = String, description = "Version"))),
        ErreursMiseAJour,
    )
)]
#[patch("/eleves/{ine}")]
pub async fn modifier(
    etat: web::Data<EtatApp>,
    acces: Acces,
    req: HttpRequest,
    octets: web::Bytes,
    ine: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let ine = chemin("ine", &ine, Ine::parse)?;
    let si_version = ecriture::si_correspond(&req)?;
    corps::verifier_type(&req, &[corps::MERGE_PATCH, corps::JSON])?;
    let correctif: Value = corps::depuis_octets(&octets)?;
    if !correctif.is_object() {
        return Err(ApiError::CorpsIllisible(vec![corps::violation(
            "",
            "type_invalide",
            "un correctif JSON (merge patch) est un objet",
        )]));
    }
    let a = acces.clone();
    ecriture::executer(&etat, &acces, &req, &octets, move |c| {
        let (id, _) =
            onde_store::eleves::id_par_ine(c, &ine)?.ok_or(ApiError::Introuvable { ressource: "L'élève" })?;
        let (stocke, _) = onde_store::eleves::trouver(c, &a.perimetre, id)?
            .ok_or(ApiError::Introuvable { ressource: "L'élève" })?;
        let mut document = en_dossier(&stocke);
        crate::partenaires::fusionner(&mut document, &correctif);
        let dossier = lire_dossier(&document, &ine)?;
        ecrire_dossier(c, &a, &ine, dossier, si_version)
    })
    .await
}
