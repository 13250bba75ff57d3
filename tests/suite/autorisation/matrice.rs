//! The matrix itself: every sample x every partner kind x every side, and the audit cross-check.

use super::echantillons::echantillons;
use super::*;

/// One reference partner per kind.
struct Acteur {
    type_partenaire: TypePartenaire,
    id: Identifiants,
    /// UAIs of the schools in its perimeter (`None`: national).
    ecoles: Option<HashSet<String>>,
    /// A token with every scope the partner holds.
    jeton: String,
}

/// One access sent during the matrix, for the audit cross-check.
struct Acces {
    id_requete: String,
    cellule: String,
    partenaire_id: String,
    client_id: String,
    operation: String,
    scope: Option<String>,
    /// Number of pupils whose data the response exposed (0: must not be audited).
    eleves: Vec<String>,
}

/// Pupil ids exposed by a 200 response of a personal-data operation.
fn eleves_exposes(corps: &Value) -> Vec<String> {
    let id_eleve = |v: &Value| -> String {
        v["eleve"]["id"]
            .as_str()
            .or_else(|| v["eleve_id"].as_str())
            .or_else(|| v["id"].as_str())
            .unwrap()
            .to_owned()
    };
    if let Some(resultats) = corps["resultats"].as_array() {
        return resultats
            .iter()
            .filter(|r| r["resultat"] != "rejete" && r["resultat"] != "annule")
            .map(|r| r["eleve_id"].as_str().unwrap().to_owned())
            .collect();
    }
    match corps["elements"].as_array() {
        // The change feed: the pupils behind each event that shows data.
        Some(elements) if elements.iter().any(|e| e.get("ressource").is_some()) => {
            let mut ids: Vec<String> = elements
                .iter()
                .flat_map(|e| match (e["ressource"].as_str(), &e["donnees"]) {
                    (_, Value::Null) => Vec::new(),
                    (Some("eleve"), d) => vec![d["id"].as_str().unwrap().to_owned()],
                    (Some("inscription"), d) => vec![d["eleve"]["id"].as_str().unwrap().to_owned()],
                    (Some("responsable"), d) => d["eleves"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_str().unwrap().to_owned())
                        .collect(),
                    _ => Vec::new(),
                })
                .collect();
            ids.sort();
            ids.dedup();
            ids
        }
        Some(elements) => elements.iter().map(id_eleve).collect(),
        None => vec![id_eleve(corps)],
    }
}

fn sans_instance(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("instance");
    }
    v
}

/// A pupil record as partners send it (the shape of `PUT /v1/eleves/{ine}`).
fn dossier(e: &onde_domain::Eleve) -> Value {
    json!({
        "ine": e.ine,
        "nom": e.nom,
        "prenoms": e.prenoms,
        "sexe": e.sexe,
        "date_naissance": e.date_naissance,
        "lieu_naissance": e.lieu_naissance,
        "adresse": e.adresse,
        "responsables": e.responsables.iter().map(|r| {
            let mut o = json!({"nom": r.nom, "prenom": r.prenom, "lien": r.lien, "autorite_parentale": r.autorite_parentale});
            for (cle, valeur) in [("telephone", &r.telephone), ("courriel", &r.courriel), ("adresse", &r.adresse)] {
                if let Some(v) = valeur {
                    o[cle] = json!(v);
                }
            }
            o
        }).collect::<Vec<_>>(),
    })
}

/// Identifiers (UAI, INE, UUID) replaced, to compare two refusals about different rows.
fn normaliser(v: &Value) -> String {
    let re = regex_lite::Regex::new(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\b[0-9]{7}[A-Z]\b|\b[0-9]{10}[A-Z]\b",
    )
    .unwrap();
    re.replace_all(&sans_instance(v).to_string(), "<id>").into_owned()
}

/// A waiting import job of a partner, for the samples that read one.
fn import_de(base: &onde_store::testing::BaseDeTest, id: &Identifiants) -> String {
    let job = uuid::Uuid::now_v7();
    let import = onde_store::imports::Import::nouveau(
        job,
        Some(id.partenaire_id),
        Some(id.client_id.clone()),
        onde_store::imports::FormatImport::Ndjson,
        chrono::Utc::now().naive_utc(),
    );
    onde_store::imports::creer(&mut base.store.connexion().unwrap(), &import).unwrap();
    job.to_string()
}

/// Targets of the workflow samples (see [`cibles_des_ecritures`]).
struct Cibles {
    dedans: HashMap<(&'static str, TypePartenaire), String>,
    dehors: HashMap<&'static str, String>,
    niveaux: HashMap<String, String>,
}

/// Inscriptions the workflow samples change: for each operation, one per kind that may write
/// inside (schools A and B) and one outside (school C), in a status the step accepts; each
/// pupil at most once, never A's or C's landmark pupil.
fn cibles_des_ecritures(base: &onde_store::testing::BaseDeTest, reperes: &[Repere]) -> Cibles {
    use onde_domain::StatutInscription::*;
    let (a, b, c) = (&reperes[0], &reperes[1], &reperes[2]);
    let toutes = toutes_les_inscriptions(base);
    let niveaux = toutes
        .iter()
        .map(|i| (i.inscription.id.to_string(), i.inscription.niveau.as_str().to_owned()))
        .collect();
    let mut pris: HashSet<uuid::Uuid> = HashSet::new();
    for r in reperes {
        pris.insert(uuid::Uuid::parse_str(&r.eleve_id).unwrap());
    }
    let mut prendre = |uais: &[&str], statuts: &[onde_domain::StatutInscription]| -> String {
        let i = toutes
            .iter()
            .find(|i| {
                uais.contains(&i.inscription.uai.as_str())
                    && statuts.contains(&i.inscription.statut)
                    && !pris.contains(&i.eleve.id)
            })
            .unwrap_or_else(|| panic!("aucune inscription {statuts:?} libre dans {uais:?}"));
        pris.insert(i.eleve.id);
        i.inscription.id.to_string()
    };
    let actives = [EnAttente, Inscrit, Admissibilite, Admis, AdmisDefinitif];
    let etapes: [(&'static str, &[onde_domain::StatutInscription]); 6] = [
        ("admettre", &[Inscrit, Admissibilite]),
        ("mettre_en_admissibilite", &[Inscrit]),
        ("admettre_definitivement", &[Admis]),
        ("radier", &[AdmisDefinitif, Admis]),
        ("changer_d_ecole", &[AdmisDefinitif]),
        ("changer_de_niveau", &[AdmisDefinitif]),
    ];
    let mut dedans = HashMap::new();
    let mut dehors = HashMap::new();
    for (op, statuts) in etapes {
        for t in [
            TypePartenaire::Mairie,
            TypePartenaire::EcolePrivee,
            TypePartenaire::Editeur,
        ] {
            // A change of school leaves A for B.
            let ecoles: &[&str] = if op == "changer_d_ecole" {
                &[&a.uai]
            } else {
                &[&a.uai, &b.uai]
            };
            dedans.insert((op, t), prendre(ecoles, statuts));
        }
        dehors.insert(op, prendre(&[&c.uai], if op == "radier" { &actives } else { statuts }));
    }
    Cibles {
        dedans,
        dehors,
        niveaux,
    }
}

deux_backends! {
    fn matrice_d_autorisation(base: eleves(300)) {
        let reperes = reperes(base);
        assert!(reperes.len() >= 3);
        let (a, b, c) = (reperes[0].clone(), reperes[1].clone(), reperes[2].clone());
        let ecole_commune: HashMap<String, String> = toutes_les_ecoles(base)
            .into_iter()
            .map(|e| (e.uai.as_str().to_owned(), e.commune.as_str().to_owned()))
            .collect();
        let ecoles_de = |communes: &[&str]| -> HashSet<String> {
            ecole_commune.iter().filter(|(_, c)| communes.contains(&c.as_str())).map(|(u, _)| u.clone()).collect()
        };
        let ops = operations_securisees();
        let tous_les_echantillons = echantillons();
        let echantillons = verifier_couverture(&ops, &tous_les_echantillons);
        // Partners the administration samples act on (never the actors of the matrix).
        let cible = partenaire(base, TypePartenaire::Mairie, "ecoles:read", &[&c.commune], &[], &[]);
        let a_revoquer = partenaire(base, TypePartenaire::Mairie, "ecoles:read", &[&c.commune], &[], &[]);
        let cibles = cibles_des_ecritures(base, &reperes);
        let lire = |ine: &str| {
            let ine = onde_domain::Ine::parse(ine).unwrap();
            let mut conn = base.store.connexion().unwrap();
            dossier(&onde_store::eleves::trouver_par_ine(&mut conn, &onde_domain::Perimetre::National, &ine).unwrap().unwrap())
        };
        let ctx = Contexte {
            a: a.clone(),
            b: b.clone(),
            c: c.clone(),
            cible: cible.partenaire_id.to_string(),
            a_revoquer: a_revoquer.partenaire_id.to_string(),
            inscriptions: cibles.dedans,
            inscriptions_dehors: cibles.dehors,
            niveaux: cibles.niveaux,
            dossier_a: lire(&a.ine),
            dossier_c: lire(&c.ine),
            imports: Default::default(),
            import_autre: import_de(base, &cible),
            debut_flux: onde_store::changements::position_courante(&mut base.store.connexion().unwrap())
                .unwrap()
                .curseur()
                .encoder(),
        };

        let etat = etat(base);
        executer(async {
            let app = actix_web::test::init_service(api::app(etat.clone())).await;
            let tous = |t: TypePartenaire| t.scopes_possibles().to_string();
            // Schools A and B are in every restricted perimeter, C in none.
            let mut acteurs = Vec::new();
            for (t, communes, uais, mandats, ecoles) in [
                (
                    TypePartenaire::Mairie,
                    vec![a.commune.as_str(), b.commune.as_str()],
                    vec![],
                    vec![],
                    Some(ecoles_de(&[&a.commune, &b.commune])),
                ),
                (
                    TypePartenaire::EcolePrivee,
                    vec![],
                    vec![a.uai.as_str(), b.uai.as_str()],
                    vec![],
                    Some([a.uai.clone(), b.uai.clone()].into()),
                ),
                (
                    TypePartenaire::Editeur,
                    vec![],
                    vec![],
                    // A commune's mandate lends no `eleves:write`: school A's mandate is what lets
                    // the editor write A's pupil (the read perimeter is the same).
                    vec![a.commune.as_str(), a.uai.as_str(), b.uai.as_str()],
                    Some(ecoles_de(&[&a.commune]).into_iter().chain([b.uai.clone()]).collect()),
                ),
                (TypePartenaire::Admin, vec![], vec![], vec![], None),
            ] {
                let id = partenaire(base, t, &tous(t), &communes, &uais, &mandats);
                let jeton = jeton(&app, &id).await;
                ctx.imports.borrow_mut().insert(t, import_de(base, &id));
                acteurs.push(Acteur { type_partenaire: t, id, ecoles, jeton });
            }
            assert_eq!(
                acteurs.iter().map(|a| a.type_partenaire).collect::<Vec<_>>(),
                TypePartenaire::TOUS.to_vec(),
                "chaque type de partenaire a sa ligne dans la matrice"
            );
            // The samples really are where they should be.
            for acteur in &acteurs {
                if let Some(e) = &acteur.ecoles {
                    assert!(e.contains(&a.uai) && e.contains(&b.uai) && !e.contains(&c.uai));
                }
            }

            let mut acces = Vec::new();
            let mut cellules = 0;
            for e in &echantillons {
                let op = &ops[e.operation];
                let personnel = op
                    .scopes
                    .iter()
                    .any(|s| s.as_str().starts_with("eleves:") || s.as_str().starts_with("inscriptions:"));
                let dehors = (e.requete)(&ctx, Cote::Dehors);
                let inexistant = (e.requete)(&ctx, Cote::Inexistant);
                for acteur in &acteurs {
                    let t = acteur.type_partenaire;
                    let peut = op.scopes.iter().any(|s| t.scopes_possibles().contient(*s));
                    let national = acteur.ecoles.is_none();
                    // Token without any scope allowing the operation (and with all the others).
                    let restants: Vec<Scope> =
                        t.scopes_possibles().iter().filter(|s| !op.scopes.contains(s)).collect();
                    assert!(!restants.is_empty(), "{t} : aucun autre scope pour {}", e.operation);
                    let jeton_sans = demander_jeton(&app, &acteur.id, Some(&Scopes::de(&restants).to_string()))
                        .await
                        .map_err(|r| r.texte)
                        .unwrap();

                    let dedans = (e.requete)(&ctx, Cote::Dedans(t)).expect("échantillon dedans");
                    let mut cas: Vec<(&str, &Requete, &str, u16)> = vec![
                        ("sans_jeton", &dedans, "", 401),
                        ("sans_scope", &dedans, jeton_sans.as_str(), 403),
                    ];
                    if let Some(dehors) = &dehors {
                        cas.push(("sans_jeton_dehors", dehors, "", 401));
                        cas.push(("sans_scope_dehors", dehors, jeton_sans.as_str(), 403));
                        let attendu = match (peut, national) {
                            (false, _) => 403,
                            (true, true) => e.succes,
                            (true, false) => e.refus_dehors,
                        };
                        cas.push(("dehors", dehors, acteur.jeton.as_str(), attendu));
                    }
                    // A token the gateway itself signed for a scope this kind may never hold
                    // (as if issued before a scope was withdrawn) is refused too.
                    let forge;
                    if !peut {
                        forge = etat
                            .trousseau
                            .emettre(&acteur.id.partenaire_id.to_string(), &acteur.id.client_id, op.scopes[0].as_str())
                            .unwrap();
                        cas.push(("scope_non_detenu", &dedans, forge.as_str(), 403));
                    }
                    // Last: a write that succeeds changes the state.
                    cas.push(("dedans", &dedans, acteur.jeton.as_str(), if peut { e.succes } else { 403 }));
                    for (nom, (uri, corps), jeton, attendu) in cas {
                        cellules += 1;
                        let cellule = format!("{} x {t} x {nom} ({} {uri})", e.operation, e.methode);
                        let r = requete(&app, e.methode.clone(), uri, jeton, &[], corps.as_ref()).await;
                        assert_eq!(r.statut.as_u16(), attendu, "{cellule} : {}", r.texte);
                        let refus_dehors = nom == "dehors" && !national && attendu != 403;
                        match attendu {
                            401 => {
                                assert_probleme(&r, 401, "authentification_requise");
                                let defi = r.entete("www-authenticate").unwrap_or_default();
                                assert!(defi.starts_with("Bearer"), "{cellule} : WWW-Authenticate = {defi:?}");
                            }
                            403 => {
                                assert_probleme(&r, 403, "insufficient_scope");
                                let defi = r.entete("www-authenticate").unwrap_or_default();
                                assert!(
                                    defi.starts_with("Bearer") && defi.contains("insufficient_scope"),
                                    "{cellule} : {defi:?}"
                                );
                            }
                            _ if refus_dehors && attendu >= 400 => {
                                if attendu == 404 {
                                    assert_probleme(&r, 404, "ressource_introuvable");
                                }
                                // Existence does not leak: the answer about a row that exists
                                // nowhere is the same (identifiers aside).
                                if let Some((uri2, corps2)) = &inexistant {
                                    let r2 = requete(&app, e.methode.clone(), uri2, jeton, &[], corps2.as_ref()).await;
                                    assert_eq!(r2.statut, r.statut, "{cellule} : {}", r2.texte);
                                    assert_eq!(normaliser(&r2.corps), normaliser(&r.corps), "{cellule}");
                                }
                            }
                            _ => match e.genre {
                                Genre::Liste { non_vide } => {
                                    let elements = r.corps["elements"].as_array().unwrap();
                                    if refus_dehors {
                                        assert!(elements.is_empty(), "{cellule} : {} lignes hors périmètre", elements.len());
                                    } else if non_vide {
                                        assert!(!elements.is_empty(), "{cellule} : liste vide");
                                    }
                                    if let (Some(ecoles), true) = (&acteur.ecoles, personnel || e.operation == "lister_ecoles") {
                                        for ligne in elements {
                                            // Feed events carry the school in their data, if any.
                                            let uai = match ligne.get("ressource") {
                                                None => ligne["uai"].as_str(),
                                                Some(_) => ligne["donnees"]["uai"].as_str(),
                                            };
                                            if e.operation.starts_with("lister_") && e.operation != "lister_eleves" {
                                                assert!(uai.is_some(), "{cellule} : {ligne}");
                                            }
                                            if let Some(uai) = uai {
                                                assert!(ecoles.contains(uai), "{cellule} : ligne hors périmètre {ligne}");
                                            }
                                        }
                                    }
                                }
                                Genre::Lot => {
                                    let resultats = r.corps["resultats"].as_array().unwrap();
                                    assert!(!resultats.is_empty(), "{cellule}");
                                    for res in resultats {
                                        if refus_dehors {
                                            assert_eq!(res["resultat"], "rejete", "{cellule} : {res}");
                                        } else {
                                            assert_ne!(res["resultat"], "rejete", "{cellule} : {res}");
                                        }
                                    }
                                }
                                Genre::Unitaire => {
                                    let cle = uri.rsplit('/').next().unwrap();
                                    assert!(r.texte.contains(cle), "{cellule} : {}", r.texte);
                                }
                                Genre::Ecriture => assert!(r.corps.is_object(), "{cellule} : {}", r.texte),
                            },
                        }
                        let expose = if (200..300).contains(&attendu) && personnel && e.expose {
                            eleves_exposes(&r.corps)
                        } else {
                            Vec::new()
                        };
                        acces.push(Acces {
                            id_requete: r.entete("x-request-id").unwrap().to_owned(),
                            cellule,
                            partenaire_id: acteur.id.partenaire_id.to_string(),
                            client_id: acteur.id.client_id.clone(),
                            operation: e.operation.to_owned(),
                            scope: op.scopes.iter().find(|s| t.scopes_possibles().contient(**s)).map(|s| s.as_str().to_owned()),
                            eleves: expose,
                        });
                    }
                }
            }
            assert!(cellules >= echantillons.len() * 4 * 3, "{cellules} cellules");

            // The audit trail: one record per access that exposed pupil data, nothing else.
            let piste = piste_audit(&etat);
            let mut par_requete: HashMap<&str, Vec<&onde_store::audit::Entree>> = HashMap::new();
            for entree in &piste {
                par_requete.entry(entree.id_requete.as_str()).or_default().push(entree);
            }
            let mut attendues = 0;
            for a in &acces {
                let trouvees = par_requete.get(a.id_requete.as_str()).cloned().unwrap_or_default();
                if a.eleves.is_empty() {
                    assert!(trouvees.is_empty(), "{} : audit inattendu {trouvees:?}", a.cellule);
                    continue;
                }
                attendues += 1;
                assert_eq!(trouvees.len(), 1, "{} : {trouvees:?}", a.cellule);
                let entree = trouvees[0];
                assert_eq!(entree.partenaire_id, a.partenaire_id, "{}", a.cellule);
                assert_eq!(entree.client_id, a.client_id, "{}", a.cellule);
                assert_eq!(entree.operation, a.operation, "{}", a.cellule);
                assert_eq!(Some(&entree.scope), a.scope.as_ref(), "{}", a.cellule);
                assert_eq!(entree.pour_le_compte_de, None, "{}", a.cellule);
                let recus: BTreeSet<&str> = entree.eleves.split(' ').collect();
                let exposes: BTreeSet<&str> = a.eleves.iter().map(String::as_str).collect();
                assert_eq!(recus, exposes, "{}", a.cellule);
                assert_eq!(entree.nombre as usize, entree.eleves.split(' ').count(), "{}", a.cellule);
            }
            assert!(attendues > 0);
            assert_eq!(piste.len(), attendues, "une entrée d'audit par accès à des données personnelles");
        });
    }
}
