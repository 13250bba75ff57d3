//! Large imports (NDJSON and CSV) on both backends: counts, re-runs, rejections, formats,
//! the HTTP job resource, idempotency and interrupted jobs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use actix_web::test;

use crate::commun::*;
use onde_domain::{AnneeScolaire, Ine, Perimetre, TypePartenaire, Uai};
use onde_seed::exemple;
use onde_store::imports::{self, FormatImport, Import, OptionsImport};
use onde_store::testing::BaseDeTest;
use serde_json::Value;
use uuid::Uuid;

const ANNEE: &str = "2026-2027";

/// Deterministic records against the seeded schools (every fifth invalid kind cycled through).
fn elements(base: &BaseDeTest, n: u32, invalides: u32, uais: Vec<Uai>) -> Vec<Value> {
    let mut conn = base.store.connexion().unwrap();
    let p = exemple::ParametresExemple {
        eleves: n,
        graine: 3,
        annee: AnneeScolaire::parse(ANNEE).unwrap(),
        uais,
        invalides,
    };
    let mut v = Vec::new();
    exemple::generer(&mut conn, &p, &mut |e| {
        v.push(e.clone());
        Ok(())
    })
    .unwrap();
    v
}

fn ndjson(dossier: &Path, nom: &str, elements: &[Value]) -> PathBuf {
    let chemin = dossier.join(nom);
    let texte: String = elements.iter().map(|e| format!("{e}\n")).collect();
    std::fs::write(&chemin, texte).unwrap();
    chemin
}

fn csv(dossier: &Path, nom: &str, elements: &[Value]) -> PathBuf {
    let chemin = dossier.join(nom);
    // With a BOM, as spreadsheets write it.
    let mut octets = b"\xef\xbb\xbf".to_vec();
    let mut w = imports::lecture::EcrivainCsv::new(&mut octets).unwrap();
    for e in elements {
        w.ecrire(e).unwrap();
    }
    w.terminer().unwrap();
    std::fs::write(&chemin, octets).unwrap();
    chemin
}

/// Runs a whole import in this thread; `arret` abandons it after that many chunks.
fn importer(
    base: &BaseDeTest,
    fichier: &Path,
    format: FormatImport,
    perimetre: &Perimetre,
    tranche: usize,
    arret: Option<usize>,
) -> Import {
    let mut conn = base.store.connexion().unwrap();
    let id = Uuid::now_v7();
    imports::creer(
        &mut conn,
        &Import::nouveau(id, None, None, format, chrono::Utc::now().naive_utc()),
    )
    .unwrap();
    let options = OptionsImport {
        taille_tranche: tranche,
        ..OptionsImport::default()
    };
    let mut tranches = 0;
    imports::executer(&mut conn, id, fichier, format, perimetre, &options, &mut |_, _| {
        tranches += 1;
        arret != Some(tranches)
    })
    .unwrap()
    .unwrap()
}

fn comptes(i: &Import) -> [i64; 5] {
    [i.traites, i.crees, i.modifies, i.inchanges, i.rejetes]
}

/// (line, pointer, code) of every rejection of a job.
fn rejets(base: &BaseDeTest, id: &str) -> Vec<(i64, String, String)> {
    let mut conn = base.store.connexion().unwrap();
    imports::rejets(&mut conn, Uuid::parse_str(id).unwrap(), None, 100_000)
        .unwrap()
        .into_iter()
        .map(|r| (r.ligne, r.pointeur, r.code))
        .collect()
}

fn existe(base: &BaseDeTest, ine: &str) -> bool {
    let Ok(ine) = Ine::parse(ine) else { return false };
    onde_store::eleves::id_par_ine(&mut base.store.connexion().unwrap(), &ine)
        .unwrap()
        .is_some()
}

deux_backends! {
    fn comptes_rejets_et_reimport_inchange(base: eleves(300)) {
        let dossier = tempfile::tempdir().unwrap();
        let lignes = elements(base, 230, 10, Vec::new());
        let f = ndjson(dossier.path(), "f.ndjson", &lignes);
        // Chunks of 64 lines: several transactions, the last one partial.
        let i = importer(base, &f, FormatImport::Ndjson, &Perimetre::National, 64, None);
        assert_eq!(i.statut, "termine", "{:?}", i.erreur);
        assert_eq!(i.total, Some(230));
        assert_eq!(comptes(&i), [230, 220, 0, 0, 10]);
        let r = rejets(base, &i.id);
        assert_eq!(r.len(), 10, "{r:?}");
        let codes: std::collections::BTreeSet<&str> = r.iter().map(|x| x.2.as_str()).collect();
        assert_eq!(codes, exemple::CODES_INVALIDES.into_iter().collect());
        for (ligne, pointeur, _) in &r {
            assert!(pointeur.starts_with("/eleve") || pointeur.starts_with("/inscriptions"), "{pointeur}");
            // Nothing of a rejected line is applied.
            let ine = lignes[(*ligne - 1) as usize]["eleve"]["ine"].as_str().unwrap();
            if Ine::parse(ine).is_ok() {
                assert!(!existe(base, ine), "ligne {ligne} rejetée mais appliquée");
            }
        }
        assert!(existe(base, lignes[0]["eleve"]["ine"].as_str().unwrap()));

        // The same file again changes nothing.
        let i = importer(base, &f, FormatImport::Ndjson, &Perimetre::National, 64, None);
        assert_eq!(comptes(&i), [230, 0, 0, 220, 10]);

        // One changed record, one changed inscription, one changed guardian, one illegal transition.
        let mut change = lignes.clone();
        change[0]["eleve"]["nom"] = Value::from("Nouveau-Nom");
        change[1]["inscriptions"][0]["classe"] = Value::from("Classe B");
        change[2]["eleve"]["responsables"][0]["telephone"] = Value::from("0600000000");
        change[3]["inscriptions"][0]["statut"] = Value::from("en_attente");
        let f2 = ndjson(dossier.path(), "f2.ndjson", &change);
        let i = importer(base, &f2, FormatImport::Ndjson, &Perimetre::National, 64, None);
        assert_eq!(comptes(&i), [230, 0, 3, 216, 11]);
        let r = rejets(base, &i.id);
        assert!(r.contains(&(4, "/inscriptions/0/statut".into(), "transition_interdite".into())), "{r:?}");
        let i = importer(base, &f2, FormatImport::Ndjson, &Perimetre::National, 1000, None);
        assert_eq!(comptes(&i), [230, 0, 0, 219, 11]);
    }

    fn csv_et_ndjson_donnent_le_meme_resultat(base: eleves(300)) {
        let dossier = tempfile::tempdir().unwrap();
        let lignes = elements(base, 120, 5, Vec::new());
        let c = csv(dossier.path(), "f.csv", &lignes);
        let n = ndjson(dossier.path(), "f.ndjson", &lignes);
        let ic = importer(base, &c, FormatImport::Csv, &Perimetre::National, 50, None);
        assert_eq!(comptes(&ic), [120, 115, 0, 0, 5], "{:?}", rejets(base, &ic.id));
        // The NDJSON form of the same records finds them all in place.
        let i = importer(base, &n, FormatImport::Ndjson, &Perimetre::National, 50, None);
        assert_eq!(comptes(&i), [120, 0, 0, 115, 5]);
        // Same rejections, same pointers: a CSV line is the NDJSON line + 1 (header).
        let decales: Vec<_> = rejets(base, &ic.id).into_iter().map(|(l, p, c)| (l - 1, p, c)).collect();
        assert_eq!(decales, rejets(base, &i.id));
    }

    fn import_interrompu_tout_ou_rien_par_ligne(base: eleves(300)) {
        let dossier = tempfile::tempdir().unwrap();
        let lignes = elements(base, 200, 0, Vec::new());
        let f = ndjson(dossier.path(), "f.ndjson", &lignes);
        // The worker stops after its first chunk of 70 lines, as a crash would.
        let i = importer(base, &f, FormatImport::Ndjson, &Perimetre::National, 70, Some(1));
        assert_eq!(i.statut, "en_cours");
        assert_eq!(comptes(&i), [70, 70, 0, 0, 0]);
        // Any node sees it silent and marks it failed.
        let mut conn = base.store.connexion().unwrap();
        let plus_tard = chrono::Utc::now().naive_utc() + chrono::Duration::minutes(5);
        assert_eq!(imports::marquer_abandonnes(&mut conn, plus_tard, plus_tard).unwrap(), 1);
        let i = imports::trouver(&mut conn, Uuid::parse_str(&i.id).unwrap()).unwrap().unwrap();
        assert_eq!(i.statut, "echoue");
        assert!(i.erreur.as_deref().unwrap().contains("renvoyez le fichier"));
        // Each line is wholly there (pupil, guardians, inscription) or not at all.
        for (n, l) in lignes.iter().enumerate() {
            let ine = Ine::parse(l["eleve"]["ine"].as_str().unwrap()).unwrap();
            let eleve = onde_store::eleves::trouver_par_ine(&mut conn, &Perimetre::National, &ine).unwrap();
            if n < 70 {
                let e = eleve.unwrap_or_else(|| panic!("ligne {} absente", n + 1));
                assert_eq!(e.responsables.len(), l["eleve"]["responsables"].as_array().unwrap().len());
                let annee = AnneeScolaire::parse(ANNEE).unwrap();
                assert!(onde_store::inscriptions::active(&mut conn, e.id, &annee).unwrap().is_some());
            } else {
                assert!(eleve.is_none(), "ligne {} appliquée après l'arrêt", n + 1);
            }
        }
        drop(conn);
        // Sending the file again completes it.
        let i = importer(base, &f, FormatImport::Ndjson, &Perimetre::National, 70, None);
        assert_eq!(comptes(&i), [200, 130, 0, 70, 0]);
    }

    fn perimetre_d_une_ecole_privee(base: eleves(300)) {
        let ecoles = toutes_les_ecoles(base);
        let (a, b) = (&ecoles[0], &ecoles[1]);
        let dossier = tempfile::tempdir().unwrap();
        let dans_a = elements(base, 20, 0, vec![a.uai.clone()]);
        let f = ndjson(dossier.path(), "a.ndjson", &dans_a);
        let perimetre_b = Perimetre::Restreint { communes: Default::default(), uais: [b.uai.clone()].into() };
        // School B's partner cannot enrol pupils in school A.
        let i = importer(base, &f, FormatImport::Ndjson, &perimetre_b, 50, None);
        assert_eq!(comptes(&i), [20, 0, 0, 0, 20]);
        assert!(rejets(base, &i.id).iter().all(|r| r.2 == "ecole_inconnue"));
        // Created by school A's partner, they are outside school B's perimeter afterwards.
        let perimetre_a = Perimetre::Restreint { communes: Default::default(), uais: [a.uai.clone()].into() };
        let i = importer(base, &f, FormatImport::Ndjson, &perimetre_a, 50, None);
        assert_eq!(comptes(&i), [20, 20, 0, 0, 0]);
        let mut sans_inscription = dans_a.clone();
        for l in &mut sans_inscription {
            l.as_object_mut().unwrap().remove("inscriptions");
        }
        let f = ndjson(dossier.path(), "sans.ndjson", &sans_inscription);
        let i = importer(base, &f, FormatImport::Ndjson, &perimetre_b, 50, None);
        assert_eq!(comptes(&i), [20, 0, 0, 0, 20]);
        assert!(rejets(base, &i.id).iter().all(|r| r.2 == "ine_hors_perimetre" && r.1 == "/eleve/ine"));
    }
}

// The HTTP job resource: idempotent upload, progress, the caller's own jobs only, the report.
deux_backends! {
    fn api_import_idempotent_et_reserve_au_partenaire(base: eleves(300)) {
        executer(async {
            let app = test::init_service(api::app(etat(base))).await;
            let ecole = toutes_les_ecoles(base)
                .into_iter()
                .find(|e| e.type_ecole != onde_domain::TypeEcole::Maternelle)
                .unwrap();
            let uai = ecole.uai.as_str().to_owned();
            let scopes = "ecoles:read eleves:read eleves:write inscriptions:read inscriptions:write";
            let id = partenaire(base, TypePartenaire::EcolePrivee, scopes, &[], &[&uai], &[]);
            let autre = partenaire(base, TypePartenaire::EcolePrivee, scopes, &[], &[&uai], &[]);
            let j = jeton(&app, &id).await;
            let j_autre = jeton(&app, &autre).await;
            let lignes = elements(base, 40, 4, vec![ecole.uai.clone()]);
            let corps: String = lignes.iter().map(|e| format!("{e}\n")).collect();

            let poster = |jeton: String, cle: &'static str, corps: String, type_contenu: &'static str| {
                test::TestRequest::post()
                    .uri("/v1/imports")
                    .insert_header(("Authorization", format!("Bearer {jeton}")))
                    .insert_header(("Content-Type", type_contenu))
                    .insert_header(("Idempotency-Key", cle))
                    .set_payload(corps)
                    .to_request()
            };
            let r = appeler(&app, poster(j.clone(), "cle-1", corps.clone(), "application/x-ndjson")).await;
            assert_eq!(r.statut, 202, "{}", r.texte);
            let id_import = r.corps["id"].as_str().unwrap().to_owned();
            assert_eq!(r.entete("location"), Some(format!("/v1/imports/{id_import}").as_str()));
            // Same key, same file: the same job, nothing started twice.
            let r2 = appeler(&app, poster(j.clone(), "cle-1", corps.clone(), "application/x-ndjson")).await;
            assert_eq!(r2.statut, 202);
            assert_eq!(r2.corps["id"], id_import.as_str());
            assert_eq!(r2.entete("idempotent-replayed"), Some("true"));
            // Same key, another file: refused.
            let r3 = appeler(&app, poster(j.clone(), "cle-1", corps[..corps.len() / 2].to_owned(), "application/x-ndjson")).await;
            assert_probleme(&r3, 422, "cle_idempotence_reutilisee");

            let uri = format!("/v1/imports/{id_import}");
            let mut fin = Value::Null;
            for _ in 0..600 {
                let r = get(&app, &j, &uri).await;
                assert_eq!(r.statut, 200, "{}", r.texte);
                if r.corps["statut"] == "termine" || r.corps["statut"] == "echoue" {
                    fin = r.corps;
                    break;
                }
                actix_web::rt::time::sleep(Duration::from_millis(50)).await;
            }
            assert_eq!(fin["statut"], "termine", "{fin}");
            assert_eq!((fin["total"].as_i64(), fin["crees"].as_i64(), fin["rejetes"].as_i64()), (Some(40), Some(36), Some(4)));
            // Another partner does not see the job, even over the same school.
            assert_probleme(&get(&app, &j_autre, &uri).await, 404, "ressource_introuvable");
            assert_probleme(&get(&app, &j_autre, &format!("{uri}/rejets")).await, 404, "ressource_introuvable");

            // The rejection report, paginated, then as CSV.
            let r = get(&app, &j, &format!("{uri}/rejets?limit=3")).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.corps["elements"].as_array().unwrap().len(), 3);
            let suite = r.corps["lien_suivant"].as_str().unwrap().to_owned();
            let r = get(&app, &j, &suite).await;
            assert_eq!(r.corps["elements"].as_array().unwrap().len(), 1);
            assert!(r.corps["lien_suivant"].is_null());
            let r = get(&app, &j, &format!("{uri}/rejets?format=csv")).await;
            assert_eq!(r.statut, 200);
            assert!(r.entete("content-type").unwrap().starts_with("text/csv"));
            assert!(r.entete("content-disposition").unwrap().contains("attachment"));
            assert_eq!(r.texte.lines().count(), 5, "{}", r.texte);
            assert!(r.texte.starts_with("\u{feff}ligne;pointeur;code;message\r\n"), "{:?}", r.texte);

            // A CSV with an unknown column is refused at once; a wrong type is 415.
            let r = appeler(&app, poster(j.clone(), "cle-2", "ine;couleur\nx;y\n".into(), "text/csv")).await;
            assert_probleme(&r, 422, "contenu_invalide");
            assert_eq!(r.corps["erreurs"][0]["code"], "csv_colonne_inconnue");
            let r = appeler(&app, poster(j.clone(), "cle-3", "{}".into(), "application/json")).await;
            assert_probleme(&r, 415, "type_contenu_non_pris_en_charge");
        });
    }
}

/// What happens to the partner while its import runs.
#[derive(Clone, Copy)]
enum Retrait {
    Revocation,
    Suspension,
    Scope,
    /// The school the job writes in leaves the partner's perimeter (another school instead).
    Perimetre,
}

/// Issue 16, item 4: an import whose partner is revoked, suspended, loses `eleves:write` or the
/// school it writes in while it runs stops at its next chunk and ends `interrompu` with the reason; the chunks
/// committed before stay applied and counted, no later line is applied.
fn interrompu_quand_le_partenaire_perd_le_droit(base: &BaseDeTest, retrait: Retrait, motif: &str) {
    let ecole = toutes_les_ecoles(base)
        .into_iter()
        .find(|e| e.type_ecole != onde_domain::TypeEcole::Maternelle)
        .unwrap();
    let autre = toutes_les_ecoles(base)
        .into_iter()
        .find(|e| e.uai != ecole.uai)
        .unwrap();
    let scopes = "ecoles:read eleves:read eleves:write inscriptions:read inscriptions:write";
    let id = partenaire(
        base,
        TypePartenaire::EcolePrivee,
        scopes,
        &[],
        &[ecole.uai.as_str()],
        &[],
    );
    let mut conn = base.store.connexion().unwrap();
    let stocke = onde_store::partenaires::trouver(&mut conn, id.partenaire_id)
        .unwrap()
        .unwrap();
    let perimetre = stocke
        .partenaire
        .droits(None, onde_domain::Scope::ElevesWrite)
        .unwrap()
        .perimetre;
    let dossier = tempfile::tempdir().unwrap();
    let lignes = elements(base, 200, 0, vec![ecole.uai.clone()]);
    let f = ndjson(dossier.path(), "f.ndjson", &lignes);
    let job = Uuid::now_v7();
    let maintenant = chrono::Utc::now().naive_utc();
    let import = Import::nouveau(
        job,
        Some(id.partenaire_id),
        Some(id.client_id.clone()),
        FormatImport::Ndjson,
        maintenant,
    );
    imports::creer(&mut conn, &import).unwrap();
    let options = OptionsImport {
        taille_tranche: 40,
        ..OptionsImport::default()
    };
    let mut tranches = 0;
    let admin = base.store.clone();
    let mut p = stocke.partenaire.clone();
    let fin = imports::executer(
        &mut conn,
        job,
        &f,
        FormatImport::Ndjson,
        &perimetre,
        &options,
        &mut |_, _| {
            tranches += 1;
            // Two chunks in, the admin acts (between two chunks, as a concurrent request would).
            if tranches == 2 {
                let mut c = admin.connexion().unwrap();
                let maintenant = chrono::Utc::now().naive_utc();
                match retrait {
                    Retrait::Revocation => {
                        assert!(onde_store::partenaires::revoquer(&mut c, p.id, maintenant).unwrap())
                    }
                    Retrait::Suspension => {
                        p.actif = false;
                        assert!(onde_store::partenaires::remplacer(&mut c, &p, maintenant).unwrap());
                    }
                    Retrait::Scope => {
                        p.scopes =
                            onde_domain::Scopes::parse_liste("ecoles:read eleves:read inscriptions:read").unwrap();
                        assert!(onde_store::partenaires::remplacer(&mut c, &p, maintenant).unwrap());
                    }
                    Retrait::Perimetre => {
                        p.uais = [autre.uai.clone()].into();
                        assert!(onde_store::partenaires::remplacer(&mut c, &p, maintenant).unwrap());
                    }
                }
            }
            true
        },
    )
    .unwrap()
    .unwrap();
    assert_eq!(tranches, 2, "aucune tranche après le retrait");
    assert_eq!(fin.statut, "interrompu", "{fin:?}");
    assert_eq!(imports::motif(&mut conn, job).unwrap().map(|m| m.as_str()), Some(motif));
    assert!(fin.fin_le.is_some());
    assert!(
        fin.erreur.as_deref().unwrap().contains("interrompu"),
        "{:?}",
        fin.erreur
    );
    assert_eq!(comptes(&fin), [80, 80, 0, 0, 0]);
    // Exactly the lines counted are in the base: the first 80, none after.
    let presents: Vec<bool> = lignes
        .iter()
        .map(|l| existe(base, l["eleve"]["ine"].as_str().unwrap()))
        .collect();
    assert_eq!(presents.iter().filter(|p| **p).count(), 80);
    assert!(presents[..80].iter().all(|p| *p) && !presents[80..].iter().any(|p| *p));

    // Visible through the API once the partner may read its jobs again.
    if !matches!(retrait, Retrait::Revocation) {
        let mut p = onde_store::partenaires::trouver(&mut conn, id.partenaire_id)
            .unwrap()
            .unwrap()
            .partenaire;
        p.actif = true;
        p.scopes = onde_domain::Scopes::parse_liste(scopes).unwrap();
        assert!(onde_store::partenaires::remplacer(&mut conn, &p, chrono::Utc::now().naive_utc()).unwrap());
        executer(async {
            let app = test::init_service(api::app(etat(base))).await;
            let j = jeton(&app, &id).await;
            let r = get(&app, &j, &format!("/v1/imports/{job}")).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.corps["statut"], "interrompu");
            assert_eq!(r.corps["motif"], motif);
            assert_eq!(
                (r.corps["traites"].as_i64(), r.corps["crees"].as_i64()),
                (Some(80), Some(80))
            );
        });
    }
}

deux_backends! {
    fn import_interrompu_par_la_revocation(base: eleves(300)) {
        interrompu_quand_le_partenaire_perd_le_droit(base, Retrait::Revocation, "partenaire_revoque");
    }

    fn import_interrompu_par_la_suspension(base: eleves(300)) {
        interrompu_quand_le_partenaire_perd_le_droit(base, Retrait::Suspension, "partenaire_suspendu");
    }

    fn import_interrompu_par_le_retrait_du_scope(base: eleves(300)) {
        interrompu_quand_le_partenaire_perd_le_droit(base, Retrait::Scope, "scope_retire");
    }

    fn import_interrompu_par_la_reduction_du_perimetre(base: eleves(300)) {
        interrompu_quand_le_partenaire_perd_le_droit(base, Retrait::Perimetre, "perimetre_reduit");
    }
}

/// A chunk's audit record is written in the chunk's own transaction: every chunk that wrote
/// pupils has its record, and a chunk whose record cannot be written is not applied (a crash
/// between a chunk's commit and its record could otherwise lose the access).
fn audit_dans_la_transaction_de_la_tranche(base: &BaseDeTest) {
    let dossier = tempfile::tempdir().unwrap();
    let lignes = elements(base, 130, 0, Vec::new());
    let f = ndjson(dossier.path(), "f.ndjson", &lignes);
    let note: imports::NoteAudit = std::sync::Arc::new(|ecrits: &[Uuid]| {
        (!ecrits.is_empty()).then(|| onde_store::audit::NouvelleEntree {
            horodatage: chrono::Utc::now().naive_utc(),
            partenaire_id: "essai".into(),
            client_id: "essai".into(),
            pour_le_compte_de: None,
            operation: "importer_eleves".into(),
            scope: "eleves:write".into(),
            eleves: ecrits.iter().map(Uuid::to_string).collect::<Vec<_>>().join(" "),
            nombre: i32::try_from(ecrits.len()).unwrap(),
            id_requete: "essai".into(),
        })
    });
    let executer = |fichier: &Path| {
        let mut conn = base.store.connexion().unwrap();
        let id = Uuid::now_v7();
        imports::creer(
            &mut conn,
            &Import::nouveau(id, None, None, FormatImport::Ndjson, chrono::Utc::now().naive_utc()),
        )
        .unwrap();
        let options = OptionsImport {
            taille_tranche: 50,
            audit: Some(note.clone()),
            ..OptionsImport::default()
        };
        imports::executer(
            &mut conn,
            id,
            fichier,
            FormatImport::Ndjson,
            &Perimetre::National,
            &options,
            &mut |_, _| true,
        )
        .unwrap()
        .unwrap()
    };
    let audites = || -> Vec<String> {
        use diesel::prelude::*;
        use onde_store::schema::audit;
        let mut conn = base.store.connexion().unwrap();
        onde_store::par_backend!(&mut *conn, c => audit::table.filter(audit::operation.eq("importer_eleves")).select(audit::eleves).load::<String>(c))
            .unwrap()
    };
    // The audit table refuses inserts: the first chunk rolls back, nothing is written.
    piste_en_panne(base);
    let i = executer(&f);
    assert_eq!(i.statut, "echoue", "{i:?}");
    assert_eq!(i.crees, 0, "{i:?}");
    assert!(
        lignes
            .iter()
            .all(|l| !existe(base, l["eleve"]["ine"].as_str().unwrap())),
        "aucun élève sans sa trace"
    );
    reparer_la_piste(base);
    // Accepted again: three chunks, three records naming exactly the pupils written.
    let i = executer(&f);
    assert_eq!(i.statut, "termine", "{:?}", i.erreur);
    assert_eq!(i.crees, 130);
    let traces = audites();
    assert_eq!(traces.len(), 3, "{traces:?}");
    let ids: std::collections::BTreeSet<&str> = traces.iter().flat_map(|t| t.split(' ')).collect();
    assert_eq!(ids.len(), 130);
}

deux_backends! {
    fn audit_des_tranches_dans_leur_transaction(base: eleves(300)) {
        audit_dans_la_transaction_de_la_tranche(base);
    }
}
