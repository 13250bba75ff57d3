//! JSON request bodies: the pupil record (PUT /v1/eleves/{ine}, the `eleve` of an inscription)
//! and the pushed item (POST /v1/lots/eleves, one line of an import). Never a panic; a record is
//! read (Some) exactly when no violation is reported, and every violation points into the body.
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use onde_domain::dossier::{DossierEleve, Lecture};
use onde_domain::poussee::ElementPousse;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let jour = NaiveDate::from_ymd_opt(2026, 11, 30).expect("date valide");

    let mut l = Lecture::default();
    let dossier = DossierEleve::lire(&v, "", jour, &mut l);
    assert_eq!(dossier.is_some(), l.est_vide(), "{:?}", l.manquements);
    for m in &l.manquements {
        assert!(m.pointeur.is_empty() || m.pointeur.starts_with('/'), "{m:?}");
        assert!(!m.message.is_empty());
    }
    if let Some(d) = dossier {
        let _ = d.cle_doublon();
    }

    let mut l = Lecture::default();
    let element = ElementPousse::lire(&v, "/elements/0", jour, &mut l);
    assert_eq!(element.is_some(), l.est_vide(), "{:?}", l.manquements);
    for m in &l.manquements {
        assert!(m.pointeur.starts_with("/elements/0"), "{m:?}");
    }
    if let Some(e) = element {
        assert_eq!(e.dossier.ine.as_ref(), Some(&e.ine));
        for i in &e.inscriptions {
            let _ = i.date_admission_a_la_creation();
        }
    }
});
