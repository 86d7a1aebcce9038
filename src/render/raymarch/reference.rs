//! Plain CPU references for the GPU passes (tests), and the windowing formula they
//! share with the MPR pass.

use glam::{Mat4, Vec3};

use crate::render::image::RgbaImage;
use crate::volume::Volume;

use super::RenderMode;
use super::camera::StandardView;
use super::params::{FLAG_JITTER, FLAG_PERSPECTIVE, RaymarchParams};
use super::transfer::{TransferFunction, corrected_alpha, pack_rgb8, unpack_rgb8};

/// The MPR windowing formula ([`crate::render::window`]), so `render` and
/// `slice` give the same grey for the same window.
pub fn window_grey(value: f64, center: f64, width: f64) -> u8 {
    crate::render::window::grey(value, center, width)
}

/// World (RAS) forward, screen-right and screen-up unit vectors of a standard view,
/// written out from the documented conventions (independently of `camera`).
fn axes(view: StandardView) -> [[f64; 3]; 3] {
    match view {
        StandardView::Anterior => [[0., -1., 0.], [-1., 0., 0.], [0., 0., 1.]],
        StandardView::Posterior => [[0., 1., 0.], [1., 0., 0.], [0., 0., 1.]],
        StandardView::Left => [[1., 0., 0.], [0., -1., 0.], [0., 0., 1.]],
        StandardView::Right => [[-1., 0., 0.], [0., 1., 0.], [0., 0., 1.]],
        StandardView::Superior => [[0., 0., -1.], [1., 0., 0.], [0., 1., 0.]],
        StandardView::Inferior => [[0., 0., 1.], [-1., 0., 0.], [0., 1., 0.]],
    }
}

/// The voxel axis parallel to `dir` and whether it points the same way.
fn voxel_axis(volume: &Volume, dir: [f64; 3]) -> Option<(usize, bool)> {
    let m = volume.ras_from_voxel;
    let cols = [m.x_axis, m.y_axis, m.z_axis];
    cols.iter().enumerate().find_map(|(a, c)| {
        let c = c.truncate().normalize_or_zero();
        let cos = c.dot(glam::DVec3::from_array(dir));
        (cos.abs() > 1.0 - 1e-9).then_some((a, cos > 0.0))
    })
}

/// Orthographic MIP / MinIP / average of an axis-aligned volume from a standard view,
/// one pixel per voxel: NumPy's max/min/mean over the axis along the view direction
/// after flipping the others into screen order, then windowed to grey.
/// `None` for other modes or volumes whose axes are not parallel to RAS axes.
pub fn project_axis_aligned(
    volume: &Volume,
    view: StandardView,
    mode: RenderMode,
    window: (f64, f64),
) -> Option<RgbaImage> {
    let [fwd, right, up] = axes(view);
    let (af, _) = voxel_axis(volume, fwd)?;
    let (ar, right_pos) = voxel_axis(volume, right)?;
    let (au, up_pos) = voxel_axis(volume, up)?;
    let n = volume.shape;
    let (w, h) = (n[ar], n[au]);
    let mut image = RgbaImage::new(w as u32, h as u32);
    for py in 0..h {
        for px in 0..w {
            let mut ijk = [0usize; 3];
            ijk[ar] = if right_pos { px } else { w - 1 - px };
            ijk[au] = if up_pos { h - 1 - py } else { py };
            let values = (0..n[af]).filter_map(|f| {
                ijk[af] = f;
                volume.value_at(ijk)
            });
            let v = match mode {
                RenderMode::Mip => values.fold(f64::MIN, f64::max),
                RenderMode::MinIp => values.fold(f64::MAX, f64::min),
                RenderMode::Average => values.sum::<f64>() / n[af] as f64,
                RenderMode::Dvr | RenderMode::Iso => return None,
            };
            let g = window_grey(v, window.0, window.1);
            image.pixels[py * w + px] = [g, g, g, 255];
        }
    }
    Some(image)
}

/// A surface layer as the raymarch reads it (see
/// [`SurfaceLayer`](super::SurfaceLayer)), per pixel row by row: premultiplied RGBA
/// and the nearest surface's ray distance (mm).
#[derive(Clone, Copy)]
pub struct SurfaceInput<'a> {
    pub rgba: &'a [[f32; 4]],
    pub ray_t_mm: &'a [f32],
}

impl SurfaceInput<'_> {
    /// Pixel `i`'s layer and distance; nothing (transparent, infinitely far) without.
    fn at(this: Option<&Self>, i: usize) -> ([f32; 4], f32) {
        this.and_then(|s| Some((*s.rgba.get(i)?, *s.ray_t_mm.get(i)?)))
            .unwrap_or(([0.0; 4], f32::MAX))
    }
}

fn to_u8(x: f32) -> u8 {
    (x.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// MIP / MinIP / average for any camera, in f32 as raymarch.wgsl computes it from the
/// same uniform block: each ray samples where it crosses the voxel planes of its major
/// axis, trilinearly (exactly on the plane, so bilinear there), edges clamped. No
/// skipping or early termination (which must not change a projection). `None` for
/// DVR and isosurface.
pub fn project_on_planes(
    volume: &Volume,
    params: &RaymarchParams,
    mode: RenderMode,
) -> Option<RgbaImage> {
    project_on_planes_with_surfaces(volume, params, mode, None)
}

/// [`project_on_planes`] with a surface layer composited over the projection (as
/// labels are).
pub fn project_on_planes_with_surfaces(
    volume: &Volume,
    params: &RaymarchParams,
    mode: RenderMode,
    surfaces: Option<&SurfaceInput>,
) -> Option<RgbaImage> {
    if matches!(mode, RenderMode::Dvr | RenderMode::Iso) {
        return None;
    }
    let [w, h] = params.image_size;
    let mut image = RgbaImage::new(w, h);
    for py in 0..h {
        for px in 0..w {
            let at = (py * w + px) as usize;
            let (surface, _) = SurfaceInput::at(surfaces, at);
            let pixel = &mut image.pixels[at];
            let over = |grey: f32| {
                let c = |i: usize| to_u8(surface[i] + (1.0 - surface[3]) * grey);
                [c(0), c(1), c(2), 255]
            };
            *pixel = over(0.0);
            let Some(Ray {
                o,
                d,
                t_enter,
                t_exit,
                ..
            }) = Ray::new(volume, params, px, py)
            else {
                continue;
            };
            let ad = d.abs();
            let a = if ad.x >= ad.max_element() {
                0
            } else if ad.y >= ad.max_element() {
                1
            } else {
                2
            };
            let step_mm = 1.0 / ad.max_element();
            let a_enter = o[a] + t_enter * d[a];
            let (plane0, dir) = if d[a] > 0.0 {
                (a_enter.ceil(), 1.0)
            } else {
                (a_enter.floor(), -1.0)
            };
            let phase = ((plane0 - o[a]) / d[a] - t_enter) / step_mm;
            let (mut vmax, mut vmin, mut sum, mut count) = (f64::MIN, f64::MAX, 0.0, 0u32);
            for s in 0u32.. {
                let t = t_enter + (s as f32 + phase) * step_mm;
                if t >= t_exit {
                    break;
                }
                let mut p = o + t * d;
                p[a] = plane0 + dir * s as f32;
                let v = trilinear(volume, p);
                vmax = vmax.max(v);
                vmin = vmin.min(v);
                sum += v;
                count += 1;
            }
            if count > 0 {
                let v = match mode {
                    RenderMode::MinIp => vmin,
                    RenderMode::Average => sum / f64::from(count),
                    _ => vmax,
                };
                let t = ((v as f32 - params.window_lo) * params.window_scale).floor();
                *pixel = match surfaces {
                    Some(_) => over(t.clamp(0.0, 255.0) / 255.0),
                    None => {
                        let g = t.clamp(0.0, 255.0) as u8;
                        [g, g, g, 255]
                    }
                };
            }
        }
    }
    Some(image)
}

/// One pixel's ray in continuous voxel index space, as raymarch.wgsl builds it.
struct Ray {
    o: Vec3,
    d: Vec3,
    dir_ras: Vec3,
    t_enter: f32,
    t_exit: f32,
}

impl Ray {
    /// `None` for a ray that misses the (clipped) volume.
    fn new(volume: &Volume, params: &RaymarchParams, px: u32, py: u32) -> Option<Ray> {
        let v3 = |a: [f32; 4]| Vec3::new(a[0], a[1], a[2]);
        let m = Mat4::from_cols_array_2d(&params.voxel_from_ras);
        let shape = Vec3::from(volume.shape.map(|n| n as f32));
        let lo = v3(params.clip_lo_vox).max(Vec3::splat(-0.5));
        let hi = v3(params.clip_hi_vox).min(shape - Vec3::splat(0.5));
        let perspective = params.flags & FLAG_PERSPECTIVE != 0;
        let plane_ras = v3(params.origin_ras)
            + px as f32 * v3(params.right_ras)
            + py as f32 * v3(params.down_ras);
        let (o_ras, dir_ras) = if perspective {
            let eye = v3(params.eye_ras);
            (eye, (plane_ras - eye).normalize())
        } else {
            (plane_ras, v3(params.forward_ras))
        };
        let o = (m * o_ras.extend(1.0)).truncate();
        let d = (m * dir_ras.extend(0.0)).truncate();
        let (mut t_enter, t_exit) = intersect_box(o, d, lo, hi);
        if perspective {
            t_enter = t_enter.max(0.0);
        }
        // NaN-safe as in the shader: a ray that misses has no t_exit > t_enter.
        let hits = t_exit.partial_cmp(&t_enter) == Some(std::cmp::Ordering::Greater);
        (hits && (0..3).all(|a| hi[a] > lo[a])).then_some(Ray {
            o,
            d,
            dir_ras,
            t_enter,
            t_exit,
        })
    }
}

/// Shaded DVR without labels, in f32 as raymarch.wgsl defines it: samples every
/// `dvr_step_mm` from half a step in, trilinear values, gradients the trilinear
/// interpolant of central differences, the transfer function's entries corrected
/// for the step (colours as RGB8, as the shader stores them) and interpolated, Blinn-Phong with a headlight, composited front
/// to back over black. No skipping or early termination. `None` with jitter (a
/// per-pixel hash).
pub fn dvr(volume: &Volume, params: &RaymarchParams, tf: &TransferFunction) -> Option<RgbaImage> {
    dvr_with_surfaces(volume, params, tf, None)
}

/// [`dvr`] with a surface layer: each ray composites the layer at its surface's
/// distance, after the samples in front of it and before those behind.
pub fn dvr_with_surfaces(
    volume: &Volume,
    params: &RaymarchParams,
    tf: &TransferFunction,
    surfaces: Option<&SurfaceInput>,
) -> Option<RgbaImage> {
    if params.flags & FLAG_JITTER != 0 || tf.rgba.len() < 2 {
        return None;
    }
    let m = Mat4::from_cols_array_2d(&params.voxel_from_ras);
    let m3 = glam::Mat3::from_mat4(m);
    // Entries with opacity corrected to the frame's step, then interpolated.
    let exponent = f64::from(params.dvr_step_mm / params.ref_step_mm);
    let entries: Vec<[f32; 4]> = tf
        .rgba
        .iter()
        .map(|&[r, g, b, a]| {
            let [r, g, b] = unpack_rgb8(pack_rgb8([r, g, b]));
            [r, g, b, corrected_alpha(a, exponent)]
        })
        .collect();
    let tf_lookup = |v: f32| -> [f32; 4] {
        let span = (params.tf_hi - params.tf_lo).max(1e-6);
        let x = ((v - params.tf_lo) / span).clamp(0.0, 1.0) * 255.0;
        let i = (x.floor() as usize).min(entries.len() - 2);
        let f = x - i as f32;
        let (a, b) = (entries[i], entries[i + 1]);
        [0, 1, 2, 3].map(|c| a[c] + (b[c] - a[c]) * f)
    };
    let [w, h] = params.image_size;
    let mut image = RgbaImage::new(w, h);
    for py in 0..h {
        for px in 0..w {
            let at = (py * w + px) as usize;
            let (surface, t_surface) = SurfaceInput::at(surfaces, at);
            let pixel = &mut image.pixels[at];
            *pixel = [to_u8(surface[0]), to_u8(surface[1]), to_u8(surface[2]), 255];
            let Some(ray) = Ray::new(volume, params, px, py) else {
                continue;
            };
            let step_mm = params.dvr_step_mm;
            let (mut rgb, mut alpha) = (Vec3::ZERO, 0.0f32);
            let mut pending = true;
            let composite_surface = |rgb: &mut Vec3, alpha: &mut f32| {
                *rgb += (1.0 - *alpha) * Vec3::new(surface[0], surface[1], surface[2]);
                *alpha += (1.0 - *alpha) * surface[3];
            };
            for s in 0u32.. {
                let t = ray.t_enter + (s as f32 + 0.5) * step_mm;
                if pending && t >= t_surface.min(ray.t_exit) {
                    composite_surface(&mut rgb, &mut alpha);
                    pending = false;
                }
                if t >= ray.t_exit {
                    break;
                }
                let p = ray.o + t * ray.d;
                let tri = |q: Vec3| trilinear(volume, q) as f32;
                let c = tf_lookup(tri(p));
                let a = c[3];
                if a <= 0.0 {
                    continue;
                }
                let g_vox = Vec3::new(
                    tri(p + Vec3::X) - tri(p - Vec3::X),
                    tri(p + Vec3::Y) - tri(p - Vec3::Y),
                    tri(p + Vec3::Z) - tri(p - Vec3::Z),
                ) * 0.5;
                let g = m3.transpose() * g_vox;
                let len = g.length();
                let colour = Vec3::new(c[0], c[1], c[2]);
                let shaded = if len >= params.flat_gradient {
                    let n_dot_l = g.dot(ray.dir_ras).abs() / len;
                    colour * (0.3 + 0.7 * n_dot_l) + Vec3::splat(0.25 * n_dot_l.powi(32))
                } else {
                    colour
                };
                let weight = (1.0 - alpha) * a;
                rgb += weight * shaded;
                alpha += weight;
            }
            *pixel = [to_u8(rgb.x), to_u8(rgb.y), to_u8(rgb.z), 255];
        }
    }
    Some(image)
}

/// Ray/box slabs as in raymarch.wgsl: (t_enter, t_exit).
fn intersect_box(o: Vec3, d: Vec3, lo: Vec3, hi: Vec3) -> (f32, f32) {
    let safe = Vec3::select(d.abs().cmplt(Vec3::splat(1e-20)), Vec3::splat(1e-20), d);
    let inv = Vec3::ONE / safe;
    let t0 = (lo - o) * inv;
    let t1 = (hi - o) * inv;
    (t0.min(t1).max_element(), t0.max(t1).min_element())
}

/// Trilinear interpolation at a continuous index, indices clamped to the grid.
fn trilinear(volume: &Volume, p: Vec3) -> f64 {
    let base = p.floor();
    let f = p - base;
    let at = |di: i64, dj: i64, dk: i64| {
        let q = [
            (base.x as i64 + di).clamp(0, volume.shape[0] as i64 - 1) as usize,
            (base.y as i64 + dj).clamp(0, volume.shape[1] as i64 - 1) as usize,
            (base.z as i64 + dk).clamp(0, volume.shape[2] as i64 - 1) as usize,
        ];
        volume.value_at(q).unwrap_or(0.0) as f32
    };
    let mix = |a: f32, b: f32, t: f32| a + (b - a) * t;
    let c00 = mix(at(0, 0, 0), at(1, 0, 0), f.x);
    let c10 = mix(at(0, 1, 0), at(1, 1, 0), f.x);
    let c01 = mix(at(0, 0, 1), at(1, 0, 1), f.x);
    let c11 = mix(at(0, 1, 1), at(1, 1, 1), f.x);
    f64::from(mix(mix(c00, c10, f.y), mix(c01, c11, f.y), f.z))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::window::window_for_range;

    #[test]
    fn window_formula() {
        let (c, w) = window_for_range(0.0, 1000.0);
        assert_eq!(window_grey(0.0, c, w), 0);
        assert_eq!(window_grey(1000.0, c, w), 255);
        assert_eq!(window_grey(40.0 - 0.5, 40.0, 1.0), 0);
        assert_eq!(window_grey(41.0, 40.0, 1.0), 255);
        assert_eq!(window_grey(-600.0, -600.0, 1500.0), 128);
    }
}
