//! Re-encoding UN elements of undefined length as ordinary sequences.
//!
//! A sequence sent through a system that did not know its tag arrives as UN
//! of undefined length, its items encoded in implicit VR little endian
//! whatever the file's syntax (PS3.5 6.2.2; pydicom, GDCM and dcmtk read them
//! so). dicom-parser 0.10 reads their contents in the file's syntax instead
//! and takes item bytes for huge lengths: a 674-byte file cost 3.6 GB and
//! 20 s. Here such elements become SQ with their items re-encoded in the
//! file's syntax (VRs from the dictionary, UN for unknown tags), so the parser
//! sees a plain sequence. Every container on the way is rewritten with
//! undefined lengths, which stay valid whatever the re-encoding adds.

use super::walk::{
    self, Encoding, Header, ITEM, ITEM_END, PIXEL_DATA, SEQUENCE_END, UNDEFINED, has_short_length,
};
use crate::volume::LoadErrorKind;

const MAX_DEPTH: usize = 32;

/// `data` (a data set in `src`, already walked and length-checked) written
/// in `dst`, with every UN of undefined length re-encoded as SQ. `dst` is
/// `src`, or explicit VR little endian for an implicit VR `src` (a data set
/// whose meta group claims the wrong syntax). Explicit big endian has no
/// little-endian items to take UN sequences, so there they are dropped, with
/// a warning.
pub(crate) fn rewrite(
    data: &[u8],
    src: Encoding,
    dst: Encoding,
    warnings: &mut Vec<String>,
) -> Result<Vec<u8>, LoadErrorKind> {
    debug_assert!(src == dst || (!src.explicit && dst == Encoding::EXPLICIT_LE));
    let mut w = Writer {
        out: Vec::with_capacity(data.len() + data.len() / 8),
        dst,
        dropped: Vec::new(),
    };
    let mut pos = 0;
    while pos < data.len() {
        if walk::read_tag(data, pos, src).is_none() {
            break;
        }
        pos = w.element(data, pos, src, 0)?;
    }
    if !w.dropped.is_empty() {
        let tags: Vec<String> = w
            .dropped
            .iter()
            .map(|t| format!("({:04X},{:04X})", t.0, t.1))
            .collect();
        warnings.push(format!(
            "UN element(s) of undefined length ignored in a big-endian file: {}",
            tags.join(", ")
        ));
    }
    Ok(w.out)
}

struct Writer {
    out: Vec<u8>,
    dst: Encoding,
    dropped: Vec<(u16, u16)>,
}

fn damaged(what: &str) -> LoadErrorKind {
    LoadErrorKind::Corrupt(format!("{what} is damaged"))
}

impl Writer {
    fn u16(&mut self, v: u16) {
        self.out.extend(if self.dst.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }

    fn u32(&mut self, v: u32) {
        self.out.extend(if self.dst.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }

    fn header(&mut self, tag: (u16, u16), vr: [u8; 2], len: u32) {
        self.u16(tag.0);
        self.u16(tag.1);
        if tag.0 == 0xFFFE || !self.dst.explicit {
            self.u32(len);
        } else if has_short_length(&vr) {
            self.out.extend(vr);
            // Callers pass only lengths that fit (see `primitive`).
            self.u16(len as u16);
        } else {
            self.out.extend(vr);
            self.out.extend([0, 0]);
            self.u32(len);
        }
    }

    /// Copies the element at `pos` (read in `src`); returns where it ends.
    fn element(
        &mut self,
        b: &[u8],
        pos: usize,
        src: Encoding,
        depth: usize,
    ) -> Result<usize, LoadErrorKind> {
        if depth > MAX_DEPTH {
            return Err(LoadErrorKind::Corrupt("sequences nest too deeply".into()));
        }
        let h = walk::read_header(b, pos, src)?;
        if h.is_un_sequence() {
            if self.dst.big_endian {
                self.dropped.push(h.tag);
                return walk::walk_element(b, pos, src, depth, &mut walk::Notes::default());
            }
            self.header(h.tag, *b"SQ", UNDEFINED);
            return self.items(b, &h, Encoding::IMPLICIT_LE, depth);
        }
        if h.is_sequence() {
            self.header(h.tag, *b"SQ", UNDEFINED);
            return self.items(b, &h, src, depth);
        }
        if h.tag == PIXEL_DATA && h.len == UNDEFINED {
            // Fragments are little endian in every syntax: copied as they are.
            let end = walk::check_fragments(b, h.value_at, src)?;
            self.header(h.tag, *b"OB", UNDEFINED);
            let fragments = b.get(h.value_at..end).ok_or_else(|| damaged(&h.name()))?;
            self.out.extend_from_slice(fragments);
            return Ok(end);
        }
        self.primitive(b, pos, &h, src)
    }

    fn primitive(
        &mut self,
        b: &[u8],
        pos: usize,
        h: &Header,
        src: Encoding,
    ) -> Result<usize, LoadErrorKind> {
        let end = h
            .value_at
            .checked_add(h.len as usize)
            .filter(|&end| end <= b.len())
            .ok_or_else(|| damaged(&h.name()))?;
        if src == self.dst {
            self.out.extend_from_slice(&b[pos..end]);
            return Ok(end);
        }
        // Implicit little endian into explicit little endian: the VR comes from
        // the dictionary; private and unknown tags, and values too long for a
        // short VR's 16-bit length, become UN.
        let vr =
            h.vr.or_else(|| dictionary_vr_code(h.tag))
                .filter(|vr| !has_short_length(vr) || h.len <= u32::from(u16::MAX))
                .unwrap_or(*b"UN");
        self.header(h.tag, vr, h.len);
        self.out.extend_from_slice(&b[h.value_at..end]);
        Ok(end)
    }

    /// Copies the items of the sequence `h`, whose contents are in `src`.
    fn items(
        &mut self,
        b: &[u8],
        h: &Header,
        src: Encoding,
        depth: usize,
    ) -> Result<usize, LoadErrorKind> {
        let defined_end = (h.len != UNDEFINED)
            .then(|| h.value_at.checked_add(h.len as usize))
            .flatten();
        let mut p = h.value_at;
        loop {
            if Some(p) == defined_end {
                break;
            }
            let item = walk::read_header(b, p, src)?;
            if item.tag == SEQUENCE_END && defined_end.is_none() {
                p = item.value_at;
                break;
            }
            if item.tag != ITEM {
                return Err(damaged(&format!("sequence {}", h.name())));
            }
            self.header(ITEM, *b"  ", UNDEFINED);
            p = item.value_at;
            let item_end = (item.len != UNDEFINED)
                .then(|| p.checked_add(item.len as usize))
                .flatten();
            loop {
                if Some(p) == item_end {
                    break;
                }
                if item_end.is_none() && walk::read_tag(b, p, src) == Some(ITEM_END) {
                    p += 8;
                    break;
                }
                p = self.element(b, p, src, depth + 1)?;
                if item_end.is_some_and(|end| p > end) {
                    return Err(damaged(&format!("an item of {}", h.name())));
                }
            }
            self.header(ITEM_END, *b"  ", 0);
            if defined_end.is_some_and(|end| p > end) {
                return Err(damaged(&format!("sequence {}", h.name())));
            }
        }
        self.header(SEQUENCE_END, *b"  ", 0);
        Ok(p)
    }
}

/// The dictionary's VR as its two letters (ambiguous VRs resolved as
/// dicom-core relaxes them).
fn dictionary_vr_code(tag: (u16, u16)) -> Option<[u8; 2]> {
    // Private creator elements (gggg,0010-00FF) are LO.
    if tag.0 % 2 == 1 && (0x0010..=0x00FF).contains(&tag.1) {
        return Some(*b"LO");
    }
    let vr = walk::dictionary_vr(tag)?;
    vr.to_string().as_bytes().try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag_len(tag: (u16, u16), len: u32) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(tag.0.to_le_bytes());
        out.extend(tag.1.to_le_bytes());
        out.extend(len.to_le_bytes());
        out
    }

    #[test]
    fn un_sequence_becomes_explicit_sq() {
        let mut data = Vec::new();
        data.extend([0x53, 0x44, 0x0C, 0x10]);
        data.extend(b"UN\0\0");
        data.extend(UNDEFINED.to_le_bytes());
        data.extend(tag_len(ITEM, 12));
        data.extend(tag_len((0x0020, 0x000E), 4));
        data.extend(b"1.2\0");
        data.extend(tag_len(SEQUENCE_END, 0));
        let mut warnings = Vec::new();
        let out = rewrite(
            &data,
            Encoding::EXPLICIT_LE,
            Encoding::EXPLICIT_LE,
            &mut warnings,
        )
        .unwrap();
        let mut want = Vec::new();
        want.extend([0x53, 0x44, 0x0C, 0x10]);
        want.extend(b"SQ\0\0");
        want.extend(UNDEFINED.to_le_bytes());
        want.extend(tag_len(ITEM, UNDEFINED));
        want.extend([0x20, 0x00, 0x0E, 0x00]);
        want.extend(b"UI");
        want.extend(4u16.to_le_bytes());
        want.extend(b"1.2\0");
        want.extend(tag_len(ITEM_END, 0));
        want.extend(tag_len(SEQUENCE_END, 0));
        assert_eq!(out, want);
        assert!(warnings.is_empty());
        // The result walks cleanly and holds no UN sequence any more.
        let mut notes = walk::Notes::default();
        walk::walk_data_set(&out, Encoding::EXPLICIT_LE, &mut notes).unwrap();
        assert!(notes.un_sequences.is_empty());
    }

    #[test]
    fn damaged_items_are_an_error_not_a_panic() {
        let mut data = Vec::new();
        data.extend([0x08, 0x00, 0x15, 0x11]);
        data.extend(b"SQ\0\0");
        data.extend(20u32.to_le_bytes());
        data.extend(tag_len((0x0008, 0x0016), 12)); // not an item
        data.extend([0u8; 12]);
        let err = rewrite(
            &data,
            Encoding::EXPLICIT_LE,
            Encoding::EXPLICIT_LE,
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(matches!(err, LoadErrorKind::Corrupt(_)), "{err}");
    }
}
