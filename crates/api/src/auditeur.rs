//! Batched writer of the audit trail: requests hand their records to a bounded channel and go
//! on; one thread writes them in multi-row inserts. Reads are not slowed by one INSERT each.
//! The channel is bounded so that a stalled database applies back-pressure instead of growing
//! memory; nothing is dropped.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::time::Duration;

use onde_store::audit::NouvelleEntree;
use onde_store::Store;

enum Message {
    Entree(NouvelleEntree),
    /// Answered once everything sent before it is written.
    Barriere(mpsc::Sender<()>),
}

#[derive(Clone, Debug)]
pub struct Auditeur {
    envoi: SyncSender<Message>,
}

const CAPACITE: usize = 100_000;
const LOT_MAX: usize = 2_000;
const ATTENTE_LOT: Duration = Duration::from_millis(50);

impl Auditeur {
    pub fn demarrer(store: Store) -> Self {
        let (envoi, reception) = mpsc::sync_channel(CAPACITE);
        std::thread::Builder::new()
            .name("audit".into())
            .spawn(move || ecrire_en_continu(store, reception))
            .map_err(|e| tracing::error!(erreur = %e, "fil d'audit non démarré"))
            .ok();
        Self { envoi }
    }

    pub fn tracer(&self, entree: NouvelleEntree) {
        if self.envoi.send(Message::Entree(entree)).is_err() {
            tracing::error!("piste d'audit fermée : enregistrement impossible");
        }
    }

    /// Blocks until every record sent so far is in the database (tests, shutdown).
    pub fn vider(&self) {
        let (ack, attente) = mpsc::channel();
        if self.envoi.send(Message::Barriere(ack)).is_ok() {
            let _ = attente.recv_timeout(Duration::from_secs(30));
        }
    }
}

fn ecrire_en_continu(store: Store, reception: Receiver<Message>) {
    let mut lot: Vec<NouvelleEntree> = Vec::with_capacity(LOT_MAX);
    let mut barrieres: Vec<mpsc::Sender<()>> = Vec::new();
    loop {
        // Wait for the first message, then gather what arrives within a short window.
        let premier = match reception.recv() {
            Ok(m) => m,
            Err(_) => return,
        };
        let mut ferme = false;
        let mut suivant = Some(premier);
        while let Some(m) = suivant.take() {
            match m {
                Message::Entree(e) => lot.push(e),
                Message::Barriere(b) => barrieres.push(b),
            }
            if lot.len() >= LOT_MAX || !barrieres.is_empty() {
                break;
            }
            match reception.recv_timeout(ATTENTE_LOT) {
                Ok(m) => suivant = Some(m),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => ferme = true,
            }
        }
        ecrire(&store, &mut lot);
        for b in barrieres.drain(..) {
            let _ = b.send(());
        }
        if ferme {
            return;
        }
    }
}

/// Writes the batch, retrying while the database is away: a record is never dropped.
fn ecrire(store: &Store, lot: &mut Vec<NouvelleEntree>) {
    if lot.is_empty() {
        return;
    }
    let mut attente = Duration::from_millis(100);
    loop {
        let resultat = store
            .connexion()
            .and_then(|mut c| onde_store::audit::inserer_lot(&mut c, lot));
        match resultat {
            Ok(_) => {
                lot.clear();
                return;
            }
            Err(e) => {
                tracing::warn!(erreur = %e, en_attente = lot.len(), "écriture de la piste d'audit reportée");
                std::thread::sleep(attente);
                attente = (attente * 2).min(Duration::from_secs(5));
            }
        }
    }
}
