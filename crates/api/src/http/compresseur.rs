//! The content codings this gateway can apply to an answer (zstd, brotli, gzip) at the levels
//! the configuration sets: a whole body at once ([`compresser`]), or a streamed body chunk by
//! chunk ([`FluxCompresse`], for CSV exports) with bounded memory: each chunk is compressed and
//! flushed as it comes, so that nothing but the compressor's own window is kept.
//! [`crate::middleware::compression`] decides when; this module only knows how.

use std::future::Future;
use std::io::{self, Write};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::web::Bytes;
use flate2::write::GzEncoder;
use tokio::task::JoinHandle;

/// A chunk larger than this is compressed on the blocking pool, not on the async worker that
/// serves other connections meanwhile (64 KiB take well under a millisecond at the levels
/// chosen; a page of 1,000 rows takes several).
pub const EN_PLACE_MAX: usize = 64 * 1024;

/// A content coding, in the order this gateway prefers them when the client rates several
/// alike: zstd gives the smallest bodies for the least CPU, brotli at a low quality is close,
/// gzip is what every client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codage {
    Zstd,
    Brotli,
    Gzip,
}

impl Codage {
    pub const TOUS: [Codage; 3] = [Codage::Zstd, Codage::Brotli, Codage::Gzip];

    /// The token of `Content-Encoding` (and of the ETag suffix).
    pub fn nom(self) -> &'static str {
        match self {
            Codage::Zstd => "zstd",
            Codage::Brotli => "br",
            Codage::Gzip => "gzip",
        }
    }

    pub fn depuis_nom(nom: &str) -> Option<Codage> {
        Codage::TOUS
            .into_iter()
            .find(|c| c.nom().eq_ignore_ascii_case(nom.trim()))
    }
}

/// Compression level of each coding (see docs/BENCHMARKS.md, "Issue 18, item 3", for how they
/// were chosen: CPU per 1,000-row page against bytes saved, on 2 cores).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Niveaux {
    /// 1 (fastest) to 9.
    pub gzip: u32,
    /// 1 to 19 (negative levels are zstd's faster modes, down to -7).
    pub zstd: i32,
    /// 0 to 11.
    pub brotli: u32,
}

impl Default for Niveaux {
    fn default() -> Self {
        // Measured on a 1,000-row page (510 KB): zstd 1 gives 1/6.3 for 1 ms of CPU, brotli 1
        // 1/5.7 for 1.7 ms, gzip 2 (zlib-rs) 1/5.1 for 2.3 ms (gzip 1: 1/3.8; gzip 3: 1/5.4 for
        // 2.7 ms). docs/BENCHMARKS.md, "Issue 18, item 3".
        Self {
            gzip: 2,
            zstd: 1,
            brotli: 1,
        }
    }
}

/// Brotli's window (log2 of its size): 4 MiB, enough for any page.
const BROTLI_FENETRE: u32 = 22;
/// Brotli's internal buffer when streaming.
const BROTLI_TAMPON: usize = 16 * 1024;

/// One compressor writing into memory that [`Encodeur::prendre`] empties.
pub enum Encodeur {
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
    Gzip(GzEncoder<Vec<u8>>),
}

impl Encodeur {
    pub fn nouveau(codage: Codage, niveaux: Niveaux, capacite: usize) -> io::Result<Self> {
        let tampon = Vec::with_capacity(capacite);
        Ok(match codage {
            Codage::Zstd => Encodeur::Zstd(zstd::stream::write::Encoder::new(tampon, niveaux.zstd)?),
            Codage::Brotli => Encodeur::Brotli(Box::new(brotli::CompressorWriter::new(
                tampon,
                BROTLI_TAMPON,
                niveaux.brotli,
                BROTLI_FENETRE,
            ))),
            Codage::Gzip => Encodeur::Gzip(GzEncoder::new(tampon, flate2::Compression::new(niveaux.gzip))),
        })
    }

    fn ecrivain(&mut self) -> &mut dyn Write {
        match self {
            Encodeur::Zstd(e) => e,
            Encodeur::Brotli(e) => e.as_mut(),
            Encodeur::Gzip(e) => e,
        }
    }

    fn sortie(&mut self) -> &mut Vec<u8> {
        match self {
            Encodeur::Zstd(e) => e.get_mut(),
            Encodeur::Brotli(e) => e.get_mut(),
            Encodeur::Gzip(e) => e.get_mut(),
        }
    }

    /// Compresses `morceau` and flushes, so that the client can decode everything sent so far
    /// (a CSV export's rows reach it as they are read); returns what is ready to send.
    pub fn ecrire_et_vider(&mut self, morceau: &[u8]) -> io::Result<Bytes> {
        let e = self.ecrivain();
        e.write_all(morceau)?;
        e.flush()?;
        Ok(self.prendre())
    }

    /// What the compressor has produced so far.
    pub fn prendre(&mut self) -> Bytes {
        Bytes::from(std::mem::take(self.sortie()))
    }

    /// Ends the stream (trailer, checksum); returns the last bytes.
    pub fn finir(self) -> io::Result<Bytes> {
        let fin = match self {
            Encodeur::Zstd(e) => e.finish()?,
            Encodeur::Brotli(e) => e.into_inner(),
            Encodeur::Gzip(e) => e.finish()?,
        };
        Ok(Bytes::from(fin))
    }
}

/// The tag of the representation coded with `codage`: a strong tag gets the coding as suffix
/// (`"v3"` → `"v3-gzip"`); a weak tag may be shared by both representations (RFC 9110 §8.8.1).
pub fn etiquette(etag: &str, codage: Codage) -> String {
    match etag.strip_suffix('"') {
        Some(debut) if !etag.starts_with("W/") && debut.starts_with('"') => format!("{debut}-{}\"", codage.nom()),
        _ => etag.to_owned(),
    }
}

/// `"v3-gzip"` → `"v3"`: an entity tag this gateway issued, without its coding suffix.
pub fn sans_suffixe(etag: &str) -> std::borrow::Cow<'_, str> {
    for c in Codage::TOUS {
        if let Some(debut) = etag.strip_suffix(&format!("-{}\"", c.nom())) {
            return format!("{debut}\"").into();
        }
    }
    etag.into()
}

/// A whole body, compressed at once.
pub fn compresser(codage: Codage, niveaux: Niveaux, corps: &[u8]) -> io::Result<Bytes> {
    if codage == Codage::Zstd {
        // One frame with its content size, without the streaming state.
        return zstd::bulk::compress(corps, niveaux.zstd).map(Bytes::from);
    }
    let mut e = Encodeur::nouveau(codage, niveaux, corps.len() / 4)?;
    e.ecrivain().write_all(corps)?;
    e.finir()
}

/// A streamed body (a CSV export) compressed chunk by chunk; a large chunk is compressed on the
/// blocking pool. Memory: one chunk in, its compressed form out, the compressor's window.
pub struct FluxCompresse {
    corps: BoxBody,
    encodeur: Option<Encodeur>,
    tache: Option<JoinHandle<io::Result<(Encodeur, Bytes)>>>,
    fini: bool,
}

impl FluxCompresse {
    pub fn new(corps: BoxBody, encodeur: Encodeur) -> Self {
        Self {
            corps,
            encodeur: Some(encodeur),
            tache: None,
            fini: false,
        }
    }
}

fn perdu() -> io::Error {
    io::Error::other("compresseur perdu")
}

impl MessageBody for FluxCompresse {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        loop {
            if let Some(tache) = this.tache.as_mut() {
                let fait = ready!(Pin::new(tache).poll(cx));
                this.tache = None;
                let (encodeur, sortie) = fait.map_err(io::Error::other)??;
                this.encodeur = Some(encodeur);
                if !sortie.is_empty() {
                    return Poll::Ready(Some(Ok(sortie)));
                }
            }
            if this.fini {
                return Poll::Ready(None);
            }
            match ready!(Pin::new(&mut this.corps).poll_next(cx)) {
                Some(Ok(morceau)) => {
                    let mut encodeur = this.encodeur.take().ok_or_else(perdu)?;
                    if morceau.len() > EN_PLACE_MAX {
                        this.tache = Some(tokio::task::spawn_blocking(move || {
                            let sortie = encodeur.ecrire_et_vider(&morceau)?;
                            Ok((encodeur, sortie))
                        }));
                        continue;
                    }
                    let sortie = encodeur.ecrire_et_vider(&morceau)?;
                    this.encodeur = Some(encodeur);
                    if !sortie.is_empty() {
                        return Poll::Ready(Some(Ok(sortie)));
                    }
                }
                // The stream failed (the export was cut short): the client sees a truncated
                // transfer, as without compression.
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {
                    this.fini = true;
                    let fin = this.encodeur.take().ok_or_else(perdu)?.finir()?;
                    if !fin.is_empty() {
                        return Poll::Ready(Some(Ok(fin)));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn decoder(codage: Codage, octets: &[u8]) -> Vec<u8> {
        let mut sortie = Vec::new();
        match codage {
            Codage::Zstd => sortie = zstd::stream::decode_all(octets).unwrap(),
            Codage::Brotli => {
                brotli::Decompressor::new(octets, 4096)
                    .read_to_end(&mut sortie)
                    .unwrap();
            }
            Codage::Gzip => {
                flate2::read::GzDecoder::new(octets).read_to_end(&mut sortie).unwrap();
            }
        }
        sortie
    }

    #[test]
    fn entier_et_par_morceaux_se_decodent() {
        let texte: Vec<u8> = (0..5000)
            .flat_map(|i| format!("{{\"ligne\":{i},\"nom\":\"Morel\"}},").into_bytes())
            .collect();
        for codage in Codage::TOUS {
            let entier = compresser(codage, Niveaux::default(), &texte).unwrap();
            assert!(entier.len() * 5 < texte.len(), "{codage:?} : {}", entier.len());
            assert_eq!(decoder(codage, &entier), texte);
            let mut e = Encodeur::nouveau(codage, Niveaux::default(), 0).unwrap();
            let mut flux = Vec::new();
            for morceau in texte.chunks(7000) {
                let sortie = e.ecrire_et_vider(morceau).unwrap();
                // Flushed: what was sent so far decodes to a prefix (checked on the whole below).
                assert!(!sortie.is_empty());
                flux.extend_from_slice(&sortie);
            }
            flux.extend_from_slice(&e.finir().unwrap());
            assert_eq!(decoder(codage, &flux), texte, "{codage:?}");
        }
    }

    #[test]
    fn etiquettes() {
        assert_eq!(etiquette("\"v3\"", Codage::Gzip), "\"v3-gzip\"");
        assert_eq!(etiquette("\"hAbC\"", Codage::Zstd), "\"hAbC-zstd\"");
        assert_eq!(etiquette("W/\"v3\"", Codage::Gzip), "W/\"v3\"");
        assert_eq!(sans_suffixe("\"v3-gzip\""), "\"v3\"");
        assert_eq!(sans_suffixe("\"v3-br\""), "\"v3\"");
        assert_eq!(sans_suffixe("\"v3\""), "\"v3\"");
        for c in Codage::TOUS {
            assert_eq!(sans_suffixe(&etiquette("\"h-x_Y\"", c)), "\"h-x_Y\"");
        }
    }

    #[test]
    fn noms() {
        for c in Codage::TOUS {
            assert_eq!(Codage::depuis_nom(c.nom()), Some(c));
        }
        assert_eq!(Codage::depuis_nom("GZIP"), Some(Codage::Gzip));
        assert_eq!(Codage::depuis_nom("deflate"), None);
    }
}
