//! Partner administration: create, show, list, change, rotate a client's secret, revoke. One
//! service behind both the admin API (`/v1/admin/partenaires`) and the CLI
//! (`onde-echanges partenaire …`), so a partner obeys the same rules whichever way it came.
//!
//! Functions are blocking (diesel, argon2) and take a connection. A secret is returned once, at
//! creation or rotation; only its argon2 hash is stored. Every definition goes through
//! [`onde_domain::Partenaire::verifier`] before it is written.

use chrono::{DateTime, NaiveDateTime, Utc};
use onde_domain::TypePartenaire;
use onde_store::partenaires::{Client, PartenaireStocke};
use onde_store::{Curseur, DbConnection, DemandePage};
use uuid::Uuid;

use crate::erreur::ServiceError;
use crate::json;
use crate::partenaires::types::{
    DefinitionPartenaire, DemandeRotation, FicheClient, FichePartenaire, Identifiants, NouveauPartenaire,
    NouveauSecret, PartenaireCree, ResumePartenaire,
};
use crate::partenaires::validation::construire;
use crate::secrets;
use crate::violation::Violation;

/// How long the previous secret keeps working after a rotation, unless asked otherwise: a
/// day is enough to roll the new one out without downtime.
pub const CHEVAUCHEMENT_PAR_DEFAUT_HEURES: u32 = 24;
/// Longest overlap: beyond a month the old secret is effectively not rotated.
pub const CHEVAUCHEMENT_MAX_HEURES: u32 = 720;

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

fn resume(s: &PartenaireStocke) -> ResumePartenaire {
    let p = &s.partenaire;
    ResumePartenaire {
        id: p.id,
        nom: p.nom.clone(),
        type_partenaire: p.type_partenaire,
        scopes: p.scopes.iter().collect(),
        communes: p.communes.iter().cloned().collect(),
        uais: p.uais.iter().cloned().collect(),
        mandats: p.mandats.clone(),
        actif: p.actif,
        cree_le: utc(s.cree_le),
        modifie_le: utc(s.modifie_le),
        version: s.version,
    }
}

fn fiche_client(c: &Client, maintenant: NaiveDateTime) -> FicheClient {
    let jusqua = c
        .ancien_secret_expire_le
        .filter(|f| c.ancien_secret_hash.is_some() && *f > maintenant && c.revoque_le.is_none());
    FicheClient {
        client_id: c.client_id.clone(),
        cree_le: utc(c.cree_le),
        revoque_le: c.revoque_le.map(utc),
        ancien_secret_valide: jusqua.is_some(),
        ancien_secret_valide_jusqua: jusqua.map(utc),
    }
}

fn est_revoque(clients: &[Client]) -> bool {
    !clients.is_empty() && clients.iter().all(|c| c.revoque_le.is_some())
}

/// Whether `secret` opens `client` at `maintenant`: its current secret, or the previous one
/// during the rotation overlap. The same rule as `POST /oauth/token`.
pub fn secret_accepte(client: &Client, secret: &str, maintenant: NaiveDateTime) -> bool {
    if client.revoque_le.is_some() {
        return false;
    }
    secrets::verifier(secret, &client.secret_hash)
        || (client.ancien_secret_expire_le.is_some_and(|f| f > maintenant)
            && client
                .ancien_secret_hash
                .as_deref()
                .is_some_and(|h| secrets::verifier(secret, h)))
}

fn introuvable() -> ServiceError {
    ServiceError::Introuvable {
        ressource: "Le partenaire",
    }
}

fn partenaire_revoque() -> ServiceError {
    ServiceError::Conflit {
        code: "partenaire_revoque",
        detail: "Ce partenaire est révoqué : la révocation est définitive ; créez un nouveau partenaire.".into(),
    }
}

/// Creates a partner and its first client; the secret is in the answer and nowhere else.
pub fn creer(
    conn: &mut DbConnection,
    demande: &NouveauPartenaire,
    maintenant: NaiveDateTime,
) -> Result<PartenaireCree, ServiceError> {
    let mut violations = Vec::new();
    let type_partenaire = match TypePartenaire::parse(&demande.type_partenaire) {
        Ok(t) => Some(t),
        Err(e) => {
            violations.push(Violation::champ("/type", e.code(), e.to_string()));
            None
        }
    };
    let p = construire(Uuid::now_v7(), type_partenaire, violations, &demande.definition())?;
    let secret = secrets::nouveau_secret();
    let client = Client {
        client_id: secrets::nouvel_identifiant_client(),
        partenaire_id: p.id.to_string(),
        secret_hash: secrets::hacher(&secret)?,
        ancien_secret_hash: None,
        ancien_secret_expire_le: None,
        cree_le: maintenant,
        revoque_le: None,
    };
    onde_store::partenaires::creer(conn, &p, &client, maintenant)?;
    Ok(PartenaireCree {
        partenaire: montrer(conn, p.id, maintenant)?,
        identifiants: Identifiants {
            client_id: client.client_id,
            client_secret: secret,
        },
    })
}

/// A partner with its clients.
pub fn montrer(conn: &mut DbConnection, id: Uuid, maintenant: NaiveDateTime) -> Result<FichePartenaire, ServiceError> {
    let stocke = onde_store::partenaires::trouver(conn, id)?.ok_or_else(introuvable)?;
    let clients = onde_store::partenaires::clients_du_partenaire(conn, id)?;
    Ok(FichePartenaire {
        partenaire: resume(&stocke),
        revoque: est_revoque(&clients),
        clients: clients.iter().map(|c| fiche_client(c, maintenant)).collect(),
    })
}

/// Filters of the partner list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FiltrePartenaires {
    pub type_partenaire: Option<TypePartenaire>,
    pub actif: Option<bool>,
}

/// Every partner matching the filter, in creation order (ids are UUIDv7).
pub fn lister_tout(conn: &mut DbConnection, filtre: &FiltrePartenaires) -> Result<Vec<ResumePartenaire>, ServiceError> {
    let mut liste: Vec<ResumePartenaire> = onde_store::partenaires::lister(conn)?
        .iter()
        .filter(|s| filtre.type_partenaire.is_none_or(|t| s.partenaire.type_partenaire == t))
        .filter(|s| filtre.actif.is_none_or(|a| s.partenaire.actif == a))
        .map(resume)
        .collect();
    liste.sort_by_key(|p| p.id);
    Ok(liste)
}

/// One page of [`lister_tout`], after the cursor (the last id of the previous page).
pub fn lister(
    conn: &mut DbConnection,
    filtre: &FiltrePartenaires,
    page: &DemandePage,
) -> Result<(Vec<ResumePartenaire>, Option<Curseur>), ServiceError> {
    let apres = page.apres.as_ref().and_then(|c| Uuid::parse_str(c.cle()).ok());
    let mut elements: Vec<ResumePartenaire> = lister_tout(conn, filtre)?
        .into_iter()
        .filter(|p| apres.is_none_or(|a| p.id > a))
        .take(page.limite as usize + 1)
        .collect();
    let suivant = if elements.len() > page.limite as usize {
        elements.truncate(page.limite as usize);
        elements.last().map(|p| Curseur::apres(p.id.to_string()))
    } else {
        None
    };
    Ok((elements, suivant))
}

/// Replaces the definition of a partner (its kind stays). A revoked partner stays revoked.
pub fn modifier(
    conn: &mut DbConnection,
    id: Uuid,
    definition: &DefinitionPartenaire,
    maintenant: NaiveDateTime,
) -> Result<FichePartenaire, ServiceError> {
    let stocke = onde_store::partenaires::trouver(conn, id)?.ok_or_else(introuvable)?;
    if est_revoque(&onde_store::partenaires::clients_du_partenaire(conn, id)?) {
        return Err(partenaire_revoque());
    }
    let p = construire(id, Some(stocke.partenaire.type_partenaire), Vec::new(), definition)?;
    if !onde_store::partenaires::remplacer(conn, &p, maintenant)? {
        return Err(introuvable());
    }
    montrer(conn, id, maintenant)
}

/// Applies a JSON merge patch (RFC 7396) to the definition of a partner: absent fields stay,
/// `null` removes (lists become empty), arrays are replaced as a whole.
pub fn modifier_partiellement(
    conn: &mut DbConnection,
    id: Uuid,
    patch: &serde_json::Value,
    maintenant: NaiveDateTime,
) -> Result<FichePartenaire, ServiceError> {
    if !patch.is_object() {
        return Err(ServiceError::CorpsIllisible(vec![Violation::champ(
            "",
            "type_invalide",
            "un correctif JSON (merge patch) est un objet",
        )]));
    }
    json::verifier_correctif(patch, &["nom", "scopes", "communes", "uais", "mandats", "actif"], &[])?;
    let stocke = onde_store::partenaires::trouver(conn, id)?.ok_or_else(introuvable)?;
    let mut document = serde_json::to_value(DefinitionPartenaire::from(&stocke.partenaire))
        .map_err(|e| ServiceError::Interne(format!("sérialisation d'un partenaire : {e}")))?;
    json::fusionner(&mut document, patch);
    let definition: DefinitionPartenaire = json::depuis_valeur(document)?;
    modifier(conn, id, &definition, maintenant)
}

/// Gives a client a new secret; the previous one keeps working for the overlap.
pub fn tourner_secret(
    conn: &mut DbConnection,
    id: Uuid,
    demande: &DemandeRotation,
    maintenant: NaiveDateTime,
) -> Result<NouveauSecret, ServiceError> {
    let heures = demande.chevauchement_heures.unwrap_or(CHEVAUCHEMENT_PAR_DEFAUT_HEURES);
    if heures > CHEVAUCHEMENT_MAX_HEURES {
        return Err(ServiceError::NonConforme(vec![Violation::champ(
            "/chevauchement_heures",
            "chevauchement_hors_bornes",
            format!("le chevauchement est de 0 à {CHEVAUCHEMENT_MAX_HEURES} heures"),
        )]));
    }
    onde_store::partenaires::trouver(conn, id)?.ok_or_else(introuvable)?;
    let clients = onde_store::partenaires::clients_du_partenaire(conn, id)?;
    let client = match &demande.client_id {
        Some(cid) => clients
            .iter()
            .find(|c| &c.client_id == cid)
            .ok_or(ServiceError::Introuvable { ressource: "Le client" })?,
        None => {
            let actifs: Vec<&Client> = clients.iter().filter(|c| c.revoque_le.is_none()).collect();
            match actifs.as_slice() {
                [] => return Err(partenaire_revoque()),
                [un] => *un,
                _ => {
                    return Err(ServiceError::NonConforme(vec![Violation::champ(
                        "/client_id",
                        "client_ambigu",
                        "ce partenaire a plusieurs clients actifs : précisez client_id",
                    )]))
                }
            }
        }
    };
    if client.revoque_le.is_some() {
        return Err(ServiceError::Conflit {
            code: "client_revoque",
            detail: "Ce client est révoqué : son secret ne peut plus changer.".into(),
        });
    }
    let secret = secrets::nouveau_secret();
    let fin = maintenant + chrono::Duration::hours(i64::from(heures));
    if !onde_store::partenaires::changer_secret(conn, &client.client_id, &secrets::hacher(&secret)?, fin)? {
        // Revoked between the read and the write.
        return Err(ServiceError::Conflit {
            code: "client_revoque",
            detail: "Ce client vient d'être révoqué : son secret ne peut plus changer.".into(),
        });
    }
    Ok(NouveauSecret {
        client_id: client.client_id.clone(),
        client_secret: secret,
        ancien_secret_valide_jusqua: (heures > 0).then(|| utc(fin)),
    })
}

/// Revokes every client of a partner and deactivates it, for good. Revoking twice is harmless.
pub fn revoquer(conn: &mut DbConnection, id: Uuid, maintenant: NaiveDateTime) -> Result<FichePartenaire, ServiceError> {
    if !onde_store::partenaires::revoquer(conn, id, maintenant)? {
        return Err(introuvable());
    }
    montrer(conn, id, maintenant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancien_secret_accepte_pendant_le_chevauchement_seulement() {
        let t0 = NaiveDateTime::parse_from_str("2026-03-01 10:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
        let (ancien, nouveau) = ("ancien-secret", "nouveau-secret");
        let mut c = Client {
            client_id: "c".into(),
            partenaire_id: "p".into(),
            secret_hash: secrets::hacher(nouveau).unwrap(),
            ancien_secret_hash: Some(secrets::hacher(ancien).unwrap()),
            ancien_secret_expire_le: Some(t0 + chrono::Duration::hours(24)),
            cree_le: t0,
            revoque_le: None,
        };
        assert!(secret_accepte(&c, nouveau, t0));
        assert!(secret_accepte(&c, ancien, t0 + chrono::Duration::hours(23)));
        assert!(!secret_accepte(&c, ancien, t0 + chrono::Duration::hours(24)));
        assert!(!secret_accepte(&c, "autre", t0));
        let f = fiche_client(&c, t0);
        assert!(f.ancien_secret_valide);
        assert!(!fiche_client(&c, t0 + chrono::Duration::hours(25)).ancien_secret_valide);
        c.revoque_le = Some(t0);
        assert!(!secret_accepte(&c, nouveau, t0));
        assert!(!fiche_client(&c, t0).ancien_secret_valide);
    }
}
