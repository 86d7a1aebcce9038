//! The effects and grow from seeds: script ops (`rayseg edit`'s, the same
//! ops each effect subcommand builds) applied to an in-memory segmentation
//! document without a journal.

use std::sync::Arc;

use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use rayseg::annotate::document::{EditOp, SeedsSettings, SegDocument, parse_script};
use rayseg::annotate::label_formats::write_label_map;
use rayseg::annotate::labels::LabelSet;
use rayseg::volume::{Modality, Volume, VoxelData};

use crate::arrays;
use crate::errors::{document_error, label_format_error, rayseg_error, value_error};

type Affine = [[f64; 4]; 4];

/// Stands for the array passed as `map` in an op's path field (`seeds` of
/// grow from seeds, `with_map` of logical).
const MAP: &str = "<map>";

/// Applies `ops` (a JSON list of script ops) in order to `labels` on the
/// image `values` (default: the labels themselves, as the effect
/// subcommands use the map's own grid without `--image`). Returns the new
/// labels and, per op, a JSON object: op, voxels_changed, warnings.
#[pyfunction]
#[pyo3(signature = (labels, shape, affine, ops, values=None, map=None))]
pub fn apply_ops<'py>(
    py: Python<'py>,
    labels: Bound<'py, PyArray1<u8>>,
    shape: [usize; 3],
    affine: Affine,
    ops: String,
    values: Option<Bound<'py, PyAny>>,
    map: Option<Bound<'py, PyArray1<u8>>>,
) -> PyResult<(Bound<'py, PyArray1<u8>>, String)> {
    let ops =
        parse_script(&ops).map_err(|e| value_error(format!("not a list of edit ops: {e}")))?;
    let labels = arrays::labels(&labels, shape)?;
    let map = map.map(|m| arrays::labels(&m, shape)).transpose()?;
    let image = match values {
        Some(v) => arrays::volume(&v, shape, affine)?,
        None => Volume::new(
            shape,
            VoxelData::U8(labels.clone()),
            arrays::matrix(affine)?,
            Modality::Unknown,
        )
        .map_err(value_error)?,
    };
    let (labels, report) = py.detach(|| run(Arc::new(image), labels, &ops, map.as_deref()))?;
    Ok((labels.into_pyarray(py), report))
}

fn run(
    image: Arc<Volume>,
    labels: Vec<u8>,
    ops: &[EditOp],
    map: Option<&[u8]>,
) -> PyResult<(Vec<u8>, String)> {
    let mut doc = SegDocument::new(image.clone(), labels, LabelSet::default(), "python")
        .map_err(|e| document_error(&e))?;
    // Logical ops read their other map from a file: the array goes to one.
    let mut dir = None;
    let mut report = Vec::new();
    for (n, op) in ops.iter().enumerate() {
        let outcome = match (op, map) {
            (EditOp::Seeds(o), Some(seeds)) if o.seeds == MAP => {
                let settings = SeedsSettings {
                    roi_margin_mm: o.roi_margin_mm,
                    smoothing_mm: o.smoothing_mm,
                    background: o.background,
                    overwrite: o.overwrite,
                };
                if !settings.smoothing_mm.is_finite() || settings.smoothing_mm < 0.0 {
                    return Err(value_error(format!(
                        "smoothing_mm must be ≥ 0, not {}",
                        settings.smoothing_mm
                    )));
                }
                doc.grow_seeds(op, seeds, &settings)
            }
            (EditOp::Logical(o), Some(other)) if o.with_map.as_deref() == Some(MAP) => {
                if dir.is_none() {
                    let d = tempfile::tempdir().map_err(|e| rayseg_error(&e))?;
                    let path = d.path().join("with.nii");
                    write_label_map(&path, other, &LabelSet::default(), &image, None)
                        .map_err(|e| label_format_error(&e))?;
                    dir = Some((d, path));
                }
                let mut o = o.clone();
                o.with_map = dir.as_ref().map(|(_, p)| p.display().to_string());
                doc.apply(&EditOp::Logical(o))
            }
            _ => doc.apply(op),
        }
        .map_err(|e| {
            let err = document_error(&e);
            Python::attach(|py| {
                let msg = format!("edit {n} ({}): {}", op.name(), err.value(py));
                PyErr::from_type(err.get_type(py), msg)
            })
        })?;
        report.push(serde_json::json!({
            "op": op.name(),
            "voxels_changed": outcome.voxels_changed,
            "warnings": outcome.warnings,
        }));
    }
    let report = serde_json::to_string(&report).map_err(value_error)?;
    Ok((doc.labels().to_vec(), report))
}
