//! A pupil's content fingerprint (`eleves.empreinte`): SHA-256 of what a write stores of a
//! pupil record, its columns and its guardians in rank order. Every write path that stores a
//! record computes it from that record, in Rust, the same way on both backends: `eleves::inserer`
//! and `eleves::remplacer` (API writes, SQLite batches and imports), and the set-based chunk on
//! PostgreSQL (`imports/postgres.rs`, through its staging table). A pushed record whose
//! fingerprint equals the stored one is unchanged, without re-reading the pupil's columns and
//! guardians; a different one is changed. NULL means unknown (rows from before the column, or
//! from the bulk seed): the record is then compared field by field, as before.
//!
//! The INE is left out: every push matches pupils by it, so it is equal whenever the
//! fingerprints are compared. Each field is written with its presence and length, so no two
//! different records give the same bytes to hash.

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use onde_domain::dossier::DossierEleve;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::lignes::{LigneEleve, LigneLien, LigneResponsable};
use crate::schema::{eleves, eleves_responsables, responsables};
use crate::{DbConnection, StoreError};

/// Bumped when the encoding changes: an old fingerprint then differs from every new one, and
/// only costs a field-by-field comparison.
const VERSION: &[u8] = b"onde-empreinte-eleve-1";

/// A guardian as stored: the link's columns and the guardian's.
struct Gardien<'a> {
    rang: i32,
    nom: &'a str,
    prenom: &'a str,
    lien: &'a str,
    autorite_parentale: bool,
    telephone: Option<&'a str>,
    courriel: Option<&'a str>,
    adresse: Option<&'a str>,
}

/// The pupil's stored columns the comparison covers (the INE and bookkeeping left out).
struct Colonnes<'a> {
    nom: &'a str,
    prenoms: [Option<&'a str>; 3],
    sexe: &'a str,
    date_naissance: NaiveDate,
    lieu_naissance: &'a str,
    adresse: [Option<&'a str>; 3],
}

struct Hachage(Sha256);

impl Hachage {
    fn champ(&mut self, v: Option<&str>) {
        match v {
            None => self.0.update([0u8]),
            Some(s) => {
                self.0.update([1u8]);
                self.0.update(u64::try_from(s.len()).unwrap_or(u64::MAX).to_le_bytes());
                self.0.update(s.as_bytes());
            }
        }
    }

    fn entier(&mut self, n: i64) {
        self.0.update(n.to_le_bytes());
    }
}

fn calculer<'a>(c: &Colonnes<'_>, gardiens: impl ExactSizeIterator<Item = Gardien<'a>>) -> Vec<u8> {
    let mut h = Hachage(Sha256::new());
    h.0.update(VERSION);
    h.champ(Some(c.nom));
    for p in c.prenoms {
        h.champ(p);
    }
    h.champ(Some(c.sexe));
    h.entier(i64::from(c.date_naissance.num_days_from_ce()));
    h.champ(Some(c.lieu_naissance));
    for a in c.adresse {
        h.champ(a);
    }
    h.entier(i64::try_from(gardiens.len()).unwrap_or(i64::MAX));
    for g in gardiens {
        h.entier(i64::from(g.rang));
        h.champ(Some(g.nom));
        h.champ(Some(g.prenom));
        h.champ(Some(g.lien));
        h.entier(i64::from(g.autorite_parentale));
        h.champ(g.telephone);
        h.champ(g.courriel);
        h.champ(g.adresse);
    }
    h.0.finalize().to_vec()
}

/// The fingerprint of what writing `d` stores: the columns `eleves::inserer` and the staging
/// tables derive from it, guardians ranked from 1 in their order.
pub fn du_dossier(d: &DossierEleve) -> Vec<u8> {
    let p = d.prenoms.tous();
    let colonnes = Colonnes {
        nom: &d.nom,
        prenoms: [
            Some(p.first().map(String::as_str).unwrap_or_default()),
            p.get(1).map(String::as_str),
            p.get(2).map(String::as_str),
        ],
        sexe: d.sexe.as_str(),
        date_naissance: d.date_naissance,
        lieu_naissance: d.lieu_naissance.as_str(),
        adresse: [
            d.adresse.as_ref().map(|a| a.voie.as_str()),
            d.adresse.as_ref().map(|a| a.code_postal.as_str()),
            d.adresse.as_ref().map(|a| a.commune.as_str()),
        ],
    };
    let gardiens = d.responsables.iter().enumerate().map(|(i, r)| Gardien {
        rang: i32::try_from(i + 1).unwrap_or(i32::MAX),
        nom: &r.nom,
        prenom: &r.prenom,
        lien: r.lien.as_str(),
        autorite_parentale: r.autorite_parentale,
        telephone: r.telephone.as_ref().map(|t| t.as_str()),
        courriel: r.courriel.as_ref().map(|c| c.as_str()),
        adresse: r.adresse.as_deref(),
    });
    calculer(&colonnes, gardiens)
}

/// The fingerprint of stored rows: a pupil and its links with their guardians, in rank order.
fn des_lignes(e: &LigneEleve, liens: &[(LigneResponsable, LigneLien)]) -> Vec<u8> {
    let colonnes = Colonnes {
        nom: &e.nom,
        prenoms: [Some(e.prenom1.as_str()), e.prenom2.as_deref(), e.prenom3.as_deref()],
        sexe: &e.sexe,
        date_naissance: e.date_naissance,
        lieu_naissance: &e.lieu_naissance,
        adresse: [
            e.adresse_voie.as_deref(),
            e.adresse_code_postal.as_deref(),
            e.adresse_commune.as_deref(),
        ],
    };
    let gardiens = liens.iter().map(|(r, l)| Gardien {
        rang: l.rang,
        nom: &r.nom,
        prenom: &r.prenom,
        lien: &l.lien,
        autorite_parentale: l.autorite_parentale,
        telephone: r.telephone.as_deref(),
        courriel: r.courriel.as_deref(),
        adresse: r.adresse.as_deref(),
    });
    calculer(&colonnes, gardiens)
}

/// Whether the stored pupil `id`, matched by the record's INE, already holds exactly `d`: by
/// its stored fingerprint, or, when it has none, by one computed from its stored rows (the same
/// fields the set-based path compares in SQL, guardians' ranks included). `None` when the pupil
/// is gone.
pub fn inchange(conn: &mut DbConnection, id: Uuid, d: &DossierEleve) -> Result<Option<bool>, StoreError> {
    let stockee: Option<(LigneEleve, Option<Vec<u8>>)> = eleves::table
        .find(id.to_string())
        .select((LigneEleve::as_select(), eleves::empreinte))
        .first(conn)
        .optional()?;
    Ok(match stockee {
        None => None,
        Some((_, Some(e))) => Some(e == du_dossier(d)),
        Some((e, None)) => Some(des_lignes(&e, &liens(conn, &e.id)?) == du_dossier(d)),
    })
}

/// A pupil's links with their guardians, in rank order.
fn liens(conn: &mut DbConnection, eleve_id: &str) -> Result<Vec<(LigneResponsable, LigneLien)>, StoreError> {
    Ok(eleves_responsables::table
        .inner_join(responsables::table)
        .filter(eleves_responsables::eleve_id.eq(eleve_id))
        .order(eleves_responsables::rang.asc())
        .select((LigneResponsable::as_select(), LigneLien::as_select()))
        .load(conn)?)
}

/// The pupils whose stored fingerprint differs from one recomputed from their stored rows
/// (NULL ones are not checked): what every write path must keep empty. For tests and checks:
/// it reads every pupil with a fingerprint.
pub fn perimees(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    let lignes: Vec<(LigneEleve, Option<Vec<u8>>)> = eleves::table
        .filter(eleves::empreinte.is_not_null())
        .select((LigneEleve::as_select(), eleves::empreinte))
        .order(eleves::id.asc())
        .load(conn)?;
    let mut perimees = Vec::new();
    for (e, stockee) in lignes {
        if stockee.as_deref() != Some(des_lignes(&e, &liens(conn, &e.id)?).as_slice()) {
            perimees.push(e.id);
        }
    }
    Ok(perimees)
}
