//! One journal line: what was done, by whom, to which voxels, and the hashes
//! that chain it to the line before.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::JournalError;
use super::hash::{Hash, hex};
use crate::annotate::document::change::{Change, LabelDelta};
use crate::annotate::labels::LabelSet;
use crate::annotate::undo::VoxelBox;

pub const FORMAT: &str = "rayseg-journal";
pub const VERSION: u32 = 1;

/// What an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// First line: the image and an empty map.
    Open,
    /// The map was replaced by one read from a file (or emptied).
    Load,
    /// A tool changed the map or the label set.
    Edit,
    Undo,
    Redo,
    /// The map was written to its file; `label_sha256` is what was written.
    Save,
}

/// The image a journal belongs to (by content, never by path or patient data).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageId {
    pub image_sha256: String,
    pub shape: [usize; 3],
    /// Row-major 4×4 voxel-to-RAS matrix in mm.
    pub ras_from_voxel: [[f64; 4]; 4],
    /// The image's value type and modality, for reading parameters.
    pub modality: String,
}

/// An inclusive voxel box as written in the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalBox {
    pub min: [usize; 3],
    pub max: [usize; 3],
}

impl From<VoxelBox> for JournalBox {
    fn from(b: VoxelBox) -> Self {
        JournalBox {
            min: b.min,
            max: b.max,
        }
    }
}

impl From<JournalBox> for VoxelBox {
    fn from(b: JournalBox) -> Self {
        VoxelBox {
            min: b.min,
            max: b.max,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    /// UTC, RFC 3339.
    pub time: String,
    pub author: String,
    pub kind: EntryKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub params: serde_json::Value,
    #[serde(rename = "box", default, skip_serializing_if = "Option::is_none")]
    pub region: Option<JournalBox>,
    pub voxels_changed: u64,
    /// Per label value (as a decimal string): voxels added and removed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub changed: BTreeMap<String, LabelDelta>,
    /// base64 of zlib of `before XOR after` over `box` (i fastest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<String>,
    /// The label set after the entry, where it changed (and on open/load).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<LabelSet>,
    /// Label-map hash after the entry (see `hash`).
    pub label_sha256: String,
    /// SHA-256 of the previous line's bytes (without its newline); zeros on the first.
    pub prev_sha256: String,
}

/// SHA-256 of a journal line (its bytes without the newline).
pub fn line_hash(line: &[u8]) -> Hash {
    Sha256::digest(line).into()
}

pub fn zero_hash() -> String {
    hex(&[0; 32])
}

/// The time now, UTC, RFC 3339 with milliseconds.
pub fn now_utc() -> String {
    let now = jiff::Timestamp::now();
    format!("{:.3}", now)
}

/// Who edits: `--author`, else `RAYSEG_AUTHOR`, else the OS user name.
pub fn resolve_author(explicit: Option<&str>) -> String {
    if let Some(a) = explicit.map(str::trim).filter(|a| !a.is_empty()) {
        return a.to_owned();
    }
    if let Ok(a) = std::env::var("RAYSEG_AUTHOR")
        && !a.trim().is_empty()
    {
        return a.trim().to_owned();
    }
    whoami::fallible::username().unwrap_or_else(|_| "unknown".into())
}

/// Fills `region`, `voxels_changed`, `changed` and `delta` from a change.
pub fn describe_change(entry: &mut Entry, change: &Change) {
    entry.region = Some(change.region.into());
    entry.voxels_changed = change.voxels_changed();
    entry.changed = change
        .per_label()
        .into_iter()
        .map(|(l, d)| (l.to_string(), d))
        .collect();
    entry.delta = Some(encode_delta(&change.xor()));
}

pub fn encode_delta(xor: &[u8]) -> String {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = z.write_all(xor);
    let bytes = z.finish().unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes a delta that must hold exactly `voxels` bytes (never more is inflated).
pub fn decode_delta(text: &str, voxels: usize) -> Result<Vec<u8>, JournalError> {
    let bad = |why: String| JournalError::Delta(why);
    let z = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| bad(format!("not base64: {e}")))?;
    let mut out = Vec::with_capacity(voxels.min(z.len().saturating_mul(1100)));
    flate2::read::ZlibDecoder::new(z.as_slice())
        .take(voxels as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| bad(format!("not zlib: {e}")))?;
    if out.len() != voxels {
        return Err(bad(format!(
            "holds {} voxels, its box has {voxels}",
            if out.len() > voxels {
                "more than that".to_string()
            } else {
                out.len().to_string()
            }
        )));
    }
    Ok(out)
}

impl Entry {
    /// A new entry; `seq` and `prev_sha256` are set when it is appended.
    pub fn new(kind: EntryKind, author: &str) -> Entry {
        Entry {
            seq: 0,
            time: now_utc(),
            author: author.to_owned(),
            kind,
            format: None,
            version: None,
            image: None,
            tool: None,
            params: serde_json::Value::Null,
            region: None,
            voxels_changed: 0,
            changed: BTreeMap::new(),
            delta: None,
            labels: None,
            label_sha256: String::new(),
            prev_sha256: String::new(),
        }
    }

    /// Whether the entry changes the label map.
    pub fn changes_map(&self) -> bool {
        self.delta.is_some()
    }
}
