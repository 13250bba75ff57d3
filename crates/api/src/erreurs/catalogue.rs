//! The problem types of the API by HTTP status and one example per status, for the OpenAPI
//! document.

use onde_service::Violation;

use crate::erreurs::erreur::ApiError;
use crate::erreurs::probleme::Probleme;

/// The problem types of the API by HTTP status, as the OpenAPI document lists them under each
/// error response (a test checks that every [`ApiError`] code is here).
pub const TYPES_PAR_STATUT: &[(u16, &[&str])] = &[
    (400, &["parametre_invalide", "corps_invalide"]),
    (401, &["authentification_requise"]),
    (
        403,
        &[
            "insufficient_scope",
            "mandat_non_detenu",
            "ecole_privee_hors_parcours_mairie",
        ],
    ),
    (404, &["ressource_introuvable", "route_inconnue"]),
    (405, &["methode_non_autorisee"]),
    (406, &["codage_non_acceptable"]),
    (410, &["curseur_expire"]),
    (
        409,
        &[
            "transition_interdite",
            "eleve_en_doublon",
            "inscription_active_existante",
            "ine_hors_perimetre",
            "modification_concurrente",
            "conflit_idempotence",
            "client_revoque",
            "partenaire_revoque",
        ],
    ),
    (412, &["version_perimee"]),
    (413, &["corps_trop_grand", "fichier_trop_grand"]),
    (415, &["type_contenu_non_pris_en_charge"]),
    (
        422,
        &[
            "contenu_invalide",
            "cle_idempotence_reutilisee",
            "lot_refuse",
            "identite_non_concordante",
        ],
    ),
    (429, &["trop_de_requetes", "trop_de_requetes_simultanees"]),
    (500, &["erreur_interne"]),
    (
        503,
        &["service_indisponible", "file_imports_pleine", "verifications_saturees"],
    ),
];

/// One representative error per status, for the examples of the OpenAPI document.
pub fn exemple(statut: u16) -> Option<Probleme> {
    use onde_domain::{DomainError, Scope, StatutInscription};
    let e = match statut {
        400 => ApiError::Parametres(vec![Violation::parametre(
            "uai",
            "uai_cle",
            "UAI « 0750655F » : la lettre clé devrait être E (reste modulo 23 des 7 chiffres)",
        )]),
        401 => ApiError::NonAuthentifie(None),
        403 => ApiError::ScopeInsuffisant {
            requis: vec![Scope::InscriptionsWrite],
            motif: None,
        },
        404 => ApiError::Introuvable {
            ressource: "L'inscription",
        },
        409 => ApiError::Transition(DomainError::TransitionInterdite {
            depuis: StatutInscription::Inscrit,
            vers: StatutInscription::AdmisDefinitif,
            autorisees: StatutInscription::Inscrit.transitions(),
        }),
        410 => ApiError::CurseurExpire {
            purge_le: chrono::NaiveDate::from_ymd_opt(2026, 11, 1)
                .and_then(|d| d.and_hms_opt(3, 0, 0))
                .unwrap_or_default(),
        },
        412 => ApiError::PreconditionEchouee { version_actuelle: 4 },
        413 => ApiError::CorpsTropGrand,
        415 => ApiError::TypeContenu {
            attendus: &["application/json"],
        },
        422 => ApiError::NonConforme(vec![Violation {
            pointer: Some("/eleve/date_naissance".into()),
            parametre: None,
            code: "age_hors_premier_degre".into(),
            message: "un élève du premier degré a entre 2 et 12 ans".into(),
        }]),
        429 => ApiError::TropDeRequetes(crate::middleware::limites::Depassement::Debit {
            reessayer: std::time::Duration::from_secs(1),
            etat: crate::middleware::limites::EtatLimite {
                rafale: 100,
                par_seconde: 50,
                restant: 0,
            },
        }),
        500 => ApiError::Interne(String::new()),
        503 => ApiError::Indisponible,
        _ => return None,
    };
    let mut p = e.probleme();
    p.instance = Some("urn:uuid:0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e".into());
    Some(p)
}
