//! The audit trail: append-only (the table refuses UPDATE on both backends), searchable by
//! partner, pupil and period newest first, purged by age only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use onde_store::audit::{FiltreAudit, NouvelleEntree};
use onde_store::schema::audit;

fn t(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

const ELEVE_A: &str = "0192d3e4-5f6a-7b8c-9d0e-00000000000a";
const ELEVE_B: &str = "0192d3e4-5f6a-7b8c-9d0e-00000000000b";

fn entree(horodatage: NaiveDateTime, partenaire: &str, eleves: &[&str]) -> NouvelleEntree {
    NouvelleEntree {
        horodatage,
        partenaire_id: partenaire.into(),
        client_id: format!("client-{partenaire}"),
        pour_le_compte_de: None,
        operation: "consulter_eleve".into(),
        scope: "eleves:read".into(),
        eleves: eleves.join(" "),
        nombre: eleves.len() as i32,
        id_requete: "req".into(),
    }
}

fn ids(entrees: &[onde_store::audit::Entree]) -> Vec<NaiveDateTime> {
    entrees.iter().map(|e| e.horodatage).collect()
}

onde_store::tests_deux_backends! {
    fn la_piste_refuse_toute_modification(base) {
        let mut conn = base.store.connexion().unwrap();
        onde_store::audit::inserer_lot(&mut conn, &[entree(t("2026-03-01 10:00:00"), "p1", &[ELEVE_A])]).unwrap();
        let avant: i32 = audit::table.select(audit::nombre).first(&mut conn).unwrap();

        let modification = diesel::update(audit::table).set(audit::nombre.eq(99)).execute(&mut conn);
        let message = modification.expect_err("UPDATE doit être refusé").to_string();
        assert!(message.contains("ajout seul"), "{message}");
        let modification = diesel::update(audit::table)
            .set(audit::eleves.eq(ELEVE_B))
            .execute(&mut conn);
        assert!(modification.is_err());

        let apres: i32 = audit::table.select(audit::nombre).first(&mut conn).unwrap();
        assert_eq!(apres, avant);
        // Purging (DELETE) stays possible: that is how retention is enforced.
        assert_eq!(onde_store::audit::purger(&mut conn, t("2026-03-02 00:00:00")).unwrap(), 1);
    }

    fn purge_par_anciennete_seulement(base) {
        let mut conn = base.store.connexion().unwrap();
        let maintenant = t("2026-11-25 12:00:00");
        let lot = [
            entree(maintenant - Duration::days(400), "p1", &[ELEVE_A]),
            entree(maintenant - Duration::days(31), "p2", &[ELEVE_B]),
            entree(maintenant - Duration::days(29), "p1", &[ELEVE_A, ELEVE_B]),
            entree(maintenant, "p2", &[ELEVE_A]),
        ];
        assert_eq!(onde_store::audit::inserer_lot(&mut conn, &lot).unwrap(), 4);

        let n = onde_store::audit::purger(&mut conn, maintenant - Duration::days(30)).unwrap();
        assert_eq!(n, 2);
        let tout = FiltreAudit { limite: 100, ..Default::default() };
        let restes = onde_store::audit::rechercher(&mut conn, &tout).unwrap();
        assert_eq!(ids(&restes), vec![maintenant, maintenant - Duration::days(29)], "plus récentes d'abord");
        // A second purge at the same date removes nothing more.
        assert_eq!(onde_store::audit::purger(&mut conn, maintenant - Duration::days(30)).unwrap(), 0);
    }

    fn recherche_par_partenaire_eleve_et_periode(base) {
        let mut conn = base.store.connexion().unwrap();
        let t0 = t("2026-03-01 08:00:00");
        let lot: Vec<NouvelleEntree> = (0..6)
            .map(|i| entree(t0 + Duration::hours(i), if i % 2 == 0 { "p1" } else { "p2" }, if i < 3 { &[ELEVE_A] } else { &[ELEVE_B] }))
            .collect();
        onde_store::audit::inserer_lot(&mut conn, &lot).unwrap();
        let chercher = |conn: &mut onde_store::DbConnection, f: FiltreAudit| {
            ids(&onde_store::audit::rechercher(conn, &FiltreAudit { limite: 100, ..f }).unwrap())
        };
        let h = |i: i64| t0 + Duration::hours(i);
        assert_eq!(chercher(&mut conn, FiltreAudit { partenaire_id: Some("p1".into()), ..Default::default() }), vec![h(4), h(2), h(0)]);
        assert_eq!(chercher(&mut conn, FiltreAudit { eleve_id: Some(ELEVE_B.into()), ..Default::default() }), vec![h(5), h(4), h(3)]);
        assert_eq!(
            chercher(&mut conn, FiltreAudit { depuis: Some(h(1)), jusqua: Some(h(3)), ..Default::default() }),
            vec![h(2), h(1)],
            "depuis inclus, jusqua exclu"
        );
        // Keyset pages: ids strictly below the last one seen.
        let page1 = onde_store::audit::rechercher(&mut conn, &FiltreAudit { limite: 4, ..Default::default() }).unwrap();
        let page2 = onde_store::audit::rechercher(
            &mut conn,
            &FiltreAudit { limite: 4, avant_id: Some(page1.last().unwrap().id), ..Default::default() },
        )
        .unwrap();
        assert_eq!(ids(&page1), vec![h(5), h(4), h(3), h(2)]);
        assert_eq!(ids(&page2), vec![h(1), h(0)]);
    }
}
