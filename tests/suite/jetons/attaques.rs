//! Forged tokens, a revoked client, refused token requests.

use super::*;

deux_backends! {
    fn jetons_forges_refuses(base: eleves(120)) {
        let r = reperes(base);
        let (a, c) = (r[0].clone(), r[2].clone());
        let etat = etat(base);
        let (kid, cle) = cle_du_gateway(base);
        let id = mairie(base, &[&a.commune]);
        let autre = mairie(base, &[&c.commune]);
        let scopes = TypePartenaire::Mairie.scopes_possibles().to_string();
        let entete = json!({"alg": "EdDSA", "typ": "JWT", "kid": kid});
        let bonnes = revendications(&id, &scopes);
        let uri = format!("/v1/inscriptions/{}", a.inscription);
        executer(async {
            let app = service(etat.clone()).await;

            // Control: the forging is right, the gateway accepts a well-formed token.
            let temoin = signer(&entete, &bonnes, &cle);
            let ok = get(&app, &temoin, &uri).await;
            assert_eq!(ok.statut, 200, "{}", ok.texte);

            let t = maintenant();
            let cle_inconnue = SigningKey::from_bytes(&[7u8; 32]);
            let publique = cle.verifying_key().to_bytes();
            let hs256 = |secret: &[u8]| {
                let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
                h.kid = Some(kid.clone());
                jsonwebtoken::encode(&h, &bonnes, &jsonwebtoken::EncodingKey::from_secret(secret)).unwrap()
            };
            let reel = jeton(&app, &id).await;
            let reel_ecoles = demander_jeton(&app, &id, Some("ecoles:read")).await.map_err(|r| r.texte).unwrap();
            let jwk_x = etat.trousseau.jwks().keys.into_iter().find(|k| k.kid == kid).unwrap().x;
            let attaques: Vec<(&str, String)> = vec![
                (
                    "alg none",
                    format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT", "kid": kid})), b64(&bonnes)),
                ),
                (
                    "alg none, signature d'origine",
                    format!(
                        "{}.{}",
                        b64(&json!({"alg": "none", "typ": "JWT", "kid": kid})),
                        temoin.split_once('.').unwrap().1
                    ),
                ),
                ("HS256 signé avec la clé publique (octets)", hs256(&publique)),
                ("HS256 signé avec la clé publique (JWK x)", hs256(jwk_x.as_bytes())),
                (
                    "expiré",
                    signer(&entete, &avec(avec(avec(bonnes.clone(), "exp", json!(t - 60)), "iat", json!(t - 660)), "nbf", json!(t - 660)), &cle),
                ),
                ("nbf dans le futur", signer(&entete, &avec(bonnes.clone(), "nbf", json!(t + 120)), &cle)),
                ("mauvaise audience", signer(&entete, &avec(bonnes.clone(), "aud", json!("autre-api")), &cle)),
                ("mauvais émetteur", signer(&entete, &avec(bonnes.clone(), "iss", json!("https://attaquant.example")), &cle)),
                ("sans exp", signer(&entete, &sans(bonnes.clone(), "exp"), &cle)),
                ("sans aud", signer(&entete, &sans(bonnes.clone(), "aud"), &cle)),
                (
                    "kid inconnu",
                    signer(&json!({"alg": "EdDSA", "typ": "JWT", "kid": "kid-inconnu"}), &bonnes, &cle_inconnue),
                ),
                ("sans kid", signer(&json!({"alg": "EdDSA", "typ": "JWT"}), &bonnes, &cle)),
                ("autre clé sous le kid du gateway", signer(&entete, &bonnes, &cle_inconnue)),
                (
                    "charge altérée (sub d'un autre partenaire)",
                    remplacer_charge(&reel, &avec(charge_de(&reel), "sub", json!(autre.partenaire_id.to_string()))),
                ),
                (
                    "charge altérée (client d'un autre partenaire)",
                    remplacer_charge(&reel, &avec(charge_de(&reel), "client_id", json!(autre.client_id))),
                ),
                (
                    "charge altérée (exp prolongé)",
                    remplacer_charge(&reel, &avec(charge_de(&reel), "exp", json!(t + 86_400))),
                ),
                (
                    "scope ajouté sans re-signer",
                    remplacer_charge(&reel_ecoles, &avec(charge_de(&reel_ecoles), "scope", json!("ecoles:read inscriptions:read"))),
                ),
                ("signature tronquée", reel[..reel.len() - 4].to_owned()),
                ("pas un JWT", "pas-un-jwt".to_owned()),
            ];
            let mut refusees = Vec::new();
            for (cas, jeton) in &attaques {
                let r = get(&app, jeton, &uri).await;
                assert_jeton_refuse(&r, cas);
                refusees.push(r.entete("x-request-id").unwrap().to_owned());
            }
            // The token whose scope was widened is genuine with its own scope only.
            assert_eq!(get(&app, &reel_ecoles, "/v1/ecoles").await.statut, 200);
            assert_probleme(&get(&app, &reel_ecoles, &uri).await, 403, "insufficient_scope");
            // Another scheme than Bearer, and the access token sent as Basic credentials.
            let req = actix_web::test::TestRequest::get()
                .uri(&uri)
                .insert_header(("Authorization", format!("Basic {}", STANDARD.encode(format!("{}:{}", id.client_id, id.secret)))))
                .to_request();
            assert_jeton_refuse_ou_absent(&appeler(&app, req).await);

            // No refused request left a trace in the audit trail; the control did.
            let piste = piste_audit(&etat);
            assert!(piste.iter().all(|e| !refusees.contains(&e.id_requete)), "{piste:?}");
            assert_eq!(piste.len(), 1, "{piste:?}");
            assert_eq!(piste[0].id_requete, ok.entete("x-request-id").unwrap());
        });
    }

    fn client_revoque(base: eleves(60)) {
        let a = reperes(base)[0].clone();
        let etat = etat(base);
        let id = mairie(base, &[&a.commune]);
        executer(async {
            let app = service(etat.clone()).await;
            let j = jeton(&app, &id).await;
            let uri = format!("/v1/inscriptions/{}", a.inscription);
            assert_eq!(get(&app, &j, &uri).await.statut, 200);
            let maintenant = chrono::Utc::now().naive_utc();
            assert!(onde_store::partenaires::revoquer(&mut base.store.connexion().unwrap(), id.partenaire_id, maintenant).unwrap());
            // The still-valid token stops working at the next request, on every operation.
            assert_jeton_refuse(&get(&app, &j, &uri).await, "jeton d'un client révoqué");
            assert_jeton_refuse(&get(&app, &j, "/v1/ecoles").await, "jeton d'un client révoqué");
            // And no new token is issued.
            let r = demander_jeton(&app, &id, None).await.unwrap_err();
            assert_eq!(r.statut, 401, "{}", r.texte);
            assert_eq!(r.corps["error"], "invalid_client");
        });
    }

    fn demandes_de_jeton_refusees(base) {
        let etat = etat(base);
        // At the production cost: its verification time is compared with the decoy's below.
        let id = partenaire_au_cout_reel(
            base,
            TypePartenaire::Mairie,
            &TypePartenaire::Mairie.scopes_possibles().to_string(),
            &["15158"],
            &[],
            &[],
        );
        let admin = partenaire(base, TypePartenaire::Admin, "ecoles:read admin", &[], &[], &[]);
        executer(async {
            let app = service(etat.clone()).await;
            // Granted: what is asked, when held.
            let r = demande_jeton(&app, &[
                ("grant_type", "client_credentials"), ("client_id", &id.client_id),
                ("client_secret", &id.secret), ("scope", "ecoles:read"),
            ]).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.corps["token_type"], "Bearer");
            assert_eq!(r.corps["scope"], "ecoles:read");
            assert_eq!(r.corps["expires_in"], 600);
            assert_eq!(charge_de(r.corps["access_token"].as_str().unwrap())["scope"], "ecoles:read");

            // Scopes the partner does not hold: refused, not silently reduced.
            for (qui, demande) in [
                (&id, "eleves:write"),
                (&id, "admin"),
                (&id, "ecoles:read admin"),
                (&id, "inscriptions:read eleves:write"),
                (&id, "toto"),
                (&admin, "eleves:read"),
                (&admin, "inscriptions:read"),
            ] {
                let r = demander_jeton(&app, qui, Some(demande)).await.unwrap_err();
                assert_eq!(r.statut, 400, "{demande} : {}", r.texte);
                assert_eq!(r.corps["error"], "invalid_scope", "{demande}");
                assert!(r.corps.get("access_token").is_none());
            }

            // Wrong secret and unknown client: the same answer...
            let faux = demande_jeton(&app, &[
                ("grant_type", "client_credentials"), ("client_id", &id.client_id), ("client_secret", "mauvais-secret"),
            ]).await;
            let inconnu = demande_jeton(&app, &[
                ("grant_type", "client_credentials"), ("client_id", "onde_inconnuXXXXXXXXX"), ("client_secret", "mauvais-secret"),
            ]).await;
            for r in [&faux, &inconnu] {
                assert_eq!(r.statut, 401, "{}", r.texte);
                assert_eq!(r.corps["error"], "invalid_client");
                assert!(r.entete("www-authenticate").is_some());
            }
            assert_eq!(faux.corps, inconnu.corps);
            assert_eq!(faux.entete("www-authenticate"), inconnu.entete("www-authenticate"));
            // ... also through HTTP Basic.
            let basic = |client: &str| {
                actix_web::test::TestRequest::post()
                    .uri("/oauth/token")
                    .insert_header(("Authorization", format!("Basic {}", STANDARD.encode(format!("{client}:mauvais")))))
                    .set_form([("grant_type", "client_credentials")])
                    .to_request()
            };
            let faux_basic = appeler(&app, basic(&id.client_id)).await;
            let inconnu_basic = appeler(&app, basic("onde_inconnuXXXXXXXXX")).await;
            assert_eq!(faux_basic.statut, 401);
            assert_eq!(faux_basic.corps, inconnu_basic.corps);
            assert_eq!(faux_basic.entete("www-authenticate"), inconnu_basic.entete("www-authenticate"));

            // ... in comparable time: the gateway spends one argon2 verification on an unknown
            // client too. Interleaved, so that load on the machine hits both series alike.
            let mut durees_faux = Vec::new();
            let mut durees_inconnu = Vec::new();
            for _ in 0..5 {
                for (client, durees) in [(&id.client_id, &mut durees_faux), (&"onde_inconnuXXXXXXXXX".to_owned(), &mut durees_inconnu)] {
                    let debut = Instant::now();
                    let r = demande_jeton(&app, &[
                        ("grant_type", "client_credentials"), ("client_id", client), ("client_secret", "mauvais-secret"),
                    ]).await;
                    durees.push(debut.elapsed());
                    assert_eq!(r.statut, 401);
                }
            }
            let mediane = |mut d: Vec<Duration>| { d.sort(); d[d.len() / 2] };
            let (f, i) = (mediane(durees_faux), mediane(durees_inconnu));
            assert!(
                f < i * 3 && i < f * 3,
                "secret faux : {f:?}, client inconnu : {i:?} — le temps de réponse révèle quels clients existent"
            );
        });
    }
}
