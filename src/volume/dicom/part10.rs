//! Turns the DICOM files found in the wild into the bytes dicom-object
//! parses: a 128-byte preamble, "DICM", a valid file meta group, and a data
//! set that ends with the top-level PixelData, in a syntax it reads right.
//!
//! Tolerated, each with a warning (pydicom, GDCM and dcmtk read them too):
//! no preamble or no file meta at all (a bare data set, encoding sniffed),
//! a meta group without its group length or TransferSyntaxUID, meta values
//! longer than their VR allows (an 18-byte AE title), UN elements of undefined
//! length (re-encoded, see `transcode`), and bytes after PixelData. Deflated
//! data sets are inflated here, bounded. Every length is walked first, so the
//! parser never allocates a length the file cannot hold.

use std::borrow::Cow;

use super::syntax::{self, DEFLATED_LE, EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_VR_LE};
use super::transcode;
use super::walk::{self, Encoding, Notes};
use crate::volume::LoadErrorKind;

const PREAMBLE: usize = 128;
/// DataSetTrailingPadding (FFFC,FFFC): legal after PixelData, not worth a warning.
const TRAILING_PADDING: (u16, u16) = (0xFFFC, 0xFFFC);

/// A file's bytes as dicom-object should see them.
pub(crate) struct Part10<'a> {
    pub bytes: Cow<'a, [u8]>,
    pub warnings: Vec<String>,
}

/// What the file meta group said, and whether dicom-object reads it as it is.
#[derive(Default)]
struct Meta {
    transfer_syntax: Option<String>,
    sop_class: Option<String>,
    sop_instance: Option<String>,
    implementation_class: Option<String>,
    /// Offset of the data set.
    end: usize,
    /// Read as it is by dicom-object: group length first, every length within
    /// what dicom-object allows, a TransferSyntaxUID.
    as_is: bool,
}

/// Locates the meta group and data set, checks every length, and rebuilds
/// what dicom-object would refuse. Errors say why the bytes are not DICOM.
pub(crate) fn canonicalise(bytes: &[u8]) -> Result<Part10<'_>, LoadErrorKind> {
    let mut warnings = Vec::new();
    let meta_at = if syntax::has_dicm_marker(bytes) {
        Some(PREAMBLE + 4)
    } else if bytes.starts_with(b"DICM") {
        warnings.push("no 128-byte preamble before \"DICM\"".to_string());
        Some(4)
    } else if walk::read_tag(bytes, 0, Encoding::EXPLICIT_LE).is_some_and(|t| t.0 == 0x0002) {
        warnings.push("no preamble and no \"DICM\" marker before the file meta group".to_string());
        Some(0)
    } else {
        None
    };
    let meta = match meta_at {
        Some(at) => read_meta(bytes, at, &mut warnings)?,
        None => Meta {
            end: 0,
            ..Meta::default()
        },
    };
    let data = bytes.get(meta.end..).unwrap_or(&[]);
    let transfer_syntax = match &meta.transfer_syntax {
        Some(ts) => ts.clone(),
        None => {
            let Some(ts) = sniff_encoding(data, meta_at.is_some()) else {
                return Err(not_dicom(bytes, meta_at.is_some()));
            };
            warnings.push(if meta_at.is_some() {
                format!(
                    "the file meta group has no TransferSyntaxUID: the data set reads as {}",
                    syntax::name_of(ts).unwrap_or(ts)
                )
            } else {
                format!(
                    "no preamble or file meta group: read as a bare data set in {} \
                     (as dcmtk and pydicom do when forced)",
                    syntax::name_of(ts).unwrap_or(ts)
                )
            });
            ts.to_string()
        }
    };
    syntax::check_supported(&transfer_syntax)?;
    let (data, transfer_syntax): (Cow<[u8]>, String) = if transfer_syntax == DEFLATED_LE {
        (
            Cow::Owned(syntax::inflate_bounded(data)?),
            EXPLICIT_LE.into(),
        )
    } else {
        (Cow::Borrowed(data), transfer_syntax)
    };
    let declared = encoding_of(&transfer_syntax);
    // pydicom's check: a data set whose first element contradicts the
    // syntax the meta group names (SC_rgb_jpeg.dcm is implicit VR under a
    // JPEG syntax) is read in the syntax it is actually in.
    let encoding = match sniff_encoding(&data, true).map(encoding_of) {
        Some(actual) if actual.explicit != declared.explicit && !declared.big_endian => {
            warnings.push(format!(
                "the file meta group names {} but the data set is {}: read as such",
                syntax::name_of(&transfer_syntax).unwrap_or(&transfer_syntax),
                if actual.explicit {
                    "explicit VR"
                } else {
                    "implicit VR"
                }
            ));
            actual
        }
        _ => declared,
    };
    let mut notes = Notes::default();
    let walked = walk::walk_data_set(&data, encoding, &mut notes);
    let end = match walked {
        Ok(end) => end,
        // A bare "data set" that does not walk was probably never DICOM.
        Err(_) if meta_at.is_none() => return Err(not_dicom(bytes, false)),
        Err(e) if meta.transfer_syntax.is_none() => {
            return Err(LoadErrorKind::Corrupt(format!(
                "the file meta group has no TransferSyntaxUID, and the data set after it \
                 does not parse: {e}"
            )));
        }
        Err(e) => return Err(e),
    };
    if let Some(end) = end
        && let Some(rest) = data.get(end..)
        && rest.iter().any(|&b| b != 0)
        && walk::read_tag(rest, 0, encoding) != Some(TRAILING_PADDING)
    {
        warnings.push(format!("{} byte(s) after PixelData ignored", rest.len()));
    }
    let data_end = end.unwrap_or(data.len());
    let mut data = match data {
        Cow::Borrowed(d) => Cow::Borrowed(&d[..data_end]),
        Cow::Owned(mut d) => {
            d.truncate(data_end);
            Cow::Owned(d)
        }
    };
    let mut transfer_syntax = transfer_syntax;
    if encoding != declared {
        if declared.explicit {
            // Encapsulated syntaxes must stay: the data set becomes explicit.
            data = Cow::Owned(transcode::rewrite(
                &data,
                encoding,
                Encoding::EXPLICIT_LE,
                &mut warnings,
            )?);
        } else {
            transfer_syntax = EXPLICIT_LE.to_string();
        }
    } else if !notes.un_sequences.is_empty() {
        data = Cow::Owned(transcode::rewrite(
            &data,
            encoding,
            encoding,
            &mut warnings,
        )?);
    }
    if !notes.un_sequences.is_empty() && !encoding.big_endian {
        let tags: Vec<String> = notes
            .un_sequences
            .iter()
            .map(|t| format!("({:04X},{:04X})", t.0, t.1))
            .collect();
        warnings.push(format!(
            "UN element(s) of undefined length read as implicit VR sequences: {}",
            tags.join(", ")
        ));
    }
    let keep = meta.as_is && meta_at == Some(PREAMBLE + 4) && matches!(data, Cow::Borrowed(_));
    let bytes = if keep {
        Cow::Borrowed(&bytes[..meta.end + data_end])
    } else {
        let mut out = Vec::with_capacity(data.len() + 512);
        out.resize(PREAMBLE, 0);
        out.extend_from_slice(b"DICM");
        write_meta(&mut out, &meta, &transfer_syntax);
        out.extend_from_slice(&data);
        Cow::Owned(out)
    };
    Ok(Part10 { bytes, warnings })
}

/// Whether a file starting with `head` (its first 136 bytes or fewer) may be
/// DICOM at all: the cheap test before a folder's files are read whole.
pub(crate) fn could_be_dicom(head: &[u8]) -> bool {
    syntax::has_dicm_marker(head)
        || head.starts_with(b"DICM")
        || walk::read_tag(head, 0, Encoding::EXPLICIT_LE).is_some_and(|t| t.0 == 0x0002)
        || sniff_encoding(head, false).is_some()
}

fn encoding_of(transfer_syntax: &str) -> Encoding {
    match transfer_syntax {
        IMPLICIT_VR_LE => Encoding::IMPLICIT_LE,
        EXPLICIT_BE => Encoding::EXPLICIT_BE,
        _ => Encoding::EXPLICIT_LE,
    }
}

fn not_dicom(bytes: &[u8], had_meta: bool) -> LoadErrorKind {
    if had_meta {
        return LoadErrorKind::Corrupt(
            "the file meta group has no TransferSyntaxUID and the data set after it \
             is in no syntax that could be recognised"
                .into(),
        );
    }
    LoadErrorKind::NotRecognised(format!(
        "no \"DICM\" marker at byte 128, and the first bytes are not a DICOM data set \
         ({} bytes): not a DICOM file",
        bytes.len()
    ))
}

/// The longest value dicom-object 0.10 accepts for each meta element it checks.
fn meta_limit(element: u16) -> Option<(usize, &'static str)> {
    match element {
        0x0002 | 0x0003 | 0x0010 | 0x0012 | 0x0100 => Some((64, "UI")),
        0x0013 => Some((16, "SH")),
        0x0016..=0x0018 => Some((16, "AE")),
        _ => None,
    }
}

fn meta_name(element: u16) -> &'static str {
    match element {
        0x0002 => "MediaStorageSOPClassUID",
        0x0003 => "MediaStorageSOPInstanceUID",
        0x0010 => "TransferSyntaxUID",
        0x0012 => "ImplementationClassUID",
        0x0013 => "ImplementationVersionName",
        0x0016 => "SourceApplicationEntityTitle",
        0x0017 => "SendingApplicationEntityTitle",
        0x0018 => "ReceivingApplicationEntityTitle",
        0x0100 => "PrivateInformationCreatorUID",
        _ => "a file meta element",
    }
}

fn read_meta(bytes: &[u8], at: usize, warnings: &mut Vec<String>) -> Result<Meta, LoadErrorKind> {
    let mut meta = Meta {
        as_is: true,
        ..Meta::default()
    };
    let mut pos = at;
    let mut first = true;
    let mut declared_end = None;
    let mut notes = Notes::default();
    while walk::read_tag(bytes, pos, Encoding::EXPLICIT_LE).is_some_and(|t| t.0 == 0x0002) {
        let h = walk::read_header(bytes, pos, Encoding::EXPLICIT_LE)?;
        let next = walk::walk_element(bytes, pos, Encoding::EXPLICIT_LE, 0, &mut notes)?;
        let value = bytes.get(h.value_at..next).unwrap_or(&[]);
        let element = h.tag.1;
        if first && element != 0x0000 {
            warnings.push("the file meta group has no group length (0002,0000)".to_string());
            meta.as_is = false;
        }
        first = false;
        if element == 0x0000 && value.len() == 4 {
            let len = u32::from_le_bytes([value[0], value[1], value[2], value[3]]);
            declared_end = next.checked_add(len as usize);
        }
        if let Some((limit, vr)) = meta_limit(element)
            && value.len() > limit
        {
            warnings.push(format!(
                "file meta element (0002,{element:04X}) {} is {} bytes, longer than {vr} \
                 allows ({limit}): ignored",
                meta_name(element),
                value.len()
            ));
            meta.as_is = false;
        } else {
            let text = || {
                let s = String::from_utf8_lossy(value);
                Some(s.trim_end_matches(['\0', ' ']).trim_start().to_string())
                    .filter(|s| !s.is_empty())
            };
            match element {
                0x0002 => meta.sop_class = text(),
                0x0003 => meta.sop_instance = text(),
                0x0010 => meta.transfer_syntax = text(),
                0x0012 => meta.implementation_class = text(),
                _ => {}
            }
        }
        pos = next;
    }
    if declared_end.is_some_and(|end| end != pos) {
        // dicom-object reads exactly the declared group length.
        warnings.push("the file meta group length does not match its elements".to_string());
        meta.as_is = false;
    }
    if meta.transfer_syntax.is_none() {
        meta.as_is = false;
    }
    meta.end = pos;
    Ok(meta)
}

/// A minimal valid meta group: what dicom-object needs, nothing identifying.
fn write_meta(out: &mut Vec<u8>, meta: &Meta, transfer_syntax: &str) {
    let mut group = Vec::new();
    let mut element = |el: u16, vr: &[u8; 2], value: &[u8]| {
        let mut value = value.to_vec();
        if value.len() % 2 == 1 {
            value.push(0);
        }
        group.extend(0x0002u16.to_le_bytes());
        group.extend(el.to_le_bytes());
        group.extend(vr);
        if vr == b"OB" {
            group.extend([0, 0]);
            group.extend((value.len() as u32).to_le_bytes());
        } else {
            group.extend((value.len() as u16).to_le_bytes());
        }
        group.extend(value);
    };
    element(0x0001, b"OB", &[0, 1]);
    if let Some(uid) = &meta.sop_class {
        element(0x0002, b"UI", uid.as_bytes());
    }
    if let Some(uid) = &meta.sop_instance {
        element(0x0003, b"UI", uid.as_bytes());
    }
    element(0x0010, b"UI", transfer_syntax.as_bytes());
    if let Some(uid) = &meta.implementation_class {
        element(0x0012, b"UI", uid.as_bytes());
    }
    out.extend(0x0002u16.to_le_bytes());
    out.extend(0x0000u16.to_le_bytes());
    out.extend(b"UL");
    out.extend(4u16.to_le_bytes());
    out.extend((group.len() as u32).to_le_bytes());
    out.extend(group);
}

/// The syntax a data set is in, from its first element: a plausible group
/// read in either byte order, and whether a VR follows the tag. Without a
/// meta group to vouch for the file, the group must be one that data sets
/// start with (nearly always 0x0008), so that other files are not taken.
fn sniff_encoding(data: &[u8], after_meta: bool) -> Option<&'static str> {
    let head = data.get(..8)?;
    let le_group = u16::from_le_bytes([head[0], head[1]]);
    let be_group = u16::from_be_bytes([head[0], head[1]]);
    let plausible = |g: u16| {
        if after_meta {
            (0x0001..0xFFFE).contains(&g)
        } else {
            matches!(g, 0x0002..=0x0028) && g.is_multiple_of(2)
        }
    };
    let vr: [u8; 2] = [head[4], head[5]];
    let explicit = dicom_core::VR::from_binary(vr).is_some();
    match (plausible(le_group), plausible(be_group), explicit) {
        (true, _, true) => Some(EXPLICIT_LE),
        (true, _, false) => Some(IMPLICIT_VR_LE),
        (false, true, true) => Some(EXPLICIT_BE),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts_of(p: &Part10) -> String {
        let meta = dicom_object::FileMetaTable::from_reader(&p.bytes[128..]).unwrap();
        meta.transfer_syntax().trim_end_matches('\0').to_string()
    }

    fn meta_element(el: u16, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(0x0002u16.to_le_bytes());
        out.extend(el.to_le_bytes());
        out.extend(vr);
        out.extend((value.len() as u16).to_le_bytes());
        out.extend(value);
        out
    }

    fn data_set() -> Vec<u8> {
        let mut d = Vec::new();
        d.extend([0x08, 0x00, 0x60, 0x00]);
        d.extend(b"CS");
        d.extend(2u16.to_le_bytes());
        d.extend(b"MR");
        d
    }

    #[test]
    fn long_ae_title_is_dropped_with_a_warning() {
        let mut group = meta_element(0x0010, b"UI", b"1.2.840.10008.1.2.1\0");
        group.extend(meta_element(0x0016, b"AE", b"EIGHTEEN-BYTES-AE!"));
        let mut bytes = vec![0u8; 128];
        bytes.extend(b"DICM");
        bytes.extend(meta_element(
            0x0000,
            b"UL",
            &(group.len() as u32).to_le_bytes(),
        ));
        bytes.extend(&group);
        bytes.extend(data_set());
        let p = canonicalise(&bytes).unwrap();
        assert_eq!(ts_of(&p), EXPLICIT_LE);
        assert!(
            p.warnings.iter().any(|w| w.contains("18 bytes")),
            "{:?}",
            p.warnings
        );
        assert!(matches!(p.bytes, Cow::Owned(_)));
        assert!(p.bytes.ends_with(&data_set()));
    }

    #[test]
    fn bare_data_sets_are_sniffed() {
        let bare = data_set();
        let p = canonicalise(&bare).unwrap();
        assert_eq!(ts_of(&p), EXPLICIT_LE);
        assert!(p.warnings[0].contains("bare data set"), "{:?}", p.warnings);
        let mut implicit = vec![0x08, 0x00, 0x60, 0x00, 2, 0, 0, 0];
        implicit.extend(b"MR");
        assert_eq!(ts_of(&canonicalise(&implicit).unwrap()), IMPLICIT_VR_LE);
        let big = [0x00, 0x08, 0x00, 0x60, b'C', b'S', 0, 2, b'M', b'R'];
        assert_eq!(ts_of(&canonicalise(&big).unwrap()), EXPLICIT_BE);
    }

    #[test]
    fn other_files_are_not_dicom() {
        for bytes in [&b"\x89PNG\r\n\x1a\n0000000000"[..], b"hello", b""] {
            let err = canonicalise(bytes).err().unwrap();
            assert!(matches!(err, LoadErrorKind::NotRecognised(_)), "{err}");
        }
    }

    #[test]
    fn canonical_files_are_borrowed_and_cut_after_pixel_data() {
        let ts = b"1.2.840.10008.1.2.1\0";
        let group = meta_element(0x0010, b"UI", ts);
        let mut bytes = vec![0u8; 128];
        bytes.extend(b"DICM");
        bytes.extend(meta_element(
            0x0000,
            b"UL",
            &(group.len() as u32).to_le_bytes(),
        ));
        bytes.extend(&group);
        bytes.extend(data_set());
        bytes.extend([0xE0, 0x7F, 0x10, 0x00]);
        bytes.extend(b"OW\0\0");
        bytes.extend(2u32.to_le_bytes());
        bytes.extend([1, 2]);
        let len = bytes.len();
        bytes.extend([7u8; 10]);
        let p = canonicalise(&bytes).unwrap();
        assert!(matches!(p.bytes, Cow::Borrowed(_)));
        assert_eq!(p.bytes.len(), len);
        assert!(
            p.warnings[0].contains("10 byte(s) after PixelData"),
            "{:?}",
            p.warnings
        );
    }
}
