//! The moving image resampled onto the fixed grid through a registration's
//! transform (trilinear; outside the moving image, its minimum), for
//! checking a result by eye and for tests.

use glam::{DMat4, DVec3};
use rayon::prelude::*;

use super::pyramid::Image;
use crate::volume::Volume;

/// One f32 per fixed voxel (`i` fastest): the moving image at
/// `moving_ras_from_fixed_ras` of the voxel's centre.
pub fn resample_onto_fixed(
    fixed: &Volume,
    moving: &Volume,
    moving_ras_from_fixed_ras: DMat4,
) -> Vec<f32> {
    let image = Image::new(
        moving.shape,
        moving.data.to_f32_vec(),
        moving.ras_from_voxel,
    );
    let outside = moving.value_range().0 as f32;
    // Fixed index → moving index in one matrix.
    let m = image.index_from_lps * moving_ras_from_fixed_ras * fixed.ras_from_voxel;
    let [ni, nj, nk] = fixed.shape;
    let mut out = vec![0f32; ni * nj * nk];
    out.par_chunks_mut(ni * nj)
        .enumerate()
        .for_each(|(k, slice)| {
            for j in 0..nj {
                for i in 0..ni {
                    let p = m.transform_point3(DVec3::new(i as f64, j as f64, k as f64));
                    slice[i + ni * j] = if image.inside(p) {
                        image.trilinear(p) as f32
                    } else {
                        outside
                    };
                }
            }
        });
    out
}
