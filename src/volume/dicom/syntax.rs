//! Transfer syntaxes and the diagnosis of files that fail to parse.

use dicom_core::VR;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::{StandardDataDictionary, tags};
use dicom_object::file::ReadPreamble;
use dicom_object::{FileMetaTable, OpenFileOptions, Tag};

use super::header;
use crate::volume::LoadErrorKind;

const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";

/// Transfer syntaxes whose pixel data this build decodes.
const SUPPORTED: &[(&str, &str)] = &[
    (IMPLICIT_VR_LE, "Implicit VR Little Endian"),
    ("1.2.840.10008.1.2.1", "Explicit VR Little Endian"),
    (
        "1.2.840.10008.1.2.1.99",
        "Deflated Explicit VR Little Endian",
    ),
    ("1.2.840.10008.1.2.2", "Explicit VR Big Endian"),
    ("1.2.840.10008.1.2.5", "RLE Lossless"),
    ("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)"),
    ("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)"),
    (
        "1.2.840.10008.1.2.4.57",
        "JPEG Lossless, Non-Hierarchical (Process 14)",
    ),
    (
        "1.2.840.10008.1.2.4.70",
        "JPEG Lossless, Non-Hierarchical, First-Order Prediction",
    ),
    ("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless"),
    ("1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless)"),
    ("1.2.840.10008.1.2.4.90", "JPEG 2000 (Lossless Only)"),
    ("1.2.840.10008.1.2.4.91", "JPEG 2000"),
];

/// Known syntaxes that are not decoded, for a readable error.
const KNOWN_UNSUPPORTED: &[(&str, &str)] = &[
    (
        "1.2.840.10008.1.2.1.98",
        "Encapsulated Uncompressed Explicit VR Little Endian",
    ),
    (
        "1.2.840.10008.1.2.4.92",
        "JPEG 2000 Part 2 Multi-component (Lossless Only)",
    ),
    ("1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component"),
    ("1.2.840.10008.1.2.4.94", "JPIP Referenced"),
    ("1.2.840.10008.1.2.4.95", "JPIP Referenced Deflate"),
    ("1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level"),
    ("1.2.840.10008.1.2.4.101", "MPEG2 Main Profile / High Level"),
    (
        "1.2.840.10008.1.2.4.102",
        "MPEG-4 AVC/H.264 High Profile / Level 4.1",
    ),
    (
        "1.2.840.10008.1.2.4.103",
        "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1",
    ),
    (
        "1.2.840.10008.1.2.4.104",
        "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video",
    ),
    (
        "1.2.840.10008.1.2.4.105",
        "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video",
    ),
    (
        "1.2.840.10008.1.2.4.106",
        "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2",
    ),
    (
        "1.2.840.10008.1.2.4.107",
        "HEVC/H.265 Main Profile / Level 5.1",
    ),
    (
        "1.2.840.10008.1.2.4.108",
        "HEVC/H.265 Main 10 Profile / Level 5.1",
    ),
    ("1.2.840.10008.1.2.4.110", "JPEG XL Lossless"),
    ("1.2.840.10008.1.2.4.111", "JPEG XL JPEG Recompression"),
    ("1.2.840.10008.1.2.4.112", "JPEG XL"),
    (
        "1.2.840.10008.1.2.4.201",
        "High-Throughput JPEG 2000 (Lossless Only)",
    ),
    (
        "1.2.840.10008.1.2.4.202",
        "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)",
    ),
    ("1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000"),
    ("1.2.840.10008.1.2.6.1", "RFC 2557 MIME encapsulation"),
    ("1.2.840.10008.1.2.6.2", "XML Encoding"),
];

fn name_of(uid: &str) -> Option<&'static str> {
    SUPPORTED
        .iter()
        .chain(KNOWN_UNSUPPORTED)
        .find(|(u, _)| *u == uid)
        .map(|(_, name)| *name)
}

pub(crate) fn check_supported(uid: &str) -> Result<(), LoadErrorKind> {
    if SUPPORTED.iter().any(|(u, _)| *u == uid) {
        return Ok(());
    }
    let name = name_of(uid).unwrap_or("unknown transfer syntax");
    Err(LoadErrorKind::Unsupported(format!(
        "transfer syntax {uid} ({name}) cannot be decoded"
    )))
}

/// The transfer syntax UID from the file meta group, if it parses.
pub(crate) fn meta_transfer_syntax(bytes: &[u8]) -> Option<String> {
    // Read straight from the meta group, each length checked against the bytes
    // that follow: dicom-object's meta reader allocated a declared string
    // length of gigabytes before reading it (found by fuzzing).
    let meta = bytes.get(132..)?;
    let mut pos = 0usize;
    while let Some(head) = meta.get(pos..pos + 8) {
        if u16::from_le_bytes([head[0], head[1]]) != 0x0002 {
            break;
        }
        let next = walk_element(meta, pos, Encoding::EXPLICIT_LE, 0).ok()?;
        if u16::from_le_bytes([head[2], head[3]]) == 0x0010 {
            let value = meta.get(pos + 8..next)?;
            let uid = String::from_utf8_lossy(value);
            return Some(uid.trim_end_matches(['\0', ' ']).to_string());
        }
        pos = next;
    }
    None
}

/// dicom-object's meta table, read only after every meta element's length
/// has been checked against the bytes that follow it.
fn checked_meta_table(
    bytes: &[u8],
) -> Result<Result<FileMetaTable, dicom_object::meta::Error>, String> {
    let meta = bytes.get(132..).unwrap_or(&[]);
    let mut pos = 0usize;
    while let Some(head) = meta.get(pos..pos + 4) {
        if u16::from_le_bytes([head[0], head[1]]) != 0x0002 {
            break;
        }
        pos = walk_element(meta, pos, Encoding::EXPLICIT_LE, 0).map_err(|e| e.to_string())?;
    }
    super::guard(|| FileMetaTable::from_reader(bytes.get(128..).unwrap_or(&[])))
}

pub(crate) fn has_dicm_marker(bytes: &[u8]) -> bool {
    bytes.get(128..132) == Some(b"DICM".as_slice())
}

/// Why a file failed to parse: not DICOM, unsupported syntax, truncated, or corrupt.
/// `parse_error` is the parser's message.
pub(crate) fn diagnose(bytes: &[u8], parse_error: &str) -> LoadErrorKind {
    if !has_dicm_marker(bytes) {
        return LoadErrorKind::NotRecognised(format!(
            "no \"DICM\" marker at byte 128 ({} bytes): not a DICOM Part 10 file",
            bytes.len()
        ));
    }
    let meta = match checked_meta_table(bytes) {
        Ok(Ok(meta)) => meta,
        Ok(Err(e)) => {
            return LoadErrorKind::Corrupt(format!("cannot read the file meta group: {e}"));
        }
        Err(e) => {
            return LoadErrorKind::Corrupt(format!("cannot read the file meta group: {e}"));
        }
    };
    let ts = meta
        .transfer_syntax()
        .trim_end_matches(['\0', ' '])
        .to_string();
    if let Err(unsupported) = check_supported(&ts) {
        return unsupported;
    }
    // Never hand the parser declared lengths that the bytes cannot hold.
    if let Err(too_long) = check_lengths(bytes) {
        return too_long;
    }
    // The header alone parses: then the pixel data is cut short.
    let header_only = super::guard(|| {
        OpenFileOptions::new()
            .read_until(tags::PIXEL_DATA)
            .read_preamble(ReadPreamble::Always)
            .from_reader(bytes)
    });
    if let Ok(Ok(obj)) = header_only
        && let Ok(hdr) = header::image_header(&obj)
        && let Some(needed) = hdr.native_pixel_bytes()
        && let Some(value_at) = pixel_value_offset(bytes, &ts)
    {
        let available = (bytes.len() - value_at) as u64;
        if available < needed {
            return LoadErrorKind::Truncated {
                what: format!(
                    "pixel data ({} × {} × {} frame(s), {} bits)",
                    hdr.columns, hdr.rows, hdr.frames, hdr.bits_allocated
                ),
                needed,
                available,
            };
        }
        return LoadErrorKind::Corrupt(format!(
            "the pixel data element is damaged or cut short: {parse_error}"
        ));
    }
    LoadErrorKind::Corrupt(format!(
        "cannot parse the data set (truncated or damaged, {} bytes): {parse_error}",
        bytes.len()
    ))
}

/// Candidate PixelData elements, found by scanning for the tag with a
/// plausible VR (explicit syntaxes) after the meta group: (value offset, length).
fn pixel_elements(bytes: &[u8], ts: &str) -> Vec<(usize, u32)> {
    let big_endian = ts == "1.2.840.10008.1.2.2";
    let explicit = ts != IMPLICIT_VR_LE;
    let tag: [u8; 4] = if big_endian {
        [0x7F, 0xE0, 0x00, 0x10]
    } else {
        [0xE0, 0x7F, 0x10, 0x00]
    };
    let start = 132;
    let Some(hay) = bytes.get(start..) else {
        return Vec::new();
    };
    hay.windows(12)
        .enumerate()
        .filter_map(|(i, w)| {
            if w.get(..4)? != tag.as_slice() {
                return None;
            }
            let (len_at, value_at) = if explicit {
                let vr = w.get(4..6)?;
                if vr != b"OW" && vr != b"OB" {
                    return None;
                }
                (8, 12)
            } else {
                (4, 8)
            };
            let b: [u8; 4] = w.get(len_at..len_at + 4)?.try_into().ok()?;
            let len = if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            };
            Some((start + i + value_at, len))
        })
        .take(4)
        .collect()
}

fn pixel_value_offset(bytes: &[u8], ts: &str) -> Option<usize> {
    pixel_elements(bytes, ts).first().map(|(at, _)| *at)
}

/// Where candidate PixelData elements end: a parse cut there ignores any
/// trailing bytes (e.g. zero padding that would otherwise be read as elements).
pub(crate) fn pixel_data_ends(bytes: &[u8]) -> Vec<usize> {
    let Ok(Ok(meta)) = checked_meta_table(bytes) else {
        return Vec::new();
    };
    let ts = meta
        .transfer_syntax()
        .trim_end_matches(['\0', ' '])
        .to_string();
    pixel_elements(bytes, &ts)
        .into_iter()
        .filter_map(|(at, len)| {
            if len != u32::MAX {
                return at.checked_add(len as usize);
            }
            // Encapsulated: items until the sequence delimiter (always little endian).
            let mut pos = at;
            loop {
                let head: [u8; 8] = bytes.get(pos..pos.checked_add(8)?)?.try_into().ok()?;
                let group = u16::from_le_bytes([head[0], head[1]]);
                let element = u16::from_le_bytes([head[2], head[3]]);
                let item_len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
                match (group, element) {
                    (0xFFFE, 0xE0DD) => return pos.checked_add(8),
                    (0xFFFE, 0xE000) if item_len != u32::MAX => {
                        pos = pos.checked_add(8)?.checked_add(item_len as usize)?;
                    }
                    _ => return None,
                }
            }
        })
        .collect()
}

/// Element lengths above the bytes that follow are refused before the parser
/// sees them: dicom-parser allocates (and zero-fills) a value's declared
/// length before reading it, so one flipped length byte would cost gigabytes.
/// Walks the meta group and the data set up to the top-level PixelData
/// (whose length is checked too); deflated data sets cannot be walked.
pub(crate) fn check_lengths(bytes: &[u8]) -> Result<Option<usize>, LoadErrorKind> {
    let Some(meta) = bytes.get(132..) else {
        return Ok(None);
    };
    // The meta group is explicit VR little endian; find where it ends.
    let mut pos = 0usize;
    while let Some(head) = meta.get(pos..pos + 4) {
        if u16::from_le_bytes([head[0], head[1]]) != 0x0002 {
            break;
        }
        pos = walk_element(meta, pos, Encoding::EXPLICIT_LE, 0)?;
    }
    let meta_end = 132 + pos;
    let ts = meta_transfer_syntax(bytes).unwrap_or_default();
    let encoding = match ts.as_str() {
        IMPLICIT_VR_LE => Encoding {
            explicit: false,
            big_endian: false,
        },
        "1.2.840.10008.1.2.2" => Encoding {
            explicit: true,
            big_endian: true,
        },
        // `inflate_to_explicit` rewrites deflated files before they get here.
        DEFLATED_LE => return Ok(None),
        _ => Encoding::EXPLICIT_LE,
    };
    let data = bytes.get(meta_end..).unwrap_or(&[]);
    Ok(walk_data_set(data, encoding)?.map(|end| meta_end + end))
}

const DEFLATED_LE: &str = "1.2.840.10008.1.2.1.99";

/// Walks top-level elements up to and including PixelData; returns the offset
/// just past PixelData when there is one.
fn walk_data_set(data: &[u8], encoding: Encoding) -> Result<Option<usize>, LoadErrorKind> {
    let mut pos = 0usize;
    while pos < data.len() {
        let Some(tag) = read_tag(data, pos, encoding) else {
            break; // a few stray bytes: the parser reports them
        };
        let end = walk_element(data, pos, encoding, 0)?;
        if tag == (0x7FE0, 0x0010) {
            return Ok(Some(end));
        }
        pos = end;
    }
    Ok(None)
}

/// A Deflated Explicit VR Little Endian file rewritten as plain Explicit VR
/// Little Endian (inflated data set, transfer syntax UID and meta group length
/// updated), so the length walk and the parser see ordinary bytes; `None` for
/// any other transfer syntax. dicom-parser inflating by itself allocated
/// declared lengths that the walk never saw (found by fuzzing).
pub(crate) fn inflate_to_explicit(bytes: &[u8]) -> Result<Option<Vec<u8>>, LoadErrorKind> {
    if meta_transfer_syntax(bytes).as_deref() != Some(DEFLATED_LE) {
        return Ok(None);
    }
    let meta = bytes.get(132..).unwrap_or(&[]);
    let bad = || LoadErrorKind::Corrupt("file meta group is damaged".into());
    let mut out = bytes.get(..132).ok_or_else(bad)?.to_vec();
    let mut pos = 0usize;
    let mut group_length_at = None;
    let explicit_le: &[u8] = b"1.2.840.10008.1.2.1\0";
    let mut shrink = 0u32;
    while let Some(head) = meta.get(pos..pos + 4) {
        if u16::from_le_bytes([head[0], head[1]]) != 0x0002 {
            break;
        }
        let next = walk_element(meta, pos, Encoding::EXPLICIT_LE, 0)?;
        let element = meta.get(pos..next).ok_or_else(bad)?;
        let tag = (
            u16::from_le_bytes([head[0], head[1]]),
            u16::from_le_bytes([head[2], head[3]]),
        );
        if tag == (0x0002, 0x0010) && element.len() >= 8 {
            // Short-VR element: tag, "UI", u16 length, value.
            out.extend_from_slice(&element[..6]);
            out.extend_from_slice(&(explicit_le.len() as u16).to_le_bytes());
            out.extend_from_slice(explicit_le);
            shrink = (element.len() - 8 - explicit_le.len()) as u32;
        } else {
            if tag == (0x0002, 0x0000) {
                group_length_at = Some(out.len() + 8);
            }
            out.extend_from_slice(element);
        }
        pos = next;
    }
    if let Some(at) = group_length_at {
        let old = out.get(at..at + 4).ok_or_else(bad)?;
        let value = u32::from_le_bytes([old[0], old[1], old[2], old[3]]).saturating_sub(shrink);
        out[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }
    out.extend(inflate_bounded(meta.get(pos..).unwrap_or(&[]))?);
    Ok(Some(out))
}

/// Inflates a deflated data set, refusing streams that are corrupt or expand
/// beyond what deflate can (about 1032:1).
fn inflate_bounded(compressed: &[u8]) -> Result<Vec<u8>, LoadErrorKind> {
    use std::io::Read;
    let cap = (compressed.len() as u64)
        .saturating_mul(1032)
        .saturating_add(1024);
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(compressed)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| LoadErrorKind::Corrupt(format!("deflated data set: {e}")))?;
    Ok(out)
}

#[derive(Clone, Copy)]
struct Encoding {
    explicit: bool,
    big_endian: bool,
}

impl Encoding {
    const EXPLICIT_LE: Encoding = Encoding {
        explicit: true,
        big_endian: false,
    };
}

const UNDEFINED: u32 = u32::MAX;
const MAX_DEPTH: usize = 32;

fn u16_at(b: &[u8], pos: usize, e: Encoding) -> Option<u16> {
    let x: [u8; 2] = b.get(pos..pos.checked_add(2)?)?.try_into().ok()?;
    Some(if e.big_endian {
        u16::from_be_bytes(x)
    } else {
        u16::from_le_bytes(x)
    })
}

fn u32_at(b: &[u8], pos: usize, e: Encoding) -> Option<u32> {
    let x: [u8; 4] = b.get(pos..pos.checked_add(4)?)?.try_into().ok()?;
    Some(if e.big_endian {
        u32::from_be_bytes(x)
    } else {
        u32::from_le_bytes(x)
    })
}

fn read_tag(b: &[u8], pos: usize, e: Encoding) -> Option<(u16, u16)> {
    Some((u16_at(b, pos, e)?, u16_at(b, pos + 2, e)?))
}

fn cut_short(what: String, needed: u64, available: u64) -> LoadErrorKind {
    LoadErrorKind::Truncated {
        what,
        needed,
        available,
    }
}

/// Checks the element at `pos` (and anything nested); returns where it ends.
fn walk_element(b: &[u8], pos: usize, e: Encoding, depth: usize) -> Result<usize, LoadErrorKind> {
    let short = |what: &str| cut_short(what.to_string(), 8, b.len().saturating_sub(pos) as u64);
    let (group, element) = read_tag(b, pos, e).ok_or_else(|| short("element header"))?;
    let name = format!("element ({group:04X},{element:04X})");
    if depth > MAX_DEPTH {
        return Err(LoadErrorKind::Corrupt(format!(
            "{name} nests sequences too deeply"
        )));
    }
    // Items and delimiters have no VR in any syntax.
    let (vr, len, value_at) = if group == 0xFFFE || !e.explicit {
        let len = u32_at(b, pos + 4, e).ok_or_else(|| short("element header"))?;
        (None, len, pos + 8)
    } else {
        let vr: [u8; 2] = b
            .get(pos + 4..pos + 6)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| short("element header"))?;
        // As dicom-encoding reads it: these VRs have a 16-bit length; every
        // other VR, unknown ones included, a 32-bit length after 2 reserved bytes.
        let long = !matches!(
            &vr,
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
        );
        if long {
            let len = u32_at(b, pos + 8, e).ok_or_else(|| short("element header"))?;
            (Some(vr), len, pos + 12)
        } else {
            let len = u16_at(b, pos + 6, e).ok_or_else(|| short("element header"))?;
            (Some(vr), u32::from(len), pos + 8)
        }
    };
    let remaining = b.len().saturating_sub(value_at);
    if len == UNDEFINED {
        if (group, element) == (0x7FE0, 0x0010) && depth == 0 {
            return check_fragments(b, value_at, e);
        }
        // A sequence (or item) of undefined length: walk until its delimiter.
        // UN of undefined length holds implicit VR little endian.
        let inner_e = if vr.as_ref() == Some(b"UN") {
            Encoding {
                explicit: false,
                big_endian: false,
            }
        } else {
            e
        };
        let mut p = value_at;
        loop {
            let tag = read_tag(b, p, inner_e).ok_or_else(|| cut_short(name.clone(), 8, 0))?;
            if tag == (0xFFFE, 0xE0DD) || tag == (0xFFFE, 0xE00D) {
                return Ok(p + 8);
            }
            p = walk_element(b, p, inner_e, depth + 1)?;
        }
    }
    if len as usize > remaining {
        let what = if (group, element) == (0x7FE0, 0x0010) {
            "pixel data (7FE0,0010)".to_string()
        } else {
            name
        };
        return Err(cut_short(what, u64::from(len), remaining as u64));
    }
    let end = value_at + len as usize;
    let implicit_sq = vr.is_none()
        && group != 0xFFFE
        && StandardDataDictionary
            .by_tag(Tag(group, element))
            .is_some_and(|entry| entry.vr().relaxed() == VR::SQ);
    let nested = vr.as_ref() == Some(b"SQ") || implicit_sq || (group, element) == (0xFFFE, 0xE000);
    if nested {
        let inner = b.get(..end).unwrap_or(&[]);
        let mut p = value_at;
        while p < end {
            p = walk_element(inner, p, e, depth + 1)?;
        }
    }
    Ok(end)
}

/// Encapsulated pixel data: every fragment within the file and a closing
/// delimiter present, so codecs never see a cut stream.
fn check_fragments(b: &[u8], mut pos: usize, e: Encoding) -> Result<usize, LoadErrorKind> {
    let what = "encapsulated pixel data".to_string();
    loop {
        let available = b.len().saturating_sub(pos) as u64;
        let (Some(tag), Some(len)) = (read_tag(b, pos, e), u32_at(b, pos + 4, e)) else {
            // The sequence delimiter (8 bytes) is missing: the file was cut.
            return Err(cut_short(format!("{what} (end of sequence)"), 8, available));
        };
        match tag {
            (0xFFFE, 0xE0DD) => return Ok(pos + 8),
            (0xFFFE, 0xE000) if u64::from(len) + 8 <= available => pos += 8 + len as usize,
            (0xFFFE, 0xE000) => {
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
