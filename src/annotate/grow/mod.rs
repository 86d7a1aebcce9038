//! Seeded region growing (connected threshold): the connected region of voxels
//! whose scaled value lies in `[lower, upper]` (inclusive), that are not locked
//! and, optionally, lie within `max_distance_mm` of ANY seed, and that is
//! connected (6 or 26 neighbours) to at least one seed. The region is written as
//! one label value into the label map. Same semantics as SimpleITK
//! `ConnectedThreshold` (which has no locks and no distance limit).
//!
//! [`gpu::RegionGrower`] does it with connected-components labelling over runs of
//! a bit-packed threshold mask; [`cpu::grow_cpu`] is the plain BFS reference.
//!
//! Seeds outside the grid are an error. A seed whose own voxel fails the
//! conditions (value out of bounds, or locked) grows nothing; the outcome carries
//! a warning for it, and with no seed left the region is empty (SimpleITK also
//! returns an empty mask then).

pub mod cpu;
pub mod gpu;
mod image;
mod timer;

use glam::{DMat3, DMat4, DVec3};
use thiserror::Error;

use crate::gpu::GpuError;
use crate::volume::{Volume, each_variant};

pub use gpu::RegionGrower;
pub(crate) use gpu::shader_variants;
pub use image::{GrowImage, PackedFormat, PackedImage};

/// Neighbourhood of a voxel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connectivity {
    /// 6 face neighbours (SimpleITK's default `FaceConnectivity`).
    Face,
    /// 26 face, edge and corner neighbours (`FullConnectivity`).
    Full,
}

impl Connectivity {
    /// 6 or 26.
    pub fn neighbours(self) -> u32 {
        match self {
            Connectivity::Face => 6,
            Connectivity::Full => 26,
        }
    }

    pub fn from_neighbours(n: u32) -> Option<Self> {
        match n {
            6 => Some(Connectivity::Face),
            26 => Some(Connectivity::Full),
            _ => None,
        }
    }
}

/// What to grow.
#[derive(Clone, Debug)]
pub struct GrowRequest {
    /// Seed voxels (i, j, k).
    pub seeds_ijk: Vec<[u32; 3]>,
    /// Inclusive bounds on the scaled values (HU for CT).
    pub lower: f64,
    pub upper: f64,
    pub connectivity: Connectivity,
    /// Euclidean distance in RAS mm between voxel centres; a voxel counts when it
    /// lies within this distance of any seed.
    pub max_distance_mm: Option<f64>,
    /// Label value written into the region.
    pub label: u8,
    /// Locked labels (`LabelSet::locked_bits`): such voxels are neither part of
    /// the region nor overwritten, and block growth.
    pub locked_bits: [u32; 8],
    /// The image's voxel-to-RAS matrix (only its linear part matters, for distances).
    pub ras_from_voxel: DMat4,
}

impl GrowRequest {
    /// A request on `volume`'s grid with no locks and no distance limit.
    pub fn new(
        volume: &Volume,
        seeds_ijk: Vec<[u32; 3]>,
        lower: f64,
        upper: f64,
        connectivity: Connectivity,
        label: u8,
    ) -> Self {
        GrowRequest {
            seeds_ijk,
            lower,
            upper,
            connectivity,
            max_distance_mm: None,
            label,
            locked_bits: [0; 8],
            ras_from_voxel: volume.ras_from_voxel,
        }
    }
}

/// Why a grow was refused.
#[derive(Debug, Error)]
pub enum GrowError {
    #[error("no seed given")]
    NoSeeds,
    #[error("seed voxel {seed_ijk:?} lies outside the {}x{}x{} grid", shape[0], shape[1], shape[2])]
    SeedOutsideVolume {
        seed_ijk: [i64; 3],
        shape: [usize; 3],
    },
    #[error(
        "seed at RAS ({:.2}, {:.2}, {:.2}) mm (voxel {:.2}, {:.2}, {:.2}) lies outside the \
         {}x{}x{} grid",
        ras_mm[0], ras_mm[1], ras_mm[2], ijk[0], ijk[1], ijk[2], shape[0], shape[1], shape[2]
    )]
    SeedMmOutsideVolume {
        ras_mm: [f64; 3],
        ijk: [f64; 3],
        shape: [usize; 3],
    },
    #[error("bounds [{lower}, {upper}] are not finite numbers with lower <= upper")]
    InvalidBounds { lower: f64, upper: f64 },
    #[error("maximum distance {0} mm must be a finite number >= 0")]
    InvalidDistance(f64),
    #[error("label value 0 is background; grow needs a label in 1..=255")]
    BackgroundLabel,
    #[error("grid mismatch: {0}")]
    ShapeMismatch(String),
    #[error("too large for this GPU: {0}")]
    TooLarge(String),
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

/// Per-phase timings of one GPU grow.
#[derive(Clone, Debug, Default)]
pub struct GrowTimings {
    /// GPU time of the threshold + run-count pass (timestamp queries), if available.
    pub threshold_gpu_ms: Option<f64>,
    /// GPU time of the run extraction, union-find, seed and write passes.
    pub label_gpu_ms: Option<f64>,
    /// Wall time of reading the run counts back, the CPU prefix sum and the upload.
    pub scan_wall_ms: f64,
    /// Wall time of the whole call, from the first upload to the last readback.
    pub total_wall_ms: f64,
    /// GPU time of each pass by name, in order (empty without timestamps).
    pub passes: Vec<(&'static str, f64)>,
}

impl GrowTimings {
    /// Records per-pass GPU times: the first pass is the threshold, the rest labelling.
    pub(crate) fn set_passes(&mut self, names: &[&'static str], ms: Option<Vec<f64>>) {
        let Some(ms) = ms else { return };
        self.passes = names.iter().copied().zip(ms).collect();
        self.threshold_gpu_ms = self.passes.first().map(|p| p.1);
        self.label_gpu_ms =
            (self.passes.len() > 1).then(|| self.passes[1..].iter().map(|p| p.1).sum());
    }

    /// GPU kernel time (both GPU phases) when timestamps were available.
    pub fn kernel_gpu_ms(&self) -> Option<f64> {
        Some(self.threshold_gpu_ms? + self.label_gpu_ms?)
    }
}

/// What a grow did.
#[derive(Clone, Debug, Default)]
pub struct GrowOutcome {
    /// Voxels in the region (all now hold the label).
    pub voxel_count: u64,
    /// Per seed: whether its voxel passed the conditions and so seeded the region.
    pub seed_used: Vec<bool>,
    /// Runs (maximal stretches along i of one row) in the threshold mask.
    pub run_count: u64,
    pub warnings: Vec<String>,
    pub timings: GrowTimings,
}

impl GrowOutcome {
    pub(crate) fn warn_unused_seeds(&mut self, seeds_ijk: &[[u32; 3]]) {
        for (seed, used) in seeds_ijk.iter().zip(&self.seed_used) {
            if !used {
                self.warnings.push(format!(
                    "seed {seed:?} is outside the bounds or on a locked label; it grows nothing"
                ));
            }
        }
    }
}

/// One bit per voxel of a grid, in the GPU threshold mask's layout: rows
/// (j, k) of `words_per_row` u32 words, bit b of word w being voxel
/// i = 32 w + b, the padding bits of a row's last word clear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoxelBits {
    pub shape: [usize; 3],
    pub words: Vec<u32>,
}

impl VoxelBits {
    /// Words per row: ceil(ni / 32).
    pub fn words_per_row(shape: [usize; 3]) -> usize {
        shape[0].div_ceil(32)
    }

    /// An all-clear mask.
    pub fn empty(shape: [usize; 3]) -> Self {
        let words = Self::words_per_row(shape) * shape[1] * shape[2];
        VoxelBits {
            shape,
            words: vec![0; words],
        }
    }

    /// The bits of the voxels whose label (one u8 per voxel, i fastest) is
    /// locked in `locked_bits`; `None` when no label is locked.
    pub fn locked(
        labels: &[u8],
        shape: [usize; 3],
        locked_bits: &[u32; 8],
    ) -> Result<Option<Self>, GrowError> {
        use rayon::prelude::*;
        if locked_bits.iter().all(|&w| w == 0) {
            return Ok(None);
        }
        check_len(labels.len(), shape)?;
        let mut bits = Self::empty(shape);
        let (ni, wpr) = (shape[0], Self::words_per_row(shape));
        if ni == 0 || wpr == 0 {
            return Ok(Some(bits));
        }
        let locked = |l: u8| (locked_bits[usize::from(l) / 32] >> (l % 32)) & 1 != 0;
        bits.words
            .par_chunks_mut(wpr)
            .zip(labels.par_chunks(ni))
            .for_each(|(words, row)| {
                for (word, voxels) in words.iter_mut().zip(row.chunks(32)) {
                    *word = voxels
                        .iter()
                        .enumerate()
                        .fold(0, |acc, (b, &l)| acc | (u32::from(locked(l)) << b));
                }
            });
        Ok(Some(bits))
    }

    /// Number of set bits.
    pub fn count(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// Whether voxel (i, j, k) is set (false off the grid).
    pub fn get(&self, ijk: [usize; 3]) -> bool {
        let [ni, nj, nk] = self.shape;
        if ijk[0] >= ni || ijk[1] >= nj || ijk[2] >= nk {
            return false;
        }
        let row = ijk[1] + nj * ijk[2];
        let word = self.words[row * Self::words_per_row(self.shape) + ijk[0] / 32];
        (word >> (ijk[0] % 32)) & 1 != 0
    }

    /// Writes `label` into every set voxel of `labels` (one u8 per voxel, i
    /// fastest), leaving the others as they are.
    pub fn apply(&self, labels: &mut [u8], label: u8) -> Result<(), GrowError> {
        use rayon::prelude::*;
        check_len(labels.len(), self.shape)?;
        let (ni, wpr) = (self.shape[0], Self::words_per_row(self.shape));
        if ni == 0 || wpr == 0 {
            return Ok(());
        }
        labels
            .par_chunks_mut(ni)
            .zip(self.words.par_chunks(wpr))
            .for_each(|(row, words)| {
                for (voxels, &word) in row.chunks_mut(32).zip(words) {
                    match word {
                        0 => {}
                        u32::MAX => voxels.fill(label),
                        _ => {
                            for (b, v) in voxels.iter_mut().enumerate() {
                                if (word >> b) & 1 != 0 {
                                    *v = label;
                                }
                            }
                        }
                    }
                }
            });
        Ok(())
    }
}

fn check_len(len: usize, shape: [usize; 3]) -> Result<(), GrowError> {
    let want = shape[0] * shape[1] * shape[2];
    if len != want {
        return Err(GrowError::ShapeMismatch(format!(
            "label map has {len} voxels, the grid {shape:?} has {want}"
        )));
    }
    Ok(())
}

/// Checks what both implementations need; `shape` is the grid.
pub(crate) fn validate(request: &GrowRequest, shape: [usize; 3]) -> Result<(), GrowError> {
    if request.seeds_ijk.is_empty() {
        return Err(GrowError::NoSeeds);
    }
    let (lower, upper) = (request.lower, request.upper);
    if !(lower.is_finite() && upper.is_finite() && lower <= upper) {
        return Err(GrowError::InvalidBounds { lower, upper });
    }
    if let Some(d) = request.max_distance_mm
        && !(d.is_finite() && d >= 0.0)
    {
        return Err(GrowError::InvalidDistance(d));
    }
    if request.label == 0 {
        return Err(GrowError::BackgroundLabel);
    }
    for s in &request.seeds_ijk {
        if (0..3).any(|a| s[a] as usize >= shape[a]) {
            return Err(GrowError::SeedOutsideVolume {
                seed_ijk: s.map(i64::from),
                shape,
            });
        }
    }
    Ok(())
}

/// The voxel whose centre is nearest to a RAS point, or an error when it is off the grid.
pub fn seed_from_ras(volume: &Volume, ras_mm: [f64; 3]) -> Result<[u32; 3], GrowError> {
    let ijk = volume.index_from_ras(DVec3::from_array(ras_mm)).to_array();
    let rounded = ijk.map(f64::round);
    let inside = (0..3).all(|a| rounded[a] >= 0.0 && rounded[a] < volume.shape[a] as f64);
    if !inside {
        return Err(GrowError::SeedMmOutsideVolume {
            ras_mm,
            ijk,
            shape: volume.shape,
        });
    }
    Ok(rounded.map(|x| x as u32))
}

/// Squared RAS distance (mm²) of a voxel offset `d_ijk`; one definition for both
/// implementations so their distance tests agree to the last bit.
pub(crate) fn distance2_mm2(linear: &DMat3, d_ijk: [i64; 3]) -> f64 {
    (*linear * DVec3::new(d_ijk[0] as f64, d_ijk[1] as f64, d_ijk[2] as f64)).length_squared()
}

/// True when voxel `ijk` lies within `max_distance_mm` of any seed.
pub(crate) fn near_any_seed(
    linear: &DMat3,
    max_d2_mm2: f64,
    seeds_ijk: &[[u32; 3]],
    ijk: [i64; 3],
) -> bool {
    seeds_ijk.iter().any(|s| {
        let d = [
            ijk[0] - i64::from(s[0]),
            ijk[1] - i64::from(s[1]),
            ijk[2] - i64::from(s[2]),
        ];
        distance2_mm2(linear, d) <= max_d2_mm2
    })
}

/// An empty i-interval (lo > hi) as the threshold shader expects.
pub(crate) const EMPTY_SPAN: [i32; 2] = [1, 0];

/// For every row (j, k) (row = j + nj·k) and seed, the inclusive i-interval of
/// voxels within the distance of that seed, as `[lo, hi]` (row-major, seeds
/// fastest). The ellipsoid meets a row in one interval; the analytic roots are
/// then corrected with the exact predicate the CPU reference uses.
pub(crate) fn distance_spans(
    shape: [usize; 3],
    linear: &DMat3,
    max_distance_mm: f64,
    seeds_ijk: &[[u32; 3]],
) -> Vec<[i32; 2]> {
    let [ni, nj, nk] = shape.map(|n| n as i64);
    let d2max = max_distance_mm * max_distance_mm;
    let a0 = linear.x_axis;
    let a_coef = a0.length_squared();
    let mut spans = Vec::with_capacity((nj * nk) as usize * seeds_ijk.len());
    for k in 0..nk {
        for j in 0..nj {
            for s in seeds_ijk {
                let si = i64::from(s[0]);
                let (dj, dk) = (j - i64::from(s[1]), k - i64::from(s[2]));
                let pred = |i: i64| distance2_mm2(linear, [i - si, dj, dk]) <= d2max;
                spans.push(row_span(pred, ni, si, a_coef, a0, linear, dj, dk, d2max));
            }
        }
    }
    spans
}

#[allow(clippy::too_many_arguments)]
fn row_span(
    pred: impl Fn(i64) -> bool,
    ni: i64,
    si: i64,
    a_coef: f64,
    a0: DVec3,
    linear: &DMat3,
    dj: i64,
    dk: i64,
    d2max: f64,
) -> [i32; 2] {
    if a_coef <= 0.0 {
        return EMPTY_SPAN;
    }
    // |a0·t + b|² = A t² + 2 B t + C with t = i − si.
    let b = linear.y_axis * dj as f64 + linear.z_axis * dk as f64;
    let (b_coef, c_coef) = (a0.dot(b), b.length_squared());
    let disc = b_coef * b_coef - a_coef * (c_coef - d2max);
    let (lo, hi) = if disc >= 0.0 {
        let r = disc.sqrt();
        (
            si as f64 + ((-b_coef - r) / a_coef).ceil(),
            si as f64 + ((-b_coef + r) / a_coef).floor(),
        )
    } else {
        // Rounding could still let the vertex pass: test it below.
        let v = (si as f64 - b_coef / a_coef).round();
        (v, v)
    };
    let clamp = |x: f64| x.clamp(0.0, (ni - 1) as f64) as i64;
    if hi < 0.0 || lo > (ni - 1) as f64 {
        // The roots are off the grid; the nearest grid end may still pass by rounding.
        let edge = if hi < 0.0 { 0 } else { ni - 1 };
        if !pred(edge) {
            return EMPTY_SPAN;
        }
        return grow_span(&pred, ni, edge, edge);
    }
    let (mut lo, mut hi) = (clamp(lo), clamp(hi));
    while lo <= hi && !pred(lo) {
        lo += 1;
    }
    while hi >= lo && !pred(hi) {
        hi -= 1;
    }
    if lo > hi {
        return EMPTY_SPAN;
    }
    grow_span(&pred, ni, lo, hi)
}

fn grow_span(pred: &impl Fn(i64) -> bool, ni: i64, mut lo: i64, mut hi: i64) -> [i32; 2] {
    while lo > 0 && pred(lo - 1) {
        lo -= 1;
    }
    while hi < ni - 1 && pred(hi + 1) {
        hi += 1;
    }
    [lo as i32, hi as i32]
}

/// Inclusive integer bounds equivalent to `[lower, upper]` on integer values,
/// clamped to i32 (the r16sint texture holds i16 anyway).
pub(crate) fn integer_bounds(lower: f64, upper: f64) -> [i32; 2] {
    let clamp = |x: f64| x.clamp(i32::MIN as f64, i32::MAX as f64) as i32;
    [clamp(lower.ceil()), clamp(upper.floor())]
}

/// Inclusive f32 bounds equivalent to `[lower, upper]` on f32 values: the
/// smallest f32 >= lower and the largest f32 <= upper.
pub(crate) fn f32_bounds(lower: f64, upper: f64) -> [f32; 2] {
    let mut lo = lower as f32;
    if f64::from(lo) < lower {
        lo = lo.next_up();
    }
    let mut hi = upper as f32;
    if f64::from(hi) > upper {
        hi = hi.next_down();
    }
    [lo, hi]
}

/// True when every value survives the trip to f32 (the GPU's widest format),
/// so the GPU threshold is exact; false for e.g. float64 data with fine fractions.
pub fn gpu_threshold_exact(volume: &Volume) -> bool {
    #[allow(clippy::unnecessary_cast)]
    let exact = each_variant!(&volume.data, v => v
        .iter()
        .all(|&x| (x as f64) as f32 as f64 == x as f64));
    exact
}
