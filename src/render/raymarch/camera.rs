//! Orbit camera in RAS+ millimetres and the per-pixel ray frame it produces.
//!
//! View conventions (screen_right = forward × screen_up):
//! - `anterior`: camera in front of the face looking posterior (forward = −y), superior up,
//!   so the patient's RIGHT is on the image LEFT.
//! - `posterior`: forward = +y, superior up, patient right on image right.
//! - `left`: camera at the patient's left, forward = +x, superior up, anterior on image left.
//! - `right`: forward = −x, superior up, anterior on image right.
//! - `superior`: camera above looking down (forward = −z), anterior at the top,
//!   patient right on image right.
//! - `inferior`: camera below looking up (forward = +z), anterior at the top,
//!   patient right on image LEFT (as a radiological axial slice).
//!
//! Azimuth/elevation: the eye direction (target → eye) is
//! `(−sin az·cos el, cos az·cos el, sin el)`, screen up is its derivative with respect to
//! elevation. Azimuth 0 = anterior; positive azimuth turns the camera about +S
//! (counter-clockwise seen from above) towards the patient's LEFT (90° = `left`,
//! 180° = `posterior`, −90° = `right`). Elevation tilts the camera towards superior.
//! The six views are (az, el) = anterior (0, 0), posterior (180, 0), left (90, 0),
//! right (−90, 0), superior (180, 90), inferior (0, −90).

use glam::{DMat4, DVec2, DVec3};

use crate::volume::Volume;

/// The six standard views.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StandardView {
    Anterior,
    Posterior,
    Left,
    Right,
    Superior,
    Inferior,
}

impl StandardView {
    pub const ALL: [StandardView; 6] = [
        StandardView::Anterior,
        StandardView::Posterior,
        StandardView::Left,
        StandardView::Right,
        StandardView::Superior,
        StandardView::Inferior,
    ];

    /// (azimuth, elevation) in degrees.
    pub fn angles_deg(self) -> (f64, f64) {
        match self {
            StandardView::Anterior => (0.0, 0.0),
            StandardView::Posterior => (180.0, 0.0),
            StandardView::Left => (90.0, 0.0),
            StandardView::Right => (-90.0, 0.0),
            StandardView::Superior => (180.0, 90.0),
            StandardView::Inferior => (0.0, -90.0),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            StandardView::Anterior => "anterior",
            StandardView::Posterior => "posterior",
            StandardView::Left => "left",
            StandardView::Right => "right",
            StandardView::Superior => "superior",
            StandardView::Inferior => "inferior",
        }
    }
}

/// sin and cos of an angle in degrees, exact at multiples of 90° so that standard
/// views give axis-aligned rays (exact zeros) and samples land on voxel centres.
fn sin_cos_deg(deg: f64) -> (f64, f64) {
    let quarter = deg / 90.0;
    if quarter.fract() == 0.0 {
        match (quarter as i64).rem_euclid(4) {
            0 => (0.0, 1.0),
            1 => (1.0, 0.0),
            2 => (0.0, -1.0),
            _ => (-1.0, 0.0),
        }
    } else {
        deg.to_radians().sin_cos()
    }
}

/// Orthonormal view basis in RAS: (forward, screen_right, screen_up).
pub fn view_basis(azimuth_deg: f64, elevation_deg: f64) -> (DVec3, DVec3, DVec3) {
    let (sa, ca) = sin_cos_deg(azimuth_deg);
    let (se, ce) = sin_cos_deg(elevation_deg);
    let eye_dir = DVec3::new(-sa * ce, ca * ce, se);
    let up = DVec3::new(sa * se, -ca * se, ce);
    let forward = -eye_dir;
    (forward, forward.cross(up), up)
}

/// Orbit/zoom/pan camera. Orthographic by default.
#[derive(Clone, Debug, PartialEq)]
pub struct Camera {
    /// Point the camera orbits about (RAS mm).
    pub target_ras: DVec3,
    pub azimuth_deg: f64,
    pub elevation_deg: f64,
    /// Eye distance from the target (perspective), mm.
    pub distance_mm: f64,
    /// Magnification; 1 shows `view_size_mm` (orthographic) or `fov_deg` (perspective).
    pub zoom: f64,
    /// Offset of the view centre from the target in the screen plane (right, up), mm.
    pub pan_mm: DVec2,
    pub perspective: bool,
    /// Vertical field of view (perspective), degrees.
    pub fov_deg: f64,
    /// Width and height of the orthographic view at zoom 1, mm.
    pub view_size_mm: DVec2,
    /// Pose restored by [`reset`](Self::reset): (azimuth, elevation).
    pub home_deg: (f64, f64),
}

/// Per-pixel rays, as the shader builds them: the point of pixel (x, y) on the image
/// plane is `origin + x·right + y·down` (pixel centres, y down); orthographic rays
/// start there and run along `forward`, perspective rays start at `eye`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RayFrame {
    pub width: u32,
    pub height: u32,
    pub origin_ras: DVec3,
    pub right_per_px_ras: DVec3,
    pub down_per_px_ras: DVec3,
    pub forward_ras: DVec3,
    pub eye_ras: DVec3,
    pub perspective: bool,
}

impl Camera {
    /// A camera framing `volume`'s whole grid from (azimuth, elevation).
    pub fn fit(volume: &Volume, azimuth_deg: f64, elevation_deg: f64) -> Camera {
        let (_, right, up) = view_basis(azimuth_deg, elevation_deg);
        let corners = box_corners_ras(volume);
        let centre = corners.iter().copied().sum::<DVec3>() / 8.0;
        let extent = |axis: DVec3| {
            let (lo, hi) = corners.iter().fold((f64::MAX, f64::MIN), |(lo, hi), c| {
                let s = (*c - centre).dot(axis);
                (lo.min(s), hi.max(s))
            });
            hi - lo
        };
        let radius = corners
            .iter()
            .map(|c| (*c - centre).length())
            .fold(0.0, f64::max);
        let fov_deg: f64 = 30.0;
        Camera {
            target_ras: centre,
            azimuth_deg,
            elevation_deg,
            distance_mm: radius / (fov_deg / 2.0).to_radians().sin() + 1.0,
            zoom: 1.0,
            pan_mm: DVec2::ZERO,
            perspective: false,
            fov_deg,
            view_size_mm: DVec2::new(extent(right), extent(up)),
            home_deg: (azimuth_deg, elevation_deg),
        }
    }

    /// One pixel per voxel: image size whose pixels have the spacing of the voxel axis
    /// best aligned with each screen axis. For axis-aligned volumes in a standard view,
    /// pixel centres then sit exactly on voxel centres.
    pub fn natural_size(&self, volume: &Volume) -> [u32; 2] {
        let (_, right, up) = view_basis(self.azimuth_deg, self.elevation_deg);
        let spacing_along = |axis: DVec3| {
            let cols = [
                volume.ras_from_voxel.x_axis.truncate(),
                volume.ras_from_voxel.y_axis.truncate(),
                volume.ras_from_voxel.z_axis.truncate(),
            ];
            let best = cols
                .iter()
                .max_by(|a, b| {
                    let ca = a.normalize_or_zero().dot(axis).abs();
                    let cb = b.normalize_or_zero().dot(axis).abs();
                    ca.total_cmp(&cb)
                })
                .copied()
                .unwrap_or(DVec3::ONE);
            best.length().max(1e-6)
        };
        let n = |extent: f64, spacing: f64| ((extent / spacing - 1e-6).ceil().max(1.0)) as u32;
        [
            n(self.view_size_mm.x, spacing_along(right)),
            n(self.view_size_mm.y, spacing_along(up)),
        ]
    }

    pub fn orbit(&mut self, d_azimuth_deg: f64, d_elevation_deg: f64) {
        let az = (self.azimuth_deg + d_azimuth_deg + 180.0).rem_euclid(360.0) - 180.0;
        self.azimuth_deg = az;
        self.elevation_deg = (self.elevation_deg + d_elevation_deg).clamp(-90.0, 90.0);
    }

    /// Multiplies the magnification by `factor` (> 1 zooms in).
    pub fn zoom(&mut self, factor: f64) {
        if factor.is_finite() && factor > 0.0 {
            self.zoom = (self.zoom * factor).clamp(0.01, 100.0);
        }
    }

    /// Moves the view by (right, up) millimetres in the screen plane.
    pub fn pan(&mut self, d_right_mm: f64, d_up_mm: f64) {
        self.pan_mm += DVec2::new(d_right_mm, d_up_mm);
    }

    /// Back to the fitted pose: home angles, zoom 1, no pan.
    pub fn reset(&mut self) {
        (self.azimuth_deg, self.elevation_deg) = self.home_deg;
        self.zoom = 1.0;
        self.pan_mm = DVec2::ZERO;
    }

    /// Rays for a `width`×`height` image. With `keep_aspect` the pixels are square and
    /// the view is letterboxed into the image; without it each axis is stretched to fill
    /// (used for the natural size, whose pixels have the voxel spacing).
    pub fn ray_frame(&self, width: u32, height: u32, keep_aspect: bool) -> RayFrame {
        let (forward, right, up) = view_basis(self.azimuth_deg, self.elevation_deg);
        let (w, h) = (width.max(1) as f64, height.max(1) as f64);
        let centre = self.target_ras + right * self.pan_mm.x + up * self.pan_mm.y;
        // Size of the visible rectangle: mm (orthographic) or tangent units at 1 mm
        // from the eye (perspective).
        let (view_w, view_h) = if self.perspective {
            let half = (self.fov_deg.clamp(1.0, 170.0) / 2.0).to_radians().tan();
            let aspect = if keep_aspect {
                w / h
            } else {
                self.view_size_mm.x / self.view_size_mm.y.max(1e-9)
            };
            (2.0 * half * aspect, 2.0 * half)
        } else {
            (self.view_size_mm.x, self.view_size_mm.y)
        };
        let (mut px_w, mut px_h) = (view_w / self.zoom / w, view_h / self.zoom / h);
        if keep_aspect {
            let s = px_w.max(px_h);
            (px_w, px_h) = (s, s);
        }
        let right_px = right * px_w;
        let down_px = -up * px_h;
        let eye = centre - forward * self.distance_mm;
        // Orthographic rays start at the eye plane (behind the volume; the shader clips
        // them), close enough that f32 voxel coordinates keep sub-1e-4-voxel precision.
        let plane_centre = if self.perspective { eye + forward } else { eye };
        let origin = plane_centre - right_px * (w / 2.0 - 0.5) - down_px * (h / 2.0 - 0.5);
        RayFrame {
            width,
            height,
            origin_ras: origin,
            right_per_px_ras: right_px,
            down_per_px_ras: down_px,
            forward_ras: forward,
            eye_ras: eye,
            perspective: self.perspective,
        }
    }
}

impl RayFrame {
    /// The projection a rasteriser needs to land on this frame's pixels: RAS mm to
    /// clip space (wgpu: NDC x, y in [−1, 1] with y up, z in [0, 1]), such that the
    /// centre of pixel (x, y) is where that pixel's ray crosses the scene, and depth
    /// runs from `near_mm` (z = 0) to `far_mm` (z = 1) along `forward_ras`, measured
    /// from the eye (perspective, `near_mm` > 0) or from the eye plane (orthographic).
    pub fn clip_from_ras(&self, near_mm: f64, far_mm: f64) -> DMat4 {
        let (w, h) = (f64::from(self.width.max(1)), f64::from(self.height.max(1)));
        // Displacement → pixels along right and down (the axes are orthogonal).
        let per_px_right = self.right_per_px_ras / self.right_per_px_ras.length_squared();
        let per_px_down = self.down_per_px_ras / self.down_per_px_ras.length_squared();
        let f = self.forward_ras;
        let depth = (far_mm - near_mm).max(1e-9);
        // Rows of the matrix as (coefficients of p, constant).
        let rows: [(DVec3, f64); 4] = if self.perspective {
            // Pixel x of p: dot(v / zf − (origin − eye), per_px) with v = p − eye and
            // zf = dot(v, forward); clip = NDC · zf, linear in v.
            let o = self.origin_ras - self.eye_ras;
            let cx = -2.0 / w * o.dot(per_px_right) + 1.0 / w - 1.0;
            let cy = 2.0 / h * o.dot(per_px_down) + 1.0 - 1.0 / h;
            let a = far_mm / depth;
            let b = -far_mm * near_mm / depth;
            let in_v = |row: DVec3, c: f64| (row, c - row.dot(self.eye_ras));
            [
                in_v(2.0 / w * per_px_right + cx * f, 0.0),
                in_v(-2.0 / h * per_px_down + cy * f, 0.0),
                in_v(a * f, b),
                in_v(f, 0.0),
            ]
        } else {
            let x = 2.0 / w * per_px_right;
            let y = -2.0 / h * per_px_down;
            [
                (x, -x.dot(self.origin_ras) + 1.0 / w - 1.0),
                (y, -y.dot(self.origin_ras) + 1.0 - 1.0 / h),
                (f / depth, (-f.dot(self.eye_ras) - near_mm) / depth),
                (DVec3::ZERO, 1.0),
            ]
        };
        DMat4::from_cols_array_2d(&rows.map(|(r, c)| [r.x, r.y, r.z, c])).transpose()
    }

    /// How far along its pixel's ray a point lies (mm), as raymarch.wgsl measures
    /// `t`: from the eye (perspective) or the eye plane (orthographic).
    pub fn ray_t_mm(&self, p_ras: DVec3) -> f64 {
        let v = p_ras - self.eye_ras;
        if self.perspective {
            v.length()
        } else {
            v.dot(self.forward_ras)
        }
    }
}

/// The grid's outer corners (voxel faces, index −0.5 and n − 0.5) in RAS mm.
pub fn box_corners_ras(volume: &Volume) -> [DVec3; 8] {
    let m: DMat4 = volume.ras_from_voxel;
    let hi = volume.shape.map(|n| n as f64 - 0.5);
    std::array::from_fn(|c| {
        let pick = |bit: usize, axis: usize| if c & bit != 0 { hi[axis] } else { -0.5 };
        m.transform_point3(DVec3::new(pick(1, 0), pick(2, 1), pick(4, 2)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_view_bases() {
        let x = DVec3::X;
        let y = DVec3::Y;
        let z = DVec3::Z;
        let cases = [
            (StandardView::Anterior, -y, -x, z),
            (StandardView::Posterior, y, x, z),
            (StandardView::Left, x, -y, z),
            (StandardView::Right, -x, y, z),
            (StandardView::Superior, -z, x, y),
            (StandardView::Inferior, z, -x, y),
        ];
        for (view, f, r, u) in cases {
            let (az, el) = view.angles_deg();
            assert_eq!(view_basis(az, el), (f, r, u), "{view:?}");
        }
    }

    /// Every pixel centre's ray projects back onto that pixel centre, at the
    /// depth its distance gives, for both projections.
    #[test]
    fn clip_from_ras_lands_on_pixel_centres() {
        for perspective in [false, true] {
            let camera = Camera {
                target_ras: DVec3::new(3.0, -7.0, 11.0),
                azimuth_deg: 33.0,
                elevation_deg: -21.0,
                distance_mm: 400.0,
                zoom: 1.3,
                pan_mm: DVec2::new(4.0, -9.0),
                perspective,
                fov_deg: 30.0,
                view_size_mm: DVec2::new(220.0, 180.0),
                home_deg: (0.0, 0.0),
            };
            let frame = camera.ray_frame(37, 23, true);
            let (near, far) = (50.0, 900.0);
            let m = frame.clip_from_ras(near, far);
            for (px, py) in [(0, 0), (36, 22), (18, 5), (3, 20)] {
                let plane = frame.origin_ras
                    + f64::from(px) * frame.right_per_px_ras
                    + f64::from(py) * frame.down_per_px_ras;
                for t in [100.0, 350.0, 800.0] {
                    let p = if perspective {
                        frame.eye_ras + (plane - frame.eye_ras).normalize() * t
                    } else {
                        plane + frame.forward_ras * t
                    };
                    let c = m * p.extend(1.0);
                    let ndc = c.truncate() / c.w;
                    let x = (ndc.x + 1.0) / 2.0 * 37.0 - 0.5;
                    let y = (1.0 - ndc.y) / 2.0 * 23.0 - 0.5;
                    assert!((x - f64::from(px)).abs() < 1e-9, "{perspective} x {x} {px}");
                    assert!((y - f64::from(py)).abs() < 1e-9, "{perspective} y {y} {py}");
                    assert!((frame.ray_t_mm(p) - t).abs() < 1e-9);
                    let zf = (p - frame.eye_ras).dot(frame.forward_ras);
                    let z = if perspective {
                        far / (far - near) * (1.0 - near / zf)
                    } else {
                        (zf - near) / (far - near)
                    };
                    assert!((ndc.z - z).abs() < 1e-12, "{perspective} z {} {z}", ndc.z);
                }
            }
        }
    }
}
