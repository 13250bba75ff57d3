//! The property test itself: random sequences of actions on both backends, each answer checked
//! against the model.

use super::modele::{appliquer, prevoir};
use super::*;

fn cas(base: &BaseDeTest, nombre: u32) {
    let ecoles = toutes_les_ecoles(base);
    // The perimeter leaves out the last commune: its schools are unknown to the caller.
    let mut communes: Vec<String> = ecoles.iter().map(|e| e.commune.as_str().to_owned()).collect();
    communes.sort();
    communes.dedup();
    let exclue = communes.pop().unwrap();
    let refs: Vec<&str> = communes.iter().map(String::as_str).collect();
    let mairie = partenaire(
        base,
        onde_domain::TypePartenaire::Mairie,
        "inscriptions:read inscriptions:write",
        &refs,
        &[],
        &[],
    );
    let monde = Monde {
        visibles: ecoles.iter().map(|e| e.commune.as_str() != exclue).collect(),
        ecoles,
    };
    let rt = actix_web::rt::System::new();
    let app = rt.block_on(test::init_service(api::app(etat(base))));
    let j = rt.block_on(jeton(&app, &mairie));

    let config = Config {
        cases: nombre,
        failure_persistence: None,
        ..Config::default()
    };
    // A fixed seed: the status-coverage check below must not depend on the luck of a few
    // random sequences (with 4 cases on PostgreSQL it sometimes saw no 412).
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let strategie = proptest::collection::vec(action(monde.ecoles.len()), 1..40);
    // Answers by status over all cases: the sequences must exercise successes and refusals.
    let bilan = std::cell::RefCell::new(BTreeMap::<u16, usize>::new());
    let resultat = runner.run(&strategie, |actions| {
        let eleves: Vec<String> = NAISSANCES
            .iter()
            .map(|n| {
                let mut d = dossier(&nom_unique("Prop"));
                d["date_naissance"] = json!(n);
                eleve_direct(base, &d)
            })
            .collect();
        let mut modele: Vec<Modele> = Vec::new();
        let mut avant = en_base_pour(base, &eleves);
        for (pas, a) in actions.iter().enumerate() {
            let (attendu, requete) = prevoir(&monde, &modele, &eleves, a, pas);
            let r = match &requete {
                Some((uri, corps, si)) => {
                    let entetes: Vec<(&str, &str)> = si.iter().map(|v| ("If-Match", v.as_str())).collect();
                    rt.block_on(poster(&app, &j, uri, corps, &entetes))
                }
                None => continue,
            };
            *bilan.borrow_mut().entry(r.statut.as_u16()).or_insert(0) += 1;
            let contexte = format!("pas {pas} {a:?}\n{}", r.texte);
            match &attendu {
                Attendu::Succes(s) => {
                    prop_assert_eq!(r.statut.as_u16(), *s, "{}", contexte);
                    appliquer(&monde, &mut modele, a, &r, pas);
                    let m = modele
                        .iter()
                        .find(|m| m.id == r.corps["id"].as_str().unwrap_or(""))
                        .unwrap();
                    prop_assert_eq!(r.corps["statut"].as_str(), Some(m.statut.as_str()), "{}", contexte);
                    prop_assert_eq!(
                        r.corps["admission_provisoire"].as_bool(),
                        Some(m.provisoire),
                        "{}",
                        contexte
                    );
                    prop_assert_eq!(r.corps["niveau"].as_str(), Some(m.niveau.as_str()), "{}", contexte);
                    prop_assert_eq!(r.corps["uai"].as_str(), Some(m.uai.as_str()), "{}", contexte);
                    prop_assert_eq!(
                        r.corps["date_admission"].as_str(),
                        m.date_admission.as_deref(),
                        "{}",
                        contexte
                    );
                    prop_assert_eq!(
                        r.corps["date_radiation"].as_str(),
                        m.date_radiation.as_deref(),
                        "{}",
                        contexte
                    );
                    prop_assert_eq!(r.corps["motif_radiation"].as_str(), m.motif.as_deref(), "{}", contexte);
                    let etag = format!("\"v{}\"", m.version);
                    prop_assert_eq!(r.entete("etag"), Some(etag.as_str()), "{}", contexte);
                }
                Attendu::Probleme(s, code) => {
                    prop_assert_eq!(r.statut.as_u16(), *s, "{}", contexte);
                    prop_assert_eq!(r.corps["code"].as_str(), Some(*code), "{}", contexte);
                }
                Attendu::Transition(statut) => {
                    prop_assert_eq!(r.statut.as_u16(), 409, "{}", contexte);
                    prop_assert_eq!(r.corps["code"].as_str(), Some("transition_interdite"), "{}", contexte);
                    prop_assert_eq!(r.corps["statut_actuel"].as_str(), Some(statut.as_str()), "{}", contexte);
                    let donnees: Vec<&str> = r.corps["transitions_autorisees"]
                        .as_array()
                        .map(|v| v.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    let mut donnees = donnees;
                    donnees.sort_unstable();
                    let mut attendues = autorisees(statut).to_vec();
                    attendues.sort_unstable();
                    prop_assert_eq!(donnees, attendues, "{}", contexte);
                }
                Attendu::Regle(code) => {
                    prop_assert_eq!(r.statut.as_u16(), 422, "{}", contexte);
                    prop_assert_eq!(r.corps["code"].as_str(), Some("contenu_invalide"), "{}", contexte);
                    prop_assert_eq!(r.corps["erreurs"][0]["code"].as_str(), Some(*code), "{}", contexte);
                }
            }
            let apres = en_base_pour(base, &eleves);
            invariants(&avant, &apres)?;
            let stocke: Vec<Modele> = apres.values().cloned().collect();
            let mut attendu_modele = modele.clone();
            attendu_modele.sort_by(|a, b| a.id.cmp(&b.id));
            prop_assert_eq!(
                stocke,
                attendu_modele,
                "la base suit le modèle après le pas {} {:?}",
                pas,
                a
            );
            avant = apres;
        }
        Ok(())
    });
    if let Err(e) = resultat {
        panic!("{e}");
    }
    let bilan = bilan.into_inner();
    eprintln!("réponses par statut : {bilan:?}");
    for s in [200, 201, 409, 412, 422] {
        assert!(
            bilan.get(&s).copied().unwrap_or(0) > 0,
            "aucune réponse {s} : {bilan:?}"
        );
    }
}

deux_backends! {
    fn sequences_aleatoires_du_workflow(base: ecritures()) {
        let nombre = match base.store.backend() {
            onde_store::Backend::Sqlite => 16,
            onde_store::Backend::Postgres => 4,
        };
        cas(base, nombre);
    }
}
