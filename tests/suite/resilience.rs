//! The database goes away mid-load (PostgreSQL): every request answers fast — 503 with
//! `Retry-After`, never a hang or a panic — `/health/ready` turns red and `/health/live` stays
//! green; service comes back by itself when the database returns; every write acknowledged
//! before, during or after is in the base.
//!
//! The database "goes away" behind a TCP relay that the test cuts: every open connection is
//! reset and new ones are closed at once, which is what the gateway sees of a stopped server
//! or a failover, without stopping the PostgreSQL that the other tests share.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::commun::*;
use onde_domain::TypePartenaire;
use serde_json::json;

/// A TCP relay to PostgreSQL that can be cut and restored.
struct Relais {
    port: u16,
    coupe: Arc<AtomicBool>,
    ouvertes: Arc<Mutex<Vec<TcpStream>>>,
}

fn pomper(mut de: TcpStream, mut vers: TcpStream) {
    let mut tampon = [0u8; 16 * 1024];
    loop {
        match de.read(&mut tampon) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if vers.write_all(&tampon[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = vers.shutdown(Shutdown::Both);
    let _ = de.shutdown(Shutdown::Both);
}

impl Relais {
    fn demarrer(cible: SocketAddr) -> Self {
        let ecoute = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = ecoute.local_addr().unwrap().port();
        let coupe = Arc::new(AtomicBool::new(false));
        let ouvertes: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (c, o) = (coupe.clone(), ouvertes.clone());
        std::thread::spawn(move || {
            for client in ecoute.incoming() {
                let Ok(client) = client else { continue };
                if c.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(serveur) = TcpStream::connect(cible) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                o.lock()
                    .unwrap()
                    .extend([client.try_clone().unwrap(), serveur.try_clone().unwrap()]);
                let (c2, s2) = (client.try_clone().unwrap(), serveur.try_clone().unwrap());
                std::thread::spawn(move || pomper(client, serveur));
                std::thread::spawn(move || pomper(s2, c2));
            }
        });
        Self { port, coupe, ouvertes }
    }

    fn couper(&self) {
        self.coupe.store(true, Ordering::SeqCst);
        for s in self.ouvertes.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn retablir(&self) {
        self.coupe.store(false, Ordering::SeqCst);
    }
}

/// The same database URL, through the relay.
fn par_le_relais(url: &str, port: u16) -> String {
    onde_store::UrlBase::parse(url)
        .unwrap()
        .avec_adresse("127.0.0.1", port)
        .unwrap()
}

#[test]
fn base_perdue_puis_retrouvee_sous_charge() {
    let base = TestApp::postgres().eleves(100).build().base;
    let ecole = toutes_les_ecoles(&base)
        .into_iter()
        .find(|e| e.type_ecole != onde_domain::TypeEcole::Maternelle)
        .unwrap();
    let mairie = partenaire(
        &base,
        TypePartenaire::Mairie,
        "ecoles:read inscriptions:read inscriptions:write",
        &[ecole.commune.as_str()],
        &[],
        &[],
    );
    let cible: SocketAddr = "127.0.0.1:5432".parse().unwrap();
    let relais = Relais::demarrer(cible);
    let options = onde_store::OptionsPool {
        taille_max: 4,
        min_inactives: 0,
        attente_max: Duration::from_secs(1),
        delai_requete: Some(Duration::from_secs(5)),
    };
    let store = onde_store::Store::ouvrir(&par_le_relais(&base.url, relais.port), &options).unwrap();
    let large = api::Regle {
        par_seconde: 100_000,
        rafale: 100_000,
        simultanees: 10_000,
    };
    let etat = api::EtatApp::ouvrir(store, api::ConfigJetons::default())
        .unwrap()
        .avec_limites(api::ConfigLimites {
            defaut: large,
            partenaires: Default::default(),
            ..Default::default()
        });
    let uai = ecole.uai.as_str().to_owned();
    let resultat = std::cell::RefCell::new(Vec::new());
    executer(async {
        let mut acquittees = Vec::new();
        let app = actix_web::test::init_service(api::app(etat.clone())).await;
        let j = jeton(&app, &mairie).await;
        let app = &app;
        let ecrire = |n: usize| {
            let j = j.clone();
            let uai = uai.clone();
            async move {
                let corps = json!({
                    "eleve": {"nom": format!("Resilience-{n}"), "prenoms": ["Alix"], "sexe": "F",
                              "date_naissance": "2020-03-14", "lieu_naissance": "75056"},
                    "uai": uai, "annee_scolaire": "2026-2027", "niveau": "CP"});
                let debut = Instant::now();
                let r = requete(
                    app,
                    actix_web::http::Method::POST,
                    "/v1/inscriptions",
                    &j,
                    &[],
                    Some(&corps),
                )
                .await;
                (r, debut.elapsed())
            }
        };
        let mut n = 0;
        // Before: writes succeed.
        for _ in 0..5 {
            let (r, _) = ecrire(n).await;
            n += 1;
            assert_eq!(r.statut, 201, "{}", r.texte);
            acquittees.push(r.corps["id"].as_str().unwrap().to_owned());
        }
        // The database goes away while writes are in flight.
        let charge: Vec<_> = (0..12).map(|i| ecrire(1000 + i)).collect();
        let coupure = async {
            actix_web::rt::time::sleep(Duration::from_millis(30)).await;
            relais.couper();
        };
        let (resultats, ()) = futures_util::future::join(futures_util::future::join_all(charge), coupure).await;
        eprintln!(
            "pendant la coupure : {:?}",
            resultats
                .iter()
                .map(|(r, d)| (r.statut.as_u16(), d.as_millis()))
                .collect::<Vec<_>>()
        );
        for (r, duree) in &resultats {
            assert!(duree < &Duration::from_secs(8), "requête bloquée {duree:?}");
            match r.statut.as_u16() {
                201 => acquittees.push(r.corps["id"].as_str().unwrap().to_owned()),
                503 => {
                    assert_probleme(r, 503, "service_indisponible");
                    assert_eq!(r.entete("retry-after"), Some("5"));
                }
                autre => panic!("pendant la coupure : {autre} {}", r.texte),
            }
        }
        // While it is away: fast 503s, red readiness, green liveness.
        for _ in 0..3 {
            let (r, duree) = ecrire(n).await;
            n += 1;
            assert_probleme(&r, 503, "service_indisponible");
            assert!(duree < Duration::from_secs(3), "{duree:?}");
            let debut = Instant::now();
            let lu = get(app, &j, "/v1/inscriptions?limit=5").await;
            assert_eq!(lu.statut, 503, "{}", lu.texte);
            assert!(debut.elapsed() < Duration::from_secs(3));
        }
        assert_eq!(get(app, "", "/health/ready").await.statut, 503);
        assert_eq!(get(app, "", "/health/live").await.statut, 200);

        // It comes back: the gateway recovers by itself.
        relais.retablir();
        let debut = Instant::now();
        while get(app, "", "/health/ready").await.statut != 200 {
            assert!(debut.elapsed() < Duration::from_secs(30), "pas de retour à la normale");
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        for _ in 0..5 {
            let (r, _) = ecrire(n).await;
            n += 1;
            assert_eq!(r.statut, 201, "{}", r.texte);
            acquittees.push(r.corps["id"].as_str().unwrap().to_owned());
        }
        etat.auditeur.vider();
        *resultat.borrow_mut() = acquittees;
    });
    // Every acknowledged write is there (read directly, not through the relay).
    let presentes: std::collections::HashSet<String> = toutes_les_inscriptions(&base)
        .into_iter()
        .map(|i| i.inscription.id.to_string())
        .collect();
    let acquittees = resultat.into_inner();
    assert!(acquittees.len() >= 10, "{}", acquittees.len());
    let perdues: Vec<&String> = acquittees.iter().filter(|id| !presentes.contains(*id)).collect();
    assert!(perdues.is_empty(), "écritures acquittées perdues : {perdues:?}");
}
