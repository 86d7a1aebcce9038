//! NIfTI-1 label maps: u8 with the image's affine in both the sform and the
//! qform (see [`crate::volume::nifti::save_label_map`]); label names and the
//! rest in the JSON sidecar. Reading also takes names from the label table
//! TotalSegmentator writes in a header extension (see
//! [`crate::annotate::label_files`]).

use std::io::Read;
use std::path::{Path, PathBuf};

use super::{LabelFormatError, LabelMapFile};
use crate::annotate::label_files::{self, LabelFileError, LabelNames, NamesSource};
use crate::volume::{LoadOptions, Volume};

pub(super) fn read(path: &Path, image: &Volume) -> Result<LabelMapFile, LabelFormatError> {
    let volume = crate::volume::nifti::load_nifti_file(path, &LoadOptions::default())?;
    super::plain(path, image, volume)
}

/// Writes the label map (`.nii.gz` compressed); the caller adds the sidecar.
pub(super) fn write(
    path: &Path,
    labels: &[u8],
    image: &Volume,
) -> Result<Vec<PathBuf>, LabelFormatError> {
    crate::volume::nifti::save_label_map(path, labels, image)?;
    Ok(vec![path.to_owned()])
}

/// Most header-extension bytes read: far above any label table
/// (TotalSegmentator's 117 labels take about 15 kB), far below memory.
const MAX_EXTENSION_BYTES: usize = 16 << 20;

/// One NIfTI header extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NiftiExtension {
    /// `ecode` (0 is "unknown", which TotalSegmentator uses).
    pub code: i32,
    /// The content, without `esize` and `ecode`, padding included.
    pub content: Vec<u8>,
}

/// The header extensions of a NIfTI-1 or NIfTI-2 file (plain or gzip):
/// `Ok(None)` when the file is not NIfTI. Reads the header and the bytes
/// up to the data (`vox_offset`) and no more, at most 16 MiB; every
/// extension's size is checked against what was read before use (the
/// `nifti` crate's reader trusts `esize`).
pub fn nifti_extensions(path: &Path) -> Result<Option<Vec<NiftiExtension>>, LabelFileError> {
    let io = |source| LabelFileError::Io {
        path: path.to_owned(),
        source,
    };
    let invalid = |message: String| LabelFileError::Invalid {
        path: path.to_owned(),
        message,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut magic = [0u8; 2];
    let got = file.read(&mut magic).map_err(io)?;
    let file = std::io::Read::chain(&magic[..got], file);
    let mut source: Box<dyn Read + '_> = if magic[..got] == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
            file,
        )))
    } else {
        Box::new(file)
    };
    let mut head = Vec::new();
    (&mut source)
        .take(crate::volume::nifti::NIFTI2_SIZE as u64 + 4)
        .read_to_end(&mut head)
        .map_err(io)?;
    let Some(first) = head.get(..4) else {
        return Ok(None);
    };
    let first: [u8; 4] = [first[0], first[1], first[2], first[3]];
    let (size, big_endian) = match (i32::from_le_bytes(first), i32::from_be_bytes(first)) {
        (348, _) => (348, false),
        (_, 348) => (348, true),
        (540, _) => (540, false),
        (_, 540) => (540, true),
        _ => return Ok(None),
    };
    let word = |bytes: &[u8], at: usize| -> Option<[u8; 4]> {
        let mut w: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        if big_endian {
            w.reverse();
        }
        Some(w)
    };
    let vox_offset = if size == 348 {
        word(&head, 108).map(|w| f32::from_le_bytes(w) as f64)
    } else {
        head.get(168..176).map(|b| {
            let mut w: [u8; 8] = b.try_into().unwrap_or_default();
            if big_endian {
                w.reverse();
            }
            i64::from_le_bytes(w) as f64
        })
    }
    .ok_or_else(|| invalid(format!("NIfTI header cut short at {} bytes", head.len())))?;
    // No extender (a header-only read, or data right after the header) or
    // extender byte 0 clear: no extensions.
    let first_extension = size + 4;
    let room = vox_offset.is_finite() && vox_offset >= first_extension as f64;
    if head.get(size).is_none_or(|&e| e == 0) || !room {
        return Ok(Some(Vec::new()));
    }
    let end = vox_offset.min((first_extension + MAX_EXTENSION_BYTES) as f64) as usize;
    let mut bytes = head;
    (&mut source)
        .take(end.saturating_sub(bytes.len()) as u64)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    bytes.truncate(end);
    let mut out = Vec::new();
    let mut at = first_extension;
    // Padding after the last extension may be zeros: an esize of 0 ends.
    while let (Some(esize), Some(ecode)) = (word(&bytes, at), word(&bytes, at + 4)) {
        let esize = i32::from_le_bytes(esize);
        if esize == 0 {
            break;
        }
        let fits = usize::try_from(esize)
            .ok()
            .filter(|&n| n >= 8 && at + n <= bytes.len());
        let Some(esize) = fits else {
            return Err(invalid(format!(
                "header extension at byte {at} claims {esize} bytes, but {} remain before the \
                 data{}",
                bytes.len() - at,
                if end < vox_offset as usize {
                    " (extensions are read up to 16 MiB)"
                } else {
                    ""
                }
            )));
        };
        out.push(NiftiExtension {
            code: i32::from_le_bytes(ecode),
            content: bytes[at + 8..at + esize].to_vec(),
        });
        at += esize;
    }
    Ok(Some(out))
}

/// Label names from a label table in the file's header extensions, as
/// TotalSegmentator writes it; `None` when the file has none (or is not
/// NIfTI). Problems are warnings: the voxels were read already.
pub fn embedded_names(path: &Path, warnings: &mut Vec<String>) -> Option<LabelNames> {
    let extensions = match nifti_extensions(path) {
        Ok(e) => e?,
        Err(e) => {
            warnings.push(format!(
                "label names not read from the header extensions: {e}"
            ));
            return None;
        }
    };
    for extension in extensions {
        let text = String::from_utf8_lossy(&extension.content);
        let text = text.trim_end_matches(['\0', ' ', '\n', '\r', '\t']);
        if !text.contains("<LabelTable") {
            continue;
        }
        match label_files::parse_caret_label_table(text, path) {
            Ok((label_set, skipped)) => {
                return Some(LabelNames {
                    label_set,
                    source: NamesSource::TotalSegmentator,
                    path: path.to_owned(),
                    warnings: skipped,
                });
            }
            Err(e) => warnings.push(format!("label names not read: {e}")),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A NIfTI-1 header (348 bytes, little-endian) with `vox_offset` and an
    /// extender, then `extensions`.
    fn nifti_bytes(vox_offset: f32, extender: u8, extensions: &[(i32, i32, &[u8])]) -> Vec<u8> {
        let mut b = vec![0u8; 348];
        b[..4].copy_from_slice(&348i32.to_le_bytes());
        b[108..112].copy_from_slice(&vox_offset.to_le_bytes());
        b[344..348].copy_from_slice(b"n+1\0");
        b.extend([extender, 0, 0, 0]);
        for (esize, ecode, content) in extensions {
            b.extend(esize.to_le_bytes());
            b.extend(ecode.to_le_bytes());
            b.extend(*content);
        }
        b
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(bytes).unwrap();
        z.finish().unwrap()
    }

    #[test]
    fn extensions_are_read_within_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.nii");
        let content =
            b"<LabelTable>\n<Label Key=\"1\"><![CDATA[liver]]></Label></LabelTable>\0\0\0";
        let esize = 8 + content.len() as i32;
        let mut bytes = nifti_bytes(352.0 + esize as f32, 1, &[(esize, 0, &content[..])]);
        bytes.extend([0u8; 8]);
        for (name, file) in [("x.nii", bytes.clone()), ("x.nii.gz", gzip(&bytes))] {
            let path = dir.path().join(name);
            std::fs::write(&path, file).unwrap();
            let ext = nifti_extensions(&path).unwrap().unwrap();
            assert_eq!(
                ext,
                [NiftiExtension {
                    code: 0,
                    content: content.to_vec()
                }]
            );
            let mut warnings = Vec::new();
            let names = embedded_names(&path, &mut warnings).unwrap();
            assert_eq!(names.label_set.labels[0].name, "liver");
            assert!(warnings.is_empty());
        }
        // No extender byte, or none at all: no extensions.
        std::fs::write(&path, nifti_bytes(352.0, 0, &[])).unwrap();
        assert_eq!(nifti_extensions(&path).unwrap(), Some(vec![]));
        std::fs::write(&path, &nifti_bytes(352.0, 0, &[])[..348]).unwrap();
        assert_eq!(nifti_extensions(&path).unwrap(), Some(vec![]));
        // Not NIfTI.
        std::fs::write(&path, b"NRRD0004\n").unwrap();
        assert_eq!(nifti_extensions(&path).unwrap(), None);
        // Sizes that overrun the data offset, or are negative or too small,
        // are errors (never allocations).
        for esize in [i32::MAX, -16, 4, 32] {
            std::fs::write(&path, nifti_bytes(368.0, 1, &[(esize, 0, &[0u8; 8][..])])).unwrap();
            let err = nifti_extensions(&path).unwrap_err().to_string();
            assert!(err.contains("x.nii") && err.contains("claims"), "{err}");
            let mut warnings = Vec::new();
            assert!(embedded_names(&path, &mut warnings).is_none());
            assert_eq!(warnings.len(), 1);
        }
    }
}
