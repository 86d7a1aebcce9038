//! Reading a journal back: every line's chain hash, delta and label-map hash
//! are checked while the map is rebuilt, so reading is verifying. A last line
//! cut short by a crash (no newline, or not JSON) is dropped with a warning;
//! any other bad line is an error naming its entry.

use std::path::{Path, PathBuf};

use super::JournalError;
use super::entry::{Entry, EntryKind, ImageId, decode_delta, line_hash};
use super::hash::{Hash, LabelHasher, hex};
use crate::annotate::document::change::{box_fits, for_box_rows};
use crate::annotate::labels::LabelSet;
use crate::annotate::undo::VoxelBox;

/// Largest grid a journal may claim (16 Gi voxels): the map is allocated from it.
const MAX_VOXELS: usize = 1 << 34;

/// A journal read up to an entry.
#[derive(Debug)]
pub struct Replay {
    pub path: PathBuf,
    pub image: ImageId,
    /// Entries read (all, or up to the one asked for).
    pub entries: Vec<Entry>,
    /// The map after the last entry read.
    pub labels: Vec<u8>,
    /// The label set after the last entry that recorded one.
    pub label_set: LabelSet,
    /// Hash of the last good line, and the bytes up to its newline.
    pub last_line: Hash,
    pub good_bytes: u64,
    /// Bytes of a torn last line that were dropped (0 if none).
    pub torn_bytes: u64,
    pub warnings: Vec<String>,
}

impl Replay {
    /// Entries after the last save (or after the open entry), when any of them
    /// is a user's edit (edit, undo, redo): what a crash would lose without
    /// the journal. Loads alone (opening a file) are not offered back.
    pub fn unsaved(&self) -> &[Entry] {
        let from = self
            .entries
            .iter()
            .rposition(|e| e.kind == EntryKind::Save)
            .unwrap_or(0)
            + 1;
        let tail = &self.entries[from.min(self.entries.len())..];
        let edited = |e: &Entry| {
            matches!(e.kind, EntryKind::Edit | EntryKind::Undo | EntryKind::Redo)
                && (e.changes_map() || e.labels.is_some())
        };
        if tail.iter().any(edited) { tail } else { &[] }
    }

    /// The hash the map had after the last entry read.
    pub fn head_sha256(&self) -> &str {
        self.entries.last().map_or("", |e| e.label_sha256.as_str())
    }
}

/// Reads and checks `path` through entry `upto` (the whole journal if None).
pub fn replay(path: &Path, upto: Option<u64>) -> Result<Replay, JournalError> {
    let bytes = std::fs::read(path).map_err(|source| JournalError::Io {
        path: path.to_owned(),
        source,
    })?;
    let invalid = |why: String| JournalError::Invalid {
        path: path.to_owned(),
        why,
    };
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    // After the last newline: empty, or a torn line.
    let tail = lines.pop().unwrap_or_default();
    let mut warnings = Vec::new();
    let mut torn_bytes = tail.len() as u64;
    let mut parsed = Vec::with_capacity(lines.len());
    for (n, line) in lines.iter().enumerate() {
        match serde_json::from_slice::<Entry>(line) {
            Ok(e) => parsed.push(e),
            // Only the last line can be torn by a crash.
            Err(_) if n + 1 == lines.len() && tail.is_empty() && n > 0 => {
                torn_bytes = line.len() as u64 + 1;
            }
            Err(e) => {
                return Err(JournalError::BadEntry {
                    path: path.to_owned(),
                    seq: n as u64,
                    line: n + 1,
                    why: format!("not a journal entry: {e}"),
                });
            }
        }
    }
    if torn_bytes > 0 {
        warnings.push(format!(
            "the last entry was cut short ({torn_bytes} bytes, a crash while it was written): \
             dropped"
        ));
    }
    let good_bytes = bytes.len() as u64 - torn_bytes;
    let Some(open) = parsed.first() else {
        return Err(invalid("empty journal (no open entry)".into()));
    };
    let image = match (&open.kind, &open.image, &open.format) {
        (EntryKind::Open, Some(image), Some(f)) if f == super::entry::FORMAT => image.clone(),
        _ => {
            return Err(invalid(
                "the first line is not a rayseg journal's open entry".into(),
            ));
        }
    };
    let shape = image.shape;
    let voxels = shape
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n))
        .filter(|&n| n > 0 && n <= MAX_VOXELS)
        .ok_or_else(|| invalid(format!("implausible grid {shape:?}")))?;
    let mut labels = Vec::new();
    labels
        .try_reserve_exact(voxels)
        .map_err(|e| invalid(format!("cannot hold a {voxels}-voxel map: {e}")))?;
    labels.resize(voxels, 0);
    let mut hasher = LabelHasher::new(&labels, shape);
    let mut label_set = LabelSet::default();
    let mut prev: Hash = [0; 32];
    let mut entries = Vec::new();
    let last = upto.unwrap_or(u64::MAX);
    for (n, entry) in parsed.into_iter().enumerate() {
        let bad = |why: String| JournalError::BadEntry {
            path: path.to_owned(),
            seq: n as u64,
            line: n + 1,
            why,
        };
        if entry.seq != n as u64 {
            return Err(bad(format!("numbered {}, expected {n}", entry.seq)));
        }
        if entry.prev_sha256 != hex(&prev) {
            return Err(bad(
                "its prev_sha256 is not the hash of the line before: a line was changed, \
                 removed or inserted"
                    .into(),
            ));
        }
        if n > 0 && entry.kind == EntryKind::Open {
            return Err(bad("a second open entry".into()));
        }
        prev = line_hash(lines[n]);
        if let Some(delta) = &entry.delta {
            let bx: VoxelBox = entry
                .region
                .ok_or_else(|| bad("a delta without a box".into()))?
                .into();
            if !box_fits(&bx, shape) {
                return Err(bad(format!("box {bx:?} lies outside the grid {shape:?}")));
            }
            let xor =
                decode_delta(delta, bx.size().iter().product()).map_err(|e| bad(e.to_string()))?;
            let mut counts = [[0u64; 2]; 256];
            let mut changed = 0u64;
            for_box_rows(shape, &bx, |at, r| {
                let n = r.len();
                for (v, d) in labels[r].iter_mut().zip(&xor[at..at + n]) {
                    if *d != 0 {
                        counts[*v as usize][1] += 1;
                        *v ^= d;
                        counts[*v as usize][0] += 1;
                        changed += 1;
                    }
                }
            });
            if changed != entry.voxels_changed {
                return Err(bad(format!(
                    "its delta changes {changed} voxels, it says {}",
                    entry.voxels_changed
                )));
            }
            for (l, c) in counts.iter().enumerate() {
                let said = entry.changed.get(&l.to_string());
                let ok = match said {
                    Some(d) => [d.added, d.removed] == *c,
                    None => *c == [0, 0],
                };
                if !ok {
                    return Err(bad(format!(
                        "per-label counts of label {l} disagree with its delta"
                    )));
                }
            }
            hasher.update(&labels, &bx);
        }
        if entry.label_sha256 != hex(&hasher.digest()) {
            return Err(bad(
                "the label map rebuilt from the deltas does not have its label_sha256".into(),
            ));
        }
        if let Some(set) = &entry.labels {
            label_set = set.clone();
        }
        let done = entry.seq >= last;
        entries.push(entry);
        if done {
            break;
        }
    }
    if let Some(at) = upto
        && entries.last().is_none_or(|e| e.seq != at)
    {
        return Err(JournalError::NoSuchEntry {
            path: path.to_owned(),
            at,
            last: entries.len() as u64 - 1,
        });
    }
    Ok(Replay {
        path: path.to_owned(),
        image,
        entries,
        labels,
        label_set,
        last_line: prev,
        good_bytes,
        torn_bytes,
        warnings,
    })
}

/// Checks a whole journal; Ok holds the number of entries and any warning.
pub fn verify(path: &Path) -> Result<(usize, Vec<String>), JournalError> {
    let r = replay(path, None)?;
    Ok((r.entries.len(), r.warnings))
}
