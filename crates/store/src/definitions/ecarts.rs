//! The replaceable schema's files against the database's catalogue: what differs. A start
//! re-applies the files only then, and `crates/store/tests/schema.rs` checks that nothing does
//! after a migration run.
//!
//! Compared, by name: on PostgreSQL each function's header (`pg_get_functiondef` up to the
//! body: name, arguments, result, language, volatility), its body as stored (`prosrc`, byte for
//! byte) and each trigger (`pg_get_triggerdef`, and whether it is enabled); on SQLite each
//! trigger as stored in `sqlite_master`. Reading the catalogue takes no lock on the tables.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use diesel::sql_types::Text;
use diesel::RunQueryDsl;

use super::fichiers::{Definition, POSTGRES, SQLITE};
use crate::backend::{Backend, DbConnection};
use crate::error::StoreError;

/// Definitions by name (`fonction f`, `corps f`, `déclencheur t`), with what is compared of
/// each.
pub type Definitions = BTreeMap<String, String>;

/// One definition that differs between the files and the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ecart {
    Different {
        nom: String,
        fichier: String,
        base: String,
    },
    Absent {
        nom: String,
    },
    /// In the database only: re-applying the files would not remove it.
    EnTrop {
        nom: String,
    },
}

impl Ecart {
    pub(crate) fn nom(&self) -> &str {
        match self {
            Ecart::Different { nom, .. } | Ecart::Absent { nom } | Ecart::EnTrop { nom } => nom,
        }
    }

    /// Whether re-applying the files puts this definition right.
    pub(crate) fn corrige_par_les_fichiers(&self) -> bool {
        !matches!(self, Ecart::EnTrop { .. })
    }
}

impl fmt::Display for Ecart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ecart::Different { nom, fichier, base } => {
                write!(f, "{nom} : fichier {fichier:?}, base {base:?}")
            }
            Ecart::Absent { nom } => write!(f, "{nom} : absent de la base"),
            Ecart::EnTrop { nom } => write!(f, "{nom} : en base, absent des fichiers"),
        }
    }
}

/// What differs between the database and the files (missing, extra, or another text), one
/// line each; empty when the database holds exactly the files' definitions.
pub fn ecarts(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    Ok(comparer(conn)?.iter().map(Ecart::to_string).collect())
}

pub(crate) fn comparer(conn: &mut DbConnection) -> Result<Vec<Ecart>, StoreError> {
    let backend = match conn {
        DbConnection::Pg(_) => Backend::Postgres,
        DbConnection::Sqlite(_) => Backend::Sqlite,
    };
    let mut attendues = attendues(backend)?;
    let mut en_base = en_base(conn)?;
    let noms: BTreeSet<String> = attendues.keys().chain(en_base.keys()).cloned().collect();
    Ok(noms
        .into_iter()
        .filter_map(|nom| match (attendues.remove(&nom), en_base.remove(&nom)) {
            (Some(a), Some(b)) if a == b => None,
            (Some(fichier), Some(base)) => Some(Ecart::Different { nom, fichier, base }),
            (Some(_), None) => Some(Ecart::Absent { nom }),
            (None, _) => Some(Ecart::EnTrop { nom }),
        })
        .collect())
}

/// What the files of `backend` define, in the form the catalogue is compared in.
pub fn attendues(backend: Backend) -> Result<Definitions, StoreError> {
    match backend {
        Backend::Postgres => {
            let mut f = fonctions_des_fichiers(POSTGRES)?;
            f.extend(
                declencheurs_des_fichiers(POSTGRES, ";")?
                    .into_iter()
                    .map(|(nom, texte)| (nom, normaliser(&texte))),
            );
            Ok(f)
        }
        Backend::Sqlite => declencheurs_des_fichiers(SQLITE, "\nEND"),
    }
}

#[derive(diesel::QueryableByName)]
struct DefinitionEnBase {
    #[diesel(sql_type = Text)]
    nom: String,
    #[diesel(sql_type = Text)]
    texte: String,
}

/// The catalogue's queries per kind of definition: every function of the schema, every user
/// trigger. Views are not part of it: the one view (`changements_portee`) is a migration's, as on
/// SQLite below. A PostgreSQL trigger left disabled (`ALTER TABLE … DISABLE TRIGGER`)
/// differs from its file: `pg_get_triggerdef` does not say it, so its state is appended.
const CATALOGUE_POSTGRES: &[(&str, &str)] = &[
    (
        "fonction",
        "SELECT p.proname::text AS nom, split_part(pg_get_functiondef(p.oid), '$function$', 1) AS texte \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname = current_schema() AND p.prokind = 'f'",
    ),
    (
        "corps",
        "SELECT p.proname::text AS nom, p.prosrc AS texte \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname = current_schema() AND p.prokind = 'f'",
    ),
    (
        "déclencheur",
        "SELECT t.tgname::text AS nom, pg_get_triggerdef(t.oid) || \
                CASE t.tgenabled WHEN 'O' THEN '' ELSE ' -- tgenabled ' || t.tgenabled::text END AS texte \
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE NOT t.tgisinternal AND n.nspname = current_schema()",
    ),
];

const CATALOGUE_SQLITE: &[(&str, &str)] = &[(
    "déclencheur",
    "SELECT name AS nom, sql AS texte FROM sqlite_master WHERE type = 'trigger'",
)];

/// What the database holds, in the form of [`attendues`].
pub fn en_base(conn: &mut DbConnection) -> Result<Definitions, StoreError> {
    let mut trouves = Definitions::new();
    match conn {
        DbConnection::Pg(c) => {
            for (genre, sql) in CATALOGUE_POSTGRES {
                for l in diesel::sql_query(*sql).load::<DefinitionEnBase>(c)? {
                    // Bodies byte for byte; PostgreSQL prints the rest back in its own layout.
                    let texte = if *genre == "corps" {
                        l.texte
                    } else {
                        normaliser(&l.texte)
                    };
                    trouves.insert(format!("{genre} {}", l.nom), texte);
                }
            }
        }
        DbConnection::Sqlite(c) => {
            for (genre, sql) in CATALOGUE_SQLITE {
                for l in diesel::sql_query(*sql).load::<DefinitionEnBase>(c)? {
                    // SQLite keeps the statement's text as written.
                    trouves.insert(format!("{genre} {}", l.nom), l.texte);
                }
            }
        }
    }
    Ok(trouves)
}

/// Whitespace, parentheses, case and the schema qualification removed: PostgreSQL prints a
/// definition back in its own layout (`ON public.eleves`, `WHEN ((NOT f()))`).
fn normaliser(texte: &str) -> String {
    texte
        .replace("public.", "")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '(' && *c != ')')
        .flat_map(char::to_lowercase)
        .collect()
}

/// A file the comparison cannot read: a bug in the file, found by the tests.
fn illisible(d: &Definition, quoi: &str) -> StoreError {
    StoreError::Migration(format!("{} : {quoi} introuvable", d.fichier))
}

/// `CREATE TRIGGER name …` up to its end (`;` on PostgreSQL, `END` on SQLite), by name.
fn declencheurs_des_fichiers(fichiers: &[Definition], fin: &str) -> Result<Definitions, StoreError> {
    let mut trouves = Definitions::new();
    for d in fichiers {
        let mut reste = d.sql;
        while let Some(i) = reste.find("CREATE TRIGGER ") {
            let texte = &reste[i..];
            let longueur = texte.find(fin).ok_or_else(|| illisible(d, "fin de déclencheur"))? + fin.len();
            let nom = texte
                .split_whitespace()
                .nth(2)
                .ok_or_else(|| illisible(d, "nom du déclencheur"))?;
            let fin_sans_point_virgule = longueur - usize::from(fin == ";");
            trouves.insert(format!("déclencheur {nom}"), texte[..fin_sans_point_virgule].to_owned());
            reste = &texte[longueur..];
        }
    }
    Ok(trouves)
}

/// PostgreSQL: each function's header, normalised, and its body as written between `$$`.
fn fonctions_des_fichiers(fichiers: &[Definition]) -> Result<Definitions, StoreError> {
    const DEBUT: &str = "CREATE OR REPLACE FUNCTION ";
    let mut trouves = Definitions::new();
    for d in fichiers {
        let mut reste = d.sql;
        while let Some(i) = reste.find(DEBUT) {
            let texte = &reste[i..];
            let nom = texte[DEBUT.len()..].split('(').next().unwrap_or_default().trim();
            let debut = texte.find("$$").ok_or_else(|| illisible(d, "corps de fonction"))?;
            let fin = debut
                + 2
                + texte[debut + 2..]
                    .find("$$")
                    .ok_or_else(|| illisible(d, "fin du corps"))?;
            trouves.insert(format!("fonction {nom}"), normaliser(&texte[..debut]));
            trouves.insert(format!("corps {nom}"), texte[debut + 2..fin].to_owned());
            reste = &texte[fin + 2..];
        }
    }
    Ok(trouves)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The files parse: every function has a header and a body, every trigger an end.
    #[test]
    fn fichiers_lisibles() {
        for backend in [Backend::Postgres, Backend::Sqlite] {
            let attendues = attendues(backend).unwrap_or_default();
            assert!(attendues.len() > 10, "{backend:?} : {attendues:?}");
        }
    }
}
