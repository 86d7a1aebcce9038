//! NIfTI-1 label maps: u8 with the image's affine in both the sform and the
//! qform (see [`crate::volume::nifti::save_label_map`]); label names and the
//! rest in the JSON sidecar.

use std::path::{Path, PathBuf};

use super::{LabelFormatError, LabelMapFile};
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
