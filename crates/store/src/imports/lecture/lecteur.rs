//! Bounded readers: a line, or a CSV record, is never held beyond the bound, whatever the file.

use std::io::BufRead;

/// Most fields of a CSV record (the format knows fewer than 50 columns).
pub(super) const COLONNES_MAX: usize = 1024;

/// What one bounded read of a line gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lu {
    Fin,
    Ligne,
    TropLongue,
}

/// Reads one line (without its `\n`) into `tampon`, keeping at most `max` bytes: the rest of a
/// longer line is skipped, never buffered.
pub(super) fn lire_ligne<R: BufRead>(r: &mut R, tampon: &mut Vec<u8>, max: usize) -> std::io::Result<Lu> {
    tampon.clear();
    let (mut vide, mut trop_longue) = (true, false);
    loop {
        let dispo = match r.fill_buf() {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if dispo.is_empty() {
            return Ok(match (vide, trop_longue) {
                (true, _) => Lu::Fin,
                (false, true) => Lu::TropLongue,
                (false, false) => Lu::Ligne,
            });
        }
        vide = false;
        let (contenu, consommes, fin) = match memchr::memchr(b'\n', dispo) {
            Some(i) => (&dispo[..i], i + 1, true),
            None => (dispo, dispo.len(), false),
        };
        if !trop_longue {
            if tampon.len() + contenu.len() > max {
                trop_longue = true;
                tampon.clear();
            } else {
                tampon.extend_from_slice(contenu);
            }
        }
        r.consume(consommes);
        if fin {
            return Ok(if trop_longue { Lu::TropLongue } else { Lu::Ligne });
        }
    }
}

/// One CSV record read with a bound.
pub(super) enum LuCsv {
    Fin,
    Enregistrement { ligne: u64, record: csv::ByteRecord },
    TropLong { ligne: u64 },
    TropDeColonnes { ligne: u64 },
}

/// CSV records of at most `max` bytes each (quotes included, one terminator excepted), read
/// with csv-core's push parser: a longer record is parsed to its real end (quotes honoured) into
/// a scratch buffer that is overwritten, so memory stays at the bound whatever the file.
pub(super) struct LecteurCsv<R> {
    r: R,
    core: csv_core::Reader,
    pub(super) max: usize,
    pub(super) sortie: Vec<u8>,
    pub(super) fins: Vec<usize>,
    /// Newlines skipped between records here (csv-core counts the others).
    sauts: u64,
}

impl<R: BufRead> LecteurCsv<R> {
    pub(super) fn new(r: R, max: usize) -> Self {
        let max = max.max(1);
        Self {
            r,
            // `;`, double quotes, any of \r, \n, \r\n ends a record, a UTF-8 BOM is skipped.
            core: csv_core::ReaderBuilder::new().delimiter(b';').build(),
            max,
            sortie: vec![0; max + 1],
            fins: vec![0; COLONNES_MAX],
            sauts: 0,
        }
    }

    pub(super) fn suivant(&mut self) -> std::io::Result<LuCsv> {
        use csv_core::ReadRecordResult as R;
        let Self {
            r,
            core,
            max,
            sortie,
            fins,
            sauts,
        } = self;
        // Blank lines between records are skipped here: they count toward no record's bound,
        // and a record's line number is the one it starts on.
        loop {
            let dispo = r.fill_buf()?;
            let n = dispo.iter().take_while(|b| **b == b'\n' || **b == b'\r').count();
            if n == 0 {
                break;
            }
            *sauts += dispo[..n].iter().filter(|b| **b == b'\n').count() as u64;
            r.consume(n);
        }
        let ligne = core.line() + *sauts;
        let (mut nsortie, mut nfins, mut lus) = (0usize, 0usize, 0usize);
        // Some(false): longer than the bound; Some(true): too many fields.
        let mut debord: Option<bool> = None;
        loop {
            let dispo = r.fill_buf()?;
            let (res, nin, nout, nend) = match debord {
                // Never more than the bound (plus a terminator) is offered: the record either
                // ends within it or is known to be too long. An empty slice means end of file.
                None => {
                    let entree = &dispo[..dispo.len().min(*max + 1 - lus)];
                    core.read_record(entree, &mut sortie[nsortie..], &mut fins[nfins..])
                }
                // Parsed to its end, its bytes written over the same scratch buffers.
                Some(_) => core.read_record(dispo, sortie, fins),
            };
            r.consume(nin);
            lus = lus.saturating_add(nin);
            if debord.is_none() {
                nsortie += nout;
                nfins += nend;
            }
            match res {
                R::InputEmpty => {
                    if debord.is_none() && lus > *max {
                        debord = Some(false);
                    }
                }
                R::OutputFull => {
                    debord.get_or_insert(false);
                }
                R::OutputEndsFull => {
                    debord.get_or_insert(true);
                }
                R::Record => {
                    return Ok(match debord {
                        None => {
                            let mut record = csv::ByteRecord::with_capacity(nsortie, nfins);
                            let mut debut = 0;
                            for &fin in &fins[..nfins] {
                                record.push_field(sortie.get(debut..fin).unwrap_or_default());
                                debut = fin;
                            }
                            LuCsv::Enregistrement { ligne, record }
                        }
                        Some(false) => LuCsv::TropLong { ligne },
                        Some(true) => LuCsv::TropDeColonnes { ligne },
                    })
                }
                R::End => return Ok(LuCsv::Fin),
            }
        }
    }
}
