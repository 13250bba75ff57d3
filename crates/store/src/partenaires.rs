//! Partners and their OAuth clients. Secrets arrive here already hashed.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use onde_domain::{CibleMandat, CodeInsee, Mandat, Partenaire, Scopes, TypePartenaire, Uai};
use uuid::Uuid;

use crate::lignes::{lire, lire_uuid};
use crate::schema::{clients, mandats, partenaires, partenaires_communes, partenaires_uais};
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = partenaires)]
struct LignePartenaire {
    id: String,
    nom: String,
    type_partenaire: String,
    scopes: String,
    actif: bool,
    cree_le: NaiveDateTime,
    modifie_le: NaiveDateTime,
    version: i64,
}

/// A client (credential) of a partner, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = clients, treat_none_as_default_value = false)]
pub struct Client {
    pub client_id: String,
    pub partenaire_id: String,
    pub secret_hash: String,
    pub ancien_secret_hash: Option<String>,
    pub ancien_secret_expire_le: Option<NaiveDateTime>,
    pub cree_le: NaiveDateTime,
    pub revoque_le: Option<NaiveDateTime>,
}

/// A partner with its bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartenaireStocke {
    pub partenaire: Partenaire,
    pub cree_le: NaiveDateTime,
    pub modifie_le: NaiveDateTime,
    pub version: i64,
}

fn liste_ids(p: &Partenaire) -> String {
    p.id.to_string()
}

fn ecrire_perimetre(conn: &mut DbConnection, p: &Partenaire) -> Result<(), StoreError> {
    let id = liste_ids(p);
    diesel::delete(partenaires_communes::table.filter(partenaires_communes::partenaire_id.eq(&id))).execute(conn)?;
    diesel::delete(partenaires_uais::table.filter(partenaires_uais::partenaire_id.eq(&id))).execute(conn)?;
    diesel::delete(mandats::table.filter(mandats::partenaire_id.eq(&id))).execute(conn)?;
    for c in &p.communes {
        diesel::insert_into(partenaires_communes::table)
            .values((
                partenaires_communes::partenaire_id.eq(&id),
                partenaires_communes::code_insee.eq(c.as_str()),
            ))
            .execute(conn)?;
    }
    for u in &p.uais {
        diesel::insert_into(partenaires_uais::table)
            .values((
                partenaires_uais::partenaire_id.eq(&id),
                partenaires_uais::uai.eq(u.as_str()),
            ))
            .execute(conn)?;
    }
    for m in &p.mandats {
        let (genre, code) = match &m.cible {
            CibleMandat::Commune(c) => ("commune", c.as_str()),
            CibleMandat::Ecole(u) => ("ecole", u.as_str()),
        };
        diesel::insert_into(mandats::table)
            .values((
                mandats::partenaire_id.eq(&id),
                mandats::cible_type.eq(genre),
                mandats::cible_code.eq(code),
                mandats::libelle.eq(m.libelle.as_deref()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Creates a partner with its first client, in one transaction.
pub fn creer(
    conn: &mut DbConnection,
    p: &Partenaire,
    client: &Client,
    maintenant: NaiveDateTime,
) -> Result<(), StoreError> {
    conn.transaction(|conn| {
        diesel::insert_into(partenaires::table)
            .values(LignePartenaire {
                id: p.id.to_string(),
                nom: p.nom.clone(),
                type_partenaire: p.type_partenaire.as_str().into(),
                scopes: p.scopes.to_string(),
                actif: p.actif,
                cree_le: maintenant,
                modifie_le: maintenant,
                version: 1,
            })
            .execute(conn)?;
        ecrire_perimetre(conn, p)?;
        diesel::insert_into(clients::table).values(client).execute(conn)?;
        Ok(())
    })
}

/// Replaces name, scopes, activity and perimeter; bumps the version so that every node
/// re-resolves the partner's rights on its next request. `false` when the partner is unknown.
pub fn remplacer(conn: &mut DbConnection, p: &Partenaire, maintenant: NaiveDateTime) -> Result<bool, StoreError> {
    conn.transaction(|conn| {
        let n = diesel::update(partenaires::table.find(p.id.to_string()))
            .set((
                partenaires::nom.eq(&p.nom),
                partenaires::scopes.eq(p.scopes.to_string()),
                partenaires::actif.eq(p.actif),
                partenaires::modifie_le.eq(maintenant),
                partenaires::version.eq(partenaires::version + 1),
            ))
            .execute(conn)?;
        if n == 0 {
            return Ok(false);
        }
        ecrire_perimetre(conn, p)?;
        Ok(true)
    })
}

fn charger(conn: &mut DbConnection, l: LignePartenaire) -> Result<PartenaireStocke, StoreError> {
    let communes = partenaires_communes::table
        .filter(partenaires_communes::partenaire_id.eq(&l.id))
        .select(partenaires_communes::code_insee)
        .load::<String>(conn)?
        .iter()
        .map(|c| lire("partenaires_communes", "code_insee", CodeInsee::parse(c)))
        .collect::<Result<BTreeSet<_>, _>>()?;
    let uais = partenaires_uais::table
        .filter(partenaires_uais::partenaire_id.eq(&l.id))
        .select(partenaires_uais::uai)
        .load::<String>(conn)?
        .iter()
        .map(|u| lire("partenaires_uais", "uai", Uai::parse(u)))
        .collect::<Result<BTreeSet<_>, _>>()?;
    let mandats = mandats::table
        .filter(mandats::partenaire_id.eq(&l.id))
        .order((mandats::cible_type, mandats::cible_code))
        .select((mandats::cible_type, mandats::cible_code, mandats::libelle))
        .load::<(String, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(genre, code, libelle)| {
            let cible = match genre.as_str() {
                "commune" => CibleMandat::Commune(lire("mandats", "cible_code", CodeInsee::parse(&code))?),
                _ => CibleMandat::Ecole(lire("mandats", "cible_code", Uai::parse(&code))?),
            };
            Ok(Mandat { cible, libelle })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(PartenaireStocke {
        partenaire: Partenaire {
            id: lire_uuid("partenaires", "id", &l.id)?,
            nom: l.nom,
            type_partenaire: lire(
                "partenaires",
                "type_partenaire",
                TypePartenaire::parse(&l.type_partenaire),
            )?,
            scopes: lire("partenaires", "scopes", Scopes::parse_liste(&l.scopes))?,
            communes,
            uais,
            mandats,
            actif: l.actif,
        },
        cree_le: l.cree_le,
        modifie_le: l.modifie_le,
        version: l.version,
    })
}

pub fn trouver(conn: &mut DbConnection, id: Uuid) -> Result<Option<PartenaireStocke>, StoreError> {
    let ligne = partenaires::table
        .find(id.to_string())
        .select(LignePartenaire::as_select())
        .first(conn)
        .optional()?;
    ligne.map(|l| charger(conn, l)).transpose()
}

/// Every partner, by name.
pub fn lister(conn: &mut DbConnection) -> Result<Vec<PartenaireStocke>, StoreError> {
    let lignes = partenaires::table
        .order((partenaires::nom, partenaires::id))
        .select(LignePartenaire::as_select())
        .load(conn)?;
    lignes.into_iter().map(|l| charger(conn, l)).collect()
}

pub fn clients_du_partenaire(conn: &mut DbConnection, partenaire_id: Uuid) -> Result<Vec<Client>, StoreError> {
    Ok(clients::table
        .filter(clients::partenaire_id.eq(partenaire_id.to_string()))
        .order(clients::cree_le)
        .select(Client::as_select())
        .load(conn)?)
}

pub fn client(conn: &mut DbConnection, client_id: &str) -> Result<Option<Client>, StoreError> {
    Ok(clients::table
        .find(client_id)
        .select(Client::as_select())
        .first(conn)
        .optional()?)
}

/// New secret for a client; the previous one keeps working until `ancien_valide_jusqua`.
pub fn changer_secret(
    conn: &mut DbConnection,
    client_id: &str,
    nouveau_hash: &str,
    ancien_valide_jusqua: NaiveDateTime,
) -> Result<bool, StoreError> {
    conn.transaction(|conn| {
        let Some(c) = client(conn, client_id)? else {
            return Ok(false);
        };
        if c.revoque_le.is_some() {
            return Ok(false);
        }
        diesel::update(clients::table.find(client_id))
            .set((
                clients::ancien_secret_hash.eq(Some(c.secret_hash)),
                clients::ancien_secret_expire_le.eq(Some(ancien_valide_jusqua)),
                clients::secret_hash.eq(nouveau_hash),
            ))
            .execute(conn)?;
        bumper(conn, &c.partenaire_id)?;
        Ok(true)
    })
}

fn bumper(conn: &mut DbConnection, partenaire_id: &str) -> Result<(), StoreError> {
    diesel::update(partenaires::table.find(partenaire_id))
        .set(partenaires::version.eq(partenaires::version + 1))
        .execute(conn)?;
    Ok(())
}

/// Revokes every client of the partner and deactivates it: its tokens stop working at once.
pub fn revoquer(conn: &mut DbConnection, partenaire_id: Uuid, maintenant: NaiveDateTime) -> Result<bool, StoreError> {
    let id = partenaire_id.to_string();
    conn.transaction(|conn| {
        let n = diesel::update(partenaires::table.find(&id))
            .set((
                partenaires::actif.eq(false),
                partenaires::modifie_le.eq(maintenant),
                partenaires::version.eq(partenaires::version + 1),
            ))
            .execute(conn)?;
        diesel::update(
            clients::table
                .filter(clients::partenaire_id.eq(&id))
                .filter(clients::revoque_le.is_null()),
        )
        .set(clients::revoque_le.eq(Some(maintenant)))
        .execute(conn)?;
        Ok(n > 0)
    })
}

/// What each request re-checks: the partner's current version and whether the client and
/// partner are still active. One indexed lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EtatClient {
    pub version: i64,
    pub actif: bool,
}

pub fn etat_client(conn: &mut DbConnection, client_id: &str) -> Result<Option<EtatClient>, StoreError> {
    let ligne = clients::table
        .inner_join(partenaires::table)
        .filter(clients::client_id.eq(client_id))
        .select((partenaires::version, partenaires::actif, clients::revoque_le))
        .first::<(i64, bool, Option<NaiveDateTime>)>(conn)
        .optional()?;
    Ok(ligne.map(|(version, actif, revoque)| EtatClient {
        version,
        actif: actif && revoque.is_none(),
    }))
}
