//! Who is calling and what they may see, resolved once per request by the [`Acces`] extractor:
//! the only place where the three checks of the security model run.
//!
//! 1. **scope** — the operation's required scope comes from its OpenAPI declaration
//!    ([`crate::auth::exigences`]); the token must carry it (403 `insufficient_scope` otherwise);
//! 2. **perimeter** — resolved server-side from the partner's current definition (re-read when
//!    its version moves, so a change or a revocation applies to the next request), optionally
//!    narrowed to one mandate by the `Onde-Mandat` header; the store AND-s it into every query;
//! 3. **data profile** — which pupil fields may leave; applied by [`crate::securite::vue`].
//!
//! Handlers take an `Acces` and never check rights themselves. What is not about rights stays
//! out: the token is verified, and its client charged the rate limit, the cap of requests in
//! flight and the partner tag of the metrics, by the admission middleware
//! ([`crate::middleware::admission`]) before the extractors run; the extractor reads the
//! verdict it left in the request's extensions ([`JetonVerifie`]).

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use onde_domain::{CibleMandat, Partenaire, Perimetre, ProfilDonnees, Scope, Scopes, TypePartenaire};
use uuid::Uuid;

use crate::auth::porteur::{jeton_porteur, JetonVerifie};
use crate::erreurs::erreur::ApiError;
use crate::etat::EtatApp;
use crate::middleware::identifiant_requete;
use crate::middleware::limites::EnVol;

/// Header by which an editor narrows a request to one of its mandates.
pub const EN_TETE_MANDAT: &str = "Onde-Mandat";

/// The rights of the current request.
#[derive(Debug, Clone)]
pub struct Acces {
    pub partenaire_id: Uuid,
    pub client_id: String,
    pub type_partenaire: TypePartenaire,
    /// Scopes of the token that the partner still holds now (a scope withdrawn since the
    /// token was issued is not among them).
    pub scopes: Scopes,
    pub perimetre: Perimetre,
    pub profil: ProfilDonnees,
    /// The mandate the request acts under, if narrowed ("on behalf of").
    pub pour_le_compte_de: Option<CibleMandat>,
    /// operationId of the operation being served, and the scope that allowed it.
    pub operation: String,
    pub scope: Scope,
    pub id_requete: String,
    /// This request counted in its client's requests in flight until the last clone goes.
    pub en_vol: Option<Arc<EnVol>>,
    /// A read (GET): the pupils it shows were read, not written (activity metrics).
    pub lecture: bool,
}

fn mandat_demande(req: &HttpRequest) -> Result<Option<CibleMandat>, ApiError> {
    let Some(valeur) = req.headers().get(EN_TETE_MANDAT) else {
        return Ok(None);
    };
    let texte = valeur.to_str().unwrap_or_default();
    CibleMandat::parse(texte.trim()).map(Some).map_err(|e| {
        ApiError::Parametres(vec![onde_service::Violation::parametre(
            EN_TETE_MANDAT,
            e.code(),
            e.to_string(),
        )])
    })
}

impl FromRequest for Acces {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let etat = req.app_data::<web::Data<EtatApp>>().cloned();
        let route = req.match_pattern();
        let methode = req.method().as_str().to_owned();
        let jeton = jeton_porteur(req);
        let mandat = mandat_demande(req);
        let id_requete = identifiant_requete::courant().unwrap_or_default();
        // Taken, not copied: this request's place in flight lasts as long as the `Acces`.
        let verdict = req.extensions_mut().remove::<JetonVerifie>();
        let en_vol = req.extensions_mut().remove::<Arc<EnVol>>();
        Box::pin(async move {
            let etat = etat.ok_or_else(|| ApiError::Interne("état de l'application absent".into()))?;
            // Fail closed: an operation with no declared requirement cannot take an Acces.
            let exigence = route
                .as_deref()
                .and_then(|r| etat.exigences.pour(&methode, r))
                .cloned()
                .ok_or_else(|| ApiError::Interne(format!("aucune exigence de sécurité pour {methode} {route:?}")))?;
            jeton?.ok_or(ApiError::NonAuthentifie(None))?;
            // Fail closed: without the admission middleware's verdict, no token is trusted
            // (and no limit was charged).
            let JetonVerifie(verdict) = verdict
                .ok_or_else(|| ApiError::Interne("jeton non vérifié : intergiciel d'admission absent".into()))?;
            let rev = verdict.map_err(|r| ApiError::NonAuthentifie(Some(r.0)))?;
            let en_vol = en_vol.ok_or_else(|| ApiError::Interne("jeton vérifié sans admission aux limites".into()))?;
            let sujet = Uuid::parse_str(&rev.sub).ok();
            let du_jeton = Scopes::parse_liste(&rev.scope)
                .map_err(|_| ApiError::NonAuthentifie(Some("scopes du jeton illisibles".into())))?;
            // Fail fast, before any database work, when the token cannot serve the operation.
            if !exigence.scopes.iter().any(|s| du_jeton.contient(*s)) {
                return Err(ApiError::ScopeInsuffisant {
                    requis: exigence.scopes.clone(),
                    motif: None,
                });
            }
            let partenaire_id =
                sujet.ok_or_else(|| ApiError::NonAuthentifie(Some("sujet du jeton illisible".into())))?;
            let partenaire = partenaire_courant(&etat, partenaire_id, rev.client_id.clone()).await?;
            // The token's scopes cannot outlive the partner's: a scope withdrawn since issue
            // stops working now, for the operation and for everything a handler consults
            // (the change feed's resource types).
            let scopes = du_jeton.intersection(&partenaire.scopes);
            let scope = exigence
                .scopes
                .iter()
                .copied()
                .find(|s| scopes.contient(*s))
                .ok_or_else(|| ApiError::ScopeInsuffisant {
                    requis: exigence.scopes.clone(),
                    motif: None,
                })?;
            let mandat = mandat?;
            // A mandate lends at most its principal's scopes: under a commune's mandate, an
            // operation needing `eleves:write` is out of scope like for the mairie itself.
            let droits = partenaire.droits(mandat.as_ref(), scope).map_err(|e| match e.code() {
                "scope_hors_mandat" => ApiError::ScopeInsuffisant {
                    requis: exigence.scopes.clone(),
                    motif: Some(format!("{e} (en-tête {EN_TETE_MANDAT}).")),
                },
                _ => ApiError::Interdit {
                    code: "mandat_non_detenu",
                    detail: format!("{e} (en-tête {EN_TETE_MANDAT})"),
                },
            })?;
            Ok(Acces {
                partenaire_id,
                client_id: rev.client_id,
                type_partenaire: partenaire.type_partenaire,
                scopes,
                perimetre: droits.perimetre,
                profil: droits.profil,
                pour_le_compte_de: droits.pour_le_compte_de,
                operation: exigence.operation,
                scope,
                id_requete,
                en_vol: Some(en_vol),
                lecture: methode == "GET",
            })
        })
    }
}

/// The partner's current definition: one indexed lookup of its version and activity per
/// request; the full definition is re-read only when the version moved.
async fn partenaire_courant(etat: &EtatApp, id: Uuid, client_id: String) -> Result<Arc<Partenaire>, ApiError> {
    let cache = etat.partenaires.clone();
    let store = etat.store.clone();
    web::block(move || -> Result<Arc<Partenaire>, ApiError> {
        let mut conn = store.connexion()?;
        let etat_client = onde_store::partenaires::etat_client(&mut conn, &client_id)?
            .filter(|e| e.actif)
            .ok_or_else(|| ApiError::NonAuthentifie(Some("client révoqué, désactivé ou inconnu".into())))?;
        if let Some(p) = cache.lire(id, etat_client.version) {
            return Ok(p);
        }
        let stocke = onde_store::partenaires::trouver(&mut conn, id)?
            .filter(|p| p.partenaire.actif)
            .ok_or_else(|| ApiError::NonAuthentifie(Some("partenaire inconnu ou désactivé".into())))?;
        let p = Arc::new(stocke.partenaire);
        cache.ecrire(id, stocke.version, p.clone());
        Ok(p)
    })
    .await
    .map_err(|e| ApiError::Interne(format!("tâche bloquante interrompue : {e}")))?
}

impl Acces {
    /// The resource types of the change feed this caller may read: each one needs its read
    /// scope in the token and still granted to the partner ([`Acces::scopes`]), and guardians
    /// also the guardians field of the data profile.
    pub fn ressources_du_flux(&self) -> Vec<onde_store::changements::Ressource> {
        use onde_store::changements::Ressource;
        let mut r = Vec::new();
        if self.scopes.contient(Scope::EcolesRead) {
            r.push(Ressource::Ecole);
        }
        if self.scopes.contient(Scope::ElevesRead) {
            r.push(Ressource::Eleve);
            if self.profil.lit(onde_domain::ChampEleve::Responsables) {
                r.push(Ressource::Responsable);
            }
        }
        if self.scopes.contient(Scope::InscriptionsRead) {
            r.push(Ressource::Inscription);
        }
        r
    }
}
