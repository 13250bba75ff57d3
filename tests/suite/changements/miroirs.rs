//! The tests: mirrors kept by the feed alone (concurrent writers, perimeter changes, batches, the CLI client) and the feed purge.

use super::*;

deux_backends! {
    fn miroir_exact_sous_ecritures_concurrentes(base: eleves(400).communes(4)) {
        let etat = etat(base);
        let communes: Vec<String> = toutes_les_ecoles(base).iter().map(|e| e.commune.as_str().to_owned()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        assert!(communes.len() >= 3, "{communes:?}");
        let elementaires: Vec<onde_domain::Ecole> = toutes_les_ecoles(base)
            .into_iter()
            .filter(|e| e.type_ecole != onde_domain::TypeEcole::Maternelle)
            .collect();
        let toutes: Vec<&str> = communes.iter().map(String::as_str).collect();
        // Pupils are written under schools' mandates only (a commune's mandate lends no eleves:write).
        let uais: Vec<String> = toutes_les_ecoles(base).iter().map(|e| e.uai.as_str().to_owned()).collect();
        let mandats: Vec<&str> = uais.iter().map(String::as_str).collect();
        let editeur = partenaire(base, TypePartenaire::Editeur, &TypePartenaire::Editeur.scopes_possibles().to_string(), &[], &[], &mandats);
        executer(async {
            let app = actix_web::test::init_service(api::app(etat.clone())).await;
            let mairie = partenaire(base, TypePartenaire::Mairie, SCOPES_LECTURE, &[&communes[0], &communes[1]], &[], &[]);
            // "National": a mairie of every commune (a partner's perimeter is never unbounded).
            let national = partenaire(base, TypePartenaire::Mairie, SCOPES_LECTURE, &toutes, &[], &[]);
            let j_national = jeton(&app, &national).await;
            let j_mairie = jeton(&app, &mairie).await;
            let j_editeur = jeton(&app, &editeur).await;
            // Each mirror: the cursor of now, then the lists (the seed left no history).
            let mut m_national = instantane(&app, &j_national).await;
            let mut m_mairie = instantane(&app, &j_mairie).await;

            // Meanwhile an editor pushes batches (set-based on PostgreSQL): new pupils, the same
            // changed (moved, renamed...), then renamed again, with other birth dates, other
            // first names. The writers leave these pupils alone.
            let (creations, changements) = lots_de_scenario(&elementaires, &communes, 810_000, 24);
            let mut lots = vec![
                creations,
                renommes(&changements, 1),
                changements.clone(),
                renommes(&changements, 2),
                renommes(&changements, 3),
            ]
            .into_iter();
            let ecrivains = lancer_ecrivains(base, 4, 60);
            // Poll continuously, in small pages, while the writers commit.
            let mut pages = 0;
            while !ecrivains.iter().all(|e| e.is_finished()) {
                if let Some(lot) = lots.next() {
                    pousser(&app, &j_editeur, lot).await;
                }
                pages += synchroniser(&app, &j_mairie, &mut m_mairie, 17).await;
                pages += synchroniser(&app, &j_national, &mut m_national, 50).await;
                actix_web::rt::time::sleep(Duration::from_millis(3)).await;
            }
            for lot in lots {
                pousser(&app, &j_editeur, lot).await;
            }
            for e in ecrivains {
                e.join().unwrap();
            }
            synchroniser(&app, &j_mairie, &mut m_mairie, 17).await;
            synchroniser(&app, &j_national, &mut m_national, 1000).await;
            assert!(pages > 20, "{pages} pages lues pendant les écritures");

            // Every field of every row, the pupil summaries inscriptions embed included.
            let l_mairie = listes(&app, &j_mairie).await;
            let l_national = listes(&app, &j_national).await;
            assert!(l_mairie.len() < l_national.len());
            assert!(l_mairie.keys().any(|(r, _)| r == "responsable"));
            // The batches' last names are in the lists, under the inscriptions too.
            assert!(l_national.iter().any(|((r, _), v)| r == "inscription" && v["eleve"]["nom"].as_str().is_some_and(|n| n.ends_with("-v3"))));
            assert_miroir_exact("mairie", &l_mairie, &m_mairie.lignes);
            assert_miroir_exact("national", &l_national, &m_national.lignes);
        });
    }

    fn pierres_tombales_et_changements_de_cle(base: eleves(200).communes(3)) {
        let ecoles = toutes_les_ecoles(base);
        let communes: Vec<String> = ecoles.iter().map(|e| e.commune.as_str().to_owned()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let (ca, cb) = (communes[0].clone(), communes[1].clone());
        let ecole_a = ecoles.iter().find(|e| e.commune.as_str() == ca).unwrap().uai.as_str().to_owned();
        let ecole_b = ecoles.iter().find(|e| e.commune.as_str() == cb).unwrap().uai.as_str().to_owned();
        // A pupil of school A who lives in neither commune, with an active inscription.
        let i = toutes_les_inscriptions(base)
            .into_iter()
            .find(|i| i.inscription.uai.as_str() == ecole_a && i.inscription.statut != onde_domain::StatutInscription::Radie)
            .unwrap();
        let (id_i, id_e) = (i.inscription.id.to_string(), i.eleve.id.to_string());
        let mut conn = base.store.connexion().unwrap();
        executer_sql(&mut conn, &format!("UPDATE eleves SET adresse_voie = NULL, adresse_code_postal = NULL, adresse_commune = NULL WHERE id = '{id_e}'"));
        executer_sql(&mut conn, &format!("UPDATE inscriptions SET statut = 'radie', date_radiation = '2026-09-01', admission_provisoire = FALSE WHERE eleve_id = '{id_e}' AND id <> '{id_i}' AND statut <> 'radie'"));
        let etat = etat(base);
        executer(async {
            let app = actix_web::test::init_service(api::app(etat.clone())).await;
            let m_a = partenaire(base, TypePartenaire::Mairie, SCOPES_LECTURE, &[&ca], &[], &[]);
            let m_b = partenaire(base, TypePartenaire::Mairie, SCOPES_LECTURE, &[&cb], &[], &[]);
            let (j_a, j_b) = (jeton(&app, &m_a).await, jeton(&app, &m_b).await);
            let debut = curseur_initial(&app, &j_a).await;
            let lire = |j: String, depuis: String| {
                let app = &app;
                async move {
                    // Until up to date (a transaction of another test may hold events back).
                    let mut par: HashMap<(String, String), (String, Value)> = HashMap::new();
                    let mut depuis = depuis;
                    loop {
                        let r = get(app, &j, &format!("/v1/changements?limit=1000&depuis={depuis}")).await;
                        assert_eq!(r.statut, 200, "{}", r.texte);
                        for e in r.corps["elements"].as_array().unwrap() {
                            par.insert(
                                (e["ressource"].as_str().unwrap().into(), e["id"].as_str().unwrap().into()),
                                (e["operation"].as_str().unwrap().into(), e.clone()),
                            );
                        }
                        depuis = r.corps["curseur_suivant"].as_str().unwrap().to_owned();
                        if r.corps["a_jour"] == true {
                            return (par, depuis);
                        }
                        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            };
            // Caught up, nothing changed: nothing to read, the cursor stays. (Right after the
            // cursor of "now", events of transactions that were still running may come again:
            // at least once, never skipped.)
            let (_, debut) = lire(j_a.clone(), debut.clone()).await;
            let (vide, meme) = lire(j_a.clone(), debut.clone()).await;
            assert!(vide.is_empty() && meme == debut);

            // The pupil changes school, from commune A to commune B.
            executer_sql(&mut base.store.connexion().unwrap(), &format!("UPDATE inscriptions SET uai = '{ecole_b}' WHERE id = '{id_i}'"));
            let (a, _) = lire(j_a.clone(), debut.clone()).await;
            let (b, curseur_b) = lire(j_b.clone(), debut.clone()).await;
            let cle = |r: &str, id: &str| (r.to_owned(), id.to_owned());
            assert_eq!(a[&cle("inscription", &id_i)].0, "sortie_perimetre", "{a:?}");
            assert_eq!(a[&cle("eleve", &id_e)].0, "sortie_perimetre");
            assert!(a[&cle("eleve", &id_e)].1.get("donnees").is_none());
            assert_eq!(b[&cle("inscription", &id_i)].1["donnees"]["uai"], ecole_b.as_str());
            assert_eq!(b[&cle("eleve", &id_e)].1["donnees"]["id"], id_e.as_str());
            // Its guardians leave A's mirror and enter B's with it.
            let responsables: Vec<&(String, String)> = a.keys().filter(|(r, _)| r == "responsable").collect();
            assert!(!responsables.is_empty());
            for k in responsables {
                // Still seen by A only through a sibling who stays.
                match a[k].1.get("donnees") {
                    None => assert_eq!(a[k].0, "sortie_perimetre"),
                    Some(d) => assert!(!d["eleves"].as_array().unwrap().iter().any(|v| v == id_e.as_str()), "{d}"),
                }
                assert!(b[k].1["donnees"]["eleves"].as_array().unwrap().iter().any(|v| v == id_e.as_str()));
            }

            // Radiated in B: the inscription stays (with its status), the pupil leaves B.
            executer_sql(&mut base.store.connexion().unwrap(), &format!("UPDATE inscriptions SET statut = 'radie', date_radiation = '2026-11-30', admission_provisoire = FALSE WHERE id = '{id_i}'"));
            let (b, curseur_b2) = lire(j_b.clone(), curseur_b.clone()).await;
            assert_eq!(b[&cle("inscription", &id_i)].0, "radiation");
            assert_eq!(b[&cle("inscription", &id_i)].1["donnees"]["statut"], "radie");
            assert_eq!(b[&cle("eleve", &id_e)].0, "sortie_perimetre");

            // A key change: a school's UAI corrected. B re-keys its row, with the old key.
            let ancien = ecole_b.clone();
            let nouvel = (0..10_000_000u32)
                .filter_map(|n| onde_domain::Uai::depuis_numero(n).ok())
                .find(|u| u.as_str()[..3] == ancien[..3] && !ecoles.iter().any(|e| e.uai == *u))
                .unwrap();
            executer_sql(&mut base.store.connexion().unwrap(), &format!("UPDATE ecoles SET uai = '{}' WHERE uai = '{ancien}'", nouvel.as_str()));
            let (b, _) = lire(j_b.clone(), curseur_b2.clone()).await;
            let e = &b[&cle("ecole", nouvel.as_str())];
            assert_eq!(e.0, "changement_cle", "{b:?}");
            assert_eq!(e.1["ancienne_cle"], ancien.as_str());
            assert!(!b.contains_key(&cle("ecole", &ancien)));
            // Its inscriptions follow (their uai changed with it).
            assert_eq!(b[&cle("inscription", &id_i)].1["donnees"]["uai"], nouvel.as_str());
            // A's feed knows nothing of B's school.
            let (a2, _) = lire(j_a.clone(), debut.clone()).await;
            assert!(!a2.contains_key(&cle("ecole", nouvel.as_str())));

            // A malformed cursor is a 400 naming the parameter.
            let r = get(&app, &j_a, "/v1/changements?depuis=nimporte").await;
            assert_probleme(&r, 400, "parametre_invalide");
            assert_eq!(r.corps["erreurs"][0]["parametre"], "depuis");
        });
    }

    fn miroir_exact_apres_lots(base: eleves(300).communes(4)) {
        // Batches take the set-based path on PostgreSQL (COPY into staging tables), whose feed
        // must be the one the item-by-item writes give: a mirror kept by the feed alone equals
        // the source, for a mairie and for a partner of every commune.
        let ecoles: Vec<onde_domain::Ecole> = toutes_les_ecoles(base)
            .into_iter()
            .filter(|e| e.type_ecole != onde_domain::TypeEcole::Maternelle)
            .collect();
        let communes: Vec<String> = ecoles.iter().map(|e| e.commune.as_str().to_owned()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        assert!(communes.len() >= 3, "{communes:?}");
        let toutes: Vec<&str> = communes.iter().map(String::as_str).collect();
        let mairie = partenaire(base, TypePartenaire::Mairie, SCOPES_LECTURE, &toutes[..2], &[], &[]);
        let national = partenaire(base, TypePartenaire::Mairie, SCOPES_LECTURE, &toutes, &[], &[]);
        // Pupils are written under schools' mandates only (a commune's mandate lends no eleves:write).
        let mandats: Vec<&str> = ecoles.iter().map(|e| e.uai.as_str()).collect();
        let editeur = partenaire(base, TypePartenaire::Editeur, &TypePartenaire::Editeur.scopes_possibles().to_string(), &[], &[], &mandats);
        let etat = etat(base);
        executer(async {
            let app = actix_web::test::init_service(api::app(etat.clone())).await;
            let (j_mairie, j_national, j_editeur) = (jeton(&app, &mairie).await, jeton(&app, &national).await, jeton(&app, &editeur).await);
            let mut m_mairie = instantane(&app, &j_mairie).await;
            let mut m_national = instantane(&app, &j_national).await;
            let (creations, changements) = lots_de_scenario(&ecoles, &communes, 800_000, 24);
            let pousser = |elements: Vec<Value>| {
                let (app, j) = (&app, j_editeur.clone());
                async move {
                    let r = requete(app, actix_web::http::Method::POST, "/v1/lots/eleves", &j, &[],
                        Some(&serde_json::json!({"elements": elements}))).await;
                    assert_eq!(r.statut, 200, "{}", r.texte);
                    let rejetes: Vec<&Value> = r.corps["resultats"].as_array().unwrap().iter().filter(|x| x["resultat"] == "rejete").collect();
                    assert!(rejetes.is_empty(), "{rejetes:?}");
                    r.corps["resume"].clone()
                }
            };
            // New pupils, living and schooled anywhere (in the mairie's communes or not).
            let crees = pousser(creations).await;
            assert_eq!(crees["crees"], 24, "{crees}");
            synchroniser(&app, &j_mairie, &mut m_mairie, 13).await;
            synchroniser(&app, &j_national, &mut m_national, 50).await;
            // The same pupils changed (moved in and out of the mairie's communes, and more).
            let modifies = pousser(changements).await;
            assert!(modifies["modifies"].as_u64().unwrap() >= 15, "{modifies}");
            assert!(modifies["inchanges"].as_u64().unwrap() >= 1, "{modifies}");
            synchroniser(&app, &j_mairie, &mut m_mairie, 13).await;
            synchroniser(&app, &j_national, &mut m_national, 50).await;

            assert_miroir_exact("mairie", &listes(&app, &j_mairie).await, &m_mairie.lignes);
            assert_miroir_exact("national", &listes(&app, &j_national).await, &m_national.lignes);
            // The mairie's mirror holds some of the pushed pupils, not all.
            let lots = m_mairie.lignes.iter().filter(|((r, _), d)| r == "eleve" && d["nom"].as_str().unwrap_or_default().starts_with("Lot")).count();
            assert!((1..25).contains(&lots), "{lots} élèves poussés dans le miroir de la mairie");
        });
    }

    fn client_miroir_de_bout_en_bout(base: eleves(400).communes(4)) {
        let mairie = mairie_de_deux_communes(base);
        let serveur = Serveur::demarrer(etat(base));
        let dossier = tempfile::tempdir().unwrap();
        let fichier = dossier.path().join("miroir.sqlite");

        // First run: snapshot (lists) then the feed; equal to the source.
        let sortie = commande_miroir(&serveur, &mairie, &fichier).arg("--une-fois").output().unwrap();
        assert!(sortie.status.success(), "{}", String::from_utf8_lossy(&sortie.stderr));
        assert_miroir_exact("client miroir", &listes_de(base, &mairie), &contenu_miroir(&fichier));

        // Following the feed while writers commit; killed mid-way, then resumed.
        let mut suivi = commande_miroir(&serveur, &mairie, &fichier)
            .args(["--intervalle", "0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let ecrivains = lancer_ecrivains(base, 3, 40);
        for e in ecrivains {
            e.join().unwrap();
        }
        suivi.kill().unwrap();
        suivi.wait().unwrap();
        let sortie = commande_miroir(&serveur, &mairie, &fichier).arg("--une-fois").output().unwrap();
        assert!(sortie.status.success(), "{}", String::from_utf8_lossy(&sortie.stderr));
        assert_miroir_exact("client miroir", &listes_de(base, &mairie), &contenu_miroir(&fichier));

        // A wrong secret: one clear error, exit code 2.
        let mut faux = mairie.clone();
        faux.secret = "faux".into();
        let sortie = commande_miroir(&serveur, &faux, &dossier.path().join("autre.sqlite")).arg("--une-fois").output().unwrap();
        assert_eq!(sortie.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&sortie.stderr).contains("jeton refusé"), "{}", String::from_utf8_lossy(&sortie.stderr));
    }
}

deux_backends! {
    fn purge_du_flux(base: eleves(400).communes(4)) {
        let mairie = mairie_de_deux_communes(base);
        let serveur = Serveur::demarrer(etat(base));
        let dossier = tempfile::tempdir().unwrap();
        let fichier = dossier.path().join("miroir.sqlite");
        let purger = |avant: &str| {
            std::process::Command::new(env!("CARGO_BIN_EXE_onde-echanges"))
                .args(["changements", "purger", "--avant", avant])
                .env("DATABASE_URL", &base.url)
                .env("RUST_LOG", "warn")
                .output()
                .unwrap()
        };
        let compter = |sql: &str| -> i64 {
            #[derive(diesel::QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            diesel::sql_query(sql).get_result::<N>(&mut base.store.connexion().unwrap()).unwrap().n
        };
        // The file mirror is in sync before the first writes, then left behind.
        let sortie = commande_miroir(&serveur, &mairie, &fichier).arg("--une-fois").output().unwrap();
        assert!(sortie.status.success(), "{}", String::from_utf8_lossy(&sortie.stderr));
        let etat_app = etat(base);
        executer(async {
            let app = actix_web::test::init_service(api::app(etat_app)).await;
            let j = jeton(&app, &mairie).await;
            let m_vieux = instantane(&app, &j).await;
            for e in lancer_ecrivains(base, 2, 30) {
                e.join().unwrap();
            }
            std::thread::sleep(Duration::from_millis(20));
            let limite = chrono::Utc::now().naive_utc();
            std::thread::sleep(Duration::from_millis(20));
            let mut m_recent = instantane(&app, &j).await;
            for e in lancer_ecrivains(base, 3, 30) {
                e.join().unwrap();
            }
            let avant_limite = format!("SELECT count(*) AS n FROM changements WHERE horodatage < '{}'", limite.format("%Y-%m-%d %H:%M:%S%.6f"));
            let depuis_limite = avant_limite.replace(" < ", " >= ");
            let (vieux, recents) = (compter(&avant_limite), compter(&depuis_limite));
            assert!(vieux > 0 && recents > 0, "{vieux} / {recents}");

            // Everything recorded before the limit goes, nothing after it; a second run is a no-op.
            let sortie = purger(&limite.format("%Y-%m-%dT%H:%M:%S%.6f").to_string());
            let texte = String::from_utf8_lossy(&sortie.stdout).into_owned();
            assert!(sortie.status.success(), "{}", String::from_utf8_lossy(&sortie.stderr));
            assert!(texte.starts_with(&format!("{vieux} changement(s)")), "{texte} ({vieux} attendus)");
            assert_eq!((compter(&avant_limite), compter(&depuis_limite)), (0, recents));
            let sortie = purger(&limite.format("%Y-%m-%dT%H:%M:%S%.6f").to_string());
            assert!(String::from_utf8_lossy(&sortie.stdout).starts_with("0 changement(s)"));
            assert!(!purger("2999-01-01").status.success(), "une purge de l'avenir est refusée");

            // A cursor from before the purge: 410, a problem document that says what to do.
            let r = get(&app, &j, &format!("/v1/changements?depuis={}", m_vieux.curseur)).await;
            assert_eq!(r.statut, 410, "{}", r.texte);
            assert_eq!(r.entetes.get("content-type").unwrap(), "application/problem+json");
            assert_eq!(r.corps["code"], "curseur_expire");
            assert!(r.corps["detail"].as_str().unwrap().contains("instantané"), "{}", r.texte);
            // A cursor from after it: the feed still holds every change since, exactly.
            synchroniser(&app, &j, &mut m_recent, 23).await;
            assert_miroir_exact("mairie", &listes(&app, &j).await, &m_recent.lignes);
        });

        // The file mirror, behind the purge, starts again from a snapshot and ends exact.
        let sortie = commande_miroir(&serveur, &mairie, &fichier).arg("--une-fois").output().unwrap();
        assert!(sortie.status.success(), "{}", String::from_utf8_lossy(&sortie.stderr));
        assert_miroir_exact("client miroir", &listes_de(base, &mairie), &contenu_miroir(&fichier));
    }
}
