//! CSV meant for spreadsheets. Every CSV the gateway writes (list exports, import rejection
//! reports, example import files) goes through [`EcrivainTableur`], which neutralises any cell
//! a spreadsheet would run as a formula: a cell starting with `=`, `+`, `-`, `@`, a tab or a
//! carriage return gets a leading apostrophe (OWASP, "CSV Injection"). A partner-controlled
//! name such as `=HYPERLINK("http://x";"a")` therefore opens as text. Phone numbers written
//! `+33 1…` get the apostrophe too: that is the rule, not an accident.
//!
//! Reading a file back (imports), [`retablir`] removes exactly that apostrophe, so that a file
//! written here imports to the same values.

use std::borrow::Cow;
use std::io::Write;

/// First characters that make a spreadsheet read a cell as a formula (or smuggle one in).
pub const DECLENCHEURS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether [`neutraliser`] prefixes the cell: it starts with a formula character, possibly
/// after apostrophes (those get one more, so that [`retablir`] gives back exactly the value).
fn a_neutraliser(cellule: &str) -> bool {
    cellule.trim_start_matches('\'').starts_with(DECLENCHEURS)
}

/// The cell as written to a CSV file: with a leading apostrophe when it would start a formula.
pub fn neutraliser(cellule: &str) -> Cow<'_, str> {
    if a_neutraliser(cellule) {
        Cow::Owned(format!("'{cellule}"))
    } else {
        Cow::Borrowed(cellule)
    }
}

/// The cell as read back: the apostrophe [`neutraliser`] added is removed (only when a
/// formula character follows the apostrophes; any other leading apostrophe is data).
pub fn retablir(cellule: &str) -> &str {
    match cellule.strip_prefix('\'') {
        Some(reste) if a_neutraliser(reste) => reste,
        _ => cellule,
    }
}

/// Line endings of the file written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinDeLigne {
    /// `\n` (files for tools).
    Lf,
    /// `\r\n` (RFC 4180, for spreadsheets).
    Crlf,
}

/// A `;`-separated CSV writer whose every cell goes through [`neutraliser`].
pub struct EcrivainTableur<W: Write> {
    w: csv::Writer<W>,
}

impl<W: Write> EcrivainTableur<W> {
    pub fn new(sortie: W, fin: FinDeLigne) -> Self {
        let terminateur = match fin {
            FinDeLigne::Lf => csv::Terminator::Any(b'\n'),
            FinDeLigne::Crlf => csv::Terminator::CRLF,
        };
        Self {
            w: csv::WriterBuilder::new()
                .delimiter(b';')
                .terminator(terminateur)
                .from_writer(sortie),
        }
    }

    /// Writes one row (quoted where RFC 4180 needs it, formulas neutralised).
    pub fn ecrire<I, T>(&mut self, ligne: I) -> Result<(), csv::Error>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        self.w
            .write_record(ligne.into_iter().map(|c| neutraliser(c.as_ref()).into_owned()))
    }

    pub fn flush(&mut self) -> Result<(), csv::Error> {
        self.w.flush()?;
        Ok(())
    }

    /// The output, everything flushed.
    pub fn into_inner(self) -> Result<W, csv::Error> {
        self.w.into_inner().map_err(|e| e.into_error().into())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn formules_neutralisees() {
        for (brut, ecrit) in [
            ("=1+1", "'=1+1"),
            ("+33 1 23 45 67 89", "'+33 1 23 45 67 89"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("Morel", "Morel"),
            ("Jean-Paul", "Jean-Paul"),
            ("", ""),
            ("'=déjà", "''=déjà"),
            ("'Morel", "'Morel"),
        ] {
            assert_eq!(neutraliser(brut), ecrit, "{brut:?}");
        }
    }

    #[test]
    fn relu_tel_quel() {
        for brut in [
            "=1+1",
            "+33 1",
            "-2",
            "@x",
            "\tx",
            "\rx",
            "Morel",
            "'apostrophe",
            "'=x",
            "''+x",
            "",
        ] {
            assert_eq!(retablir(&neutraliser(brut)), brut, "{brut:?}");
        }
    }

    #[test]
    fn chaque_cellule_passe_par_neutraliser() {
        let mut w = EcrivainTableur::new(Vec::new(), FinDeLigne::Crlf);
        w.ecrire(["nom", "telephone"]).unwrap();
        w.ecrire(["=HYPERLINK(\"http://x\";\"a\")", "+33 1"]).unwrap();
        let texte = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(
            texte,
            "nom;telephone\r\n\"'=HYPERLINK(\"\"http://x\"\";\"\"a\"\")\";'+33 1\r\n"
        );
    }
}
