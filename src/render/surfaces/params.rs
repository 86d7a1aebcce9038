//! The uniform block of mesh.wgsl, built from the ray frame, the depth range and
//! the clip box.

use bytemuck::{Pod, Zeroable};
use glam::{DMat4, DVec3};

use crate::render::raymarch::{ClipBox, RayFrame};

pub(crate) const FLAG_PERSPECTIVE: u32 = 1;
pub(crate) const FLAG_CLIP: u32 = 2;

/// Keep in sync with `SurfaceParams` in shaders/mesh.wgsl (matrices and vec4s,
/// then 4-byte scalars; 208 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct SurfaceParams {
    pub clip_from_ras: [[f32; 4]; 4],
    pub voxel_from_ras: [[f32; 4]; 4],
    pub eye_ras: [f32; 4],
    pub forward_ras: [f32; 4],
    pub clip_lo_vox: [f32; 4],
    pub clip_hi_vox: [f32; 4],
    pub flags: u32,
    pub _pad: [u32; 3],
}
const _: () = assert!(std::mem::size_of::<SurfaceParams>() == 208);

/// The raymarch's clip box, for the surfaces: continuous voxel index bounds
/// (voxel faces) and the grid's `voxel_from_ras`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SurfaceClip {
    pub voxel_from_ras: DMat4,
    pub lo_vox: [f64; 3],
    pub hi_vox: [f64; 3],
}

impl SurfaceClip {
    /// The clip box (inclusive voxel-centre ranges) of a grid with `ras_from_voxel`.
    pub fn new(clip: &ClipBox, ras_from_voxel: DMat4) -> Self {
        SurfaceClip {
            voxel_from_ras: ras_from_voxel.inverse(),
            lo_vox: clip.min.map(|x| x - 0.5),
            hi_vox: clip.max.map(|x| x + 0.5),
        }
    }
}

fn v4(v: DVec3) -> [f32; 4] {
    [v.x as f32, v.y as f32, v.z as f32, 0.0]
}

/// Depth range (mm along the view direction, from the eye or the eye plane)
/// holding every box `(min, max)` in RAS mm, with a margin; `near` stays in
/// front of a perspective eye.
pub fn depth_range(frame: &RayFrame, bounds_ras: &[[DVec3; 2]]) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for [a, b] in bounds_ras {
        for c in 0..8 {
            let corner = DVec3::new(
                if c & 1 == 0 { a.x } else { b.x },
                if c & 2 == 0 { a.y } else { b.y },
                if c & 4 == 0 { a.z } else { b.z },
            );
            let z = (corner - frame.eye_ras).dot(frame.forward_ras);
            lo = lo.min(z);
            hi = hi.max(z);
        }
    }
    if lo > hi {
        return (1.0, 2.0);
    }
    let margin = 0.01 * (hi - lo) + 1.0;
    let (near, far) = (lo - margin, hi + margin);
    if frame.perspective {
        (near.max(far * 1e-4).max(1e-3), far.max(2e-3))
    } else {
        (near, far)
    }
}

impl SurfaceParams {
    pub fn new(frame: &RayFrame, near_far_mm: (f64, f64), clip: Option<&SurfaceClip>) -> Self {
        let clip_from_ras = frame
            .clip_from_ras(near_far_mm.0, near_far_mm.1)
            .as_mat4()
            .to_cols_array_2d();
        let mut flags = 0;
        if frame.perspective {
            flags |= FLAG_PERSPECTIVE;
        }
        let (voxel_from_ras, lo, hi) = match clip {
            Some(c) => {
                flags |= FLAG_CLIP;
                (c.voxel_from_ras, c.lo_vox, c.hi_vox)
            }
            None => (DMat4::IDENTITY, [f64::MIN; 3], [f64::MAX; 3]),
        };
        let bound = |v: [f64; 3]| {
            let c = |x: f64| x.clamp(-1e30, 1e30) as f32;
            [c(v[0]), c(v[1]), c(v[2]), 0.0]
        };
        SurfaceParams {
            clip_from_ras,
            voxel_from_ras: voxel_from_ras.as_mat4().to_cols_array_2d(),
            eye_ras: v4(frame.eye_ras),
            forward_ras: v4(frame.forward_ras),
            clip_lo_vox: bound(lo),
            clip_hi_vox: bound(hi),
            flags,
            _pad: [0; 3],
        }
    }
}
