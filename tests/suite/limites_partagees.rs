//! Limits shared by every node through Redis (`[limites.redis]`): two nodes (two apps over one
//! base and one Redis prefix) give a partner its burst once, not once each, share the unknown
//! client ids' bucket and the cap of requests in flight; a dead node's places expire; Redis
//! unreachable, lost mid-run or stalled sends each node back to its own limits, counted in
//! `onde_limites_repli_total`, never to a 5xx, and the nodes share again once it is back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::commun::api::{ConfigLimites, ConfigRedis, Regle};
use crate::commun::relais_redis::{url_redis, EspaceRedis, Relais};
use crate::commun::*;
use actix_web::test;
use onde_domain::TypePartenaire;

fn limites(defaut: Regle, redis: Option<ConfigRedis>) -> ConfigLimites {
    ConfigLimites {
        defaut,
        inconnus: Regle {
            par_seconde: 1,
            rafale: 3,
            simultanees: 1,
        },
        redis,
        ..ConfigLimites::default()
    }
}

/// `onde_limites_repli_total` (the metrics are the process's: both nodes count there).
async fn replis<S, B>(app: &S) -> u64
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let m = get(app, "", "/metrics").await;
    assert_eq!(m.statut, 200);
    let ligne = m
        .texte
        .lines()
        .find(|l| l.starts_with("onde_limites_repli_total "))
        .unwrap()
        .to_owned();
    ligne.rsplit(' ').next().unwrap().parse().unwrap()
}

/// A place among the client's requests in flight, taken on the node of `limiteur` as the
/// admission middleware takes it for a request (held until dropped, as a streamed answer
/// holds it until its end: tests/suite/admission.rs). The client's previous place, given back
/// by a node's Redis thread a few microseconds after its answer, may still be there: then it
/// tries again, for 2 s at most.
async fn place_tenue(limiteur: &Arc<api::Limiteur>, id: &Identifiants) -> Arc<api::EnVol> {
    let debut = Instant::now();
    loop {
        let admission = limiteur.admettre(Some(id.partenaire_id), &id.client_id).await.unwrap();
        match admission.en_vol {
            Ok(place) => return place,
            Err(api::Depassement::Simultanees { .. }) => {
                assert!(debut.elapsed() < Duration::from_secs(2), "place jamais rendue");
                actix_web::rt::time::sleep(Duration::from_millis(20)).await;
            }
            Err(d) => panic!("{d:?}"),
        }
    }
}

/// A request of the client is admitted within 2 s: its previous place is given back from the
/// Redis thread, a few microseconds after its answer.
async fn admise_bientot<S, B>(app: &S, jeton: &str)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let debut = Instant::now();
    loop {
        let r = get(app, jeton, "/v1/ecoles?limit=1").await;
        if r.statut == 200 {
            return;
        }
        assert_probleme(&r, 429, "trop_de_requetes_simultanees");
        assert!(debut.elapsed() < Duration::from_secs(2), "place jamais rendue");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

deux_backends! {
    fn rafale_partagee_entre_deux_noeuds(base: eleves(50)) {
        let commune = toutes_les_ecoles(base)[0].commune.as_str().to_owned();
        let mairie = partenaire(base, TypePartenaire::Mairie, "ecoles:read", &[&commune], &[], &[]);
        let temoin = partenaire(base, TypePartenaire::Mairie, "ecoles:read", &[&commune], &[], &[]);
        let regle = Regle { par_seconde: 1, rafale: 5, simultanees: 4 };
        let espace = EspaceRedis::nouveau();
        let noeud = || etat(base).avec_limites(limites(regle, Some(espace.config(&url_redis()))));
        let (etat_a, etat_b) = (noeud(), noeud());
        // The same two nodes without Redis: each its own budget.
        let (seul_a, seul_b) = (etat(base).avec_limites(limites(regle, None)), etat(base).avec_limites(limites(regle, None)));
        executer(async {
            let a = test::init_service(api::app(etat_a)).await;
            let b = test::init_service(api::app(etat_b)).await;
            let avant = replis(&a).await;
            // A token issued by one node works on the other.
            let j = jeton(&a, &mairie).await;
            let noeuds = [&a, &b];
            let mut restants = Vec::new();
            for i in 0..5 {
                let r = get(noeuds[i % 2], &j, "/v1/ecoles?limit=1").await;
                assert_eq!(r.statut, 200, "{}", r.texte);
                assert_eq!(r.entete("ratelimit-limit"), Some("5"));
                assert_eq!(r.entete("ratelimit-policy"), Some("5;w=5"));
                restants.push(r.entete("ratelimit-remaining").unwrap().parse::<u32>().unwrap());
            }
            assert_eq!(restants, vec![4, 3, 2, 1, 0], "one bucket for both nodes");
            for n in noeuds {
                let r = get(n, &j, "/v1/ecoles?limit=1").await;
                assert_probleme(&r, 429, "trop_de_requetes");
                let attente: u64 = r.entete("retry-after").unwrap().parse().unwrap();
                assert!((1..=2).contains(&attente), "{attente}");
                assert_eq!(r.entete("ratelimit-remaining"), Some("0"));
            }
            // Another partner keeps its own bucket.
            let jt = jeton(&b, &temoin).await;
            assert_eq!(get(&a, &jt, "/v1/ecoles?limit=1").await.statut, 200);
            // Token requests naming unknown client ids: one bucket for the cluster (burst 3).
            let mut codes = std::collections::BTreeMap::<u16, u32>::new();
            for i in 0..12 {
                let faux = Identifiants {
                    partenaire_id: uuid::Uuid::now_v7(),
                    client_id: api::nouvel_identifiant_client(),
                    secret: "devine".into(),
                };
                let statut = demander_jeton(noeuds[i % 2], &faux, None).await.unwrap_err().statut.as_u16();
                *codes.entry(statut).or_default() += 1;
            }
            assert_eq!((codes.get(&401), codes.get(&429)), (Some(&3), Some(&9)), "{codes:?}");
            assert_eq!(replis(&a).await, avant, "every request went through Redis");
            assert!(espace.cles().iter().any(|c| c.ends_with(":inconnus")), "{:?}", espace.cles());

            // Without Redis, the same burst on two nodes is twice the partner's rate.
            let a = test::init_service(api::app(seul_a)).await;
            let b = test::init_service(api::app(seul_b)).await;
            let j = jeton(&a, &temoin).await;
            let mut admises = 0;
            for i in 0..12 {
                if get([&a, &b][i % 2], &j, "/v1/ecoles?limit=1").await.statut == 200 {
                    admises += 1;
                }
            }
            assert_eq!(admises, 10);
        });
    }

    fn places_en_vol_partagees(base: eleves(50)) {
        let mairie = mairie_de_toutes_les_communes(base);
        let regle = Regle { par_seconde: 100_000, rafale: 100_000, simultanees: 1 };
        let espace = EspaceRedis::nouveau();
        let noeud = || etat(base).avec_limites(limites(regle, Some(espace.config(&url_redis()))));
        let (etat_a, etat_b) = (noeud(), noeud());
        let limiteur_a = etat_a.limiteur.clone();
        executer(async {
            let a = test::init_service(api::app(etat_a)).await;
            let b = test::init_service(api::app(etat_b)).await;
            let j = jeton(&a, &mairie).await;
            // A request in flight on node A holds the client's only place, on node B too.
            let place = place_tenue(&limiteur_a, &mairie).await;
            let r = get(&b, &j, "/v1/ecoles?limit=1").await;
            assert_probleme(&r, 429, "trop_de_requetes_simultanees");
            assert_eq!(r.entete("retry-after"), Some("1"));
            assert!(r.entete("ratelimit-limit").is_some(), "{:?}", r.entetes);
            // Once it ends, the place is free again (given back from the Redis thread).
            drop(place);
            admise_bientot(&b, &j).await;
            // A place left by a node that died (its lease not renewed for long) is no one's.
            let cle = format!("{}:en_vol:{}", espace.prefixe, mairie.client_id);
            let ajoutees: u32 = espace.commande(redis::cmd("ZADD").arg(&cle).arg(0).arg("noeud-mort:1"));
            assert_eq!(ajoutees, 1);
            admise_bientot(&a, &j).await;
            let restes: Vec<String> = espace.commande(redis::cmd("ZRANGE").arg(&cle).arg(0).arg(-1));
            assert!(!restes.contains(&"noeud-mort:1".to_owned()), "{restes:?}");
            // A place another node holds now (its lease fresh) counts on every node.
            let (secondes, _): (u64, u64) = espace.commande(&mut redis::cmd("TIME"));
            espace.commande::<u32>(redis::cmd("ZADD").arg(&cle).arg(secondes * 1000).arg("noeud-vivant:1"));
            let r = get(&a, &j, "/v1/ecoles?limit=1").await;
            assert_probleme(&r, 429, "trop_de_requetes_simultanees");
        });
    }

    fn redis_injoignable_limites_du_noeud(base: eleves(50)) {
        let mairie = mairie_de_toutes_les_communes(base);
        let autre = mairie_de_toutes_les_communes(base);
        // A port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let espace = EspaceRedis::nouveau();
        let regle = Regle { par_seconde: 1, rafale: 3, simultanees: 1 };
        let etat = etat(base).avec_limites(limites(regle, Some(espace.config(&format!("redis://127.0.0.1:{port}")))));
        let limiteur = etat.limiteur.clone();
        executer(async {
            let app = test::init_service(api::app(etat)).await;
            let avant = replis(&app).await;
            let j = jeton(&app, &mairie).await;
            // The node's own limits, headers included: 3 then 429, never a 5xx.
            let mut vus = Vec::new();
            for _ in 0..4 {
                let r = get(&app, &j, "/v1/ecoles?limit=1").await;
                vus.push((r.statut.as_u16(), r.entete("ratelimit-remaining").map(str::to_owned)));
            }
            let attendus: Vec<(u16, Option<String>)> =
                [(200, "2"), (200, "1"), (200, "0"), (429, "0")].iter().map(|(s, r)| (*s, Some(r.to_string()))).collect();
            assert_eq!(vus, attendus);
            // The cap in flight too, on this node (another client: this one's bucket is empty).
            let ja = jeton(&app, &autre).await;
            let place = place_tenue(&limiteur, &autre).await;
            let r = get(&app, &ja, "/v1/ecoles?limit=1").await;
            assert_probleme(&r, 429, "trop_de_requetes_simultanees");
            drop(place);
            // Token requests and authenticated requests alike are counted.
            assert!(replis(&app).await >= avant + 7, "{} -> {}", avant, replis(&app).await);
        });
    }

    fn redis_perdu_gele_puis_retrouve(base: eleves(50)) {
        let mairie = mairie_de_toutes_les_communes(base);
        let relais = Relais::demarrer();
        let espace = EspaceRedis::nouveau();
        let regle = Regle { par_seconde: 100_000, rafale: 100_000, simultanees: 1 };
        let noeud = || etat(base).avec_limites(limites(regle, Some(espace.config(&relais.url()))));
        let (etat_a, etat_b) = (noeud(), noeud());
        let limiteur_a = etat_a.limiteur.clone();
        executer(async {
            let a = test::init_service(api::app(etat_a)).await;
            let b = test::init_service(api::app(etat_b)).await;
            let j = jeton(&a, &mairie).await;
            let (a, b, j, limiteur_a, mairie) = (&a, &b, j.as_str(), &limiteur_a, &mairie);
            // A place held on node A: is node B's request refused?
            let partage = move || async move {
                let place = place_tenue(limiteur_a, mairie).await;
                let r = get(b, j, "/v1/ecoles?limit=1").await;
                drop(place);
                admise_bientot(a, j).await;
                r.statut.as_u16()
            };
            assert_eq!(partage().await, 429, "one cap for both nodes");

            // Redis lost mid-run (connections closed, new ones closed at once): each node on
            // its own limits, the fallback counted, no 5xx.
            relais.couper();
            let avant = replis(a).await;
            for n in [a, b] {
                let r = get(n, j, "/v1/ecoles?limit=1").await;
                assert_eq!(r.statut, 200, "{}", r.texte);
                assert_eq!(r.entete("ratelimit-limit"), Some("100000"));
            }
            assert_eq!(partage().await, 200, "each node its own cap");
            assert!(replis(a).await >= avant + 4, "{avant} -> {}", replis(a).await);

            // Redis back: after the back-off (300 ms), requests go through it again.
            relais.retablir();
            par_redis_bientot(a, j).await;
            par_redis_bientot(b, j).await;
            assert_eq!(partage().await, 429, "one cap again");

            // Redis stalled: answered within the delay (50 ms) on the node's own limits.
            relais.geler();
            let avant = replis(a).await;
            let debut = Instant::now();
            let r = get(a, j, "/v1/ecoles?limit=1").await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert!(debut.elapsed() < Duration::from_secs(1), "{:?}", debut.elapsed());
            assert!(replis(a).await > avant);
            relais.retablir();
            par_redis_bientot(a, j).await;
        });
    }
}

/// Waits (5 s at most) until a request of the client on `app` goes through Redis again: the
/// fallback counter no longer moves.
async fn par_redis_bientot<S, B>(app: &S, jeton: &str)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let debut = Instant::now();
    loop {
        let avant = replis(app).await;
        let r = get(app, jeton, "/v1/ecoles?limit=1").await;
        assert_eq!(r.statut, 200, "{}", r.texte);
        if replis(app).await == avant {
            return;
        }
        assert!(debut.elapsed() < Duration::from_secs(5), "Redis jamais retrouvé");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}
