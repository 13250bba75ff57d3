//! The request and response bodies of partner administration, shared by the admin API (they
//! carry their OpenAPI schema) and the CLI.

use chrono::{DateTime, Utc};
use onde_domain::{CibleMandat, CodeInsee, Mandat, Partenaire, Scope, TypePartenaire, Uai};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

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
    /// The definition part of a creation (everything but the kind).
    pub(crate) fn definition(&self) -> DefinitionPartenaire {
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
