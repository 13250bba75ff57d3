//! The demo partners of `serve --demo`, and their credentials file.

use std::path::Path;

use onde_domain::{CodeInsee, Ecole, Perimetre, Secteur, TypePartenaire};
use onde_store::{DbConnection, DemandePage, Store};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::erreur::ServiceError;
use crate::horloge::maintenant;
use crate::partenaires::gestion::creer;
use crate::partenaires::types::{CibleDemande, MandatDemande, NouveauPartenaire};

/// Schools read per page while walking the national list.
const PAGE_ECOLES: u32 = 1000;

/// Name of the demo credentials file, in the data directory.
pub const FICHIER_DEMO: &str = "demo-credentials.json";

/// Périmètre d'un partenaire de démonstration : codes INSEE, UAI, et codes des mandats (la
/// valeur à mettre dans l'en-tête `Onde-Mandat`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerimetreDemo {
    pub communes: Vec<String>,
    pub uais: Vec<String>,
    pub mandats: Vec<String>,
}

/// One entry of `demo-credentials.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentifiantsDemo {
    pub client_id: String,
    pub client_secret: String,
    /// Partner kind: `mairie`, `ecole_privee`, `editeur` or `admin`.
    pub kind: String,
    pub scopes: Vec<String>,
    pub perimetre: PerimetreDemo,
    pub partenaire_id: Uuid,
    pub nom: String,
}

/// Every school, by UAI (demo only: a one-off walk through the national list).
fn toutes_les_ecoles(conn: &mut DbConnection) -> Result<Vec<Ecole>, ServiceError> {
    let mut ecoles = Vec::new();
    let mut page = DemandePage {
        limite: PAGE_ECOLES,
        apres: None,
    };
    loop {
        let p = onde_store::ecoles::lister(conn, &Perimetre::National, &Default::default(), &page)?;
        ecoles.extend(p.elements);
        match p.suivant {
            Some(c) => page.apres = Some(c),
            None => return Ok(ecoles),
        }
    }
}

/// On an empty partner registry, creates the demo partners — two mairies (the two communes
/// with the most inscriptions), a private school, an editor with a commune and a school
/// mandate outside the mairies' perimeters, an admin — and writes their credentials to
/// `dossier/demo-credentials.json`. With partners already registered, does nothing and
/// returns an empty list.
pub fn creer_partenaires_demo(store: &Store, dossier: &Path) -> Result<Vec<IdentifiantsDemo>, ServiceError> {
    let mut conn = store.connexion()?;
    let conn: &mut DbConnection = &mut conn;
    if !onde_store::partenaires::lister(conn)?.is_empty() {
        return Ok(Vec::new());
    }
    let mut communes: Vec<String> = onde_store::communes::par_inscriptions(conn)?
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    for c in onde_store::communes::codes(conn)? {
        if !communes.contains(&c) {
            communes.push(c);
        }
    }
    if communes.is_empty() {
        return Err(ServiceError::Conflit {
            code: "donnees_absentes",
            detail:
                "Aucune commune dans la base : chargez les données avant de créer les partenaires de démonstration."
                    .into(),
        });
    }
    let ecoles = toutes_les_ecoles(conn)?;
    let mairies: Vec<String> = communes.iter().take(2).cloned().collect();
    let commune_editeur = communes
        .iter()
        .find(|c| !mairies.contains(c))
        .unwrap_or(&communes[0])
        .clone();
    let privee = ecoles
        .iter()
        .find(|e| e.secteur == Secteur::PriveSousContrat)
        .or(ecoles.first());
    let hors = |e: &&Ecole, exclues: &[&String]| !exclues.iter().any(|c| c.as_str() == e.commune.as_str());
    let pas_privee = |e: &&Ecole| privee.is_none_or(|p| p.uai != e.uai);
    let exclues_strict: Vec<&String> = mairies.iter().chain([&commune_editeur]).collect();
    let exclues_mairies: Vec<&String> = mairies.iter().collect();
    let ecole_editeur = ecoles
        .iter()
        .find(|e| pas_privee(e) && hors(e, &exclues_strict))
        .or_else(|| ecoles.iter().find(|e| pas_privee(e) && hors(e, &exclues_mairies)))
        .or_else(|| ecoles.iter().find(pas_privee))
        .or(ecoles.first());

    let mut nom_commune = |c: &str| -> Result<String, ServiceError> {
        let code = CodeInsee::parse(c).map_err(|e| ServiceError::Interne(e.to_string()))?;
        Ok(onde_store::communes::nom(conn, &code)?.unwrap_or_else(|| c.to_owned()))
    };
    let tous = |t: TypePartenaire| {
        t.scopes_possibles()
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    let mut demandes = Vec::new();
    for c in &mairies {
        demandes.push(NouveauPartenaire {
            nom: format!("Mairie de {} (démo)", nom_commune(c)?),
            type_partenaire: "mairie".into(),
            scopes: tous(TypePartenaire::Mairie),
            communes: vec![c.clone()],
            uais: Vec::new(),
            mandats: Vec::new(),
            actif: true,
        });
    }
    if let Some(e) = privee {
        demandes.push(NouveauPartenaire {
            nom: format!("{} (démo)", e.nom),
            type_partenaire: "ecole_privee".into(),
            scopes: tous(TypePartenaire::EcolePrivee),
            communes: Vec::new(),
            uais: vec![e.uai.as_str().to_owned()],
            mandats: Vec::new(),
            actif: true,
        });
    }
    let mut mandats = vec![MandatDemande {
        cible: CibleDemande {
            genre: "commune".into(),
            code: commune_editeur.clone(),
        },
        libelle: Some(format!("Mairie de {}", nom_commune(&commune_editeur)?)),
    }];
    if let Some(e) = ecole_editeur {
        mandats.push(MandatDemande {
            cible: CibleDemande {
                genre: "ecole".into(),
                code: e.uai.as_str().to_owned(),
            },
            libelle: Some(e.nom.clone()),
        });
    }
    demandes.push(NouveauPartenaire {
        nom: "Éditeur de logiciels scolaires (démo)".into(),
        type_partenaire: "editeur".into(),
        scopes: tous(TypePartenaire::Editeur),
        communes: Vec::new(),
        uais: Vec::new(),
        mandats,
        actif: true,
    });
    demandes.push(NouveauPartenaire {
        nom: "Exploitation nationale (démo)".into(),
        type_partenaire: "admin".into(),
        scopes: tous(TypePartenaire::Admin),
        communes: Vec::new(),
        uais: Vec::new(),
        mandats: Vec::new(),
        actif: true,
    });

    let maintenant = maintenant();
    let mut identifiants = Vec::new();
    for d in &demandes {
        let cree = creer(conn, d, maintenant)?;
        let p = &cree.partenaire.partenaire;
        identifiants.push(IdentifiantsDemo {
            client_id: cree.identifiants.client_id,
            client_secret: cree.identifiants.client_secret,
            kind: p.type_partenaire.as_str().to_owned(),
            scopes: p.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            perimetre: PerimetreDemo {
                communes: p.communes.iter().map(|c| c.as_str().to_owned()).collect(),
                uais: p.uais.iter().map(|u| u.as_str().to_owned()).collect(),
                mandats: p.mandats.iter().map(|m| m.cible.as_str().to_owned()).collect(),
            },
            partenaire_id: p.id,
            nom: p.nom.clone(),
        });
    }
    ecrire_fichier_demo(dossier, &identifiants)?;
    Ok(identifiants)
}

/// Writes the file readable by its owner only (it holds secrets), through a temporary file
/// so that a reader never sees half of it.
fn ecrire_fichier_demo(dossier: &Path, identifiants: &[IdentifiantsDemo]) -> Result<(), ServiceError> {
    use std::io::Write;
    let erreur = |quoi: &str, e: std::io::Error| ServiceError::Interne(format!("{quoi} {} : {e}", dossier.display()));
    std::fs::create_dir_all(dossier).map_err(|e| erreur("création du dossier", e))?;
    let json = serde_json::to_string_pretty(identifiants)
        .map_err(|e| ServiceError::Interne(format!("sérialisation des identifiants de démonstration : {e}")))?;
    let provisoire = dossier.join(format!("{FICHIER_DEMO}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut fichier = options.open(&provisoire).map_err(|e| erreur("écriture dans", e))?;
    fichier
        .write_all(json.as_bytes())
        .and_then(|()| fichier.write_all(b"\n"))
        .and_then(|()| fichier.sync_all())
        .map_err(|e| erreur("écriture dans", e))?;
    std::fs::rename(&provisoire, dossier.join(FICHIER_DEMO)).map_err(|e| erreur("écriture dans", e))?;
    Ok(())
}
