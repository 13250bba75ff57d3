//! Idempotency-Key on the inscription writes, on SQLite and PostgreSQL: a retry with the same
//! key and body gets the first answer (status, body, Location, ETag) with
//! `Idempotent-Replayed: true` and has no second effect — also after a restart and when the
//! retries race; the same key with another request is a 422; keys belong to one partner.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::commun::*;
use crate::ecritures::*;
use actix_web::test;
use onde_domain::StatutInscription;
use serde_json::json;

async fn app_de(
    etat: api::EtatApp,
) -> impl actix_web::dev::Service<
    actix_http::Request,
    Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
    Error = actix_web::Error,
> {
    test::init_service(api::app(etat)).await
}

fn assert_rejouee(r: &Reponse, premiere: &Reponse) {
    assert_eq!(r.statut, premiere.statut, "{}", r.texte);
    assert_eq!(r.corps, premiere.corps);
    assert_eq!(r.entete("location"), premiere.entete("location"));
    assert_eq!(r.entete("etag"), premiere.entete("etag"));
    assert_eq!(r.entete("idempotent-replayed"), Some("true"));
    assert!(r.entete("content-type").unwrap().starts_with("application/json"));
}

deux_backends! {
    // A creation replayed: same answer, exactly one pupil, guardian and inscription.
    fn creation_rejouee(base: ecritures()) {
        let m = monde(base);
        executer(async {
            let app = app_de(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let corps = creation_nouvel_eleve(dossier(&nom_unique("Rejeu")), m.cp.uai.as_str());
            let cle = [("Idempotency-Key", "3f1c8a52-inscription-1")];
            let avant = compter(base);
            let premiere = poster(&app, &j, "/v1/inscriptions", &corps, &cle).await;
            assert_eq!(premiere.statut, 201, "{}", premiere.texte);
            assert!(premiere.entete("idempotent-replayed").is_none());
            let apres = compter(base);
            assert_eq!(
                apres,
                Comptes {
                    eleves: avant.eleves + 1,
                    responsables: avant.responsables + 1,
                    liens: avant.liens + 1,
                    inscriptions: avant.inscriptions + 1,
                    idempotence: avant.idempotence + 1,
                }
            );
            for _ in 0..3 {
                let r = poster(&app, &j, "/v1/inscriptions", &corps, &cle).await;
                assert_rejouee(&r, &premiere);
                assert_eq!(compter(base), apres, "aucun second effet");
            }
            // Without the key the same body is a new request, refused as a duplicate.
            let r = poster(&app, &j, "/v1/inscriptions", &corps, &[]).await;
            assert_probleme(&r, 409, "eleve_en_doublon");
            assert_eq!(r.corps["candidat"]["id"], premiere.corps["eleve"]["id"]);
        });
    }

    // Operations replayed: the first answer comes back even after the inscription moved on.
    fn operations_rejouees(base: ecritures()) {
        let m = monde(base);
        executer(async {
            let app = app_de(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let corps = creation_nouvel_eleve(dossier(&nom_unique("Operation")), m.cp.uai.as_str());
            let id = poster(&app, &j, "/v1/inscriptions", &corps, &[]).await.corps["id"].as_str().unwrap().to_owned();

            let cle = [("Idempotency-Key", "admission-1")];
            let admission = json!({"provisoire": true, "date": "2028-09-02"});
            let premiere = operer(&app, &j, &id, "admission", &admission, &cle).await;
            assert_eq!(premiere.statut, 200, "{}", premiere.texte);
            assert_eq!(premiere.entete("etag"), Some("\"v2\""));
            let r = operer(&app, &j, &id, "admission", &admission, &cle).await;
            assert_rejouee(&r, &premiere);
            assert_eq!(en_base(base, &id).1, 2, "pas de seconde version");

            let r = operer(&app, &j, &id, "changement_niveau", &json!({"niveau": "CE1"}), &[]).await;
            assert_eq!(r.entete("etag"), Some("\"v3\""));
            // A replay is not a new admission: no 409, no change.
            let r = operer(&app, &j, &id, "admission", &admission, &cle).await;
            assert_rejouee(&r, &premiere);
            assert_eq!(en_base(base, &id).1, 3);
            assert_eq!(en_base(base, &id).0.niveau.as_str(), "CE1");

            // A change of school replayed: one new inscription only.
            let cle = [("Idempotency-Key", "changement-1")];
            let changement = json!({"uai": m.cp_voisine.uai.as_str(), "date": "2028-10-01"});
            let premiere = operer(&app, &j, &id, "changement_ecole", &changement, &cle).await;
            assert_eq!(premiere.statut, 201, "{}", premiere.texte);
            let comptes = compter(base);
            let r = operer(&app, &j, &id, "changement_ecole", &changement, &cle).await;
            assert_rejouee(&r, &premiere);
            assert_eq!(compter(base), comptes);
            let eleve = premiere.corps["eleve"]["id"].as_str().unwrap();
            assert_eq!(inscriptions_de(base, eleve).len(), 2);
        });
    }

    // The same key with another body, path or operation: 422, nothing written, and the key
    // still replays its first answer.
    fn meme_cle_autre_requete(base: ecritures()) {
        let m = monde(base);
        executer(async {
            let app = app_de(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let corps = creation_nouvel_eleve(dossier(&nom_unique("Premier")), m.cp.uai.as_str());
            let cle = [("Idempotency-Key", "cle-partagee")];
            let premiere = poster(&app, &j, "/v1/inscriptions", &corps, &cle).await;
            assert_eq!(premiere.statut, 201, "{}", premiere.texte);
            let id = premiere.corps["id"].as_str().unwrap().to_owned();
            let avant = compter(base);
            let version = en_base(base, &id);

            let autre = creation_nouvel_eleve(dossier(&nom_unique("Second")), m.cp.uai.as_str());
            let mut autre_classe = corps.clone();
            muter(&mut autre_classe, "/classe", Some(json!("CP-B")));
            for r in [
                poster(&app, &j, "/v1/inscriptions", &autre, &cle).await,
                poster(&app, &j, "/v1/inscriptions", &autre_classe, &cle).await,
                operer(&app, &j, &id, "admissibilite", &json!({}), &cle).await,
                operer(&app, &j, &id, "radiation", &json!({"date": "2028-10-01", "motif": "demenagement"}), &cle).await,
            ] {
                assert_probleme(&r, 422, "cle_idempotence_reutilisee");
                assert!(r.entete("idempotent-replayed").is_none());
                assert_eq!(compter(base), avant, "rien n'est écrit");
                assert_eq!(en_base(base, &id), version);
            }
            let r = poster(&app, &j, "/v1/inscriptions", &corps, &cle).await;
            assert_rejouee(&r, &premiere);
        });
    }

    // The answer is in the database: a new process (new state, new pool) replays it.
    fn rejeu_apres_redemarrage(base: ecritures()) {
        let m = monde(base);
        let mairie = mairie_de_toutes_les_communes(base);
        let corps = creation_nouvel_eleve(dossier(&nom_unique("Redemarrage")), m.cp.uai.as_str());
        let admission = json!({"provisoire": false});
        let cle = [("Idempotency-Key", "avant-redemarrage")];
        let cle_op = [("Idempotency-Key", "admission-avant-redemarrage")];
        let (premiere, admise, j) = {
            let etat = etat_neuf(base, 4);
            let (premiere, admise, j) = actix_web::rt::System::new().block_on(async {
                let app = app_de(etat.clone()).await;
                let j = jeton(&app, &mairie).await;
                let premiere = poster(&app, &j, "/v1/inscriptions", &corps, &cle).await;
                assert_eq!(premiere.statut, 201, "{}", premiere.texte);
                let id = premiere.corps["id"].as_str().unwrap().to_owned();
                let admise = operer(&app, &j, &id, "admission", &admission, &cle_op).await;
                assert_eq!(admise.statut, 200, "{}", admise.texte);
                (premiere, admise, j)
            });
            etat.auditeur.vider();
            (premiere, admise, j)
        };
        let comptes = compter(base);
        let id = premiere.corps["id"].as_str().unwrap().to_owned();
        let etat = etat_neuf(base, 4);
        actix_web::rt::System::new().block_on(async {
            let app = app_de(etat).await;
            let r = poster(&app, &j, "/v1/inscriptions", &corps, &cle).await;
            assert_rejouee(&r, &premiere);
            let r = operer(&app, &j, &id, "admission", &admission, &cle_op).await;
            assert_rejouee(&r, &admise);
            assert_eq!(compter(base), comptes, "aucun second effet");
            assert_eq!(en_base(base, &id).1, 2);
        });
    }

    // Keys belong to a partner: another partner's identical key is another request.
    fn cles_propres_a_chaque_partenaire(base: ecritures()) {
        let m = monde(base);
        let a = mairie_de_toutes_les_communes(base);
        let b = mairie_de_toutes_les_communes(base);
        executer(async {
            let app = app_de(etat(base)).await;
            let ja = jeton(&app, &a).await;
            let jb = jeton(&app, &b).await;
            let cle = [("Idempotency-Key", "commande-42")];
            let x = creation_nouvel_eleve(dossier(&nom_unique("Alpha")), m.cp.uai.as_str());
            let y = creation_nouvel_eleve(dossier(&nom_unique("Beta")), m.cp.uai.as_str());
            let ra = poster(&app, &ja, "/v1/inscriptions", &x, &cle).await;
            assert_eq!(ra.statut, 201, "{}", ra.texte);
            // B's same key and body: not A's answer, B's own request (the pupil now exists).
            let r = poster(&app, &jb, "/v1/inscriptions", &x, &cle).await;
            assert_probleme(&r, 409, "eleve_en_doublon");
            assert!(r.entete("idempotent-replayed").is_none());
            // B's same key with another body: no 422, it is B's first use of the key.
            let rb = poster(&app, &jb, "/v1/inscriptions", &y, &cle).await;
            assert_eq!(rb.statut, 201, "{}", rb.texte);
            assert!(rb.entete("idempotent-replayed").is_none());
            assert_rejouee(&poster(&app, &ja, "/v1/inscriptions", &x, &cle).await, &ra);
            assert_rejouee(&poster(&app, &jb, "/v1/inscriptions", &y, &cle).await, &rb);
            assert_probleme(&poster(&app, &ja, "/v1/inscriptions", &y, &cle).await, 422, "cle_idempotence_reutilisee");
        });
    }

    // Retries racing each other (a client timing out and retrying while the first attempt is
    // still running): one effect, and every attempt gets the first answer.
    fn retries_simultanes_creation(base: ecritures()) {
        let m = monde(base);
        let mairie = mairie_de_toutes_les_communes(base);
        let eleve = eleve_direct(base, &dossier(&nom_unique("Presse")));
        let etat = etat_neuf(base, 16);
        let j = actix_web::rt::System::new().block_on(async { jeton(&app_de(etat.clone()).await, &mairie).await });
        let corps = creation_par_id(&eleve, m.cp.uai.as_str(), ANNEE, "CP");
        let envois = (0..8)
            .map(|_| Envoi::new("/v1/inscriptions", &j, corps.clone()).entete("Idempotency-Key", "essai-concurrent"))
            .collect();
        let reponses = en_parallele(&etat, envois);
        assert_eq!(par_statut(&reponses).get(&201), Some(&8), "{}", resume(&reponses));
        assert!(reponses.iter().all(|r| r.corps == reponses[0].corps), "{}", resume(&reponses));
        let neuves = reponses.iter().filter(|r| r.entete("idempotent-replayed").is_none()).count();
        assert_eq!(neuves, 1, "{}", resume(&reponses));
        let toutes = inscriptions_de(base, &eleve);
        assert_eq!(toutes.len(), 1);
    }

    fn retries_simultanes_operation(base: ecritures()) {
        let m = monde(base);
        let mairie = mairie_de_toutes_les_communes(base);
        let eleve = eleve_direct(base, &dossier(&nom_unique("Presse")));
        let id = inscription_directe(base, &eleve, m.cp.uai.as_str(), ANNEE, onde_domain::Niveau::Cp, StatutInscription::Inscrit);
        let etat = etat_neuf(base, 16);
        let j = actix_web::rt::System::new().block_on(async { jeton(&app_de(etat.clone()).await, &mairie).await });
        let envois = (0..8)
            .map(|_| {
                Envoi::new(format!("/v1/inscriptions/{id}/admission"), &j, json!({"provisoire": true}))
                    .entete("Idempotency-Key", "admission-concurrente")
            })
            .collect();
        let reponses = en_parallele(&etat, envois);
        assert_eq!(par_statut(&reponses).get(&200), Some(&8), "{}", resume(&reponses));
        assert!(reponses.iter().all(|r| r.corps == reponses[0].corps && r.entete("etag") == Some("\"v2\"")), "{}", resume(&reponses));
        assert_eq!(en_base(base, &id).1, 2);
    }
}
