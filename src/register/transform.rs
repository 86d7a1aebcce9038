//! Transform parameterisations, in ITK's LPS frame and with ITK's parameter
//! order so that the optimised parameters are exactly what an ITK transform
//! file holds: Euler3DTransform (angles about X, Y, Z in radians, then the
//! translation; matrix Rz·Rx·Ry, ITK's default "ZXY" order) and
//! AffineTransform (matrix row-major, then the translation). Both act about a
//! fixed centre c: T(x) = M·(x − c) + c + t.

use glam::{DMat3, DMat4, DVec3};

use super::TransformKind;

/// A transform of the given kind: parameters plus its fixed centre (LPS mm).
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub kind: TransformKind,
    /// Rigid: [angle_x, angle_y, angle_z, tx, ty, tz]; affine: 9 matrix
    /// entries row-major, then tx, ty, tz.
    pub values: Vec<f64>,
    pub centre_lps: DVec3,
}

fn rot_x(a: f64) -> DMat3 {
    let (s, c) = a.sin_cos();
    DMat3::from_cols_array(&[1.0, 0.0, 0.0, 0.0, c, s, 0.0, -s, c])
}
fn rot_y(a: f64) -> DMat3 {
    let (s, c) = a.sin_cos();
    DMat3::from_cols_array(&[c, 0.0, -s, 0.0, 1.0, 0.0, s, 0.0, c])
}
fn rot_z(a: f64) -> DMat3 {
    let (s, c) = a.sin_cos();
    DMat3::from_cols_array(&[c, s, 0.0, -s, c, 0.0, 0.0, 0.0, 1.0])
}
/// Derivatives of the elementary rotations with respect to their angle.
fn drot_x(a: f64) -> DMat3 {
    let (s, c) = a.sin_cos();
    DMat3::from_cols_array(&[0.0, 0.0, 0.0, 0.0, -s, c, 0.0, -c, -s])
}
fn drot_y(a: f64) -> DMat3 {
    let (s, c) = a.sin_cos();
    DMat3::from_cols_array(&[-s, 0.0, -c, 0.0, 0.0, 0.0, c, 0.0, -s])
}
fn drot_z(a: f64) -> DMat3 {
    let (s, c) = a.sin_cos();
    DMat3::from_cols_array(&[-s, c, 0.0, -c, -s, 0.0, 0.0, 0.0, 0.0])
}

/// ITK Euler3DTransform's matrix: Rz·Rx·Ry, or Rz·Ry·Rx when `zyx`.
pub fn euler_matrix(ax: f64, ay: f64, az: f64, zyx: bool) -> DMat3 {
    if zyx {
        rot_z(az) * rot_y(ay) * rot_x(ax)
    } else {
        rot_z(az) * rot_x(ax) * rot_y(ay)
    }
}

/// Euler angles (ZXY order) of a rotation matrix, as ITK's
/// Euler3DTransform::ComputeMatrixParameters extracts them.
pub fn euler_angles_zxy(m: DMat3) -> [f64; 3] {
    // glam is column-major: m.col(c)[r] is row r, column c.
    let at = |r: usize, c: usize| m.col(c)[r];
    let ax = at(2, 1).clamp(-1.0, 1.0).asin();
    let a = ax.cos();
    if a.abs() > 1e-5 {
        let ay = (-at(2, 0) / a).atan2(at(2, 2) / a);
        let az = (-at(0, 1) / a).atan2(at(1, 1) / a);
        [ax, ay, az]
    } else {
        let az = 0.0;
        let ay = at(1, 0).atan2(at(0, 0));
        [ax, ay, az]
    }
}

/// The 4×4 matrix x ↦ M·(x − c) + c + t.
pub fn matrix_about_centre(m: DMat3, translation: DVec3, centre: DVec3) -> DMat4 {
    let offset = translation + centre - m * centre;
    DMat4::from_cols(
        m.x_axis.extend(0.0),
        m.y_axis.extend(0.0),
        m.z_axis.extend(0.0),
        offset.extend(1.0),
    )
}

impl Params {
    pub fn identity(kind: TransformKind, centre_lps: DVec3) -> Self {
        let values = match kind {
            TransformKind::Rigid => vec![0.0; 6],
            TransformKind::Affine => vec![1., 0., 0., 0., 1., 0., 0., 0., 1., 0., 0., 0.],
        };
        Params {
            kind,
            values,
            centre_lps,
        }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn translation(&self) -> DVec3 {
        let n = self.values.len();
        DVec3::new(self.values[n - 3], self.values[n - 2], self.values[n - 1])
    }

    pub fn set_translation(&mut self, t: DVec3) {
        let n = self.values.len();
        self.values[n - 3..].copy_from_slice(&t.to_array());
    }

    pub fn linear(&self) -> DMat3 {
        let v = &self.values;
        match self.kind {
            TransformKind::Rigid => euler_matrix(v[0], v[1], v[2], false),
            // Row-major parameters into glam's column-major matrix.
            TransformKind::Affine => {
                DMat3::from_cols_array(&[v[0], v[3], v[6], v[1], v[4], v[7], v[2], v[5], v[8]])
            }
        }
    }

    /// moving_lps_from_fixed_lps.
    pub fn matrix(&self) -> DMat4 {
        matrix_about_centre(self.linear(), self.translation(), self.centre_lps)
    }

    /// The same map as an affine about the same centre (for an affine stage
    /// started from a rigid one).
    pub fn to_affine(&self) -> Params {
        let m = self.linear();
        let mut values: Vec<f64> = (0..3)
            .flat_map(|r| (0..3).map(move |c| m.col(c)[r]))
            .collect();
        values.extend(self.translation().to_array());
        Params {
            kind: TransformKind::Affine,
            values,
            centre_lps: self.centre_lps,
        }
    }

    /// Per-parameter derivatives of the linear part (for the Jacobian):
    /// ∂T/∂p_k (x) = D_k·(x − c) for the linear parameters, unit vectors for
    /// the translation.
    pub fn linear_derivatives(&self) -> Vec<DMat3> {
        let v = &self.values;
        match self.kind {
            TransformKind::Rigid => {
                let (ax, ay, az) = (v[0], v[1], v[2]);
                vec![
                    rot_z(az) * drot_x(ax) * rot_y(ay),
                    rot_z(az) * rot_x(ax) * drot_y(ay),
                    drot_z(az) * rot_x(ax) * rot_y(ay),
                ]
            }
            TransformKind::Affine => (0..9)
                .map(|k| {
                    let (r, c) = (k / 3, k % 3);
                    let mut cols = [0.0; 9];
                    cols[c * 3 + r] = 1.0;
                    DMat3::from_cols_array(&cols)
                })
                .collect(),
        }
    }
}

/// Jacobian of T at `x`: `out[k]` = ∂T(x)/∂p_k.
pub fn jacobian(derivs: &[DMat3], centre: DVec3, x: DVec3, out: &mut [DVec3]) {
    let d = x - centre;
    for (o, m) in out.iter_mut().zip(derivs) {
        *o = *m * d;
    }
    let n = out.len();
    out[n - 3] = DVec3::X;
    out[n - 2] = DVec3::Y;
    out[n - 1] = DVec3::Z;
}

/// F = diag(−1, −1, 1, 1): RAS ↔ LPS (its own inverse).
pub fn lps_from_ras() -> DMat4 {
    DMat4::from_diagonal(glam::DVec4::new(-1.0, -1.0, 1.0, 1.0))
}

/// A map between points written in LPS, rewritten for RAS points (and back:
/// the conjugation is its own inverse).
pub fn ras_map_from_lps_map(m_lps: DMat4) -> DMat4 {
    let f = lps_from_ras();
    f * m_lps * f
}

/// Rotation angle (degrees) of the rotation part of a rigid 4×4 matrix.
pub fn rotation_angle_deg(m: DMat4) -> f64 {
    let r = DMat3::from_mat4(m);
    let trace = r.x_axis.x + r.y_axis.y + r.z_axis.z;
    ((trace - 1.0) / 2.0).clamp(-1.0, 1.0).acos().to_degrees()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euler_round_trip_and_derivatives() {
        let (ax, ay, az) = (0.2, -0.3, 0.25);
        let m = euler_matrix(ax, ay, az, false);
        let a = euler_angles_zxy(m);
        assert!((a[0] - ax).abs() < 1e-12 && (a[1] - ay).abs() < 1e-12);
        assert!((a[2] - az).abs() < 1e-12);
        let p = Params {
            kind: TransformKind::Rigid,
            values: vec![ax, ay, az, 1.0, 2.0, 3.0],
            centre_lps: DVec3::new(5.0, -4.0, 2.0),
        };
        let x = DVec3::new(30.0, 10.0, -20.0);
        let mut jac = vec![DVec3::ZERO; 6];
        jacobian(&p.linear_derivatives(), p.centre_lps, x, &mut jac);
        for (k, analytic) in jac.iter().enumerate() {
            let h = 1e-6;
            let mut q = p.clone();
            q.values[k] += h;
            let fd = (q.matrix().transform_point3(x) - p.matrix().transform_point3(x)) / h;
            assert!(
                (fd - *analytic).length() < 1e-4,
                "param {k}: {fd} vs {analytic}"
            );
        }
        let af = p.to_affine();
        assert!(af.matrix().abs_diff_eq(p.matrix(), 1e-12));
    }
}
