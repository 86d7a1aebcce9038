//! NRRD (`.nrrd`, and `.nhdr` with detached data). Placeholder: the reader
//! is being written.

use std::path::Path;

use super::{LoadError, LoadErrorKind, LoadOptions, Volume};

/// True if the bytes start with the NRRD magic (`NRRD000N`).
pub fn looks_like_nrrd(head: &[u8]) -> bool {
    head.starts_with(b"NRRD000")
}

/// Loads a `.nrrd` or `.nhdr` file.
pub fn load_nrrd_file(path: &Path, options: &LoadOptions) -> Result<Volume, LoadError> {
    let _ = options;
    Err(LoadError::new(
        path,
        LoadErrorKind::Unsupported("NRRD is not read yet".into()),
    ))
}
