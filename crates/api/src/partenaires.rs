//! Partner administration: one service behind both the admin API (`/v1/admin/partenaires`)
//! and the CLI (`onde-echanges partenaire …`), and the demo partners of `serve --demo`.
//!
//! Service functions are blocking (diesel, argon2) and take a connection; handlers run them on
//! the blocking pool. A secret is returned once, at creation or rotation; only its argon2 hash
//! is stored. Every definition goes through [`Partenaire::verifier`] before it is written.

use std::collections::BTreeSet;
use std::path::Path;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{get, patch, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use onde_domain::{
    CibleMandat, CodeInsee, DomainError, Ecole, Mandat, Partenaire, Perimetre, Scope, Scopes, Secteur, TypePartenaire,
    Uai,
};
use onde_store::partenaires::{Client, PartenaireStocke};
use onde_store::{Curseur, DbConnection, DemandePage, Store};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::acces::Acces;
use crate::admin::{en_tache, ErreursCreation, ErreursEcriture};
use crate::corps::{self, violation};
use crate::parametres::{chemin, Lecteur};
use crate::probleme::{ErreursLecture, ErreursRessource, Violation};
use crate::{pagination, secrets, ApiError, EtatApp};

/// How long the previous secret keeps working after a rotation, unless asked otherwise: a
/// day is enough to roll the new one out without downtime.
pub const CHEVAUCHEMENT_PAR_DEFAUT_HEURES: u32 = 24;
/// Longest overlap: beyond a month the old secret is effectively not rotated.
pub const CHEVAUCHEMENT_MAX_HEURES: u32 = 720;
const LIBELLE_MAX: usize = 200;
/// Most entries in each list of a definition (communes, UAIs, mandates): far above any real
/// perimeter, low enough that one request cannot make the gateway parse an unbounded list.
pub const PERIMETRE_MAX: usize = 10_000;

// ---------------------------------------------------------------------------------------------
// Request bodies

/// Cible d'un mandat : `{"type": "commune", "code": "<code INSEE>"}` ou
/// `{"type": "ecole", "code": "<UAI>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CibleDemande {
    #[serde(rename = "type")]
    pub genre: String,
    pub code: String,
}

/// Un mandat confié à un éditeur : la mairie (par le code INSEE de sa commune) ou l'école (par
/// son UAI) pour le compte de laquelle il agit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MandatDemande {
    /// Pour le compte de qui l'éditeur agit.
    #[schema(value_type = CibleMandat)]
    pub cible: CibleDemande,
    /// Libellé libre, 200 caractères au plus.
    #[serde(default)]
    #[schema(example = "Mairie de Lyon — logiciel périscolaire", max_length = 200)]
    pub libelle: Option<String>,
}

impl From<&Mandat> for MandatDemande {
    fn from(m: &Mandat) -> Self {
        let genre = match m.cible {
            CibleMandat::Commune(_) => "commune",
            CibleMandat::Ecole(_) => "ecole",
        };
        Self {
            cible: CibleDemande {
                genre: genre.into(),
                code: m.cible.as_str().into(),
            },
            libelle: m.libelle.clone(),
        }
    }
}

fn vrai() -> bool {
    true
}

/// Un nouveau partenaire. Son type fixe la forme de son périmètre — des communes pour une
/// mairie, des UAI pour une école privée, des mandats pour un éditeur, rien pour un
/// administrateur — et les scopes qu'il peut détenir.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "nom": "Mairie de Lyon",
    "type": "mairie",
    "scopes": ["ecoles:read", "eleves:read", "inscriptions:read"],
    "communes": ["69123"]
}))]
pub struct NouveauPartenaire {
    /// Nom affiché, 1 à 200 caractères.
    #[schema(example = "Mairie de Lyon", min_length = 1, max_length = 200)]
    pub nom: String,
    /// Type de partenaire ; il ne change plus ensuite.
    #[serde(rename = "type")]
    #[schema(value_type = TypePartenaire)]
    pub type_partenaire: String,
    /// Scopes détenus, parmi ceux que le type permet.
    #[schema(value_type = Vec<Scope>, max_items = 6, example = json!(["ecoles:read", "inscriptions:read"]))]
    pub scopes: Vec<String>,
    /// Communes d'une mairie (codes INSEE).
    #[serde(default)]
    #[schema(value_type = Vec<CodeInsee>, max_items = 10000, example = json!(["69123"]))]
    pub communes: Vec<String>,
    /// Écoles d'une école privée (UAI).
    #[serde(default)]
    #[schema(value_type = Vec<Uai>, max_items = 10000, example = json!(["0690001A"]))]
    pub uais: Vec<String>,
    /// Mandats d'un éditeur.
    #[serde(default)]
    #[schema(max_items = 10000)]
    pub mandats: Vec<MandatDemande>,
    /// Faux pour créer le partenaire suspendu ; vrai par défaut.
    #[serde(default = "vrai")]
    #[schema(example = true)]
    pub actif: bool,
}

impl NouveauPartenaire {
    fn definition(&self) -> DefinitionPartenaire {
        DefinitionPartenaire {
            nom: self.nom.clone(),
            scopes: self.scopes.clone(),
            communes: self.communes.clone(),
            uais: self.uais.clone(),
            mandats: self.mandats.clone(),
            actif: self.actif,
        }
    }
}

/// La définition complète d'un partenaire, qui remplace la précédente (le type ne change
/// pas). Une liste absente vaut liste vide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "nom": "Mairie de Lyon",
    "scopes": ["ecoles:read", "inscriptions:read"],
    "communes": ["69123", "69266"],
    "actif": true
}))]
pub struct DefinitionPartenaire {
    /// Nom affiché, 1 à 200 caractères.
    #[schema(example = "Mairie de Lyon", min_length = 1, max_length = 200)]
    pub nom: String,
    /// Scopes détenus, parmi ceux que le type permet. Un scope retiré cesse d'agir dès la
    /// requête suivante, même avec un jeton déjà délivré.
    #[schema(value_type = Vec<Scope>, max_items = 6, example = json!(["ecoles:read", "inscriptions:read"]))]
    pub scopes: Vec<String>,
    /// Communes d'une mairie (codes INSEE).
    #[serde(default)]
    #[schema(value_type = Vec<CodeInsee>, max_items = 10000, example = json!(["69123"]))]
    pub communes: Vec<String>,
    /// Écoles d'une école privée (UAI).
    #[serde(default)]
    #[schema(value_type = Vec<Uai>, max_items = 10000, example = json!(["0690001A"]))]
    pub uais: Vec<String>,
    /// Mandats d'un éditeur.
    #[serde(default)]
    #[schema(max_items = 10000)]
    pub mandats: Vec<MandatDemande>,
    /// Faux : partenaire suspendu (ses jetons sont refusés) ; vrai : actif.
    #[schema(example = true)]
    pub actif: bool,
}

impl From<&Partenaire> for DefinitionPartenaire {
    fn from(p: &Partenaire) -> Self {
        Self {
            nom: p.nom.clone(),
            scopes: p.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            communes: p.communes.iter().map(|c| c.as_str().to_owned()).collect(),
            uais: p.uais.iter().map(|u| u.as_str().to_owned()).collect(),
            mandats: p.mandats.iter().map(MandatDemande::from).collect(),
            actif: p.actif,
        }
    }
}

/// Rotation du secret d'un client. Corps facultatif.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemandeRotation {
    /// Client dont le secret change ; facultatif quand le partenaire n'a qu'un client actif.
    #[schema(example = "onde_Zm9vYmFyYmF6cXV4", max_length = 100)]
    pub client_id: Option<String>,
    /// Heures pendant lesquelles l'ancien secret reste accepté (0 à 720 ; 24 par défaut).
    /// 0 le refuse immédiatement : c'est le choix après une fuite.
    #[schema(minimum = 0, maximum = 720, example = 24)]
    pub chevauchement_heures: Option<u32>,
}

// ---------------------------------------------------------------------------------------------
// Responses

/// Un partenaire tel que l'administration le voit (sans ses clients).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ResumePartenaire {
    /// Identifiant du partenaire (sujet `sub` de ses jetons).
    #[schema(example = "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d70")]
    pub id: Uuid,
    /// Nom affiché.
    #[schema(example = "Mairie de Lyon", max_length = 200)]
    pub nom: String,
    /// Type de partenaire.
    #[serde(rename = "type")]
    pub type_partenaire: TypePartenaire,
    /// Scopes détenus.
    #[schema(max_items = 6, example = json!(["ecoles:read", "inscriptions:read"]))]
    pub scopes: Vec<Scope>,
    /// Communes d'une mairie (codes INSEE).
    #[schema(max_items = 10000, example = json!(["69123"]))]
    pub communes: Vec<CodeInsee>,
    /// Écoles d'une école privée (UAI).
    #[schema(max_items = 10000, example = json!([]))]
    pub uais: Vec<Uai>,
    /// Mandats d'un éditeur.
    #[schema(max_items = 10000, example = json!([]))]
    pub mandats: Vec<Mandat>,
    /// Faux : partenaire suspendu ou révoqué, ses jetons sont refusés.
    #[schema(example = true)]
    pub actif: bool,
    /// Création du partenaire.
    pub cree_le: DateTime<Utc>,
    /// Dernière modification.
    pub modifie_le: DateTime<Utc>,
    /// Augmente à chaque modification (définition, secret, révocation).
    #[schema(example = 3, minimum = 1, maximum = 2147483647)]
    pub version: i64,
}

/// Un client OAuth d'un partenaire. Ni le secret ni son empreinte ne sont jamais exposés.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FicheClient {
    /// Identifiant du client OAuth.
    #[schema(example = "onde_Zm9vYmFyYmF6cXV4", max_length = 100)]
    pub client_id: String,
    /// Création du client.
    pub cree_le: DateTime<Utc>,
    /// Date de révocation ; absente pour un client en service.
    pub revoque_le: Option<DateTime<Utc>>,
    /// Vrai tant que le secret précédent une rotation est encore accepté.
    #[schema(example = false)]
    pub ancien_secret_valide: bool,
    /// Fin d'acceptation du secret précédent, s'il est encore accepté.
    pub ancien_secret_valide_jusqua: Option<DateTime<Utc>>,
}

/// Un partenaire et ses clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FichePartenaire {
    #[serde(flatten)]
    pub partenaire: ResumePartenaire,
    /// Vrai après une révocation : définitive, tous ses clients sont révoqués.
    #[schema(example = false)]
    pub revoque: bool,
    /// Les clients OAuth du partenaire.
    #[schema(max_items = 100)]
    pub clients: Vec<FicheClient>,
}

/// Identifiants OAuth 2.0 d'un client. Le secret n'est montré qu'une fois : seule son
/// empreinte argon2 est conservée.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Identifiants {
    /// Identifiant du client, à donner en `client_id` (ou en HTTP Basic).
    #[schema(example = "onde_Zm9vYmFyYmF6cXV4", max_length = 100)]
    pub client_id: String,
    /// Secret du client, montré cette seule fois.
    #[schema(example = "w2Y1c0Zx8hQm3rKp9VtLb7NdE4aJ6sGfTyUiOoPq1Zc", max_length = 200)]
    pub client_secret: String,
}

/// Le partenaire créé et les identifiants de son premier client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PartenaireCree {
    /// Le partenaire créé.
    pub partenaire: FichePartenaire,
    /// Les identifiants de son premier client.
    pub identifiants: Identifiants,
}

/// Le nouveau secret d'un client, montré une seule fois.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NouveauSecret {
    /// Identifiant du client.
    #[schema(example = "onde_Zm9vYmFyYmF6cXV4", max_length = 100)]
    pub client_id: String,
    /// Le nouveau secret, montré cette seule fois.
    #[schema(example = "w2Y1c0Zx8hQm3rKp9VtLb7NdE4aJ6sGfTyUiOoPq1Zc", max_length = 200)]
    pub client_secret: String,
    /// Jusqu'à quand l'ancien secret reste accepté ; absent s'il est refusé dès maintenant.
    pub ancien_secret_valide_jusqua: Option<DateTime<Utc>>,
}

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

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

fn resume(s: &PartenaireStocke) -> ResumePartenaire {
    let p = &s.partenaire;
    ResumePartenaire {
        id: p.id,
        nom: p.nom.clone(),
        type_partenaire: p.type_partenaire,
        scopes: p.scopes.iter().collect(),
        communes: p.communes.iter().cloned().collect(),
        uais: p.uais.iter().cloned().collect(),
        mandats: p.mandats.clone(),
        actif: p.actif,
        cree_le: utc(s.cree_le),
        modifie_le: utc(s.modifie_le),
        version: s.version,
    }
}

fn fiche_client(c: &Client, maintenant: NaiveDateTime) -> FicheClient {
    let jusqua = c
        .ancien_secret_expire_le
        .filter(|f| c.ancien_secret_hash.is_some() && *f > maintenant && c.revoque_le.is_none());
    FicheClient {
        client_id: c.client_id.clone(),
        cree_le: utc(c.cree_le),
        revoque_le: c.revoque_le.map(utc),
        ancien_secret_valide: jusqua.is_some(),
        ancien_secret_valide_jusqua: jusqua.map(utc),
    }
}

fn est_revoque(clients: &[Client]) -> bool {
    !clients.is_empty() && clients.iter().all(|c| c.revoque_le.is_some())
}

/// Whether `secret` opens `client` at `maintenant`: its current secret, or the previous one
/// during the rotation overlap. The same rule as `POST /oauth/token`.
pub fn secret_accepte(client: &Client, secret: &str, maintenant: NaiveDateTime) -> bool {
    if client.revoque_le.is_some() {
        return false;
    }
    secrets::verifier(secret, &client.secret_hash)
        || (client.ancien_secret_expire_le.is_some_and(|f| f > maintenant)
            && client
                .ancien_secret_hash
                .as_deref()
                .is_some_and(|h| secrets::verifier(secret, h)))
}

// ---------------------------------------------------------------------------------------------
// Validation

/// Parses the strings of a definition into a partner and checks its invariants; every
/// violation carries the JSON pointer of its field.
fn construire(
    id: Uuid,
    type_partenaire: Option<TypePartenaire>,
    mut violations: Vec<Violation>,
    d: &DefinitionPartenaire,
) -> Result<Partenaire, ApiError> {
    for (champ, n, max) in [
        ("scopes", d.scopes.len(), Scope::TOUS.len()),
        ("communes", d.communes.len(), PERIMETRE_MAX),
        ("uais", d.uais.len(), PERIMETRE_MAX),
        ("mandats", d.mandats.len(), PERIMETRE_MAX),
    ] {
        if n > max {
            return Err(ApiError::NonConforme(vec![violation(
                format!("/{champ}"),
                "liste_trop_longue",
                format!("« {champ} » a {max} éléments au plus ({n} reçus)"),
            )]));
        }
    }
    let mut lire = |pointeur: String, e: DomainError| violations.push(violation(pointeur, e.code(), e.to_string()));
    let mut scopes = Vec::new();
    for (i, s) in d.scopes.iter().enumerate() {
        match Scope::parse(s) {
            Ok(s) => scopes.push(s),
            Err(e) => lire(format!("/scopes/{i}"), e),
        }
    }
    let mut communes = BTreeSet::new();
    for (i, c) in d.communes.iter().enumerate() {
        match CodeInsee::parse(c) {
            Ok(c) => {
                communes.insert(c);
            }
            Err(e) => lire(format!("/communes/{i}"), e),
        }
    }
    let mut uais = BTreeSet::new();
    for (i, u) in d.uais.iter().enumerate() {
        match Uai::parse(u) {
            Ok(u) => {
                uais.insert(u);
            }
            Err(e) => lire(format!("/uais/{i}"), e),
        }
    }
    let mut mandats: Vec<Mandat> = Vec::new();
    for (i, m) in d.mandats.iter().enumerate() {
        let cible = match m.cible.genre.as_str() {
            "commune" => CodeInsee::parse(&m.cible.code).map(CibleMandat::Commune),
            "ecole" => Uai::parse(&m.cible.code).map(CibleMandat::Ecole),
            _ => {
                violations.push(violation(
                    format!("/mandats/{i}/cible/type"),
                    "cible_type_inconnu",
                    "le type d'une cible de mandat vaut commune ou ecole",
                ));
                continue;
            }
        };
        let cible = match cible {
            Ok(c) => c,
            Err(e) => {
                violations.push(violation(format!("/mandats/{i}/cible/code"), e.code(), e.to_string()));
                continue;
            }
        };
        let libelle = m.libelle.as_deref().map(str::trim).filter(|l| !l.is_empty());
        if libelle.is_some_and(|l| l.chars().count() > LIBELLE_MAX) {
            violations.push(violation(
                format!("/mandats/{i}/libelle"),
                "libelle_longueur",
                format!("le libellé d'un mandat a {LIBELLE_MAX} caractères au plus"),
            ));
        }
        // A mandate is identified by its principal: the same one twice is a typo, and the
        // store would refuse it anyway.
        if mandats.iter().any(|autre| autre.cible == cible) {
            violations.push(violation(
                format!("/mandats/{i}/cible"),
                "mandat_en_double",
                format!("le mandat « {} » figure déjà plus haut dans la liste", cible.as_str()),
            ));
            continue;
        }
        mandats.push(Mandat {
            cible,
            libelle: libelle.map(str::to_owned),
        });
    }
    let Some(type_partenaire) = type_partenaire.filter(|_| violations.is_empty()) else {
        return Err(ApiError::NonConforme(violations));
    };
    let p = Partenaire {
        id,
        nom: d.nom.trim().to_owned(),
        type_partenaire,
        scopes: Scopes::de(&scopes),
        communes,
        uais,
        mandats,
        actif: d.actif,
    };
    p.verifier().map_err(|e| {
        let pointeur = pointeur_regle(&p, e.code(), &scopes);
        ApiError::NonConforme(vec![violation(pointeur, e.code(), e.to_string())])
    })?;
    Ok(p)
}

/// Where a rule of [`Partenaire::verifier`] is broken, as a JSON pointer.
fn pointeur_regle(p: &Partenaire, code: &str, scopes: &[Scope]) -> String {
    match code {
        "scope_interdit" => {
            let possibles = p.type_partenaire.scopes_possibles();
            scopes
                .iter()
                .position(|s| !possibles.contient(*s))
                .map(|i| format!("/scopes/{i}"))
                .unwrap_or_else(|| "/scopes".into())
        }
        "perimetre_incoherent" => {
            let (communes, uais, mandats) = match p.type_partenaire {
                TypePartenaire::Mairie => (false, true, true),
                TypePartenaire::EcolePrivee => (true, false, true),
                TypePartenaire::Editeur => (true, true, false),
                TypePartenaire::Admin => (true, true, true),
            };
            if communes && !p.communes.is_empty() {
                "/communes".into()
            } else if uais && !p.uais.is_empty() {
                "/uais".into()
            } else if mandats && !p.mandats.is_empty() {
                "/mandats".into()
            } else {
                String::new()
            }
        }
        "nom_longueur" => "/nom".into(),
        _ => String::new(),
    }
}

fn introuvable() -> ApiError {
    ApiError::Introuvable {
        ressource: "Le partenaire",
    }
}

fn partenaire_revoque() -> ApiError {
    ApiError::Conflit {
        code: "partenaire_revoque",
        detail: "Ce partenaire est révoqué : la révocation est définitive ; créez un nouveau partenaire.".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Service

/// Creates a partner and its first client; the secret is in the answer and nowhere else.
pub fn creer(
    conn: &mut DbConnection,
    demande: &NouveauPartenaire,
    maintenant: NaiveDateTime,
) -> Result<PartenaireCree, ApiError> {
    let mut violations = Vec::new();
    let type_partenaire = match TypePartenaire::parse(&demande.type_partenaire) {
        Ok(t) => Some(t),
        Err(e) => {
            violations.push(violation("/type", e.code(), e.to_string()));
            None
        }
    };
    let p = construire(Uuid::now_v7(), type_partenaire, violations, &demande.definition())?;
    let secret = secrets::nouveau_secret();
    let client = Client {
        client_id: secrets::nouvel_identifiant_client(),
        partenaire_id: p.id.to_string(),
        secret_hash: secrets::hacher(&secret)?,
        ancien_secret_hash: None,
        ancien_secret_expire_le: None,
        cree_le: maintenant,
        revoque_le: None,
    };
    onde_store::partenaires::creer(conn, &p, &client, maintenant)?;
    Ok(PartenaireCree {
        partenaire: montrer(conn, p.id, maintenant)?,
        identifiants: Identifiants {
            client_id: client.client_id,
            client_secret: secret,
        },
    })
}

/// A partner with its clients.
pub fn montrer(conn: &mut DbConnection, id: Uuid, maintenant: NaiveDateTime) -> Result<FichePartenaire, ApiError> {
    let stocke = onde_store::partenaires::trouver(conn, id)?.ok_or_else(introuvable)?;
    let clients = onde_store::partenaires::clients_du_partenaire(conn, id)?;
    Ok(FichePartenaire {
        partenaire: resume(&stocke),
        revoque: est_revoque(&clients),
        clients: clients.iter().map(|c| fiche_client(c, maintenant)).collect(),
    })
}

/// Filters of the partner list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FiltrePartenaires {
    pub type_partenaire: Option<TypePartenaire>,
    pub actif: Option<bool>,
}

/// Every partner matching the filter, in creation order (ids are UUIDv7).
pub fn lister_tout(conn: &mut DbConnection, filtre: &FiltrePartenaires) -> Result<Vec<ResumePartenaire>, ApiError> {
    let mut liste: Vec<ResumePartenaire> = onde_store::partenaires::lister(conn)?
        .iter()
        .filter(|s| filtre.type_partenaire.is_none_or(|t| s.partenaire.type_partenaire == t))
        .filter(|s| filtre.actif.is_none_or(|a| s.partenaire.actif == a))
        .map(resume)
        .collect();
    liste.sort_by_key(|p| p.id);
    Ok(liste)
}

/// One page of [`lister_tout`], after the cursor (the last id of the previous page).
pub fn lister(
    conn: &mut DbConnection,
    filtre: &FiltrePartenaires,
    page: &DemandePage,
) -> Result<(Vec<ResumePartenaire>, Option<Curseur>), ApiError> {
    let apres = page.apres.as_ref().and_then(|c| Uuid::parse_str(c.cle()).ok());
    let mut elements: Vec<ResumePartenaire> = lister_tout(conn, filtre)?
        .into_iter()
        .filter(|p| apres.is_none_or(|a| p.id > a))
        .take(page.limite as usize + 1)
        .collect();
    let suivant = if elements.len() > page.limite as usize {
        elements.truncate(page.limite as usize);
        elements.last().map(|p| Curseur::apres(p.id.to_string()))
    } else {
        None
    };
    Ok((elements, suivant))
}

/// Replaces the definition of a partner (its kind stays). A revoked partner stays revoked.
pub fn modifier(
    conn: &mut DbConnection,
    id: Uuid,
    definition: &DefinitionPartenaire,
    maintenant: NaiveDateTime,
) -> Result<FichePartenaire, ApiError> {
    let stocke = onde_store::partenaires::trouver(conn, id)?.ok_or_else(introuvable)?;
    if est_revoque(&onde_store::partenaires::clients_du_partenaire(conn, id)?) {
        return Err(partenaire_revoque());
    }
    let p = construire(id, Some(stocke.partenaire.type_partenaire), Vec::new(), definition)?;
    if !onde_store::partenaires::remplacer(conn, &p, maintenant)? {
        return Err(introuvable());
    }
    montrer(conn, id, maintenant)
}

/// Applies a JSON merge patch (RFC 7396) to the definition of a partner: absent fields stay,
/// `null` removes (lists become empty), arrays are replaced as a whole.
pub fn modifier_partiellement(
    conn: &mut DbConnection,
    id: Uuid,
    patch: &serde_json::Value,
    maintenant: NaiveDateTime,
) -> Result<FichePartenaire, ApiError> {
    if !patch.is_object() {
        return Err(ApiError::CorpsIllisible(vec![violation(
            "",
            "type_invalide",
            "un correctif JSON (merge patch) est un objet",
        )]));
    }
    corps::verifier_correctif(patch, &["nom", "scopes", "communes", "uais", "mandats", "actif"], &[])?;
    let stocke = onde_store::partenaires::trouver(conn, id)?.ok_or_else(introuvable)?;
    let mut document = serde_json::to_value(DefinitionPartenaire::from(&stocke.partenaire))
        .map_err(|e| ApiError::Interne(format!("sérialisation d'un partenaire : {e}")))?;
    fusionner(&mut document, patch);
    let definition: DefinitionPartenaire = corps::depuis_valeur(document)?;
    modifier(conn, id, &definition, maintenant)
}

/// RFC 7396, section 2.
pub(crate) fn fusionner(cible: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    let Value::Object(correctif) = patch else {
        *cible = patch.clone();
        return;
    };
    if !cible.is_object() {
        *cible = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(objet) = cible {
        for (cle, valeur) in correctif {
            if valeur.is_null() {
                objet.remove(cle);
            } else {
                fusionner(objet.entry(cle.clone()).or_insert(Value::Null), valeur);
            }
        }
    }
}

/// Gives a client a new secret; the previous one keeps working for the overlap.
pub fn tourner_secret(
    conn: &mut DbConnection,
    id: Uuid,
    demande: &DemandeRotation,
    maintenant: NaiveDateTime,
) -> Result<NouveauSecret, ApiError> {
    let heures = demande.chevauchement_heures.unwrap_or(CHEVAUCHEMENT_PAR_DEFAUT_HEURES);
    if heures > CHEVAUCHEMENT_MAX_HEURES {
        return Err(ApiError::NonConforme(vec![violation(
            "/chevauchement_heures",
            "chevauchement_hors_bornes",
            format!("le chevauchement est de 0 à {CHEVAUCHEMENT_MAX_HEURES} heures"),
        )]));
    }
    onde_store::partenaires::trouver(conn, id)?.ok_or_else(introuvable)?;
    let clients = onde_store::partenaires::clients_du_partenaire(conn, id)?;
    let client = match &demande.client_id {
        Some(cid) => clients
            .iter()
            .find(|c| &c.client_id == cid)
            .ok_or(ApiError::Introuvable { ressource: "Le client" })?,
        None => {
            let actifs: Vec<&Client> = clients.iter().filter(|c| c.revoque_le.is_none()).collect();
            match actifs.as_slice() {
                [] => return Err(partenaire_revoque()),
                [un] => *un,
                _ => {
                    return Err(ApiError::NonConforme(vec![violation(
                        "/client_id",
                        "client_ambigu",
                        "ce partenaire a plusieurs clients actifs : précisez client_id",
                    )]))
                }
            }
        }
    };
    if client.revoque_le.is_some() {
        return Err(ApiError::Conflit {
            code: "client_revoque",
            detail: "Ce client est révoqué : son secret ne peut plus changer.".into(),
        });
    }
    let secret = secrets::nouveau_secret();
    let fin = maintenant + chrono::Duration::hours(i64::from(heures));
    if !onde_store::partenaires::changer_secret(conn, &client.client_id, &secrets::hacher(&secret)?, fin)? {
        // Revoked between the read and the write.
        return Err(ApiError::Conflit {
            code: "client_revoque",
            detail: "Ce client vient d'être révoqué : son secret ne peut plus changer.".into(),
        });
    }
    Ok(NouveauSecret {
        client_id: client.client_id.clone(),
        client_secret: secret,
        ancien_secret_valide_jusqua: (heures > 0).then(|| utc(fin)),
    })
}

/// Revokes every client of a partner and deactivates it, for good. Revoking twice is harmless.
pub fn revoquer(conn: &mut DbConnection, id: Uuid, maintenant: NaiveDateTime) -> Result<FichePartenaire, ApiError> {
    if !onde_store::partenaires::revoquer(conn, id, maintenant)? {
        return Err(introuvable());
    }
    montrer(conn, id, maintenant)
}

// ---------------------------------------------------------------------------------------------
// Demo partners

/// Name of the demo credentials file, in the data directory.
pub const FICHIER_DEMO: &str = "demo-credentials.json";

/// Périmètre d'un partenaire de démonstration : codes INSEE, UAI, et codes des mandats (la
/// valeur à mettre dans l'en-tête `Onde-Mandat`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerimetreDemo {
    pub communes: Vec<String>,
    pub uais: Vec<String>,
    pub mandats: Vec<String>,
}

/// One entry of `demo-credentials.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentifiantsDemo {
    pub client_id: String,
    pub client_secret: String,
    /// Partner kind: `mairie`, `ecole_privee`, `editeur` or `admin`.
    pub kind: String,
    pub scopes: Vec<String>,
    pub perimetre: PerimetreDemo,
    pub partenaire_id: Uuid,
    pub nom: String,
}

/// Every school, by UAI (demo only: a one-off walk through the national list).
fn toutes_les_ecoles(conn: &mut DbConnection) -> Result<Vec<Ecole>, ApiError> {
    let mut ecoles = Vec::new();
    let mut page = DemandePage {
        limite: pagination::LIMITE_MAX,
        apres: None,
    };
    loop {
        let p = onde_store::ecoles::lister(conn, &Perimetre::National, &Default::default(), &page)?;
        ecoles.extend(p.elements);
        match p.suivant {
            Some(c) => page.apres = Some(c),
            None => return Ok(ecoles),
        }
    }
}

/// On an empty partner registry, creates the demo partners — two mairies (the two communes
/// with the most inscriptions), a private school, an editor with a commune and a school
/// mandate outside the mairies' perimeters, an admin — and writes their credentials to
/// `dossier/demo-credentials.json`. With partners already registered, does nothing and
/// returns an empty list.
pub fn creer_partenaires_demo(store: &Store, dossier: &Path) -> Result<Vec<IdentifiantsDemo>, ApiError> {
    let mut conn = store.connexion()?;
    let conn: &mut DbConnection = &mut conn;
    if !onde_store::partenaires::lister(conn)?.is_empty() {
        return Ok(Vec::new());
    }
    let mut communes: Vec<String> = onde_store::communes::par_inscriptions(conn)?
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    for c in onde_store::communes::codes(conn)? {
        if !communes.contains(&c) {
            communes.push(c);
        }
    }
    if communes.is_empty() {
        return Err(ApiError::Conflit {
            code: "donnees_absentes",
            detail:
                "Aucune commune dans la base : chargez les données avant de créer les partenaires de démonstration."
                    .into(),
        });
    }
    let ecoles = toutes_les_ecoles(conn)?;
    let mairies: Vec<String> = communes.iter().take(2).cloned().collect();
    let commune_editeur = communes
        .iter()
        .find(|c| !mairies.contains(c))
        .unwrap_or(&communes[0])
        .clone();
    let privee = ecoles
        .iter()
        .find(|e| e.secteur == Secteur::PriveSousContrat)
        .or(ecoles.first());
    let hors = |e: &&Ecole, exclues: &[&String]| !exclues.iter().any(|c| c.as_str() == e.commune.as_str());
    let pas_privee = |e: &&Ecole| privee.is_none_or(|p| p.uai != e.uai);
    let exclues_strict: Vec<&String> = mairies.iter().chain([&commune_editeur]).collect();
    let exclues_mairies: Vec<&String> = mairies.iter().collect();
    let ecole_editeur = ecoles
        .iter()
        .find(|e| pas_privee(e) && hors(e, &exclues_strict))
        .or_else(|| ecoles.iter().find(|e| pas_privee(e) && hors(e, &exclues_mairies)))
        .or_else(|| ecoles.iter().find(pas_privee))
        .or(ecoles.first());

    let mut nom_commune = |c: &str| -> Result<String, ApiError> {
        let code = CodeInsee::parse(c).map_err(|e| ApiError::Interne(e.to_string()))?;
        Ok(onde_store::communes::nom(conn, &code)?.unwrap_or_else(|| c.to_owned()))
    };
    let tous = |t: TypePartenaire| {
        t.scopes_possibles()
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    let mut demandes = Vec::new();
    for c in &mairies {
        demandes.push(NouveauPartenaire {
            nom: format!("Mairie de {} (démo)", nom_commune(c)?),
            type_partenaire: "mairie".into(),
            scopes: tous(TypePartenaire::Mairie),
            communes: vec![c.clone()],
            uais: Vec::new(),
            mandats: Vec::new(),
            actif: true,
        });
    }
    if let Some(e) = privee {
        demandes.push(NouveauPartenaire {
            nom: format!("{} (démo)", e.nom),
            type_partenaire: "ecole_privee".into(),
            scopes: tous(TypePartenaire::EcolePrivee),
            communes: Vec::new(),
            uais: vec![e.uai.as_str().to_owned()],
            mandats: Vec::new(),
            actif: true,
        });
    }
    let mut mandats = vec![MandatDemande {
        cible: CibleDemande {
            genre: "commune".into(),
            code: commune_editeur.clone(),
        },
        libelle: Some(format!("Mairie de {}", nom_commune(&commune_editeur)?)),
    }];
    if let Some(e) = ecole_editeur {
        mandats.push(MandatDemande {
            cible: CibleDemande {
                genre: "ecole".into(),
                code: e.uai.as_str().to_owned(),
            },
            libelle: Some(e.nom.clone()),
        });
    }
    demandes.push(NouveauPartenaire {
        nom: "Éditeur de logiciels scolaires (démo)".into(),
        type_partenaire: "editeur".into(),
        scopes: tous(TypePartenaire::Editeur),
        communes: Vec::new(),
        uais: Vec::new(),
        mandats,
        actif: true,
    });
    demandes.push(NouveauPartenaire {
        nom: "Exploitation nationale (démo)".into(),
        type_partenaire: "admin".into(),
        scopes: tous(TypePartenaire::Admin),
        communes: Vec::new(),
        uais: Vec::new(),
        mandats: Vec::new(),
        actif: true,
    });

    let maintenant = maintenant();
    let mut identifiants = Vec::new();
    for d in &demandes {
        let cree = creer(conn, d, maintenant)?;
        let p = &cree.partenaire.partenaire;
        identifiants.push(IdentifiantsDemo {
            client_id: cree.identifiants.client_id,
            client_secret: cree.identifiants.client_secret,
            kind: p.type_partenaire.as_str().to_owned(),
            scopes: p.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            perimetre: PerimetreDemo {
                communes: p.communes.iter().map(|c| c.as_str().to_owned()).collect(),
                uais: p.uais.iter().map(|u| u.as_str().to_owned()).collect(),
                mandats: p.mandats.iter().map(|m| m.cible.as_str().to_owned()).collect(),
            },
            partenaire_id: p.id,
            nom: p.nom.clone(),
        });
    }
    ecrire_fichier_demo(dossier, &identifiants)?;
    Ok(identifiants)
}

/// Writes the file readable by its owner only (it holds secrets), through a temporary file
/// so that a reader never sees half of it.
fn ecrire_fichier_demo(dossier: &Path, identifiants: &[IdentifiantsDemo]) -> Result<(), ApiError> {
    use std::io::Write;
    let erreur = |quoi: &str, e: std::io::Error| ApiError::Interne(format!("{quoi} {} : {e}", dossier.display()));
    std::fs::create_dir_all(dossier).map_err(|e| erreur("création du dossier", e))?;
    let json = serde_json::to_string_pretty(identifiants)
        .map_err(|e| ApiError::Interne(format!("sérialisation des identifiants de démonstration : {e}")))?;
    let provisoire = dossier.join(format!("{FICHIER_DEMO}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut fichier = options.open(&provisoire).map_err(|e| erreur("écriture dans", e))?;
    fichier
        .write_all(json.as_bytes())
        .and_then(|()| fichier.write_all(b"\n"))
        .and_then(|()| fichier.sync_all())
        .map_err(|e| erreur("écriture dans", e))?;
    std::fs::rename(&provisoire, dossier.join(FICHIER_DEMO)).map_err(|e| erreur("écriture dans", e))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// HTTP

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

/// Now, to the microsecond: what PostgreSQL keeps, so both backends answer the same instants.
pub fn maintenant() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
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
    let demande: NouveauPartenaire = corps::lire(&req, &octets, &[corps::JSON])?;
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
    let definition: DefinitionPartenaire = corps::lire(&req, &octets, &[corps::JSON])?;
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
    let patch: serde_json::Value = corps::lire(&req, &octets, &[corps::MERGE_PATCH, corps::JSON])?;
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
    let demande: DemandeRotation = corps::lire_optionnel(&req, &octets, &[corps::JSON])?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn definition(nom: &str) -> DefinitionPartenaire {
        DefinitionPartenaire {
            nom: nom.into(),
            scopes: vec!["ecoles:read".into()],
            communes: Vec::new(),
            uais: Vec::new(),
            mandats: Vec::new(),
            actif: true,
        }
    }

    fn violations(r: Result<Partenaire, ApiError>) -> Vec<(String, String)> {
        match r {
            Err(ApiError::NonConforme(v)) => v.into_iter().map(|v| (v.pointer.unwrap_or_default(), v.code)).collect(),
            autre => panic!("422 attendu : {autre:?}"),
        }
    }

    #[test]
    fn listes_bornees() {
        // The OpenAPI document declares maxItems on these lists; the server enforces them.
        let mut d = definition("Mairie");
        d.communes = vec!["75056".into(); PERIMETRE_MAX + 1];
        let v = violations(construire(Uuid::nil(), Some(TypePartenaire::Mairie), Vec::new(), &d));
        assert_eq!(v, vec![("/communes".into(), "liste_trop_longue".into())]);
        let mut d = definition("Mairie");
        d.scopes = vec!["ecoles:read".into(); 7];
        let v = violations(construire(Uuid::nil(), Some(TypePartenaire::Mairie), Vec::new(), &d));
        assert_eq!(v, vec![("/scopes".into(), "liste_trop_longue".into())]);
    }

    #[test]
    fn chaque_violation_pointe_son_champ() {
        let mut d = definition("Mairie");
        d.scopes = vec!["ecoles:read".into(), "tout:lire".into()];
        d.communes = vec!["75056".into(), "7505".into()];
        d.mandats = vec![MandatDemande {
            cible: CibleDemande {
                genre: "region".into(),
                code: "11".into(),
            },
            libelle: None,
        }];
        let v = violations(construire(Uuid::nil(), Some(TypePartenaire::Mairie), Vec::new(), &d));
        assert_eq!(
            v,
            vec![
                ("/scopes/1".into(), "scope_inconnu".into()),
                ("/communes/1".into(), "code_insee_format".into()),
                ("/mandats/0/cible/type".into(), "cible_type_inconnu".into()),
            ]
        );
    }

    #[test]
    fn regles_du_domaine_situees() {
        let mut d = definition("Mairie");
        d.scopes = vec!["ecoles:read".into(), "eleves:write".into()];
        let v = violations(construire(Uuid::nil(), Some(TypePartenaire::Mairie), Vec::new(), &d));
        assert_eq!(v, vec![("/scopes/1".into(), "scope_interdit".into())]);

        let mut d = definition("Mairie");
        d.uais = vec!["0750655E".into()];
        let v = violations(construire(Uuid::nil(), Some(TypePartenaire::Mairie), Vec::new(), &d));
        assert_eq!(v, vec![("/uais".into(), "perimetre_incoherent".into())]);

        let v = violations(construire(
            Uuid::nil(),
            Some(TypePartenaire::Admin),
            Vec::new(),
            &definition("  "),
        ));
        assert_eq!(v, vec![("/nom".into(), "nom_longueur".into())]);

        let mut d = definition("Éditeur");
        let m = MandatDemande {
            cible: CibleDemande {
                genre: "ecole".into(),
                code: "0750655E".into(),
            },
            libelle: Some("x".repeat(201)),
        };
        d.mandats = vec![m.clone(), m];
        let v = violations(construire(Uuid::nil(), Some(TypePartenaire::Editeur), Vec::new(), &d));
        assert_eq!(
            v,
            vec![
                ("/mandats/0/libelle".into(), "libelle_longueur".into()),
                ("/mandats/1/libelle".into(), "libelle_longueur".into()),
                ("/mandats/1/cible".into(), "mandat_en_double".into()),
            ]
        );
    }

    #[test]
    fn definition_valide_normalisee() {
        let mut d = definition("  Éditeur  ");
        d.scopes = vec!["eleves:read".into(), "ecoles:read".into(), "eleves:read".into()];
        d.mandats = vec![MandatDemande {
            cible: CibleDemande {
                genre: "commune".into(),
                code: "69123".into(),
            },
            libelle: Some("   ".into()),
        }];
        let p = construire(Uuid::nil(), Some(TypePartenaire::Editeur), Vec::new(), &d).unwrap();
        assert_eq!(p.nom, "Éditeur");
        assert_eq!(p.scopes.to_string(), "ecoles:read eleves:read");
        assert_eq!(p.mandats[0].libelle, None);
        // The representation a PATCH starts from reads back to the same partner.
        let aller_retour = construire(
            Uuid::nil(),
            Some(p.type_partenaire),
            Vec::new(),
            &DefinitionPartenaire::from(&p),
        );
        assert_eq!(aller_retour.unwrap(), p);
    }

    #[test]
    fn fusion_rfc_7396() {
        // The examples of RFC 7396, appendix A (a selection).
        let cas = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (json!({"a": [{"b": "c"}]}), json!({"a": [1]}), json!({"a": [1]})),
            (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
            (json!([1, 2]), json!({"a": "b", "c": null}), json!({"a": "b"})),
        ];
        for (mut cible, patch, attendu) in cas {
            fusionner(&mut cible, &patch);
            assert_eq!(cible, attendu);
        }
    }

    #[test]
    fn ancien_secret_accepte_pendant_le_chevauchement_seulement() {
        let t0 = NaiveDateTime::parse_from_str("2026-03-01 10:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
        let (ancien, nouveau) = ("ancien-secret", "nouveau-secret");
        let mut c = Client {
            client_id: "c".into(),
            partenaire_id: "p".into(),
            secret_hash: secrets::hacher(nouveau).unwrap(),
            ancien_secret_hash: Some(secrets::hacher(ancien).unwrap()),
            ancien_secret_expire_le: Some(t0 + chrono::Duration::hours(24)),
            cree_le: t0,
            revoque_le: None,
        };
        assert!(secret_accepte(&c, nouveau, t0));
        assert!(secret_accepte(&c, ancien, t0 + chrono::Duration::hours(23)));
        assert!(!secret_accepte(&c, ancien, t0 + chrono::Duration::hours(24)));
        assert!(!secret_accepte(&c, "autre", t0));
        let f = fiche_client(&c, t0);
        assert!(f.ancien_secret_valide);
        assert!(!fiche_client(&c, t0 + chrono::Duration::hours(25)).ancien_secret_valide);
        c.revoque_le = Some(t0);
        assert!(!secret_accepte(&c, nouveau, t0));
        assert!(!fiche_client(&c, t0).ancien_secret_valide);
    }
}
