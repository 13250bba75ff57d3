//! The enrolment workflow through the API, on SQLite and PostgreSQL: every (status, operation)
//! pair succeeds exactly when DOMAIN.md's state machine allows it, with the right status,
//! flags, dates and versions; an illegal one is a 409 naming the current status and the
//! allowed ones, and changes nothing. Change of school and of niveau, If-Match.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use crate::commun::*;
use crate::ecritures::*;
use onde_domain::{Niveau, StatutInscription};
use onde_store::testing::BaseDeTest;
use serde_json::{json, Value};

/// Starting points of the matrix: the six statuses, `admis` with and without the flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Depart {
    EnAttente,
    Inscrit,
    Admissibilite,
    Admis,
    AdmisProvisoire,
    AdmisDefinitif,
    Radie,
}

impl Depart {
    fn statut(self) -> &'static str {
        match self {
            Depart::EnAttente => "en_attente",
            Depart::Inscrit => "inscrit",
            Depart::Admissibilite => "admissibilite",
            Depart::Admis | Depart::AdmisProvisoire => "admis",
            Depart::AdmisDefinitif => "admis_definitif",
            Depart::Radie => "radie",
        }
    }
}

/// DOMAIN.md's state machine, written independently of the domain crate.
fn autorisees(statut: &str) -> BTreeSet<&'static str> {
    let v: &[&str] = match statut {
        "en_attente" => &["inscrit", "radie"],
        "inscrit" => &["admissibilite", "admis", "radie"],
        "admissibilite" => &["admis", "radie"],
        "admis" => &["admis_definitif", "radie"],
        "admis_definitif" => &["radie"],
        "radie" => &[],
        autre => panic!("statut {autre}"),
    };
    v.iter().copied().collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Admission,
    Admissibilite,
    AdmissionDefinitive,
    Radiation,
    ChangementEcole,
    ChangementNiveau,
}

impl Op {
    fn chemin(self) -> &'static str {
        match self {
            Op::Admission => "admission",
            Op::Admissibilite => "admissibilite",
            Op::AdmissionDefinitive => "admission_definitive",
            Op::Radiation => "radiation",
            Op::ChangementEcole => "changement_ecole",
            Op::ChangementNiveau => "changement_niveau",
        }
    }

    /// Whether the state machine allows the operation from `statut`: a change of school is a
    /// radiation plus a new inscription; a change of niveau keeps the status of an active one.
    fn permise(self, statut: &str) -> bool {
        let a = autorisees(statut);
        match self {
            Op::Admission => a.contains("admis"),
            Op::Admissibilite => a.contains("admissibilite"),
            Op::AdmissionDefinitive => a.contains("admis_definitif"),
            Op::Radiation | Op::ChangementEcole => a.contains("radie"),
            Op::ChangementNiveau => statut != "radie",
        }
    }
}

const DATE_ADMISSION: &str = "2028-09-02";

/// Brings a new inscription (CP in `m.cp`, a new pupil) to `depart` through the API (en_attente,
/// which no operation produces, is written in the store). Returns (id, version, pupil id).
async fn amener<S, B>(app: &S, j: &str, base: &BaseDeTest, m: &Monde, depart: Depart) -> (String, i64, String)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    if depart == Depart::EnAttente {
        let eleve = eleve_direct(base, &dossier(&nom_unique("Attente")));
        let id = inscription_directe(
            base,
            &eleve,
            m.cp.uai.as_str(),
            ANNEE,
            Niveau::Cp,
            StatutInscription::EnAttente,
        );
        return (id, 1, eleve);
    }
    let r = poster(
        app,
        j,
        "/v1/inscriptions",
        &creation_nouvel_eleve(dossier(&nom_unique("Parcours")), m.cp.uai.as_str()),
        &[],
    )
    .await;
    assert_eq!(r.statut, 201, "{}", r.texte);
    let id = r.corps["id"].as_str().unwrap().to_owned();
    let eleve = r.corps["eleve"]["id"].as_str().unwrap().to_owned();
    let etapes: &[(&str, Value)] = match depart {
        Depart::EnAttente | Depart::Inscrit => &[],
        Depart::Admissibilite => &[("admissibilite", json!({}))],
        Depart::Admis => &[("admission", json!({"provisoire": false, "date": DATE_ADMISSION}))],
        Depart::AdmisProvisoire => &[("admission", json!({"provisoire": true, "date": DATE_ADMISSION}))],
        Depart::AdmisDefinitif => &[
            ("admission", json!({"provisoire": true, "date": DATE_ADMISSION})),
            ("admission_definitive", json!({})),
        ],
        Depart::Radie => &[("radiation", json!({"date": "2028-09-05", "motif": "demenagement"}))],
    };
    for (op, corps) in etapes {
        let r = operer(app, j, &id, op, corps, &[]).await;
        assert_eq!(r.statut, 200, "{op} : {}", r.texte);
    }
    let (i, version) = en_base(base, &id);
    assert_eq!(i.statut.as_str(), depart.statut());
    assert_eq!(i.admission_provisoire, depart == Depart::AdmisProvisoire);
    (id, version, eleve)
}

fn corps_de(op: Op, m: &Monde) -> Value {
    match op {
        Op::Admission => json!({"provisoire": true, "date": "2028-09-03"}),
        Op::Admissibilite => json!({}),
        Op::AdmissionDefinitive => json!({"date": "2028-10-05"}),
        Op::Radiation => json!({"date": "2028-10-06", "motif": "demenagement"}),
        Op::ChangementEcole => json!({"uai": m.cp_voisine.uai.as_str(), "date": "2028-10-07"}),
        Op::ChangementNiveau => json!({"niveau": "CE1"}),
    }
}

/// One cell of the matrix.
fn transition(base: &BaseDeTest, depart: Depart, op: Op) {
    let m = monde(base);
    executer(async {
        let app = service(etat(base)).await;
        let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
        let (id, version, eleve) = amener(&app, &j, base, &m, depart).await;
        let (avant, _) = en_base(base, &id);
        let comptes = compter(base);
        let etag = format!("\"v{version}\"");
        let r = operer(&app, &j, &id, op.chemin(), &corps_de(op, &m), &[("If-Match", &etag)]).await;
        let statut = depart.statut();

        if !op.permise(statut) {
            assert_probleme(&r, 409, "transition_interdite");
            assert_eq!(r.corps["statut_actuel"], statut, "{}", r.texte);
            let donnees: BTreeSet<&str> = r.corps["transitions_autorisees"]
                .as_array()
                .unwrap_or_else(|| panic!("transitions_autorisees absent : {}", r.texte))
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect();
            assert_eq!(donnees, autorisees(statut), "{}", r.texte);
            assert!(r.corps["detail"].as_str().unwrap().contains(statut), "{}", r.texte);
            assert_eq!(en_base(base, &id), (avant, version), "rien ne change");
            assert_eq!(compter(base), comptes);
            return;
        }

        let attendu_statut = if op == Op::ChangementEcole { 201 } else { 200 };
        assert_eq!(r.statut.as_u16(), attendu_statut, "{depart:?} {op:?} : {}", r.texte);
        let (apres, nouvelle_version) = en_base(base, &id);
        assert_eq!(nouvelle_version, version + 1);
        // Unchanged by every operation.
        assert_eq!(apres.eleve_id, avant.eleve_id);
        assert_eq!(apres.annee_scolaire, avant.annee_scolaire);
        assert_eq!(apres.date_inscription, avant.date_inscription);
        assert_eq!(apres.classe, avant.classe);
        if op != Op::ChangementEcole {
            assert_eq!(r.entete("etag"), Some(format!("\"v{}\"", version + 1).as_str()));
            assert!(r.entete("location").is_none());
            assert_eq!(r.corps["id"], id.as_str());
            // What a read returns now.
            let lu = get(&app, &j, &format!("/v1/inscriptions/{id}")).await;
            assert_eq!(lu.corps, r.corps);
            assert_eq!(lu.entete("etag"), r.entete("etag"));
            assert_eq!(compter(base), comptes, "aucune ligne créée");
        }
        let jour = |s: &str| Some(date(s));
        match op {
            Op::Admission => {
                assert_eq!(apres.statut, StatutInscription::Admis);
                assert!(apres.admission_provisoire, "admission provisoire demandée");
                assert_eq!(apres.date_admission, jour("2028-09-03"));
                assert_eq!((apres.date_radiation, apres.motif_radiation.clone()), (None, None));
                assert_eq!(r.corps["admission_provisoire"], true);
            }
            Op::Admissibilite => {
                assert_eq!(apres.statut, StatutInscription::Admissibilite);
                assert!(!apres.admission_provisoire);
                assert_eq!(apres.date_admission, None);
            }
            Op::AdmissionDefinitive => {
                assert_eq!(apres.statut, StatutInscription::AdmisDefinitif);
                assert!(!apres.admission_provisoire, "l'admission définitive lève le drapeau");
                assert_eq!(r.corps["admission_provisoire"], false);
                // The request gives a date: an explicit date wins (without one, the admission's stays).
                assert_eq!(apres.date_admission, jour("2028-10-05"));
            }
            Op::Radiation => {
                assert_eq!(apres.statut, StatutInscription::Radie);
                assert!(!apres.admission_provisoire);
                assert_eq!(apres.date_radiation, jour("2028-10-06"));
                assert_eq!(apres.motif_radiation.as_deref(), Some("demenagement"));
                assert_eq!(apres.date_admission, avant.date_admission);
                assert_eq!(r.corps["statut"], "radie");
            }
            Op::ChangementNiveau => {
                assert_eq!(apres.niveau, Niveau::Ce1);
                assert_eq!(apres.statut, avant.statut, "le statut ne bouge pas");
                assert_eq!(apres.admission_provisoire, avant.admission_provisoire);
                assert_eq!(apres.date_admission, avant.date_admission);
                assert_eq!(r.corps["niveau"], "CE1");
            }
            Op::ChangementEcole => {
                assert_eq!(apres.statut, StatutInscription::Radie);
                assert!(!apres.admission_provisoire);
                assert_eq!(apres.date_radiation, jour("2028-10-07"));
                assert_eq!(apres.motif_radiation.as_deref(), Some("changement_ecole"));
                assert_eq!(apres.uai, avant.uai, "l'ancienne reste dans son école");
                let nouvelle = r.corps["id"].as_str().unwrap();
                assert_ne!(nouvelle, id);
                assert_eq!(
                    r.entete("location"),
                    Some(format!("/v1/inscriptions/{nouvelle}").as_str())
                );
                assert_eq!(r.entete("etag"), Some("\"v1\""));
                assert_eq!(r.corps["statut"], "inscrit");
                assert_eq!(r.corps["uai"], m.cp_voisine.uai.as_str());
                assert_eq!(r.corps["annee_scolaire"], ANNEE);
                assert_eq!(r.corps["niveau"], "CP");
                assert_eq!(r.corps["eleve"]["id"], eleve.as_str());
                assert_eq!(r.corps["date_inscription"], "2028-10-07");
                assert_eq!(r.corps["admission_provisoire"], false);
                assert!(r.corps["date_admission"].is_null() && r.corps["date_radiation"].is_null());
                let (n, v) = en_base(base, nouvelle);
                assert_eq!((n.statut, v), (StatutInscription::Inscrit, 1));
                let lu = get(&app, &j, r.entete("location").unwrap()).await;
                assert_eq!(lu.corps, r.corps);
                let c = compter(base);
                assert_eq!(c.inscriptions, comptes.inscriptions + 1);
                assert_eq!(c.eleves, comptes.eleves, "même élève");
                let actives: Vec<_> = inscriptions_de(base, &eleve)
                    .into_iter()
                    .filter(|i| i.statut != StatutInscription::Radie && i.annee_scolaire.as_str() == ANNEE)
                    .collect();
                assert_eq!(actives.len(), 1);
                assert_eq!(actives[0].id.to_string(), nouvelle);
            }
        }
    });
}

/// One test per (status, operation) pair, each on both backends.
macro_rules! matrice {
    ($($nom:ident: $depart:ident, $op:ident;)*) => {
        deux_backends! {
            $( fn $nom(base: ecritures()) { transition(base, Depart::$depart, Op::$op); } )*
        }
    };
}

matrice! {
    en_attente_admission: EnAttente, Admission;
    en_attente_admissibilite: EnAttente, Admissibilite;
    en_attente_admission_definitive: EnAttente, AdmissionDefinitive;
    en_attente_radiation: EnAttente, Radiation;
    en_attente_changement_ecole: EnAttente, ChangementEcole;
    en_attente_changement_niveau: EnAttente, ChangementNiveau;
    inscrit_admission: Inscrit, Admission;
    inscrit_admissibilite: Inscrit, Admissibilite;
    inscrit_admission_definitive: Inscrit, AdmissionDefinitive;
    inscrit_radiation: Inscrit, Radiation;
    inscrit_changement_ecole: Inscrit, ChangementEcole;
    inscrit_changement_niveau: Inscrit, ChangementNiveau;
    admissibilite_admission: Admissibilite, Admission;
    admissibilite_admissibilite: Admissibilite, Admissibilite;
    admissibilite_admission_definitive: Admissibilite, AdmissionDefinitive;
    admissibilite_radiation: Admissibilite, Radiation;
    admissibilite_changement_ecole: Admissibilite, ChangementEcole;
    admissibilite_changement_niveau: Admissibilite, ChangementNiveau;
    admis_admission: Admis, Admission;
    admis_admissibilite: Admis, Admissibilite;
    admis_admission_definitive: Admis, AdmissionDefinitive;
    admis_radiation: Admis, Radiation;
    admis_changement_ecole: Admis, ChangementEcole;
    admis_changement_niveau: Admis, ChangementNiveau;
    admis_provisoire_admission: AdmisProvisoire, Admission;
    admis_provisoire_admissibilite: AdmisProvisoire, Admissibilite;
    admis_provisoire_admission_definitive: AdmisProvisoire, AdmissionDefinitive;
    admis_provisoire_radiation: AdmisProvisoire, Radiation;
    admis_provisoire_changement_ecole: AdmisProvisoire, ChangementEcole;
    admis_provisoire_changement_niveau: AdmisProvisoire, ChangementNiveau;
    admis_definitif_admission: AdmisDefinitif, Admission;
    admis_definitif_admissibilite: AdmisDefinitif, Admissibilite;
    admis_definitif_admission_definitive: AdmisDefinitif, AdmissionDefinitive;
    admis_definitif_radiation: AdmisDefinitif, Radiation;
    admis_definitif_changement_ecole: AdmisDefinitif, ChangementEcole;
    admis_definitif_changement_niveau: AdmisDefinitif, ChangementNiveau;
    radie_admission: Radie, Admission;
    radie_admissibilite: Radie, Admissibilite;
    radie_admission_definitive: Radie, AdmissionDefinitive;
    radie_radiation: Radie, Radiation;
    radie_changement_ecole: Radie, ChangementEcole;
    radie_changement_niveau: Radie, ChangementNiveau;
}

deux_backends! {
    // The whole path of one pupil: inscription, admissibilité, provisional admission,
    // definitive admission, then radiation; each answer carries the next version.
    fn parcours_complet(base: ecritures()) {
        let m = monde(base);
        executer(async {
            let app = service(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let corps = creation_nouvel_eleve(dossier(&nom_unique("Complet")), m.cp.uai.as_str());
            let r = poster(&app, &j, "/v1/inscriptions", &corps, &[]).await;
            assert_eq!(r.statut, 201, "{}", r.texte);
            assert_eq!(r.entete("etag"), Some("\"v1\""));
            let id = r.corps["id"].as_str().unwrap().to_owned();
            assert_eq!(r.entete("location"), Some(format!("/v1/inscriptions/{id}").as_str()));
            assert_eq!(r.corps["statut"], "inscrit");
            assert_eq!(r.corps["classe"], "CP-A");
            assert_eq!(r.corps["dispositif"], "ULIS");
            assert_eq!(r.corps["date_inscription"], "2028-03-02");
            assert_eq!(r.corps["eleve"]["nom"], corps["eleve"]["nom"]);
            let lu = get(&app, &j, &format!("/v1/inscriptions/{id}")).await;
            assert_eq!((lu.corps.clone(), lu.entete("etag")), (r.corps.clone(), Some("\"v1\"")));

            for (n, (op, c, statut)) in [
                ("admissibilite", json!({}), "admissibilite"),
                ("admission", json!({"provisoire": true, "date": "2028-09-01"}), "admis"),
                ("admission_definitive", json!({}), "admis_definitif"),
                ("radiation", json!({"date": "2029-02-10", "motif": "demenagement"}), "radie"),
            ]
            .into_iter()
            .enumerate()
            {
                let etag = format!("\"v{}\"", n + 1);
                let r = operer(&app, &j, &id, op, &c, &[("If-Match", &etag)]).await;
                assert_eq!(r.statut, 200, "{op} : {}", r.texte);
                assert_eq!(r.corps["statut"], statut);
                assert_eq!(r.entete("etag"), Some(format!("\"v{}\"", n + 2).as_str()));
            }
            let (i, v) = en_base(base, &id);
            assert_eq!(v, 5);
            assert_eq!(i.date_admission, Some(date("2028-09-01")));
            assert_eq!(i.date_radiation, Some(date("2029-02-10")));
            assert!(!i.admission_provisoire);
        });
    }

    // A stale If-Match is refused with 412 and changes nothing; the current one, a weak one
    // and `*` are accepted.
    fn si_match(base: ecritures()) {
        let m = monde(base);
        executer(async {
            let app = service(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let corps = creation_nouvel_eleve(dossier(&nom_unique("Version")), m.cp.uai.as_str());
            let id = poster(&app, &j, "/v1/inscriptions", &corps, &[]).await.corps["id"].as_str().unwrap().to_owned();
            let r = operer(&app, &j, &id, "admissibilite", &json!({}), &[("If-Match", "\"v1\"")]).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.entete("etag"), Some("\"v2\""));

            let avant = en_base(base, &id);
            for (op, c) in [
                ("admission", json!({"provisoire": true})),
                ("radiation", json!({"date": "2028-10-01", "motif": "demenagement"})),
                ("changement_ecole", json!({"uai": m.cp_voisine.uai.as_str()})),
                ("changement_niveau", json!({"niveau": "CE1"})),
            ] {
                for perimee in ["\"v1\"", "\"v3\"", "W/\"v1\""] {
                    let comptes = compter(base);
                    let r = operer(&app, &j, &id, op, &c, &[("If-Match", perimee)]).await;
                    assert_probleme(&r, 412, "version_perimee");
                    assert!(r.corps["detail"].as_str().unwrap().contains("\"v2\""), "{}", r.texte);
                    assert_eq!(en_base(base, &id), avant, "{op} {perimee} : rien ne change");
                    assert_eq!(compter(base), comptes);
                }
            }
            let r = operer(&app, &j, &id, "changement_niveau", &json!({"niveau": "CE1"}), &[("If-Match", "W/\"v2\"")]).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.entete("etag"), Some("\"v3\""));
            let r = operer(&app, &j, &id, "admission", &json!({}), &[("If-Match", "*")]).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.entete("etag"), Some("\"v4\""));
            assert_eq!(r.corps["admission_provisoire"], false);
            let r = operer(&app, &j, &id, "admission_definitive", &json!({}), &[]).await;
            assert_eq!(r.entete("etag"), Some("\"v5\""), "sans If-Match : pas de précondition");
        });
    }

    // Change of school within one mairie's perimeter, and refused towards a school outside it.
    fn changement_ecole_et_perimetre(base: ecritures()) {
        let m = monde(base);
        let mairie = partenaire(
            base,
            onde_domain::TypePartenaire::Mairie,
            "inscriptions:read inscriptions:write",
            &[m.cp.commune.as_str()],
            &[],
            &[],
        );
        executer(async {
            let app = service(etat(base)).await;
            let j = jeton(&app, &mairie).await;
            let corps = creation_nouvel_eleve(dossier(&nom_unique("Demenage")), m.cp.uai.as_str());
            let r = poster(&app, &j, "/v1/inscriptions", &corps, &[]).await;
            assert_eq!(r.statut, 201, "{}", r.texte);
            let id = r.corps["id"].as_str().unwrap().to_owned();
            let avant = en_base(base, &id);
            let comptes = compter(base);
            let r = operer(&app, &j, &id, "changement_ecole", &json!({"uai": m.cp_ailleurs.uai.as_str()}), &[]).await;
            assert_violations(&r, &[("/uai", "ecole_inconnue")]);
            assert_eq!(en_base(base, &id), avant);
            assert_eq!(compter(base), comptes);

            let r = operer(&app, &j, &id, "changement_ecole", &json!({"uai": m.cp_voisine.uai.as_str(), "date": "2028-11-02"}), &[("If-Match", "\"v1\"")]).await;
            assert_eq!(r.statut, 201, "{}", r.texte);
            let nouvelle = r.corps["id"].as_str().unwrap().to_owned();
            // The old one can no longer move; the new one can.
            let r = operer(&app, &j, &id, "changement_ecole", &json!({"uai": m.cp_voisine.uai.as_str()}), &[]).await;
            assert_probleme(&r, 409, "transition_interdite");
            assert_eq!(r.corps["statut_actuel"], "radie");
            assert_eq!(r.corps["transitions_autorisees"], json!([]));
            let r = operer(&app, &j, &nouvelle, "changement_ecole", &json!({"uai": m.cp.uai.as_str()}), &[("If-Match", "\"v1\"")]).await;
            assert_eq!(r.statut, 201, "retour dans la première école : {}", r.texte);
            let eleve = r.corps["eleve"]["id"].as_str().unwrap();
            let toutes = inscriptions_de(base, eleve);
            assert_eq!(toutes.len(), 3);
            assert_eq!(toutes.iter().filter(|i| i.statut != StatutInscription::Radie).count(), 1);
            assert!(toutes.iter().filter(|i| i.statut == StatutInscription::Radie).all(|i| {
                i.motif_radiation.as_deref() == Some("changement_ecole") && i.date_radiation.is_some()
            }));
        });
    }

    // An inscription of a school outside the perimeter cannot be touched (404, as unknown).
    fn operation_hors_perimetre(base: ecritures()) {
        let m = monde(base);
        let mairie = partenaire(
            base,
            onde_domain::TypePartenaire::Mairie,
            "inscriptions:read inscriptions:write",
            &[m.cp.commune.as_str()],
            &[],
            &[],
        );
        executer(async {
            let app = service(etat(base)).await;
            let toutes = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let corps = creation_nouvel_eleve(dossier(&nom_unique("Lointain")), m.cp_ailleurs.uai.as_str());
            let r = poster(&app, &toutes, "/v1/inscriptions", &corps, &[]).await;
            assert_eq!(r.statut, 201, "{}", r.texte);
            let id = r.corps["id"].as_str().unwrap().to_owned();
            let avant = en_base(base, &id);
            let j = jeton(&app, &mairie).await;
            for op in [Op::Admission, Op::Admissibilite, Op::Radiation, Op::ChangementEcole, Op::ChangementNiveau] {
                let c = match op {
                    Op::ChangementEcole => json!({"uai": m.cp.uai.as_str()}),
                    _ => corps_de(op, &m),
                };
                let r = operer(&app, &j, &id, op.chemin(), &c, &[]).await;
                assert_probleme(&r, 404, "ressource_introuvable");
            }
            assert_eq!(en_base(base, &id), avant);
        });
    }

    // Change of niveau: to another niveau the school teaches, with a birth date still within
    // ±1 year; in a primary school a cycle-1 niveau is fine.
    fn changement_niveau(base: ecritures()) {
        let m = monde(base);
        executer(async {
            let app = service(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let mut corps = creation_nouvel_eleve(dossier(&nom_unique("Niveau")), m.primaire.uai.as_str());
            muter(&mut corps, "/niveau", Some(json!("GS")));
            let r = poster(&app, &j, "/v1/inscriptions", &corps, &[]).await;
            assert_eq!(r.statut, 201, "{}", r.texte);
            let id = r.corps["id"].as_str().unwrap().to_owned();
            for (niveau, attendu) in [("CP", 200), ("CE1", 200), ("MS", 422), ("CE2", 422), ("GS", 200)] {
                let avant = en_base(base, &id);
                let r = operer(&app, &j, &id, "changement_niveau", &json!({"niveau": niveau}), &[]).await;
                assert_eq!(r.statut.as_u16(), attendu, "{niveau} : {}", r.texte);
                if attendu == 422 {
                    assert_violations(&r, &[("/niveau", "age_incoherent_niveau")]);
                    assert_eq!(en_base(base, &id), avant);
                } else {
                    assert_eq!(en_base(base, &id).0.niveau.as_str(), niveau);
                }
            }
        });
    }
}
