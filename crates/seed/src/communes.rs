//! Communes and schools: codes drawn in real départements and académies, names from the word
//! lists, about one school per 130 pupils, villages hosted by a neighbour's school, RPIs.

use std::collections::{BTreeMap, HashMap};

use onde_domain::{CodeInsee, Secteur, TypeEcole, Uai};
use onde_store::chargement::LigneEcole;
use rand::Rng;

use crate::calendrier::date;
use crate::error::SeedError;
use crate::generateur::{CommuneSeed, EcoleSeed, Generateur};
use crate::listes::{
    COMMUNES_BASES, COMMUNES_SUFFIXES, ECOLES_LIEUX, ECOLES_PATRONS, ECOLES_PRIVEES, SAINTS, VOIES_NOMS, VOIES_TYPES,
};
use crate::parametres::{generation, ELEVES_PAR_ECOLE, ELEVES_VILLAGE_SANS_ECOLE, POUR_MILLE_SANS_ECOLE};

pub(crate) struct Departement {
    pub(crate) code: String,
    pub(crate) academie: u8,
    /// Commune numbers available: 1..=999 in metropolitan France, 1..=99 overseas.
    pub(crate) numeros: u16,
    pris: Vec<bool>,
    libres: u16,
}

/// Académie code of a metropolitan département (0 when unknown: a bug, caught by a test).
fn academie_metropole(dep: u8) -> u8 {
    match dep {
        75 => 1,
        4 | 5 | 13 | 84 => 2,
        25 | 39 | 70 | 90 => 3,
        24 | 33 | 40 | 47 | 64 => 4,
        14 | 50 | 61 => 5,
        3 | 15 | 43 | 63 => 6,
        21 | 58 | 71 | 89 => 7,
        7 | 26 | 38 | 73 | 74 => 8,
        59 | 62 => 9,
        1 | 42 | 69 => 10,
        11 | 30 | 34 | 48 | 66 => 11,
        54 | 55 | 57 | 88 => 12,
        16 | 17 | 79 | 86 => 13,
        22 | 29 | 35 | 56 => 14,
        67 | 68 => 15,
        9 | 12 | 31 | 32 | 46 | 65 | 81 | 82 => 16,
        44 | 49 | 53 | 72 | 85 => 17,
        18 | 28 | 36 | 37 | 41 | 45 => 18,
        8 | 10 | 51 | 52 => 19,
        2 | 60 | 80 => 20,
        27 | 76 => 21,
        19 | 23 | 87 => 22,
        6 | 83 => 23,
        77 | 93 | 94 => 24,
        78 | 91 | 92 | 95 => 25,
        _ => 0,
    }
}

pub(crate) fn departements() -> Vec<Departement> {
    let metropole = (1u8..=95)
        .filter(|d| *d != 20)
        .map(|d| (format!("{d:02}"), academie_metropole(d), 999u16));
    let corse = [("2A", 27u8), ("2B", 27)].map(|(c, a)| (c.to_owned(), a, 999));
    let outre_mer =
        [("971", 32u8), ("972", 31), ("973", 33), ("974", 28), ("976", 43)].map(|(c, a)| (c.to_owned(), a, 99));
    metropole
        .chain(corse)
        .chain(outre_mer)
        .map(|(code, academie, numeros)| Departement {
            code,
            academie,
            numeros,
            pris: vec![false; usize::from(numeros) + 1],
            libres: numeros,
        })
        .collect()
}

impl Generateur {
    /// Communes in decreasing size (Zipf-like: weight 1/(k+3) for the k-th, so a few big
    /// towns and a long tail of villages), with codes drawn in random départements.
    pub(crate) fn communes(&mut self, nombre: u32, eleves: u32) -> Result<(), SeedError> {
        let mut deps = departements();
        // Integer weights keep the split identical on every platform.
        let poids: Vec<u128> = (0..u128::from(nombre)).map(|k| 1_000_000_000 / (k + 3)).collect();
        let somme: u128 = poids.iter().sum();
        let mut parts: Vec<u32> = poids
            .iter()
            .map(|w| u32::try_from(u128::from(eleves) * w / somme).unwrap_or(0))
            .collect();
        let reste = eleves - parts.iter().sum::<u32>();
        for part in parts.iter_mut().take(reste as usize) {
            *part += 1;
        }
        self.communes.reserve(parts.len());
        for part in parts {
            // Overseas départements are smaller: draw them less often.
            let mut d = self.rng.random_range(0..deps.len());
            if deps[d].numeros < 999 && self.pour_mille(700) {
                d = self.rng.random_range(0..deps.len());
            }
            while deps[d].libres == 0 {
                d = (d + 1) % deps.len();
            }
            let dep = &mut deps[d];
            let mut n = self.rng.random_range(1..=dep.numeros);
            while dep.pris[usize::from(n)] {
                n = n % dep.numeros + 1;
            }
            dep.pris[usize::from(n)] = true;
            dep.libres -= 1;
            let (code, code_postal) = if dep.numeros == 999 {
                let cp = match dep.code.as_str() {
                    "2A" => format!("201{:02}", self.rng.random_range(0..100)),
                    "2B" => format!("202{:02}", self.rng.random_range(0..100)),
                    c => format!("{c}{:03}", self.rng.random_range(0..100) * 10),
                };
                (format!("{}{n:03}", dep.code), cp)
            } else {
                (
                    format!("{}{n:02}", dep.code),
                    format!("{}{:02}", dep.code, self.rng.random_range(0..100)),
                )
            };
            let code = CodeInsee::parse(&code).map_err(generation)?;
            let (departement, academie) = (dep.code.clone(), dep.academie);
            let nom = self.nom_commune();
            self.communes.push(CommuneSeed {
                code: code.as_str().to_owned(),
                nom,
                code_postal,
                departement,
                academie,
                eleves: part,
                ecoles: Vec::new(),
                sans_ecole: false,
            });
        }
        Ok(())
    }

    fn nom_commune(&mut self) -> String {
        let base = if self.pour_mille(200) {
            format!("Saint-{}", self.choisir(&SAINTS))
        } else {
            self.choisir(&COMMUNES_BASES).to_owned()
        };
        format!("{base}{}", self.choisir(&COMMUNES_SUFFIXES))
    }

    /// About one school per 130 pupils; a commune with one school gets a primaire, larger
    /// ones a maternelle, an élémentaire and a mix. Most small villages have no school: their
    /// pupils go to a neighbouring village's (a regroupement), which is how France has 48,000
    /// schools for 35,000 communes (DOMAIN.md), and how a mairie comes to have pupils living
    /// in its commune but schooled in another.
    pub(crate) fn ecoles(&mut self) -> Result<(), SeedError> {
        let mut sequences_uai: HashMap<String, (u32, u32)> = HashMap::new();
        let mut chefs_lieux: HashMap<String, String> = HashMap::new();
        // The last village of each département with a school of its own: the next small
        // villages without one send their pupils there.
        let mut hotes: HashMap<String, usize> = HashMap::new();
        for c in 0..self.communes.len() {
            let (eleves, departement) = (self.communes[c].eleves, self.communes[c].departement.clone());
            if eleves < ELEVES_VILLAGE_SANS_ECOLE {
                if let Some(&hote) = hotes.get(&departement) {
                    if self.pour_mille(POUR_MILLE_SANS_ECOLE) {
                        self.communes[c].ecoles = self.communes[hote].ecoles.clone();
                        self.communes[c].sans_ecole = true;
                        continue;
                    }
                }
                hotes.insert(departement, c);
            }
            let (nb, code, nom, departement) = {
                let commune = &self.communes[c];
                let nb = (commune.eleves / ELEVES_PAR_ECOLE).max(1);
                (
                    nb,
                    commune.code.clone(),
                    commune.nom.clone(),
                    commune.departement.clone(),
                )
            };
            // Communes come largest first: the first of a département names its circonscriptions.
            let chef_lieu = chefs_lieux.entry(departement).or_insert_with(|| nom.clone()).clone();
            let prefixe = CodeInsee::parse(&code)
                .map_err(generation)?
                .prefixe_uai()
                .ok_or_else(|| SeedError::Generation(format!("commune {code} sans département")))?;
            let base_uai: u32 = prefixe
                .parse()
                .map_err(|_| SeedError::Generation(format!("préfixe UAI illisible : {prefixe}")))?;
            let orientation = self.choisir(&["", "", " Nord", " Sud", " Est", " Ouest"]);
            for i in 0..nb {
                let (type_ecole, secteur) = match (nb, i) {
                    (1, _) => (TypeEcole::Primaire, Secteur::Public),
                    (_, 0) => (TypeEcole::Maternelle, Secteur::Public),
                    (_, 1) => (TypeEcole::Elementaire, Secteur::Public),
                    _ => {
                        let prive = nb >= 3 && self.pour_mille(200);
                        let t = match self.rng.random_range(0..100) {
                            _ if prive && self.pour_mille(700) => TypeEcole::Primaire,
                            0..35 => TypeEcole::Maternelle,
                            35..70 => TypeEcole::Elementaire,
                            _ => TypeEcole::Primaire,
                        };
                        (
                            t,
                            if prive {
                                Secteur::PriveSousContrat
                            } else {
                                Secteur::Public
                            },
                        )
                    }
                };
                let sequence = sequences_uai.entry(prefixe.clone()).or_insert((0, 0));
                if sequence.1 == 0 {
                    sequence.0 = self.rng.random_range(0..5_000);
                }
                if sequence.1 >= 10_000 {
                    return Err(SeedError::Generation(format!(
                        "plus de 10 000 écoles dans le département {prefixe} : augmenter le nombre de communes"
                    )));
                }
                let numero = base_uai * 10_000 + (sequence.0 + sequence.1) % 10_000;
                sequence.1 += 1;
                let uai = Uai::depuis_numero(numero).map_err(generation)?;
                let circonscription = if nb >= 15 {
                    format!("{nom} {}", i / 15 + 1)
                } else {
                    format!("{chef_lieu}{orientation}")
                };
                let ligne = LigneEcole {
                    uai: uai.as_str().to_owned(),
                    nom: self.nom_ecole(type_ecole, secteur, &nom, nb == 1),
                    type_ecole: type_ecole.as_str().to_owned(),
                    secteur: secteur.as_str().to_owned(),
                    code_commune: code.clone(),
                    circonscription: Some(circonscription),
                    adresse: Some(self.voie()),
                    rpi: None,
                    date_ouverture: Some(date(self.rng.random_range(1880..=self.rentree - 2), 9, 1)?),
                    date_fermeture: None,
                };
                self.communes[c].ecoles.push(self.ecoles.len());
                self.ecoles.push(EcoleSeed { ligne, type_ecole });
            }
        }
        self.rpi();
        Ok(())
    }

    /// Groups some single-school villages of a département into RPIs of 2 or 3 schools.
    fn rpi(&mut self) {
        let mut villages: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for c in self.communes.iter().filter(|c| !c.sans_ecole) {
            if let [e] = c.ecoles[..] {
                villages.entry(c.departement.as_str()).or_default().push(e);
            }
        }
        let mut numero = 0u32;
        let mut groupes = Vec::new();
        for ecoles in villages.values() {
            let mut i = 0;
            while i + 1 < ecoles.len() {
                if self.rng.random_range(0..1000) < 120 {
                    let taille = self.rng.random_range(2..=3).min(ecoles.len() - i);
                    numero += 1;
                    groupes.push((format!("RPI-{numero:04}"), ecoles[i..i + taille].to_vec()));
                    i += taille;
                } else {
                    i += 1;
                }
            }
        }
        for (id, membres) in groupes {
            for e in membres {
                self.ecoles[e].ligne.rpi = Some(id.clone());
            }
        }
    }

    fn nom_ecole(&mut self, t: TypeEcole, secteur: Secteur, commune: &str, village: bool) -> String {
        let libelle = match t {
            TypeEcole::Maternelle => "maternelle",
            TypeEcole::Elementaire => "élémentaire",
            TypeEcole::Primaire => "primaire",
        };
        let nom = if secteur == Secteur::PriveSousContrat {
            self.choisir(&ECOLES_PRIVEES).to_owned()
        } else if village && self.pour_mille(300) {
            format!("de {commune}")
        } else if self.pour_mille(350) {
            self.choisir(&ECOLES_LIEUX).to_owned()
        } else {
            self.choisir(&ECOLES_PATRONS).to_owned()
        };
        format!("École {libelle} {nom}")
    }

    pub(crate) fn voie(&mut self) -> String {
        let numero = self.rng.random_range(1..=120);
        let bis = if self.pour_mille(40) { " bis" } else { "" };
        format!(
            "{numero}{bis} {} {}",
            self.choisir(&VOIES_TYPES),
            self.choisir(&VOIES_NOMS)
        )
    }
}
