//! The fixed-point edge cost of the growing graph (see the module docs for the
//! formula) and the neighbourhood of a voxel in the ROI box.
//!
//! Costs are integers so that path sums are exact: the shortest-path labelling
//! is then a unique fixed point, which is what makes the result independent of
//! the visiting order and the incremental update equal to a full run bit for bit
//! (with floating point, `a + w` may round two different `a` to one sum).

use super::propagate::UNREACHED;
use super::{Connectivity, SeedParams, SeedsError};

/// Fixed-point quanta spanning the image's value range plus the longest step's
/// spatial penalty, so one step costs at most `2^27 + 2`. With at most
/// [`MAX_VOXELS`] voxels a shortest (simple) path costs less than 2^55, so its
/// key `cost << 8 | label` is below 2^63; keys in flight exceed a shortest-path
/// key by at most one bucket plus one step, far from `u64::MAX`.
pub(super) const QUANTA: f64 = (1u64 << 27) as f64;

/// Largest ROI accepted (512³ voxels); keeps the packed keys from overflowing.
pub const MAX_VOXELS: usize = 1 << 27;

/// One neighbour offset: index delta for interior voxels, the (di, dj, dk) step
/// for voxels on the ROI's faces, and the step's cost before the intensity term.
#[derive(Clone, Copy, Debug)]
pub(super) struct Neighbour {
    pub delta: isize,
    pub step: [i8; 3],
    /// `round(distance_penalty * |step|_mm * scale) + 1`.
    pub base_cost: u64,
}

/// The ROI box and its neighbourhood.
#[derive(Debug)]
pub(super) struct Grid {
    pub size: [usize; 3],
    pub neighbours: Vec<Neighbour>,
    /// Largest edge cost, shifted like the packed keys.
    pub max_key_step: u64,
}

/// Per-voxel state, kept together so that relaxing a neighbour touches one
/// cache line (the propagation is bound by memory latency).
#[derive(Clone, Copy, Debug)]
pub(super) struct Node {
    /// Packed `(cost, label)` (see `propagate::pack`), `UNREACHED` if none.
    pub key: u64,
    /// `round((value - min) * scale)`, at most 2^27.
    pub q: u32,
    /// Neighbours were relaxed with the current `key`.
    pub done: bool,
    /// Not on a face of the ROI, so every neighbour exists (saves the
    /// coordinate divisions in the hot loop).
    pub interior: bool,
}

/// The (di, dj, dk) steps of a neighbourhood, i fastest.
pub(super) fn steps(connectivity: Connectivity) -> Vec<[i8; 3]> {
    let mut out = Vec::with_capacity(26);
    for dk in -1i8..=1 {
        for dj in -1i8..=1 {
            for di in -1i8..=1 {
                let manhattan = di.abs() + dj.abs() + dk.abs();
                let keep = match connectivity {
                    Connectivity::Face => manhattan == 1,
                    Connectivity::Full => manhattan >= 1,
                };
                if keep {
                    out.push([di, dj, dk]);
                }
            }
        }
    }
    out
}

/// Voxel count of `size`, checked: no zero extent, no overflow, at most
/// [`MAX_VOXELS`].
pub(super) fn voxel_count(size: [usize; 3]) -> Result<usize, SeedsError> {
    if size.contains(&0) {
        return Err(SeedsError::EmptyRoi { size });
    }
    size.iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n))
        .filter(|&n| n <= MAX_VOXELS)
        .ok_or(SeedsError::TooLarge {
            size,
            max: MAX_VOXELS,
        })
}

impl Grid {
    /// Validates everything but the seeds and quantizes `values` into unreached
    /// nodes.
    pub fn new(
        values: &[f32],
        size: [usize; 3],
        spacing_mm: [f64; 3],
        params: &SeedParams,
    ) -> Result<(Grid, Vec<Node>), SeedsError> {
        let n = voxel_count(size)?;
        if values.len() != n {
            return Err(SeedsError::ValuesLength {
                expected: n,
                got: values.len(),
            });
        }
        if spacing_mm.iter().any(|s| !s.is_finite() || *s <= 0.0) {
            return Err(SeedsError::InvalidSpacing(spacing_mm));
        }
        let penalty = params.distance_penalty;
        if !penalty.is_finite() || penalty < 0.0 {
            return Err(SeedsError::InvalidDistancePenalty(penalty));
        }
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(SeedsError::NonFiniteValue { index });
        }

        let (min, max) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(f64::from(v)), hi.max(f64::from(v)))
            });
        let steps = steps(params.connectivity);
        let lengths: Vec<f64> = steps
            .iter()
            .map(|s| step_length_mm(*s, spacing_mm))
            .collect();
        let longest = lengths.iter().copied().fold(0.0, f64::max);
        if !longest.is_finite() {
            return Err(SeedsError::InvalidSpacing(spacing_mm));
        }
        if !(penalty * longest).is_finite() {
            return Err(SeedsError::InvalidDistancePenalty(penalty));
        }
        // Both terms must stay within QUANTA; a huge penalty only coarsens the
        // intensity resolution, which it dominates anyway.
        let span = (max - min) + penalty * longest;
        let scale = if span > 0.0 { QUANTA / span } else { 0.0 };

        let [nx, ny, nz] = size;
        let inner = |c: usize, n: usize| c > 0 && c + 1 < n;
        let nodes = values
            .iter()
            .enumerate()
            .map(|(i, &v)| Node {
                key: UNREACHED,
                q: ((f64::from(v) - min) * scale).round().clamp(0.0, QUANTA) as u32,
                done: false,
                interior: inner(i % nx, nx) && inner((i / nx) % ny, ny) && inner(i / (nx * ny), nz),
            })
            .collect::<Vec<_>>();
        let neighbours: Vec<Neighbour> = steps
            .iter()
            .zip(&lengths)
            .map(|(&step, &len)| Neighbour {
                delta: step[0] as isize
                    + step[1] as isize * nx as isize
                    + step[2] as isize * (nx * ny) as isize,
                step,
                base_cost: (penalty * len * scale).round().clamp(0.0, QUANTA) as u64 + 1,
            })
            .collect();
        let max_q = nodes.iter().map(|n| n.q).max().unwrap_or(0);
        let max_base = neighbours
            .iter()
            .map(|n: &Neighbour| n.base_cost)
            .max()
            .unwrap_or(1);
        let max_key_step = (u64::from(max_q) + max_base) << 8;
        let grid = Grid {
            size,
            neighbours,
            max_key_step,
        };
        Ok((grid, nodes))
    }

    /// Whether `nb` of voxel `i` lies inside the ROI (voxels outside it do not
    /// exist).
    #[inline]
    pub fn has_neighbour(&self, i: usize, nb: &Neighbour) -> bool {
        let [nx, ny, nz] = self.size;
        let inside =
            |c: usize, d: i8, n: usize| c.checked_add_signed(d as isize).is_some_and(|c| c < n);
        inside(i % nx, nb.step[0], nx)
            && inside((i / nx) % ny, nb.step[1], ny)
            && inside(i / (nx * ny), nb.step[2], nz)
    }
}

/// Euclidean length in mm of one grid step.
pub(super) fn step_length_mm(step: [i8; 3], spacing_mm: [f64; 3]) -> f64 {
    let [a, b, c] = [0, 1, 2].map(|k| f64::from(step[k]) * spacing_mm[k]);
    (a * a + b * b + c * c).sqrt()
}
