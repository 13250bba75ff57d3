//! The workflow steps on an inscription (admission, admissibilité, admission définitive,
//! radiation, change of school or niveau): each an explicit operation checked by the domain's
//! state machine.

use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use onde_domain::dossier::{verifier_age_eleve_connu, Lecture};
use onde_domain::{DomainError, Inscription, Niveau, StatutInscription, Uai};
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
use crate::http::parametres::chemin;
use crate::routes::workflow::commun::{
    aujourdhui, concurrente, ecole_accessible, inserer_inscription, lire_json, maintenant, non_conforme,
    reponse_inscription, verifier_parcours,
};
use crate::securite::vue::InscriptionDetaillee;

/// The workflow steps.
#[derive(Debug, Clone, Copy)]
enum Operation {
    Admission,
    Admissibilite,
    AdmissionDefinitive,
    Radiation,
    ChangementEcole,
    ChangementNiveau,
}

/// Applies `op` to the inscription `id` and answers the resulting inscription.
async fn appliquer(
    etat: web::Data<EtatApp>,
    acces: Acces,
    req: HttpRequest,
    octets: web::Bytes,
    id: String,
    op: Operation,
) -> Result<HttpResponse, ApiError> {
    let id = chemin("id", &id, |s| {
        Uuid::parse_str(s).map_err(|_| DomainError::Invalide {
            code: "identifiant_format",
            message: format!(
                "« {} » n'est pas un identifiant d'inscription (UUID)",
                s.chars().take(40).collect::<String>()
            ),
        })
    })?;
    let si_version = ecriture::si_correspond(&req)?;
    let v = lire_json(&req, &octets, true)?;
    let mut l = Lecture::default();
    let champs: &[&str] = match op {
        Operation::Admission => &["provisoire", "date"],
        Operation::Admissibilite => &[],
        Operation::AdmissionDefinitive => &["date"],
        Operation::Radiation => &["date", "motif"],
        Operation::ChangementEcole => &["uai", "date"],
        Operation::ChangementNiveau => &["niveau"],
    };
    let o = l.objet(&v, "", champs).cloned().unwrap_or_default();
    let date_donnee = l.date(&o, "", "date", matches!(op, Operation::Radiation));
    let date = date_donnee.unwrap_or_else(aujourdhui);
    let provisoire = match o.get("provisoire") {
        None | Some(Value::Null) => false,
        Some(_) => l.booleen(&o, "", "provisoire").unwrap_or(false),
    };
    let motif = l.texte(&o, "", "motif", matches!(op, Operation::Radiation), 100);
    let uai = l.valeur(&o, "", "uai", matches!(op, Operation::ChangementEcole), Uai::parse);
    let niveau = l.valeur(
        &o,
        "",
        "niveau",
        matches!(op, Operation::ChangementNiveau),
        Niveau::parse,
    );
    if !l.est_vide() {
        return Err(non_conforme(l));
    }
    let a = acces.clone();
    ecriture::executer(&etat, &acces, &req, &octets, move |c| {
        let (mut i, version) =
            onde_store::inscriptions::pour_ecriture(c, &a.perimetre, id)?.ok_or(ApiError::Introuvable {
                ressource: "L'inscription",
            })?;
        let ecole = onde_store::ecoles::trouver(c, &a.perimetre, &i.uai)?.ok_or(ApiError::Introuvable {
            ressource: "L'inscription",
        })?;
        verifier_parcours(&a, &ecole)?;
        ecriture::verifier_version(si_version, version)?;
        let passer = |i: &Inscription, vers| i.statut.passer_a(vers).map_err(ApiError::Transition);
        match op {
            Operation::Admission => {
                i.statut = passer(&i, StatutInscription::Admis)?;
                i.admission_provisoire = provisoire;
                i.date_admission = Some(date);
            }
            Operation::Admissibilite => i.statut = passer(&i, StatutInscription::Admissibilite)?,
            Operation::AdmissionDefinitive => {
                i.statut = passer(&i, StatutInscription::AdmisDefinitif)?;
                i.admission_provisoire = false;
                // An explicit date wins; otherwise the admission's date stays.
                match date_donnee {
                    Some(d) => i.date_admission = Some(d),
                    None => {
                        i.date_admission.get_or_insert(date);
                    }
                }
            }
            Operation::Radiation => {
                i.statut = passer(&i, StatutInscription::Radie)?;
                i.admission_provisoire = false;
                i.date_radiation = Some(date);
                i.motif_radiation = motif;
            }
            Operation::ChangementNiveau => {
                let niveau =
                    niveau.ok_or_else(|| corps::non_conforme("/niveau", "champ_obligatoire", "niveau manquant"))?;
                if !i.statut.est_active() {
                    return Err(ApiError::Transition(DomainError::TransitionInterdite {
                        depuis: i.statut,
                        vers: i.statut,
                        autorisees: i.statut.transitions(),
                    }));
                }
                ecole_accessible(c, &a, &i.uai, niveau, ("/niveau", "/niveau"))?;
                let (eleve, _) = onde_store::eleves::trouver(c, &onde_domain::Perimetre::National, i.eleve_id)?
                    .ok_or_else(|| ApiError::Interne("élève de l'inscription introuvable".into()))?;
                verifier_age_eleve_connu(eleve.date_naissance, niveau, i.annee_scolaire)
                    .map_err(|e| corps::non_conforme("/niveau", e.code(), e.to_string()))?;
                i.niveau = niveau;
            }
            Operation::ChangementEcole => {
                // Leaving one school for another: radiation from the first and a new
                // inscription in the second, in one transaction (DOMAIN.md).
                let uai = uai.ok_or_else(|| corps::non_conforme("/uai", "champ_obligatoire", "uai manquant"))?;
                if uai == i.uai {
                    return Err(corps::non_conforme(
                        "/uai",
                        "meme_ecole",
                        "l'élève est déjà inscrit dans cette école",
                    ));
                }
                ecole_accessible(c, &a, &uai, i.niveau, ("/uai", "/uai"))?;
                let ancienne = i.clone();
                i.statut = passer(&i, StatutInscription::Radie)?;
                i.admission_provisoire = false;
                i.date_radiation = Some(date);
                i.motif_radiation = Some("changement_ecole".into());
                onde_store::inscriptions::mettre_a_jour(c, &i, version, maintenant())?
                    .ok_or_else(|| concurrente(si_version, version))?;
                let nouvelle = Inscription {
                    id: Uuid::now_v7(),
                    uai,
                    statut: StatutInscription::Inscrit,
                    admission_provisoire: false,
                    date_inscription: date,
                    date_admission: None,
                    date_radiation: None,
                    motif_radiation: None,
                    ..ancienne
                };
                inserer_inscription(c, &nouvelle)?;
                return reponse_inscription(c, &a, nouvelle.id, 1, StatusCode::CREATED);
            }
        }
        // Another writer may have committed between our read and our write.
        let nouvelle = onde_store::inscriptions::mettre_a_jour(c, &i, version, maintenant())?
            .ok_or_else(|| concurrente(si_version, version))?;
        reponse_inscription(c, &a, id, nouvelle, StatusCode::OK)
    })
    .await
}

/// Corps d'une admission.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct DemandeAdmission {
    /// Admission provisoire (pièces manquantes : la famille a 3 mois pour les fournir).
    #[schema(example = false)]
    provisoire: Option<bool>,
    /// Par défaut : aujourd'hui.
    #[schema(example = "2026-09-01")]
    date: Option<NaiveDate>,
}

/// Corps d'une admission définitive.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct DemandeAdmissionDefinitive {
    /// Par défaut : la date d'admission déjà connue, sinon aujourd'hui.
    #[schema(example = "2026-10-01")]
    date: Option<NaiveDate>,
}

/// Corps d'une radiation.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct DemandeRadiation {
    /// Date de la radiation.
    #[schema(example = "2027-02-15")]
    date: NaiveDate,
    /// Motif (1 à 100 caractères), ex. `demenagement`.
    #[schema(example = "demenagement", max_length = 100, min_length = 1)]
    motif: String,
}

/// Corps d'un changement d'école.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct DemandeChangementEcole {
    /// Nouvelle école.
    uai: Uai,
    /// Date de la radiation et de la nouvelle inscription ; par défaut aujourd'hui.
    #[schema(example = "2027-01-04")]
    date: Option<NaiveDate>,
}

/// Corps d'un changement de niveau.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct DemandeChangementNiveau {
    /// Nouveau niveau.
    niveau: Niveau,
}

macro_rules! operation {
    ($nom:ident, $chemin:literal, $op:expr, $id:literal, $corps:ty, $resume:literal, $description:literal, $statut:literal) => {
        #[doc = $resume]
        #[doc = ""]
        #[doc = $description]
        #[utoipa::path(
            tag = "inscriptions",
            operation_id = $id,
            security(("oauth2" = ["inscriptions:write"])),
            params(
                ("id" = Uuid, Path, description = "Identifiant de l'inscription"),
                ("If-Match" = Option<String>, Header, description = "ETag lu (ex. \"v3\") : refus 412 si l'inscription a changé depuis", pattern = r#"^(\*|(W/)?"v[0-9]{1,18}(-(gzip|zstd|br))?")$"#, max_length = 28, example = "\"v3\""),
                ("Idempotency-Key" = Option<String>, Header, description = "Clé d'idempotence : un nouvel essai avec la même clé et le même corps renvoie la première réponse sans second effet, pendant 30 jours par défaut (durée de conservation)", pattern = "^[!-~]{1,255}$", max_length = 255, example = "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e"),
            ),
            request_body(content = Option<$corps>, content_type = "application/json", description = "Les paramètres de l'opération ; un corps vide vaut `{}`."),
            responses(
                (status = $statut, description = "L'inscription après l'opération", body = InscriptionDetaillee,
                 headers(("ETag" = String, description = "Nouvelle version"))),
                ErreursMiseAJour,
            )
        )]
        #[post($chemin)]
        pub async fn $nom(
            etat: web::Data<EtatApp>,
            acces: Acces,
            req: HttpRequest,
            octets: web::Bytes,
            id: web::Path<String>,
        ) -> Result<HttpResponse, ApiError> {
            appliquer(etat, acces, req, octets, id.into_inner(), $op).await
        }
    };
}

operation!(
    admission,
    "/inscriptions/{id}/admission",
    Operation::Admission,
    "admettre",
    DemandeAdmission,
    "Admettre un élève",
    "Passe une inscription `inscrit` ou `admissibilite` au statut `admis`, éventuellement à titre provisoire (pièces manquantes).",
    200
);
operation!(
    admissibilite,
    "/inscriptions/{id}/admissibilite",
    Operation::Admissibilite,
    "mettre_en_admissibilite",
    crate::openapi::dossiers::DemandeAdmissibilite,
    "Mettre en admissibilité",
    "La direction diffère l'admission : une inscription `inscrit` passe au statut `admissibilite`. Corps vide ou `{}`.",
    200
);
operation!(
    admission_definitive,
    "/inscriptions/{id}/admission_definitive",
    Operation::AdmissionDefinitive,
    "admettre_definitivement",
    DemandeAdmissionDefinitive,
    "Admettre définitivement",
    "Passe une inscription `admis` au statut `admis_definitif` (fin d'une admission provisoire le cas échéant).",
    200
);
operation!(
    radiation,
    "/inscriptions/{id}/radiation",
    Operation::Radiation,
    "radier",
    DemandeRadiation,
    "Radier un élève",
    "L'élève quitte l'école : l'inscription passe au statut `radie` avec sa date et son motif, et reste pour l'historique.",
    200
);
operation!(
    changement_ecole,
    "/inscriptions/{id}/changement_ecole",
    Operation::ChangementEcole,
    "changer_d_ecole",
    DemandeChangementEcole,
    "Changer d'école",
    "Radie l'inscription (motif `changement_ecole`) et inscrit l'élève dans l'école indiquée pour la même année et le même niveau, dans une seule transaction ; renvoie la nouvelle inscription.",
    201
);
operation!(
    changement_niveau,
    "/inscriptions/{id}/changement_niveau",
    Operation::ChangementNiveau,
    "changer_de_niveau",
    DemandeChangementNiveau,
    "Changer de niveau",
    "Change le niveau d'une inscription active ; l'école doit l'accueillir et la date de naissance rester cohérente (±1 an).",
    200
);
