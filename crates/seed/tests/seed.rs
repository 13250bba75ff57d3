//! The synthetic data generator: deterministic, and every row plausible by the domain's rules.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use onde_domain::{
    AnneeScolaire, CodeInsee, Ine, LienResponsable, Niveau, Prenoms, Secteur, Sexe, StatutInscription, TypeEcole, Uai,
};
use onde_seed::{self as seed, BilanSeed, ParametresSeed};
use onde_store::schema::{communes, ecoles, eleves, eleves_responsables, inscriptions, responsables};
use onde_store::testing::BaseDeTest;
use onde_store::DbConnection;
use uuid::Uuid;

const RENTREE: u16 = 2026;

fn parametres(eleves: u32, graine: u64) -> ParametresSeed {
    ParametresSeed {
        eleves,
        graine,
        rentree: RENTREE,
        communes: None,
    }
}

fn seeder(base: &BaseDeTest, p: &ParametresSeed) -> BilanSeed {
    let mut conn = base.store.connexion().unwrap();
    seed::generer(&mut conn, p, &mut |_, _| {}).unwrap()
}

type S = String;
type Os = Option<String>;
type Od = Option<NaiveDate>;
type T = NaiveDateTime;
type LigneEcole = (S, S, S, S, S, Os, Os, Os, Od, Od);
// The last column is the content fingerprint, which the seed leaves unknown (NULL).
type LigneEleve = (
    S,
    Os,
    S,
    S,
    Os,
    Os,
    S,
    NaiveDate,
    S,
    Os,
    Os,
    Os,
    T,
    T,
    i64,
    S,
    Option<Vec<u8>>,
);
type LigneResponsable = (S, S, S, Os, Os, Os, T, T);
type LigneLien = (S, S, S, bool, i32);
type LigneInscription = (S, S, S, S, S, Os, Os, S, bool, NaiveDate, Od, Od, Os, T, T, i64);

struct Donnees {
    communes: Vec<(S, S)>,
    ecoles: Vec<LigneEcole>,
    eleves: Vec<LigneEleve>,
    responsables: Vec<LigneResponsable>,
    liens: Vec<LigneLien>,
    inscriptions: Vec<LigneInscription>,
}

fn lire(conn: &mut DbConnection) -> Donnees {
    Donnees {
        communes: communes::table.order(communes::code_insee).load(conn).unwrap(),
        ecoles: ecoles::table.order(ecoles::uai).load(conn).unwrap(),
        eleves: eleves::table.order(eleves::id).load(conn).unwrap(),
        responsables: responsables::table.order(responsables::id).load(conn).unwrap(),
        liens: eleves_responsables::table
            .order((eleves_responsables::eleve_id, eleves_responsables::responsable_id))
            .load(conn)
            .unwrap(),
        inscriptions: inscriptions::table.order(inscriptions::id).load(conn).unwrap(),
    }
}

/// Every row of every table, each table sorted by its key, as text.
fn vidage(conn: &mut DbConnection) -> Vec<String> {
    let d = lire(conn);
    let mut lignes = Vec::new();
    lignes.extend(d.communes.iter().map(|l| format!("communes {l:?}")));
    lignes.extend(d.ecoles.iter().map(|l| format!("ecoles {l:?}")));
    // Debug stops at 12-tuples: print long rows in two halves.
    lignes.extend(d.eleves.iter().map(|l| {
        let debut = (&l.0, &l.1, &l.2, &l.3, &l.4, &l.5, &l.6, &l.7);
        format!("eleves {debut:?} {:?}", (&l.8, &l.9, &l.10, &l.11, &l.12, &l.13, &l.14))
    }));
    lignes.extend(d.responsables.iter().map(|l| format!("responsables {l:?}")));
    lignes.extend(d.liens.iter().map(|l| format!("eleves_responsables {l:?}")));
    lignes.extend(d.inscriptions.iter().map(|l| {
        let debut = (&l.0, &l.1, &l.2, &l.3, &l.4, &l.5, &l.6, &l.7);
        format!(
            "inscriptions {debut:?} {:?}",
            (&l.8, &l.9, &l.10, &l.11, &l.12, &l.13, &l.14, &l.15)
        )
    }));
    lignes
}

onde_store::tests_deux_backends! {
    fn meme_graine_memes_lignes(base) {
        let p = parametres(2_000, 42);
        let bilan = seeder(base, &p);
        let autre = BaseDeTest::nouvelle(base.store.backend());
        assert_eq!(seeder(&autre, &p), bilan);
        let premier = vidage(&mut base.store.connexion().unwrap());
        let second = vidage(&mut autre.store.connexion().unwrap());
        assert_eq!(premier.iter().filter(|l| l.starts_with("eleves ")).count(), 2_000);
        if let Some(i) = (0..premier.len().min(second.len())).find(|i| premier[*i] != second[*i]) {
            panic!("première différence :\n{}\n{}", premier[i], second[i]);
        }
        assert_eq!(premier, second);

        // Another seed gives other rows (ids, names, dates), not just another order.
        let troisieme = BaseDeTest::nouvelle(base.store.backend());
        seeder(&troisieme, &parametres(2_000, 43));
        let differente = vidage(&mut troisieme.store.connexion().unwrap());
        let premier: HashSet<&String> = premier.iter().collect();
        let communs = differente.iter().filter(|l| premier.contains(l)).count();
        assert!(communs < differente.len() / 10, "{communs} lignes identiques sur {}", differente.len());
    }

    fn donnees_plausibles(base) {
        let mut conn = base.store.connexion().unwrap();
        assert!(seed::base_vide(&mut conn).unwrap());
        let mut appels = Vec::new();
        let p = parametres(2_000, 7);
        let bilan = seed::generer(&mut conn, &p, &mut |fait, total| appels.push((fait, total))).unwrap();
        assert!(!seed::base_vide(&mut conn).unwrap());
        assert_eq!(appels.last(), Some(&(2_000, 2_000)));
        assert!(appels.windows(2).all(|w| w[0].0 <= w[1].0));

        // A second run refuses a non-empty base and leaves it untouched.
        let avant = vidage(&mut conn);
        assert!(seed::generer(&mut conn, &p, &mut |_, _| {}).is_err());
        assert_eq!(vidage(&mut conn), avant);

        let d = lire(&mut conn);
        assert_eq!(bilan.communes, d.communes.len() as u64);
        assert_eq!(bilan.ecoles, d.ecoles.len() as u64);
        assert_eq!(bilan.eleves, 2_000);
        assert_eq!(bilan.eleves, d.eleves.len() as u64);
        assert_eq!(bilan.responsables, d.responsables.len() as u64);
        assert_eq!(bilan.inscriptions, d.inscriptions.len() as u64);
        assert_eq!(d.communes.len(), 2_000 / 180);
        verifier(&d);
    }

    fn communes_imposees_et_parametres_refuses(base) {
        let mut conn = base.store.connexion().unwrap();
        let refus = |conn: &mut DbConnection, p: ParametresSeed| seed::generer(conn, &p, &mut |_, _| {}).is_err();
        assert!(refus(&mut conn, ParametresSeed { communes: Some(0), ..parametres(10, 1) }));
        assert!(refus(&mut conn, ParametresSeed { rentree: 1900, ..parametres(10, 1) }));
        assert!(refus(&mut conn, ParametresSeed { rentree: 2100, ..parametres(10, 1) }));
        assert!(seed::base_vide(&mut conn).unwrap());

        let p = ParametresSeed { communes: Some(40), ..parametres(300, 5) };
        let bilan = seed::generer(&mut conn, &p, &mut |_, _| {}).unwrap();
        assert_eq!(bilan.communes, 40);
        // Villages of a few pupils each: some have no school and send their pupils to another
        // village of their département; every pupil is schooled all the same (`verifier`).
        let communes_avec_ecole: BTreeSet<String> =
            ecoles::table.select(ecoles::code_commune).load::<String>(&mut conn).unwrap().into_iter().collect();
        assert!((1..=40).contains(&communes_avec_ecole.len()));
        verifier(&lire(&mut conn));
    }
}

/// Every rule the generated rows must satisfy.
fn verifier(d: &Donnees) {
    let annee = AnneeScolaire::depuis_debut(RENTREE).unwrap();
    let annees = [annee.precedente().unwrap(), annee, annee.suivante().unwrap()];

    let mut communes = BTreeSet::new();
    for (code, nom) in &d.communes {
        let insee = CodeInsee::parse(code).unwrap();
        assert!(insee.est_commune_francaise(), "{code}");
        assert!(!nom.is_empty());
        communes.insert(code.clone());
    }

    // Schools: valid UAI in the commune's département, a type teaching every niveau overall.
    let mut ecoles: HashMap<&str, (TypeEcole, &str)> = HashMap::new();
    let mut prives = 0;
    let mut rpi: HashMap<&str, usize> = HashMap::new();
    for (uai, nom, type_ecole, secteur, commune, circo, adresse, r, ouverture, fermeture) in &d.ecoles {
        let uai_ok = Uai::parse(uai).unwrap();
        let commune_ok = CodeInsee::parse(commune).unwrap();
        assert_eq!(
            Some(uai_ok.departement().to_owned()),
            commune_ok.prefixe_uai(),
            "{uai} / {commune}"
        );
        assert!(communes.contains(commune));
        assert!(nom.starts_with("École "), "{nom}");
        let t = TypeEcole::parse(type_ecole).unwrap();
        if Secteur::parse(secteur).unwrap() == Secteur::PriveSousContrat {
            prives += 1;
        }
        assert!(circo.is_some() && adresse.is_some() && ouverture.is_some() && fermeture.is_none());
        if let Some(r) = r {
            *rpi.entry(r.as_str()).or_default() += 1;
        }
        ecoles.insert(uai.as_str(), (t, commune.as_str()));
    }
    assert!(rpi.values().all(|n| (2..=3).contains(n)), "{rpi:?}");
    // Fewer schools than communes at national scale (villages share one), never none.
    assert!(!d.ecoles.is_empty());
    let _ = prives;

    // Pupils.
    let mut naissances: HashMap<&str, (NaiveDate, Option<&str>)> = HashMap::new();
    let (mut sans_ine, mut a_l_etranger) = (0, 0);
    let mut ines = BTreeSet::new();
    for (id, ine, nom, p1, p2, p3, sexe, naissance, lieu, voie, cp, commune, cree, modifie, version, cle, empreinte) in
        &d.eleves
    {
        assert_eq!(*empreinte, None, "le semis n'écrit pas d'empreinte");
        Uuid::parse_str(id).unwrap();
        match ine {
            Some(ine) => {
                Ine::parse_bea(ine).unwrap();
                assert!(ines.insert(ine.clone()), "INE en double {ine}");
            }
            None => sans_ine += 1,
        }
        assert!(!nom.is_empty());
        Prenoms::parse(
            std::iter::once(p1.clone())
                .chain(p2.clone())
                .chain(p3.clone())
                .collect(),
        )
        .unwrap();
        Sexe::parse(sexe).unwrap();
        let lieu = CodeInsee::parse(lieu).unwrap();
        // The duplicate-detection key is the domain's, over the stored fields.
        assert_eq!(
            cle,
            &onde_domain::dossier::cle_doublon(nom, p1, Sexe::parse(sexe).unwrap(), *naissance, &lieu)
        );
        if !lieu.est_commune_francaise() {
            a_l_etranger += 1;
        } else {
            assert!(communes.contains(lieu.as_str()), "{lieu}");
        }
        assert!(voie.is_some());
        let cp = cp.as_deref().unwrap();
        assert!(cp.len() == 5 && cp.bytes().all(|b| b.is_ascii_digit()), "{cp}");
        let commune = commune.as_deref().unwrap();
        assert!(communes.contains(commune));
        assert!(cree <= modifie);
        assert_eq!(*version, 1);
        naissances.insert(id.as_str(), (*naissance, Some(commune)));
    }
    assert!(
        sans_ine > 0 && sans_ine < d.eleves.len() / 20,
        "{sans_ine} élèves sans INE"
    );
    assert!(
        a_l_etranger > 0 && a_l_etranger < d.eleves.len() / 10,
        "{a_l_etranger} nés à l'étranger"
    );

    // Guardians: plausible contact details, shared by siblings, ranked 1..n per pupil.
    for (id, nom, prenom, telephone, courriel, adresse, cree, modifie) in &d.responsables {
        Uuid::parse_str(id).unwrap();
        assert!(!nom.is_empty() && !prenom.is_empty() && adresse.is_some() && cree <= modifie);
        if let Some(t) = telephone {
            assert!(t.len() == 10 && (t.starts_with("06") || t.starts_with("07")), "{t}");
            assert!(t.bytes().all(|b| b.is_ascii_digit()));
        }
        if let Some(c) = courriel {
            assert!(
                c.is_ascii() && c.ends_with("@example.org") && !c.contains(' ') && !c.contains('\''),
                "{c}"
            );
        }
    }
    let mut par_eleve: BTreeMap<&str, Vec<(i32, &str)>> = BTreeMap::new();
    let mut par_responsable: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (eleve, responsable, lien, _, rang) in &d.liens {
        LienResponsable::parse(lien).unwrap();
        par_eleve.entry(eleve).or_default().push((*rang, responsable));
        par_responsable.entry(responsable).or_default().insert(eleve);
    }
    assert_eq!(
        par_eleve.len(),
        d.eleves.len(),
        "chaque élève a au moins un responsable"
    );
    assert_eq!(
        par_responsable.len(),
        d.responsables.len(),
        "chaque responsable a au moins un élève"
    );
    for liens in par_eleve.values_mut() {
        liens.sort();
        let rangs: Vec<i32> = liens.iter().map(|(r, _)| *r).collect();
        assert!(rangs == [1] || rangs == [1, 2], "{rangs:?}");
    }
    let fratries: Vec<_> = par_responsable.values().filter(|e| e.len() >= 2).collect();
    assert!(
        fratries.len() > d.responsables.len() / 10,
        "trop peu de fratries : {}",
        fratries.len()
    );
    for enfants in fratries {
        // Siblings share the very same guardian rows.
        let ensembles: BTreeSet<BTreeSet<&str>> = enfants
            .iter()
            .map(|e| par_eleve[e].iter().map(|(_, r)| *r).collect())
            .collect();
        assert_eq!(
            ensembles.len(),
            1,
            "des frères et sœurs n'ont pas les mêmes responsables"
        );
    }

    // Inscriptions.
    let avec_ecole: BTreeSet<&str> = ecoles.values().map(|(_, c)| *c).collect();
    let a_une_ecole = |commune: &str| avec_ecole.contains(commune);
    let mut statuts = BTreeSet::new();
    let mut provisoire = false;
    let mut actives: HashMap<(&str, &str), u32> = HashMap::new();
    let mut annee_courante: HashMap<&str, u32> = HashMap::new();
    let mut redoublants = 0;
    for (
        id,
        eleve,
        uai,
        annee_texte,
        niveau,
        classe,
        dispositif,
        statut,
        prov,
        inscr,
        adm,
        rad,
        motif,
        cree,
        modifie,
        v,
    ) in &d.inscriptions
    {
        Uuid::parse_str(id).unwrap();
        let a = AnneeScolaire::parse(annee_texte).unwrap();
        assert!(annees.contains(&a), "{a}");
        let n = Niveau::parse(niveau).unwrap();
        let s = StatutInscription::parse(statut).unwrap();
        statuts.insert(s);
        provisoire |= *prov;
        assert!(!*prov || s == StatutInscription::Admis);
        assert_eq!(s == StatutInscription::Radie, rad.is_some());
        assert!(motif.is_none() || s == StatutInscription::Radie);
        if let Some(adm) = adm {
            assert!(inscr <= adm, "{inscr} > {adm}");
        }
        if let Some(rad) = rad {
            assert!(adm.is_none_or(|adm| adm <= *rad));
            assert!(motif.is_some());
        }
        assert!(cree <= modifie && *v == 1);
        if let Some(c) = classe {
            assert!(c.starts_with(niveau.as_str()), "{c}");
        }
        assert!(dispositif.as_deref().is_none_or(|x| x == "ULIS"));

        let (type_ecole, commune_ecole) = ecoles[uai.as_str()];
        assert!(type_ecole.accueille(n), "{uai} ({type_ecole:?}) n'accueille pas {n}");

        // Birth year consistent with niveau, one year of redoublement allowed.
        let (naissance, commune) = naissances[eleve.as_str()];
        let theorique = i32::from(n.annee_naissance_theorique(a));
        assert!(
            naissance.year() == theorique || naissance.year() == theorique - 1,
            "né en {} en {n} pour {a}",
            naissance.year()
        );
        if naissance.year() == theorique - 1 {
            redoublants += 1;
        }
        if a == annee {
            *annee_courante.entry(eleve.as_str()).or_default() += 1;
            // Current-year inscriptions are in the commune of residence or, for a village
            // without a school, in a village of the same département.
            let commune = commune.unwrap_or_default();
            assert!(
                commune_ecole == commune || (!a_une_ecole(commune) && commune_ecole[..2] == commune[..2]),
                "{eleve} habite {commune}, scolarisé à {commune_ecole}"
            );
        }
        if s.est_active() {
            let compte = actives.entry((eleve.as_str(), annee_texte.as_str())).or_default();
            *compte += 1;
            assert_eq!(*compte, 1, "deux inscriptions actives pour {eleve} en {a}");
        }
    }
    assert_eq!(
        statuts,
        StatutInscription::TOUS.into_iter().collect(),
        "statuts manquants"
    );
    assert!(provisoire, "aucune admission provisoire");
    assert!(redoublants > 0, "aucun redoublant");
    assert_eq!(
        annee_courante.len(),
        d.eleves.len(),
        "chaque élève est inscrit l'année en cours"
    );
    let annees_presentes: BTreeSet<&str> = d.inscriptions.iter().map(|i| i.3.as_str()).collect();
    assert_eq!(annees_presentes.len(), 3, "{annees_presentes:?}");
}
