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

mod commun;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use actix_web::http::Method;

use commun::*;
use onde_domain::{Scope, Scopes, TypePartenaire};
use serde_json::{json, Value};

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

/// One sample per secured operation of the spec. Add the new operations here.
fn echantillons() -> Vec<Echantillon> {
    use Cote::*;
    let liste = Genre::Liste { non_vide: true };
    let get = Method::GET;
    let post = Method::POST;
    vec![
        // Reference data and personal data: the perimeter applies.
        Echantillon {
            requete: |c, cote| match cote {
                Dedans(_) => Some(("/v1/ecoles?limit=1000".into(), None)),
                Dehors => Some((format!("/v1/ecoles?commune={}&limit=1000", c.c.commune), None)),
                Inexistant => None,
            },
            ..Echantillon::new("lister_ecoles", get.clone(), "/v1/ecoles", liste)
        },
        Echantillon {
            requete: |c, cote| {
                let uai = match cote {
                    Dedans(_) => c.a.uai.as_str(),
                    Dehors => c.c.uai.as_str(),
                    Inexistant => "0750655E",
                };
                Some((format!("/v1/ecoles/{uai}"), None))
            },
            ..Echantillon::new("consulter_ecole", get.clone(), "/v1/ecoles/{uai}", Genre::Unitaire)
        },
        Echantillon {
            requete: |c, cote| {
                let ine = match cote {
                    Dedans(_) => c.a.ine.as_str(),
                    Dehors => c.c.ine.as_str(),
                    Inexistant => "0494004062M",
                };
                Some((format!("/v1/eleves/{ine}"), None))
            },
            ..Echantillon::new("consulter_eleve", get.clone(), "/v1/eleves/{ine}", Genre::Unitaire)
        },
        Echantillon {
            // No "outside" sample: a pupil schooled outside may live inside.
            requete: |_, cote| matches!(cote, Dedans(_)).then(|| ("/v1/eleves?limit=1000".into(), None)),
            ..Echantillon::new("lister_eleves", get.clone(), "/v1/eleves", liste)
        },
        Echantillon {
            requete: |c, cote| match cote {
                Dedans(_) => Some(("/v1/inscriptions?limit=1000".into(), None)),
                Dehors => Some((format!("/v1/inscriptions?commune={}&limit=1000", c.c.commune), None)),
                Inexistant => None,
            },
            ..Echantillon::new("lister_inscriptions", get.clone(), "/v1/inscriptions", liste)
        },
        Echantillon {
            requete: |c, cote| {
                let id = match cote {
                    Dedans(_) => c.a.inscription.clone(),
                    Dehors => c.c.inscription.clone(),
                    Inexistant => "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e".into(),
                };
                Some((format!("/v1/inscriptions/{id}"), None))
            },
            ..Echantillon::new(
                "consulter_inscription",
                get.clone(),
                "/v1/inscriptions/{id}",
                Genre::Unitaire,
            )
        },
        // Writes of personal data.
        Echantillon {
            succes: 201,
            refus_dehors: 422,
            requete: |c, cote| {
                let (uai, t) = match cote {
                    Dedans(t) => (c.a.uai.as_str(), t),
                    Dehors => (c.c.uai.as_str(), TypePartenaire::Admin),
                    Inexistant => ("0750655E", TypePartenaire::Admin),
                };
                let corps =
                    json!({"eleve": nouvel_eleve(c, t), "uai": uai, "annee_scolaire": "2026-2027", "niveau": "CP"});
                Some(("/v1/inscriptions".into(), Some(corps)))
            },
            ..Echantillon::new("creer_inscription", post.clone(), "/v1/inscriptions", Genre::Ecriture)
        },
        Echantillon {
            // Inside: A's pupil with an identity that does not match (the answer of an unknown
            // INE): nothing written; the success path and its audit are in tests/integrite.rs.
            // Outside and nowhere: the school is checked first (422, unknown school).
            succes: 422,
            refus_dehors: 422,
            expose: false,
            requete: |c, cote| {
                let uai = match cote {
                    Dedans(_) => c.a.uai.as_str(),
                    Dehors => c.c.uai.as_str(),
                    Inexistant => "0750655E",
                };
                let corps = json!({
                    "ine": c.a.ine, "nom": c.dossier_a["nom"], "prenom": c.dossier_a["prenoms"][0],
                    "date_naissance": "2010-01-01", "uai": uai, "annee_scolaire": "2026-2027",
                    "niveau": c.niveau_de(&c.a.inscription)
                });
                Some(("/v1/rattachements".into(), Some(corps)))
            },
            ..Echantillon::new("rattacher_eleve", post.clone(), "/v1/rattachements", Genre::Ecriture)
        },
        Echantillon {
            requete: |c, cote| {
                Some((
                    format!("/v1/inscriptions/{}/admission", c.inscription("admettre", cote)?),
                    Some(json!({})),
                ))
            },
            ..Echantillon::new(
                "admettre",
                post.clone(),
                "/v1/inscriptions/{id}/admission",
                Genre::Ecriture,
            )
        },
        Echantillon {
            requete: |c, cote| {
                let id = c.inscription("mettre_en_admissibilite", cote)?;
                Some((format!("/v1/inscriptions/{id}/admissibilite"), Some(json!({}))))
            },
            ..Echantillon::new(
                "mettre_en_admissibilite",
                post.clone(),
                "/v1/inscriptions/{id}/admissibilite",
                Genre::Ecriture,
            )
        },
        Echantillon {
            requete: |c, cote| {
                let id = c.inscription("admettre_definitivement", cote)?;
                Some((format!("/v1/inscriptions/{id}/admission_definitive"), Some(json!({}))))
            },
            ..Echantillon::new(
                "admettre_definitivement",
                post.clone(),
                "/v1/inscriptions/{id}/admission_definitive",
                Genre::Ecriture,
            )
        },
        Echantillon {
            requete: |c, cote| {
                let id = c.inscription("radier", cote)?;
                Some((
                    format!("/v1/inscriptions/{id}/radiation"),
                    Some(json!({"date": "2026-11-20", "motif": "demenagement"})),
                ))
            },
            ..Echantillon::new(
                "radier",
                post.clone(),
                "/v1/inscriptions/{id}/radiation",
                Genre::Ecriture,
            )
        },
        Echantillon {
            requete: |c, cote| {
                let id = c.inscription("changer_d_ecole", cote)?;
                // From A to B inside; to A for the outside one (a school of the perimeter:
                // only the inscription is outside).
                let vers = if cote == Dehors { &c.a.uai } else { &c.b.uai };
                Some((
                    format!("/v1/inscriptions/{id}/changement_ecole"),
                    Some(json!({"uai": vers})),
                ))
            },
            // The new inscription is created.
            succes: 201,
            ..Echantillon::new(
                "changer_d_ecole",
                post.clone(),
                "/v1/inscriptions/{id}/changement_ecole",
                Genre::Ecriture,
            )
        },
        Echantillon {
            requete: |c, cote| {
                let id = c.inscription("changer_de_niveau", cote)?;
                Some((
                    format!("/v1/inscriptions/{id}/changement_niveau"),
                    Some(json!({"niveau": c.niveau_de(&id)})),
                ))
            },
            ..Echantillon::new(
                "changer_de_niveau",
                post.clone(),
                "/v1/inscriptions/{id}/changement_niveau",
                Genre::Ecriture,
            )
        },
        Echantillon {
            // Outside: the INE is taken by a pupil the caller does not see, never overwritten
            // (409 ine_hors_perimetre, as for a batch item or an import line).
            refus_dehors: 409,
            requete: |c, cote| match cote {
                // Rewriting a pupil as it is: allowed inside, refused outside.
                Dedans(_) => Some((format!("/v1/eleves/{}", c.a.ine), Some(c.dossier_a.clone()))),
                Dehors => Some((format!("/v1/eleves/{}", c.c.ine), Some(c.dossier_c.clone()))),
                // An unknown INE is a creation here, not a 404.
                Inexistant => None,
            },
            ..Echantillon::new("ecrire_eleve", Method::PUT, "/v1/eleves/{ine}", Genre::Ecriture)
        },
        Echantillon {
            requete: |c, cote| {
                let ine = match cote {
                    Dedans(_) => c.a.ine.as_str(),
                    Dehors => c.c.ine.as_str(),
                    Inexistant => "0494004062M",
                };
                Some((format!("/v1/eleves/{ine}"), Some(json!({}))))
            },
            ..Echantillon::new("modifier_eleve", Method::PATCH, "/v1/eleves/{ine}", Genre::Ecriture)
        },
        Echantillon {
            requete: |c, cote| {
                let dossier = match cote {
                    Dedans(_) => &c.dossier_a,
                    Dehors => &c.dossier_c,
                    Inexistant => return None,
                };
                let corps = json!({"mode": "partiel", "elements": [{"eleve": dossier, "inscriptions": []}]});
                Some(("/v1/lots/eleves".into(), Some(corps)))
            },
            ..Echantillon::new("pousser_lot_eleves", post.clone(), "/v1/lots/eleves", Genre::Lot)
        },
        // Imports: the upload is accepted (202) whatever its lines; a line outside the
        // perimeter is rejected by the job, never applied. The inside line is invalid too, so
        // that the matrix writes nothing in the background.
        Echantillon {
            succes: 202,
            refus_dehors: 202,
            expose: false,
            requete: |c, cote| {
                let ligne = match cote {
                    Dedans(_) => json!({"eleve": {}, "inscriptions": []}),
                    Dehors => json!({"eleve": c.dossier_c, "inscriptions": []}),
                    Inexistant => return None,
                };
                Some(("/v1/imports".into(), Some(Value::String(format!("{ligne}\n")))))
            },
            ..Echantillon::new("lancer_import", post.clone(), "/v1/imports", Genre::Ecriture)
        },
        Echantillon {
            expose: false,
            requete: |c, cote| Some((format!("/v1/imports/{}", c.import(cote)), None)),
            ..Echantillon::new("consulter_import", get.clone(), "/v1/imports/{id}", Genre::Unitaire)
        },
        Echantillon {
            expose: false,
            // Another partner's job is unknown to the caller.
            refus_dehors: 404,
            requete: |c, cote| Some((format!("/v1/imports/{}/rejets", c.import(cote)), None)),
            ..Echantillon::new(
                "rapport_rejets_import",
                get.clone(),
                "/v1/imports/{id}/rejets",
                Genre::Liste { non_vide: false },
            )
        },
        // The change feed, from before the matrix's writes (every write sample runs before it):
        // what each actor's writes changed, within its perimeter.
        Echantillon {
            requete: |c, cote| {
                matches!(cote, Dedans(_)).then(|| (format!("/v1/changements?limit=1000&depuis={}", c.debut_flux), None))
            },
            ..Echantillon::new(
                "lire_changements",
                get.clone(),
                "/v1/changements",
                Genre::Liste { non_vide: false },
            )
        },
        // Administration (scope `admin`, national: no perimeter).
        Echantillon {
            requete: |_, cote| matches!(cote, Dedans(_)).then(|| ("/v1/admin/partenaires?limit=1000".into(), None)),
            ..Echantillon::new("lister_partenaires", get.clone(), "/v1/admin/partenaires", liste)
        },
        Echantillon {
            requete: |c, cote| matches!(cote, Dedans(_)).then(|| (format!("/v1/admin/partenaires/{}", c.cible), None)),
            ..Echantillon::new(
                "consulter_partenaire",
                get.clone(),
                "/v1/admin/partenaires/{id}",
                Genre::Unitaire,
            )
        },
        Echantillon {
            requete: |_, cote| matches!(cote, Dedans(_)).then(|| ("/v1/admin/audit?limit=10".into(), None)),
            ..Echantillon::new(
                "consulter_audit",
                get,
                "/v1/admin/audit",
                Genre::Liste { non_vide: false },
            )
        },
        Echantillon {
            succes: 201,
            requete: |c, cote| {
                matches!(cote, Dedans(_)).then(|| {
                    let corps = json!({"nom": "Mairie créée par la matrice", "type": "mairie",
                                       "scopes": ["ecoles:read"], "communes": [c.c.commune]});
                    ("/v1/admin/partenaires".into(), Some(corps))
                })
            },
            ..Echantillon::new(
                "creer_partenaire",
                post.clone(),
                "/v1/admin/partenaires",
                Genre::Ecriture,
            )
        },
        Echantillon {
            requete: |c, cote| {
                matches!(cote, Dedans(_)).then(|| {
                    let corps = json!({"nom": "Cible remplacée", "scopes": ["ecoles:read"],
                                       "communes": [c.c.commune], "actif": true});
                    (format!("/v1/admin/partenaires/{}", c.cible), Some(corps))
                })
            },
            ..Echantillon::new(
                "remplacer_partenaire",
                Method::PUT,
                "/v1/admin/partenaires/{id}",
                Genre::Ecriture,
            )
        },
        Echantillon {
            requete: |c, cote| {
                matches!(cote, Dedans(_)).then(|| {
                    (
                        format!("/v1/admin/partenaires/{}", c.cible),
                        Some(json!({"nom": "Cible modifiée"})),
                    )
                })
            },
            ..Echantillon::new(
                "modifier_partenaire",
                Method::PATCH,
                "/v1/admin/partenaires/{id}",
                Genre::Ecriture,
            )
        },
        Echantillon {
            requete: |c, cote| {
                matches!(cote, Dedans(_))
                    .then(|| (format!("/v1/admin/partenaires/{}/secret", c.cible), Some(json!({}))))
            },
            ..Echantillon::new(
                "changer_secret_partenaire",
                post.clone(),
                "/v1/admin/partenaires/{id}/secret",
                Genre::Ecriture,
            )
        },
        Echantillon {
            requete: |c, cote| {
                matches!(cote, Dedans(_)).then(|| (format!("/v1/admin/partenaires/{}/revocation", c.a_revoquer), None))
            },
            ..Echantillon::new(
                "revoquer_partenaire",
                post.clone(),
                "/v1/admin/partenaires/{id}/revocation",
                Genre::Ecriture,
            )
        },
        Echantillon {
            requete: |_, cote| matches!(cote, Dedans(_)).then(|| ("/v1/admin/cles/rotation".into(), None)),
            ..Echantillon::new("tourner_cles", post, "/v1/admin/cles/rotation", Genre::Ecriture)
        },
    ]
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
    let spec = serde_json::to_value(onde_api::openapi()).unwrap();
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
        "opérations sécurisées sans échantillon dans la matrice d'autorisation (tests/autorisation.rs, \
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

#[test]
fn chaque_operation_securisee_a_un_echantillon() {
    let ops = operations_securisees();
    assert!(ops.len() >= 5, "{ops:?}");
    verifier_couverture(&ops, &echantillons());
    for (id, op) in &ops {
        assert_eq!(
            op.scopes,
            scopes_attendus(&op.methode, &op.chemin),
            "{id} ({} {}) : scope déclaré",
            op.methode,
            op.chemin
        );
    }
}

/// One reference partner per kind.
struct Acteur {
    type_partenaire: TypePartenaire,
    id: Identifiants,
    /// UAIs of the schools in its perimeter (`None`: national).
    ecoles: Option<HashSet<String>>,
    /// A token with every scope the partner holds.
    jeton: String,
}

/// One access sent during the matrix, for the audit cross-check.
struct Acces {
    id_requete: String,
    cellule: String,
    partenaire_id: String,
    client_id: String,
    operation: String,
    scope: Option<String>,
    /// Number of pupils whose data the response exposed (0: must not be audited).
    eleves: Vec<String>,
}

/// Pupil ids exposed by a 200 response of a personal-data operation.
fn eleves_exposes(corps: &Value) -> Vec<String> {
    let id_eleve = |v: &Value| -> String {
        v["eleve"]["id"]
            .as_str()
            .or_else(|| v["eleve_id"].as_str())
            .or_else(|| v["id"].as_str())
            .unwrap()
            .to_owned()
    };
    if let Some(resultats) = corps["resultats"].as_array() {
        return resultats
            .iter()
            .filter(|r| r["resultat"] != "rejete" && r["resultat"] != "annule")
            .map(|r| r["eleve_id"].as_str().unwrap().to_owned())
            .collect();
    }
    match corps["elements"].as_array() {
        // The change feed: the pupils behind each event that shows data.
        Some(elements) if elements.iter().any(|e| e.get("ressource").is_some()) => {
            let mut ids: Vec<String> = elements
                .iter()
                .flat_map(|e| match (e["ressource"].as_str(), &e["donnees"]) {
                    (_, Value::Null) => Vec::new(),
                    (Some("eleve"), d) => vec![d["id"].as_str().unwrap().to_owned()],
                    (Some("inscription"), d) => vec![d["eleve"]["id"].as_str().unwrap().to_owned()],
                    (Some("responsable"), d) => d["eleves"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_str().unwrap().to_owned())
                        .collect(),
                    _ => Vec::new(),
                })
                .collect();
            ids.sort();
            ids.dedup();
            ids
        }
        Some(elements) => elements.iter().map(id_eleve).collect(),
        None => vec![id_eleve(corps)],
    }
}

fn sans_instance(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("instance");
    }
    v
}

/// A pupil record as partners send it (the shape of `PUT /v1/eleves/{ine}`).
fn dossier(e: &onde_domain::Eleve) -> Value {
    json!({
        "ine": e.ine,
        "nom": e.nom,
        "prenoms": e.prenoms,
        "sexe": e.sexe,
        "date_naissance": e.date_naissance,
        "lieu_naissance": e.lieu_naissance,
        "adresse": e.adresse,
        "responsables": e.responsables.iter().map(|r| {
            let mut o = json!({"nom": r.nom, "prenom": r.prenom, "lien": r.lien, "autorite_parentale": r.autorite_parentale});
            for (cle, valeur) in [("telephone", &r.telephone), ("courriel", &r.courriel), ("adresse", &r.adresse)] {
                if let Some(v) = valeur {
                    o[cle] = json!(v);
                }
            }
            o
        }).collect::<Vec<_>>(),
    })
}

/// Identifiers (UAI, INE, UUID) replaced, to compare two refusals about different rows.
fn normaliser(v: &Value) -> String {
    let re = regex_lite::Regex::new(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\b[0-9]{7}[A-Z]\b|\b[0-9]{10}[A-Z]\b",
    )
    .unwrap();
    re.replace_all(&sans_instance(v).to_string(), "<id>").into_owned()
}

/// A waiting import job of a partner, for the samples that read one.
fn import_de(base: &onde_store::testing::BaseDeTest, id: &Identifiants) -> String {
    let job = uuid::Uuid::now_v7();
    let import = onde_store::imports::Import::nouveau(
        job,
        Some(id.partenaire_id),
        Some(id.client_id.clone()),
        onde_store::imports::FormatImport::Ndjson,
        chrono::Utc::now().naive_utc(),
    );
    onde_store::imports::creer(&mut base.store.connexion().unwrap(), &import).unwrap();
    job.to_string()
}

/// Targets of the workflow samples (see [`cibles_des_ecritures`]).
struct Cibles {
    dedans: HashMap<(&'static str, TypePartenaire), String>,
    dehors: HashMap<&'static str, String>,
    niveaux: HashMap<String, String>,
}

/// Inscriptions the workflow samples change: for each operation, one per kind that may write
/// inside (schools A and B) and one outside (school C), in a status the step accepts; each
/// pupil at most once, never A's or C's landmark pupil.
fn cibles_des_ecritures(base: &onde_store::testing::BaseDeTest, reperes: &[Repere]) -> Cibles {
    use onde_domain::StatutInscription::*;
    let (a, b, c) = (&reperes[0], &reperes[1], &reperes[2]);
    let toutes = toutes_les_inscriptions(base);
    let niveaux = toutes
        .iter()
        .map(|i| (i.inscription.id.to_string(), i.inscription.niveau.as_str().to_owned()))
        .collect();
    let mut pris: HashSet<uuid::Uuid> = HashSet::new();
    for r in reperes {
        pris.insert(uuid::Uuid::parse_str(&r.eleve_id).unwrap());
    }
    let mut prendre = |uais: &[&str], statuts: &[onde_domain::StatutInscription]| -> String {
        let i = toutes
            .iter()
            .find(|i| {
                uais.contains(&i.inscription.uai.as_str())
                    && statuts.contains(&i.inscription.statut)
                    && !pris.contains(&i.eleve.id)
            })
            .unwrap_or_else(|| panic!("aucune inscription {statuts:?} libre dans {uais:?}"));
        pris.insert(i.eleve.id);
        i.inscription.id.to_string()
    };
    let actives = [EnAttente, Inscrit, Admissibilite, Admis, AdmisDefinitif];
    let etapes: [(&'static str, &[onde_domain::StatutInscription]); 6] = [
        ("admettre", &[Inscrit, Admissibilite]),
        ("mettre_en_admissibilite", &[Inscrit]),
        ("admettre_definitivement", &[Admis]),
        ("radier", &[AdmisDefinitif, Admis]),
        ("changer_d_ecole", &[AdmisDefinitif]),
        ("changer_de_niveau", &[AdmisDefinitif]),
    ];
    let mut dedans = HashMap::new();
    let mut dehors = HashMap::new();
    for (op, statuts) in etapes {
        for t in [
            TypePartenaire::Mairie,
            TypePartenaire::EcolePrivee,
            TypePartenaire::Editeur,
        ] {
            // A change of school leaves A for B.
            let ecoles: &[&str] = if op == "changer_d_ecole" {
                &[&a.uai]
            } else {
                &[&a.uai, &b.uai]
            };
            dedans.insert((op, t), prendre(ecoles, statuts));
        }
        dehors.insert(op, prendre(&[&c.uai], if op == "radier" { &actives } else { statuts }));
    }
    Cibles {
        dedans,
        dehors,
        niveaux,
    }
}

onde_store::tests_deux_backends! {
    fn matrice_d_autorisation(base) {
        seeder(base, 300);
        let reperes = reperes(base);
        assert!(reperes.len() >= 3);
        let (a, b, c) = (reperes[0].clone(), reperes[1].clone(), reperes[2].clone());
        let ecole_commune: HashMap<String, String> = toutes_les_ecoles(base)
            .into_iter()
            .map(|e| (e.uai.as_str().to_owned(), e.commune.as_str().to_owned()))
            .collect();
        let ecoles_de = |communes: &[&str]| -> HashSet<String> {
            ecole_commune.iter().filter(|(_, c)| communes.contains(&c.as_str())).map(|(u, _)| u.clone()).collect()
        };
        let ops = operations_securisees();
        let tous_les_echantillons = echantillons();
        let echantillons = verifier_couverture(&ops, &tous_les_echantillons);
        // Partners the administration samples act on (never the actors of the matrix).
        let cible = partenaire(base, TypePartenaire::Mairie, "ecoles:read", &[&c.commune], &[], &[]);
        let a_revoquer = partenaire(base, TypePartenaire::Mairie, "ecoles:read", &[&c.commune], &[], &[]);
        let cibles = cibles_des_ecritures(base, &reperes);
        let lire = |ine: &str| {
            let ine = onde_domain::Ine::parse(ine).unwrap();
            let mut conn = base.store.connexion().unwrap();
            dossier(&onde_store::eleves::trouver_par_ine(&mut conn, &onde_domain::Perimetre::National, &ine).unwrap().unwrap())
        };
        let ctx = Contexte {
            a: a.clone(),
            b: b.clone(),
            c: c.clone(),
            cible: cible.partenaire_id.to_string(),
            a_revoquer: a_revoquer.partenaire_id.to_string(),
            inscriptions: cibles.dedans,
            inscriptions_dehors: cibles.dehors,
            niveaux: cibles.niveaux,
            dossier_a: lire(&a.ine),
            dossier_c: lire(&c.ine),
            imports: Default::default(),
            import_autre: import_de(base, &cible),
            debut_flux: onde_store::changements::position_courante(&mut base.store.connexion().unwrap())
                .unwrap()
                .curseur()
                .encoder(),
        };

        let etat = etat(base);
        executer(async {
            let app = actix_web::test::init_service(onde_api::app(etat.clone())).await;
            let tous = |t: TypePartenaire| t.scopes_possibles().to_string();
            // Schools A and B are in every restricted perimeter, C in none.
            let mut acteurs = Vec::new();
            for (t, communes, uais, mandats, ecoles) in [
                (
                    TypePartenaire::Mairie,
                    vec![a.commune.as_str(), b.commune.as_str()],
                    vec![],
                    vec![],
                    Some(ecoles_de(&[&a.commune, &b.commune])),
                ),
                (
                    TypePartenaire::EcolePrivee,
                    vec![],
                    vec![a.uai.as_str(), b.uai.as_str()],
                    vec![],
                    Some([a.uai.clone(), b.uai.clone()].into()),
                ),
                (
                    TypePartenaire::Editeur,
                    vec![],
                    vec![],
                    // A commune's mandate lends no `eleves:write`: school A's mandate is what lets
                    // the editor write A's pupil (the read perimeter is the same).
                    vec![a.commune.as_str(), a.uai.as_str(), b.uai.as_str()],
                    Some(ecoles_de(&[&a.commune]).into_iter().chain([b.uai.clone()]).collect()),
                ),
                (TypePartenaire::Admin, vec![], vec![], vec![], None),
            ] {
                let id = partenaire(base, t, &tous(t), &communes, &uais, &mandats);
                let jeton = jeton(&app, &id).await;
                ctx.imports.borrow_mut().insert(t, import_de(base, &id));
                acteurs.push(Acteur { type_partenaire: t, id, ecoles, jeton });
            }
            assert_eq!(
                acteurs.iter().map(|a| a.type_partenaire).collect::<Vec<_>>(),
                TypePartenaire::TOUS.to_vec(),
                "chaque type de partenaire a sa ligne dans la matrice"
            );
            // The samples really are where they should be.
            for acteur in &acteurs {
                if let Some(e) = &acteur.ecoles {
                    assert!(e.contains(&a.uai) && e.contains(&b.uai) && !e.contains(&c.uai));
                }
            }

            let mut acces = Vec::new();
            let mut cellules = 0;
            for e in &echantillons {
                let op = &ops[e.operation];
                let personnel = op
                    .scopes
                    .iter()
                    .any(|s| s.as_str().starts_with("eleves:") || s.as_str().starts_with("inscriptions:"));
                let dehors = (e.requete)(&ctx, Cote::Dehors);
                let inexistant = (e.requete)(&ctx, Cote::Inexistant);
                for acteur in &acteurs {
                    let t = acteur.type_partenaire;
                    let peut = op.scopes.iter().any(|s| t.scopes_possibles().contient(*s));
                    let national = acteur.ecoles.is_none();
                    // Token without any scope allowing the operation (and with all the others).
                    let restants: Vec<Scope> =
                        t.scopes_possibles().iter().filter(|s| !op.scopes.contains(s)).collect();
                    assert!(!restants.is_empty(), "{t} : aucun autre scope pour {}", e.operation);
                    let jeton_sans = demander_jeton(&app, &acteur.id, Some(&Scopes::de(&restants).to_string()))
                        .await
                        .map_err(|r| r.texte)
                        .unwrap();

                    let dedans = (e.requete)(&ctx, Cote::Dedans(t)).expect("échantillon dedans");
                    let mut cas: Vec<(&str, &Requete, &str, u16)> = vec![
                        ("sans_jeton", &dedans, "", 401),
                        ("sans_scope", &dedans, jeton_sans.as_str(), 403),
                    ];
                    if let Some(dehors) = &dehors {
                        cas.push(("sans_jeton_dehors", dehors, "", 401));
                        cas.push(("sans_scope_dehors", dehors, jeton_sans.as_str(), 403));
                        let attendu = match (peut, national) {
                            (false, _) => 403,
                            (true, true) => e.succes,
                            (true, false) => e.refus_dehors,
                        };
                        cas.push(("dehors", dehors, acteur.jeton.as_str(), attendu));
                    }
                    // A token the gateway itself signed for a scope this kind may never hold
                    // (as if issued before a scope was withdrawn) is refused too.
                    let forge;
                    if !peut {
                        forge = etat
                            .trousseau
                            .emettre(&acteur.id.partenaire_id.to_string(), &acteur.id.client_id, op.scopes[0].as_str())
                            .unwrap();
                        cas.push(("scope_non_detenu", &dedans, forge.as_str(), 403));
                    }
                    // Last: a write that succeeds changes the state.
                    cas.push(("dedans", &dedans, acteur.jeton.as_str(), if peut { e.succes } else { 403 }));
                    for (nom, (uri, corps), jeton, attendu) in cas {
                        cellules += 1;
                        let cellule = format!("{} x {t} x {nom} ({} {uri})", e.operation, e.methode);
                        let r = requete(&app, e.methode.clone(), uri, jeton, &[], corps.as_ref()).await;
                        assert_eq!(r.statut.as_u16(), attendu, "{cellule} : {}", r.texte);
                        let refus_dehors = nom == "dehors" && !national && attendu != 403;
                        match attendu {
                            401 => {
                                assert_probleme(&r, 401, "authentification_requise");
                                let defi = r.entete("www-authenticate").unwrap_or_default();
                                assert!(defi.starts_with("Bearer"), "{cellule} : WWW-Authenticate = {defi:?}");
                            }
                            403 => {
                                assert_probleme(&r, 403, "insufficient_scope");
                                let defi = r.entete("www-authenticate").unwrap_or_default();
                                assert!(
                                    defi.starts_with("Bearer") && defi.contains("insufficient_scope"),
                                    "{cellule} : {defi:?}"
                                );
                            }
                            _ if refus_dehors && attendu >= 400 => {
                                if attendu == 404 {
                                    assert_probleme(&r, 404, "ressource_introuvable");
                                }
                                // Existence does not leak: the answer about a row that exists
                                // nowhere is the same (identifiers aside).
                                if let Some((uri2, corps2)) = &inexistant {
                                    let r2 = requete(&app, e.methode.clone(), uri2, jeton, &[], corps2.as_ref()).await;
                                    assert_eq!(r2.statut, r.statut, "{cellule} : {}", r2.texte);
                                    assert_eq!(normaliser(&r2.corps), normaliser(&r.corps), "{cellule}");
                                }
                            }
                            _ => match e.genre {
                                Genre::Liste { non_vide } => {
                                    let elements = r.corps["elements"].as_array().unwrap();
                                    if refus_dehors {
                                        assert!(elements.is_empty(), "{cellule} : {} lignes hors périmètre", elements.len());
                                    } else if non_vide {
                                        assert!(!elements.is_empty(), "{cellule} : liste vide");
                                    }
                                    if let (Some(ecoles), true) = (&acteur.ecoles, personnel || e.operation == "lister_ecoles") {
                                        for ligne in elements {
                                            // Feed events carry the school in their data, if any.
                                            let uai = match ligne.get("ressource") {
                                                None => ligne["uai"].as_str(),
                                                Some(_) => ligne["donnees"]["uai"].as_str(),
                                            };
                                            if e.operation.starts_with("lister_") && e.operation != "lister_eleves" {
                                                assert!(uai.is_some(), "{cellule} : {ligne}");
                                            }
                                            if let Some(uai) = uai {
                                                assert!(ecoles.contains(uai), "{cellule} : ligne hors périmètre {ligne}");
                                            }
                                        }
                                    }
                                }
                                Genre::Lot => {
                                    let resultats = r.corps["resultats"].as_array().unwrap();
                                    assert!(!resultats.is_empty(), "{cellule}");
                                    for res in resultats {
                                        if refus_dehors {
                                            assert_eq!(res["resultat"], "rejete", "{cellule} : {res}");
                                        } else {
                                            assert_ne!(res["resultat"], "rejete", "{cellule} : {res}");
                                        }
                                    }
                                }
                                Genre::Unitaire => {
                                    let cle = uri.rsplit('/').next().unwrap();
                                    assert!(r.texte.contains(cle), "{cellule} : {}", r.texte);
                                }
                                Genre::Ecriture => assert!(r.corps.is_object(), "{cellule} : {}", r.texte),
                            },
                        }
                        let expose = if (200..300).contains(&attendu) && personnel && e.expose {
                            eleves_exposes(&r.corps)
                        } else {
                            Vec::new()
                        };
                        acces.push(Acces {
                            id_requete: r.entete("x-request-id").unwrap().to_owned(),
                            cellule,
                            partenaire_id: acteur.id.partenaire_id.to_string(),
                            client_id: acteur.id.client_id.clone(),
                            operation: e.operation.to_owned(),
                            scope: op.scopes.iter().find(|s| t.scopes_possibles().contient(**s)).map(|s| s.as_str().to_owned()),
                            eleves: expose,
                        });
                    }
                }
            }
            assert!(cellules >= echantillons.len() * 4 * 3, "{cellules} cellules");

            // The audit trail: one record per access that exposed pupil data, nothing else.
            let piste = piste_audit(&etat);
            let mut par_requete: HashMap<&str, Vec<&onde_store::audit::Entree>> = HashMap::new();
            for entree in &piste {
                par_requete.entry(entree.id_requete.as_str()).or_default().push(entree);
            }
            let mut attendues = 0;
            for a in &acces {
                let trouvees = par_requete.get(a.id_requete.as_str()).cloned().unwrap_or_default();
                if a.eleves.is_empty() {
                    assert!(trouvees.is_empty(), "{} : audit inattendu {trouvees:?}", a.cellule);
                    continue;
                }
                attendues += 1;
                assert_eq!(trouvees.len(), 1, "{} : {trouvees:?}", a.cellule);
                let entree = trouvees[0];
                assert_eq!(entree.partenaire_id, a.partenaire_id, "{}", a.cellule);
                assert_eq!(entree.client_id, a.client_id, "{}", a.cellule);
                assert_eq!(entree.operation, a.operation, "{}", a.cellule);
                assert_eq!(Some(&entree.scope), a.scope.as_ref(), "{}", a.cellule);
                assert_eq!(entree.pour_le_compte_de, None, "{}", a.cellule);
                let recus: BTreeSet<&str> = entree.eleves.split(' ').collect();
                let exposes: BTreeSet<&str> = a.eleves.iter().map(String::as_str).collect();
                assert_eq!(recus, exposes, "{}", a.cellule);
                assert_eq!(entree.nombre as usize, entree.eleves.split(' ').count(), "{}", a.cellule);
            }
            assert!(attendues > 0);
            assert_eq!(piste.len(), attendues, "une entrée d'audit par accès à des données personnelles");
        });
    }
}
