//! Where a slice lies in patient space and how it is laid out on screen (CPU, f64).
//! Shared by the GPU pass and the CPU reference.
//!
//! # Display convention
//!
//! Slices are resampled in world (RAS+) space, so oblique acquisitions are shown
//! upright. Radiological convention by default: the patient's left is on the
//! screen's right, as if facing the patient (neurological convention puts the
//! patient's left on the screen's left).
//! - Axial: viewed from the feet (radiological) or from above (neurological);
//!   anterior at the top.
//! - Coronal: viewed from the front (radiological) or from behind (neurological);
//!   superior at the top.
//! - Sagittal: superior at the top, anterior on the left (same in both conventions).

use glam::{DMat3, DMat4, DVec3};

/// Why a slice geometry cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeometryError {
    #[error("volume grid {0:?} is empty")]
    EmptyGrid([usize; 3]),
    #[error("voxel-to-RAS matrix is singular")]
    SingularMatrix,
    #[error("slice would be {0} pixels wide")]
    TooWide(f64),
    #[error("slice index {index} is outside 0..{voxels} (voxel axis {axis})")]
    IndexOutside {
        index: usize,
        voxels: usize,
        axis: usize,
    },
    #[error("slice position {0} mm is not finite")]
    PositionNotFinite(f64),
    #[error("output size {width}x{height} must be 1..=16384 each")]
    OutputSize { width: u32, height: u32 },
}

/// The three orthogonal planes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlicePlane {
    Axial,
    Coronal,
    Sagittal,
}

/// Left–right display convention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Convention {
    /// Patient left on screen right.
    #[default]
    Radiological,
    /// Patient left on screen left.
    Neurological,
}

/// Where the plane lies along its normal.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum SlicePosition {
    /// The middle voxel slice (index n/2 along the voxel axis most aligned with the normal).
    #[default]
    Middle,
    /// Through voxel centre N along the voxel axis most aligned with the normal.
    Index(usize),
    /// At this RAS coordinate (mm) along the normal (z for axial, y coronal, x sagittal).
    Mm(f64),
}

/// Patient-direction letters at the four screen edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EdgeLetters {
    pub top: &'static str,
    pub bottom: &'static str,
    pub left: &'static str,
    pub right: &'static str,
}

impl SlicePlane {
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "axial" | "transverse" | "transversal" => Some(SlicePlane::Axial),
            "coronal" => Some(SlicePlane::Coronal),
            "sagittal" => Some(SlicePlane::Sagittal),
            _ => None,
        }
    }

    /// Unit RAS vectors of screen +x (right), screen +y (down) and the plane normal.
    pub fn screen_axes(self, convention: Convention) -> (DVec3, DVec3, DVec3) {
        // Patient left = -x in RAS.
        let lr = match convention {
            Convention::Radiological => DVec3::NEG_X,
            Convention::Neurological => DVec3::X,
        };
        match self {
            SlicePlane::Axial => (lr, DVec3::NEG_Y, DVec3::Z),
            SlicePlane::Coronal => (lr, DVec3::NEG_Z, DVec3::Y),
            // Anterior on the left, so screen right is posterior.
            SlicePlane::Sagittal => (DVec3::NEG_Y, DVec3::NEG_Z, DVec3::X),
        }
    }

    /// Letters of the patient directions at the screen edges.
    pub fn edge_letters(self, convention: Convention) -> EdgeLetters {
        let (right, down, _) = self.screen_axes(convention);
        EdgeLetters {
            top: direction_letter(-down),
            bottom: direction_letter(down),
            left: direction_letter(-right),
            right: direction_letter(right),
        }
    }
}

/// Letter of the patient direction a RAS vector points to most (R/L, A/P, S/I).
pub fn direction_letter(ras: DVec3) -> &'static str {
    let a = ras.abs();
    if a.x >= a.y && a.x >= a.z {
        if ras.x >= 0.0 { "R" } else { "L" }
    } else if a.y >= a.z {
        if ras.y >= 0.0 { "A" } else { "P" }
    } else if ras.z >= 0.0 {
        "S"
    } else {
        "I"
    }
}

/// A resolved slice: pixel (x, y) centre is at `origin_ras + x·spacing_mm[0]·right_ras
/// + y·spacing_mm[1]·down_ras`; slab samples step along `normal_ras`.
#[derive(Clone, Debug, PartialEq)]
pub struct SliceGeometry {
    pub plane: SlicePlane,
    pub convention: Convention,
    /// RAS position (mm) of the centre of pixel (0, 0), the top-left one.
    pub origin_ras: DVec3,
    pub right_ras: DVec3,
    pub down_ras: DVec3,
    pub normal_ras: DVec3,
    /// Pixel spacing along screen x and y (mm).
    pub spacing_mm: [f64; 2],
    /// Image width and height in pixels.
    pub size: [u32; 2],
    /// Spacing of the voxel axis most aligned with the normal (slab sample step, mm).
    pub normal_step_mm: f64,
    /// Voxel index → RAS mm of the volume.
    pub ras_from_voxel: DMat4,
    pub volume_shape: [usize; 3],
}

/// Tolerance (in pixels) below which a field of view counts as a whole number of pixels.
const GRID_EPS: f64 = 1e-6;

impl SliceGeometry {
    /// The slice at `position` with the native pixel grid: pixel spacing and count of
    /// the voxel axis most aligned with each screen direction, grid covering the whole
    /// volume. For axis-aligned volumes pixel centres land exactly on voxel centres.
    pub fn new(
        volume_shape: [usize; 3],
        ras_from_voxel: DMat4,
        plane: SlicePlane,
        position: SlicePosition,
        convention: Convention,
    ) -> Result<Self, GeometryError> {
        if volume_shape.contains(&0) {
            return Err(GeometryError::EmptyGrid(volume_shape));
        }
        let linear = DMat3::from_mat4(ras_from_voxel);
        if linear.determinant().abs() < 1e-12 {
            return Err(GeometryError::SingularMatrix);
        }
        let (right, down, normal) = plane.screen_axes(convention);
        let cols = [linear.x_axis, linear.y_axis, linear.z_axis];
        let spacing = cols.map(|c| c.length());
        let [axis_n, axis_x, axis_y] = assign_axes(&cols, [normal, right, down]);

        // Projections of the voxel-centre bounding box onto a direction.
        let corners: Vec<DVec3> = (0..8)
            .map(|b| {
                let idx = DVec3::new(
                    if b & 1 == 0 {
                        0.0
                    } else {
                        (volume_shape[0] - 1) as f64
                    },
                    if b & 2 == 0 {
                        0.0
                    } else {
                        (volume_shape[1] - 1) as f64
                    },
                    if b & 4 == 0 {
                        0.0
                    } else {
                        (volume_shape[2] - 1) as f64
                    },
                );
                ras_from_voxel.transform_point3(idx)
            })
            .collect();
        let span = |dir: DVec3| {
            corners
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), c| {
                    let p = c.dot(dir);
                    (lo.min(p), hi.max(p))
                })
        };
        let grid = |dir: DVec3, step: f64| -> Result<(f64, u32), GeometryError> {
            let (lo, hi) = span(dir);
            let steps = (hi - lo) / step;
            let n = (steps - GRID_EPS).ceil().max(0.0) + 1.0;
            if !(1.0..=16384.0).contains(&n) {
                return Err(GeometryError::TooWide(n));
            }
            // Centre the grid on the span (for whole-pixel spans it starts at `lo`).
            let start = (lo + hi) / 2.0 - (n - 1.0) / 2.0 * step;
            Ok((start, n as u32))
        };
        let (x0, nx) = grid(right, spacing[axis_x])?;
        let (y0, ny) = grid(down, spacing[axis_y])?;

        let n_voxels = volume_shape[axis_n];
        let depth_mm = match position {
            SlicePosition::Mm(mm) => mm,
            SlicePosition::Middle | SlicePosition::Index(_) => {
                let index = match position {
                    SlicePosition::Index(i) => i,
                    _ => n_voxels / 2,
                };
                if index >= n_voxels {
                    return Err(GeometryError::IndexOutside {
                        index,
                        voxels: n_voxels,
                        axis: axis_n,
                    });
                }
                let mut centre = DVec3::from_array(volume_shape.map(|n| (n - 1) as f64 / 2.0));
                centre[axis_n] = index as f64;
                ras_from_voxel.transform_point3(centre).dot(normal)
            }
        };
        if !depth_mm.is_finite() {
            return Err(GeometryError::PositionNotFinite(depth_mm));
        }
        Ok(SliceGeometry {
            plane,
            convention,
            origin_ras: right * x0 + down * y0 + normal * depth_mm,
            right_ras: right,
            down_ras: down,
            normal_ras: normal,
            spacing_mm: [spacing[axis_x], spacing[axis_y]],
            size: [nx, ny],
            normal_step_mm: spacing[axis_n],
            ras_from_voxel,
            volume_shape,
        })
    }

    /// The same field of view resampled into `width`×`height` square pixels,
    /// centred and letterboxed (aspect preserved).
    pub fn resized(&self, width: u32, height: u32) -> Result<Self, GeometryError> {
        if width == 0 || height == 0 || width > 16384 || height > 16384 {
            return Err(GeometryError::OutputSize { width, height });
        }
        let fov_mm = [
            self.size[0] as f64 * self.spacing_mm[0],
            self.size[1] as f64 * self.spacing_mm[1],
        ];
        let pixel_mm = (fov_mm[0] / width as f64).max(fov_mm[1] / height as f64);
        let centre = self.pixel_to_ras(
            (self.size[0] as f64 - 1.0) / 2.0,
            (self.size[1] as f64 - 1.0) / 2.0,
        );
        let origin = centre
            - self.right_ras * ((width as f64 - 1.0) / 2.0 * pixel_mm)
            - self.down_ras * ((height as f64 - 1.0) / 2.0 * pixel_mm);
        Ok(SliceGeometry {
            origin_ras: origin,
            spacing_mm: [pixel_mm, pixel_mm],
            size: [width, height],
            ..self.clone()
        })
    }

    /// RAS position of (continuous) pixel coordinates; integers are pixel centres.
    pub fn pixel_to_ras(&self, x: f64, y: f64) -> DVec3 {
        self.origin_ras
            + self.right_ras * (x * self.spacing_mm[0])
            + self.down_ras * (y * self.spacing_mm[1])
    }

    /// Continuous pixel coordinates of a RAS point projected onto the plane.
    pub fn ras_to_pixel(&self, ras: DVec3) -> (f64, f64) {
        let d = ras - self.origin_ras;
        (
            d.dot(self.right_ras) / self.spacing_mm[0],
            d.dot(self.down_ras) / self.spacing_mm[1],
        )
    }

    /// Affine from (pixel x, pixel y, mm along the normal) to continuous voxel index:
    /// columns = per pixel x, per pixel y, per mm of normal offset, origin.
    pub fn voxel_from_pixel(&self) -> DMat4 {
        let voxel_from_ras = self.ras_from_voxel.inverse();
        let v = |d: DVec3| voxel_from_ras.transform_vector3(d);
        let o = voxel_from_ras.transform_point3(self.origin_ras);
        DMat4::from_cols(
            v(self.right_ras * self.spacing_mm[0]).extend(0.0),
            v(self.down_ras * self.spacing_mm[1]).extend(0.0),
            v(self.normal_ras).extend(0.0),
            o.extend(1.0),
        )
    }

    /// The same plane (pixels in this geometry's RAS space, the *fixed*
    /// image's) sampling another volume, the *moving* one, through
    /// `moving_ras_from_fixed_ras`: voxel_from_pixel becomes
    /// moving_voxel_from_moving_ras · moving_ras_from_fixed_ras · plane.
    pub fn through_transform(
        &self,
        moving_ras_from_fixed_ras: DMat4,
        moving_ras_from_voxel: DMat4,
        moving_shape: [usize; 3],
    ) -> Self {
        SliceGeometry {
            ras_from_voxel: moving_ras_from_fixed_ras.inverse() * moving_ras_from_voxel,
            volume_shape: moving_shape,
            ..self.clone()
        }
    }

    pub fn edge_letters(&self) -> EdgeLetters {
        self.plane.edge_letters(self.convention)
    }
}

/// Gives each direction (normal first) a distinct voxel axis: the most aligned one
/// still free.
fn assign_axes(cols: &[DVec3; 3], dirs: [DVec3; 3]) -> [usize; 3] {
    let mut taken = [false; 3];
    dirs.map(|dir| {
        let mut best = 0;
        let mut best_cos = -1.0;
        for (a, c) in cols.iter().enumerate() {
            let cos = c.normalize_or_zero().dot(dir).abs();
            if !taken[a] && cos > best_cos {
                best = a;
                best_cos = cos;
            }
        }
        taken[best] = true;
        best
    })
}
