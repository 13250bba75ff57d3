//! The change feed, end to end over HTTP on both backends: a mirror kept by the feed alone
//! equals the source restricted to the perimeter while writers commit concurrently (and out of
//! order), and rows that leave a perimeter come as tombstones to the partner that loses them
//! and as data to the one that gains them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod commun;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use commun::*;
use diesel::RunQueryDsl;
use onde_domain::TypePartenaire;
use onde_store::testing::BaseDeTest;
use onde_store::DbConnection;
use rand::{Rng, SeedableRng};
use serde_json::Value;

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
        let app = actix_web::test::init_service(onde_api::app(etat(base))).await;
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
    fn demarrer(etat: onde_api::EtatApp) -> Self {
        let (envoi, reception) = std::sync::mpsc::channel();
        let fil = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let serveur = actix_web::HttpServer::new(move || onde_api::app(etat.clone()))
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

onde_store::tests_deux_backends! {
    fn miroir_exact_sous_ecritures_concurrentes(base) {
        seeder_communes(base, 400, 4);
        let etat = etat(base);
        let communes: Vec<String> = toutes_les_ecoles(base).iter().map(|e| e.commune.as_str().to_owned()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        assert!(communes.len() >= 3, "{communes:?}");
        let elementaires: Vec<onde_domain::Ecole> = toutes_les_ecoles(base)
            .into_iter()
            .filter(|e| e.type_ecole != onde_domain::TypeEcole::Maternelle)
            .collect();
        let toutes: Vec<&str> = communes.iter().map(String::as_str).collect();
        // Pupils are written under schools' mandates only (a commune's mandate lends no eleves:write).
        let uais: Vec<String> = toutes_les_ecoles(base).iter().map(|e| e.uai.as_str().to_owned()).collect();
        let mandats: Vec<&str> = uais.iter().map(String::as_str).collect();
        let editeur = partenaire(base, TypePartenaire::Editeur, &TypePartenaire::Editeur.scopes_possibles().to_string(), &[], &[], &mandats);
        executer(async {
            let app = actix_web::test::init_service(onde_api::app(etat.clone())).await;
            let mairie = partenaire(base, TypePartenaire::Mairie, SCOPES_LECTURE, &[&communes[0], &communes[1]], &[], &[]);
            // "National": a mairie of every commune (a partner's perimeter is never unbounded).
            let national = partenaire(base, TypePartenaire::Mairie, SCOPES_LECTURE, &toutes, &[], &[]);
            let j_national = jeton(&app, &national).await;
            let j_mairie = jeton(&app, &mairie).await;
            let j_editeur = jeton(&app, &editeur).await;
            // Each mirror: the cursor of now, then the lists (the seed left no history).
            let mut m_national = instantane(&app, &j_national).await;
            let mut m_mairie = instantane(&app, &j_mairie).await;

            // Meanwhile an editor pushes batches (set-based on PostgreSQL): new pupils, the same
            // changed (moved, renamed...), then renamed again, with other birth dates, other
            // first names. The writers leave these pupils alone.
            let (creations, changements) = lots_de_scenario(&elementaires, &communes, 810_000, 24);
            let mut lots = vec![
                creations,
                renommes(&changements, 1),
                changements.clone(),
                renommes(&changements, 2),
                renommes(&changements, 3),
            ]
            .into_iter();
            let ecrivains = lancer_ecrivains(base, 4, 60);
            // Poll continuously, in small pages, while the writers commit.
            let mut pages = 0;
            while !ecrivains.iter().all(|e| e.is_finished()) {
                if let Some(lot) = lots.next() {
                    pousser(&app, &j_editeur, lot).await;
                }
                pages += synchroniser(&app, &j_mairie, &mut m_mairie, 17).await;
                pages += synchroniser(&app, &j_national, &mut m_national, 50).await;
                actix_web::rt::time::sleep(Duration::from_millis(3)).await;
            }
            for lot in lots {
                pousser(&app, &j_editeur, lot).await;
            }
            for e in ecrivains {
                e.join().unwrap();
            }
            synchroniser(&app, &j_mairie, &mut m_mairie, 17).await;
            synchroniser(&app, &j_national, &mut m_national, 1000).await;
            assert!(pages > 20, "{pages} pages lues pendant les écritures");

            // Every field of every row, the pupil summaries inscriptions embed included.
            let l_mairie = listes(&app, &j_mairie).await;
            let l_national = listes(&app, &j_national).await;
            assert!(l_mairie.len() < l_national.len());
            assert!(l_mairie.keys().any(|(r, _)| r == "responsable"));
            // The batches' last names are in the lists, under the inscriptions too.
            assert!(l_national.iter().any(|((r, _), v)| r == "inscription" && v["eleve"]["nom"].as_str().is_some_and(|n| n.ends_with("-v3"))));
            assert_miroir_exact("mairie", &l_mairie, &m_mairie.lignes);
            assert_miroir_exact("national", &l_national, &m_national.lignes);
        });
    }

    fn pierres_tombales_et_changements_de_cle(base) {
        seeder_communes(base, 200, 3);
        let ecoles = toutes_les_ecoles(base);
        let communes: Vec<String> = ecoles.iter().map(|e| e.commune.as_str().to_owned()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let (ca, cb) = (communes[0].clone(), communes[1].clone());
        let ecole_a = ecoles.iter().find(|e| e.commune.as_str() == ca).unwrap().uai.as_str().to_owned();
        let ecole_b = ecoles.iter().find(|e| e.commune.as_str() == cb).unwrap().uai.as_str().to_owned();
        // A pupil of school A who lives in neither commune, with an active inscription.
        let i = toutes_les_inscriptions(base)
            .into_iter()
            .find(|i| i.inscription.uai.as_str() == ecole_a && i.inscription.statut != onde_domain::StatutInscription::Radie)
            .unwrap();
        let (id_i, id_e) = (i.inscription.id.to_string(), i.eleve.id.to_string());
        let mut conn = base.store.connexion().unwrap();
        executer_sql(&mut conn, &format!("UPDATE eleves SET adresse_voie = NULL, adresse_code_postal = NULL, adresse_commune = NULL WHERE id = '{id_e}'"));
        executer_sql(&mut conn, &format!("UPDATE inscriptions SET statut = 'radie', date_radiation = '2026-09-01', admission_provisoire = FALSE WHERE eleve_id = '{id_e}' AND id <> '{id_i}' AND statut <> 'radie'"));
        let etat = etat(base);
        executer(async {
            let app = actix_web::test::init_service(onde_api::app(etat.clone())).await;
            let m_a = partenaire(base, TypePartenaire::Mairie, SCOPES_LECTURE, &[&ca], &[], &[]);
            let m_b = partenaire(base, TypePartenaire::Mairie, SCOPES_LECTURE, &[&cb], &[], &[]);
            let (j_a, j_b) = (jeton(&app, &m_a).await, jeton(&app, &m_b).await);
            let debut = curseur_initial(&app, &j_a).await;
            let lire = |j: String, depuis: String| {
                let app = &app;
                async move {
                    // Until up to date (a transaction of another test may hold events back).
                    let mut par: HashMap<(String, String), (String, Value)> = HashMap::new();
                    let mut depuis = depuis;
                    loop {
                        let r = get(app, &j, &format!("/v1/changements?limit=1000&depuis={depuis}")).await;
                        assert_eq!(r.statut, 200, "{}", r.texte);
                        for e in r.corps["elements"].as_array().unwrap() {
                            par.insert(
                                (e["ressource"].as_str().unwrap().into(), e["id"].as_str().unwrap().into()),
                                (e["operation"].as_str().unwrap().into(), e.clone()),
                            );
                        }
                        depuis = r.corps["curseur_suivant"].as_str().unwrap().to_owned();
                        if r.corps["a_jour"] == true {
                            return (par, depuis);
                        }
                        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            };
            // Caught up, nothing changed: nothing to read, the cursor stays. (Right after the
            // cursor of "now", events of transactions that were still running may come again:
            // at least once, never skipped.)
            let (_, debut) = lire(j_a.clone(), debut.clone()).await;
            let (vide, meme) = lire(j_a.clone(), debut.clone()).await;
            assert!(vide.is_empty() && meme == debut);

            // The pupil changes school, from commune A to commune B.
            executer_sql(&mut base.store.connexion().unwrap(), &format!("UPDATE inscriptions SET uai = '{ecole_b}' WHERE id = '{id_i}'"));
            let (a, _) = lire(j_a.clone(), debut.clone()).await;
            let (b, curseur_b) = lire(j_b.clone(), debut.clone()).await;
            let cle = |r: &str, id: &str| (r.to_owned(), id.to_owned());
            assert_eq!(a[&cle("inscription", &id_i)].0, "sortie_perimetre", "{a:?}");
            assert_eq!(a[&cle("eleve", &id_e)].0, "sortie_perimetre");
            assert!(a[&cle("eleve", &id_e)].1.get("donnees").is_none());
            assert_eq!(b[&cle("inscription", &id_i)].1["donnees"]["uai"], ecole_b.as_str());
            assert_eq!(b[&cle("eleve", &id_e)].1["donnees"]["id"], id_e.as_str());
            // Its guardians leave A's mirror and enter B's with it.
            let responsables: Vec<&(String, String)> = a.keys().filter(|(r, _)| r == "responsable").collect();
            assert!(!responsables.is_empty());
            for k in responsables {
                // Still seen by A only through a sibling who stays.
                match a[k].1.get("donnees") {
                    None => assert_eq!(a[k].0, "sortie_perimetre"),
                    Some(d) => assert!(!d["eleves"].as_array().unwrap().iter().any(|v| v == id_e.as_str()), "{d}"),
                }
                assert!(b[k].1["donnees"]["eleves"].as_array().unwrap().iter().any(|v| v == id_e.as_str()));
            }

            // Radiated in B: the inscription stays (with its status), the pupil leaves B.
            executer_sql(&mut base.store.connexion().unwrap(), &format!("UPDATE inscriptions SET statut = 'radie', date_radiation = '2026-11-30', admission_provisoire = FALSE WHERE id = '{id_i}'"));
            let (b, curseur_b2) = lire(j_b.clone(), curseur_b.clone()).await;
            assert_eq!(b[&cle("inscription", &id_i)].0, "radiation");
            assert_eq!(b[&cle("inscription", &id_i)].1["donnees"]["statut"], "radie");
            assert_eq!(b[&cle("eleve", &id_e)].0, "sortie_perimetre");

            // A key change: a school's UAI corrected. B re-keys its row, with the old key.
            let ancien = ecole_b.clone();
            let nouvel = (0..10_000_000u32)
                .filter_map(|n| onde_domain::Uai::depuis_numero(n).ok())
                .find(|u| u.as_str()[..3] == ancien[..3] && !ecoles.iter().any(|e| e.uai == *u))
                .unwrap();
            executer_sql(&mut base.store.connexion().unwrap(), &format!("UPDATE ecoles SET uai = '{}' WHERE uai = '{ancien}'", nouvel.as_str()));
            let (b, _) = lire(j_b.clone(), curseur_b2.clone()).await;
            let e = &b[&cle("ecole", nouvel.as_str())];
            assert_eq!(e.0, "changement_cle", "{b:?}");
            assert_eq!(e.1["ancienne_cle"], ancien.as_str());
            assert!(!b.contains_key(&cle("ecole", &ancien)));
            // Its inscriptions follow (their uai changed with it).
            assert_eq!(b[&cle("inscription", &id_i)].1["donnees"]["uai"], nouvel.as_str());
            // A's feed knows nothing of B's school.
            let (a2, _) = lire(j_a.clone(), debut.clone()).await;
            assert!(!a2.contains_key(&cle("ecole", nouvel.as_str())));

            // A malformed cursor is a 400 naming the parameter.
            let r = get(&app, &j_a, "/v1/changements?depuis=nimporte").await;
            assert_probleme(&r, 400, "parametre_invalide");
            assert_eq!(r.corps["erreurs"][0]["parametre"], "depuis");
        });
    }

    fn miroir_exact_apres_lots(base) {
        // Batches take the set-based path on PostgreSQL (COPY into staging tables), whose feed
        // must be the one the item-by-item writes give: a mirror kept by the feed alone equals
        // the source, for a mairie and for a partner of every commune.
        seeder_communes(base, 300, 4);
        let ecoles: Vec<onde_domain::Ecole> = toutes_les_ecoles(base)
            .into_iter()
            .filter(|e| e.type_ecole != onde_domain::TypeEcole::Maternelle)
            .collect();
        let communes: Vec<String> = ecoles.iter().map(|e| e.commune.as_str().to_owned()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        assert!(communes.len() >= 3, "{communes:?}");
        let toutes: Vec<&str> = communes.iter().map(String::as_str).collect();
        let mairie = partenaire(base, TypePartenaire::Mairie, SCOPES_LECTURE, &toutes[..2], &[], &[]);
        let national = partenaire(base, TypePartenaire::Mairie, SCOPES_LECTURE, &toutes, &[], &[]);
        // Pupils are written under schools' mandates only (a commune's mandate lends no eleves:write).
        let mandats: Vec<&str> = ecoles.iter().map(|e| e.uai.as_str()).collect();
        let editeur = partenaire(base, TypePartenaire::Editeur, &TypePartenaire::Editeur.scopes_possibles().to_string(), &[], &[], &mandats);
        let etat = etat(base);
        executer(async {
            let app = actix_web::test::init_service(onde_api::app(etat.clone())).await;
            let (j_mairie, j_national, j_editeur) = (jeton(&app, &mairie).await, jeton(&app, &national).await, jeton(&app, &editeur).await);
            let mut m_mairie = instantane(&app, &j_mairie).await;
            let mut m_national = instantane(&app, &j_national).await;
            let (creations, changements) = lots_de_scenario(&ecoles, &communes, 800_000, 24);
            let pousser = |elements: Vec<Value>| {
                let (app, j) = (&app, j_editeur.clone());
                async move {
                    let r = requete(app, actix_web::http::Method::POST, "/v1/lots/eleves", &j, &[],
                        Some(&serde_json::json!({"elements": elements}))).await;
                    assert_eq!(r.statut, 200, "{}", r.texte);
                    let rejetes: Vec<&Value> = r.corps["resultats"].as_array().unwrap().iter().filter(|x| x["resultat"] == "rejete").collect();
                    assert!(rejetes.is_empty(), "{rejetes:?}");
                    r.corps["resume"].clone()
                }
            };
            // New pupils, living and schooled anywhere (in the mairie's communes or not).
            let crees = pousser(creations).await;
            assert_eq!(crees["crees"], 24, "{crees}");
            synchroniser(&app, &j_mairie, &mut m_mairie, 13).await;
            synchroniser(&app, &j_national, &mut m_national, 50).await;
            // The same pupils changed (moved in and out of the mairie's communes, and more).
            let modifies = pousser(changements).await;
            assert!(modifies["modifies"].as_u64().unwrap() >= 15, "{modifies}");
            assert!(modifies["inchanges"].as_u64().unwrap() >= 1, "{modifies}");
            synchroniser(&app, &j_mairie, &mut m_mairie, 13).await;
            synchroniser(&app, &j_national, &mut m_national, 50).await;

            assert_miroir_exact("mairie", &listes(&app, &j_mairie).await, &m_mairie.lignes);
            assert_miroir_exact("national", &listes(&app, &j_national).await, &m_national.lignes);
            // The mairie's mirror holds some of the pushed pupils, not all.
            let lots = m_mairie.lignes.iter().filter(|((r, _), d)| r == "eleve" && d["nom"].as_str().unwrap_or_default().starts_with("Lot")).count();
            assert!((1..25).contains(&lots), "{lots} élèves poussés dans le miroir de la mairie");
        });
    }

    fn client_miroir_de_bout_en_bout(base) {
        seeder_communes(base, 400, 4);
        let mairie = mairie_de_deux_communes(base);
        let serveur = Serveur::demarrer(etat(base));
        let dossier = tempfile::tempdir().unwrap();
        let fichier = dossier.path().join("miroir.sqlite");

        // First run: snapshot (lists) then the feed; equal to the source.
        let sortie = commande_miroir(&serveur, &mairie, &fichier).arg("--une-fois").output().unwrap();
        assert!(sortie.status.success(), "{}", String::from_utf8_lossy(&sortie.stderr));
        assert_miroir_exact("client miroir", &listes_de(base, &mairie), &contenu_miroir(&fichier));

        // Following the feed while writers commit; killed mid-way, then resumed.
        let mut suivi = commande_miroir(&serveur, &mairie, &fichier)
            .args(["--intervalle", "0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let ecrivains = lancer_ecrivains(base, 3, 40);
        for e in ecrivains {
            e.join().unwrap();
        }
        suivi.kill().unwrap();
        suivi.wait().unwrap();
        let sortie = commande_miroir(&serveur, &mairie, &fichier).arg("--une-fois").output().unwrap();
        assert!(sortie.status.success(), "{}", String::from_utf8_lossy(&sortie.stderr));
        assert_miroir_exact("client miroir", &listes_de(base, &mairie), &contenu_miroir(&fichier));

        // A wrong secret: one clear error, exit code 2.
        let mut faux = mairie.clone();
        faux.secret = "faux".into();
        let sortie = commande_miroir(&serveur, &faux, &dossier.path().join("autre.sqlite")).arg("--une-fois").output().unwrap();
        assert_eq!(sortie.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&sortie.stderr).contains("jeton refusé"), "{}", String::from_utf8_lossy(&sortie.stderr));
    }
}

onde_store::tests_deux_backends! {
    fn purge_du_flux(base) {
        seeder_communes(base, 400, 4);
        let mairie = mairie_de_deux_communes(base);
        let serveur = Serveur::demarrer(etat(base));
        let dossier = tempfile::tempdir().unwrap();
        let fichier = dossier.path().join("miroir.sqlite");
        let purger = |avant: &str| {
            std::process::Command::new(env!("CARGO_BIN_EXE_onde-echanges"))
                .args(["changements", "purger", "--avant", avant])
                .env("DATABASE_URL", &base.url)
                .env("RUST_LOG", "warn")
                .output()
                .unwrap()
        };
        let compter = |sql: &str| -> i64 {
            #[derive(diesel::QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            diesel::sql_query(sql).get_result::<N>(&mut base.store.connexion().unwrap()).unwrap().n
        };
        // The file mirror is in sync before the first writes, then left behind.
        let sortie = commande_miroir(&serveur, &mairie, &fichier).arg("--une-fois").output().unwrap();
        assert!(sortie.status.success(), "{}", String::from_utf8_lossy(&sortie.stderr));
        let etat_app = etat(base);
        executer(async {
            let app = actix_web::test::init_service(onde_api::app(etat_app)).await;
            let j = jeton(&app, &mairie).await;
            let m_vieux = instantane(&app, &j).await;
            for e in lancer_ecrivains(base, 2, 30) {
                e.join().unwrap();
            }
            std::thread::sleep(Duration::from_millis(20));
            let limite = chrono::Utc::now().naive_utc();
            std::thread::sleep(Duration::from_millis(20));
            let mut m_recent = instantane(&app, &j).await;
            for e in lancer_ecrivains(base, 3, 30) {
                e.join().unwrap();
            }
            let avant_limite = format!("SELECT count(*) AS n FROM changements WHERE horodatage < '{}'", limite.format("%Y-%m-%d %H:%M:%S%.6f"));
            let depuis_limite = avant_limite.replace(" < ", " >= ");
            let (vieux, recents) = (compter(&avant_limite), compter(&depuis_limite));
            assert!(vieux > 0 && recents > 0, "{vieux} / {recents}");

            // Everything recorded before the limit goes, nothing after it; a second run is a no-op.
            let sortie = purger(&limite.format("%Y-%m-%dT%H:%M:%S%.6f").to_string());
            let texte = String::from_utf8_lossy(&sortie.stdout).into_owned();
            assert!(sortie.status.success(), "{}", String::from_utf8_lossy(&sortie.stderr));
            assert!(texte.starts_with(&format!("{vieux} changement(s)")), "{texte} ({vieux} attendus)");
            assert_eq!((compter(&avant_limite), compter(&depuis_limite)), (0, recents));
            let sortie = purger(&limite.format("%Y-%m-%dT%H:%M:%S%.6f").to_string());
            assert!(String::from_utf8_lossy(&sortie.stdout).starts_with("0 changement(s)"));
            assert!(!purger("2999-01-01").status.success(), "une purge de l'avenir est refusée");

            // A cursor from before the purge: 410, a problem document that says what to do.
            let r = get(&app, &j, &format!("/v1/changements?depuis={}", m_vieux.curseur)).await;
            assert_eq!(r.statut, 410, "{}", r.texte);
            assert_eq!(r.entetes.get("content-type").unwrap(), "application/problem+json");
            assert_eq!(r.corps["code"], "curseur_expire");
            assert!(r.corps["detail"].as_str().unwrap().contains("instantané"), "{}", r.texte);
            // A cursor from after it: the feed still holds every change since, exactly.
            synchroniser(&app, &j, &mut m_recent, 23).await;
            assert_miroir_exact("mairie", &listes(&app, &j).await, &m_recent.lignes);
        });

        // The file mirror, behind the purge, starts again from a snapshot and ends exact.
        let sortie = commande_miroir(&serveur, &mairie, &fichier).arg("--une-fois").output().unwrap();
        assert!(sortie.status.success(), "{}", String::from_utf8_lossy(&sortie.stderr));
        assert_miroir_exact("client miroir", &listes_de(base, &mairie), &contenu_miroir(&fichier));
    }
}
