//! Liveness and readiness probes.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::erreurs::erreur::ApiError;
use crate::erreurs::probleme::Probleme;
use crate::etat::EtatApp;
use crate::http::bloquant::executer;

/// État d'une sonde.
#[derive(Debug, Serialize, ToSchema)]
pub struct EtatSante {
    /// `ok` quand la sonde réussit.
    #[schema(example = "ok", max_length = 20)]
    pub statut: String,
}

/// Sonde de vie
///
/// Le processus répond ; ne consulte pas la base de données.
#[utoipa::path(tag = "sante", operation_id = "sonde_vie", responses((status = 200, description = "Vivant", body = EtatSante)))]
#[get("/health/live")]
pub async fn vivant() -> HttpResponse {
    HttpResponse::Ok().json(EtatSante { statut: "ok".into() })
}

/// Sonde de disponibilité
///
/// La passerelle peut servir : la base de données répond.
#[utoipa::path(
    tag = "sante",
    operation_id = "sonde_disponibilite",
    responses(
        (status = 200, description = "Prête", body = EtatSante),
        (status = 503, description = "Base de données injoignable", body = Probleme, content_type = "application/problem+json"),
    )
)]
#[get("/health/ready")]
pub async fn pret(etat: web::Data<EtatApp>) -> Result<HttpResponse, ApiError> {
    let store = etat.store.clone();
    executer(&etat.store, move |_| store.verifier()).await?;
    Ok(HttpResponse::Ok().json(EtatSante { statut: "ok".into() }))
}
