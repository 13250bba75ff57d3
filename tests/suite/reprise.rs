//! Crash safety of the writes, on SQLite and PostgreSQL: a write interrupted after its effects
//! were made but before it committed — by a failure, by its database connection being killed,
//! or by the server process being killed — leaves nothing of the item visible, and a retry with
//! the same Idempotency-Key then completes it exactly once.
//!
//! The interruption point is made reproducible with a trigger on the `idempotence` table, the
//! last row each write inserts: it fails, or stalls (PostgreSQL: `pg_sleep`; SQLite: a long
//! join), while the pupil, its guardians and its inscription are already written in the same
//! transaction.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::commun::*;
use crate::ecritures::*;
use actix_web::test;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use onde_store::testing::BaseDeTest;
use onde_store::Backend;
use serde_json::{json, Value};

/// Makes the insertion of an idempotency record fail (`Some(message)`) or stall (`None`).
fn piege(base: &BaseDeTest, echec: Option<&str>) {
    let sql = match (base.store.backend(), echec) {
        (Backend::Postgres, Some(m)) => format!(
            "CREATE FUNCTION piege() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{m}'; END $$;
             CREATE TRIGGER piege BEFORE INSERT ON idempotence FOR EACH ROW EXECUTE FUNCTION piege();"
        ),
        (Backend::Postgres, None) => "CREATE FUNCTION piege() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(3); RETURN NEW; END $$;
             CREATE TRIGGER piege BEFORE INSERT ON idempotence FOR EACH ROW EXECUTE FUNCTION piege();"
            .to_owned(),
        (Backend::Sqlite, Some(m)) => {
            format!("CREATE TRIGGER piege BEFORE INSERT ON idempotence BEGIN SELECT RAISE(ABORT, '{m}'); END;")
        }
        // 3,000³ rows to count: minutes of work, interrupted long before.
        (Backend::Sqlite, None) => "CREATE TABLE lest (x INTEGER);
             WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3000) INSERT INTO lest SELECT x FROM n;
             CREATE TRIGGER piege BEFORE INSERT ON idempotence BEGIN SELECT count(*) FROM lest a, lest b, lest c; END;"
            .to_owned(),
    };
    sql_brut(base, &sql);
}

fn lever_piege(base: &BaseDeTest) {
    let sql = match base.store.backend() {
        Backend::Postgres => "DROP TRIGGER piege ON idempotence; DROP FUNCTION piege();",
        Backend::Sqlite => "DROP TRIGGER piege;",
    };
    sql_brut(base, sql);
}

/// On a connection of its own (not the pool's), which waits for locks.
fn sql_brut(base: &BaseDeTest, sql: &str) {
    match base.store.backend() {
        Backend::Postgres => PgConnection::establish(&base.url).unwrap().batch_execute(sql).unwrap(),
        Backend::Sqlite => {
            let mut c = SqliteConnection::establish(base.url.trim_start_matches("sqlite://")).unwrap();
            c.batch_execute("PRAGMA busy_timeout = 60000;").unwrap();
            c.batch_execute(sql).unwrap();
        }
    }
}

#[derive(QueryableByName)]
struct Pid {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

/// PostgreSQL backends of this database stalled in the trap.
fn pieges_pg(base: &BaseDeTest) -> Vec<i32> {
    let mut c = PgConnection::establish(&base.url).unwrap();
    diesel::sql_query(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep' AND query ILIKE '%idempotence%'",
    )
    .load::<Pid>(&mut c)
    .unwrap()
    .into_iter()
    .map(|p| p.pid)
    .collect()
}

/// PostgreSQL backends of this database other than the caller's, busy with a statement.
fn backends_actifs(base: &BaseDeTest) -> Vec<i32> {
    let mut c = PgConnection::establish(&base.url).unwrap();
    diesel::sql_query(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'",
    )
    .load::<Pid>(&mut c)
    .unwrap()
    .into_iter()
    .map(|p| p.pid)
    .collect()
}

/// Whether another connection holds SQLite's write lock (i.e. a write transaction has written).
fn sqlite_verrouillee(base: &BaseDeTest) -> bool {
    let mut c = SqliteConnection::establish(base.url.trim_start_matches("sqlite://")).unwrap();
    c.batch_execute("PRAGMA busy_timeout = 0;").unwrap();
    match c.batch_execute("BEGIN IMMEDIATE;") {
        Ok(()) => {
            c.batch_execute("ROLLBACK;").unwrap();
            false
        }
        Err(_) => true,
    }
}

/// Waits until the write has made its effects and stalls in the trap.
fn attendre_le_piege(base: &BaseDeTest) {
    let debut = Instant::now();
    loop {
        let pris = match base.store.backend() {
            Backend::Postgres => !pieges_pg(base).is_empty(),
            Backend::Sqlite => sqlite_verrouillee(base),
        };
        if pris {
            break;
        }
        assert!(
            debut.elapsed() < Duration::from_secs(60),
            "l'écriture n'atteint pas le piège"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    if base.store.backend() == Backend::Sqlite {
        // The lock is taken at the first insert; leave time to reach the trap (the last one).
        std::thread::sleep(Duration::from_millis(1500));
    }
}

/// What the item left in the base: pupils with its duplicate key, its idempotency record.
fn traces(base: &BaseDeTest, cle_doublon: &str, partenaire: &Identifiants, cle: &str) -> (usize, bool) {
    let mut c = base.store.connexion().unwrap();
    let enregistree = onde_store::idempotence::trouver(&mut c, &partenaire.partenaire_id.to_string(), cle)
        .unwrap()
        .is_some();
    (eleves_de_cle(base, cle_doublon).len(), enregistree)
}

fn verifier_integrite_sqlite(base: &BaseDeTest) {
    if base.store.backend() == Backend::Sqlite {
        #[derive(QueryableByName)]
        struct Ligne {
            #[diesel(sql_type = diesel::sql_types::Text)]
            integrity_check: String,
        }
        let mut c = SqliteConnection::establish(base.url.trim_start_matches("sqlite://")).unwrap();
        let l = diesel::sql_query("PRAGMA integrity_check")
            .load::<Ligne>(&mut c)
            .unwrap();
        assert_eq!(l[0].integrity_check, "ok");
    }
}

/// The server binary on a free port over the test base.
type Serveur = ServeurEnfant;

impl ServeurEnfant {
    fn demarrer(base: &BaseDeTest) -> Self {
        let s = Serveur::lancer(base, &[("ONDE_POOL_TAILLE", "4")]);
        let debut = Instant::now();
        while TcpStream::connect(&s.hote).is_err() || http(&s.hote, "GET", "/health/ready", "", &[], None).0 != 200 {
            assert!(debut.elapsed() < Duration::from_secs(60), "le serveur ne démarre pas");
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    }

    /// SIGKILL: no drain, no shutdown hook.
    fn tuer(mut self) {
        self.enfant.kill().unwrap();
        self.enfant.wait().unwrap();
    }
}

/// Minimal HTTP/1.1 client: (status, headers in lower case, body). Status 0 when the server
/// went away before answering.
fn http(
    hote: &str,
    methode: &str,
    chemin: &str,
    jeton: &str,
    entetes: &[(&str, &str)],
    corps: Option<&Value>,
) -> (u16, Vec<(String, String)>, String) {
    let Ok(mut flux) = TcpStream::connect(hote) else {
        return (0, Vec::new(), String::new());
    };
    flux.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let octets = corps.map(|c| serde_json::to_vec(c).unwrap()).unwrap_or_default();
    let mut tete = format!("{methode} {chemin} HTTP/1.1\r\nHost: {hote}\r\nConnection: close\r\n");
    if !jeton.is_empty() {
        tete.push_str(&format!("Authorization: Bearer {jeton}\r\n"));
    }
    if corps.is_some() {
        tete.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            octets.len()
        ));
    }
    for (k, v) in entetes {
        tete.push_str(&format!("{k}: {v}\r\n"));
    }
    tete.push_str("\r\n");
    if flux
        .write_all(tete.as_bytes())
        .and_then(|_| flux.write_all(&octets))
        .is_err()
    {
        return (0, Vec::new(), String::new());
    }
    let mut brut = String::new();
    if flux.read_to_string(&mut brut).is_err() || brut.is_empty() {
        return (0, Vec::new(), String::new());
    }
    let (tete, corps) = brut.split_once("\r\n\r\n").unwrap();
    let mut lignes = tete.lines();
    let statut = lignes.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let entetes = lignes
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .collect();
    (statut, entetes, corps.to_owned())
}

fn entete<'a>(entetes: &'a [(String, String)], nom: &str) -> Option<&'a str> {
    entetes.iter().find(|(k, _)| k == nom).map(|(_, v)| v.as_str())
}

fn jeton_en_processus(base: &BaseDeTest, id: &Identifiants) -> String {
    let etat = etat_neuf(base, 2);
    actix_web::rt::System::new().block_on(async {
        let app = test::init_service(api::app(etat)).await;
        jeton(&app, id).await
    })
}

deux_backends! {
    // The write fails at its very end (the idempotency record): the pupil, guardian and
    // inscription already written are rolled back with it; the retry completes it once.
    fn panne_en_fin_de_transaction(base: ecritures()) {
        let m = monde(base);
        let mairie = mairie_de_toutes_les_communes(base);
        let d = dossier(&nom_unique("Panne"));
        let corps = creation_nouvel_eleve(d.clone(), m.cp.uai.as_str());
        let cle = [("Idempotency-Key", "panne-1")];
        executer(async {
            let app = test::init_service(api::app(etat(base))).await;
            let j = jeton(&app, &mairie).await;
            let avant = compter(base);
            piege(base, Some("disque plein simulé"));
            let r = poster(&app, &j, "/v1/inscriptions", &corps, &cle).await;
            assert!(r.statut.is_server_error(), "{}", r.texte);
            assert!(!r.texte.contains("disque"), "pas de détail interne : {}", r.texte);
            assert_eq!(compter(base), avant, "rien de l'élément n'est visible");
            lever_piege(base);
            let r = poster(&app, &j, "/v1/inscriptions", &corps, &cle).await;
            assert_eq!(r.statut, 201, "{}", r.texte);
            assert!(r.entete("idempotent-replayed").is_none(), "la première tentative n'a rien laissé");
            let r2 = poster(&app, &j, "/v1/inscriptions", &corps, &cle).await;
            assert_eq!(r2.entete("idempotent-replayed"), Some("true"));
            assert_eq!(r2.corps, r.corps);
            assert_eq!(traces(base, &cle_de(&d), &mairie, "panne-1"), (1, true));
            let apres = compter(base);
            assert_eq!((apres.eleves, apres.inscriptions), (avant.eleves + 1, avant.inscriptions + 1));
        });
    }

    // The server process is killed (SIGKILL) while the write stalls after its effects:
    // nothing is visible; a restarted server completes the retry once.
    fn arret_du_processus_pendant_une_inscription(base: ecritures()) {
        let m = monde(base);
        let mairie = mairie_de_toutes_les_communes(base);
        let j = jeton_en_processus(base, &mairie);
        let d = dossier(&nom_unique("Coupure"));
        let mut corps = creation_nouvel_eleve(d.clone(), m.cp.uai.as_str());
        muter(&mut corps, "/eleve/ine", Some(json!(ine_unique())));
        let cle = "arret-processus-1";
        let avant = compter(base);

        piege(base, None);
        let serveur = Serveur::demarrer(base);
        let hote = serveur.hote.clone();
        let (jj, cc) = (j.clone(), corps.clone());
        let envoi = std::thread::spawn(move || http(&hote, "POST", "/v1/inscriptions", &jj, &[("Idempotency-Key", cle)], Some(&cc)));
        attendre_le_piege(base);
        serveur.tuer();
        assert_eq!(envoi.join().unwrap().0, 0, "aucune réponse : le processus est mort");

        assert_eq!(traces(base, &cle_de(&d), &mairie, cle), (0, false), "rien n'est visible");
        assert_eq!(compter(base), avant);
        if base.store.backend() == Backend::Postgres {
            // The orphaned backend finds its client gone when the statement ends, and rolls back.
            let debut = Instant::now();
            while !backends_actifs(base).is_empty() {
                assert!(debut.elapsed() < Duration::from_secs(60), "backend orphelin toujours actif");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        lever_piege(base);
        verifier_integrite_sqlite(base);
        assert_eq!(compter(base), avant, "rien n'a été validé après coup");

        let serveur = Serveur::demarrer(base);
        let (statut, entetes, texte) = http(&serveur.hote, "POST", "/v1/inscriptions", &j, &[("Idempotency-Key", cle)], Some(&corps));
        assert_eq!(statut, 201, "{texte}");
        assert!(entete(&entetes, "idempotent-replayed").is_none());
        let (statut, entetes, texte2) = http(&serveur.hote, "POST", "/v1/inscriptions", &j, &[("Idempotency-Key", cle)], Some(&corps));
        assert_eq!((statut, entete(&entetes, "idempotent-replayed")), (201, Some("true")));
        assert_eq!(serde_json::from_str::<Value>(&texte).unwrap(), serde_json::from_str::<Value>(&texte2).unwrap());
        assert_eq!(traces(base, &cle_de(&d), &mairie, cle), (1, true));
        let apres = compter(base);
        assert_eq!(
            (apres.eleves, apres.responsables, apres.inscriptions, apres.idempotence),
            (avant.eleves + 1, avant.responsables + 1, avant.inscriptions + 1, avant.idempotence + 1)
        );
    }

    // A batch interrupted the same way: none of its items is half-applied (here, none is
    // applied: the batch is one transaction), and the retry applies each exactly once.
    fn arret_du_processus_pendant_un_lot(base: ecritures()) {
        let m = monde(base);
        let uai = m.cp.uai.as_str().to_owned();
        let ecole = partenaire(
            base,
            onde_domain::TypePartenaire::EcolePrivee,
            "eleves:read eleves:write inscriptions:read inscriptions:write",
            &[],
            &[&uai],
            &[],
        );
        let j = jeton_en_processus(base, &ecole);
        let elements: Vec<Value> = (0..3)
            .map(|_| {
                let mut d = dossier(&nom_unique("Lot"));
                d["ine"] = json!(ine_unique());
                json!({"eleve": d, "inscriptions": [{"uai": uai, "annee_scolaire": ANNEE, "niveau": "CP", "statut": "admis", "date_admission": "2028-09-02"}]})
            })
            .collect();
        let lot = json!({"mode": "partiel", "elements": elements});
        let cle = "lot-1";
        let avant = compter(base);

        piege(base, None);
        let serveur = Serveur::demarrer(base);
        let hote = serveur.hote.clone();
        let (jj, ll) = (j.clone(), lot.clone());
        let envoi = std::thread::spawn(move || http(&hote, "POST", "/v1/lots/eleves", &jj, &[("Idempotency-Key", cle)], Some(&ll)));
        attendre_le_piege(base);
        serveur.tuer();
        assert_eq!(envoi.join().unwrap().0, 0);
        assert_eq!(compter(base), avant, "aucun élément n'est visible");
        if base.store.backend() == Backend::Postgres {
            let debut = Instant::now();
            while !backends_actifs(base).is_empty() {
                assert!(debut.elapsed() < Duration::from_secs(60), "backend orphelin toujours actif");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        lever_piege(base);
        verifier_integrite_sqlite(base);
        assert_eq!(compter(base), avant);

        let serveur = Serveur::demarrer(base);
        let (statut, _, texte) = http(&serveur.hote, "POST", "/v1/lots/eleves", &j, &[("Idempotency-Key", cle)], Some(&lot));
        assert!((200..300).contains(&statut), "{statut} {texte}");
        let reponse: Value = serde_json::from_str(&texte).unwrap();
        assert_eq!(reponse["resume"]["crees"], 3, "{texte}");
        let (statut2, entetes, texte2) = http(&serveur.hote, "POST", "/v1/lots/eleves", &j, &[("Idempotency-Key", cle)], Some(&lot));
        assert_eq!((statut2, entete(&entetes, "idempotent-replayed")), (statut, Some("true")));
        assert_eq!(serde_json::from_str::<Value>(&texte2).unwrap(), reponse);
        for e in lot["elements"].as_array().unwrap() {
            assert_eq!(eleves_de_cle(base, &cle_de(&e["eleve"])).len(), 1);
        }
        let apres = compter(base);
        assert_eq!((apres.eleves, apres.inscriptions), (avant.eleves + 3, avant.inscriptions + 3));
    }
}

// The database connection of a write is killed (pg_terminate_backend) while the write stalls
// after its effects: the caller is told to retry later, nothing is visible, the broken
// connection leaves the pool, and the retry with the same key completes the write once.
#[::core::prelude::v1::test]
fn connexion_tuee_pendant_une_inscription_postgres() {
    let base = TestApp::postgres().ecritures().build().base;
    let m = monde(&base);
    let mairie = mairie_de_toutes_les_communes(&base);
    let d = dossier(&nom_unique("Terminee"));
    let corps = creation_nouvel_eleve(d.clone(), m.cp.uai.as_str());
    let cle = [("Idempotency-Key", "terminate-1")];
    let etat = etat_neuf(&base, 4);
    actix_web::rt::System::new().block_on(async {
        let app = test::init_service(api::app(etat)).await;
        let j = jeton(&app, &mairie).await;
        let avant = compter(&base);
        piege(&base, None);
        let url = base.url.clone();
        let tueur = std::thread::spawn(move || {
            let mut c = PgConnection::establish(&url).unwrap();
            let debut = Instant::now();
            loop {
                let pids = diesel::sql_query(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'",
                )
                .load::<Pid>(&mut c)
                .unwrap();
                if let Some(p) = pids.first() {
                    diesel::sql_query(format!("SELECT pg_terminate_backend({})", p.pid))
                        .execute(&mut c)
                        .unwrap();
                    return;
                }
                assert!(
                    debut.elapsed() < Duration::from_secs(60),
                    "l'écriture n'atteint pas le piège"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let r = poster(&app, &j, "/v1/inscriptions", &corps, &cle).await;
        tueur.join().unwrap();
        assert_probleme(&r, 503, "service_indisponible");
        assert_eq!(r.entete("retry-after"), Some("5"));
        assert_eq!(traces(&base, &cle_de(&d), &mairie, "terminate-1"), (0, false));
        assert_eq!(compter(&base), avant);
        lever_piege(&base);
        // Every pooled connection still works (the killed one was discarded).
        for _ in 0..6 {
            assert_eq!(get(&app, "", "/health/ready").await.statut, 200);
        }
        let r = poster(&app, &j, "/v1/inscriptions", &corps, &cle).await;
        assert_eq!(r.statut, 201, "{}", r.texte);
        assert!(r.entete("idempotent-replayed").is_none());
        let r2 = poster(&app, &j, "/v1/inscriptions", &corps, &cle).await;
        assert_eq!(r2.entete("idempotent-replayed"), Some("true"));
        assert_eq!(r2.corps, r.corps);
        assert_eq!(traces(&base, &cle_de(&d), &mairie, "terminate-1"), (1, true));
    });
}
