//! Retention purges (DOMAIN.md): only pupils who left before this calendar year go, never one
//! created or changed during the current school year; old idempotent answers and rejection
//! reports go too; a simulation counts exactly and deletes nothing.
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
        assert_eq!(n.eleves, 0);
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
        assert_eq!(n.eleves as i64, total - attendus.len() as i64);
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

fn t(s: &str) -> chrono::NaiveDateTime {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

fn compter(conn: &mut onde_store::DbConnection) -> [i64; 5] {
    use onde_store::schema::{idempotence, imports_rejets};
    [
        eleves::table.count().get_result(conn).unwrap(),
        inscriptions::table.count().get_result(conn).unwrap(),
        responsables::table.count().get_result(conn).unwrap(),
        idempotence::table.count().get_result(conn).unwrap(),
        imports_rejets::table.count().get_result(conn).unwrap(),
    ]
}

onde_store::tests_deux_backends! {
    fn retention_de_tout_ce_qui_fait_echo(base) {
        use onde_store::imports::{FormatImport, Import};
        use onde_store::schema::{idempotence, imports_rejets};
        let mut conn = base.store.connexion().unwrap();
        let conn = &mut *conn;
        let p = ParametresSeed { eleves: 200, graine: 5, rentree: 2026, communes: Some(2) };
        onde_seed::generer(conn, &p, &mut |_, _| {}).unwrap();
        // Reference day: 10 January 2028, in school year 2027-2028 (from 1 September 2027).
        let jour = NaiveDate::from_ymd_opt(2028, 1, 10).unwrap();
        assert_eq!(onde_store::eleves::debut_annee_scolaire(jour), NaiveDate::from_ymd_opt(2027, 9, 1).unwrap());

        // Three pupils the calendar rule alone would purge (no inscription running in 2028).
        let restent: Vec<String> = inscriptions::table
            .filter(inscriptions::annee_scolaire.eq("2027-2028"))
            .filter(inscriptions::statut.ne("radie"))
            .select(inscriptions::eleve_id)
            .distinct()
            .load(conn)
            .unwrap();
        let partants: Vec<String> = eleves::table
            .filter(eleves::id.ne_all(&restent))
            .select(eleves::id)
            .order(eleves::id)
            .limit(3)
            .load(conn)
            .unwrap();
        let (recent_sans_inscription, ancien_sans_inscription, modifie) = (&partants[0], &partants[1], &partants[2]);
        // Recorded by a mairie in December 2027 for residence, no inscription yet: stays.
        diesel::delete(inscriptions::table.filter(inscriptions::eleve_id.eq(recent_sans_inscription))).execute(conn).unwrap();
        diesel::update(eleves::table.filter(eleves::id.eq(recent_sans_inscription)))
            .set((eleves::cree_le.eq(t("2027-12-01 10:00:00")), eleves::modifie_le.eq(t("2027-12-01 10:00:00"))))
            .execute(conn)
            .unwrap();
        // Recorded in June 2027 (previous school year), no inscription: goes.
        diesel::delete(inscriptions::table.filter(inscriptions::eleve_id.eq(ancien_sans_inscription))).execute(conn).unwrap();
        diesel::update(eleves::table.filter(eleves::id.eq(ancien_sans_inscription)))
            .set((eleves::cree_le.eq(t("2027-06-01 10:00:00")), eleves::modifie_le.eq(t("2027-06-01 10:00:00"))))
            .execute(conn)
            .unwrap();
        // Only old inscriptions, but its record was corrected in October 2027: stays.
        diesel::update(eleves::table.filter(eleves::id.eq(modifie)))
            .set(eleves::modifie_le.eq(t("2027-10-01 10:00:00")))
            .execute(conn)
            .unwrap();

        // Stored idempotent answers: two older than 30 days, two fresh.
        for (cle, le) in [("a", "2027-11-01 00:00:00"), ("b", "2027-12-10 23:59:59"), ("c", "2027-12-11 00:00:00"), ("d", "2028-01-09 12:00:00")] {
            onde_store::idempotence::enregistrer(conn, &onde_store::idempotence::ReponseEnregistree {
                partenaire_id: "p".into(),
                cle: cle.into(),
                empreinte: "e".into(),
                statut: 201,
                corps: "{\"nom\":\"Morel\"}".into(),
                entetes: "{}".into(),
                eleves: String::new(),
                cree_le: t(le),
            })
            .unwrap();
        }
        // Rejection reports: an old finished import (3 rows), a recent one (2), an old one
        // still running (1, kept: its report is being written).
        let mut imports = Vec::new();
        for (statut, le, n) in [("termine", "2027-10-01 00:00:00", 3), ("termine", "2027-12-31 00:00:00", 2), ("en_cours", "2027-10-01 00:00:00", 1)] {
            let id = uuid::Uuid::now_v7();
            let mut i = Import::nouveau(id, None, None, FormatImport::Csv, t(le));
            i.statut = statut.into();
            onde_store::imports::creer(conn, &i).unwrap();
            for ligne in 1..=n {
                onde_store::par_backend!(&mut *conn, c => diesel::insert_into(imports_rejets::table)
                    .values((
                        imports_rejets::import_id.eq(id.to_string()),
                        imports_rejets::ligne.eq(ligne + 1),
                        imports_rejets::rang.eq(1),
                        imports_rejets::pointeur.eq("/eleve/nom"),
                        imports_rejets::code.eq("texte_vide"),
                        imports_rejets::message.eq("Morel"),
                    ))
                    .execute(c))
                .unwrap();
            }
            imports.push(id.to_string());
        }
        let avant = |jours: i64| jour.and_time(chrono::NaiveTime::MIN) - chrono::Duration::days(jours);

        // Simulation: exact counts, nothing deleted.
        let tout = compter(conn);
        let simule = onde_store::eleves::simuler_retention(conn, jour).unwrap();
        assert_eq!(onde_store::idempotence::compter_anciennes(conn, avant(30)).unwrap(), 2);
        assert_eq!(onde_store::imports::purger_rejets(conn, avant(90), true).unwrap(), (3, 1));
        assert_eq!(compter(conn), tout, "la simulation ne supprime rien");
        assert_eq!(simule.eleves as i64, tout[0] - restent.len() as i64 - 2);

        // The real run deletes exactly what the simulation announced.
        let fait = onde_store::eleves::purger_retention(conn, jour).unwrap();
        assert_eq!(fait, simule);
        assert_eq!(onde_store::idempotence::purger(conn, avant(30)).unwrap(), 2);
        assert_eq!(onde_store::imports::purger_rejets(conn, avant(90), false).unwrap(), (3, 1));
        let apres = compter(conn);
        assert_eq!(
            apres,
            [tout[0] - simule.eleves as i64, tout[1] - simule.inscriptions as i64, tout[2] - simule.responsables as i64, 2, 3]
        );
        assert!(simule.inscriptions > 0 && simule.responsables > 0);
        let mut gardes: Vec<String> = eleves::table.select(eleves::id).load(conn).unwrap();
        gardes.sort();
        let mut attendus = restent.clone();
        attendus.extend([recent_sans_inscription.clone(), modifie.clone()]);
        attendus.sort();
        assert_eq!(gardes, attendus);
        let cles: Vec<String> = idempotence::table.select(idempotence::cle).order(idempotence::cle).load(conn).unwrap();
        assert_eq!(cles, ["c", "d"]);
        let mut rapports: Vec<String> = imports_rejets::table.select(imports_rejets::import_id).distinct().load(conn).unwrap();
        rapports.sort();
        let mut recents = vec![imports[1].clone(), imports[2].clone()];
        recents.sort();
        assert_eq!(rapports, recents);
        // The imports themselves (state, counts) stay.
        let n: i64 = onde_store::schema::imports::table.count().get_result(conn).unwrap();
        assert_eq!(n, 3);
        // Nothing left to do.
        assert_eq!(onde_store::eleves::simuler_retention(conn, jour).unwrap(), onde_store::eleves::BilanRetention::default());
    }
}
