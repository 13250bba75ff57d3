//! The authorisation matrix, generated from the OpenAPI document: every operation that declares
//! an `oauth2` requirement x every partner kind x (inside the perimeter, outside it, token
//! without the required scope, no token), against the expected status. Run on SQLite and
//! PostgreSQL. The same run checks that the audit trail holds exactly one record per access to
//! personal data, and none for anything else.
//!
//! Reads, writes of personal data (each kind writes its own target rows, in a status the step
//! accepts) and administration operations alike. Outside the perimeter, a restricted partner
//! gets the answer it would get for a row that does not exist (identifiers aside).
//!
//! A new operation in the spec must get a sample in [`echantillons`]: the test fails until it
//! has one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use actix_web::http::Method;

use crate::commun::*;
use onde_domain::{Scope, Scopes, TypePartenaire};
use serde_json::{json, Value};

mod echantillons;
mod matrice;

/// What an operation is, for the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Genre {
    /// One resource: outside the perimeter, the answer of a resource that does not exist.
    Unitaire,
    /// A list: 200 without any row outside the perimeter (the "outside" sample asks only for
    /// outside rows, so its page is empty). `non_vide`: the inside sample has rows.
    Liste { non_vide: bool },
    /// A write on one resource (or a creation): outside the perimeter, the answer of a
    /// resource that does not exist.
    Ecriture,
    /// A batch: 200, each item outside the perimeter rejected.
    Lot,
}

/// Which request of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cote {
    /// Rows inside the perimeter of every reference partner (a write gets one target per
    /// partner kind, since it changes the row).
    Dedans(TypePartenaire),
    /// The same request about rows outside every restricted perimeter.
    Dehors,
    /// The same request about rows that exist nowhere.
    Inexistant,
}

/// The seeded rows and partners the samples point at: schools A and B are in every restricted
/// perimeter of the matrix, C in none.
struct Contexte {
    a: Repere,
    b: Repere,
    c: Repere,
    /// A partner the admin samples read and modify.
    cible: String,
    /// A partner the revocation sample revokes.
    a_revoquer: String,
    /// Inscriptions the workflow samples change: (operation, kind) -> id, inside.
    inscriptions: HashMap<(&'static str, TypePartenaire), String>,
    /// The same, outside (never changed: refused).
    inscriptions_dehors: HashMap<&'static str, String>,
    /// Niveau of every inscription, by id.
    niveaux: HashMap<String, String>,
    /// Pupil records of A's and C's pupils, as partners send them.
    dossier_a: Value,
    dossier_c: Value,
    /// Import jobs of each actor (made once the actors exist), and one of another partner.
    imports: std::cell::RefCell<HashMap<TypePartenaire, String>>,
    import_autre: String,
    /// The change feed's position before the matrix writes anything.
    debut_flux: String,
}

impl Contexte {
    fn niveau_de(&self, inscription: &str) -> String {
        self.niveaux.get(inscription).cloned().unwrap_or_else(|| "CP".into())
    }

    /// An import job: the actor's own inside, another partner's outside.
    fn import(&self, cote: Cote) -> String {
        match cote {
            Cote::Dedans(t) => self
                .imports
                .borrow()
                .get(&t)
                .cloned()
                .unwrap_or_else(|| self.import_autre.clone()),
            Cote::Dehors => self.import_autre.clone(),
            Cote::Inexistant => "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e".into(),
        }
    }

    fn inscription(&self, operation: &'static str, cote: Cote) -> Option<String> {
        match cote {
            // A kind that may not write gets another kind's target: it is refused anyway.
            Cote::Dedans(t) => self
                .inscriptions
                .get(&(operation, t))
                .or_else(|| self.inscriptions.get(&(operation, TypePartenaire::Mairie)))
                .cloned(),
            Cote::Dehors => Some(self.inscriptions_dehors[operation].clone()),
            Cote::Inexistant => Some("0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e".into()),
        }
    }
}

/// A request: path and optional JSON body.
type Requete = (String, Option<Value>);

/// Sample requests of one operation.
struct Echantillon {
    operation: &'static str,
    methode: Method,
    /// Path template, as in the spec.
    modele: &'static str,
    genre: Genre,
    /// Status of a success.
    succes: u16,
    /// Status of a restricted partner outside its perimeter (404, or for a creation the 422
    /// of an unknown school; 200 for lists and batches).
    refus_dehors: u16,
    /// The request of each side; `None` when the side does not apply (no perimeter applies to
    /// administration operations: national by nature; no "nonexistent" for lists).
    requete: fn(&Contexte, Cote) -> Option<Requete>,
    /// Whether a success shows pupil data (and so must be audited).
    expose: bool,
}

impl Echantillon {
    fn new(operation: &'static str, methode: Method, modele: &'static str, genre: Genre) -> Self {
        Self {
            operation,
            methode,
            modele,
            genre,
            succes: 200,
            refus_dehors: match genre {
                Genre::Liste { .. } | Genre::Lot => 200,
                Genre::Unitaire | Genre::Ecriture => 404,
            },
            requete: |_, _| None,
            expose: true,
        }
    }
}

/// A new pupil for an inscription request, distinct per kind (duplicate detection).
fn nouvel_eleve(ctx: &Contexte, t: TypePartenaire) -> Value {
    json!({
        "nom": format!("Matrice-{}", t.as_str().replace('_', "-")),
        "prenoms": ["Camille"],
        "sexe": "F",
        "date_naissance": "2020-03-14",
        "lieu_naissance": ctx.a.commune,
        "adresse": {"voie": "1 place de la Mairie", "code_postal": "01000", "commune": ctx.a.commune},
        "responsables": [{"nom": "Matrice", "prenom": "Dominique", "lien": "mere", "autorite_parentale": true}],
    })
}

/// A secured operation as the spec declares it.
#[derive(Debug, Clone)]
struct OperationSecurisee {
    methode: String,
    chemin: String,
    /// Any one of these scopes allows the operation.
    scopes: Vec<Scope>,
}

/// Secured operations of the spec, by operationId; panics on a `/v1` operation without an
/// `oauth2` requirement (the gateway would refuse it anyway: fail closed).
fn operations_securisees() -> BTreeMap<String, OperationSecurisee> {
    let spec = serde_json::to_value(api::openapi()).unwrap();
    let mut ops = BTreeMap::new();
    for (chemin, item) in spec["paths"].as_object().unwrap() {
        for (methode, op) in item.as_object().unwrap() {
            let scopes: Vec<Scope> = op["security"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|exigence| exigence["oauth2"].as_array())
                .flatten()
                .map(|s| Scope::parse(s.as_str().unwrap()).unwrap())
                .collect();
            if scopes.is_empty() {
                assert!(
                    !chemin.starts_with("/v1"),
                    "{methode} {chemin} : opération /v1 sans exigence oauth2"
                );
                continue;
            }
            let id = op["operationId"].as_str().unwrap().to_owned();
            let doublon = ops.insert(
                id.clone(),
                OperationSecurisee {
                    methode: methode.to_ascii_uppercase(),
                    chemin: chemin.clone(),
                    scopes,
                },
            );
            assert!(doublon.is_none(), "operationId en double : {id}");
        }
    }
    ops
}

/// Every secured operation of the spec has a sample, at the right method and path. Returns
/// the samples of the operations the spec holds (a sample written ahead of its operation is
/// left aside until the operation is registered).
fn verifier_couverture<'a>(
    ops: &BTreeMap<String, OperationSecurisee>,
    echantillons: &'a [Echantillon],
) -> Vec<&'a Echantillon> {
    let avec_echantillon: HashSet<&str> = echantillons.iter().map(|e| e.operation).collect();
    assert_eq!(avec_echantillon.len(), echantillons.len(), "échantillon en double");
    let manquants: Vec<String> = ops
        .iter()
        .filter(|(id, _)| !avec_echantillon.contains(id.as_str()))
        .map(|(id, op)| format!("{id} ({} {})", op.methode, op.chemin))
        .collect();
    assert!(
        manquants.is_empty(),
        "opérations sécurisées sans échantillon dans la matrice d'autorisation (tests/suite/autorisation/echantillons.rs, \
         fn echantillons) : {manquants:?}"
    );
    let mut retenus = Vec::new();
    for e in echantillons {
        let Some(op) = ops.get(e.operation) else {
            eprintln!(
                "matrice : {} n'est pas (encore) dans la spec, échantillon ignoré",
                e.operation
            );
            continue;
        };
        assert_eq!(op.methode, e.methode.as_str(), "{}", e.operation);
        assert_eq!(op.chemin, e.modele, "{}", e.operation);
        retenus.push(e);
    }
    retenus
}

/// The scope an operation must declare: `admin` under `/v1/admin`, otherwise the family of
/// the resource (`/v1/<famille>/…`, `/v1/lots/<famille>`) with `read` for GET and `write` for
/// the other methods. The matrix takes its expectations from the spec, so this pins the spec
/// itself: an operation declared with a weaker scope fails here.
fn scopes_attendus(methode: &str, chemin: &str) -> Vec<Scope> {
    // The feed shows each resource type under its own read scope: any one opens it.
    if chemin == "/v1/changements" {
        return vec![Scope::EcolesRead, Scope::ElevesRead, Scope::InscriptionsRead];
    }
    vec![scope_attendu(methode, chemin)]
}

fn scope_attendu(methode: &str, chemin: &str) -> Scope {
    if chemin.starts_with("/v1/admin/") {
        return Scope::Admin;
    }
    let mut segments = chemin.trim_start_matches("/v1/").split('/');
    let mut famille = segments.next().unwrap_or_default();
    if famille == "lots" {
        famille = segments.next().unwrap_or_default();
    }
    // An import writes pupils; following one's own job belongs to the same right.
    if famille == "imports" {
        return Scope::ElevesWrite;
    }
    // A rattachement creates an inscription in the caller's school.
    if famille == "rattachements" {
        return Scope::InscriptionsWrite;
    }
    let action = if methode == "GET" { "read" } else { "write" };
    Scope::parse(&format!("{famille}:{action}")).unwrap_or_else(|e| panic!("{methode} {chemin} : {e}"))
}
