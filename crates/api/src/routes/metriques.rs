//! `GET /metrics`: what [`crate::middleware::metriques`] counts, in Prometheus' text format.

use actix_web::{get, web, HttpResponse};

use crate::etat::EtatApp;
use crate::middleware::metriques;

/// Métriques Prometheus
///
/// Latences et statuts par route, pool de connexions, processus et activité de chaque
/// partenaire, au format texte de Prometheus. À réserver au réseau d'exploitation (le
/// mandataire inverse d'exemple la bloque de l'extérieur) ; aucune donnée personnelle.
#[utoipa::path(
    tag = "sante",
    operation_id = "metriques",
    responses((status = 200, description = "Les métriques", content_type = "text/plain; version=0.0.4", body = String))
)]
#[get("/metrics")]
pub async fn exposer(etat: web::Data<EtatApp>) -> HttpResponse {
    let (connexions, inactives) = etat.store.etat_pool();
    let tampon = match metriques::encoder(connexions, inactives) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(erreur = %e, "encodage des métriques");
            return HttpResponse::InternalServerError().finish();
        }
    };
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(tampon)
}
