//! The synthetic CT phantom: analytic lesion volumes are recovered from the
//! partial-volume values, noise is as asked, and it saves and loads as NIfTI.

use rayseg::volume::phantom::{
    LESION_CONTRAST_HU, LesionTruth, PhantomSpec, ct_phantom, save_ct_nifti,
};
use rayseg::volume::{LoadOptions, Modality, Volume, VoxelData, load};

/// Σ (value − surroundings) / contrast over the voxels within two voxel
/// diagonals of the lesion's surface (not its box: a neighbour may reach into that),
/// × voxel volume.
fn occupancy_ml(v: &Volume, t: &LesionTruth) -> f64 {
    let VoxelData::I16(data) = &v.data else {
        panic!("int16 phantom")
    };
    let inv = v.ras_from_voxel.inverse();
    let c = inv.transform_point3(glam::DVec3::from_array(t.centre_ras_mm));
    let ext = [0, 1, 2].map(|a| t.radii_mm[a] / v.spacing_mm[a] + 2.0);
    let lo = [0, 1, 2].map(|a| (c[a] - ext[a]).floor() as usize);
    let hi = [0, 1, 2].map(|a| (c[a] + ext[a]).ceil() as usize);
    let diag = v.spacing_mm.iter().map(|s| s * s).sum::<f64>().sqrt();
    let margin = 2.0 * diag / t.radii_mm.iter().cloned().fold(f64::INFINITY, f64::min);
    let mut sum = 0.0;
    for k in lo[2]..=hi[2] {
        for j in lo[1]..=hi[1] {
            for i in lo[0]..=hi[0] {
                let p = v.ras_from_index(glam::DVec3::new(i as f64, j as f64, k as f64));
                let q = (0..3)
                    .map(|a| ((p[a] - t.centre_ras_mm[a]) / t.radii_mm[a]).powi(2))
                    .sum::<f64>()
                    .sqrt();
                if q > 1.0 + margin {
                    continue;
                }
                let x = data[i + v.shape[0] * (j + v.shape[1] * k)] as f64;
                sum += (x - t.surrounding_hu) / LESION_CONTRAST_HU;
            }
        }
    }
    sum * v.voxel_volume_mm3() / 1000.0
}

fn check_volumes(spec: &PhantomSpec) {
    let (v, truth) = ct_phantom(spec).unwrap();
    assert_eq!(v.modality, Modality::Ct);
    assert_eq!(truth.len(), 6);
    for t in &truth {
        let measured = occupancy_ml(&v, t);
        let err = (measured - t.volume_ml).abs() / t.volume_ml;
        eprintln!(
            "{:?} {:<20} truth {:.4} mL measured {:.4} mL ({:+.2} %)",
            spec.spacing_mm,
            t.name,
            t.volume_ml,
            measured,
            100.0 * (measured - t.volume_ml) / t.volume_ml
        );
        let diameter = 2.0 * t.radii_mm.iter().cloned().fold(f64::INFINITY, f64::min);
        if diameter >= 10.0 {
            assert!(
                err < 0.02,
                "{}: {measured} mL vs analytic {} mL",
                t.name,
                t.volume_ml
            );
        }
    }
    assert!(
        (0.5..=30.0).contains(
            &truth
                .iter()
                .map(|t| t.volume_ml)
                .fold(f64::INFINITY, f64::min)
        )
    );
}

#[test]
fn lesion_volumes_match_analytic_default_grid() {
    check_volumes(&PhantomSpec {
        noise_sd_hu: 0.0,
        ..PhantomSpec::default()
    });
}

#[test]
fn lesion_volumes_match_analytic_anisotropic_grid() {
    check_volumes(&PhantomSpec {
        shape: [200, 200, 110],
        spacing_mm: [1.9, 1.3, 3.0],
        noise_sd_hu: 0.0,
        ..PhantomSpec::default()
    });
}

#[test]
fn noise_is_seeded_and_of_the_asked_sd() {
    let spec = PhantomSpec {
        shape: [96; 3],
        spacing_mm: [4.0; 3],
        ..PhantomSpec::default()
    };
    let (a, _) = ct_phantom(&spec).unwrap();
    let (b, _) = ct_phantom(&spec).unwrap();
    assert_eq!(a.data, b.data);
    let (c, _) = ct_phantom(&PhantomSpec {
        seed: 2,
        ..spec.clone()
    })
    .unwrap();
    assert_ne!(a.data, c.data);
    // Air far outside the body: −1000 + noise (SD 10).
    let VoxelData::I16(d) = &a.data else { panic!() };
    let air: Vec<f64> = (0..96 * 10).map(|n| d[n] as f64).collect();
    let mean = air.iter().sum::<f64>() / air.len() as f64;
    let sd = (air.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / air.len() as f64).sqrt();
    assert!((mean + 1000.0).abs() < 1.5, "air mean {mean}");
    assert!((sd - 10.0).abs() < 1.0, "noise sd {sd}");
}

#[test]
fn saves_and_loads_as_nifti() {
    let dir = tempfile::tempdir().unwrap();
    let (v, _) = ct_phantom(&PhantomSpec {
        shape: [40, 48, 36],
        spacing_mm: [9.0, 6.0, 10.0],
        ..PhantomSpec::default()
    })
    .unwrap();
    for name in ["ct.nii", "ct.nii.gz"] {
        let path = dir.path().join(name);
        save_ct_nifti(&path, &v).unwrap();
        let back = load(&path, &LoadOptions::default()).unwrap();
        assert_eq!(back.shape, v.shape);
        assert_eq!(back.data, v.data);
        let (a, b) = (
            back.ras_from_voxel.to_cols_array(),
            v.ras_from_voxel.to_cols_array(),
        );
        assert!(
            a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-4),
            "{a:?} vs {b:?}"
        );
    }
}

#[test]
fn cli_writes_truth() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .args([
            "phantom",
            "--size",
            "64",
            "--spacing",
            "6,6,6",
            "--seed",
            "3",
            "-o",
        ])
        .arg(dir.path().join("ct.nii.gz"))
        .arg("--truth")
        .arg(dir.path().join("truth.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("truth.json")).unwrap()).unwrap();
    let list = truth.as_array().unwrap();
    assert_eq!(list.len(), 6);
    for key in ["centre_ras_mm", "radii_mm", "volume_ml", "hu", "location"] {
        assert!(list[0].get(key).is_some(), "missing {key}");
    }
}
