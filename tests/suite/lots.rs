//! Pupil records pushed one by one (PUT/PATCH by INE) and in batches, on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::commun::*;
use actix_web::test;
use onde_domain::{Ine, TypePartenaire};
use serde_json::{json, Value};

/// A private school partner over one elementary-capable school of the seeded data.
fn ecole_privee(base: &onde_store::testing::BaseDeTest) -> (Identifiants, String) {
    let ecoles = onde_store::ecoles::lister(
        &mut base.store.connexion().unwrap(),
        &onde_domain::Perimetre::National,
        &Default::default(),
        &onde_store::DemandePage {
            limite: 1000,
            apres: None,
        },
    )
    .unwrap();
    let ecole = ecoles
        .elements
        .iter()
        .find(|e| e.type_ecole != onde_domain::TypeEcole::Maternelle)
        .unwrap();
    let uai = ecole.uai.as_str().to_owned();
    let id = partenaire(
        base,
        TypePartenaire::EcolePrivee,
        "ecoles:read eleves:read eleves:write inscriptions:read inscriptions:write",
        &[],
        &[&uai],
        &[],
    );
    (id, uai)
}

fn dossier(sequence: u32, nom: &str) -> Value {
    json!({
        "ine": Ine::bea(75, 20, 900_000 + sequence).unwrap().as_str(),
        "nom": nom,
        "prenoms": ["Léa"],
        "sexe": "F",
        "date_naissance": "2020-04-02",
        "lieu_naissance": "75056",
        "responsables": [{"nom": nom, "prenom": "Anne", "lien": "mere", "autorite_parentale": true, "telephone": "0611223344"}]
    })
}

async fn envoyer<S, B>(
    app: &S,
    jeton: &str,
    methode: &str,
    uri: &str,
    corps: &Value,
    entetes: &[(&str, &str)],
) -> Reponse
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let mut req = match methode {
        "PUT" => test::TestRequest::put(),
        "PATCH" => test::TestRequest::patch(),
        _ => test::TestRequest::post(),
    }
    .uri(uri)
    .insert_header(("Authorization", format!("Bearer {jeton}")))
    .insert_header((
        "Content-Type",
        if methode == "PATCH" {
            "application/merge-patch+json"
        } else {
            "application/json"
        },
    ))
    .set_payload(corps.to_string());
    for (k, v) in entetes {
        req = req.insert_header((*k, *v));
    }
    appeler(app, req.to_request()).await
}

deux_backends! {
    fn ecrire_un_eleve_par_ine(base: eleves(200)) {
        executer(async {
            let app = test::init_service(api::app(etat(base))).await;
            let (id, uai) = ecole_privee(base);
            let j = jeton(&app, &id).await;
            let d = dossier(1, "Morel");
            let ine = d["ine"].as_str().unwrap().to_owned();
            let uri = format!("/v1/eleves/{ine}");

            // A bare new pupil would land outside a school's perimeter: refused, with the way out.
            let r = envoyer(&app, &j, "PUT", &uri, &d, &[]).await;
            assert_probleme(&r, 422, "contenu_invalide");
            assert_eq!(r.corps["erreurs"][0]["code"], "eleve_hors_perimetre");
            // Created with its inscription, the pupil is then the school's to update by INE.
            let inscription = json!([{"uai": uai, "annee_scolaire": "2026-2027", "niveau": "CP"}]);
            let r = envoyer(&app, &j, "POST", "/v1/lots/eleves", &json!({"elements": [{"eleve": d, "inscriptions": inscription}]}), &[]).await;
            assert_eq!(r.corps["resultats"][0]["resultat"], "cree", "{}", r.texte);
            let r = get(&app, &j, &uri).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.entete("etag"), Some("\"v1\""));
            assert_eq!(r.corps["responsables"][0]["telephone"], "0611223344");

            // The same record again changes nothing.
            let r = envoyer(&app, &j, "PUT", &uri, &d, &[]).await;
            assert_eq!(r.statut, 200);
            assert_eq!(r.entete("etag"), Some("\"v1\""));

            // A change with a stale If-Match is refused and leaves the record alone.
            let mut change = d.clone();
            change["nom"] = json!("Morel-Dupuis");
            let r = envoyer(&app, &j, "PUT", &uri, &change, &[("If-Match", "\"v7\"")]).await;
            assert_probleme(&r, 412, "version_perimee");
            let r = envoyer(&app, &j, "PUT", &uri, &change, &[("If-Match", "\"v1\"")]).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.entete("etag"), Some("\"v2\""));
            assert_eq!(r.corps["nom"], "Morel-Dupuis");

            // Merge patch: one field changes, the others stay.
            let r = envoyer(&app, &j, "PATCH", &uri, &json!({"prenoms": ["Léa", "Rose"]}), &[]).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.corps["prenoms"], json!(["Léa", "Rose"]));
            assert_eq!(r.corps["nom"], "Morel-Dupuis");
            assert_eq!(r.entete("etag"), Some("\"v3\""));
            // An unknown member is refused, even to remove it (found by schemathesis).
            let r = envoyer(&app, &j, "PATCH", &uri, &json!({"prenom": null, "adresse": {"rue": null}}), &[]).await;
            assert_probleme(&r, 422, "contenu_invalide");
            let pointeurs: Vec<&str> = r.corps["erreurs"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
            assert_eq!(pointeurs, ["/prenom", "/adresse/rue"]);

            // INE in the body must be the path's; every violation is listed with its pointer.
            let mut faux = d.clone();
            faux["ine"] = json!("0494004062M");
            faux["sexe"] = json!("X");
            let r = envoyer(&app, &j, "PUT", &uri, &faux, &[]).await;
            assert_probleme(&r, 422, "contenu_invalide");
            let pointeurs: Vec<&str> = r.corps["erreurs"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
            assert_eq!(pointeurs, ["/ine", "/sexe"]);

            // A second pupil identical on the five normalised fields is a duplicate.
            let mut double = dossier(2, "MOREL dupuis");
            double["prenoms"] = json!(["LEA"]);
            let r = envoyer(&app, &j, "PUT", &format!("/v1/eleves/{}", double["ine"].as_str().unwrap()), &double, &[]).await;
            assert_probleme(&r, 409, "eleve_en_doublon");
            assert_eq!(r.corps["candidat"]["ine"], ine.as_str());
        });
    }

    fn lot_partiel_et_tout_ou_rien(base: eleves(200)) {
        executer(async {
            let app = test::init_service(api::app(etat(base))).await;
            let (id, uai) = ecole_privee(base);
            let j = jeton(&app, &id).await;
            let inscription = json!([{"uai": uai, "annee_scolaire": "2026-2027", "niveau": "CP", "statut": "admis_definitif"}]);
            let mut invalide = dossier(11, "Roux");
            invalide["ine"] = json!("0494004062N");
            let lot = json!({"elements": [
                {"eleve": dossier(10, "Garnier"), "inscriptions": inscription},
                {"eleve": invalide, "inscriptions": inscription},
                {"eleve": dossier(12, "Faure"), "inscriptions": inscription},
            ]});
            let r = envoyer(&app, &j, "POST", "/v1/lots/eleves", &lot, &[]).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            let res = r.corps["resultats"].as_array().unwrap();
            assert_eq!(res[0]["resultat"], "cree");
            assert_eq!(res[1]["resultat"], "rejete");
            assert_eq!(res[1]["probleme"]["erreurs"][0]["pointer"], "/elements/1/eleve/ine");
            assert_eq!(res[2]["resultat"], "cree");
            assert_eq!(r.corps["resume"], json!({"crees": 2, "modifies": 0, "inchanges": 0, "rejetes": 1}));
            // The created pupils are enrolled and visible to the school.
            let ine = res[0]["ine"].as_str().unwrap();
            let r = get(&app, &j, &format!("/v1/eleves/{ine}")).await;
            assert_eq!(r.statut, 200, "{}", r.texte);

            // Re-sending the valid items changes nothing.
            let lot2 = json!({"elements": [
                {"eleve": dossier(10, "Garnier"), "inscriptions": inscription},
                {"eleve": dossier(12, "Faure"), "inscriptions": inscription},
            ]});
            let r = envoyer(&app, &j, "POST", "/v1/lots/eleves", &lot2, &[]).await;
            assert_eq!(r.corps["resume"], json!({"crees": 0, "modifies": 0, "inchanges": 2, "rejetes": 0}), "{}", r.texte);

            // All or nothing: one bad item, nothing applied.
            let mut mauvais = dossier(21, "Blanc");
            mauvais["date_naissance"] = json!("2031-01-01");
            let lot3 = json!({"mode": "tout_ou_rien", "elements": [
                {"eleve": dossier(20, "Noir"), "inscriptions": inscription},
                {"eleve": mauvais},
            ]});
            let r = envoyer(&app, &j, "POST", "/v1/lots/eleves", &lot3, &[]).await;
            assert_probleme(&r, 422, "lot_refuse");
            assert_eq!(r.corps["resultats"][0]["resultat"], "annule");
            assert_eq!(r.corps["resultats"][1]["resultat"], "rejete");
            let ine_annule = dossier(20, "Noir")["ine"].as_str().unwrap().to_owned();
            let r = get(&app, &j, &format!("/v1/eleves/{ine_annule}")).await;
            assert_eq!(r.statut, 404, "rien n'a été appliqué");

            // An inscription in a school outside the perimeter rejects the item, wholly.
            let dehors = json!([{"uai": "0750655E", "annee_scolaire": "2026-2027", "niveau": "CP"}]);
            let r = envoyer(&app, &j, "POST", "/v1/lots/eleves", &json!({"elements": [{"eleve": dossier(30, "Vidal"), "inscriptions": dehors}]}), &[]).await;
            assert_eq!(r.corps["resultats"][0]["resultat"], "rejete", "{}", r.texte);
            assert_eq!(r.corps["resultats"][0]["probleme"]["erreurs"][0]["code"], "ecole_inconnue");
            let ine_vidal = dossier(30, "Vidal")["ine"].as_str().unwrap().to_owned();
            let trouve = onde_store::eleves::id_par_ine(&mut base.store.connexion().unwrap(), &Ine::parse(&ine_vidal).unwrap()).unwrap();
            assert!(trouve.is_none(), "l'élève de l'élément rejeté n'a pas été créé");

            // Bounds.
            let trop: Vec<Value> = (0..1001).map(|i| json!({"eleve": dossier(40 + i, "X")})).collect();
            let r = envoyer(&app, &j, "POST", "/v1/lots/eleves", &json!({"elements": trop}), &[]).await;
            assert_probleme(&r, 422, "contenu_invalide");
            assert_eq!(r.corps["erreurs"][0]["code"], "lot_trop_grand");
        });
    }
}

/// Replaces every UUID by its rank of first appearance and drops the request ids, so that two
/// answers compare equal when they name the same pupils in the same places.
fn normaliser(v: &Value, vus: &mut Vec<String>) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| k.as_str() != "instance")
                .map(|(k, x)| (k.clone(), normaliser(x, vus)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| normaliser(x, vus)).collect()),
        Value::String(s) if uuid::Uuid::parse_str(s).is_ok() => {
            let rang = vus.iter().position(|x| x == s).unwrap_or_else(|| {
                vus.push(s.clone());
                vus.len() - 1
            });
            json!(format!("uuid#{rang}"))
        }
        autre => autre.clone(),
    }
}

/// The answers to a batch mixing every outcome (and items repeating an INE or a duplicate key
/// of an earlier item), normalised; PostgreSQL applies it set-based, SQLite item by item.
/// `base`: enough pupils for communes with several schools (a maternelle among them), see
/// [`lot_melange_identique_sur_les_deux_backends`].
fn lot_melange(base: &onde_store::testing::BaseDeTest) -> Vec<Value> {
    let mut reponses = Vec::new();
    executer(async {
        let app = test::init_service(api::app(etat(base))).await;
        let ecoles = toutes_les_ecoles(base);
        // A school that does not teach every niveau, and two that teach the elementary ones.
        let partielle = ecoles
            .iter()
            .find(|e| e.type_ecole == onde_domain::TypeEcole::Maternelle)
            .unwrap();
        let refuse = "CP";
        let mut autres = ecoles
            .iter()
            .filter(|e| e.type_ecole != onde_domain::TypeEcole::Maternelle && e.uai != partielle.uai);
        let (u, v) = (autres.next().unwrap().uai.as_str(), autres.next().unwrap().uai.as_str());
        let m = partielle.uai.as_str();
        let id = partenaire(
            base,
            TypePartenaire::EcolePrivee,
            "ecoles:read eleves:read eleves:write inscriptions:read inscriptions:write",
            &[],
            &[u, v, m],
            &[],
        );
        let j = jeton(&app, &id).await;
        // A seeded pupil with no inscription in those schools is outside the perimeter.
        let inscriptions = toutes_les_inscriptions(base);
        let dans = |ine: &str| {
            inscriptions.iter().any(|i| {
                i.eleve.ine.as_ref().map(|x| x.as_str()) == Some(ine) && [u, v, m].contains(&i.inscription.uai.as_str())
            })
        };
        let dehors = inscriptions
            .iter()
            .filter_map(|i| i.eleve.ine.as_ref().map(|x| x.as_str().to_owned()))
            .find(|ine| !dans(ine))
            .unwrap();
        let insc = |uai: &str, niveau: &str, statut: &str| json!({"uai": uai, "annee_scolaire": "2026-2027", "niveau": niveau, "statut": statut});
        let el = |d: Value, i: Vec<Value>| json!({"eleve": d, "inscriptions": i});

        // The pupils the second batch works on.
        let lot1 = json!({"elements": [
            el(dossier(100, "Alpha"), vec![insc(u, "CP", "admis_definitif")]),
            el(dossier(101, "Bravo"), vec![insc(u, "CE1", "admis_definitif")]),
            el(dossier(102, "Charlie"), vec![insc(u, "CP", "inscrit")]),
            el(dossier(103, "Delta"), vec![insc(u, "CE1", "admis_definitif")]),
        ]});
        let r = envoyer(&app, &j, "POST", "/v1/lots/eleves", &lot1, &[]).await;
        assert_eq!(r.corps["resume"]["crees"], 4, "{}", r.texte);
        let alpha_id = r.corps["resultats"][0]["eleve_id"].clone();

        let mut bravo = dossier(101, "Bravo");
        bravo["nom"] = json!("Bravo-Martin");
        let mut invalide = dossier(104, "Echo");
        invalide["ine"] = json!("0494004062N");
        let mut foxtrot_bis = dossier(105, "Foxtrot");
        foxtrot_bis["prenoms"] = json!(["Rose"]);
        let mut hors = dossier(107, "Golf");
        hors["ine"] = json!(dehors);
        let lot2 = json!({"elements": [
            // 0 unchanged, 1 modified, 2 created
            el(dossier(100, "Alpha"), vec![insc(u, "CP", "admis_definitif")]),
            el(bravo, vec![insc(u, "CE1", "admis_definitif")]),
            el(dossier(105, "Foxtrot"), vec![insc(u, "CP", "inscrit")]),
            // 3 INE of a pupil outside the perimeter
            el(hors, vec![insc(u, "CP", "inscrit")]),
            // 4 a new INE with Alpha's identity
            el(dossier(108, "Alpha"), vec![insc(u, "CP", "inscrit")]),
            // 5 unknown school, 6 niveau the school does not teach
            el(dossier(109, "Hotel"), vec![insc("0750655E", "CP", "inscrit")]),
            el(dossier(110, "India"), vec![insc(m, refuse, "inscrit")]),
            // 7 Charlie already enrolled elsewhere this year, 8 Delta going back in the workflow
            el(dossier(102, "Charlie"), vec![insc(v, "CP", "inscrit")]),
            el(dossier(103, "Delta"), vec![insc(u, "CE1", "en_attente")]),
            // 9 unreadable
            el(invalide, vec![]),
            // 10 Foxtrot again, renamed (applied after item 2: modified)
            el(foxtrot_bis.clone(), vec![insc(u, "CP", "inscrit")]),
            // 11 a new INE with Foxtrot's new identity: a duplicate of item 2's pupil
            el(dossier(111, "Foxtrot").as_object().map(|o| { let mut o = o.clone(); o.insert("prenoms".into(), json!(["Rose"])); Value::Object(o) }).unwrap(), vec![insc(u, "CP", "inscrit")]),
            // 12 a new INE with Foxtrot's first identity, freed by item 10: created
            el(dossier(112, "Foxtrot"), vec![insc(u, "CP", "inscrit")]),
            // 13 a duplicate of Alpha with an unknown school: the duplicate is reported
            el(dossier(113, "Alpha"), vec![insc("0750655E", "CP", "inscrit")]),
            // 14 Delta: forbidden change before an unknown school, 15 the other way round
            el(dossier(103, "Delta"), vec![insc(u, "CE1", "en_attente"), json!({"uai": "0750655E", "annee_scolaire": "2027-2028", "niveau": "CE1"})]),
            el(dossier(103, "Delta"), vec![json!({"uai": "0750655E", "annee_scolaire": "2027-2028", "niveau": "CE1"}), insc(u, "CE1", "en_attente")]),
        ]});
        let r = envoyer(&app, &j, "POST", "/v1/lots/eleves", &lot2, &[]).await;
        assert_eq!(r.statut, 200, "{}", r.texte);
        let res = r.corps["resultats"].as_array().unwrap();
        let codes: Vec<String> = res
            .iter()
            .map(|x| match x["resultat"].as_str().unwrap() {
                "rejete" => x["probleme"]["erreurs"][0]["code"]
                    .as_str()
                    .or(x["probleme"]["code"].as_str())
                    .unwrap()
                    .to_owned(),
                autre => autre.to_owned(),
            })
            .collect();
        assert_eq!(
            codes,
            [
                "inchange",
                "modifie",
                "cree",
                "ine_hors_perimetre",
                "eleve_en_doublon",
                "ecole_inconnue",
                "niveau_non_accueilli",
                "inscription_active_existante",
                "transition_interdite",
                "ine_cle",
                "modifie",
                "eleve_en_doublon",
                "cree",
                "eleve_en_doublon",
                "transition_interdite",
                "ecole_inconnue",
            ],
            "{}",
            r.texte
        );
        assert_eq!(res[4]["probleme"]["candidat"]["id"], alpha_id);
        assert_eq!(res[4]["probleme"]["status"], 409);
        assert_eq!(res[10]["eleve_id"], res[2]["eleve_id"]);
        assert_eq!(res[11]["probleme"]["candidat"]["id"], res[2]["eleve_id"]);
        assert_eq!(res[8]["probleme"]["statut_actuel"], "admis_definitif");
        assert_eq!(
            res[15]["probleme"]["erreurs"][0]["pointer"],
            "/elements/15/inscriptions/0/uai"
        );
        assert_eq!(
            r.corps["resume"],
            json!({"crees": 2, "modifies": 2, "inchanges": 1, "rejetes": 11})
        );
        let mut vus = Vec::new();
        reponses.push(normaliser(&r.corps, &mut vus));

        // The same batch all or nothing: refused whole, and again identical on both backends.
        let mut lot3 = lot2.clone();
        lot3["mode"] = json!("tout_ou_rien");
        let r = envoyer(&app, &j, "POST", "/v1/lots/eleves", &lot3, &[]).await;
        assert_probleme(&r, 422, "lot_refuse");
        reponses.push(normaliser(&r.corps["resultats"], &mut vus));
    });
    reponses
}

#[::core::prelude::v1::test]
fn lot_melange_identique_sur_les_deux_backends() {
    let sqlite = lot_melange(&TestApp::sqlite().eleves(1500).communes(5).build().base);
    let postgres = lot_melange(&TestApp::postgres().eleves(1500).communes(5).build().base);
    assert_eq!(sqlite, postgres);
}

/// The set-based path writes the chunk's feed once, with the triggers standing aside
/// (migration `changements_par_lot`). The same chunks, applied with the triggers instead (the
/// deferral switched off inside the transaction) and rolled back, must note the same events
/// under the same keys: creations, then changes of residence, name, guardians, class, and a
/// new inscription for next year, one pupil twice; then renames (name and birth date) alone,
/// which note every inscription of the pupils (each embeds the pupil's summary), then moves
/// alone, which note none.
#[::core::prelude::v1::test]
fn flux_par_lot_identique_aux_declencheurs() {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, RunQueryDsl};
    use onde_store::DbConnection;

    let base = TestApp::postgres().eleves(300).communes(4).build().base;
    let ecoles: Vec<onde_domain::Ecole> = toutes_les_ecoles(&base)
        .into_iter()
        .filter(|e| e.type_ecole != onde_domain::TypeEcole::Maternelle)
        .collect();
    let communes: Vec<String> = ecoles
        .iter()
        .map(|e| e.commune.as_str().to_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    // Items read as the batch endpoint reads them.
    let lire = |v: &Value| {
        let mut l = onde_domain::dossier::Lecture::default();
        onde_domain::poussee::ElementPousse::lire(v, "", chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(), &mut l)
            .unwrap_or_else(|| panic!("{:?}", l.manquements))
    };
    let (creations, changements) = lots_de_scenario(&ecoles, &communes, 700_000, 20);
    // The pupils as the changes leave them (the last item is pupil 7 again), each once: a pupil
    // changed twice in one batch gets guardians of a new id each run, deleted by its second item.
    let mut apres_changements = changements.clone();
    let dernier = apres_changements.pop().unwrap();
    apres_changements[7] = dernier;
    let renommages: Vec<Value> = apres_changements
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e["eleve"]["nom"] = json!(format!("{}-r", e["eleve"]["nom"].as_str().unwrap()));
            e["eleve"]["date_naissance"] = json!("2020-05-17");
            e
        })
        .collect();
    let demenagements: Vec<Value> = renommages
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e["eleve"]["adresse"]["voie"] = json!("3 place du Marché");
            e["eleve"]["adresse"]["commune"] = json!(communes[communes.len() - 1]);
            e
        })
        .collect();
    let creations: Vec<_> = creations.iter().map(lire).collect();
    let changements: Vec<_> = changements.iter().map(lire).collect();
    let renommages: Vec<_> = renommages.iter().map(lire).collect();
    let demenagements: Vec<_> = demenagements.iter().map(lire).collect();

    let perimetre = onde_domain::Perimetre::National;
    let maintenant = chrono::Utc::now().naive_utc();
    let indexer = |v: &[onde_domain::poussee::ElementPousse]| v.iter().cloned().enumerate().collect::<Vec<_>>();
    // The events of the current transaction, each resource named by what both runs share (new
    // rows get new ids on each run): a pupil by INE, an inscription by pupil, year and school,
    // a guardian by pupil and rank (or by id once deleted).
    #[derive(diesel::QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
    struct Note {
        #[diesel(sql_type = diesel::sql_types::Text)]
        ressource: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        nom: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        operation: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        cles: String,
    }
    let notes = |c: &mut DbConnection| -> Vec<Note> {
        let mut v: Vec<Note> = diesel::sql_query(
            "SELECT c.ressource, c.operation,
                    CASE c.ressource
                      WHEN 'eleve' THEN (SELECT e.ine FROM eleves e WHERE e.id = c.ressource_id)
                      WHEN 'inscription' THEN (SELECT e.ine || '/' || i.annee_scolaire || '/' || i.uai
                                               FROM inscriptions i JOIN eleves e ON e.id = i.eleve_id WHERE i.id = c.ressource_id)
                      WHEN 'responsable' THEN coalesce((SELECT string_agg(e.ine || '#' || l.rang, ',' ORDER BY e.ine)
                                                        FROM eleves_responsables l JOIN eleves e ON e.id = l.eleve_id
                                                        WHERE l.responsable_id = c.ressource_id), c.ressource_id)
                      ELSE c.ressource_id END AS nom,
                    coalesce((SELECT string_agg(p.cle, ',' ORDER BY p.cle) FROM changements_portee p
                              WHERE p.xid = c.xid AND p.seq = c.seq), '') AS cles
               FROM changements c WHERE c.xid = pg_current_xact_id()::text::bigint",
        )
        .load(c)
        .unwrap();
        v.sort();
        v
    };
    let executer = |c: &mut DbConnection,
                    lot: &[onde_domain::poussee::ElementPousse],
                    declencheurs: bool|
     -> Vec<Note> {
        let mut vu = Vec::new();
        let _ = c.transaction::<(), diesel::result::Error, _>(|c| {
            if declencheurs {
                c.batch_execute(
                    "CREATE OR REPLACE FUNCTION changements_differes() RETURNS boolean LANGUAGE sql STABLE AS 'SELECT false'",
                )?;
            }
            let faits = onde_store::lots::appliquer(c, &perimetre, indexer(lot), maintenant).unwrap().unwrap();
            assert!(faits.iter().all(|(_, f)| matches!(f, onde_store::lots::IssueElement::Applique(_))), "{faits:?}");
            vu = notes(c);
            Err(diesel::result::Error::RollbackTransaction)
        });
        vu
    };
    let mut conn = base.store.connexion().unwrap();
    let c = &mut *conn;
    // The inscriptions of the batches' pupils (INEs 75 20 700000 to 700019).
    let inscriptions_du_lot = |c: &mut DbConnection| -> usize {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let n: N = diesel::sql_query(
            "SELECT count(*) AS n FROM inscriptions i JOIN eleves e ON e.id = i.eleve_id WHERE e.ine LIKE '75207000%'",
        )
        .get_result(c)
        .unwrap();
        usize::try_from(n.n).unwrap()
    };
    let notees = |v: &[Note]| v.iter().filter(|n| n.ressource == "inscription").count();
    for (nom, lot) in [
        ("créations", &creations),
        ("changements", &changements),
        ("renommages", &renommages),
        ("déménagements", &demenagements),
    ] {
        let par_declencheurs = executer(c, lot, true);
        let par_lot = executer(c, lot, false);
        assert!(par_lot.len() > 40, "{nom} : {par_lot:?}");
        match nom {
            "renommages" => {
                let n = inscriptions_du_lot(c);
                assert!(n >= 20);
                assert_eq!(notees(&par_lot), n, "{nom} : {par_lot:?}");
                assert!(par_lot
                    .iter()
                    .filter(|n| n.ressource == "inscription")
                    .all(|n| n.operation == "modification" && n.cles.contains("u:") && n.cles.contains("c:")));
            }
            "déménagements" => assert_eq!(notees(&par_lot), 0, "{nom} : {par_lot:?}"),
            _ => assert!(par_lot.iter().any(|n| n.operation == "creation")),
        }
        assert_eq!(par_declencheurs, par_lot, "{nom}");
        // The creations stay, for the changes to find them.
        c.transaction::<_, diesel::result::Error, _>(|c| {
            onde_store::lots::appliquer(c, &perimetre, indexer(lot), maintenant)
                .unwrap()
                .unwrap();
            Ok(())
        })
        .unwrap();
    }
    // The triggers are back after a chunk: a plain write in the same transaction is noted.
    c.transaction::<(), diesel::result::Error, _>(|c| {
        onde_store::lots::appliquer(c, &perimetre, indexer(&creations[..1]), maintenant)
            .unwrap()
            .unwrap();
        c.batch_execute("UPDATE eleves SET prenom2 = 'Apres' WHERE ine = (SELECT min(ine) FROM eleves)")?;
        let v = notes(c);
        assert!(v.iter().any(|n| n.ressource == "eleve"), "{v:?}");
        Err(diesel::result::Error::RollbackTransaction)
    })
    .unwrap_err();
}
