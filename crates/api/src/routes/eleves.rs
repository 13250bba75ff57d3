//! `/v1/eleves`: pupils of the caller's perimeter, with their guardians.

use actix_web::http::StatusCode;
use actix_web::{get, patch, put, web, HttpRequest, HttpResponse};
use chrono::Utc;
use onde_domain::dossier::{DossierEleve, Lecture};
use onde_domain::{Eleve, Ine, Perimetre};
use onde_store::DbConnection;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::acces::Acces;
use crate::erreurs::erreur::ApiError;
use crate::erreurs::probleme::{depuis_manquements, ErreursMiseAJour, ErreursRessource};
use crate::etat::EtatApp;
use crate::http::bloquant::executer;
use crate::http::corps;
use crate::http::ecriture::{self, etag, ReponseEcriture};
use crate::http::parametres::chemin;
use crate::securite::vue::EleveVue;

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ParametresEleves {
    /// UAI d'une école : ses élèves d'inscription active.
    #[param(value_type = Option<onde_domain::Uai>)]
    uai: Option<String>,
    /// Code INSEE d'une commune : les élèves d'inscription active dans une de ses écoles.
    #[param(value_type = Option<onde_domain::CodeInsee>)]
    commune: Option<String>,
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

/// Une page d'élèves, dans l'ordre de leur identifiant.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PageEleves {
    /// Les élèves de la page, 1000 au plus (`limit`).
    #[schema(max_items = 1000)]
    pub elements: Vec<EleveVue>,
    /// Curseur de la page suivante ; absent sur la dernière page.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,200}$", max_length = 200, example = "djE6MDE5MmQzZTQ")]
    pub curseur_suivant: Option<String>,
    /// Chemin de la page suivante (aussi dans l'en-tête `Link`) ; absent sur la dernière page.
    #[schema(max_length = 2000, example = "/v1/eleves?limit=100&curseur=djE6MDE5MmQzZTQ")]
    pub lien_suivant: Option<String>,
}

/// Lister les élèves
///
/// Les élèves du périmètre de l'appelant (scolarisés dans une de ses écoles ou résidant dans
/// une de ses communes) avec leurs responsables, limités à son profil de données ; filtres par
/// école ou commune de scolarisation ; pagination par curseur, `ETag` par page. En CSV
/// (`?format=csv` ou `Accept: text/csv`) : toute la liste filtrée, en flux, pour un tableur
/// français (UTF-8 avec BOM, `;`, en-têtes français, dates jj/mm/aaaa), aux colonnes de
/// l'import (`responsable1_nom`…, jusqu'à 4 responsables) permises par le profil.
/// Aucune cellule n'est une formule : une valeur qui commence par `=`, `+`, `-`, `@`, une
/// tabulation ou un retour chariot est écrite précédée d'une apostrophe (règle OWASP contre
/// l'injection de formules), un téléphone `+33…` compris.
#[utoipa::path(
    tag = "eleves",
    operation_id = "lister_eleves",
    security(("oauth2" = ["eleves:read"])),
    params(ParametresEleves),
    responses(
        (status = 200, description = "Une page d'élèves, ou toute la liste en CSV", content(
            (PageEleves = "application/json"),
            (String = "text/csv", example = json!("eleve_id;ine;nom;prenoms;sexe;date_naissance\r\n0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6f;0494004062M;Morel;Léa|Rose;F;02/04/2020\r\n")),
        ), headers(("Link" = String, description = "Lien vers la page suivante, `rel=\"next\"`"), ("ETag" = String, description = "Empreinte de la page"))),
        crate::erreurs::probleme::ErreursLecture,
    )
)]
#[get("/eleves")]
pub async fn lister(
    etat: web::Data<EtatApp>,
    acces: Acces,
    params: web::Query<ParametresEleves>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    use crate::http::parametres::Lecteur;
    let p = params.into_inner();
    let mut l = Lecteur::default();
    let filtre = onde_store::eleves::FiltreEleves {
        uai: l.optionnel("uai", p.uai.as_deref(), onde_domain::Uai::parse),
        commune: l.optionnel("commune", p.commune.as_deref(), onde_domain::CodeInsee::parse),
    };
    let page = crate::http::pagination::demande(&mut l, p.limit.as_deref(), p.curseur.as_deref());
    let csv = crate::http::export::veut_csv(&req, p.format.as_deref(), &mut l);
    l.terminer()?;
    if csv {
        return Ok(exporter(&etat, acces, filtre, page.apres));
    }
    let perimetre = acces.perimetre.clone();
    let adresse = crate::http::pagination::Adresse::de(&req);
    let auditeur = etat.auditeur.clone();
    let page = crate::http::bloquant::executer_puis(
        &etat.lecture,
        move |c| onde_store::eleves::lister(c, &perimetre, &filtre, &page),
        move |resultat| {
            let lien = resultat.suivant.as_ref().map(|c| adresse.suivante(c));
            let curseur_suivant = resultat.suivant.map(|c| c.encoder());
            acces.exposer_eleves(&auditeur, resultat.elements).try_map(|elements| {
                let corps = PageEleves {
                    elements,
                    curseur_suivant,
                    lien_suivant: lien.clone(),
                };
                crate::http::pagination::PageServie::serialiser(&corps, lien)
            })
        },
    )
    .await?
    .liberer()
    .await?;
    Ok(page.reponse())
}

/// Guardians per row of the pupils' CSV export (as in the import's columns).
const RESPONSABLES_CSV: usize = onde_store::imports::lecture::RESPONSABLES_MAX;

fn exporter(
    etat: &EtatApp,
    acces: Acces,
    filtre: onde_store::eleves::FiltreEleves,
    depuis: Option<onde_store::Curseur>,
) -> HttpResponse {
    use crate::http::export;
    use onde_domain::ChampEleve as C;
    let p = &acces.profil;
    let (ine, identite, lieu, adresse, resp, contacts) = (
        p.lit(C::Ine),
        p.lit(C::Identite),
        p.lit(C::LieuNaissance),
        p.lit(C::Adresse),
        p.lit(C::Responsables),
        p.lit(C::ContactsResponsables),
    );
    let mut entete = vec!["eleve_id".to_owned()];
    let mut ajouter = |oui: bool, noms: &[&str]| {
        if oui {
            entete.extend(noms.iter().map(|n| n.to_string()));
        }
    };
    ajouter(ine, &["ine"]);
    ajouter(identite, &["nom", "prenoms", "sexe", "date_naissance"]);
    ajouter(lieu, &["lieu_naissance"]);
    ajouter(adresse, &["adresse_voie", "adresse_code_postal", "adresse_commune"]);
    for n in 1..=RESPONSABLES_CSV {
        let noms: Vec<String> = ["nom", "prenom", "lien", "autorite_parentale"]
            .iter()
            .map(|c| format!("responsable{n}_{c}"))
            .collect();
        ajouter(resp, &noms.iter().map(String::as_str).collect::<Vec<_>>());
        let noms: Vec<String> = ["telephone", "courriel", "adresse"]
            .iter()
            .map(|c| format!("responsable{n}_{c}"))
            .collect();
        ajouter(resp && contacts, &noms.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let auditeur = etat.auditeur.clone();
    export::reponse(etat.lecture.clone(), "eleves.csv", entete, depuis, move |c, apres| {
        let page = onde_store::DemandePage {
            limite: export::TRANCHE,
            apres,
        };
        let resultat = onde_store::eleves::lister(c, &acces.perimetre, &filtre, &page)?;
        let opt = |o: Option<String>| o.unwrap_or_default();
        let suivant = resultat.suivant;
        // The chunk leaves once its audit record is durable (export::reponse waits for it).
        Ok(acces.exposer_eleves(&auditeur, resultat.elements).map(|vues| {
            let lignes: Vec<Vec<String>> = vues
                .into_iter()
                .map(|v| {
                    let mut l = vec![v.id.to_string()];
                    if ine {
                        l.push(opt(v.ine.map(|x| x.as_str().to_owned())));
                    }
                    if identite {
                        l.push(opt(v.nom));
                        l.push(opt(v.prenoms.map(|p| p.tous().join("|"))));
                        l.push(opt(v.sexe.map(|s| s.as_str().to_owned())));
                        l.push(opt(v.date_naissance.map(export::date)));
                    }
                    if lieu {
                        l.push(opt(v.lieu_naissance.map(|x| x.as_str().to_owned())));
                    }
                    if adresse {
                        let a = v.adresse;
                        l.push(opt(a.as_ref().map(|a| a.voie.clone())));
                        l.push(opt(a.as_ref().map(|a| a.code_postal.clone())));
                        l.push(opt(a.as_ref().map(|a| a.commune.as_str().to_owned())));
                    }
                    if resp {
                        let rs = v.responsables.unwrap_or_default();
                        for n in 0..RESPONSABLES_CSV {
                            let r = rs.get(n);
                            l.push(opt(r.map(|r| r.nom.clone())));
                            l.push(opt(r.map(|r| r.prenom.clone())));
                            l.push(opt(r.map(|r| r.lien.as_str().to_owned())));
                            l.push(opt(r.map(|r| export::oui_non(r.autorite_parentale))));
                            if contacts {
                                l.push(opt(r.and_then(|r| r.telephone.clone())));
                                l.push(opt(r.and_then(|r| r.courriel.clone())));
                                l.push(opt(r.and_then(|r| r.adresse.clone())));
                            }
                        }
                    }
                    l
                })
                .collect();
            (lignes, suivant)
        }))
    })
}

/// Consulter un élève
///
/// L'élève d'INE donné avec ses responsables légaux, s'il est scolarisé dans une école du
/// périmètre de l'appelant (inscription active) ou réside dans une de ses communes.
#[utoipa::path(
    tag = "eleves",
    operation_id = "consulter_eleve",
    security(("oauth2" = ["eleves:read"])),
    params(("ine" = Ine, Path, description = "INE de l'élève")),
    responses((status = 200, description = "L'élève et ses responsables", body = EleveVue,
        headers(("ETag" = String, description = "Version, à renvoyer en If-Match lors d'une écriture"))), ErreursRessource)
)]
#[get("/eleves/{ine}")]
pub async fn trouver(etat: web::Data<EtatApp>, acces: Acces, ine: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let ine = chemin("ine", &ine, Ine::parse)?;
    let perimetre = acces.perimetre.clone();
    let trouve = executer(&etat.store, move |c| {
        let eleve = onde_store::eleves::trouver_par_ine(c, &perimetre, &ine)?;
        let version = onde_store::eleves::id_par_ine(c, &ine)?.map(|(_, v)| v);
        Ok(eleve.zip(version))
    })
    .await?;
    let (eleve, version) = trouve.ok_or(ApiError::Introuvable { ressource: "L'élève" })?;
    let vue = acces.exposer_eleve(&etat.auditeur, eleve).liberer().await?;
    Ok(HttpResponse::Ok().insert_header(("ETag", etag(version))).json(vue))
}

/// The record of a stored pupil, in the shape partners send (the base of a merge patch).
fn en_dossier(e: &Eleve) -> Value {
    json!({
        "ine": e.ine,
        "nom": e.nom,
        "prenoms": e.prenoms,
        "sexe": e.sexe,
        "date_naissance": e.date_naissance,
        "lieu_naissance": e.lieu_naissance,
        "adresse": e.adresse,
        "responsables": e.responsables.iter().map(|r| {
            let mut o = json!({
                "nom": r.nom,
                "prenom": r.prenom,
                "lien": r.lien,
                "autorite_parentale": r.autorite_parentale,
            });
            for (cle, valeur) in [("telephone", &r.telephone), ("courriel", &r.courriel), ("adresse", &r.adresse)] {
                if let Some(v) = valeur {
                    o[cle] = json!(v);
                }
            }
            o
        }).collect::<Vec<_>>(),
    })
}

fn lire_dossier(v: &Value, ine: &Ine) -> Result<DossierEleve, ApiError> {
    let mut l = Lecture::default();
    let mut v = v.clone();
    match v.get("ine") {
        None | Some(Value::Null) => {
            if let Some(o) = v.as_object_mut() {
                o.insert("ine".into(), json!(ine.as_str()));
            }
        }
        Some(Value::String(s)) if s == ine.as_str() => {}
        Some(_) => l.signaler(
            "/ine",
            "ine_different_du_chemin",
            format!("l'INE du corps doit être celui du chemin ({ine})"),
        ),
    }
    let d = DossierEleve::lire(&v, "", Utc::now().date_naive(), &mut l);
    match d {
        Some(d) if l.est_vide() => Ok(d),
        _ => Err(ApiError::NonConforme(depuis_manquements(l.manquements))),
    }
}

/// Creates or replaces the pupil `ine`; answers 201 (created), 200 (replaced or unchanged).
fn ecrire_dossier(
    c: &mut DbConnection,
    acces: &Acces,
    ine: &Ine,
    dossier: DossierEleve,
    si_version: Option<i64>,
) -> Result<ReponseEcriture, ApiError> {
    let maintenant = Utc::now().naive_utc();
    onde_store::eleves::verrouiller_identite(c, &dossier.cle_doublon(), Some(ine))?;
    let (id, version, statut) = match onde_store::eleves::id_par_ine(c, ine)? {
        Some((id, version)) => {
            if !onde_store::eleves::visible(c, &acces.perimetre, id)? {
                // The INE is taken outside the perimeter: never overwritten, and nothing told
                // of its holder (as for a batch item or an import line).
                return Err(ApiError::IneHorsPerimetre);
            }
            ecriture::verifier_version(si_version, version)?;
            let (stocke, _) = onde_store::eleves::trouver(c, &Perimetre::National, id)?
                .ok_or(ApiError::Introuvable { ressource: "L'élève" })?;
            if onde_store::eleves::identique(&stocke, &dossier) {
                (id, version, StatusCode::OK)
            } else {
                if let Some((autre, autre_ine)) = onde_store::eleves::par_cle_doublon(c, &dossier.cle_doublon())? {
                    if autre != id {
                        return Err(crate::securite::doublons::doublon(
                            c,
                            &acces.perimetre,
                            autre,
                            autre_ine,
                        )?);
                    }
                }
                let nouvelle = onde_store::eleves::remplacer(c, id, &dossier, version, maintenant)?.ok_or(
                    ApiError::PreconditionEchouee {
                        version_actuelle: version + 1,
                    },
                )?;
                // A write never puts the pupil where its writer cannot see it (e.g. an address
                // moved to another commune, no inscription in the perimeter): undone, 422.
                if !onde_store::eleves::visible(c, &acces.perimetre, id)? {
                    return Err(ApiError::NonConforme(vec![onde_service::Violation {
                        pointer: Some("/adresse/commune".into()),
                        parametre: None,
                        code: "eleve_hors_perimetre".into(),
                        message: "après cette écriture l'élève ne serait plus dans votre périmètre (aucune \
                                  inscription active dans une de vos écoles, résidence hors de vos communes) : \
                                  rien n'a été appliqué"
                            .into(),
                    }]));
                }
                (id, nouvelle, StatusCode::OK)
            }
        }
        None => {
            if si_version.is_some() {
                return Err(ApiError::Introuvable { ressource: "L'élève" });
            }
            if let Some((autre, autre_ine)) = onde_store::eleves::par_cle_doublon(c, &dossier.cle_doublon())? {
                return Err(crate::securite::doublons::doublon(
                    c,
                    &acces.perimetre,
                    autre,
                    autre_ine,
                )?);
            }
            // A new pupil must land in the caller's perimeter, or the caller could never read
            // it back: by residence here; with an inscription, through POST /v1/inscriptions
            // or a batch.
            if let Perimetre::Restreint { communes, .. } = &acces.perimetre {
                if !dossier.adresse.as_ref().is_some_and(|a| communes.contains(&a.commune)) {
                    return Err(ApiError::NonConforme(vec![onde_service::Violation {
                        pointer: Some("/adresse/commune".into()),
                        parametre: None,
                        code: "eleve_hors_perimetre".into(),
                        message: "un nouvel élève sans inscription doit résider dans une commune de votre périmètre ; \
                                  sinon, créez-le avec son inscription (POST /v1/lots/eleves ou POST /v1/inscriptions)"
                            .into(),
                    }]));
                }
            }
            let id = Uuid::now_v7();
            onde_store::eleves::inserer(c, id, &dossier, maintenant)?;
            (id, 1, StatusCode::CREATED)
        }
    };
    let (eleve, _) = onde_store::eleves::trouver(c, &Perimetre::National, id)?
        .ok_or_else(|| ApiError::Interne("élève introuvable après écriture".into()))?;
    let corps = serde_json::to_value(acces.vue_eleve(eleve)).map_err(|e| ApiError::Interne(e.to_string()))?;
    let mut r = ReponseEcriture::new(statut, corps)
        .entete("ETag", etag(version))
        .eleves(vec![id]);
    if statut == StatusCode::CREATED {
        r = r.entete("Location", format!("/v1/eleves/{ine}"));
    }
    Ok(r)
}

/// Créer ou remplacer un élève
///
/// Écrit le dossier complet de l'élève d'INE donné, responsables compris (ils remplacent les
/// précédents) : création (201) si l'INE est inconnu, remplacement (200) s'il est dans le
/// périmètre, sans effet (200, même ETag) si rien ne change. `If-Match` protège d'une écriture
/// concurrente (412). Un élève identique à un autre sur les cinq champs normalisés est refusé
/// (409, avec le `candidat` s'il est dans le périmètre, sans rien en dire sinon). Un INE porté par
/// un élève hors du périmètre n'est jamais remplacé (409 `ine_hors_perimetre`). Une écriture qui
/// laisserait l'élève hors du périmètre (adresse dans une autre commune sans inscription dans
/// une de vos écoles) est refusée (422 `eleve_hors_perimetre`).
#[utoipa::path(
    tag = "eleves",
    operation_id = "ecrire_eleve",
    security(("oauth2" = ["eleves:write"])),
    params(
        ("ine" = Ine, Path, description = "INE de l'élève"),
        ("If-Match" = Option<String>, Header, description = "ETag lu (ex. \"v3\") : refus 412 si l'élève a changé depuis", pattern = r#"^(\*|(W/)?"v[0-9]{1,18}(-(gzip|zstd|br))?")$"#, max_length = 28, example = "\"v3\""),
    ),
    request_body(content = crate::openapi::dossiers::DossierEleve, content_type = "application/json", description = "Le dossier complet de l'élève, responsables compris."),
    responses(
        (status = 200, description = "Élève remplacé ou inchangé", body = EleveVue, headers(("ETag" = String, description = "Version"))),
        (status = 201, description = "Élève créé", body = EleveVue, headers(("ETag" = String, description = "Version"), ("Location" = String, description = "Chemin de l'élève"))),
        ErreursMiseAJour,
    )
)]
#[put("/eleves/{ine}")]
pub async fn ecrire(
    etat: web::Data<EtatApp>,
    acces: Acces,
    req: HttpRequest,
    octets: web::Bytes,
    ine: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let ine = chemin("ine", &ine, Ine::parse)?;
    let si_version = ecriture::si_correspond(&req)?;
    corps::verifier_type(&req, &[crate::constantes::JSON])?;
    let v: Value = onde_service::json::depuis_octets(&octets)?;
    let dossier = lire_dossier(&v, &ine)?;
    let a = acces.clone();
    ecriture::executer(&etat, &acces, &req, &octets, move |c| {
        ecrire_dossier(c, &a, &ine, dossier, si_version)
    })
    .await
}

/// Modifier un élève
///
/// Correctif JSON (RFC 7396, `application/merge-patch+json`) appliqué au dossier de l'élève :
/// les champs absents restent, `null` efface un champ facultatif, une liste (prénoms,
/// responsables) est remplacée entière. Le résultat est validé comme un dossier complet.
#[utoipa::path(
    patch,
    tag = "eleves",
    operation_id = "modifier_eleve",
    security(("oauth2" = ["eleves:write"])),
    params(
        ("ine" = Ine, Path, description = "INE de l'élève"),
        ("If-Match" = Option<String>, Header, description = "ETag lu (ex. \"v3\") : refus 412 si l'élève a changé depuis", pattern = r#"^(\*|(W/)?"v[0-9]{1,18}(-(gzip|zstd|br))?")$"#, max_length = 28, example = "\"v3\""),
    ),
    request_body(content = crate::openapi::dossiers::CorrectifEleve, content_type = "application/merge-patch+json", description = "Correctif JSON (RFC 7396) du dossier ; `application/json` est aussi accepté."),
    responses(
        (status = 200, description = "Élève modifié", body = EleveVue, headers(("ETag" = String, description = "Version"))),
        ErreursMiseAJour,
    )
)]
#[patch("/eleves/{ine}")]
pub async fn modifier(
    etat: web::Data<EtatApp>,
    acces: Acces,
    req: HttpRequest,
    octets: web::Bytes,
    ine: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let ine = chemin("ine", &ine, Ine::parse)?;
    let si_version = ecriture::si_correspond(&req)?;
    corps::verifier_type(&req, &[crate::constantes::MERGE_PATCH, crate::constantes::JSON])?;
    let correctif: Value = onde_service::json::depuis_octets(&octets)?;
    if !correctif.is_object() {
        return Err(ApiError::CorpsIllisible(vec![onde_service::Violation::champ(
            "",
            "type_invalide",
            "un correctif JSON (merge patch) est un objet",
        )]));
    }
    onde_service::json::verifier_correctif(
        &correctif,
        &onde_domain::dossier::CHAMPS_ELEVE,
        &[("adresse", &onde_domain::dossier::CHAMPS_ADRESSE)],
    )?;
    let a = acces.clone();
    ecriture::executer(&etat, &acces, &req, &octets, move |c| {
        let (id, _) =
            onde_store::eleves::id_par_ine(c, &ine)?.ok_or(ApiError::Introuvable { ressource: "L'élève" })?;
        let (stocke, _) = onde_store::eleves::trouver(c, &a.perimetre, id)?
            .ok_or(ApiError::Introuvable { ressource: "L'élève" })?;
        let mut document = en_dossier(&stocke);
        onde_service::json::fusionner(&mut document, &correctif);
        let dossier = lire_dossier(&document, &ine)?;
        ecrire_dossier(c, &a, &ine, dossier, si_version)
    })
    .await
}
