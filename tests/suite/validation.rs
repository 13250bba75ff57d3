//! Every validation rule of POST /v1/inscriptions (the inscription body and the new pupil's
//! record) and of the workflow operations' bodies, on SQLite and PostgreSQL: the rule's code and
//! JSON pointer in a 422 problem document, every violation of a request listed at once, and
//! nothing written when a request is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::commun::*;
use crate::ecritures::*;
use chrono::{Datelike, Duration, Utc};
use onde_store::testing::BaseDeTest;
use serde_json::{json, Value};

/// What the faulty body starts from.
#[derive(Clone, Copy)]
enum Depart {
    /// A new pupil with every optional field, CP in an elementary school.
    NouvelEleve,
    /// An existing pupil (born for CP) by `eleve_id`, CP in an elementary school.
    ParId,
}

/// Sends the valid body with one fault: 422 listing exactly `attendues`, nothing written
/// (not even the idempotency key); then the body without the fault, with the same key, is
/// accepted — so the refusal came from the rule.
fn regle(base: &BaseDeTest, depart: Depart, fautif: impl FnOnce(&mut Value, &Monde), attendues: &[(&str, &str)]) {
    let m = monde(base);
    let eleve_id = eleve_direct(base, &dossier(&nom_unique("Existant")));
    executer(async {
        let app = service(etat(base)).await;
        let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
        let valide = match depart {
            Depart::NouvelEleve => creation_nouvel_eleve(dossier(&nom_unique("Regle")), m.cp.uai.as_str()),
            Depart::ParId => creation_par_id(&eleve_id, m.cp.uai.as_str(), ANNEE, "CP"),
        };
        let mut corps = valide.clone();
        fautif(&mut corps, &m);
        assert_ne!(corps, valide, "la mutation change le corps");
        let avant = compter(base);
        let cle = [("Idempotency-Key", "essai-regle")];
        let r = poster(&app, &j, "/v1/inscriptions", &corps, &cle).await;
        assert_violations(&r, attendues);
        assert!(r.entete("location").is_none());
        assert_eq!(compter(base), avant, "rien n'est écrit");
        let r = poster(&app, &j, "/v1/inscriptions", &valide, &cle).await;
        assert_eq!(r.statut, 201, "le corps sans la faute est accepté : {}", r.texte);
        assert!(r.entete("idempotent-replayed").is_none());
    });
}

/// (operation, body, expected violations as (pointer, code)).
type CasOperation<'a> = (&'a str, Value, Vec<(&'a str, &'a str)>);

fn long(n: usize) -> Value {
    Value::String("é".repeat(n))
}

fn demain() -> String {
    (Utc::now().date_naive() + Duration::days(1))
        .format("%Y-%m-%d")
        .to_string()
}

/// Declares one test per rule, each on both backends:
/// `nom: depart, |corps, monde| { mutation } => [(pointer, code), …];`
macro_rules! regles {
    ($($nom:ident: $depart:expr, |$c:ident, $m:ident| $mutation:block => [$(($p:expr, $code:expr)),+ $(,)?];)*) => {
        deux_backends! {
            $(
                fn $nom(base: ecritures()) {
                    regle(base, $depart, |$c: &mut Value, $m: &Monde| { let _ = &$m; $mutation }, &[$(($p, $code)),+]);
                }
            )*
        }
    };
}

regles! {
    // Unknown fields, at every level, pointer escaped (RFC 6901).
    champ_inconnu_racine: Depart::NouvelEleve, |c, m| { muter(c, "/couleur", Some(json!("bleu"))); }
        => [("/couleur", "champ_inconnu")];
    champ_inconnu_eleve: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/nationalite", Some(json!("FR"))); }
        => [("/eleve/nationalite", "champ_inconnu")];
    champ_inconnu_adresse: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/adresse/etage", Some(json!(2))); }
        => [("/eleve/adresse/etage", "champ_inconnu")];
    champ_inconnu_responsable: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/responsables/0/employeur", Some(json!("ACME"))); }
        => [("/eleve/responsables/0/employeur", "champ_inconnu")];
    champ_inconnu_pointeur_echappe: Depart::NouvelEleve, |c, m| { muter(c, "/a~1b~0c", Some(json!(1))); }
        => [("/a~1b~0c", "champ_inconnu")];

    // Required fields (absent or null).
    champ_obligatoire_uai: Depart::NouvelEleve, |c, m| { muter(c, "/uai", None); } => [("/uai", "champ_obligatoire")];
    champ_obligatoire_annee: Depart::NouvelEleve, |c, m| { muter(c, "/annee_scolaire", None); }
        => [("/annee_scolaire", "champ_obligatoire")];
    champ_obligatoire_niveau: Depart::ParId, |c, m| { muter(c, "/niveau", Some(Value::Null)); }
        => [("/niveau", "champ_obligatoire")];
    champ_obligatoire_nom: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/nom", None); }
        => [("/eleve/nom", "champ_obligatoire")];
    champ_obligatoire_nom_nul: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/nom", Some(Value::Null)); }
        => [("/eleve/nom", "champ_obligatoire")];
    champ_obligatoire_prenoms: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/prenoms", None); }
        => [("/eleve/prenoms", "champ_obligatoire")];
    champ_obligatoire_sexe: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/sexe", None); }
        => [("/eleve/sexe", "champ_obligatoire")];
    champ_obligatoire_date_naissance: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/date_naissance", None); }
        => [("/eleve/date_naissance", "champ_obligatoire")];
    champ_obligatoire_lieu_naissance: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/lieu_naissance", None); }
        => [("/eleve/lieu_naissance", "champ_obligatoire")];
    champ_obligatoire_voie: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/adresse/voie", None); }
        => [("/eleve/adresse/voie", "champ_obligatoire")];
    champ_obligatoire_code_postal: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/adresse/code_postal", None); }
        => [("/eleve/adresse/code_postal", "champ_obligatoire")];
    champ_obligatoire_commune: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/adresse/commune", None); }
        => [("/eleve/adresse/commune", "champ_obligatoire")];
    champ_obligatoire_responsable_nom: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/responsables/0/nom", None); }
        => [("/eleve/responsables/0/nom", "champ_obligatoire")];
    champ_obligatoire_responsable_prenom: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/responsables/0/prenom", None); }
        => [("/eleve/responsables/0/prenom", "champ_obligatoire")];
    champ_obligatoire_responsable_lien: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/responsables/0/lien", None); }
        => [("/eleve/responsables/0/lien", "champ_obligatoire")];
    champ_obligatoire_autorite_parentale: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/responsables/0/autorite_parentale", None); }
        => [("/eleve/responsables/0/autorite_parentale", "champ_obligatoire")];

    // Empty and over-long texts (length in characters, after trimming).
    texte_vide_nom: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/nom", Some(json!("   "))); }
        => [("/eleve/nom", "texte_vide")];
    texte_vide_classe: Depart::NouvelEleve, |c, m| { muter(c, "/classe", Some(json!(""))); }
        => [("/classe", "texte_vide")];
    texte_vide_responsable_prenom: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/responsables/0/prenom", Some(json!(" "))); }
        => [("/eleve/responsables/0/prenom", "texte_vide")];
    texte_trop_long_nom: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/nom", Some(long(101))); }
        => [("/eleve/nom", "texte_trop_long")];
    texte_trop_long_classe: Depart::ParId, |c, m| { muter(c, "/classe", Some(long(51))); }
        => [("/classe", "texte_trop_long")];
    texte_trop_long_dispositif: Depart::NouvelEleve, |c, m| { muter(c, "/dispositif", Some(long(51))); }
        => [("/dispositif", "texte_trop_long")];
    texte_trop_long_voie: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/adresse/voie", Some(long(201))); }
        => [("/eleve/adresse/voie", "texte_trop_long")];
    texte_trop_long_adresse_responsable: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/responsables/0/adresse", Some(long(301))); }
        => [("/eleve/responsables/0/adresse", "texte_trop_long")];
    texte_trop_long_code_postal: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/adresse/code_postal", Some(json!("292000"))); }
        => [("/eleve/adresse/code_postal", "texte_trop_long")];
    caractere_interdit_nom: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/nom", Some(json!("Le\u{7}Gall"))); }
        => [("/eleve/nom", "caractere_interdit")];

    // Wrong JSON types.
    type_invalide_nom: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/nom", Some(json!(3))); }
        => [("/eleve/nom", "type_invalide")];
    type_invalide_prenoms: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/prenoms", Some(json!("Zoé"))); }
        => [("/eleve/prenoms", "type_invalide")];
    type_invalide_eleve: Depart::NouvelEleve, |c, m| { muter(c, "/eleve", Some(json!("Zoé Le Gall"))); }
        => [("/eleve", "type_invalide")];
    type_invalide_adresse: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/adresse", Some(json!("3 rue de Siam"))); }
        => [("/eleve/adresse", "type_invalide")];
    type_invalide_responsables: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/responsables", Some(json!({"nom": "x"}))); }
        => [("/eleve/responsables", "type_invalide")];
    type_invalide_responsable: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/responsables/0", Some(json!("mère"))); }
        => [("/eleve/responsables/0", "type_invalide")];
    type_invalide_autorite_parentale: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/responsables/0/autorite_parentale", Some(json!("oui"))); }
        => [("/eleve/responsables/0/autorite_parentale", "type_invalide")];
    type_invalide_uai: Depart::ParId, |c, m| { muter(c, "/uai", Some(json!(750655))); }
        => [("/uai", "type_invalide")];
    type_invalide_classe: Depart::ParId, |c, m| { muter(c, "/classe", Some(json!(["CP-A"]))); }
        => [("/classe", "type_invalide")];
    type_invalide_eleve_id: Depart::ParId, |c, m| { muter(c, "/eleve_id", Some(json!(42))); }
        => [("/eleve_id", "type_invalide")];

    // Identifiers and their keys.
    ine_cle: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/ine", Some(json!("0494004062N"))); }
        => [("/eleve/ine", "ine_cle")];
    ine_format: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/ine", Some(json!("04940-4062M"))); }
        => [("/eleve/ine", "ine_format")];
    uai_cle: Depart::ParId, |c, m| { muter(c, "/uai", Some(json!("0750655F"))); } => [("/uai", "uai_cle")];
    uai_format: Depart::ParId, |c, m| { muter(c, "/uai", Some(json!("075065E"))); } => [("/uai", "uai_format")];
    uai_format_non_ascii: Depart::ParId, |c, m| { muter(c, "/uai", Some(json!("075065é"))); } => [("/uai", "uai_format")];
    identifiant_format_eleve_id: Depart::ParId, |c, m| { muter(c, "/eleve_id", Some(json!("pas-un-uuid"))); }
        => [("/eleve_id", "identifiant_format")];
    annee_scolaire_format: Depart::ParId, |c, m| { muter(c, "/annee_scolaire", Some(json!("2028/2029"))); }
        => [("/annee_scolaire", "annee_scolaire_format")];
    annee_scolaire_non_consecutive: Depart::ParId, |c, m| { muter(c, "/annee_scolaire", Some(json!("2028-2030"))); }
        => [("/annee_scolaire", "annee_scolaire_non_consecutive")];
    niveau_inconnu: Depart::ParId, |c, m| { muter(c, "/niveau", Some(json!("6E"))); } => [("/niveau", "niveau_inconnu")];
    code_insee_format_lieu: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/lieu_naissance", Some(json!("2905"))); }
        => [("/eleve/lieu_naissance", "code_insee_format")];
    code_insee_format_departement: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/lieu_naissance", Some(json!("00123"))); }
        => [("/eleve/lieu_naissance", "code_insee_format")];
    code_insee_format_adresse: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/adresse/commune", Some(json!("2C019"))); }
        => [("/eleve/adresse/commune", "code_insee_format")];

    // Pupil identity.
    prenoms_nombre_aucun: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/prenoms", Some(json!([]))); }
        => [("/eleve/prenoms", "prenoms_nombre")];
    prenoms_nombre_quatre: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/prenoms", Some(json!(["A", "B", "C", "D"]))); }
        => [("/eleve/prenoms", "prenoms_nombre")];
    prenom_invalide: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/prenoms", Some(json!(["Zoé", " "]))); }
        => [("/eleve/prenoms/1", "prenom_invalide")];
    sexe_inconnu: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/sexe", Some(json!("X"))); } => [("/eleve/sexe", "sexe_inconnu")];
    sexe_inconnu_minuscule: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/sexe", Some(json!("f"))); }
        => [("/eleve/sexe", "sexe_inconnu")];
    date_format_jour_inexistant: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/date_naissance", Some(json!("2022-02-30"))); }
        => [("/eleve/date_naissance", "date_format")];
    date_format_francais: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/date_naissance", Some(json!("12/05/2022"))); }
        => [("/eleve/date_naissance", "date_format")];
    date_format_inscription: Depart::ParId, |c, m| { muter(c, "/date_inscription", Some(json!("demain"))); }
        => [("/date_inscription", "date_format")];
    date_future: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/date_naissance", Some(json!(demain()))); }
        => [("/eleve/date_naissance", "date_future")];
    age_hors_premier_degre_trop_vieux: Depart::NouvelEleve, |c, m| {
        let annee = Utc::now().year() - 20;
        muter(c, "/eleve/date_naissance", Some(json!(format!("{annee}-01-15"))));
    } => [("/eleve/date_naissance", "age_hors_premier_degre")];
    age_hors_premier_degre_nourrisson: Depart::NouvelEleve, |c, m| {
        muter(c, "/eleve/date_naissance", Some(json!(format!("{}-01-01", Utc::now().year()))));
    } => [("/eleve/date_naissance", "age_hors_premier_degre")];
    age_incoherent_niveau_nouvel_eleve: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/date_naissance", Some(json!("2019-05-12"))); }
        => [("/eleve/date_naissance", "age_incoherent_niveau")];
    age_incoherent_niveau_autre_niveau: Depart::NouvelEleve, |c, m| { muter(c, "/niveau", Some(json!("CM2"))); }
        => [("/eleve/date_naissance", "age_incoherent_niveau")];
    age_incoherent_niveau_eleve_existant: Depart::ParId, |c, m| { muter(c, "/niveau", Some(json!("CM1"))); }
        => [("/niveau", "age_incoherent_niveau")];

    // Address and guardians.
    code_postal_format_court: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/adresse/code_postal", Some(json!("2920"))); }
        => [("/eleve/adresse/code_postal", "code_postal_format")];
    code_postal_format_lettre: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/adresse/code_postal", Some(json!("2920A"))); }
        => [("/eleve/adresse/code_postal", "code_postal_format")];
    commune_etrangere: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/adresse/commune", Some(json!("99109"))); }
        => [("/eleve/adresse/commune", "commune_etrangere")];
    telephone_format_court: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/responsables/0/telephone", Some(json!("06 12"))); }
        => [("/eleve/responsables/0/telephone", "telephone_format")];
    telephone_format_double_zero: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/responsables/0/telephone", Some(json!("0012345678"))); }
        => [("/eleve/responsables/0/telephone", "telephone_format")];
    courriel_format: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/responsables/0/courriel", Some(json!("maelle.legall@"))); }
        => [("/eleve/responsables/0/courriel", "courriel_format")];
    lien_inconnu: Depart::NouvelEleve, |c, m| { muter(c, "/eleve/responsables/0/lien", Some(json!("oncle"))); }
        => [("/eleve/responsables/0/lien", "lien_inconnu")];
    trop_de_responsables: Depart::NouvelEleve, |c, m| {
        let r = c["eleve"]["responsables"][0].clone();
        muter(c, "/eleve/responsables", Some(json!([r, r, r, r, r])));
    } => [("/eleve/responsables", "trop_de_responsables")];

    // Which pupil, which school.
    eleve_ou_eleve_id_les_deux: Depart::NouvelEleve, |c, m| {
        muter(c, "/eleve_id", Some(json!("0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e")));
    } => [("/eleve_id", "eleve_ou_eleve_id")];
    eleve_ou_eleve_id_aucun: Depart::NouvelEleve, |c, m| { muter(c, "/eleve", None); }
        => [("/eleve_id", "eleve_ou_eleve_id")];
    eleve_ou_eleve_id_nuls: Depart::ParId, |c, m| {
        muter(c, "/eleve_id", Some(Value::Null));
        muter(c, "/eleve", Some(Value::Null));
    } => [("/eleve_id", "eleve_ou_eleve_id")];
    eleve_inconnu: Depart::ParId, |c, m| { muter(c, "/eleve_id", Some(json!("0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e"))); }
        => [("/eleve_id", "eleve_inconnu")];
    ecole_inconnue: Depart::NouvelEleve, |c, m| { muter(c, "/uai", Some(json!("0750655E"))); }
        => [("/uai", "ecole_inconnue")];
    niveau_non_accueilli_maternelle: Depart::NouvelEleve, |c, m| { muter(c, "/uai", Some(json!(m.maternelle.uai.as_str()))); }
        => [("/niveau", "niveau_non_accueilli")];
    niveau_non_accueilli_elementaire: Depart::ParId, |c, m| {
        muter(c, "/niveau", Some(json!("GS")));
    } => [("/niveau", "niveau_non_accueilli")];
}

deux_backends! {
    // A school outside the caller's perimeter is indistinguishable from an unknown one.
    fn ecole_inconnue_hors_perimetre(base: ecritures()) {
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
            let avant = compter(base);
            let corps = creation_nouvel_eleve(dossier(&nom_unique("Ailleurs")), m.cp_ailleurs.uai.as_str());
            let r = poster(&app, &j, "/v1/inscriptions", &corps, &[]).await;
            assert_violations(&r, &[("/uai", "ecole_inconnue")]);
            assert_eq!(compter(base), avant);
            let inconnue = uai_inconnu(base);
            let corps = creation_nouvel_eleve(dossier(&nom_unique("Nulle")), &inconnue);
            let r2 = poster(&app, &j, "/v1/inscriptions", &corps, &[]).await;
            assert_violations(&r2, &[("/uai", "ecole_inconnue")]);
            assert_eq!(
                r.corps["erreurs"][0]["message"].as_str().unwrap().replace(m.cp_ailleurs.uai.as_str(), "X"),
                r2.corps["erreurs"][0]["message"].as_str().unwrap().replace(&inconnue, "X"),
                "même réponse qu'une école inexistante"
            );
            // Its own commune's school is fine.
            let corps = creation_nouvel_eleve(dossier(&nom_unique("Ici")), m.cp.uai.as_str());
            assert_eq!(poster(&app, &j, "/v1/inscriptions", &corps, &[]).await.statut, 201);
        });
    }

    // Boundaries that are valid: 100-character names, 50-character classe, birth abroad,
    // no optional field at all, a charset parameter on the content type.
    fn limites_acceptees(base: ecritures()) {
        let m = monde(base);
        executer(async {
            let app = service(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let mut corps = creation_nouvel_eleve(dossier(&nom_unique("Limite")), m.cp.uai.as_str());
            muter(&mut corps, "/eleve/nom", Some(json!(format!("  {}  ", "é".repeat(100)))));
            muter(&mut corps, "/classe", Some(long(50)));
            muter(&mut corps, "/eleve/lieu_naissance", Some(json!("99109")));
            muter(&mut corps, "/eleve/prenoms", Some(json!(["Zoé", "Anaïs", "Jeanne"])));
            muter(&mut corps, "/eleve/responsables/0/telephone", Some(json!("+33 6 12 34 56 78")));
            let r = poster(&app, &j, "/v1/inscriptions", &corps, &[]).await;
            assert_eq!(r.statut, 201, "{}", r.texte);
            assert_eq!(r.corps["eleve"]["nom"], "é".repeat(100), "nom rogné");
            assert_eq!(r.corps["classe"], "é".repeat(50));

            let minimal = json!({
                "eleve": {"nom": nom_unique("Minimal"), "prenoms": ["Léo"], "sexe": "M",
                          "date_naissance": NAISSANCE_CP, "lieu_naissance": "2A004"},
                "uai": m.cp.uai.as_str(), "annee_scolaire": ANNEE, "niveau": "CP"
            });
            let octets = serde_json::to_vec(&minimal).unwrap();
            let r = poster_brut(&app, &j, "/v1/inscriptions", &octets, Some("application/json; charset=utf-8"), &[]).await;
            assert_eq!(r.statut, 201, "{}", r.texte);
            assert_eq!(r.corps["statut"], "inscrit");
            assert_eq!(r.corps["date_inscription"], Utc::now().date_naive().format("%Y-%m-%d").to_string());
            assert!(r.corps["classe"].is_null());
        });
    }

    // One request breaking many rules gets every violation at once.
    fn toutes_les_violations_d_un_coup(base: ecritures()) {
        let m = monde(base);
        executer(async {
            let app = service(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let avant = compter(base);
            let corps = json!({
                "eleve": {
                    "ine": "0494004062N",
                    "nom": "",
                    "prenoms": ["A", "B", "C", "D"],
                    "sexe": "X",
                    "date_naissance": demain(),
                    "lieu_naissance": "7505",
                    "adresse": {"voie": "1 rue", "code_postal": "7501", "commune": "99109"},
                    "responsables": [
                        {"nom": "P", "prenom": "Q", "lien": "oncle", "autorite_parentale": "oui",
                         "telephone": "12", "courriel": "pas-un-courriel"},
                        {"nom": "R", "lien": "pere", "autorite_parentale": true}
                    ],
                    "nationalite": "FR"
                },
                "uai": "0750655F",
                "annee_scolaire": "2028-2030",
                "niveau": "6E",
                "classe": "x".repeat(51),
                "date_inscription": "2028-13-01",
                "couleur": "bleu"
            });
            let r = poster(&app, &j, "/v1/inscriptions", &corps, &[]).await;
            assert_violations(&r, &[
                ("/couleur", "champ_inconnu"),
                ("/eleve/nationalite", "champ_inconnu"),
                ("/eleve/ine", "ine_cle"),
                ("/eleve/nom", "texte_vide"),
                ("/eleve/prenoms", "prenoms_nombre"),
                ("/eleve/sexe", "sexe_inconnu"),
                ("/eleve/date_naissance", "date_future"),
                ("/eleve/lieu_naissance", "code_insee_format"),
                ("/eleve/adresse/code_postal", "code_postal_format"),
                ("/eleve/adresse/commune", "commune_etrangere"),
                ("/eleve/responsables/0/lien", "lien_inconnu"),
                ("/eleve/responsables/0/autorite_parentale", "type_invalide"),
                ("/eleve/responsables/0/telephone", "telephone_format"),
                ("/eleve/responsables/0/courriel", "courriel_format"),
                ("/eleve/responsables/1/prenom", "champ_obligatoire"),
                ("/uai", "uai_cle"),
                ("/annee_scolaire", "annee_scolaire_non_consecutive"),
                ("/niveau", "niveau_inconnu"),
                ("/classe", "texte_trop_long"),
                ("/date_inscription", "date_format"),
            ]);
            assert_eq!(r.corps["detail"], "Le contenu enfreint 20 règles.");
            assert_eq!(compter(base), avant);
            let _ = m;
        });
    }

    // Bodies that are not a JSON object: 400 for malformed JSON, 415 for another content type.
    fn corps_illisibles_et_types_de_contenu(base: ecritures()) {
        let m = monde(base);
        executer(async {
            let app = service(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let avant = compter(base);
            let valide = serde_json::to_vec(&creation_nouvel_eleve(dossier(&nom_unique("Brut")), m.cp.uai.as_str())).unwrap();
            let json = Some("application/json");
            for (octets, pointeur, code) in [
                (&br#"{"uai": "0750655E""#[..], "", "json_invalide"),
                (&b"{} {"[..], "", "json_invalide"),
                (&b""[..], "", "json_invalide"),
                (&b"[1, 2]"[..], "", "type_invalide"),
                (&b"\"inscription\""[..], "", "type_invalide"),
            ] {
                let r = poster_brut(&app, &j, "/v1/inscriptions", octets, json, &[]).await;
                assert_probleme(&r, 400, "corps_invalide");
                assert_eq!(violations(&r), [(pointeur.to_owned(), code.to_owned())], "{}", String::from_utf8_lossy(octets));
            }
            for type_contenu in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
                let r = poster_brut(&app, &j, "/v1/inscriptions", &valide, type_contenu, &[]).await;
                assert_probleme(&r, 415, "type_contenu_non_pris_en_charge");
            }
            // A body over the limit is a 413 problem document like every other error (actix
            // answered it in plain text, outside the contract).
            let enorme = vec![b' '; api::TAILLE_MAX_CORPS + 1];
            let r = poster_brut(&app, &j, "/v1/inscriptions", &enorme, json, &[]).await;
            assert_probleme(&r, 413, "corps_trop_grand");
            assert_eq!(compter(base), avant, "rien n'est écrit");
            let r = poster_brut(&app, &j, "/v1/inscriptions", &valide, json, &[]).await;
            assert_eq!(r.statut, 201, "{}", r.texte);
        });
    }

    // The operations' bodies and headers: every refusal leaves the inscription as it was.
    fn corps_des_operations(base: ecritures()) {
        let m = monde(base);
        executer(async {
            let app = service(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let corps = creation_nouvel_eleve(dossier(&nom_unique("Operation")), m.cp.uai.as_str());
            let r = poster(&app, &j, "/v1/inscriptions", &corps, &[]).await;
            assert_eq!(r.statut, 201, "{}", r.texte);
            let id = r.corps["id"].as_str().unwrap().to_owned();
            let avant = en_base(base, &id);
            let comptes = compter(base);
            let cas: Vec<CasOperation> = vec![
                ("admission", json!({"provisoire": "oui"}), vec![("/provisoire", "type_invalide")]),
                ("admission", json!({"date": "2028-09-31"}), vec![("/date", "date_format")]),
                ("admission", json!({"motif": "x"}), vec![("/motif", "champ_inconnu")]),
                ("admission", json!([]), vec![("", "type_invalide")]),
                ("admissibilite", json!({"date": "2028-09-01"}), vec![("/date", "champ_inconnu")]),
                ("admission_definitive", json!({"provisoire": false}), vec![("/provisoire", "champ_inconnu")]),
                ("radiation", json!({}), vec![("/date", "champ_obligatoire"), ("/motif", "champ_obligatoire")]),
                ("radiation", json!({"date": "2028-10-01", "motif": ""}), vec![("/motif", "texte_vide")]),
                ("radiation", json!({"date": "2028-10-01", "motif": "m".repeat(101)}), vec![("/motif", "texte_trop_long")]),
                ("radiation", json!({"date": "01/10/2028", "motif": "demenagement"}), vec![("/date", "date_format")]),
                ("changement_ecole", json!({}), vec![("/uai", "champ_obligatoire")]),
                ("changement_ecole", json!({"uai": "0750655F"}), vec![("/uai", "uai_cle")]),
                ("changement_ecole", json!({"uai": m.cp.uai.as_str()}), vec![("/uai", "meme_ecole")]),
                ("changement_ecole", json!({"uai": "0750655E"}), vec![("/uai", "ecole_inconnue")]),
                ("changement_niveau", json!({}), vec![("/niveau", "champ_obligatoire")]),
                ("changement_niveau", json!({"niveau": "6E"}), vec![("/niveau", "niveau_inconnu")]),
                ("changement_niveau", json!({"niveau": "MS"}), vec![("/niveau", "niveau_non_accueilli")]),
                ("changement_niveau", json!({"niveau": "CM2"}), vec![("/niveau", "age_incoherent_niveau")]),
                ("changement_niveau", json!({"niveau": "CE1", "uai": m.cp.uai.as_str()}), vec![("/uai", "champ_inconnu")]),
            ];
            for (operation, corps, attendues) in cas {
                let r = operer(&app, &j, &id, operation, &corps, &[]).await;
                assert_violations(&r, &attendues);
                assert_eq!(en_base(base, &id), avant, "{operation} {corps} : rien ne change");
            }
            let uri = format!("/v1/inscriptions/{id}/admission");
            let r = poster_brut(&app, &j, &uri, b"{\"provisoire\": true}", Some("text/plain"), &[]).await;
            assert_probleme(&r, 415, "type_contenu_non_pris_en_charge");
            let r = poster_brut(&app, &j, &uri, b"{\"provisoire\": ", Some("application/json"), &[]).await;
            assert_probleme(&r, 400, "corps_invalide");
            for (entete, valeur, code) in [
                ("If-Match", "abc", "if_match_invalide"),
                ("If-Match", "\"version-1\"", "if_match_invalide"),
                ("Idempotency-Key", &"k".repeat(256)[..], "cle_idempotence_invalide"),
                ("Idempotency-Key", "cle avec espaces", "cle_idempotence_invalide"),
            ] {
                let r = operer(&app, &j, &id, "admissibilite", &json!({}), &[(entete, valeur)]).await;
                assert_probleme(&r, 400, "parametre_invalide");
                assert_eq!(r.corps["erreurs"][0]["parametre"], entete);
                assert_eq!(r.corps["erreurs"][0]["code"], code);
            }
            let r = operer(&app, &j, "pas-un-uuid", "admissibilite", &json!({}), &[]).await;
            assert_probleme(&r, 400, "parametre_invalide");
            assert_eq!(r.corps["erreurs"][0]["code"], "identifiant_format");
            let r = operer(&app, &j, "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e", "admissibilite", &json!({}), &[]).await;
            assert_probleme(&r, 404, "ressource_introuvable");
            assert_eq!(en_base(base, &id), avant);
            assert_eq!(compter(base), comptes);

            // An empty body needs no content type for operations whose fields are all optional.
            let r = poster_brut(&app, &j, &format!("/v1/inscriptions/{id}/admissibilite"), b"", None, &[]).await;
            assert_eq!(r.statut, 200, "{}", r.texte);
            assert_eq!(r.corps["statut"], "admissibilite");
        });
    }

    // A change of school towards a school that does not teach the inscription's niveau: the
    // field to fix is the `uai` of this body, which has no `/niveau` member.
    fn changement_ecole_vers_une_ecole_sans_ce_niveau(base: ecritures()) {
        let m = monde(base);
        executer(async {
            let app = service(etat(base)).await;
            let j = jeton(&app, &mairie_de_toutes_les_communes(base)).await;
            let corps = creation_nouvel_eleve(dossier(&nom_unique("Maternelle")), m.cp.uai.as_str());
            let id = poster(&app, &j, "/v1/inscriptions", &corps, &[]).await.corps["id"].as_str().unwrap().to_owned();
            let avant = en_base(base, &id);
            let r = operer(&app, &j, &id, "changement_ecole", &json!({"uai": m.maternelle.uai.as_str()}), &[]).await;
            assert_violations(&r, &[("/uai", "niveau_non_accueilli")]);
            assert_eq!(en_base(base, &id), avant);
        });
    }
}
