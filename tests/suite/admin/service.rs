//! The administration service shared by the API and the CLI: life cycle, rotation, invalid definitions, demo partners.

use super::*;

deux_backends! {
    fn cycle_de_vie_d_un_partenaire(base) {
        let mut conn = base.store.connexion().unwrap();
        let cree = partenaires::creer(&mut conn, &mairie("Mairie de Paris", &["75056"]), t0()).unwrap();
        let id = cree.partenaire.partenaire.id;
        let secret = cree.identifiants.client_secret.clone();
        assert!(secret.len() >= 43, "256 bits");

        // Only the argon2 hash is stored, and it opens with the secret.
        let c = client(base, &cree.identifiants.client_id);
        assert!(c.secret_hash.starts_with("$argon2id$"), "{}", c.secret_hash);
        assert!(!c.secret_hash.contains(&secret));
        assert!(api::verifier(&secret, &c.secret_hash));
        assert!(!api::verifier("autre", &c.secret_hash));
        assert_eq!(c.partenaire_id, id.to_string());

        // Shown once: what "show" returns holds neither the secret nor the hash.
        let fiche = partenaires::montrer(&mut conn, id, t0()).unwrap();
        assert_eq!(fiche, cree.partenaire);
        let texte = serde_json::to_string(&fiche).unwrap();
        assert!(!texte.contains(&secret) && !texte.contains("argon2") && !texte.contains("secret_hash"), "{texte}");
        assert_eq!(fiche.clients.len(), 1);
        assert_eq!(fiche.clients[0].client_id, cree.identifiants.client_id);
        assert!(!fiche.revoque && fiche.partenaire.actif);
        assert_eq!(fiche.partenaire.version, 1);
        assert_eq!(fiche.partenaire.communes.iter().map(|c| c.as_str()).collect::<Vec<_>>(), ["75056"]);

        // Full replacement (PUT).
        let definition = DefinitionPartenaire {
            nom: "Mairie de Lyon".into(),
            scopes: vec!["ecoles:read".into()],
            communes: vec!["69123".into(), "69266".into()],
            uais: Vec::new(),
            mandats: Vec::new(),
            actif: true,
        };
        let f = partenaires::modifier(&mut conn, id, &definition, t0()).unwrap();
        assert_eq!(f.partenaire.nom, "Mairie de Lyon");
        assert_eq!(f.partenaire.scopes.len(), 1);
        assert_eq!(f.partenaire.communes.len(), 2);
        assert_eq!(f.partenaire.version, 2);
        assert_eq!(f.partenaire.type_partenaire, TypePartenaire::Mairie);
        // What the access check re-reads on the partner's next request.
        let stocke = onde_store::partenaires::trouver(&mut conn, id).unwrap().unwrap();
        assert_eq!(stocke.partenaire.communes.len(), 2);
        assert_eq!(stocke.version, 2);

        // Partial change (merge patch): the rest stays.
        let f = partenaires::modifier_partiellement(&mut conn, id, &json!({"actif": false, "nom": "Lyon"}), t0()).unwrap();
        assert!(!f.partenaire.actif);
        assert_eq!(f.partenaire.nom, "Lyon");
        assert_eq!(f.partenaire.communes.len(), 2);
        assert_eq!(
            violations(partenaires::modifier_partiellement(&mut conn, id, &json!({"type": "editeur"}), t0())),
            [("/type".to_owned(), "champ_inconnu".to_owned())],
            "le type ne change pas"
        );
        let f = partenaires::modifier_partiellement(&mut conn, id, &json!({"actif": true, "communes": null}), t0()).unwrap();
        assert!(f.partenaire.actif && f.partenaire.communes.is_empty());

        // Listing and its filters.
        let autre = partenaires::creer(&mut conn, &mairie("Autre", &["13055"]), t0()).unwrap().partenaire.partenaire.id;
        let ids = |f: &partenaires::FiltrePartenaires, conn: &mut onde_store::DbConnection| {
            partenaires::lister_tout(conn, f).unwrap().into_iter().map(|p| p.id).collect::<Vec<_>>()
        };
        assert_eq!(ids(&Default::default(), &mut conn), [id, autre], "ordre de création");
        let editeurs = partenaires::FiltrePartenaires { type_partenaire: Some(TypePartenaire::Editeur), actif: None };
        assert!(ids(&editeurs, &mut conn).is_empty());

        // Revocation: final, and every client goes with it.
        let f = partenaires::revoquer(&mut conn, id, t0()).unwrap();
        assert!(f.revoque && !f.partenaire.actif);
        assert!(f.clients.iter().all(|c| c.revoque_le.is_some()));
        let etat = onde_store::partenaires::etat_client(&mut conn, &cree.identifiants.client_id).unwrap().unwrap();
        assert!(!etat.actif);
        assert!(partenaires::revoquer(&mut conn, id, t0()).unwrap().revoque, "révoquer deux fois ne change rien");
        assert_eq!(code_conflit(partenaires::modifier(&mut conn, id, &definition, t0())), "partenaire_revoque");
        assert_eq!(
            code_conflit(partenaires::tourner_secret(&mut conn, id, &DemandeRotation::default(), t0())),
            "partenaire_revoque"
        );
        let actifs = partenaires::FiltrePartenaires { type_partenaire: None, actif: Some(true) };
        assert_eq!(ids(&actifs, &mut conn), [autre]);

        // Unknown ids.
        let inconnu = uuid::Uuid::now_v7();
        introuvable(partenaires::montrer(&mut conn, inconnu, t0()));
        introuvable(partenaires::modifier(&mut conn, inconnu, &definition, t0()));
        introuvable(partenaires::modifier_partiellement(&mut conn, inconnu, &json!({}), t0()));
        introuvable(partenaires::tourner_secret(&mut conn, inconnu, &DemandeRotation::default(), t0()));
        introuvable(partenaires::revoquer(&mut conn, inconnu, t0()));
    }

    fn rotation_avec_chevauchement(base) {
        let mut conn = base.store.connexion().unwrap();
        let cree = partenaires::creer(&mut conn, &mairie("Mairie", &["75056"]), t0()).unwrap();
        let id = cree.partenaire.partenaire.id;
        let cid = cree.identifiants.client_id.clone();
        let s1 = cree.identifiants.client_secret.clone();

        let r = partenaires::tourner_secret(&mut conn, id, &DemandeRotation::default(), t0()).unwrap();
        let s2 = r.client_secret.clone();
        assert_eq!(r.client_id, cid);
        assert_ne!(s2, s1);
        assert_eq!(r.ancien_secret_valide_jusqua, Some((t0() + Duration::hours(24)).and_utc()), "24 h par défaut");

        let c = client(base, &cid);
        assert!(api::verifier(&s2, &c.secret_hash));
        assert!(api::verifier(&s1, c.ancien_secret_hash.as_deref().unwrap()));
        assert_eq!(c.ancien_secret_expire_le, Some(t0() + Duration::hours(24)));
        // The old secret opens until the window ends, not after; the new one always.
        assert!(partenaires::secret_accepte(&c, &s1, t0() + Duration::hours(24) - Duration::seconds(1)));
        assert!(!partenaires::secret_accepte(&c, &s1, t0() + Duration::hours(24)));
        assert!(partenaires::secret_accepte(&c, &s2, t0() + Duration::hours(48)));
        let fiche = partenaires::montrer(&mut conn, id, t0()).unwrap();
        assert!(fiche.clients[0].ancien_secret_valide);
        assert!(!partenaires::montrer(&mut conn, id, t0() + Duration::hours(25)).unwrap().clients[0].ancien_secret_valide);
        assert!(fiche.partenaire.version > 1, "la rotation change la version");

        // After a leak: 0 h, the previous secret stops at once.
        let t1 = t0() + Duration::hours(1);
        let demande = DemandeRotation { client_id: Some(cid.clone()), chevauchement_heures: Some(0) };
        let r = partenaires::tourner_secret(&mut conn, id, &demande, t1).unwrap();
        assert_eq!(r.ancien_secret_valide_jusqua, None);
        let c = client(base, &cid);
        assert!(!partenaires::secret_accepte(&c, &s2, t1));
        assert!(!partenaires::secret_accepte(&c, &s1, t1));
        assert!(partenaires::secret_accepte(&c, &r.client_secret, t1));

        // Bounds and unknown client.
        let trop = DemandeRotation { client_id: None, chevauchement_heures: Some(721) };
        assert_eq!(
            violations(partenaires::tourner_secret(&mut conn, id, &trop, t1)),
            [("/chevauchement_heures".to_owned(), "chevauchement_hors_bornes".to_owned())]
        );
        let inconnu = DemandeRotation { client_id: Some("onde_inconnu".into()), chevauchement_heures: None };
        introuvable(partenaires::tourner_secret(&mut conn, id, &inconnu, t1));
        // Another partner's client is not this partner's.
        let autre = partenaires::creer(&mut conn, &mairie("Autre", &["13055"]), t0()).unwrap();
        let vole = DemandeRotation { client_id: Some(autre.identifiants.client_id.clone()), chevauchement_heures: None };
        introuvable(partenaires::tourner_secret(&mut conn, id, &vole, t1));
        assert!(partenaires::secret_accepte(&client(base, &autre.identifiants.client_id), &autre.identifiants.client_secret, t1));
    }

    fn definitions_invalides_refusees(base) {
        let mut conn = base.store.connexion().unwrap();
        let mandat = |genre: &str, code: &str| MandatDemande {
            cible: CibleDemande { genre: genre.into(), code: code.into() },
            libelle: None,
        };
        let cas: Vec<(NouveauPartenaire, (&str, &str))> = vec![
            (NouveauPartenaire { uais: vec!["0750655E".into()], ..mairie("M", &["75056"]) }, ("/uais", "perimetre_incoherent")),
            (NouveauPartenaire { mandats: vec![mandat("commune", "69123")], ..mairie("M", &[]) }, ("/mandats", "perimetre_incoherent")),
            (
                NouveauPartenaire { scopes: vec!["ecoles:read".into(), "eleves:write".into()], ..mairie("M", &["75056"]) },
                ("/scopes/1", "scope_interdit"),
            ),
            (
                NouveauPartenaire { type_partenaire: "admin".into(), scopes: vec!["admin".into(), "eleves:read".into()], ..mairie("A", &[]) },
                ("/scopes/1", "scope_interdit"),
            ),
            (
                NouveauPartenaire { type_partenaire: "admin".into(), scopes: vec!["admin".into()], ..mairie("A", &["75056"]) },
                ("/communes", "perimetre_incoherent"),
            ),
            (
                NouveauPartenaire { type_partenaire: "ecole_privee".into(), ..mairie("E", &["75056"]) },
                ("/communes", "perimetre_incoherent"),
            ),
            (
                NouveauPartenaire { type_partenaire: "editeur".into(), uais: vec!["0750655E".into()], ..mairie("E", &[]) },
                ("/uais", "perimetre_incoherent"),
            ),
            (NouveauPartenaire { type_partenaire: "region".into(), ..mairie("R", &[]) }, ("/type", "type_partenaire_inconnu")),
            (mairie(" ", &["75056"]), ("/nom", "nom_longueur")),
            (mairie(&"n".repeat(201), &["75056"]), ("/nom", "nom_longueur")),
            (mairie("M", &["750"]), ("/communes/0", "code_insee_format")),
            (
                NouveauPartenaire { type_partenaire: "ecole_privee".into(), uais: vec!["0750655F".into()], ..mairie("E", &[]) },
                ("/uais/0", "uai_cle"),
            ),
            (NouveauPartenaire { scopes: vec!["tout".into()], ..mairie("M", &[]) }, ("/scopes/0", "scope_inconnu")),
            (
                NouveauPartenaire {
                    type_partenaire: "editeur".into(),
                    mandats: vec![mandat("ecole", "0750655E"), mandat("ecole", "0750655E")],
                    ..mairie("E", &[])
                },
                ("/mandats/1/cible", "mandat_en_double"),
            ),
            (
                NouveauPartenaire { type_partenaire: "editeur".into(), mandats: vec![mandat("departement", "75")], ..mairie("E", &[]) },
                ("/mandats/0/cible/type", "cible_type_inconnu"),
            ),
        ];
        for (demande, (pointeur, code)) in cas {
            let v = violations(partenaires::creer(&mut conn, &demande, t0()));
            assert_eq!(v, [(pointeur.to_owned(), code.to_owned())], "{demande:?}");
        }
        assert!(partenaires::lister_tout(&mut conn, &Default::default()).unwrap().is_empty(), "rien n'est enregistré");

        // A refused change leaves the partner as it was.
        let id = partenaires::creer(&mut conn, &mairie("M", &["75056"]), t0()).unwrap().partenaire.partenaire.id;
        let mauvaise = DefinitionPartenaire {
            nom: "M".into(),
            scopes: vec!["admin".into()],
            communes: vec!["75056".into()],
            uais: Vec::new(),
            mandats: Vec::new(),
            actif: true,
        };
        assert_eq!(
            violations(partenaires::modifier(&mut conn, id, &mauvaise, t0())),
            [("/scopes/0".to_owned(), "scope_interdit".to_owned())]
        );
        let f = partenaires::montrer(&mut conn, id, t0()).unwrap();
        assert_eq!(f.partenaire.version, 1);
        assert_eq!(f.partenaire.scopes.len(), 2);
    }

    fn partenaires_de_demo(base: eleves(400).communes(4)) {
        let dossier = tempfile::tempdir().unwrap();
        let ids = partenaires::creer_partenaires_demo(&base.store, dossier.path()).unwrap();
        let genres: Vec<&str> = ids.iter().map(|i| i.kind.as_str()).collect();
        assert_eq!(genres, ["mairie", "mairie", "ecole_privee", "editeur", "admin"]);

        // The file: an array of {client_id, client_secret, kind, scopes, perimetre}.
        let chemin = dossier.path().join("demo-credentials.json");
        let texte = std::fs::read_to_string(&chemin).unwrap();
        let fichier: Value = serde_json::from_str(&texte).unwrap();
        let fichier = fichier.as_array().unwrap();
        assert_eq!(fichier.len(), 5);
        for (f, i) in fichier.iter().zip(&ids) {
            assert_eq!(f["client_id"], i.client_id.as_str());
            assert_eq!(f["client_secret"], i.client_secret.as_str());
            assert_eq!(f["kind"], i.kind.as_str());
            assert!(f["scopes"].as_array().unwrap().iter().all(Value::is_string));
            for cle in ["communes", "uais", "mandats"] {
                assert!(f["perimetre"][cle].is_array(), "{f}");
            }
            // Each secret opens its client; only its hash is in the base.
            let c = client(base, &i.client_id);
            assert!(api::verifier(&i.client_secret, &c.secret_hash));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&chemin).unwrap().permissions().mode() & 0o777, 0o600);
        }

        // Mairies: the two communes with the most inscriptions, one each.
        let classement = onde_store::communes::par_inscriptions(&mut base.store.connexion().unwrap()).unwrap();
        assert!(classement[0].1 >= classement[1].1);
        assert_eq!(ids[0].perimetre.communes, [classement[0].0.clone()]);
        assert_eq!(ids[1].perimetre.communes, [classement[1].0.clone()]);
        let communes_mairies: HashSet<&String> = ids[0].perimetre.communes.iter().chain(&ids[1].perimetre.communes).collect();

        // The private school is a private school when the base has one.
        let ecoles = toutes_les_ecoles(base);
        let privee = ecoles.iter().find(|e| e.uai.as_str() == ids[2].perimetre.uais[0]).unwrap();
        if ecoles.iter().any(|e| e.secteur == onde_domain::Secteur::PriveSousContrat) {
            assert_eq!(privee.secteur, onde_domain::Secteur::PriveSousContrat);
        }

        // The editor: a commune and a school, both outside the mairies' perimeters.
        let mandats = &ids[3].perimetre.mandats;
        assert_eq!(mandats.len(), 2);
        assert!(!communes_mairies.contains(&mandats[0]), "{mandats:?}");
        let ecole_editeur = ecoles.iter().find(|e| e.uai.as_str() == mandats[1]).unwrap();
        assert!(!communes_mairies.contains(&ecole_editeur.commune.as_str().to_owned()));
        assert!(ids[4].scopes.contains(&"admin".to_owned()));

        // Idempotent: partners exist, nothing changes.
        assert!(partenaires::creer_partenaires_demo(&base.store, dossier.path()).unwrap().is_empty());
        assert_eq!(std::fs::read_to_string(&chemin).unwrap(), texte);
        assert_eq!(partenaires::lister_tout(&mut base.store.connexion().unwrap(), &Default::default()).unwrap().len(), 5);

        // The demo credentials work: the admin lists the partners, a mairie reads its commune.
        let etat = etat(base);
        executer(async {
            let app = service(etat.clone()).await;
            let comme = |i: &partenaires::IdentifiantsDemo| Identifiants {
                partenaire_id: i.partenaire_id,
                client_id: i.client_id.clone(),
                secret: i.client_secret.clone(),
            };
            let ja = jeton(&app, &comme(&ids[4])).await;
            let r = get(&app, &ja, "/v1/admin/partenaires").await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.corps["elements"].as_array().unwrap().len(), 5);
            let jm = jeton(&app, &comme(&ids[0])).await;
            let r = get(&app, &jm, "/v1/ecoles?limit=1000").await;
            let communes: HashSet<&str> = r.corps["elements"].as_array().unwrap().iter().map(|e| e["commune"].as_str().unwrap()).collect();
            assert_eq!(communes, HashSet::from([ids[0].perimetre.communes[0].as_str()]));
        });
    }
}
