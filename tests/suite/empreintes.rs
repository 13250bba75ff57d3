//! The pupils' content fingerprints (`eleves.empreinte`, issue 18 item 2): every write path
//! that stores a pupil record keeps its fingerprint equal to one recomputed from the stored
//! rows, and a re-push is classified by it (unchanged, changed) as field by field, on both
//! backends. A pupil without one (the seed writes none) is compared field by field.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::test;
use diesel::prelude::*;
use onde_domain::{Ine, Perimetre, TypePartenaire};
use onde_store::imports::{self, FormatImport, Import, OptionsImport};
use onde_store::schema::eleves;
use onde_store::testing::BaseDeTest;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::commun::*;

const ANNEE: &str = "2026-2027";

fn dossier(sequence: u32, nom: &str) -> Value {
    json!({
        "ine": Ine::bea(75, 20, 800_000 + sequence).unwrap().as_str(),
        "nom": nom,
        "prenoms": ["Léa", "Rose"],
        "sexe": "F",
        "date_naissance": "2020-04-02",
        "lieu_naissance": "75056",
        "adresse": {"voie": "3 rue de Siam", "code_postal": "29200", "commune": "29019"},
        "responsables": [
            {"nom": nom, "prenom": "Anne", "lien": "mere", "autorite_parentale": true, "telephone": "0611223344"},
            {"nom": nom, "prenom": "Paul", "lien": "pere", "autorite_parentale": true, "courriel": "paul@example.org"}
        ]
    })
}

/// Whatever a write left behind: no stored fingerprint differs from a recomputation.
fn aucune_perimee(base: &BaseDeTest, etape: &str) {
    let perimees = onde_store::empreinte::perimees(&mut base.store.connexion().unwrap()).unwrap();
    assert!(perimees.is_empty(), "{etape} : empreintes périmées {perimees:?}");
}

fn empreinte(base: &BaseDeTest, ine: &str) -> Option<Vec<u8>> {
    let mut conn = base.store.connexion().unwrap();
    let conn: &mut onde_store::DbConnection = &mut conn;
    eleves::table
        .filter(eleves::ine.eq(ine))
        .select(eleves::empreinte)
        .first::<Option<Vec<u8>>>(conn)
        .unwrap()
}

fn ine(d: &Value) -> String {
    d["ine"].as_str().unwrap().to_owned()
}

/// A seeded pupil's stored record as a push would send it.
fn enregistrement(e: &onde_domain::Eleve) -> Value {
    let mut d = json!({
        "ine": e.ine.as_ref().unwrap().as_str(),
        "nom": e.nom,
        "prenoms": e.prenoms.tous(),
        "sexe": e.sexe.as_str(),
        "date_naissance": e.date_naissance.to_string(),
        "lieu_naissance": e.lieu_naissance.as_str(),
    });
    if let Some(a) = &e.adresse {
        d["adresse"] = json!({"voie": a.voie, "code_postal": a.code_postal, "commune": a.commune.as_str()});
    }
    let responsables: Vec<Value> = e
        .responsables
        .iter()
        .map(|r| {
            let mut v = json!({"nom": r.nom, "prenom": r.prenom, "lien": r.lien.as_str(),
                               "autorite_parentale": r.autorite_parentale});
            for (k, x) in [
                ("telephone", &r.telephone),
                ("courriel", &r.courriel),
                ("adresse", &r.adresse),
            ] {
                if let Some(x) = x {
                    v[k] = json!(x);
                }
            }
            v
        })
        .collect();
    d["responsables"] = json!(responsables);
    d
}

fn importer(base: &BaseDeTest, elements: &[Value]) -> Import {
    let dossier = tempfile::tempdir().unwrap();
    let fichier = dossier.path().join("f.ndjson");
    std::fs::write(&fichier, elements.iter().map(|e| format!("{e}\n")).collect::<String>()).unwrap();
    let mut conn = base.store.connexion().unwrap();
    let id = Uuid::now_v7();
    let format = FormatImport::Ndjson;
    imports::creer(
        &mut conn,
        &Import::nouveau(id, None, None, format, chrono::Utc::now().naive_utc()),
    )
    .unwrap();
    let options = OptionsImport::default();
    imports::executer(
        &mut conn,
        id,
        &fichier,
        format,
        &Perimetre::National,
        &options,
        &mut |_, _| true,
    )
    .unwrap()
    .unwrap()
}

deux_backends! {
    fn chaque_ecriture_garde_l_empreinte_exacte(base: eleves(300)) {
        executer(async {
            let app = test::init_service(api::app(etat(base))).await;
            // A seeded pupil enrolled this year in an elementary school: the partner's school.
            let inscriptions = toutes_les_inscriptions(base);
            let seme = inscriptions
                .iter()
                .find(|i| {
                    i.inscription.annee_scolaire.as_str() == ANNEE
                        && i.inscription.statut.as_str() != "radie"
                        && i.inscription.niveau.as_str() == "CE1"
                })
                .unwrap();
            let uai = seme.inscription.uai.as_str().to_owned();
            let id = partenaire(
                base,
                TypePartenaire::EcolePrivee,
                "ecoles:read eleves:read eleves:write inscriptions:read inscriptions:write",
                &[],
                &[&uai],
                &[],
            );
            let j = jeton(&app, &id).await;
            let insc = json!([{"uai": uai, "annee_scolaire": ANNEE, "niveau": "CP", "statut": "admis_definitif"}]);
            let el = |d: &Value| json!({"eleve": d, "inscriptions": insc});
            let lot = |elements: Vec<Value>| json!({"elements": elements});
            let pousser = |corps: Value| {
                let j = j.clone();
                let app = &app;
                async move {
                    let req = test::TestRequest::post()
                        .uri("/v1/lots/eleves")
                        .insert_header(("Authorization", format!("Bearer {j}")))
                        .insert_header(("Content-Type", "application/json"))
                        .set_payload(corps.to_string())
                        .to_request();
                    let r = appeler(app, req).await;
                    assert_eq!(r.statut, 200, "{}", r.texte);
                    r.corps["resultats"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x["resultat"].as_str().unwrap().to_owned())
                        .collect::<Vec<_>>()
                }
            };
            let ecrire = |methode: &str, uri: String, corps: Value| {
                let j = j.clone();
                let app = &app;
                let (req, type_corps) = match methode {
                    "PUT" => (test::TestRequest::put(), "application/json"),
                    "PATCH" => (test::TestRequest::patch(), "application/merge-patch+json"),
                    _ => (test::TestRequest::post(), "application/json"),
                };
                async move {
                    let req = req
                        .uri(&uri)
                        .insert_header(("Authorization", format!("Bearer {j}")))
                        .insert_header(("Content-Type", type_corps))
                        .set_payload(corps.to_string())
                        .to_request();
                    appeler(app, req).await
                }
            };

            // Batch: two new pupils get a fingerprint.
            let (a, b) = (dossier(1, "Alpha"), dossier(2, "Bravo"));
            assert_eq!(pousser(lot(vec![el(&a), el(&b)])).await, ["cree", "cree"]);
            assert!(empreinte(base, &ine(&a)).is_some() && empreinte(base, &ine(&b)).is_some());
            aucune_perimee(base, "lot de créations");

            // PUT replaces the record, PATCH a guardian: each moves the fingerprint with it.
            let mut a2 = a.clone();
            a2["nom"] = json!("Alpha-Martin");
            let avant = empreinte(base, &ine(&a));
            let r = ecrire("PUT", format!("/v1/eleves/{}", ine(&a)), a2.clone()).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_ne!(empreinte(base, &ine(&a)), avant);
            aucune_perimee(base, "PUT");
            let mut b2 = b.clone();
            b2["responsables"][1]["courriel"] = json!("paul.bravo@example.org");
            let patch = json!({"responsables": b2["responsables"]});
            let r = ecrire("PATCH", format!("/v1/eleves/{}", ine(&b)), patch).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            aucune_perimee(base, "PATCH");

            // A re-push is classified by fingerprint: A as PUT left it is unchanged; B as first
            // pushed differs from the PATCH by one guardian's e-mail only.
            let c = dossier(3, "Charlie");
            assert_eq!(pousser(lot(vec![el(&a2), el(&b), el(&c)])).await, ["inchange", "modifie", "cree"]);
            aucune_perimee(base, "lot mêlé");
            let mut b3 = b.clone();
            b3["responsables"] = json!([b["responsables"][1], b["responsables"][0]]);
            assert_eq!(pousser(lot(vec![el(&b3), el(&b)])).await, ["modifie", "modifie"], "ordre des responsables");
            aucune_perimee(base, "ordre des responsables");

            // A seeded pupil has none: compared field by field (unchanged), then given one.
            let mut conn = base.store.connexion().unwrap();
            let s = onde_store::eleves::trouver_par_ine(&mut conn, &Perimetre::National, seme.eleve.ine.as_ref().unwrap())
                .unwrap()
                .unwrap();
            drop(conn);
            let s = enregistrement(&s);
            assert_eq!(empreinte(base, &ine(&s)), None);
            let sans = |d: &Value| json!({"eleve": d, "inscriptions": []});
            assert_eq!(pousser(lot(vec![sans(&s)])).await, ["inchange"]);
            assert_eq!(empreinte(base, &ine(&s)), None);
            let mut s2 = s.clone();
            s2["nom"] = json!(format!("{}-Autre", s["nom"].as_str().unwrap()));
            assert_eq!(pousser(lot(vec![sans(&s2)])).await, ["modifie"]);
            assert!(empreinte(base, &ine(&s2)).is_some());
            aucune_perimee(base, "élève semé");

            // A new pupil enrolled through the workflow.
            let e = dossier(5, "Echo");
            let mut sans_ine = e.clone();
            sans_ine.as_object_mut().unwrap().remove("ine");
            let corps = json!({"eleve": sans_ine, "uai": uai, "annee_scolaire": ANNEE, "niveau": "CP"});
            let r = ecrire("POST", "/v1/inscriptions".into(), corps).await;
            assert_eq!(r.statut, 201, "{}", r.texte);
            aucune_perimee(base, "inscription d'un nouvel élève");

            // The import: one changed, one unchanged, one new.
            let mut c2 = c.clone();
            c2["adresse"]["voie"] = json!("5 rue de Siam");
            let d = dossier(4, "Delta");
            let fait = importer(base, &[el(&c2), el(&a2), el(&d)]);
            assert_eq!([fait.crees, fait.modifies, fait.inchanges, fait.rejetes], [1, 1, 1, 0]);
            assert!(empreinte(base, &ine(&d)).is_some());
            aucune_perimee(base, "import");
            let fait = importer(base, &[el(&c2), el(&a2), el(&d)]);
            assert_eq!([fait.crees, fait.modifies, fait.inchanges, fait.rejetes], [0, 0, 3, 0]);

            // A write outside the application (manual SQL) leaves no stale fingerprint: the
            // pupil's goes unknown, and the next push compares it field by field.
            sql(base, &format!("UPDATE eleves SET nom = 'Manuel' WHERE ine = '{}'", ine(&a2)));
            assert_eq!(empreinte(base, &ine(&a2)), None);
            assert_eq!(pousser(lot(vec![el(&a2)])).await, ["modifie"]);
            assert!(empreinte(base, &ine(&a2)).is_some());
            sql(
                base,
                &format!(
                    "UPDATE responsables SET telephone = '0700000000' WHERE id IN (SELECT l.responsable_id \
                     FROM eleves_responsables l JOIN eleves e ON e.id = l.eleve_id WHERE e.ine = '{}')",
                    ine(&a2)
                ),
            );
            assert_eq!(empreinte(base, &ine(&a2)), None);
            assert_eq!(pousser(lot(vec![el(&a2)])).await, ["modifie"]);
            sql(base, &format!("UPDATE eleves_responsables SET autorite_parentale = NOT autorite_parentale WHERE eleve_id = (SELECT id FROM eleves WHERE ine = '{}')", ine(&a2)));
            assert_eq!(empreinte(base, &ine(&a2)), None);
            assert_eq!(pousser(lot(vec![el(&a2)])).await, ["modifie"]);
            aucune_perimee(base, "écritures à la main");
        });
    }
}
