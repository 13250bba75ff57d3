//! Issue 16, item 7: the audit trail never loses an access. The real binary serves concurrent
//! reads that return pupils; it is SIGKILLed mid-load; every answer a client received in full
//! must have its audit record in the database (matched by the `X-Request-Id` it carried).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::commun::*;
use actix_web::test;
use diesel::prelude::*;
use onde_store::testing::BaseDeTest;

type Serveur = ServeurEnfant;

fn demarrer(base: &BaseDeTest) -> Serveur {
    let s = Serveur::lancer(
        base,
        &[
            ("ONDE_POOL_TAILLE", "8"),
            ("ONDE__LIMITES__PAR_SECONDE", "100000"),
            ("ONDE__LIMITES__RAFALE", "100000"),
            ("ONDE__LIMITES__SIMULTANEES", "100000"),
        ],
    );
    let debut = Instant::now();
    while lire(&s.hote, "/health/ready", "").is_none_or(|r| r.0 != 200) {
        assert!(debut.elapsed() < Duration::from_secs(60), "le serveur ne démarre pas");
        std::thread::sleep(Duration::from_millis(50));
    }
    s
}

/// GET over a fresh connection: (status, X-Request-Id, body), only for an answer received in
/// full (its Content-Length's worth of body); `None` when the server went away before.
fn lire(hote: &str, chemin: &str, jeton: &str) -> Option<(u16, String, String)> {
    let mut flux = TcpStream::connect(hote).ok()?;
    flux.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let auth = if jeton.is_empty() {
        String::new()
    } else {
        format!("Authorization: Bearer {jeton}\r\n")
    };
    write!(
        flux,
        "GET {chemin} HTTP/1.1\r\nHost: {hote}\r\n{auth}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut brut = Vec::new();
    flux.read_to_end(&mut brut).ok()?;
    let brut = String::from_utf8(brut).ok()?;
    let (tete, corps) = brut.split_once("\r\n\r\n")?;
    let mut lignes = tete.lines();
    let statut = lignes.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut id = None;
    let mut longueur = None;
    for l in lignes {
        let (k, v) = l.split_once(": ")?;
        match k.to_ascii_lowercase().as_str() {
            "x-request-id" => id = Some(v.to_owned()),
            "content-length" => longueur = v.parse::<usize>().ok(),
            _ => {}
        }
    }
    (longueur? == corps.len()).then(|| (statut, id.unwrap_or_default(), corps.to_owned()))
}

#[derive(QueryableByName)]
struct Requete {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id_requete: String,
}

fn tue_sous_charge_sans_perdre_de_trace(base: &BaseDeTest) {
    let id = mairie_de_toutes_les_communes(base);
    // The token is signed with the keys the child will load from the same database.
    let jeton = actix_web::rt::System::new().block_on(async {
        let app = test::init_service(api::app(etat(base))).await;
        jeton(&app, &id).await
    });
    let serveur = demarrer(base);
    let recus: Arc<Mutex<Vec<String>>> = Arc::default();
    let arret = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..12)
        .map(|n| {
            let (hote, jeton, recus, arret) = (serveur.hote.clone(), jeton.clone(), recus.clone(), arret.clone());
            std::thread::spawn(move || {
                let mut i = 0u32;
                while !arret.load(Ordering::SeqCst) {
                    i += 1;
                    let chemin = if (n + i) % 3 == 0 {
                        "/v1/inscriptions?limit=7".to_owned()
                    } else {
                        format!("/v1/eleves?limit={}", 1 + (n + i) % 20)
                    };
                    if let Some((200, id_requete, corps)) = lire(&hote, &chemin, &jeton) {
                        let page: serde_json::Value = serde_json::from_str(&corps).unwrap();
                        assert!(!page["elements"].as_array().unwrap().is_empty(), "des élèves");
                        recus.lock().unwrap().push(id_requete);
                    }
                }
            })
        })
        .collect();
    // Mid-load: a few hundred answers in, then SIGKILL (no drain, no shutdown hook).
    let debut = Instant::now();
    while recus.lock().unwrap().len() < 300 {
        assert!(debut.elapsed() < Duration::from_secs(120), "charge trop lente");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut serveur = serveur;
    serveur.enfant.kill().unwrap();
    serveur.enfant.wait().unwrap();
    arret.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    let recus: BTreeSet<String> = recus.lock().unwrap().iter().cloned().collect();
    let mut conn = base.store.connexion().unwrap();
    let conn: &mut onde_store::DbConnection = &mut conn;
    let ecrits: Vec<Requete> =
        onde_store::par_backend!(conn, c => diesel::sql_query("SELECT id_requete FROM audit").load(c)).unwrap();
    let traces: BTreeSet<String> = ecrits.into_iter().map(|r| r.id_requete).collect();
    let perdues: Vec<&String> = recus.difference(&traces).collect();
    eprintln!(
        "réponses reçues : {} ; traces en base : {} ; reçues sans trace : {}",
        recus.len(),
        traces.len(),
        perdues.len()
    );
    assert!(recus.len() >= 300);
    assert!(
        perdues.is_empty(),
        "{} réponses reçues sur {} sans trace d'audit, ex. {:?}",
        perdues.len(),
        recus.len(),
        perdues.iter().take(3).collect::<Vec<_>>()
    );
}

deux_backends! {
    fn sigkill_sous_charge_aucune_reponse_sans_trace(base: eleves(300)) {
        tue_sous_charge_sans_perdre_de_trace(base);
    }
}

/// The audit table refuses inserts: every read of personal data answers 503 (problem
/// document) instead of its data; a CSV export sends no row; back to 200 once it accepts.
fn donnees_refusees_sans_trace(base: &BaseDeTest) {
    let id = mairie_de_toutes_les_communes(base);
    let ine = reperes(base)[0].ine.clone();
    let etat = etat(base);
    actix_web::rt::System::new().block_on(async {
        let app = test::init_service(api::app(etat)).await;
        let j = jeton(&app, &id).await;
        let fiche = format!("/v1/eleves/{ine}");
        assert_eq!(get(&app, &j, &fiche).await.statut, 200);
        piste_en_panne(base);
        for uri in [fiche.as_str(), "/v1/eleves?limit=5", "/v1/inscriptions?limit=5"] {
            let r = get(&app, &j, uri).await;
            assert_probleme(&r, 503, "service_indisponible");
            assert!(!r.texte.contains(ine.as_str()), "{uri} : {}", r.texte);
        }
        // The export's header may leave, never a row: the download is cut short.
        let req = test::TestRequest::get()
            .uri("/v1/eleves?format=csv")
            .insert_header(("Authorization", format!("Bearer {j}")))
            .to_request();
        let mut corps = Box::pin(test::call_service(&app, req).await.into_body());
        let (mut recu, mut coupe) = (Vec::new(), false);
        loop {
            match std::future::poll_fn(|cx| actix_web::body::MessageBody::poll_next(corps.as_mut(), cx)).await {
                Some(Ok(b)) => recu.extend_from_slice(&b),
                Some(Err(_)) => {
                    coupe = true;
                    break;
                }
                None => break,
            }
        }
        let recu = String::from_utf8_lossy(&recu);
        assert!(coupe, "téléchargement interrompu");
        assert_eq!(recu.lines().count(), 1, "l'en-tête seul : {recu}");
        reparer_la_piste(base);
        assert_eq!(get(&app, &j, &fiche).await.statut, 200);
        assert_eq!(get(&app, &j, "/v1/eleves?format=csv").await.statut, 200);
    });
}

deux_backends! {
    fn piste_en_panne_pas_de_donnees(base: eleves(60)) {
        donnees_refusees_sans_trace(base);
    }
}
