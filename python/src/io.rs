//! Reading images and label maps, writing label maps: the library's readers
//! and writers, so every format the CLI takes is taken here too.

use std::path::PathBuf;

use numpy::{IntoPyArray, PyArray1};
use pyo3::exceptions::PyFileExistsError;
use pyo3::prelude::*;
use rayseg::annotate::label_formats::{
    LabelFormat, LabelMapFile, read_label_map, read_label_map_alone, write_label_map,
};
use rayseg::annotate::labels::{LabelInfo, LabelSet};
use rayseg::volume::summary::VolumeSummary;
use rayseg::volume::{LoadOptions, Modality, Volume, VoxelData, load as load_volume};

use crate::arrays::{self, rows};
use crate::errors::{label_format_error, load_error, value_error};

type Affine = [[f64; 4]; 4];

fn read(py: Python<'_>, path: PathBuf, volume: usize, series: Option<String>) -> PyResult<Volume> {
    let options = LoadOptions {
        volume_index: volume,
        series_uid: series,
        progress: None,
    };
    py.detach(|| load_volume(&path, &options))
        .map_err(|e| load_error(&e))
}

/// `load(path)`: the stored values (scaled: HU for CT), the grid's shape and
/// the voxel-to-RAS matrix's rows.
#[pyfunction]
#[pyo3(signature = (path, volume=0, series=None))]
pub fn load(
    py: Python<'_>,
    path: PathBuf,
    volume: usize,
    series: Option<String>,
) -> PyResult<(Bound<'_, PyAny>, [usize; 3], Affine)> {
    let v = read(py, path, volume, series)?;
    let (shape, affine) = (v.shape, rows(&v.ras_from_voxel));
    Ok((arrays::to_numpy(py, v.data), shape, affine))
}

/// `rayseg info --json` as a JSON string.
#[pyfunction]
#[pyo3(signature = (path, volume=0, series=None))]
pub fn info(
    py: Python<'_>,
    path: PathBuf,
    volume: usize,
    series: Option<String>,
) -> PyResult<String> {
    let v = read(py, path, volume, series)?;
    serde_json::to_string(&VolumeSummary::new(&v)).map_err(value_error)
}

fn names(set: Option<&LabelSet>) -> Vec<(u8, String)> {
    set.map_or_else(Vec::new, |s| {
        s.labels.iter().map(|l| (l.value, l.name.clone())).collect()
    })
}

pub fn label_set(names: Vec<(u8, String)>) -> LabelSet {
    LabelSet {
        labels: names
            .into_iter()
            .map(|(v, n)| LabelInfo::new(v, n))
            .collect(),
    }
}

type LabelsRead<'py> = (
    Bound<'py, PyArray1<u8>>,
    [usize; 3],
    Affine,
    Vec<(u8, String)>,
    Vec<String>,
);

/// A label map on its own grid (`like` None, as `compare` reads it) or on
/// the grid of `like` = (values, shape, affine) (as `stats` reads it onto
/// the image, resampled by nearest neighbour when the grids differ).
/// Returns labels, shape, affine rows, label names and the reader's warnings.
#[pyfunction]
#[pyo3(signature = (path, like=None))]
pub fn load_labels<'py>(
    py: Python<'py>,
    path: PathBuf,
    like: Option<(Bound<'py, PyAny>, [usize; 3], Affine)>,
) -> PyResult<LabelsRead<'py>> {
    let (grid, file): (Volume, LabelMapFile) = match like {
        Some((values, shape, affine)) => {
            let image = arrays::volume(&values, shape, affine)?;
            let file = py
                .detach(|| read_label_map(&path, &image, None))
                .map_err(|e| label_format_error(&e))?;
            (image, file)
        }
        None => py
            .detach(|| read_label_map_alone(&path, None))
            .map_err(|e| label_format_error(&e))?,
    };
    let names = names(file.label_set.as_ref());
    Ok((
        file.labels.into_pyarray(py),
        grid.shape,
        rows(&grid.ras_from_voxel),
        names,
        file.warnings,
    ))
}

/// Writes a label map (atomically, with its `.labels.json` sidecar where the
/// format has one); returns the files written.
#[pyfunction]
#[pyo3(signature = (path, labels, shape, affine, names, format=None, overwrite=false))]
#[allow(clippy::too_many_arguments)]
pub fn save_labels(
    py: Python<'_>,
    path: PathBuf,
    labels: Bound<'_, PyArray1<u8>>,
    shape: [usize; 3],
    affine: Affine,
    names: Vec<(u8, String)>,
    format: Option<String>,
    overwrite: bool,
) -> PyResult<Vec<PathBuf>> {
    let format = format
        .map(|f| LabelFormat::from_name(&f))
        .transpose()
        .map_err(|e| label_format_error(&e))?;
    if !overwrite && path.exists() {
        return Err(PyFileExistsError::new_err(format!(
            "{} exists; pass overwrite=True to replace it",
            path.display()
        )));
    }
    let labels = arrays::labels(&labels, shape)?;
    let m = arrays::matrix(affine)?;
    let set = label_set(names);
    py.detach(|| {
        // The grid is the labels' own: the writers take geometry from it.
        let grid =
            Volume::new(shape, VoxelData::U8(labels), m, Modality::Unknown).map_err(value_error)?;
        match &grid.data {
            VoxelData::U8(labels) => write_label_map(&path, labels, &set, &grid, format)
                .map_err(|e| label_format_error(&e)),
            _ => Err(value_error("label maps are uint8")),
        }
    })
}
