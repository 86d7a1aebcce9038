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

/// A T2-like remap of the object's values: not monotonic.
fn t2_like(v: f64) -> f64 {
    const POINTS: [(f64, f64); 7] = [
        (-1000.0, 50.0),
        (-800.0, 0.0),
        (0.0, 800.0),
        (40.0, 600.0),
        (90.0, 350.0),
        (150.0, 900.0),
        (600.0, 100.0),
    ];
    let v = v.clamp(-1000.0, 600.0);
    let n = POINTS.windows(2).position(|w| v <= w[1].0).unwrap_or(5);
    let ((x0, y0), (x1, y1)) = (POINTS[n], POINTS[n + 1]);
    y0 + (y1 - y0) * (v - x0) / (x1 - x0)
}

#[test]
fn contrast_change() {
    let fixed_grid = grid([64, 56, 64], [4.0; 3], DVec3::ZERO);
    let fixed = sample_object([64, 56, 64], fixed_grid, DMat4::IDENTITY, |v| v);
    let truth = rigid(
        DVec3::new(1.0, 0.0, 0.2),
        -10.0,
        DVec3::new(-12.0, 18.0, -20.0),
    );
    let moving_grid = grid([56, 48, 56], [4.5; 3], DVec3::ZERO);
    let moving = sample_object([56, 48, 56], moving_grid, truth, t2_like);
    let reg = register(&fixed, &moving, &RegisterOptions::default()).unwrap();
    let (rot, mean, _) = report("contrast change", &reg, truth, &fixed);
    assert!(rot < 0.5, "rotation error {rot}°");
    assert!(mean < 0.8, "mean displacement error {mean} mm");
}

#[test]
fn fixed_mask_ignores_a_distractor() {
    let shape = [64, 56, 64];
    let fixed_grid = grid(shape, [4.0; 3], DVec3::ZERO);
    let fixed = sample_object(shape, fixed_grid, DMat4::IDENTITY, |v| v);
    let truth = rigid(DVec3::new(0.0, 1.0, 0.0), 8.0, DVec3::new(10.0, 5.0, -8.0));
    let mut moving = sample_object(shape, fixed_grid, truth, |v| v);
    // A bright slab in moving space only (a table that did not move).
    if let VoxelData::F32(values) = &mut moving.data {
        for (n, v) in values.iter_mut().enumerate() {
            let p = fixed_grid.transform_point3(DVec3::new(
                (n % 64) as f64,
                ((n / 64) % 56) as f64,
                (n / (64 * 56)) as f64,
            ));
            if p.y < -85.0 {
                *v = 1500.0;
            }
        }
    }
    let moving = Volume::new(shape, moving.data, fixed_grid, Modality::Unknown).unwrap();
    // The mask: inside the body, shrunk a little.
    let mask: Vec<u8> = (0..shape.iter().product::<usize>())
        .map(|n| {
            let p = fixed_grid.transform_point3(DVec3::new(
                (n % 64) as f64,
                ((n / 64) % 56) as f64,
                (n / (64 * 56)) as f64,
            ));
            u8::from((p / DVec3::new(80.0, 55.0, 90.0)).length() < 1.0)
        })
        .collect();
    let options = RegisterOptions {
        fixed_mask: Some(mask.clone()),
        ..RegisterOptions::default()
    };
    let reg = register(&fixed, &moving, &options).unwrap();
    let (rot, _, _) = report("fixed mask", &reg, truth, &fixed);
    let (mean, _) = displacement_mm(&fixed, reg.moving_ras_from_fixed_ras, truth, Some(&mask));
    assert!(rot < 0.5, "rotation error {rot}°");
    assert!(mean < 0.8, "mean displacement error in the mask {mean} mm");
}

#[test]
fn affine_recovered() {
    let shape = [64, 56, 64];
    let fixed_grid = grid(shape, [4.0; 3], DVec3::ZERO);
    let fixed = sample_object(shape, fixed_grid, DMat4::IDENTITY, |v| v);
    let mut linear = DMat4::from_scale(DVec3::new(1.08, 0.94, 1.03));
    linear.y_axis.x = 0.06; // shear: x += 0.06·y
    let truth = rigid(DVec3::new(0.2, 0.3, 1.0), 6.0, DVec3::new(8.0, -6.0, 10.0)) * linear;
    let moving_grid = grid([60, 52, 60], [4.4; 3], DVec3::new(5.0, 0.0, 0.0));
    let moving = sample_object([60, 52, 60], moving_grid, truth, |v| v);
    let options = RegisterOptions {
        kind: TransformKind::Affine,
        ..RegisterOptions::default()
    };
    let reg = register(&fixed, &moving, &options).unwrap();
    let (_, mean, max) = report("affine", &reg, truth, &fixed);
    assert!(mean < 1.0, "mean displacement error {mean} mm");
    assert!(max < 3.0, "max displacement error {max} mm");
    assert_eq!(reg.itk.class, "AffineTransform_double_3_3");
}

fn quick_registration() -> (Volume, Registration) {
    let fixed = phantom([40, 40, 40], 6.0);
    let mut moving = fixed.clone();
    moving.ras_from_voxel = rigid(DVec3::Z, 5.0, DVec3::new(3.0, 0.0, 0.0)) * fixed.ras_from_voxel;
    let options = RegisterOptions {
        shrink_factors: vec![2],
        max_iterations: 15,
        ..RegisterOptions::default()
    };
    (fixed.clone(), register(&fixed, &moving, &options).unwrap())
}

#[test]
fn transform_files_round_trip() {
    let (_, reg) = quick_registration();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("t.json");
    write_transform(&json, &reg).unwrap();
    let tfm = dir.path().join("t.tfm");
    assert!(tfm.exists(), "the .tfm beside the JSON");
    let from_json = read_transform(&json).unwrap();
    let from_tfm = read_transform(&tfm).unwrap();
    assert!(from_json.abs_diff_eq(reg.moving_ras_from_fixed_ras, 1e-9));
    assert!(from_tfm.abs_diff_eq(reg.moving_ras_from_fixed_ras, 1e-9));
    let text: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(text["kind"], "rigid");
    assert_eq!(text["itk_transform"], "t.tfm");
    assert!(text["final_metric"].as_f64().unwrap() < 0.0);
    let tfm_text = std::fs::read_to_string(&tfm).unwrap();
    assert!(tfm_text.contains("Transform: Euler3DTransform_double_3_3"));
    // A .tfm alone.
    let only = dir.path().join("only.tfm");
    write_transform(&only, &reg).unwrap();
    assert!(!dir.path().join("only.json").exists());
    assert!(read_transform(&only).unwrap().abs_diff_eq(from_tfm, 1e-12));
}

/// Files SimpleITK wrote (tests/data/register/make_sitk_transforms.py), each
/// checked on a point mapped by hand: LPS (x, y, z) is RAS (−x, −y, z).
#[test]
fn reads_simpleitk_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/register");
    let ras = |x: f64, y: f64, z: f64| DVec3::new(-x, -y, z);
    let cases = [
        // Euler: 90° about z about the centre (10, 20, 30), then +(1, 2, 3):
        // LPS (11, 20, 30) → (10, 21, 30) + (1, 2, 3).
        (
            "sitk_euler.tfm",
            ras(11.0, 20.0, 30.0),
            ras(11.0, 23.0, 33.0),
        ),
        // x doubled, then +5 along x.
        ("sitk_affine.tfm", ras(1.0, 1.0, 1.0), ras(7.0, 1.0, 1.0)),
        // Versor: 90° about z.
        ("sitk_versor.tfm", ras(1.0, 0.0, 0.0), ras(0.0, 1.0, 0.0)),
        // Composite: the Euler first, then +10 along x.
        (
            "sitk_composite.tfm",
            ras(11.0, 20.0, 30.0),
            ras(21.0, 23.0, 33.0),
        ),
    ];
    for (name, from, to) in cases {
        let m = read_transform(&dir.join(name)).unwrap();
        let got = m.transform_point3(from);
        assert!((got - to).length() < 1e-9, "{name}: {got} vs {to}");
    }
}

#[test]
fn typed_errors() {
    let fixed = phantom([24, 24, 24], 8.0);
    // Mask on the wrong grid.
    let options = RegisterOptions {
        fixed_mask: Some(vec![1; 10]),
        ..RegisterOptions::default()
    };
    assert!(matches!(
        register(&fixed, &fixed, &options),
        Err(RegisterError::MaskSize { got: 10, .. })
    ));
    let options = RegisterOptions {
        fixed_mask: Some(vec![0; fixed.voxel_count()]),
        ..RegisterOptions::default()
    };
    assert!(matches!(
        register(&fixed, &fixed, &options),
        Err(RegisterError::EmptyMask)
    ));
    // No overlap: the moving image 5 m away, no centring.
    let mut far = fixed.clone();
    far.ras_from_voxel = DMat4::from_translation(DVec3::new(5000.0, 0.0, 0.0)) * far.ras_from_voxel;
    let options = RegisterOptions {
        initializer: rayseg::register::Initializer::Identity,
        ..RegisterOptions::default()
    };
    let err = register(&fixed, &far, &options).unwrap_err();
    assert!(matches!(err, RegisterError::NoOverlap { .. }), "{err}");
    // NaN voxels.
    let mut values = fixed.data.to_f32_vec();
    values[100] = f32::NAN;
    let nan = Volume::new(
        fixed.shape,
        VoxelData::F32(values),
        fixed.ras_from_voxel,
        Modality::Ct,
    )
    .unwrap();
    let err = register(&fixed, &nan, &RegisterOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            RegisterError::NonFinite {
                which: "moving",
                count: 1
            }
        ),
        "{err}"
    );
    // Too small.
    let tiny = Volume::new(
        [3, 30, 30],
        VoxelData::U8(vec![1; 2700]),
        DMat4::IDENTITY,
        Modality::Ct,
    )
    .unwrap();
    let err = register(&tiny, &fixed, &RegisterOptions::default()).unwrap_err();
    assert!(
        matches!(err, RegisterError::TooSmall { which: "fixed", .. }),
        "{err}"
    );
    // Unreadable and missing transform files.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.tfm");
    std::fs::write(
        &bad,
        "#Insight Transform File V1.0\nTransform: BSplineTransform_double_3_3\nParameters: 1 2\n",
    )
    .unwrap();
    let err = read_transform(&bad).unwrap_err();
    assert!(matches!(err, RegisterError::TransformFile { .. }), "{err}");
    assert!(err.to_string().contains("bad.tfm"), "{err}");
    let garbage = dir.path().join("garbage.tfm");
    std::fs::write(&garbage, "hello").unwrap();
    assert!(matches!(
        read_transform(&garbage),
        Err(RegisterError::TransformFile { .. })
    ));
    assert!(matches!(
        read_transform(&dir.path().join("missing.tfm")),
        Err(RegisterError::Io { .. })
    ));
}

/// The command: T.json and T.tfm agree with the truth, the resampled moving
/// image lies on the fixed grid and matches the fixed image, inputs are
/// never overwritten.
#[test]
fn cli_writes_transforms_and_the_resampled_image() {
    let dir = tempfile::tempdir().unwrap();
    let fixed = phantom([48, 48, 48], 5.0);
    let truth = rigid(DVec3::new(0.2, 1.0, 0.1), 8.0, DVec3::new(-9.0, 6.0, 4.0));
    let mut moving = fixed.clone();
    moving.ras_from_voxel = truth * fixed.ras_from_voxel;
    let fixed_path = dir.path().join("fixed.nii.gz");
    let moving_path = dir.path().join("moving.nii.gz");
    rayseg::volume::nifti::save_image(&fixed_path, &fixed).unwrap();
    rayseg::volume::nifti::save_image(&moving_path, &moving).unwrap();
    let t = dir.path().join("T.json");
    let resampled = dir.path().join("resampled.nii.gz");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .arg("register")
        .args([&fixed_path, &moving_path])
        .arg("-o")
        .arg(&t)
        .arg("--resampled")
        .arg(&resampled)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["final_metric"].as_f64().unwrap() < -0.1);
    for m in [
        read_transform(&t).unwrap(),
        read_transform(&dir.path().join("T.tfm")).unwrap(),
    ] {
        let (mean, _) = displacement_mm(&fixed, m, truth, None);
        assert!(mean < 0.5, "mean displacement error {mean} mm");
    }
    let back = rayseg::volume::load(&resampled, &Default::default()).unwrap();
    assert_eq!(back.shape, fixed.shape);
    assert!(back.ras_from_voxel.abs_diff_eq(fixed.ras_from_voxel, 1e-4));
    // Inside the body (well away from the edges the motion brings in), the
    // resampled moving image is the fixed image up to interpolation.
    let (a, b) = (fixed.data.to_f32_vec(), back.data.to_f32_vec());
    let n = fixed.shape[0];
    let mut diffs = Vec::new();
    for k in 12..36 {
        for j in 12..36 {
            for i in 12..36 {
                let at = i + n * (j + n * k);
                diffs.push((a[at] - b[at]).abs() as f64);
            }
        }
    }
    diffs.sort_by(f64::total_cmp);
    let median = diffs[diffs.len() / 2];
    assert!(median < 40.0, "median |fixed − resampled| {median} HU");

    // An output naming an input is refused and the input is untouched.
    let before = std::fs::read(&moving_path).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .arg("register")
        .args([&fixed_path, &moving_path])
        .arg("-o")
        .arg(&t)
        .arg("--resampled")
        .arg(&moving_path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to overwrite"));
    assert_eq!(std::fs::read(&moving_path).unwrap(), before);
}
