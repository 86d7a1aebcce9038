//! Reading and writing label maps for the subcommands (one place, so every
//! command takes the same formats).

use std::path::Path;

use rayseg::annotate::label_files::{load_sidecar, save_sidecar};
use rayseg::annotate::labels::LabelSet;
use rayseg::render::labels::labels_on_grid;
use rayseg::volume::Volume;
use rayseg::volume::nifti::save_label_map;

/// A label map on `image`'s grid and its label set (empty if it has none).
pub fn read(path: &Path, image: &Volume) -> anyhow::Result<(Vec<u8>, LabelSet)> {
    let mask = super::load_label_map(path)?;
    let labels =
        labels_on_grid(image, &mask).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok((labels, load_sidecar(path)?.unwrap_or_default()))
}

/// Writes a label map and its label set; returns the format's name.
pub fn write(
    path: &Path,
    labels: &[u8],
    set: &LabelSet,
    image: &Volume,
) -> anyhow::Result<&'static str> {
    save_label_map(path, labels, image)?;
    save_sidecar(path, set)?;
    Ok("nifti")
}
