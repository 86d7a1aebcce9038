//! `stats` and `compare`: the library functions the CLI's subcommands call,
//! their results serialised as the CLI's `--json` prints them.

use numpy::PyArray1;
use pyo3::prelude::*;
use rayseg::annotate::metrics::{EMPTY_POLICY, Grid, HD_PERCENT, Options, compare as compare_maps};
use rayseg::annotate::stats::label_stats;

use crate::arrays;
use crate::errors::value_error;
use crate::io::label_set;

type Affine = [[f64; 4]; 4];

/// `rayseg stats --json`: per-label statistics of `labels` over the image,
/// as a JSON list (names only where `names` gives them, as from a sidecar).
#[pyfunction]
#[pyo3(signature = (values, shape, affine, labels, names=None))]
pub fn stats(
    py: Python<'_>,
    values: Bound<'_, PyAny>,
    shape: [usize; 3],
    affine: Affine,
    labels: Bound<'_, PyArray1<u8>>,
    names: Option<Vec<(u8, String)>>,
) -> PyResult<String> {
    let image = arrays::volume(&values, shape, affine)?;
    let labels = arrays::labels(&labels, shape)?;
    let set = names.map(label_set);
    py.detach(|| {
        let stats = label_stats(&image, &labels, set.as_ref()).map_err(value_error)?;
        serde_json::to_string(&stats).map_err(value_error)
    })
}

/// `rayseg compare --json` without `files` and `method`: grid, tolerance,
/// HD percentile, empty-mask policy and per-label metrics (A the reference).
#[pyfunction]
#[pyo3(signature = (a, b, shape, affine, label=None, tolerance_mm=None, names=None))]
#[allow(clippy::too_many_arguments)]
pub fn compare(
    py: Python<'_>,
    a: Bound<'_, PyArray1<u8>>,
    b: Bound<'_, PyArray1<u8>>,
    shape: [usize; 3],
    affine: Affine,
    label: Option<u8>,
    tolerance_mm: Option<f64>,
    names: Option<Vec<(u8, String)>>,
) -> PyResult<String> {
    let grid = Grid {
        shape,
        ras_from_voxel: arrays::matrix(affine)?,
    };
    let (a, b) = (arrays::labels(&a, shape)?, arrays::labels(&b, shape)?);
    let mut options = Options {
        label,
        ..Options::default()
    };
    if let Some(t) = tolerance_mm {
        options.tolerance_mm = t;
    }
    let set = names.map(label_set);
    py.detach(|| {
        let metrics = compare_maps(&grid, &a, &b, &options).map_err(value_error)?;
        let spacing_mm = grid.spacing_mm().map_err(value_error)?;
        let mut labels = Vec::with_capacity(metrics.len());
        for m in &metrics {
            let mut v = serde_json::to_value(m).map_err(value_error)?;
            let name = set
                .as_ref()
                .and_then(|s| s.get(m.label))
                .map(|i| i.name.clone());
            v["name"] = serde_json::json!(name);
            labels.push(v);
        }
        let report = serde_json::json!({
            "grid": {
                "shape": grid.shape,
                "spacing_mm": spacing_mm,
                "ras_from_voxel": arrays::rows(&grid.ras_from_voxel),
                "voxel_volume_ml": grid.voxel_volume_ml(),
            },
            "tolerance_mm": options.tolerance_mm,
            "hd_percentile": HD_PERCENT,
            "policy": EMPTY_POLICY,
            "labels": labels,
        });
        serde_json::to_string(&report).map_err(value_error)
    })
}
