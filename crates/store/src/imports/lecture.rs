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

use std::fs::File;
#[cfg(test)]
use std::io::Read;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::{Map, Value};

use super::{FormatImport, Rejet};
use crate::tableur::{EcrivainTableur, FinDeLigne};

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
/// Most fields of a CSV record (the format knows fewer than 50 columns).
const COLONNES_MAX: usize = 1024;
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

/// What one bounded read of a line gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lu {
    Fin,
    Ligne,
    TropLongue,
}

fn illisible(e: std::io::Error) -> ErreurFichier {
    ErreurFichier {
        code: "fichier_illisible",
        message: format!("lecture du fichier interrompue : {e}"),
    }
}

/// Reads one line (without its `\n`) into `tampon`, keeping at most `max` bytes: the rest of a
/// longer line is skipped, never buffered.
fn lire_ligne<R: BufRead>(r: &mut R, tampon: &mut Vec<u8>, max: usize) -> std::io::Result<Lu> {
    tampon.clear();
    let (mut vide, mut trop_longue) = (true, false);
    loop {
        let dispo = match r.fill_buf() {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if dispo.is_empty() {
            return Ok(match (vide, trop_longue) {
                (true, _) => Lu::Fin,
                (false, true) => Lu::TropLongue,
                (false, false) => Lu::Ligne,
            });
        }
        vide = false;
        let (contenu, consommes, fin) = match memchr::memchr(b'\n', dispo) {
            Some(i) => (&dispo[..i], i + 1, true),
            None => (dispo, dispo.len(), false),
        };
        if !trop_longue {
            if tampon.len() + contenu.len() > max {
                trop_longue = true;
                tampon.clear();
            } else {
                tampon.extend_from_slice(contenu);
            }
        }
        r.consume(consommes);
        if fin {
            return Ok(if trop_longue { Lu::TropLongue } else { Lu::Ligne });
        }
    }
}

/// One CSV record read with a bound.
enum LuCsv {
    Fin,
    Enregistrement { ligne: u64, record: csv::ByteRecord },
    TropLong { ligne: u64 },
    TropDeColonnes { ligne: u64 },
}

/// CSV records of at most `max` bytes each (quotes included, one terminator excepted), read
/// with csv-core's push parser: a longer record is parsed to its real end (quotes honoured) into
/// a scratch buffer that is overwritten, so memory stays at the bound whatever the file.
struct LecteurCsv<R> {
    r: R,
    core: csv_core::Reader,
    max: usize,
    sortie: Vec<u8>,
    fins: Vec<usize>,
    /// Newlines skipped between records here (csv-core counts the others).
    sauts: u64,
}

impl<R: BufRead> LecteurCsv<R> {
    fn new(r: R, max: usize) -> Self {
        let max = max.max(1);
        Self {
            r,
            // `;`, double quotes, any of \r, \n, \r\n ends a record, a UTF-8 BOM is skipped.
            core: csv_core::ReaderBuilder::new().delimiter(b';').build(),
            max,
            sortie: vec![0; max + 1],
            fins: vec![0; COLONNES_MAX],
            sauts: 0,
        }
    }

    fn suivant(&mut self) -> std::io::Result<LuCsv> {
        use csv_core::ReadRecordResult as R;
        let Self {
            r,
            core,
            max,
            sortie,
            fins,
            sauts,
        } = self;
        // Blank lines between records are skipped here: they count toward no record's bound,
        // and a record's line number is the one it starts on.
        loop {
            let dispo = r.fill_buf()?;
            let n = dispo.iter().take_while(|b| **b == b'\n' || **b == b'\r').count();
            if n == 0 {
                break;
            }
            *sauts += dispo[..n].iter().filter(|b| **b == b'\n').count() as u64;
            r.consume(n);
        }
        let ligne = core.line() + *sauts;
        let (mut nsortie, mut nfins, mut lus) = (0usize, 0usize, 0usize);
        // Some(false): longer than the bound; Some(true): too many fields.
        let mut debord: Option<bool> = None;
        loop {
            let dispo = r.fill_buf()?;
            let (res, nin, nout, nend) = match debord {
                // Never more than the bound (plus a terminator) is offered: the record either
                // ends within it or is known to be too long. An empty slice means end of file.
                None => {
                    let entree = &dispo[..dispo.len().min(*max + 1 - lus)];
                    core.read_record(entree, &mut sortie[nsortie..], &mut fins[nfins..])
                }
                // Parsed to its end, its bytes written over the same scratch buffers.
                Some(_) => core.read_record(dispo, sortie, fins),
            };
            r.consume(nin);
            lus = lus.saturating_add(nin);
            if debord.is_none() {
                nsortie += nout;
                nfins += nend;
            }
            match res {
                R::InputEmpty => {
                    if debord.is_none() && lus > *max {
                        debord = Some(false);
                    }
                }
                R::OutputFull => {
                    debord.get_or_insert(false);
                }
                R::OutputEndsFull => {
                    debord.get_or_insert(true);
                }
                R::Record => {
                    return Ok(match debord {
                        None => {
                            let mut record = csv::ByteRecord::with_capacity(nsortie, nfins);
                            let mut debut = 0;
                            for &fin in &fins[..nfins] {
                                record.push_field(sortie.get(debut..fin).unwrap_or_default());
                                debut = fin;
                            }
                            LuCsv::Enregistrement { ligne, record }
                        }
                        Some(false) => LuCsv::TropLong { ligne },
                        Some(true) => LuCsv::TropDeColonnes { ligne },
                    })
                }
                R::End => return Ok(LuCsv::Fin),
            }
        }
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
mod tests {
    use super::*;

    #[test]
    fn colonnes_inconnues_citees_en_bref() {
        // Found by schemathesis: every unknown name was echoed whole in the message.
        let mut entete: Vec<String> = OBLIGATOIRES.iter().map(|s| s.to_string()).collect();
        entete.extend((0..1000).map(|i| format!("{i}{}", "x".repeat(500))));
        let e = verifier_entete(&entete).unwrap_err();
        assert_eq!(e.code, "csv_colonne_inconnue");
        assert!(e.message.contains("(1000 en tout)"), "{}", e.message);
        assert!(e.message.chars().count() < 1500, "{}", e.message.chars().count());
    }

    #[test]
    fn entete_verifiee() {
        let ok: Vec<String> = OBLIGATOIRES.iter().map(|s| s.to_string()).collect();
        assert!(verifier_entete(&ok).is_ok());
        let mut inconnue = ok.clone();
        inconnue.push("couleur".into());
        assert_eq!(verifier_entete(&inconnue).unwrap_err().code, "csv_colonne_inconnue");
        assert_eq!(verifier_entete(&ok[1..]).unwrap_err().code, "csv_colonne_manquante");
    }

    #[test]
    fn csv_aller_retour() {
        let e = serde_json::json!({
            "eleve": {"ine": "0494004062M", "nom": "=1+1", "prenoms": ["@Léa", "Rose"], "sexe": "F",
                      "date_naissance": "2020-04-02", "lieu_naissance": "75056",
                      "adresse": {"voie": "3 rue des Lilas; bât. B", "code_postal": "75011", "commune": "75056"},
                      "responsables": [{"nom": "Morel", "prenom": "Anne", "lien": "mere", "autorite_parentale": true,
                                        "telephone": "+33 1 23 45 67 89"}]},
            "inscriptions": [{"uai": "0750655E", "annee_scolaire": "2026-2027", "niveau": "CP"}]
        });
        let mut sortie = b"\xef\xbb\xbf".to_vec();
        let mut w = EcrivainCsv::new(&mut sortie).unwrap();
        w.ecrire(&e).unwrap();
        w.terminer().unwrap();
        // Written as text for a spreadsheet, read back as the values.
        let texte = String::from_utf8_lossy(&sortie);
        assert!(
            texte.contains(";'=1+1;'@Léa|Rose;") && texte.contains(";'+33 1 23 45 67 89"),
            "{texte}"
        );
        let dossier = tempfile::tempdir().unwrap();
        let chemin = dossier.path().join("f.csv");
        std::fs::write(&chemin, &sortie).unwrap();
        verifier_csv(&chemin, LIGNE_MAX_OCTETS).unwrap();
        let mut lus = Vec::new();
        parcourir(&chemin, FormatImport::Csv, LIGNE_MAX_OCTETS, &mut |r| {
            if let Enregistrement::Valeur { ligne, valeur } = r {
                lus.push((ligne, valeur));
            }
            true
        })
        .unwrap();
        assert_eq!(lus, vec![(2, e)]);
    }

    fn lire(octets: &[u8], format: FormatImport, max: usize) -> Vec<(u64, Result<Value, String>)> {
        let mut lus = Vec::new();
        parcourir_lecteur(std::io::Cursor::new(octets), format, max, &mut |e| {
            lus.push(match e {
                Enregistrement::Valeur { ligne, valeur } => (ligne, Ok(valeur)),
                Enregistrement::Illisible(r) => (r.ligne, Err(r.code)),
            });
            true
        })
        .unwrap();
        lus
    }

    #[test]
    fn ligne_ndjson_trop_longue_un_seul_rejet() {
        let mut f = b"{\"a\":1}\n".to_vec();
        f.extend(std::iter::repeat_n(b'x', 3 << 20));
        f.extend(b"\n\n{\"a\":3}\r\n{\"a\":4}");
        let lus = lire(&f, FormatImport::Ndjson, 4096);
        let attendu: Vec<(u64, Result<Value, String>)> = vec![
            (1, Ok(serde_json::json!({"a": 1}))),
            (2, Err("ligne_trop_longue".into())),
            (4, Ok(serde_json::json!({"a": 3}))),
            (5, Ok(serde_json::json!({"a": 4}))),
        ];
        assert_eq!(lus, attendu);
        // A file of one line over the bound, without a newline: one rejection.
        let seule = vec![b'{'; 1 << 20];
        assert_eq!(
            lire(&seule, FormatImport::Ndjson, 4096),
            vec![(1, Err("ligne_trop_longue".into()))]
        );
        // The counts agree.
        let dossier = tempfile::tempdir().unwrap();
        let chemin = dossier.path().join("f.ndjson");
        std::fs::write(&chemin, &f).unwrap();
        assert_eq!(compter(&chemin, FormatImport::Ndjson, 4096).unwrap(), 4);
    }

    #[test]
    fn memoire_bornee_par_ligne() {
        // 8 MiB without a newline, read through a small buffer: the line buffer never grows
        // beyond the bound.
        let max = 4096;
        let mut r = BufReader::with_capacity(8192, std::io::repeat(b'a').take(8 << 20));
        let mut tampon = Vec::new();
        assert_eq!(lire_ligne(&mut r, &mut tampon, max).unwrap(), Lu::TropLongue);
        assert!(tampon.capacity() <= 2 * max, "{}", tampon.capacity());
        assert_eq!(lire_ligne(&mut r, &mut tampon, max).unwrap(), Lu::Fin);
        // The same in CSV: a quoted cell of 8 MiB spanning lines.
        let entete = b"ine;nom\n".as_slice();
        let cellule = std::io::repeat(b'b').take(4 << 20);
        let suite = b"\n\nfin\";x\nA;B\n".as_slice();
        let flux = entete
            .chain(b"\"".as_slice())
            .chain(cellule)
            .chain(b"\nsuite".as_slice())
            .chain(std::io::repeat(b'c').take(4 << 20));
        let mut l = LecteurCsv::new(BufReader::with_capacity(8192, flux.chain(suite)), max);
        assert!(matches!(l.suivant().unwrap(), LuCsv::Enregistrement { ligne: 1, .. }));
        assert!(matches!(l.suivant().unwrap(), LuCsv::TropLong { ligne: 2 }));
        match l.suivant().unwrap() {
            LuCsv::Enregistrement { ligne, record } => {
                assert_eq!(ligne, 6);
                assert_eq!(record, csv::ByteRecord::from(vec!["A", "B"]));
            }
            _ => panic!("enregistrement attendu"),
        }
        assert!(matches!(l.suivant().unwrap(), LuCsv::Fin));
        assert!(l.sortie.capacity() <= max + 1 && l.fins.capacity() <= COLONNES_MAX);
    }

    #[test]
    fn csv_trop_long_un_seul_rejet_et_la_suite_lue() {
        let e = serde_json::json!({
            "eleve": {"ine": "0494004062M", "nom": "Morel", "prenoms": ["Léa"], "sexe": "F",
                      "date_naissance": "2020-04-02", "lieu_naissance": "75056"}
        });
        let mut sortie = Vec::new();
        let mut w = EcrivainCsv::new(&mut sortie).unwrap();
        w.ecrire(&e).unwrap();
        w.terminer().unwrap();
        let texte = String::from_utf8(sortie).unwrap();
        let (entete, ligne) = texte.split_once('\n').unwrap();
        let longue = ligne.replacen("Morel", &format!("\"{}\n{}\"", "M".repeat(5000), "o".repeat(5000)), 1);
        let f = format!("{entete}\n{ligne}{longue}{ligne}");
        let lus = lire(f.as_bytes(), FormatImport::Csv, 4096);
        let lignes: Vec<(u64, bool)> = lus.iter().map(|(l, r)| (*l, r.is_ok())).collect();
        assert_eq!(lignes, vec![(2, true), (3, false), (5, true)]);
        assert_eq!(lus[1].1, Err("ligne_trop_longue".to_string()));
        // The header too is bounded: a file error.
        let dossier = tempfile::tempdir().unwrap();
        let chemin = dossier.path().join("f.csv");
        std::fs::write(&chemin, "x".repeat(10_000)).unwrap();
        assert_eq!(verifier_csv(&chemin, 4096).unwrap_err().code, "ligne_trop_longue");
        std::fs::write(&chemin, &f).unwrap();
        assert_eq!(compter(&chemin, FormatImport::Csv, 4096).unwrap(), 3);
    }

    #[test]
    fn un_dossier_complet_tient_sous_la_borne() {
        // Every field at its domain maximum, every character a two-byte one escaped as \uXXXX
        // (6 bytes): the worst a valid record can weigh.
        let t = |n: usize| "é".repeat(n);
        let responsable = serde_json::json!({
            "nom": t(100), "prenom": t(100), "lien": "representant_legal", "autorite_parentale": true,
            "telephone": "+33612345678", "courriel": t(254), "adresse": t(300)
        });
        let inscription = serde_json::json!({
            "uai": "0750655E", "annee_scolaire": "2026-2027", "niveau": "CM2", "classe": t(50),
            "dispositif": t(50), "statut": "admis_definitif", "admission_provisoire": false,
            "date_inscription": "2026-06-01", "date_admission": "2026-06-02"
        });
        let e = serde_json::json!({
            "eleve": {"ine": "0494004062M", "nom": t(100), "prenoms": [t(100), t(100), t(100)], "sexe": "F",
                      "date_naissance": "2020-04-02", "lieu_naissance": "75056",
                      "adresse": {"voie": t(300), "code_postal": "75011", "commune": "75056"},
                      "responsables": vec![responsable; RESPONSABLES_MAX]},
            "inscriptions": vec![inscription; onde_domain::poussee::INSCRIPTIONS_MAX]
        });
        let echappe = e.to_string().replace('é', "\\u00e9");
        assert!(echappe.len() < LIGNE_MAX_OCTETS, "{}", echappe.len());
        // Without escapes (plain UTF-8), a quarter of the bound.
        assert!(e.to_string().len() < LIGNE_MAX_OCTETS / 4, "{}", e.to_string().len());
    }

    proptest::proptest! {
        /// Under the bound, the bounded reader gives the csv crate's records.
        #[test]
        fn memes_enregistrements_que_le_crate_csv(texte in "[ab;\"\n\r]{0,200}") {
            let mut attendus = Vec::new();
            let mut l = csv::ReaderBuilder::new().delimiter(b';').has_headers(false).flexible(true)
                .from_reader(texte.as_bytes());
            let mut r = csv::ByteRecord::new();
            while l.read_byte_record(&mut r).unwrap() {
                attendus.push(r.clone());
            }
            let mut lus = Vec::new();
            let mut b = LecteurCsv::new(BufReader::with_capacity(7, texte.as_bytes()), 1000);
            loop {
                match b.suivant().unwrap() {
                    LuCsv::Fin => break,
                    LuCsv::Enregistrement { record, .. } => lus.push(record),
                    _ => panic!("borne non atteinte"),
                }
            }
            let champs = |v: &Vec<csv::ByteRecord>| v.iter().map(|r| r.iter().map(|c| c.to_vec()).collect::<Vec<_>>()).collect::<Vec<_>>();
            proptest::prop_assert_eq!(champs(&lus), champs(&attendus));
        }
    }
}
