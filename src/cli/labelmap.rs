//! Reading and writing label maps for the subcommands, through the label-map
//! format seam (one place, so every command takes the same formats).

use std::path::Path;

use std::sync::Arc;

use rayseg::annotate::document::{Recovery, SegDocument};
use rayseg::annotate::journal::{hex, journal_path, label_map_hash, replay, resolve_author};
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
/// start as a load (or, with `draft` = (model, file), as a model's draft)
/// and the command as one edit.
#[allow(clippy::too_many_arguments)]
pub fn journaled(
    image: Arc<Volume>,
    labels: Vec<u8>,
    set: LabelSet,
    from_file: bool,
    output: &Path,
    author: Option<&str>,
    draft: Option<(&str, &Path)>,
    input: Option<&Path>,
) -> anyhow::Result<SegDocument> {
    if let Some((model, file)) = draft {
        let origin = super::provenance::draft_origin(model, file)?;
        let author = resolve_author(author);
        let (doc, _) =
            SegDocument::open_draft(image, labels, set, origin, &journal_path(output), &author)?;
        return Ok(doc);
    }
    let source = if from_file { "file" } else { "empty" };
    if let Some(input) = input {
        continue_history(input, &labels, image.shape, output)?;
    }
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

/// When `input` (a label map whose journal's last state is `labels`) is
/// edited into `output`, and `output` has no journal yet, the output's journal
/// starts as a copy of the input's: the history (a model's draft, the edits
/// since) follows the map through a chain of commands. Returns whether it did.
pub fn continue_history(
    input: &Path,
    labels: &[u8],
    shape: [usize; 3],
    output: &Path,
) -> anyhow::Result<bool> {
    let from = journal_path(input);
    let to = journal_path(output);
    if to.exists() || !from.exists() || from == to {
        return Ok(false);
    }
    // A journal that does not verify, or whose last state is not this map,
    // is not this map's history.
    let Ok(r) = replay(&from, None) else {
        return Ok(false);
    };
    if r.head_sha256() != hex(&label_map_hash(labels, shape)) {
        return Ok(false);
    }
    let bytes = std::fs::read(&from)?;
    rayseg::annotate::label_files::write_atomic(&to, &bytes)?;
    Ok(true)
}
