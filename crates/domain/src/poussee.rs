//! A pupil record pushed by school software with the inscriptions it holds: one item of a
//! batch, one line of an import. Read from JSON into valid domain values with every violation
//! located, like [`DossierEleve::lire`]; the rules are those of the synchronous batch.

use chrono::NaiveDate;
use serde_json::Value;

use crate::dossier::{verifier_age, DossierEleve, Lecture};
use crate::{AnneeScolaire, Ine, Niveau, StatutInscription, Uai};

pub const CHAMPS_ELEMENT: [&str; 2] = ["eleve", "inscriptions"];
/// Most inscriptions in one item: one per school year, and a primary schooling spans about
/// nine; the bound keeps one item's work small whatever is sent.
pub const INSCRIPTIONS_MAX: usize = 20;
pub const CHAMPS_INSCRIPTION: [&str; 9] = [
    "uai",
    "annee_scolaire",
    "niveau",
    "classe",
    "dispositif",
    "statut",
    "admission_provisoire",
    "date_inscription",
    "date_admission",
];

/// An inscription as pushed: the state it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InscriptionPoussee {
    pub uai: Uai,
    pub annee: AnneeScolaire,
    pub niveau: Niveau,
    pub classe: Option<String>,
    pub dispositif: Option<String>,
    pub statut: StatutInscription,
    pub provisoire: bool,
    /// Sent, or the day of reading.
    pub date_inscription: NaiveDate,
    /// As sent: an existing inscription keeps its admission date unless one is sent.
    pub date_admission: Option<NaiveDate>,
    /// JSON pointer of this inscription in the document read.
    pub pointeur: String,
}

impl InscriptionPoussee {
    /// The admission date of a new inscription: the one sent, else the inscription date for an
    /// admitted pupil.
    pub fn date_admission_a_la_creation(&self) -> Option<NaiveDate> {
        self.date_admission.or_else(|| {
            matches!(
                self.statut,
                StatutInscription::Admis | StatutInscription::AdmisDefinitif
            )
            .then_some(self.date_inscription)
        })
    }
}

/// A record identified by its INE, with its inscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementPousse {
    pub ine: Ine,
    pub dossier: DossierEleve,
    pub inscriptions: Vec<InscriptionPoussee>,
}

impl ElementPousse {
    /// Reads `{"eleve": {...}, "inscriptions": [...]}` at `base`; `None` when any rule is broken
    /// (each one is in `l`). Two inscriptions of one school year in one item are refused: a pupil
    /// has at most one active inscription per year.
    pub fn lire(v: &Value, base: &str, aujourdhui: NaiveDate, l: &mut Lecture) -> Option<Self> {
        let avant = l.manquements.len();
        let o = l.objet(v, base, &CHAMPS_ELEMENT)?;
        let dossier = match o.get("eleve") {
            Some(e) => DossierEleve::lire(e, &format!("{base}/eleve"), aujourdhui, l),
            None => {
                l.signaler(
                    &format!("{base}/eleve"),
                    "champ_obligatoire",
                    "le champ « eleve » est obligatoire",
                );
                None
            }
        };
        if let Some(d) = &dossier {
            if d.ine.is_none() {
                l.signaler(
                    &format!("{base}/eleve/ine"),
                    "champ_obligatoire",
                    "un lot identifie chaque élève par son INE",
                );
            }
        }
        let mut inscriptions: Vec<InscriptionPoussee> = Vec::new();
        match o.get("inscriptions") {
            None | Some(Value::Null) => {}
            Some(Value::Array(liste)) if liste.len() > INSCRIPTIONS_MAX => l.signaler(
                &format!("{base}/inscriptions"),
                "trop_d_inscriptions",
                format!(
                    "un élément a au plus {INSCRIPTIONS_MAX} inscriptions ({} reçues)",
                    liste.len()
                ),
            ),
            Some(Value::Array(liste)) => {
                for (j, i) in liste.iter().enumerate() {
                    let b = format!("{base}/inscriptions/{j}");
                    if let Some(p) = lire_inscription(i, &b, dossier.as_ref(), aujourdhui, l) {
                        if inscriptions.iter().any(|autre| autre.annee == p.annee) {
                            l.signaler(
                                &format!("{b}/annee_scolaire"),
                                "annee_repetee",
                                format!(
                                    "une seule inscription active par année scolaire : {} figure déjà dans cet élément",
                                    p.annee
                                ),
                            );
                        }
                        inscriptions.push(p);
                    }
                }
            }
            Some(_) => l.signaler(
                &format!("{base}/inscriptions"),
                "type_invalide",
                "une liste d'inscriptions est attendue",
            ),
        }
        if l.manquements.len() > avant {
            return None;
        }
        let dossier = dossier?;
        Some(Self {
            ine: dossier.ine.clone()?,
            dossier,
            inscriptions,
        })
    }
}

fn lire_inscription(
    i: &Value,
    b: &str,
    dossier: Option<&DossierEleve>,
    aujourdhui: NaiveDate,
    l: &mut Lecture,
) -> Option<InscriptionPoussee> {
    let oi = l.objet(i, b, &CHAMPS_INSCRIPTION)?;
    let uai = l.valeur(oi, b, "uai", true, Uai::parse);
    let annee = l.valeur(oi, b, "annee_scolaire", true, AnneeScolaire::parse);
    let niveau = l.valeur(oi, b, "niveau", true, Niveau::parse);
    let classe = l.texte(oi, b, "classe", false, 50);
    let dispositif = l.texte(oi, b, "dispositif", false, 50);
    let statut = l
        .valeur(oi, b, "statut", false, StatutInscription::parse)
        .unwrap_or(StatutInscription::Inscrit);
    if statut == StatutInscription::Radie {
        l.signaler(
            &format!("{b}/statut"),
            "statut_interdit",
            "une radiation passe par l'opération de radiation",
        );
    }
    let provisoire = match oi.get("admission_provisoire") {
        None | Some(Value::Null) => false,
        Some(_) => l.booleen(oi, b, "admission_provisoire").unwrap_or(false),
    };
    if provisoire && statut != StatutInscription::Admis {
        l.signaler(
            &format!("{b}/admission_provisoire"),
            "provisoire_hors_admis",
            "une admission provisoire n'existe qu'au statut admis",
        );
    }
    let date_inscription = l.date(oi, b, "date_inscription", false).unwrap_or(aujourdhui);
    let date_admission = l.date(oi, b, "date_admission", false);
    if let (Some(d), Some(n), Some(a)) = (dossier, niveau, annee) {
        if let Err(e) = verifier_age(d.date_naissance, n, a) {
            l.signaler(&format!("{b}/niveau"), e.code(), e.to_string());
        }
    }
    Some(InscriptionPoussee {
        uai: uai?,
        annee: annee?,
        niveau: niveau?,
        classe,
        dispositif,
        statut,
        provisoire,
        date_inscription,
        date_admission,
        pointeur: b.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jour() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default()
    }

    fn element() -> Value {
        json!({
            "eleve": {"ine": "0494004062M", "nom": "Morel", "prenoms": ["Léa"], "sexe": "F",
                      "date_naissance": "2020-04-02", "lieu_naissance": "75056"},
            "inscriptions": [{"uai": "0750655E", "annee_scolaire": "2026-2027", "niveau": "CP",
                              "statut": "admis_definitif"}]
        })
    }

    #[test]
    fn element_valide() {
        let mut l = Lecture::default();
        let e = ElementPousse::lire(&element(), "", jour(), &mut l);
        assert!(l.est_vide(), "{:?}", l.manquements);
        let e = e.map(|e| (e.ine.as_str().to_owned(), e.inscriptions.len()));
        assert_eq!(e, Some(("0494004062M".to_owned(), 1)));
    }

    #[test]
    fn nombre_d_inscriptions_borne() {
        let mut v = element();
        let i = v["inscriptions"][0].clone();
        v["inscriptions"] = Value::Array(vec![i; INSCRIPTIONS_MAX + 1]);
        let mut l = Lecture::default();
        assert!(ElementPousse::lire(&v, "", jour(), &mut l).is_none());
        let trouves: Vec<(&str, &str)> = l.manquements.iter().map(|m| (m.pointeur.as_str(), m.code)).collect();
        assert_eq!(trouves, [("/inscriptions", "trop_d_inscriptions")]);
    }

    #[test]
    fn annee_repetee_et_ine_manquant() {
        let mut v = element();
        v["eleve"]["ine"] = Value::Null;
        let i = v["inscriptions"][0].clone();
        v["inscriptions"] = json!([i.clone(), i]);
        let mut l = Lecture::default();
        assert!(ElementPousse::lire(&v, "", jour(), &mut l).is_none());
        let trouves: Vec<(&str, &str)> = l.manquements.iter().map(|m| (m.pointeur.as_str(), m.code)).collect();
        assert_eq!(
            trouves,
            [
                ("/eleve/ine", "champ_obligatoire"),
                ("/inscriptions/1/annee_scolaire", "annee_repetee")
            ]
        );
    }
}
