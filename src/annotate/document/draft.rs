//! A model's draft in the document: loaded as its own journal entry, then
//! compared with the map as people edit it. The pair counts follow each
//! change's box (see [`crate::annotate::provenance`]), so provenance is ready
//! at any time without a pass over the grid.

use std::path::Path;

use super::change::{Change, for_box_rows};
use super::{DocumentError, EditOutcome, SegDocument};
use crate::annotate::journal::{Entry, EntryKind, replay};
use crate::annotate::labels::LabelSet;
use crate::annotate::provenance::{
    DRAFT_TOOL, DraftOrigin, EditRecord, PairCounts, ProvenanceReport, last_draft, voxel_ml,
};

/// The draft a document is compared with.
pub struct DraftState {
    pub origin: DraftOrigin,
    /// The draft's journal entry (seq, time, author; no delta needed).
    pub entry: Entry,
    /// The draft's map.
    labels: Vec<u8>,
    pairs: PairCounts,
    /// Human edits since the draft.
    pub edits: Vec<EditRecord>,
}

impl DraftState {
    /// Follows one committed change of the map.
    pub(super) fn follow(&mut self, change: &Change, shape: [usize; 3]) {
        let mut n = 0;
        for_box_rows(shape, &change.region, |_, row| {
            let len = row.len();
            self.pairs.update(
                &self.labels[row],
                &change.before[n..n + len],
                &change.after[n..n + len],
            );
            n += len;
        });
    }
}

impl SegDocument {
    /// Replaces the map by a model's draft: one journal entry (a load whose
    /// tool is `draft`, with the model, file name and file hash); every later
    /// edit is a person's.
    pub fn load_draft(
        &mut self,
        labels: Vec<u8>,
        label_set: LabelSet,
        origin: DraftOrigin,
    ) -> Result<EditOutcome, DocumentError> {
        let draft = labels.clone();
        let out = self.load_as(labels, label_set, DRAFT_TOOL, origin.params())?;
        let mut entry = Entry::new(EntryKind::Load, &self.author);
        entry.tool = Some(DRAFT_TOOL.into());
        entry.params = origin.params();
        entry.seq = out.seq.unwrap_or(0);
        entry.time = self.last_entry_time.clone();
        self.draft = Some(DraftState {
            origin,
            entry,
            labels: draft,
            pairs: PairCounts::diagonal(&self.counts),
            edits: Vec::new(),
        });
        Ok(out)
    }

    /// The draft this document is compared with, if it was opened from one.
    pub fn draft(&self) -> Option<&DraftState> {
        self.draft.as_ref()
    }

    /// Per label: what the model proposed, kept, removed and added, and the
    /// human edits since (None without a draft).
    pub fn provenance(&self) -> Option<ProvenanceReport> {
        let d = self.draft.as_ref()?;
        Some(ProvenanceReport::new(
            &d.entry,
            d.origin.clone(),
            &d.pairs,
            voxel_ml(&self.image.ras_from_voxel),
            &d.edits,
            &self.label_set,
        ))
    }

    /// Finds the journal's last draft and compares it with the current map
    /// (opening a document whose journal has one).
    pub(super) fn restore_draft(
        &mut self,
        journal_path: &Path,
        entries: &[Entry],
    ) -> Result<(), DocumentError> {
        let Some((entry, origin, edits)) = last_draft(entries) else {
            return Ok(());
        };
        let labels = replay(journal_path, Some(entry.seq))?.labels;
        if labels.len() != self.labels.len() {
            return Ok(());
        }
        let pairs = PairCounts::from_maps(&labels, &self.labels);
        let mut entry = entry.clone();
        entry.delta = None;
        entry.labels = None;
        self.draft = Some(DraftState {
            origin,
            entry,
            labels,
            pairs,
            edits,
        });
        Ok(())
    }
}
