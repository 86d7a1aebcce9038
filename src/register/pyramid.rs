//! The images one resolution level works on: f32 copies in LPS, smoothed by
//! a Gaussian whose σ is given in mm (ITK's
//! SmoothingSigmasAreSpecifiedInPhysicalUnits), and the shrunk fixed grid the
//! level samples from. The moving image is smoothed but not shrunk, as in
//! ITK's ImageRegistrationMethodv4.

use glam::{DMat3, DMat4, DVec3};
use rayon::prelude::*;

/// A scalar image in LPS with trilinear lookups.
#[derive(Clone)]
pub struct Image {
    pub shape: [usize; 3],
    pub data: Vec<f32>,
    pub lps_from_index: DMat4,
    pub index_from_lps: DMat4,
    /// (A⁻¹)ᵀ of the 3×3 part: index-space gradients to LPS gradients.
    gradient_to_lps: DMat3,
}

impl Image {
    pub fn new(shape: [usize; 3], data: Vec<f32>, lps_from_index: DMat4) -> Self {
        let index_from_lps = lps_from_index.inverse();
        let gradient_to_lps = DMat3::from_mat4(index_from_lps).transpose();
        Image {
            shape,
            data,
            lps_from_index,
            index_from_lps,
            gradient_to_lps,
        }
    }

    pub fn spacing_mm(&self) -> [f64; 3] {
        crate::volume::spacing_from_matrix(&self.lps_from_index)
    }

    /// Geometric centre of the voxel grid (LPS mm).
    pub fn centre_lps(&self) -> DVec3 {
        let c = DVec3::new(
            self.shape[0] as f64 - 1.0,
            self.shape[1] as f64 - 1.0,
            self.shape[2] as f64 - 1.0,
        ) * 0.5;
        self.lps_from_index.transform_point3(c)
    }

    #[inline]
    fn at(&self, i: usize, j: usize, k: usize) -> f32 {
        self.data[i + self.shape[0] * (j + self.shape[1] * k)]
    }

    /// Whether a continuous index lies inside the grid of voxel centres.
    #[inline]
    pub fn inside(&self, p: DVec3) -> bool {
        p.x >= 0.0
            && p.y >= 0.0
            && p.z >= 0.0
            && p.x <= (self.shape[0] - 1) as f64
            && p.y <= (self.shape[1] - 1) as f64
            && p.z <= (self.shape[2] - 1) as f64
    }

    /// Trilinear value at a continuous index, clamped to the grid.
    #[inline]
    pub fn trilinear(&self, p: DVec3) -> f64 {
        let [ni, nj, nk] = self.shape;
        let clampf = |x: f64, n: usize| x.clamp(0.0, (n - 1) as f64);
        let (x, y, z) = (clampf(p.x, ni), clampf(p.y, nj), clampf(p.z, nk));
        let (i0, j0, k0) = (
            (x as usize).min(ni - 2),
            (y as usize).min(nj - 2),
            (z as usize).min(nk - 2),
        );
        let (fx, fy, fz) = (x - i0 as f64, y - j0 as f64, z - k0 as f64);
        let lerp = |a: f32, b: f32, t: f64| a as f64 + (b as f64 - a as f64) * t;
        let c00 = lerp(self.at(i0, j0, k0), self.at(i0 + 1, j0, k0), fx);
        let c10 = lerp(self.at(i0, j0 + 1, k0), self.at(i0 + 1, j0 + 1, k0), fx);
        let c01 = lerp(self.at(i0, j0, k0 + 1), self.at(i0 + 1, j0, k0 + 1), fx);
        let c11 = lerp(
            self.at(i0, j0 + 1, k0 + 1),
            self.at(i0 + 1, j0 + 1, k0 + 1),
            fx,
        );
        let c0 = c00 + (c10 - c00) * fy;
        let c1 = c01 + (c11 - c01) * fy;
        c0 + (c1 - c0) * fz
    }

    /// Value and LPS gradient (per mm) at an LPS point, or None outside the
    /// grid. The gradient is the central difference of the interpolated image
    /// one voxel either side: continuous across cells, unlike the trilinear
    /// derivative, which keeps the metric's gradient smooth for the optimiser.
    #[inline]
    pub fn value_and_gradient(&self, lps: DVec3) -> Option<(f64, DVec3)> {
        let p = self.index_from_lps.transform_point3(lps);
        if !self.inside(p) {
            return None;
        }
        let v = self.trilinear(p);
        let d = |e: DVec3| (self.trilinear(p + e) - self.trilinear(p - e)) * 0.5;
        let g_index = DVec3::new(d(DVec3::X), d(DVec3::Y), d(DVec3::Z));
        Some((v, self.gradient_to_lps * g_index))
    }

    pub fn min_max(&self) -> (f64, f64) {
        let (lo, hi) = self
            .data
            .par_iter()
            .fold(
                || (f32::INFINITY, f32::NEG_INFINITY),
                |(lo, hi), &v| (lo.min(v), hi.max(v)),
            )
            .reduce(
                || (f32::INFINITY, f32::NEG_INFINITY),
                |a, b| (a.0.min(b.0), a.1.max(b.1)),
            );
        (lo as f64, hi as f64)
    }
}

/// A 1-D Gaussian kernel of σ (in voxels), truncated at 3σ (at least one tap
/// either side) and normalised to sum 1.
fn kernel(sigma_vox: f64) -> Vec<f32> {
    let radius = (3.0 * sigma_vox).ceil().max(1.0) as isize;
    let mut k: Vec<f64> = (-radius..=radius)
        .map(|x| (-(x * x) as f64 / (2.0 * sigma_vox * sigma_vox)).exp())
        .collect();
    let sum: f64 = k.iter().sum();
    k.iter_mut().for_each(|x| *x /= sum);
    k.into_iter().map(|x| x as f32).collect()
}

/// Separable Gaussian smoothing with σ in mm, edges replicated.
pub fn smooth(image: &Image, sigma_mm: f64) -> Image {
    if sigma_mm <= 0.0 {
        return image.clone();
    }
    let spacing = image.spacing_mm();
    let [ni, nj, nk] = image.shape;
    let mut data = image.data.clone();
    let strides = [1, ni, ni * nj];
    for axis in 0..3 {
        let sigma_vox = sigma_mm / spacing[axis];
        if sigma_vox < 0.1 {
            continue;
        }
        let k = kernel(sigma_vox);
        let r = (k.len() / 2) as isize;
        let n = image.shape[axis] as isize;
        let stride = strides[axis];
        let src = data.clone();
        // One z-slice per task: every axis's lines stay inside it except z's,
        // which read the whole (shared) source.
        data.par_chunks_mut(ni * nj)
            .enumerate()
            .for_each(|(kz, slice)| {
                for j in 0..nj {
                    for i in 0..ni {
                        let pos = [i as isize, j as isize, kz as isize][axis];
                        let base = (i + ni * (j + nj * kz)) as isize - pos * stride as isize;
                        let mut acc = 0.0f32;
                        for (t, w) in k.iter().enumerate() {
                            let q = (pos + t as isize - r).clamp(0, n - 1);
                            acc += w * src[(base + q * stride as isize) as usize];
                        }
                        slice[i + ni * j] = acc;
                    }
                }
            });
        let _ = nk;
    }
    Image::new(image.shape, data, image.lps_from_index)
}

/// The fixed grid shrunk by `factor` per axis (as ITK's ShrinkImageFilter:
/// ⌊n/f⌋ voxels, each the centre of the f input voxels it covers), returned
/// as its shape and the map from its index to the fixed image's index.
pub fn shrunk_grid(shape: [usize; 3], factor: usize) -> ([usize; 3], DMat4) {
    let mut out = [0; 3];
    let mut scale = DVec3::ONE;
    let mut offset = DVec3::ZERO;
    for a in 0..3 {
        // Never shrink an axis below 4 voxels.
        let f = factor.clamp(1, (shape[a] / 4).max(1));
        out[a] = shape[a] / f;
        scale[a] = f as f64;
        offset[a] = (f as f64 - 1.0) / 2.0;
    }
    let m = DMat4::from_scale(scale);
    (out, DMat4::from_translation(offset) * m)
}
