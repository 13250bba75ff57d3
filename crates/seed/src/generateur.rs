//! The generator's state: one seeded random stream, the communes and schools drawn so far, and
//! the buffers of the households not yet written.

use std::collections::HashMap;

use onde_domain::{AnneeScolaire, TypeEcole};
use onde_store::chargement::{Chargement, Foyers, LigneCommune, LigneEcole};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::calendrier::Calendrier;
use crate::error::SeedError;
use crate::parametres::{BilanSeed, ParametresSeed};

/// A commune drawn, with its schools.
pub(crate) struct CommuneSeed {
    pub(crate) code: String,
    pub(crate) nom: String,
    pub(crate) code_postal: String,
    pub(crate) departement: String,
    pub(crate) academie: u8,
    pub(crate) eleves: u32,
    /// Indices into `Generateur::ecoles`: its own schools, or its host village's.
    pub(crate) ecoles: Vec<usize>,
    /// A village without a school of its own: its pupils go to a neighbour's.
    pub(crate) sans_ecole: bool,
}

/// A school drawn: its row and its type.
pub(crate) struct EcoleSeed {
    pub(crate) ligne: LigneEcole,
    pub(crate) type_ecole: TypeEcole,
}

pub(crate) struct Generateur {
    pub(crate) rng: ChaCha8Rng,
    pub(crate) annee: AnneeScolaire,
    pub(crate) rentree: i32,
    pub(crate) cal: Calendrier,
    pub(crate) communes: Vec<CommuneSeed>,
    pub(crate) ecoles: Vec<EcoleSeed>,
    pub(crate) sequences_ine: HashMap<(u8, u8), u32>,
    pub(crate) tampons: Foyers,
    pub(crate) bilan: BilanSeed,
    pub(crate) eleves_generes: u64,
}

impl Generateur {
    pub(crate) fn nouveau(p: &ParametresSeed, annee: AnneeScolaire) -> Result<Self, SeedError> {
        let rentree = i32::from(p.rentree);
        Ok(Self {
            rng: ChaCha8Rng::seed_from_u64(p.graine),
            annee,
            rentree,
            cal: Calendrier::nouveau(rentree)?,
            communes: Vec::new(),
            ecoles: Vec::new(),
            sequences_ine: HashMap::new(),
            tampons: Foyers::default(),
            bilan: BilanSeed::default(),
            eleves_generes: 0,
        })
    }

    pub(crate) fn pour_mille(&mut self, p: u32) -> bool {
        self.rng.random_range(0..1000) < p
    }

    pub(crate) fn uuid(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.rng.random())
            .into_uuid()
            .to_string()
    }

    pub(crate) fn choisir<T: Copy>(&mut self, liste: &[T]) -> T {
        liste[self.rng.random_range(0..liste.len())]
    }

    /// Writes communes and schools.
    pub(crate) fn ecrire_reference(&mut self, chargement: &mut Chargement<'_>) -> Result<(), SeedError> {
        let communes: Vec<LigneCommune> = self
            .communes
            .iter()
            .map(|c| LigneCommune {
                code_insee: c.code.clone(),
                nom: c.nom.clone(),
            })
            .collect();
        let ecoles: Vec<LigneEcole> = self.ecoles.iter().map(|e| e.ligne.clone()).collect();
        chargement.ecrire_reference(&communes, &ecoles)?;
        self.bilan.communes = self.communes.len() as u64;
        self.bilan.ecoles = self.ecoles.len() as u64;
        Ok(())
    }
}
