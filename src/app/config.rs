//! The config folder, `$XDG_CONFIG_HOME/rayseg` (or `~/.config/rayseg`): recent
//! files, and the edit journals of documents not yet saved (`journals/`, see
//! `app::journal`), which replaced the periodic autosave: every edit is on disk
//! when it is made.

use std::path::{Path, PathBuf};

use crate::annotate::label_files::write_atomic;
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
