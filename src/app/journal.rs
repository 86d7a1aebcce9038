//! The app's edit journal: every edit is on disk when it is made (the core
//! journal), so after a crash reopening the image offers the edits made since
//! the last save. Where it lives: beside the label map once the document has
//! one, else under the config folder keyed by the image's content hash
//! (never its path).

use std::path::{Path, PathBuf};

use super::state::Document;
use crate::annotate::document::{Recovery, SegDocument};
use crate::annotate::journal::{journal_path, replay, resolve_author};
use crate::annotate::provenance::DraftOrigin;

/// Edits a journal holds after its last save, offered back on opening.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalOffer {
    pub path: PathBuf,
    pub entries: usize,
}

/// The journal of `doc`: beside its label map, or under `config_dir`.
pub fn path_for(doc: &Document, config_dir: &Path) -> PathBuf {
    match &doc.labels_path {
        Some(p) => journal_path(p),
        None => {
            let id = doc.image_id();
            config_dir
                .join("journals")
                .join(format!("{}.journal.jsonl", &id.image_sha256[..32]))
        }
    }
}

/// Some when the journal at `path` holds edits made after its last save.
pub fn unsaved(path: &Path) -> Option<JournalOffer> {
    let r = replay(path, None).ok()?;
    let entries = r.unsaved().len();
    (entries > 0).then(|| JournalOffer {
        path: path.to_owned(),
        entries,
    })
}

/// Opens `doc`'s segmentation on the journal at `path` (created if absent).
pub fn attach(doc: &mut Document, path: &Path, recovery: Recovery) -> Result<bool, String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let source = if doc.labels_path.is_some() {
        "file"
    } else {
        "empty"
    };
    let (seg, report) = SegDocument::open_identified(
        doc.volume.clone(),
        doc.image_id().clone(),
        doc.labels().to_vec(),
        doc.label_set().clone(),
        source,
        path,
        &resolve_author(None),
        recovery,
    )
    .map_err(|e| e.to_string())?;
    doc.replace_seg(seg, report.restored);
    Ok(report.restored)
}

/// Records the document's map as a model's draft (`model`, read from
/// `file`): on the journal at `path` where there is one, else in memory only.
pub fn attach_draft(
    doc: &mut Document,
    path: Option<&Path>,
    model: &str,
    file: &Path,
) -> Result<(), String> {
    let origin =
        DraftOrigin::from_file(model, file).map_err(|e| format!("{}: {e}", file.display()))?;
    let labels = doc.labels().to_vec();
    let set = doc.label_set().clone();
    let Some(path) = path else {
        doc.seg
            .load_draft(labels, set, origin)
            .map_err(|e| e.to_string())?;
        return Ok(());
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let (seg, _) = SegDocument::open_draft_identified(
        doc.volume.clone(),
        doc.image_id().clone(),
        labels,
        set,
        origin,
        path,
        &resolve_author(None),
    )
    .map_err(|e| e.to_string())?;
    doc.replace_seg(seg, false);
    Ok(())
}

/// After the map was written to `map`: records the save, and moves the
/// journal beside the map (or continues the one already there).
pub fn saved(doc: &mut Document, map: &Path, format: &str) -> Result<(), String> {
    doc.seg.mark_saved(format).map_err(|e| e.to_string())?;
    let target = journal_path(map);
    let current = doc.seg.journal().map(|j| j.path().to_owned());
    if current.as_deref() == Some(target.as_path()) {
        return Ok(());
    }
    if let Some(cur) = &current
        && !target.exists()
    {
        // The whole history moves with the map (a copy if across devices).
        if std::fs::rename(cur, &target).is_err() {
            std::fs::copy(cur, &target).map_err(|e| format!("{}: {e}", target.display()))?;
            let _ = std::fs::remove_file(cur);
        }
    }
    attach(doc, &target, Recovery::Discard)?;
    doc.seg.mark_saved(format).map_err(|e| e.to_string())?;
    Ok(())
}
