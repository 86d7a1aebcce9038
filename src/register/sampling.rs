//! The fixed points a level's metric is evaluated on: a fraction of the
//! (shrunk) fixed grid, at random voxels jittered within the voxel (ITK's
//! RANDOM strategy, seeded so runs repeat) or at every k-th voxel (REGULAR),
//! kept only where the fixed mask is set. The set stays the same for the
//! whole level, so the metric is a deterministic function of the parameters.

use glam::{DMat4, DVec3};

use super::pyramid::Image;

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// Random voxels of the level's grid (seeded), jittered within the voxel.
    Random { seed: u64 },
    /// Every k-th voxel of the level's grid in storage order.
    Regular,
}

/// A fixed point (LPS mm) and the smoothed fixed value there.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub lps: DVec3,
    pub value: f64,
}

/// SplitMix64: small, seedable and good enough to spread samples.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Draws the samples of one level. `fixed_index_from_level` maps the shrunk
/// grid's index to the fixed image's continuous index; `mask` (on the fixed
/// grid) keeps a point when its nearest voxel is nonzero.
pub fn draw(
    fixed: &Image,
    level_shape: [usize; 3],
    fixed_index_from_level: DMat4,
    mask: Option<&[u8]>,
    fraction: f64,
    strategy: Sampling,
) -> Vec<Sample> {
    let [ni, nj, nk] = level_shape;
    let total = ni * nj * nk;
    // The fraction is of the region sampled: the mask's share of the grid.
    let region = mask.map_or(1.0, |m| {
        m.iter().filter(|&&v| v != 0).count() as f64 / m.len().max(1) as f64
    });
    let wanted =
        ((fraction.clamp(0.0, 1.0) * region * total as f64).ceil() as usize).clamp(1, total);
    let keep = |fixed_index: DVec3| -> bool {
        let Some(mask) = mask else { return true };
        let r = fixed_index.round();
        let [fi, fj, fk] = fixed.shape;
        if r.x < 0.0 || r.y < 0.0 || r.z < 0.0 {
            return false;
        }
        let (i, j, k) = (r.x as usize, r.y as usize, r.z as usize);
        i < fi && j < fj && k < fk && mask[i + fi * (j + fj * k)] != 0
    };
    let sample = |level_index: DVec3| -> Option<Sample> {
        let fixed_index = fixed_index_from_level.transform_point3(level_index);
        if !fixed.inside(fixed_index) || !keep(fixed_index) {
            return None;
        }
        Some(Sample {
            lps: fixed.lps_from_index.transform_point3(fixed_index),
            value: fixed.trilinear(fixed_index),
        })
    };
    let at = |n: usize| {
        DVec3::new(
            (n % ni) as f64,
            ((n / ni) % nj) as f64,
            (n / (ni * nj)) as f64,
        )
    };
    match strategy {
        Sampling::Regular => {
            let step = (total / wanted).max(1);
            (0..total)
                .step_by(step)
                .filter_map(|n| sample(at(n)))
                .collect()
        }
        Sampling::Random { seed } => {
            let mut rng = Rng(seed ^ 0x5851_f42d_4c95_7f2d);
            let mut out = Vec::with_capacity(wanted);
            // A sparse mask rejects most draws: give up after 20 tries per
            // wanted point rather than loop for ever.
            for _ in 0..wanted.saturating_mul(20) {
                if out.len() == wanted {
                    break;
                }
                let n = (rng.next() % total as u64) as usize;
                let jitter = DVec3::new(rng.unit(), rng.unit(), rng.unit()) - 0.5;
                if let Some(s) = sample(at(n) + jitter) {
                    out.push(s);
                }
            }
            out
        }
    }
}
