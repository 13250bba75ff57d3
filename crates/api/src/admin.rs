//! The administration API under `/v1/admin` (scope `admin`): partners
//! ([`crate::partenaires`]), the audit trail ([`crate::audit`]) and the token signing keys
//! ([`onde_service::cles`]).

use actix_web::{post, web, HttpResponse};
use onde_service::cles::{tourner_cles, CleTournee};
use onde_store::{DbConnection, Store};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::acces::Acces;
use crate::probleme::Probleme;
use crate::{audit, partenaires, ApiError, EtatApp};

/// Registers every admin operation; to be called inside the `/v1` scope.
pub fn configurer(cfg: &mut ServiceConfig) {
    cfg.service(partenaires::lister_http)
        .service(partenaires::creer_http)
        .service(partenaires::montrer_http)
        .service(partenaires::remplacer_http)
        .service(partenaires::modifier_http)
        .service(partenaires::tourner_secret_http)
        .service(partenaires::revoquer_http)
        .service(audit::rechercher_http)
        .service(tourner_cles_http);
}

/// Runs a blocking service call (diesel, argon2) on the blocking pool.
pub(crate) async fn en_tache<T, E, F>(store: &Store, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: Send + 'static,
    ApiError: From<E>,
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
{
    let store = store.clone();
    web::block(move || {
        let mut conn = store.connexion()?;
        f(&mut conn).map_err(ApiError::from)
    })
    .await
    .map_err(|e| ApiError::Interne(format!("tâche bloquante interrompue : {e}")))?
}

/// Errors of an admin write.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ErreursEcriture {
    /// Corps illisible (JSON mal formé, champ inconnu ou manquant, type inattendu) ou
    /// identifiant de chemin mal formé ; chaque violation porte le pointeur JSON du champ.
    #[response(status = 400, content_type = "application/problem+json")]
    CorpsIllisible(Probleme),
    /// Jeton absent, invalide, expiré ou révoqué (en-tête `WWW-Authenticate: Bearer`).
    #[response(status = 401, content_type = "application/problem+json", headers(("WWW-Authenticate" = String, description = "Défi Bearer (RFC 6750)")))]
    NonAuthentifie(Probleme),
    /// Le jeton ne porte pas le scope `admin`.
    #[response(status = 403, content_type = "application/problem+json")]
    Interdit(Probleme),
    /// Partenaire ou client inconnu.
    #[response(status = 404, content_type = "application/problem+json")]
    Introuvable(Probleme),
    /// Partenaire ou client révoqué : l'opération n'est plus possible.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflit(Probleme),
    /// Corps envoyé avec un autre type que `application/json`.
    #[response(status = 415, content_type = "application/problem+json")]
    TypeContenu(Probleme),
    /// Contenu refusé : identifiant mal formé, scope non permis au type, périmètre d'une
    /// autre forme que celle du type… ; chaque violation porte le pointeur JSON du champ.
    #[response(status = 422, content_type = "application/problem+json")]
    NonConforme(Probleme),
    /// Corps de plus de 8 Mio.
    #[response(status = 413, content_type = "application/problem+json")]
    TropGrand(Probleme),
    /// Erreur inattendue, journalisée avec l'identifiant de la requête (`instance`).
    #[response(status = 500, content_type = "application/problem+json")]
    Interne(Probleme),
    /// Base de données momentanément indisponible ; réessayer après `Retry-After` secondes.
    #[response(status = 503, content_type = "application/problem+json", headers(("Retry-After" = u32, description = "Délai conseillé avant un nouvel essai, en secondes")))]
    Indisponible(Probleme),
}

/// Errors of a creation (no resource to find, no state to conflict with yet).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ErreursCreation {
    /// Corps illisible (JSON mal formé, champ inconnu ou manquant, type inattendu) ; chaque
    /// violation porte le pointeur JSON du champ.
    #[response(status = 400, content_type = "application/problem+json")]
    CorpsIllisible(Probleme),
    /// Jeton absent, invalide, expiré ou révoqué (en-tête `WWW-Authenticate: Bearer`).
    #[response(status = 401, content_type = "application/problem+json", headers(("WWW-Authenticate" = String, description = "Défi Bearer (RFC 6750)")))]
    NonAuthentifie(Probleme),
    /// Le jeton ne porte pas le scope `admin`.
    #[response(status = 403, content_type = "application/problem+json")]
    Interdit(Probleme),
    /// Corps envoyé avec un autre type que `application/json`.
    #[response(status = 415, content_type = "application/problem+json")]
    TypeContenu(Probleme),
    /// Contenu refusé : identifiant mal formé, scope non permis au type, périmètre d'une
    /// autre forme que celle du type… ; chaque violation porte le pointeur JSON du champ.
    #[response(status = 422, content_type = "application/problem+json")]
    NonConforme(Probleme),
    /// Corps de plus de 8 Mio.
    #[response(status = 413, content_type = "application/problem+json")]
    TropGrand(Probleme),
    /// Erreur inattendue, journalisée avec l'identifiant de la requête (`instance`).
    #[response(status = 500, content_type = "application/problem+json")]
    Interne(Probleme),
    /// Base de données momentanément indisponible ; réessayer après `Retry-After` secondes.
    #[response(status = 503, content_type = "application/problem+json", headers(("Retry-After" = u32, description = "Délai conseillé avant un nouvel essai, en secondes")))]
    Indisponible(Probleme),
}

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
