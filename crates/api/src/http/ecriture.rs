//! What every write shares: `If-Match` preconditions on versions, `ETag`s, and idempotency —
//! the first answer to an `Idempotency-Key` is stored in the same transaction as the write's
//! effects, so a retry (also after a crash or a restart) replays it and never applies twice.

use actix_web::http::header::{HeaderName, HeaderValue, IF_MATCH};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use onde_store::idempotence::{self, ReponseEnregistree};
use onde_store::DbConnection;
use uuid::Uuid;

use crate::auth::acces::Acces;
use crate::erreurs::erreur::ApiError;
use crate::etat::EtatApp;
use onde_service::Violation;

pub const EN_TETE_IDEMPOTENCE: &str = "Idempotency-Key";

/// `"v{version}"`: the entity tag of a versioned resource, with the coding as suffix when the
/// answer was compressed (`"v3-gzip"`, see [`crate::http::compresseur::etiquette`]).
/// What `If-Match` accepts, as published in the OpenAPI document.
pub const MOTIF_IF_MATCH: &str = r#"^(\*|(W/)?"v[0-9]{1,18}(-(gzip|zstd|br))?")$"#;
/// What `Idempotency-Key` accepts: 1 to 255 printable ASCII characters, no space.
pub const MOTIF_IDEMPOTENCE: &str = "^[!-~]{1,255}$";

pub fn etag(version: i64) -> String {
    format!("\"v{version}\"")
}

/// `If-Match`: `None` when absent or `*`; the version named otherwise.
pub fn si_correspond(req: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(v) = req.headers().get(IF_MATCH) else {
        return Ok(None);
    };
    let texte = v.to_str().unwrap_or_default().trim();
    if texte == "*" {
        return Ok(None);
    }
    // An entity tag as this gateway issues them (`"v3"`, possibly weak, possibly with the
    // coding of a compressed answer: the version is the same), and nothing looser: the OpenAPI
    // document publishes exactly this pattern.
    let texte = texte.strip_prefix("W/").unwrap_or(texte);
    crate::http::compresseur::sans_suffixe(texte)
        .as_ref()
        .strip_prefix("\"v")
        .and_then(|reste| reste.strip_suffix('"'))
        .filter(|n| (1..=18).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::Parametres(vec![Violation::parametre(
                "If-Match",
                "if_match_invalide",
                "If-Match attend l'ETag reçu à la lecture (ex. \"v3\") ou *",
            )])
        })
}

/// Refuses the write when `If-Match` names another version than the current one.
pub fn verifier_version(attendue: Option<i64>, actuelle: i64) -> Result<(), ApiError> {
    match attendue {
        Some(v) if v != actuelle => Err(ApiError::PreconditionEchouee {
            version_actuelle: actuelle,
        }),
        _ => Ok(()),
    }
}

/// The `Idempotency-Key` of the request, if any (1 to 255 printable ASCII characters).
pub fn cle_idempotence(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get(EN_TETE_IDEMPOTENCE) else {
        return Ok(None);
    };
    let texte = v.to_str().unwrap_or_default();
    if texte.is_empty() || texte.len() > 255 || !texte.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::Parametres(vec![Violation::parametre(
            EN_TETE_IDEMPOTENCE,
            "cle_idempotence_invalide",
            "Idempotency-Key : 1 à 255 caractères ASCII imprimables (un UUID convient)",
        )]));
    }
    Ok(Some(texte.to_owned()))
}

/// An answer to a write, replayable as is.
#[derive(Debug, Clone)]
pub struct ReponseEcriture {
    pub statut: StatusCode,
    pub corps: serde_json::Value,
    pub entetes: Vec<(String, String)>,
    /// Pupils whose data was written, for the audit trail.
    pub eleves: Vec<Uuid>,
}

impl ReponseEcriture {
    pub fn new(statut: StatusCode, corps: serde_json::Value) -> Self {
        Self {
            statut,
            corps,
            entetes: Vec::new(),
            eleves: Vec::new(),
        }
    }

    pub fn entete(mut self, nom: &str, valeur: impl Into<String>) -> Self {
        self.entetes.push((nom.to_owned(), valeur.into()));
        self
    }

    pub fn eleves(mut self, ids: Vec<Uuid>) -> Self {
        self.eleves = ids;
        self
    }

    fn http(&self, rejouee: bool) -> HttpResponse {
        let mut r = HttpResponse::build(self.statut);
        for (k, v) in &self.entetes {
            if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(v)) {
                r.insert_header((k, v));
            }
        }
        if rejouee {
            r.insert_header(("Idempotent-Replayed", "true"));
        }
        r.json(&self.corps)
    }
}

/// The stored answer, provided every pupil it shows is still in the caller's perimeter: a
/// replay must not outlive the rights that produced the first answer.
fn rejouer(
    conn: &mut DbConnection,
    perimetre: &onde_domain::Perimetre,
    r: &ReponseEnregistree,
) -> Result<(ReponseEcriture, bool), ApiError> {
    let mut eleves = Vec::new();
    for id in r.eleves.split_whitespace() {
        let id = Uuid::parse_str(id).map_err(|e| ApiError::Interne(e.to_string()))?;
        if !onde_store::eleves::visible(conn, perimetre, id)? {
            return Err(ApiError::Introuvable {
                ressource: "La ressource",
            });
        }
        eleves.push(id);
    }
    let corps = serde_json::from_str(&r.corps).map_err(|e| ApiError::Interne(e.to_string()))?;
    let entetes: Vec<(String, String)> =
        serde_json::from_str(&r.entetes).map_err(|e| ApiError::Interne(e.to_string()))?;
    let statut = StatusCode::from_u16(u16::try_from(r.statut).unwrap_or(500)).unwrap_or(StatusCode::OK);
    Ok((
        ReponseEcriture {
            statut,
            corps,
            entetes,
            eleves,
        },
        true,
    ))
}

/// SHA-256 of the request: client, mandate acted under, method, path and query, body. The
/// same key sent by another client or under another mandate is another request (422).
pub fn empreinte(acces: &Acces, req: &HttpRequest, corps: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(acces.client_id.as_bytes());
    h.update(b"\n");
    h.update(
        acces
            .pour_le_compte_de
            .as_ref()
            .map(|c| c.as_str())
            .unwrap_or("-")
            .as_bytes(),
    );
    h.update(b"\n");
    h.update(req.method().as_str().as_bytes());
    h.update(b" ");
    h.update(req.uri().to_string().as_bytes());
    h.update(b"\n");
    h.update(corps);
    format!("{:x}", h.finalize())
}

/// Runs `ecrire` in one transaction, with the idempotency record when the request has a key.
/// A key already answered replays that answer (422 if the request differs); two concurrent
/// requests with one key apply once: the loser's transaction fails on the key and rolls back,
/// then it replays the winner's answer.
pub async fn executer<F>(
    etat: &EtatApp,
    acces: &Acces,
    req: &HttpRequest,
    corps: &[u8],
    ecrire: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<ReponseEcriture, ApiError> + Send + 'static,
{
    let cle = cle_idempotence(req)?;
    let empreinte = empreinte(acces, req, corps);
    let partenaire = acces.partenaire_id.to_string();
    let perimetre = acces.perimetre.clone();
    let store = etat.store.clone();
    let traceur = acces.clone();
    // The answer's audit record is written in the same transaction as the write (or the
    // replay's lookup): an answer is never sent without it, a write never commits without it.
    let tracer = move |c: &mut DbConnection, r: &ReponseEcriture| -> Result<(), ApiError> {
        if let Some(e) = traceur.entree_audit(&r.eleves) {
            onde_store::audit::inserer_lot(c, &[e])?;
        }
        Ok(())
    };
    let resultat = web::block(move || -> Result<(ReponseEcriture, bool), ApiError> {
        let mut conn = store.connexion()?;
        let conn: &mut DbConnection = &mut conn;
        let ecrit = diesel::Connection::transaction(conn, |c| -> Result<(ReponseEcriture, bool), ApiError> {
            onde_store::verrou_ecriture(c)?;
            if let Some(cle) = &cle {
                // Retries racing each other queue here, then find the first one's answer.
                onde_store::idempotence::verrouiller(c, &partenaire, cle)?;
                if let Some(r) = idempotence::trouver(c, &partenaire, cle)? {
                    if r.empreinte != empreinte {
                        return Err(ApiError::IdempotenceReutilisee);
                    }
                    let rejoue = rejouer(c, &perimetre, &r)?;
                    tracer(c, &rejoue.0)?;
                    return Ok(rejoue);
                }
            }
            let reponse = ecrire(c)?;
            tracer(c, &reponse)?;
            if let Some(cle) = &cle {
                idempotence::enregistrer(
                    c,
                    &ReponseEnregistree {
                        partenaire_id: partenaire.clone(),
                        cle: cle.clone(),
                        empreinte: empreinte.clone(),
                        statut: i32::from(reponse.statut.as_u16()),
                        corps: reponse.corps.to_string(),
                        entetes: serde_json::to_string(&reponse.entetes).unwrap_or_else(|_| "[]".into()),
                        eleves: reponse.eleves.iter().map(Uuid::to_string).collect::<Vec<_>>().join(" "),
                        cree_le: Utc::now().naive_utc(),
                    },
                )
                .map_err(conflit_idempotence)?;
            }
            Ok((reponse, false))
        });
        match (ecrit, &cle) {
            (Ok(r), _) => Ok(r),
            (Err(e), Some(cle)) if est_conflit_de_cle(&e) => match idempotence::trouver(conn, &partenaire, cle)? {
                Some(r) if r.empreinte == empreinte => {
                    // Outside the failed transaction: one INSERT, committed on its own.
                    let rejoue = rejouer(conn, &perimetre, &r)?;
                    tracer(conn, &rejoue.0)?;
                    Ok(rejoue)
                }
                Some(_) => Err(ApiError::IdempotenceReutilisee),
                None => Err(e),
            },
            (Err(e), _) => Err(e),
        }
    })
    .await
    .map_err(|e| ApiError::Interne(format!("tâche bloquante interrompue : {e}")))??;
    // A replay discloses the same data again: it was traced like the first answer.
    let (reponse, rejouee) = resultat;
    Ok(reponse.http(rejouee))
}

fn est_conflit_de_cle(e: &ApiError) -> bool {
    matches!(e, ApiError::Conflit { code, .. } if *code == "conflit_idempotence")
}

/// Maps a unique violation on the idempotency table to a recognisable conflict.
pub fn conflit_idempotence(e: onde_store::StoreError) -> ApiError {
    match e.violation_unicite() {
        Some(c) if c.contains("idempotence") => ApiError::Conflit {
            code: "conflit_idempotence",
            detail: "requête concurrente avec la même clé".into(),
        },
        _ => ApiError::from(e),
    }
}
