//! Writes on inscriptions: creation by a mairie (for an existing pupil or a new one, created in
//! the same transaction) and the workflow steps, each an explicit operation checked by the
//! domain's state machine. All run through [`crate::ecriture::executer`]: one transaction,
//! `If-Match`, `Idempotency-Key`, audit once committed.

use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, Utc};
use onde_domain::dossier::{verifier_age, verifier_age_eleve_connu, DossierEleve, IdentiteDeclaree, Lecture};
use onde_domain::{AnneeScolaire, DomainError, Ine, Inscription, Niveau, Perimetre, StatutInscription, Uai};
use onde_store::inscriptions::InscriptionEleve;
use onde_store::DbConnection;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::acces::Acces;
use crate::corps;
use crate::ecriture::{self, etag, ReponseEcriture};
use crate::parametres::chemin;
use crate::probleme::{depuis_manquements, ErreursMiseAJour};
use crate::vue::InscriptionDetaillee;
use crate::{ApiError, EtatApp};

/// Corps d'une demande d'inscription : un élève existant (`eleve_id`) ou un nouvel élève (`eleve`).
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct DemandeInscription {
    /// Identifiant interne d'un élève existant (exclusif de `eleve`).
    #[schema(example = "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6f")]
    eleve_id: Option<Uuid>,
    /// Dossier d'un nouvel élève, créé dans la même transaction (exclusif de `eleve_id`).
    #[schema(value_type = Option<crate::dossiers::DossierEleve>)]
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

fn aujourdhui() -> NaiveDate {
    Utc::now().date_naive()
}

fn maintenant() -> chrono::NaiveDateTime {
    Utc::now().naive_utc()
}

fn non_conforme(l: Lecture) -> ApiError {
    ApiError::NonConforme(depuis_manquements(l.manquements))
}

fn lire_json(req: &HttpRequest, octets: &[u8], vide_permis: bool) -> Result<Value, ApiError> {
    if vide_permis && octets.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    corps::verifier_type(req, &[corps::JSON])?;
    Ok(onde_service::json::depuis_octets::<Value>(octets)?)
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

/// Workflow steps are taken in schools where the caller's rights open the enrolment path
/// ([`Perimetre::parcours_ouvert`]): never, through a commune, in a private school under
/// contract. The one place every workflow step (creation, rattachement, admission,
/// admissibilité, admission définitive, radiation, change of school or niveau) checks it.
fn verifier_parcours(acces: &Acces, ecole: &onde_domain::Ecole) -> Result<(), ApiError> {
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
fn ecole_accessible(
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

fn inserer_inscription(c: &mut DbConnection, i: &Inscription) -> Result<(), ApiError> {
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

fn relire(c: &mut DbConnection, acces: &Acces, id: Uuid) -> Result<InscriptionEleve, ApiError> {
    // Read back nationally: after a change of school the row may have left the perimeter.
    onde_store::inscriptions::trouver(c, &onde_domain::Perimetre::National, id)?.ok_or_else(|| {
        ApiError::Interne(format!(
            "inscription {id} introuvable après écriture ; accès {}",
            acces.client_id
        ))
    })
}

fn reponse_inscription(
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
                        return Err(crate::doublons::ine_detenu(c, &a.perimetre, id, ine)?);
                    }
                }
                if let Some((id, ine)) = onde_store::eleves::par_cle_doublon(c, &dossier.cle_doublon())? {
                    return Err(crate::doublons::doublon(c, &a.perimetre, id, ine)?);
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

/// Another writer committed between our read and our write: a failed precondition if the
/// caller sent one, a conflict otherwise.
fn concurrente(si_version: Option<i64>, version: i64) -> ApiError {
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
                ("If-Match" = Option<String>, Header, description = "ETag lu (ex. \"v3\") : refus 412 si l'inscription a changé depuis", pattern = r#"^(\*|(W/)?"v[0-9]{1,18}")$"#, max_length = 24, example = "\"v3\""),
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
    crate::dossiers::DemandeAdmissibilite,
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
