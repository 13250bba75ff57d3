//! `/v1/ecoles`: the schools of the caller's perimeter.

use actix_web::{get, web, HttpRequest, HttpResponse};
use onde_domain::{CodeInsee, Ecole, Secteur, TypeEcole, Uai};
use onde_store::ecoles::FiltreEcoles;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::acces::Acces;
use crate::erreurs::erreur::ApiError;
use crate::erreurs::probleme::{ErreursLecture, ErreursRessource};
use crate::etat::EtatApp;
use crate::http::bloquant::{executer, executer_puis};
use crate::http::pagination;
use crate::http::parametres::{chemin, Lecteur};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ParametresEcoles {
    /// Code INSEE de la commune d'implantation.
    #[param(value_type = Option<CodeInsee>)]
    commune: Option<String>,
    /// Type d'école.
    #[serde(rename = "type")]
    #[param(value_type = Option<TypeEcole>)]
    type_ecole: Option<String>,
    /// Secteur.
    #[param(value_type = Option<Secteur>)]
    secteur: Option<String>,
    /// Nombre maximal d'éléments de la page (1 à 1000 ; 100 par défaut).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000, example = 100)]
    limit: Option<String>,
    /// Curseur opaque de la page suivante, repris de `curseur_suivant`.
    #[param(value_type = Option<String>, pattern = r"^[A-Za-z0-9_-]{1,200}$", max_length = 200, example = "djE6MDc1MDY1NUU")]
    curseur: Option<String>,
}

/// Une page d'écoles, triées par UAI.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageEcoles {
    /// Les écoles de la page, 1000 au plus (`limit`).
    #[schema(max_items = 1000)]
    pub elements: Vec<Ecole>,
    /// Curseur de la page suivante ; absent sur la dernière page.
    #[schema(example = "djE6MDc1MDY1NUU", pattern = r"^[A-Za-z0-9_-]{1,200}$", max_length = 200)]
    pub curseur_suivant: Option<String>,
    /// Chemin de la page suivante (aussi dans l'en-tête `Link`) ; absent sur la dernière page.
    #[schema(example = "/v1/ecoles?limit=100&curseur=djE6MDc1MDY1NUU", max_length = 2000)]
    pub lien_suivant: Option<String>,
}

/// Lister les écoles
///
/// Écoles du périmètre de l'appelant, filtrées par commune, type et secteur, triées par UAI.
/// Pagination par curseur : suivre `lien_suivant` (ou l'en-tête `Link: <…>; rel="next"`)
/// jusqu'à son absence.
#[utoipa::path(
    tag = "ecoles",
    operation_id = "lister_ecoles",
    security(("oauth2" = ["ecoles:read"])),
    params(ParametresEcoles),
    responses(
        (status = 200, description = "Une page d'écoles", body = PageEcoles,
         headers(("Link" = String, description = "Lien vers la page suivante, `rel=\"next\"`"))),
        ErreursLecture,
    )
)]
#[get("/ecoles")]
pub async fn lister(
    etat: web::Data<EtatApp>,
    acces: Acces,
    params: web::Query<ParametresEcoles>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let mut l = Lecteur::default();
    let filtre = FiltreEcoles {
        commune: l.optionnel("commune", p.commune.as_deref(), CodeInsee::parse),
        type_ecole: l.optionnel("type", p.type_ecole.as_deref(), TypeEcole::parse),
        secteur: l.optionnel("secteur", p.secteur.as_deref(), Secteur::parse),
    };
    let page = pagination::demande(&mut l, p.limit.as_deref(), p.curseur.as_deref());
    l.terminer()?;
    let adresse = pagination::Adresse::de(&req);
    let page = executer_puis(
        &etat.lecture,
        move |c| onde_store::ecoles::lister(c, &acces.perimetre, &filtre, &page),
        move |resultat| {
            let lien = resultat.suivant.as_ref().map(|c| adresse.suivante(c));
            let corps = PageEcoles {
                elements: resultat.elements,
                curseur_suivant: resultat.suivant.map(|c| c.encoder()),
                lien_suivant: lien.clone(),
            };
            pagination::PageServie::serialiser(&corps, lien)
        },
    )
    .await?;
    Ok(page.reponse())
}

/// Consulter une école
///
/// L'école d'UAI donné, si elle est dans le périmètre de l'appelant.
#[utoipa::path(
    tag = "ecoles",
    operation_id = "consulter_ecole",
    security(("oauth2" = ["ecoles:read"])),
    params(("uai" = Uai, Path, description = "UAI de l'école")),
    responses((status = 200, description = "L'école", body = Ecole), ErreursRessource)
)]
#[get("/ecoles/{uai}")]
pub async fn trouver(etat: web::Data<EtatApp>, acces: Acces, uai: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let uai = chemin("uai", &uai, Uai::parse)?;
    let ecole = executer(&etat.store, move |c| {
        onde_store::ecoles::trouver(c, &acces.perimetre, &uai)
    })
    .await?;
    let ecole = ecole.ok_or(ApiError::Introuvable { ressource: "L'école" })?;
    Ok(HttpResponse::Ok().json(ecole))
}
