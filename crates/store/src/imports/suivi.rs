//! The job's row and its life cycle: created waiting, claimed by a worker, kept alive by its
//! heartbeat, marked failed when silent, interrupted when its partner may no longer write.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::statut::{FormatImport, MotifInterruption, StatutImport};
use crate::schema::{imports, imports_suivi};
use crate::{DbConnection, StoreError};

/// A job whose worker has not committed anything for this long is considered stopped.
pub const SILENCE_MAX: chrono::Duration = chrono::Duration::minutes(2);

/// A job row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = imports, treat_none_as_default_value = false)]
pub struct Import {
    pub id: String,
    pub partenaire_id: Option<String>,
    pub client_id: Option<String>,
    pub format: String,
    pub mode: String,
    pub statut: String,
    pub total: Option<i64>,
    pub traites: i64,
    pub crees: i64,
    pub modifies: i64,
    pub inchanges: i64,
    pub rejetes: i64,
    pub cree_le: NaiveDateTime,
    pub debut_le: Option<NaiveDateTime>,
    pub fin_le: Option<NaiveDateTime>,
    pub erreur: Option<String>,
}

impl Import {
    /// A new job waiting for its worker.
    pub fn nouveau(
        id: Uuid,
        partenaire_id: Option<Uuid>,
        client_id: Option<String>,
        format: FormatImport,
        maintenant: NaiveDateTime,
    ) -> Self {
        Self {
            id: id.to_string(),
            partenaire_id: partenaire_id.map(|p| p.to_string()),
            client_id,
            format: format.as_str().into(),
            mode: "partiel".into(),
            statut: StatutImport::EnAttente.as_str().into(),
            total: None,
            traites: 0,
            crees: 0,
            modifies: 0,
            inchanges: 0,
            rejetes: 0,
            cree_le: maintenant,
            debut_le: None,
            fin_le: None,
            erreur: None,
        }
    }
}

pub fn creer(conn: &mut DbConnection, import: &Import) -> Result<(), StoreError> {
    diesel::insert_into(imports::table).values(import).execute(conn)?;
    Ok(())
}

pub fn trouver(conn: &mut DbConnection, id: Uuid) -> Result<Option<Import>, StoreError> {
    Ok(imports::table
        .find(id.to_string())
        .select(Import::as_select())
        .first(conn)
        .optional()?)
}

/// Takes a waiting job for this worker; `false` if it is not (or no longer) waiting.
pub fn demarrer(conn: &mut DbConnection, id: Uuid, maintenant: NaiveDateTime) -> Result<bool, StoreError> {
    let n = diesel::update(
        imports::table
            .filter(imports::id.eq(id.to_string()))
            .filter(imports::statut.eq(StatutImport::EnAttente.as_str())),
    )
    .set((
        imports::statut.eq(StatutImport::EnCours.as_str()),
        imports::debut_le.eq(Some(maintenant)),
    ))
    .execute(conn)?;
    if n == 1 {
        battre(conn, id, maintenant)?;
    }
    Ok(n == 1)
}

/// The worker's sign of life.
pub(super) fn battre(conn: &mut DbConnection, id: Uuid, t: NaiveDateTime) -> Result<(), StoreError> {
    diesel::update(imports_suivi::table.filter(imports_suivi::id.eq(id.to_string())))
        .set(imports_suivi::battement_le.eq(Some(t)))
        .execute(conn)?;
    Ok(())
}

/// The heartbeat of jobs queued on a node, waiting for one of its workers: they are alive
/// though no worker has claimed them yet. Jobs no longer waiting are left alone.
pub fn signaler_attente(conn: &mut DbConnection, ids: &[Uuid], t: NaiveDateTime) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    diesel::update(
        imports_suivi::table
            .filter(imports_suivi::statut.eq(StatutImport::EnAttente.as_str()))
            .filter(imports_suivi::id.eq_any(ids)),
    )
    .set(imports_suivi::battement_le.eq(Some(t)))
    .execute(conn)?;
    Ok(())
}

/// Marks failed every waiting or running job silent since before `avant` (its worker stopped:
/// crash, restart, lost node); returns how many. Chunks it committed stay applied.
pub fn marquer_abandonnes(
    conn: &mut DbConnection,
    avant: NaiveDateTime,
    maintenant: NaiveDateTime,
) -> Result<usize, StoreError> {
    use imports_suivi::dsl as s;
    let vivants = [StatutImport::EnAttente.as_str(), StatutImport::EnCours.as_str()];
    // coalesce(battement_le, cree_le) < avant: the last heartbeat, or the creation if none.
    let silencieux = || {
        s::imports_suivi.filter(s::statut.eq_any(vivants)).filter(
            s::battement_le
                .lt(avant)
                .or(s::battement_le.is_null().and(s::cree_le.lt(avant))),
        )
    };
    // Read first: this runs on every poll of a job, and a write would queue behind a running
    // chunk's write lock on SQLite (busy timeout, then an error) though nothing is to mark.
    let n: i64 = silencieux().count().get_result(conn)?;
    if n == 0 {
        return Ok(0);
    }
    Ok(diesel::update(silencieux())
        .set((
            s::statut.eq(StatutImport::Echoue.as_str()),
            s::fin_le.eq(Some(maintenant)),
            s::erreur.eq(Some(MESSAGE_ABANDON)),
        ))
        .execute(conn)?)
}

pub const MESSAGE_ABANDON: &str =
    "import interrompu (arrêt ou redémarrage du service) : les lignes comptées dans « traites » \
     sont appliquées ; renvoyez le fichier pour terminer (les lignes déjà appliquées seront inchangées)";

pub(super) fn maintenant() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// Ends a running job `interrompu` with its reason, in one statement (the table ties the
/// status and the reason together).
pub(super) fn interrompre(conn: &mut DbConnection, id: Uuid, motif: MotifInterruption) -> Result<(), StoreError> {
    let erreur = format!(
        "{} : les lignes comptées dans « traites » sont appliquées, les suivantes ne le sont pas",
        motif.message()
    );
    diesel::update(
        imports_suivi::table
            .filter(imports_suivi::id.eq(id.to_string()))
            .filter(imports_suivi::statut.eq(StatutImport::EnCours.as_str())),
    )
    .set((
        imports_suivi::statut.eq(StatutImport::Interrompu.as_str()),
        imports_suivi::motif.eq(Some(motif.as_str())),
        imports_suivi::fin_le.eq(Some(maintenant())),
        imports_suivi::erreur.eq(Some(erreur)),
    ))
    .execute(conn)?;
    Ok(())
}

/// Why an `interrompu` job stopped (`None` for any other job, or an unknown one).
pub fn motif(conn: &mut DbConnection, id: Uuid) -> Result<Option<MotifInterruption>, StoreError> {
    let lignes: Vec<Option<String>> = imports_suivi::table
        .filter(imports_suivi::id.eq(id.to_string()))
        .select(imports_suivi::motif)
        .load(conn)?;
    lignes
        .into_iter()
        .next()
        .flatten()
        .map(|m| {
            MotifInterruption::parse(&m).ok_or_else(|| StoreError::Corrompu {
                table: "imports",
                colonne: "motif",
                detail: m.clone(),
            })
        })
        .transpose()
}
