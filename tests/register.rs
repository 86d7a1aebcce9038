//! `rayseg::register`: known motions recovered on phantoms, transform files
//! (ours and SimpleITK's), typed errors.
//!
//! The moving images do not come from the code under test: either the same
//! voxels under a moved voxel-to-RAS matrix (exact truth), or an analytic
//! object sampled directly on the moving grid at G⁻¹ of each voxel centre.

use std::path::Path;

use glam::{DMat3, DMat4, DVec3, DVec4};
use rayseg::register::{
    RegisterError, RegisterOptions, Registration, TransformKind, read_transform, register,
    write_transform,
};
use rayseg::volume::phantom::{PhantomSpec, ct_phantom};
use rayseg::volume::{Modality, Volume, VoxelData};

/// Rotation about `axis` by `deg`, then translation, about the origin.
fn rigid(axis: DVec3, deg: f64, t: DVec3) -> DMat4 {
    DMat4::from_translation(t) * DMat4::from_axis_angle(axis.normalize(), deg.to_radians())
}

fn grid(shape: [usize; 3], spacing: [f64; 3], centre: DVec3) -> DMat4 {
    let s = DVec3::from_array(spacing);
    let n = DVec3::new(shape[0] as f64, shape[1] as f64, shape[2] as f64);
    let origin = centre - 0.5 * (n - 1.0) * s;
    DMat4::from_cols(
        DVec4::new(s.x, 0.0, 0.0, 0.0),
        DVec4::new(0.0, s.y, 0.0, 0.0),
        DVec4::new(0.0, 0.0, s.z, 0.0),
        origin.extend(1.0),
    )
}

/// Ellipsoids (centre, radii, value), later ones painted over earlier ones
/// with a 1.5 mm smooth edge: an asymmetric "torso" whose every rotation
/// shows.
const OBJECT: [([f64; 3], [f64; 3], f64); 7] = [
    ([0.0, 0.0, 0.0], [85.0, 60.0, 95.0], 40.0),
    ([-30.0, 5.0, -30.0], [35.0, 30.0, 30.0], 90.0),
    ([35.0, 0.0, 35.0], [28.0, 35.0, 45.0], -800.0),
    ([-35.0, 0.0, 40.0], [25.0, 35.0, 40.0], -800.0),
    ([0.0, -45.0, 0.0], [9.0, 9.0, 80.0], 600.0),
    ([40.0, 10.0, -45.0], [14.0, 10.0, 18.0], 150.0),
    ([-20.0, 20.0, 55.0], [8.0, 8.0, 8.0], 0.0),
];
const AIR: f64 = -1000.0;

fn object_at(p: DVec3) -> f64 {
    let mut v = AIR;
    for (c, r, hu) in OBJECT {
        let q = (p - DVec3::from_array(c)) / DVec3::from_array(r);
        let min_r = r.iter().cloned().fold(f64::INFINITY, f64::min);
        let d = (q.length() - 1.0) * min_r; // approximate signed distance, mm
        let a = 1.0 / (1.0 + (d / 1.5).exp());
        v = v * (1.0 - a) + hu * a;
    }
    v
}

/// The object as seen through `moving_from_fixed` (object placed in fixed
/// space): moving voxel value = object(G⁻¹(voxel centre)).
fn sample_object(
    shape: [usize; 3],
    ras_from_voxel: DMat4,
    moving_from_fixed: DMat4,
    remap: impl Fn(f64) -> f64,
) -> Volume {
    let fixed_from_moving = moving_from_fixed.inverse();
    let mut data = Vec::with_capacity(shape[0] * shape[1] * shape[2]);
    for k in 0..shape[2] {
        for j in 0..shape[1] {
            for i in 0..shape[0] {
                let p = ras_from_voxel.transform_point3(DVec3::new(i as f64, j as f64, k as f64));
                data.push(remap(object_at(fixed_from_moving.transform_point3(p))) as f32);
            }
        }
    }
    Volume::new(
        shape,
        VoxelData::F32(data),
        ras_from_voxel,
        Modality::Unknown,
    )
    .unwrap()
}

/// Mean and max distance between the two maps' images of the fixed voxel
/// centres (every 2nd voxel), optionally only where `mask` is set.
fn displacement_mm(fixed: &Volume, a: DMat4, b: DMat4, mask: Option<&[u8]>) -> (f64, f64) {
    let [ni, nj, nk] = fixed.shape;
    let (mut sum, mut max, mut n) = (0.0, 0.0f64, 0usize);
    for k in (0..nk).step_by(2) {
        for j in (0..nj).step_by(2) {
            for i in (0..ni).step_by(2) {
                if mask.is_some_and(|m| m[i + ni * (j + nj * k)] == 0) {
                    continue;
                }
                let p = fixed.ras_from_index(DVec3::new(i as f64, j as f64, k as f64));
                let d = (a.transform_point3(p) - b.transform_point3(p)).length();
                sum += d;
                max = max.max(d);
                n += 1;
            }
        }
    }
    (sum / n as f64, max)
}

fn rotation_error_deg(a: DMat4, b: DMat4) -> f64 {
    let r = DMat3::from_mat4(a) * DMat3::from_mat4(b).transpose();
    let trace = r.x_axis.x + r.y_axis.y + r.z_axis.z;
    ((trace - 1.0) / 2.0).clamp(-1.0, 1.0).acos().to_degrees()
}

fn report(name: &str, reg: &Registration, truth: DMat4, fixed: &Volume) -> (f64, f64, f64) {
    let rot = rotation_error_deg(reg.moving_ras_from_fixed_ras, truth);
    let (mean, max) = displacement_mm(fixed, reg.moving_ras_from_fixed_ras, truth, None);
    let iters: Vec<usize> = reg.levels.iter().map(|l| l.iterations).collect();
    eprintln!(
        "{name}: rotation error {rot:.3}°, displacement mean {mean:.3} max {max:.3} mm, \
         metric {:.4}, iterations {iters:?}, init {:?}, {:.2} s",
        reg.final_metric, reg.initializer, reg.seconds
    );
    (rot, mean, max)
}

fn phantom(shape: [usize; 3], spacing: f64) -> Volume {
    ct_phantom(&PhantomSpec {
        shape,
        spacing_mm: [spacing; 3],
        seed: 3,
        noise_sd_hu: 10.0,
        supersample: 2,
    })
    .unwrap()
    .0
}

#[test]
fn moved_matrix_exact_truth() {
    let fixed = phantom([64, 64, 64], 4.0);
    let truth = rigid(
        DVec3::new(1.0, 1.0, 0.3),
        12.0,
        DVec3::new(20.0, -15.0, 10.0),
    );
    let mut moving = fixed.clone();
    // Voxel v sits at G(x) in the moving image when it sat at x in the fixed.
    moving.ras_from_voxel = truth * fixed.ras_from_voxel;
    let reg = register(&fixed, &moving, &RegisterOptions::default()).unwrap();
    let (rot, mean, _) = report("moved matrix", &reg, truth, &fixed);
    assert!(rot < 0.3, "rotation error {rot}°");
    assert!(mean < 0.5, "mean displacement error {mean} mm");
    assert!(reg.final_metric < 0.0);
    assert_eq!(reg.levels.len(), 3);
}

#[test]
fn analytic_object_other_grid() {
    let fixed_grid = grid([64, 56, 64], [4.0, 4.0, 4.0], DVec3::ZERO);
    let fixed = sample_object([64, 56, 64], fixed_grid, DMat4::IDENTITY, |v| v);
    let truth = rigid(
        DVec3::new(0.3, -0.2, 1.0),
        15.0,
        DVec3::new(25.0, -10.0, 15.0),
    );
    let moving_grid = grid([60, 50, 48], [4.5, 4.2, 5.0], DVec3::new(10.0, 0.0, 5.0));
    let moving = sample_object([60, 50, 48], moving_grid, truth, |v| v);
    let reg = register(&fixed, &moving, &RegisterOptions::default()).unwrap();
    let (rot, mean, _) = report("other grid", &reg, truth, &fixed);
    assert!(rot < 0.5, "rotation error {rot}°");
    assert!(mean < 0.8, "mean displacement error {mean} mm");
}
