//! Plain NRRD label maps: u8, gzip, with the image's geometry in LPS
//! (`space: left-posterior-superior`, `space directions`, `space origin`), as
//! ITK and 3D Slicer write them; label names and the rest in the JSON sidecar.
//! A `.nhdr` name gets its data in a detached `<stem>.raw.gz`.
//!
//! The writer is shared with [`super::seg_nrrd`], which adds its segment
//! fields as `key:=value` lines; the reader hands files holding them there.

use std::io::Write;
use std::path::{Path, PathBuf};

use glam::DVec3;

use super::{COMPRESSION_LEVEL, GZIP_CHUNK, LabelFormatError, LabelMapFile, num, seg_nrrd};
use crate::volume::nifti::write_gzip;
use crate::volume::{LoadOptions, Volume};

pub(super) fn read(path: &Path, image: &Volume) -> Result<LabelMapFile, LabelFormatError> {
    let key_values = crate::volume::nrrd::read_key_values(path)?;
    if seg_nrrd::is_segmentation(&key_values) {
        return seg_nrrd::read(path, image, &key_values);
    }
    let volume = crate::volume::nrrd::load_nrrd_file(path, &LoadOptions::default())?;
    super::plain(path, image, volume)
}

/// teem's escaping of a `key:=value` line: `\` and newlines escaped, other
/// line-breaking whitespace made a space.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' | '\u{b}' | '\u{c}' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The image's grid as NRRD fields, LPS as ITK and Slicer write it.
fn geometry(image: &Volume) -> String {
    let lps = |v: DVec3| format!("({},{},{})", num(-v.x), num(-v.y), num(v.z));
    let m = image.ras_from_voxel;
    let [ni, nj, nk] = image.shape;
    format!(
        "type: unsigned char\n\
         dimension: 3\n\
         space: left-posterior-superior\n\
         sizes: {ni} {nj} {nk}\n\
         space directions: {} {} {}\n\
         kinds: domain domain domain\n\
         encoding: gzip\n\
         space origin: {}\n",
        lps(m.x_axis.truncate()),
        lps(m.y_axis.truncate()),
        lps(m.z_axis.truncate()),
        lps(m.w_axis.truncate()),
    )
}

/// Writes u8 `labels` on `image`'s grid as gzip NRRD, with `key_values` as
/// `key:=value` lines; returns the files written.
pub(super) fn write(
    path: &Path,
    labels: &[u8],
    image: &Volume,
    key_values: &[(String, String)],
) -> Result<Vec<PathBuf>, LabelFormatError> {
    let mut header = String::from(
        "NRRD0004\n\
         # Complete NRRD file format specification at:\n\
         # http://teem.sourceforge.net/nrrd/format.html\n",
    );
    header.push_str(&geometry(image));
    for (key, value) in key_values {
        header.push_str(&format!("{}:={}\n", escape(key), escape(value)));
    }
    let gzip =
        |mut out: &mut dyn Write| write_gzip(&mut out, &[labels], COMPRESSION_LEVEL, GZIP_CHUNK);
    let detached = path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().to_ascii_lowercase().ends_with(".nhdr"));
    if !detached {
        header.push('\n');
        super::write_atomic_with(path, |out| {
            out.write_all(header.as_bytes())?;
            gzip(out)
        })?;
        return Ok(vec![path.to_owned()]);
    }
    let data = super::sibling(path, ".nhdr", ".raw.gz");
    let data_name = data
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    header.push_str(&format!("data file: {data_name}\n\n"));
    super::write_atomic_with(&data, gzip)?;
    super::write_atomic_with(path, |out| out.write_all(header.as_bytes()))?;
    Ok(vec![path.to_owned(), data])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_teem() {
        assert_eq!(escape("a\\b\nc\rd"), "a\\\\b\\nc d");
    }
}
