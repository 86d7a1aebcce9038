//! Per-label statistics against independent brute-force computations, known
//! shapes, and the `rayseg stats` CLI.

use glam::{DMat3, DMat4, DQuat, DVec3};
use rayseg::annotate::document::change::gather;
use rayseg::annotate::labels::{LabelInfo, LabelSet};
use rayseg::annotate::stats::{RECIST_PERPENDICULAR_TOLERANCE_DEG, label_stats, label_stats_in};
use rayseg::annotate::undo::VoxelBox;
use rayseg::volume::{Modality, Volume, VoxelData, nifti::save_label_map};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{what}: {a} != {b}"
    );
}

#[test]
fn matches_brute_force_on_random_oblique_grids() {
    let mut rng = Rng(2024);
    for case in 0..6 {
        let shape = [14, 11, 9];
        let n: usize = shape.iter().product();
        let rot = DMat3::from_quat(
            DQuat::from_rotation_x(0.12 * case as f64) * DQuat::from_rotation_z(0.1),
        );
        let m3 = rot * DMat3::from_diagonal(DVec3::new(0.8, 1.3, 2.5));
        let m = DMat4::from_mat3_translation(m3, DVec3::new(-20.0, 5.0, 40.0));
        let values: Vec<f64> = (0..n).map(|_| rng.unit() * 300.0 - 100.0).collect();
        let image = Volume::new(shape, VoxelData::F64(values.clone()), m, Modality::Ct).unwrap();
        // Blobs: labels 1..=3 by distance to random centres, plus scattered voxels.
        let centres: Vec<[f64; 3]> = (0..3)
            .map(|_| [rng.unit() * 14.0, rng.unit() * 11.0, rng.unit() * 9.0])
            .collect();
        let mut labels = vec![0u8; n];
        for (idx, l) in labels.iter_mut().enumerate() {
            let p = [idx % 14, (idx / 14) % 11, idx / 154].map(|x| x as f64);
            for (c, centre) in centres.iter().enumerate() {
                let d2: f64 = (0..3).map(|a| (p[a] - centre[a]).powi(2)).sum();
                if d2 < 10.0 {
                    *l = c as u8 + 1;
                }
            }
            if rng.unit() < 0.02 {
                *l = 9;
            }
        }
        let stats = label_stats(&image, &labels, None).unwrap();
        for s in &stats {
            // The same label from a box holding it (one voxel of margin
            // where the grid allows) equals the whole-map statistics.
            let region = VoxelBox {
                min: s.bbox_voxel[0].map(|x| x.saturating_sub(1)),
                max: [0, 1, 2].map(|a| (s.bbox_voxel[1][a] + 1).min(shape[a] - 1)),
            };
            let boxed = gather(&labels, shape, &region);
            let from_box = label_stats_in(&image, &boxed, region, Some(&[s.label]), None).unwrap();
            assert_eq!(from_box, vec![s.clone()], "label {} from its box", s.label);
            let members: Vec<usize> = (0..n).filter(|&i| labels[i] == s.label).collect();
            let ijk = |i: usize| [i % 14, (i / 14) % 11, i / 154];
            let pos = |i: usize| {
                let [a, b, c] = ijk(i);
                m.transform_point3(DVec3::new(a as f64, b as f64, c as f64))
            };
            let count = members.len() as f64;
            assert_eq!(s.voxels as usize, members.len());
            close(
                s.volume_ml,
                count * m3.determinant().abs() / 1000.0,
                "volume",
            );
            let mean = members.iter().map(|&i| values[i]).sum::<f64>() / count;
            let var = members
                .iter()
                .map(|&i| (values[i] - mean).powi(2))
                .sum::<f64>()
                / count;
            close(s.mean, mean, "mean");
            close(s.sd, var.sqrt(), "sd (ddof 0)");
            close(
                s.min,
                members
                    .iter()
                    .map(|&i| values[i])
                    .fold(f64::INFINITY, f64::min),
                "min",
            );
            close(
                s.max,
                members
                    .iter()
                    .map(|&i| values[i])
                    .fold(f64::NEG_INFINITY, f64::max),
                "max",
            );
            let centroid = members.iter().map(|&i| pos(i)).sum::<DVec3>() / count;
            for a in 0..3 {
                close(s.centroid_ras_mm[a], centroid[a], "centroid");
                let lo = members
                    .iter()
                    .map(|&i| pos(i)[a])
                    .fold(f64::INFINITY, f64::min);
                let hi = members
                    .iter()
                    .map(|&i| pos(i)[a])
                    .fold(f64::NEG_INFINITY, f64::max);
                close(s.bbox_ras_mm[0][a], lo, "bbox lo");
                close(s.bbox_ras_mm[1][a], hi, "bbox hi");
            }
            let mut diam = 0.0f64;
            for &a in &members {
                for &b in &members {
                    diam = diam.max(pos(a).distance(pos(b)));
                }
            }
            close(s.max_diameter_mm, diam, "max diameter");
            // RECIST by brute force over slices k (the rotation about x keeps k closest to S).
            assert_eq!(s.recist_axis, 2);
            let mut best = (-1.0, 0.0, 0);
            for k in 0..9 {
                let slice: Vec<usize> = members
                    .iter()
                    .copied()
                    .filter(|&i| ijk(i)[2] == k)
                    .collect();
                if slice.is_empty() {
                    continue;
                }
                let mut long = (0.0f64, DVec3::ZERO);
                for &a in &slice {
                    for &b in &slice {
                        let d = pos(b) - pos(a);
                        if d.length() > long.0 {
                            long = (d.length(), d);
                        }
                    }
                }
                if long.0 <= best.0 {
                    continue;
                }
                let inside = |i: i64, j: i64| {
                    (0..14).contains(&i)
                        && (0..11).contains(&j)
                        && labels[(i + 14 * j) as usize + 154 * k] == s.label
                };
                let border: Vec<usize> = slice
                    .iter()
                    .copied()
                    .filter(|&v| {
                        let [i, j, _] = ijk(v).map(|x| x as i64);
                        !(inside(i + 1, j)
                            && inside(i - 1, j)
                            && inside(i, j + 1)
                            && inside(i, j - 1))
                    })
                    .collect();
                let dir = long.1.normalize_or_zero();
                let tol = RECIST_PERPENDICULAR_TOLERANCE_DEG.to_radians();
                let mut short = 0.0f64;
                for &a in &border {
                    for &b in &border {
                        let d = pos(b) - pos(a);
                        let off = (d.normalize_or_zero().dot(dir)).abs().asin();
                        if a != b && off <= tol + 1e-12 {
                            short = short.max(d.length());
                        }
                    }
                }
                best = (long.0, short, k);
            }
            close(s.recist_long_mm, best.0, "recist long");
            close(s.recist_short_mm, best.1, "recist short");
            assert_eq!(s.recist_slice, best.2, "recist slice");
        }
        assert!(stats.len() >= 2, "case {case}: too few labels");
    }
}

#[test]
fn known_sphere_and_box() {
    let shape = [31, 31, 31];
    let n = 31 * 31 * 31;
    let image = Volume::new(
        shape,
        VoxelData::I16(vec![40; n]),
        DMat4::IDENTITY,
        Modality::Ct,
    )
    .unwrap();
    let mut labels = vec![0u8; n];
    for (idx, l) in labels.iter_mut().enumerate() {
        let p = [idx % 31, (idx / 31) % 31, idx / 961].map(|x| x as f64 - 15.0);
        if p.iter().map(|x| x * x).sum::<f64>() <= 100.0 {
            *l = 1;
        }
    }
    let s = &label_stats(&image, &labels, None).unwrap()[0];
    assert_eq!(s.max_diameter_mm, 20.0);
    assert_eq!(s.recist_long_mm, 20.0);
    assert_eq!(s.recist_slice, 15);
    assert_eq!(s.recist_short_mm, 20.0);
    assert_eq!((s.mean, s.sd, s.min, s.max), (40.0, 0.0, 40.0, 40.0));
    assert_eq!(s.centroid_ras_mm, [15.0, 15.0, 15.0]);
    // A 5 × 7 × 3 box of 1 × 2 × 3 mm voxels: diagonal sqrt(4² + 12² + 6²) = 14.
    let m = DMat4::from_scale(DVec3::new(1.0, 2.0, 3.0));
    let image = Volume::new(
        [8, 9, 5],
        VoxelData::I16((0..360).map(|x| x as i16).collect()),
        m,
        Modality::Ct,
    )
    .unwrap();
    let mut labels = vec![0u8; 360];
    for k in 1..4 {
        for j in 1..8 {
            for i in 2..7 {
                labels[i + 8 * (j + 9 * k)] = 4;
            }
        }
    }
    let s = &label_stats(&image, &labels, None).unwrap()[0];
    assert_eq!(s.voxels, 105);
    close(s.volume_ml, 105.0 * 6.0 / 1000.0, "box volume");
    close(s.max_diameter_mm, 14.0, "box diameter");
    close(
        s.recist_long_mm,
        (16.0f64 + 144.0).sqrt(),
        "box in-plane diagonal",
    );
    assert_eq!(s.bbox_voxel, [[2, 1, 1], [6, 7, 3]]);
    assert_eq!(s.bbox_ras_mm, [[2.0, 2.0, 3.0], [6.0, 14.0, 9.0]]);
}

#[test]
fn cli_json_lists_each_label_with_names_and_resamples_other_grids() {
    let dir = tempfile::tempdir().unwrap();
    let shape = [10, 10, 10];
    let image = Volume::new(
        shape,
        VoxelData::I16((0..1000).map(|x| (x % 7) as i16).collect()),
        DMat4::IDENTITY,
        Modality::Ct,
    )
    .unwrap();
    let image_path = dir.path().join("ct.nii.gz");
    rayseg::volume::phantom::save_ct_nifti(&image_path, &image).unwrap();
    let mut labels = vec![0u8; 1000];
    labels[0..30].fill(2);
    labels[500..520].fill(5);
    let mask = dir.path().join("seg.nii.gz");
    save_label_map(&mask, &labels, &image).unwrap();
    let set = LabelSet {
        labels: vec![LabelInfo::new(2, "liver lesion")],
    };
    rayseg::annotate::label_files::save_sidecar(&mask, &set).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .arg("stats")
        .arg(&mask)
        .arg("--image")
        .arg(&image_path)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = json.as_array().unwrap();
    assert_eq!(list.len(), 2);
    for key in [
        "label",
        "voxels",
        "volume_ml",
        "mean",
        "sd",
        "min",
        "max",
        "centroid_ras_mm",
        "max_diameter_mm",
        "bbox_ras_mm",
        "recist_long_mm",
        "recist_short_mm",
        "recist_slice",
    ] {
        assert!(list[0].get(key).is_some(), "missing {key}");
    }
    assert_eq!(list[0]["name"], "liver lesion");
    assert_eq!(list[0]["voxels"], 30);
    assert!(list[1]["name"].is_null(), "an unnamed label: name null");
    // Text table too.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .args(["stats"])
        .arg(&mask)
        .arg("--image")
        .arg(&image_path)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("liver lesion"));
    // A mask on another grid is resampled onto the image's, with a warning.
    let other = Volume::new(
        [10, 10, 9],
        VoxelData::I16(vec![0; 900]),
        DMat4::IDENTITY,
        Modality::Ct,
    )
    .unwrap();
    let other_mask = dir.path().join("other.nii.gz");
    save_label_map(&other_mask, &vec![1u8; 900], &other).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .args(["stats"])
        .arg(&other_mask)
        .arg("--image")
        .arg(&image_path)
        .arg("--json")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("other.nii.gz") && err.contains("resampled onto it by nearest neighbour"),
        "{err}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["voxels"], 900);
    // One that does not reach the image is refused with a clear error.
    let far = Volume::new(
        [10, 10, 9],
        VoxelData::I16(vec![0; 900]),
        DMat4::from_translation(DVec3::new(0.0, 0.0, 50.0)),
        Modality::Ct,
    )
    .unwrap();
    let far_mask = dir.path().join("far.nii.gz");
    save_label_map(&far_mask, &vec![1u8; 900], &far).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .args(["stats"])
        .arg(&far_mask)
        .arg("--image")
        .arg(&image_path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("far.nii.gz") && err.contains("does not overlap the image grid"),
        "{err}"
    );
}
