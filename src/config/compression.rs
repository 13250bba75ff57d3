//! `[serveur.compression]`: which codings the gateway offers, from what size, at what level
//! (the middleware is crates/api/src/middleware/compression.rs; the levels were chosen by
//! measurement, docs/BENCHMARKS.md "Issue 18, item 3").

use anyhow::bail;
use onde_api::http::compresseur::{Codage, Niveaux};
use onde_api::middleware::compression::ConfigCompression;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Compression {
    /// Codings offered, the preferred first among those a client rates alike (`[]`: none).
    pub codages: Vec<String>,
    /// Smallest body compressed, in bytes (below, the coding costs more than it saves).
    pub seuil_octets: usize,
    pub niveau_gzip: u32,
    pub niveau_zstd: i32,
    pub niveau_brotli: u32,
}

impl Default for Compression {
    fn default() -> Self {
        let d = ConfigCompression::default();
        Self {
            codages: d.codages.iter().map(|c| c.nom().to_owned()).collect(),
            seuil_octets: d.seuil_octets,
            niveau_gzip: d.niveaux.gzip,
            niveau_zstd: d.niveaux.zstd,
            niveau_brotli: d.niveaux.brotli,
        }
    }
}

impl Compression {
    /// Checked: known codings, each once; levels within what each codec takes.
    pub fn resoudre(&self) -> anyhow::Result<ConfigCompression> {
        let mut codages = Vec::new();
        for nom in &self.codages {
            let Some(c) = Codage::depuis_nom(nom) else {
                bail!("serveur.compression.codages : « {nom} » n'est pas zstd, br ni gzip");
            };
            if codages.contains(&c) {
                bail!("serveur.compression.codages : « {nom} » est cité deux fois");
            }
            codages.push(c);
        }
        if !(1..=9).contains(&self.niveau_gzip) {
            bail!(
                "serveur.compression.niveau_gzip vaut de 1 à 9, pas {}",
                self.niveau_gzip
            );
        }
        if !(-7..=19).contains(&self.niveau_zstd) || self.niveau_zstd == 0 {
            bail!(
                "serveur.compression.niveau_zstd vaut de -7 à 19 (sauf 0), pas {}",
                self.niveau_zstd
            );
        }
        if self.niveau_brotli > 11 {
            bail!(
                "serveur.compression.niveau_brotli vaut de 0 à 11, pas {}",
                self.niveau_brotli
            );
        }
        if self.seuil_octets > 1024 * 1024 {
            bail!(
                "serveur.compression.seuil_octets vaut au plus 1048576, pas {}",
                self.seuil_octets
            );
        }
        Ok(ConfigCompression {
            seuil_octets: self.seuil_octets,
            codages,
            niveaux: Niveaux {
                gzip: self.niveau_gzip,
                zstd: self.niveau_zstd,
                brotli: self.niveau_brotli,
            },
        })
    }
}
