//! The audit trail of personal-data access, end to end on SQLite and PostgreSQL: exactly one
//! record per access that exposed pupil data (partner, client, operation, scope, pupils,
//! count, request id, "on behalf of"), and none for schools, empty lists, refusals or 404s.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::commun::*;
use onde_domain::TypePartenaire;
use onde_store::audit::{Entree, FiltreAudit};
use serde_json::Value;

/// Pupil ids of a list page, in order.
fn eleves_de_la_page(r: &Reponse) -> Vec<String> {
    r.corps["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["eleve"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// What one audit record must say.
struct Attendu {
    id_requete: String,
    operation: &'static str,
    scope: &'static str,
    eleves: Vec<String>,
    pour_le_compte_de: Option<String>,
}

fn verifier(entrees: &[Entree], attendus: &[Attendu], id: &Identifiants, debut: chrono::NaiveDateTime) {
    assert_eq!(
        entrees.len(),
        attendus.len(),
        "une entrée par accès : {:#?}",
        entrees
            .iter()
            .map(|e| (&e.operation, &e.id_requete))
            .collect::<Vec<_>>()
    );
    let fin = chrono::Utc::now().naive_utc();
    for (e, a) in entrees.iter().zip(attendus) {
        assert_eq!(e.id_requete, a.id_requete);
        assert_eq!(e.partenaire_id, id.partenaire_id.to_string(), "{}", a.id_requete);
        assert_eq!(e.client_id, id.client_id, "{}", a.id_requete);
        assert_eq!(e.operation, a.operation, "{}", a.id_requete);
        assert_eq!(e.scope, a.scope, "{}", a.id_requete);
        assert_eq!(
            ensemble(e.eleves.split(' ')),
            ensemble(a.eleves.iter()),
            "{}",
            a.id_requete
        );
        // A page may hold several inscriptions of one pupil: whether the record lists such a
        // pupil once or per inscription is the writer's choice, but count and list agree.
        assert_eq!(e.nombre as usize, e.eleves.split(' ').count(), "{}", a.id_requete);
        assert!((ensemble(a.eleves.iter()).len()..=a.eleves.len()).contains(&(e.nombre as usize)));
        assert_eq!(e.pour_le_compte_de, a.pour_le_compte_de, "{}", a.id_requete);
        assert!(
            e.horodatage >= debut - chrono::Duration::seconds(1) && e.horodatage <= fin,
            "{e:?}"
        );
    }
}

fn ensemble<'a>(ids: impl Iterator<Item = impl AsRef<str> + 'a>) -> std::collections::BTreeSet<String> {
    ids.map(|i| i.as_ref().to_owned()).collect()
}

fn requete_id(r: &Reponse) -> String {
    r.entete("x-request-id").unwrap().to_owned()
}

deux_backends! {
    fn une_entree_par_acces_aux_donnees_personnelles(base: eleves(200)) {
        let r = reperes(base);
        let (a, b, c) = (r[0].clone(), r[1].clone(), r[2].clone());
        let etat = etat(base);
        let mairie = partenaire(
            base,
            TypePartenaire::Mairie,
            &TypePartenaire::Mairie.scopes_possibles().to_string(),
            &[&a.commune],
            &[],
            &[],
        );
        let editeur = partenaire(
            base,
            TypePartenaire::Editeur,
            &TypePartenaire::Editeur.scopes_possibles().to_string(),
            &[],
            &[],
            &[&a.commune, &b.uai],
        );
        let debut = chrono::Utc::now().naive_utc();
        executer(async {
            let app = actix_web::test::init_service(api::app(etat.clone())).await;
            let j = jeton(&app, &mairie).await;
            let mut attendus = Vec::new();

            // A list page, with the caller's request id; then the next page.
            let page1 = get_avec(&app, &j, "/v1/inscriptions?limit=20", &[("X-Request-Id", "audit-page-1")]).await;
            assert_eq!(page1.statut, 200);
            // The caller's id is echoed for correlation; the trail records the server's own id.
            assert_eq!(page1.entete("x-client-request-id"), Some("audit-page-1"));
            assert_ne!(requete_id(&page1), "audit-page-1");
            assert_eq!(eleves_de_la_page(&page1).len(), 20);
            attendus.push(Attendu {
                id_requete: requete_id(&page1),
                operation: "lister_inscriptions",
                scope: "inscriptions:read",
                eleves: eleves_de_la_page(&page1),
                pour_le_compte_de: None,
            });
            let page2 = get(&app, &j, page1.corps["lien_suivant"].as_str().unwrap()).await;
            assert_eq!(page2.statut, 200);
            assert!(!eleves_de_la_page(&page2).is_empty());
            attendus.push(Attendu {
                id_requete: requete_id(&page2),
                operation: "lister_inscriptions",
                scope: "inscriptions:read",
                eleves: eleves_de_la_page(&page2),
                pour_le_compte_de: None,
            });
            // One inscription, one pupil by INE (its own scope).
            let r = get(&app, &j, &format!("/v1/inscriptions/{}", a.inscription)).await;
            assert_eq!(r.statut, 200);
            attendus.push(Attendu {
                id_requete: requete_id(&r),
                operation: "consulter_inscription",
                scope: "inscriptions:read",
                eleves: vec![a.eleve_id.clone()],
                pour_le_compte_de: None,
            });
            let r = get(&app, &j, &format!("/v1/eleves/{}", a.ine)).await;
            assert_eq!(r.statut, 200);
            assert_eq!(r.corps["id"], Value::from(a.eleve_id.as_str()));
            attendus.push(Attendu {
                id_requete: requete_id(&r),
                operation: "consulter_eleve",
                scope: "eleves:read",
                eleves: vec![a.eleve_id.clone()],
                pour_le_compte_de: None,
            });

            // Nothing personal, nothing returned or nothing allowed: no record.
            let mut sans_trace = Vec::new();
            for (jeton, uri, statut) in [
                (j.as_str(), "/v1/ecoles".to_owned(), 200),
                (j.as_str(), format!("/v1/ecoles/{}", a.uai), 200),
                (j.as_str(), format!("/v1/inscriptions?commune={}", c.commune), 200),
                (j.as_str(), format!("/v1/inscriptions?uai={}", c.uai), 200),
                (j.as_str(), format!("/v1/eleves/{}", c.ine), 404),
                (j.as_str(), format!("/v1/inscriptions/{}", c.inscription), 404),
                ("", format!("/v1/eleves/{}", a.ine), 401),
                ("jeton-invalide", "/v1/inscriptions".to_owned(), 401),
            ] {
                let r = get(&app, jeton, &uri).await;
                assert_eq!(r.statut.as_u16(), statut, "{uri} : {}", r.texte);
                if statut == 200 && uri.starts_with("/v1/inscriptions") {
                    assert!(eleves_de_la_page(&r).is_empty(), "{uri}");
                }
                sans_trace.push(requete_id(&r));
            }
            let jeton_ecoles = demander_jeton(&app, &mairie, Some("ecoles:read")).await.map_err(|r| r.texte).unwrap();
            let r = get(&app, &jeton_ecoles, "/v1/inscriptions").await;
            assert_eq!(r.statut, 403);
            sans_trace.push(requete_id(&r));

            // An editor: "on behalf of" the mandate it narrows to, nothing when it does not.
            let je = jeton(&app, &editeur).await;
            let mut attendus_editeur = Vec::new();
            let r = get_avec(&app, &je, &format!("/v1/inscriptions/{}", a.inscription), &[("Onde-Mandat", &a.commune)]).await;
            assert_eq!(r.statut, 200);
            attendus_editeur.push(Attendu {
                id_requete: requete_id(&r),
                operation: "consulter_inscription",
                scope: "inscriptions:read",
                eleves: vec![a.eleve_id.clone()],
                pour_le_compte_de: Some(a.commune.clone()),
            });
            let r = get_avec(&app, &je, &format!("/v1/eleves/{}", b.ine), &[("Onde-Mandat", &b.uai)]).await;
            assert_eq!(r.statut, 200);
            attendus_editeur.push(Attendu {
                id_requete: requete_id(&r),
                operation: "consulter_eleve",
                scope: "eleves:read",
                eleves: vec![b.eleve_id.clone()],
                pour_le_compte_de: Some(b.uai.clone()),
            });
            let r = get_avec(&app, &je, "/v1/inscriptions?limit=15", &[("Onde-Mandat", &b.uai)]).await;
            assert_eq!(r.statut, 200);
            attendus_editeur.push(Attendu {
                id_requete: requete_id(&r),
                operation: "lister_inscriptions",
                scope: "inscriptions:read",
                eleves: eleves_de_la_page(&r),
                pour_le_compte_de: Some(b.uai.clone()),
            });
            let r = get(&app, &je, "/v1/inscriptions?limit=15").await;
            assert_eq!(r.statut, 200);
            attendus_editeur.push(Attendu {
                id_requete: requete_id(&r),
                operation: "lister_inscriptions",
                scope: "inscriptions:read",
                eleves: eleves_de_la_page(&r),
                pour_le_compte_de: None,
            });
            let r = get_avec(&app, &je, &format!("/v1/eleves/{}", a.ine), &[("Onde-Mandat", &b.uai)]).await;
            assert_eq!(r.statut, 404);
            sans_trace.push(requete_id(&r));
            let r = get_avec(&app, &je, "/v1/inscriptions", &[("Onde-Mandat", &c.commune)]).await;
            assert_eq!(r.statut, 403);
            sans_trace.push(requete_id(&r));

            // The trail: per partner, in order, exactly the accesses above.
            let piste = piste_audit(&etat);
            let de = |id: &Identifiants| -> Vec<Entree> {
                piste.iter().filter(|e| e.partenaire_id == id.partenaire_id.to_string()).cloned().collect()
            };
            verifier(&de(&mairie), &attendus, &mairie, debut);
            verifier(&de(&editeur), &attendus_editeur, &editeur, debut);
            assert_eq!(piste.len(), attendus.len() + attendus_editeur.len(), "{piste:#?}");
            assert!(piste.iter().all(|e| !sans_trace.contains(&e.id_requete)));

            // The admin query by partner and by pupil finds them.
            let mut conn = base.store.connexion().unwrap();
            let par_partenaire = onde_store::audit::rechercher(&mut conn, &FiltreAudit {
                partenaire_id: Some(mairie.partenaire_id.to_string()),
                limite: 100,
                ..Default::default()
            }).unwrap();
            assert_eq!(par_partenaire.len(), attendus.len());
            let par_eleve = onde_store::audit::rechercher(&mut conn, &FiltreAudit {
                eleve_id: Some(a.eleve_id.clone()),
                limite: 100,
                ..Default::default()
            }).unwrap();
            let attendus_eleve = attendus.iter().chain(&attendus_editeur).filter(|x| x.eleves.contains(&a.eleve_id)).count();
            assert_eq!(par_eleve.len(), attendus_eleve);
            assert!(attendus_eleve >= 3);
        });
    }
}
