//! The admin API over partners (`/v1/admin/partenaires`): thin handlers that read the request,
//! call [`onde_service::partenaires`] on the blocking pool and shape the answer (ETag, Location,
//! no-store on secrets).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{get, patch, post, put, web, HttpRequest, HttpResponse};
use onde_domain::{DomainError, TypePartenaire};
use onde_service::horloge::maintenant;
use onde_service::partenaires::{
    creer, lister, modifier, modifier_partiellement, montrer, revoquer, tourner_secret, DefinitionPartenaire,
    DemandeRotation, FichePartenaire, FiltrePartenaires, NouveauPartenaire, NouveauSecret, PartenaireCree,
    ResumePartenaire,
};
use onde_service::Violation;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::acces::Acces;
use crate::erreurs::erreur::ApiError;
use crate::erreurs::probleme::{ErreursCreation, ErreursEcriture};
use crate::erreurs::probleme::{ErreursLecture, ErreursRessource};
use crate::etat::EtatApp;
use crate::http::bloquant::en_tache;
use crate::http::corps;
use crate::http::pagination;
use crate::http::parametres::{chemin, Lecteur};

/// Une page de partenaires, par date de création.
#[derive(Debug, Serialize, ToSchema)]
pub struct PagePartenaires {
    /// Les partenaires de la page, 1000 au plus (`limit`).
    #[schema(max_items = 1000)]
    pub elements: Vec<ResumePartenaire>,
    /// Curseur de la page suivante ; absent sur la dernière page.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,200}$", max_length = 200, example = "djE6MDE5MmQzZTQ")]
    pub curseur_suivant: Option<String>,
    /// Chemin de la page suivante (aussi dans l'en-tête `Link`) ; absent sur la dernière page.
    #[schema(
        max_length = 2000,
        example = "/v1/admin/partenaires?limit=100&curseur=djE6MDE5MmQzZTQ"
    )]
    pub lien_suivant: Option<String>,
}

fn identifiant(id: &str) -> Result<Uuid, ApiError> {
    chemin("id", id, |s| {
        Uuid::parse_str(s).map_err(|_| DomainError::Invalide {
            code: "identifiant_format",
            message: format!(
                "« {} » n'est pas un identifiant de partenaire (UUID, ex. 0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e)",
                s.chars().take(40).collect::<String>()
            ),
        })
    })
}

fn etiquette(f: &FichePartenaire) -> String {
    format!("\"{}\"", f.partenaire.version)
}

fn avec_etiquette(mut reponse: actix_web::HttpResponseBuilder, fiche: &FichePartenaire) -> HttpResponse {
    if let Ok(v) = HeaderValue::from_str(&etiquette(fiche)) {
        reponse.insert_header((header::ETAG, v));
    }
    reponse.json(fiche)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ParametresPartenaires {
    /// Type de partenaire.
    #[serde(rename = "type")]
    #[param(value_type = Option<TypePartenaire>)]
    type_partenaire: Option<String>,
    /// `true` : partenaires actifs seulement ; `false` : suspendus ou révoqués seulement.
    #[param(value_type = Option<bool>, example = true)]
    actif: Option<String>,
    /// Nombre maximal d'éléments de la page (1 à 1000 ; 100 par défaut).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000, example = 100)]
    limit: Option<String>,
    /// Curseur opaque de la page suivante, repris de `curseur_suivant`.
    #[param(value_type = Option<String>, pattern = r"^[A-Za-z0-9_-]{1,200}$", max_length = 200, example = "djE6MDc1MDY1NUU")]
    curseur: Option<String>,
}

/// Lister les partenaires
///
/// Partenaires enregistrés, du plus ancien au plus récent, filtrés par type et activité.
/// Pagination par curseur : suivre `lien_suivant` (ou l'en-tête `Link`) jusqu'à son absence.
#[utoipa::path(
    tag = "admin",
    operation_id = "lister_partenaires",
    params(ParametresPartenaires),
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "Une page de partenaires", body = PagePartenaires,
         headers(("Link" = String, description = "Lien vers la page suivante, `rel=\"next\"`"))),
        ErreursLecture,
    )
)]
#[get("/admin/partenaires")]
pub async fn lister_http(
    etat: web::Data<EtatApp>,
    _acces: Acces,
    params: web::Query<ParametresPartenaires>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let mut l = Lecteur::default();
    let filtre = FiltrePartenaires {
        type_partenaire: l.optionnel("type", p.type_partenaire.as_deref(), TypePartenaire::parse),
        actif: l.optionnel("actif", p.actif.as_deref(), |s| match s {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(DomainError::Invalide {
                code: "booleen_format",
                message: "« actif » vaut true ou false".into(),
            }),
        }),
    };
    let page = pagination::demande(&mut l, p.limit.as_deref(), p.curseur.as_deref());
    if page.apres.as_ref().is_some_and(|c| Uuid::parse_str(c.cle()).is_err()) {
        l.violation(Violation::parametre(
            "curseur",
            "curseur_invalide",
            "« curseur » doit être repris tel quel de la page précédente (champ curseur_suivant)",
        ));
    }
    l.terminer()?;
    let (elements, suivant) = en_tache(&etat.store, move |c| lister(c, &filtre, &page)).await?;
    let lien = suivant.as_ref().map(|c| pagination::lien_suivant(&req, c));
    let corps = PagePartenaires {
        elements,
        curseur_suivant: suivant.map(|c| c.encoder()),
        lien_suivant: lien.clone(),
    };
    Ok(pagination::reponse(&corps, lien.as_deref()))
}

/// Créer un partenaire
///
/// Enregistre un partenaire et crée son premier client OAuth 2.0. La réponse contient le
/// `client_secret` : il n'est montré qu'une fois, seule son empreinte argon2 est conservée.
/// Le type fixe la forme du périmètre et les scopes possibles ; une définition qui les
/// enfreint est refusée (422) avec la liste des violations.
#[utoipa::path(
    tag = "admin",
    operation_id = "creer_partenaire",
    request_body(content = NouveauPartenaire, content_type = "application/json", description = "Le partenaire à créer."),
    security(("oauth2" = ["admin"])),
    responses(
        (status = 201, description = "Partenaire créé ; identifiants à conserver maintenant", body = PartenaireCree,
         headers(("Location" = String, description = "Chemin du partenaire créé"))),
        ErreursCreation,
    )
)]
#[post("/admin/partenaires")]
pub async fn creer_http(
    etat: web::Data<EtatApp>,
    acces: Acces,
    req: HttpRequest,
    octets: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let demande: NouveauPartenaire = corps::lire(&req, &octets, &[crate::constantes::JSON])?;
    let cree = en_tache(&etat.store, move |c| creer(c, &demande, maintenant())).await?;
    let id = cree.partenaire.partenaire.id;
    tracing::info!(admin = %acces.partenaire_id, partenaire = %id, "partenaire créé");
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/admin/partenaires/{id}")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(cree))
}

/// Consulter un partenaire
///
/// Le partenaire, son périmètre et ses clients (dates de création et de révocation, validité
/// de l'ancien secret après une rotation) ; jamais de secret ni d'empreinte. L'en-tête `ETag`
/// porte sa version.
#[utoipa::path(
    tag = "admin",
    operation_id = "consulter_partenaire",
    params(("id" = Uuid, Path, description = "Identifiant du partenaire")),
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "Le partenaire", body = FichePartenaire,
         headers(("ETag" = String, description = "Version du partenaire"))),
        (status = 304, description = "Inchangé depuis la version indiquée par `If-None-Match`"),
        ErreursRessource,
    )
)]
#[get("/admin/partenaires/{id}")]
pub async fn montrer_http(
    etat: web::Data<EtatApp>,
    _acces: Acces,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = identifiant(&id)?;
    let fiche = en_tache(&etat.store, move |c| montrer(c, id, maintenant())).await?;
    let deja_vu = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim() == etiquette(&fiche) || e.trim() == "*"));
    if deja_vu {
        let mut r = HttpResponse::NotModified();
        if let Ok(v) = HeaderValue::from_str(&etiquette(&fiche)) {
            r.insert_header((header::ETAG, v));
        }
        return Ok(r.finish());
    }
    Ok(avec_etiquette(HttpResponse::Ok(), &fiche))
}

/// Remplacer la définition d'un partenaire
///
/// Remplace nom, scopes, périmètre (communes, UAI, mandats) et activité ; le type ne change
/// pas. Le nouveau périmètre et les scopes retirés s'appliquent dès la requête suivante du
/// partenaire, même avec un jeton déjà délivré. Un partenaire révoqué ne se modifie plus (409).
#[utoipa::path(
    tag = "admin",
    operation_id = "remplacer_partenaire",
    params(("id" = Uuid, Path, description = "Identifiant du partenaire")),
    request_body(content = DefinitionPartenaire, content_type = "application/json", description = "La nouvelle définition complète."),
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "Le partenaire modifié", body = FichePartenaire,
         headers(("ETag" = String, description = "Nouvelle version du partenaire"))),
        ErreursEcriture,
    )
)]
#[put("/admin/partenaires/{id}")]
pub async fn remplacer_http(
    etat: web::Data<EtatApp>,
    acces: Acces,
    id: web::Path<String>,
    req: HttpRequest,
    octets: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = identifiant(&id)?;
    let definition: DefinitionPartenaire = corps::lire(&req, &octets, &[crate::constantes::JSON])?;
    let fiche = en_tache(&etat.store, move |c| modifier(c, id, &definition, maintenant())).await?;
    tracing::info!(admin = %acces.partenaire_id, partenaire = %id, "partenaire modifié");
    Ok(avec_etiquette(HttpResponse::Ok(), &fiche))
}

/// Modifier une partie de la définition d'un partenaire
///
/// Correctif JSON (RFC 7396, `application/merge-patch+json`) appliqué à la définition
/// (`nom`, `scopes`, `communes`, `uais`, `mandats`, `actif`) : un champ absent est conservé,
/// `null` le vide, un tableau est remplacé en entier. Ex. `{"actif": false}` suspend le
/// partenaire.
#[utoipa::path(
    tag = "admin",
    operation_id = "modifier_partenaire",
    params(("id" = Uuid, Path, description = "Identifiant du partenaire")),
    request_body(content = Object, content_type = "application/merge-patch+json",
                 description = "Correctif JSON (RFC 7396) de la définition : les champs de `DefinitionPartenaire` à changer.",
                 example = json!({"communes": ["69123", "69266"]})),
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "Le partenaire modifié", body = FichePartenaire,
         headers(("ETag" = String, description = "Nouvelle version du partenaire"))),
        ErreursEcriture,
    )
)]
#[patch("/admin/partenaires/{id}")]
pub async fn modifier_http(
    etat: web::Data<EtatApp>,
    acces: Acces,
    id: web::Path<String>,
    req: HttpRequest,
    octets: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = identifiant(&id)?;
    let patch: serde_json::Value = corps::lire(
        &req,
        &octets,
        &[crate::constantes::MERGE_PATCH, crate::constantes::JSON],
    )?;
    let fiche = en_tache(&etat.store, move |c| {
        modifier_partiellement(c, id, &patch, maintenant())
    })
    .await?;
    tracing::info!(admin = %acces.partenaire_id, partenaire = %id, "partenaire modifié");
    Ok(avec_etiquette(HttpResponse::Ok(), &fiche))
}

/// Changer le secret d'un client
///
/// Donne un nouveau secret à un client du partenaire (montré une seule fois). L'ancien reste
/// accepté pendant `chevauchement_heures` (24 h par défaut) pour un déploiement sans coupure ;
/// `0` le refuse immédiatement, après une fuite. Corps facultatif.
#[utoipa::path(
    tag = "admin",
    operation_id = "changer_secret_partenaire",
    params(("id" = Uuid, Path, description = "Identifiant du partenaire")),
    request_body(content = Option<DemandeRotation>, content_type = "application/json", description = "Facultatif : le client visé et la durée de chevauchement."),
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "Le nouveau secret, à conserver maintenant", body = NouveauSecret),
        ErreursEcriture,
    )
)]
#[post("/admin/partenaires/{id}/secret")]
pub async fn tourner_secret_http(
    etat: web::Data<EtatApp>,
    acces: Acces,
    id: web::Path<String>,
    req: HttpRequest,
    octets: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = identifiant(&id)?;
    let demande: DemandeRotation = corps::lire_optionnel(&req, &octets, &[crate::constantes::JSON])?;
    let secret = en_tache(&etat.store, move |c| tourner_secret(c, id, &demande, maintenant())).await?;
    tracing::info!(admin = %acces.partenaire_id, partenaire = %id, client = %secret.client_id, "secret changé");
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(secret))
}

/// Révoquer un partenaire
///
/// Révoque tous ses clients et le désactive : ses jetons sont refusés dès la requête suivante.
/// Définitif (pour une suspension réversible, mettre `actif` à `false`). Révoquer deux fois
/// ne change rien.
#[utoipa::path(
    tag = "admin",
    operation_id = "revoquer_partenaire",
    params(("id" = Uuid, Path, description = "Identifiant du partenaire")),
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "Le partenaire révoqué", body = FichePartenaire),
        ErreursRessource,
    )
)]
#[post("/admin/partenaires/{id}/revocation")]
pub async fn revoquer_http(
    etat: web::Data<EtatApp>,
    acces: Acces,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = identifiant(&id)?;
    let fiche = en_tache(&etat.store, move |c| revoquer(c, id, maintenant())).await?;
    tracing::info!(admin = %acces.partenaire_id, partenaire = %id, "partenaire révoqué");
    Ok(avec_etiquette(HttpResponse::Ok(), &fiche))
}
