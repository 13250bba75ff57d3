//! Write models: what partners send to create or replace a pupil record, read from JSON into
//! valid domain values. Every violation is collected with its JSON pointer, so one answer tells
//! the partner everything to fix; unknown fields are violations too.

use chrono::{Datelike, NaiveDate};
use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;
use validator::ValidateEmail;

use crate::{Adresse, AnneeScolaire, CodeInsee, DomainError, Ine, LienResponsable, Niveau, Prenoms, Sexe};

pub use crate::lecture::{Lecture, Manquement};

/// A French or international phone number, digits only (spaces, dots and dashes removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Telephone(String);

impl Telephone {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let compact: String = s.chars().filter(|c| !matches!(c, ' ' | '.' | '-')).collect();
        let francais = compact.len() == 10
            && compact.starts_with('0')
            && compact.as_bytes()[1] != b'0'
            && compact.bytes().all(|b| b.is_ascii_digit());
        let international = compact.starts_with('+')
            && (9..=16).contains(&compact.len())
            && compact[1..].bytes().all(|b| b.is_ascii_digit());
        if francais || international {
            Ok(Self(compact))
        } else {
            Err(DomainError::Invalide {
                code: "telephone_format",
                message: "numéro de téléphone attendu : 10 chiffres commençant par 0 (ex. 06 12 34 56 78) ou format international (+33612345678)".into(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address (syntax per the HTML / RFC 5322 subset the `validator` crate checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Courriel(String);

impl Courriel {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.len() <= 254 && s.validate_email() {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::Invalide {
                code: "courriel_format",
                message: format!(
                    "« {} » n'est pas une adresse électronique valide",
                    s.chars().take(60).collect::<String>()
                ),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A guardian as sent with a pupil record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NouveauResponsable {
    pub nom: String,
    pub prenom: String,
    pub lien: LienResponsable,
    pub autorite_parentale: bool,
    pub telephone: Option<Telephone>,
    pub courriel: Option<Courriel>,
    pub adresse: Option<String>,
}

/// A pupil record as sent by a partner, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierEleve {
    pub ine: Option<Ine>,
    pub nom: String,
    pub prenoms: Prenoms,
    pub sexe: Sexe,
    pub date_naissance: NaiveDate,
    pub lieu_naissance: CodeInsee,
    pub adresse: Option<Adresse>,
    pub responsables: Vec<NouveauResponsable>,
}

pub const CHAMPS_ELEVE: [&str; 8] = [
    "ine",
    "nom",
    "prenoms",
    "sexe",
    "date_naissance",
    "lieu_naissance",
    "adresse",
    "responsables",
];
pub const CHAMPS_ADRESSE: [&str; 3] = ["voie", "code_postal", "commune"];
const CHAMPS_RESPONSABLE: [&str; 7] = [
    "nom",
    "prenom",
    "lien",
    "autorite_parentale",
    "telephone",
    "courriel",
    "adresse",
];

/// A pupil is between 2 and 12 years old at the rentrée of the year they are enrolled for.
const AGE_MIN: i32 = 2;
const AGE_MAX: i32 = 12;

impl DossierEleve {
    /// Reads the record at `base` (a JSON pointer: `""` for a whole body, `/eleve` inside an
    /// inscription, `/elements/3/eleve` in a batch). `aujourdhui` bounds the birth date.
    pub fn lire(v: &Value, base: &str, aujourdhui: NaiveDate, l: &mut Lecture) -> Option<Self> {
        let avant = l.manquements.len();
        let o = l.objet(v, if base.is_empty() { "" } else { base }, &CHAMPS_ELEVE)?;
        let ine = l.valeur(o, base, "ine", false, Ine::parse);
        let nom = l.texte(o, base, "nom", true, 100);
        let prenoms = lire_prenoms(o, base, l);
        let sexe = l.valeur(o, base, "sexe", true, Sexe::parse);
        let date_naissance = l.date(o, base, "date_naissance", true);
        if let Some(d) = date_naissance {
            let age = aujourdhui.year() - d.year();
            if d > aujourdhui {
                l.signaler(
                    &format!("{base}/date_naissance"),
                    "date_future",
                    "la date de naissance est dans le futur",
                );
            } else if !(AGE_MIN - 1..=AGE_MAX + 1).contains(&age) {
                l.signaler(
                    &format!("{base}/date_naissance"),
                    "age_hors_premier_degre",
                    format!("un élève du premier degré a entre {AGE_MIN} et {AGE_MAX} ans"),
                );
            }
        }
        let lieu_naissance = l.valeur(o, base, "lieu_naissance", true, CodeInsee::parse);
        let adresse = match o.get("adresse") {
            None | Some(Value::Null) => None,
            Some(a) => lire_adresse(a, &format!("{base}/adresse"), l),
        };
        let responsables = match o.get("responsables") {
            None | Some(Value::Null) => Some(Vec::new()),
            Some(Value::Array(liste)) => {
                if liste.len() > 4 {
                    l.signaler(
                        &format!("{base}/responsables"),
                        "trop_de_responsables",
                        "au plus 4 responsables",
                    );
                }
                let lus: Vec<Option<NouveauResponsable>> = liste
                    .iter()
                    .enumerate()
                    .map(|(i, r)| lire_responsable(r, &format!("{base}/responsables/{i}"), l))
                    .collect();
                lus.into_iter().collect()
            }
            Some(_) => {
                l.signaler(
                    &format!("{base}/responsables"),
                    "type_invalide",
                    "une liste de responsables est attendue",
                );
                None
            }
        };
        if l.manquements.len() > avant {
            return None;
        }
        Some(DossierEleve {
            ine,
            nom: nom?,
            prenoms: prenoms?,
            sexe: sexe?,
            date_naissance: date_naissance?,
            lieu_naissance: lieu_naissance?,
            adresse,
            responsables: responsables?,
        })
    }

    /// The duplicate-detection key of DOMAIN.md: nom, first prénom, sexe, birth date and place,
    /// normalised (case, accents, hyphens, spaces, apostrophes).
    pub fn cle_doublon(&self) -> String {
        cle_doublon(
            &self.nom,
            self.prenoms.premier(),
            self.sexe,
            self.date_naissance,
            &self.lieu_naissance,
        )
    }
}

/// See [`DossierEleve::cle_doublon`]; also used on stored pupils.
pub fn cle_doublon(nom: &str, prenom: &str, sexe: Sexe, date_naissance: NaiveDate, lieu: &CodeInsee) -> String {
    format!(
        "{}|{}|{}|{}|{}",
        normaliser(nom),
        normaliser(prenom),
        sexe.as_str(),
        date_naissance.format("%Y-%m-%d"),
        lieu.as_str()
    )
}

/// Lower case, accents removed (canonical decomposition, marks dropped; œ/æ expanded),
/// everything but letters and digits dropped.
pub fn normaliser(s: &str) -> String {
    s.nfd()
        .flat_map(|c| match c {
            'œ' | 'Œ' => "oe".chars().collect::<Vec<_>>(),
            'æ' | 'Æ' => "ae".chars().collect(),
            'ß' => "ss".chars().collect(),
            c => vec![c],
        })
        .filter(|c| c.is_alphanumeric() && !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

fn lire_prenoms(o: &Map<String, Value>, base: &str, l: &mut Lecture) -> Option<Prenoms> {
    let pointeur = format!("{base}/prenoms");
    match o.get("prenoms") {
        None | Some(Value::Null) => {
            l.signaler(&pointeur, "champ_obligatoire", "le champ « prenoms » est obligatoire");
            None
        }
        Some(Value::Array(liste)) => {
            let mut prenoms = Vec::new();
            for (i, p) in liste.iter().enumerate() {
                match p.as_str().map(str::trim) {
                    Some(t) if !t.is_empty() && t.chars().count() <= 100 && !t.chars().any(char::is_control) => {
                        prenoms.push(t.to_owned())
                    }
                    _ => l.signaler(
                        &format!("{pointeur}/{i}"),
                        "prenom_invalide",
                        "un prénom est une chaîne de 1 à 100 caractères",
                    ),
                }
            }
            if prenoms.len() != liste.len() {
                return None;
            }
            Prenoms::parse(prenoms).map_err(|e| l.domaine(&pointeur, e)).ok()
        }
        Some(_) => {
            l.signaler(&pointeur, "type_invalide", "une liste de 1 à 3 prénoms est attendue");
            None
        }
    }
}

fn lire_adresse(v: &Value, base: &str, l: &mut Lecture) -> Option<Adresse> {
    let o = l.objet(v, base, &CHAMPS_ADRESSE)?;
    let voie = l.texte(o, base, "voie", true, 200);
    let code_postal = l.texte(o, base, "code_postal", true, 5);
    if let Some(cp) = &code_postal {
        if cp.len() != 5 || !cp.bytes().all(|b| b.is_ascii_digit()) {
            l.signaler(
                &format!("{base}/code_postal"),
                "code_postal_format",
                "un code postal a 5 chiffres",
            );
        }
    }
    let commune = l.valeur(o, base, "commune", true, CodeInsee::parse);
    if let Some(c) = &commune {
        if !c.est_commune_francaise() {
            l.signaler(
                &format!("{base}/commune"),
                "commune_etrangere",
                "l'adresse de résidence est en France",
            );
            return None;
        }
    }
    let code_postal = code_postal.filter(|cp| cp.len() == 5 && cp.bytes().all(|b| b.is_ascii_digit()))?;
    Some(Adresse {
        voie: voie?,
        code_postal,
        commune: commune?,
    })
}

fn lire_responsable(v: &Value, base: &str, l: &mut Lecture) -> Option<NouveauResponsable> {
    let o = l.objet(v, base, &CHAMPS_RESPONSABLE)?;
    let nom = l.texte(o, base, "nom", true, 100);
    let prenom = l.texte(o, base, "prenom", true, 100);
    let lien = l.valeur(o, base, "lien", true, LienResponsable::parse);
    let autorite_parentale = l.booleen(o, base, "autorite_parentale");
    let telephone = l.valeur(o, base, "telephone", false, Telephone::parse);
    let courriel = l.valeur(o, base, "courriel", false, Courriel::parse);
    let adresse = l.texte(o, base, "adresse", false, 300);
    let erreur_contact = (o.get("telephone").is_some_and(|t| !t.is_null()) && telephone.is_none())
        || (o.get("courriel").is_some_and(|c| !c.is_null()) && courriel.is_none());
    if erreur_contact {
        return None;
    }
    Some(NouveauResponsable {
        nom: nom?,
        prenom: prenom?,
        lien: lien?,
        autorite_parentale: autorite_parentale?,
        telephone,
        courriel,
        adresse,
    })
}

/// Birth date consistent with the niveau for that school year: the theoretical birth year, one
/// year earlier (a repeated year) or one year later (a year ahead).
pub fn verifier_age(date_naissance: NaiveDate, niveau: Niveau, annee: AnneeScolaire) -> Result<(), DomainError> {
    let theorique = i32::from(niveau.annee_naissance_theorique(annee));
    let ecart = date_naissance.year() - theorique;
    if (-1..=1).contains(&ecart) {
        Ok(())
    } else {
        Err(DomainError::Invalide {
            code: "age_incoherent_niveau",
            message: format!(
                "un élève de {niveau} en {annee} est né vers {theorique} (±1 an), pas en {}",
                date_naissance.year()
            ),
        })
    }
}

/// [`verifier_age`] for a pupil already stored and named by reference (`eleve_id`): the
/// message tells the expected birth years, never the stored birth date or year (DOMAIN.md:
/// "an age rule must not reveal a stored birth year").
pub fn verifier_age_eleve_connu(
    date_naissance: NaiveDate,
    niveau: Niveau,
    annee: AnneeScolaire,
) -> Result<(), DomainError> {
    verifier_age(date_naissance, niveau, annee).map_err(|_| {
        let theorique = i32::from(niveau.annee_naissance_theorique(annee));
        DomainError::Invalide {
            code: "age_incoherent_niveau",
            message: format!(
                "la date de naissance de l'élève ne correspond pas au niveau {niveau} en {annee} \
                 (élèves nés de {} à {})",
                theorique - 1,
                theorique + 1
            ),
        }
    })
}

/// The identity a family gives to have its child enrolled elsewhere (INE aside): nom, first
/// prénom and date de naissance, compared normalised ([`normaliser`]: case, accents, hyphens,
/// spaces, Unicode canonical equivalence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentiteDeclaree {
    pub nom: String,
    pub prenom: String,
    pub date_naissance: NaiveDate,
}

impl IdentiteDeclaree {
    /// Whether the stored pupil is the child described.
    pub fn concorde(&self, e: &crate::Eleve) -> bool {
        self.date_naissance == e.date_naissance
            && normaliser(&self.nom) == normaliser(&e.nom)
            && normaliser(&self.prenom) == normaliser(e.prenoms.premier())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jour() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    #[test]
    fn cle_inconnue_longue_citee_en_bref() {
        let mut v = valide();
        v["x".repeat(5000)] = json!(1);
        let mut l = Lecture::default();
        assert!(DossierEleve::lire(&v, "", jour(), &mut l).is_none());
        let m = &l.manquements[0];
        assert_eq!(m.code, "champ_inconnu");
        assert!(
            m.pointeur.chars().count() < 70 && m.message.chars().count() < 300,
            "{m:?}"
        );
    }

    fn valide() -> Value {
        json!({
            "ine": "0494004062M",
            "nom": "Le Gall-Lefèvre",
            "prenoms": ["Zoé", "Anaïs"],
            "sexe": "F",
            "date_naissance": "2020-03-14",
            "lieu_naissance": "29019",
            "adresse": {"voie": "3 rue de Siam", "code_postal": "29200", "commune": "29019"},
            "responsables": [{
                "nom": "Le Gall", "prenom": "Maëlle", "lien": "mere", "autorite_parentale": true,
                "telephone": "06 12 34 56 78", "courriel": "maelle.legall@example.org"
            }]
        })
    }

    #[test]
    fn identite_declaree_comparee_normalisee() {
        let e = crate::Eleve {
            id: uuid::Uuid::nil(),
            ine: None,
            nom: "Le Gall-Lefèvre".into(),
            prenoms: Prenoms::parse(vec!["Zoé".into(), "Anaïs".into()]).unwrap(),
            sexe: Sexe::Feminin,
            date_naissance: NaiveDate::from_ymd_opt(2020, 3, 14).unwrap(),
            lieu_naissance: CodeInsee::parse("29019").unwrap(),
            adresse: None,
            responsables: Vec::new(),
        };
        let declaree = |nom: &str, prenom: &str, jour: u32| IdentiteDeclaree {
            nom: nom.into(),
            prenom: prenom.into(),
            date_naissance: NaiveDate::from_ymd_opt(2020, 3, jour).unwrap(),
        };
        // Case, accents, hyphens, spaces; "e" + combining acute (NFD) equals "é" (NFC).
        assert!(declaree("LE GALL LEFEVRE", "zoe", 14).concorde(&e));
        assert!(declaree(" le-gall  lefe\u{301}vre ", "Zoe\u{301}", 14).concorde(&e));
        assert!(!declaree("Le Gall", "Zoé", 14).concorde(&e));
        assert!(
            !declaree("Le Gall-Lefèvre", "Anaïs", 14).concorde(&e),
            "the first prénom only"
        );
        assert!(!declaree("Le Gall-Lefèvre", "Zoé", 15).concorde(&e));
    }

    #[test]
    fn age_d_un_eleve_connu_sans_sa_date() {
        let annee = AnneeScolaire::parse("2027-2028").unwrap();
        let nee = NaiveDate::from_ymd_opt(2017, 6, 1).unwrap();
        let e = verifier_age_eleve_connu(nee, Niveau::Cp, annee).unwrap_err();
        assert_eq!(e.code(), "age_incoherent_niveau");
        assert!(!e.to_string().contains("2017"), "{e}");
        assert!(verifier_age_eleve_connu(NaiveDate::from_ymd_opt(2021, 6, 1).unwrap(), Niveau::Cp, annee).is_ok());
    }

    #[test]
    fn dossier_valide_lu() {
        let mut l = Lecture::default();
        let d = DossierEleve::lire(&valide(), "", jour(), &mut l).unwrap();
        assert!(l.est_vide());
        assert_eq!(d.responsables[0].telephone.as_ref().unwrap().as_str(), "0612345678");
        assert_eq!(d.cle_doublon(), "legalllefevre|zoe|F|2020-03-14|29019");
    }

    #[test]
    fn toutes_les_violations_avec_leur_pointeur() {
        let mut v = valide();
        v["ine"] = json!("0494004062N");
        v["nom"] = json!("");
        v["prenoms"] = json!(["A", "B", "C", "D"]);
        v["sexe"] = json!("X");
        v["date_naissance"] = json!("2030-01-01");
        v["lieu_naissance"] = json!("7505");
        v["adresse"]["code_postal"] = json!("7501");
        v["responsables"][0]["courriel"] = json!("pas-un-courriel");
        v["responsables"][0]["telephone"] = json!("12");
        v["responsables"][0]["autorite_parentale"] = json!("oui");
        v["couleur"] = json!("bleu");
        let mut l = Lecture::default();
        assert!(DossierEleve::lire(&v, "/eleve", jour(), &mut l).is_none());
        let trouves: Vec<(&str, &str)> = l.manquements.iter().map(|m| (m.pointeur.as_str(), m.code)).collect();
        for attendu in [
            ("/eleve/ine", "ine_cle"),
            ("/eleve/nom", "texte_vide"),
            ("/eleve/prenoms", "prenoms_nombre"),
            ("/eleve/sexe", "sexe_inconnu"),
            ("/eleve/date_naissance", "date_future"),
            ("/eleve/lieu_naissance", "code_insee_format"),
            ("/eleve/adresse/code_postal", "code_postal_format"),
            ("/eleve/responsables/0/courriel", "courriel_format"),
            ("/eleve/responsables/0/telephone", "telephone_format"),
            ("/eleve/responsables/0/autorite_parentale", "type_invalide"),
            ("/eleve/couleur", "champ_inconnu"),
        ] {
            assert!(trouves.contains(&attendu), "{attendu:?} absent de {trouves:?}");
        }
        assert_eq!(trouves.len(), 11, "{trouves:?}");
    }

    #[test]
    fn champs_obligatoires() {
        let mut l = Lecture::default();
        assert!(DossierEleve::lire(&json!({}), "", jour(), &mut l).is_none());
        let obligatoires: Vec<&str> = l.manquements.iter().map(|m| m.pointeur.as_str()).collect();
        assert_eq!(
            obligatoires,
            ["/nom", "/prenoms", "/sexe", "/date_naissance", "/lieu_naissance"]
        );
    }

    #[test]
    fn normalisation_des_doublons() {
        assert_eq!(normaliser("Lefèvre-D'Almeida"), "lefevredalmeida");
        assert_eq!(normaliser("CŒUR"), "coeur");
        assert_eq!(normaliser(" jean  baptiste "), normaliser("Jean-Baptiste"));
    }

    #[test]
    fn age_et_niveau() {
        let a = AnneeScolaire::parse("2026-2027").unwrap();
        let d = |y| NaiveDate::from_ymd_opt(y, 6, 1).unwrap();
        assert!(verifier_age(d(2020), Niveau::Cp, a).is_ok());
        assert!(verifier_age(d(2019), Niveau::Cp, a).is_ok());
        assert!(verifier_age(d(2021), Niveau::Cp, a).is_ok());
        assert_eq!(
            verifier_age(d(2018), Niveau::Cp, a).unwrap_err().code(),
            "age_incoherent_niveau"
        );
        assert!(verifier_age(d(2022), Niveau::Cp, a).is_err());
    }

    #[test]
    fn telephones_et_courriels() {
        assert!(Telephone::parse("01.23.45.67.89").is_ok());
        assert!(Telephone::parse("+33 6 12 34 56 78").is_ok());
        assert!(Telephone::parse("0012345678").is_err());
        assert!(Telephone::parse("06123").is_err());
        assert!(Courriel::parse("a.b@exemple.fr").is_ok());
        assert!(Courriel::parse("a b@exemple.fr").is_err());
        assert!(Courriel::parse("@exemple.fr").is_err());
    }
}
