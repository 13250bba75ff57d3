//! CSV exports and conditional requests, on both backends: spreadsheet-ready CSV (BOM, `;`,
//! French headers, dd/mm/yyyy, CRLF) holding the whole filtered list over several chunks,
//! within the perimeter and with the profile's columns only; `ETag` and `304` on single
//! resources, list pages and the change feed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::commun::*;
use onde_domain::{ChampEleve, ProfilDonnees, TypePartenaire};
use serde_json::Value;

/// Every element of a paginated JSON list.
async fn tout_lire<S, B>(app: &S, jeton: &str, chemin: &str) -> Vec<Value>
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let mut tous = Vec::new();
    let mut uri = format!("{chemin}?limit=1000");
    loop {
        let r = get(app, jeton, &uri).await;
        assert_eq!(r.statut, 200, "{}", r.texte);
        tous.extend(r.corps["elements"].as_array().unwrap().iter().cloned());
        match r.corps["lien_suivant"].as_str() {
            Some(l) => uri = l.to_owned(),
            None => return tous,
        }
    }
}

/// Rows of a CSV body after checking its spreadsheet conventions.
fn lignes_csv(r: &Reponse) -> (Vec<String>, Vec<Vec<String>>) {
    assert_eq!(r.statut, 200, "{}", r.texte);
    assert_eq!(r.entete("content-type"), Some("text/csv; charset=utf-8"));
    assert!(r
        .entete("content-disposition")
        .unwrap()
        .starts_with("attachment; filename="));
    assert!(r.texte.starts_with('\u{feff}'), "BOM");
    assert!(r.texte.ends_with("\r\n"));
    let mut lecteur = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(r.texte.trim_start_matches('\u{feff}').as_bytes());
    let entete: Vec<String> = lecteur.headers().unwrap().iter().map(String::from).collect();
    let lignes = lecteur
        .records()
        .map(|l| l.unwrap().iter().map(String::from).collect())
        .collect();
    (entete, lignes)
}

fn date_fr(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 10 && b[2] == b'/' && b[5] == b'/' && s.bytes().filter(u8::is_ascii_digit).count() == 8
}

deux_backends! {
    fn csv_pour_tableur_dans_le_perimetre(base: eleves(900).communes(4)) {
        let ecoles = toutes_les_ecoles(base);
        let communes: Vec<String> = ecoles.iter().map(|e| e.commune.as_str().to_owned()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let a_moi: std::collections::HashSet<String> = ecoles.iter().filter(|e| e.commune.as_str() != communes[0]).map(|e| e.uai.as_str().to_owned()).collect();
        let miennes: Vec<&str> = communes[1..].iter().map(String::as_str).collect();
        let etat = etat(base);
        executer(async {
            let app = actix_web::test::init_service(api::app(etat.clone())).await;
            let mairie = partenaire(base, TypePartenaire::Mairie, "ecoles:read eleves:read inscriptions:read", &miennes, &[], &[]);
            let j = jeton(&app, &mairie).await;

            // Inscriptions: the same rows as the JSON list, over more than one chunk.
            let json = tout_lire(&app, &j, "/v1/inscriptions").await;
            assert!(json.len() > 1000, "{} inscriptions : une seule tranche", json.len());
            let r = get(&app, &j, "/v1/inscriptions?format=csv").await;
            let (entete, lignes) = lignes_csv(&r);
            assert_eq!(entete[..3], ["identifiant", "uai", "annee_scolaire"]);
            assert!(entete.contains(&"date_naissance".to_owned()) && entete.contains(&"ine".to_owned()));
            assert_eq!(lignes.len(), json.len());
            let ids_json: Vec<&str> = json.iter().map(|i| i["id"].as_str().unwrap()).collect();
            let ids_csv: Vec<&str> = lignes.iter().map(|l| l[0].as_str()).collect();
            assert_eq!(ids_csv, ids_json, "même ordre, mêmes lignes");
            let col = |nom: &str| entete.iter().position(|c| c == nom).unwrap();
            for l in &lignes {
                assert!(a_moi.contains(&l[1]), "hors périmètre : {l:?}");
                assert!(date_fr(&l[col("date_inscription")]), "{l:?}");
                assert!(date_fr(&l[col("date_naissance")]), "{l:?}");
                assert!(["oui", "non"].contains(&l[col("admission_provisoire")].as_str()));
            }
            // The same with Accept, and a filter; an unknown format is a 400.
            let r = get_avec(&app, &j, &format!("/v1/inscriptions?uai={}", lignes[0][1]), &[("Accept", "text/csv")]).await;
            let (_, filtrees) = lignes_csv(&r);
            assert!(!filtrees.is_empty() && filtrees.iter().all(|l| l[1] == lignes[0][1]));
            assert_probleme(&get(&app, &j, "/v1/inscriptions?format=xlsx").await, 400, "parametre_invalide");

            // Pupils: the columns of the mairie's profile only (no place of birth).
            let json = tout_lire(&app, &j, "/v1/eleves").await;
            let r = get(&app, &j, "/v1/eleves?format=csv").await;
            let (entete, lignes) = lignes_csv(&r);
            assert_eq!(lignes.len(), json.len());
            let profil = ProfilDonnees::pour(TypePartenaire::Mairie);
            assert!(!profil.lit(ChampEleve::LieuNaissance));
            assert!(!entete.contains(&"lieu_naissance".to_owned()), "{entete:?}");
            assert!(entete.contains(&"responsable1_telephone".to_owned()) && entete.contains(&"adresse_commune".to_owned()));
            for (l, e) in lignes.iter().zip(&json) {
                assert_eq!(l[0], e["id"].as_str().unwrap());
                assert!(e.get("lieu_naissance").is_none());
            }
            // A private school sees the place of birth, of its own pupils only.
            let uai = ecoles[0].uai.as_str().to_owned();
            let ecole = partenaire(base, TypePartenaire::EcolePrivee, "eleves:read", &[], &[&uai], &[]);
            let je = jeton(&app, &ecole).await;
            let (entete, lignes) = lignes_csv(&get(&app, &je, "/v1/eleves?format=csv").await);
            assert!(entete.contains(&"lieu_naissance".to_owned()));
            let siens = tout_lire(&app, &je, "/v1/eleves").await;
            assert_eq!(lignes.len(), siens.len());
            assert!(!lignes.is_empty());
        });
    }

    fn etag_et_304(base: eleves(200).communes(2)) {
        let etat = etat(base);
        executer(async {
            let app = actix_web::test::init_service(api::app(etat.clone())).await;
            let mairie = mairie_de_toutes_les_communes(base);
            let j = jeton(&app, &mairie).await;
            let avec = |etag: &str| vec![("If-None-Match", etag.to_owned())];
            let app = &app;
            let conditionnel = |uri: String, etag: String| {
                let j = j.clone();
                async move {
                    let e = avec(&etag);
                    get_avec(app, &j, &uri, &[(e[0].0, e[0].1.as_str())]).await
                }
            };
            for uri in ["/v1/inscriptions?limit=5".to_owned(), "/v1/eleves?limit=5".to_owned(), "/v1/ecoles?limit=5".to_owned()] {
                let r = get(app, &j, &uri).await;
                assert_eq!(r.statut, 200);
                let etag = r.entete("etag").unwrap().to_owned();
                assert!(etag.starts_with("\"h"), "{etag}");
                assert_eq!(r.entete("cache-control"), Some("private, no-cache"));
                let r2 = conditionnel(uri.clone(), etag.clone()).await;
                assert_eq!(r2.statut, 304, "{uri}");
                assert!(r2.texte.is_empty());
                assert_eq!(r2.entete("etag"), Some(etag.as_str()));
                assert!(r2.entete("x-request-id").is_some());
                let r3 = conditionnel(uri.clone(), "\"autre\", W/\"encore\"".into()).await;
                assert_eq!(r3.statut, 200);
            }
            // A list page changes when one of its rows does.
            let r = get(app, &j, "/v1/inscriptions?limit=5").await;
            let etag = r.entete("etag").unwrap().to_owned();
            let id = r.corps["elements"][0]["id"].as_str().unwrap().to_owned();
            diesel::RunQueryDsl::execute(
                diesel::sql_query(format!("UPDATE inscriptions SET classe = 'Classe changée' WHERE id = '{id}'")),
                &mut base.store.connexion().unwrap(),
            )
            .unwrap();
            let r = conditionnel("/v1/inscriptions?limit=5".into(), etag.clone()).await;
            assert_eq!(r.statut, 200);
            assert_ne!(r.entete("etag"), Some(etag.as_str()));

            // A single resource: its version is its ETag.
            let ine = toutes_les_inscriptions(base).into_iter().find_map(|i| i.eleve.ine).unwrap();
            let uri = format!("/v1/eleves/{}", ine.as_str());
            let r = get(app, &j, &uri).await;
            let etag = r.entete("etag").unwrap().to_owned();
            assert!(etag.starts_with("\"v"));
            assert_eq!(conditionnel(uri.clone(), etag.clone()).await.statut, 304);
            assert_eq!(conditionnel(uri, "*".into()).await.statut, 304);

            // The feed: nothing new, 304.
            let r = get(app, &j, "/v1/changements").await;
            let depuis = r.corps["curseur_suivant"].as_str().unwrap().to_owned();
            let uri = format!("/v1/changements?depuis={depuis}");
            let r = get(app, &j, &uri).await;
            assert_eq!(conditionnel(uri, r.entete("etag").unwrap().to_owned()).await.statut, 304);
            // Errors and writes carry no validator.
            let r = get(app, &j, "/v1/eleves/0494004062M").await;
            assert_eq!(r.statut, 404);
            assert!(r.entete("etag").is_none());
        });
    }
}

/// Names a spreadsheet would run as formulas (OWASP CSV injection), as an editor may push them.
const FORMULES: [&str; 5] = ["=HYPERLINK(\"http://x\";\"a\")", "+33 1", "@SUM(A1)", "-2+3", "=1+1"];

deux_backends! {
    fn aucune_cellule_csv_n_est_une_formule(base: eleves(300).communes(2)) {
        use onde_domain::Ine;
        use serde_json::json;
        let repere = reperes(base).remove(0);
        let ecole = toutes_les_ecoles(base)
            .into_iter()
            .find(|e| e.commune.as_str() == repere.commune && e.type_ecole != onde_domain::TypeEcole::Maternelle)
            .unwrap();
        let uai = ecole.uai.as_str().to_owned();
        let editeur = partenaire(
            base,
            TypePartenaire::Editeur,
            &TypePartenaire::Editeur.scopes_possibles().to_string(),
            &[],
            &[],
            &[&uai],
        );
        let mairie = partenaire(base, TypePartenaire::Mairie, "eleves:read inscriptions:read", &[&repere.commune], &[], &[]);
        let etat = etat(base);
        executer(async {
            let app = actix_web::test::init_service(api::app(etat.clone())).await;
            let je = jeton(&app, &editeur).await;
            let elements: Vec<Value> = FORMULES
                .iter()
                .enumerate()
                .map(|(i, nom)| {
                    json!({
                        "eleve": {
                            "ine": Ine::bea(75, 20, 910_000 + i as u32).unwrap().as_str(),
                            "nom": nom,
                            "prenoms": [format!("Léa{}", "a".repeat(i))],
                            "sexe": "F",
                            "date_naissance": "2020-04-02",
                            "lieu_naissance": "75056",
                            "responsables": [{"nom": nom, "prenom": "Anne", "lien": "mere",
                                              "autorite_parentale": true, "telephone": "+33 6 11 22 33 44"}]
                        },
                        "inscriptions": [{"uai": uai, "annee_scolaire": "2026-2027", "niveau": "CP"}]
                    })
                })
                .collect();
            let corps = json!({"elements": elements});
            let r = requete(&app, actix_web::http::Method::POST, "/v1/lots/eleves", &je, &[], Some(&corps)).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            for res in r.corps["resultats"].as_array().unwrap() {
                assert_eq!(res["resultat"], "cree", "{}", r.texte);
            }
            // Tabs and carriage returns never get that far (control characters are refused);
            // the writer neutralises them all the same (onde_store::tableur's tests).

            let jm = jeton(&app, &mairie).await;
            for liste in ["/v1/eleves?format=csv", "/v1/inscriptions?format=csv"] {
                let r = get(&app, &jm, liste).await;
                let (entete, lignes) = lignes_csv(&r);
                let nom = entete.iter().position(|c| c == "nom").unwrap();
                let telephone = entete.iter().position(|c| c == "responsable1_telephone");
                for formule in FORMULES {
                    let attendu = format!("'{formule}");
                    let trouvees: Vec<&Vec<String>> = lignes.iter().filter(|l| l[nom] == attendu).collect();
                    assert_eq!(trouvees.len(), 1, "{liste} : {formule} attendu en texte « {attendu} »");
                    if let Some(t) = telephone {
                        // Stored normalised (E.164), still starting with '+'.
                        assert_eq!(trouvees[0][t], "'+33611223344", "{liste}");
                    }
                }
                // No cell anywhere starts a formula.
                for l in &lignes {
                    for c in l {
                        assert!(!c.starts_with(['=', '+', '-', '@', '\t', '\r']), "{liste} : cellule {c:?}");
                    }
                }
            }

            // A rejection report whose rejected value starts with `=`.
            let id = uuid::Uuid::now_v7();
            {
                use diesel::prelude::*;
                use onde_store::schema::imports_rejets;
                let mut conn = base.store.connexion().unwrap();
                let conn = &mut *conn;
                onde_store::imports::creer(
                    conn,
                    &onde_store::imports::Import::nouveau(
                        id,
                        Some(editeur.partenaire_id),
                        Some(editeur.client_id.clone()),
                        onde_store::imports::FormatImport::Csv,
                        chrono::Utc::now().naive_utc(),
                    ),
                )
                .unwrap();
                onde_store::par_backend!(conn, c => diesel::insert_into(imports_rejets::table)
                    .values((
                        imports_rejets::import_id.eq(id.to_string()),
                        imports_rejets::ligne.eq(2i64),
                        imports_rejets::rang.eq(1),
                        imports_rejets::pointeur.eq("/eleve/nom"),
                        imports_rejets::code.eq("-1+1"),
                        imports_rejets::message.eq("=1+1 n'est pas un nom"),
                    ))
                    .execute(c))
                .unwrap();
            }
            let r = get(&app, &je, &format!("/v1/imports/{id}/rejets?format=csv")).await;
            let (entete, lignes) = lignes_csv(&r);
            assert_eq!(entete, ["ligne", "pointeur", "code", "message"]);
            assert_eq!(lignes, vec![vec!["2", "/eleve/nom", "'-1+1", "'=1+1 n'est pas un nom"]]);
        });
    }
}
