//! The admin API end to end with real tokens, the audit query and key rotation, and the CLI.

use super::*;

deux_backends! {

    fn api_admin_de_bout_en_bout(base: eleves(200)) {
        let codes = onde_store::communes::codes(&mut base.store.connexion().unwrap()).unwrap();
        let etat = etat(base);
        executer(async {
            let app = service(etat.clone()).await;
            let admin = partenaire(base, TypePartenaire::Admin, "admin ecoles:read", &[], &[], &[]);
            let ja = jeton(&app, &admin).await;
            let communes_vues = |r: &Reponse| -> HashSet<String> {
                r.corps["elements"].as_array().unwrap().iter().map(|e| e["commune"].as_str().unwrap().to_owned()).collect()
            };

            // Create: 201, Location, the secret once.
            let corps = json!({"nom": "Mairie A", "type": "mairie", "scopes": ["ecoles:read", "inscriptions:read"], "communes": [codes[0]]});
            let r = requete(&app, Method::POST, "/v1/admin/partenaires", &ja, &[], Some(&corps)).await;
            assert_eq!(r.statut, 201, "{}", r.texte);
            let id = r.corps["partenaire"]["id"].as_str().unwrap().to_owned();
            let lieu = format!("/v1/admin/partenaires/{id}");
            assert_eq!(r.entete("location"), Some(lieu.as_str()));
            assert_eq!(r.entete("cache-control"), Some("no-store"));
            let nouveau = Identifiants {
                partenaire_id: id.parse().unwrap(),
                client_id: r.corps["identifiants"]["client_id"].as_str().unwrap().to_owned(),
                secret: r.corps["identifiants"]["client_secret"].as_str().unwrap().to_owned(),
            };

            // The new credentials work, within the perimeter given.
            let jm = jeton(&app, &nouveau).await;
            let r = get(&app, &jm, "/v1/ecoles?limit=1000").await;
            assert_eq!(communes_vues(&r), HashSet::from([codes[0].clone()]));

            // Show: ETag, 304, never the secret.
            let r = get(&app, &ja, &lieu).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert!(!r.texte.contains(&nouveau.secret) && !r.texte.contains("argon2"));
            assert_eq!(r.corps["clients"][0]["client_id"], nouveau.client_id.as_str());
            let etiquette = r.entete("etag").unwrap().to_owned();
            let r = get_avec(&app, &ja, &lieu, &[("If-None-Match", &etiquette)]).await;
            assert_eq!(r.statut, 304);

            // PUT: the perimeter moves, and the same token sees the new one at once.
            let corps = json!({"nom": "Mairie A", "scopes": ["ecoles:read", "inscriptions:read"], "communes": [codes[1]], "actif": true});
            let r = requete(&app, Method::PUT, &lieu, &ja, &[], Some(&corps)).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_ne!(r.entete("etag"), Some(etiquette.as_str()));
            let r = get(&app, &jm, "/v1/ecoles?limit=1000").await;
            assert_eq!(communes_vues(&r), HashSet::from([codes[1].clone()]));

            // PATCH (merge patch): a scope withdrawn stops working with the same token.
            let r = appeler(&app, brute(Method::PATCH, &lieu, &ja, Some("application/merge-patch+json"), r#"{"scopes": ["inscriptions:read"]}"#)).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.corps["communes"], json!([codes[1]]), "le reste est conservé");
            let r = appeler(&app, brute(Method::PATCH, &lieu, &ja, Some("application/merge-patch+json"), r#"{"scope": null}"#)).await;
            assert_probleme(&r, 422, "contenu_invalide");
            assert_eq!(r.corps["erreurs"][0]["pointer"], "/scope");
            assert_probleme(&get(&app, &jm, "/v1/ecoles").await, 403, "insufficient_scope");

            // Bodies refused, each violation located.
            let r = requete(&app, Method::POST, "/v1/admin/partenaires", &ja, &[], Some(&json!({"nom": "X", "type": "mairie", "scopes": [], "intrus": 1}))).await;
            assert_probleme(&r, 400, "corps_invalide");
            assert_eq!(r.corps["erreurs"][0]["pointer"], "/intrus");
            let r = requete(&app, Method::POST, "/v1/admin/partenaires", &ja, &[], Some(&json!({"nom": "X", "type": "mairie", "scopes": ["eleves:write"]}))).await;
            assert_probleme(&r, 422, "contenu_invalide");
            assert_eq!(r.corps["erreurs"][0]["pointer"], "/scopes/0");
            assert_eq!(r.corps["erreurs"][0]["code"], "scope_interdit");
            let r = requete(&app, Method::PUT, &lieu, &ja, &[], Some(&json!({"nom": "X", "scopes": [], "uais": ["0750655E"], "actif": true}))).await;
            assert_probleme(&r, 422, "contenu_invalide");
            assert_eq!(r.corps["erreurs"][0]["pointer"], "/uais");
            let r = appeler(&app, brute(Method::POST, "/v1/admin/partenaires", &ja, None, r#"{"nom": "X"}"#)).await;
            assert_probleme(&r, 415, "type_contenu_non_pris_en_charge");
            let r = appeler(&app, brute(Method::POST, "/v1/admin/partenaires", &ja, Some("application/json"), r#"{"nom": "#)).await;
            assert_probleme(&r, 400, "corps_invalide");
            assert_eq!(r.corps["erreurs"][0]["code"], "json_invalide");
            assert_probleme(&get(&app, &ja, "/v1/admin/partenaires/pas-un-uuid").await, 400, "parametre_invalide");
            let inconnu = format!("/v1/admin/partenaires/{}", uuid::Uuid::now_v7());
            assert_probleme(&get(&app, &ja, &inconnu).await, 404, "ressource_introuvable");
            assert_probleme(&requete(&app, Method::PUT, &inconnu, &ja, &[], Some(&corps)).await, 404, "ressource_introuvable");

            // Rotation: new secret once; the old one keeps working during the overlap…
            let r = requete(&app, Method::POST, &format!("{lieu}/secret"), &ja, &[], None).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.entete("cache-control"), Some("no-store"));
            let s2 = r.corps["client_secret"].as_str().unwrap().to_owned();
            assert!(r.corps["ancien_secret_valide_jusqua"].is_string());
            assert!(demander_jeton(&app, &nouveau, None).await.is_ok(), "ancien secret pendant le chevauchement");
            let avec_s2 = Identifiants { secret: s2.clone(), ..nouveau.clone() };
            assert!(demander_jeton(&app, &avec_s2, None).await.is_ok());
            // …unless the overlap is 0.
            let r = requete(&app, Method::POST, &format!("{lieu}/secret"), &ja, &[], Some(&json!({"chevauchement_heures": 0}))).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert!(r.corps["ancien_secret_valide_jusqua"].is_null());
            let refus = demander_jeton(&app, &avec_s2, None).await.unwrap_err();
            assert_eq!(refus.statut, 401);
            let s3 = r.corps["client_secret"].as_str().unwrap().to_owned();
            let r = requete(&app, Method::POST, &format!("{lieu}/secret"), &ja, &[], Some(&json!({"chevauchement_heures": 1000}))).await;
            assert_probleme(&r, 422, "contenu_invalide");

            // List: keyset pages, filters.
            for n in ["B", "C"] {
                let c = json!({"nom": format!("Éditeur {n}"), "type": "editeur", "scopes": ["ecoles:read"], "mandats": [{"cible": {"type": "commune", "code": codes[2]}}]});
                assert_eq!(requete(&app, Method::POST, "/v1/admin/partenaires", &ja, &[], Some(&c)).await.statut, 201);
            }
            let mut vus = Vec::new();
            let mut uri = "/v1/admin/partenaires?limit=2".to_owned();
            loop {
                let r = get(&app, &ja, &uri).await;
                assert_eq!(r.statut, 200, "{}", r.texte);
                vus.extend(r.corps["elements"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()));
                match r.corps["lien_suivant"].as_str() {
                    Some(l) => {
                        assert!(r.entete("link").is_some());
                        uri = l.to_owned();
                    }
                    None => break,
                }
            }
            assert_eq!(vus.len(), 4, "admin, mairie, deux éditeurs");
            let mut tries = vus.clone();
            tries.sort();
            assert_eq!(tries, vus);
            let r = get(&app, &ja, "/v1/admin/partenaires?type=editeur").await;
            assert_eq!(r.corps["elements"].as_array().unwrap().len(), 2);
            assert_probleme(&get(&app, &ja, "/v1/admin/partenaires?type=region").await, 400, "parametre_invalide");

            // Revocation: final; the partner's tokens stop at once.
            let jm = jeton(&app, &Identifiants { secret: s3.clone(), ..nouveau.clone() }).await;
            assert_eq!(get(&app, &jm, "/v1/inscriptions?limit=1").await.statut, 200);
            let r = requete(&app, Method::POST, &format!("{lieu}/revocation"), &ja, &[], None).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.corps["revoque"], true);
            assert_eq!(get(&app, &jm, "/v1/inscriptions?limit=1").await.statut, 401);
            assert_eq!(demander_jeton(&app, &Identifiants { secret: s3, ..nouveau.clone() }, None).await.unwrap_err().statut, 401);
            assert_probleme(&requete(&app, Method::PUT, &lieu, &ja, &[], Some(&corps)).await, 409, "partenaire_revoque");
            assert_probleme(&requete(&app, Method::POST, &format!("{lieu}/secret"), &ja, &[], None).await, 409, "partenaire_revoque");
        });
    }

    fn api_admin_reservee_au_scope_admin(base: eleves(50)) {
        let etat = etat(base);
        executer(async {
            let app = service(etat.clone()).await;
            let jm = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let admin = partenaire(base, TypePartenaire::Admin, "admin ecoles:read", &[], &[], &[]);
            let sans_admin = demander_jeton(&app, &admin, Some("ecoles:read")).await.map_err(|r| r.texte).unwrap();
            let corps = json!({"nom": "X", "type": "admin", "scopes": ["admin"]});
            for j in [&jm, &sans_admin] {
                assert_probleme(&get(&app, j, "/v1/admin/partenaires").await, 403, "insufficient_scope");
                assert_probleme(&get(&app, j, "/v1/admin/audit").await, 403, "insufficient_scope");
                let r = requete(&app, Method::POST, "/v1/admin/partenaires", j, &[], Some(&corps)).await;
                assert_probleme(&r, 403, "insufficient_scope");
                let r = requete(&app, Method::POST, "/v1/admin/cles/rotation", j, &[], None).await;
                assert_probleme(&r, 403, "insufficient_scope");
            }
            let r = requete(&app, Method::POST, "/v1/admin/partenaires", "", &[], Some(&corps)).await;
            assert_probleme(&r, 401, "authentification_requise");
            assert!(r.entete("www-authenticate").is_some_and(|v| v.starts_with("Bearer")));
            let tous = partenaires::lister_tout(&mut base.store.connexion().unwrap(), &Default::default()).unwrap();
            assert_eq!(tous.len(), 2, "rien n'a été créé");
        });
    }

    fn api_audit_et_cles(base: eleves(200)) {
        let reperes = reperes(base);
        let etat = etat(base);
        executer(async {
            let app = service(etat.clone()).await;
            let mairie = mairie_de_toutes_les_communes(base);
            let jm = jeton(&app, &mairie).await;
            let admin = partenaire(base, TypePartenaire::Admin, "admin ecoles:read", &[], &[], &[]);
            let ja = jeton(&app, &admin).await;
            for r in &reperes {
                assert_eq!(get(&app, &jm, &format!("/v1/eleves/{}", r.ine)).await.statut, 200);
            }
            assert_eq!(get(&app, &jm, "/v1/inscriptions?limit=5").await.statut, 200);
            etat.auditeur.vider();

            let r = get(&app, &ja, &format!("/v1/admin/audit?partenaire={}", mairie.partenaire_id)).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            let elements = r.corps["elements"].as_array().unwrap();
            assert_eq!(elements.len(), reperes.len() + 1);
            assert!(elements.iter().all(|e| e["partenaire_id"] == mairie.partenaire_id.to_string().as_str()));
            let ids: Vec<i64> = elements.iter().map(|e| e["id"].as_i64().unwrap()).collect();
            assert!(ids.windows(2).all(|w| w[0] > w[1]), "plus récentes d'abord");
            let r = get(&app, &ja, &format!("/v1/admin/audit?partenaire={}", admin.partenaire_id)).await;
            assert!(r.corps["elements"].as_array().unwrap().is_empty());

            // By pupil: its INE or its internal id, the same entries.
            let cible = &reperes[0];
            let par_ine = get(&app, &ja, &format!("/v1/admin/audit?eleve={}", cible.ine)).await;
            let par_id = get(&app, &ja, &format!("/v1/admin/audit?eleve={}", cible.eleve_id)).await;
            assert_eq!(par_ine.statut, 200, "{}", par_ine.texte);
            assert_eq!(par_ine.corps["elements"], par_id.corps["elements"]);
            let elements = par_ine.corps["elements"].as_array().unwrap();
            assert!(!elements.is_empty());
            assert!(elements.iter().all(|e| e["eleves"].as_array().unwrap().iter().any(|i| i == cible.eleve_id.as_str())));
            let r = get(&app, &ja, "/v1/admin/audit?eleve=0494004062M").await;
            assert!(r.corps["elements"].as_array().unwrap().is_empty(), "élève inconnu : aucune trace");

            // Period and pages.
            let r = get(&app, &ja, "/v1/admin/audit?depuis=2999-01-01").await;
            assert!(r.corps["elements"].as_array().unwrap().is_empty());
            let r = get(&app, &ja, "/v1/admin/audit?depuis=2000-01-01&jusqua=2999-12-31T23:00:00Z").await;
            let tout = r.corps["elements"].as_array().unwrap().len();
            assert_eq!(tout, reperes.len() + 1);
            let mut vus = Vec::new();
            let mut uri = "/v1/admin/audit?limit=1".to_owned();
            loop {
                let r = get(&app, &ja, &uri).await;
                vus.extend(r.corps["elements"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()));
                match r.corps["lien_suivant"].as_str() {
                    Some(l) => uri = l.to_owned(),
                    None => break,
                }
            }
            assert_eq!(vus.len(), tout);
            assert_eq!(vus.iter().collect::<HashSet<_>>().len(), tout);
            let r = get(&app, &ja, "/v1/admin/audit?depuis=hier").await;
            assert_probleme(&r, 400, "parametre_invalide");
            assert_eq!(r.corps["erreurs"][0]["parametre"], "depuis");
            let r = get(&app, &ja, "/v1/admin/audit?depuis=2026-02-01&jusqua=2026-01-01").await;
            assert_eq!(r.corps["erreurs"][0]["code"], "periode_vide");
            assert_probleme(&get(&app, &ja, "/v1/admin/audit?curseur=abc").await, 400, "parametre_invalide");

            // Key rotation: a new kid signs, the old one still verifies its tokens.
            let avant = get(&app, "", "/.well-known/jwks.json").await;
            let kids_avant = avant.corps["keys"].as_array().unwrap().len();
            let r = requete(&app, Method::POST, "/v1/admin/cles/rotation", &ja, &[], None).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            let nouveau_kid = r.corps["kid"].as_str().unwrap().to_owned();
            assert_ne!(nouveau_kid, kid(&ja));
            let apres = get(&app, "", "/.well-known/jwks.json").await;
            let kids: Vec<&str> = apres.corps["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
            assert_eq!(kids.len(), kids_avant + 1);
            assert!(kids.contains(&nouveau_kid.as_str()) && kids.contains(&kid(&ja).as_str()));
            assert_eq!(get(&app, &ja, "/v1/admin/partenaires").await.statut, 200, "ancien jeton encore valide");
            let jn = jeton(&app, &admin).await;
            assert_eq!(kid(&jn), nouveau_kid);
            assert_eq!(get(&app, &jn, "/v1/admin/partenaires").await.statut, 200);
        });
    }

    fn ligne_de_commande(base) {
        const BIN: &str = env!("CARGO_BIN_EXE_onde-echanges");
        let dossier = tempfile::tempdir().unwrap();
        let kek = fichier_cle_chiffrement(dossier.path());
        let lancer = |args: &[&str]| {
            let sortie = std::process::Command::new(BIN)
                .args(args)
                .env("DATABASE_URL", &base.url)
                .env("ONDE__JETONS__CLE_CHIFFREMENT_FICHIER", &kek)
                .env_remove("ONDE_CHEVAUCHEMENT_SECRET_HEURES")
                .output()
                .unwrap();
            (sortie.status.code(), String::from_utf8(sortie.stdout).unwrap(), String::from_utf8(sortie.stderr).unwrap())
        };
        let (code, sortie, erreur) = lancer(&[
            "partenaire", "creer", "--nom", "Éditeur CLI", "--type", "editeur",
            "--mandat", "69123=Mairie de Lyon", "--mandat", "0750655E", "--json",
        ]);
        assert_eq!(code, Some(0), "{erreur}");
        let cree: Value = serde_json::from_str(&sortie).unwrap();
        let id = cree["partenaire"]["id"].as_str().unwrap().to_owned();
        let cid = cree["identifiants"]["client_id"].as_str().unwrap().to_owned();
        let secret = cree["identifiants"]["client_secret"].as_str().unwrap().to_owned();
        assert_eq!(cree["partenaire"]["mandats"][0]["libelle"], "Mairie de Lyon");
        assert!(api::verifier(&secret, &client(base, &cid).secret_hash));

        let (code, sortie, _) = lancer(&["partenaire", "montrer", &id]);
        assert_eq!(code, Some(0));
        assert!(sortie.contains("Éditeur CLI") && sortie.contains(&cid) && !sortie.contains(&secret), "{sortie}");

        let (code, _, erreur) = lancer(&["partenaire", "modifier", &id, "--commune", "75056"]);
        assert_eq!(code, Some(2));
        assert!(erreur.contains("perimetre_incoherent") && erreur.contains("--commune"), "{erreur}");
        let (code, _, erreur) = lancer(&["partenaire", "creer", "--nom", "M", "--type", "mairie", "--commune", "7505"]);
        assert_eq!(code, Some(2));
        assert!(erreur.contains("--commune n°1") && erreur.contains("code_insee_format"), "{erreur}");

        let (code, sortie, erreur) = lancer(&["partenaire", "modifier", &id, "--nom", "Éditeur renommé", "--json"]);
        assert_eq!(code, Some(0), "{erreur}");
        let fiche: Value = serde_json::from_str(&sortie).unwrap();
        assert_eq!(fiche["nom"], "Éditeur renommé");
        assert_eq!(fiche["mandats"].as_array().unwrap().len(), 2);

        let (code, sortie, _) = lancer(&["partenaire", "secret", &id, "--json"]);
        assert_eq!(code, Some(0));
        let rotation: Value = serde_json::from_str(&sortie).unwrap();
        let c = client(base, &cid);
        let maintenant = chrono::Utc::now().naive_utc();
        assert!(partenaires::secret_accepte(&c, rotation["client_secret"].as_str().unwrap(), maintenant));
        assert!(partenaires::secret_accepte(&c, &secret, maintenant), "chevauchement de 24 h");

        let (code, sortie, _) = lancer(&["partenaire", "lister", "--json"]);
        assert_eq!(code, Some(0));
        assert_eq!(serde_json::from_str::<Value>(&sortie).unwrap().as_array().unwrap().len(), 1);

        let (code, _, _) = lancer(&["partenaire", "revoquer", &id]);
        assert_eq!(code, Some(0));
        assert!(!partenaires::secret_accepte(&client(base, &cid), rotation["client_secret"].as_str().unwrap(), maintenant));

        let (code, sortie, _) = lancer(&["cles", "tourner"]);
        assert_eq!(code, Some(0));
        assert!(sortie.contains("nouvelle clé"));

        // Rotation of the key-encryption key: the new one current, the old one as previous,
        // then `cles rechiffrer`; the old one alone then opens nothing.
        let k2 = dossier.path().join("cle-chiffrement-2");
        std::fs::write(&k2, "bm91dmVsbGUgY2xlIGNoaWZmcmVtZW50IHRlc3QgMzI=").unwrap();
        let rechiffrer = |precedentes: &str| {
            let sortie = std::process::Command::new(BIN)
                .args(["cles", "rechiffrer"])
                .env("DATABASE_URL", &base.url)
                .env("ONDE__JETONS__CLE_CHIFFREMENT_FICHIER", &k2)
                .env("ONDE__JETONS__CLES_CHIFFREMENT_PRECEDENTES_FICHIERS", precedentes)
                .output()
                .unwrap();
            (sortie.status.code(), String::from_utf8(sortie.stdout).unwrap(), String::from_utf8(sortie.stderr).unwrap())
        };
        let (code, _, erreur) = rechiffrer("[]");
        assert_eq!(code, Some(2), "sans l'ancienne clé, rien ne s'ouvre");
        assert!(erreur.contains("n'est pas configurée"), "{erreur}");
        let (code, sortie, erreur) = rechiffrer(&format!("[\"{}\"]", kek.display()));
        assert_eq!(code, Some(0), "{erreur}");
        assert!(sortie.starts_with("1 clé(s) de signature rechiffrée(s)"), "{sortie}");
        let (code, _, erreur) = lancer(&["cles", "tourner"]);
        assert_eq!(code, Some(2), "l'ancienne clé de chiffrement seule n'ouvre plus rien");
        assert!(erreur.contains("n'est pas configurée"), "{erreur}");

        let (code, sortie, _) = lancer(&["audit", "--partenaire", &id, "--json"]);
        assert_eq!(code, Some(0));
        assert_eq!(sortie.trim(), "[]");
        let (code, sortie, erreur) = lancer(&["audit", "purger", "--avant", "2020-01-01"]);
        assert_eq!(code, Some(0), "{erreur}");
        assert!(sortie.starts_with("0 entrée"), "{sortie}");
        let (code, _, erreur) = lancer(&["audit", "purger", "--avant", "2999-01-01"]);
        assert_eq!(code, Some(2));
        assert!(erreur.contains("date_future"), "{erreur}");
    }
}
