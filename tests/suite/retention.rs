//! `onde-echanges retention` as the nightly job runs it, on both backends: it purges the pupils
//! who left, the old idempotent answers and the old rejection reports; `--simulation` prints
//! the same counts and deletes nothing; the periods come from the configuration or the flags.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::prelude::*;
use onde_store::schema::{eleves, idempotence, imports_rejets};

const BIN: &str = env!("CARGO_BIN_EXE_onde-echanges");

fn t(s: &str) -> chrono::NaiveDateTime {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

fn compter(base: &onde_store::testing::BaseDeTest) -> (i64, i64, i64) {
    let mut conn = base.store.connexion().unwrap();
    (
        eleves::table.count().get_result(&mut *conn).unwrap(),
        idempotence::table.count().get_result(&mut *conn).unwrap(),
        imports_rejets::table.count().get_result(&mut *conn).unwrap(),
    )
}

/// Runs the binary; (exit code, standard output, standard error).
fn retention(
    base: &onde_store::testing::BaseDeTest,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Option<i32>, String, String) {
    let mut cmd = std::process::Command::new(BIN);
    cmd.arg("retention")
        .args(["--date", "2028-01-10"])
        .args(args)
        .env("DATABASE_URL", &base.url)
        .env_remove("ONDE_CONFIG")
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let sortie = cmd.output().unwrap();
    (
        sortie.status.code(),
        String::from_utf8(sortie.stdout).unwrap(),
        String::from_utf8(sortie.stderr).unwrap(),
    )
}

/// The number after `motif` in the command's output.
fn nombre(sortie: &str, motif: &str) -> usize {
    let reste = &sortie[sortie
        .find(motif)
        .unwrap_or_else(|| panic!("« {motif} » absent : {sortie}"))
        + motif.len()..];
    reste
        .trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

deux_backends! {
    fn la_commande_purge_tout_ce_qui_fait_echo(base: eleves(200)) {
        use onde_store::imports::{FormatImport, Import};
        {
            let mut conn = base.store.connexion().unwrap();
            let conn = &mut *conn;
            // Two answers older than 30 days before 10 January 2028, one fresh.
            for (cle, le) in [("a", "2027-11-01 00:00:00"), ("b", "2027-12-01 00:00:00"), ("c", "2028-01-09 00:00:00")] {
                onde_store::idempotence::enregistrer(conn, &onde_store::idempotence::ReponseEnregistree {
                    partenaire_id: "p".into(),
                    cle: cle.into(),
                    empreinte: "e".into(),
                    statut: 201,
                    corps: "{}".into(),
                    entetes: "{}".into(),
                    eleves: String::new(),
                    cree_le: t(le),
                })
                .unwrap();
            }
            // A report older than 90 days (2 rows) and a recent one (1 row).
            for (le, n) in [("2027-09-01 00:00:00", 2), ("2027-12-20 00:00:00", 1)] {
                let id = uuid::Uuid::now_v7();
                let mut i = Import::nouveau(id, None, None, FormatImport::Ndjson, t(le));
                i.statut = "termine".into();
                onde_store::imports::creer(conn, &i).unwrap();
                for ligne in 1..=n {
                    onde_store::par_backend!(&mut *conn, c => diesel::insert_into(imports_rejets::table)
                        .values((
                            imports_rejets::import_id.eq(id.to_string()),
                            imports_rejets::ligne.eq(ligne),
                            imports_rejets::rang.eq(1),
                            imports_rejets::pointeur.eq("/eleve/nom"),
                            imports_rejets::code.eq("texte_vide"),
                            imports_rejets::message.eq("Morel"),
                        ))
                        .execute(c))
                    .unwrap();
                }
            }
        }
        let avant = compter(base);

        let (code, simulation, erreur) = retention(base, &["--simulation"], &[]);
        assert_eq!(code, Some(0), "{erreur}");
        assert!(simulation.starts_with("simulation au 2028-01-10 : rien n'est supprimé"), "{simulation}");
        assert_eq!(compter(base), avant, "la simulation ne supprime rien");
        let eleves = nombre(&simulation, "à supprimer :");
        assert!(eleves > 0 && (eleves as i64) < avant.0, "{simulation}");
        assert_eq!(nombre(&simulation, "réponses idempotentes de plus de 30 jours à supprimer :"), 2);
        assert_eq!(nombre(&simulation, "rejets des imports de plus de 90 jours à supprimer :"), 2);
        // The periods come from the configuration, and the flags win over it.
        let (_, s, _) = retention(base, &["--simulation"], &[("ONDE__CONSERVATION__IDEMPOTENCE_JOURS", "60")]);
        assert_eq!(nombre(&s, "réponses idempotentes de plus de 60 jours à supprimer :"), 1);
        let (_, s, _) = retention(
            base,
            &["--simulation", "--idempotence-jours", "0", "--rejets-jours", "365"],
            &[("ONDE__CONSERVATION__IDEMPOTENCE_JOURS", "60")],
        );
        assert_eq!(nombre(&s, "réponses idempotentes de plus de 0 jours à supprimer :"), 3);
        assert_eq!(nombre(&s, "rejets des imports de plus de 365 jours à supprimer :"), 0);

        let (code, sortie, erreur) = retention(base, &[], &[]);
        assert_eq!(code, Some(0), "{erreur}");
        assert_eq!(nombre(&sortie, "supprimé(s) :"), eleves, "{sortie}");
        assert_eq!(compter(base), (avant.0 - eleves as i64, 1, 1));
        let cles: Vec<String> = idempotence::table.select(idempotence::cle).load(&mut *base.store.connexion().unwrap()).unwrap();
        assert_eq!(cles, ["c"]);
    }
}
