//! Partner administration, on SQLite and PostgreSQL: the service shared by the admin API and
//! the CLI (create, show, change, rotate, revoke; secrets shown once and stored hashed; invalid
//! definitions refused with their code), the demo partners, the admin API end to end with real
//! tokens (scope `admin` enforced, changes effective on the partner's next request, audit
//! query, key rotation), and the CLI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod commun;

use std::collections::HashSet;

use actix_web::http::Method;
use actix_web::test;
use chrono::{Duration, NaiveDateTime};
use commun::*;
use onde_domain::TypePartenaire;
use onde_service::partenaires::{
    self, CibleDemande, DefinitionPartenaire, DemandeRotation, MandatDemande, NouveauPartenaire,
};
use onde_service::ServiceError;
use onde_store::testing::BaseDeTest;
use serde_json::{json, Value};

fn t(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

/// Whole seconds: PostgreSQL keeps microseconds, SQLite everything; comparisons stay exact.
fn t0() -> NaiveDateTime {
    t("2026-03-01 10:00:00")
}

fn mairie(nom: &str, communes: &[&str]) -> NouveauPartenaire {
    NouveauPartenaire {
        nom: nom.into(),
        type_partenaire: "mairie".into(),
        scopes: vec!["ecoles:read".into(), "inscriptions:read".into()],
        communes: communes.iter().map(|c| (*c).to_owned()).collect(),
        uais: Vec::new(),
        mandats: Vec::new(),
        actif: true,
    }
}

/// The (pointer, code) of each violation of a refused definition.
fn violations<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> Vec<(String, String)> {
    match r {
        Err(ServiceError::NonConforme(v)) | Err(ServiceError::CorpsIllisible(v)) => {
            v.into_iter().map(|v| (v.pointer.unwrap_or_default(), v.code)).collect()
        }
        autre => panic!("définition refusée attendue : {autre:?}"),
    }
}

fn code_conflit<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> &'static str {
    match r {
        Err(ServiceError::Conflit { code, .. }) => code,
        autre => panic!("409 attendu : {autre:?}"),
    }
}

fn introuvable<T: std::fmt::Debug>(r: Result<T, ServiceError>) {
    assert!(
        matches!(r, Err(ServiceError::Introuvable { .. })),
        "404 attendu : {r:?}"
    );
}

fn client(base: &BaseDeTest, client_id: &str) -> onde_store::partenaires::Client {
    onde_store::partenaires::client(&mut base.store.connexion().unwrap(), client_id)
        .unwrap()
        .unwrap()
}

async fn app(
    etat: &onde_api::EtatApp,
) -> impl actix_web::dev::Service<
    actix_http::Request,
    Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
    Error = actix_web::Error,
> {
    test::init_service(onde_api::app(etat.clone())).await
}

/// A body sent as-is with the given content type (`None`: no Content-Type header).
fn brute(methode: Method, uri: &str, jeton: &str, type_contenu: Option<&str>, corps: &str) -> actix_http::Request {
    let mut req = test::TestRequest::default()
        .method(methode)
        .uri(uri)
        .insert_header(("Authorization", format!("Bearer {jeton}")))
        .set_payload(corps.to_owned());
    if let Some(tc) = type_contenu {
        req = req.insert_header(("Content-Type", tc));
    }
    req.to_request()
}

/// The `kid` of a JWT's header (base64url, decoded by hand: no base64 crate here).
fn kid(jeton: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let entete = jeton.split('.').next().unwrap();
    let mut bits = 0u32;
    let mut n = 0;
    let mut octets = Vec::new();
    for c in entete.bytes() {
        bits = (bits << 6) | ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            octets.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    let v: Value = serde_json::from_slice(&octets).unwrap();
    v["kid"].as_str().unwrap().to_owned()
}

onde_store::tests_deux_backends! {
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
        assert!(onde_service::secrets::verifier(&secret, &c.secret_hash));
        assert!(!onde_service::secrets::verifier("autre", &c.secret_hash));
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
        assert!(onde_service::secrets::verifier(&s2, &c.secret_hash));
        assert!(onde_service::secrets::verifier(&s1, c.ancien_secret_hash.as_deref().unwrap()));
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

    fn partenaires_de_demo(base) {
        seeder_communes(base, 400, 4);
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
            assert!(onde_service::secrets::verifier(&i.client_secret, &c.secret_hash));
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
            let app = app(&etat).await;
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

    fn api_admin_de_bout_en_bout(base) {
        seeder(base, 200);
        let codes = onde_store::communes::codes(&mut base.store.connexion().unwrap()).unwrap();
        let etat = etat(base);
        executer(async {
            let app = app(&etat).await;
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

    fn api_admin_reservee_au_scope_admin(base) {
        seeder(base, 50);
        let etat = etat(base);
        executer(async {
            let app = app(&etat).await;
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

    fn api_audit_et_cles(base) {
        seeder(base, 200);
        let reperes = reperes(base);
        let etat = etat(base);
        executer(async {
            let app = app(&etat).await;
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
        assert!(onde_service::secrets::verifier(&secret, &client(base, &cid).secret_hash));

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
