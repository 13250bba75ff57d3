//! Shared helpers of the end-to-end tests: a seeded fresh database and the real app in-process.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::http::StatusCode;
use actix_web::test;
use onde_seed::ParametresSeed;
use onde_store::testing::BaseDeTest;

pub mod api;
#[macro_use]
mod application;
mod partenaires;
pub mod relais_redis;

pub use application::*;
pub use partenaires::*;

pub const RENTREE: u16 = 2026;

pub fn seeder(base: &BaseDeTest, eleves: u32) {
    let mut conn = base.store.connexion().unwrap();
    let p = ParametresSeed {
        eleves,
        graine: 7,
        rentree: RENTREE,
        communes: Some(3),
    };
    onde_seed::generer(&mut conn, &p, &mut |_, _| {}).unwrap();
}

pub struct Reponse {
    pub statut: StatusCode,
    pub entetes: HeaderMap,
    pub corps: serde_json::Value,
    pub texte: String,
    /// The body as sent (compressed when `Content-Encoding` says so).
    pub octets: actix_web::web::Bytes,
}

impl Reponse {
    pub fn entete(&self, nom: &str) -> Option<&str> {
        self.entetes.get(nom).and_then(|v| v.to_str().ok())
    }
}

pub async fn appeler<S, B>(app: &S, req: actix_http::Request) -> Reponse
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(app, req).await;
    let statut = res.status();
    let entetes = res.headers().clone();
    let octets = test::read_body(res).await;
    let texte = String::from_utf8_lossy(&octets).into_owned();
    let corps = serde_json::from_slice(&octets).unwrap_or(serde_json::Value::Null);
    Reponse {
        statut,
        entetes,
        corps,
        texte,
        octets,
    }
}

/// GET with a bearer token (`""`: no Authorization header).
pub async fn get<S, B>(app: &S, jeton: &str, uri: &str) -> Reponse
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut req = test::TestRequest::get().uri(uri);
    if !jeton.is_empty() {
        req = req.insert_header(("Authorization", format!("Bearer {jeton}")));
    }
    appeler(app, req.to_request()).await
}

/// The application state of a test database (signing key created on the fly).
/// The application state, with rate limits far above what a test sends (tests/suite/limites.rs
/// tests the limits themselves).
pub fn etat(base: &BaseDeTest) -> api::EtatApp {
    let large = api::Regle {
        par_seconde: 100_000,
        rafale: 100_000,
        simultanees: 10_000,
    };
    let jetons = api::ConfigJetons::default().avec_chiffrement(chiffrement_essai());
    api::EtatApp::ouvrir(base.store.clone(), jetons)
        .unwrap()
        .avec_limites(api::ConfigLimites {
            defaut: large,
            partenaires: Default::default(),
            inconnus: large,
            redis: None,
        })
}

/// The key-encryption key of the tests (a constant: the in-process app and the binary started
/// by a test open the same signing keys). Never a production value.
pub const CLE_CHIFFREMENT_ESSAI: &str = "b25kZS1lY2hhbmdlcyBjbGUgZGUgdGVzdCAzMiBvY3Q=";

pub fn chiffrement_essai() -> api::Chiffrement {
    let cle = api::CleChiffrement::depuis_texte(CLE_CHIFFREMENT_ESSAI).unwrap();
    api::Chiffrement::new(cle, Vec::new())
}

/// Writes the tests' key-encryption key in `dossier`; returns the file, for
/// `ONDE__JETONS__CLE_CHIFFREMENT_FICHIER`.
pub fn fichier_cle_chiffrement(dossier: &std::path::Path) -> std::path::PathBuf {
    let chemin = dossier.join("cle-chiffrement");
    std::fs::write(&chemin, CLE_CHIFFREMENT_ESSAI).unwrap();
    chemin
}

/// Runs an async test body on an actix system (the tests themselves are plain `#[test]`s,
/// one per backend).
pub fn executer<F: std::future::Future<Output = ()>>(f: F) {
    actix_web::rt::System::new().block_on(f);
}

/// Asserts a problem document: status, content type, code, and the parameter named.
pub fn assert_probleme(r: &Reponse, statut: u16, code: &str) {
    assert_eq!(r.statut.as_u16(), statut, "{}", r.texte);
    assert_eq!(
        r.entete("content-type"),
        Some("application/problem+json"),
        "{}",
        r.texte
    );
    assert_eq!(r.corps["status"], statut);
    assert_eq!(r.corps["code"], code, "{}", r.texte);
    assert!(r.corps["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(r.corps["detail"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(r.corps["instance"].as_str().is_some_and(|t| t.starts_with("urn:")));
}

// ---------------------------------------------------------------------------------------------
// Helpers of the security tests (autorisation, perimetre, jetons, audit).

/// Seeds `eleves` pupils over `communes` communes (same generator and seed as [`seeder`]).
pub fn seeder_communes(base: &BaseDeTest, eleves: u32, communes: u32) {
    let mut conn = base.store.connexion().unwrap();
    let p = ParametresSeed {
        eleves,
        graine: 7,
        rentree: RENTREE,
        communes: Some(communes),
    };
    onde_seed::generer(&mut conn, &p, &mut |_, _| {}).unwrap();
}

/// Any request: method, bearer token (`""`: none), extra headers, optional JSON body.
pub async fn requete<S, B>(
    app: &S,
    methode: actix_web::http::Method,
    uri: &str,
    jeton: &str,
    entetes: &[(&str, &str)],
    corps: Option<&serde_json::Value>,
) -> Reponse
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut req = test::TestRequest::default().method(methode).uri(uri);
    if !jeton.is_empty() {
        req = req.insert_header(("Authorization", format!("Bearer {jeton}")));
    }
    for (nom, valeur) in entetes {
        req = req.insert_header((*nom, *valeur));
    }
    match corps {
        // A JSON string stands for an NDJSON upload (imports).
        Some(serde_json::Value::String(ndjson)) => {
            req = req
                .insert_header(("Content-Type", "application/x-ndjson"))
                .set_payload(ndjson.clone());
        }
        Some(c) => req = req.set_json(c),
        None => {}
    }
    appeler(app, req.to_request()).await
}

/// GET with a bearer token and extra headers (e.g. `Onde-Mandat`).
pub async fn get_avec<S, B>(app: &S, jeton: &str, uri: &str, entetes: &[(&str, &str)]) -> Reponse
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    requete(app, actix_web::http::Method::GET, uri, jeton, entetes, None).await
}

/// Every inscription of the base (national view of the store, all pages).
pub fn toutes_les_inscriptions(base: &BaseDeTest) -> Vec<onde_store::inscriptions::InscriptionEleve> {
    let mut conn = base.store.connexion().unwrap();
    let filtre = onde_store::inscriptions::FiltreInscriptions::default();
    let mut tout = Vec::new();
    let mut apres = None;
    loop {
        let page = onde_store::DemandePage { limite: 1000, apres };
        let p = onde_store::inscriptions::lister(&mut conn, &onde_domain::Perimetre::National, &filtre, &page).unwrap();
        tout.extend(p.elements);
        match p.suivant {
            Some(c) => apres = Some(c),
            None => return tout,
        }
    }
}

/// Every school of the base (national view of the store).
pub fn toutes_les_ecoles(base: &BaseDeTest) -> Vec<onde_domain::Ecole> {
    let mut conn = base.store.connexion().unwrap();
    let page = onde_store::DemandePage {
        limite: 100_000,
        apres: None,
    };
    onde_store::ecoles::lister(
        &mut conn,
        &onde_domain::Perimetre::National,
        &onde_store::ecoles::FiltreEcoles::default(),
        &page,
    )
    .unwrap()
    .elements
}

/// A landmark in one commune of the seeded base: one of its schools, an active inscription
/// in that school, and a pupil (with an INE) whose active inscriptions are all in that school
/// and who lives in the commune. Rows of another commune are outside a perimeter that names
/// neither the commune nor the school.
#[derive(Debug, Clone)]
pub struct Repere {
    pub commune: String,
    pub uai: String,
    pub inscription: String,
    pub ine: String,
    pub eleve_id: String,
}

/// One [`Repere`] per commune, in commune code order.
pub fn reperes(base: &BaseDeTest) -> Vec<Repere> {
    use std::collections::{BTreeSet, HashMap};
    let ecoles = toutes_les_ecoles(base);
    let inscriptions = toutes_les_inscriptions(base);
    let mut actives: HashMap<uuid::Uuid, BTreeSet<String>> = HashMap::new();
    for i in &inscriptions {
        if i.inscription.statut != onde_domain::StatutInscription::Radie {
            actives
                .entry(i.eleve.id)
                .or_default()
                .insert(i.inscription.uai.as_str().to_owned());
        }
    }
    let mut conn = base.store.connexion().unwrap();
    let codes = onde_store::communes::codes(&mut conn).unwrap();
    codes
        .iter()
        .map(|commune| {
            ecoles
                .iter()
                .filter(|e| e.commune.as_str() == commune)
                .find_map(|e| {
                    let uai = e.uai.as_str();
                    inscriptions.iter().find_map(|i| {
                        let ine = i.eleve.ine.as_ref()?;
                        let seul = actives
                            .get(&i.eleve.id)
                            .is_some_and(|s| s.len() == 1 && s.contains(uai));
                        if i.inscription.uai.as_str() != uai
                            || i.inscription.statut == onde_domain::StatutInscription::Radie
                            || !seul
                        {
                            return None;
                        }
                        let eleve =
                            onde_store::eleves::trouver_par_ine(&mut conn, &onde_domain::Perimetre::National, ine)
                                .unwrap()?;
                        (eleve.adresse.as_ref()?.commune.as_str() == commune).then(|| Repere {
                            commune: commune.clone(),
                            uai: uai.to_owned(),
                            inscription: i.inscription.id.to_string(),
                            ine: ine.as_str().to_owned(),
                            eleve_id: i.eleve.id.to_string(),
                        })
                    })
                })
                .unwrap_or_else(|| panic!("aucun repère dans la commune {commune}"))
        })
        .collect()
}

/// Every audit record, oldest first (after the writer has flushed).
pub fn piste_audit(etat: &api::EtatApp) -> Vec<onde_store::audit::Entree> {
    etat.auditeur.vider();
    let mut conn = etat.store.connexion().unwrap();
    let mut entrees = onde_store::audit::rechercher(
        &mut conn,
        &onde_store::audit::FiltreAudit {
            limite: 1_000_000,
            ..Default::default()
        },
    )
    .unwrap();
    entrees.reverse();
    entrees
}

/// Two batches of pushed pupil records (the JSON items of `POST /v1/lots/eleves`) over the
/// given elementary-capable schools and communes: `n` new pupils (INE sequences from
/// `premiere_ine`), living and schooled anywhere; then the same pupils changed: moved house,
/// renamed, a guardian's phone, the class, next year's school, some unchanged, and one pupil
/// twice in the batch (applied in order).
pub fn lots_de_scenario(
    ecoles: &[onde_domain::Ecole],
    communes: &[String],
    premiere_ine: u32,
    n: u32,
) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let c = communes.len();
    let uai = |e: usize| ecoles[e % ecoles.len()].uai.as_str().to_owned();
    let element = |i: u32, nom: &str, habite: &str, telephone: &str, classe: &str, suivante: Option<usize>| {
        let mut inscriptions = vec![
            serde_json::json!({"uai": uai(i as usize * 7), "annee_scolaire": "2026-2027",
            "niveau": "CP", "classe": classe, "statut": "admis_definitif"}),
        ];
        if let Some(e) = suivante {
            inscriptions.push(
                serde_json::json!({"uai": uai(e), "annee_scolaire": "2027-2028", "niveau": "CE1", "statut": "inscrit"}),
            );
        }
        serde_json::json!({"eleve": {
            "ine": onde_domain::Ine::bea(75, 20, premiere_ine + i).unwrap().as_str(),
            "nom": nom, "prenoms": ["Lou"], "sexe": "F", "date_naissance": "2020-04-02", "lieu_naissance": "75056",
            "adresse": {"voie": format!("{i} rue des Lots"), "code_postal": "01000", "commune": habite},
            "responsables": [
                {"nom": nom, "prenom": "Anne", "lien": "mere", "autorite_parentale": true, "telephone": telephone},
                {"nom": nom, "prenom": "Marc", "lien": "pere", "autorite_parentale": true}]},
            "inscriptions": inscriptions})
    };
    let creations = (0..n)
        .map(|i| {
            element(
                i,
                &format!("Lot{i}"),
                &communes[i as usize % c],
                "0600000000",
                "CP A",
                None,
            )
        })
        .collect();
    let mut changements: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let habite = &communes[(i as usize + usize::from(i % 2 == 0)) % c];
            let nom = if i % 3 == 0 {
                format!("Lot{i}-bis")
            } else {
                format!("Lot{i}")
            };
            let telephone = if i % 5 == 0 { "0611111111" } else { "0600000000" };
            let classe = if i % 4 == 1 { "CP B" } else { "CP A" };
            element(
                i,
                &nom,
                habite,
                telephone,
                classe,
                (i % 6 == 3).then_some(i as usize * 7 + 3),
            )
        })
        .collect();
    changements.push(element(7, "Lot7-ter", &communes[0], "0622222222", "CP C", None));
    (creations, changements)
}

/// Runs SQL statements on the test base, whatever its backend.
pub fn sql(base: &BaseDeTest, texte: &str) {
    use diesel::connection::SimpleConnection;
    let mut conn = base.store.connexion().unwrap();
    let conn: &mut onde_store::DbConnection = &mut conn;
    onde_store::par_backend!(conn, c => c.batch_execute(texte)).unwrap();
}

/// Makes the audit table refuse every insert (an audit trail that cannot be written), until
/// [`reparer_la_piste`].
pub fn piste_en_panne(base: &BaseDeTest) {
    sql(
        base,
        match base.store.backend() {
            onde_store::Backend::Postgres => {
                "CREATE FUNCTION panne() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'panne'; END $$;
                 CREATE TRIGGER panne BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION panne();"
            }
            onde_store::Backend::Sqlite => {
                "CREATE TRIGGER panne BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'panne'); END;"
            }
        },
    );
}

pub fn reparer_la_piste(base: &BaseDeTest) {
    sql(
        base,
        match base.store.backend() {
            onde_store::Backend::Postgres => "DROP TRIGGER panne ON audit; DROP FUNCTION panne();",
            onde_store::Backend::Sqlite => "DROP TRIGGER panne;",
        },
    );
}

/// `onde-echanges serve` as a child process on a free loopback port over the test base, with
/// the tests' key-encryption key, 2 workers, errors-only logs and `env`; killed when dropped.
/// The caller waits for `/health/ready` with its own client.
pub struct ServeurEnfant {
    pub enfant: std::process::Child,
    pub hote: String,
    _dossier: tempfile::TempDir,
}

impl ServeurEnfant {
    pub fn lancer(base: &BaseDeTest, env: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let hote = format!("127.0.0.1:{port}");
        let dossier = tempfile::tempdir().unwrap();
        let mut commande = std::process::Command::new(env!("CARGO_BIN_EXE_onde-echanges"));
        commande
            .args(["serve", "--bind", &hote, "--workers", "2"])
            .env("DATABASE_URL", &base.url)
            .env(
                "ONDE__JETONS__CLE_CHIFFREMENT_FICHIER",
                fichier_cle_chiffrement(dossier.path()),
            )
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        for (cle, valeur) in env {
            commande.env(cle, valeur);
        }
        Self {
            enfant: commande.spawn().unwrap(),
            hote,
            _dossier: dossier,
        }
    }
}

impl Drop for ServeurEnfant {
    fn drop(&mut self) {
        let _ = self.enfant.kill();
        let _ = self.enfant.wait();
    }
}
