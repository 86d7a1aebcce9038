use std::path::{Path, PathBuf};

/// A load failure, always naming the file (or folder) it concerns.
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct LoadError {
    pub path: PathBuf,
    pub kind: LoadErrorKind,
}

/// What went wrong while loading.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadErrorKind {
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("file is truncated: {what} needs {needed} bytes but only {available} are present")]
    Truncated {
        what: String,
        needed: u64,
        available: u64,
    },
    #[error("not a recognised image file: {0}")]
    NotRecognised(String),
    #[error("corrupt data: {0}")]
    Corrupt(String),
    #[error("implausible header: {0}")]
    BadHeader(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("no DICOM files found in this folder")]
    NoDicom,
    #[error("no pixel data: {0}")]
    NoPixelData(String),
    #[error("inconsistent series: {0}")]
    InconsistentSeries(String),
    #[error("{0}")]
    BadOption(String),
    #[error("{0}")]
    Grid(#[from] VolumeError),
}

impl LoadError {
    pub fn new(path: &Path, kind: LoadErrorKind) -> Self {
        LoadError {
            path: path.to_path_buf(),
            kind,
        }
    }

    pub fn io(path: &Path, err: std::io::Error) -> Self {
        Self::new(path, LoadErrorKind::Io(err))
    }
}

/// Why voxel data and a grid do not make a [`super::Volume`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VolumeError {
    #[error("grid {0:?} overflows")]
    Overflow([usize; 3]),
    #[error("grid {0:?} has no voxels")]
    Empty([usize; 3]),
    #[error("grid {shape:?} needs {needed} voxels but {decoded} were decoded")]
    SizeMismatch {
        shape: [usize; 3],
        needed: usize,
        decoded: usize,
    },
    #[error("voxel-to-world matrix has non-finite entries")]
    NonFiniteMatrix,
}
