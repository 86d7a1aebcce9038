//! The uniform block of raymarch.wgsl, built from camera, volume and settings.

use bytemuck::{Pod, Zeroable};

use super::camera::RayFrame;
use super::{PreparedVolume, RenderMode, RenderSettings, brick_layout};

pub(crate) const FLAG_PERSPECTIVE: u32 = 1;
pub(crate) const FLAG_JITTER: u32 = 2;
pub(crate) const FLAG_SKIP: u32 = 4;
pub(crate) const FLAG_EARLY_STOP: u32 = 8;
pub(crate) const FLAG_LABELS: u32 = 16;

/// Keep in sync with `Params` in shaders/raymarch.wgsl (std140-compatible: vec4s
/// first, then 4-byte scalars; 256 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct RaymarchParams {
    pub voxel_from_ras: [[f32; 4]; 4],
    pub origin_ras: [f32; 4],
    pub right_ras: [f32; 4],
    pub down_ras: [f32; 4],
    pub forward_ras: [f32; 4],
    pub eye_ras: [f32; 4],
    pub clip_lo_vox: [f32; 4],
    pub clip_hi_vox: [f32; 4],
    pub shape: [u32; 4],
    pub brick_grid: [u32; 4],
    /// Brick edges in voxels (xyz).
    pub brick_edge: [u32; 4],
    pub image_size: [u32; 2],
    pub mode: u32,
    pub flags: u32,
    /// `Window::gpu_params`: grey = floor((v - lo) * scale), clamped.
    pub window_lo: f32,
    pub window_scale: f32,
    pub tf_lo: f32,
    pub tf_hi: f32,
    pub threshold: f32,
    pub samples_per_voxel: f32,
    pub ref_step_mm: f32,
    pub flat_gradient: f32,
    pub dvr_step_mm: f32,
    pub _pad: [f32; 3],
}
const _: () = assert!(std::mem::size_of::<RaymarchParams>() == 288);

fn v4(v: glam::DVec3) -> [f32; 4] {
    [v.x as f32, v.y as f32, v.z as f32, 0.0]
}

impl RaymarchParams {
    pub fn new(volume: &PreparedVolume, frame: &RayFrame, settings: &RenderSettings) -> Self {
        let voxel_from_ras = volume.ras_from_voxel.inverse().as_mat4().to_cols_array_2d();
        let shape = volume.shape;
        let (clip_lo, clip_hi) = match settings.clip_vox {
            // Inclusive voxel-centre ranges → face bounds.
            Some(c) => (c.min.map(|x| x - 0.5), c.max.map(|x| x + 0.5)),
            None => ([-0.5; 3], shape.map(|n| n as f64 - 0.5)),
        };
        let window = settings.window.unwrap_or_else(|| {
            crate::render::window::window_for_range(volume.value_range.0, volume.value_range.1)
        });
        let (window_lo, window_scale) =
            crate::render::window::Window::new(window.0, window.1).gpu_params();
        let mut flags = 0;
        for (on, bit) in [
            (frame.perspective, FLAG_PERSPECTIVE),
            (settings.jitter, FLAG_JITTER),
            (settings.empty_space_skipping, FLAG_SKIP),
            (settings.early_termination, FLAG_EARLY_STOP),
            (volume.has_labels && settings.draw_labels, FLAG_LABELS),
        ] {
            if on {
                flags |= bit;
            }
        }
        let mode = match settings.mode {
            RenderMode::Mip => 0,
            RenderMode::MinIp => 1,
            RenderMode::Average => 2,
            RenderMode::Dvr => 3,
            RenderMode::Iso => 4,
        };
        // The grid Raymarcher::encode binds for this frame.
        let layout = brick_layout(volume, frame);
        let (grid, edge) = (layout.grid(shape), layout.edges());
        let samples_per_voxel = settings.samples_per_voxel.max(0.05);
        let min_spacing = volume.spacing_mm.iter().copied().fold(f64::MAX, f64::min);
        RaymarchParams {
            voxel_from_ras,
            origin_ras: v4(frame.origin_ras),
            right_ras: v4(frame.right_per_px_ras),
            down_ras: v4(frame.down_per_px_ras),
            forward_ras: v4(frame.forward_ras),
            eye_ras: v4(frame.eye_ras),
            clip_lo_vox: [clip_lo[0] as f32, clip_lo[1] as f32, clip_lo[2] as f32, 0.0],
            clip_hi_vox: [clip_hi[0] as f32, clip_hi[1] as f32, clip_hi[2] as f32, 0.0],
            shape: [shape[0], shape[1], shape[2], 0],
            brick_grid: [grid[0], grid[1], grid[2], 0],
            brick_edge: [edge[0], edge[1], edge[2], 0],
            image_size: [frame.width, frame.height],
            mode,
            flags,
            window_lo,
            window_scale,
            tf_lo: settings.transfer.lo as f32,
            tf_hi: settings.transfer.hi as f32,
            threshold: settings.threshold as f32,
            samples_per_voxel,
            ref_step_mm: min_spacing.max(1e-6) as f32,
            // 1e-4 of the value range per mm: far above float noise (1e-5 of the
            // values), far below any edge an 8-bit image can hold.
            flat_gradient: (1e-4 * (volume.value_range.1 - volume.value_range.0)).max(1e-6) as f32,
            dvr_step_mm: dvr_step_mm(volume, frame, samples_per_voxel) as f32,
            _pad: [0.0; 3],
        }
    }
}

/// The DVR/isosurface step (mm): one voxel along the major voxel axis of the view
/// direction, over `samples_per_voxel`. Perspective rays share the central ray's
/// step, so the transfer function's opacity correction is one per frame.
fn dvr_step_mm(volume: &PreparedVolume, frame: &RayFrame, samples_per_voxel: f32) -> f64 {
    let d = volume
        .ras_from_voxel
        .inverse()
        .transform_vector3(frame.forward_ras.normalize_or_zero())
        .abs();
    1.0 / (d.max_element().max(1e-12) * f64::from(samples_per_voxel))
}
