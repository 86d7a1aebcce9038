//! A length-checked walk over encoded DICOM elements, before any parser sees
//! them. dicom-parser allocates (and zero-fills) a value's declared length
//! before reading it, so one flipped length byte would cost gigabytes; here
//! every length is checked against the bytes that follow, nested sequences
//! included, without allocating anything.

use dicom_core::VR;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::StandardDataDictionary;
use dicom_object::Tag;

use crate::volume::LoadErrorKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Encoding {
    pub explicit: bool,
    pub big_endian: bool,
}

impl Encoding {
    pub const EXPLICIT_LE: Encoding = Encoding {
        explicit: true,
        big_endian: false,
    };
    pub const IMPLICIT_LE: Encoding = Encoding {
        explicit: false,
        big_endian: false,
    };
    pub const EXPLICIT_BE: Encoding = Encoding {
        explicit: true,
        big_endian: true,
    };
}

pub(crate) const UNDEFINED: u32 = u32::MAX;
const MAX_DEPTH: usize = 32;
pub(crate) const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);
pub(crate) const ITEM: (u16, u16) = (0xFFFE, 0xE000);
pub(crate) const ITEM_END: (u16, u16) = (0xFFFE, 0xE00D);
pub(crate) const SEQUENCE_END: (u16, u16) = (0xFFFE, 0xE0DD);

pub(crate) fn u16_at(b: &[u8], pos: usize, e: Encoding) -> Option<u16> {
    let x: [u8; 2] = b.get(pos..pos.checked_add(2)?)?.try_into().ok()?;
    Some(if e.big_endian {
        u16::from_be_bytes(x)
    } else {
        u16::from_le_bytes(x)
    })
}

pub(crate) fn u32_at(b: &[u8], pos: usize, e: Encoding) -> Option<u32> {
    let x: [u8; 4] = b.get(pos..pos.checked_add(4)?)?.try_into().ok()?;
    Some(if e.big_endian {
        u32::from_be_bytes(x)
    } else {
        u32::from_le_bytes(x)
    })
}

pub(crate) fn read_tag(b: &[u8], pos: usize, e: Encoding) -> Option<(u16, u16)> {
    Some((u16_at(b, pos, e)?, u16_at(b, pos.checked_add(2)?, e)?))
}

fn cut_short(what: String, needed: u64, available: u64) -> LoadErrorKind {
    LoadErrorKind::Truncated {
        what,
        needed,
        available,
    }
}

/// As dicom-encoding reads explicit VR: these VRs have a 16-bit length;
/// every other VR, unknown ones included, a 32-bit length after 2 reserved bytes.
pub(crate) fn has_short_length(vr: &[u8; 2]) -> bool {
    matches!(
        vr,
        b"AE"
            | b"AS"
            | b"AT"
            | b"CS"
            | b"DA"
            | b"DS"
            | b"DT"
            | b"FL"
            | b"FD"
            | b"IS"
            | b"LO"
            | b"LT"
            | b"PN"
            | b"SH"
            | b"SL"
            | b"SS"
            | b"ST"
            | b"TM"
            | b"UI"
            | b"UL"
            | b"US"
    )
}

/// The header of the element at `pos`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Header {
    pub tag: (u16, u16),
    /// The explicit VR, if the encoding has one (items and delimiters never do).
    pub vr: Option<[u8; 2]>,
    pub len: u32,
    pub value_at: usize,
}

impl Header {
    pub fn name(&self) -> String {
        format!("element ({:04X},{:04X})", self.tag.0, self.tag.1)
    }

    /// Whether the value is a sequence of items: SQ (explicit, or implicit by
    /// the dictionary), or any non-pixel element of undefined length.
    pub fn is_sequence(&self) -> bool {
        if self.tag.0 == 0xFFFE || self.tag == PIXEL_DATA {
            return false;
        }
        match self.vr {
            Some(vr) => &vr == b"SQ" || self.len == UNDEFINED,
            None => self.len == UNDEFINED || dictionary_vr(self.tag) == Some(VR::SQ),
        }
    }

    /// UN of undefined length: a sequence encoded as implicit VR little endian
    /// whatever the file's syntax (PS3.5 6.2.2), which dicom-parser 0.10 reads
    /// in the file's syntax instead.
    pub fn is_un_sequence(&self) -> bool {
        self.vr.as_ref() == Some(b"UN") && self.len == UNDEFINED
    }
}

/// Bytes per number of a binary numeric VR (1 for everything else).
/// dicom-parser 0.10 reads `len / width` numbers but advances by `len`, so a
/// length that is not a multiple desynchronises it (found by fuzzing: the next
/// "element" then declared 1.4 GB, which it allocated).
fn binary_width(h: &Header) -> u32 {
    let vr = match h.vr {
        Some(vr) => vr,
        None if h.tag.0 == 0xFFFE => return 1,
        None => match dictionary_vr(h.tag) {
            Some(VR::FD) => *b"FD",
            Some(VR::FL) => *b"FL",
            Some(VR::UL) => *b"UL",
            Some(VR::SL) => *b"SL",
            Some(VR::US) => *b"US",
            Some(VR::SS) => *b"SS",
            Some(VR::AT) => *b"AT",
            Some(VR::OD) => *b"OD",
            Some(VR::OF) => *b"OF",
            Some(VR::OL) => *b"OL",
            _ => return 1,
        },
    };
    match &vr {
        b"FD" | b"OD" | b"SV" | b"UV" | b"OV" => 8,
        b"FL" | b"OF" | b"UL" | b"SL" | b"OL" | b"AT" => 4,
        b"US" | b"SS" | b"OW" => 2,
        _ => 1,
    }
}

pub(crate) fn dictionary_vr(tag: (u16, u16)) -> Option<VR> {
    Some(
        StandardDataDictionary
            .by_tag(Tag(tag.0, tag.1))?
            .vr()
            .relaxed(),
    )
}

pub(crate) fn read_header(b: &[u8], pos: usize, e: Encoding) -> Result<Header, LoadErrorKind> {
    let short = || {
        cut_short(
            "element header".into(),
            8,
            b.len().saturating_sub(pos) as u64,
        )
    };
    let tag = read_tag(b, pos, e).ok_or_else(short)?;
    if tag.0 == 0xFFFE || !e.explicit {
        let len = u32_at(b, pos + 4, e).ok_or_else(short)?;
        return Ok(Header {
            tag,
            vr: None,
            len,
            value_at: pos + 8,
        });
    }
    let vr: [u8; 2] = b
        .get(pos + 4..pos + 6)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(short)?;
    if has_short_length(&vr) {
        let len = u16_at(b, pos + 6, e).ok_or_else(short)?;
        Ok(Header {
            tag,
            vr: Some(vr),
            len: u32::from(len),
            value_at: pos + 8,
        })
    } else {
        let len = u32_at(b, pos + 8, e).ok_or_else(short)?;
        Ok(Header {
            tag,
            vr: Some(vr),
            len,
            value_at: pos + 12,
        })
    }
}

/// What a walk noticed besides lengths.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    /// Tags of UN elements of undefined length (see [`Header::is_un_sequence`]).
    pub un_sequences: Vec<(u16, u16)>,
}

/// Checks the element at `pos` (and anything nested); returns where it ends.
pub(crate) fn walk_element(
    b: &[u8],
    pos: usize,
    e: Encoding,
    depth: usize,
    notes: &mut Notes,
) -> Result<usize, LoadErrorKind> {
    let h = read_header(b, pos, e)?;
    if depth > MAX_DEPTH {
        return Err(LoadErrorKind::Corrupt(format!(
            "{} nests sequences too deeply",
            h.name()
        )));
    }
    if h.len == UNDEFINED {
        // Encapsulated pixel data is legal inside items too (an icon in
        // IconImageSequence (0088,0200) with its own JPEG fragments).
        if h.tag == PIXEL_DATA {
            return check_fragments(b, h.value_at, e);
        }
        // UN of undefined length holds implicit VR little endian.
        let inner_e = if h.is_un_sequence() {
            notes.un_sequences.push(h.tag);
            Encoding::IMPLICIT_LE
        } else {
            e
        };
        let mut p = h.value_at;
        loop {
            let tag = read_tag(b, p, inner_e).ok_or_else(|| cut_short(h.name(), 8, 0))?;
            if tag == SEQUENCE_END || tag == ITEM_END {
                return Ok(p + 8);
            }
            p = walk_element(b, p, inner_e, depth + 1, notes)?;
        }
    }
    let remaining = b.len().saturating_sub(h.value_at);
    if h.len as usize > remaining {
        let what = if h.tag == PIXEL_DATA {
            "pixel data (7FE0,0010)".to_string()
        } else {
            h.name()
        };
        return Err(cut_short(what, u64::from(h.len), remaining as u64));
    }
    let width = binary_width(&h);
    if width > 1 && h.len % width != 0 {
        return Err(LoadErrorKind::Corrupt(format!(
            "{} holds {} bytes of {}-byte numbers (not a multiple): the data set is damaged",
            h.name(),
            h.len,
            width
        )));
    }
    let end = h.value_at + h.len as usize;
    if h.is_sequence() || h.tag == ITEM {
        let inner = b.get(..end).unwrap_or(&[]);
        let mut p = h.value_at;
        while p < end {
            p = walk_element(inner, p, e, depth + 1, notes)?;
        }
    }
    Ok(end)
}

/// Encapsulated pixel data: every fragment within the file and a closing
/// delimiter present, so codecs never see a cut stream. Returns its end.
pub(crate) fn check_fragments(
    b: &[u8],
    mut pos: usize,
    e: Encoding,
) -> Result<usize, LoadErrorKind> {
    let what = "encapsulated pixel data".to_string();
    loop {
        let available = b.len().saturating_sub(pos) as u64;
        let (Some(tag), Some(len)) = (read_tag(b, pos, e), u32_at(b, pos + 4, e)) else {
            // The sequence delimiter (8 bytes) is missing: the file was cut.
            return Err(cut_short(format!("{what} (end of sequence)"), 8, available));
        };
        match tag {
            SEQUENCE_END => return Ok(pos + 8),
            ITEM if u64::from(len) + 8 <= available => pos += 8 + len as usize,
            ITEM => {
                return Err(cut_short(
                    format!("{what} fragment"),
                    u64::from(len),
                    available - 8,
                ));
            }
            (g, el) => {
                return Err(LoadErrorKind::Corrupt(format!(
                    "{what}: unexpected element ({g:04X},{el:04X}) among the fragments"
                )));
            }
        }
    }
}

/// Walks top-level elements up to and including PixelData; returns the offset
/// just past PixelData when there is one.
pub(crate) fn walk_data_set(
    data: &[u8],
    encoding: Encoding,
    notes: &mut Notes,
) -> Result<Option<usize>, LoadErrorKind> {
    let mut pos = 0usize;
    while pos < data.len() {
        let Some(tag) = read_tag(data, pos, encoding) else {
            break; // a few stray bytes: the parser reports them
        };
        let end = walk_element(data, pos, encoding, 0, notes)?;
        if tag == PIXEL_DATA {
            return Ok(Some(end));
        }
        pos = end;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit(tag: (u16, u16), vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(tag.0.to_le_bytes());
        out.extend(tag.1.to_le_bytes());
        out.extend(vr);
        if has_short_length(vr) {
            out.extend((value.len() as u16).to_le_bytes());
        } else {
            out.extend([0, 0]);
            out.extend((value.len() as u32).to_le_bytes());
        }
        out.extend(value);
        out
    }

    fn item(tag: (u16, u16), len: u32) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(tag.0.to_le_bytes());
        out.extend(tag.1.to_le_bytes());
        out.extend(len.to_le_bytes());
        out
    }

    #[test]
    fn nested_encapsulated_pixel_data_is_fragments() {
        // IconImageSequence > item > PixelData OB undefined: two fragments.
        let mut icon = Vec::new();
        icon.extend([0xE0, 0x7F, 0x10, 0x00]);
        icon.extend(b"OB\0\0");
        icon.extend(UNDEFINED.to_le_bytes());
        icon.extend(item(ITEM, 0)); // empty offset table
        icon.extend(item(ITEM, 4));
        icon.extend([0xFF, 0x4F, 0xFF, 0x51]); // looks nothing like an element
        icon.extend(item(SEQUENCE_END, 0));
        let mut seq = item(ITEM, icon.len() as u32);
        seq.extend(&icon);
        let mut data = explicit((0x0088, 0x0200), b"SQ", &seq);
        data.extend(explicit((0x0028, 0x0010), b"US", &[1, 0]));
        let mut notes = Notes::default();
        assert_eq!(
            walk_data_set(&data, Encoding::EXPLICIT_LE, &mut notes).unwrap(),
            None
        );
    }

    #[test]
    fn un_of_undefined_length_is_implicit_inside() {
        // (4453,100C) UN undefined > item undefined > (0020,000E) implicit UI.
        let mut data = Vec::new();
        data.extend([0x53, 0x44, 0x0C, 0x10]);
        data.extend(b"UN\0\0");
        data.extend(UNDEFINED.to_le_bytes());
        data.extend(item(ITEM, UNDEFINED));
        data.extend([0x20, 0x00, 0x0E, 0x00, 4, 0, 0, 0]);
        data.extend(b"1.2\0");
        data.extend(item(ITEM_END, 0));
        data.extend(item(SEQUENCE_END, 0));
        let mut notes = Notes::default();
        walk_data_set(&data, Encoding::EXPLICIT_LE, &mut notes).unwrap();
        assert_eq!(notes.un_sequences, vec![(0x4453, 0x100C)]);
    }

    #[test]
    fn declared_length_beyond_the_bytes_is_truncation() {
        let mut data = explicit((0x0010, 0x0010), b"LT", b"ab");
        data[6..8].copy_from_slice(&0xFFF0u16.to_le_bytes());
        let err = walk_data_set(&data, Encoding::EXPLICIT_LE, &mut Notes::default()).unwrap_err();
        assert!(
            matches!(err, LoadErrorKind::Truncated { needed: 0xFFF0, .. }),
            "{err}"
        );
    }
}
