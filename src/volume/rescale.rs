//! Applying a linear rescale (NIfTI scl_slope/scl_inter, DICOM RescaleSlope/Intercept).

use super::{ValueStats, VoxelData};

/// value·slope + inter, keeping integers where that is exact.
pub fn rescale(data: VoxelData, slope: f64, inter: f64) -> VoxelData {
    let integral = slope.fract() == 0.0 && inter.fract() == 0.0;
    let is_int = !matches!(data, VoxelData::F32(_) | VoxelData::F64(_));
    if integral && is_int {
        let stats = ValueStats::compute(&data);
        let a = stats.min * slope + inter;
        let b = stats.max * slope + inter;
        let (lo, hi) = (a.min(b), a.max(b));
        let (s, c) = (slope as i64, inter as i64);
        if lo >= i16::MIN as f64 && hi <= i16::MAX as f64 {
            return VoxelData::I16(map_ints(&data, |x| (x * s + c) as i16));
        }
        if lo >= i32::MIN as f64 && hi <= i32::MAX as f64 {
            return VoxelData::I32(map_ints(&data, |x| (x * s + c) as i32));
        }
    }
    VoxelData::F64(
        (0..data.len())
            .map(|n| data.get_f64(n).unwrap_or(f64::NAN) * slope + inter)
            .collect(),
    )
}

fn map_ints<T>(data: &VoxelData, f: impl Fn(i64) -> T) -> Vec<T> {
    match data {
        VoxelData::U8(v) => v.iter().map(|&x| f(x as i64)).collect(),
        VoxelData::I8(v) => v.iter().map(|&x| f(x as i64)).collect(),
        VoxelData::U16(v) => v.iter().map(|&x| f(x as i64)).collect(),
        VoxelData::I16(v) => v.iter().map(|&x| f(x as i64)).collect(),
        VoxelData::U32(v) => v.iter().map(|&x| f(x as i64)).collect(),
        VoxelData::I32(v) => v.iter().map(|&x| f(x as i64)).collect(),
        VoxelData::F32(v) => v.iter().map(|&x| f(x as i64)).collect(),
        VoxelData::F64(v) => v.iter().map(|&x| f(x as i64)).collect(),
    }
}
