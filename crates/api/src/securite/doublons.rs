//! What a write answers when the record sent matches a known pupil (the same INE, or DOMAIN.md's
//! five normalised fields): decided here for every path — inscriptions, pupil writes, batches
//! (and, through [`onde_store::eleves::Correspondance`], import reports). A pupil the caller
//! sees is named (`candidat`: id and INE); one outside its perimeter is only said to exist,
//! with the way to link it (the rattachement operation, with the identity the family gave).

use onde_domain::Perimetre;
use onde_store::eleves::Correspondance;
use onde_store::DbConnection;
use uuid::Uuid;

use crate::erreurs::erreur::ApiError;

/// The answer to a record whose duplicate key the pupil `id` (INE `ine`) holds.
pub(crate) fn doublon(
    c: &mut DbConnection,
    perimetre: &Perimetre,
    id: Uuid,
    ine: Option<String>,
) -> Result<ApiError, ApiError> {
    Ok(depuis(onde_store::eleves::correspondance(c, perimetre, id, ine)?))
}

/// The answer to a new record whose INE the pupil `id` already holds: that pupil named when the
/// caller sees it, else only that the INE is taken outside its perimeter.
pub(crate) fn ine_detenu(
    c: &mut DbConnection,
    perimetre: &Perimetre,
    id: Uuid,
    ine: &onde_domain::Ine,
) -> Result<ApiError, ApiError> {
    Ok(
        match onde_store::eleves::correspondance(c, perimetre, id, Some(ine.as_str().to_owned()))? {
            Correspondance::Visible { id, ine } => ApiError::Doublon { candidat: id, ine },
            Correspondance::HorsPerimetre => ApiError::IneHorsPerimetre,
        },
    )
}

/// The problem of a duplicate the store decided (set-based batch).
pub(crate) fn depuis(c: Correspondance) -> ApiError {
    match c {
        Correspondance::Visible { id, ine } => ApiError::Doublon { candidat: id, ine },
        Correspondance::HorsPerimetre => ApiError::DoublonHorsPerimetre,
    }
}
