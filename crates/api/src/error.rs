//! The one HTTP error type: every failure becomes a problem document with a stable code.
//! Internal details (SQL, paths, panics) are logged, never sent.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use onde_service::{ServiceError, Violation};
use onde_store::diesel_erreur;
use onde_store::StoreError;

use crate::identifiant_requete;
use crate::probleme::Probleme;

pub const TYPE_PROBLEME_JSON: &str = "application/problem+json";

/// Most violations listed in one problem document (`erreurs`); `detail` gives the full count.
/// A body with 10,000 wrong identifiers must not get a 10,000-entry answer.
pub const VIOLATIONS_MAX: usize = 100;

/// `realm` of the authentication challenges.
pub const ROYAUME: &str = "onde-echanges";

/// Header values are ASCII: accents are folded, quotes dropped.
fn ascii_sans_guillemets(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'à' | 'â' => 'a',
            'î' | 'ï' => 'i',
            'ô' => 'o',
            'ù' | 'û' => 'u',
            'ç' => 'c',
            c if c.is_ascii() && c != '"' && c != '\\' => c,
            _ => ' ',
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("paramètres invalides")]
    Parametres(Vec<Violation>),
    #[error("{ressource} introuvable")]
    Introuvable { ressource: &'static str },
    #[error("route inconnue")]
    RouteInconnue,
    /// A known path with a method it does not declare; the methods it does (`Allow`).
    #[error("méthode non autorisée")]
    MethodeNonAutorisee { autorisees: String },
    #[error("service momentanément indisponible")]
    Indisponible,
    /// No token, or a token that does not verify (`None`: no token was presented).
    #[error("authentification requise")]
    NonAuthentifie(Option<String>),
    #[error("scope insuffisant")]
    /// `motif`: why, when the token does hold the scope but the rights of the request do not
    /// lend it (a mandate); `None`: the token lacks it.
    ScopeInsuffisant {
        requis: Vec<onde_domain::Scope>,
        motif: Option<String>,
    },
    #[error("{detail}")]
    Interdit { code: &'static str, detail: String },
    /// The pupil sent matches an existing one on DOMAIN.md's five normalised fields (or holds
    /// its INE), one the caller sees: named by `candidat`. See [`crate::doublons`].
    #[error("élève en doublon")]
    Doublon { candidat: uuid::Uuid, ine: Option<String> },
    /// The pupil sent matches an existing one outside the caller's perimeter: that it exists and
    /// what to do, nothing of that pupil.
    #[error("élève déjà connu hors du périmètre")]
    DoublonHorsPerimetre,
    /// The INE sent (or written) is held by a pupil outside the caller's perimeter: it can be
    /// neither created again nor overwritten.
    #[error("INE d'un élève hors du périmètre")]
    IneHorsPerimetre,
    /// A rattachement whose INE and identity do not designate one known pupil (an unknown INE
    /// and a wrong identity answer alike).
    #[error("identité non concordante")]
    IdentiteNonConcordante,
    #[error("{0}")]
    Transition(onde_domain::DomainError),
    /// `If-Match` names a version that is no longer current.
    #[error("version périmée")]
    PreconditionEchouee { version_actuelle: i64 },
    /// An all-or-nothing batch with a rejected item: nothing applied; the per-item results.
    #[error("lot refusé")]
    LotRefuse { resultats: serde_json::Value },
    /// The same `Idempotency-Key` with another request.
    #[error("clé d'idempotence réutilisée")]
    IdempotenceReutilisee,
    /// A request body that cannot be read: malformed JSON, unknown or missing field, wrong type.
    #[error("corps de requête illisible")]
    CorpsIllisible(Vec<Violation>),
    /// A body that reads but breaks a rule (identifier format, domain invariant).
    #[error("contenu refusé")]
    NonConforme(Vec<Violation>),
    /// The resource's current state forbids the operation (e.g. a revoked partner).
    #[error("{detail}")]
    Conflit { code: &'static str, detail: String },
    /// A body over [`crate::TAILLE_MAX_CORPS`].
    #[error("corps trop volumineux")]
    CorpsTropGrand,
    #[error("type de contenu non pris en charge")]
    TypeContenu { attendus: &'static [&'static str] },
    /// This node is saturated (a bounded queue or pool is full): 503 with `Retry-After`.
    #[error("{detail}")]
    Sature {
        code: &'static str,
        detail: String,
        reessayer_s: u32,
    },
    /// Over the client's rate limit (or its cap of requests in flight).
    #[error("trop de requêtes")]
    TropDeRequetes(crate::limites::Depassement),
    /// A feed cursor from before the feed's last purge (retention): resuming from it would skip
    /// changes.
    #[error("curseur expiré")]
    CurseurExpire { purge_le: chrono::NaiveDateTime },
    #[error("erreur interne : {0}")]
    Interne(String),
}

/// Longest `detail` and violation `message` sent (as the OpenAPI document declares); a message
/// that echoes what the client sent is cut there.
pub const TEXTE_MAX: usize = 2000;

fn borne(mut v: Violation) -> Violation {
    v.message = texte_borne(v.message);
    // Pointers and parameter names are built from known names; a client's key is shortened
    // where it is read. Cut at the declared length all the same.
    for champ in [&mut v.pointer, &mut v.parametre] {
        if let Some(t) = champ.as_mut() {
            if t.chars().count() > 200 {
                *t = t.chars().take(200).collect();
            }
        }
    }
    v
}

fn texte_borne(s: String) -> String {
    if s.chars().count() <= TEXTE_MAX {
        return s;
    }
    let mut court: String = s.chars().take(TEXTE_MAX - 1).collect();
    court.push('…');
    court
}

/// The note of a `detail` whose list of violations is cut at [`VIOLATIONS_MAX`].
fn tronque(v: &[Violation]) -> String {
    if v.len() > VIOLATIONS_MAX {
        format!(" (les {VIOLATIONS_MAX} premières sont listées)")
    } else {
        String::new()
    }
}

/// A service's refusal is the same problem document whichever way it came (HTTP or CLI).
impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Parametres(v) => ApiError::Parametres(v),
            ServiceError::CorpsIllisible(v) => ApiError::CorpsIllisible(v),
            ServiceError::NonConforme(v) => ApiError::NonConforme(v),
            ServiceError::Introuvable { ressource } => ApiError::Introuvable { ressource },
            ServiceError::Conflit { code, detail } => ApiError::Conflit { code, detail },
            ServiceError::Sature {
                code,
                detail,
                reessayer_s,
            } => ApiError::Sature {
                code,
                detail,
                reessayer_s,
            },
            ServiceError::Indisponible => ApiError::Indisponible,
            ServiceError::CurseurExpire { purge_le } => ApiError::CurseurExpire { purge_le },
            ServiceError::Interne(detail) => ApiError::Interne(detail),
        }
    }
}

impl From<diesel_erreur::Error> for ApiError {
    fn from(e: diesel_erreur::Error) -> Self {
        ApiError::from(StoreError::from(e))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if let StoreError::FluxPurge { le } = e {
            return ApiError::CurseurExpire { purge_le: le };
        }
        if e.est_indisponibilite() {
            tracing::warn!(erreur = %e, "base de données indisponible");
            ApiError::Indisponible
        } else {
            ApiError::Interne(e.to_string())
        }
    }
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            ApiError::Parametres(_) => "parametre_invalide",
            ApiError::Introuvable { .. } => "ressource_introuvable",
            ApiError::RouteInconnue => "route_inconnue",
            ApiError::MethodeNonAutorisee { .. } => "methode_non_autorisee",
            ApiError::Indisponible => "service_indisponible",
            ApiError::Sature { code, .. } => code,
            ApiError::NonAuthentifie(_) => "authentification_requise",
            ApiError::Doublon { .. } | ApiError::DoublonHorsPerimetre => "eleve_en_doublon",
            ApiError::IneHorsPerimetre => "ine_hors_perimetre",
            ApiError::IdentiteNonConcordante => "identite_non_concordante",
            ApiError::Transition(_) => "transition_interdite",
            ApiError::PreconditionEchouee { .. } => "version_perimee",
            ApiError::IdempotenceReutilisee => "cle_idempotence_reutilisee",
            ApiError::LotRefuse { .. } => "lot_refuse",
            ApiError::ScopeInsuffisant { .. } => "insufficient_scope",
            ApiError::Interdit { code, .. } => code,
            ApiError::CorpsIllisible(_) => "corps_invalide",
            ApiError::NonConforme(_) => "contenu_invalide",
            ApiError::Conflit { code, .. } => code,
            ApiError::TypeContenu { .. } => "type_contenu_non_pris_en_charge",
            ApiError::TropDeRequetes(crate::limites::Depassement::Debit { .. }) => "trop_de_requetes",
            ApiError::TropDeRequetes(crate::limites::Depassement::Simultanees { .. }) => "trop_de_requetes_simultanees",
            ApiError::CorpsTropGrand => "corps_trop_grand",
            ApiError::CurseurExpire { .. } => "curseur_expire",
            ApiError::Interne(_) => "erreur_interne",
        }
    }

    fn titre(&self) -> &'static str {
        match self {
            ApiError::Parametres(_) => "Paramètre invalide",
            ApiError::Introuvable { .. } => "Ressource introuvable",
            ApiError::RouteInconnue => "Route inconnue",
            ApiError::MethodeNonAutorisee { .. } => "Méthode non autorisée",
            ApiError::Indisponible => "Service momentanément indisponible",
            ApiError::Sature { .. } => "Service momentanément saturé",
            ApiError::NonAuthentifie(_) => "Authentification requise",
            ApiError::Doublon { .. } | ApiError::DoublonHorsPerimetre => "Élève déjà connu",
            ApiError::IneHorsPerimetre => "INE d'un élève hors de votre périmètre",
            ApiError::IdentiteNonConcordante => "Identité non concordante",
            ApiError::Transition(_) => "Transition interdite",
            ApiError::PreconditionEchouee { .. } => "Version périmée",
            ApiError::IdempotenceReutilisee => "Clé d'idempotence réutilisée",
            ApiError::LotRefuse { .. } => "Lot refusé",
            ApiError::ScopeInsuffisant { .. } => "Scope insuffisant",
            ApiError::Interdit { .. } => "Opération interdite",
            ApiError::CorpsIllisible(_) => "Corps de requête invalide",
            ApiError::NonConforme(_) => "Contenu refusé",
            ApiError::Conflit { .. } => "Conflit avec l'état de la ressource",
            ApiError::TypeContenu { .. } => "Type de contenu non pris en charge",
            ApiError::TropDeRequetes(_) => "Trop de requêtes",
            ApiError::CorpsTropGrand => "Corps de requête trop volumineux",
            ApiError::CurseurExpire { .. } => "Curseur expiré",
            ApiError::Interne(_) => "Erreur interne",
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Parametres(v) if v.len() == 1 => v[0].message.clone(),
            ApiError::Parametres(v) => format!("La requête contient {} paramètres invalides{}.", v.len(), tronque(v)),
            ApiError::Introuvable { ressource } => {
                format!("{ressource} n'existe pas ou n'est pas accessible avec ces droits.")
            }
            ApiError::RouteInconnue => "Aucune opération de l'API ne correspond à ce chemin ; voir /docs.".into(),
            ApiError::MethodeNonAutorisee { autorisees } => {
                format!("Cette méthode HTTP n'est pas disponible sur ce chemin ; méthodes acceptées : {autorisees}.")
            }
            ApiError::Indisponible => "La base de données ne répond pas ; réessayez dans quelques secondes.".into(),
            ApiError::Sature { detail, .. } => detail.clone(),
            ApiError::Doublon { .. } => "Un élève de mêmes nom, prénom, sexe, date et lieu de naissance existe déjà : \
                inscrivez-le par son identifiant (champ candidat) plutôt que d'en créer un second."
                .into(),
            ApiError::DoublonHorsPerimetre => "Un élève de mêmes nom, prénom, sexe, date et lieu de naissance est déjà \
                connu, hors de votre périmètre. S'il s'agit d'une famille qui arrive dans votre commune ou votre école, \
                inscrivez l'enfant par un rattachement (POST /v1/rattachements) avec l'INE, le nom, le \
                prénom et la date de naissance que la famille vous a donnés."
                .into(),
            ApiError::IneHorsPerimetre => "Cet INE est celui d'un élève hors de votre périmètre : il ne peut être ni \
                créé une seconde fois ni remplacé. S'il s'agit d'une famille qui arrive dans votre commune ou votre \
                école, inscrivez l'enfant par un rattachement (POST /v1/rattachements) avec l'INE, le nom, \
                le prénom et la date de naissance que la famille vous a donnés."
                .into(),
            ApiError::IdentiteNonConcordante => "Aucun élève ne correspond à la fois à cet INE et à cette identité \
                (nom, premier prénom, date de naissance, comparés sans tenir compte des majuscules, accents, tirets \
                et espaces) : vérifiez-les sur les documents de la famille (certificat de radiation, livret de famille)."
                .into(),
            ApiError::Transition(e) => format!("{e}."),
            ApiError::PreconditionEchouee { version_actuelle } => format!(
                "La ressource a changé depuis la version indiquée par If-Match (version actuelle : \"v{version_actuelle}\") ; relisez-la puis recommencez."
            ),
            ApiError::LotRefuse { .. } => {
                "Au moins un élément est refusé : en mode tout_ou_rien, rien n'a été appliqué (voir resultats).".into()
            }
            ApiError::IdempotenceReutilisee => {
                "Cette clé Idempotency-Key a déjà servi pour une autre requête (méthode, chemin ou corps différents).".into()
            }
            ApiError::NonAuthentifie(None) => {
                "Un jeton d'accès est requis : en-tête `Authorization: Bearer <jeton>`, jeton obtenu par POST /oauth/token."
                    .into()
            }
            ApiError::NonAuthentifie(Some(raison)) => format!("Jeton d'accès refusé : {raison}."),
            ApiError::ScopeInsuffisant { motif: Some(m), .. } => m.clone(),
            ApiError::ScopeInsuffisant { requis, motif: None } => format!(
                "Cette opération requiert le scope {} ; demandez-le lors de l'obtention du jeton.",
                requis.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
            ),
            ApiError::Interdit { detail, .. } => detail.clone(),
            ApiError::CorpsIllisible(v) | ApiError::NonConforme(v) if v.len() == 1 => v[0].message.clone(),
            ApiError::CorpsIllisible(v) => format!("Le corps de la requête contient {} erreurs{}.", v.len(), tronque(v)),
            ApiError::NonConforme(v) => format!("Le contenu enfreint {} règles{}.", v.len(), tronque(v)),
            ApiError::Conflit { detail, .. } => detail.clone(),
            ApiError::TypeContenu { attendus } => {
                format!("Le corps doit être envoyé en {} (en-tête Content-Type).", attendus.join(" ou "))
            }
            ApiError::TropDeRequetes(crate::limites::Depassement::Debit { reessayer, etat }) => format!(
                "Limite de {} requêtes par seconde (rafales de {}) dépassée pour ce client ; réessayez dans {} s (en-tête Retry-After).",
                etat.par_seconde,
                etat.rafale,
                secondes(*reessayer)
            ),
            ApiError::TropDeRequetes(crate::limites::Depassement::Simultanees { max }) => format!(
                "Ce client a déjà {max} requêtes en cours ; attendez leurs réponses avant d'en envoyer d'autres."
            ),
            ApiError::CorpsTropGrand => format!(
                "Le corps d'une requête fait au plus {} Mio : découpez le lot, ou envoyez un fichier par POST /v1/imports.",
                crate::TAILLE_MAX_CORPS / (1024 * 1024)
            ),
            ApiError::CurseurExpire { purge_le } => format!(
                "Ce curseur précède la purge du flux du {} UTC (durée de conservation) : des changements \
                 postérieurs ont été supprimés. Repartez d'un instantané : GET /v1/changements sans `depuis` \
                 pour le curseur de l'instant présent, puis les listes, puis le flux depuis ce curseur.",
                purge_le.format("%d/%m/%Y %H:%M")
            ),
            ApiError::Interne(_) => {
                "Une erreur inattendue s'est produite ; elle a été journalisée avec l'identifiant de la requête.".into()
            }
        }
    }

    pub fn probleme(&self) -> Probleme {
        Probleme {
            type_probleme: format!("/problemes/{}", self.code()),
            title: self.titre().into(),
            status: self.status_code().as_u16(),
            detail: texte_borne(self.detail()),
            instance: identifiant_requete::courant().map(|id| format!("urn:uuid:{id}")),
            code: self.code().into(),
            candidat: match self {
                ApiError::Doublon { candidat, ine } => Some(crate::probleme::Candidat {
                    id: *candidat,
                    ine: ine.clone(),
                }),
                _ => None,
            },
            statut_actuel: match self {
                ApiError::Transition(onde_domain::DomainError::TransitionInterdite { depuis, .. }) => Some(*depuis),
                _ => None,
            },
            transitions_autorisees: match self {
                ApiError::Transition(onde_domain::DomainError::TransitionInterdite { autorisees, .. }) => {
                    Some(autorisees.to_vec())
                }
                _ => None,
            },
            resultats: match self {
                ApiError::LotRefuse { resultats } => Some(resultats.clone()),
                _ => None,
            },
            erreurs: match self {
                ApiError::Parametres(v) | ApiError::CorpsIllisible(v) | ApiError::NonConforme(v) => {
                    v.iter().take(VIOLATIONS_MAX).cloned().map(borne).collect()
                }
                _ => Vec::new(),
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Parametres(_) => StatusCode::BAD_REQUEST,
            ApiError::Introuvable { .. } | ApiError::RouteInconnue => StatusCode::NOT_FOUND,
            ApiError::MethodeNonAutorisee { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Indisponible | ApiError::Sature { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NonAuthentifie(_) => StatusCode::UNAUTHORIZED,
            ApiError::ScopeInsuffisant { .. } | ApiError::Interdit { .. } => StatusCode::FORBIDDEN,
            ApiError::Doublon { .. }
            | ApiError::DoublonHorsPerimetre
            | ApiError::IneHorsPerimetre
            | ApiError::Transition(_) => StatusCode::CONFLICT,
            ApiError::IdentiteNonConcordante => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PreconditionEchouee { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::IdempotenceReutilisee | ApiError::LotRefuse { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::CorpsIllisible(_) => StatusCode::BAD_REQUEST,
            ApiError::NonConforme(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflit { .. } => StatusCode::CONFLICT,
            ApiError::TypeContenu { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TropDeRequetes(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::CorpsTropGrand => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::CurseurExpire { .. } => StatusCode::GONE,
            ApiError::Interne(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Interne(detail) = self {
            tracing::error!(erreur = %detail, "erreur interne");
        }
        let mut reponse = HttpResponse::build(self.status_code());
        reponse.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(TYPE_PROBLEME_JSON)));
        if let ApiError::MethodeNonAutorisee { autorisees } = self {
            if let Ok(v) = HeaderValue::from_str(autorisees) {
                reponse.insert_header((header::ALLOW, v));
            }
        }
        match self {
            ApiError::Indisponible => {
                reponse.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
            }
            ApiError::Sature { reessayer_s, .. } => {
                reponse.insert_header((header::RETRY_AFTER, HeaderValue::from(*reessayer_s)));
            }
            ApiError::TropDeRequetes(d) => {
                let (attente, etat) = match d {
                    crate::limites::Depassement::Debit { reessayer, etat } => (secondes(*reessayer), Some(etat)),
                    crate::limites::Depassement::Simultanees { .. } => (1, None),
                };
                reponse.insert_header((header::RETRY_AFTER, HeaderValue::from(attente)));
                for (nom, valeur) in etat.map(crate::limites::entetes).into_iter().flatten() {
                    if let Ok(v) = HeaderValue::from_str(&valeur) {
                        reponse.insert_header((nom, v));
                    }
                }
            }
            _ => {}
        }
        // RFC 6750 section 3: tell the client how to authenticate and what went wrong.
        let defi = match self {
            ApiError::NonAuthentifie(None) => Some(format!("Bearer realm=\"{ROYAUME}\"")),
            ApiError::NonAuthentifie(Some(raison)) => Some(format!(
                "Bearer realm=\"{ROYAUME}\", error=\"invalid_token\", error_description=\"{}\"",
                ascii_sans_guillemets(raison)
            )),
            ApiError::ScopeInsuffisant { requis, .. } => Some(format!(
                "Bearer realm=\"{ROYAUME}\", error=\"insufficient_scope\", scope=\"{}\"",
                requis.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
            )),
            _ => None,
        };
        if let Some(v) = defi.and_then(|d| HeaderValue::from_str(&d).ok()) {
            reponse.insert_header((header::WWW_AUTHENTICATE, v));
        }
        reponse.json(self.probleme())
    }
}

/// Whole seconds to wait, rounded up (Retry-After takes seconds).
fn secondes(d: std::time::Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Fallback for requests no handler matched: 405 with `Allow` on a path the OpenAPI document
/// declares (the method is not one of its operations), 404 on any other path.
pub async fn route_inconnue(req: HttpRequest) -> ApiError {
    let methodes = req
        .app_data::<actix_web::web::Data<crate::EtatApp>>()
        .and_then(|etat| etat.chemins.methodes(req.path()).map(|m| m.join(", ")));
    match methodes {
        Some(autorisees) if !autorisees.is_empty() => ApiError::MethodeNonAutorisee { autorisees },
        _ => ApiError::RouteInconnue,
    }
}

impl actix_web::Responder for ApiError {
    type Body = actix_web::body::BoxBody;
    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        self.error_response()
    }
}

/// actix answers a body over the extractor's limit with a plain-text 413: this turns it into
/// the problem document every other error is (a 413 already in that form is left alone).
pub fn corps_trop_grand<B>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<actix_web::middleware::ErrorHandlerResponse<B>> {
    use actix_web::middleware::ErrorHandlerResponse;
    let deja = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(TYPE_PROBLEME_JSON.as_bytes()));
    if deja {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let (req, _) = res.into_parts();
    let reponse = ApiError::CorpsTropGrand.error_response();
    Ok(ErrorHandlerResponse::Response(
        actix_web::dev::ServiceResponse::new(req, reponse).map_into_right_body(),
    ))
}

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
        429 => ApiError::TropDeRequetes(crate::limites::Depassement::Debit {
            reessayer: std::time::Duration::from_secs(1),
            etat: crate::limites::EtatLimite {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liste_des_violations_bornee() {
        // Found by schemathesis: 9,999 wrong UAIs gave a 9,999-entry problem document.
        let v = vec![Violation::parametre("uais", "uai_cle", "clé"); VIOLATIONS_MAX + 5];
        let p = ApiError::NonConforme(v).probleme();
        assert_eq!(p.erreurs.len(), VIOLATIONS_MAX);
        assert!(
            p.detail.contains("105 règles") && p.detail.contains("premières"),
            "{}",
            p.detail
        );
        // Found by schemathesis: a message echoing a long input exceeded the declared maxLength.
        let long = Violation::parametre("x", "code", "é".repeat(TEXTE_MAX + 10));
        let p = ApiError::NonConforme(vec![long]).probleme();
        assert_eq!(p.erreurs[0].message.chars().count(), TEXTE_MAX);
        assert_eq!(p.detail.chars().count(), TEXTE_MAX);
    }
}
