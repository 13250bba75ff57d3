//! Metric labels stay bounded, whatever methods and paths a client sends. A binary of its own:
//! the metrics registry is the process's, and the suite's other tests would add their series.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "suite/commun/mod.rs"]
#[allow(unused_imports, unused_macros)]
mod commun;

use actix_web::test;
use commun::*;
use onde_store::testing::BaseDeTest;

/// Random methods and paths: the metric labels stay a bounded set.
#[::core::prelude::v1::test]
fn etiquettes_de_metriques_bornees() {
    let base = BaseDeTest::sqlite();
    executer(async {
        let app = test::init_service(api::app(etat(&base))).await;
        for i in 0..30 {
            let methode = actix_web::http::Method::from_bytes(format!("HASARD{i}").as_bytes()).unwrap();
            let uri = match i % 3 {
                0 => format!("/hasard/{}", uuid::Uuid::now_v7()),
                1 => format!("/v1/{}/{}", uuid::Uuid::now_v7(), i),
                _ => format!("/v1/ecoles/{}", uuid::Uuid::now_v7()),
            };
            requete(&app, methode, &uri, "", &[], None).await;
            requete(&app, actix_web::http::Method::GET, &uri, "", &[], None).await;
        }
        let m = get(&app, "", "/metrics").await;
        assert_eq!(m.statut, 200);
        let series: Vec<&str> = m
            .texte
            .lines()
            .filter(|l| l.starts_with("onde_http_reponses_total{"))
            .collect();
        assert!(!m.texte.contains("HASARD"), "{series:#?}");
        assert!(!m.texte.contains("/hasard/"), "{series:#?}");
        assert!(m.texte.contains("methode=\"AUTRE\""), "{series:#?}");
        assert!(series.len() <= 10, "{series:#?}");
    });
}
