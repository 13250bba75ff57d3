//! Perimeter integrity on the write paths, on SQLite and PostgreSQL (issue 16, items 1 to 3):
//! nothing of a pupil outside the caller's perimeter leaks through an error, a batch result,
//! an import report or a replay; an existing pupil is brought into a perimeter only by the
//! rattachement, with the family's identity; no write puts a pupil where its writer cannot see
//! it; a commune's mandate never writes pupils; a mairie takes no workflow step in a private
//! school under contract.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::commun::*;
use crate::ecritures::*;
use actix_web::http::Method;
use onde_domain::{Eleve, Ine, Niveau, Perimetre, Secteur, TypePartenaire};
use onde_store::testing::BaseDeTest;
use serde_json::{json, Value};

const LECTURE_ECRITURE: &str = "ecoles:read eleves:read inscriptions:read inscriptions:write";
const ECOLE: &str = "ecoles:read eleves:read eleves:write inscriptions:read inscriptions:write";

/// Commune A's pupil (seen by mairie A only) and what commune B has.
struct Scene {
    a: Repere,
    eleve: Eleve,
    commune_b: String,
    /// Public schools of commune B, in UAI order.
    ecoles_b: Vec<onde_domain::Ecole>,
    /// A public school of commune B teaching CP.
    cp_b: onde_domain::Ecole,
    /// A private school under contract of commune B, if the seed made one.
    privee_b: Option<onde_domain::Ecole>,
}

fn scene(base: &BaseDeTest) -> Scene {
    let mut r = reperes(base);
    let a = r.remove(0);
    let commune_b = r.remove(0).commune;
    let ecoles = toutes_les_ecoles(base);
    let mut ecoles_b: Vec<onde_domain::Ecole> = ecoles
        .iter()
        .filter(|e| e.commune.as_str() == commune_b && e.secteur == Secteur::Public)
        .cloned()
        .collect();
    ecoles_b.sort_by(|x, y| x.uai.cmp(&y.uai));
    let privee_b = ecoles
        .iter()
        .find(|e| e.commune.as_str() != a.commune && e.secteur == Secteur::PriveSousContrat)
        .cloned();
    let eleve = {
        let mut c = base.store.connexion().unwrap();
        onde_store::eleves::trouver_par_ine(&mut c, &Perimetre::National, &Ine::parse(&a.ine).unwrap())
            .unwrap()
            .unwrap()
    };
    let cp_b = ecoles_b
        .iter()
        .find(|e| e.type_ecole.accueille(Niveau::Cp))
        .unwrap()
        .clone();
    Scene {
        a,
        eleve,
        commune_b,
        ecoles_b,
        cp_b,
        privee_b,
    }
}

/// Asserts that an answer tells nothing of A's pupil: no id, INE, names, birth date or year.
fn rien_de(s: &Scene, r: &Reponse) {
    let e = &s.eleve;
    let mut interdits = vec![
        s.a.eleve_id.clone(),
        s.a.ine.clone(),
        e.date_naissance.format("%Y-%m-%d").to_string(),
        e.date_naissance.format("%d/%m/%Y").to_string(),
        e.date_naissance.format("%Y").to_string(),
        e.nom.clone(),
    ];
    interdits.extend(e.prenoms.tous().iter().cloned());
    // The problem's `instance` is the request's random id (`urn:uuid:…`): a "2022" in it is
    // chance, not the birth year. Everything else of the answer is searched.
    let sans_instance = regex_lite::Regex::new(r"urn:uuid:[0-9a-f-]{36}")
        .unwrap()
        .replace_all(&r.texte, "urn:uuid:");
    for x in interdits {
        assert!(!sans_instance.contains(&x), "« {x} » dans la réponse : {}", r.texte);
    }
    assert!(r.corps.get("candidat").is_none(), "{}", r.texte);
}

/// (school year, niveau, public school of B) where A's pupil can be enrolled, with no active
/// inscription that year.
fn cible(base: &BaseDeTest, s: &Scene) -> (String, Niveau, onde_domain::Ecole) {
    let inscriptions = inscriptions_de(base, &s.a.eleve_id);
    for annee in ["2027-2028", "2028-2029", "2029-2030"] {
        if inscriptions
            .iter()
            .any(|i| i.annee_scolaire.as_str() == annee && i.statut != onde_domain::StatutInscription::Radie)
        {
            continue;
        }
        let a = onde_domain::AnneeScolaire::parse(annee).unwrap();
        for n in Niveau::TOUS {
            if onde_domain::dossier::verifier_age(s.eleve.date_naissance, n, a).is_err() {
                continue;
            }
            if let Some(e) = s.ecoles_b.iter().find(|e| e.type_ecole.accueille(n)) {
                return (annee.to_owned(), n, e.clone());
            }
        }
    }
    panic!("aucune année ni école de B pour l'élève de A");
}

/// The identity the family gives, written another way (capitals, no accents, hyphens as spaces).
fn identite_de_la_famille(e: &Eleve) -> (String, String) {
    let plier = |s: &str| -> String {
        s.to_uppercase()
            .chars()
            .map(|c| match c {
                'É' | 'È' | 'Ê' | 'Ë' => 'E',
                'Ï' | 'Î' => 'I',
                'À' | 'Â' => 'A',
                'Ç' => 'C',
                'Ô' => 'O',
                '-' => ' ',
                c => c,
            })
            .collect()
    };
    (format!(" {} ", plier(&e.nom)), plier(e.prenoms.premier()))
}

deux_backends! {
    // The issue's two-call sequence: mairie B sends A's pupil's INE with a made-up identity, then
    // tries the id and every niveau of next year. Nothing of the pupil comes back, nothing is
    // written, and B still cannot read the pupil.
    fn exploit_en_deux_appels_ferme(base: eleves(900).communes(3)) {
        let s = scene(base);
        let etat = etat(base);
        executer(async {
            let app = service(etat.clone()).await;
            let b = partenaire(base, TypePartenaire::Mairie, LECTURE_ECRITURE, &[&s.commune_b], &[], &[]);
            let jb = jeton(&app, &b).await;
            let avant = compter(base);
            let (annee, niveau, ecole) = cible(base, &s);

            let mut invente = dossier(&nom_unique("Invente"));
            invente["ine"] = json!(s.a.ine);
            let r = poster(&app, &jb, "/v1/inscriptions", &json!({
                "eleve": invente, "uai": s.cp_b.uai.as_str(), "annee_scolaire": ANNEE, "niveau": "CP"
            }), &[]).await;
            assert_probleme(&r, 409, "ine_hors_perimetre");
            rien_de(&s, &r);
            assert!(r.corps["detail"].as_str().unwrap().contains("/v1/rattachements"), "{}", r.texte);

            // The same identity as A's pupil, without INE: a duplicate, said without its data.
            let e = &s.eleve;
            let copie = json!({
                "nom": e.nom, "prenoms": [e.prenoms.premier()], "sexe": e.sexe.as_str(),
                "date_naissance": e.date_naissance.format("%Y-%m-%d").to_string(),
                "lieu_naissance": e.lieu_naissance.as_str()
            });
            let r = poster(&app, &jb, "/v1/inscriptions", &json!({
                "eleve": copie, "uai": ecole.uai.as_str(), "annee_scolaire": annee, "niveau": niveau.as_str()
            }), &[]).await;
            assert_eq!(r.statut, 409, "{}", r.texte);
            assert_eq!(r.corps["code"], "eleve_en_doublon");
            assert!(r.corps.get("candidat").is_none(), "{}", r.texte);

            // By id: answered exactly like an unknown id, whatever the niveau tried (no birth year).
            let inconnu = uuid::Uuid::now_v7().to_string();
            for n in Niveau::TOUS {
                let uai = s.ecoles_b.iter().find(|e| e.type_ecole.accueille(n)).unwrap().uai.as_str().to_owned();
                let r = poster(&app, &jb, "/v1/inscriptions", &creation_par_id(&s.a.eleve_id, &uai, &annee, n.as_str()), &[]).await;
                let t = poster(&app, &jb, "/v1/inscriptions", &creation_par_id(&inconnu, &uai, &annee, n.as_str()), &[]).await;
                assert_eq!(r.statut, t.statut, "{}", r.texte);
                assert_eq!(r.corps["code"], t.corps["code"]);
                assert_eq!(r.corps["erreurs"][0]["code"], "eleve_inconnu", "{}", r.texte);
                assert_eq!(
                    r.corps["detail"].as_str().unwrap().replace(&s.a.eleve_id, "X"),
                    t.corps["detail"].as_str().unwrap().replace(&inconnu, "X")
                );
                rien_de(&s, &Reponse { texte: r.texte.replace(&s.a.eleve_id, "X"), ..r });
            }
            let r = get(&app, &jb, &format!("/v1/eleves/{}", s.a.ine)).await;
            assert_probleme(&r, 404, "ressource_introuvable");
            rien_de(&s, &r);
            assert_eq!(compter(base), avant, "rien n'est écrit");
        });
    }

    // Item 2: the rattachement with the family's identity, compared normalised. Unknown INE and
    // wrong identity answer alike; an active inscription elsewhere that year is a 409 that does
    // not name the school; the audit trail records the operation; A keeps its view.
    fn rattachement_avec_preuve(base: eleves(900).communes(3)) {
        let s = scene(base);
        let etat = etat(base);
        executer(async {
            let app = service(etat.clone()).await;
            let a = partenaire(base, TypePartenaire::Mairie, LECTURE_ECRITURE, &[&s.a.commune], &[], &[]);
            let b = partenaire(base, TypePartenaire::Mairie, LECTURE_ECRITURE, &[&s.commune_b], &[], &[]);
            let (ja, jb) = (jeton(&app, &a).await, jeton(&app, &b).await);
            let (annee, niveau, ecole) = cible(base, &s);
            let (nom, prenom) = identite_de_la_famille(&s.eleve);
            let demande = |ine: &str, nom: &str, prenom: &str, date: &str| json!({
                "ine": ine, "nom": nom, "prenom": prenom, "date_naissance": date,
                "uai": ecole.uai.as_str(), "annee_scolaire": annee, "niveau": niveau.as_str()
            });
            let date = s.eleve.date_naissance.format("%Y-%m-%d").to_string();
            let avant = compter(base);
            let refus = [
                demande(&s.a.ine, "Autre", &prenom, &date),
                demande(&s.a.ine, &nom, "Autre", &date),
                demande(&s.a.ine, &nom, &prenom, "2019-01-01"),
                demande(&ine_unique(), &nom, &prenom, &date),
            ];
            let mut details = Vec::new();
            for d in &refus {
                let r = poster(&app, &jb, "/v1/rattachements", d, &[]).await;
                assert_probleme(&r, 422, "identite_non_concordante");
                details.push((r.corps["title"].clone(), r.corps["detail"].clone()));
                rien_de(&s, &Reponse { texte: r.texte.replace(&s.a.ine, "X"), ..r });
            }
            assert!(details.windows(2).all(|w| w[0] == w[1]), "{details:?}");
            assert_eq!(compter(base), avant);

            // The same year as A's active inscription: refused without naming A's school.
            let active = inscriptions_de(base, &s.a.eleve_id).into_iter()
                .find(|i| i.statut != onde_domain::StatutInscription::Radie).unwrap();
            let mut meme_annee = demande(&s.a.ine, &nom, &prenom, &date);
            meme_annee["annee_scolaire"] = json!(active.annee_scolaire.as_str());
            meme_annee["niveau"] = json!(active.niveau.as_str());
            if let Some(e) = s.ecoles_b.iter().find(|e| e.type_ecole.accueille(active.niveau)) {
                meme_annee["uai"] = json!(e.uai.as_str());
                let r = poster(&app, &jb, "/v1/rattachements", &meme_annee, &[]).await;
                assert_probleme(&r, 409, "inscription_active_existante");
                assert!(!r.texte.contains(active.uai.as_str()), "{}", r.texte);
            }

            let r = poster(&app, &jb, "/v1/rattachements", &demande(&s.a.ine, &nom, &prenom, &date), &[]).await;
            assert_eq!(r.statut, 201, "{}", r.texte);
            assert_eq!(r.corps["eleve"]["id"], s.a.eleve_id.as_str());
            assert_eq!(r.corps["uai"], ecole.uai.as_str());
            assert_eq!(compter(base).inscriptions, avant.inscriptions + 1);
            // Both perimeters see the pupil now: B by its new inscription, A by its own, still active.
            assert_eq!(get(&app, &jb, &format!("/v1/eleves/{}", s.a.ine)).await.statut, 200);
            assert_eq!(get(&app, &ja, &format!("/v1/eleves/{}", s.a.ine)).await.statut, 200);
            // Once enrolled in B's school, B may use the id like for any pupil it sees.
            let audit = piste_audit(&etat);
            assert!(
                audit.iter().any(|e| e.operation == "rattacher_eleve"
                    && e.partenaire_id == b.partenaire_id.to_string()
                    && e.eleves.contains(&s.a.eleve_id)),
                "{:?}", audit.iter().map(|e| &e.operation).collect::<Vec<_>>()
            );
        });
    }

    // Item 1 on the pupil-writing paths: PUT, batch (set-based on PostgreSQL, item by item on
    // SQLite) and import, by a private school that does not see A's pupil. The INE is never
    // taken over; duplicates are said without data; A's pupil is unchanged. The same record by
    // a caller who sees the pupil keeps the candidate.
    fn ecritures_d_eleves_sans_fuite(base: eleves(900).communes(3)) {
        let s = scene(base);
        let etat = etat(base);
        let uai_p = s.cp_b.uai.as_str().to_owned();
        let (annee, niveau, ecole) = cible(base, &s);
        let uai_q = ecole.uai.as_str().to_owned();
        executer(async {
            let app = service(etat.clone()).await;
            let p = partenaire(base, TypePartenaire::EcolePrivee, ECOLE, &[], &[&uai_p, &uai_q], &[]);
            let jp = jeton(&app, &p).await;
            let avant = compter(base);
            let e = &s.eleve;
            let mut invente = dossier(&nom_unique("Invente"));
            invente["ine"] = json!(s.a.ine);
            let r = requete(&app, Method::PUT, &format!("/v1/eleves/{}", s.a.ine), &jp, &[], Some(&invente)).await;
            assert_probleme(&r, 409, "ine_hors_perimetre");
            rien_de(&s, &r);

            // A's identity under another INE.
            let mut copie = dossier(&e.nom);
            copie["prenoms"] = json!([e.prenoms.premier()]);
            copie["sexe"] = json!(e.sexe.as_str());
            copie["date_naissance"] = json!(e.date_naissance.format("%Y-%m-%d").to_string());
            copie["lieu_naissance"] = json!(e.lieu_naissance.as_str());
            copie["responsables"] = json!([]);
            let autre_ine = ine_unique();
            copie["ine"] = json!(autre_ine);
            let r = requete(&app, Method::PUT, &format!("/v1/eleves/{autre_ine}"), &jp, &[], Some(&copie)).await;
            assert_eq!(r.statut, 409, "{}", r.texte);
            assert_eq!(r.corps["code"], "eleve_en_doublon");
            assert!(r.corps.get("candidat").is_none());
            rien_de(&s, &Reponse { texte: r.texte.replace(&e.nom, "X").replace(e.prenoms.premier(), "Y"), ..r });

            // A batch with both items, partiel mode: each rejected alone, without data.
            let lot = json!({"elements": [
                {"eleve": invente, "inscriptions": [{"uai": uai_p, "annee_scolaire": ANNEE, "niveau": "CP"}]},
                {"eleve": copie, "inscriptions": [{"uai": uai_q, "annee_scolaire": annee, "niveau": niveau.as_str()}]},
            ]});
            let r = poster(&app, &jp, "/v1/lots/eleves", &lot, &[("Idempotency-Key", "lot-1")]).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            let res = &r.corps["resultats"];
            assert_eq!(res[0]["probleme"]["code"], "ine_hors_perimetre", "{}", r.texte);
            assert_eq!(res[1]["probleme"]["code"], "eleve_en_doublon", "{}", r.texte);
            for i in 0..2 {
                assert_eq!(res[i]["resultat"], "rejete");
                assert!(res[i]["probleme"].get("candidat").is_none(), "{}", r.texte);
                assert!(!res[i]["probleme"].to_string().contains(&s.a.ine), "{}", r.texte);
                assert!(!res[i]["probleme"].to_string().contains(&s.a.eleve_id), "{}", r.texte);
            }
            assert_eq!(compter(base).eleves, avant.eleves);

            // An import of the same two lines: the report names neither the pupil nor its INE.
            let dossier_tmp = tempfile::tempdir().unwrap();
            let fichier = dossier_tmp.path().join("f.ndjson");
            let lignes: Vec<String> = lot["elements"].as_array().unwrap().iter().map(Value::to_string).collect();
            std::fs::write(&fichier, lignes.join("\n")).unwrap();
            let perimetre = Perimetre::Restreint {
                communes: Default::default(),
                uais: [onde_domain::Uai::parse(&uai_p).unwrap(), onde_domain::Uai::parse(&uai_q).unwrap()].into(),
            };
            let mut c = base.store.connexion().unwrap();
            let id = uuid::Uuid::now_v7();
            let format = onde_store::imports::FormatImport::Ndjson;
            onde_store::imports::creer(&mut c, &onde_store::imports::Import::nouveau(id, None, None, format, chrono::Utc::now().naive_utc())).unwrap();
            let fait = onde_store::imports::executer(&mut c, id, &fichier, format, &perimetre, &Default::default(), &mut |_, _| true).unwrap().unwrap();
            assert_eq!(fait.rejetes, 2, "{fait:?}");
            let rejets = onde_store::imports::rejets(&mut c, id, None, 100).unwrap();
            let codes: Vec<&str> = rejets.iter().map(|r| r.code.as_str()).collect();
            assert_eq!(codes, ["ine_hors_perimetre", "eleve_en_doublon"]);
            for r in &rejets {
                assert!(!r.message.contains(&s.a.ine) && !r.message.contains(&s.a.eleve_id), "{}", r.message);
                assert!(r.message.contains("rattachement"), "{}", r.message);
            }
            drop(c);
            let apres = {
                let mut c = base.store.connexion().unwrap();
                onde_store::eleves::trouver_par_ine(&mut c, &Perimetre::National, &Ine::parse(&s.a.ine).unwrap()).unwrap().unwrap()
            };
            assert_eq!(&apres, e, "l'élève de A n'a pas changé");
            assert_eq!(compter(base).eleves, avant.eleves);

            // Mairie A sees its pupil: the duplicate names it.
            let ma = partenaire(base, TypePartenaire::Mairie, LECTURE_ECRITURE, &[&s.a.commune], &[], &[]);
            let ja = jeton(&app, &ma).await;
            let mut sans_ine = copie.clone();
            sans_ine.as_object_mut().unwrap().remove("ine");
            let ecole_a = toutes_les_ecoles(base).into_iter()
                .find(|x| x.commune.as_str() == s.a.commune && x.secteur == Secteur::Public && x.type_ecole.accueille(Niveau::Cp)).unwrap();
            let r = poster(&app, &ja, "/v1/inscriptions", &json!({
                "eleve": sans_ine, "uai": ecole_a.uai.as_str(), "annee_scolaire": ANNEE, "niveau": "CP"
            }), &[]).await;
            assert_probleme(&r, 409, "eleve_en_doublon");
            assert_eq!(r.corps["candidat"]["id"], s.a.eleve_id.as_str(), "{}", r.texte);
        });
    }

    // A stored batch answer naming a candidate is replayed only while the caller still sees it.
    fn rejeu_apres_sortie_du_perimetre(base: eleves(900).communes(3)) {
        let s = scene(base);
        let etat = etat(base);
        let uai_a = s.a.uai.clone();
        executer(async {
            let app = service(etat.clone()).await;
            let p = partenaire(base, TypePartenaire::EcolePrivee, ECOLE, &[], &[&uai_a], &[]);
            let jp = jeton(&app, &p).await;
            let e = &s.eleve;
            let mut copie = dossier(&e.nom);
            copie["prenoms"] = json!([e.prenoms.premier()]);
            copie["sexe"] = json!(e.sexe.as_str());
            copie["date_naissance"] = json!(e.date_naissance.format("%Y-%m-%d").to_string());
            copie["lieu_naissance"] = json!(e.lieu_naissance.as_str());
            copie["ine"] = json!(ine_unique());
            let active = inscriptions_de(base, &s.a.eleve_id).into_iter()
                .find(|i| i.statut != onde_domain::StatutInscription::Radie && i.uai.as_str() == uai_a).unwrap();
            let lot = json!({"elements": [{"eleve": copie, "inscriptions": [{
                "uai": uai_a, "annee_scolaire": active.annee_scolaire.as_str(), "niveau": active.niveau.as_str()
            }]}]});
            let r = poster(&app, &jp, "/v1/lots/eleves", &lot, &[("Idempotency-Key", "rejeu-1")]).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.corps["resultats"][0]["probleme"]["candidat"]["id"], s.a.eleve_id.as_str(), "{}", r.texte);
            // The pupil leaves the school (radiated behind the API's back).
            {
                use diesel::prelude::*;
                use onde_store::schema::inscriptions;
                let mut c = base.store.connexion().unwrap();
                diesel::update(inscriptions::table.filter(inscriptions::eleve_id.eq(&s.a.eleve_id)))
                    .set((inscriptions::statut.eq("radie"), inscriptions::date_radiation.eq(Some(date("2027-01-04")))))
                    .execute(&mut *c)
                    .unwrap();
            }
            let r = poster(&app, &jp, "/v1/lots/eleves", &lot, &[("Idempotency-Key", "rejeu-1")]).await;
            assert_probleme(&r, 404, "ressource_introuvable");
            rien_de(&s, &r);
        });
    }

    // Item 3: a batch item whose pupil would be outside the caller's perimeter once written is
    // rejected alone (partiel mode), nothing of it applied.
    fn lot_hors_perimetre_refuse(base: eleves(900).communes(3)) {
        let s = scene(base);
        let etat = etat(base);
        let uai_p = s.cp_b.uai.as_str().to_owned();
        let niveau_p = Niveau::Cp;
        executer(async {
            let app = service(etat.clone()).await;
            let p = partenaire(base, TypePartenaire::EcolePrivee, ECOLE, &[], &[&uai_p], &[]);
            let jp = jeton(&app, &p).await;
            let (hors, dedans) = (ine_unique(), ine_unique());
            let mut d1 = dossier(&nom_unique("Hors"));
            d1["ine"] = json!(hors);
            let mut d2 = dossier(&nom_unique("Dedans"));
            d2["ine"] = json!(dedans);
            let lot = json!({"elements": [
                {"eleve": d1, "inscriptions": []},
                {"eleve": d2, "inscriptions": [{"uai": uai_p, "annee_scolaire": ANNEE, "niveau": niveau_p.as_str()}]},
            ]});
            let avant = compter(base);
            let r = poster(&app, &jp, "/v1/lots/eleves", &lot, &[]).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            let res = &r.corps["resultats"];
            assert_eq!(res[0]["resultat"], "rejete", "{}", r.texte);
            assert_eq!(res[0]["probleme"]["status"], 422);
            assert_eq!(res[0]["probleme"]["erreurs"][0]["code"], "eleve_hors_perimetre", "{}", r.texte);
            assert_eq!(res[0]["probleme"]["erreurs"][0]["pointer"], "/elements/0/eleve", "{}", r.texte);
            assert_eq!(res[1]["resultat"], "cree", "{}", r.texte);
            assert_eq!(compter(base).eleves, avant.eleves + 1);
            let mut c = base.store.connexion().unwrap();
            assert!(onde_store::eleves::id_par_ine(&mut c, &Ine::parse(&hors).unwrap()).unwrap().is_none());
        });
    }

    // Item 3: a commune's mandate never writes pupils; without the header, an editor writes
    // pupils in the schools of its school mandates only (and still reads its communes).
    fn mandat_de_commune_sans_ecriture_d_eleves(base: eleves(900).communes(3)) {
        let s = scene(base);
        let etat = etat(base);
        let uai_p = s.cp_b.uai.as_str().to_owned();
        let niveau_p = Niveau::Cp;
        executer(async {
            let app = service(etat.clone()).await;
            let ed = partenaire(base, TypePartenaire::Editeur, ECOLE, &[], &[], &[&s.a.commune, &uai_p]);
            let je = jeton(&app, &ed).await;
            let mut d = dossier(&nom_unique("Mandat"));
            let ine = ine_unique();
            d["ine"] = json!(ine);
            let r = requete(&app, Method::PUT, &format!("/v1/eleves/{ine}"), &je, &[("Onde-Mandat", &s.a.commune)], Some(&d)).await;
            assert_probleme(&r, 403, "insufficient_scope");
            // The detail says why (the mandate), not to ask for a scope the token already holds.
            let detail = r.corps["detail"].as_str().unwrap_or_default();
            assert!(detail.contains("mandat d'une mairie") && !detail.contains("demandez-le"), "{detail}");
            // Its own pupil, A's, through the commune's mandate: not writable either.
            let r = requete(&app, Method::PATCH, &format!("/v1/eleves/{}", s.a.ine), &je, &[("Onde-Mandat", &s.a.commune)], Some(&json!({"nom": "X"}))).await;
            assert_probleme(&r, 403, "insufficient_scope");
            // Reading under the commune's mandate still works.
            let r = get_avec(&app, &je, &format!("/v1/eleves/{}", s.a.ine), &[("Onde-Mandat", &s.a.commune)]).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            // Without the header: a batch item in a school of commune A is outside the writing
            // perimeter; in the school mandate's school it is applied.
            let ecole_a = s.a.uai.clone();
            let annee_a = ANNEE;
            let mut d2 = dossier(&nom_unique("Mandat"));
            d2["ine"] = json!(ine_unique());
            let lot = json!({"elements": [
                {"eleve": d, "inscriptions": [{"uai": ecole_a, "annee_scolaire": annee_a, "niveau": "CP"}]},
                {"eleve": d2, "inscriptions": [{"uai": uai_p, "annee_scolaire": ANNEE, "niveau": niveau_p.as_str()}]},
            ]});
            let r = poster(&app, &je, "/v1/lots/eleves", &lot, &[]).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.corps["resultats"][0]["probleme"]["erreurs"][0]["code"], "ecole_inconnue", "{}", r.texte);
            assert_eq!(r.corps["resultats"][1]["resultat"], "cree", "{}", r.texte);
            let r = requete(&app, Method::PATCH, &format!("/v1/eleves/{}", s.a.ine), &je, &[], Some(&json!({"nom": "X"}))).await;
            assert_probleme(&r, 404, "ressource_introuvable");
        });
    }

    // Item 3: a mairie takes no workflow step in a private school under contract (it still reads
    // the inscription); the school itself does.
    fn mairie_sans_parcours_en_ecole_privee(base: eleves(900).communes(3)) {
        let s = scene(base);
        // A school of commune B with a pending inscription, made private under contract if the
        // seed did not make one there.
        let privee = s.privee_b.clone().unwrap_or_else(|| {
            use diesel::prelude::*;
            use onde_store::schema::ecoles;
            let uai = toutes_les_inscriptions(base).into_iter()
                .find(|i| i.inscription.statut == onde_domain::StatutInscription::Inscrit
                    && s.ecoles_b.iter().any(|e| e.uai == i.inscription.uai && e.uai != s.cp_b.uai))
                .unwrap().inscription.uai;
            let mut c = base.store.connexion().unwrap();
            diesel::update(ecoles::table.filter(ecoles::uai.eq(uai.as_str())))
                .set(ecoles::secteur.eq("prive_sous_contrat"))
                .execute(&mut *c)
                .unwrap();
            toutes_les_ecoles(base).into_iter().find(|e| e.uai == uai).unwrap()
        });
        assert_eq!(privee.secteur, Secteur::PriveSousContrat);
        let etat = etat(base);
        executer(async {
            let app = service(etat.clone()).await;
            let m = partenaire(base, TypePartenaire::Mairie, LECTURE_ECRITURE, &[privee.commune.as_str()], &[], &[]);
            let jm = jeton(&app, &m).await;
            let p = partenaire(base, TypePartenaire::EcolePrivee, ECOLE, &[], &[privee.uai.as_str()], &[]);
            let jp = jeton(&app, &p).await;
            let d = dossier(&nom_unique("Privee"));
            let corps = |d: &Value| json!({"eleve": d, "uai": privee.uai.as_str(), "annee_scolaire": ANNEE, "niveau": "CP"});
            let avant = compter(base);
            if privee.type_ecole.accueille(Niveau::Cp) {
                let r = poster(&app, &jm, "/v1/inscriptions", &corps(&d), &[]).await;
                assert_probleme(&r, 403, "ecole_privee_hors_parcours_mairie");
                assert_eq!(compter(base), avant);
                let r = poster(&app, &jp, "/v1/inscriptions", &corps(&d), &[]).await;
                assert_eq!(r.statut, 201, "{}", r.texte);
            }
            // A seeded inscription of the private school: the mairie reads it, takes no step.
            let i = toutes_les_inscriptions(base).into_iter()
                .find(|i| i.inscription.uai == privee.uai && i.inscription.statut == onde_domain::StatutInscription::Inscrit)
                .or_else(|| toutes_les_inscriptions(base).into_iter()
                    .find(|i| i.inscription.uai == privee.uai && i.inscription.statut != onde_domain::StatutInscription::Radie))
                .unwrap();
            let id = i.inscription.id.to_string();
            assert_eq!(get(&app, &jm, &format!("/v1/inscriptions/{id}")).await.statut, 200);
            for (op, c) in [
                ("admission", json!({})),
                ("admissibilite", json!({})),
                ("admission_definitive", json!({})),
                ("radiation", json!({"date": "2027-01-04", "motif": "demenagement"})),
                ("changement_niveau", json!({"niveau": i.inscription.niveau.as_str()})),
                ("changement_ecole", json!({"uai": s.ecoles_b[0].uai.as_str()})),
            ] {
                let r = operer(&app, &jm, &id, op, &c, &[]).await;
                assert_probleme(&r, 403, "ecole_privee_hors_parcours_mairie");
                assert!(r.corps["detail"].as_str().unwrap().contains("privée sous contrat"), "{}", r.texte);
            }
        });
    }
}
