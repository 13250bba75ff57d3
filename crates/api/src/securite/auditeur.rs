//! The audit trail, written before the data leaves (group commit). A request hands its record
//! to the writer thread with a completion signal and gets a [`Ticket`]; the writer takes every
//! record waiting, inserts them in one statement, commits, then completes each ticket. An
//! answer that carries personal data is an [`Audite`]: its content is only released once its
//! ticket says the record is durable, so a crash can lose an answer but never the trace of an
//! answer sent. On a database error every waiting ticket fails and the requests answer 503
//! instead of the data.
//!
//! No artificial wait: the writer commits as soon as the previous insert finished, so idle
//! records go out at once and, under load, each commit carries every record that arrived
//! while the previous one ran (classic group commit). Writes do not go through here: their
//! record is inserted in the write's own transaction ([`crate::http::ecriture::executer`]).

use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::time::Duration;

use onde_store::audit::NouvelleEntree;
use onde_store::{Connexion, Store};
use tokio::sync::oneshot;

use crate::erreurs::erreur::ApiError;

enum Message {
    /// A record, and where to say whether it is committed.
    Entree(NouvelleEntree, oneshot::Sender<bool>),
    /// Answered once everything sent before it is written.
    Barriere(mpsc::Sender<()>),
}

#[derive(Clone, Debug)]
pub struct Auditeur {
    envoi: SyncSender<Message>,
}

/// Records waiting for the writer. Every record has a request (or an export chunk) waiting
/// on it, so the backlog is bounded by the requests in flight; past this many (a stalled
/// database), new records are refused at once and their requests answer 503. A record of a
/// 500-row page carries ~18 KB of pupil ids: ~20 MB at worst.
const CAPACITE: usize = 1_024;
/// Records per commit at most.
const LOT_MAX: usize = 1_000;
/// A batch is also cut at this many bytes of pupil ids: one INSERT of 1,000 records of 500
/// pupils each would put 18 MB in libpq's send buffer.
const OCTETS_MAX: usize = 1 << 20;

/// Whether a record reached the database: awaited before the data it traces is released.
#[must_use = "an answer is released only once its audit record is durable: await the ticket"]
#[derive(Debug)]
pub struct Ticket(EtatTicket);

#[derive(Debug)]
enum EtatTicket {
    /// Nothing to trace (no pupil shown).
    Rien,
    Attente(oneshot::Receiver<bool>),
    /// The record could not be handed to the writer.
    Refuse,
}

fn indisponible() -> ApiError {
    tracing::error!("piste d'audit non écrite : réponse retenue");
    ApiError::Indisponible
}

impl Ticket {
    /// A ticket for an answer that traces nothing.
    pub fn rien() -> Self {
        Ticket(EtatTicket::Rien)
    }

    /// Waits (asynchronously) until the record is committed.
    pub async fn durable(self) -> Result<(), ApiError> {
        match self.0 {
            EtatTicket::Rien => Ok(()),
            EtatTicket::Attente(r) => match r.await {
                Ok(true) => Ok(()),
                _ => Err(indisponible()),
            },
            EtatTicket::Refuse => Err(indisponible()),
        }
    }

    /// As [`Ticket::durable`], blocking: only on a blocking thread (exports, import workers).
    pub fn durable_bloquant(self) -> Result<(), ApiError> {
        match self.0 {
            EtatTicket::Rien => Ok(()),
            EtatTicket::Attente(r) => match r.blocking_recv() {
                Ok(true) => Ok(()),
                _ => Err(indisponible()),
            },
            EtatTicket::Refuse => Err(indisponible()),
        }
    }

    /// The data `valeur` traced by this ticket: released only once the ticket is durable.
    pub fn pour<T>(self, valeur: T) -> Audite<T> {
        Audite { valeur, ticket: self }
    }
}

/// Data whose audit record may not be durable yet: [`Audite::liberer`] (or its blocking twin)
/// gives it back once it is, or 503. Handlers cannot reach the data otherwise.
#[must_use = "personal data leaves only through liberer(), once its audit record is durable"]
#[derive(Debug)]
pub struct Audite<T> {
    valeur: T,
    ticket: Ticket,
}

impl<T> Audite<T> {
    /// Data that carries no pupil's personal data (a rejection report of the caller's own
    /// file): nothing to trace.
    pub fn sans_trace(valeur: T) -> Self {
        Ticket::rien().pour(valeur)
    }

    /// Transforms the data (views into a serialised page), keeping its ticket.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Audite<U> {
        Audite {
            valeur: f(self.valeur),
            ticket: self.ticket,
        }
    }

    /// As [`Audite::map`] with a fallible transformation.
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Audite<U>, E> {
        Ok(Audite {
            valeur: f(self.valeur)?,
            ticket: self.ticket,
        })
    }

    /// The data, once its audit record is committed.
    pub async fn liberer(self) -> Result<T, ApiError> {
        self.ticket.durable().await?;
        Ok(self.valeur)
    }

    /// As [`Audite::liberer`], blocking: only on a blocking thread.
    pub fn liberer_bloquant(self) -> Result<T, ApiError> {
        self.ticket.durable_bloquant()?;
        Ok(self.valeur)
    }
}

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

    /// Hands a record to the writer; the ticket completes once it is committed. Never blocks.
    pub fn tracer(&self, entree: NouvelleEntree) -> Ticket {
        let (accuse, attente) = oneshot::channel();
        match self.envoi.try_send(Message::Entree(entree, accuse)) {
            Ok(()) => Ticket(EtatTicket::Attente(attente)),
            Err(TrySendError::Full(_)) => {
                tracing::error!(capacite = CAPACITE, "piste d'audit saturée : la base n'écrit plus");
                Ticket(EtatTicket::Refuse)
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::error!("piste d'audit fermée : enregistrement impossible");
                Ticket(EtatTicket::Refuse)
            }
        }
    }

    /// Blocks until every record sent so far is written (or failed): tests, shutdown.
    pub fn vider(&self) {
        let (ack, attente) = mpsc::channel();
        if self.envoi.send(Message::Barriere(ack)).is_ok() {
            let _ = attente.recv_timeout(Duration::from_secs(30));
        }
    }
}

fn ecrire_en_continu(store: Store, reception: Receiver<Message>) {
    // The writer keeps its connection between commits: under load, taking one from the pool
    // would queue each commit behind the requests waiting for it.
    let mut conn: Option<Connexion> = None;
    let mut lot: Vec<NouvelleEntree> = Vec::with_capacity(LOT_MAX);
    let mut accuses: Vec<oneshot::Sender<bool>> = Vec::with_capacity(LOT_MAX);
    let mut barrieres: Vec<mpsc::Sender<()>> = Vec::new();
    loop {
        // Take everything already waiting, else wait for the next record: no timer. An idle
        // writer gives its connection back to the pool.
        let mut suivant = match reception.try_recv() {
            Ok(m) => Some(m),
            Err(TryRecvError::Disconnected) => return,
            Err(TryRecvError::Empty) => {
                conn = None;
                match reception.recv() {
                    Ok(m) => Some(m),
                    Err(_) => return,
                }
            }
        };
        let mut octets = 0;
        while let Some(m) = suivant.take() {
            match m {
                Message::Entree(e, a) => {
                    octets += e.eleves.len();
                    lot.push(e);
                    accuses.push(a);
                }
                Message::Barriere(b) => barrieres.push(b),
            }
            if lot.len() >= LOT_MAX || octets >= OCTETS_MAX {
                break;
            }
            match reception.try_recv() {
                Ok(m) => suivant = Some(m),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => {}
            }
        }
        let ecrit = ecrire(&store, &mut conn, &lot);
        lot.clear();
        for a in accuses.drain(..) {
            // The request may have gone (client disconnected): nothing to tell.
            let _ = a.send(ecrit);
        }
        for b in barrieres.drain(..) {
            let _ = b.send(());
        }
    }
}

/// Writes and commits the batch; `false` if it is not in the database. A failure on the
/// connection kept from the previous batch (closed by the server meanwhile) is retried once
/// on a fresh one.
fn ecrire(store: &Store, conn: &mut Option<Connexion>, lot: &[NouvelleEntree]) -> bool {
    if lot.is_empty() {
        return true;
    }
    let reprise = conn.is_some();
    for essai in 0..2 {
        let resultat = (|| {
            let c = match conn {
                Some(c) => c,
                None => conn.insert(store.connexion()?),
            };
            let c: &mut onde_store::DbConnection = c;
            // One statement is atomic on its own; more (past 500 records) share a transaction.
            if lot.len() <= onde_store::audit::PAR_INSTRUCTION {
                onde_store::audit::inserer_lot(c, lot)
            } else {
                diesel::Connection::transaction(c, |c| onde_store::audit::inserer_lot(c, lot))
            }
        })();
        match resultat {
            Ok(_) => return true,
            Err(e) => {
                // The connection may be broken: take a fresh one next time.
                *conn = None;
                if essai == 0 && reprise {
                    tracing::warn!(erreur = %e, "piste d'audit : nouvelle connexion");
                    continue;
                }
                tracing::error!(erreur = %e, enregistrements = lot.len(), "écriture de la piste d'audit impossible");
                return false;
            }
        }
    }
    false
}
