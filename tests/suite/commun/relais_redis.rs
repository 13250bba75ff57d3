//! Redis for the tests of the shared limits (`[limites.redis]`): a key prefix of each test's
//! own on the machine's server (tests run in parallel; the keys go with the guard), and a TCP
//! relay in front of it that a test can cut or freeze, as a lost or stalled Redis.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::api::ConfigRedis;

/// The Redis server of the tests (`ONDE_TEST_REDIS`, else the machine's own).
pub fn url_redis() -> String {
    std::env::var("ONDE_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A random key prefix on the tests' Redis; its keys are deleted on drop.
pub struct EspaceRedis {
    pub prefixe: String,
}

impl EspaceRedis {
    pub fn nouveau() -> Self {
        Self {
            prefixe: format!("onde-test:{}", uuid::Uuid::now_v7().simple()),
        }
    }

    /// Shared limits on this prefix through `url`, with a short back-off so that tests see
    /// Redis come back.
    pub fn config(&self, url: &str) -> ConfigRedis {
        ConfigRedis {
            prefixe: self.prefixe.clone(),
            reessai: Duration::from_millis(300),
            ..ConfigRedis::new(url)
        }
    }

    /// A command on the tests' Redis, directly.
    pub fn commande<T: redis::FromRedisValue>(&self, cmd: &mut redis::Cmd) -> T {
        let mut c = redis::Client::open(url_redis()).unwrap().get_connection().unwrap();
        cmd.query(&mut c).unwrap()
    }

    pub fn cles(&self) -> Vec<String> {
        self.commande(redis::cmd("KEYS").arg(format!("{}:*", self.prefixe)))
    }
}

impl Drop for EspaceRedis {
    fn drop(&mut self) {
        let cles = self.cles();
        if !cles.is_empty() {
            self.commande::<()>(redis::cmd("DEL").arg(cles));
        }
    }
}

const PASSE: u8 = 0;
const GEL: u8 = 1;
const COUPE: u8 = 2;
const FIN: u8 = 3;

/// A TCP relay on 127.0.0.1 to the tests' Redis: `couper` closes every connection and
/// answers new ones by closing them (Redis gone), `geler` holds every byte (Redis stalled),
/// `retablir` lets traffic through again.
pub struct Relais {
    pub port: u16,
    mode: Arc<AtomicU8>,
    flux: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relais {
    pub fn demarrer() -> Self {
        let ecoute = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = ecoute.local_addr().unwrap().port();
        let cible = url_redis()
            .trim_start_matches("redis://")
            .trim_end_matches('/')
            .to_owned();
        let mode = Arc::new(AtomicU8::new(PASSE));
        let flux = Arc::new(Mutex::new(Vec::new()));
        let (m, f) = (mode.clone(), flux.clone());
        std::thread::spawn(move || {
            for client in ecoute.incoming() {
                let Ok(client) = client else { continue };
                match m.load(Ordering::SeqCst) {
                    FIN => return,
                    COUPE => continue,
                    _ => {}
                }
                let Ok(serveur) = TcpStream::connect(&cible) else {
                    continue;
                };
                {
                    let mut f = f.lock().unwrap();
                    f.push(client.try_clone().unwrap());
                    f.push(serveur.try_clone().unwrap());
                }
                for (de, vers) in [
                    (client.try_clone().unwrap(), serveur.try_clone().unwrap()),
                    (serveur, client),
                ] {
                    let m = m.clone();
                    std::thread::spawn(move || relayer(de, vers, &m));
                }
            }
        });
        Self { port, mode, flux }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn couper(&self) {
        self.mode.store(COUPE, Ordering::SeqCst);
        for f in self.flux.lock().unwrap().drain(..) {
            let _ = f.shutdown(Shutdown::Both);
        }
    }

    pub fn geler(&self) {
        self.mode.store(GEL, Ordering::SeqCst);
    }

    pub fn retablir(&self) {
        self.mode.store(PASSE, Ordering::SeqCst);
    }
}

impl Drop for Relais {
    fn drop(&mut self) {
        self.couper();
        self.mode.store(FIN, Ordering::SeqCst);
        // Wakes the accepting thread, which then ends.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn relayer(mut de: TcpStream, mut vers: TcpStream, mode: &AtomicU8) {
    let mut tampon = [0u8; 16 * 1024];
    loop {
        let n = match de.read(&mut tampon) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        while mode.load(Ordering::SeqCst) == GEL {
            std::thread::sleep(Duration::from_millis(5));
        }
        if mode.load(Ordering::SeqCst) != PASSE || vers.write_all(&tampon[..n]).is_err() {
            break;
        }
    }
    let _ = vers.shutdown(Shutdown::Both);
    let _ = de.shutdown(Shutdown::Both);
}
