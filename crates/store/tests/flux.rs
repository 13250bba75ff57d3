//! The change feed's storage (issue 18): an event's perimeter keys live in its own columns, the
//! keys that do not fit (and those a later statement of the same transaction adds) in
//! `changements_cles`; a reader restricted to any one of them finds the event, once. The purge
//! deletes by position ranges, a batch at a time, keys included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use onde_domain::{CodeInsee, Perimetre, Uai};
use onde_store::changements::{self, Lecture, Position, Ressource};
use onde_store::{par_backend, DbConnection, StoreError};

const ELEVE: &str = "0190a3c2-0000-4000-8000-000000000001";
const RESIDENCE: &str = "33063";
/// Four schools in four communes other than the residence.
const ECOLES: [(&str, &str); 4] = [
    ("0750655E", "75056"),
    ("0690001B", "69123"),
    ("0130001F", "13055"),
    ("0440001M", "44109"),
];

fn executer(conn: &mut DbConnection, sql: &str) {
    par_backend!(conn, c => diesel::sql_query(sql).execute(c)).unwrap();
}

fn inscription(numero: u32, uai: &str, annee: &str) -> String {
    format!(
        "INSERT INTO inscriptions (id, eleve_id, uai, annee_scolaire, niveau, statut, admission_provisoire, \
         date_inscription, cree_le, modifie_le) VALUES \
         ('0190a3c2-0000-4000-8000-{numero:012}', '{ELEVE}', '{uai}', '{annee}', 'CP', 'inscrit', FALSE, \
         '2026-05-01', '2026-05-01 08:00:00', '2026-05-01 08:00:00')"
    )
}

/// Five communes, four schools, a pupil living in the fifth commune, enrolled (actively) in
/// the first three schools over three school years.
fn socle(conn: &mut DbConnection) {
    let mut communes: Vec<&str> = ECOLES.iter().map(|(_, c)| *c).collect();
    communes.push(RESIDENCE);
    for c in communes {
        executer(
            conn,
            &format!("INSERT INTO communes (code_insee, nom) VALUES ('{c}', 'Commune {c}')"),
        );
    }
    for (uai, commune) in ECOLES {
        executer(
            conn,
            &format!(
                "INSERT INTO ecoles (uai, nom, type_ecole, secteur, code_commune) \
                 VALUES ('{uai}', 'École {uai}', 'primaire', 'public', '{commune}')"
            ),
        );
    }
    executer(
        conn,
        &format!(
            "INSERT INTO eleves (id, nom, prenom1, sexe, date_naissance, lieu_naissance, adresse_voie, \
             adresse_code_postal, adresse_commune, cree_le, modifie_le, cle_doublon) VALUES ('{ELEVE}', 'Martin', \
             'Léa', 'F', '2020-03-04', '75056', '1 rue de la Paix', '33000', '{RESIDENCE}', \
             '2026-09-01 08:00:00', '2026-09-01 08:00:00', 'martin|lea|F|2020-03-04|75056')"
        ),
    );
    for (i, annee) in ["2025-2026", "2026-2027", "2027-2028"].into_iter().enumerate() {
        executer(conn, &inscription(i as u32 + 1, ECOLES[i].0, annee));
    }
}

fn perimetre(communes: &[&str], uais: &[&str]) -> Perimetre {
    Perimetre::Restreint {
        communes: communes.iter().map(|c| CodeInsee::parse(c).unwrap()).collect(),
        uais: uais.iter().map(|u| Uai::parse(u).unwrap()).collect(),
    }
}

/// Reads until no event waits behind a transaction still running: the horizon is cluster-wide,
/// and other tests' transactions may hold it back for a moment.
fn lire(conn: &mut DbConnection, p: &Perimetre, depuis: Position) -> Lecture {
    let debut = Instant::now();
    loop {
        let l = changements::lire(conn, p, &[Ressource::Eleve], depuis, 1_000).unwrap();
        if !l.retenus || debut.elapsed() > Duration::from_secs(60) {
            return l;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[derive(QueryableByName)]
struct Cle {
    #[diesel(sql_type = Text)]
    cle: String,
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn compter(conn: &mut DbConnection, sql: &str) -> i64 {
    par_backend!(conn, c => diesel::sql_query(sql).get_result::<N>(c))
        .unwrap()
        .n
}

#[derive(QueryableByName)]
struct LignePosition {
    #[diesel(sql_type = BigInt)]
    xid: i64,
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

fn derniere(conn: &mut DbConnection) -> Position {
    let l = par_backend!(conn, c => diesel::sql_query(
        "SELECT xid, seq FROM changements ORDER BY xid DESC, seq DESC LIMIT 1"
    ).get_result::<LignePosition>(c))
    .unwrap();
    Position { xid: l.xid, seq: l.seq }
}

onde_store::tests_deux_backends! {
    fn cles_hors_colonnes_et_fusion_trouvees_par_chaque_cle(base) {
        let mut conn = base.store.connexion().unwrap();
        let conn = &mut *conn;
        socle(conn);
        // After the socle's own events (every one committed: this test writes alone to its base).
        let depuis = derniere(conn);
        // One transaction, two statements: a new name (the pupil's keys: its residence and its
        // three schools with their communes, more than the event's columns hold), then a fourth
        // school, whose keys the second statement adds to the event the first one wrote.
        conn.transaction::<_, diesel::result::Error, _>(|c| {
            onde_store::verrou_ecriture(c).unwrap();
            executer(c, &format!("UPDATE eleves SET nom = 'Martin-Durand' WHERE id = '{ELEVE}'"));
            executer(c, &inscription(4, ECOLES[3].0, "2028-2029"));
            Ok(())
        })
        .unwrap();

        let mut attendues: BTreeSet<String> = ECOLES.iter().flat_map(|(u, c)| [format!("u:{u}"), format!("c:{c}")]).collect();
        attendues.insert(format!("c:{RESIDENCE}"));
        // Every key, wherever it is stored, through the view that gathers them.
        let cles: BTreeSet<String> = par_backend!(conn, c => diesel::sql_query(format!(
            "SELECT p.cle FROM changements_portee p JOIN changements e ON e.xid = p.xid AND e.seq = p.seq \
             WHERE e.ressource = 'eleve' AND e.ressource_id = '{ELEVE}'"
        )).load::<Cle>(c)).unwrap().into_iter().map(|k| k.cle).collect();
        assert_eq!(cles, attendues);
        if let DbConnection::Pg(c) = &mut *conn {
            // PostgreSQL: the first two communes and UAIs in the event's columns, the rest (and
            // what the second statement added) in changements_cles.
            let colonnes: Vec<Cle> = diesel::sql_query(format!(
                "SELECT concat_ws(',', commune, commune_bis, uai, uai_bis) AS cle FROM changements \
                 WHERE ressource = 'eleve' AND ressource_id = '{ELEVE}' AND xid > {}",
                depuis.xid
            ))
            .load(c)
            .unwrap();
            assert_eq!(colonnes.len(), 1);
            assert_eq!(colonnes[0].cle, "13055,33063,0130001F,0690001B");
            let a_part: BTreeSet<String> = diesel::sql_query(format!(
                "SELECT k.cle FROM changements_cles k JOIN changements e ON e.xid = k.xid AND e.seq = k.seq \
                 WHERE e.ressource = 'eleve' AND e.ressource_id = '{ELEVE}' AND e.xid > {}",
                depuis.xid
            ))
            .load::<Cle>(c)
            .unwrap()
            .into_iter()
            .map(|k| k.cle)
            .collect();
            let attendues_a_part: BTreeSet<String> =
                ["c:69123", "c:75056", "u:0750655E", "c:44109", "u:0440001M"].map(String::from).into();
            assert_eq!(a_part, attendues_a_part);
        }

        // A reader holding any one of those keys gets the event, never twice, as one
        // modification (PostgreSQL merges a transaction's statements into one event; SQLite's
        // row triggers write one event per statement).
        let postgres = matches!(conn, DbConnection::Pg(_));
        let mut vues = Vec::new();
        for (uai, commune) in ECOLES {
            vues.push(perimetre(&[commune], &[]));
            vues.push(perimetre(&[], &[uai]));
        }
        vues.push(perimetre(&[RESIDENCE], &[]));
        vues.push(perimetre(&ECOLES.map(|(_, c)| c), &ECOLES.map(|(u, _)| u)));
        for p in &vues {
            let l = lire(conn, p, depuis);
            let evenements: Vec<_> = l.changements.iter().filter(|e| e.id == ELEVE).collect();
            let positions: BTreeSet<Position> = l.changements.iter().map(|e| e.position).collect();
            assert_eq!(positions.len(), l.changements.len(), "{p:?} : {:?}", l.changements);
            assert!(!evenements.is_empty(), "{p:?} : {:?}", l.changements);
            if postgres {
                assert_eq!(evenements.len(), 1, "{p:?} : {:?}", l.changements);
            }
            assert!(evenements.iter().all(|e| e.operation == "modification"), "{evenements:?}");
        }
        // A commune none of them is: nothing.
        executer(conn, "INSERT INTO communes (code_insee, nom) VALUES ('59350', 'Lille')");
        let l = lire(conn, &perimetre(&["59350"], &[]), depuis);
        assert!(l.changements.is_empty(), "{:?}", l.changements);
    }

    fn purge_par_lots_avec_les_cles(base) {
        let mut conn = base.store.connexion().unwrap();
        let conn = &mut *conn;
        socle(conn);
        // 30 transactions, each an event of the pupil (keys in columns and in changements_cles)
        // and of its inscriptions.
        for i in 0..30 {
            executer(conn, &format!("UPDATE eleves SET nom = 'Martin-{i}' WHERE id = '{ELEVE}'"));
        }
        let depuis = Position { xid: 0, seq: 0 };
        std::thread::sleep(Duration::from_millis(20));
        let limite = chrono::Utc::now().naive_utc();
        std::thread::sleep(Duration::from_millis(20));
        executer(conn, &format!("UPDATE eleves SET nom = 'Martin-apres' WHERE id = '{ELEVE}'"));
        let avant = |c: &mut DbConnection| {
            compter(c, &format!(
                "SELECT count(*) AS n FROM changements WHERE horodatage < '{}'",
                limite.format("%Y-%m-%d %H:%M:%S%.6f")
            ))
        };
        let total = avant(conn);
        let recents = compter(conn, "SELECT count(*) AS n FROM changements") - total;
        assert!(total >= 60 && recents >= 1, "{total} / {recents}");

        // Batches of 7 events. The horizon may stop a purge early (another test's transaction
        // somewhere in the cluster): purged again until every old event is gone.
        let debut = Instant::now();
        let mut supprimes = 0;
        let mut purge = None;
        while avant(conn) > 0 && debut.elapsed() < Duration::from_secs(60) {
            let (n, p) = changements::purger_par_lots(conn, limite, chrono::Utc::now().naive_utc(), 7).unwrap();
            supprimes += n;
            purge = p;
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(supprimes as i64, total);
        assert_eq!(avant(conn), 0);
        let p = purge.unwrap().position;
        // Nothing at or before the purge's position is left, keys included; what came after
        // stays, with its keys.
        let reste = |c: &mut DbConnection, table: &str| {
            compter(c, &format!(
                "SELECT count(*) AS n FROM {table} WHERE xid < {x} OR (xid = {x} AND seq <= {s})",
                x = p.xid,
                s = p.seq
            ))
        };
        assert_eq!(reste(conn, "changements"), 0);
        assert_eq!(reste(conn, "changements_cles"), 0);
        assert_eq!(compter(conn, "SELECT count(*) AS n FROM changements"), recents);
        assert!(compter(conn, "SELECT count(*) AS n FROM changements_portee") >= recents);
        // A second run deletes nothing; a cursor from before the purge is refused.
        let (n, _) = changements::purger_par_lots(conn, limite, chrono::Utc::now().naive_utc(), 7).unwrap();
        assert_eq!(n, 0);
        let r = changements::lire(conn, &perimetre(&[RESIDENCE], &[]), &[Ressource::Eleve], depuis, 10);
        assert!(matches!(r, Err(StoreError::FluxPurge { .. })), "{r:?}");
    }
}

/// PostgreSQL: a transaction running in another database of the cluster no longer holds this
/// feed back (the horizon skips transactions known to be another database's); one running in
/// this database still does, until it ends.
#[test]
fn horizon_sans_les_transactions_des_autres_bases() {
    let ici = onde_store::testing::BaseDeTest::postgres();
    let ailleurs = onde_store::testing::BaseDeTest::postgres();
    let mut conn = ici.store.connexion().unwrap();
    let conn = &mut *conn;
    socle(conn);
    let depuis = derniere(conn);
    let mairie = perimetre(&[RESIDENCE], &[]);

    // Another base's transaction, holding an id, started before this base's write.
    let mut autre = ailleurs.store.connexion().unwrap();
    let autre = &mut *autre;
    executer(autre, "BEGIN");
    executer(autre, "SELECT pg_current_xact_id()");
    executer(
        conn,
        &format!("UPDATE eleves SET nom = 'Martin-Ailleurs' WHERE id = '{ELEVE}'"),
    );
    let l = lire(conn, &mairie, depuis);
    assert!(!l.retenus, "{l:?}");
    assert_eq!(l.changements.len(), 1, "{l:?}");

    // This base's own transaction, started before the next write: it holds the write back,
    // and the write comes once it ends.
    let mut meme = ici.store.connexion().unwrap();
    let meme = &mut *meme;
    executer(meme, "BEGIN");
    executer(meme, "SELECT pg_current_xact_id()");
    executer(
        conn,
        &format!("UPDATE eleves SET nom = 'Martin-Ici' WHERE id = '{ELEVE}'"),
    );
    let suite = l.derniere.unwrap();
    let l = changements::lire(conn, &mairie, &[Ressource::Eleve], suite, 1_000).unwrap();
    assert!(l.retenus && l.changements.is_empty(), "{l:?}");
    executer(meme, "COMMIT");
    let l = lire(conn, &mairie, suite);
    assert_eq!(l.changements.len(), 1, "{l:?}");
    executer(autre, "COMMIT");
}

/// PostgreSQL: a transaction of this database that was running when the horizon's snapshot was
/// taken, and has ended since, no longer holds the horizon back (every later statement sees
/// it ended); one still running does. Without the first rule such a transaction, gone from
/// `pg_stat_activity` by the time the horizon looks at it, held a read back at random.
#[test]
fn horizon_sans_les_transactions_finies_depuis_l_instantane() {
    #[derive(QueryableByName)]
    struct Instantane {
        #[diesel(sql_type = Text)]
        s: String,
    }
    #[derive(QueryableByName)]
    struct Xid {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        x: i64,
    }
    let ici = onde_store::testing::BaseDeTest::postgres();
    let mut conn = ici.store.connexion().unwrap();
    let DbConnection::Pg(conn) = &mut *conn else {
        panic!("PostgreSQL attendu")
    };
    let mut autre = ici.store.connexion().unwrap();
    let DbConnection::Pg(autre) = &mut *autre else {
        panic!("PostgreSQL attendu")
    };
    let prendre = |c: &mut diesel::PgConnection| {
        diesel::sql_query("SELECT pg_current_snapshot()::text AS s")
            .get_result::<Instantane>(c)
            .unwrap()
            .s
    };

    diesel::sql_query("BEGIN").execute(autre).unwrap();
    let x = diesel::sql_query("SELECT pg_current_xact_id()::text::bigint AS x")
        .get_result::<Xid>(autre)
        .unwrap()
        .x;
    // A later transaction ends first: the snapshot's bound passes `x`, which it then lists as
    // running (a running id at or after the bound would not be listed at all).
    diesel::sql_query("SELECT pg_current_xact_id()::text::bigint AS x")
        .get_result::<Xid>(conn)
        .unwrap();
    let pendant = prendre(conn);
    assert!(
        pendant
            .split(':')
            .nth(2)
            .unwrap()
            .split(',')
            .any(|i| i == x.to_string()),
        "{pendant}"
    );
    // Still running: it holds the horizon.
    assert_eq!(changements::horizon_sur_instantane(conn, &pendant).unwrap(), x);
    diesel::sql_query("COMMIT").execute(autre).unwrap();
    // Ended since the snapshot: it no longer does.
    let h = changements::horizon_sur_instantane(conn, &pendant).unwrap();
    assert!(h > x, "horizon {h} retenu par la transaction finie {x}");
    // The snapshot's own bound: nothing at or after it was running.
    let xmax: i64 = pendant.split(':').nth(1).unwrap().parse().unwrap();
    assert_eq!(h, xmax);
}
