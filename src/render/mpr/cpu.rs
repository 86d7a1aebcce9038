//! Plain CPU reference of shaders/mpr.wgsl in f64: same geometry, sampling rules,
//! windowing ([`Window::grey`]), LUTs, integer label blending and crosshair.

use glam::DVec3;

use super::{CROSSHAIR_RGB, LabelMode, SlabMode, SliceParams};
use crate::render::image::RgbaImage;
use crate::volume::Volume;

/// Renders `params` on the CPU. `labels` (one per voxel, on the volume's grid) is
/// only read when `params.label_mode` is not `Off`.
pub fn render_cpu(volume: &Volume, labels: Option<&[u8]>, params: &SliceParams) -> RgbaImage {
    render(volume, labels, params, None)
}

/// `overlay_alpha`: the overlay variant at this alpha; `None`: the opaque slice.
fn render(
    volume: &Volume,
    labels: Option<&[u8]>,
    params: &SliceParams,
    overlay_alpha: Option<u8>,
) -> RgbaImage {
    let g = &params.geometry;
    let [w, h] = g.size;
    let m = g.voxel_from_pixel();
    let (dx, dy, dn, o) = (
        m.x_axis.truncate(),
        m.y_axis.truncate(),
        m.z_axis.truncate(),
        m.w_axis.truncate(),
    );
    let shape = volume.shape;
    let n = params.slab_samples();
    let lut = params.lut;
    let label_colors = params.label_table();
    let cross = params.crosshair_pixel();
    let label_at = |p: DVec3| -> u8 {
        match labels {
            Some(l) if inside(shape, p) => {
                let c = (p + DVec3::splat(0.5)).floor();
                let idx = |a: usize| (c[a] as i64).clamp(0, shape[a] as i64 - 1) as usize;
                l.get(idx(0) + shape[0] * (idx(1) + shape[1] * idx(2)))
                    .copied()
                    .unwrap_or(0)
            }
            _ => 0,
        }
    };

    let mut img = RgbaImage::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let centre = o + dx * x as f64 + dy * y as f64;
            let mut acc = 0.0;
            let mut count = 0u32;
            for s in 0..n {
                let offset_mm = (s as f64 - (n - 1) as f64 * 0.5) * g.normal_step_mm;
                let p = centre + dn * offset_mm;
                if !inside(shape, p) {
                    continue;
                }
                let v = trilinear(volume, p);
                acc = if count == 0 {
                    v
                } else {
                    match params.slab_mode {
                        SlabMode::Mip => acc.max(v),
                        SlabMode::MinIp => acc.min(v),
                        SlabMode::Mean => acc + v,
                    }
                };
                count += 1;
            }
            let mut rgb = [0u32; 3];
            let mut grey = 0u8;
            if count > 0 {
                let value = if params.slab_mode == SlabMode::Mean {
                    acc / count as f64
                } else {
                    acc
                };
                grey = params.window.grey(value);
                rgb = lut.rgb(grey).map(u32::from);
            }
            let on_crosshair = x as i32 == cross[0] || y as i32 == cross[1];
            if let Some(alpha) = overlay_alpha {
                let shown = count > 0 && grey > 0 && !on_crosshair;
                let a = if shown { alpha } else { 0 };
                img.pixels[(y * w + x) as usize] = [rgb[0] as u8, rgb[1] as u8, rgb[2] as u8, a];
                continue;
            }
            if params.label_mode != LabelMode::Off {
                let label = label_at(centre);
                let mut draw = label != 0;
                if draw && params.label_mode == LabelMode::Outline {
                    draw = [centre + dx, centre - dx, centre + dy, centre - dy]
                        .iter()
                        .any(|&q| label_at(q) != label);
                }
                if draw {
                    let c = label_colors[label as usize].to_le_bytes().map(u32::from);
                    let a = c[3];
                    for k in 0..3 {
                        rgb[k] = (rgb[k] * (255 - a) + c[k] * a + 127) / 255;
                    }
                }
            }
            if on_crosshair {
                rgb = CROSSHAIR_RGB.map(u32::from);
            }
            img.pixels[(y * w + x) as usize] = [rgb[0] as u8, rgb[1] as u8, rgb[2] as u8, 255];
        }
    }
    img
}

/// CPU reference of the fusion overlay (mpr.wgsl with OVERLAY): the slice of
/// `volume` coloured by `params.lut` (no labels), alpha
/// [`super::overlay_alpha`]`(opacity)` where a sample is inside and its grey
/// level above 0, else transparent; transparent on the crosshair too (the
/// image below draws it).
pub fn render_cpu_overlay(volume: &Volume, params: &SliceParams, opacity: f32) -> RgbaImage {
    render(
        volume,
        None,
        params,
        Some(super::overlay_alpha(opacity) as u8),
    )
}

/// Inside the voxel-extent box [-0.5, n - 0.5] on every axis.
fn inside(shape: [usize; 3], p: DVec3) -> bool {
    (0..3).all(|a| p[a] >= -0.5 && p[a] <= shape[a] as f64 - 0.5)
}

/// Trilinear with clamp-to-edge, in the shader's operation order.
fn trilinear(volume: &Volume, p: DVec3) -> f64 {
    let base = p.floor();
    let f = p - base;
    let clampi = |v: f64, a: usize| (v as i64).clamp(0, volume.shape[a] as i64 - 1) as usize;
    let i0 = [clampi(base.x, 0), clampi(base.y, 1), clampi(base.z, 2)];
    let i1 = [
        clampi(base.x + 1.0, 0),
        clampi(base.y + 1.0, 1),
        clampi(base.z + 1.0, 2),
    ];
    let at = |i: usize, j: usize, k: usize| volume.value_at([i, j, k]).unwrap_or(0.0);
    let c000 = at(i0[0], i0[1], i0[2]);
    let c100 = at(i1[0], i0[1], i0[2]);
    let c010 = at(i0[0], i1[1], i0[2]);
    let c110 = at(i1[0], i1[1], i0[2]);
    let c001 = at(i0[0], i0[1], i1[2]);
    let c101 = at(i1[0], i0[1], i1[2]);
    let c011 = at(i0[0], i1[1], i1[2]);
    let c111 = at(i1[0], i1[1], i1[2]);
    let c00 = c000 + (c100 - c000) * f.x;
    let c10 = c010 + (c110 - c010) * f.x;
    let c01 = c001 + (c101 - c001) * f.x;
    let c11 = c011 + (c111 - c011) * f.x;
    let c0 = c00 + (c10 - c00) * f.y;
    let c1 = c01 + (c11 - c01) * f.y;
    c0 + (c1 - c0) * f.z
}
