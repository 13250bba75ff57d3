//! Signing keys encrypted at rest, and bounded token requests.

use super::*;

deux_backends! {
    fn cles_de_signature_chiffrees_au_repos(base) {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        use crate::commun::api::{Chiffrement, CleChiffrement};
        use crate::commun::api::{ConfigJetons, Trousseau};
        let config = |c: &Chiffrement| ConfigJetons::default().avec_chiffrement(c.clone());
        let mut conn = base.store.connexion().unwrap();

        // A base from an earlier version: its signing key stored in clear (base64 PKCS#8).
        let mut graine = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut graine);
        let ancienne = SigningKey::from_bytes(&graine);
        let en_clair = STANDARD.encode(ancienne.to_pkcs8_der().unwrap().as_bytes());
        let kid = "ancienne-en-clair".to_owned();
        onde_store::cles::creer_si_aucune(&mut conn, &onde_store::cles::CleSignature {
            kid: kid.clone(),
            algorithme: "EdDSA".into(),
            cle_privee: en_clair.clone(),
            cle_publique: URL_SAFE_NO_PAD.encode(ancienne.verifying_key().to_bytes()),
            cree_le: chrono::Utc::now().naive_utc(),
            retiree_le: None,
        })
        .unwrap();
        assert!(utilisable_en_l_etat(&stockee(base, &kid)), "témoin : la clé en clair signe telle quelle");

        // First start with a key-encryption key: the clear key is sealed, and still signs.
        let (k1, _) = CleChiffrement::generer();
        let c1 = Chiffrement::new(k1.clone(), vec![]);
        let t1 = Trousseau::ouvrir(&mut conn, config(&c1)).unwrap();
        let ligne = stockee(base, &kid);
        assert!(ligne.starts_with(&format!("kek1:{}:", k1.id())), "{ligne}");
        assert!(!ligne.contains(&en_clair) && !utilisable_en_l_etat(&ligne), "plus rien en clair dans la base");
        let avant_rotation = t1.emettre("p", "client", "eleves:read").unwrap();
        assert_eq!(t1.verifier(&avant_rotation).unwrap().client_id, "client");

        // The rows alone (a replica, a backup) with any other key-encryption key: no signing,
        // the start fails closed and says which key is missing.
        let (autre, _) = CleChiffrement::generer();
        let e = Trousseau::ouvrir(&mut conn, config(&Chiffrement::new(autre, vec![])))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains(&kid) && e.contains(k1.id()) && e.contains("n'est pas configurée"), "{e}");

        // A new key signs from now on, sealed too.
        let nouveau_kid = api::tourner_cles(&mut conn, &c1).unwrap().kid;
        assert!(stockee(base, &nouveau_kid).starts_with(&format!("kek1:{}:", k1.id())));
        assert!(!utilisable_en_l_etat(&stockee(base, &nouveau_kid)));
        t1.recharger(&mut conn).unwrap();
        let avec_la_nouvelle = t1.emettre("p", "client", "eleves:read").unwrap();

        // Rotation of the key-encryption key: k2 seals, k1 still opens until `rechiffrer`.
        let (k2, _) = CleChiffrement::generer();
        let c2 = Chiffrement::new(k2.clone(), vec![k1.clone()]);
        Trousseau::ouvrir(&mut conn, config(&c2)).unwrap();
        let bilan = api::rechiffrer(&mut conn, &c2).unwrap();
        assert_eq!((bilan.rechiffrees, bilan.a_jour), (2, 0));
        assert_eq!(api::rechiffrer(&mut conn, &c2).unwrap().rechiffrees, 0, "idempotent");
        for c in onde_store::cles::toutes(&mut conn).unwrap() {
            assert!(c.cle_privee.starts_with(&format!("kek1:{}:", k2.id())), "{}", c.kid);
        }
        // k1 dropped from the configuration: tokens issued before still verify, new ones are
        // signed by the current key.
        let c2_seule = Chiffrement::new(k2.clone(), vec![]);
        let t2 = Trousseau::ouvrir(&mut conn, config(&c2_seule)).unwrap();
        assert!(t2.verifier(&avant_rotation).is_ok());
        assert!(t2.verifier(&avec_la_nouvelle).is_ok());
        let apres = t2.emettre("p", "client", "eleves:read").unwrap();
        assert_eq!(jsonwebtoken::decode_header(&apres).unwrap().kid.as_deref(), Some(nouveau_kid.as_str()));
        assert!(t2.verifier(&apres).is_ok() && t1.verifier(&apres).is_ok());
        // The old key-encryption key alone opens nothing any more.
        let e = Trousseau::ouvrir(&mut conn, config(&c1)).err().unwrap().to_string();
        assert!(e.contains(k2.id()), "{e}");

        // A sealed key copied onto another key's row does not open (its kid is bound in).
        let scellee = stockee(base, &kid);
        assert!(onde_store::cles::remplacer_cle_privee(&mut conn, &nouveau_kid, &stockee(base, &nouveau_kid), &scellee).unwrap());
        let e = Trousseau::ouvrir(&mut conn, config(&c2_seule)).err().unwrap().to_string();
        assert!(e.contains("altérée"), "{e}");
    }
}

/// Every size a token request carries is bounded: an oversized form, an overlong field, an
/// overlong secret in HTTP Basic get 400 `invalid_request` (the form is not read past 4 KiB).
#[test]
fn demande_de_jeton_bornee() {
    let base = BaseDeTest::sqlite();
    let id = mairie(&base, &[]);
    let etat = etat(&base);
    executer(async {
        let app = service(etat.clone()).await;
        let long = "x".repeat(10_000);
        let id_long = "x".repeat(101);
        let secret_long = "s".repeat(201);
        for form in [
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", id.client_id.as_str()),
                ("client_secret", long.as_str()),
            ],
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", id_long.as_str()),
                ("client_secret", "x"),
            ],
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", id.client_id.as_str()),
                ("client_secret", secret_long.as_str()),
            ],
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", id.client_id.as_str()),
                ("client_secret", id.secret.as_str()),
                ("scope", long.as_str()),
            ],
        ] {
            let r = demande_jeton(&app, &form).await;
            assert_eq!(r.statut, 400, "{}", r.texte);
            assert_eq!(r.corps["error"], "invalid_request", "{}", r.texte);
        }
        let basic = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{}:{secret_long}", id.client_id),
        );
        let req = actix_web::test::TestRequest::post()
            .uri("/oauth/token")
            .insert_header(("Authorization", format!("Basic {basic}")))
            .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
            .set_payload("grant_type=client_credentials")
            .to_request();
        let r = appeler(&app, req).await;
        assert_eq!(
            (r.statut.as_u16(), r.corps["error"].as_str()),
            (400, Some("invalid_request")),
            "{}",
            r.texte
        );
        // Within the bounds, the same client still gets its token.
        let r = demande_jeton(
            &app,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", id.client_id.as_str()),
                ("client_secret", id.secret.as_str()),
            ],
        )
        .await;
        assert_eq!(r.statut, 200, "{}", r.texte);
    });
}
