//! MetaImage (`.mha`, and `.mhd` with `ElementDataFile`). Placeholder: the
//! reader is being written.

use std::path::Path;

use super::{LoadError, LoadErrorKind, LoadOptions, Volume};

/// True if the bytes start like a MetaImage header (`ObjectType` or `NDims`).
pub fn looks_like_metaimage(head: &[u8]) -> bool {
    let text = head.trim_ascii_start();
    text.starts_with(b"ObjectType") || text.starts_with(b"NDims")
}

/// Loads a `.mha` or `.mhd` file.
pub fn load_metaimage_file(path: &Path, options: &LoadOptions) -> Result<Volume, LoadError> {
    let _ = options;
    Err(LoadError::new(
        path,
        LoadErrorKind::Unsupported("MetaImage is not read yet".into()),
    ))
}
