//! `onde-echanges import FICHIER --partenaire ID`: the operator imports a file on behalf of a
//! partner, within its perimeter, on both backends. The running import re-reads its partner
//! and client at every chunk (issue 16); the CLI's job has no OAuth client, and naming one
//! that does not exist ("cli") stopped every such import as `partenaire_revoque` before its
//! first line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use crate::commun::*;
use onde_store::testing::BaseDeTest;

const BIN: &str = env!("CARGO_BIN_EXE_onde-echanges");

/// Runs the binary on `base`: (success, stdout and stderr).
fn lancer(base: &BaseDeTest, args: &[&str]) -> (bool, String, String) {
    let sortie = Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", &base.url)
        .output()
        .unwrap();
    (
        sortie.status.success(),
        String::from_utf8_lossy(&sortie.stdout).into_owned(),
        String::from_utf8_lossy(&sortie.stderr).into_owned(),
    )
}

deux_backends! {
    fn import_au_nom_d_un_editeur(base: eleves(300).communes(2)) {
        let ecoles = toutes_les_ecoles(base);
        let mut args = vec!["partenaire", "creer", "--json", "--nom", "Éditeur", "--type", "editeur"];
        for e in &ecoles {
            args.extend(["--mandat", e.uai.as_str()]);
        }
        let (ok, sortie, erreurs) = lancer(base, &args);
        assert!(ok, "{sortie}{erreurs}");
        let cree: serde_json::Value = serde_json::from_str(&sortie).unwrap();
        let id = cree["partenaire"]["id"].as_str().unwrap().to_owned();

        let (ok, exemple, erreurs) =
            lancer(base, &["import", "exemple", "--eleves", "20", "--seed", "1", "--annee", "2026-2027"]);
        assert!(ok, "{erreurs}");
        let dossier = tempfile::tempdir().unwrap();
        let fichier = dossier.path().join("eleves.ndjson");
        std::fs::write(&fichier, exemple).unwrap();
        let fichier = fichier.to_str().unwrap();

        let (ok, sortie, erreurs) = lancer(base, &["import", fichier, "--partenaire", &id]);
        assert!(ok, "{sortie}{erreurs}");
        assert!(sortie.contains("créés 20 · modifiés 0 · inchangés 0 · rejetés 0"), "{sortie}{erreurs}");
        // The same file again: every record unchanged, nothing applied twice.
        let (ok, sortie, erreurs) = lancer(base, &["import", fichier, "--partenaire", &id]);
        assert!(ok, "{sortie}{erreurs}");
        assert!(sortie.contains("créés 0 · modifiés 0 · inchangés 20 · rejetés 0"), "{sortie}{erreurs}");
    }
}
