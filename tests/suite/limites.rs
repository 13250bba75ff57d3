//! Rate limits and concurrency caps per client: a burst over the limit gets 429 with
//! `Retry-After` and `RateLimit-*` headers, in a problem document; another partner is not
//! affected; a partner's own rule applies to it; token requests are limited too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::commun::api::{ConfigLimites, Regle};
use crate::commun::*;
use onde_domain::TypePartenaire;

deux_backends! {
    fn rafale_refusee_sans_gener_les_autres(base: eleves(50)) {
        let ecoles = toutes_les_ecoles(base);
        let commune = ecoles[0].commune.as_str().to_owned();
        let bavard = partenaire(base, TypePartenaire::Mairie, "ecoles:read", &[&commune], &[], &[]);
        let sage = partenaire(base, TypePartenaire::Mairie, "ecoles:read", &[&commune], &[], &[]);
        let privilegie = partenaire(base, TypePartenaire::Mairie, "ecoles:read", &[&commune], &[], &[]);
        let regle = Regle { par_seconde: 1, rafale: 5, simultanees: 4 };
        let config = ConfigLimites {
            defaut: regle,
            partenaires: [(privilegie.partenaire_id, Regle { par_seconde: 1, rafale: 50, simultanees: 4 })].into(),
            ..ConfigLimites::default()
        };
        let etat = etat(base).avec_limites(config);
        executer(async {
            let app = actix_web::test::init_service(api::app(etat.clone())).await;
            let (jb, js, jp) = (jeton(&app, &bavard).await, jeton(&app, &sage).await, jeton(&app, &privilegie).await);
            // The burst: 5 pass, with the remaining capacity going down, then 429.
            let mut restants = Vec::new();
            for _ in 0..5 {
                let r = get(&app, &jb, "/v1/ecoles?limit=1").await;
                assert_eq!(r.statut, 200, "{}", r.texte);
                assert_eq!(r.entete("ratelimit-limit"), Some("5"));
                assert_eq!(r.entete("ratelimit-policy"), Some("5;w=5"));
                restants.push(r.entete("ratelimit-remaining").unwrap().parse::<u32>().unwrap());
            }
            assert_eq!(restants, vec![4, 3, 2, 1, 0]);
            let r = get(&app, &jb, "/v1/ecoles?limit=1").await;
            assert_probleme(&r, 429, "trop_de_requetes");
            let attente: u64 = r.entete("retry-after").unwrap().parse().unwrap();
            assert!((1..=2).contains(&attente), "{attente}");
            assert_eq!(r.entete("ratelimit-remaining"), Some("0"));
            assert!(r.corps["detail"].as_str().unwrap().contains("1 requêtes par seconde"));
            // Another partner is not affected; a partner's own rule is its own.
            assert_eq!(get(&app, &js, "/v1/ecoles?limit=1").await.statut, 200);
            for _ in 0..20 {
                assert_eq!(get(&app, &jp, "/v1/ecoles?limit=1").await.statut, 200);
            }
            // The bucket refills: one more request a second later.
            actix_web::rt::time::sleep(std::time::Duration::from_millis(1100)).await;
            assert_eq!(get(&app, &jb, "/v1/ecoles?limit=1").await.statut, 200);

            // Token requests of one client id: limited as well (argon2 is not free).
            let mut codes = Vec::new();
            for _ in 0..7 {
                codes.push(demander_jeton(&app, &sage, None).await.map(|_| 200).unwrap_or_else(|r| r.statut.as_u16()));
            }
            assert!(codes.contains(&429), "{codes:?}");
        });
    }
}

/// The cap of requests in flight, on the limiter itself (a request holds its place until
/// its last handle goes, also for streamed answers).
#[test]
fn requetes_simultanees_plafonnees() {
    let l = api::Limiteur::new(ConfigLimites {
        defaut: Regle {
            par_seconde: 100,
            rafale: 100,
            simultanees: 2,
        },
        partenaires: Default::default(),
        ..Default::default()
    });
    let a = l.entrer(None, "client").unwrap();
    let b = l.entrer(None, "client").unwrap();
    assert!(matches!(
        l.entrer(None, "client"),
        Err(api::Depassement::Simultanees { max: 2 })
    ));
    assert!(l.entrer(None, "autre").is_ok());
    drop(a);
    let _c = l.entrer(None, "client").unwrap();
    drop(b);
}
