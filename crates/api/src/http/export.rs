//! CSV exports of lists, for people who open them in a spreadsheet: RFC 4180 with CRLF, UTF-8
//! with a BOM, `;` as separator, French headers, dates as dd/mm/yyyy. The whole filtered list
//! is streamed by keyset chunks read on the blocking pool, so that a 100,000-row export never
//! sits in memory; the columns follow the caller's data profile, and each chunk is traced in
//! the audit trail and sent once its record is durable. No cell is ever a formula: one starting
//! with `=`, `+`, `-`, `@`, a tab or a carriage return is written with a leading apostrophe (OWASP).

use actix_web::http::header::{HeaderValue, ACCEPT, CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use chrono::NaiveDate;
use onde_store::tableur::{EcrivainTableur, FinDeLigne};
use onde_store::{Curseur, DbConnection, Store, StoreError};

use crate::http::parametres::Lecteur;
use crate::securite::auditeur::Audite;
use onde_service::Violation;

use crate::constantes::CSV;
/// Rows read (and sent) at a time.
pub const TRANCHE: u32 = 1000;
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `?format=` (json or csv) or, without it, `Accept: text/csv`. An unknown format is recorded.
pub fn veut_csv(req: &HttpRequest, format: Option<&str>, lecteur: &mut Lecteur) -> bool {
    match format {
        Some("csv") => true,
        Some("json") => false,
        Some(_) => {
            lecteur.violation(Violation::parametre(
                "format",
                "format_inconnu",
                "« format » vaut json ou csv",
            ));
            false
        }
        None => req
            .headers()
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains(CSV)),
    }
}

/// A date as French spreadsheets read it.
pub fn date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

pub fn oui_non(b: bool) -> String {
    if b { "oui" } else { "non" }.into()
}

/// One chunk of rows and the position after it (`None`: last chunk).
pub type Tranche = (Vec<Vec<String>>, Option<Curseur>);

/// The rows as CSV, every cell through the one formula guard ([`onde_store::tableur`]).
fn en_csv(lignes: &[Vec<String>], prefixe: &[u8]) -> Result<Bytes, csv::Error> {
    let mut w = EcrivainTableur::new(prefixe.to_vec(), FinDeLigne::Crlf);
    for l in lignes {
        w.ecrire(l)?;
    }
    w.into_inner().map(Bytes::from)
}

/// 200 `text/csv` streaming the header, then each chunk `lire` returns from `depuis` until the
/// last one; a chunk is sent only once its audit record is durable. A failure after the first
/// bytes (the database, or the audit trail) cuts the download short (a client sees a
/// truncated transfer, never a partial file presented as complete).
pub fn reponse<F>(
    store: Store,
    fichier: &str,
    entete: Vec<String>,
    depuis: Option<Curseur>,
    mut lire: F,
) -> HttpResponse
where
    F: FnMut(&mut DbConnection, Option<Curseur>) -> Result<Audite<Tranche>, StoreError> + Send + 'static,
{
    let (envoi, reception) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    // The client's place in flight is held by the answer's body, not by this producer
    // (`middleware::admission::AvecPlace`): chunks waiting in the channel keep it.
    tokio::task::spawn_blocking(move || produire(&store, &envoi, &entete, depuis, &mut lire));
    let flux = futures_util::stream::unfold(reception, |mut r| async move { r.recv().await.map(|m| (m, r)) });
    let mut r = HttpResponse::Ok();
    r.insert_header((CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{fichier}\"")) {
        r.insert_header((CONTENT_DISPOSITION, v));
    }
    r.streaming(flux)
}

/// The body of [`reponse`]: the header, then each chunk, until the last one, a failure, or the
/// client gone.
fn produire<F>(
    store: &Store,
    envoi: &tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    entete: &[String],
    depuis: Option<Curseur>,
    lire: &mut F,
) where
    F: FnMut(&mut DbConnection, Option<Curseur>) -> Result<Audite<Tranche>, StoreError>,
{
    let erreur = |e: String| Err(std::io::Error::other(e));
    let premier = match en_csv(&[entete.to_vec()], BOM) {
        Ok(b) => Ok(b),
        Err(e) => erreur(e.to_string()),
    };
    if envoi.blocking_send(premier).is_err() {
        return;
    }
    let mut curseur = depuis;
    loop {
        let tranche = store.connexion().and_then(|mut c| lire(&mut c, curseur.take()));
        let tranche = match tranche {
            Ok(t) => t.liberer_bloquant().map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let (lignes, suivant) = match tranche {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(erreur = %e, "export CSV interrompu");
                let _ = envoi.blocking_send(erreur("export interrompu".into()));
                return;
            }
        };
        let morceau = en_csv(&lignes, &[]).map_err(|e| std::io::Error::other(e.to_string()));
        // The client went away: stop reading.
        if envoi.blocking_send(morceau).is_err() {
            return;
        }
        match suivant {
            Some(s) => curseur = Some(s),
            None => return,
        }
    }
}
