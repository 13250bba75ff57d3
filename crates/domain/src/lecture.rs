//! Reading a JSON document by hand and listing every rule it breaks, each located by a JSON
//! pointer (RFC 6901): the write readers of `dossier.rs` and `poussee.rs` build on it.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::error::DomainError;

/// A rule a field breaks, located by a JSON pointer (RFC 6901) into the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manquement {
    pub pointeur: String,
    pub code: &'static str,
    pub message: String,
}

/// Collects violations while reading a JSON document.
#[derive(Debug, Default)]
pub struct Lecture {
    pub manquements: Vec<Manquement>,
}

fn segment(cle: &str) -> String {
    cle.replace('~', "~0").replace('/', "~1")
}

impl Lecture {
    pub fn signaler(&mut self, pointeur: &str, code: &'static str, message: impl Into<String>) {
        self.manquements.push(Manquement {
            pointeur: pointeur.to_owned(),
            code,
            message: message.into(),
        });
    }

    pub(crate) fn domaine(&mut self, pointeur: &str, e: DomainError) {
        let code = e.code();
        self.signaler(pointeur, code, e.to_string());
    }

    /// The object at `pointeur`, with every key outside `connus` reported.
    pub fn objet<'v>(&mut self, v: &'v Value, pointeur: &str, connus: &[&str]) -> Option<&'v Map<String, Value>> {
        let Some(o) = v.as_object() else {
            self.signaler(pointeur, "type_invalide", "un objet JSON est attendu");
            return None;
        };
        for cle in o.keys() {
            if !connus.contains(&cle.as_str()) {
                // The key is the client's: echoed shortened, so that a pointer and a message
                // stay of bounded length whatever is sent.
                let cle: String = if cle.chars().count() > 60 {
                    cle.chars().take(60).chain(std::iter::once('…')).collect()
                } else {
                    cle.clone()
                };
                self.signaler(
                    &format!("{pointeur}/{}", segment(&cle)),
                    "champ_inconnu",
                    format!("champ inconnu « {cle} » ; champs acceptés : {}", connus.join(", ")),
                );
            }
        }
        Some(o)
    }

    /// A string field; `None` (with a violation when `obligatoire`) if absent or null.
    pub fn texte(
        &mut self,
        o: &Map<String, Value>,
        base: &str,
        cle: &str,
        obligatoire: bool,
        longueur_max: usize,
    ) -> Option<String> {
        let pointeur = format!("{base}/{cle}");
        match o.get(cle) {
            None | Some(Value::Null) => {
                if obligatoire {
                    self.signaler(
                        &pointeur,
                        "champ_obligatoire",
                        format!("le champ « {cle} » est obligatoire"),
                    );
                }
                None
            }
            Some(Value::String(s)) => {
                let t = s.trim();
                let n = t.chars().count();
                if n == 0 {
                    self.signaler(
                        &pointeur,
                        "texte_vide",
                        format!("le champ « {cle} » ne peut pas être vide"),
                    );
                    None
                } else if n > longueur_max {
                    self.signaler(
                        &pointeur,
                        "texte_trop_long",
                        format!("le champ « {cle} » a au plus {longueur_max} caractères ({n} reçus)"),
                    );
                    None
                } else if t.chars().any(char::is_control) {
                    self.signaler(
                        &pointeur,
                        "caractere_interdit",
                        "les caractères de contrôle sont interdits",
                    );
                    None
                } else {
                    Some(t.to_owned())
                }
            }
            Some(_) => {
                self.signaler(&pointeur, "type_invalide", format!("le champ « {cle} » est une chaîne"));
                None
            }
        }
    }

    /// A string field parsed by a domain parser.
    pub fn valeur<T>(
        &mut self,
        o: &Map<String, Value>,
        base: &str,
        cle: &str,
        obligatoire: bool,
        parse: impl FnOnce(&str) -> Result<T, DomainError>,
    ) -> Option<T> {
        let texte = self.texte(o, base, cle, obligatoire, 200)?;
        match parse(&texte) {
            Ok(v) => Some(v),
            Err(e) => {
                self.domaine(&format!("{base}/{cle}"), e);
                None
            }
        }
    }

    pub fn booleen(&mut self, o: &Map<String, Value>, base: &str, cle: &str) -> Option<bool> {
        match o.get(cle) {
            Some(Value::Bool(b)) => Some(*b),
            None | Some(Value::Null) => {
                self.signaler(
                    &format!("{base}/{cle}"),
                    "champ_obligatoire",
                    format!("le champ « {cle} » est obligatoire"),
                );
                None
            }
            Some(_) => {
                self.signaler(
                    &format!("{base}/{cle}"),
                    "type_invalide",
                    format!("le champ « {cle} » est un booléen"),
                );
                None
            }
        }
    }

    pub fn date(&mut self, o: &Map<String, Value>, base: &str, cle: &str, obligatoire: bool) -> Option<NaiveDate> {
        self.valeur(o, base, cle, obligatoire, |s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| DomainError::Invalide {
                code: "date_format",
                message: format!("« {s} » n'est pas une date AAAA-MM-JJ valide"),
            })
        })
    }

    pub fn est_vide(&self) -> bool {
        self.manquements.is_empty()
    }
}
