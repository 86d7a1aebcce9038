//! Cohort-scale work on many scans: the manifest that lists them, and the
//! export of reviewed annotations as training datasets (nnU-Net v2, MONAI).

pub mod export;
mod export_json;
pub mod manifest;
mod splits;

pub use export::{DatasetFormat, ExportError, ExportOptions, ExportReport, export_dataset};
pub use manifest::{ManifestError, ManifestRow, parse_manifest, read_manifest};
