//! The voxel grid both label maps must share, and what it gives distances.

use glam::{DMat3, DMat4, DVec3};

use super::MetricsError;

/// Largest distance (mm) between where two grids put the same voxel centre
/// for them still to count as one grid.
pub const SAME_GRID_MM: f64 = 1e-3;

/// Largest |cos| of the angle between two voxel axes for the grid to count
/// as orthogonal (0.006°: float32 storage of a rotation stays far below it,
/// a gantry-tilt shear far above).
pub const MAX_AXIS_COSINE: f64 = 1e-4;

/// Shape and voxel-to-RAS matrix of a label map.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grid {
    pub shape: [usize; 3],
    pub ras_from_voxel: DMat4,
}

impl Grid {
    pub fn voxel_count(&self) -> Option<usize> {
        self.shape[0]
            .checked_mul(self.shape[1])?
            .checked_mul(self.shape[2])
    }

    fn axes(&self) -> [DVec3; 3] {
        let m = &self.ras_from_voxel;
        [m.x_axis, m.y_axis, m.z_axis].map(|c| c.truncate())
    }

    /// Voxel size along i, j, k (column norms). On an orthogonal grid, a
    /// rotation (oblique or flipped axes) moves no distance or area, so these
    /// spacings give world-mm results exactly. A sheared grid is refused:
    /// its distances do not split into per-axis terms.
    pub fn spacing_mm(&self) -> Result<[f64; 3], MetricsError> {
        let axes = self.axes();
        let spacing_mm = axes.map(|c| c.length());
        if spacing_mm.iter().any(|s| !s.is_finite() || *s <= 0.0) {
            return Err(MetricsError::Spacing { spacing_mm });
        }
        for (x, y, axes_named) in [(0, 1, "i and j"), (0, 2, "i and k"), (1, 2, "j and k")] {
            let cosine = axes[x].dot(axes[y]) / (spacing_mm[x] * spacing_mm[y]);
            if cosine.abs() > MAX_AXIS_COSINE {
                return Err(MetricsError::NotOrthogonal {
                    axes: axes_named,
                    off_deg: 90.0 - cosine.abs().acos().to_degrees(),
                });
            }
        }
        Ok(spacing_mm)
    }

    /// Volume of one voxel in mL (|det| of the 3×3 part).
    pub fn voxel_volume_ml(&self) -> f64 {
        DMat3::from_mat4(self.ras_from_voxel).determinant().abs() / 1000.0
    }

    /// Checks that `other` is the same grid: same shape, and no voxel centre
    /// more than [`SAME_GRID_MM`] from its counterpart (the largest offset of
    /// two affine maps over a box is at one of its corners).
    pub fn check_same(&self, other: &Grid) -> Result<(), MetricsError> {
        if self.shape != other.shape {
            return Err(MetricsError::Shape {
                a: self.shape,
                b: other.shape,
            });
        }
        let mut offset_mm: f64 = 0.0;
        for corner in 0..8 {
            let ijk = DVec3::from_array(
                [0, 1, 2]
                    .map(|x| ((corner >> x) & 1) as f64 * self.shape[x].saturating_sub(1) as f64),
            );
            let d = (self.ras_from_voxel.transform_point3(ijk)
                - other.ras_from_voxel.transform_point3(ijk))
            .length();
            // NaN in either matrix must not pass as "same".
            offset_mm = if d.is_nan() {
                f64::INFINITY
            } else {
                offset_mm.max(d)
            };
        }
        if offset_mm > SAME_GRID_MM {
            return Err(MetricsError::Placement { offset_mm });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(m: DMat4) -> Grid {
        Grid {
            shape: [100, 80, 40],
            ras_from_voxel: m,
        }
    }

    #[test]
    fn oblique_grids_keep_their_column_norm_spacing() {
        let m = DMat4::from_rotation_y(0.4)
            * DMat4::from_rotation_z(-1.1)
            * DMat4::from_scale(DVec3::new(-0.7, 0.9, 2.5));
        let g = grid(m);
        let s = g.spacing_mm().unwrap();
        for (got, want) in s.iter().zip([0.7, 0.9, 2.5]) {
            assert!((got - want).abs() < 1e-12);
        }
        assert!((g.voxel_volume_ml() - 0.7 * 0.9 * 2.5 / 1000.0).abs() < 1e-15);
    }

    #[test]
    fn sheared_and_degenerate_grids_are_refused() {
        let mut m = DMat4::IDENTITY;
        m.z_axis.y = 0.27; // a 15° gantry tilt
        assert!(matches!(
            grid(m).spacing_mm(),
            Err(MetricsError::NotOrthogonal {
                axes: "j and k",
                ..
            })
        ));
        m = DMat4::from_scale(DVec3::new(1.0, 0.0, 1.0));
        assert!(matches!(
            grid(m).spacing_mm(),
            Err(MetricsError::Spacing { .. })
        ));
    }

    #[test]
    fn same_grid_allows_a_micron_and_names_the_offset() {
        let g = grid(DMat4::from_scale(DVec3::new(0.7, 0.9, 2.5)));
        let mut near = g;
        near.ras_from_voxel.w_axis.x += 5e-4;
        assert!(g.check_same(&near).is_ok());
        // A tiny rotation moves the far corner by ~0.01 mm.
        let mut turned = g;
        turned.ras_from_voxel = DMat4::from_rotation_z(1e-4) * g.ras_from_voxel;
        match g.check_same(&turned) {
            Err(MetricsError::Placement { offset_mm }) => assert!(offset_mm > 5e-3),
            other => panic!("{other:?}"),
        }
        let mut other_shape = g;
        other_shape.shape[2] = 41;
        assert!(matches!(
            g.check_same(&other_shape),
            Err(MetricsError::Shape { .. })
        ));
        let mut nan = g;
        nan.ras_from_voxel.x_axis.x = f64::NAN;
        assert!(g.check_same(&nan).is_err());
    }
}
