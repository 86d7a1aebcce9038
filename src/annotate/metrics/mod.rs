//! Agreement between two label maps: overlap, volume and surface distances.
//!
//! Surfaces and distances follow DeepMind's `surface-distance`: the surface of
//! a mask is made of surface elements on the half-voxel (cell) grid, found
//! from 2×2×2 neighbour codes and weighted by their marching-cubes area
//! ([`neighbour_codes`]); distances are exact Euclidean distances in mm from
//! each element of one surface to the nearest element of the other, on the
//! cell grid cropped to the labels' box ([`surface`]). Every summary is
//! weighted by surfel area; HD95 is the larger of the two directed
//! 95th percentiles, as `compute_robust_hausdorff(…, 95)`.

pub mod grid;
pub mod neighbour_codes;
pub mod overlap;
pub mod surface;

use serde::Serialize;
use thiserror::Error;

pub use grid::Grid;
use neighbour_codes::{cell_codes, cell_size, surfel_areas_mm2};
use overlap::{Census, census, dice_jaccard};
use surface::{distances_to, summarise, surface_area_mm2};

/// Percentile of the robust Hausdorff distance.
pub const HD_PERCENT: f64 = 95.0;

/// Default tolerance of the normalised surface Dice, mm.
pub const DEFAULT_TOLERANCE_MM: f64 = 1.0;

/// What the metrics are when a label is missing from a map.
pub const EMPTY_POLICY: &str = "A label in only one map has Dice, Jaccard and surface Dice 0 and \
    no distances (null), and \"empty\" names the map it is missing from (\"A\" or \"B\"); \
    volume_diff_percent is null when A is empty. A label asked for with --label that is in \
    neither map has \"empty\": \"both\" and every metric null. No value is ever NaN or infinite.";

#[derive(Debug, Error)]
pub enum MetricsError {
    #[error("the grids differ in shape: {a:?} and {b:?} voxels")]
    Shape { a: [usize; 3], b: [usize; 3] },
    #[error(
        "the grids place voxels up to {offset_mm:.4} mm apart (more than {} mm)",
        grid::SAME_GRID_MM
    )]
    Placement { offset_mm: f64 },
    #[error(
        "voxel axes {axes} are {off_deg:.4}° from perpendicular: surface distances need an \
         orthogonal grid (resample the label maps first)"
    )]
    NotOrthogonal { axes: &'static str, off_deg: f64 },
    #[error("voxel spacing {spacing_mm:?} mm: every axis needs a finite size > 0")]
    Spacing { spacing_mm: [f64; 3] },
    #[error("label maps of {a} and {b} voxels on a grid of {shape:?}")]
    Length {
        a: usize,
        b: usize,
        shape: [usize; 3],
    },
    #[error("tolerance {0} mm: must be finite and ≥ 0")]
    Tolerance(f64),
    #[error("label 0 is the background, not a label")]
    Background,
}

/// Which map a label is missing from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Empty {
    A,
    B,
    #[serde(rename = "both")]
    Both,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Surface-Dice tolerance, mm.
    pub tolerance_mm: f64,
    /// Only this label (reported even if in neither map); else every label
    /// in either map.
    pub label: Option<u8>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            tolerance_mm: DEFAULT_TOLERANCE_MM,
            label: None,
        }
    }
}

/// Agreement of one label between map A and map B (the reference for the
/// relative volume difference). `None` (JSON null) where [`EMPTY_POLICY`]
/// says a value does not exist.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LabelMetrics {
    pub label: u8,
    pub empty: Option<Empty>,
    pub voxels_a: u64,
    pub voxels_b: u64,
    pub voxels_both: u64,
    pub volume_a_ml: f64,
    pub volume_b_ml: f64,
    /// B − A.
    pub volume_diff_ml: f64,
    /// 100 (B − A) / A.
    pub volume_diff_percent: Option<f64>,
    pub dice: Option<f64>,
    pub jaccard: Option<f64>,
    /// Normalised surface Dice: the share of both surfaces' area within the
    /// tolerance of the other surface.
    pub surface_dice: Option<f64>,
    pub hausdorff_mm: Option<f64>,
    pub hd95_mm: Option<f64>,
    /// Area-weighted mean over both surfaces' elements of the distance to
    /// the other surface.
    pub assd_mm: Option<f64>,
    /// The directed means (their average is MedPy's `assd`).
    pub asd_a_to_b_mm: Option<f64>,
    pub asd_b_to_a_mm: Option<f64>,
    pub surface_area_a_mm2: f64,
    pub surface_area_b_mm2: f64,
}

/// Compares label maps `a` and `b`, both on `grid` (one value per voxel, i
/// fastest): one entry per label in either map, ascending, or only
/// `options.label`.
pub fn compare(
    grid: &Grid,
    a: &[u8],
    b: &[u8],
    options: &Options,
) -> Result<Vec<LabelMetrics>, MetricsError> {
    let tolerance_mm = options.tolerance_mm;
    if !tolerance_mm.is_finite() || tolerance_mm < 0.0 {
        return Err(MetricsError::Tolerance(tolerance_mm));
    }
    if options.label == Some(0) {
        return Err(MetricsError::Background);
    }
    let spacing_mm = grid.spacing_mm()?;
    if grid.voxel_count() != Some(a.len()) || a.len() != b.len() {
        return Err(MetricsError::Length {
            a: a.len(),
            b: b.len(),
            shape: grid.shape,
        });
    }
    let census = census(a, b, grid.shape);
    let labels: Vec<u8> = match options.label {
        Some(l) => vec![l],
        None => census.present().collect(),
    };
    let pass = Pass {
        grid,
        a,
        b,
        census: &census,
        spacing_mm,
        areas_mm2: surfel_areas_mm2(spacing_mm),
        tolerance_mm,
    };
    // One label at a time: each step is parallel inside, and memory stays
    // that of the largest label's box.
    Ok(labels.into_iter().map(|l| pass.label(l)).collect())
}

/// What every label's comparison shares.
struct Pass<'a> {
    grid: &'a Grid,
    a: &'a [u8],
    b: &'a [u8],
    census: &'a Census,
    spacing_mm: [f64; 3],
    areas_mm2: [f64; 256],
    tolerance_mm: f64,
}

impl Pass<'_> {
    fn label(&self, label: u8) -> LabelMetrics {
        let l = usize::from(label);
        let c = self.census;
        let (va, vb) = (c.voxels_a[l], c.voxels_b[l]);
        let voxel_ml = self.grid.voxel_volume_ml();
        let empty = match (va > 0, vb > 0) {
            (true, true) => None,
            (false, true) => Some(Empty::A),
            (true, false) => Some(Empty::B),
            (false, false) => Some(Empty::Both),
        };
        let (dice, jaccard) = dice_jaccard(va, vb, c.voxels_both[l]).unzip();
        let mut m = LabelMetrics {
            label,
            empty,
            voxels_a: va,
            voxels_b: vb,
            voxels_both: c.voxels_both[l],
            volume_a_ml: va as f64 * voxel_ml,
            volume_b_ml: vb as f64 * voxel_ml,
            volume_diff_ml: (vb as f64 - va as f64) * voxel_ml,
            volume_diff_percent: (va > 0).then(|| 100.0 * (vb as f64 - va as f64) / va as f64),
            dice,
            jaccard,
            surface_dice: None,
            hausdorff_mm: None,
            hd95_mm: None,
            assd_mm: None,
            asd_a_to_b_mm: None,
            asd_b_to_a_mm: None,
            surface_area_a_mm2: 0.0,
            surface_area_b_mm2: 0.0,
        };
        let (lo, hi) = (c.lo[l], c.hi[l]);
        let codes = |labels: &[u8]| cell_codes(labels, self.grid.shape, label, lo, hi);
        match empty {
            Some(Empty::Both) => {}
            Some(Empty::A) => {
                m.surface_area_b_mm2 = surface_area_mm2(&codes(self.b), &self.areas_mm2);
                m.surface_dice = Some(0.0);
            }
            Some(Empty::B) => {
                m.surface_area_a_mm2 = surface_area_mm2(&codes(self.a), &self.areas_mm2);
                m.surface_dice = Some(0.0);
            }
            None => {
                let (ca, cb) = (codes(self.a), codes(self.b));
                let size = cell_size(lo, hi);
                let directed = |from: &[u8], to: &[u8]| {
                    distances_to(from, to, size, self.spacing_mm, &self.areas_mm2)
                        .and_then(|s| summarise(s, HD_PERCENT, self.tolerance_mm))
                };
                // A mask with a voxel in its box always has a surface.
                if let (Some(ab), Some(ba)) = (directed(&ca, &cb), directed(&cb, &ca)) {
                    let area_mm2 = ab.area_mm2 + ba.area_mm2;
                    m.surface_area_a_mm2 = ab.area_mm2;
                    m.surface_area_b_mm2 = ba.area_mm2;
                    m.surface_dice = Some((ab.area_within_mm2 + ba.area_within_mm2) / area_mm2);
                    m.hausdorff_mm = Some(ab.max_mm.max(ba.max_mm));
                    m.hd95_mm = Some(ab.percentile_mm.max(ba.percentile_mm));
                    m.assd_mm = Some((ab.weighted_sum_mm3 + ba.weighted_sum_mm3) / area_mm2);
                    m.asd_a_to_b_mm = Some(ab.mean_mm());
                    m.asd_b_to_a_mm = Some(ba.mean_mm());
                }
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::{DMat4, DVec3};

    const SHAPE: [usize; 3] = [16, 14, 12];
    const SPACING_MM: [f64; 3] = [0.7, 0.9, 2.5];

    fn grid() -> Grid {
        Grid {
            shape: SHAPE,
            ras_from_voxel: DMat4::from_rotation_x(0.3)
                * DMat4::from_scale(DVec3::from(SPACING_MM)),
        }
    }

    /// Label `value` on the voxel box `lo..hi` (exclusive).
    fn cuboid(map: &mut [u8], value: u8, lo: [usize; 3], hi: [usize; 3]) {
        for k in lo[2]..hi[2] {
            for j in lo[1]..hi[1] {
                for i in lo[0]..hi[0] {
                    map[i + SHAPE[0] * (j + SHAPE[1] * k)] = value;
                }
            }
        }
    }

    fn maps() -> (Vec<u8>, Vec<u8>) {
        let n = SHAPE.iter().product();
        (vec![0; n], vec![0; n])
    }

    #[test]
    fn identical_maps_agree_perfectly() {
        let (mut a, _) = maps();
        cuboid(&mut a, 3, [2, 3, 1], [9, 10, 6]);
        cuboid(&mut a, 1, [10, 1, 7], [15, 13, 12]);
        let r = compare(&grid(), &a, &a, &Options::default()).unwrap();
        assert_eq!(r.iter().map(|m| m.label).collect::<Vec<_>>(), vec![1, 3]);
        for m in &r {
            assert_eq!(
                (m.dice, m.jaccard, m.surface_dice),
                (Some(1.0), Some(1.0), Some(1.0))
            );
            assert_eq!(
                (m.hausdorff_mm, m.hd95_mm, m.assd_mm),
                (Some(0.0), Some(0.0), Some(0.0))
            );
            assert_eq!(
                (m.empty, m.volume_diff_ml, m.volume_diff_percent),
                (None, 0.0, Some(0.0))
            );
            assert!(m.surface_area_a_mm2 > 0.0 && m.surface_area_a_mm2 == m.surface_area_b_mm2);
        }
        let voxel_ml = SPACING_MM.iter().product::<f64>() / 1000.0;
        assert!((r[1].volume_a_ml - 7.0 * 7.0 * 5.0 * voxel_ml).abs() < 1e-12);
    }

    #[test]
    fn a_shift_by_one_slice_is_one_slice_thick() {
        let (mut a, mut b) = maps();
        cuboid(&mut a, 4, [2, 2, 2], [12, 12, 8]);
        cuboid(&mut b, 4, [2, 2, 3], [12, 12, 9]);
        let m = &compare(&grid(), &a, &b, &Options::default()).unwrap()[0];
        assert_eq!((m.voxels_a, m.voxels_both), (600, 500));
        assert!((m.dice.unwrap() - 5.0 / 6.0).abs() < 1e-12);
        assert!((m.jaccard.unwrap() - 5.0 / 7.0).abs() < 1e-12);
        // The caps lie one 2.5 mm slice apart; the sides coincide.
        assert!((m.hausdorff_mm.unwrap() - 2.5).abs() < 1e-12);
        let sd = m.surface_dice.unwrap();
        assert!(sd > 0.5 && sd < 1.0, "{sd}");
        // Within 3 mm everything touches.
        let loose = Options {
            tolerance_mm: 3.0,
            label: Some(4),
        };
        assert_eq!(
            compare(&grid(), &a, &b, &loose).unwrap()[0].surface_dice,
            Some(1.0)
        );
    }

    #[test]
    fn empty_sides_follow_the_policy() {
        let (mut a, mut b) = maps();
        cuboid(&mut a, 1, [1, 1, 1], [4, 4, 4]);
        cuboid(&mut b, 2, [8, 8, 8], [10, 10, 10]);
        let r = compare(&grid(), &a, &b, &Options::default()).unwrap();
        assert_eq!((r[0].empty, r[1].empty), (Some(Empty::B), Some(Empty::A)));
        for m in &r {
            assert_eq!(
                (m.dice, m.jaccard, m.surface_dice),
                (Some(0.0), Some(0.0), Some(0.0))
            );
            assert_eq!((m.hausdorff_mm, m.hd95_mm, m.assd_mm), (None, None, None));
        }
        assert!(r[0].surface_area_a_mm2 > 0.0 && r[1].surface_area_b_mm2 > 0.0);
        assert_eq!(
            (r[0].volume_diff_percent, r[1].volume_diff_percent),
            (Some(-100.0), None)
        );
        let only = |label| Options {
            tolerance_mm: 1.0,
            label: Some(label),
        };
        let none = &compare(&grid(), &a, &b, &only(7)).unwrap()[0];
        assert_eq!(
            (none.empty, none.dice, none.surface_dice),
            (Some(Empty::Both), None, None)
        );
        let json = serde_json::to_string(none).unwrap();
        assert!(json.contains(r#""empty":"both""#) && json.contains(r#""dice":null"#));
    }

    #[test]
    fn bad_arguments_are_errors() {
        let (a, b) = maps();
        let g = grid();
        let with = |tolerance_mm, label| Options {
            tolerance_mm,
            label,
        };
        assert!(matches!(
            compare(&g, &a, &b, &with(f64::NAN, None)),
            Err(MetricsError::Tolerance(_))
        ));
        assert!(matches!(
            compare(&g, &a, &b, &with(-1.0, None)),
            Err(MetricsError::Tolerance(_))
        ));
        assert!(matches!(
            compare(&g, &a, &b, &with(1.0, Some(0))),
            Err(MetricsError::Background)
        ));
        assert!(matches!(
            compare(&g, &a, &b[1..], &with(1.0, None)),
            Err(MetricsError::Length { .. })
        ));
        assert_eq!(
            compare(&g, &a, &b, &Options::default()).unwrap(),
            Vec::new()
        );
    }
}
