//! `/v1/inscriptions`: enrolments in the schools of the caller's perimeter.

use actix_web::{get, web, HttpRequest, HttpResponse};
use onde_domain::{AnneeScolaire, ChampEleve, CodeInsee, Niveau, StatutInscription, Uai};
use onde_store::inscriptions::FiltreInscriptions;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::acces::Acces;
use crate::erreurs::erreur::ApiError;
use crate::erreurs::probleme::{ErreursLecture, ErreursRessource};
use crate::etat::EtatApp;
use crate::http::bloquant::{executer, executer_puis};
use crate::http::export;
use crate::http::pagination;
use crate::http::parametres::{chemin, Lecteur};
use crate::securite::vue::InscriptionDetaillee;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ParametresInscriptions {
    /// Code INSEE de la commune de l'école.
    #[param(value_type = Option<CodeInsee>)]
    commune: Option<String>,
    /// UAI de l'école.
    #[param(value_type = Option<Uai>)]
    uai: Option<String>,
    /// Année scolaire.
    #[param(value_type = Option<AnneeScolaire>)]
    annee_scolaire: Option<String>,
    /// Niveau.
    #[param(value_type = Option<Niveau>)]
    niveau: Option<String>,
    /// Statut de l'inscription.
    #[param(value_type = Option<StatutInscription>)]
    statut: Option<String>,
    /// Nombre maximal d'éléments de la page (1 à 1000 ; 100 par défaut).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000, example = 100)]
    limit: Option<String>,
    /// Curseur opaque de la page suivante, repris de `curseur_suivant`.
    #[param(value_type = Option<String>, pattern = r"^[A-Za-z0-9_-]{1,200}$", max_length = 200, example = "djE6MDc1MDY1NUU")]
    curseur: Option<String>,
    /// `json` (par défaut, paginé) ou `csv` : toute la liste filtrée en un fichier pour tableur
    /// (aussi avec `Accept: text/csv`).
    #[param(value_type = Option<String>, pattern = "^(json|csv)$", max_length = 4, example = "csv")]
    format: Option<String>,
}

/// Une page d'inscriptions, triées par école (UAI), année scolaire puis identifiant.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageInscriptions {
    /// Les inscriptions de la page, 1000 au plus (`limit`).
    #[schema(max_items = 1000)]
    pub elements: Vec<InscriptionDetaillee>,
    /// Curseur de la page suivante ; absent sur la dernière page.
    #[schema(
        example = "djE6MDE5MmQzZTQtNWY2YS03YjhjLTlkMGUtMWYyYTNiNGM1ZDZl",
        pattern = r"^[A-Za-z0-9_-]{1,200}$",
        max_length = 200
    )]
    pub curseur_suivant: Option<String>,
    /// Chemin de la page suivante (aussi dans l'en-tête `Link`) ; absent sur la dernière page.
    #[schema(
        example = "/v1/inscriptions?commune=75056&limit=100&curseur=djE6MDE5MmQzZTQtNWY2YS03YjhjLTlkMGUtMWYyYTNiNGM1ZDZl"
    )]
    #[schema(max_length = 2000)]
    pub lien_suivant: Option<String>,
}

/// Lister les inscriptions
///
/// Inscriptions des écoles du périmètre de l'appelant avec l'identité de chaque élève —
/// la liste qu'une mairie tire pour la cantine, le périscolaire ou le transport scolaire.
/// Filtres cumulables ; tri par école (UAI), année scolaire puis identifiant ; pagination par curseur : suivre `lien_suivant`
/// (ou l'en-tête `Link: <…>; rel="next"`) jusqu'à son absence. Chaque page porte un `ETag` :
/// `If-None-Match` répond 304 sans corps si elle n'a pas changé.
///
/// En CSV (`?format=csv` ou `Accept: text/csv`) : toute la liste filtrée, en flux, pour un
/// tableur français (UTF-8 avec BOM, séparateur `;`, en-têtes français, dates jj/mm/aaaa,
/// prénoms séparés par `|`) ; les colonnes d'identité suivent le profil de données.
/// Aucune cellule n'est une formule : une valeur qui commence par `=`, `+`, `-`, `@`, une
/// tabulation ou un retour chariot est écrite précédée d'une apostrophe (règle OWASP contre
/// l'injection de formules), un téléphone `+33…` compris.
#[utoipa::path(
    tag = "inscriptions",
    operation_id = "lister_inscriptions",
    security(("oauth2" = ["inscriptions:read"])),
    params(ParametresInscriptions),
    responses(
        (status = 200, description = "Une page d'inscriptions, ou toute la liste en CSV", content(
            (PageInscriptions = "application/json"),
            (String = "text/csv", example = json!("identifiant;uai;annee_scolaire;niveau;classe;dispositif;statut;admission_provisoire;date_inscription;date_admission;date_radiation;motif_radiation;eleve_id;nom;prenoms;sexe;date_naissance\r\n0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e;0750655E;2026-2027;CP;CP A;;admis_definitif;non;02/06/2026;01/09/2026;;;0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6f;Morel;Léa|Rose;F;02/04/2020\r\n")),
        ),
         headers(("Link" = String, description = "Lien vers la page suivante, `rel=\"next\"`"), ("ETag" = String, description = "Empreinte de la page"))),
        ErreursLecture,
    )
)]
#[get("/inscriptions")]
pub async fn lister(
    etat: web::Data<EtatApp>,
    acces: Acces,
    params: web::Query<ParametresInscriptions>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let mut l = Lecteur::default();
    let filtre = FiltreInscriptions {
        commune: l.optionnel("commune", p.commune.as_deref(), CodeInsee::parse),
        uai: l.optionnel("uai", p.uai.as_deref(), Uai::parse),
        annee_scolaire: l.optionnel("annee_scolaire", p.annee_scolaire.as_deref(), AnneeScolaire::parse),
        niveau: l.optionnel("niveau", p.niveau.as_deref(), Niveau::parse),
        statut: l.optionnel("statut", p.statut.as_deref(), StatutInscription::parse),
    };
    let page = pagination::demande_de(
        &mut l,
        p.limit.as_deref(),
        p.curseur.as_deref(),
        onde_store::inscriptions::curseur_de_liste,
    );
    let csv = export::veut_csv(&req, p.format.as_deref(), &mut l);
    l.terminer()?;
    let perimetre = acces.perimetre.clone();
    if csv {
        return Ok(exporter(&etat, acces, filtre, page.apres));
    }
    let adresse = pagination::Adresse::de(&req);
    let auditeur = etat.auditeur.clone();
    let page = executer_puis(
        &etat.lecture,
        move |c| onde_store::inscriptions::lister(c, &perimetre, &filtre, &page),
        move |resultat| {
            let lien = resultat.suivant.as_ref().map(|c| adresse.suivante(c));
            let curseur_suivant = resultat.suivant.map(|c| c.encoder());
            acces
                .exposer_inscriptions(&auditeur, resultat.elements)
                .try_map(|elements| {
                    let corps = PageInscriptions {
                        elements,
                        curseur_suivant,
                        lien_suivant: lien.clone(),
                    };
                    pagination::PageServie::serialiser(&corps, lien)
                })
        },
    )
    .await?
    .liberer()
    .await?;
    Ok(page.reponse())
}

/// The whole filtered list as CSV, in the columns of the caller's data profile.
fn exporter(
    etat: &EtatApp,
    acces: Acces,
    filtre: FiltreInscriptions,
    depuis: Option<onde_store::Curseur>,
) -> HttpResponse {
    let profil = &acces.profil;
    let ine = profil.lit(ChampEleve::Ine);
    let identite = profil.lit(ChampEleve::Identite);
    // The pushed inscription's fields (as the import reads them), framed by what the base adds.
    let mut entete: Vec<String> = std::iter::once("identifiant")
        .chain(onde_domain::poussee::CHAMPS_INSCRIPTION)
        .chain(["date_radiation", "motif_radiation", "eleve_id"])
        .map(String::from)
        .collect();
    if ine {
        entete.push("ine".into());
    }
    if identite {
        entete.extend(["nom", "prenoms", "sexe", "date_naissance"].map(String::from));
    }
    let auditeur = etat.auditeur.clone();
    export::reponse(
        etat.lecture.clone(),
        "inscriptions.csv",
        entete,
        depuis,
        move |c, apres| {
            let page = onde_store::DemandePage {
                limite: export::TRANCHE,
                apres,
            };
            let resultat = onde_store::inscriptions::lister(c, &acces.perimetre, &filtre, &page)?;
            let suivant = resultat.suivant;
            // The chunk leaves once its audit record is durable (export::reponse waits for it).
            Ok(acces.exposer_inscriptions(&auditeur, resultat.elements).map(|vues| {
                let lignes: Vec<Vec<String>> = vues
                    .into_iter()
                    .map(|v| {
                        let i = v.inscription;
                        let opt = |o: Option<String>| o.unwrap_or_default();
                        let mut l = vec![
                            i.id.to_string(),
                            i.uai.as_str().to_owned(),
                            i.annee_scolaire.as_str().to_owned(),
                            i.niveau.as_str().to_owned(),
                            opt(i.classe),
                            opt(i.dispositif),
                            i.statut.as_str().to_owned(),
                            export::oui_non(i.admission_provisoire),
                            export::date(i.date_inscription),
                            opt(i.date_admission.map(export::date)),
                            opt(i.date_radiation.map(export::date)),
                            opt(i.motif_radiation),
                            v.eleve.id.to_string(),
                        ];
                        if ine {
                            l.push(opt(v.eleve.ine.map(|x| x.as_str().to_owned())));
                        }
                        if identite {
                            l.push(opt(v.eleve.nom));
                            l.push(opt(v.eleve.prenoms.map(|p| p.tous().join("|"))));
                            l.push(opt(v.eleve.sexe.map(|s| s.as_str().to_owned())));
                            l.push(opt(v.eleve.date_naissance.map(export::date)));
                        }
                        l
                    })
                    .collect();
                (lignes, suivant)
            }))
        },
    )
}

/// Consulter une inscription
///
/// L'inscription d'identifiant donné avec l'identité de l'élève, si son école est dans le
/// périmètre de l'appelant.
#[utoipa::path(
    tag = "inscriptions",
    operation_id = "consulter_inscription",
    security(("oauth2" = ["inscriptions:read"])),
    params(("id" = Uuid, Path, description = "Identifiant de l'inscription")),
    responses((status = 200, description = "L'inscription", body = InscriptionDetaillee,
        headers(("ETag" = String, description = "Version, à renvoyer en If-Match lors d'une opération"))), ErreursRessource)
)]
#[get("/inscriptions/{id}")]
pub async fn trouver(etat: web::Data<EtatApp>, acces: Acces, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = chemin("id", &id, |s| {
        Uuid::parse_str(s).map_err(|_| onde_domain::DomainError::Invalide {
            code: "identifiant_format",
            message: format!(
                "« {} » n'est pas un identifiant d'inscription (UUID, ex. 0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e)",
                s.chars().take(40).collect::<String>()
            ),
        })
    })?;
    let perimetre = acces.perimetre.clone();
    let trouve = executer(&etat.store, move |c| {
        let i = onde_store::inscriptions::trouver(c, &perimetre, id)?;
        let version = onde_store::inscriptions::version(c, id)?;
        Ok(i.zip(version))
    })
    .await?;
    let (inscription, version) = trouve.ok_or(ApiError::Introuvable {
        ressource: "L'inscription",
    })?;
    let mut vues = acces
        .exposer_inscriptions(&etat.auditeur, vec![inscription])
        .liberer()
        .await?;
    let vue = vues
        .pop()
        .ok_or_else(|| ApiError::Interne("vue d'inscription absente".into()))?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", crate::http::ecriture::etag(version)))
        .json(vue))
}
