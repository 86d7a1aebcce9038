//! The audit journal: an append-only, tamper-evident log of every edit of a
//! label map, one JSON object per line, beside the map (`seg.nii.gz` →
//! `seg.journal.jsonl`). Each line is written and flushed to disk when its edit
//! is made, before any save; each holds the hash of the line before it (a
//! chain) and of the label map after it, and the edit's compressed delta, so
//! any earlier version can be rebuilt and any change to a line is detected.
//! README.md ("The edit journal") documents the format.

pub mod entry;
pub mod hash;
pub mod replay;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub use entry::{Entry, EntryKind, ImageId, resolve_author};
pub use hash::{LabelHasher, hex, image_hash, label_map_hash};
pub use replay::{Replay, replay, verify};

use crate::volume::Volume;

#[derive(Debug, Error)]
pub enum JournalError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: entry {seq} (line {line}): {why}", path.display())]
    BadEntry {
        path: PathBuf,
        seq: u64,
        line: usize,
        why: String,
    },
    #[error("{}: {why}", path.display())]
    Invalid { path: PathBuf, why: String },
    #[error("delta {0}")]
    Delta(String),
    #[error("{}: no entry {at}: the journal's last entry is {last}", path.display())]
    NoSuchEntry { path: PathBuf, at: u64, last: u64 },
}

/// `<map without .nii.gz/.nii/.seg.nrrd/...>.journal.jsonl` next to the map.
pub fn journal_path(label_map: &Path) -> PathBuf {
    let name = label_map
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    let stem = [
        ".nii.gz",
        ".nii",
        ".seg.nrrd",
        ".nrrd",
        ".nhdr",
        ".mha",
        ".mhd",
    ]
    .iter()
    .find(|s| lower.ends_with(*s))
    .map_or(name.as_str(), |s| &name[..name.len() - s.len()]);
    label_map.with_file_name(format!("{stem}.journal.jsonl"))
}

/// The identity of `volume` for a journal's first entry.
pub fn image_id(volume: &Volume) -> ImageId {
    let m = volume.ras_from_voxel.transpose().to_cols_array_2d();
    ImageId {
        image_sha256: hex(&image_hash(volume)),
        shape: volume.shape,
        ras_from_voxel: m,
        modality: volume.modality.as_str().to_owned(),
    }
}

/// An open journal, appending.
pub struct Journal {
    path: PathBuf,
    file: File,
    last_line: hash::Hash,
    next_seq: u64,
    author: String,
}

impl Journal {
    /// Starts a journal at `path` (which must not exist) with its open entry.
    pub fn create(
        path: &Path,
        image: ImageId,
        author: &str,
        empty_map_sha256: String,
    ) -> Result<Journal, JournalError> {
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(path)
            .map_err(|source| JournalError::Io {
                path: path.to_owned(),
                source,
            })?;
        let mut journal = Journal {
            path: path.to_owned(),
            file,
            last_line: [0; 32],
            next_seq: 0,
            author: author.to_owned(),
        };
        let mut open = Entry::new(EntryKind::Open, author);
        open.format = Some(entry::FORMAT.into());
        open.version = Some(entry::VERSION);
        open.image = Some(image);
        open.label_sha256 = empty_map_sha256;
        journal.append(open)?;
        Ok(journal)
    }

    /// Continues a journal read by [`replay`] (its torn last line, if any, is cut off).
    pub fn resume(path: &Path, replayed: &Replay, author: &str) -> Result<Journal, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        let file = OpenOptions::new().append(true).open(path).map_err(io)?;
        if replayed.torn_bytes > 0 {
            file.set_len(replayed.good_bytes).map_err(io)?;
            file.sync_data().map_err(io)?;
        }
        Ok(Journal {
            path: path.to_owned(),
            file,
            last_line: replayed.last_line,
            next_seq: replayed.entries.len() as u64,
            author: author.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn author(&self) -> &str {
        &self.author
    }

    /// Entries written so far.
    pub fn len(&self) -> u64 {
        self.next_seq
    }

    pub fn is_empty(&self) -> bool {
        self.next_seq == 0
    }

    /// Numbers, chains and writes `entry`, and flushes it to disk; returns its number.
    pub fn append(&mut self, mut entry: Entry) -> Result<u64, JournalError> {
        entry.seq = self.next_seq;
        entry.prev_sha256 = hex(&self.last_line);
        let line = serde_json::to_vec(&entry).map_err(|e| JournalError::Invalid {
            path: self.path.clone(),
            why: format!("entry not serialisable: {e}"),
        })?;
        let mut bytes = line.clone();
        bytes.push(b'\n');
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(&bytes).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.last_line = entry::line_hash(&line);
        self.next_seq += 1;
        Ok(entry.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_sits_beside_the_map() {
        assert_eq!(
            journal_path(Path::new("/a/seg.nii.gz")),
            Path::new("/a/seg.journal.jsonl")
        );
        assert_eq!(
            journal_path(Path::new("b/Seg.SEG.NRRD")),
            Path::new("b/Seg.journal.jsonl")
        );
        assert_eq!(
            journal_path(Path::new("x.mha")),
            Path::new("x.journal.jsonl")
        );
    }
}
