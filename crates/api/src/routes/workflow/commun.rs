//! What the inscription writes share: reading the JSON body, the checks of the school and of
//! the workflow path (`parcours_ouvert`), inserting and reading back an inscription.

use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use chrono::{NaiveDate, Utc};
use onde_domain::dossier::Lecture;
use onde_domain::{Inscription, Niveau, Uai};
use onde_store::inscriptions::InscriptionEleve;
use onde_store::DbConnection;
use serde_json::Value;
use uuid::Uuid;

use crate::auth::acces::Acces;
use crate::erreurs::erreur::ApiError;
use crate::erreurs::probleme::depuis_manquements;
use crate::http::corps;
use crate::http::ecriture::{etag, ReponseEcriture};
use crate::securite::vue::InscriptionDetaillee;

pub(super) fn aujourdhui() -> NaiveDate {
    Utc::now().date_naive()
}

pub(super) fn maintenant() -> chrono::NaiveDateTime {
    Utc::now().naive_utc()
}

pub(super) fn non_conforme(l: Lecture) -> ApiError {
    ApiError::NonConforme(depuis_manquements(l.manquements))
}

pub(super) fn lire_json(req: &HttpRequest, octets: &[u8], vide_permis: bool) -> Result<Value, ApiError> {
    if vide_permis && octets.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    corps::verifier_type(req, &[crate::constantes::JSON])?;
    Ok(onde_service::json::depuis_octets::<Value>(octets)?)
}

/// Workflow steps are taken in schools where the caller's rights open the enrolment path
/// ([`Perimetre::parcours_ouvert`]): never, through a commune, in a private school under
/// contract. The one place every workflow step (creation, rattachement, admission,
/// admissibilité, admission définitive, radiation, change of school or niveau) checks it.
pub(super) fn verifier_parcours(acces: &Acces, ecole: &onde_domain::Ecole) -> Result<(), ApiError> {
    if acces.perimetre.parcours_ouvert(ecole) {
        return Ok(());
    }
    Err(ApiError::Interdit {
        code: "ecole_privee_hors_parcours_mairie",
        detail: format!(
            "L'école {} est une école privée sous contrat : la famille y inscrit l'enfant directement auprès de \
             l'école, et une mairie (ou un éditeur agissant pour une commune) n'y fait aucune étape du parcours \
             d'inscription (inscription, rattachement, admission, radiation, changement d'école ou de niveau).",
            ecole.uai
        ),
    })
}

/// The school must be in the perimeter, open to the caller's workflow steps, and teach the
/// niveau. `pointeurs`: where the school and the niveau come from in the request body.
pub(super) fn ecole_accessible(
    c: &mut DbConnection,
    acces: &Acces,
    uai: &Uai,
    niveau: Niveau,
    pointeurs: (&str, &str),
) -> Result<(), ApiError> {
    let ecole = onde_store::ecoles::trouver(c, &acces.perimetre, uai)?.ok_or_else(|| {
        corps::non_conforme(
            pointeurs.0,
            "ecole_inconnue",
            format!("école {uai} inconnue ou hors de votre périmètre"),
        )
    })?;
    verifier_parcours(acces, &ecole)?;
    if !ecole.type_ecole.accueille(niveau) {
        return Err(corps::non_conforme(
            pointeurs.1,
            "niveau_non_accueilli",
            format!(
                "une école {} n'accueille pas le niveau {niveau}",
                ecole.type_ecole.as_str()
            ),
        ));
    }
    Ok(())
}

pub(super) fn inserer_inscription(c: &mut DbConnection, i: &Inscription) -> Result<(), ApiError> {
    onde_store::inscriptions::inserer(c, i, maintenant()).map_err(|e| match e.violation_unicite() {
        Some(contrainte) if contrainte.contains("active") || contrainte.contains("eleve_id") => ApiError::Conflit {
            code: "inscription_active_existante",
            detail: format!(
                "l'élève a déjà une inscription active pour {} : radiez-la ou changez d'école",
                i.annee_scolaire
            ),
        },
        _ => ApiError::from(e),
    })
}

pub(super) fn relire(c: &mut DbConnection, acces: &Acces, id: Uuid) -> Result<InscriptionEleve, ApiError> {
    // Read back nationally: after a change of school the row may have left the perimeter.
    onde_store::inscriptions::trouver(c, &onde_domain::Perimetre::National, id)?.ok_or_else(|| {
        ApiError::Interne(format!(
            "inscription {id} introuvable après écriture ; accès {}",
            acces.client_id
        ))
    })
}

pub(super) fn reponse_inscription(
    c: &mut DbConnection,
    acces: &Acces,
    id: Uuid,
    version: i64,
    statut: StatusCode,
) -> Result<ReponseEcriture, ApiError> {
    let i = relire(c, acces, id)?;
    let eleve = i.eleve.id;
    let vue: InscriptionDetaillee = acces.vue_inscription(i);
    let corps = serde_json::to_value(vue).map_err(|e| ApiError::Interne(e.to_string()))?;
    let mut r = ReponseEcriture::new(statut, corps)
        .entete("ETag", etag(version))
        .eleves(vec![eleve]);
    if statut == StatusCode::CREATED {
        r = r.entete("Location", format!("/v1/inscriptions/{id}"));
    }
    Ok(r)
}

/// Another writer committed between our read and our write: a failed precondition if the
/// caller sent one, a conflict otherwise.
pub(super) fn concurrente(si_version: Option<i64>, version: i64) -> ApiError {
    match si_version {
        Some(_) => ApiError::PreconditionEchouee {
            version_actuelle: version + 1,
        },
        None => ApiError::Conflit {
            code: "modification_concurrente",
            detail: "l'inscription vient d'être modifiée par une autre requête ; relisez-la puis recommencez".into(),
        },
    }
}
