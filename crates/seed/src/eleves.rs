//! Pupils and their guardians, household by household: names, first names, births, INEs,
//! contact details, and the links between them.

use chrono::{NaiveDateTime, NaiveTime};
use onde_domain::{CodeInsee, Ine, LienResponsable, Niveau, Sexe};
use onde_store::chargement::{LigneEleve, LigneLien, LigneResponsable};
use rand::Rng;

use crate::calendrier::{date, Periode};
use crate::error::SeedError;
use crate::generateur::Generateur;
use crate::listes::{NOMS, PAYS, PRENOMS_F, PRENOMS_M};
use crate::parametres::generation;

/// A guardian of the household being generated.
struct Adulte {
    id: String,
    nom: String,
    prenom: String,
    lien: LienResponsable,
    autorite: bool,
}

impl Generateur {
    /// Generates the next household of commune `c`, at most `restants` children; returns
    /// the number of children.
    pub(crate) fn foyer_suivant(&mut self, c: usize, restants: u32) -> Result<u32, SeedError> {
        let enfants = self.nombre_enfants().min(restants);
        self.foyer(c, enfants)?;
        Ok(enfants)
    }

    /// 1, 2 or 3 children (45/40/15 %).
    fn nombre_enfants(&mut self) -> u32 {
        match self.rng.random_range(0..100) {
            0..45 => 1,
            45..85 => 2,
            _ => 3,
        }
    }

    fn nom_famille(&mut self) -> String {
        if self.pour_mille(50) {
            let (a, b) = (self.choisir(&NOMS), self.choisir(&NOMS));
            if a != b && !a.contains([' ', '-', '\'']) && !b.contains([' ', '-', '\'']) {
                return format!("{a}-{b}");
            }
        }
        self.choisir(&NOMS).to_owned()
    }

    fn prenom(&mut self, sexe: Sexe) -> &'static str {
        match sexe {
            Sexe::Feminin => self.choisir(&PRENOMS_F),
            Sexe::Masculin => self.choisir(&PRENOMS_M),
        }
    }

    fn sexe(&mut self) -> Sexe {
        if self.rng.random::<bool>() {
            Sexe::Feminin
        } else {
            Sexe::Masculin
        }
    }

    /// One household: its guardians, its `enfants` children and their inscriptions.
    fn foyer(&mut self, c: usize, enfants: u32) -> Result<(), SeedError> {
        let nom_famille = self.nom_famille();
        let voie = self.voie();
        let (code_commune, code_postal) = (self.communes[c].code.clone(), self.communes[c].code_postal.clone());
        let adresse = format!("{voie}, {code_postal} {}", self.communes[c].nom);

        let liens: &[LienResponsable] = if self.pour_mille(850) {
            match self.rng.random_range(0..100) {
                0..94 => &[LienResponsable::Mere, LienResponsable::Pere],
                94..97 => &[LienResponsable::Mere, LienResponsable::Autre],
                _ => &[LienResponsable::Tuteur, LienResponsable::Tuteur],
            }
        } else {
            match self.rng.random_range(0..100) {
                0..80 => &[LienResponsable::Mere],
                80..95 => &[LienResponsable::Pere],
                _ => &[LienResponsable::Tuteur],
            }
        };
        let mut adultes = Vec::with_capacity(liens.len());
        for &lien in liens {
            let (sexe, nom) = match lien {
                LienResponsable::Pere => (Sexe::Masculin, nom_famille.clone()),
                LienResponsable::Mere if self.pour_mille(650) => (Sexe::Feminin, nom_famille.clone()),
                LienResponsable::Mere => (Sexe::Feminin, self.nom_famille()),
                _ => {
                    let sexe = self.sexe();
                    let nom = if self.pour_mille(500) {
                        nom_famille.clone()
                    } else {
                        self.nom_famille()
                    };
                    (sexe, nom)
                }
            };
            let autorite = match lien {
                LienResponsable::Mere | LienResponsable::Pere => self.pour_mille(980),
                LienResponsable::Tuteur => true,
                LienResponsable::Autre => self.pour_mille(300),
            };
            adultes.push(Adulte {
                id: self.uuid(),
                nom,
                prenom: self.prenom(sexe).to_owned(),
                lien,
                autorite,
            });
        }
        // Children carry the father's name, sometimes joined to the mother's.
        let nom_enfants = match (adultes.first(), adultes.get(1)) {
            (Some(m), Some(p)) if m.lien == LienResponsable::Mere && p.lien == LienResponsable::Pere => {
                if m.nom != p.nom && self.pour_mille(200) {
                    format!("{}-{}", p.nom, m.nom)
                } else {
                    p.nom.clone()
                }
            }
            (Some(a), _) if matches!(a.lien, LienResponsable::Mere | LienResponsable::Pere) => a.nom.clone(),
            _ => nom_famille.clone(),
        };

        let mut premier_cree: Option<NaiveDateTime> = None;
        let mut ecole_fratrie: Option<usize> = None;
        for _ in 0..enfants {
            let id = self.uuid();
            let (cree_le, ecole) =
                self.enfant(c, &id, &nom_enfants, &voie, &code_postal, &code_commune, ecole_fratrie)?;
            ecole_fratrie = Some(ecole);
            premier_cree = Some(premier_cree.map_or(cree_le, |p| p.min(cree_le)));
            for (rang, a) in (1..).zip(&adultes) {
                self.tampons.liens.push(LigneLien {
                    eleve_id: id.clone(),
                    responsable_id: a.id.clone(),
                    lien: a.lien.as_str().to_owned(),
                    autorite_parentale: a.autorite,
                    rang,
                });
            }
        }
        let cree_le = premier_cree.unwrap_or_else(|| self.cal.rentree.and_time(NaiveTime::MIN));
        for a in adultes {
            let telephone = self.pour_mille(920).then(|| {
                let prefixe = if self.pour_mille(700) { "06" } else { "07" };
                format!("{prefixe}{:08}", self.rng.random_range(0..100_000_000))
            });
            let courriel = self.pour_mille(800).then(|| {
                let suffixe = if self.pour_mille(300) {
                    self.rng.random_range(1..100).to_string()
                } else {
                    String::new()
                };
                format!(
                    "{}.{}{suffixe}@example.org",
                    ascii_courriel(&a.prenom),
                    ascii_courriel(&a.nom)
                )
            });
            self.tampons.responsables.push(LigneResponsable {
                id: a.id,
                nom: a.nom,
                prenom: a.prenom,
                telephone,
                courriel,
                adresse: Some(adresse.clone()),
                cree_le,
                modifie_le: cree_le,
            });
        }
        Ok(())
    }

    /// TPS is rare (2 %); the other niveaux are equally likely.
    fn niveau(&mut self) -> Niveau {
        let r = self.rng.random_range(0..1000usize);
        if r < 20 {
            Niveau::Tps
        } else {
            Niveau::TOUS[1 + (r - 20) * 8 / 980]
        }
    }

    /// A definitive INE-BEA: académie of the commune, year of first schooling, next sequence.
    fn ine(&mut self, academie: u8, premiere_annee: i32) -> Result<Ine, SeedError> {
        let an = u8::try_from(premiere_annee.rem_euclid(100)).unwrap_or(0);
        // A bucket full (a million pupils of one académie and year) spills into the next code.
        for decalage in 0..100u8 {
            let aca = (academie + decalage) % 100;
            if !self.sequences_ine.contains_key(&(aca, an)) {
                // Start each (académie, year) series somewhere in its range, like real numbers.
                let debut = self.rng.random_range(0..200_000);
                self.sequences_ine.insert((aca, an), debut);
            }
            let sequence = self.sequences_ine.entry((aca, an)).or_insert(0);
            if *sequence <= 999_999 {
                let ine = Ine::bea(aca, an, *sequence).map_err(generation)?;
                *sequence += 1;
                return Ok(ine);
            }
        }
        Err(SeedError::Generation("plus de numéros d'INE disponibles".into()))
    }

    /// One pupil and their inscriptions; returns the pupil's creation time and current school.
    #[allow(clippy::too_many_arguments)]
    fn enfant(
        &mut self,
        c: usize,
        id: &str,
        nom: &str,
        voie: &str,
        code_postal: &str,
        code_commune: &str,
        ecole_fratrie: Option<usize>,
    ) -> Result<(NaiveDateTime, usize), SeedError> {
        let sexe = self.sexe();
        let mut prenoms: Vec<&'static str> = vec![self.prenom(sexe)];
        let nombre = match self.rng.random_range(0..100) {
            0..45 => 1,
            45..85 => 2,
            _ => 3,
        };
        for _ in 1..nombre {
            let mut p = self.prenom(sexe);
            for _ in 0..4 {
                if !prenoms.contains(&p) {
                    break;
                }
                p = self.prenom(sexe);
            }
            if !prenoms.contains(&p) {
                prenoms.push(p);
            }
        }

        let niveau = self.niveau();
        let redoublant = niveau >= Niveau::Cp && self.pour_mille(30);
        let annee_naissance = i32::from(niveau.annee_naissance_theorique(self.annee)) - i32::from(redoublant);
        let debut = date(annee_naissance, 1, 1)?;
        let naissance = Periode::entre(debut, date(annee_naissance, 12, 31)?).tirer(&mut self.rng);

        let ine = if self.pour_mille(10) {
            None
        } else {
            let entree = annee_naissance + if niveau == Niveau::Tps { 2 } else { 3 };
            Some(self.ine(self.communes[c].academie, entree.min(self.rentree))?)
        };
        let lieu_naissance = if self.pour_mille(30) {
            self.choisir(&PAYS).to_owned()
        } else if self.pour_mille(600) {
            code_commune.to_owned()
        } else {
            let autre = self.rng.random_range(0..self.communes.len());
            self.communes[autre].code.clone()
        };

        let (cree_le, ecole) = self.inscriptions(c, id, niveau, redoublant, ecole_fratrie)?;
        let lieu = CodeInsee::parse(&lieu_naissance).map_err(generation)?;
        let cle_doublon = onde_domain::dossier::cle_doublon(nom, prenoms[0], sexe, naissance, &lieu);
        self.tampons.eleves.push(LigneEleve {
            id: id.to_owned(),
            ine: ine.map(|i| i.as_str().to_owned()),
            nom: nom.to_owned(),
            prenom1: prenoms[0].to_owned(),
            prenom2: prenoms.get(1).map(|p| (*p).to_owned()),
            prenom3: prenoms.get(2).map(|p| (*p).to_owned()),
            sexe: sexe.as_str().to_owned(),
            date_naissance: naissance,
            lieu_naissance,
            adresse_voie: Some(voie.to_owned()),
            adresse_code_postal: Some(code_postal.to_owned()),
            adresse_commune: Some(code_commune.to_owned()),
            cree_le,
            modifie_le: cree_le,
            version: 1,
            cle_doublon,
        });
        self.eleves_generes += 1;
        Ok((cree_le, ecole))
    }
}

/// Lower-case ASCII for an e-mail local part: accents stripped, spaces and apostrophes dropped.
pub(crate) fn ascii_courriel(s: &str) -> String {
    let mut sortie = String::with_capacity(s.len());
    for ch in s.chars().flat_map(char::to_lowercase) {
        match ch {
            'a'..='z' | '0'..='9' | '-' => sortie.push(ch),
            'à' | 'â' | 'ä' | 'á' => sortie.push('a'),
            'é' | 'è' | 'ê' | 'ë' => sortie.push('e'),
            'î' | 'ï' | 'í' => sortie.push('i'),
            'ô' | 'ö' | 'ó' => sortie.push('o'),
            'ù' | 'û' | 'ü' | 'ú' => sortie.push('u'),
            'ç' => sortie.push('c'),
            'ÿ' => sortie.push('y'),
            'ñ' => sortie.push('n'),
            'œ' => sortie.push_str("oe"),
            'æ' => sortie.push_str("ae"),
            _ => {}
        }
    }
    sortie
}
