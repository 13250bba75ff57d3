//! Reading and purging the audit trail (`GET /v1/admin/audit`, `onde-echanges audit`). The
//! trail itself is written by the API (reads, before their answer leaves; writes, in their
//! transaction); the table refuses updates.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use onde_domain::{DomainError, Ine, Perimetre};
use onde_store::audit::{Entree, FiltreAudit};
use onde_store::DbConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::erreur::ServiceError;
use crate::violation::Violation;

/// Une entrée de la piste d'audit : un accès à des données personnelles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EntreeAudit {
    /// Numéro d'ordre, croissant dans le temps.
    #[schema(example = 1234, minimum = 1, maximum = 9007199254740991.0, format = Int64)]
    pub id: i64,
    /// Instant de l'accès (UTC).
    pub horodatage: DateTime<Utc>,
    /// Identifiant du partenaire.
    #[schema(max_length = 36, example = "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d70")]
    pub partenaire_id: String,
    /// Client OAuth qui a présenté le jeton.
    #[schema(example = "onde_Zm9vYmFyYmF6cXV4", max_length = 100)]
    pub client_id: String,
    /// Mandat sous lequel un éditeur agissait (code INSEE ou UAI), s'il a restreint sa requête.
    #[schema(example = "69123", max_length = 8)]
    pub pour_le_compte_de: Option<String>,
    /// Opération (operationId de l'API).
    #[schema(example = "consulter_eleve", max_length = 100)]
    pub operation: String,
    /// Scope qui a permis l'accès.
    #[schema(example = "eleves:read", max_length = 30)]
    pub scope: String,
    /// Identifiants internes des élèves concernés.
    #[schema(max_items = 1000, example = json!(["0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6f"]))]
    pub eleves: Vec<Uuid>,
    /// Nombre d'élèves concernés.
    #[schema(example = 1, minimum = 0, maximum = 100000000)]
    pub nombre: i32,
    /// Identifiant de la requête (en-tête `X-Request-Id`).
    #[schema(max_length = 100, example = "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d71")]
    pub id_requete: String,
}

impl From<Entree> for EntreeAudit {
    fn from(e: Entree) -> Self {
        Self {
            id: e.id,
            horodatage: e.horodatage.and_utc(),
            partenaire_id: e.partenaire_id,
            client_id: e.client_id,
            pour_le_compte_de: e.pour_le_compte_de,
            operation: e.operation,
            scope: e.scope,
            eleves: e
                .eleves
                .split_whitespace()
                .filter_map(|s| Uuid::parse_str(s).ok())
                .collect(),
            nombre: e.nombre,
            id_requete: e.id_requete,
        }
    }
}

/// Which end of a period a date bounds: a bare date starts its day as a lower bound and
/// includes its whole day as an upper bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Borne {
    Debut,
    Fin,
}

/// Reads `2026-03-01` (a day), `2026-03-01T08:30:00Z` / `…+01:00` (an instant, converted to
/// UTC) or `2026-03-01T08:30:00` (UTC). Returns a UTC timestamp.
pub fn lire_instant(s: &str, borne: Borne) -> Result<NaiveDateTime, DomainError> {
    let s = s.trim();
    if let Ok(jour) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let jour = match borne {
            Borne::Debut => Some(jour),
            Borne::Fin => jour.succ_opt(),
        };
        if let Some(t) = jour.and_then(|j| j.and_hms_opt(0, 0, 0)) {
            return Ok(t);
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc).naive_utc());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Ok(t);
        }
    }
    Err(DomainError::Invalide {
        code: "date_format",
        message: format!(
            "« {} » n'est pas une date ISO 8601 (ex. 2026-03-01 ou 2026-03-01T08:30:00Z)",
            s.chars().take(40).collect::<String>()
        ),
    })
}

/// A pupil named by its internal id or its INE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EleveCherche {
    Id(Uuid),
    Ine(Ine),
}

impl EleveCherche {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if let Ok(id) = Uuid::parse_str(s) {
            return Ok(Self::Id(id));
        }
        Ine::parse(s).map(Self::Ine).map_err(|_| DomainError::Invalide {
            code: "eleve_format",
            message: format!(
                "« {} » n'est ni un identifiant d'élève (UUID) ni un INE",
                s.chars().take(40).collect::<String>()
            ),
        })
    }
}

/// What to look for in the trail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recherche {
    pub partenaire: Option<Uuid>,
    pub eleve: Option<EleveCherche>,
    pub depuis: Option<NaiveDateTime>,
    pub jusqua: Option<NaiveDateTime>,
}

/// Entries matching `r`, newest first, `limite` at most, older than entry `avant_id`; with the
/// id to continue from when there are more.
pub fn rechercher(
    conn: &mut DbConnection,
    r: &Recherche,
    limite: u32,
    avant_id: Option<i64>,
) -> Result<(Vec<EntreeAudit>, Option<i64>), ServiceError> {
    let eleve_id = match &r.eleve {
        None => None,
        Some(EleveCherche::Id(id)) => Some(*id),
        Some(EleveCherche::Ine(ine)) => match onde_store::eleves::trouver_par_ine(conn, &Perimetre::National, ine)? {
            Some(e) => Some(e.id),
            // No such pupil: no access to it was ever traced.
            None => return Ok((Vec::new(), None)),
        },
    };
    let filtre = FiltreAudit {
        partenaire_id: r.partenaire.map(|p| p.to_string()),
        eleve_id: eleve_id.map(|e| e.to_string()),
        depuis: r.depuis,
        jusqua: r.jusqua,
        avant_id,
        limite: i64::from(limite) + 1,
    };
    let mut entrees = onde_store::audit::rechercher(conn, &filtre)?;
    let suivant = if entrees.len() > limite as usize {
        entrees.truncate(limite as usize);
        entrees.last().map(|e| e.id)
    } else {
        None
    };
    Ok((entrees.into_iter().map(EntreeAudit::from).collect(), suivant))
}

/// Deletes the entries older than `avant` (retention). A date in the future is refused: it
/// would erase the trail of accesses still under watch.
pub fn purger(conn: &mut DbConnection, avant: NaiveDateTime, maintenant: NaiveDateTime) -> Result<usize, ServiceError> {
    if avant > maintenant {
        return Err(ServiceError::Parametres(vec![Violation::parametre(
            "avant",
            "date_future",
            "la purge ne porte que sur le passé : « avant » doit précéder l'instant présent",
        )]));
    }
    Ok(onde_store::audit::purger(conn, avant)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn dates_et_instants() {
        assert_eq!(lire_instant("2026-03-01", Borne::Debut), Ok(t("2026-03-01 00:00:00")));
        assert_eq!(lire_instant("2026-03-31", Borne::Fin), Ok(t("2026-04-01 00:00:00")));
        assert_eq!(
            lire_instant("2026-03-01T08:30:00Z", Borne::Fin),
            Ok(t("2026-03-01 08:30:00"))
        );
        assert_eq!(
            lire_instant("2026-03-01T08:30:00+01:00", Borne::Debut),
            Ok(t("2026-03-01 07:30:00"))
        );
        assert_eq!(
            lire_instant("2026-03-01T08:30:00", Borne::Debut),
            Ok(t("2026-03-01 08:30:00"))
        );
        assert_eq!(
            lire_instant("01/03/2026", Borne::Debut).unwrap_err().code(),
            "date_format"
        );
        assert_eq!(
            lire_instant("2026-02-30", Borne::Debut).unwrap_err().code(),
            "date_format"
        );
    }

    #[test]
    fn eleve_par_id_ou_ine() {
        assert!(matches!(EleveCherche::parse("0494004062M"), Ok(EleveCherche::Ine(_))));
        assert!(matches!(
            EleveCherche::parse("0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e"),
            Ok(EleveCherche::Id(_))
        ));
        assert_eq!(EleveCherche::parse("x").unwrap_err().code(), "eleve_format");
    }
}
