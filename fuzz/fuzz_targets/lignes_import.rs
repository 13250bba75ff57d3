//! The import line parser (POST /v1/imports, `onde-echanges import`): NDJSON and CSV read from
//! any bytes without a panic, line numbers increasing, each record then read by the domain as a
//! pushed item (the same rules as a batch).
#![no_main]

use std::io::Cursor;

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use onde_domain::dossier::Lecture;
use onde_domain::poussee::ElementPousse;
use onde_store::imports::lecture::{parcourir_lecteur, Enregistrement, LIGNE_MAX_OCTETS};
use onde_store::imports::FormatImport;

fuzz_target!(|data: &[u8]| {
    let jour = NaiveDate::from_ymd_opt(2026, 11, 30).expect("date valide");
    for format in [FormatImport::Ndjson, FormatImport::Csv] {
        let mut derniere = 0u64;
        let mut lus = 0usize;
        let _ = parcourir_lecteur(Cursor::new(data), format, LIGNE_MAX_OCTETS, &mut |e| {
            lus += 1;
            match e {
                Enregistrement::Valeur { ligne, valeur } => {
                    assert!(ligne >= derniere, "lignes dans le désordre : {ligne} après {derniere}");
                    derniere = ligne;
                    let mut l = Lecture::default();
                    let element = ElementPousse::lire(&valeur, "", jour, &mut l);
                    assert_eq!(element.is_some(), l.est_vide());
                }
                Enregistrement::Illisible(rejet) => {
                    assert!(!rejet.message.is_empty());
                }
            }
            lus < 10_000
        });
    }
});
