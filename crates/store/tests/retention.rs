//! Retention purge of pupil data (DOMAIN.md): only pupils who left before this calendar year go.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;
use diesel::prelude::*;
use onde_seed::ParametresSeed;
use onde_store::schema::{eleves, eleves_responsables, inscriptions, responsables};

fn compter_eleves(base: &onde_store::testing::BaseDeTest) -> i64 {
    eleves::table
        .count()
        .get_result(&mut base.store.connexion().unwrap())
        .unwrap()
}

onde_store::tests_deux_backends! {
    fn purge_de_retention(base) {
        let mut conn = base.store.connexion().unwrap();
        let p = ParametresSeed { eleves: 400, graine: 3, rentree: 2026, communes: Some(2) };
        onde_seed::generer(&mut conn, &p, &mut |_, _| {}).unwrap();
        let total = compter_eleves(base);

        // In 2026 every pupil is schooled this calendar year: nothing goes.
        let n = onde_store::eleves::purger_retention(&mut conn, NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()).unwrap();
        assert_eq!(n, 0);
        assert_eq!(compter_eleves(base), total);

        // In January 2028 only pupils with a live inscription for 2027-2028 remain.
        let attendus: Vec<String> = inscriptions::table
            .filter(inscriptions::annee_scolaire.eq("2027-2028"))
            .filter(inscriptions::statut.ne("radie"))
            .select(inscriptions::eleve_id)
            .distinct()
            .load(&mut conn)
            .unwrap();
        assert!(!attendus.is_empty() && (attendus.len() as i64) < total);
        let n = onde_store::eleves::purger_retention(&mut conn, NaiveDate::from_ymd_opt(2028, 1, 10).unwrap()).unwrap();
        assert_eq!(n as i64, total - attendus.len() as i64);
        let mut restants: Vec<String> = eleves::table.select(eleves::id).load(&mut conn).unwrap();
        let mut attendus = attendus;
        restants.sort();
        attendus.sort();
        assert_eq!(restants, attendus);
        // Nothing dangling: inscriptions, links and guardians of purged pupils are gone too.
        let orphelines: i64 = inscriptions::table
            .filter(inscriptions::eleve_id.ne_all(&restants))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(orphelines, 0);
        let liens: i64 = eleves_responsables::table.count().get_result(&mut conn).unwrap();
        let responsables_restants: i64 = responsables::table.count().get_result(&mut conn).unwrap();
        assert!(liens > 0 && responsables_restants > 0);
        let sans_eleve: i64 = responsables::table
            .filter(diesel::dsl::not(diesel::dsl::exists(
                eleves_responsables::table.filter(eleves_responsables::responsable_id.eq(responsables::id)),
            )))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(sans_eleve, 0);

        // In 2029 everyone has left.
        onde_store::eleves::purger_retention(&mut conn, NaiveDate::from_ymd_opt(2029, 1, 1).unwrap()).unwrap();
        assert_eq!(compter_eleves(base), 0);
    }
}
