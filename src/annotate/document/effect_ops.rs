//! The effect ops (issue 15's tools): each a script op named like its
//! subcommand, and the journal's `tool`/`params`. Distances are millimetres
//! on the voxel grid (spacing exact, also on oblique grids); values are the
//! image's scaled values (HU for CT).

use serde::{Deserialize, Serialize};

use super::ops::Overwrite;

fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn six() -> u32 {
    6
}

fn fifteen() -> f64 {
    15.0
}

fn seeds_smoothing() -> f64 {
    SEEDS_SMOOTHING_MM
}

/// The default smoothing of grow from seeds (σ, mm).
pub const SEEDS_SMOOTHING_MM: f64 = 0.7;

/// A grid axis (i, j or k).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Axis {
    I,
    J,
    K,
}

impl Axis {
    pub fn index(self) -> usize {
        match self {
            Axis::I => 0,
            Axis::J => 1,
            Axis::K => 2,
        }
    }
}

/// Grow from seeds: every non-zero label of the seed map competes for the
/// voxels of the seeds' bounding box grown by `roi_margin_mm`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedsOp {
    /// A label map on the image grid holding the seeds (any label format).
    pub seeds: String,
    #[serde(default = "fifteen")]
    pub roi_margin_mm: f64,
    /// Gaussian smoothing of the values (σ in mm) before the competition;
    /// 0 turns it off (see `seeds::smooth` for why 0.7 mm).
    #[serde(default = "seeds_smoothing")]
    pub smoothing_mm: f64,
    /// This label's region is removed from the result (it only competes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<u8>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub overwrite: Overwrite,
}

/// Fill between slices (morphological contour interpolation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterpolateOp {
    pub label: u8,
    /// Detected from the drawn slices when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub axis: Option<Axis>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub overwrite: Overwrite,
}

/// Connected components of a label: keep the largest, drop the small, or split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IslandsOp {
    pub label: u8,
    #[serde(default, skip_serializing_if = "is_false")]
    pub keep_largest: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_voxels: Option<u64>,
    /// The largest island keeps the label; every other gets a new label, largest first.
    #[serde(default, skip_serializing_if = "is_false")]
    pub split: bool,
    /// 6 (faces) or 26 (faces, edges, corners).
    #[serde(default = "six")]
    pub connectivity: u32,
}

/// Grow (mm > 0) or shrink (mm < 0) by an exact Euclidean distance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarginOp {
    pub label: u8,
    pub mm: f64,
    #[serde(default, skip_serializing_if = "is_default")]
    pub overwrite: Overwrite,
}

/// Where a hollow shell lies relative to the label's surface.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shell {
    #[default]
    Inside,
    Outside,
    Centred,
}

/// Replaces a label by a shell of thickness `mm`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HollowOp {
    pub label: u8,
    pub mm: f64,
    #[serde(default, skip_serializing_if = "is_default")]
    pub shell: Shell,
    #[serde(default, skip_serializing_if = "is_default")]
    pub overwrite: Overwrite,
}

/// Smoothing: exactly one of the kernels, sized in mm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmoothOp {
    pub label: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_mm: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening_mm: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closing_mm: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gaussian_mm: Option<f64>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub overwrite: Overwrite,
}

/// The one smoothing kernel a [`SmoothOp`] names.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Smoothing {
    Median(f64),
    Opening(f64),
    Closing(f64),
    Gaussian(f64),
}

impl SmoothOp {
    /// The kernel, or None unless exactly one is given.
    pub fn smoothing(&self) -> Option<Smoothing> {
        let given = [
            self.median_mm.map(Smoothing::Median),
            self.opening_mm.map(Smoothing::Opening),
            self.closing_mm.map(Smoothing::Closing),
            self.gaussian_mm.map(Smoothing::Gaussian),
        ];
        let mut it = given.into_iter().flatten();
        match (it.next(), it.next()) {
            (Some(s), None) => Some(s),
            _ => None,
        }
    }
}

/// Fills background pockets enclosed by a label (in 3-D, or slice by slice).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FillHolesOp {
    pub label: u8,
    /// Per slice of this axis instead of in 3-D.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slice_wise: Option<Axis>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub overwrite: Overwrite,
}

/// A logical operation on a label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Logical {
    Union,
    Subtract,
    Intersect,
    Invert,
    Clear,
    Copy,
}

/// `label` op= `with` (a label of this map, or of `with_map` when given:
/// labels of one map never overlap, another reader's map may).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogicalOp {
    /// The operation ("op" names the script op itself).
    pub operation: Logical,
    pub label: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<u8>,
    /// A label map on the image grid that `with` is read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_map: Option<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub overwrite: Overwrite,
}

/// Keeps only the label's voxels whose image value lies in [lower, upper].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdMaskOp {
    pub label: u8,
    pub lower: f64,
    pub upper: f64,
}
