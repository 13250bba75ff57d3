//! Tests of the bounded line and CSV readers, moved as they were from lecture.rs.

use super::*;

#[test]
fn colonnes_inconnues_citees_en_bref() {
    // Found by schemathesis: every unknown name was echoed whole in the message.
    let mut entete: Vec<String> = OBLIGATOIRES.iter().map(|s| s.to_string()).collect();
    entete.extend((0..1000).map(|i| format!("{i}{}", "x".repeat(500))));
    let e = verifier_entete(&entete).unwrap_err();
    assert_eq!(e.code, "csv_colonne_inconnue");
    assert!(e.message.contains("(1000 en tout)"), "{}", e.message);
    assert!(e.message.chars().count() < 1500, "{}", e.message.chars().count());
}

#[test]
fn entete_verifiee() {
    let ok: Vec<String> = OBLIGATOIRES.iter().map(|s| s.to_string()).collect();
    assert!(verifier_entete(&ok).is_ok());
    let mut inconnue = ok.clone();
    inconnue.push("couleur".into());
    assert_eq!(verifier_entete(&inconnue).unwrap_err().code, "csv_colonne_inconnue");
    assert_eq!(verifier_entete(&ok[1..]).unwrap_err().code, "csv_colonne_manquante");
}

#[test]
fn csv_aller_retour() {
    let e = serde_json::json!({
        "eleve": {"ine": "0494004062M", "nom": "=1+1", "prenoms": ["@Léa", "Rose"], "sexe": "F",
                  "date_naissance": "2020-04-02", "lieu_naissance": "75056",
                  "adresse": {"voie": "3 rue des Lilas; bât. B", "code_postal": "75011", "commune": "75056"},
                  "responsables": [{"nom": "Morel", "prenom": "Anne", "lien": "mere", "autorite_parentale": true,
                                    "telephone": "+33 1 23 45 67 89"}]},
        "inscriptions": [{"uai": "0750655E", "annee_scolaire": "2026-2027", "niveau": "CP"}]
    });
    let mut sortie = b"\xef\xbb\xbf".to_vec();
    let mut w = EcrivainCsv::new(&mut sortie).unwrap();
    w.ecrire(&e).unwrap();
    w.terminer().unwrap();
    // Written as text for a spreadsheet, read back as the values.
    let texte = String::from_utf8_lossy(&sortie);
    assert!(
        texte.contains(";'=1+1;'@Léa|Rose;") && texte.contains(";'+33 1 23 45 67 89"),
        "{texte}"
    );
    let dossier = tempfile::tempdir().unwrap();
    let chemin = dossier.path().join("f.csv");
    std::fs::write(&chemin, &sortie).unwrap();
    verifier_csv(&chemin, LIGNE_MAX_OCTETS).unwrap();
    let mut lus = Vec::new();
    parcourir(&chemin, FormatImport::Csv, LIGNE_MAX_OCTETS, &mut |r| {
        if let Enregistrement::Valeur { ligne, valeur } = r {
            lus.push((ligne, valeur));
        }
        true
    })
    .unwrap();
    assert_eq!(lus, vec![(2, e)]);
}

fn lire(octets: &[u8], format: FormatImport, max: usize) -> Vec<(u64, Result<Value, String>)> {
    let mut lus = Vec::new();
    parcourir_lecteur(std::io::Cursor::new(octets), format, max, &mut |e| {
        lus.push(match e {
            Enregistrement::Valeur { ligne, valeur } => (ligne, Ok(valeur)),
            Enregistrement::Illisible(r) => (r.ligne, Err(r.code)),
        });
        true
    })
    .unwrap();
    lus
}

#[test]
fn ligne_ndjson_trop_longue_un_seul_rejet() {
    let mut f = b"{\"a\":1}\n".to_vec();
    f.extend(std::iter::repeat_n(b'x', 3 << 20));
    f.extend(b"\n\n{\"a\":3}\r\n{\"a\":4}");
    let lus = lire(&f, FormatImport::Ndjson, 4096);
    let attendu: Vec<(u64, Result<Value, String>)> = vec![
        (1, Ok(serde_json::json!({"a": 1}))),
        (2, Err("ligne_trop_longue".into())),
        (4, Ok(serde_json::json!({"a": 3}))),
        (5, Ok(serde_json::json!({"a": 4}))),
    ];
    assert_eq!(lus, attendu);
    // A file of one line over the bound, without a newline: one rejection.
    let seule = vec![b'{'; 1 << 20];
    assert_eq!(
        lire(&seule, FormatImport::Ndjson, 4096),
        vec![(1, Err("ligne_trop_longue".into()))]
    );
    // The counts agree.
    let dossier = tempfile::tempdir().unwrap();
    let chemin = dossier.path().join("f.ndjson");
    std::fs::write(&chemin, &f).unwrap();
    assert_eq!(compter(&chemin, FormatImport::Ndjson, 4096).unwrap(), 4);
}

#[test]
fn memoire_bornee_par_ligne() {
    // 8 MiB without a newline, read through a small buffer: the line buffer never grows
    // beyond the bound.
    let max = 4096;
    let mut r = BufReader::with_capacity(8192, std::io::repeat(b'a').take(8 << 20));
    let mut tampon = Vec::new();
    assert_eq!(lire_ligne(&mut r, &mut tampon, max).unwrap(), Lu::TropLongue);
    assert!(tampon.capacity() <= 2 * max, "{}", tampon.capacity());
    assert_eq!(lire_ligne(&mut r, &mut tampon, max).unwrap(), Lu::Fin);
    // The same in CSV: a quoted cell of 8 MiB spanning lines.
    let entete = b"ine;nom\n".as_slice();
    let cellule = std::io::repeat(b'b').take(4 << 20);
    let suite = b"\n\nfin\";x\nA;B\n".as_slice();
    let flux = entete
        .chain(b"\"".as_slice())
        .chain(cellule)
        .chain(b"\nsuite".as_slice())
        .chain(std::io::repeat(b'c').take(4 << 20));
    let mut l = LecteurCsv::new(BufReader::with_capacity(8192, flux.chain(suite)), max);
    assert!(matches!(l.suivant().unwrap(), LuCsv::Enregistrement { ligne: 1, .. }));
    assert!(matches!(l.suivant().unwrap(), LuCsv::TropLong { ligne: 2 }));
    match l.suivant().unwrap() {
        LuCsv::Enregistrement { ligne, record } => {
            assert_eq!(ligne, 6);
            assert_eq!(record, csv::ByteRecord::from(vec!["A", "B"]));
        }
        _ => panic!("enregistrement attendu"),
    }
    assert!(matches!(l.suivant().unwrap(), LuCsv::Fin));
    assert!(l.sortie.capacity() <= max + 1 && l.fins.capacity() <= COLONNES_MAX);
}

#[test]
fn csv_trop_long_un_seul_rejet_et_la_suite_lue() {
    let e = serde_json::json!({
        "eleve": {"ine": "0494004062M", "nom": "Morel", "prenoms": ["Léa"], "sexe": "F",
                  "date_naissance": "2020-04-02", "lieu_naissance": "75056"}
    });
    let mut sortie = Vec::new();
    let mut w = EcrivainCsv::new(&mut sortie).unwrap();
    w.ecrire(&e).unwrap();
    w.terminer().unwrap();
    let texte = String::from_utf8(sortie).unwrap();
    let (entete, ligne) = texte.split_once('\n').unwrap();
    let longue = ligne.replacen("Morel", &format!("\"{}\n{}\"", "M".repeat(5000), "o".repeat(5000)), 1);
    let f = format!("{entete}\n{ligne}{longue}{ligne}");
    let lus = lire(f.as_bytes(), FormatImport::Csv, 4096);
    let lignes: Vec<(u64, bool)> = lus.iter().map(|(l, r)| (*l, r.is_ok())).collect();
    assert_eq!(lignes, vec![(2, true), (3, false), (5, true)]);
    assert_eq!(lus[1].1, Err("ligne_trop_longue".to_string()));
    // The header too is bounded: a file error.
    let dossier = tempfile::tempdir().unwrap();
    let chemin = dossier.path().join("f.csv");
    std::fs::write(&chemin, "x".repeat(10_000)).unwrap();
    assert_eq!(verifier_csv(&chemin, 4096).unwrap_err().code, "ligne_trop_longue");
    std::fs::write(&chemin, &f).unwrap();
    assert_eq!(compter(&chemin, FormatImport::Csv, 4096).unwrap(), 3);
}

#[test]
fn un_dossier_complet_tient_sous_la_borne() {
    // Every field at its domain maximum, every character a two-byte one escaped as \uXXXX
    // (6 bytes): the worst a valid record can weigh.
    let t = |n: usize| "é".repeat(n);
    let responsable = serde_json::json!({
        "nom": t(100), "prenom": t(100), "lien": "representant_legal", "autorite_parentale": true,
        "telephone": "+33612345678", "courriel": t(254), "adresse": t(300)
    });
    let inscription = serde_json::json!({
        "uai": "0750655E", "annee_scolaire": "2026-2027", "niveau": "CM2", "classe": t(50),
        "dispositif": t(50), "statut": "admis_definitif", "admission_provisoire": false,
        "date_inscription": "2026-06-01", "date_admission": "2026-06-02"
    });
    let e = serde_json::json!({
        "eleve": {"ine": "0494004062M", "nom": t(100), "prenoms": [t(100), t(100), t(100)], "sexe": "F",
                  "date_naissance": "2020-04-02", "lieu_naissance": "75056",
                  "adresse": {"voie": t(300), "code_postal": "75011", "commune": "75056"},
                  "responsables": vec![responsable; RESPONSABLES_MAX]},
        "inscriptions": vec![inscription; onde_domain::poussee::INSCRIPTIONS_MAX]
    });
    let echappe = e.to_string().replace('é', "\\u00e9");
    assert!(echappe.len() < LIGNE_MAX_OCTETS, "{}", echappe.len());
    // Without escapes (plain UTF-8), a quarter of the bound.
    assert!(e.to_string().len() < LIGNE_MAX_OCTETS / 4, "{}", e.to_string().len());
}

proptest::proptest! {
    /// Under the bound, the bounded reader gives the csv crate's records.
    #[test]
    fn memes_enregistrements_que_le_crate_csv(texte in "[ab;\"\n\r]{0,200}") {
        let mut attendus = Vec::new();
        let mut l = csv::ReaderBuilder::new().delimiter(b';').has_headers(false).flexible(true)
            .from_reader(texte.as_bytes());
        let mut r = csv::ByteRecord::new();
        while l.read_byte_record(&mut r).unwrap() {
            attendus.push(r.clone());
        }
        let mut lus = Vec::new();
        let mut b = LecteurCsv::new(BufReader::with_capacity(7, texte.as_bytes()), 1000);
        loop {
            match b.suivant().unwrap() {
                LuCsv::Fin => break,
                LuCsv::Enregistrement { record, .. } => lus.push(record),
                _ => panic!("borne non atteinte"),
            }
        }
        let champs = |v: &Vec<csv::ByteRecord>| v.iter().map(|r| r.iter().map(|c| c.to_vec()).collect::<Vec<_>>()).collect::<Vec<_>>();
        proptest::prop_assert_eq!(champs(&lus), champs(&attendus));
    }
}
