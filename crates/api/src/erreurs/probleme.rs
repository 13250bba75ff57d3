//! RFC 9457 problem documents, in French, with stable machine codes.

use onde_service::Violation;
use serde::Serialize;
use utoipa::ToSchema;

/// Un document « problème » (RFC 9457, `application/problem+json`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Probleme {
    /// URI relative identifiant le type de problème.
    #[serde(rename = "type")]
    #[schema(example = "/problemes/parametre_invalide", max_length = 100)]
    pub type_probleme: String,
    /// Résumé du type de problème.
    #[schema(example = "Paramètre invalide", max_length = 200)]
    pub title: String,
    /// Code de statut HTTP.
    #[schema(example = 400, minimum = 400, maximum = 599)]
    pub status: u16,
    /// Explication propre à cette occurrence.
    #[schema(example = "La requête contient 1 paramètre invalide.", max_length = 2000)]
    pub detail: String,
    /// Identifiant de la requête (identique à l'en-tête `X-Request-Id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "urn:uuid:0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e", max_length = 100)]
    pub instance: Option<String>,
    /// Code machine stable.
    #[schema(example = "parametre_invalide", max_length = 100)]
    pub code: String,
    /// Pour un élève en doublon : l'élève déjà connu.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidat: Option<Candidat>,
    /// Pour une transition interdite : le statut actuel de l'inscription…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statut_actuel: Option<onde_domain::StatutInscription>,
    /// … et les statuts vers lesquels elle peut passer.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 6, example = json!(["admis_definitif", "radie"]))]
    pub transitions_autorisees: Option<Vec<onde_domain::StatutInscription>>,
    /// Pour un lot refusé en mode `tout_ou_rien` : le résultat de chaque élément.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = schema_resultats)]
    pub resultats: Option<serde_json::Value>,
    /// Chaque violation constatée, quand il y en a plusieurs possibles : les 100 premières
    /// (`detail` donne leur nombre).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 100)]
    pub erreurs: Vec<Violation>,
}

/// `resultats`: the items' results of a refused batch (`ResultatElement`, described by reference:
/// a typed field would make `Probleme` and `ResultatElement` contain each other).
fn schema_resultats() -> utoipa::openapi::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(ObjectBuilder::new().schema_type(Type::Object))
        .max_items(Some(crate::constantes::TAILLE_MAX_LOT))
        .description(Some(
            "Pour un lot refusé en mode `tout_ou_rien` : le résultat de chaque élément (voir `ResultatElement`).",
        ))
        .examples([serde_json::json!([
            {"index": 0, "resultat": "annule", "ine": "0494004062M"},
            {"index": 1, "resultat": "rejete", "ine": "0494004063N", "probleme": {
                "type": "/problemes/contenu_invalide", "title": "Contenu refusé", "status": 422,
                "detail": "INE « 0494004063N » : la lettre clé devrait être P", "code": "contenu_invalide"}}
        ])])
        .build()
}

/// L'élève déjà connu qu'une création aurait dupliqué.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Candidat {
    /// Identifiant interne de l'élève existant.
    #[schema(example = "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6f")]
    pub id: uuid::Uuid,
    /// Son INE, s'il en a un.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "0494004062M", max_length = 11)]
    pub ine: Option<String>,
}

/// Errors every read operation may answer.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ErreursLecture {
    /// Paramètre invalide : le document liste chaque violation avec le nom du paramètre et la règle.
    #[response(status = 400, content_type = "application/problem+json")]
    Parametres(Probleme),
    /// Jeton absent, invalide, expiré ou révoqué (en-tête `WWW-Authenticate: Bearer`).
    #[response(status = 401, content_type = "application/problem+json", headers(("WWW-Authenticate" = String, description = "Défi Bearer (RFC 6750)")))]
    NonAuthentifie(Probleme),
    /// Le jeton ne porte pas le scope requis (`insufficient_scope`), ou mandat non détenu.
    #[response(status = 403, content_type = "application/problem+json")]
    Interdit(Probleme),
    /// Erreur inattendue, journalisée avec l'identifiant de la requête (`instance`).
    #[response(status = 500, content_type = "application/problem+json")]
    Interne(Probleme),
    /// Base de données momentanément indisponible ; réessayer après `Retry-After` secondes.
    #[response(status = 503, content_type = "application/problem+json", headers(("Retry-After" = u32, description = "Délai conseillé avant un nouvel essai, en secondes")))]
    Indisponible(Probleme),
}

/// Errors of an operation on one resource.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ErreursRessource {
    /// Identifiant mal formé : le document nomme le paramètre et la règle.
    #[response(status = 400, content_type = "application/problem+json")]
    Parametres(Probleme),
    /// Jeton absent, invalide, expiré ou révoqué (en-tête `WWW-Authenticate: Bearer`).
    #[response(status = 401, content_type = "application/problem+json", headers(("WWW-Authenticate" = String, description = "Défi Bearer (RFC 6750)")))]
    NonAuthentifie(Probleme),
    /// Le jeton ne porte pas le scope requis (`insufficient_scope`), ou mandat non détenu.
    #[response(status = 403, content_type = "application/problem+json")]
    Interdit(Probleme),
    /// La ressource n'existe pas, ou est hors du périmètre de l'appelant (les deux cas sont indiscernables).
    #[response(status = 404, content_type = "application/problem+json")]
    Introuvable(Probleme),
    /// Erreur inattendue, journalisée avec l'identifiant de la requête (`instance`).
    #[response(status = 500, content_type = "application/problem+json")]
    Interne(Probleme),
    /// Base de données momentanément indisponible ; réessayer après `Retry-After` secondes.
    #[response(status = 503, content_type = "application/problem+json", headers(("Retry-After" = u32, description = "Délai conseillé avant un nouvel essai, en secondes")))]
    Indisponible(Probleme),
}

/// Errors of a write on partner data.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ErreursMiseAJour {
    /// Corps illisible (JSON mal formé) ou paramètre invalide (`If-Match`, `Idempotency-Key`, identifiant de chemin).
    #[response(status = 400, content_type = "application/problem+json")]
    Parametres(Probleme),
    /// Jeton absent, invalide, expiré ou révoqué (en-tête `WWW-Authenticate: Bearer`).
    #[response(status = 401, content_type = "application/problem+json", headers(("WWW-Authenticate" = String, description = "Défi Bearer (RFC 6750)")))]
    NonAuthentifie(Probleme),
    /// Le jeton ne porte pas le scope requis, ou mandat non détenu.
    #[response(status = 403, content_type = "application/problem+json")]
    Interdit(Probleme),
    /// La ressource n'existe pas, ou est hors du périmètre de l'appelant (indiscernables).
    #[response(status = 404, content_type = "application/problem+json")]
    Introuvable(Probleme),
    /// Conflit : transition interdite (`statut_actuel`, `transitions_autorisees`), élève en doublon
    /// (`candidat`), inscription active déjà existante pour l'année.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflit(Probleme),
    /// `If-Match` ne désigne plus la version actuelle : relire puis recommencer.
    #[response(status = 412, content_type = "application/problem+json")]
    PreconditionEchouee(Probleme),
    /// Corps envoyé avec un autre type que `application/json`.
    #[response(status = 415, content_type = "application/problem+json")]
    TypeContenu(Probleme),
    /// Contenu refusé : chaque règle enfreinte est listée avec le pointeur JSON du champ ; ou
    /// `Idempotency-Key` déjà utilisée pour une autre requête.
    #[response(status = 422, content_type = "application/problem+json")]
    NonConforme(Probleme),
    /// Corps de plus de 8 Mio.
    #[response(status = 413, content_type = "application/problem+json")]
    TropGrand(Probleme),
    /// Erreur inattendue, journalisée avec l'identifiant de la requête (`instance`).
    #[response(status = 500, content_type = "application/problem+json")]
    Interne(Probleme),
    /// Base de données momentanément indisponible ; réessayer après `Retry-After` secondes.
    #[response(status = 503, content_type = "application/problem+json", headers(("Retry-After" = u32, description = "Délai conseillé avant un nouvel essai, en secondes")))]
    Indisponible(Probleme),
}

/// Converts the domain's located violations into problem violations.
pub fn depuis_manquements(m: Vec<onde_domain::dossier::Manquement>) -> Vec<Violation> {
    m.into_iter()
        .map(|m| Violation {
            pointer: Some(m.pointeur),
            parametre: None,
            code: m.code.into(),
            message: m.message,
        })
        .collect()
}

/// Errors of an admin write.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ErreursEcriture {
    /// Corps illisible (JSON mal formé, champ inconnu ou manquant, type inattendu) ou
    /// identifiant de chemin mal formé ; chaque violation porte le pointeur JSON du champ.
    #[response(status = 400, content_type = "application/problem+json")]
    CorpsIllisible(Probleme),
    /// Jeton absent, invalide, expiré ou révoqué (en-tête `WWW-Authenticate: Bearer`).
    #[response(status = 401, content_type = "application/problem+json", headers(("WWW-Authenticate" = String, description = "Défi Bearer (RFC 6750)")))]
    NonAuthentifie(Probleme),
    /// Le jeton ne porte pas le scope `admin`.
    #[response(status = 403, content_type = "application/problem+json")]
    Interdit(Probleme),
    /// Partenaire ou client inconnu.
    #[response(status = 404, content_type = "application/problem+json")]
    Introuvable(Probleme),
    /// Partenaire ou client révoqué : l'opération n'est plus possible.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflit(Probleme),
    /// Corps envoyé avec un autre type que `application/json`.
    #[response(status = 415, content_type = "application/problem+json")]
    TypeContenu(Probleme),
    /// Contenu refusé : identifiant mal formé, scope non permis au type, périmètre d'une
    /// autre forme que celle du type… ; chaque violation porte le pointeur JSON du champ.
    #[response(status = 422, content_type = "application/problem+json")]
    NonConforme(Probleme),
    /// Corps de plus de 8 Mio.
    #[response(status = 413, content_type = "application/problem+json")]
    TropGrand(Probleme),
    /// Erreur inattendue, journalisée avec l'identifiant de la requête (`instance`).
    #[response(status = 500, content_type = "application/problem+json")]
    Interne(Probleme),
    /// Base de données momentanément indisponible ; réessayer après `Retry-After` secondes.
    #[response(status = 503, content_type = "application/problem+json", headers(("Retry-After" = u32, description = "Délai conseillé avant un nouvel essai, en secondes")))]
    Indisponible(Probleme),
}

/// Errors of a creation (no resource to find, no state to conflict with yet).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ErreursCreation {
    /// Corps illisible (JSON mal formé, champ inconnu ou manquant, type inattendu) ; chaque
    /// violation porte le pointeur JSON du champ.
    #[response(status = 400, content_type = "application/problem+json")]
    CorpsIllisible(Probleme),
    /// Jeton absent, invalide, expiré ou révoqué (en-tête `WWW-Authenticate: Bearer`).
    #[response(status = 401, content_type = "application/problem+json", headers(("WWW-Authenticate" = String, description = "Défi Bearer (RFC 6750)")))]
    NonAuthentifie(Probleme),
    /// Le jeton ne porte pas le scope `admin`.
    #[response(status = 403, content_type = "application/problem+json")]
    Interdit(Probleme),
    /// Corps envoyé avec un autre type que `application/json`.
    #[response(status = 415, content_type = "application/problem+json")]
    TypeContenu(Probleme),
    /// Contenu refusé : identifiant mal formé, scope non permis au type, périmètre d'une
    /// autre forme que celle du type… ; chaque violation porte le pointeur JSON du champ.
    #[response(status = 422, content_type = "application/problem+json")]
    NonConforme(Probleme),
    /// Corps de plus de 8 Mio.
    #[response(status = 413, content_type = "application/problem+json")]
    TropGrand(Probleme),
    /// Erreur inattendue, journalisée avec l'identifiant de la requête (`instance`).
    #[response(status = 500, content_type = "application/problem+json")]
    Interne(Probleme),
    /// Base de données momentanément indisponible ; réessayer après `Retry-After` secondes.
    #[response(status = 503, content_type = "application/problem+json", headers(("Retry-After" = u32, description = "Délai conseillé avant un nouvel essai, en secondes")))]
    Indisponible(Probleme),
}
