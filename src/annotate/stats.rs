//! Exact per-label statistics of a label map over an image (CPU).
//!
//! - `sd` is the population standard deviation (ddof = 0, numpy's `std`
//!   default), from a second pass over the deviations from the mean.
//! - Positions are voxel centres in RAS mm. `bbox_ras_mm` is the RAS-axis box
//!   of the label's voxel centres; `centroid_ras_mm` their mean.
//! - `max_diameter_mm`: the largest distance between two voxel centres of the
//!   label, exact. The farthest pair of a point set are convex-hull vertices,
//!   and a hull vertex is never strictly between two points of the set, so only
//!   voxels that are first or last along their i row, j column and k column
//!   are compared (pairwise, in parallel).
//! - RECIST: slices are planes of the grid axis closest to RAS superior
//!   (k for axial scans). Per slice the long axis is the longest chord between
//!   voxel centres (exact, same hull argument in 2-D); the short axis is the
//!   longest chord between in-plane boundary voxels (a 4-neighbour in the
//!   slice lies outside the label) whose direction is within
//!   ±[`RECIST_PERPENDICULAR_TOLERANCE_DEG`] of perpendicular to the long axis.
//!   The slice with the longest long axis is reported (the lowest on ties).

use glam::{DMat4, DVec3};
use rayon::prelude::*;
use serde::Serialize;
use thiserror::Error;

use crate::annotate::brush::SlicePlane;
use crate::annotate::labels::LabelSet;
use crate::annotate::undo::VoxelBox;
use crate::volume::{Volume, each_variant};

pub const RECIST_PERPENDICULAR_TOLERANCE_DEG: f64 = 5.0;

#[derive(Debug, Error)]
pub enum StatsError {
    #[error("region {region:?} lies outside the image grid {shape:?}")]
    Region { region: VoxelBox, shape: [usize; 3] },
    #[error("label map has {got} voxels but the image grid {shape:?} has {want}")]
    GridMismatch {
        got: usize,
        want: usize,
        shape: [usize; 3],
    },
}

/// Statistics of one label value present in the map.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LabelStats {
    pub label: u8,
    /// `null` when the map names no labels (always present for table readers).
    pub name: Option<String>,
    pub voxels: u64,
    pub volume_ml: f64,
    pub mean: f64,
    /// Population SD (ddof = 0).
    pub sd: f64,
    pub min: f64,
    pub max: f64,
    /// Inclusive voxel index box: [min ijk, max ijk].
    pub bbox_voxel: [[usize; 3]; 2],
    /// [min xyz, max xyz] of the voxel centres in RAS mm.
    pub bbox_ras_mm: [[f64; 3]; 2],
    pub centroid_ras_mm: [f64; 3],
    pub max_diameter_mm: f64,
    /// Voxel centres (RAS mm) realising `max_diameter_mm`.
    pub max_diameter_ends_ras_mm: [[f64; 3]; 2],
    pub recist_long_mm: f64,
    pub recist_short_mm: f64,
    /// Slice index along `recist_axis` (0 = i, 1 = j, 2 = k).
    pub recist_slice: usize,
    pub recist_axis: usize,
}

#[derive(Clone, Copy)]
struct Acc {
    n: u64,
    sum: f64,
    min: f64,
    max: f64,
    idx_sum: [u64; 3],
    lo: [usize; 3],
    hi: [usize; 3],
}

/// Statistics of every non-zero label in `labels` (one u8 per voxel of
/// `image`'s grid), sorted by label value; names from `names` when given.
pub fn label_stats(
    image: &Volume,
    labels: &[u8],
    names: Option<&LabelSet>,
) -> Result<Vec<LabelStats>, StatsError> {
    if labels.len() != image.voxel_count() {
        return Err(StatsError::GridMismatch {
            got: labels.len(),
            want: image.voxel_count(),
            shape: image.shape,
        });
    }
    label_stats_in(image, labels, VoxelBox::whole(image.shape), None, names)
}

/// Statistics of the labels in `only` (every non-zero label when `None`)
/// over `region` of the image grid, whose labels `labels` holds (i fastest).
/// A label whose voxels all lie in the region gets the same statistics as
/// from the whole map: the app recomputes just the labels an edit changed,
/// over a box holding them, instead of the whole volume.
#[allow(clippy::unnecessary_cast)] // the macro's f64 arm
pub fn label_stats_in(
    image: &Volume,
    labels: &[u8],
    region: VoxelBox,
    only: Option<&[u8]>,
    names: Option<&LabelSet>,
) -> Result<Vec<LabelStats>, StatsError> {
    let shape = image.shape;
    let size = region.size();
    if (0..3).any(|a| region.max[a] >= shape[a]) {
        return Err(StatsError::Region { region, shape });
    }
    if labels.len() != size.iter().product::<usize>() {
        return Err(StatsError::GridMismatch {
            got: labels.len(),
            want: size.iter().product(),
            shape: size,
        });
    }
    let mut wanted = [only.is_none(); 256];
    for &l in only.unwrap_or(&[]) {
        wanted[l as usize] = true;
    }
    wanted[0] = false;
    let empty = Acc {
        n: 0,
        sum: 0.0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        idx_sum: [0; 3],
        lo: [usize::MAX; 3],
        hi: [0; 3],
    };
    let mut acc = [empty; 256];
    let [ni, nj, _] = shape;
    // Row by row: (labels row, image row start, j, k).
    let rows = || {
        (0..size[2]).flat_map(move |lk| {
            (0..size[1]).map(move |lj| {
                let (j, k) = (region.min[1] + lj, region.min[2] + lk);
                let at = size[0] * (lj + size[1] * lk);
                (at, region.min[0] + ni * (j + nj * k), j, k)
            })
        })
    };
    each_variant!(&image.data, v => {
        for (at, src, j, k) in rows() {
            let row = labels[at..at + size[0]].iter().zip(&v[src..src + size[0]]);
            for (li, (&l, &x)) in row.enumerate() {
                if !wanted[l as usize] {
                    continue;
                }
                let x = x as f64;
                let ijk = [region.min[0] + li, j, k];
                let a = &mut acc[l as usize];
                a.n += 1;
                a.sum += x;
                a.min = a.min.min(x);
                a.max = a.max.max(x);
                for (d, &x) in ijk.iter().enumerate() {
                    a.idx_sum[d] += x as u64;
                    a.lo[d] = a.lo[d].min(x);
                    a.hi[d] = a.hi[d].max(x);
                }
            }
        }
    });
    let means: Vec<f64> = acc.iter().map(|a| a.sum / a.n.max(1) as f64).collect();
    let mut sq = [0f64; 256];
    each_variant!(&image.data, v => {
        for (at, src, _, _) in rows() {
            let row = labels[at..at + size[0]].iter().zip(&v[src..src + size[0]]);
            for (&l, &x) in row {
                if wanted[l as usize] {
                    let d = x as f64 - means[l as usize];
                    sq[l as usize] += d * d;
                }
            }
        }
    });
    let m = image.ras_from_voxel;
    let voxel_ml = image.voxel_volume_mm3() / 1000.0;
    let slice_axis = SlicePlane::Axial.grid_axis(&m);
    let mut out = Vec::new();
    for (l, a) in acc.iter().enumerate().filter(|(_, a)| a.n > 0) {
        let local = |p: [usize; 3]| [0, 1, 2].map(|d| p[d] - region.min[d]);
        let mut mask = Mask::new(labels, size, l as u8, local(a.lo), local(a.hi));
        mask.lo = a.lo;
        let hull = mask.hull_candidates();
        let ras: Vec<DVec3> = hull.iter().map(|&p| centre(&m, p)).collect();
        let (max_diameter_mm, ends) = farthest_pair(&ras);
        let mut bmin = [f64::INFINITY; 3];
        let mut bmax = [f64::NEG_INFINITY; 3];
        for p in &ras {
            for d in 0..3 {
                bmin[d] = bmin[d].min(p[d]);
                bmax[d] = bmax[d].max(p[d]);
            }
        }
        let mean_idx = DVec3::from_array(a.idx_sum.map(|s| s as f64 / a.n as f64));
        let (long, short, slice) = mask.recist(&m, slice_axis);
        out.push(LabelStats {
            label: l as u8,
            name: names.and_then(|s| s.get(l as u8)).map(|i| i.name.clone()),
            voxels: a.n,
            volume_ml: a.n as f64 * voxel_ml,
            mean: means[l],
            sd: (sq[l] / a.n as f64).sqrt(),
            min: a.min,
            max: a.max,
            bbox_voxel: [a.lo, a.hi],
            bbox_ras_mm: [bmin, bmax],
            centroid_ras_mm: m.transform_point3(mean_idx).to_array(),
            max_diameter_mm,
            max_diameter_ends_ras_mm: [ras[ends.0].to_array(), ras[ends.1].to_array()],
            recist_long_mm: long,
            recist_short_mm: short,
            recist_slice: slice,
            recist_axis: slice_axis,
        });
    }
    Ok(out)
}

/// RECIST axes of one region (the long axis, the short axis, and where).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RecistAxes {
    pub long_mm: f64,
    pub short_mm: f64,
    /// Slice index along `axis` (0 = i, 1 = j, 2 = k).
    pub slice: usize,
    pub axis: usize,
}

/// RECIST axes, as [`LabelStats`] reports them, of the region `inside`: one
/// bool per voxel of the inclusive box `lo..=hi` of a grid with voxel-to-RAS
/// matrix `ras_from_voxel` (i fastest). One connected component of a label,
/// say, measured apart from the label's other components. `None` when the
/// region is empty or `inside` does not fill the box.
pub fn recist_axes(
    ras_from_voxel: &DMat4,
    lo: [usize; 3],
    hi: [usize; 3],
    inside: Vec<bool>,
) -> Option<RecistAxes> {
    if (0..3).any(|a| hi[a] < lo[a]) {
        return None;
    }
    let size = [0, 1, 2].map(|a| hi[a] + 1 - lo[a]);
    if inside.len() != size.iter().product::<usize>() || !inside.contains(&true) {
        return None;
    }
    let mask = Mask {
        lo,
        size,
        bits: inside,
    };
    let axis = SlicePlane::Axial.grid_axis(ras_from_voxel);
    let (long_mm, short_mm, slice) = mask.recist(ras_from_voxel, axis);
    Some(RecistAxes {
        long_mm,
        short_mm,
        slice,
        axis,
    })
}

fn centre(m: &DMat4, ijk: [usize; 3]) -> DVec3 {
    m.transform_point3(DVec3::new(ijk[0] as f64, ijk[1] as f64, ijk[2] as f64))
}

/// Largest distance between two points and their indices (exhaustive).
fn farthest_pair(points: &[DVec3]) -> (f64, (usize, usize)) {
    let best = (0..points.len())
        .into_par_iter()
        .map(|a| {
            let mut best = (0.0f64, (a, a));
            for b in a + 1..points.len() {
                let d2 = points[a].distance_squared(points[b]);
                if d2 > best.0 {
                    best = (d2, (a, b));
                }
            }
            best
        })
        .reduce(|| (0.0, (0, 0)), |x, y| if y.0 > x.0 { y } else { x });
    (best.0.sqrt(), best.1)
}

/// One label's voxels inside its bounding box.
struct Mask {
    lo: [usize; 3],
    size: [usize; 3],
    bits: Vec<bool>,
}

impl Mask {
    fn new(labels: &[u8], shape: [usize; 3], l: u8, lo: [usize; 3], hi: [usize; 3]) -> Self {
        let size = [0, 1, 2].map(|a| hi[a] + 1 - lo[a]);
        let mut bits = Vec::with_capacity(size.iter().product());
        for k in lo[2]..=hi[2] {
            for j in lo[1]..=hi[1] {
                let row = shape[0] * (j + shape[1] * k);
                bits.extend(labels[row + lo[0]..=row + hi[0]].iter().map(|&x| x == l));
            }
        }
        Mask { lo, size, bits }
    }

    fn at(&self, p: [usize; 3]) -> usize {
        p[0] + self.size[0] * (p[1] + self.size[1] * p[2])
    }

    /// Bit a of flags[v] set when v is first or last of the label along its axis-a line.
    fn line_extremes(&self) -> Vec<u8> {
        let mut flags = vec![0u8; self.bits.len()];
        for a in 0..3 {
            let (b, c) = ((a + 1) % 3, (a + 2) % 3);
            for y in 0..self.size[b] {
                for z in 0..self.size[c] {
                    let pos = |x: usize| {
                        let mut p = [0; 3];
                        (p[a], p[b], p[c]) = (x, y, z);
                        self.at(p)
                    };
                    let first = (0..self.size[a]).find(|&x| self.bits[pos(x)]);
                    let last = (0..self.size[a]).rev().find(|&x| self.bits[pos(x)]);
                    if let (Some(f), Some(l)) = (first, last) {
                        flags[pos(f)] |= 1 << a;
                        flags[pos(l)] |= 1 << a;
                    }
                }
            }
        }
        flags
    }

    fn global(&self, local: usize) -> [usize; 3] {
        let (sx, sy) = (self.size[0], self.size[1]);
        let p = [local % sx, (local / sx) % sy, local / (sx * sy)];
        [0, 1, 2].map(|a| p[a] + self.lo[a])
    }

    /// Voxels that can be convex-hull vertices (extreme on all three axis lines).
    fn hull_candidates(&self) -> Vec<[usize; 3]> {
        let flags = self.line_extremes();
        (0..flags.len())
            .filter(|&v| flags[v] == 0b111)
            .map(|v| self.global(v))
            .collect()
    }

    /// (long mm, short mm, slice index) over the slices of `axis`.
    fn recist(&self, m: &DMat4, axis: usize) -> (f64, f64, usize) {
        let flags = self.line_extremes();
        let (b, c) = ((axis + 1) % 3, (axis + 2) % 3);
        let in_plane = (1u8 << b) | (1u8 << c);
        let max_cos = RECIST_PERPENDICULAR_TOLERANCE_DEG.to_radians().sin();
        let mut best = (-1.0, 0.0, self.lo[axis]);
        for s in 0..self.size[axis] {
            let mut hull = Vec::new();
            let mut border = Vec::new();
            for y in 0..self.size[b] {
                for z in 0..self.size[c] {
                    let mut p = [0; 3];
                    (p[axis], p[b], p[c]) = (s, y, z);
                    let v = self.at(p);
                    if !self.bits[v] {
                        continue;
                    }
                    if flags[v] & in_plane == in_plane {
                        hull.push(centre(m, self.global(v)));
                    }
                    let set = |d: usize, up: bool| {
                        let mut q = p;
                        match up {
                            true if q[d] + 1 < self.size[d] => q[d] += 1,
                            false if q[d] > 0 => q[d] -= 1,
                            _ => return false,
                        }
                        self.bits[self.at(q)]
                    };
                    if !(set(b, true) && set(b, false) && set(c, true) && set(c, false)) {
                        border.push(centre(m, self.global(v)));
                    }
                }
            }
            if hull.is_empty() {
                continue;
            }
            let (long, (p, q)) = farthest_pair(&hull);
            if long <= best.0 {
                continue;
            }
            let dir = (hull[q] - hull[p]).normalize_or_zero();
            let mut short = 0.0f64;
            for (x, &u) in border.iter().enumerate() {
                for &w in &border[x + 1..] {
                    let d = w - u;
                    let len = d.length();
                    if len > short && d.dot(dir).abs() <= max_cos * len {
                        short = len;
                    }
                }
            }
            best = (long, short, self.lo[axis] + s);
        }
        best
    }
}
