//! The administration API under `/v1/admin` (scope `admin`): partners ([`partenaires`]), the
//! audit trail ([`audit`]) and the token signing keys ([`cles`]).

pub mod audit;
pub mod cles;
pub mod partenaires;

use utoipa_actix_web::service_config::ServiceConfig;

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
        .service(cles::tourner_cles_http);
}
