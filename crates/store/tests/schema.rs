//! The schema on both backends: migrations revert and re-apply, both backends hold the same
//! logical schema, and the database itself refuses the rows the domain forbids.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{Integer, Text};
use onde_store::testing::BaseDeTest;
use onde_store::{definitions, migrations, par_backend, Backend, DbConnection};

/// Tables and views (`changements_portee` is a view since issue 18).
const TABLES: [&str; 21] = [
    "audit",
    "changements",
    "changements_cles",
    "changements_portee",
    "changements_purge",
    "changements_suspendus",
    "cles_signature",
    "clients",
    "communes",
    "ecoles",
    "eleves",
    "eleves_responsables",
    "idempotence",
    "imports",
    "imports_rejets",
    "inscriptions",
    "mandats",
    "partenaires",
    "partenaires_communes",
    "partenaires_uais",
    "responsables",
];

#[derive(QueryableByName)]
struct ColonnePg {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[derive(QueryableByName)]
struct ColonneSqlite {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Integer)]
    non_nul: i32,
}

#[derive(QueryableByName)]
struct Nom {
    #[diesel(sql_type = Text)]
    nom: String,
}

/// Both backends' type names mapped to one vocabulary; an unknown type fails the test.
fn type_canonique(t: &str) -> &'static str {
    match t.to_ascii_lowercase().as_str() {
        "text" => "text",
        "date" => "date",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "bigint" => "bigint",
        "integer" => "integer",
        "boolean" => "boolean",
        "bytea" | "blob" => "binary",
        autre => panic!("type de colonne inattendu : {autre}"),
    }
}

/// (table, column) -> (canonical type, nullable), migrations bookkeeping excluded. A SQLite
/// `INTEGER PRIMARY KEY` is the 64-bit, never-null rowid: PostgreSQL's BIGINT identity.
fn colonnes(conn: &mut DbConnection) -> BTreeMap<(String, String), (&'static str, bool)> {
    match conn {
        DbConnection::Pg(c) => diesel::sql_query(
            "SELECT table_name::text AS table_name, column_name::text AS column_name, \
                    data_type::text AS data_type, is_nullable::text AS is_nullable \
             FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
        )
        .load::<ColonnePg>(c)
        .unwrap()
        .into_iter()
        .map(|l| {
            (
                (l.table_name, l.column_name),
                (type_canonique(&l.data_type), l.is_nullable == "YES"),
            )
        })
        .collect(),
        DbConnection::Sqlite(c) => diesel::sql_query(
            "SELECT m.name AS table_name, p.name AS column_name, \
                    CASE WHEN p.pk = 1 AND p.type = 'INTEGER' THEN 'BIGINT' ELSE p.type END AS data_type, \
                    CASE WHEN p.pk = 1 AND p.type = 'INTEGER' THEN 1 ELSE p.\"notnull\" END AS non_nul \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%' \
             AND m.name <> '__diesel_schema_migrations'",
        )
        .load::<ColonneSqlite>(c)
        .unwrap()
        .into_iter()
        .map(|l| {
            (
                (l.table_name, l.column_name),
                (type_canonique(&l.data_type), l.non_nul == 0),
            )
        })
        .collect(),
    }
}

/// Names of the explicitly created indexes (not those backing primary keys or UNIQUE columns).
fn index(conn: &mut DbConnection) -> BTreeSet<String> {
    let noms = match conn {
        DbConnection::Pg(c) => diesel::sql_query(
            "SELECT indexname::text AS nom FROM pg_indexes \
             WHERE schemaname = 'public' AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key'",
        )
        .load::<Nom>(c)
        .unwrap(),
        DbConnection::Sqlite(c) => {
            diesel::sql_query("SELECT name AS nom FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
                .load::<Nom>(c)
                .unwrap()
        }
    };
    noms.into_iter().map(|n| n.nom).collect()
}

fn tables(conn: &mut DbConnection) -> BTreeSet<String> {
    colonnes(conn).into_keys().map(|(t, _)| t).collect()
}

fn executer(conn: &mut DbConnection, sql: &str) -> Result<usize, DieselError> {
    par_backend!(conn, c => diesel::sql_query(sql).execute(c))
}

fn genre(r: Result<usize, DieselError>) -> DatabaseErrorKind {
    match r {
        Err(DieselError::DatabaseError(kind, info)) => {
            eprintln!("refus attendu : {}", info.message());
            kind
        }
        autre => panic!("la base aurait dû refuser la ligne : {autre:?}"),
    }
}

const ELEVE: &str = "0190a3c2-0000-4000-8000-000000000001";

/// A commune, two schools and a pupil, for raw inscription rows.
fn socle(conn: &mut DbConnection) {
    for sql in [
        "INSERT INTO communes (code_insee, nom) VALUES ('75056', 'Paris')",
        "INSERT INTO ecoles (uai, nom, type_ecole, secteur, code_commune) VALUES \
         ('0750655E', 'École primaire Jean Jaurès', 'primaire', 'public', '75056'), \
         ('0750654D', 'École primaire Victor Hugo', 'primaire', 'public', '75056')",
    ] {
        executer(conn, sql).unwrap();
    }
    executer(
        conn,
        &format!(
            "INSERT INTO eleves (id, nom, prenom1, sexe, date_naissance, lieu_naissance, cree_le, modifie_le, \
             cle_doublon) VALUES ('{ELEVE}', 'Martin', 'Léa', 'F', '2020-03-04', '75056', '2026-09-01 08:00:00', \
             '2026-09-01 08:00:00', 'martin|lea|F|2020-03-04|75056')"
        ),
    )
    .unwrap();
}

/// Raw inscription row of the test pupil in 2026-2027.
fn inscription(numero: u32, uai: &str, statut: &str, date_radiation: Option<&str>) -> String {
    let radiation = date_radiation.map_or("NULL".to_owned(), |d| format!("'{d}'"));
    format!(
        "INSERT INTO inscriptions (id, eleve_id, uai, annee_scolaire, niveau, statut, admission_provisoire, \
         date_inscription, date_radiation, cree_le, modifie_le) VALUES \
         ('0190a3c2-0000-4000-8000-{numero:012}', '{ELEVE}', '{uai}', '2026-2027', 'CP', '{statut}', FALSE, \
         '2026-05-01', {radiation}, '2026-05-01 08:00:00', '2026-05-01 08:00:00')"
    )
}

onde_store::tests_deux_backends! {
    fn migrations_annulees_puis_reappliquees(base) {
        let mut conn = base.store.connexion().unwrap();
        let avant = colonnes(&mut conn);
        assert_eq!(tables(&mut conn), TABLES.iter().map(|t| t.to_string()).collect());

        migrations::tout_annuler(&mut conn).unwrap();
        assert!(tables(&mut conn).is_empty(), "tables restantes après annulation : {:?}", tables(&mut conn));
        assert!(index(&mut conn).is_empty());
        // The replaceable schema went with its tables.
        assert_eq!(definitions::en_base(&mut conn).unwrap(), definitions::Definitions::new());

        let appliquees = migrations::appliquer(&mut conn).unwrap();
        assert!(!appliquees.is_empty());
        assert_eq!(colonnes(&mut conn), avant);
        assert_eq!(ecarts(&mut conn), Vec::<String>::new());
        // Nothing left to apply: the bookkeeping survived the round trip.
        assert!(migrations::appliquer(&mut conn).unwrap().is_empty());
        // The re-created schema is usable.
        socle(&mut conn);
        executer(&mut conn, &inscription(1, "0750655E", "inscrit", None)).unwrap();
    }

    fn une_seule_inscription_active_par_annee(base) {
        let mut conn = base.store.connexion().unwrap();
        socle(&mut conn);
        executer(&mut conn, &inscription(1, "0750655E", "admis_definitif", None)).unwrap();
        // Another school, same pupil and year: refused while the first is active.
        let r = executer(&mut conn, &inscription(2, "0750654D", "inscrit", None));
        assert_eq!(genre(r), DatabaseErrorKind::UniqueViolation);
        // A radiated inscription does not count.
        executer(&mut conn, &inscription(3, "0750654D", "radie", Some("2026-10-01"))).unwrap();
        executer(
            &mut conn,
            "UPDATE inscriptions SET statut = 'radie', date_radiation = '2026-10-02' \
             WHERE id = '0190a3c2-0000-4000-8000-000000000001'",
        )
        .unwrap();
        executer(&mut conn, &inscription(2, "0750654D", "inscrit", None)).unwrap();
        // And the new one is now the active one.
        let r = executer(&mut conn, &inscription(4, "0750655E", "en_attente", None));
        assert_eq!(genre(r), DatabaseErrorKind::UniqueViolation);
        // Another school year is independent.
        executer(
            &mut conn,
            &inscription(5, "0750655E", "en_attente", None).replace("'2026-2027'", "'2027-2028'"),
        )
        .unwrap();
    }

    fn contraintes_check(base) {
        let mut conn = base.store.connexion().unwrap();
        socle(&mut conn);
        let refus = [
            ("statut inconnu", inscription(1, "0750655E", "accepte", None)),
            ("radiée sans date de radiation", inscription(2, "0750655E", "radie", None)),
            ("date de radiation sans radiation", inscription(3, "0750655E", "inscrit", Some("2026-10-01"))),
            (
                "motif de radiation sans radiation",
                inscription(4, "0750655E", "inscrit", None)
                    .replace("statut,", "statut, motif_radiation,")
                    .replace("'inscrit',", "'inscrit', 'demenagement',"),
            ),
            (
                "admission provisoire hors statut admis",
                inscription(5, "0750655E", "inscrit", None).replace("FALSE", "TRUE"),
            ),
            (
                "UAI mal formé",
                "INSERT INTO ecoles (uai, nom, type_ecole, secteur, code_commune) \
                 VALUES ('075065E5', 'École', 'primaire', 'public', '75056')"
                    .to_owned(),
            ),
            (
                "UAI avec une lettre exclue",
                "INSERT INTO ecoles (uai, nom, type_ecole, secteur, code_commune) \
                 VALUES ('0750655I', 'École', 'primaire', 'public', '75056')"
                    .to_owned(),
            ),
            (
                "type d'école inconnu",
                "INSERT INTO ecoles (uai, nom, type_ecole, secteur, code_commune) \
                 VALUES ('0951099D', 'Collège', 'college', 'public', '75056')"
                    .to_owned(),
            ),
            (
                "troisième prénom sans deuxième",
                "INSERT INTO eleves (cle_doublon, id, nom, prenom1, prenom3, sexe, date_naissance, lieu_naissance, cree_le, \
                 modifie_le) VALUES ('cle-0', '0190a3c2-0000-4000-8000-0000000000aa', 'Martin', 'Léa', 'Rose', 'F', \
                 '2020-03-04', '75056', '2026-09-01 08:00:00', '2026-09-01 08:00:00')"
                    .to_owned(),
            ),
            (
                "adresse incomplète",
                "INSERT INTO eleves (cle_doublon, id, nom, prenom1, sexe, date_naissance, lieu_naissance, adresse_voie, \
                 cree_le, modifie_le) VALUES ('cle-1', '0190a3c2-0000-4000-8000-0000000000ab', 'Martin', 'Léa', 'F', \
                 '2020-03-04', '75056', '3 rue des Lilas', '2026-09-01 08:00:00', '2026-09-01 08:00:00')"
                    .to_owned(),
            ),
        ];
        for (cas, sql) in refus {
            let r = executer(&mut conn, &sql);
            assert_eq!(genre(r), DatabaseErrorKind::CheckViolation, "{cas}");
        }
        // The same rows, corrected, are accepted: the refusals came from the rule under test.
        executer(&mut conn, &inscription(6, "0750655E", "radie", Some("2026-10-01"))).unwrap();
        executer(
            &mut conn,
            "INSERT INTO ecoles (uai, nom, type_ecole, secteur, code_commune) \
             VALUES ('0951099D', 'École', 'primaire', 'public', '75056')",
        )
        .unwrap();
    }
}

/// Both backends hold the same tables, columns, nullability, compatible types and indexes.
#[test]
fn meme_schema_logique_sur_les_deux_backends() {
    let sqlite = BaseDeTest::sqlite();
    let postgres = BaseDeTest::postgres();
    let mut cs = sqlite.store.connexion().unwrap();
    let mut cp = postgres.store.connexion().unwrap();
    let (colonnes_sqlite, colonnes_pg) = (colonnes(&mut cs), colonnes(&mut cp));
    assert_eq!(tables(&mut cs), TABLES.iter().map(|t| t.to_string()).collect());
    for (cle, pg) in &colonnes_pg {
        assert_eq!(colonnes_sqlite.get(cle), Some(pg), "colonne {cle:?}");
    }
    assert_eq!(colonnes_sqlite, colonnes_pg);
    let index_sqlite = index(&mut cs);
    assert!(index_sqlite.contains("inscriptions_une_active_par_annee"));
    assert_eq!(index_sqlite, index(&mut cp));
}

/// What differs between the database and the files: the store's comparison (the one every
/// start runs), after checking that it read the files' definitions.
fn ecarts(conn: &mut DbConnection) -> Vec<String> {
    let backend = match conn {
        DbConnection::Pg(_) => Backend::Postgres,
        DbConnection::Sqlite(_) => Backend::Sqlite,
    };
    let attendues = definitions::attendues(backend).unwrap();
    assert!(
        attendues.len() > 10,
        "définitions lues dans les fichiers : {attendues:?}"
    );
    definitions::ecarts(conn).unwrap()
}

onde_store::tests_deux_backends! {
    fn definitions_appliquees_egales_aux_fichiers(base) {
        let mut conn = base.store.connexion().unwrap();
        assert_eq!(ecarts(&mut conn), Vec::<String>::new());

        // The comparison sees a definition changed or dropped by hand...
        let alterations = match &*conn {
            DbConnection::Pg(_) => vec![
                "CREATE OR REPLACE FUNCTION changements_rang(op TEXT) RETURNS INTEGER LANGUAGE sql IMMUTABLE AS $$ SELECT 1 $$",
                "DROP TRIGGER eleves_changements_insertion ON eleves; CREATE TRIGGER eleves_changements_insertion \
                 AFTER INSERT ON eleves REFERENCING NEW TABLE AS nouveau FOR EACH STATEMENT EXECUTE FUNCTION changements_eleves()",
                "DROP TRIGGER ecoles_changements ON ecoles",
                "ALTER TABLE inscriptions DISABLE TRIGGER inscriptions_changements_suppression",
            ],
            DbConnection::Sqlite(_) => vec![
                "DROP TRIGGER eleves_changements_resume; CREATE TRIGGER eleves_changements_resume AFTER UPDATE ON eleves \
                 BEGIN SELECT 1; END",
                "DROP TRIGGER ecoles_changements_insertion",
            ],
        };
        let n = alterations.len();
        for sql in alterations {
            par_backend!(&mut *conn, c => c.batch_execute(sql)).unwrap();
        }
        let vus = ecarts(&mut conn);
        assert_eq!(vus.len(), n, "{vus:#?}");

        // ...and the next migration run puts the files' definitions back.
        assert!(migrations::appliquer(&mut conn).unwrap().is_empty());
        assert_eq!(ecarts(&mut conn), Vec::<String>::new());
    }
}

/// A node starting while another writes (an import chunk in progress) takes no lock on the
/// feed's tables when its definitions are up to date: re-creating a trigger would queue an
/// exclusive lock behind the writer, and every reader of the table behind that lock.
/// PostgreSQL only: on SQLite diesel's migration harness itself waits for the one write lock.
#[test]
fn demarrage_sans_verrou_sur_une_base_a_jour() {
    let base = BaseDeTest::postgres();
    let mut ecrivain = PgConnection::establish(&base.url).unwrap();
    ecrivain
        .batch_execute("BEGIN; LOCK TABLE eleves IN ROW EXCLUSIVE MODE")
        .unwrap();
    let mut noeud = DbConnection::Pg(PgConnection::establish(&base.url).unwrap());
    par_backend!(&mut noeud, c => c.batch_execute("SET lock_timeout = '2s'")).unwrap();

    let debut = std::time::Instant::now();
    let appliquees = migrations::appliquer(&mut noeud);
    let duree = debut.elapsed();
    assert!(
        matches!(&appliquees, Ok(v) if v.is_empty()),
        "démarrage bloqué par l'écriture en cours : {appliquees:?} après {duree:?}"
    );
    assert!(duree < std::time::Duration::from_secs(2), "{duree:?}");
    ecrivain.batch_execute("COMMIT").unwrap();
}
