//! Keyset pagination over HTTP: `limit` and `curseur` parameters, the next cursor in the body
//! and in a `Link: <...>; rel="next"` header.

use actix_web::http::header::{HeaderValue, LINK};
use actix_web::{HttpRequest, HttpResponse};
use onde_store::{Curseur, DemandePage};
use serde::Serialize;

use crate::parametres::Lecteur;
use crate::probleme::Violation;

pub const LIMITE_PAR_DEFAUT: u32 = 100;
pub const LIMITE_MAX: u32 = 1000;

/// Reads `limit` and `curseur`, recording violations.
pub fn demande(lecteur: &mut Lecteur, limit: Option<&str>, curseur: Option<&str>) -> DemandePage {
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
        let decode = Curseur::decoder(c);
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
    lien_avec(req, "curseur", curseur)
}

/// The same request with the query parameter `nom` set to `curseur` (the feed's `depuis`).
pub fn lien_avec(req: &HttpRequest, nom: &str, curseur: &Curseur) -> String {
    let mut paires: Vec<(String, String)> = serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k != nom)
        .collect();
    paires.push((nom.into(), curseur.encoder()));
    let requete = serde_urlencoded::to_string(&paires).unwrap_or_default();
    format!("{}?{requete}", req.path())
}

/// 200 with the page body and, when there is a next page, the `Link` header.
pub fn reponse<T: Serialize>(corps: &T, lien: Option<&str>) -> HttpResponse {
    let mut r = HttpResponse::Ok();
    if let Some(l) = lien {
        if let Ok(v) = HeaderValue::from_str(&format!("<{l}>; rel=\"next\"")) {
            r.insert_header((LINK, v));
        }
    }
    r.json(corps)
}
