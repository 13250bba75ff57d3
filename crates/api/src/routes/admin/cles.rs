//! `POST /v1/admin/cles/rotation`: a new token signing key ([`onde_service::cles`]).

use actix_web::{post, web, HttpResponse};
use onde_service::cles::{tourner_cles, CleTournee};

use crate::auth::acces::Acces;
use crate::erreurs::erreur::ApiError;
use crate::erreurs::probleme::Probleme;
use crate::etat::EtatApp;
use crate::http::bloquant::en_tache;

/// Changer la clé de signature des jetons
///
/// Une nouvelle clé signe les jetons à partir de maintenant ; la précédente reste publiée
/// dans `/.well-known/jwks.json` et vérifie les jetons déjà délivrés jusqu'à leur expiration.
#[utoipa::path(
    tag = "admin",
    operation_id = "tourner_cles",
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "La nouvelle clé", body = CleTournee),
        (status = 400, description = "En-tête de requête invalide (ex. `Onde-Mandat` mal formé)", body = Probleme, content_type = "application/problem+json"),
        (status = 401, description = "Jeton absent, invalide, expiré ou révoqué", body = Probleme, content_type = "application/problem+json"),
        (status = 403, description = "Le jeton ne porte pas le scope `admin`", body = Probleme, content_type = "application/problem+json"),
        (status = 503, description = "Base de données momentanément indisponible", body = Probleme, content_type = "application/problem+json"),
    )
)]
#[post("/admin/cles/rotation")]
pub async fn tourner_cles_http(etat: web::Data<EtatApp>, acces: Acces) -> Result<HttpResponse, ApiError> {
    let trousseau = etat.trousseau.clone();
    let cle = en_tache(&etat.store, move |c| -> Result<CleTournee, ApiError> {
        let cle = tourner_cles(c, &trousseau.config().chiffrement)?;
        // This node signs with the new key at once; the others pick it up when they reload.
        trousseau.recharger(c)?;
        Ok(cle)
    })
    .await?;
    tracing::info!(admin = %acces.partenaire_id, kid = %cle.kid, "clé de signature changée");
    Ok(HttpResponse::Ok().json(cle))
}
