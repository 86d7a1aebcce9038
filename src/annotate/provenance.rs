//! How much people changed a model's draft, from the journal.
//!
//! A draft opened with `--draft-model NAME` is journaled as a `load` entry
//! whose tool is `draft` and whose params name the model, the file and the
//! file's SHA-256; every voxel-changing `edit` entry after it is a human edit.
//! Per label, provenance compares the draft's map with the current one:
//! what the model proposed, what was kept, removed and added, their Dice, and
//! how many edits touched the label and when.
//!
//! Everything comes from one table of voxel counts per (draft label, current
//! label) pair. The document keeps that table up to date from each change's
//! box, so the app's figures cost nothing per frame; the CLI builds it in one
//! pass over both maps.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::annotate::journal::{Entry, EntryKind, hex};
use crate::annotate::labels::LabelSet;

/// The journal tool name of a model's draft.
pub const DRAFT_TOOL: &str = "draft";

/// Where a draft came from, as its journal entry records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftOrigin {
    /// The model that proposed it (`--draft-model`).
    pub model: String,
    /// The draft file's name, without its folders (they may name a patient).
    pub source: String,
    /// SHA-256 of the draft file's bytes.
    pub file_sha256: String,
}

impl DraftOrigin {
    /// Names and hashes the draft file at `path`.
    pub fn from_file(model: &str, path: &Path) -> std::io::Result<DraftOrigin> {
        let mut file = std::fs::File::open(path)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let source = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let digest: [u8; 32] = hasher.finalize().into();
        Ok(DraftOrigin {
            model: model.to_owned(),
            source,
            file_sha256: hex(&digest),
        })
    }

    /// The journal entry's params.
    pub fn params(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The origin recorded by a draft entry (None for any other entry).
    pub fn from_entry(entry: &Entry) -> Option<DraftOrigin> {
        if entry.kind != EntryKind::Load || entry.tool.as_deref() != Some(DRAFT_TOOL) {
            return None;
        }
        serde_json::from_value(entry.params.clone()).ok()
    }
}

/// A human edit after the draft: when, by whom, with what, touching which labels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EditRecord {
    pub seq: u64,
    pub time: String,
    pub author: String,
    pub tool: Option<String>,
    /// Non-zero labels whose voxels the edit changed.
    pub labels: Vec<u8>,
}

impl EditRecord {
    /// An `edit` entry that changed voxels of some label; None otherwise
    /// (undo, redo, loads, saves, and edits of names or colours only).
    pub fn from_entry(entry: &Entry) -> Option<EditRecord> {
        if entry.kind != EntryKind::Edit {
            return None;
        }
        let labels: Vec<u8> = entry
            .changed
            .keys()
            .filter_map(|k| k.parse::<u8>().ok())
            .filter(|&l| l != 0)
            .collect();
        (!labels.is_empty()).then(|| EditRecord {
            seq: entry.seq,
            time: entry.time.clone(),
            author: entry.author.clone(),
            tool: entry.tool.clone(),
            labels,
        })
    }
}

/// Voxels per (draft label, current label) pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairCounts(Box<[u64]>);

impl PairCounts {
    fn zero() -> PairCounts {
        PairCounts(vec![0u64; 256 * 256].into_boxed_slice())
    }

    /// Counts over two maps of one grid (equal lengths; the caller checks).
    pub fn from_maps(draft: &[u8], current: &[u8]) -> PairCounts {
        const CHUNK: usize = 1 << 20;
        draft
            .par_chunks(CHUNK)
            .zip(current.par_chunks(CHUNK))
            .fold(PairCounts::zero, |mut p, (d, c)| {
                for (&d, &c) in d.iter().zip(c) {
                    p.0[d as usize * 256 + c as usize] += 1;
                }
                p
            })
            .reduce(PairCounts::zero, |mut a, b| {
                a.0.iter_mut().zip(b.0.iter()).for_each(|(x, y)| *x += y);
                a
            })
    }

    /// Counts when the current map is the draft itself.
    pub fn diagonal(counts: &[u64]) -> PairCounts {
        let mut p = PairCounts::zero();
        for (l, &n) in counts.iter().enumerate().take(256) {
            p.0[l * 257] = n;
        }
        p
    }

    /// Follows a change of the current map: `draft`, `before` and `after`
    /// are the draft's and the map's values over the same voxels.
    pub fn update(&mut self, draft: &[u8], before: &[u8], after: &[u8]) {
        for ((&d, &b), &a) in draft.iter().zip(before).zip(after) {
            if a != b {
                let row = d as usize * 256;
                self.0[row + b as usize] -= 1;
                self.0[row + a as usize] += 1;
            }
        }
    }

    pub fn get(&self, draft: u8, current: u8) -> u64 {
        self.0[draft as usize * 256 + current as usize]
    }
}

/// One label's provenance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LabelProvenance {
    pub label: u8,
    pub name: Option<String>,
    /// Volumes in mL: the draft's, the part still this label, the part that
    /// is not any more, the part people added, and the label now.
    pub proposed_ml: f64,
    pub kept_ml: f64,
    pub removed_ml: f64,
    pub added_ml: f64,
    pub current_ml: f64,
    pub proposed_voxels: u64,
    pub kept_voxels: u64,
    pub removed_voxels: u64,
    pub added_voxels: u64,
    pub current_voxels: u64,
    /// Dice of the label in the draft and now (0 when one side is empty).
    pub dice: f64,
    /// Edit entries after the draft that changed this label's voxels.
    pub human_edits: usize,
    /// UTC times of the first and last of those edits.
    pub first_edit: Option<String>,
    pub last_edit: Option<String>,
    pub editors: Vec<String>,
}

/// Per label present in the draft or now, in label order.
pub fn label_provenance(
    pairs: &PairCounts,
    voxel_ml: f64,
    edits: &[EditRecord],
    names: &LabelSet,
) -> Vec<LabelProvenance> {
    let mut out = Vec::new();
    for label in 1..=255u8 {
        let proposed: u64 = (0..=255u8).map(|c| pairs.get(label, c)).sum();
        let current: u64 = (0..=255u8).map(|d| pairs.get(d, label)).sum();
        if proposed == 0 && current == 0 {
            continue;
        }
        let kept = pairs.get(label, label);
        let touching: Vec<&EditRecord> =
            edits.iter().filter(|e| e.labels.contains(&label)).collect();
        let editors: BTreeSet<String> = touching.iter().map(|e| e.author.clone()).collect();
        let ml = |n: u64| n as f64 * voxel_ml;
        out.push(LabelProvenance {
            label,
            name: names.get(label).map(|l| l.name.clone()),
            proposed_ml: ml(proposed),
            kept_ml: ml(kept),
            removed_ml: ml(proposed - kept),
            added_ml: ml(current - kept),
            current_ml: ml(current),
            proposed_voxels: proposed,
            kept_voxels: kept,
            removed_voxels: proposed - kept,
            added_voxels: current - kept,
            current_voxels: current,
            dice: 2.0 * kept as f64 / (proposed + current) as f64,
            human_edits: touching.len(),
            first_edit: touching.first().map(|e| e.time.clone()),
            last_edit: touching.last().map(|e| e.time.clone()),
            editors: editors.into_iter().collect(),
        });
    }
    out
}

/// What `rayseg provenance` reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProvenanceReport {
    pub draft: DraftOrigin,
    /// The draft's journal entry, when and by whom it was opened.
    pub draft_entry: u64,
    pub draft_time: String,
    pub opened_by: String,
    pub voxel_ml: f64,
    /// Every human edit after the draft.
    pub human_edits: usize,
    pub first_edit: Option<String>,
    pub last_edit: Option<String>,
    pub labels: Vec<LabelProvenance>,
}

impl ProvenanceReport {
    /// The report for a draft entry, the pair counts against the current
    /// map and the edits after the draft.
    pub fn new(
        draft_entry: &Entry,
        origin: DraftOrigin,
        pairs: &PairCounts,
        voxel_ml: f64,
        edits: &[EditRecord],
        names: &LabelSet,
    ) -> ProvenanceReport {
        ProvenanceReport {
            draft: origin,
            draft_entry: draft_entry.seq,
            draft_time: draft_entry.time.clone(),
            opened_by: draft_entry.author.clone(),
            voxel_ml,
            human_edits: edits.len(),
            first_edit: edits.first().map(|e| e.time.clone()),
            last_edit: edits.last().map(|e| e.time.clone()),
            labels: label_provenance(pairs, voxel_ml, edits, names),
        }
    }
}

/// The last draft entry among `entries` and the human edits after it.
pub fn last_draft(entries: &[Entry]) -> Option<(&Entry, DraftOrigin, Vec<EditRecord>)> {
    let at = entries
        .iter()
        .rposition(|e| DraftOrigin::from_entry(e).is_some())?;
    let entry = &entries[at];
    let origin = DraftOrigin::from_entry(entry)?;
    let edits = entries[at + 1..]
        .iter()
        .filter_map(EditRecord::from_entry)
        .collect();
    Some((entry, origin, edits))
}

/// Millilitres per voxel of a grid.
pub fn voxel_ml(ras_from_voxel: &glam::DMat4) -> f64 {
    glam::DMat3::from_mat4(*ras_from_voxel).determinant().abs() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_counts_follow_changes_and_give_the_figures() {
        let draft = [0u8, 1, 1, 1, 2, 2, 0, 0];
        let mut now = draft;
        let mut pairs = PairCounts::from_maps(&draft, &now);
        assert_eq!(pairs, PairCounts::diagonal(&[3, 3, 2]));
        // A person removes one voxel of 1, adds two, and relabels a 2 as 1.
        let before = now;
        now[1] = 0;
        now[6] = 1;
        now[7] = 1;
        now[5] = 1;
        pairs.update(&draft, &before, &now);
        assert_eq!(pairs, PairCounts::from_maps(&draft, &now));
        let edits = [EditRecord {
            seq: 3,
            time: "t".into(),
            author: "a".into(),
            tool: Some("brush".into()),
            labels: vec![1, 2],
        }];
        let p = label_provenance(&pairs, 0.5, &edits, &LabelSet::default());
        assert_eq!(p.len(), 2);
        let one = &p[0];
        assert_eq!(
            (one.proposed_voxels, one.kept_voxels, one.removed_voxels),
            (3, 2, 1)
        );
        assert_eq!((one.added_voxels, one.current_voxels), (3, 5));
        assert_eq!(one.dice, 2.0 * 2.0 / 8.0);
        assert_eq!(one.proposed_ml, 1.5);
        assert_eq!(one.human_edits, 1);
        let two = &p[1];
        assert_eq!(
            (two.kept_voxels, two.removed_voxels, two.added_voxels),
            (1, 1, 0)
        );
    }
}
