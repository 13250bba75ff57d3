//! The import workers of a node ([`Ateliers`]): `imports.workers` threads fed by a queue of
//! `imports.file` jobs; a full queue answers 503 before the upload is read. A queued job stays
//! `en_attente`, its heartbeat kept by the node, until a worker takes it (see
//! `onde_store::imports`). A job whose node stops is not resumed: once silent for
//! [`onde_store::imports::SILENCE_MAX`] it is marked `echoue` (at the next read of any job, or
//! at start-up through [`au_demarrage`]); its committed chunks stay applied and sending the file
//! again completes it. The upload itself is `POST /v1/imports` ([`crate::routes::imports`]).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use onde_domain::Perimetre;
use onde_store::imports::{self, FormatImport, NoteAudit, OptionsImport};
use onde_store::Store;
use uuid::Uuid;

use crate::erreurs::erreur::ApiError;

/// The import workers of a node: their number, the jobs that may wait for them, the line bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigImports {
    /// Jobs run at once by this node (one thread each).
    pub workers: usize,
    /// Accepted jobs that may wait for a worker; beyond, an upload is refused (503).
    pub file: usize,
    /// Longest line (or CSV record) of a file, in bytes; a longer one is one rejection.
    pub ligne_max_octets: usize,
}

impl Default for ConfigImports {
    fn default() -> Self {
        Self {
            workers: 2,
            file: 8,
            ligne_max_octets: imports::lecture::LIGNE_MAX_OCTETS,
        }
    }
}

/// A place among the jobs a node runs or queues, reserved before the upload is read and held
/// until the job ends.
#[derive(Debug)]
pub struct Place(#[allow(dead_code)] tokio::sync::OwnedSemaphorePermit);

type Tache = Box<dyn FnOnce() + Send>;

/// A fixed set of worker threads fed by a queue whose length is bounded by the places: a job
/// is only queued with a place, so the queue never holds more than `workers + file` jobs.
struct File {
    places: Arc<tokio::sync::Semaphore>,
    envoi: mpsc::Sender<(Place, Tache)>,
}

impl File {
    fn demarrer(workers: usize, file: usize) -> Self {
        let (envoi, reception) = mpsc::channel::<(Place, Tache)>();
        let reception = Arc::new(Mutex::new(reception));
        for n in 0..workers.max(1) {
            let reception = reception.clone();
            let lance = std::thread::Builder::new()
                .name(format!("onde-import-{n}"))
                .spawn(move || loop {
                    // The lock is held while waiting only: one idle worker waits, the others
                    // wait for the lock; a job runs unlocked.
                    let suivant = match reception.lock() {
                        Ok(r) => r.recv(),
                        Err(_) => return,
                    };
                    match suivant {
                        Ok((place, tache)) => {
                            tache();
                            drop(place);
                        }
                        // Every sender dropped: the application is gone.
                        Err(_) => return,
                    }
                });
            if let Err(e) = lance {
                tracing::error!(erreur = %e, "lancement d'un worker d'import impossible");
            }
        }
        Self {
            places: Arc::new(tokio::sync::Semaphore::new(workers.max(1) + file)),
            envoi,
        }
    }

    fn reserver(&self) -> Option<Place> {
        self.places.clone().try_acquire_owned().ok().map(Place)
    }

    /// Queues `tache`; `false` if no worker is left to run it.
    fn soumettre(&self, place: Place, tache: Tache) -> bool {
        self.envoi.send((place, tache)).is_ok()
    }
}

/// Every this often, the node renews the heartbeat of its queued jobs (well within
/// [`imports::SILENCE_MAX`]).
const BATTEMENT_ATTENTE: Duration = Duration::from_secs(20);

/// The import workers of this node (see the module).
pub struct Ateliers {
    config: ConfigImports,
    file: File,
    /// Jobs queued on this node, not yet taken by a worker.
    en_attente: Arc<Mutex<HashSet<Uuid>>>,
    store: Store,
    /// Dropped with the workers: the heartbeat thread stops.
    _arret: mpsc::Sender<()>,
}

impl std::fmt::Debug for Ateliers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ateliers").field("config", &self.config).finish()
    }
}

impl Ateliers {
    pub fn demarrer(store: Store, config: ConfigImports) -> Arc<Self> {
        let en_attente: Arc<Mutex<HashSet<Uuid>>> = Arc::default();
        let (arret, signal) = mpsc::channel::<()>();
        let (attente, base) = (en_attente.clone(), store.clone());
        let lance = std::thread::Builder::new()
            .name("onde-import-attente".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = signal.recv_timeout(BATTEMENT_ATTENTE) {
                    let ids: Vec<Uuid> = match attente.lock() {
                        Ok(a) => a.iter().copied().collect(),
                        Err(_) => return,
                    };
                    if ids.is_empty() {
                        continue;
                    }
                    let battu = base
                        .connexion()
                        .map_err(ApiError::from)
                        .and_then(|mut c| Ok(imports::signaler_attente(&mut c, &ids, Utc::now().naive_utc())?));
                    if let Err(e) = battu {
                        tracing::warn!(erreur = %e, "battement des imports en attente");
                    }
                }
            });
        if let Err(e) = lance {
            tracing::error!(erreur = %e, "lancement du battement des imports en attente impossible");
        }
        Arc::new(Self {
            file: File::demarrer(config.workers, config.file),
            config,
            en_attente,
            store,
            _arret: arret,
        })
    }

    pub fn config(&self) -> ConfigImports {
        self.config
    }

    /// A place for one more job, or 503 when every worker is busy and the queue is full.
    pub fn reserver(&self) -> Result<Place, ApiError> {
        self.file.reserver().ok_or_else(|| ApiError::Sature {
            code: "file_imports_pleine",
            detail: format!(
                "Ce nœud traite déjà {} imports et en a {} en attente : renvoyez le fichier dans quelques minutes (en-tête Retry-After).",
                self.config.workers, self.config.file
            ),
            reessayer_s: 60,
        })
    }

    /// Queues the job `id` on `place`: the file is read within `perimetre`, and each chunk's
    /// audit record (`audit`) is inserted in the chunk's own transaction, so that a crash
    /// between a chunk's commit and its record cannot lose the access.
    pub fn soumettre(
        &self,
        place: Place,
        id: Uuid,
        fichier: PathBuf,
        format: FormatImport,
        perimetre: Perimetre,
        audit: NoteAudit,
    ) {
        let (store, en_attente) = (self.store.clone(), self.en_attente.clone());
        let options = OptionsImport {
            ligne_max_octets: self.config.ligne_max_octets,
            audit: Some(audit),
            ..OptionsImport::default()
        };
        if let Ok(mut a) = self.en_attente.lock() {
            a.insert(id);
        }
        let tache: Tache = Box::new(move || {
            if let Ok(mut a) = en_attente.lock() {
                a.remove(&id);
            }
            let _garde = Televersement(Some(fichier.clone()));
            let resultat = store.connexion().map_err(ApiError::from).and_then(|mut conn| {
                imports::executer(&mut conn, id, &fichier, format, &perimetre, &options, &mut |_, _| true)
                    .map_err(ApiError::from)
            });
            match resultat {
                Ok(Some(i)) => tracing::info!(import = %id, statut = %i.statut, traites = i.traites, "import terminé"),
                Ok(None) => {}
                Err(e) => tracing::error!(import = %id, erreur = %e, "import en échec"),
            }
        });
        if !self.file.soumettre(place, tache) {
            // The job stays waiting and is marked failed once silent.
            if let Ok(mut a) = self.en_attente.lock() {
                a.remove(&id);
            }
            tracing::error!(import = %id, "aucun worker d'import pour lancer l'import");
        }
    }
}

/// Start-up: jobs left running by a stopped node are marked failed once silent (see module).
pub fn au_demarrage(store: &Store) -> Result<usize, ApiError> {
    let mut conn = store.connexion()?;
    let maintenant = Utc::now().naive_utc();
    Ok(imports::marquer_abandonnes(
        &mut conn,
        maintenant - imports::SILENCE_MAX,
        maintenant,
    )?)
}

/// Removes the spool file when dropped, unless handed over to the worker.
pub struct Televersement(pub Option<PathBuf>);

impl Drop for Televersement {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}
