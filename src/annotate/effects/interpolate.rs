//! Fill between slices: morphological contour interpolation, the method of
//! ITK's `MorphologicalContourInterpolator` (Albu et al. 2008, IEEE TBME
//! 55(8); ITK implementation by Zukić et al., Insight Journal 2016), which
//! 3D Slicer, ITK-SNAP and OHIF use.
//!
//! Between each two consecutive drawn slices with empty slices between them,
//! the 4-connected regions of the two slices are put in correspondence by
//! overlap, as ITK's `InterpolateBetweenTwo` does:
//! - a region that overlaps nothing on the other slice (it appears or ends)
//!   is interpolated towards a single point on the other slice: its centroid,
//!   or the region's pixel nearest to it when the region is concave, so it
//!   tapers to nothing (ITK's `Extrapolate`);
//! - one-to-one pairs are aligned (the translation with the largest overlap,
//!   by ITK's heuristic breadth-first search) and interpolated;
//! - a region overlapping several (split, or merge seen from the other side)
//!   is cut among them by competing conditional dilations from where each
//!   overlaps it, and each piece is interpolated with its partner; the
//!   many-to-many rest becomes one-to-many per region of the first slice.
//!
//! Each pair meets halfway; their morphological median (see `morph`) fills
//! the middle slice, and each half recurses against it. Everything is in
//! index space, in-plane 4-connectivity (ITK's default cross structuring
//! element). Left out versus ITK: several labels at once (this works on one
//! mask), interpolating along several axes and merging, the distance-map
//! median (ITK's default; this uses the dilation sequences it offers too),
//! and custom slice positions.

mod matching;
mod morph;

use super::mask::Mask;
use matching::{Job, Labelled, correspondences};
use morph::Shape;
use rayon::prelude::*;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum InterpolateError {
    #[error("axis {0} is not 0 (i), 1 (j) or 2 (k)")]
    BadAxis(usize),
    #[error("a mask of size {size:?} holds {len} values")]
    BadMask { size: [usize; 3], len: usize },
}

fn well_formed(mask: &Mask) -> bool {
    mask.size
        .iter()
        .try_fold(1usize, |n, &s| n.checked_mul(s))
        .is_some_and(|n| n == mask.bits.len())
}

/// Slice indices along `axis` (0 = i, 1 = j, 2 = k) holding any voxel.
pub fn drawn_slices(mask: &Mask, axis: usize) -> Vec<usize> {
    if axis > 2 || !well_formed(mask) {
        return Vec::new();
    }
    let [ni, nj, _] = mask.size;
    let mut on = vec![false; mask.size[axis]];
    for (p, _) in mask.bits.iter().enumerate().filter(|&(_, &b)| b) {
        on[[p % ni, (p / ni) % nj, p / (ni * nj)][axis]] = true;
    }
    (0..on.len()).filter(|&s| on[s]).collect()
}

/// The axis the drawing was made across. Candidates are the axes with at
/// least one empty slice between two drawn ones. Among them wins the one with
/// the most voxels whose two neighbours along it are empty: ITK's flat-slice
/// voxel test, without its demand for filled in-plane neighbours so that thin
/// brush strokes count too. Ties go to the most empty slices between drawn
/// ones, then to the lowest axis. `None` when no axis has a gap.
pub fn detect_axis(mask: &Mask) -> Option<usize> {
    if !well_formed(mask) {
        return None;
    }
    let [ni, nj, _] = mask.size;
    let stride = [1, ni, ni * nj];
    let mut flat = [0u64; 3];
    for (p, _) in mask.bits.iter().enumerate().filter(|&(_, &b)| b) {
        let ijk = mask.ijk(p);
        for a in 0..3 {
            let prev = ijk[a] > 0 && mask.bits[p - stride[a]];
            let next = ijk[a] + 1 < mask.size[a] && mask.bits[p + stride[a]];
            flat[a] += u64::from(!prev && !next);
        }
    }
    (0..3)
        .filter_map(|a| {
            let d = drawn_slices(mask, a);
            let gaps = match (d.first(), d.last()) {
                (Some(f), Some(l)) => l - f + 1 - d.len(),
                _ => 0,
            };
            (gaps > 0).then_some((flat[a], gaps, std::cmp::Reverse(a)))
        })
        .max()
        .map(|(_, _, a)| a.0)
}

/// `mask` with every empty slice strictly between two drawn slices along
/// `axis` filled by morphological contour interpolation. Drawn slices, and
/// slices before the first or after the last drawn one, are unchanged.
pub fn interpolate(mask: &Mask, axis: usize) -> Result<Mask, InterpolateError> {
    if axis > 2 {
        return Err(InterpolateError::BadAxis(axis));
    }
    if !well_formed(mask) {
        return Err(InterpolateError::BadMask {
            size: mask.size,
            len: mask.bits.len(),
        });
    }
    let drawn = drawn_slices(mask, axis);
    let gaps: Vec<(usize, usize)> = drawn
        .windows(2)
        .filter(|w| w[1] - w[0] > 1)
        .map(|w| (w[0], w[1]))
        .collect();
    if gaps.is_empty() {
        return Ok(mask.clone());
    }
    let plane = Plane::new(mask.size, axis);
    let ends: Vec<usize> = drawn
        .iter()
        .copied()
        .filter(|s| gaps.iter().any(|&(a, b)| *s == a || *s == b))
        .collect();
    let labelled: Vec<Labelled> = ends
        .par_iter()
        .map(|&s| Labelled::new(&plane.extract(mask, s), plane.w, plane.h))
        .collect();
    let at = |s: usize| &labelled[ends.binary_search(&s).unwrap_or(0)];
    let jobs: Vec<Job> = gaps
        .par_iter()
        .flat_map_iter(|&(a, b)| correspondences(a, at(a), b, at(b)))
        .collect();
    let medians: Vec<(usize, Shape)> = jobs
        .par_iter()
        .flat_map_iter(|j| {
            let mut out = Vec::new();
            morph::one_to_one(j.a, j.b, &j.sa, &j.sb, j.t, &mut out);
            out
        })
        .collect();
    let mut result = mask.clone();
    for (s, shape) in &medians {
        plane.paint(&mut result, *s, shape);
    }
    Ok(result)
}

/// Slices across `axis`: pixel (x, y) runs along the lower and the higher of
/// the two other axes.
struct Plane {
    stride: [usize; 3],
    w: usize,
    h: usize,
}

impl Plane {
    fn new(size: [usize; 3], axis: usize) -> Plane {
        let [u, v] = match axis {
            0 => [1, 2],
            1 => [0, 2],
            _ => [0, 1],
        };
        let full = [1, size[0], size[0] * size[1]];
        Plane {
            stride: [full[axis], full[u], full[v]],
            w: size[u],
            h: size[v],
        }
    }

    fn voxel(&self, s: usize, x: usize, y: usize) -> usize {
        s * self.stride[0] + x * self.stride[1] + y * self.stride[2]
    }

    fn extract(&self, mask: &Mask, s: usize) -> Vec<bool> {
        (0..self.w * self.h)
            .map(|p| mask.bits[self.voxel(s, p % self.w, p / self.w)])
            .collect()
    }

    /// ORs `shape` into slice `s`, clipped to the slice.
    fn paint(&self, mask: &mut Mask, s: usize, shape: &Shape) {
        for [x, y] in shape.pixels() {
            if (0..self.w as i64).contains(&x) && (0..self.h as i64).contains(&y) {
                let at = self.voxel(s, x as usize, y as usize);
                mask.bits[at] = true;
            }
        }
    }
}

#[cfg(test)]
mod tests;
