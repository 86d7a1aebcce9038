//! Reading and writing label maps for the subcommands, through the label-map
//! format seam (one place, so every command takes the same formats).

use std::path::Path;

use std::sync::Arc;

use rayseg::annotate::document::{Recovery, SegDocument};
use rayseg::annotate::journal::{journal_path, resolve_author};
use rayseg::annotate::label_formats::{LabelFormat, output_format, write_label_map};
use rayseg::annotate::labels::LabelSet;
use rayseg::volume::Volume;

/// A label map on `image`'s grid and its label set (empty if it has none).
pub fn read(path: &Path, image: &Volume) -> anyhow::Result<(Vec<u8>, LabelSet)> {
    let file = super::load_label_map(path, image)?;
    Ok((file.labels, file.label_set.unwrap_or_default()))
}

/// Writes a label map and its label set (atomically); returns the format's
/// name (for the journal's save entry) and the files written.
pub fn write(
    path: &Path,
    labels: &[u8],
    set: &LabelSet,
    image: &Volume,
    format: Option<LabelFormat>,
) -> anyhow::Result<(&'static str, String)> {
    let chosen = output_format(path, format)?;
    let written = write_label_map(path, labels, set, image, format)?;
    let written: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    Ok((chosen.name(), written.join(" and ")))
}

/// The document a one-shot command (brush, grow) edits: its starting map
/// (`--mask`, or empty) on the journal beside `output`, which records the
/// start as a load and the command as one edit.
pub fn journaled(
    image: Arc<Volume>,
    labels: Vec<u8>,
    set: LabelSet,
    from_file: bool,
    output: &Path,
    author: Option<&str>,
) -> anyhow::Result<SegDocument> {
    let source = if from_file { "file" } else { "empty" };
    let (doc, _) = SegDocument::open(
        image,
        labels,
        set,
        source,
        &journal_path(output),
        &resolve_author(author),
        Recovery::Discard,
    )?;
    Ok(doc)
}
