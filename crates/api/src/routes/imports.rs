//! `/v1/imports`: large asynchronous imports of pupil records (NDJSON or CSV, up to 512 MiB).
//!
//! The upload is streamed to a spool file of this node (never held in memory, never stored
//! in the database) while its SHA-256 is computed; the job row is created under the
//! `Idempotency-Key` like any write, answered 202 with its `Location`, and queued for one of
//! the node's import workers ([`crate::ateliers`]).
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use futures_util::StreamExt;
use onde_store::imports::{self, FormatImport, Import, NoteAudit};
use onde_store::Curseur;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::ateliers::Televersement;
use crate::auth::acces::Acces;
use crate::constantes::{CSV, NDJSON, TAILLE_MAX_IMPORT};
use crate::erreurs::erreur::ApiError;
use crate::erreurs::probleme::{ErreursMiseAJour, ErreursRessource, Probleme};
use crate::etat::EtatApp;
use crate::http::bloquant::executer;
use crate::http::ecriture::{self, ReponseEcriture};
use crate::http::pagination;
use crate::http::parametres::{chemin, Lecteur};
use onde_service::Violation;

/// Spool directory of uploads waiting for their worker (default: a folder of the system's
/// temporary directory).
pub const VARIABLE_SPOOL: &str = "ONDE_IMPORTS_DOSSIER";

fn dossier_spool(etat: &EtatApp) -> PathBuf {
    etat.dossier_imports
        .clone()
        .or_else(|| std::env::var_os(VARIABLE_SPOOL).map(PathBuf::from))
        .unwrap_or_else(|| std::env::temp_dir().join("onde-echanges-imports"))
}

/// Un import : son état, son avancement et ses décomptes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportVue {
    /// Identifiant de l'import.
    #[schema(example = "0193a5f0-7c1e-7d3a-9b2e-4f5a6b7c8d9e")]
    pub id: Uuid,
    /// Format du fichier envoyé.
    #[schema(example = "ndjson", max_length = 6, pattern = "^(ndjson|csv)$")]
    pub format: String,
    /// Les lignes valides sont appliquées, les autres rejetées (voir `rapport_rejets`).
    #[schema(example = "partiel", max_length = 12)]
    pub mode: String,
    /// `en_attente`, `en_cours`, `termine`, `echoue` ou `interrompu` (le partenaire a perdu le
    /// droit d'écrire pendant l'import : voir `motif`).
    #[schema(
        example = "en_cours",
        max_length = 10,
        pattern = "^(en_attente|en_cours|termine|echoue|interrompu)$"
    )]
    pub statut: String,
    /// Pour un import `interrompu` : `partenaire_revoque` (partenaire ou client révoqué),
    /// `partenaire_suspendu` (partenaire désactivé), `scope_retire` (droit `eleves:write`
    /// retiré) ou `perimetre_reduit` (mandat, commune ou école retiré du périmètre où l'import
    /// écrit). Vérifié avant chaque tranche : les tranches validées avant restent appliquées
    /// et comptées (`traites`, `crees`…), aucune autre ne l'est.
    #[schema(
        example = "partenaire_revoque",
        max_length = 19,
        pattern = "^(partenaire_revoque|partenaire_suspendu|scope_retire|perimetre_reduit)$"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motif: Option<String>,
    /// Nombre de lignes de données du fichier, une fois comptées.
    #[schema(example = 100000, minimum = 0, maximum = 100000000)]
    pub total: Option<i64>,
    /// Lignes traitées (appliquées ou rejetées) ; chaque ligne traitée l'est entièrement.
    #[schema(example = 40000, minimum = 0, maximum = 100000000)]
    pub traites: i64,
    /// Lignes créées.
    #[schema(example = 39990, minimum = 0, maximum = 100000000)]
    pub crees: i64,
    /// Lignes modifiées.
    #[schema(example = 0, minimum = 0, maximum = 100000000)]
    pub modifies: i64,
    /// Lignes déjà à jour.
    #[schema(example = 0, minimum = 0, maximum = 100000000)]
    pub inchanges: i64,
    /// Lignes rejetées.
    #[schema(example = 10, minimum = 0, maximum = 100000000)]
    pub rejetes: i64,
    /// Réception du fichier.
    pub cree_le: DateTime<Utc>,
    /// Début du traitement.
    pub debut_le: Option<DateTime<Utc>>,
    /// Fin du traitement.
    pub fin_le: Option<DateTime<Utc>>,
    /// Pour un import `echoue` ou `interrompu` : pourquoi, et comment terminer.
    #[schema(
        max_length = 2000,
        example = "le fichier n'est pas en UTF-8 ; réenvoyez-le encodé en UTF-8"
    )]
    pub erreur: Option<String>,
    /// Chemin du rapport des lignes rejetées (JSON paginé, ou CSV avec `?format=csv`).
    #[schema(
        example = "/v1/imports/0193a5f0-7c1e-7d3a-9b2e-4f5a6b7c8d9e/rejets",
        max_length = 200
    )]
    pub rapport_rejets: String,
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

impl ImportVue {
    fn depuis(i: &Import) -> Result<Self, ApiError> {
        let id = Uuid::parse_str(&i.id).map_err(|e| ApiError::Interne(e.to_string()))?;
        Ok(Self {
            id,
            format: i.format.clone(),
            mode: i.mode.clone(),
            statut: i.statut.clone(),
            motif: None,
            total: i.total,
            traites: i.traites,
            crees: i.crees,
            modifies: i.modifies,
            inchanges: i.inchanges,
            rejetes: i.rejetes,
            cree_le: utc(i.cree_le),
            debut_le: i.debut_le.map(utc),
            fin_le: i.fin_le.map(utc),
            erreur: i.erreur.clone(),
            rapport_rejets: format!("/v1/imports/{id}/rejets"),
        })
    }
}

/// Une violation d'une ligne rejetée.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RejetVue {
    /// Ligne du fichier (à partir de 1 ; en CSV, l'en-tête est la ligne 1).
    #[schema(example = 42, minimum = 1, maximum = 100000000)]
    pub ligne: i64,
    /// Pointeur JSON (RFC 6901) du champ en cause dans l'enregistrement de la ligne
    /// (`{"eleve": …, "inscriptions": […]}`, aussi pour une ligne CSV).
    #[schema(example = "/eleve/ine", max_length = 200)]
    pub pointeur: String,
    /// Code machine stable de la règle.
    #[schema(example = "ine_cle", max_length = 100)]
    pub code: String,
    /// Message en français.
    #[schema(example = "INE « 0494004062N » : la lettre clé devrait être M", max_length = 2000)]
    pub message: String,
}

/// Une page du rapport des rejets, par ligne croissante.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageRejets {
    /// Les violations de la page, 1000 au plus (`limit`).
    #[schema(max_items = 1000)]
    pub elements: Vec<RejetVue>,
    /// Curseur de la page suivante ; absent sur la dernière page.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,200}$", max_length = 200, example = "djE6NDI")]
    pub curseur_suivant: Option<String>,
    /// Chemin de la page suivante (aussi dans l'en-tête `Link`) ; absent sur la dernière page.
    #[schema(
        max_length = 2000,
        example = "/v1/imports/0193a5f0-7c1e-7d3a-9b2e-4f5a6b7c8d9e/rejets?curseur=djE6NDI"
    )]
    pub lien_suivant: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ParametresRejets {
    /// `json` (par défaut, paginé) ou `csv` (rapport complet à télécharger ; aussi avec
    /// `Accept: text/csv`).
    #[param(value_type = Option<String>, pattern = "^(json|csv)$", max_length = 4, example = "csv")]
    format: Option<String>,
    /// Nombre maximal d'éléments de la page (1 à 1000 ; 100 par défaut).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000, example = 100)]
    limit: Option<String>,
    /// Curseur opaque de la page suivante, repris de `curseur_suivant`.
    #[param(value_type = Option<String>, pattern = r"^[A-Za-z0-9_-]{1,200}$", max_length = 200, example = "djE6MDc1MDY1NUU")]
    curseur: Option<String>,
}

fn trop_grand() -> HttpResponse {
    let p = Probleme {
        type_probleme: "/problemes/fichier_trop_grand".into(),
        title: "Fichier trop volumineux".into(),
        status: 413,
        detail: format!(
            "Un import fait au plus {} Mio : découpez le fichier.",
            TAILLE_MAX_IMPORT / (1024 * 1024)
        ),
        instance: crate::middleware::identifiant_requete::courant().map(|id| format!("urn:uuid:{id}")),
        code: "fichier_trop_grand".into(),
        candidat: None,
        statut_actuel: None,
        transitions_autorisees: None,
        resultats: None,
        erreurs: Vec::new(),
    };
    HttpResponse::build(StatusCode::PAYLOAD_TOO_LARGE)
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::constantes::TYPE_PROBLEME_JSON),
        ))
        .json(p)
}

fn non_conforme(code: &str, message: impl Into<String>) -> ApiError {
    ApiError::NonConforme(vec![Violation {
        pointer: Some(String::new()),
        parametre: None,
        code: code.into(),
        message: message.into(),
    }])
}

/// Lancer un import
///
/// Envoie un fichier de dossiers d'élèves avec leurs inscriptions, traité en arrière-plan :
/// la réponse 202 donne l'import (`Location: /v1/imports/{id}`), dont on suit l'avancement par
/// `GET`. Mêmes éléments et mêmes règles que `POST /v1/lots/eleves` en mode `partiel` : chaque
/// ligne est `creee`, `modifiee`, `inchangee` ou rejetée (rapport des rejets avec ligne,
/// pointeur JSON, code et message), jamais appliquée à moitié ; renvoyer le même fichier ne
/// change rien.
///
/// **NDJSON** (`Content-Type: application/x-ndjson`) : un objet par ligne,
/// `{"eleve": {dossier avec ine}, "inscriptions": [{uai, annee_scolaire, niveau, classe?,
/// dispositif?, statut?, admission_provisoire?, date_inscription?, date_admission?}]}`.
///
/// **CSV** (`Content-Type: text/csv`) : UTF-8 avec ou sans BOM, séparateur `;`, une ligne
/// d'en-tête aux noms de colonnes suivants (ordre libre ; cellule vide = champ absent) :
/// `ine;nom;prenoms;sexe;date_naissance;lieu_naissance` (obligatoires ; `prenoms` séparés par
/// `|`), `adresse_voie;adresse_code_postal;adresse_commune`, pour N de 1 à 4
/// `responsableN_nom;responsableN_prenom;responsableN_lien;responsableN_autorite_parentale`
/// `;responsableN_telephone;responsableN_courriel;responsableN_adresse` (booléens `oui`/`non`),
/// puis une inscription : `uai;annee_scolaire;niveau;classe;dispositif;statut;`
/// `admission_provisoire;date_inscription;date_admission`. Les pointeurs du rapport désignent
/// le même enregistrement JSON (`responsable1_nom` → `/eleve/responsables/0/nom`).
///
/// Au plus 512 Mio. Une ligne (ou un enregistrement CSV, même sur plusieurs lignes entre
/// guillemets) fait au plus 64 Kio par défaut (réglage `imports.ligne_max_octets`) : une ligne
/// plus longue est un rejet `ligne_trop_longue` et l'import continue à la ligne suivante.
/// Chaque nœud traite un nombre borné d'imports à la fois et en garde un nombre borné en
/// attente (`en_attente`) : file pleine, la réponse est 503 `file_imports_pleine` avec
/// `Retry-After`, avant lecture du fichier. Avec `Idempotency-Key`, un nouvel essai renvoie le
/// même import.
#[utoipa::path(
    tag = "imports",
    operation_id = "lancer_import",
    security(("oauth2" = ["eleves:write"])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Clé d'idempotence : un nouvel essai avec la même clé et le même fichier renvoie le même import sans en lancer un second, pendant 30 jours par défaut (durée de conservation)", pattern = "^[!-~]{1,255}$", max_length = 255, example = "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e")),
    request_body(
        description = "Le fichier à importer, en NDJSON ou en CSV",
        content(
            (String = "application/x-ndjson", example = json!("{\"eleve\": {\"ine\": \"0494004062M\", \"nom\": \"Morel\", \"prenoms\": [\"Léa\"], \"sexe\": \"F\", \"date_naissance\": \"2020-04-02\", \"lieu_naissance\": \"75056\"}, \"inscriptions\": [{\"uai\": \"0750655E\", \"annee_scolaire\": \"2026-2027\", \"niveau\": \"CP\", \"statut\": \"admis_definitif\"}]}\n")),
            (String = "text/csv", example = json!("ine;nom;prenoms;sexe;date_naissance;lieu_naissance;uai;annee_scolaire;niveau;classe;statut\n0494004062M;Morel;Léa|Rose;F;2020-04-02;75056;0750655E;2026-2027;CP;CP A;admis_definitif\n")),
        )
    ),
    responses(
        (status = 202, description = "Import accepté, traité en arrière-plan", body = ImportVue,
         headers(("Location" = String, description = "Chemin de l'import : /v1/imports/{id}"))),
        ErreursMiseAJour,
        (status = 413, description = "Fichier de plus de 512 Mio", body = Probleme, content_type = "application/problem+json"),
    )
)]
#[post("/imports")]
pub async fn lancer(
    etat: web::Data<EtatApp>,
    acces: Acces,
    req: HttpRequest,
    mut corps: web::Payload,
) -> Result<HttpResponse, ApiError> {
    crate::http::corps::verifier_type(&req, &[NDJSON, CSV])?;
    // A full queue refuses the upload before reading it.
    let place = etat.imports.reserver()?;
    let format = if crate::http::corps::verifier_type(&req, &[CSV]).is_ok() {
        FormatImport::Csv
    } else {
        FormatImport::Ndjson
    };
    let dossier = dossier_spool(&etat);
    std::fs::create_dir_all(&dossier).map_err(|e| ApiError::Interne(format!("dossier des imports : {e}")))?;
    let chemin_fichier = dossier.join(format!("{}.{}", Uuid::now_v7(), format.as_str()));
    let mut garde = Televersement(Some(chemin_fichier.clone()));
    let fichier =
        std::fs::File::create(&chemin_fichier).map_err(|e| ApiError::Interne(format!("fichier d'import : {e}")))?;
    let mut sortie = std::io::BufWriter::with_capacity(1 << 20, fichier);
    let mut empreinte = <sha2::Sha256 as sha2::Digest>::new();
    let mut taille: u64 = 0;
    while let Some(morceau) = corps.next().await {
        let morceau = morceau.map_err(|e| {
            ApiError::CorpsIllisible(vec![onde_service::Violation::champ(
                "",
                "televersement_interrompu",
                format!("envoi du fichier interrompu : {e}"),
            )])
        })?;
        taille += morceau.len() as u64;
        if taille > TAILLE_MAX_IMPORT {
            return Ok(trop_grand());
        }
        sha2::Digest::update(&mut empreinte, &morceau);
        // Page-cache writes of at most a few hundred KiB: short enough for an async worker.
        sortie
            .write_all(&morceau)
            .map_err(|e| ApiError::Interne(format!("écriture du fichier d'import : {e}")))?;
    }
    sortie
        .flush()
        .map_err(|e| ApiError::Interne(format!("écriture du fichier d'import : {e}")))?;
    drop(sortie);
    if taille == 0 {
        return Err(non_conforme("fichier_vide", "le fichier envoyé est vide"));
    }
    if format == FormatImport::Csv {
        let c = chemin_fichier.clone();
        let max = etat.imports.config().ligne_max_octets;
        web::block(move || imports::lecture::verifier_csv(&c, max))
            .await
            .map_err(|e| ApiError::Interne(e.to_string()))?
            .map_err(|e| non_conforme(e.code, e.message))?;
    }
    // The idempotency fingerprint covers the file through its digest: the same key with
    // another file is refused, without holding the file in memory.
    let resume = format!("{format:?}:{:x}", sha2::Digest::finalize(empreinte));
    let id = Uuid::now_v7();
    let (partenaire, client) = (acces.partenaire_id, acces.client_id.clone());
    let reponse = ecriture::executer(&etat, &acces, &req, resume.as_bytes(), move |c| {
        let import = Import::nouveau(id, Some(partenaire), Some(client), format, Utc::now().naive_utc());
        imports::creer(c, &import)?;
        let corps = serde_json::to_value(ImportVue::depuis(&import)?).map_err(|e| ApiError::Interne(e.to_string()))?;
        Ok(ReponseEcriture::new(StatusCode::ACCEPTED, corps).entete("Location", format!("/v1/imports/{id}")))
    })
    .await?;
    // The worker claims the job: a replayed answer names another job (or this one's creation
    // rolled back), the claim fails and the spool file goes.
    if let Some(chemin_fichier) = garde.0.take() {
        let traceur = acces.clone();
        let audit: NoteAudit = Arc::new(move |ecrits: &[Uuid]| traceur.entree_audit(ecrits));
        etat.imports
            .soumettre(place, id, chemin_fichier, format, acces.perimetre.clone(), audit);
    }
    Ok(reponse)
}

// The job if it is the caller's.
async fn import_de(etat: &EtatApp, acces: &Acces, id: Uuid) -> Result<Import, ApiError> {
    let partenaire = acces.partenaire_id.to_string();
    let import = executer(&etat.store, move |c| {
        let maintenant = Utc::now().naive_utc();
        imports::marquer_abandonnes(c, maintenant - imports::SILENCE_MAX, maintenant)?;
        imports::trouver(c, id)
    })
    .await?;
    import
        .filter(|i| i.partenaire_id.as_deref() == Some(partenaire.as_str()))
        .ok_or(ApiError::Introuvable { ressource: "L'import" })
}

/// Consulter un import
///
/// État, avancement (`traites` sur `total`) et décomptes d'un import de l'appelant. Un import
/// d'un autre partenaire est introuvable (404).
#[utoipa::path(
    tag = "imports",
    operation_id = "consulter_import",
    security(("oauth2" = ["eleves:write"])),
    params(("id" = Uuid, Path, description = "Identifiant de l'import")),
    responses((status = 200, description = "L'import", body = ImportVue), ErreursRessource)
)]
#[get("/imports/{id}")]
pub async fn consulter(
    etat: web::Data<EtatApp>,
    acces: Acces,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = chemin("id", &id, parse_id)?;
    let import = import_de(&etat, &acces, id).await?;
    let mut vue = ImportVue::depuis(&import)?;
    if import.statut == imports::StatutImport::Interrompu.as_str() {
        let motif = executer(&etat.store, move |c| imports::motif(c, id)).await?;
        vue.motif = motif.map(|m| m.as_str().to_owned());
    }
    Ok(HttpResponse::Ok().json(vue))
}

fn parse_id(s: &str) -> Result<Uuid, onde_domain::DomainError> {
    Uuid::parse_str(s).map_err(|_| onde_domain::DomainError::Invalide {
        code: "identifiant_invalide",
        message: "un UUID est attendu".into(),
    })
}

fn curseur_rejet(c: &Curseur) -> Option<(i64, i32)> {
    let (l, r) = c.cle().split_once(':')?;
    Some((l.parse().ok()?, r.parse().ok()?))
}

/// Rapport des rejets d'un import
///
/// Chaque violation des lignes rejetées : ligne, pointeur JSON, code et message. En JSON,
/// paginé par curseur (`lien_suivant`) ; en CSV (`?format=csv` ou `Accept: text/csv`), le
/// rapport complet à télécharger, en flux, pour un tableur (`ligne;pointeur;code;message`,
/// UTF-8 avec BOM, CRLF).
/// Aucune cellule n'est une formule : une valeur qui commence par `=`, `+`, `-`, `@`, une
/// tabulation ou un retour chariot est écrite précédée d'une apostrophe (règle OWASP contre
/// l'injection de formules), un téléphone `+33…` compris. Le rapport est conservé 90 jours
/// (réglable par l'exploitant) après le lancement de l'import, puis effacé : l'import et ses
/// décomptes restent.
#[utoipa::path(
    tag = "imports",
    operation_id = "rapport_rejets_import",
    security(("oauth2" = ["eleves:write"])),
    params(("id" = Uuid, Path, description = "Identifiant de l'import"), ParametresRejets),
    responses(
        (status = 200, description = "Une page du rapport", content(
            (PageRejets = "application/json"),
            (String = "text/csv", example = json!("ligne;pointeur;code;message\n42;/eleve/ine;ine_cle;INE « 0494004062N » : la lettre clé devrait être M\n")),
        ), headers(("Link" = String, description = "Lien vers la page suivante, `rel=\"next\"`"))),
        ErreursRessource,
    )
)]
#[get("/imports/{id}/rejets")]
pub async fn rejets(
    etat: web::Data<EtatApp>,
    acces: Acces,
    id: web::Path<String>,
    params: web::Query<ParametresRejets>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = chemin("id", &id, parse_id)?;
    let p = params.into_inner();
    let mut l = Lecteur::default();
    let csv = crate::http::export::veut_csv(&req, p.format.as_deref(), &mut l);
    let page = pagination::demande(&mut l, p.limit.as_deref(), p.curseur.as_deref());
    let apres = match &page.apres {
        Some(c) => match curseur_rejet(c) {
            Some(a) => Some(a),
            None => {
                l.violation(Violation::parametre(
                    "curseur",
                    "curseur_invalide",
                    "« curseur » doit être repris tel quel de la page précédente (champ curseur_suivant)",
                ));
                None
            }
        },
        None => None,
    };
    l.terminer()?;
    import_de(&etat, &acces, id).await?;
    if csv {
        let entete = ["ligne", "pointeur", "code", "message"].map(String::from).to_vec();
        let fichier = format!("import-{id}-rejets.csv");
        return Ok(crate::http::export::reponse(
            etat.store.clone(),
            &fichier,
            entete,
            page.apres,
            move |c, apres| {
                let apres = apres.as_ref().and_then(curseur_rejet);
                let lot = imports::rejets(c, id, apres, i64::from(crate::http::export::TRANCHE))?;
                let suivant = (lot.len() as u32 == crate::http::export::TRANCHE)
                    .then(|| lot.last().map(|r| Curseur::apres(format!("{}:{}", r.ligne, r.rang))))
                    .flatten();
                let lignes = lot
                    .into_iter()
                    .map(|r| vec![r.ligne.to_string(), r.pointeur, r.code, r.message])
                    .collect();
                // The caller's own file's lines, no pupil of the base: nothing to trace.
                Ok(crate::securite::auditeur::Audite::sans_trace((lignes, suivant)))
            },
        ));
    }
    let limite = i64::from(page.limite);
    let lignes = executer(&etat.store, move |c| imports::rejets(c, id, apres, limite + 1)).await?;
    let suivant = (lignes.len() as i64 > limite)
        .then(|| lignes.get(usize::try_from(limite - 1).unwrap_or(0)))
        .flatten()
        .map(|r| Curseur::apres(format!("{}:{}", r.ligne, r.rang)));
    let elements: Vec<RejetVue> = lignes
        .into_iter()
        .take(usize::try_from(limite).unwrap_or(usize::MAX))
        .map(|r| RejetVue {
            ligne: r.ligne,
            pointeur: r.pointeur,
            code: r.code,
            message: r.message,
        })
        .collect();
    let lien = suivant.as_ref().map(|c| pagination::lien_suivant(&req, c));
    let corps = PageRejets {
        elements,
        curseur_suivant: suivant.map(|c| c.encoder()),
        lien_suivant: lien.clone(),
    };
    Ok(pagination::reponse(&corps, lien.as_deref()))
}
