//! The change feed, end to end over HTTP on both backends: a mirror kept by the feed alone
//! equals the source restricted to the perimeter while writers commit concurrently (and out of
//! order), and rows that leave a perimeter come as tombstones to the partner that loses them
//! and as data to the one that gains them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::commun::*;
use diesel::RunQueryDsl;
use onde_domain::TypePartenaire;
use onde_store::testing::BaseDeTest;
use onde_store::DbConnection;
use rand::{Rng, SeedableRng};
use serde_json::Value;

mod miroirs;

const SCOPES_LECTURE: &str = "ecoles:read eleves:read inscriptions:read";

/// A partner's local copy: (resource, id) -> data, as the feed gives it.
#[derive(Default)]
struct Miroir {
    lignes: BTreeMap<(String, String), Value>,
    curseur: String,
}

impl Miroir {
    fn appliquer(&mut self, page: &Value) {
        for e in page["elements"].as_array().unwrap() {
            let ressource = e["ressource"].as_str().unwrap().to_owned();
            let id = e["id"].as_str().unwrap().to_owned();
            if let Some(ancienne) = e["ancienne_cle"].as_str() {
                if ressource == "ecole" {
                    self.lignes.remove(&(ressource.clone(), ancienne.to_owned()));
                }
            }
            match &e["donnees"] {
                Value::Null => {
                    self.lignes.remove(&(ressource, id));
                }
                d => {
                    self.lignes.insert((ressource, id), d.clone());
                }
            }
        }
        self.curseur = page["curseur_suivant"].as_str().unwrap().to_owned();
    }
}

/// Reads the feed until it is up to date; returns the pages read.
async fn synchroniser<S, B>(app: &S, jeton: &str, miroir: &mut Miroir, limite: u32) -> usize
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let mut pages = 0;
    loop {
        let r = get(
            app,
            jeton,
            &format!("/v1/changements?limit={limite}&depuis={}", miroir.curseur),
        )
        .await;
        assert_eq!(r.statut, 200, "{}", r.texte);
        miroir.appliquer(&r.corps);
        pages += 1;
        if r.corps["a_jour"] == true {
            return pages;
        }
    }
}

async fn curseur_initial<S, B>(app: &S, jeton: &str) -> String
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let r = get(app, jeton, "/v1/changements").await;
    assert_eq!(r.statut, 200, "{}", r.texte);
    assert!(r.corps["elements"].as_array().unwrap().is_empty());
    r.corps["curseur_suivant"].as_str().unwrap().to_owned()
}

/// Every list the caller reads (schools, pupils, inscriptions), page by page, each row's JSON
/// exactly as the list shows it; guardians in the feed's shape, built from the pupils' records
/// as the `miroir` command builds them (their fields and the pupils they are seen through).
/// A mirror kept by the feed alone must equal this, field for field.
async fn listes<S, B>(app: &S, jeton: &str) -> BTreeMap<(String, String), Value>
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let mut lignes = BTreeMap::new();
    let mut responsables: BTreeMap<String, Value> = BTreeMap::new();
    for (chemin, ressource, cle) in [
        ("/v1/ecoles", "ecole", "uai"),
        ("/v1/eleves", "eleve", "id"),
        ("/v1/inscriptions", "inscription", "id"),
    ] {
        let mut uri = format!("{chemin}?limit=1000");
        loop {
            let r = get(app, jeton, &uri).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            for e in r.corps["elements"].as_array().unwrap() {
                let id = e[cle].as_str().unwrap().to_owned();
                for resp in e["responsables"].as_array().into_iter().flatten() {
                    let rid = resp["id"].as_str().unwrap().to_owned();
                    let entree = responsables.entry(rid.clone()).or_insert_with(|| {
                        let mut v =
                            serde_json::json!({"id": rid, "nom": resp["nom"], "prenom": resp["prenom"], "eleves": []});
                        for champ in ["telephone", "courriel", "adresse"] {
                            if let Some(x) = resp.get(champ) {
                                v[champ] = x.clone();
                            }
                        }
                        v
                    });
                    entree["eleves"].as_array_mut().unwrap().push(Value::String(id.clone()));
                }
                let avant = lignes.insert((ressource.to_owned(), id), e.clone());
                assert!(avant.is_none(), "{ressource} deux fois dans les listes");
            }
            match r.corps["lien_suivant"].as_str() {
                Some(l) => uri = l.to_owned(),
                None => break,
            }
        }
    }
    lignes.extend(
        responsables
            .into_iter()
            .map(|(id, v)| (("responsable".to_owned(), id), v)),
    );
    lignes
}

/// [`listes`] of a partner, with an app of its own (outside any test runtime).
fn listes_de(base: &BaseDeTest, id: &Identifiants) -> BTreeMap<(String, String), Value> {
    let mut l = BTreeMap::new();
    executer(async {
        let app = actix_web::test::init_service(api::app(etat(base))).await;
        let j = jeton(&app, id).await;
        l = listes(&app, &j).await;
    });
    l
}

/// A mirror's first state: the cursor of now, then every list, as the `miroir` command does.
async fn instantane<S, B>(app: &S, jeton: &str) -> Miroir
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    Miroir {
        curseur: curseur_initial(app, jeton).await,
        lignes: listes(app, jeton).await,
    }
}

fn executer_sql(c: &mut DbConnection, sql: &str) {
    diesel::sql_query(sql).execute(c).unwrap();
}

/// Random writes: pupils change school (between communes), get radiated, move house; others
/// are renamed, get a new INE (and sex), birth date or first name; guardians change phone.
/// Pupils pushed by batches (named `Lot…`) are left alone. Each transaction holds its writes a few milliseconds before it
/// commits, so transactions commit in another order than they started writing.
/// `n` writer threads of `transactions` transactions each, each on a connection of its own,
/// outside the app's pool (the readers keep theirs).
fn lancer_ecrivains(base: &BaseDeTest, n: u64, transactions: usize) -> Vec<std::thread::JoinHandle<()>> {
    (0..n)
        .map(|g| {
            let options = onde_store::OptionsPool {
                taille_max: 1,
                // No background refill while the test process exits (libpq's exit handlers).
                min_inactives: 0,
                ..Default::default()
            };
            let store = onde_store::Store::ouvrir(&base.url, &options).unwrap();
            std::thread::spawn(move || ecrivain(&store, g, transactions))
        })
        .collect()
}

/// The next INE sequence number the writers give.
static INES_ECRIVAINS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn ecrivain(store: &onde_store::Store, graine: u64, transactions: usize) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(graine);
    let mut conn = store.connexion().unwrap();
    let c = &mut conn;
    #[derive(diesel::QueryableByName)]
    struct Paire {
        #[diesel(sql_type = diesel::sql_types::Text)]
        a: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        b: String,
    }
    let paires = |c: &mut DbConnection, sql: &str| -> Vec<(String, String)> {
        diesel::sql_query(sql)
            .load::<Paire>(c)
            .unwrap()
            .into_iter()
            .map(|p| (p.a, p.b))
            .collect()
    };
    // The first half of the pupils is renamed once each (a pupil per transaction, touched by
    // nothing else): a skipped event would leave the old summary in the mirror for good, in the
    // pupil's row and in its inscriptions'. Their perimeter keys never change, so that no
    // concurrent transaction computes their keys from a state another one is changing (a race
    // of the triggers under READ COMMITTED, outside this test's subject). The random changes of
    // keys (school, radiation, residence) go to the other half; phones to the guardians of the
    // first half alone.
    let eleves = paires(
        c,
        "SELECT id AS a, nom AS b FROM eleves WHERE nom NOT LIKE 'Lot%' ORDER BY id",
    );
    let moitie = eleves[eleves.len() / 2].0.clone();
    let a_renommer: Vec<&(String, String)> = eleves[..eleves.len() / 2]
        .iter()
        .skip(graine as usize)
        .step_by(4)
        .collect();
    let inscriptions = paires(
        c,
        &format!(
            "SELECT id AS a, eleve_id AS b FROM inscriptions WHERE statut <> 'radie' AND eleve_id >= '{moitie}' \
             AND eleve_id NOT IN (SELECT id FROM eleves WHERE nom LIKE 'Lot%')"
        ),
    );
    let ecoles = paires(c, "SELECT uai AS a, code_commune AS b FROM ecoles");
    let responsables = paires(
        c,
        &format!(
            "SELECT id AS a, nom AS b FROM responsables WHERE id NOT IN \
             (SELECT l.responsable_id FROM eleves_responsables l JOIN eleves e ON e.id = l.eleve_id \
              WHERE e.id >= '{moitie}' OR e.nom LIKE 'Lot%')"
        ),
    );
    let communes = paires(c, "SELECT code_insee AS a, nom AS b FROM communes");
    for t in 0..transactions {
        let ops = rng.random_range(1..4);
        let mut sql = Vec::new();
        for _ in 0..ops {
            let (id, eleve) = &inscriptions[rng.random_range(0..inscriptions.len())];
            match rng.random_range(0..5) {
                0 | 1 => {
                    let (uai, _) = &ecoles[rng.random_range(0..ecoles.len())];
                    sql.push(format!("UPDATE inscriptions SET uai = '{uai}', version = version + 1 WHERE id = '{id}'"));
                }
                2 => sql.push(format!(
                    "UPDATE inscriptions SET statut = 'radie', date_radiation = '2026-11-30', admission_provisoire = FALSE, version = version + 1 \
                     WHERE id = '{id}' AND statut <> 'radie'"
                )),
                3 => {
                    let (commune, _) = &communes[rng.random_range(0..communes.len())];
                    sql.push(format!(
                        "UPDATE eleves SET adresse_commune = '{commune}', adresse_voie = '{t} rue du Test', adresse_code_postal = '01000' WHERE id = '{eleve}'"
                    ));
                }
                _ => {
                    let (r, _) = &responsables[rng.random_range(0..responsables.len())];
                    sql.push(format!("UPDATE responsables SET telephone = '06{:08}' WHERE id = '{r}'", rng.random_range(0..100_000_000u32)));
                }
            }
        }
        // The summary inscriptions embed: a new name, with a new INE and sex, birth date or
        // first name in turn.
        if let Some((id, _)) = a_renommer.get(t) {
            let autre = match t % 3 {
                0 => {
                    // A series no seeded pupil has, one number per write of the whole run.
                    let n = INES_ECRIVAINS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let ine = onde_domain::Ine::bea(99, 99, n).unwrap();
                    format!(
                        "ine = '{}', sexe = CASE sexe WHEN 'F' THEN 'M' ELSE 'F' END",
                        ine.as_str()
                    )
                }
                1 => format!(
                    "date_naissance = '2019-{:02}-{:02}'",
                    rng.random_range(1..13),
                    rng.random_range(1..29)
                ),
                _ => format!("prenom1 = 'Prénom-{graine}-{t}'"),
            };
            sql.push(format!(
                "UPDATE eleves SET nom = 'Unique-{graine}-{t}', {autre} WHERE id = '{id}'"
            ));
        }
        // Some transactions stay open long after their first write: later ones commit first.
        let pause = Duration::from_millis(if rng.random_bool(0.2) {
            rng.random_range(40..120)
        } else {
            rng.random_range(0..3)
        });
        c.transaction::<_, diesel::result::Error, _>(|c| {
            onde_store::verrou_ecriture(c).unwrap();
            for s in &sql {
                diesel::sql_query(s).execute(c)?;
            }
            std::thread::sleep(pause);
            Ok(())
        })
        .unwrap();
    }
}

use diesel::Connection;

/// The gateway on a loopback port, in its own thread; stopped when dropped.
struct Serveur {
    port: u16,
    arret: Option<actix_web::dev::ServerHandle>,
    fil: Option<std::thread::JoinHandle<()>>,
}

impl Serveur {
    fn demarrer(etat: api::EtatApp) -> Self {
        let (envoi, reception) = std::sync::mpsc::channel();
        let fil = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let serveur = actix_web::HttpServer::new(move || api::app(etat.clone()))
                    .workers(2)
                    .bind("127.0.0.1:0")
                    .unwrap();
                let port = serveur.addrs()[0].port();
                let serveur = serveur.run();
                envoi.send((port, serveur.handle())).unwrap();
                serveur.await.unwrap();
            })
        });
        let (port, arret) = reception.recv().unwrap();
        Self {
            port,
            arret: Some(arret),
            fil: Some(fil),
        }
    }
}

impl Drop for Serveur {
    fn drop(&mut self) {
        if let Some(a) = self.arret.take() {
            actix_web::rt::System::new().block_on(a.stop(true));
        }
        if let Some(f) = self.fil.take() {
            let _ = f.join();
        }
    }
}

/// The `miroir` command against the server.
fn commande_miroir(serveur: &Serveur, id: &Identifiants, fichier: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_onde-echanges"));
    c.args([
        "miroir",
        "--url",
        &format!("http://127.0.0.1:{}", serveur.port),
        "--client-id",
        &id.client_id,
    ])
    .args(["--vers", &fichier.to_string_lossy(), "--limit", "97"])
    .env("ONDE_CLIENT_SECRET", &id.secret)
    .env("RUST_LOG", "warn");
    c
}

/// What the mirror's SQLite file holds: each row's JSON.
fn contenu_miroir(fichier: &std::path::Path) -> BTreeMap<(String, String), Value> {
    #[derive(diesel::QueryableByName)]
    struct Ligne {
        #[diesel(sql_type = diesel::sql_types::Text)]
        r: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        donnees: String,
    }
    let mut c = diesel::sqlite::SqliteConnection::establish(&fichier.to_string_lossy()).unwrap();
    let lignes: Vec<Ligne> = diesel::sql_query(
        "SELECT 'ecole' AS r, uai AS id, donnees FROM ecoles UNION ALL SELECT 'eleve', id, donnees FROM eleves \
         UNION ALL SELECT 'inscription', id, donnees FROM inscriptions UNION ALL SELECT 'responsable', id, donnees FROM responsables",
    )
    .load(&mut c)
    .unwrap();
    lignes
        .into_iter()
        .map(|l| ((l.r, l.id), serde_json::from_str(&l.donnees).unwrap()))
        .collect()
}

/// A mairie of the seeded base's first two communes.
fn mairie_de_deux_communes(base: &BaseDeTest) -> Identifiants {
    let communes: Vec<String> = toutes_les_ecoles(base)
        .iter()
        .map(|e| e.commune.as_str().to_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    partenaire(
        base,
        TypePartenaire::Mairie,
        SCOPES_LECTURE,
        &[&communes[0], &communes[1]],
        &[],
        &[],
    )
}

/// A row as compared: a guardian's pupils are a set (the feed does not order them).
fn comparable(ressource: &str, v: &Value) -> Value {
    let mut v = v.clone();
    if ressource == "responsable" {
        if let Some(eleves) = v["eleves"].as_array_mut() {
            eleves.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        }
    }
    v
}

/// The rows where a mirror differs from the lists, every field compared: (resource, detail).
fn ecarts(
    attendu: &BTreeMap<(String, String), Value>,
    vu: &BTreeMap<(String, String), Value>,
) -> Vec<(String, String)> {
    let mut e = Vec::new();
    for ((r, id), x) in attendu {
        match vu.get(&(r.clone(), id.clone())) {
            Some(y) if comparable(r, y) == comparable(r, x) => {}
            Some(y) => e.push((r.clone(), format!("{r} {id} : listes {x}, miroir {y}"))),
            None => e.push((r.clone(), format!("{r} {id} absent du miroir"))),
        }
    }
    for (r, id) in vu.keys() {
        if !attendu.contains_key(&(r.clone(), id.clone())) {
            e.push((r.clone(), format!("{r} {id} en trop dans le miroir")));
        }
    }
    e
}

/// Asserts that a mirror equals the lists field for field; else says how many rows of each
/// resource are stale, out of how many, with a few examples.
fn assert_miroir_exact(qui: &str, attendu: &BTreeMap<(String, String), Value>, vu: &BTreeMap<(String, String), Value>) {
    let e = ecarts(attendu, vu);
    let mut par: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (r, _) in attendu.keys() {
        par.entry(r.as_str()).or_default().1 += 1;
    }
    for (r, _) in &e {
        par.entry(r.as_str()).or_default().0 += 1;
    }
    let exemples: Vec<&String> = e.iter().map(|(_, d)| d).take(3).collect();
    assert!(
        e.is_empty(),
        "{qui} : {} lignes différentes des listes (par ressource, différentes/attendues : {par:?}), dont {exemples:#?}",
        e.len()
    );
}

/// The items of a batch with their pupils renamed again (`-v{k}`), and with other birth dates
/// (k = 2) or other first names (k = 3): changes of the summary inscriptions embed, nothing
/// else of the pupil (an item's inscriptions and address as they were).
fn renommes(lot: &[Value], k: u32) -> Vec<Value> {
    lot.iter()
        .enumerate()
        .map(|(i, e)| {
            let mut e = e.clone();
            let nom = format!("{}-v{k}", e["eleve"]["nom"].as_str().unwrap());
            e["eleve"]["nom"] = Value::String(nom);
            match k {
                2 => e["eleve"]["date_naissance"] = Value::String(format!("2020-{:02}-{:02}", 1 + i % 12, 1 + i % 28)),
                3 => e["eleve"]["prenoms"] = serde_json::json!(["Lou", "Ana"]),
                _ => {}
            }
            e
        })
        .collect()
}

/// `POST /v1/lots/eleves`: every item must be applied.
async fn pousser<S, B>(app: &S, jeton: &str, elements: Vec<Value>)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let r = requete(
        app,
        actix_web::http::Method::POST,
        "/v1/lots/eleves",
        jeton,
        &[],
        Some(&serde_json::json!({ "elements": elements })),
    )
    .await;
    assert_eq!(r.statut, 200, "{}", r.texte);
    let rejetes: Vec<&Value> = r.corps["resultats"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["resultat"] == "rejete")
        .collect();
    assert!(rejetes.is_empty(), "{rejetes:?}");
}
