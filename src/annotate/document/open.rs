//! Opening a document with its journal: a new journal starts with the image's
//! identity; an existing one is read (verified), continued, and its edits made
//! after the last save (a crash, a kill) are offered back.

use std::path::Path;
use std::sync::Arc;

use super::{DocumentError, SegDocument};
use crate::annotate::journal::{
    ImageId, Journal, Replay, entry::EntryKind, hex, image_id, label_map_hash, replay,
};
use crate::annotate::labels::LabelSet;
use crate::annotate::provenance::DraftOrigin;
use crate::volume::Volume;

/// What to do with edits the journal holds after its last save.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// Start from the journal's last state (the edits are kept).
    Restore,
    /// Start from the given map; the journal records the switch (nothing is erased).
    Discard,
}

/// What opening found.
#[derive(Clone, Debug, Default)]
pub struct OpenReport {
    /// Entries after the last save that were restored (or discarded).
    pub unsaved_entries: usize,
    /// Of those, edits that changed voxels.
    pub unsaved_edits: usize,
    pub restored: bool,
    /// Torn last line dropped, and the like.
    pub warnings: Vec<String>,
    /// Whether the journal existed before.
    pub continued: bool,
}

impl SegDocument {
    /// Opens `labels`/`label_set` on `image` with the journal at `journal_path`
    /// (created if absent). With unsaved edits in the journal, `recovery`
    /// decides where the document starts.
    pub fn open(
        image: Arc<Volume>,
        labels: Vec<u8>,
        label_set: LabelSet,
        source: &str,
        journal_path: &Path,
        author: &str,
        recovery: Recovery,
    ) -> Result<(SegDocument, OpenReport), DocumentError> {
        let id = image_id(&image);
        Self::open_identified(
            image,
            id,
            labels,
            label_set,
            source,
            journal_path,
            author,
            recovery,
        )
    }

    /// [`Self::open`] with the image's identity already computed (it hashes
    /// every voxel).
    #[allow(clippy::too_many_arguments)]
    pub fn open_identified(
        image: Arc<Volume>,
        id: ImageId,
        labels: Vec<u8>,
        label_set: LabelSet,
        source: &str,
        journal_path: &Path,
        author: &str,
        recovery: Recovery,
    ) -> Result<(SegDocument, OpenReport), DocumentError> {
        let mut report = OpenReport::default();
        if !journal_path.exists() {
            let empty = vec![0u8; image.voxel_count()];
            let empty_hash = hex(&label_map_hash(&empty, image.shape));
            let mut doc = SegDocument::new(image, empty, LabelSet::default(), author)?;
            doc.journal = Some(Journal::create(journal_path, id, author, empty_hash)?);
            doc.load(labels, label_set, source)?;
            return Ok((doc, report));
        }
        let r: Replay = replay(journal_path, None)?;
        if r.image.image_sha256 != id.image_sha256 || r.image.shape != id.shape {
            return Err(DocumentError::OtherImage {
                path: journal_path.to_owned(),
                journal: r.image.image_sha256.clone(),
                image: id.image_sha256,
            });
        }
        report.continued = true;
        report.warnings = r.warnings.clone();
        let unsaved = r.unsaved();
        report.unsaved_entries = unsaved.len();
        report.unsaved_edits = unsaved
            .iter()
            .filter(|e| e.changes_map() && e.kind != EntryKind::Load)
            .count();
        let journal = Journal::resume(journal_path, &r, author)?;
        let restore = recovery == Recovery::Restore && !unsaved.is_empty();
        let Replay {
            labels: head,
            label_set: head_set,
            entries,
            ..
        } = r;
        let mut doc = SegDocument::new(image, head, head_set.clone(), author)?;
        doc.journal = Some(journal);
        doc.restore_draft(journal_path, &entries)?;
        if restore {
            report.restored = true;
            // What was saved is not this state: the document is dirty.
            doc.saved_sha256.clear();
        } else if doc.labels != labels || head_set != label_set {
            doc.load(labels, label_set, source)?;
        }
        Ok((doc, report))
    }
}

impl SegDocument {
    /// Opens a model's draft as the start of human editing: on a new journal
    /// the draft is the first entry after the image's; on an existing one
    /// (edits of the same image before) it replaces the journal's last state
    /// and becomes the baseline provenance compares with.
    pub fn open_draft(
        image: Arc<Volume>,
        draft: Vec<u8>,
        label_set: LabelSet,
        origin: DraftOrigin,
        journal_path: &Path,
        author: &str,
    ) -> Result<(SegDocument, OpenReport), DocumentError> {
        let id = image_id(&image);
        Self::open_draft_identified(image, id, draft, label_set, origin, journal_path, author)
    }

    /// [`Self::open_draft`] with the image's identity already computed.
    pub fn open_draft_identified(
        image: Arc<Volume>,
        id: ImageId,
        draft: Vec<u8>,
        label_set: LabelSet,
        origin: DraftOrigin,
        journal_path: &Path,
        author: &str,
    ) -> Result<(SegDocument, OpenReport), DocumentError> {
        let (mut doc, report) = if journal_path.exists() {
            let r: Replay = replay(journal_path, None)?;
            Self::open_identified(
                image,
                id,
                r.labels,
                r.label_set,
                "journal",
                journal_path,
                author,
                Recovery::Restore,
            )?
        } else {
            let empty = vec![0u8; image.voxel_count()];
            let empty_hash = hex(&label_map_hash(&empty, image.shape));
            let mut doc = SegDocument::new(image, empty, LabelSet::default(), author)?;
            doc.journal = Some(Journal::create(journal_path, id, author, empty_hash)?);
            (doc, OpenReport::default())
        };
        doc.load_draft(draft, label_set, origin)?;
        Ok((doc, report))
    }
}
