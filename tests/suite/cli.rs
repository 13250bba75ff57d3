//! The binary as a user runs it: spec export, start-up errors, and `serve --demo` over a real
//! socket (paging through the demo set by following the next links).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_onde-echanges");
/// A key-encryption key for the servers these tests start (never a production value).
const CLE_CHIFFREMENT: &str = "b25kZS1lY2hhbmdlcyBjbGUgZGUgdGVzdCAzMiBvY3Q=";

#[test]
fn openapi_ecrit_la_spec_commitee() {
    let sortie = Command::new(BIN).arg("openapi").output().unwrap();
    assert!(sortie.status.success());
    let commite = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/api-spec/openapi.json")).unwrap();
    assert_eq!(String::from_utf8(sortie.stdout).unwrap(), commite);
}

fn erreur_de_demarrage(args: &[&str], env: &[(&str, &str)]) -> String {
    let dossier = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dossier.path())
        .env_remove("DATABASE_URL")
        .env_remove("ONDE_BIND");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let sortie = cmd.output().unwrap();
    assert_eq!(sortie.status.code(), Some(2), "{sortie:?}");
    let stderr = String::from_utf8(sortie.stderr).unwrap();
    let lignes: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lignes.len(), 1, "une seule ligne attendue : {stderr}");
    assert!(lignes[0].starts_with("erreur : "), "{stderr}");
    assert!(!stderr.contains("panicked"));
    lignes[0].to_owned()
}

#[test]
fn un_mauvais_reglage_arrete_le_demarrage_en_une_ligne() {
    assert!(erreur_de_demarrage(&["serve"], &[("ONDE_BIND", "nulle-part")]).contains("ONDE_BIND"));
    assert!(erreur_de_demarrage(&["serve", "--bind", "127.0.0.1:99999"], &[]).contains("127.0.0.1:99999"));
    assert!(erreur_de_demarrage(&["serve"], &[("DATABASE_URL", "mysql://h/db")]).contains("mysql"));
    // Outside the demo, no start without the key-encryption key of the signing keys.
    let ligne = erreur_de_demarrage(&["serve"], &[]);
    assert!(ligne.contains("jetons.cle_chiffrement_fichier"), "{ligne}");
    let ligne = erreur_de_demarrage(&["serve"], &[("ONDE__JETONS__CLE_CHIFFREMENT_FICHIER", "/nulle/part")]);
    assert!(
        ligne.contains("jetons.cle_chiffrement_fichier") && ligne.contains("/nulle/part"),
        "{ligne}"
    );
    let ligne = erreur_de_demarrage(
        &["migrate"],
        &[("DATABASE_URL", "postgres://postgres:secret@127.0.0.1:1/x")],
    );
    assert!(ligne.contains("injoignable"), "{ligne}");
    assert!(
        !ligne.contains("secret"),
        "le mot de passe ne doit pas apparaître : {ligne}"
    );
}

/// Minimal HTTP/1.1 GET (with a bearer token when not empty); returns (status, headers, body).
fn http_get(hote: &str, jeton: &str, chemin: &str) -> (u16, Vec<(String, String)>, String) {
    let mut flux = TcpStream::connect(hote).unwrap();
    flux.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let auth = if jeton.is_empty() {
        String::new()
    } else {
        format!("Authorization: Bearer {jeton}\r\n")
    };
    write!(
        flux,
        "GET {chemin} HTTP/1.1\r\nHost: {hote}\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut brut = String::new();
    flux.read_to_string(&mut brut).unwrap();
    let (tete, corps) = brut.split_once("\r\n\r\n").unwrap();
    let mut lignes = tete.lines();
    let statut = lignes.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let entetes = lignes
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .collect();
    (statut, entetes, corps.to_owned())
}

struct Processus(std::process::Child);

impl Drop for Processus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_demo_de_bout_en_bout() {
    let dossier = tempfile::tempdir().unwrap();
    let mut enfant = Processus(
        Command::new(BIN)
            .args(["serve", "--demo", "--bind", "127.0.0.1:0", "--workers", "2"])
            .current_dir(dossier.path())
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The demo announces its URL once the data is in and the socket is bound.
    let mut hote = None;
    let mut essai = None;
    let debut = Instant::now();
    for ligne in BufReader::new(enfant.0.stdout.take().unwrap()).lines() {
        let ligne = ligne.unwrap();
        if let Some(reste) = ligne.trim().strip_prefix("Documentation : http://") {
            hote = Some(reste.trim_end_matches("/docs/").to_owned());
        }
        if let Some(reste) = ligne.trim().strip_prefix("Essai         : ") {
            essai = Some(reste.to_owned());
            break;
        }
        assert!(debut.elapsed() < Duration::from_secs(300), "démo trop lente à démarrer");
    }
    let hote = hote.expect("URL de la documentation annoncée");
    assert!(
        dossier.path().join("data/onde.sqlite").exists(),
        "base SQLite par défaut sous ./data/"
    );
    // Without a configured key-encryption key, the demo made its own beside the data, for its
    // owner only.
    let kek = dossier.path().join("data/cle-chiffrement");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&kek).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // The announced line works as pasted into a shell.
    let sortie = Command::new("bash")
        .arg("-c")
        .arg(essai.expect("ligne d'essai annoncée"))
        .output()
        .unwrap();
    assert!(sortie.status.success());
    let essai: serde_json::Value = serde_json::from_slice(&sortie.stdout).unwrap();
    assert_eq!(essai["elements"].as_array().unwrap().len(), 5);

    // The demo partners' credentials, where the README says they are.
    let fichier = std::fs::read_to_string(dossier.path().join("data/demo-credentials.json")).unwrap();
    let identifiants: serde_json::Value = serde_json::from_str(&fichier).unwrap();
    let genres: Vec<&str> = identifiants
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(genres.iter().filter(|g| **g == "mairie").count(), 2);
    for g in ["ecole_privee", "editeur", "admin"] {
        assert!(genres.contains(&g), "{g}");
    }
    let mairie = identifiants
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "mairie")
        .unwrap();
    let sortie = Command::new("curl")
        .args(["-s", "-u"])
        .arg(format!(
            "{}:{}",
            mairie["client_id"].as_str().unwrap(),
            mairie["client_secret"].as_str().unwrap()
        ))
        .args(["-d", "grant_type=client_credentials"])
        .arg(format!("http://{hote}/oauth/token"))
        .output()
        .unwrap();
    let reponse: serde_json::Value = serde_json::from_slice(&sortie.stdout).unwrap();
    let jeton = reponse["access_token"].as_str().unwrap().to_owned();

    let (statut, _, _) = http_get(&hote, "", "/health/ready");
    assert_eq!(statut, 200);
    let (statut, _, corps) = http_get(&hote, "", "/docs/");
    assert_eq!(statut, 200);
    assert!(corps.contains("swagger"));
    let (statut, _, _) = http_get(&hote, "", "/v1/inscriptions?limit=50");
    assert_eq!(statut, 401, "sans jeton");

    let (statut, entetes, corps) = http_get(&hote, &jeton, "/v1/inscriptions?limit=50");
    assert_eq!(statut, 200);
    let page1: serde_json::Value = serde_json::from_str(&corps).unwrap();
    let ids1: Vec<&str> = page1["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids1.len(), 50);
    let lien = entetes
        .iter()
        .find(|(k, _)| k == "link")
        .map(|(_, v)| v.clone())
        .unwrap();
    let suivant = lien.trim_start_matches('<').split('>').next().unwrap().to_owned();
    assert_eq!(page1["lien_suivant"], suivant.as_str());
    let (statut, _, corps) = http_get(&hote, &jeton, &suivant);
    assert_eq!(statut, 200);
    let page2: serde_json::Value = serde_json::from_str(&corps).unwrap();
    let ids2: Vec<&str> = page2["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids2.len(), 50);
    assert!(ids1.iter().all(|id| !ids2.contains(id)), "pages disjointes");
    assert!(ids1.last().unwrap() < ids2.first().unwrap(), "la page 2 suit la page 1");
}

/// `serve` on a free port of loopback with these variables (SQLite in a temporary folder);
/// waits for its JSON "passerelle prête" line and keeps draining its logs. Returns the
/// process, its address and the announce line.
fn serve_avec(dossier: &std::path::Path, env: &[(&str, &std::ffi::OsStr)]) -> (Processus, String, serde_json::Value) {
    let mut cmd = Command::new(BIN);
    let kek = dossier.join("cle-chiffrement");
    if !kek.exists() {
        std::fs::write(&kek, CLE_CHIFFREMENT).unwrap();
    }
    cmd.args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(dossier)
        .env_remove("DATABASE_URL")
        .env("ONDE__JETONS__CLE_CHIFFREMENT_FICHIER", &kek)
        .env("ONDE_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut enfant = Processus(cmd.spawn().unwrap());
    let mut lignes = BufReader::new(enfant.0.stderr.take().unwrap()).lines();
    let mut annonce = None;
    for ligne in lignes.by_ref() {
        let ligne = ligne.unwrap();
        if ligne.contains("passerelle prête") {
            annonce = Some(serde_json::from_str::<serde_json::Value>(&ligne).unwrap());
            break;
        }
    }
    // Keep reading its logs: a closed pipe must not be what the server meets.
    std::thread::spawn(move || lignes.for_each(drop));
    let annonce = annonce.expect("démarrage annoncé");
    let hote = annonce["fields"]["adresse"].as_str().unwrap().to_owned();
    (enfant, hote, annonce)
}

/// In-process TLS: a throwaway certificate (openssl), HTTPS answers, plain HTTP does not.
#[test]
fn tls_dans_le_processus() {
    let dossier = tempfile::tempdir().unwrap();
    let (cert, cle) = (dossier.path().join("cert.pem"), dossier.path().join("cle.pem"));
    let genere = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&cle)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(genere.status.success(), "{genere:?}");
    let (_enfant, hote, annonce) = serve_avec(
        dossier.path(),
        &[
            ("ONDE__SERVEUR__TLS_CERTIFICAT", cert.as_os_str()),
            ("ONDE__SERVEUR__TLS_CLE", cle.as_os_str()),
        ],
    );
    assert_eq!(annonce["fields"]["tls"], true, "{annonce}");
    // The line comes just before the server accepts: a few tries.
    let mut texte = String::new();
    for _ in 0..50 {
        let sortie = Command::new("curl")
            .args(["-sk", "--http2", "-w", "\n%{http_code} %{http_version}"])
            .arg(format!("https://{hote}/health/ready"))
            .output()
            .unwrap();
        texte = String::from_utf8(sortie.stdout).unwrap();
        if texte.ends_with("200 2") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(texte.ends_with("200 2"), "{texte}");
    assert!(texte.contains("\"statut\":\"ok\""), "{texte}");
    // Plain HTTP on the TLS port gets no HTTP answer.
    let clair = Command::new("curl")
        .args(["-s", "-m", "5"])
        .arg(format!("http://{hote}/health/live"))
        .output()
        .unwrap();
    assert!(!clair.status.success() || clair.stdout.is_empty());
}

/// OpenTelemetry behind a setting: the spans of the requests reach an OTLP/HTTP collector
/// (a fake one here, that records what it receives), at the latest when the gateway stops.
#[test]
fn traces_opentelemetry_vers_un_collecteur() {
    let ecoute = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let collecteur = format!("http://{}", ecoute.local_addr().unwrap());
    let recu: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let r = recu.clone();
    std::thread::spawn(move || {
        for flux in ecoute.incoming() {
            let Ok(mut flux) = flux else { continue };
            let r = r.clone();
            std::thread::spawn(move || {
                let mut lecteur = BufReader::new(flux.try_clone().unwrap());
                loop {
                    let mut tete = Vec::new();
                    let mut longueur = 0usize;
                    loop {
                        let mut ligne = String::new();
                        if lecteur.read_line(&mut ligne).unwrap_or(0) == 0 {
                            return;
                        }
                        if ligne == "\r\n" {
                            break;
                        }
                        if let Some(v) = ligne.to_ascii_lowercase().strip_prefix("content-length:") {
                            longueur = v.trim().parse().unwrap_or(0);
                        }
                        tete.push(ligne.trim_end().to_owned());
                    }
                    let mut corps = vec![0u8; longueur];
                    if lecteur.read_exact(&mut corps).is_err() {
                        return;
                    }
                    r.lock()
                        .unwrap()
                        .push(format!("{} ({longueur} octets)", tete.join(" | ")));
                    if flux.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_err() {
                        return;
                    }
                }
            });
        }
    });
    let dossier = tempfile::tempdir().unwrap();
    let (mut enfant, hote, _) = serve_avec(
        dossier.path(),
        &[(
            "ONDE__OPENTELEMETRIE__POINT_DE_COLLECTE",
            std::ffi::OsStr::new(&collecteur),
        )],
    );
    let mut servies = 0;
    for _ in 0..100 {
        if TcpStream::connect(&hote).is_ok() {
            for _ in 0..5 {
                assert_eq!(http_get(&hote, "", "/health/live").0, 200);
                servies += 1;
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(servies, 5);
    // A graceful stop flushes the batch exporter.
    let arret = Command::new("kill")
        .args(["-TERM", &enfant.0.id().to_string()])
        .status()
        .unwrap();
    assert!(arret.success());
    let debut = Instant::now();
    while enfant.0.try_wait().unwrap().is_none() {
        assert!(debut.elapsed() < Duration::from_secs(30), "arrêt trop long");
        std::thread::sleep(Duration::from_millis(50));
    }
    let recu = recu.lock().unwrap();
    let envois: Vec<&String> = recu.iter().filter(|l| l.starts_with("POST /v1/traces")).collect();
    assert!(!envois.is_empty(), "{recu:?}");
    assert!(
        envois
            .iter()
            .all(|l| l.to_ascii_lowercase().contains("application/x-protobuf")),
        "{envois:?}"
    );
}

/// Resident memory of a process, in KiB.
fn rss_kio(pid: u32) -> u64 {
    let etat = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let ligne = etat.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    ligne.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A token flood naming an unknown client id leaves the gateway's resident memory near where
/// it started: argon2's working memory (19 MiB) is allocated once per argon2 thread, never
/// freed, so glibc never raises its mmap threshold to that size; when it did (a buffer
/// allocated and freed per verification), this flood left ~300 MiB more for good.
#[test]
fn flot_de_jetons_sans_memoire_retenue() {
    let dossier = tempfile::tempdir().unwrap();
    // Every request passes the unknown ids' bucket: each costs a decoy argon2 verification
    // (or a 503 when all the places are taken), between the small allocations of the others.
    let (enfant, hote, _) = serve_avec(
        dossier.path(),
        &[
            ("MALLOC_ARENA_MAX", "2".as_ref()),
            ("ONDE__LIMITES__INCONNUS_PAR_SECONDE", "1000000".as_ref()),
            ("ONDE__LIMITES__INCONNUS_RAFALE", "1000000".as_ref()),
        ],
    );
    let pid = enfant.0.id();
    let depart = rss_kio(pid);
    let fin = Instant::now() + Duration::from_secs(4);
    let fils: Vec<_> = (0..24)
        .map(|_| {
            let hote = hote.clone();
            std::thread::spawn(move || {
                let corps = "grant_type=client_credentials&client_id=onde_AAAAAAAAAAAAAAAA&client_secret=x";
                let mut flux = BufReader::new(TcpStream::connect(&hote).unwrap());
                flux.get_ref().set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                let mut statuts = Vec::new();
                while Instant::now() < fin {
                    write!(
                        flux.get_mut(),
                        "POST /oauth/token HTTP/1.1\r\nHost: {hote}\r\n\
                         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{corps}",
                        corps.len()
                    )
                    .unwrap();
                    let mut ligne = String::new();
                    flux.read_line(&mut ligne).unwrap();
                    statuts.push(ligne.split(' ').nth(1).unwrap().parse::<u16>().unwrap());
                    let mut longueur = 0;
                    loop {
                        ligne.clear();
                        flux.read_line(&mut ligne).unwrap();
                        if ligne == "\r\n" {
                            break;
                        }
                        if let Some((k, v)) = ligne.split_once(':') {
                            if k.eq_ignore_ascii_case("content-length") {
                                longueur = v.trim().parse().unwrap();
                            }
                        }
                    }
                    let mut reste = vec![0u8; longueur];
                    flux.read_exact(&mut reste).unwrap();
                }
                statuts
            })
        })
        .collect();
    let statuts: Vec<u16> = fils.into_iter().flat_map(|f| f.join().unwrap()).collect();
    let refus = statuts.iter().filter(|s| **s == 401).count();
    assert!(statuts.iter().all(|s| [401, 503].contains(s)), "{statuts:?}");
    assert!(refus >= 20, "{refus} vérifications seulement");
    let apres = rss_kio(pid);
    // What stays: one argon2 working memory per core (19 MiB each) and a little slack.
    let coeurs = std::thread::available_parallelism().map_or(1, usize::from) as u64;
    let borne = 20 * 1024 * coeurs + 40 * 1024;
    assert!(
        apres < depart + borne,
        "RSS {} MiB au départ, {} MiB après {} demandes ({refus} vérifications) : plus de {} MiB retenus",
        depart / 1024,
        apres / 1024,
        statuts.len(),
        borne / 1024
    );
    eprintln!(
        "RSS {} -> {} MiB, {} demandes, {refus} vérifications",
        depart / 1024,
        apres / 1024,
        statuts.len()
    );
}
