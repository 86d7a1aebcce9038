//! The CPU definition of the surface passes (tests): the same triangles through
//! the same f32 uniform block ([`SurfaceParams`]), rasterised at pixel centres
//! (top-left rule), attributes interpolated perspective-correctly, the same
//! depth tests, face culling, draw order, shading and blending as
//! shaders/mesh.wgsl and [`SurfaceRenderer::encode`](super::SurfaceRenderer::encode).

use glam::{Mat4, Vec3, Vec4};

use super::params::{FLAG_CLIP, FLAG_PERSPECTIVE};
use super::{
    NO_SURFACE_T_MM, SurfaceClip, SurfaceParams, depth_range, draw_order, is_opaque, mesh_bounds,
    vertex_normals,
};
use crate::annotate::mesh::SurfaceMesh;
use crate::render::raymarch::RayFrame;

/// Both passes' images, row by row from the top left.
#[derive(Clone, Debug)]
pub struct SurfaceImage {
    pub width: u32,
    pub height: u32,
    /// Premultiplied RGBA of the surfaces over nothing.
    pub rgba: Vec<[f32; 4]>,
    /// The nearest surface's ray distance (mm), [`NO_SURFACE_T_MM`] where none.
    pub ray_t_mm: Vec<f32>,
    /// Which draw (index into the input) is nearest, per pixel.
    pub nearest: Vec<Option<usize>>,
}

/// Which faces a draw keeps.
#[derive(Clone, Copy, PartialEq)]
enum Faces {
    All,
    Front,
    Back,
}

/// A triangle's screen-space setup.
struct Setup {
    /// Framebuffer positions (pixels, y down) and 1 / w per vertex.
    screen: [[f32; 2]; 3],
    inv_w: [f32; 3],
    z_ndc: [f32; 3],
    /// Signed area in framebuffer coordinates (positive: clockwise on screen,
    /// which is counter-clockwise in NDC, y up: front facing).
    area: f32,
}

/// Top-left rule for an edge a → b of a triangle with positive `area` in
/// framebuffer coordinates (y down): the edge owns centres lying on it when it
/// is a top edge (horizontal, the others below it) or a left edge.
fn top_left(a: [f32; 2], b: [f32; 2]) -> bool {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    (dy == 0.0 && dx > 0.0) || dy < 0.0
}

fn setup(params: &SurfaceParams, w: u32, h: u32, p: [Vec3; 3]) -> Option<Setup> {
    let m = Mat4::from_cols_array_2d(&params.clip_from_ras);
    let c: [Vec4; 3] = p.map(|q| m * q.extend(1.0));
    // The depth range is made to hold every vertex in front of the eye.
    if c.iter().any(|c| c.w <= 0.0) {
        return None;
    }
    let screen = c.map(|c| {
        [
            (c.x / c.w + 1.0) * 0.5 * w as f32,
            (1.0 - c.y / c.w) * 0.5 * h as f32,
        ]
    });
    let [a, b, d] = screen;
    let area = (b[0] - a[0]) * (d[1] - a[1]) - (b[1] - a[1]) * (d[0] - a[0]);
    Some(Setup {
        screen,
        inv_w: c.map(|c| 1.0 / c.w),
        z_ndc: c.map(|c| c.z / c.w),
        area,
    })
}

/// Runs `fragment(x, y, z_ndc, weights)` for every pixel centre the triangle
/// covers (perspective-correct barycentric weights of its vertices), keeping
/// the faces `faces` asks for.
fn rasterise(
    s: &Setup,
    w: u32,
    h: u32,
    faces: Faces,
    mut fragment: impl FnMut(usize, f32, [f32; 3]),
) {
    if s.area == 0.0 || !s.area.is_finite() {
        return;
    }
    // Front faces are counter-clockwise in NDC: positive area here (y down flips it).
    let front = s.area > 0.0;
    match faces {
        Faces::Front if !front => return,
        Faces::Back if front => return,
        _ => {}
    }
    // Vertices in positive orientation.
    let (order, area) = if front {
        ([0, 1, 2], s.area)
    } else {
        ([0, 2, 1], -s.area)
    };
    let v = order.map(|i| s.screen[i]);
    let (lo_x, hi_x) = (
        v.iter().map(|p| p[0]).fold(f32::MAX, f32::min),
        v.iter().map(|p| p[0]).fold(f32::MIN, f32::max),
    );
    let (lo_y, hi_y) = (
        v.iter().map(|p| p[1]).fold(f32::MAX, f32::min),
        v.iter().map(|p| p[1]).fold(f32::MIN, f32::max),
    );
    let x0 = (lo_x - 0.5).ceil().max(0.0) as u32;
    let y0 = (lo_y - 0.5).ceil().max(0.0) as u32;
    let x1 = ((hi_x - 0.5).floor().min(w as f32 - 1.0)).max(-1.0) as i64;
    let y1 = ((hi_y - 0.5).floor().min(h as f32 - 1.0)).max(-1.0) as i64;
    let edge = |a: [f32; 2], b: [f32; 2], p: [f32; 2]| {
        (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
    };
    for y in y0 as i64..=y1 {
        for x in x0 as i64..=x1 {
            let p = [x as f32 + 0.5, y as f32 + 0.5];
            // e_i: the edge opposite vertex i.
            let e = [
                edge(v[1], v[2], p),
                edge(v[2], v[0], p),
                edge(v[0], v[1], p),
            ];
            let owns = [
                top_left(v[1], v[2]),
                top_left(v[2], v[0]),
                top_left(v[0], v[1]),
            ];
            if (0..3).any(|i| e[i] < 0.0 || (e[i] == 0.0 && !owns[i])) {
                continue;
            }
            // Screen-space weights, back in the input's vertex order.
            let mut l = [0.0f32; 3];
            for i in 0..3 {
                l[order[i]] = e[i] / area;
            }
            let z = l[0] * s.z_ndc[0] + l[1] * s.z_ndc[1] + l[2] * s.z_ndc[2];
            if !(0.0..=1.0).contains(&z) {
                continue;
            }
            let q = [l[0] * s.inv_w[0], l[1] * s.inv_w[1], l[2] * s.inv_w[2]];
            let sum = q[0] + q[1] + q[2];
            let pw = q.map(|x| x / sum);
            fragment((y as u32 * w + x as u32) as usize, z, pw);
        }
    }
}

fn v3(a: [f32; 4]) -> Vec3 {
    Vec3::new(a[0], a[1], a[2])
}

/// mesh.wgsl's `clipped`.
fn clipped(params: &SurfaceParams, p: Vec3) -> bool {
    if params.flags & FLAG_CLIP == 0 {
        return false;
    }
    let q = (Mat4::from_cols_array_2d(&params.voxel_from_ras) * p.extend(1.0)).truncate();
    let (lo, hi) = (v3(params.clip_lo_vox), v3(params.clip_hi_vox));
    q.cmplt(lo).any() || q.cmpgt(hi).any()
}

/// mesh.wgsl's `fs_ray_t`.
fn ray_t(params: &SurfaceParams, p: Vec3) -> f32 {
    let v = p - v3(params.eye_ras);
    if params.flags & FLAG_PERSPECTIVE != 0 {
        v.length()
    } else {
        v.dot(v3(params.forward_ras))
    }
}

/// mesh.wgsl's `fs_colour`: premultiplied.
fn colour(params: &SurfaceParams, p: Vec3, n: Vec3, rgba: [f32; 4]) -> [f32; 4] {
    let to_eye = if params.flags & FLAG_PERSPECTIVE != 0 {
        (v3(params.eye_ras) - p).normalize()
    } else {
        -v3(params.forward_ras)
    };
    let len = n.length();
    let n_dot_l = if len > 0.0 {
        n.dot(to_eye).abs() / len
    } else {
        1.0
    };
    let spec = n_dot_l.powi(32);
    let rgb = (Vec3::new(rgba[0], rgba[1], rgba[2]) * (0.3 + 0.7 * n_dot_l)
        + Vec3::splat(0.25 * spec))
    .clamp(Vec3::ZERO, Vec3::ONE);
    let a = rgba[3].clamp(0.0, 1.0);
    [rgb.x * a, rgb.y * a, rgb.z * a, a]
}

/// Both surface passes of `draws` (mesh, straight RGB and opacity) for `frame`.
pub fn render(
    frame: &RayFrame,
    clip: Option<&SurfaceClip>,
    draws: &[(&SurfaceMesh, [f32; 4])],
) -> SurfaceImage {
    let (w, h) = (frame.width.max(1), frame.height.max(1));
    let n = (w * h) as usize;
    let bounds: Vec<_> = draws.iter().map(|(m, _)| mesh_bounds(m)).collect();
    let params = SurfaceParams::new(frame, depth_range(frame, &bounds), clip);
    let normals: Vec<Vec<[f32; 3]>> = draws.iter().map(|(m, _)| vertex_normals(m)).collect();
    let mut out = SurfaceImage {
        width: w,
        height: h,
        rgba: vec![[0.0; 4]; n],
        ray_t_mm: vec![NO_SURFACE_T_MM; n],
        nearest: vec![None; n],
    };
    // Each triangle of draw `d` with the faces kept, fragment by fragment:
    // (pixel, depth, position, normal).
    let each_fragment = |d: usize, faces: Faces, f: &mut dyn FnMut(usize, f32, Vec3, Vec3)| {
        let (mesh, _) = draws[d];
        let pos = |i: u32| Vec3::from(mesh.positions_ras_mm[i as usize]);
        let nrm = |i: u32| Vec3::from(normals[d][i as usize]);
        for t in &mesh.triangles {
            let p = t.map(pos);
            let Some(s) = setup(&params, w, h, p) else {
                continue;
            };
            let q = t.map(nrm);
            rasterise(&s, w, h, faces, |at, z, l| {
                let position = l[0] * p[0] + l[1] * p[1] + l[2] * p[2];
                let normal = l[0] * q[0] + l[1] * q[1] + l[2] * q[2];
                if !clipped(&params, position) {
                    f(at, z, position, normal);
                }
            });
        }
    };
    // Pass 1: the nearest surface's ray distance.
    let mut depth = vec![1.0f32; n];
    for d in 0..draws.len() {
        each_fragment(d, Faces::All, &mut |at, z, p, _| {
            if z < depth[at] {
                depth[at] = z;
                out.ray_t_mm[at] = ray_t(&params, p);
                out.nearest[at] = Some(d);
            }
        });
    }
    // Pass 2: colour, opaque first, then translucent from far to near.
    let items: Vec<_> = bounds
        .iter()
        .zip(draws)
        .map(|(b, (_, rgba))| (*b, rgba[3]))
        .collect();
    let mut depth = vec![1.0f32; n];
    for d in draw_order(frame, &items) {
        let rgba = draws[d].1;
        if is_opaque(rgba[3]) {
            each_fragment(d, Faces::All, &mut |at, z, p, nrm| {
                if z < depth[at] {
                    depth[at] = z;
                    out.rgba[at] = colour(&params, p, nrm, rgba);
                }
            });
            continue;
        }
        for faces in [Faces::Back, Faces::Front] {
            each_fragment(d, faces, &mut |at, z, p, nrm| {
                if z < depth[at] {
                    let c = colour(&params, p, nrm, rgba);
                    let dst = out.rgba[at];
                    out.rgba[at] = [0, 1, 2, 3].map(|i| c[i] + (1.0 - c[3]) * dst[i]);
                }
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two triangles sharing a diagonal that runs through pixel centres: each
    /// centre is drawn once (a translucent square shows no seam).
    #[test]
    fn shared_edges_draw_once() {
        let w = 8;
        let s = |x: f32, y: f32| [x, y];
        let quad = [s(0.0, 0.0), s(8.0, 0.0), s(8.0, 8.0), s(0.0, 8.0)];
        let mut hits = vec![0u32; 64];
        for tri in [[0, 1, 2], [0, 2, 3]] {
            let v = tri.map(|i| quad[i]);
            let area = (v[1][0] - v[0][0]) * (v[2][1] - v[0][1])
                - (v[1][1] - v[0][1]) * (v[2][0] - v[0][0]);
            let setup = Setup {
                screen: v,
                inv_w: [1.0; 3],
                z_ndc: [0.5; 3],
                area,
            };
            rasterise(&setup, w, w, Faces::All, |at, _, _| hits[at] += 1);
        }
        // Centres (i + 0.5, i + 0.5) lie on the diagonal: one triangle owns them.
        assert!(hits.iter().all(|&n| n == 1), "{hits:?}");
    }
}
