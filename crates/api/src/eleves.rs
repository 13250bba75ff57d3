//! `/v1/eleves`: pupils of the caller's perimeter, with their guardians.

use actix_web::{get, web, HttpResponse};
use onde_domain::Ine;

use crate::acces::Acces;
use crate::bloquant::executer;
use crate::parametres::chemin;
use crate::probleme::ErreursRessource;
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
    responses((status = 200, description = "L'élève et ses responsables", body = EleveVue), ErreursRessource)
)]
#[get("/eleves/{ine}")]
pub async fn trouver(etat: web::Data<EtatApp>, acces: Acces, ine: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let ine = chemin("ine", &ine, Ine::parse)?;
    let perimetre = acces.perimetre.clone();
    let eleve = executer(&etat.store, move |c| {
        onde_store::eleves::trouver_par_ine(c, &perimetre, &ine)
    })
    .await?;
    let eleve = eleve.ok_or(ApiError::Introuvable { ressource: "L'élève" })?;
    Ok(HttpResponse::Ok().json(acces.exposer_eleve(&etat.auditeur, eleve)))
}
