//! A partner definition as sent (strings) parsed into a [`Partenaire`] and checked against
//! the domain's rules; every violation carries the JSON pointer of its field.

use std::collections::BTreeSet;

use onde_domain::{CibleMandat, CodeInsee, DomainError, Mandat, Partenaire, Scope, Scopes, TypePartenaire, Uai};
use uuid::Uuid;

use crate::erreur::ServiceError;
use crate::partenaires::types::DefinitionPartenaire;
use crate::violation::Violation;

const LIBELLE_MAX: usize = 200;
/// Most entries in each list of a definition (communes, UAIs, mandates): far above any real
/// perimeter, low enough that one request cannot make the gateway parse an unbounded list.
pub const PERIMETRE_MAX: usize = 10_000;

/// Parses the strings of a definition into a partner and checks its invariants; every
/// violation carries the JSON pointer of its field.
pub(crate) fn construire(
    id: Uuid,
    type_partenaire: Option<TypePartenaire>,
    mut violations: Vec<Violation>,
    d: &DefinitionPartenaire,
) -> Result<Partenaire, ServiceError> {
    for (champ, n, max) in [
        ("scopes", d.scopes.len(), Scope::TOUS.len()),
        ("communes", d.communes.len(), PERIMETRE_MAX),
        ("uais", d.uais.len(), PERIMETRE_MAX),
        ("mandats", d.mandats.len(), PERIMETRE_MAX),
    ] {
        if n > max {
            return Err(ServiceError::NonConforme(vec![Violation::champ(
                format!("/{champ}"),
                "liste_trop_longue",
                format!("« {champ} » a {max} éléments au plus ({n} reçus)"),
            )]));
        }
    }
    let mut lire =
        |pointeur: String, e: DomainError| violations.push(Violation::champ(pointeur, e.code(), e.to_string()));
    let mut scopes = Vec::new();
    for (i, s) in d.scopes.iter().enumerate() {
        match Scope::parse(s) {
            Ok(s) => scopes.push(s),
            Err(e) => lire(format!("/scopes/{i}"), e),
        }
    }
    let mut communes = BTreeSet::new();
    for (i, c) in d.communes.iter().enumerate() {
        match CodeInsee::parse(c) {
            Ok(c) => {
                communes.insert(c);
            }
            Err(e) => lire(format!("/communes/{i}"), e),
        }
    }
    let mut uais = BTreeSet::new();
    for (i, u) in d.uais.iter().enumerate() {
        match Uai::parse(u) {
            Ok(u) => {
                uais.insert(u);
            }
            Err(e) => lire(format!("/uais/{i}"), e),
        }
    }
    let mut mandats: Vec<Mandat> = Vec::new();
    for (i, m) in d.mandats.iter().enumerate() {
        let cible = match m.cible.genre.as_str() {
            "commune" => CodeInsee::parse(&m.cible.code).map(CibleMandat::Commune),
            "ecole" => Uai::parse(&m.cible.code).map(CibleMandat::Ecole),
            _ => {
                violations.push(Violation::champ(
                    format!("/mandats/{i}/cible/type"),
                    "cible_type_inconnu",
                    "le type d'une cible de mandat vaut commune ou ecole",
                ));
                continue;
            }
        };
        let cible = match cible {
            Ok(c) => c,
            Err(e) => {
                violations.push(Violation::champ(
                    format!("/mandats/{i}/cible/code"),
                    e.code(),
                    e.to_string(),
                ));
                continue;
            }
        };
        let libelle = m.libelle.as_deref().map(str::trim).filter(|l| !l.is_empty());
        if libelle.is_some_and(|l| l.chars().count() > LIBELLE_MAX) {
            violations.push(Violation::champ(
                format!("/mandats/{i}/libelle"),
                "libelle_longueur",
                format!("le libellé d'un mandat a {LIBELLE_MAX} caractères au plus"),
            ));
        }
        // A mandate is identified by its principal: the same one twice is a typo, and the
        // store would refuse it anyway.
        if mandats.iter().any(|autre| autre.cible == cible) {
            violations.push(Violation::champ(
                format!("/mandats/{i}/cible"),
                "mandat_en_double",
                format!("le mandat « {} » figure déjà plus haut dans la liste", cible.as_str()),
            ));
            continue;
        }
        mandats.push(Mandat {
            cible,
            libelle: libelle.map(str::to_owned),
        });
    }
    let Some(type_partenaire) = type_partenaire.filter(|_| violations.is_empty()) else {
        return Err(ServiceError::NonConforme(violations));
    };
    let p = Partenaire {
        id,
        nom: d.nom.trim().to_owned(),
        type_partenaire,
        scopes: Scopes::de(&scopes),
        communes,
        uais,
        mandats,
        actif: d.actif,
    };
    p.verifier().map_err(|e| {
        let pointeur = pointeur_regle(&p, e.code(), &scopes);
        ServiceError::NonConforme(vec![Violation::champ(pointeur, e.code(), e.to_string())])
    })?;
    Ok(p)
}

/// Where a rule of [`Partenaire::verifier`] is broken, as a JSON pointer.
fn pointeur_regle(p: &Partenaire, code: &str, scopes: &[Scope]) -> String {
    match code {
        "scope_interdit" => {
            let possibles = p.type_partenaire.scopes_possibles();
            scopes
                .iter()
                .position(|s| !possibles.contient(*s))
                .map(|i| format!("/scopes/{i}"))
                .unwrap_or_else(|| "/scopes".into())
        }
        "perimetre_incoherent" => {
            let (communes, uais, mandats) = match p.type_partenaire {
                TypePartenaire::Mairie => (false, true, true),
                TypePartenaire::EcolePrivee => (true, false, true),
                TypePartenaire::Editeur => (true, true, false),
                TypePartenaire::Admin => (true, true, true),
            };
            if communes && !p.communes.is_empty() {
                "/communes".into()
            } else if uais && !p.uais.is_empty() {
                "/uais".into()
            } else if mandats && !p.mandats.is_empty() {
                "/mandats".into()
            } else {
                String::new()
            }
        }
        "nom_longueur" => "/nom".into(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partenaires::types::{CibleDemande, MandatDemande};

    fn definition(nom: &str) -> DefinitionPartenaire {
        DefinitionPartenaire {
            nom: nom.into(),
            scopes: vec!["ecoles:read".into()],
            communes: Vec::new(),
            uais: Vec::new(),
            mandats: Vec::new(),
            actif: true,
        }
    }

    fn violations(r: Result<Partenaire, ServiceError>) -> Vec<(String, String)> {
        match r {
            Err(ServiceError::NonConforme(v)) => {
                v.into_iter().map(|v| (v.pointer.unwrap_or_default(), v.code)).collect()
            }
            autre => panic!("422 attendu : {autre:?}"),
        }
    }

    #[test]
    fn listes_bornees() {
        // The OpenAPI document declares maxItems on these lists; the server enforces them.
        let mut d = definition("Mairie");
        d.communes = vec!["75056".into(); PERIMETRE_MAX + 1];
        let v = violations(construire(Uuid::nil(), Some(TypePartenaire::Mairie), Vec::new(), &d));
        assert_eq!(v, vec![("/communes".into(), "liste_trop_longue".into())]);
        let mut d = definition("Mairie");
        d.scopes = vec!["ecoles:read".into(); 7];
        let v = violations(construire(Uuid::nil(), Some(TypePartenaire::Mairie), Vec::new(), &d));
        assert_eq!(v, vec![("/scopes".into(), "liste_trop_longue".into())]);
    }

    #[test]
    fn chaque_violation_pointe_son_champ() {
        let mut d = definition("Mairie");
        d.scopes = vec!["ecoles:read".into(), "tout:lire".into()];
        d.communes = vec!["75056".into(), "7505".into()];
        d.mandats = vec![MandatDemande {
            cible: CibleDemande {
                genre: "region".into(),
                code: "11".into(),
            },
            libelle: None,
        }];
        let v = violations(construire(Uuid::nil(), Some(TypePartenaire::Mairie), Vec::new(), &d));
        assert_eq!(
            v,
            vec![
                ("/scopes/1".into(), "scope_inconnu".into()),
                ("/communes/1".into(), "code_insee_format".into()),
                ("/mandats/0/cible/type".into(), "cible_type_inconnu".into()),
            ]
        );
    }

    #[test]
    fn regles_du_domaine_situees() {
        let mut d = definition("Mairie");
        d.scopes = vec!["ecoles:read".into(), "eleves:write".into()];
        let v = violations(construire(Uuid::nil(), Some(TypePartenaire::Mairie), Vec::new(), &d));
        assert_eq!(v, vec![("/scopes/1".into(), "scope_interdit".into())]);

        let mut d = definition("Mairie");
        d.uais = vec!["0750655E".into()];
        let v = violations(construire(Uuid::nil(), Some(TypePartenaire::Mairie), Vec::new(), &d));
        assert_eq!(v, vec![("/uais".into(), "perimetre_incoherent".into())]);

        let v = violations(construire(
            Uuid::nil(),
            Some(TypePartenaire::Admin),
            Vec::new(),
            &definition("  "),
        ));
        assert_eq!(v, vec![("/nom".into(), "nom_longueur".into())]);

        let mut d = definition("Éditeur");
        let m = MandatDemande {
            cible: CibleDemande {
                genre: "ecole".into(),
                code: "0750655E".into(),
            },
            libelle: Some("x".repeat(201)),
        };
        d.mandats = vec![m.clone(), m];
        let v = violations(construire(Uuid::nil(), Some(TypePartenaire::Editeur), Vec::new(), &d));
        assert_eq!(
            v,
            vec![
                ("/mandats/0/libelle".into(), "libelle_longueur".into()),
                ("/mandats/1/libelle".into(), "libelle_longueur".into()),
                ("/mandats/1/cible".into(), "mandat_en_double".into()),
            ]
        );
    }

    #[test]
    fn definition_valide_normalisee() {
        let mut d = definition("  Éditeur  ");
        d.scopes = vec!["eleves:read".into(), "ecoles:read".into(), "eleves:read".into()];
        d.mandats = vec![MandatDemande {
            cible: CibleDemande {
                genre: "commune".into(),
                code: "69123".into(),
            },
            libelle: Some("   ".into()),
        }];
        let p = construire(Uuid::nil(), Some(TypePartenaire::Editeur), Vec::new(), &d).unwrap();
        assert_eq!(p.nom, "Éditeur");
        assert_eq!(p.scopes.to_string(), "ecoles:read eleves:read");
        assert_eq!(p.mandats[0].libelle, None);
        // The representation a PATCH starts from reads back to the same partner.
        let aller_retour = construire(
            Uuid::nil(),
            Some(p.type_partenaire),
            Vec::new(),
            &DefinitionPartenaire::from(&p),
        );
        assert_eq!(aller_retour.unwrap(), p);
    }
}
