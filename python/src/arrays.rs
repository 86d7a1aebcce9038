//! NumPy arrays to and from the library's types. The Python layer hands over
//! each volume as a 1-D array in Fortran order (i fastest: the library's
//! layout) of a dtype the library stores, plus its shape; nothing here
//! guesses a layout.

use glam::{DMat3, DMat4};
use numpy::{IntoPyArray, PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use rayseg::volume::{Modality, Volume, VoxelData};

use crate::errors::value_error;

/// A 4×4 affine, as rows (NumPy's `affine[r, c]`), to the library's
/// voxel-to-RAS matrix: finite, with a last row of 0 0 0 1 and an invertible
/// linear part.
pub fn matrix(rows: [[f64; 4]; 4]) -> PyResult<DMat4> {
    if rows.iter().flatten().any(|x| !x.is_finite()) {
        return Err(value_error("the affine has non-finite entries"));
    }
    if rows[3] != [0.0, 0.0, 0.0, 1.0] {
        return Err(value_error(format!(
            "the affine's last row is {:?}, not [0, 0, 0, 1]",
            rows[3]
        )));
    }
    let m = DMat4::from_cols_array_2d(&rows).transpose();
    let det = DMat3::from_mat4(m).determinant();
    if !det.is_normal() {
        return Err(value_error(format!(
            "the affine is not invertible (determinant of its 3×3 part {det})"
        )));
    }
    Ok(m)
}

/// The rows of a voxel-to-RAS matrix, as `rayseg info --json` prints them.
pub fn rows(m: &DMat4) -> [[f64; 4]; 4] {
    m.transpose().to_cols_array_2d()
}

fn copy<T: numpy::Element + Copy>(a: &Bound<'_, PyArray1<T>>) -> PyResult<Vec<T>> {
    let ro: PyReadonlyArray1<T> = a.readonly();
    Ok(ro
        .as_slice()
        .map_err(|e| value_error(format!("array is not contiguous: {e}")))?
        .to_vec())
}

/// The values of a 1-D array in one of the stored types, copied.
pub fn voxel_data(values: &Bound<'_, PyAny>) -> PyResult<VoxelData> {
    macro_rules! try_type {
        ($($t:ty => $variant:ident),*) => {
            $(if let Ok(a) = values.cast::<PyArray1<$t>>() {
                return Ok(VoxelData::$variant(copy(a)?));
            })*
        };
    }
    try_type!(u8 => U8, i8 => I8, u16 => U16, i16 => I16, u32 => U32, i32 => I32,
        f32 => F32, f64 => F64);
    Err(value_error(
        "image values must be a 1-D array of uint8, int8, uint16, int16, uint32, int32, \
         float32 or float64",
    ))
}

/// A volume from values on a grid of `shape` placed by `affine` (rows).
pub fn volume(
    values: &Bound<'_, PyAny>,
    shape: [usize; 3],
    affine: [[f64; 4]; 4],
) -> PyResult<Volume> {
    let m = matrix(affine)?;
    let data = voxel_data(values)?;
    Volume::new(shape, data, m, Modality::Unknown).map_err(value_error)
}

/// A label map (uint8, one per voxel of `shape`), copied.
pub fn labels(a: &Bound<'_, PyArray1<u8>>, shape: [usize; 3]) -> PyResult<Vec<u8>> {
    let v = copy(a)?;
    let want: usize = shape.iter().product();
    if v.len() != want {
        return Err(value_error(format!(
            "label map has {} voxels, the grid {shape:?} has {want}",
            v.len()
        )));
    }
    Ok(v)
}

/// The values of a volume as a 1-D NumPy array of their stored type (no copy).
pub fn to_numpy(py: Python<'_>, data: VoxelData) -> Bound<'_, PyAny> {
    match data {
        VoxelData::U8(v) => v.into_pyarray(py).into_any(),
        VoxelData::I8(v) => v.into_pyarray(py).into_any(),
        VoxelData::U16(v) => v.into_pyarray(py).into_any(),
        VoxelData::I16(v) => v.into_pyarray(py).into_any(),
        VoxelData::U32(v) => v.into_pyarray(py).into_any(),
        VoxelData::I32(v) => v.into_pyarray(py).into_any(),
        VoxelData::F32(v) => v.into_pyarray(py).into_any(),
        VoxelData::F64(v) => v.into_pyarray(py).into_any(),
    }
}
