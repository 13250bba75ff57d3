//! `POST /v1/inscriptions`: an inscription by a mairie, for an existing pupil or a new one
//! created in the same transaction.

use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use onde_domain::dossier::{verifier_age, verifier_age_eleve_connu, DossierEleve, Lecture};
use onde_domain::{AnneeScolaire, DomainError, Inscription, Niveau, Uai};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::acces::Acces;
use crate::erreurs::erreur::ApiError;
use crate::erreurs::probleme::ErreursMiseAJour;
use crate::etat::EtatApp;
use crate::http::corps;
use crate::http::ecriture::{self};
use crate::routes::workflow::commun::{
    aujourdhui, ecole_accessible, inserer_inscription, lire_json, maintenant, non_conforme, reponse_inscription,
};
use crate::securite::vue::InscriptionDetaillee;

/// Corps d'une demande d'inscription : un élève existant (`eleve_id`) ou un nouvel élève (`eleve`).
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct DemandeInscription {
    /// Identifiant interne d'un élève existant (exclusif de `eleve`).
    #[schema(example = "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6f")]
    eleve_id: Option<Uuid>,
    /// Dossier d'un nouvel élève, créé dans la même transaction (exclusif de `eleve_id`).
    #[schema(value_type = Option<crate::openapi::dossiers::DossierEleve>)]
    eleve: Option<Value>,
    /// École d'inscription.
    uai: Uai,
    /// Année scolaire.
    annee_scolaire: AnneeScolaire,
    /// Niveau.
    niveau: Niveau,
    /// Classe (libellé libre).
    #[schema(example = "CP-A", max_length = 50)]
    classe: Option<String>,
    /// Dispositif particulier (ex. ULIS).
    #[schema(example = "ULIS", max_length = 50)]
    dispositif: Option<String>,
    /// Par défaut : aujourd'hui.
    #[schema(example = "2026-06-02")]
    date_inscription: Option<NaiveDate>,
}

struct Creation {
    eleve: Result<Uuid, DossierEleve>,
    uai: Uai,
    annee: AnneeScolaire,
    niveau: Niveau,
    classe: Option<String>,
    dispositif: Option<String>,
    date: NaiveDate,
}

fn lire_creation(v: &Value) -> Result<Creation, ApiError> {
    let mut l = Lecture::default();
    let champs = [
        "eleve_id",
        "eleve",
        "uai",
        "annee_scolaire",
        "niveau",
        "classe",
        "dispositif",
        "date_inscription",
    ];
    let o = l.objet(v, "", &champs).ok_or_else(|| {
        ApiError::CorpsIllisible(vec![onde_service::Violation::champ(
            "",
            "type_invalide",
            "un objet JSON est attendu",
        )])
    })?;
    let eleve_id = l.valeur(o, "", "eleve_id", false, |s| {
        Uuid::parse_str(s).map_err(|_| DomainError::Invalide {
            code: "identifiant_format",
            message: format!(
                "« {} » n'est pas un identifiant d'élève (UUID)",
                s.chars().take(40).collect::<String>()
            ),
        })
    });
    let dossier = o
        .get("eleve")
        .filter(|e| !e.is_null())
        .and_then(|e| DossierEleve::lire(e, "/eleve", aujourdhui(), &mut l));
    let present = |k: &str| o.get(k).is_some_and(|v| !v.is_null());
    if present("eleve_id") == present("eleve") {
        l.signaler(
            "/eleve_id",
            "eleve_ou_eleve_id",
            "donner soit eleve_id (élève existant), soit eleve (nouvel élève)",
        );
    }
    let uai = l.valeur(o, "", "uai", true, Uai::parse);
    let annee = l.valeur(o, "", "annee_scolaire", true, AnneeScolaire::parse);
    let niveau = l.valeur(o, "", "niveau", true, Niveau::parse);
    let classe = l.texte(o, "", "classe", false, 50);
    let dispositif = l.texte(o, "", "dispositif", false, 50);
    let date = l.date(o, "", "date_inscription", false).unwrap_or_else(aujourdhui);
    if let (Some(d), Some(n), Some(a)) = (&dossier, niveau, annee) {
        if let Err(e) = verifier_age(d.date_naissance, n, a) {
            l.signaler("/eleve/date_naissance", e.code(), e.to_string());
        }
    }
    if !l.est_vide() {
        return Err(non_conforme(l));
    }
    let eleve = match (eleve_id, dossier) {
        (Some(id), None) => Ok(id),
        (None, Some(d)) => Err(d),
        _ => return Err(corps::non_conforme("/eleve_id", "eleve_ou_eleve_id", "élève manquant")),
    };
    Ok(Creation {
        eleve,
        uai: uai.ok_or_else(|| corps::non_conforme("/uai", "champ_obligatoire", "uai manquant"))?,
        annee: annee.ok_or_else(|| corps::non_conforme("/annee_scolaire", "champ_obligatoire", "année manquante"))?,
        niveau: niveau.ok_or_else(|| corps::non_conforme("/niveau", "champ_obligatoire", "niveau manquant"))?,
        classe,
        dispositif,
        date,
    })
}

/// Inscrire un élève
///
/// Délivre une inscription (statut `inscrit`) dans une école du périmètre pour une année
/// scolaire, pour un élève existant du périmètre (`eleve_id` ; un élève hors du périmètre est
/// traité comme inconnu) ou un nouvel élève (`eleve`, créé dans la même transaction). Un nouvel
/// élève identique à un élève connu sur les cinq champs normalisés (nom, prénom, sexe, date et
/// lieu de naissance), ou portant l'INE d'un élève connu, est refusé (409) : avec l'identifiant
/// du `candidat` s'il est dans le périmètre ; sinon sans rien en dire (`eleve_en_doublon` ou
/// `ine_hors_perimetre`), l'élève se rattachant alors par `POST /v1/rattachements`.
/// Un élève a au plus une inscription active par année scolaire (409 sinon, garanti par la base).
/// Une mairie n'inscrit pas dans une école privée sous contrat (403
/// `ecole_privee_hors_parcours_mairie`).
#[utoipa::path(
    tag = "inscriptions",
    operation_id = "creer_inscription",
    security(("oauth2" = ["inscriptions:write"])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Clé d'idempotence : un nouvel essai avec la même clé et le même corps renvoie la première réponse sans second effet, pendant 30 jours par défaut (durée de conservation)", pattern = "^[!-~]{1,255}$", max_length = 255, example = "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e")),
    request_body(content = DemandeInscription, content_type = "application/json", description = "L'inscription demandée : un élève existant (`eleve_id`) ou le dossier d'un nouvel élève (`eleve`)."),
    responses(
        (status = 201, description = "Inscription créée", body = InscriptionDetaillee,
         headers(("Location" = String, description = "Chemin de l'inscription"), ("ETag" = String, description = "Version"))),
        ErreursMiseAJour,
    )
)]
#[post("/inscriptions")]
pub async fn creer(
    etat: web::Data<EtatApp>,
    acces: Acces,
    req: HttpRequest,
    octets: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let v = lire_json(&req, &octets, false)?;
    let demande = lire_creation(&v)?;
    let a = acces.clone();
    ecriture::executer(&etat, &acces, &req, &octets, move |c| {
        ecole_accessible(c, &a, &demande.uai, demande.niveau, ("/uai", "/niveau"))?;
        let eleve_id = match demande.eleve {
            Ok(id) => {
                // A pupil outside the perimeter is answered exactly like an unknown one: linking
                // it takes the rattachement, with the family's identity, never an id alone.
                let (eleve, _) = onde_store::eleves::trouver(c, &a.perimetre, id)?
                    .ok_or_else(|| corps::non_conforme("/eleve_id", "eleve_inconnu", format!("élève {id} inconnu")))?;
                verifier_age_eleve_connu(eleve.date_naissance, demande.niveau, demande.annee)
                    .map_err(|e| corps::non_conforme("/niveau", e.code(), e.to_string()))?;
                id
            }
            Err(dossier) => {
                onde_store::eleves::verrouiller_identite(c, &dossier.cle_doublon(), dossier.ine.as_ref())?;
                if let Some(ine) = &dossier.ine {
                    if let Some((id, _)) = onde_store::eleves::id_par_ine(c, ine)? {
                        return Err(crate::securite::doublons::ine_detenu(c, &a.perimetre, id, ine)?);
                    }
                }
                if let Some((id, ine)) = onde_store::eleves::par_cle_doublon(c, &dossier.cle_doublon())? {
                    return Err(crate::securite::doublons::doublon(c, &a.perimetre, id, ine)?);
                }
                let id = Uuid::now_v7();
                onde_store::eleves::inserer(c, id, &dossier, maintenant())?;
                id
            }
        };
        let inscription = Inscription::delivree(
            eleve_id,
            demande.uai,
            demande.annee,
            demande.niveau,
            demande.classe,
            demande.dispositif,
            demande.date,
        );
        inserer_inscription(c, &inscription)?;
        reponse_inscription(c, &a, inscription.id, 1, StatusCode::CREATED)
    })
    .await
}
