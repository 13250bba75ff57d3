//! The sample requests of every secured operation (one per operation of the spec), and the
//! test that the spec has no secured operation without one.

use super::*;

/// One sample per secured operation of the spec. Add the new operations here.
pub(super) fn echantillons() -> Vec<Echantillon> {
    use Cote::*;
    let liste = Genre::Liste { non_vide: true };
    let get = Method::GET;
    let post = Method::POST;
    vec![
        // Reference data and personal data: the perimeter applies.
        Echantillon {
            requete: |c, cote| match cote {
                Dedans(_) => Some(("/v1/ecoles?limit=1000".into(), None)),
                Dehors => Some((format!("/v1/ecoles?commune={}&limit=1000", c.c.commune), None)),
                Inexistant => None,
            },
            ..Echantillon::new("lister_ecoles", get.clone(), "/v1/ecoles", liste)
        },
        Echantillon {
            requete: |c, cote| {
                let uai = match cote {
                    Dedans(_) => c.a.uai.as_str(),
                    Dehors => c.c.uai.as_str(),
                    Inexistant => "0750655E",
                };
                Some((format!("/v1/ecoles/{uai}"), None))
            },
            ..Echantillon::new("consulter_ecole", get.clone(), "/v1/ecoles/{uai}", Genre::Unitaire)
        },
        Echantillon {
            requete: |c, cote| {
                let ine = match cote {
                    Dedans(_) => c.a.ine.as_str(),
                    Dehors => c.c.ine.as_str(),
                    Inexistant => "0494004062M",
                };
                Some((format!("/v1/eleves/{ine}"), None))
            },
            ..Echantillon::new("consulter_eleve", get.clone(), "/v1/eleves/{ine}", Genre::Unitaire)
        },
        Echantillon {
            // No "outside" sample: a pupil schooled outside may live inside.
            requete: |_, cote| matches!(cote, Dedans(_)).then(|| ("/v1/eleves?limit=1000".into(), None)),
            ..Echantillon::new("lister_eleves", get.clone(), "/v1/eleves", liste)
        },
        Echantillon {
            requete: |c, cote| match cote {
                Dedans(_) => Some(("/v1/inscriptions?limit=1000".into(), None)),
                Dehors => Some((format!("/v1/inscriptions?commune={}&limit=1000", c.c.commune), None)),
                Inexistant => None,
            },
            ..Echantillon::new("lister_inscriptions", get.clone(), "/v1/inscriptions", liste)
        },
        Echantillon {
            requete: |c, cote| {
                let id = match cote {
                    Dedans(_) => c.a.inscription.clone(),
                    Dehors => c.c.inscription.clone(),
                    Inexistant => "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e".into(),
                };
                Some((format!("/v1/inscriptions/{id}"), None))
            },
            ..Echantillon::new(
                "consulter_inscription",
                get.clone(),
                "/v1/inscriptions/{id}",
                Genre::Unitaire,
            )
        },
        // Writes of personal data.
        Echantillon {
            succes: 201,
            refus_dehors: 422,
            requete: |c, cote| {
                let (uai, t) = match cote {
                    Dedans(t) => (c.a.uai.as_str(), t),
                    Dehors => (c.c.uai.as_str(), TypePartenaire::Admin),
                    Inexistant => ("0750655E", TypePartenaire::Admin),
                };
                let corps =
                    json!({"eleve": nouvel_eleve(c, t), "uai": uai, "annee_scolaire": "2026-2027", "niveau": "CP"});
                Some(("/v1/inscriptions".into(), Some(corps)))
            },
            ..Echantillon::new("creer_inscription", post.clone(), "/v1/inscriptions", Genre::Ecriture)
        },
        Echantillon {
            // Inside: A's pupil with an identity that does not match (the answer of an unknown
            // INE): nothing written; the success path and its audit are in tests/suite/integrite.rs.
            // Outside and nowhere: the school is checked first (422, unknown school).
            succes: 422,
            refus_dehors: 422,
            expose: false,
            requete: |c, cote| {
                let uai = match cote {
                    Dedans(_) => c.a.uai.as_str(),
                    Dehors => c.c.uai.as_str(),
                    Inexistant => "0750655E",
                };
                let corps = json!({
                    "ine": c.a.ine, "nom": c.dossier_a["nom"], "prenom": c.dossier_a["prenoms"][0],
                    "date_naissance": "2010-01-01", "uai": uai, "annee_scolaire": "2026-2027",
                    "niveau": c.niveau_de(&c.a.inscription)
                });
                Some(("/v1/rattachements".into(), Some(corps)))
            },
            ..Echantillon::new("rattacher_eleve", post.clone(), "/v1/rattachements", Genre::Ecriture)
        },
        Echantillon {
            requete: |c, cote| {
                Some((
                    format!("/v1/inscriptions/{}/admission", c.inscription("admettre", cote)?),
                    Some(json!({})),
                ))
            },
            ..Echantillon::new(
                "admettre",
                post.clone(),
                "/v1/inscriptions/{id}/admission",
                Genre::Ecriture,
            )
        },
        Echantillon {
            requete: |c, cote| {
                let id = c.inscription("mettre_en_admissibilite", cote)?;
                Some((format!("/v1/inscriptions/{id}/admissibilite"), Some(json!({}))))
            },
            ..Echantillon::new(
                "mettre_en_admissibilite",
                post.clone(),
                "/v1/inscriptions/{id}/admissibilite",
                Genre::Ecriture,
            )
        },
        Echantillon {
            requete: |c, cote| {
                let id = c.inscription("admettre_definitivement", cote)?;
                Some((format!("/v1/inscriptions/{id}/admission_definitive"), Some(json!({}))))
            },
            ..Echantillon::new(
                "admettre_definitivement",
                post.clone(),
                "/v1/inscriptions/{id}/admission_definitive",
                Genre::Ecriture,
            )
        },
        Echantillon {
            requete: |c, cote| {
                let id = c.inscription("radier", cote)?;
                Some((
                    format!("/v1/inscriptions/{id}/radiation"),
                    Some(json!({"date": "2026-11-20", "motif": "demenagement"})),
                ))
            },
            ..Echantillon::new(
                "radier",
                post.clone(),
                "/v1/inscriptions/{id}/radiation",
                Genre::Ecriture,
            )
        },
        Echantillon {
            requete: |c, cote| {
                let id = c.inscription("changer_d_ecole", cote)?;
                // From A to B inside; to A for the outside one (a school of the perimeter:
                // only the inscription is outside).
                let vers = if cote == Dehors { &c.a.uai } else { &c.b.uai };
                Some((
                    format!("/v1/inscriptions/{id}/changement_ecole"),
                    Some(json!({"uai": vers})),
                ))
            },
            // The new inscription is created.
            succes: 201,
            ..Echantillon::new(
                "changer_d_ecole",
                post.clone(),
                "/v1/inscriptions/{id}/changement_ecole",
                Genre::Ecriture,
            )
        },
        Echantillon {
            requete: |c, cote| {
                let id = c.inscription("changer_de_niveau", cote)?;
                Some((
                    format!("/v1/inscriptions/{id}/changement_niveau"),
                    Some(json!({"niveau": c.niveau_de(&id)})),
                ))
            },
            ..Echantillon::new(
                "changer_de_niveau",
                post.clone(),
                "/v1/inscriptions/{id}/changement_niveau",
                Genre::Ecriture,
            )
        },
        Echantillon {
            // Outside: the INE is taken by a pupil the caller does not see, never overwritten
            // (409 ine_hors_perimetre, as for a batch item or an import line).
            refus_dehors: 409,
            requete: |c, cote| match cote {
                // Rewriting a pupil as it is: allowed inside, refused outside.
                Dedans(_) => Some((format!("/v1/eleves/{}", c.a.ine), Some(c.dossier_a.clone()))),
                Dehors => Some((format!("/v1/eleves/{}", c.c.ine), Some(c.dossier_c.clone()))),
                // An unknown INE is a creation here, not a 404.
                Inexistant => None,
            },
            ..Echantillon::new("ecrire_eleve", Method::PUT, "/v1/eleves/{ine}", Genre::Ecriture)
        },
        Echantillon {
            requete: |c, cote| {
                let ine = match cote {
                    Dedans(_) => c.a.ine.as_str(),
                    Dehors => c.c.ine.as_str(),
                    Inexistant => "0494004062M",
                };
                Some((format!("/v1/eleves/{ine}"), Some(json!({}))))
            },
            ..Echantillon::new("modifier_eleve", Method::PATCH, "/v1/eleves/{ine}", Genre::Ecriture)
        },
        Echantillon {
            requete: |c, cote| {
                let dossier = match cote {
                    Dedans(_) => &c.dossier_a,
                    Dehors => &c.dossier_c,
                    Inexistant => return None,
                };
                let corps = json!({"mode": "partiel", "elements": [{"eleve": dossier, "inscriptions": []}]});
                Some(("/v1/lots/eleves".into(), Some(corps)))
            },
            ..Echantillon::new("pousser_lot_eleves", post.clone(), "/v1/lots/eleves", Genre::Lot)
        },
        // Imports: the upload is accepted (202) whatever its lines; a line outside the
        // perimeter is rejected by the job, never applied. The inside line is invalid too, so
        // that the matrix writes nothing in the background.
        Echantillon {
            succes: 202,
            refus_dehors: 202,
            expose: false,
            requete: |c, cote| {
                let ligne = match cote {
                    Dedans(_) => json!({"eleve": {}, "inscriptions": []}),
                    Dehors => json!({"eleve": c.dossier_c, "inscriptions": []}),
                    Inexistant => return None,
                };
                Some(("/v1/imports".into(), Some(Value::String(format!("{ligne}\n")))))
            },
            ..Echantillon::new("lancer_import", post.clone(), "/v1/imports", Genre::Ecriture)
        },
        Echantillon {
            expose: false,
            requete: |c, cote| Some((format!("/v1/imports/{}", c.import(cote)), None)),
            ..Echantillon::new("consulter_import", get.clone(), "/v1/imports/{id}", Genre::Unitaire)
        },
        Echantillon {
            expose: false,
            // Another partner's job is unknown to the caller.
            refus_dehors: 404,
            requete: |c, cote| Some((format!("/v1/imports/{}/rejets", c.import(cote)), None)),
            ..Echantillon::new(
                "rapport_rejets_import",
                get.clone(),
                "/v1/imports/{id}/rejets",
                Genre::Liste { non_vide: false },
            )
        },
        // The change feed, from before the matrix's writes (every write sample runs before it):
        // what each actor's writes changed, within its perimeter.
        Echantillon {
            requete: |c, cote| {
                matches!(cote, Dedans(_)).then(|| (format!("/v1/changements?limit=1000&depuis={}", c.debut_flux), None))
            },
            ..Echantillon::new(
                "lire_changements",
                get.clone(),
                "/v1/changements",
                Genre::Liste { non_vide: false },
            )
        },
        // Administration (scope `admin`, national: no perimeter).
        Echantillon {
            requete: |_, cote| matches!(cote, Dedans(_)).then(|| ("/v1/admin/partenaires?limit=1000".into(), None)),
            ..Echantillon::new("lister_partenaires", get.clone(), "/v1/admin/partenaires", liste)
        },
        Echantillon {
            requete: |c, cote| matches!(cote, Dedans(_)).then(|| (format!("/v1/admin/partenaires/{}", c.cible), None)),
            ..Echantillon::new(
                "consulter_partenaire",
                get.clone(),
                "/v1/admin/partenaires/{id}",
                Genre::Unitaire,
            )
        },
        Echantillon {
            requete: |_, cote| matches!(cote, Dedans(_)).then(|| ("/v1/admin/audit?limit=10".into(), None)),
            ..Echantillon::new(
                "consulter_audit",
                get,
                "/v1/admin/audit",
                Genre::Liste { non_vide: false },
            )
        },
        Echantillon {
            succes: 201,
            requete: |c, cote| {
                matches!(cote, Dedans(_)).then(|| {
                    let corps = json!({"nom": "Mairie créée par la matrice", "type": "mairie",
                                       "scopes": ["ecoles:read"], "communes": [c.c.commune]});
                    ("/v1/admin/partenaires".into(), Some(corps))
                })
            },
            ..Echantillon::new(
                "creer_partenaire",
                post.clone(),
                "/v1/admin/partenaires",
                Genre::Ecriture,
            )
        },
        Echantillon {
            requete: |c, cote| {
                matches!(cote, Dedans(_)).then(|| {
                    let corps = json!({"nom": "Cible remplacée", "scopes": ["ecoles:read"],
                                       "communes": [c.c.commune], "actif": true});
                    (format!("/v1/admin/partenaires/{}", c.cible), Some(corps))
                })
            },
            ..Echantillon::new(
                "remplacer_partenaire",
                Method::PUT,
                "/v1/admin/partenaires/{id}",
                Genre::Ecriture,
            )
        },
        Echantillon {
            requete: |c, cote| {
                matches!(cote, Dedans(_)).then(|| {
                    (
                        format!("/v1/admin/partenaires/{}", c.cible),
                        Some(json!({"nom": "Cible modifiée"})),
                    )
                })
            },
            ..Echantillon::new(
                "modifier_partenaire",
                Method::PATCH,
                "/v1/admin/partenaires/{id}",
                Genre::Ecriture,
            )
        },
        Echantillon {
            requete: |c, cote| {
                matches!(cote, Dedans(_))
                    .then(|| (format!("/v1/admin/partenaires/{}/secret", c.cible), Some(json!({}))))
            },
            ..Echantillon::new(
                "changer_secret_partenaire",
                post.clone(),
                "/v1/admin/partenaires/{id}/secret",
                Genre::Ecriture,
            )
        },
        Echantillon {
            requete: |c, cote| {
                matches!(cote, Dedans(_)).then(|| (format!("/v1/admin/partenaires/{}/revocation", c.a_revoquer), None))
            },
            ..Echantillon::new(
                "revoquer_partenaire",
                post.clone(),
                "/v1/admin/partenaires/{id}/revocation",
                Genre::Ecriture,
            )
        },
        Echantillon {
            requete: |_, cote| matches!(cote, Dedans(_)).then(|| ("/v1/admin/cles/rotation".into(), None)),
            ..Echantillon::new("tourner_cles", post, "/v1/admin/cles/rotation", Genre::Ecriture)
        },
    ]
}

#[test]
fn chaque_operation_securisee_a_un_echantillon() {
    let ops = operations_securisees();
    assert!(ops.len() >= 5, "{ops:?}");
    verifier_couverture(&ops, &echantillons());
    for (id, op) in &ops {
        assert_eq!(
            op.scopes,
            scopes_attendus(&op.methode, &op.chemin),
            "{id} ({} {}) : scope déclaré",
            op.methode,
            op.chemin
        );
    }
}
