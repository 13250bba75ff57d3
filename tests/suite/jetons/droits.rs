//! Rights resolved server-side at every request: revocation, narrowed perimeter, withdrawn scope, mandates, data profiles, the feed.

use super::*;

deux_backends! {

    fn droits_relus_a_chaque_requete(base: eleves(120)) {
        let r = reperes(base);
        let (a, c) = (r[0].clone(), r[2].clone());
        let etat = etat(base);
        let id = mairie(base, &[&a.commune, &c.commune]);
        executer(async {
            let app = service(etat.clone()).await;
            let j = jeton(&app, &id).await;
            let uri_c = format!("/v1/inscriptions/{}", c.inscription);
            let uri_a = format!("/v1/inscriptions/{}", a.inscription);
            assert_eq!(get(&app, &j, &uri_c).await.statut, 200);
            assert_eq!(get(&app, &j, &format!("/v1/eleves/{}", c.ine)).await.statut, 200);
            let avant = get(&app, &j, "/v1/inscriptions?limit=1000").await;
            assert!(avant.corps["elements"].as_array().unwrap().iter().any(|i| i["uai"] == c.uai.as_str()));

            // The admin narrows the perimeter to commune A: the same token sees it at once.
            let mut conn = base.store.connexion().unwrap();
            let mut p = onde_store::partenaires::trouver(&mut conn, id.partenaire_id).unwrap().unwrap().partenaire;
            p.communes = [CodeInsee::parse(&a.commune).unwrap()].into();
            assert!(onde_store::partenaires::remplacer(&mut conn, &p, chrono::Utc::now().naive_utc()).unwrap());
            assert_probleme(&get(&app, &j, &uri_c).await, 404, "ressource_introuvable");
            assert_probleme(&get(&app, &j, &format!("/v1/eleves/{}", c.ine)).await, 404, "ressource_introuvable");
            assert_probleme(&get(&app, &j, &format!("/v1/ecoles/{}", c.uai)).await, 404, "ressource_introuvable");
            let apres = get(&app, &j, "/v1/inscriptions?limit=1000").await;
            let elements = apres.corps["elements"].as_array().unwrap();
            assert!(!elements.is_empty());
            assert!(elements.iter().all(|i| i["uai"] != c.uai.as_str()));
            assert_eq!(get(&app, &j, &uri_a).await.statut, 200);

            // A scope withdrawn from the partner stops working with the token that carries it.
            p.scopes = onde_domain::Scopes::parse_liste("ecoles:read eleves:read").unwrap();
            assert!(onde_store::partenaires::remplacer(&mut conn, &p, chrono::Utc::now().naive_utc()).unwrap());
            assert_probleme(&get(&app, &j, &uri_a).await, 403, "insufficient_scope");
            assert_eq!(get(&app, &j, &format!("/v1/eleves/{}", a.ine)).await.statut, 200);

            // Suspended (not revoked): refused at the next request, back when reactivated.
            p.actif = false;
            assert!(onde_store::partenaires::remplacer(&mut conn, &p, chrono::Utc::now().naive_utc()).unwrap());
            assert_jeton_refuse(&get(&app, &j, &format!("/v1/eleves/{}", a.ine)).await, "partenaire suspendu");
            assert_eq!(demander_jeton(&app, &id, None).await.unwrap_err().corps["error"], "invalid_client");
            p.actif = true;
            assert!(onde_store::partenaires::remplacer(&mut conn, &p, chrono::Utc::now().naive_utc()).unwrap());
            assert_eq!(get(&app, &j, &format!("/v1/eleves/{}", a.ine)).await.statut, 200);
        });
    }

    fn droits_changes_par_l_api_d_administration(base: eleves(120)) {
        let r = reperes(base);
        let (a, c) = (r[0].clone(), r[2].clone());
        let etat = etat(base);
        let id = mairie(base, &[&a.commune, &c.commune]);
        let admin = partenaire(base, TypePartenaire::Admin, "ecoles:read admin", &[], &[], &[]);
        executer(async {
            let app = service(etat.clone()).await;
            let j = jeton(&app, &id).await;
            let ja = jeton(&app, &admin).await;
            let fiche = format!("/v1/admin/partenaires/{}", id.partenaire_id);
            let uri_c = format!("/v1/inscriptions/{}", c.inscription);
            let uri_a = format!("/v1/inscriptions/{}", a.inscription);
            assert_eq!(get(&app, &j, &uri_c).await.statut, 200);

            // Narrowed through the admin API: the same token sees it at the next request.
            let corps = json!({"communes": [a.commune]});
            let r = requete(&app, actix_web::http::Method::PATCH, &fiche, &ja, &[], Some(&corps)).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_probleme(&get(&app, &j, &uri_c).await, 404, "ressource_introuvable");
            assert_probleme(&get(&app, &j, &format!("/v1/eleves/{}", c.ine)).await, 404, "ressource_introuvable");
            assert_eq!(get(&app, &j, &uri_a).await.statut, 200);

            // Revoked through the admin API: the token is refused at the next request.
            let r = requete(&app, actix_web::http::Method::POST, &format!("{fiche}/revocation"), &ja, &[], None).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_jeton_refuse(&get(&app, &j, &uri_a).await, "jeton d'un partenaire révoqué par l'API");
            assert_eq!(demander_jeton(&app, &id, None).await.unwrap_err().corps["error"], "invalid_client");
        });
    }

    fn mandats_d_un_editeur(base: eleves(300)) {
        let r = reperes(base);
        let (a, b, c) = (r[0].clone(), r[1].clone(), r[2].clone());
        let etat = etat(base);
        let editeur = partenaire(
            base,
            TypePartenaire::Editeur,
            &TypePartenaire::Editeur.scopes_possibles().to_string(),
            &[],
            &[],
            &[&a.commune, &b.uai],
        );
        let ecoles_a: Vec<String> = toutes_les_ecoles(base)
            .into_iter()
            .filter(|e| e.commune.as_str() == a.commune)
            .map(|e| e.uai.as_str().to_owned())
            .collect();
        let id_mairie = mairie(base, &[&a.commune]);
        executer(async {
            let app = service(etat.clone()).await;
            let j = jeton(&app, &editeur).await;
            let uais = |r: &Reponse| -> Vec<String> {
                assert_eq!(r.statut, 200, "{}", r.texte);
                r.corps["elements"].as_array().unwrap().iter().map(|i| i["uai"].as_str().unwrap().to_owned()).collect()
            };
            let eleve = |ine: &str| format!("/v1/eleves/{ine}");

            // Without narrowing: the union of the mandates, the fields every principal may read.
            let tout = uais(&get(&app, &j, "/v1/inscriptions?limit=1000").await);
            assert!(tout.iter().any(|u| u == &b.uai) && tout.iter().any(|u| ecoles_a.contains(u)));
            assert!(tout.iter().all(|u| u == &b.uai || ecoles_a.contains(u)));
            let r = get(&app, &j, &eleve(&a.ine)).await;
            assert_eq!(r.statut, 200);
            assert!(!contient_cle(&r.corps, "lieu_naissance"), "{}", r.texte);

            // Narrowed to the commune mandate: its rows only, a mairie's profile.
            let m = [("Onde-Mandat", a.commune.as_str())];
            let rows = uais(&get_avec(&app, &j, "/v1/inscriptions?limit=1000", &m).await);
            assert!(!rows.is_empty() && rows.iter().all(|u| ecoles_a.contains(u)), "{rows:?}");
            let rows = uais(&get_avec(&app, &j, &format!("/v1/inscriptions?uai={}&limit=1000", b.uai), &m).await);
            assert!(rows.is_empty(), "a filter does not reach outside the mandate");
            let r = get_avec(&app, &j, &eleve(&a.ine), &m).await;
            assert_eq!(r.statut, 200);
            assert!(!contient_cle(&r.corps, "lieu_naissance"), "{}", r.texte);
            assert_eq!(get_avec(&app, &j, &eleve(&b.ine), &m).await.statut, 404);
            assert_eq!(get_avec(&app, &j, &format!("/v1/ecoles/{}", b.uai), &m).await.statut, 404);

            // Narrowed to the school mandate: that school only, a school's profile.
            let m = [("Onde-Mandat", b.uai.as_str())];
            let rows = uais(&get_avec(&app, &j, "/v1/inscriptions?limit=1000", &m).await);
            assert!(!rows.is_empty() && rows.iter().all(|u| u == &b.uai), "{rows:?}");
            let r = get_avec(&app, &j, &eleve(&b.ine), &m).await;
            assert_eq!(r.statut, 200);
            assert!(r.corps["lieu_naissance"].is_string(), "{}", r.texte);
            assert_eq!(get_avec(&app, &j, &eleve(&a.ine), &m).await.statut, 404);

            // A mandate it does not hold: refused, whatever the operation.
            for (mandat, uri) in [
                (c.commune.as_str(), "/v1/inscriptions".to_owned()),
                (c.uai.as_str(), "/v1/ecoles".to_owned()),
                (c.commune.as_str(), eleve(&c.ine)),
                (a.uai.as_str(), "/v1/inscriptions".to_owned()),
            ] {
                let r = get_avec(&app, &j, &uri, &[("Onde-Mandat", mandat)]).await;
                assert_probleme(&r, 403, "mandat_non_detenu");
            }
            assert_probleme(&get_avec(&app, &j, "/v1/inscriptions", &[("Onde-Mandat", "n'importe quoi")]).await, 400, "parametre_invalide");
            // A mairie holds no mandate: it cannot "narrow" to someone else's, nor to its own.
            let jm = jeton(&app, &id_mairie).await;
            for mandat in [c.commune.as_str(), a.commune.as_str()] {
                let r = get_avec(&app, &jm, "/v1/inscriptions", &[("Onde-Mandat", mandat)]).await;
                assert_probleme(&r, 403, "mandat_non_detenu");
            }
        });
    }

    fn profils_de_donnees(base: eleves(120)) {
        let a = reperes(base)[0].clone();
        let etat = etat(base);
        let id_mairie = mairie(base, &[&a.commune]);
        let ecole = partenaire(
            base,
            TypePartenaire::EcolePrivee,
            &TypePartenaire::EcolePrivee.scopes_possibles().to_string(),
            &[],
            &[&a.uai],
            &[],
        );
        let admin = partenaire(base, TypePartenaire::Admin, "ecoles:read admin", &[], &[], &[]);
        executer(async {
            let app = service(etat.clone()).await;
            let jm = jeton(&app, &id_mairie).await;
            let je = jeton(&app, &ecole).await;
            // A mairie never receives the place of birth: not in lists, not in any pupil.
            let liste = get(&app, &jm, "/v1/inscriptions?limit=1000").await;
            assert_eq!(liste.statut, 200);
            assert!(!contient_cle(&liste.corps, "lieu_naissance"));
            let ines: Vec<String> = liste.corps["elements"].as_array().unwrap().iter()
                .filter_map(|i| i["eleve"]["ine"].as_str().map(str::to_owned))
                .take(25)
                .collect();
            assert!(ines.len() >= 10);
            let mut vus_par_l_ecole = 0;
            for ine in &ines {
                let r = get(&app, &jm, &format!("/v1/eleves/{ine}")).await;
                assert_eq!(r.statut, 200, "{}", r.texte);
                assert!(!contient_cle(&r.corps, "lieu_naissance"), "{}", r.texte);
                assert!(r.corps["nom"].is_string() && r.corps["responsables"].is_array());
                // Control: the field exists, and a school's profile receives it.
                let r = get(&app, &je, &format!("/v1/eleves/{ine}")).await;
                if r.statut == 200 {
                    assert!(r.corps["lieu_naissance"].is_string(), "{}", r.texte);
                    vus_par_l_ecole += 1;
                }
            }
            assert!(vus_par_l_ecole > 0);

            // The operations team reads no pupil: its token cannot carry the scopes...
            let ja = jeton(&app, &admin).await;
            assert_eq!(get(&app, &ja, "/v1/ecoles").await.statut, 200);
            for uri in [format!("/v1/eleves/{}", a.ine), format!("/v1/inscriptions/{}", a.inscription), "/v1/inscriptions".into()] {
                assert_probleme(&get(&app, &ja, &uri).await, 403, "insufficient_scope");
            }
            // ... and a genuinely signed token claiming them is refused as well.
            let forge = etat.trousseau
                .emettre(&admin.partenaire_id.to_string(), &admin.client_id, "ecoles:read eleves:read inscriptions:read admin")
                .unwrap();
            for uri in [format!("/v1/eleves/{}", a.ine), format!("/v1/inscriptions/{}", a.inscription), "/v1/inscriptions".into()] {
                assert_probleme(&get(&app, &forge, &uri).await, 403, "insufficient_scope");
            }
        });
    }

    fn flux_suit_les_scopes_courants_du_partenaire(base: eleves(120)) {
        // Issue 16, item 4: the change feed filters its resource types by the partner's
        // current scopes, not by the token's.
        let r = reperes(base);
        let a = r[0].clone();
        let etat = etat(base);
        let id = partenaire(
            base,
            TypePartenaire::Mairie,
            "ecoles:read eleves:read inscriptions:read",
            &[&a.commune],
            &[],
            &[],
        );
        executer(async {
            let app = service(etat.clone()).await;
            let j = jeton(&app, &id).await;
            let depart = get(&app, &j, "/v1/changements").await;
            assert_eq!(depart.statut, 200, "{}", depart.texte);
            let curseur = depart.corps["curseur_suivant"].as_str().unwrap().to_owned();
            // Every pupil renamed, every guardian's phone changed, every inscription's class.
            let mut conn = base.store.connexion().unwrap();
            for sql in [
                "UPDATE eleves SET nom = 'Renommé'",
                "UPDATE responsables SET telephone = '0611223344'",
                "UPDATE inscriptions SET classe = 'B'",
            ] {
                diesel::RunQueryDsl::execute(diesel::sql_query(sql), &mut conn).unwrap();
            }
            // Every event from the cursor on, following pages until the feed is up to date
            // (events of transactions still settling may be held back a moment).
            let lire_tout = |j: String, curseur: String| {
                let app = &app;
                async move {
                    let mut vus = std::collections::BTreeSet::new();
                    let mut texte = String::new();
                    let mut curseur = curseur;
                    for _ in 0..200 {
                        let page = get(app, &j, &format!("/v1/changements?depuis={curseur}&limit=1000")).await;
                        assert_eq!(page.statut, 200, "{}", page.texte);
                        for e in page.corps["elements"].as_array().unwrap() {
                            vus.insert(e["ressource"].as_str().unwrap().to_owned());
                        }
                        texte.push_str(&page.texte);
                        curseur = page.corps["curseur_suivant"].as_str().unwrap().to_owned();
                        if page.corps["a_jour"] == true {
                            return (vus, texte);
                        }
                        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
                    }
                    panic!("flux jamais à jour");
                }
            };
            let (vus, _) = lire_tout(j.clone(), curseur.clone()).await;
            assert!(vus.contains("eleve") && vus.contains("responsable") && vus.contains("inscription"), "{vus:?}");

            // The admin withdraws eleves:read; the token, still valid, carries it.
            let mut p = onde_store::partenaires::trouver(&mut conn, id.partenaire_id).unwrap().unwrap().partenaire;
            p.scopes = onde_domain::Scopes::parse_liste("ecoles:read inscriptions:read").unwrap();
            assert!(onde_store::partenaires::remplacer(&mut conn, &p, chrono::Utc::now().naive_utc()).unwrap());
            assert!(charge_de(&j)["scope"].as_str().unwrap().contains("eleves:read"));
            let (vus, texte) = lire_tout(j.clone(), curseur.clone()).await;
            assert!(vus.contains("inscription"), "{vus:?}");
            assert!(!vus.contains("eleve") && !vus.contains("responsable"), "{vus:?}");
            assert!(!texte.contains("0611223344"), "pas de téléphone de responsable");
            // The pupil operations themselves are refused with the same token.
            assert_probleme(&get(&app, &j, &format!("/v1/eleves/{}", a.ine)).await, 403, "insufficient_scope");
        });
    }
}
