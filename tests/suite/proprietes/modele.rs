//! The model of the property test: the expected answer of each action, and the model updated by the answer.

use super::*;

fn date_du_pas(pas: usize) -> String {
    format!("2028-{:02}-{:02}", 9 + pas / 28 % 4, 1 + pas % 28)
}

/// The expected answer and the request to send (`None`: nothing to target yet).
#[allow(clippy::type_complexity)]
pub(super) fn prevoir(
    monde: &Monde,
    modele: &[Modele],
    eleves: &[String],
    a: &Action,
    pas: usize,
) -> (Attendu, Option<(String, Value, Option<String>)>) {
    if let Action::Creer {
        eleve,
        ecole,
        annee,
        niveau,
    } = *a
    {
        let e = &monde.ecoles[ecole];
        let (annee, niveau) = (ANNEES[annee], NIVEAUX[niveau]);
        let corps = json!({
            "eleve_id": eleves[eleve], "uai": e.uai.as_str(), "annee_scolaire": annee, "niveau": niveau,
            "date_inscription": "2028-03-01"
        });
        let attendu = if !monde.visibles[ecole] {
            Attendu::Regle("ecole_inconnue")
        } else if !accueille(e.type_ecole, niveau) {
            Attendu::Regle("niveau_non_accueilli")
        } else if !age_coherent(NAISSANCES[eleve], niveau, annee) {
            Attendu::Regle("age_incoherent_niveau")
        } else if modele
            .iter()
            .any(|m| m.eleve == eleve && m.annee == annee && m.statut != "radie")
        {
            Attendu::Probleme(409, "inscription_active_existante")
        } else {
            Attendu::Succes(201)
        };
        return (attendu, Some(("/v1/inscriptions".into(), corps, None)));
    }
    let (cible, si) = match *a {
        Action::Admission { cible, si, .. }
        | Action::Admissibilite { cible, si }
        | Action::Definitive { cible, si }
        | Action::Radiation { cible, si }
        | Action::ChangementEcole { cible, si, .. }
        | Action::ChangementNiveau { cible, si, .. } => (cible, si),
        Action::Creer { .. } => unreachable!(),
    };
    if modele.is_empty() {
        return (Attendu::Succes(0), None);
    }
    let m = &modele[cible % modele.len()];
    let si = match si {
        SiMatch::Aucun => None,
        SiMatch::Courant => Some(format!("\"v{}\"", m.version)),
        SiMatch::Perime => Some(format!("\"v{}\"", m.version + 1 + (pas as i64 % 2) * -2)),
    };
    let perime = matches!(si.as_deref(), Some(v) if *v != format!("\"v{}\"", m.version));
    let date = date_du_pas(pas);
    let ecole_de = |uai: &str| monde.ecoles.iter().find(|e| e.uai.as_str() == uai).unwrap();
    let actif = m.statut != "radie";
    let (op, corps, attendu) = match *a {
        Action::Admission { provisoire, .. } => (
            "admission",
            json!({"provisoire": provisoire, "date": date}),
            if ["inscrit", "admissibilite"].contains(&m.statut.as_str()) {
                Attendu::Succes(200)
            } else {
                Attendu::Transition(m.statut.clone())
            },
        ),
        Action::Admissibilite { .. } => (
            "admissibilite",
            json!({}),
            if m.statut == "inscrit" {
                Attendu::Succes(200)
            } else {
                Attendu::Transition(m.statut.clone())
            },
        ),
        Action::Definitive { .. } => (
            "admission_definitive",
            json!({"date": date}),
            if m.statut == "admis" {
                Attendu::Succes(200)
            } else {
                Attendu::Transition(m.statut.clone())
            },
        ),
        Action::Radiation { .. } => (
            "radiation",
            json!({"date": date, "motif": format!("motif-{pas}")}),
            if actif {
                Attendu::Succes(200)
            } else {
                Attendu::Transition(m.statut.clone())
            },
        ),
        Action::ChangementEcole { ecole, .. } => {
            let e = &monde.ecoles[ecole];
            let attendu = if e.uai.as_str() == m.uai {
                Attendu::Regle("meme_ecole")
            } else if !monde.visibles[ecole] {
                Attendu::Regle("ecole_inconnue")
            } else if !accueille(e.type_ecole, &m.niveau) {
                Attendu::Regle("niveau_non_accueilli")
            } else if !actif {
                Attendu::Transition(m.statut.clone())
            } else {
                Attendu::Succes(201)
            };
            (
                "changement_ecole",
                json!({"uai": e.uai.as_str(), "date": date}),
                attendu,
            )
        }
        Action::ChangementNiveau { niveau, .. } => {
            let n = NIVEAUX[niveau];
            let attendu = if !actif {
                Attendu::Transition(m.statut.clone())
            } else if !accueille(ecole_de(&m.uai).type_ecole, n) {
                Attendu::Regle("niveau_non_accueilli")
            } else if !age_coherent(NAISSANCES[m.eleve], n, &m.annee) {
                Attendu::Regle("age_incoherent_niveau")
            } else {
                Attendu::Succes(200)
            };
            ("changement_niveau", json!({"niveau": n}), attendu)
        }
        Action::Creer { .. } => unreachable!(),
    };
    let attendu = if perime {
        Attendu::Probleme(412, "version_perimee")
    } else {
        attendu
    };
    (attendu, Some((format!("/v1/inscriptions/{}/{op}", m.id), corps, si)))
}

/// Applies a successful action to the model (`r`: the API's answer, for new ids).
pub(super) fn appliquer(monde: &Monde, modele: &mut Vec<Modele>, a: &Action, r: &Reponse, pas: usize) {
    let date = date_du_pas(pas);
    if let Action::Creer {
        eleve,
        ecole,
        annee,
        niveau,
    } = *a
    {
        modele.push(Modele {
            id: r.corps["id"].as_str().unwrap().to_owned(),
            eleve,
            uai: monde.ecoles[ecole].uai.as_str().to_owned(),
            annee: ANNEES[annee].to_owned(),
            niveau: NIVEAUX[niveau].to_owned(),
            statut: "inscrit".into(),
            provisoire: false,
            date_admission: None,
            date_radiation: None,
            motif: None,
            version: 1,
        });
        return;
    }
    let n = modele.len();
    let cible = match *a {
        Action::Admission { cible, .. }
        | Action::Admissibilite { cible, .. }
        | Action::Definitive { cible, .. }
        | Action::Radiation { cible, .. }
        | Action::ChangementEcole { cible, .. }
        | Action::ChangementNiveau { cible, .. } => cible % n,
        Action::Creer { .. } => unreachable!(),
    };
    let m = &mut modele[cible];
    m.version += 1;
    match *a {
        Action::Admission { provisoire, .. } => {
            m.statut = "admis".into();
            m.provisoire = provisoire;
            m.date_admission = Some(date);
        }
        Action::Admissibilite { .. } => m.statut = "admissibilite".into(),
        Action::Definitive { .. } => {
            m.statut = "admis_definitif".into();
            m.provisoire = false;
            // The request always sends a date: an explicit date wins over the admission's.
            m.date_admission = Some(date);
        }
        Action::Radiation { .. } => {
            m.statut = "radie".into();
            m.provisoire = false;
            m.date_radiation = Some(date);
            m.motif = Some(format!("motif-{pas}"));
        }
        Action::ChangementNiveau { niveau, .. } => m.niveau = NIVEAUX[niveau].to_owned(),
        Action::ChangementEcole { ecole, .. } => {
            m.statut = "radie".into();
            m.provisoire = false;
            m.date_radiation = Some(date);
            m.motif = Some("changement_ecole".into());
            let nouvelle = Modele {
                id: r.corps["id"].as_str().unwrap().to_owned(),
                uai: monde.ecoles[ecole].uai.as_str().to_owned(),
                statut: "inscrit".into(),
                provisoire: false,
                date_admission: None,
                date_radiation: None,
                motif: None,
                version: 1,
                ..m.clone()
            };
            modele.push(nouvelle);
        }
        Action::Creer { .. } => unreachable!(),
    }
}
