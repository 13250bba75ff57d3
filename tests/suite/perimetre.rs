//! Property test of the perimeter, on SQLite and PostgreSQL: for random perimeters (random
//! subsets of the seeded communes and schools, a mairie, a private school or an editor with
//! random mandates, possibly narrowed to one of them) and random filters, every page of
//! `/v1/inscriptions` and `/v1/ecoles` holds exactly the rows of the perimeter that match the
//! filters — never a row outside it, whatever the filters — and single resources outside it
//! are 404.
//!
//! The oracle is computed in Rust from the whole base read once, independently of the SQL
//! that applies perimeter and filters. One seeded base per backend, one partner per case.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::commun::*;
use onde_domain::{
    AnneeScolaire, CibleMandat, CodeInsee, Mandat, Niveau, Partenaire, Scopes, Secteur, StatutInscription, TypeEcole,
    TypePartenaire, Uai,
};
use onde_store::testing::BaseDeTest;
use proptest::option::weighted;
use proptest::prelude::*;
use proptest::sample::{select, subsequence, Index};
use proptest::test_runner::{Config, TestRunner};
use uuid::Uuid;

/// Cases per backend.
const CAS: u32 = 32;

const SCOPES: &str = "ecoles:read eleves:read inscriptions:read";

/// Probability that a given filter is present in a case.
const FILTRE: f64 = 0.3;

/// A commune code the base does not hold (valid, so a filter on it is accepted).
const COMMUNE_ABSENTE: &str = "75056";

/// The kind of partner and its perimeter, as drawn.
#[derive(Debug, Clone)]
enum Forme {
    Mairie(Vec<String>),
    EcolePrivee(Vec<String>),
    /// Mandates (commune code or UAI) and the index of the mandate the requests narrow to.
    Editeur(Vec<String>, Option<Index>),
}

#[derive(Debug, Clone)]
struct FiltreInscriptions {
    commune: Option<String>,
    uai: Option<String>,
    annee_scolaire: Option<String>,
    niveau: Option<Niveau>,
    statut: Option<StatutInscription>,
    limit: u32,
}

#[derive(Debug, Clone)]
struct FiltreEcoles {
    commune: Option<String>,
    type_ecole: Option<TypeEcole>,
    secteur: Option<Secteur>,
    limit: u32,
}

#[derive(Debug, Clone)]
struct Cas {
    forme: Forme,
    inscriptions: FiltreInscriptions,
    ecoles: FiltreEcoles,
    /// Single resources to fetch: inscriptions (and their pupils) and schools.
    unitaires: Vec<Index>,
}

/// The base, read once through the store's national view.
struct Univers {
    communes: Vec<String>,
    uais: Vec<String>,
    annees: Vec<String>,
    /// UAI -> commune, type, secteur.
    ecoles: HashMap<String, (String, TypeEcole, Secteur)>,
    inscriptions: Vec<onde_store::inscriptions::InscriptionEleve>,
    /// Pupil -> UAIs of its active (not radiated) inscriptions.
    actives: HashMap<Uuid, BTreeSet<String>>,
    /// Pupils whose visibility hangs on the subtle rules (a radiated inscription does not
    /// count; residence does), checked in every case: those with a radiated inscription.
    /// (id, INE, commune of residence).
    sensibles: Vec<(Uuid, String, Option<String>)>,
}

impl Univers {
    fn lire(base: &BaseDeTest) -> Self {
        let ecoles: HashMap<String, (String, TypeEcole, Secteur)> = toutes_les_ecoles(base)
            .into_iter()
            .map(|e| {
                (
                    e.uai.as_str().to_owned(),
                    (e.commune.as_str().to_owned(), e.type_ecole, e.secteur),
                )
            })
            .collect();
        let inscriptions = toutes_les_inscriptions(base);
        let mut actives: HashMap<Uuid, BTreeSet<String>> = HashMap::new();
        for i in &inscriptions {
            let entree = actives.entry(i.eleve.id).or_default();
            if i.inscription.statut != StatutInscription::Radie {
                entree.insert(i.inscription.uai.as_str().to_owned());
            }
        }
        let communes = onde_store::communes::codes(&mut base.store.connexion().unwrap()).unwrap();
        assert!(!communes.contains(&COMMUNE_ABSENTE.to_owned()));
        let mut uais: Vec<String> = ecoles.keys().cloned().collect();
        uais.sort();
        let mut conn = base.store.connexion().unwrap();
        let mut sensibles: Vec<(Uuid, String, Option<String>)> = inscriptions
            .iter()
            .filter(|i| i.inscription.statut == StatutInscription::Radie)
            .filter_map(|i| Some((i.eleve.id, i.eleve.ine.clone()?)))
            .collect::<HashMap<_, _>>()
            .into_iter()
            .map(|(id, ine)| {
                let eleve = onde_store::eleves::trouver_par_ine(&mut conn, &onde_domain::Perimetre::National, &ine)
                    .unwrap()
                    .unwrap();
                (
                    id,
                    ine.as_str().to_owned(),
                    eleve.adresse.map(|a| a.commune.as_str().to_owned()),
                )
            })
            .collect();
        sensibles.sort();
        // Those with no active inscription first: only their residence shows them.
        sensibles.sort_by_key(|(id, _, _)| !actives[id].is_empty());
        sensibles.truncate(40);
        let annees: BTreeSet<String> = inscriptions
            .iter()
            .map(|i| i.inscription.annee_scolaire.as_str().to_owned())
            .collect();
        Self {
            communes,
            uais,
            annees: annees.into_iter().collect(),
            ecoles,
            inscriptions,
            actives,
            sensibles,
        }
    }

    fn strategie(&self) -> impl Strategy<Value = Cas> {
        let communes = self.communes.clone();
        let uais = self.uais.clone();
        let mut communes_filtre = communes.clone();
        communes_filtre.push(COMMUNE_ABSENTE.to_owned());
        let mandats: Vec<String> = communes.iter().chain(uais.iter()).cloned().collect();
        let forme = prop_oneof![
            subsequence(communes.clone(), 0..=communes.len()).prop_map(Forme::Mairie),
            subsequence(uais.clone(), 0..=uais.len()).prop_map(Forme::EcolePrivee),
            (
                subsequence(mandats.clone(), 0..=4),
                proptest::option::of(any::<Index>())
            )
                .prop_map(|(m, i)| Forme::Editeur(m, i)),
        ];
        let inscriptions = (
            weighted(FILTRE, select(communes_filtre.clone())),
            weighted(FILTRE, select(uais.clone())),
            weighted(FILTRE, select(self.annees.clone())),
            weighted(FILTRE, select(Niveau::TOUS.to_vec())),
            weighted(FILTRE, select(StatutInscription::TOUS.to_vec())),
            40u32..=1000,
        )
            .prop_map(
                |(commune, uai, annee_scolaire, niveau, statut, limit)| FiltreInscriptions {
                    commune,
                    uai,
                    annee_scolaire,
                    niveau,
                    statut,
                    limit,
                },
            );
        let ecoles = (
            weighted(FILTRE, select(communes_filtre)),
            weighted(FILTRE, select(TypeEcole::TOUS.to_vec())),
            weighted(FILTRE, select(Secteur::TOUS.to_vec())),
            1u32..=4,
        )
            .prop_map(|(commune, type_ecole, secteur, limit)| FiltreEcoles {
                commune,
                type_ecole,
                secteur,
                limit,
            });
        (
            forme,
            inscriptions,
            ecoles,
            proptest::collection::vec(any::<Index>(), 4),
        )
            .prop_map(|(forme, inscriptions, ecoles, unitaires)| Cas {
                forme,
                inscriptions,
                ecoles,
                unitaires,
            })
    }
}

/// The perimeter the requests of a case act in (after narrowing), as sets of codes.
#[derive(Debug)]
struct Perimetre {
    communes: HashSet<String>,
    uais: HashSet<String>,
}

impl Perimetre {
    fn ecole(&self, u: &Univers, uai: &str) -> bool {
        self.uais.contains(uai) || self.communes.contains(&u.ecoles[uai].0)
    }
}

/// Creates the partner of a case directly in the store (tokens are minted by the gateway's
/// key, so its secret is never used: no argon2 hash needed). Returns ids, the header value to
/// narrow with and the perimeter expected.
fn creer_partenaire(base: &BaseDeTest, forme: &Forme) -> (Uuid, String, Option<String>, Perimetre) {
    let mut p = Partenaire {
        id: Uuid::now_v7(),
        nom: "partenaire aléatoire".into(),
        type_partenaire: TypePartenaire::Mairie,
        scopes: Scopes::parse_liste(SCOPES).unwrap(),
        communes: BTreeSet::new(),
        uais: BTreeSet::new(),
        mandats: Vec::new(),
        actif: true,
    };
    let mut perimetre = Perimetre {
        communes: HashSet::new(),
        uais: HashSet::new(),
    };
    let mut mandat = None;
    match forme {
        Forme::Mairie(communes) => {
            p.communes = communes.iter().map(|c| CodeInsee::parse(c).unwrap()).collect();
            perimetre.communes = communes.iter().cloned().collect();
        }
        Forme::EcolePrivee(uais) => {
            p.type_partenaire = TypePartenaire::EcolePrivee;
            p.uais = uais.iter().map(|u| Uai::parse(u).unwrap()).collect();
            perimetre.uais = uais.iter().cloned().collect();
        }
        Forme::Editeur(mandats, restriction) => {
            p.type_partenaire = TypePartenaire::Editeur;
            p.mandats = mandats
                .iter()
                .map(|m| Mandat {
                    cible: CibleMandat::parse(m).unwrap(),
                    libelle: None,
                })
                .collect();
            let retenus: Vec<&String> = match restriction {
                Some(i) if !mandats.is_empty() => {
                    let m = i.get(mandats);
                    mandat = Some(m.clone());
                    vec![m]
                }
                _ => mandats.iter().collect(),
            };
            for m in retenus {
                match CibleMandat::parse(m).unwrap() {
                    CibleMandat::Commune(_) => perimetre.communes.insert(m.clone()),
                    CibleMandat::Ecole(_) => perimetre.uais.insert(m.clone()),
                };
            }
        }
    }
    p.verifier().unwrap();
    let maintenant = chrono::Utc::now().naive_utc();
    let client = onde_store::partenaires::Client {
        client_id: api::nouvel_identifiant_client(),
        partenaire_id: p.id.to_string(),
        secret_hash: "jamais-utilise".into(),
        ancien_secret_hash: None,
        ancien_secret_expire_le: None,
        cree_le: maintenant,
        revoque_le: None,
    };
    onde_store::partenaires::creer(&mut base.store.connexion().unwrap(), &p, &client, maintenant).unwrap();
    (p.id, client.client_id, mandat, perimetre)
}

fn requete_inscriptions(f: &FiltreInscriptions) -> String {
    let mut q = vec![format!("limit={}", f.limit)];
    if let Some(c) = &f.commune {
        q.push(format!("commune={c}"));
    }
    if let Some(u) = &f.uai {
        q.push(format!("uai={u}"));
    }
    if let Some(a) = &f.annee_scolaire {
        q.push(format!("annee_scolaire={a}"));
    }
    if let Some(n) = f.niveau {
        q.push(format!("niveau={}", n.as_str()));
    }
    if let Some(s) = f.statut {
        q.push(format!("statut={}", s.as_str()));
    }
    format!("/v1/inscriptions?{}", q.join("&"))
}

fn requete_ecoles(f: &FiltreEcoles) -> String {
    let mut q = vec![format!("limit={}", f.limit)];
    if let Some(c) = &f.commune {
        q.push(format!("commune={c}"));
    }
    if let Some(t) = f.type_ecole {
        q.push(format!("type={}", t.as_str()));
    }
    if let Some(s) = f.secteur {
        q.push(format!("secteur={}", s.as_str()));
    }
    format!("/v1/ecoles?{}", q.join("&"))
}

/// Follows `lien_suivant` to the end; returns every element of every page.
async fn toutes_les_pages<S, B>(
    app: &S,
    jeton: &str,
    entetes: &[(&str, &str)],
    premiere: String,
    limit: u32,
) -> Vec<serde_json::Value>
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let mut tout = Vec::new();
    let mut uri = premiere;
    for _ in 0..10_000 {
        let r = get_avec(app, jeton, &uri, entetes).await;
        assert_eq!(r.statut, 200, "{uri} : {}", r.texte);
        let elements = r.corps["elements"].as_array().unwrap();
        assert!(elements.len() <= limit as usize, "{uri}");
        tout.extend(elements.iter().cloned());
        match r.corps["lien_suivant"].as_str() {
            Some(lien) => uri = lien.to_owned(),
            None => return tout,
        }
    }
    panic!("pagination sans fin");
}

/// Checks one case; returns the number of inscriptions the partner saw.
async fn verifier_cas<S, B>(app: &S, base: &BaseDeTest, etat: &api::EtatApp, u: &Univers, cas: &Cas) -> usize
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let (id, client_id, mandat, perimetre) = creer_partenaire(base, &cas.forme);
    let jeton = etat.trousseau.emettre(&id.to_string(), &client_id, SCOPES).unwrap();
    let entetes: Vec<(&str, &str)> = mandat.iter().map(|m| ("Onde-Mandat", m.as_str())).collect();

    // Inscriptions: exactly the perimeter's rows that match the filters, none outside.
    let f = &cas.inscriptions;
    let recues = toutes_les_pages(app, &jeton, &entetes, requete_inscriptions(f), f.limit).await;
    let mut ids_recus = Vec::new();
    for ligne in &recues {
        let uai = ligne["uai"].as_str().unwrap();
        assert!(
            perimetre.ecole(u, uai),
            "inscription hors périmètre {perimetre:?} : {ligne}"
        );
        ids_recus.push(ligne["id"].as_str().unwrap().to_owned());
    }
    let mut attendus: Vec<String> = u
        .inscriptions
        .iter()
        .filter(|i| {
            let uai = i.inscription.uai.as_str();
            perimetre.ecole(u, uai)
                && f.commune.as_ref().is_none_or(|c| &u.ecoles[uai].0 == c)
                && f.uai.as_ref().is_none_or(|x| x == uai)
                && f.annee_scolaire
                    .as_ref()
                    .is_none_or(|a| a == i.inscription.annee_scolaire.as_str())
                && f.niveau.is_none_or(|n| n == i.inscription.niveau)
                && f.statut.is_none_or(|s| s == i.inscription.statut)
        })
        .map(|i| i.inscription.id.to_string())
        .collect();
    attendus.sort();
    let nombre = ids_recus.len();
    ids_recus.sort();
    ids_recus.dedup();
    assert_eq!(ids_recus.len(), nombre, "doublons entre pages");
    assert_eq!(ids_recus, attendus, "inscriptions de {perimetre:?} filtrées par {f:?}");
    let vues = ids_recus.len();

    // Schools.
    let f = &cas.ecoles;
    let recues = toutes_les_pages(app, &jeton, &entetes, requete_ecoles(f), f.limit).await;
    let mut uais_recues: Vec<String> = recues.iter().map(|e| e["uai"].as_str().unwrap().to_owned()).collect();
    for uai in &uais_recues {
        assert!(perimetre.ecole(u, uai), "école hors périmètre {perimetre:?} : {uai}");
    }
    let mut attendues: Vec<String> = u
        .ecoles
        .iter()
        .filter(|(uai, (commune, t, s))| {
            perimetre.ecole(u, uai)
                && f.commune.as_ref().is_none_or(|c| c == commune)
                && f.type_ecole.is_none_or(|x| x == *t)
                && f.secteur.is_none_or(|x| x == *s)
        })
        .map(|(uai, _)| uai.clone())
        .collect();
    attendues.sort();
    uais_recues.sort();
    assert_eq!(uais_recues, attendues, "écoles de {perimetre:?} filtrées par {f:?}");

    // Single resources: 200 inside, 404 outside.
    let mut conn = base.store.connexion().unwrap();
    for i in &cas.unitaires {
        let ins = i.get(&u.inscriptions);
        let uai = ins.inscription.uai.as_str();
        let r = get_avec(
            app,
            &jeton,
            &format!("/v1/inscriptions/{}", ins.inscription.id),
            &entetes,
        )
        .await;
        let attendu = if perimetre.ecole(u, uai) { 200 } else { 404 };
        assert_eq!(r.statut.as_u16(), attendu, "inscription {uai} pour {perimetre:?}");
        let r = get_avec(app, &jeton, &format!("/v1/ecoles/{uai}"), &entetes).await;
        assert_eq!(r.statut.as_u16(), attendu, "école {uai} pour {perimetre:?}");
        if let Some(ine) = &ins.eleve.ine {
            let eleve = onde_store::eleves::trouver_par_ine(&mut conn, &onde_domain::Perimetre::National, ine)
                .unwrap()
                .unwrap();
            let scolarise = u.actives[&ins.eleve.id].iter().any(|x| perimetre.ecole(u, x));
            let reside = eleve
                .adresse
                .is_some_and(|a| perimetre.communes.contains(a.commune.as_str()));
            let attendu = if scolarise || reside { 200 } else { 404 };
            let r = get_avec(app, &jeton, &format!("/v1/eleves/{ine}"), &entetes).await;
            assert_eq!(
                r.statut.as_u16(),
                attendu,
                "élève {ine} pour {perimetre:?} : {}",
                r.texte
            );
        }
    }
    // The pupils whose visibility hangs on the subtle rules, every time.
    for (id, ine, residence) in &u.sensibles {
        let scolarise = u.actives[id].iter().any(|x| perimetre.ecole(u, x));
        let reside = residence.as_ref().is_some_and(|c| perimetre.communes.contains(c));
        let attendu = if scolarise || reside { 200 } else { 404 };
        let r = get_avec(app, &jeton, &format!("/v1/eleves/{ine}"), &entetes).await;
        assert_eq!(
            r.statut.as_u16(),
            attendu,
            "élève {ine} pour {perimetre:?} : {}",
            r.texte
        );
    }
    vues
}

deux_backends! {
    fn aucune_liste_ne_sort_du_perimetre(base: eleves(1200).communes(4)) {
        let univers = Univers::lire(base);
        assert!(univers.uais.len() > univers.communes.len(), "plusieurs écoles par commune");
        assert!(univers.annees.len() >= 2);
        assert!(
            univers.sensibles.iter().any(|(id, _, _)| univers.actives[id].is_empty()),
            "un élève visible par sa seule résidence"
        );
        let etat = etat(base);
        let systeme = actix_web::rt::System::new();
        let app = systeme.block_on(actix_web::test::init_service(api::app(etat.clone())));
        let cas_non_vides = std::cell::Cell::new(0);
        let mut runner = TestRunner::new(Config {
            cases: CAS,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&univers.strategie(), |cas| {
                if systeme.block_on(verifier_cas(&app, base, &etat, &univers, &cas)) > 0 {
                    cas_non_vides.set(cas_non_vides.get() + 1);
                }
                Ok(())
            })
            .unwrap();
        // The draws are not degenerate: many cases see rows.
        assert!(cas_non_vides.get() >= CAS / 4, "{} cas non vides sur {CAS}", cas_non_vides.get());
    }
}

/// The oracle itself: an empty perimeter sees nothing, a full one everything.
#[test]
fn perimetres_extremes() {
    let base = TestApp::sqlite().eleves(300).communes(3).build().base;
    let u = Univers::lire(&base);
    let etat = etat(&base);
    actix_web::rt::System::new().block_on(async {
        let app = actix_web::test::init_service(api::app(etat.clone())).await;
        for (forme, attendu) in [
            (Forme::Mairie(Vec::new()), 0),
            (Forme::Mairie(u.communes.clone()), u.inscriptions.len()),
            (Forme::EcolePrivee(u.uais.clone()), u.inscriptions.len()),
            (Forme::Editeur(Vec::new(), None), 0),
        ] {
            let (id, client_id, _, _) = creer_partenaire(&base, &forme);
            let jeton = etat.trousseau.emettre(&id.to_string(), &client_id, SCOPES).unwrap();
            let toutes = toutes_les_pages(&app, &jeton, &[], "/v1/inscriptions?limit=1000".into(), 1000).await;
            assert_eq!(toutes.len(), attendu, "{forme:?}");
        }
    });
    // AnneeScolaire is what the filters draw from.
    assert!(u.annees.iter().all(|a| AnneeScolaire::parse(a).is_ok()));
}
