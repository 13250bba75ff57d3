//! The one HTTP error type: every failure becomes a problem document with a stable code
//! (its status and headers are in [`crate::erreurs::reponse`]). Internal details (SQL, paths,
//! panics) are logged, never sent.

use actix_web::ResponseError;
use onde_service::{ServiceError, Violation};
use onde_store::diesel_erreur;
use onde_store::StoreError;

use crate::erreurs::probleme::Probleme;
use crate::middleware::identifiant_requete;

/// Most violations listed in one problem document (`erreurs`); `detail` gives the full count.
/// A body with 10,000 wrong identifiers must not get a 10,000-entry answer.
pub const VIOLATIONS_MAX: usize = 100;

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
    /// its INE), one the caller sees: named by `candidat`. See [`crate::securite::doublons`].
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
    /// A body over [`crate::constantes::TAILLE_MAX_CORPS`].
    #[error("corps trop volumineux")]
    CorpsTropGrand,
    #[error("type de contenu non pris en charge")]
    TypeContenu { attendus: &'static [&'static str] },
    /// `Accept-Encoding` refuses `identity` and every coding offered (`offerts`).
    #[error("aucun codage acceptable")]
    CodageNonAcceptable { offerts: String },
    /// This node is saturated (a bounded queue or pool is full): 503 with `Retry-After`.
    #[error("{detail}")]
    Sature {
        code: &'static str,
        detail: String,
        reessayer_s: u32,
    },
    /// Over the client's rate limit (or its cap of requests in flight).
    #[error("trop de requêtes")]
    TropDeRequetes(crate::middleware::limites::Depassement),
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
    /// Through the service layer's mapping: one place decides what a store error becomes (a
    /// purged cursor, an unavailable database, or an internal error never shown).
    fn from(e: StoreError) -> Self {
        ApiError::from(ServiceError::from(e))
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
            ApiError::CodageNonAcceptable { .. } => "codage_non_acceptable",
            ApiError::TropDeRequetes(crate::middleware::limites::Depassement::Debit { .. }) => "trop_de_requetes",
            ApiError::TropDeRequetes(crate::middleware::limites::Depassement::Simultanees { .. }) => {
                "trop_de_requetes_simultanees"
            }
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
            ApiError::CodageNonAcceptable { .. } => "Aucun codage de contenu acceptable",
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
            ApiError::CodageNonAcceptable { offerts } => format!(
                "L'en-tête Accept-Encoding refuse la réponse non compressée (identity) et n'accepte aucun des \
                 codages proposés : {offerts}. Acceptez l'un d'eux, ou retirez identity;q=0."
            ),
            ApiError::TropDeRequetes(crate::middleware::limites::Depassement::Debit { reessayer, etat }) => format!(
                "Limite de {} requêtes par seconde (rafales de {}) dépassée pour ce client ; réessayez dans {} s (en-tête Retry-After).",
                etat.par_seconde,
                etat.rafale,
                secondes(*reessayer)
            ),
            ApiError::TropDeRequetes(crate::middleware::limites::Depassement::Simultanees { max }) => format!(
                "Ce client a déjà {max} requêtes en cours ; attendez leurs réponses avant d'en envoyer d'autres."
            ),
            ApiError::CorpsTropGrand => format!(
                "Le corps d'une requête fait au plus {} Mio : découpez le lot, ou envoyez un fichier par POST /v1/imports.",
                crate::constantes::TAILLE_MAX_CORPS / (1024 * 1024)
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
                ApiError::Doublon { candidat, ine } => Some(crate::erreurs::probleme::Candidat {
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

/// Whole seconds to wait, rounded up (Retry-After takes seconds).
pub(crate) fn secondes(d: std::time::Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
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
