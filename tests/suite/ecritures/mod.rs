//! Helpers of the write tests (validation, workflow, doublons, idempotence, concurrence, reprise,
//! proprietes): request bodies, schools of the seeded base, row counts, direct store access.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::Method;
use actix_web::test;
use chrono::NaiveDate;
use diesel::prelude::*;
use onde_domain::{Ecole, Inscription, Niveau, StatutInscription, TypeEcole};
use onde_store::testing::BaseDeTest;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::commun::{api, appeler, requete, toutes_les_ecoles, Reponse};

/// A school year no seeded pupil is enrolled for yet (the seed's rentrée is 2026; only a few
/// early requests exist for 2027-2028, none for 2028-2029).
pub const ANNEE: &str = "2028-2029";
/// CP in 2028-2029: born in 2022 (±1).
pub const NAISSANCE_CP: &str = "2022-05-12";

/// A JSON body sent with `Content-Type: application/json`.
pub async fn poster<S, B>(app: &S, jeton: &str, uri: &str, corps: &Value, entetes: &[(&str, &str)]) -> Reponse
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    requete(app, Method::POST, uri, jeton, entetes, Some(corps)).await
}

/// Raw bytes with an optional content type.
pub async fn poster_brut<S, B>(
    app: &S,
    jeton: &str,
    uri: &str,
    octets: &[u8],
    type_contenu: Option<&str>,
    entetes: &[(&str, &str)],
) -> Reponse
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut req = test::TestRequest::post()
        .uri(uri)
        .insert_header(("Authorization", format!("Bearer {jeton}")))
        .set_payload(octets.to_vec());
    if let Some(t) = type_contenu {
        req = req.insert_header(("Content-Type", t));
    }
    for (nom, valeur) in entetes {
        req = req.insert_header((*nom, *valeur));
    }
    appeler(app, req.to_request()).await
}

/// POST /v1/inscriptions/{id}/{operation}.
pub async fn operer<S, B>(
    app: &S,
    jeton: &str,
    id: &str,
    operation: &str,
    corps: &Value,
    entetes: &[(&str, &str)],
) -> Reponse
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    poster(
        app,
        jeton,
        &format!("/v1/inscriptions/{id}/{operation}"),
        corps,
        entetes,
    )
    .await
}

static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// A fresh, valid INE-BEA that no seeded pupil holds (académie 99 is never generated).
pub fn ine_unique() -> String {
    let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let alea = u32::try_from(Uuid::now_v7().as_u128() % 10_000).unwrap();
    onde_domain::Ine::bea(99, 28, (alea * 100 + n % 100) % 1_000_000)
        .unwrap()
        .as_str()
        .to_owned()
}

/// A distinctive family name, so that no seeded pupil is a duplicate.
pub fn nom_unique(prefixe: &str) -> String {
    const LETTRES: &[u8] = b"abcdefghjkmnpqrstuvwxyz";
    let mut n = Uuid::now_v7().as_u128() ^ u128::from(SEQUENCE.fetch_add(1, Ordering::Relaxed)) << 64;
    let mut s = String::new();
    for _ in 0..8 {
        s.push(char::from(LETTRES[usize::try_from(n % 23).unwrap()]));
        n /= 23;
    }
    format!("{prefixe}-{s}")
}

/// A complete new pupil record (every optional field given), valid for CP in [`ANNEE`].
pub fn dossier(nom: &str) -> Value {
    json!({
        "nom": nom,
        "prenoms": ["Zoé", "Anaïs"],
        "sexe": "F",
        "date_naissance": NAISSANCE_CP,
        "lieu_naissance": "29019",
        "adresse": {"voie": "3 rue de Siam", "code_postal": "29200", "commune": "29019"},
        "responsables": [{
            "nom": nom,
            "prenom": "Maëlle",
            "lien": "mere",
            "autorite_parentale": true,
            "telephone": "06 12 34 56 78",
            "courriel": "maelle.legall@example.org",
            "adresse": "3 rue de Siam, 29200 Brest"
        }]
    })
}

/// A creation body for a new pupil (CP in [`ANNEE`]), every optional field given.
pub fn creation_nouvel_eleve(eleve: Value, uai: &str) -> Value {
    json!({
        "eleve": eleve,
        "uai": uai,
        "annee_scolaire": ANNEE,
        "niveau": "CP",
        "classe": "CP-A",
        "dispositif": "ULIS",
        "date_inscription": "2028-03-02"
    })
}

/// A creation body for an existing pupil.
pub fn creation_par_id(eleve_id: &str, uai: &str, annee: &str, niveau: &str) -> Value {
    json!({"eleve_id": eleve_id, "uai": uai, "annee_scolaire": annee, "niveau": niveau})
}

/// Sets (`Some`) or removes (`None`) the member at a JSON pointer whose parent exists.
pub fn muter(v: &mut Value, pointeur: &str, valeur: Option<Value>) {
    let (parent, cle) = pointeur.rsplit_once('/').unwrap();
    let cle = cle.replace("~1", "/").replace("~0", "~");
    let p = v
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("pas de parent pour {pointeur}"));
    match (p, valeur) {
        (Value::Object(o), Some(x)) => {
            o.insert(cle, x);
        }
        (Value::Object(o), None) => {
            o.remove(&cle);
        }
        (Value::Array(a), Some(x)) => a[cle.parse::<usize>().unwrap()] = x,
        (Value::Array(a), None) => {
            a.remove(cle.parse::<usize>().unwrap());
        }
        (autre, _) => panic!("{pointeur} : parent {autre}"),
    }
}

/// (pointer, code) of every violation of a problem document.
pub fn violations(r: &Reponse) -> Vec<(String, String)> {
    r.corps["erreurs"]
        .as_array()
        .unwrap_or_else(|| panic!("pas de liste d'erreurs : {}", r.texte))
        .iter()
        .map(|e| {
            (
                e["pointer"].as_str().unwrap_or("").to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Asserts a 422 `contenu_invalide` listing exactly `attendues` (in any order), each with a
/// French message.
pub fn assert_violations(r: &Reponse, attendues: &[(&str, &str)]) {
    crate::commun::assert_probleme(r, 422, "contenu_invalide");
    let mut trouvees = violations(r);
    trouvees.sort();
    let mut attendues: Vec<(String, String)> = attendues
        .iter()
        .map(|(p, c)| ((*p).to_owned(), (*c).to_owned()))
        .collect();
    attendues.sort();
    assert_eq!(trouvees, attendues, "{}", r.texte);
    for e in r.corps["erreurs"].as_array().unwrap() {
        assert!(
            e["message"].as_str().is_some_and(|m| m.chars().count() > 10),
            "message absent : {e}"
        );
    }
}

/// Row counts of every table a write may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comptes {
    pub eleves: i64,
    pub responsables: i64,
    pub liens: i64,
    pub inscriptions: i64,
    pub idempotence: i64,
}

pub fn compter(base: &BaseDeTest) -> Comptes {
    use onde_store::schema::{eleves, eleves_responsables, idempotence, inscriptions, responsables};
    let mut c = base.store.connexion().unwrap();
    let c = &mut *c;
    Comptes {
        eleves: eleves::table.count().get_result(c).unwrap(),
        responsables: responsables::table.count().get_result(c).unwrap(),
        liens: eleves_responsables::table.count().get_result(c).unwrap(),
        inscriptions: inscriptions::table.count().get_result(c).unwrap(),
        idempotence: idempotence::table.count().get_result(c).unwrap(),
    }
}

/// The stored inscription and its version.
pub fn en_base(base: &BaseDeTest, id: &str) -> (Inscription, i64) {
    let mut c = base.store.connexion().unwrap();
    onde_store::inscriptions::pour_ecriture(&mut c, &onde_domain::Perimetre::National, Uuid::parse_str(id).unwrap())
        .unwrap()
        .unwrap_or_else(|| panic!("inscription {id} absente"))
}

/// Every stored inscription of a pupil.
pub fn inscriptions_de(base: &BaseDeTest, eleve_id: &str) -> Vec<Inscription> {
    crate::commun::toutes_les_inscriptions(base)
        .into_iter()
        .filter(|i| i.eleve.id.to_string() == eleve_id)
        .map(|i| i.inscription)
        .collect()
}

/// Ids of the pupils holding a duplicate key (DOMAIN.md's five normalised fields).
pub fn eleves_de_cle(base: &BaseDeTest, cle: &str) -> Vec<String> {
    use onde_store::schema::eleves;
    let mut c = base.store.connexion().unwrap();
    eleves::table
        .filter(eleves::cle_doublon.eq(cle))
        .select(eleves::id)
        .load::<String>(&mut *c)
        .unwrap()
}

/// The duplicate key of a pupil record as sent.
pub fn cle_de(dossier: &Value) -> String {
    let mut l = onde_domain::dossier::Lecture::default();
    let d = onde_domain::dossier::DossierEleve::lire(dossier, "", chrono::Utc::now().date_naive(), &mut l)
        .unwrap_or_else(|| panic!("{:?}", l.manquements));
    d.cle_doublon()
}

/// Creates a pupil directly in the store (no inscription); returns its id. It lives in a commune
/// of the base (the first one when its address names another): a mairie of the base sees it,
/// and may enrol it by its id.
pub fn eleve_direct(base: &BaseDeTest, dossier: &Value) -> String {
    let codes = onde_store::communes::codes(&mut base.store.connexion().unwrap()).unwrap();
    let mut dossier = dossier.clone();
    if let Some(commune) = dossier.pointer_mut("/adresse/commune") {
        if !codes.iter().any(|c| Some(c.as_str()) == commune.as_str()) {
            if let Some(c) = codes.first() {
                *commune = json!(c);
            }
        }
    }
    let mut l = onde_domain::dossier::Lecture::default();
    let d = onde_domain::dossier::DossierEleve::lire(&dossier, "", chrono::Utc::now().date_naive(), &mut l)
        .unwrap_or_else(|| panic!("{:?}", l.manquements));
    let id = Uuid::now_v7();
    let mut c = base.store.connexion().unwrap();
    onde_store::eleves::inserer(&mut c, id, &d, chrono::Utc::now().naive_utc()).unwrap();
    id.to_string()
}

/// Writes an inscription directly in the store (e.g. `en_attente`, which no operation creates).
pub fn inscription_directe(
    base: &BaseDeTest,
    eleve_id: &str,
    uai: &str,
    annee: &str,
    niveau: Niveau,
    statut: StatutInscription,
) -> String {
    let i = Inscription {
        id: Uuid::now_v7(),
        eleve_id: Uuid::parse_str(eleve_id).unwrap(),
        uai: onde_domain::Uai::parse(uai).unwrap(),
        annee_scolaire: onde_domain::AnneeScolaire::parse(annee).unwrap(),
        niveau,
        classe: None,
        dispositif: None,
        statut,
        admission_provisoire: false,
        date_inscription: date("2028-02-01"),
        date_admission: None,
        date_radiation: (statut == StatutInscription::Radie).then(|| date("2028-02-02")),
        motif_radiation: None,
    };
    let mut c = base.store.connexion().unwrap();
    onde_store::inscriptions::inserer(&mut c, &i, chrono::Utc::now().naive_utc()).unwrap();
    i.id.to_string()
}

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Schools of the seeded base of a type, in UAI order.
pub fn ecoles_de_type(base: &BaseDeTest, t: TypeEcole) -> Vec<Ecole> {
    let mut e: Vec<Ecole> = toutes_les_ecoles(base)
        .into_iter()
        .filter(|e| e.type_ecole == t)
        .collect();
    e.sort_by(|a, b| a.uai.cmp(&b.uai));
    e
}

/// Schools teaching `niveau`, in UAI order.
pub fn ecoles_accueillant(base: &BaseDeTest, niveau: Niveau) -> Vec<Ecole> {
    let mut e: Vec<Ecole> = toutes_les_ecoles(base)
        .into_iter()
        .filter(|e| e.type_ecole.accueille(niveau))
        .collect();
    e.sort_by(|a, b| a.uai.cmp(&b.uai));
    e
}

/// A valid UAI that no school of the base has.
pub fn uai_inconnu(base: &BaseDeTest) -> String {
    let connues: Vec<String> = toutes_les_ecoles(base)
        .iter()
        .map(|e| e.uai.as_str().to_owned())
        .collect();
    (0..1000u32)
        .map(|n| {
            let chiffres = format!("{:07}", 750_000 + n);
            let reste = chiffres.bytes().fold(0u32, |a, d| (a * 10 + u32::from(d - b'0')) % 23);
            format!("{chiffres}{}", char::from(b"ABCDEFGHJKLMNPRSTUVWXYZ"[reste as usize]))
        })
        .find(|u| !connues.contains(u))
        .unwrap()
}

/// Schools of the seeded base the write tests need.
#[derive(Debug, Clone)]
pub struct Monde {
    /// An elementary school (CP..CM2) whose commune has another school teaching CP.
    pub cp: Ecole,
    /// Another school teaching CP, in the same commune as `cp`.
    pub cp_voisine: Ecole,
    /// A school teaching CP in another commune than `cp`.
    pub cp_ailleurs: Ecole,
    pub maternelle: Ecole,
    pub primaire: Ecole,
    /// Every school teaching CP.
    pub toutes_cp: Vec<Ecole>,
}

/// The schools of a base seeded for the write tests (`TestApp::…().ecritures()`: maternelle,
/// elementary and primary schools over five communes, all public).
pub fn monde(base: &BaseDeTest) -> Monde {
    let toutes_cp = ecoles_accueillant(base, Niveau::Cp);
    let (cp, cp_voisine) = ecoles_de_type(base, TypeEcole::Elementaire)
        .into_iter()
        .find_map(|e| {
            let voisine = toutes_cp
                .iter()
                .find(|v| v.commune == e.commune && v.uai != e.uai)?
                .clone();
            Some((e, voisine))
        })
        .expect("une commune avec deux écoles accueillant le CP");
    let cp_ailleurs = toutes_cp
        .iter()
        .find(|e| e.commune != cp.commune)
        .expect("une école accueillant le CP dans une autre commune")
        .clone();
    Monde {
        maternelle: ecoles_de_type(base, TypeEcole::Maternelle).remove(0),
        primaire: ecoles_de_type(base, TypeEcole::Primaire).remove(0),
        cp,
        cp_voisine,
        cp_ailleurs,
        toutes_cp,
    }
}

/// An application state on a pool of its own over the same database — what another node, or
/// the same one after a restart, has.
pub fn etat_neuf(base: &BaseDeTest, taille: u32) -> api::EtatApp {
    let options = onde_store::OptionsPool {
        taille_max: taille,
        attente_max: std::time::Duration::from_secs(30),
        // No background refill while the test process exits (libpq's exit handlers).
        min_inactives: 0,
        delai_requete: None,
    };
    let store = onde_store::Store::ouvrir(&base.url, &options).unwrap();
    // Open every connection now (they stay idle in the pool): racing writers then meet in
    // the database, not in the connection handshake.
    let ouvertes: Vec<_> = (0..taille).map(|_| store.connexion().unwrap()).collect();
    drop(ouvertes);
    let large = api::Regle {
        par_seconde: 100_000,
        rafale: 100_000,
        simultanees: 10_000,
    };
    // The tests' key-encryption key: a server binary started on this base opens its keys too.
    let jetons = api::ConfigJetons::default().avec_chiffrement(crate::commun::chiffrement_essai());
    api::EtatApp::ouvrir(store, jetons)
        .unwrap()
        .avec_limites(api::ConfigLimites {
            defaut: large,
            partenaires: Default::default(),
            ..Default::default()
        })
}

/// A POST to send from another thread.
#[derive(Debug, Clone)]
pub struct Envoi {
    pub uri: String,
    pub jeton: String,
    pub corps: Value,
    pub entetes: Vec<(String, String)>,
}

impl Envoi {
    pub fn new(uri: impl Into<String>, jeton: &str, corps: Value) -> Self {
        Self {
            uri: uri.into(),
            jeton: jeton.to_owned(),
            corps,
            entetes: Vec::new(),
        }
    }

    pub fn entete(mut self, nom: &str, valeur: &str) -> Self {
        self.entetes.push((nom.to_owned(), valeur.to_owned()));
        self
    }
}

/// Sends every request at once, each from its own thread with its own actix system and app
/// over the shared state (so its own blocking pool): they meet in the database. Answers in
/// the order of `envois`.
pub fn en_parallele(etat: &api::EtatApp, envois: Vec<Envoi>) -> Vec<Reponse> {
    let barriere = std::sync::Arc::new(std::sync::Barrier::new(envois.len()));
    let fils: Vec<_> = envois
        .into_iter()
        .map(|e| {
            let etat = etat.clone();
            let barriere = barriere.clone();
            std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let app = test::init_service(api::app(etat)).await;
                    let entetes: Vec<(&str, &str)> = e.entetes.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    // Warm up: every thread holds a pooled connection once, so that the pool
                    // has one per writer and none waits for a connect when the race starts.
                    crate::commun::get(&app, "", "/health/ready").await;
                    barriere.wait();
                    poster(&app, &e.jeton, &e.uri, &e.corps, &entetes).await
                })
            })
        })
        .collect();
    fils.into_iter().map(|f| f.join().unwrap()).collect()
}

/// How many answers have each status.
pub fn par_statut(reponses: &[Reponse]) -> std::collections::BTreeMap<u16, usize> {
    let mut m = std::collections::BTreeMap::new();
    for r in reponses {
        *m.entry(r.statut.as_u16()).or_insert(0) += 1;
    }
    m
}

/// Status and body of each answer, for failure messages.
pub fn resume(reponses: &[Reponse]) -> String {
    reponses
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r.statut.as_u16(),
                r.texte.chars().take(300).collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
