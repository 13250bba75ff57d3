//! `POST /v1/rattachements`: a known pupil arriving in the caller's perimeter, identified by
//! its INE and the identity the family gave.

use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use onde_domain::dossier::{verifier_age, IdentiteDeclaree, Lecture};
use onde_domain::{AnneeScolaire, Ine, Inscription, Niveau, Perimetre, Uai};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::acces::Acces;
use crate::erreurs::erreur::ApiError;
use crate::erreurs::probleme::ErreursMiseAJour;
use crate::etat::EtatApp;
use crate::http::corps;
use crate::http::ecriture::{self};
use crate::routes::workflow::commun::{
    aujourdhui, ecole_accessible, inserer_inscription, lire_json, non_conforme, reponse_inscription,
};
use crate::securite::vue::InscriptionDetaillee;

/// Corps d'un rattachement : l'identité que la famille a donnée, et l'inscription demandée.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct DemandeRattachement {
    /// INE de l'élève (certificat de radiation, livret scolaire).
    ine: Ine,
    /// Nom de famille, tel que la famille l'a donné.
    #[schema(example = "Le Gall-Lefèvre", min_length = 1, max_length = 100)]
    nom: String,
    /// Premier prénom.
    #[schema(example = "Zoé", min_length = 1, max_length = 100)]
    prenom: String,
    /// Date de naissance.
    #[schema(example = "2020-03-14")]
    date_naissance: NaiveDate,
    /// École d'inscription, dans le périmètre.
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
    #[schema(example = "2027-09-02")]
    date_inscription: Option<NaiveDate>,
}

struct Rattachement {
    ine: Ine,
    identite: IdentiteDeclaree,
    uai: Uai,
    annee: AnneeScolaire,
    niveau: Niveau,
    classe: Option<String>,
    dispositif: Option<String>,
    date: NaiveDate,
}

fn lire_rattachement(v: &Value) -> Result<Rattachement, ApiError> {
    let mut l = Lecture::default();
    let champs = [
        "ine",
        "nom",
        "prenom",
        "date_naissance",
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
    let ine = l.valeur(o, "", "ine", true, Ine::parse);
    let nom = l.texte(o, "", "nom", true, 100);
    let prenom = l.texte(o, "", "prenom", true, 100);
    let date_naissance = l.date(o, "", "date_naissance", true);
    let uai = l.valeur(o, "", "uai", true, Uai::parse);
    let annee = l.valeur(o, "", "annee_scolaire", true, AnneeScolaire::parse);
    let niveau = l.valeur(o, "", "niveau", true, Niveau::parse);
    let classe = l.texte(o, "", "classe", false, 50);
    let dispositif = l.texte(o, "", "dispositif", false, 50);
    let date = l.date(o, "", "date_inscription", false).unwrap_or_else(aujourdhui);
    match (ine, nom, prenom, date_naissance, uai, annee, niveau) {
        (Some(ine), Some(nom), Some(prenom), Some(date_naissance), Some(uai), Some(annee), Some(niveau))
            if l.est_vide() =>
        {
            Ok(Rattachement {
                ine,
                identite: IdentiteDeclaree {
                    nom,
                    prenom,
                    date_naissance,
                },
                uai,
                annee,
                niveau,
                classe,
                dispositif,
                date,
            })
        }
        _ => Err(non_conforme(l)),
    }
}

/// Rattacher un élève connu (famille qui arrive)
///
/// Inscrit dans une école du périmètre (statut `inscrit`) un élève déjà connu ailleurs, par
/// exemple l'enfant d'une famille qui emménage dans la commune. L'appelant prouve qu'il connaît
/// l'enfant comme le feraient les papiers de la famille : son INE avec son nom, son premier
/// prénom et sa date de naissance, comparés sans tenir compte des majuscules, des accents, des
/// tirets ni des espaces — jamais par un identifiant interne seul. Un INE inconnu et une
/// identité qui ne concorde pas reçoivent la même réponse (422 `identite_non_concordante`),
/// sans dire lequel des deux. Si l'élève a déjà une inscription active pour cette année
/// scolaire, le rattachement est refusé (409 `inscription_active_existante`, sans nommer
/// l'école) : la famille demande d'abord la radiation à l'école actuelle. L'ancien périmètre
/// garde sa vue sur l'élève tant que sa propre inscription est active. Le rattachement est une
/// action distincte de la piste d'audit (opération `rattacher_eleve`). Une mairie ne rattache
/// pas dans une école privée sous contrat (403 `ecole_privee_hors_parcours_mairie`).
#[utoipa::path(
    tag = "inscriptions",
    operation_id = "rattacher_eleve",
    security(("oauth2" = ["inscriptions:write"])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Clé d'idempotence : un nouvel essai avec la même clé et le même corps renvoie la première réponse sans second effet, pendant 30 jours par défaut (durée de conservation)", pattern = "^[!-~]{1,255}$", max_length = 255, example = "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e")),
    request_body(content = DemandeRattachement, content_type = "application/json", description = "L'identité donnée par la famille (INE, nom, premier prénom, date de naissance) et l'inscription demandée."),
    responses(
        (status = 201, description = "Élève rattaché : son inscription dans l'école", body = InscriptionDetaillee,
         headers(("Location" = String, description = "Chemin de l'inscription"), ("ETag" = String, description = "Version"))),
        ErreursMiseAJour,
    )
)]
#[post("/rattachements")]
pub async fn rattacher(
    etat: web::Data<EtatApp>,
    acces: Acces,
    req: HttpRequest,
    octets: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let v = lire_json(&req, &octets, false)?;
    let demande = lire_rattachement(&v)?;
    let a = acces.clone();
    ecriture::executer(&etat, &acces, &req, &octets, move |c| {
        ecole_accessible(c, &a, &demande.uai, demande.niveau, ("/uai", "/niveau"))?;
        onde_store::eleves::verrouiller_cles(c, vec![format!("ine:{}", demande.ine.as_str())])?;
        // Found nationally by INE, then proven by the identity: an unknown INE and a wrong
        // identity are one answer.
        let eleve = match onde_store::eleves::id_par_ine(c, &demande.ine)? {
            Some((id, _)) => onde_store::eleves::trouver(c, &Perimetre::National, id)?.map(|(e, _)| e),
            None => None,
        }
        .filter(|e| demande.identite.concorde(e))
        .ok_or(ApiError::IdentiteNonConcordante)?;
        verifier_age(eleve.date_naissance, demande.niveau, demande.annee)
            .map_err(|e| corps::non_conforme("/niveau", e.code(), e.to_string()))?;
        if onde_store::inscriptions::active(c, eleve.id, &demande.annee)?.is_some() {
            return Err(ApiError::Conflit {
                code: "inscription_active_existante",
                detail: format!(
                    "l'élève a déjà une inscription active pour {} : la famille demande d'abord sa radiation à \
                     l'école actuelle (certificat de radiation), puis le rattachement peut être refait",
                    demande.annee
                ),
            });
        }
        let inscription = Inscription::delivree(
            eleve.id,
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
