//! MetaImage label maps: `MET_UCHAR`, zlib-compressed (`CompressedData`), with
//! the image's geometry in LPS as ITK writes it (`Offset`, `TransformMatrix`
//! holding the unit direction of i, then j, then k, and `ElementSpacing`);
//! label names and the rest in the JSON sidecar. A `.mhd` name gets its data
//! in a detached `<stem>.zraw`.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{COMPRESSION_LEVEL, LabelFormatError, LabelMapFile, num};
use crate::volume::{LoadOptions, Volume};

pub(super) fn read(path: &Path, image: &Volume) -> Result<LabelMapFile, LabelFormatError> {
    let volume = crate::volume::metaimage::load_metaimage_file(path, &LoadOptions::default())?;
    super::plain(path, image, volume)
}

fn header(image: &Volume, compressed_size: usize, data_file: &str) -> String {
    let m = image.ras_from_voxel;
    let lps = |v: glam::DVec3| [-v.x, -v.y, v.z];
    let mut matrix = Vec::with_capacity(9);
    for (axis, spacing) in [m.x_axis, m.y_axis, m.z_axis].iter().zip(image.spacing_mm) {
        let s = if spacing > 0.0 { spacing } else { 1.0 };
        matrix.extend(lps(axis.truncate() / s).map(num));
    }
    let [ox, oy, oz] = lps(m.w_axis.truncate()).map(num);
    let [sx, sy, sz] = image.spacing_mm.map(num);
    let [ni, nj, nk] = image.shape;
    format!(
        "ObjectType = Image\n\
         NDims = 3\n\
         BinaryData = True\n\
         BinaryDataByteOrderMSB = False\n\
         CompressedData = True\n\
         CompressedDataSize = {compressed_size}\n\
         TransformMatrix = {}\n\
         Offset = {ox} {oy} {oz}\n\
         CenterOfRotation = 0 0 0\n\
         ElementSpacing = {sx} {sy} {sz}\n\
         DimSize = {ni} {nj} {nk}\n\
         ElementType = MET_UCHAR\n\
         ElementDataFile = {data_file}\n",
        matrix.join(" "),
    )
}

/// Writes the label map; the caller adds the sidecar.
pub(super) fn write(
    path: &Path,
    labels: &[u8],
    image: &Volume,
) -> Result<Vec<PathBuf>, LabelFormatError> {
    let io = |e| LabelFormatError::io(path, e);
    let mut z = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(labels.len() / 16 + 64),
        flate2::Compression::new(COMPRESSION_LEVEL),
    );
    z.write_all(labels).map_err(io)?;
    let compressed = z.finish().map_err(io)?;
    let detached = path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().to_ascii_lowercase().ends_with(".mhd"));
    if !detached {
        let text = header(image, compressed.len(), "LOCAL");
        super::write_atomic_with(path, |out| {
            out.write_all(text.as_bytes())?;
            out.write_all(&compressed)
        })?;
        return Ok(vec![path.to_owned()]);
    }
    let data = super::sibling(path, ".mhd", ".zraw");
    let name = data
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = header(image, compressed.len(), &name);
    super::write_atomic_with(&data, |out| out.write_all(&compressed))?;
    super::write_atomic_with(path, |out| out.write_all(text.as_bytes()))?;
    Ok(vec![path.to_owned(), data])
}
