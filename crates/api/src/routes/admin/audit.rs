//! `GET /v1/admin/audit`: the audit trail, read through [`onde_service::audit`] (shared with
//! `onde-echanges audit`).

use actix_web::{get, web, HttpRequest, HttpResponse};
use onde_domain::DomainError;
use onde_service::audit::{lire_instant, rechercher, Borne, EleveCherche, EntreeAudit, Recherche};
use onde_service::Violation;
use onde_store::Curseur;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::acces::Acces;
use crate::erreurs::erreur::ApiError;
use crate::erreurs::probleme::ErreursLecture;
use crate::etat::EtatApp;
use crate::http::bloquant::en_tache;
use crate::http::pagination;
use crate::http::parametres::Lecteur;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ParametresAudit {
    /// Identifiant du partenaire.
    #[param(value_type = Option<Uuid>, example = "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d70")]
    partenaire: Option<String>,
    /// Élève : identifiant interne (UUID) ou INE.
    #[param(value_type = Option<String>, max_length = 36, example = "0494004062M")]
    eleve: Option<String>,
    /// Début de période, inclus : date (`2026-03-01`, depuis 0 h UTC) ou instant ISO 8601.
    #[param(value_type = Option<String>, max_length = 40, example = "2026-03-01")]
    depuis: Option<String>,
    /// Fin de période : une date inclut toute la journée ; un instant est exclu.
    #[param(value_type = Option<String>, max_length = 40, example = "2026-03-31")]
    jusqua: Option<String>,
    /// Nombre maximal d'éléments de la page (1 à 1000 ; 100 par défaut).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000, example = 100)]
    limit: Option<String>,
    /// Curseur opaque de la page suivante, repris de `curseur_suivant`.
    #[param(value_type = Option<String>, pattern = r"^[A-Za-z0-9_-]{1,200}$", max_length = 200, example = "djE6MDc1MDY1NUU")]
    curseur: Option<String>,
}

/// Une page de la piste d'audit, de la plus récente à la plus ancienne entrée.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageAudit {
    /// Les entrées de la page, 1000 au plus (`limit`).
    #[schema(max_items = 1000)]
    pub elements: Vec<EntreeAudit>,
    /// Curseur de la page suivante ; absent sur la dernière page.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,200}$", max_length = 200, example = "djE6MTIzNA")]
    pub curseur_suivant: Option<String>,
    /// Chemin de la page suivante (aussi dans l'en-tête `Link`) ; absent sur la dernière page.
    #[schema(max_length = 2000, example = "/v1/admin/audit?limit=100&curseur=djE6MTIzNA")]
    pub lien_suivant: Option<String>,
}

/// Consulter la piste d'audit
///
/// Accès aux données personnelles tracés (qui, quand, quelle opération, quels élèves), du
/// plus récent au plus ancien, filtrés par partenaire, élève et période. Pagination par
/// curseur : suivre `lien_suivant` (ou l'en-tête `Link`) jusqu'à son absence. Une réponse
/// portant des données personnelles n'est envoyée qu'une fois son entrée validée : tout accès
/// reçu par un partenaire y figure.
#[utoipa::path(
    tag = "admin",
    operation_id = "consulter_audit",
    params(ParametresAudit),
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "Une page d'entrées", body = PageAudit,
         headers(("Link" = String, description = "Lien vers la page suivante, `rel=\"next\"`"))),
        ErreursLecture,
    )
)]
#[get("/admin/audit")]
pub async fn rechercher_http(
    etat: web::Data<EtatApp>,
    _acces: Acces,
    params: web::Query<ParametresAudit>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let mut l = Lecteur::default();
    let recherche = Recherche {
        partenaire: l.optionnel("partenaire", p.partenaire.as_deref(), |s| {
            Uuid::parse_str(s).map_err(|_| DomainError::Invalide {
                code: "identifiant_format",
                message: "« partenaire » est l'identifiant (UUID) d'un partenaire".into(),
            })
        }),
        eleve: l.optionnel("eleve", p.eleve.as_deref(), EleveCherche::parse),
        depuis: l.optionnel("depuis", p.depuis.as_deref(), |s| lire_instant(s, Borne::Debut)),
        jusqua: l.optionnel("jusqua", p.jusqua.as_deref(), |s| lire_instant(s, Borne::Fin)),
    };
    if let (Some(d), Some(j)) = (recherche.depuis, recherche.jusqua) {
        if d >= j {
            l.violation(Violation::parametre(
                "jusqua",
                "periode_vide",
                "« jusqua » doit suivre « depuis »",
            ));
        }
    }
    let page = pagination::demande(&mut l, p.limit.as_deref(), p.curseur.as_deref());
    let avant_id = match &page.apres {
        None => None,
        Some(c) => {
            let id = c.cle().parse::<i64>().ok();
            if id.is_none() {
                l.violation(Violation::parametre(
                    "curseur",
                    "curseur_invalide",
                    "« curseur » doit être repris tel quel de la page précédente (champ curseur_suivant)",
                ));
            }
            id
        }
    };
    l.terminer()?;
    let limite = page.limite;
    let (elements, suivant) = en_tache(&etat.store, move |c| rechercher(c, &recherche, limite, avant_id)).await?;
    let suivant = suivant.map(|id| Curseur::apres(id.to_string()));
    let lien = suivant.as_ref().map(|c| pagination::lien_suivant(&req, c));
    let corps = PageAudit {
        elements,
        curseur_suivant: suivant.map(|c| c.encoder()),
        lien_suivant: lien.clone(),
    };
    Ok(pagination::reponse(&corps, lien.as_deref()))
}
