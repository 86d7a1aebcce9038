//! Recent files and crash recovery, in `$XDG_CONFIG_HOME/rayseg` (or `~/.config/rayseg`).
//! Autosave writes the label map (NIfTI + sidecar) to a recovery file named after the
//! image; a clean save or quit deletes it, so one found at start-up means a crash.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use crate::annotate::label_files::{sidecar_path, write_atomic};
use crate::annotate::label_formats::{LabelFormat, write_label_map};
use crate::annotate::labels::LabelSet;
use crate::volume::Volume;

/// Seconds between autosaves of a modified document.
pub const AUTOSAVE_INTERVAL_S: f64 = 180.0;
const MAX_RECENT: usize = 10;

pub fn config_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("rayseg"))
}

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecentFiles {
    pub paths: Vec<PathBuf>,
}

impl RecentFiles {
    pub fn load(dir: Option<&Path>) -> Self {
        dir.and_then(|d| std::fs::read(d.join("recent.json")).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Moves `path` to the front and writes the list (errors only logged: not worth a dialog).
    pub fn push(&mut self, dir: Option<&Path>, path: &Path) {
        self.paths.retain(|p| p != path);
        self.paths.insert(0, path.to_path_buf());
        self.paths.truncate(MAX_RECENT);
        let Some(dir) = dir else { return };
        let write = || -> Result<(), String> {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            let json = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
            write_atomic(&dir.join("recent.json"), &json).map_err(|e| e.to_string())
        };
        if let Err(e) = write() {
            log::warn!("cannot save the recent-files list: {e}");
        }
    }
}

/// The recovery file for a document identified by `key` (image path or "sample").
pub fn recovery_path(dir: &Path, key: &str) -> PathBuf {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    dir.join("recovery")
        .join(format!("{:016x}.nii.gz", h.finish()))
}

/// Writes the recovery file (called on a worker thread).
pub fn write_recovery(
    path: &Path,
    labels: &[u8],
    image: &Volume,
    set: &LabelSet,
) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    write_label_map(path, labels, set, image, Some(LabelFormat::Nifti))
        .map_err(|e| e.to_string())?;
    Ok(())
}

pub fn remove_recovery(path: &Path) {
    // Missing files are fine: nothing to recover.
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(sidecar_path(path));
}
