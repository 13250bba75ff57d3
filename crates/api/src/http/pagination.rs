//! Keyset pagination over HTTP: `limit` and `curseur` parameters, the next cursor in the body
//! and in a `Link: <...>; rel="next"` header.

use actix_web::http::header::{ContentType, HeaderValue, LINK};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use onde_store::{Curseur, DemandePage};
use serde::Serialize;

use crate::erreurs::erreur::ApiError;
use crate::http::parametres::Lecteur;
use onde_service::Violation;

pub const LIMITE_PAR_DEFAUT: u32 = 100;
pub const LIMITE_MAX: u32 = 1000;

/// Reads `limit` and `curseur`, recording violations.
pub fn demande(lecteur: &mut Lecteur, limit: Option<&str>, curseur: Option<&str>) -> DemandePage {
    demande_de(lecteur, limit, curseur, |_| true)
}

/// As [`demande`], for a list whose cursors have a shape of their own: a cursor that decodes
/// but that `reconnu` refuses (another list's, or one issued before the list's order changed)
/// is the same violation as a garbled one, not an empty page.
pub fn demande_de(
    lecteur: &mut Lecteur,
    limit: Option<&str>,
    curseur: Option<&str>,
    reconnu: impl Fn(&Curseur) -> bool,
) -> DemandePage {
    let limite = match limit {
        None => LIMITE_PAR_DEFAUT,
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (1..=LIMITE_MAX).contains(&n) => n,
            _ => {
                lecteur.violation(Violation::parametre(
                    "limit",
                    "limite_hors_bornes",
                    format!("« limit » est un entier entre 1 et {LIMITE_MAX}"),
                ));
                LIMITE_PAR_DEFAUT
            }
        },
    };
    let apres = curseur.and_then(|c| {
        let decode = Curseur::decoder(c).filter(|c| reconnu(c));
        if decode.is_none() {
            lecteur.violation(Violation::parametre(
                "curseur",
                "curseur_invalide",
                "« curseur » doit être repris tel quel de la page précédente (champ curseur_suivant)",
            ));
        }
        decode
    });
    DemandePage { limite, apres }
}

/// The same request with `curseur` replaced: the next page's URL (path and query).
pub fn lien_suivant(req: &HttpRequest, curseur: &Curseur) -> String {
    Adresse::de(req).suivante(curseur)
}

/// A request's path and query: enough to build its next page's link away from the request
/// (on the blocking thread that serialises the page).
#[derive(Debug, Clone)]
pub struct Adresse {
    chemin: String,
    requete: String,
}

impl Adresse {
    pub fn de(req: &HttpRequest) -> Self {
        Self {
            chemin: req.path().to_owned(),
            requete: req.query_string().to_owned(),
        }
    }

    /// The next page's link: this address with `curseur` replaced.
    pub fn suivante(&self, curseur: &Curseur) -> String {
        self.avec("curseur", curseur)
    }

    /// This address with the query parameter `nom` set to `curseur`.
    pub fn avec(&self, nom: &str, curseur: &Curseur) -> String {
        let mut paires: Vec<(String, String)> = serde_urlencoded::from_str::<Vec<(String, String)>>(&self.requete)
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| k != nom)
            .collect();
        paires.push((nom.into(), curseur.encoder()));
        let requete = serde_urlencoded::to_string(&paires).unwrap_or_default();
        format!("{}?{requete}", self.chemin)
    }
}

/// 200 with the page body and, when there is a next page, the `Link` header.
pub fn reponse<T: Serialize>(corps: &T, lien: Option<&str>) -> HttpResponse {
    ok_avec_lien(lien).json(corps)
}

/// A 200 builder with `Link: <lien>; rel="next"` when there is a next page.
fn ok_avec_lien(lien: Option<&str>) -> HttpResponseBuilder {
    let mut r = HttpResponse::Ok();
    if let Some(l) = lien {
        if let Ok(v) = HeaderValue::from_str(&format!("<{l}>; rel=\"next\"")) {
            r.insert_header((LINK, v));
        }
    }
    r
}

/// A page serialised where it was read (see [`crate::http::bloquant::executer_puis`]): one buffer
/// waits for the async worker instead of the page's thousands of small allocations.
pub struct PageServie {
    corps: Bytes,
    lien: Option<String>,
}

impl PageServie {
    pub fn serialiser<T: Serialize>(corps: &T, lien: Option<String>) -> Result<Self, ApiError> {
        let corps = serde_json::to_vec(corps).map_err(|e| ApiError::Interne(e.to_string()))?;
        Ok(Self {
            corps: Bytes::from(corps),
            lien,
        })
    }

    /// 200 with the body and, when there is a next page, the `Link` header (as [`reponse`]).
    pub fn reponse(self) -> HttpResponse {
        ok_avec_lien(self.lien.as_deref())
            .content_type(ContentType::json())
            .body(self.corps)
    }
}
