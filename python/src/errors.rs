//! The library's typed errors as Python exceptions: bad arguments are
//! `ValueError`, missing or unreadable files `FileNotFoundError`/`OSError`,
//! everything else `rayseg.RaysegError`. The message is the library's, with
//! its causes, as the CLI prints it.

use std::error::Error;

use pyo3::PyErr;
use pyo3::exceptions::{PyException, PyFileNotFoundError, PyOSError, PyValueError};
use rayseg::annotate::document::DocumentError;
use rayseg::annotate::grow::GrowError;
use rayseg::annotate::label_formats::LabelFormatError;
use rayseg::volume::{LoadError, LoadErrorKind};

pyo3::create_exception!(
    _rayseg,
    RaysegError,
    PyException,
    "An error of the rayseg engine that is not a bad argument or a file error."
);

/// The error and its causes, each once (`thiserror`'s transparent variants
/// and messages that embed their source would otherwise repeat).
pub fn chain(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text = format!("{text}: {part}");
        }
        source = s.source();
    }
    text
}

pub fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

pub fn rayseg_error(e: &dyn Error) -> PyErr {
    RaysegError::new_err(chain(e))
}

pub fn io_error(e: &std::io::Error, message: String) -> PyErr {
    match e.kind() {
        std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
        _ => PyOSError::new_err(message),
    }
}

pub fn load_error(e: &LoadError) -> PyErr {
    match &e.kind {
        LoadErrorKind::Io(io) => io_error(io, chain(e)),
        LoadErrorKind::BadOption(_) => value_error(chain(e)),
        _ => rayseg_error(e),
    }
}

pub fn label_format_error(e: &LabelFormatError) -> PyErr {
    match e {
        LabelFormatError::Load(l) => load_error(l),
        LabelFormatError::Io { source, .. } => io_error(source, chain(e)),
        LabelFormatError::UnknownExtension { .. }
        | LabelFormatError::UnknownFormat { .. }
        | LabelFormatError::FormatMismatch { .. }
        | LabelFormatError::Size { .. }
        | LabelFormatError::OverwritesImage { .. } => value_error(chain(e)),
        _ => rayseg_error(e),
    }
}

pub fn grow_error(e: &GrowError) -> PyErr {
    match e {
        GrowError::Gpu(_) | GrowError::TooLarge(_) => rayseg_error(e),
        _ => value_error(chain(e)),
    }
}

pub fn document_error(e: &DocumentError) -> PyErr {
    match e {
        DocumentError::Grow(g) => grow_error(g),
        DocumentError::LabelFile(l) => label_format_error(l),
        DocumentError::Journal(_) | DocumentError::Undo(_) | DocumentError::OtherImage { .. } => {
            rayseg_error(e)
        }
        // Bad requests: unknown, locked or background labels, empty ranges,
        // effects refusing their parameters.
        _ => value_error(chain(e)),
    }
}
