//! Transfer syntaxes and the diagnosis of files that fail to parse.

use dicom_dictionary_std::tags;
use dicom_object::file::ReadPreamble;
use dicom_object::{FileMetaTable, OpenFileOptions};

use super::header;
use super::walk::{self, Encoding, Notes};
use crate::volume::LoadErrorKind;

pub(crate) const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";
pub(crate) const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
pub(crate) const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";
pub(crate) const DEFLATED_LE: &str = "1.2.840.10008.1.2.1.99";

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

pub(crate) fn name_of(uid: &str) -> Option<&'static str> {
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

/// Why the file meta group could not be read.
#[derive(Debug, thiserror::Error)]
enum MetaError {
    #[error(transparent)]
    Walk(LoadErrorKind),
    #[error(transparent)]
    Panic(#[from] super::DecoderPanic),
    #[error(transparent)]
    Read(#[from] dicom_object::meta::Error),
}

/// dicom-object's meta table, read only after every meta element's length
/// has been checked against the bytes that follow it.
fn checked_meta_table(bytes: &[u8]) -> Result<FileMetaTable, MetaError> {
    let meta = bytes.get(132..).unwrap_or(&[]);
    let mut pos = 0usize;
    while let Some(head) = meta.get(pos..pos + 4) {
        if u16::from_le_bytes([head[0], head[1]]) != 0x0002 {
            break;
        }
        pos = walk::walk_element(meta, pos, Encoding::EXPLICIT_LE, 0, &mut Notes::default())
            .map_err(MetaError::Walk)?;
    }
    Ok(super::guard(|| {
        FileMetaTable::from_reader(bytes.get(128..).unwrap_or(&[]))
    })??)
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
        Ok(meta) => meta,
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
    let Ok(meta) = checked_meta_table(bytes) else {
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

/// Inflates a deflated data set, refusing streams that are corrupt or expand
/// beyond what deflate can (about 1032:1).
pub(crate) fn inflate_bounded(compressed: &[u8]) -> Result<Vec<u8>, LoadErrorKind> {
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
