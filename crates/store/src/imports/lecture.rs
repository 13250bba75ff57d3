//! Reading an upload line by line, without loading it: NDJSON (one JSON record per line) or
//! CSV (semicolon-separated, header row with French column names, UTF-8 with or without BOM).
//! A CSV row becomes the same JSON record as an NDJSON line, so both formats share every rule
//! and every JSON pointer of the rejection report.
//!
//! CSV columns (order free, names case-sensitive; an empty cell is an absent field):
//! `ine;nom;prenoms;sexe;date_naissance;lieu_naissance` (required), `adresse_voie;
//! adresse_code_postal;adresse_commune`, for N = 1 to 4 `responsableN_nom;responsableN_prenom;
//! responsableN_lien;responsableN_autorite_parentale;responsableN_telephone;responsableN_courriel;
//! responsableN_adresse`, and `uai;annee_scolaire;niveau;classe;dispositif;statut;
//! admission_provisoire;date_inscription;date_admission` (one inscription per row). `prenoms`
//! separates first names with `|`; booleans are `oui`/`non` (or `true`/`false`, `1`/`0`).
//!
//! Every line (an NDJSON line, a CSV record even when quotes make it span several lines) is
//! bounded: a longer one is one rejection (`ligne_trop_longue`) and reading goes on at the next
//! one. A line is never held beyond the bound: the reader keeps at most the bound of a line and
//! skips the rest, so a file of one 400 MiB line costs a few hundred KiB of memory.

mod lecteur;

use std::fs::File;
#[cfg(test)]
use std::io::Read;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::{Map, Value};

use super::rejets::Rejet;
use super::statut::FormatImport;
use crate::tableur::{EcrivainTableur, FinDeLigne};
use lecteur::{lire_ligne, LecteurCsv, Lu, LuCsv, COLONNES_MAX};

const OBLIGATOIRES: [&str; 6] = ["ine", "nom", "prenoms", "sexe", "date_naissance", "lieu_naissance"];
const ELEVE: [&str; 6] = ["ine", "nom", "prenoms", "sexe", "date_naissance", "lieu_naissance"];
const ADRESSE: [(&str, &str); 3] = [
    ("adresse_voie", "voie"),
    ("adresse_code_postal", "code_postal"),
    ("adresse_commune", "commune"),
];
const RESPONSABLE: [&str; 7] = [
    "nom",
    "prenom",
    "lien",
    "autorite_parentale",
    "telephone",
    "courriel",
    "adresse",
];
pub const RESPONSABLES_MAX: usize = 4;
/// Default bound of one line, in bytes (`imports.ligne_max_octets`): a record at every
/// domain maximum (4 guardians with addresses, 20 inscriptions) written with `\uXXXX`
/// escapes stays far below it (see the tests).
pub const LIGNE_MAX_OCTETS: usize = 64 * 1024;
const BOOLEENS: [&str; 2] = ["autorite_parentale", "admission_provisoire"];

/// Every column name the CSV format knows, in the order the generator writes them.
pub fn colonnes_csv() -> Vec<String> {
    let mut c: Vec<String> = ELEVE.iter().map(|s| s.to_string()).collect();
    c.extend(ADRESSE.iter().map(|(s, _)| s.to_string()));
    for n in 1..=RESPONSABLES_MAX {
        c.extend(RESPONSABLE.iter().map(|s| format!("responsable{n}_{s}")));
    }
    c.extend(onde_domain::poussee::CHAMPS_INSCRIPTION.iter().map(|s| s.to_string()));
    c
}

/// A problem with the file as a whole (not one of its lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErreurFichier {
    pub code: &'static str,
    pub message: String,
}

/// One record of the file: its JSON form, or why it cannot be read.
pub enum Enregistrement {
    Valeur { ligne: u64, valeur: Value },
    Illisible(Rejet),
}

fn sans_bom(s: &str) -> &str {
    s.strip_prefix('\u{feff}').unwrap_or(s)
}

/// Checks a CSV header: known names only, each once, the required ones present.
pub fn verifier_entete(entete: &[String]) -> Result<(), ErreurFichier> {
    let connues = colonnes_csv();
    let mut inconnues = Vec::new();
    let mut vues = std::collections::HashSet::new();
    for nom in entete {
        if !connues.contains(nom) {
            inconnues.push(nom.clone());
        } else if !vues.insert(nom.as_str()) {
            return Err(ErreurFichier {
                code: "csv_colonne_repetee",
                message: format!("la colonne « {nom} » figure deux fois dans l'en-tête"),
            });
        }
    }
    if !inconnues.is_empty() {
        // The file's own names are echoed shortened, five at most: a header of any size gives
        // a message of bounded length.
        let mut citees: Vec<String> = inconnues
            .iter()
            .take(5)
            .map(|n| {
                let court: String = n.chars().take(40).collect();
                if court.len() < n.len() {
                    format!("{court}…")
                } else {
                    court
                }
            })
            .collect();
        if inconnues.len() > 5 {
            citees.push(format!("… ({} en tout)", inconnues.len()));
        }
        return Err(ErreurFichier {
            code: "csv_colonne_inconnue",
            message: format!(
                "colonne(s) inconnue(s) : {} ; colonnes acceptées : {}",
                citees.join(", "),
                connues.join(";")
            ),
        });
    }
    let manquantes: Vec<&str> = OBLIGATOIRES
        .iter()
        .copied()
        .filter(|o| !entete.iter().any(|e| e == o))
        .collect();
    if !manquantes.is_empty() {
        return Err(ErreurFichier {
            code: "csv_colonne_manquante",
            message: format!("colonne(s) obligatoire(s) absente(s) : {}", manquantes.join(", ")),
        });
    }
    Ok(())
}

fn illisible(e: std::io::Error) -> ErreurFichier {
    ErreurFichier {
        code: "fichier_illisible",
        message: format!("lecture du fichier interrompue : {e}"),
    }
}

fn trop_longue(ligne: u64, max: usize) -> Rejet {
    rejet(
        ligne,
        "",
        "ligne_trop_longue",
        format!("ligne de plus de {max} octets, ignorée : un enregistrement tient sur moins (limite imports.ligne_max_octets)"),
    )
}

fn trop_de_colonnes(ligne: u64) -> Rejet {
    rejet(
        ligne,
        "",
        "csv_nombre_colonnes",
        format!("plus de {COLONNES_MAX} colonnes : ligne ignorée"),
    )
}

fn entete_csv<R: BufRead>(l: &mut LecteurCsv<R>) -> Result<Vec<String>, ErreurFichier> {
    let record = match l.suivant().map_err(illisible)? {
        LuCsv::Enregistrement { record, .. } => record,
        LuCsv::Fin => csv::ByteRecord::new(),
        LuCsv::TropLong { .. } => {
            return Err(ErreurFichier {
                code: "ligne_trop_longue",
                message: format!(
                    "l'en-tête CSV dépasse {} octets : ce n'est pas un en-tête d'import",
                    l.max
                ),
            })
        }
        LuCsv::TropDeColonnes { .. } => {
            return Err(ErreurFichier {
                code: "csv_colonne_inconnue",
                message: format!("l'en-tête CSV a plus de {COLONNES_MAX} colonnes"),
            })
        }
    };
    record
        .iter()
        .map(|c| {
            std::str::from_utf8(c)
                .map(|s| sans_bom(s).trim().to_owned())
                .map_err(|_| ErreurFichier {
                    code: "encodage_invalide",
                    message: "l'en-tête n'est pas en UTF-8".into(),
                })
        })
        .collect()
}

/// Reads and checks the header of a CSV file (before accepting an upload), its length bounded
/// by `ligne_max` bytes.
pub fn verifier_csv(chemin: &Path, ligne_max: usize) -> Result<(), ErreurFichier> {
    let f = ouvrir(chemin)?;
    let mut l = LecteurCsv::new(BufReader::with_capacity(64 * 1024, f), ligne_max);
    verifier_entete(&entete_csv(&mut l)?)
}

fn ouvrir(chemin: &Path) -> Result<File, ErreurFichier> {
    File::open(chemin).map_err(|e| ErreurFichier {
        code: "fichier_illisible",
        message: format!("fichier d'import illisible : {e}"),
    })
}

fn rejet(ligne: u64, pointeur: &str, code: &str, message: impl Into<String>) -> Rejet {
    Rejet {
        ligne,
        pointeur: pointeur.to_owned(),
        code: code.to_owned(),
        message: message.into(),
        cause: None,
    }
}

/// Counts the records (data lines) of the file, for progress, without parsing them: non-blank
/// lines of NDJSON, non-blank rows of CSV (a line over `ligne_max` bytes counts as one).
pub fn compter(chemin: &Path, format: FormatImport, ligne_max: usize) -> Result<u64, ErreurFichier> {
    let mut r = BufReader::with_capacity(1 << 20, ouvrir(chemin)?);
    let mut n = 0u64;
    match format {
        FormatImport::Ndjson => {
            let mut tampon = Vec::new();
            loop {
                match lire_ligne(&mut r, &mut tampon, ligne_max).map_err(illisible)? {
                    Lu::Fin => return Ok(n),
                    Lu::TropLongue => n += 1,
                    Lu::Ligne => {
                        let octets = tampon.strip_prefix(b"\xef\xbb\xbf".as_slice()).unwrap_or(&tampon);
                        if !octets.iter().all(u8::is_ascii_whitespace) {
                            n += 1;
                        }
                    }
                }
            }
        }
        FormatImport::Csv => {
            let mut l = LecteurCsv::new(r, ligne_max);
            // The header is not a record.
            let mut entete = true;
            loop {
                match l.suivant().map_err(illisible)? {
                    LuCsv::Fin => return Ok(n),
                    LuCsv::Enregistrement { record, .. } => {
                        if !std::mem::take(&mut entete) && !blanc(&record) {
                            n += 1;
                        }
                    }
                    LuCsv::TropLong { .. } | LuCsv::TropDeColonnes { .. } => {
                        if !std::mem::take(&mut entete) {
                            n += 1;
                        }
                    }
                }
            }
        }
    }
}

fn blanc(record: &csv::ByteRecord) -> bool {
    record.iter().all(|c| c.iter().all(u8::is_ascii_whitespace))
}

/// Calls `f` with every record of the file in order, until it returns `false`; a line over
/// `ligne_max` bytes is one `ligne_trop_longue` rejection.
pub fn parcourir(
    chemin: &Path,
    format: FormatImport,
    ligne_max: usize,
    f: &mut dyn FnMut(Enregistrement) -> bool,
) -> Result<(), ErreurFichier> {
    let fichier = ouvrir(chemin)?;
    parcourir_lecteur(BufReader::with_capacity(1 << 20, fichier), format, ligne_max, f)
}

/// [`parcourir`] on any reader (the fuzz targets read from memory).
pub fn parcourir_lecteur<R: BufRead>(
    r: R,
    format: FormatImport,
    ligne_max: usize,
    f: &mut dyn FnMut(Enregistrement) -> bool,
) -> Result<(), ErreurFichier> {
    match format {
        FormatImport::Ndjson => parcourir_ndjson(r, ligne_max, f),
        FormatImport::Csv => parcourir_csv(r, ligne_max, f),
    }
}

fn parcourir_ndjson<R: BufRead>(
    mut r: R,
    ligne_max: usize,
    f: &mut dyn FnMut(Enregistrement) -> bool,
) -> Result<(), ErreurFichier> {
    let mut tampon = Vec::new();
    let mut ligne = 0u64;
    loop {
        let lu = lire_ligne(&mut r, &mut tampon, ligne_max).map_err(illisible)?;
        if lu == Lu::Fin {
            return Ok(());
        }
        ligne += 1;
        if lu == Lu::TropLongue {
            if !f(Enregistrement::Illisible(trop_longue(ligne, ligne_max))) {
                return Ok(());
            }
            continue;
        }
        let mut octets: &[u8] = &tampon;
        if ligne == 1 {
            octets = octets.strip_prefix(b"\xef\xbb\xbf".as_slice()).unwrap_or(octets);
        }
        // Blank lines (a trailing newline, CRLF endings) are not records.
        if octets.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let e = match serde_json::from_slice::<Value>(octets) {
            Ok(valeur) => Enregistrement::Valeur { ligne, valeur },
            Err(_) if std::str::from_utf8(octets).is_err() => {
                Enregistrement::Illisible(rejet(ligne, "", "encodage_invalide", "ligne illisible : UTF-8 attendu"))
            }
            Err(e) => Enregistrement::Illisible(rejet(
                ligne,
                "",
                "json_invalide",
                format!(
                    "JSON mal formé (colonne {}) : une ligne contient un objet JSON",
                    e.column()
                ),
            )),
        };
        if !f(e) {
            return Ok(());
        }
    }
}

fn parcourir_csv<R: BufRead>(
    r: R,
    ligne_max: usize,
    f: &mut dyn FnMut(Enregistrement) -> bool,
) -> Result<(), ErreurFichier> {
    let mut l = LecteurCsv::new(r, ligne_max);
    let entete = entete_csv(&mut l)?;
    verifier_entete(&entete)?;
    loop {
        let e = match l.suivant().map_err(illisible)? {
            LuCsv::Fin => return Ok(()),
            LuCsv::TropLong { ligne } => Enregistrement::Illisible(trop_longue(ligne, ligne_max)),
            LuCsv::TropDeColonnes { ligne } => Enregistrement::Illisible(trop_de_colonnes(ligne)),
            LuCsv::Enregistrement { ligne, record } => {
                if blanc(&record) {
                    continue;
                }
                if record.len() != entete.len() {
                    Enregistrement::Illisible(rejet(
                        ligne,
                        "",
                        "csv_nombre_colonnes",
                        format!("{} colonnes attendues (en-tête), {} reçues", entete.len(), record.len()),
                    ))
                } else {
                    match ligne_csv(&entete, &record) {
                        Some(valeur) => Enregistrement::Valeur { ligne, valeur },
                        None => Enregistrement::Illisible(rejet(
                            ligne,
                            "",
                            "encodage_invalide",
                            "ligne illisible : UTF-8 attendu",
                        )),
                    }
                }
            }
        };
        if !f(e) {
            return Ok(());
        }
    }
}

fn cellule(s: &str, colonne: &str) -> Value {
    if BOOLEENS.iter().any(|b| colonne.ends_with(b)) {
        match s.to_lowercase().as_str() {
            "oui" | "true" | "vrai" | "1" => return Value::Bool(true),
            "non" | "false" | "faux" | "0" => return Value::Bool(false),
            // Anything else goes on as text: the domain reports it as a non-boolean.
            _ => {}
        }
    }
    Value::String(s.to_owned())
}

/// A CSV row as the JSON record `{"eleve": {...}, "inscriptions": [...]}`; `None` if not UTF-8.
pub fn ligne_csv(entete: &[String], record: &csv::ByteRecord) -> Option<Value> {
    let mut cellules: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for (nom, octets) in entete.iter().zip(record.iter()) {
        // A cell written by the gateway's own CSV (an example file, an edited export) comes
        // back without the apostrophe that kept it from being a formula.
        let texte = crate::tableur::retablir(std::str::from_utf8(octets).ok()?.trim()).trim();
        if !texte.is_empty() {
            cellules.insert(nom.as_str(), texte);
        }
    }
    let mut eleve = Map::new();
    for c in ELEVE {
        if let Some(v) = cellules.get(c) {
            let valeur = if c == "prenoms" {
                Value::Array(v.split('|').map(|p| Value::String(p.trim().to_owned())).collect())
            } else {
                Value::String((*v).to_owned())
            };
            eleve.insert(c.to_owned(), valeur);
        }
    }
    let mut adresse = Map::new();
    for (colonne, champ) in ADRESSE {
        if let Some(v) = cellules.get(colonne) {
            adresse.insert(champ.to_owned(), Value::String((*v).to_owned()));
        }
    }
    if !adresse.is_empty() {
        eleve.insert("adresse".into(), Value::Object(adresse));
    }
    let mut responsables = Vec::new();
    for n in 1..=RESPONSABLES_MAX {
        let mut r = Map::new();
        for champ in RESPONSABLE {
            let colonne = format!("responsable{n}_{champ}");
            if let Some(v) = cellules.get(colonne.as_str()) {
                r.insert(champ.to_owned(), cellule(v, champ));
            }
        }
        if !r.is_empty() {
            responsables.push(Value::Object(r));
        }
    }
    if !responsables.is_empty() {
        eleve.insert("responsables".into(), Value::Array(responsables));
    }
    let mut inscription = Map::new();
    for champ in onde_domain::poussee::CHAMPS_INSCRIPTION {
        if let Some(v) = cellules.get(champ) {
            inscription.insert(champ.to_owned(), cellule(v, champ));
        }
    }
    let mut element = Map::new();
    element.insert("eleve".into(), Value::Object(eleve));
    if !inscription.is_empty() {
        element.insert("inscriptions".into(), Value::Array(vec![Value::Object(inscription)]));
    }
    Some(Value::Object(element))
}

/// Writes records (`{"eleve", "inscriptions"}` with at most one inscription) as CSV rows,
/// header first (formulas neutralised, see [`crate::tableur`]).
pub struct EcrivainCsv<W: std::io::Write> {
    colonnes: Vec<String>,
    w: EcrivainTableur<W>,
}

impl<W: std::io::Write> EcrivainCsv<W> {
    pub fn new(sortie: W) -> Result<Self, csv::Error> {
        let colonnes = colonnes_csv();
        let mut w = EcrivainTableur::new(sortie, FinDeLigne::Lf);
        w.ecrire(&colonnes)?;
        Ok(Self { colonnes, w })
    }

    pub fn ecrire(&mut self, e: &Value) -> Result<(), csv::Error> {
        self.w.ecrire(self.colonnes.iter().map(|c| valeur_csv(e, c)))
    }

    pub fn terminer(mut self) -> Result<(), csv::Error> {
        self.w.flush()
    }
}

fn texte_csv(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(true) => "oui".into(),
        Value::Bool(false) => "non".into(),
        Value::Array(a) => a.iter().map(texte_csv).collect::<Vec<_>>().join("|"),
        autre => autre.to_string(),
    }
}

fn valeur_csv(e: &Value, colonne: &str) -> String {
    let eleve = &e["eleve"];
    if ELEVE.contains(&colonne) {
        return texte_csv(&eleve[colonne]);
    }
    if let Some((_, champ)) = ADRESSE.iter().find(|(c, _)| *c == colonne) {
        return texte_csv(&eleve["adresse"][*champ]);
    }
    if let Some(reste) = colonne.strip_prefix("responsable") {
        if let Some((n, champ)) = reste.split_once('_') {
            let i = n.parse::<usize>().unwrap_or(1).saturating_sub(1);
            return texte_csv(&eleve["responsables"][i][champ]);
        }
    }
    texte_csv(&e["inscriptions"][0][colonne])
}

#[cfg(test)]
mod tests;
