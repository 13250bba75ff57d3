//! Replays of idempotent writes must not outlive the caller's rights: a narrowed perimeter
//! applies at the next request (issue 3), including one that repeats an `Idempotency-Key`,
//! and a request narrowed to one mandate (`Onde-Mandat`) sees only that mandate's rows, even
//! when it repeats a key first used under another mandate. On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::commun::*;
use actix_web::http::Method;
use onde_domain::{CodeInsee, StatutInscription, TypePartenaire};
use serde_json::json;

/// Inscriptions of a school in a given status, by id.
fn inscriptions_en(base: &onde_store::testing::BaseDeTest, uai: &str, statut: StatutInscription) -> Vec<String> {
    toutes_les_inscriptions(base)
        .into_iter()
        .filter(|i| i.inscription.uai.as_str() == uai && i.inscription.statut == statut)
        .map(|i| i.inscription.id.to_string())
        .collect()
}

deux_backends! {
    fn rejeu_apres_reduction_du_perimetre(base: eleves(300)) {
        let r = reperes(base);
        let (a, c) = (r[0].clone(), r[2].clone());
        let cible = inscriptions_en(base, &c.uai, StatutInscription::Inscrit).remove(0);
        let etat = etat(base);
        let id = partenaire(
            base,
            TypePartenaire::Mairie,
            &TypePartenaire::Mairie.scopes_possibles().to_string(),
            &[&a.commune, &c.commune],
            &[],
            &[],
        );
        executer(async {
            let app = actix_web::test::init_service(api::app(etat.clone())).await;
            let j = jeton(&app, &id).await;
            let uri = format!("/v1/inscriptions/{cible}/admission");
            let cle = [("Idempotency-Key", "rejeu-perimetre-1")];
            let premiere = requete(&app, Method::POST, &uri, &j, &cle, Some(&json!({}))).await;
            assert_eq!(premiere.statut, 200, "{}", premiere.texte);
            assert!(premiere.corps["eleve"]["nom"].is_string());

            // The admin narrows the perimeter to commune A: the inscription of C is gone...
            let mut conn = base.store.connexion().unwrap();
            let mut p = onde_store::partenaires::trouver(&mut conn, id.partenaire_id).unwrap().unwrap().partenaire;
            p.communes = [CodeInsee::parse(&a.commune).unwrap()].into();
            assert!(onde_store::partenaires::remplacer(&mut conn, &p, chrono::Utc::now().naive_utc()).unwrap());
            assert_probleme(&get(&app, &j, &format!("/v1/inscriptions/{cible}")).await, 404, "ressource_introuvable");
            // ... and a retry of the earlier write must not hand its pupil's data back.
            let rejeu = requete(&app, Method::POST, &uri, &j, &cle, Some(&json!({}))).await;
            assert_eq!(
                rejeu.statut, 404,
                "rejeu d'une écriture hors du périmètre actuel : {}",
                rejeu.texte
            );
        });
    }

    fn rejeu_sous_un_autre_mandat(base: eleves(300)) {
        let r = reperes(base);
        let (a, c) = (r[0].clone(), r[2].clone());
        let cible = inscriptions_en(base, &c.uai, StatutInscription::Inscrit).remove(0);
        let etat = etat(base);
        let editeur = partenaire(
            base,
            TypePartenaire::Editeur,
            &TypePartenaire::Editeur.scopes_possibles().to_string(),
            &[],
            &[],
            &[&a.commune, &c.commune],
        );
        executer(async {
            let app = actix_web::test::init_service(api::app(etat.clone())).await;
            let j = jeton(&app, &editeur).await;
            let uri = format!("/v1/inscriptions/{cible}/admission");
            let pour_c = [("Idempotency-Key", "rejeu-mandat-1"), ("Onde-Mandat", c.commune.as_str())];
            let premiere = requete(&app, Method::POST, &uri, &j, &pour_c, Some(&json!({}))).await;
            assert_eq!(premiere.statut, 200, "{}", premiere.texte);

            // Acting for mairie A, the editor does not see C's inscription...
            let pour_a = [("Idempotency-Key", "rejeu-mandat-1"), ("Onde-Mandat", a.commune.as_str())];
            let lecture = get_avec(&app, &j, &format!("/v1/inscriptions/{cible}"), &pour_a[1..]).await;
            assert_probleme(&lecture, 404, "ressource_introuvable");
            // ... not even by repeating the key it used for mairie C.
            // The mandate is part of the request's fingerprint: under another mandate the same
            // key is another request, refused as a reused key — with no pupil data.
            let rejeu = requete(&app, Method::POST, &uri, &j, &pour_a, Some(&json!({}))).await;
            assert_probleme(&rejeu, 422, "cle_idempotence_reutilisee");
            assert!(rejeu.corps.get("eleve").is_none(), "{}", rejeu.texte);
            assert!(!rejeu.texte.contains(cible.as_str()), "{}", rejeu.texte);
        });
    }
}
