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

/// Records waiting for the writer. std's bounded channel allocates every slot up front (this
/// many times ~200 bytes, resident from the start), and a record of a 500-row page carries
/// ~18 KB of pupil ids: 1,024 bounds the backlog to ~20 MB at worst, where 100,000 reserved
/// 19 MiB idle and let a stalled database pile up gigabytes. The writer drains up to
/// `LOT_MAX` every `ATTENTE_LOT`, far above any measured request rate.
const CAPACITE: usize = 1_024;
const LOT_MAX: usize = 1_000;
/// A batch is also cut at this many bytes of pupil ids: one INSERT of 1,000 records of 500
/// pupils each would put 18 MB in libpq's send buffer.
const OCTETS_MAX: usize = 1 << 20;
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
    let mut octets = 0;
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
                Message::Entree(e) => {
                    octets += e.eleves.len();
                    lot.push(e);
                }
                Message::Barriere(b) => barrieres.push(b),
            }
            if lot.len() >= LOT_MAX || octets >= OCTETS_MAX || !barrieres.is_empty() {
                break;
            }
            match reception.recv_timeout(ATTENTE_LOT) {
                Ok(m) => suivant = Some(m),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => ferme = true,
            }
        }
        ecrire(&store, &mut lot);
        octets = 0;
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
