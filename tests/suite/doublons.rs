//! Duplicate pupils and the one-active-inscription rule, on SQLite and PostgreSQL: a new pupil
//! equal to a known one on DOMAIN.md's five normalised fields (or holding a known INE) is a
//! 409 naming the candidate, who can then be enrolled by `eleve_id`; a pupil has at most one
//! active inscription per school year, and a new one is accepted after radiation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::commun::*;
use crate::ecritures::*;
use onde_domain::{Niveau, StatutInscription};
use serde_json::json;

fn assert_doublon(r: &Reponse, candidat: &str, ine: Option<&str>) {
    assert_probleme(r, 409, "eleve_en_doublon");
    assert_eq!(r.corps["candidat"]["id"], candidat, "{}", r.texte);
    match ine {
        Some(ine) => assert_eq!(r.corps["candidat"]["ine"], ine, "{}", r.texte),
        None => assert!(r.corps["candidat"]["ine"].is_null(), "{}", r.texte),
    }
    assert!(r.entete("location").is_none());
}

deux_backends! {
    // Case, accents, hyphens and spaces do not make another pupil; the other prénoms, the
    // address and the guardians are not part of the key. Each of the five fields does.
    fn doublon_sur_les_cinq_champs_normalises(base: ecritures()) {
        let m = monde(base);
        executer(async {
            let app = service(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let suffixe = nom_unique("x");
            let original = json!({
                "nom": format!("Le Gall-Lefèvre {suffixe}"),
                "prenoms": ["Zoé", "Anaïs"],
                "sexe": "F",
                "date_naissance": NAISSANCE_CP,
                "lieu_naissance": "29019"
            });
            let r = poster(&app, &j, "/v1/inscriptions", &creation_nouvel_eleve(original.clone(), m.cp.uai.as_str()), &[]).await;
            assert_eq!(r.statut, 201, "{}", r.texte);
            let candidat = r.corps["eleve"]["id"].as_str().unwrap().to_owned();

            let variantes = [
                json!({"nom": format!("LE GALL LEFEVRE {}", suffixe.to_uppercase()), "prenoms": ["ZOE"]}),
                json!({"nom": format!("  le-gall-lefevre-{suffixe}  "), "prenoms": ["zoe", "Marie"]}),
                json!({"nom": format!("Legall Lefèvre{suffixe}"), "prenoms": ["Zoé", "Louise", "Anne"]}),
                json!({"nom": format!("Le Gall - Lefêvre {suffixe}"), "prenoms": ["Zo-é"]}),
            ];
            for v in variantes {
                let mut d = original.clone();
                for (k, x) in v.as_object().unwrap() {
                    d[k] = x.clone();
                }
                d["adresse"] = json!({"voie": "1 place de la Liberté", "code_postal": "29200", "commune": "29019"});
                d["responsables"] = json!([{"nom": "Autre", "prenom": "Paul", "lien": "pere", "autorite_parentale": true}]);
                // Another school, even another year: still the same child.
                let mut corps = creation_nouvel_eleve(d.clone(), m.cp_ailleurs.uai.as_str());
                muter(&mut corps, "/annee_scolaire", Some(json!("2029-2030")));
                muter(&mut corps, "/niveau", Some(json!("CE1")));
                let avant = compter(base);
                let r = poster(&app, &j, "/v1/inscriptions", &corps, &[("Idempotency-Key", &nom_unique("k"))]).await;
                assert_doublon(&r, &candidat, None);
                assert_eq!(compter(base), avant, "{d} : rien n'est écrit");
            }

            // Enrolling the candidate by its identifier works.
            let r = poster(&app, &j, "/v1/inscriptions", &creation_par_id(&candidat, m.cp_ailleurs.uai.as_str(), "2029-2030", "CE1"), &[]).await;
            assert_eq!(r.statut, 201, "{}", r.texte);
            assert_eq!(r.corps["eleve"]["id"], candidat.as_str());

            // Each of the five fields tells two children apart.
            for (champ, valeur) in [
                ("nom", json!(format!("Le Gall {suffixe}"))),
                ("prenoms", json!(["Zoéline", "Anaïs"])),
                ("sexe", json!("M")),
                ("date_naissance", json!("2022-05-13")),
                ("lieu_naissance", json!("29020")),
            ] {
                let mut d = original.clone();
                d[champ] = valeur;
                let r = poster(&app, &j, "/v1/inscriptions", &creation_nouvel_eleve(d, m.cp.uai.as_str()), &[]).await;
                assert_eq!(r.statut, 201, "{champ} différent : un autre élève ; {}", r.texte);
                assert_ne!(r.corps["eleve"]["id"], candidat.as_str());
            }
        });
    }

    // An INE already held names its holder, whatever the identity sent; a seeded pupil is
    // found on the five fields too (the stored key agrees with the domain's normalisation).
    fn doublon_par_ine_et_eleve_existant(base: ecritures()) {
        let m = monde(base);
        let repere = reperes(base).remove(0);
        executer(async {
            let app = service(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let ine = ine_unique();
            let mut d = dossier(&nom_unique("Porteur"));
            d["ine"] = json!(ine);
            let r = poster(&app, &j, "/v1/inscriptions", &creation_nouvel_eleve(d, m.cp.uai.as_str()), &[]).await;
            assert_eq!(r.statut, 201, "{}", r.texte);
            let porteur = r.corps["eleve"]["id"].as_str().unwrap().to_owned();

            let avant = compter(base);
            let mut autre = dossier(&nom_unique("Usurpateur"));
            autre["ine"] = json!(ine);
            autre["sexe"] = json!("M");
            let r = poster(&app, &j, "/v1/inscriptions", &creation_nouvel_eleve(autre, m.cp_ailleurs.uai.as_str()), &[]).await;
            assert_doublon(&r, &porteur, Some(&ine));
            assert_eq!(compter(base), avant);

            // A seeded pupil, sent again with its name in capitals and without accents.
            let e = {
                let mut c = base.store.connexion().unwrap();
                let ine = onde_domain::Ine::parse(&repere.ine).unwrap();
                onde_store::eleves::trouver_par_ine(&mut c, &onde_domain::Perimetre::National, &ine).unwrap().unwrap()
            };
            let nom: String = e.nom.to_uppercase().chars().map(|c| match c {
                'É' | 'È' | 'Ê' | 'Ë' => 'E',
                'Ï' | 'Î' => 'I',
                '-' => ' ',
                c => c,
            }).collect();
            let copie = json!({
                "nom": format!(" {nom} "),
                "prenoms": [e.prenoms.premier().to_lowercase()],
                "sexe": e.sexe.as_str(),
                "date_naissance": e.date_naissance.format("%Y-%m-%d").to_string(),
                "lieu_naissance": e.lieu_naissance.as_str()
            });
            let niveau = toutes_les_inscriptions(base).into_iter()
                .find(|i| i.eleve.id.to_string() == repere.eleve_id && i.inscription.annee_scolaire.as_str() == "2026-2027")
                .unwrap().inscription.niveau;
            let ecole = ecoles_accueillant(base, niveau).remove(0);
            let r = poster(&app, &j, "/v1/inscriptions", &json!({
                "eleve": copie, "uai": ecole.uai.as_str(), "annee_scolaire": "2026-2027", "niveau": niveau.as_str()
            }), &[]).await;
            assert_doublon(&r, &repere.eleve_id, Some(&repere.ine));
            assert_eq!(compter(base), avant);
        });
    }

    // One active inscription per pupil and school year, whatever its status (en_attente
    // included); radiation frees the year.
    fn une_inscription_active_par_annee(base: ecritures()) {
        let m = monde(base);
        executer(async {
            let app = service(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let r = poster(&app, &j, "/v1/inscriptions", &creation_nouvel_eleve(dossier(&nom_unique("Unique")), m.cp.uai.as_str()), &[]).await;
            assert_eq!(r.statut, 201, "{}", r.texte);
            let premiere = r.corps["id"].as_str().unwrap().to_owned();
            let eleve = r.corps["eleve"]["id"].as_str().unwrap().to_owned();

            let refusee = |uai: &str| creation_par_id(&eleve, uai, ANNEE, "CP");
            for uai in [m.cp_voisine.uai.as_str(), m.cp.uai.as_str(), m.cp_ailleurs.uai.as_str()] {
                let avant = compter(base);
                let r = poster(&app, &j, "/v1/inscriptions", &refusee(uai), &[]).await;
                assert_probleme(&r, 409, "inscription_active_existante");
                assert!(r.corps["detail"].as_str().unwrap().contains(ANNEE), "{}", r.texte);
                assert_eq!(compter(base), avant);
            }
            // Whatever the status of the active one.
            for (op, c) in [("admissibilite", json!({})), ("admission", json!({"provisoire": true})), ("admission_definitive", json!({}))] {
                assert_eq!(operer(&app, &j, &premiere, op, &c, &[]).await.statut, 200);
                let r = poster(&app, &j, "/v1/inscriptions", &refusee(m.cp_voisine.uai.as_str()), &[]).await;
                assert_probleme(&r, 409, "inscription_active_existante");
            }
            // Another year is another question.
            let r = poster(&app, &j, "/v1/inscriptions", &creation_par_id(&eleve, m.cp.uai.as_str(), "2029-2030", "CE1"), &[]).await;
            assert_eq!(r.statut, 201, "{}", r.texte);

            let r = operer(&app, &j, &premiere, "radiation", &json!({"date": "2028-12-01", "motif": "demenagement"}), &[]).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            let r = poster(&app, &j, "/v1/inscriptions", &refusee(m.cp_ailleurs.uai.as_str()), &[]).await;
            assert_eq!(r.statut, 201, "après radiation : {}", r.texte);
            let seconde = r.corps["id"].as_str().unwrap().to_owned();
            let r = poster(&app, &j, "/v1/inscriptions", &refusee(m.cp.uai.as_str()), &[]).await;
            assert_probleme(&r, 409, "inscription_active_existante");
            let actives: Vec<String> = inscriptions_de(base, &eleve).into_iter()
                .filter(|i| i.annee_scolaire.as_str() == ANNEE && i.statut != StatutInscription::Radie)
                .map(|i| i.id.to_string())
                .collect();
            assert_eq!(actives, [seconde]);

            // A pending request (en_attente) is active too.
            let autre = eleve_direct(base, &dossier(&nom_unique("Attente")));
            inscription_directe(base, &autre, m.cp.uai.as_str(), ANNEE, Niveau::Cp, StatutInscription::EnAttente);
            let r = poster(&app, &j, "/v1/inscriptions", &creation_par_id(&autre, m.cp_voisine.uai.as_str(), ANNEE, "CP"), &[]).await;
            assert_probleme(&r, 409, "inscription_active_existante");
        });
    }

    // The rule holds in the database itself: a second active row for the same pupil and year
    // written behind the API's back is refused, a radiated one is not.
    fn contrainte_en_base(base: ecritures()) {
        let m = monde(base);
        let eleve = eleve_direct(base, &dossier(&nom_unique("Contrainte")));
        inscription_directe(base, &eleve, m.cp.uai.as_str(), ANNEE, Niveau::Cp, StatutInscription::Inscrit);
        inscription_directe(base, &eleve, m.cp_voisine.uai.as_str(), ANNEE, Niveau::Cp, StatutInscription::Radie);
        let i = onde_domain::Inscription {
            id: uuid::Uuid::now_v7(),
            eleve_id: uuid::Uuid::parse_str(&eleve).unwrap(),
            uai: m.cp_ailleurs.uai.clone(),
            annee_scolaire: onde_domain::AnneeScolaire::parse(ANNEE).unwrap(),
            niveau: Niveau::Cp,
            classe: None,
            dispositif: None,
            statut: StatutInscription::Admis,
            admission_provisoire: false,
            date_inscription: date("2028-03-01"),
            date_admission: None,
            date_radiation: None,
            motif_radiation: None,
        };
        let mut c = base.store.connexion().unwrap();
        let e = onde_store::inscriptions::inserer(&mut c, &i, chrono::Utc::now().naive_utc()).unwrap_err();
        assert!(e.violation_unicite().is_some(), "{e}");
    }
}
