//! Measurements of one lesion at one time point: volume, centroid and the
//! RECIST axes, the latter from [`crate::annotate::stats::recist_axes`], the
//! code `rayseg stats` reports per label with.

use glam::{DMat3, DMat4, DVec3};
use serde::Serialize;

use super::TimePoint;
use super::lesions::{Component, ijk};
use crate::annotate::brush::SlicePlane;
use crate::annotate::stats::recist_axes;

/// A lesion's size at one time point; all zero when it is absent (its
/// centroid is then written as `null`: the origin is a real position).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Measurement {
    pub voxels: u64,
    pub volume_ml: f64,
    /// Mean of the voxel centres, in this time point's RAS mm.
    pub centroid_ras_mm: [f64; 3],
    /// Longest chord between voxel centres in one axial slice (RECIST long
    /// axis); for a lesion in fragments, the sum over the fragments.
    pub long_axis_mm: f64,
    /// Longest chord within ±5° of perpendicular to the long axis in the
    /// same slice; for fragments, the largest fragment's.
    pub short_axis_mm: f64,
}

impl Serialize for Measurement {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("Measurement", 5)?;
        m.serialize_field("voxels", &self.voxels)?;
        m.serialize_field("volume_ml", &self.volume_ml)?;
        let centroid = (self.voxels > 0).then_some(self.centroid_ras_mm);
        m.serialize_field("centroid_ras_mm", &centroid)?;
        m.serialize_field("long_axis_mm", &self.long_axis_mm)?;
        m.serialize_field("short_axis_mm", &self.short_axis_mm)?;
        m.end()
    }
}

pub fn voxel_volume_ml(ras_from_voxel: &DMat4) -> f64 {
    DMat3::from_mat4(*ras_from_voxel).determinant().abs() / 1000.0
}

/// Spacing between axial slices: the length of the grid axis closest to
/// RAS superior (the one RECIST axes are measured across).
pub fn slice_thickness_mm(ras_from_voxel: &DMat4) -> f64 {
    let axis = SlicePlane::Axial.grid_axis(ras_from_voxel);
    DMat3::from_mat4(*ras_from_voxel).col(axis).length()
}

pub fn measure(tp: &TimePoint, c: &Component) -> Measurement {
    let m = tp.ras_from_voxel;
    let mut sum = DVec3::ZERO;
    for &v in &c.voxels {
        sum += DVec3::from_array(ijk(tp.shape, v).map(|x| x as f64));
    }
    let n = c.voxels.len() as u64;
    if n == 0 {
        return Measurement::default();
    }
    let axes = recist_axes(&m, c.lo, c.hi, c.box_mask(tp.shape));
    Measurement {
        voxels: n,
        volume_ml: n as f64 * voxel_volume_ml(&m),
        centroid_ras_mm: m.transform_point3(sum / n as f64).to_array(),
        long_axis_mm: axes.map_or(0.0, |a| a.long_mm),
        short_axis_mm: axes.map_or(0.0, |a| a.short_mm),
    }
}

/// One lesion seen as several fragments: RECIST 1.1 section 4.3.1 ("lesions
/// that split or coalesce") adds the fragments' longest diameters; volumes add too.
/// The short axis is the largest fragment's; the centroid voxel-weighted.
pub fn combine(parts: &[Measurement]) -> Measurement {
    let voxels: u64 = parts.iter().map(|p| p.voxels).sum();
    if voxels == 0 {
        return Measurement::default();
    }
    let mut centroid = DVec3::ZERO;
    for p in parts {
        centroid += DVec3::from_array(p.centroid_ras_mm) * p.voxels as f64;
    }
    let largest = parts
        .iter()
        .max_by_key(|p| p.voxels)
        .copied()
        .unwrap_or_default();
    Measurement {
        voxels,
        volume_ml: parts.iter().map(|p| p.volume_ml).sum(),
        centroid_ras_mm: (centroid / voxels as f64).to_array(),
        long_axis_mm: parts.iter().map(|p| p.long_axis_mm).sum(),
        short_axis_mm: largest.short_axis_mm,
    }
}
