//! The segmentation document: the label map on the image grid, its label set,
//! undo/redo and the journal. Headless (no egui, no winit, no GPU): the app and
//! the CLI build edit requests ([`EditOp`], or engine strokes and grow regions
//! computed on the GPU) and show what comes back.
//!
//! Every edit goes through one seam, [`SegDocument::commit`]: a [`Change`]
//! confined to a box, which undo, the journal, the per-label counts, the
//! label-map hash and the GPU upload list all consume. Nothing per edit costs
//! the whole grid.

pub mod change;
mod draft;
mod edits;
pub mod effect_ops;
pub mod effects;
mod effects_two;
mod open;
pub mod ops;
pub mod preview;

use std::sync::Arc;

use thiserror::Error;

use crate::annotate::brush::BrushError;
use crate::annotate::grow::GrowError;
use crate::annotate::journal::{
    Entry, EntryKind, Journal, JournalError, LabelHasher, entry::describe_change, hex,
};
use crate::annotate::labels::LabelSet;
use crate::annotate::provenance::EditRecord;
use crate::annotate::undo::{DEFAULT_UNDO_BUDGET_BYTES, UndoError, UndoStack, VoxelBox};
use crate::volume::Volume;

pub use change::{Change, LabelDelta};
pub use draft::DraftState;
pub use effects_two::{SeedsSettings, seed_params};
pub use open::{OpenReport, Recovery};
pub use ops::{EditOp, parse_script};
pub use preview::RegionPreview;

#[derive(Debug, Error)]
pub enum DocumentError {
    #[error(transparent)]
    Brush(#[from] BrushError),
    #[error(transparent)]
    Grow(#[from] GrowError),
    #[error(transparent)]
    Undo(#[from] UndoError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Effect(#[from] crate::annotate::effects::EffectError),
    #[error(transparent)]
    LabelFile(#[from] crate::annotate::label_formats::LabelFormatError),
    #[error("label map has {got} voxels, the image grid {shape:?} has {want}")]
    Grid {
        got: usize,
        want: usize,
        shape: [usize; 3],
    },
    #[error("label {0} does not exist")]
    NoSuchLabel(u8),
    #[error("label {0} already exists")]
    LabelExists(u8),
    #[error("label 0 is background and cannot be {0}")]
    Background(&'static str),
    #[error("label {0} is locked")]
    Locked(u8),
    #[error("{0}")]
    BadRequest(String),
    #[error(
        "the journal {} belongs to another image (its image_sha256 {journal}, this image's \
         {image}); move it aside or write the label map elsewhere",
        path.display()
    )]
    OtherImage {
        path: std::path::PathBuf,
        journal: String,
        image: String,
    },
}

/// What one edit did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EditOutcome {
    /// The journal entry written (None without a journal).
    pub seq: Option<u64>,
    pub voxels_changed: u64,
    /// The changed box (None when nothing changed).
    pub region: Option<VoxelBox>,
    pub warnings: Vec<String>,
    /// For undo/redo: the tool of the edit undone or redone.
    pub undone_edit: Option<String>,
}

/// A brush stroke in progress (the app paints segment by segment, maybe on the
/// GPU): the original bricks it touched, copied once, before the first write.
#[derive(Default)]
struct StrokeRecord {
    region: Option<VoxelBox>,
    originals: std::collections::BTreeMap<usize, Vec<u8>>,
}

pub struct SegDocument {
    image: Arc<Volume>,
    labels: Vec<u8>,
    label_set: LabelSet,
    undo: UndoStack,
    hasher: LabelHasher,
    journal: Option<Journal>,
    /// Voxels per label value, kept from the changes.
    counts: Vec<u64>,
    /// Per label: a box holding all its voxels (may be larger than needed).
    label_boxes: Vec<Option<VoxelBox>>,
    preview: Option<RegionPreview>,
    stroke: Option<StrokeRecord>,
    /// Boxes changed since the display last took them (GPU uploads).
    changed_boxes: Vec<VoxelBox>,
    /// Non-zero labels whose voxels changed since statistics last took them.
    changed_labels: std::collections::BTreeSet<u8>,
    /// Bumped on every change of the map or the label set.
    version: u64,
    saved_sha256: String,
    author: String,
    /// The label set as of the last commit (the "before" of the next change).
    committed_set: LabelSet,
    /// The model's draft the map is compared with, if opened from one.
    draft: Option<DraftState>,
    /// Time of the last journal entry written.
    last_entry_time: String,
}

impl SegDocument {
    /// A document with `labels` (one u8 per voxel of `image`) and no journal.
    pub fn new(
        image: Arc<Volume>,
        labels: Vec<u8>,
        label_set: LabelSet,
        author: &str,
    ) -> Result<SegDocument, DocumentError> {
        let shape = image.shape;
        if labels.len() != image.voxel_count() {
            return Err(DocumentError::Grid {
                got: labels.len(),
                want: image.voxel_count(),
                shape,
            });
        }
        let hasher = LabelHasher::new(&labels, shape);
        let (counts, label_boxes) = scan_labels(&labels, shape);
        let saved_sha256 = hex(&hasher.digest());
        let committed = label_set.clone();
        // Statistics of a new document start with every label it holds.
        let changed_labels = (1..=255u8).filter(|&l| counts[l as usize] > 0).collect();
        Ok(SegDocument {
            image,
            labels,
            label_set,
            undo: UndoStack::new(DEFAULT_UNDO_BUDGET_BYTES),
            hasher,
            journal: None,
            counts,
            label_boxes,
            preview: None,
            stroke: None,
            changed_boxes: Vec::new(),
            changed_labels,
            version: 1,
            saved_sha256,
            author: author.to_owned(),
            committed_set: committed,
            draft: None,
            last_entry_time: String::new(),
        })
    }

    pub fn image(&self) -> &Arc<Volume> {
        &self.image
    }

    pub fn shape(&self) -> [usize; 3] {
        self.image.shape
    }

    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    pub fn label_set(&self) -> &LabelSet {
        &self.label_set
    }

    pub fn journal(&self) -> Option<&Journal> {
        self.journal.as_ref()
    }

    pub fn author(&self) -> &str {
        &self.author
    }

    pub fn undo_stack(&self) -> &UndoStack {
        &self.undo
    }

    pub fn preview(&self) -> Option<&RegionPreview> {
        self.preview.as_ref()
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    /// A box holding every voxel of `label` (maybe larger); None when it has none.
    pub fn label_box(&self, label: u8) -> Option<VoxelBox> {
        self.label_boxes[label as usize]
    }

    /// Voxels holding `label`.
    pub fn voxel_count(&self, label: u8) -> u64 {
        self.counts[label as usize]
    }

    /// The label-map hash now (see `journal::hash`).
    pub fn label_sha256(&self) -> String {
        hex(&self.hasher.digest())
    }

    /// Unsaved changes: the map or labels differ from the last load or save.
    pub fn is_dirty(&self) -> bool {
        self.label_sha256() != self.saved_sha256
    }

    /// Boxes changed since the last call (what a display must re-upload).
    pub fn take_changed_boxes(&mut self) -> Vec<VoxelBox> {
        std::mem::take(&mut self.changed_boxes)
    }

    /// Labels whose voxels changed since the last call, each with a box
    /// holding all its voxels (`None`: none left). Statistics recompute just
    /// these, over just that box.
    pub fn take_changed_labels(&mut self) -> Vec<(u8, Option<VoxelBox>)> {
        std::mem::take(&mut self.changed_labels)
            .into_iter()
            .map(|l| (l, self.label_boxes[l as usize]))
            .collect()
    }

    pub fn has_changed_labels(&self) -> bool {
        !self.changed_labels.is_empty()
    }

    /// The one seam every edit goes through: records `change` (already
    /// applied to the map) in undo, the counts, the hash, the upload list and
    /// the journal, in that order; the journal line is on disk when this returns.
    fn commit(
        &mut self,
        tool: &str,
        params: serde_json::Value,
        change: Option<Change>,
        label_set_changed: bool,
        kind: EntryKind,
    ) -> Result<EditOutcome, DocumentError> {
        let shape = self.shape();
        let change = change.and_then(Change::tightened);
        let mut entry = Entry::new(kind, &self.author);
        entry.tool = Some(tool.to_owned());
        entry.params = params;
        let mut outcome = EditOutcome::default();
        let label_sets = label_set_changed.then(|| {
            let before = std::mem::replace(&mut self.committed_set, self.label_set.clone());
            (before, self.label_set.clone())
        });
        if kind == EntryKind::Edit && (change.is_some() || label_sets.is_some()) {
            self.undo
                .record_change(&self.labels, shape, change.as_ref(), tool, label_sets)?;
        }
        if let Some(change) = &change {
            for (l, d) in change.per_label() {
                let c = &mut self.counts[l as usize];
                *c = *c + d.added - d.removed;
                let b = &mut self.label_boxes[l as usize];
                if *c == 0 {
                    *b = None;
                } else if d.added > 0 {
                    *b = Some(b.map_or(change.region, |b| b.union(&change.region)));
                }
                if l != 0 {
                    self.changed_labels.insert(l);
                }
            }
            self.hasher.update(&self.labels, &change.region);
            self.changed_boxes.push(change.region);
            describe_change(&mut entry, change);
            outcome.voxels_changed = entry.voxels_changed;
            outcome.region = Some(change.region);
        }
        if label_set_changed {
            entry.labels = Some(self.label_set.clone());
        }
        if change.is_some() || label_set_changed {
            self.version += 1;
        }
        entry.label_sha256 = self.label_sha256();
        let record = EditRecord::from_entry(&entry);
        self.last_entry_time = entry.time.clone();
        if let Some(j) = self.journal.as_mut() {
            outcome.seq = Some(j.append(entry)?);
        }
        if let Some(d) = self.draft.as_mut() {
            if let Some(change) = &change {
                d.follow(change, shape);
            }
            if let Some(mut record) = record {
                record.seq = outcome.seq.unwrap_or(0);
                d.edits.push(record);
            }
        }
        Ok(outcome)
    }

    /// Records that the map and labels were written (`format`: how).
    pub fn mark_saved(&mut self, format: &str) -> Result<Option<u64>, DocumentError> {
        self.saved_sha256 = self.label_sha256();
        let Some(j) = self.journal.as_mut() else {
            return Ok(None);
        };
        let mut entry = Entry::new(EntryKind::Save, &self.author);
        entry.format = Some(format.to_owned());
        entry.label_sha256 = self.saved_sha256.clone();
        Ok(Some(j.append(entry)?))
    }

    /// Replaces the map and label set (a label map read from a file): one
    /// undoable, journaled change over the box where the maps differ.
    pub fn load(
        &mut self,
        labels: Vec<u8>,
        label_set: LabelSet,
        source: &str,
    ) -> Result<EditOutcome, DocumentError> {
        let params = serde_json::json!({ "source": source });
        self.load_as(labels, label_set, "load", params)
    }

    /// [`Self::load`] journaled as `tool` with `params`.
    fn load_as(
        &mut self,
        labels: Vec<u8>,
        label_set: LabelSet,
        tool: &str,
        params: serde_json::Value,
    ) -> Result<EditOutcome, DocumentError> {
        let shape = self.shape();
        if labels.len() != self.labels.len() {
            return Err(DocumentError::Grid {
                got: labels.len(),
                want: self.labels.len(),
                shape,
            });
        }
        self.preview = None;
        let change = change::diff_box(&self.labels, &labels, shape).map(|bx| Change {
            region: bx,
            before: change::gather(&self.labels, shape, &bx),
            after: change::gather(&labels, shape, &bx),
        });
        self.labels = labels;
        self.label_set = label_set;
        self.undo.clear();
        let out = self.commit(tool, params, change, true, EntryKind::Load)?;
        self.saved_sha256 = self.label_sha256();
        Ok(out)
    }
}

/// Voxels per label and each label's box, in one pass (on load only).
fn scan_labels(labels: &[u8], shape: [usize; 3]) -> (Vec<u64>, Vec<Option<VoxelBox>>) {
    let mut counts = vec![0u64; 256];
    let mut boxes: Vec<Option<VoxelBox>> = vec![None; 256];
    let ni = shape[0].max(1);
    for (row, r) in labels.chunks(ni).enumerate() {
        if r.iter().all(|&l| l == 0) {
            counts[0] += r.len() as u64;
            continue;
        }
        let (j, k) = (row % shape[1].max(1), row / shape[1].max(1));
        for (i, &l) in r.iter().enumerate() {
            counts[l as usize] += 1;
            if l != 0 {
                let p = VoxelBox {
                    min: [i, j, k],
                    max: [i, j, k],
                };
                let b = &mut boxes[l as usize];
                *b = Some(b.map_or(p, |b| b.union(&p)));
            }
        }
    }
    (counts, boxes)
}
