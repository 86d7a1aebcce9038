//! Cohort tools: `export-dataset` to nnU-Net v2 and MONAI from a manifest,
//! taking only label maps reviewed as completed.

use std::path::Path;
use std::process::Command;

use glam::DMat4;
use rayseg::annotate::label_files::save_sidecar;
use rayseg::annotate::labels::{LabelInfo, LabelSet, ReviewStatus};
use rayseg::volume::{LoadOptions, Modality, Volume, VoxelData, load, nifti};
use serde_json::Value;

const SHAPE: [usize; 3] = [12, 10, 6];

/// An oblique, flipped grid: geometry must survive the export exactly.
fn affine(shift_mm: f64) -> DMat4 {
    let r = DMat4::from_rotation_z(0.3) * DMat4::from_rotation_x(-0.2);
    r * DMat4::from_translation(glam::DVec3::new(-40.0 + shift_mm, 12.5, 7.0))
        * DMat4::from_scale(glam::DVec3::new(-0.8, 0.9, 2.5))
}

fn image(path: &Path, shift_mm: f64) -> Volume {
    let n: usize = SHAPE.iter().product();
    let values: Vec<i16> = (0..n).map(|i| (i as i16 % 97) * 13 - 600).collect();
    let v = Volume::new(
        SHAPE,
        VoxelData::I16(values),
        affine(shift_mm),
        Modality::Ct,
    )
    .unwrap();
    nifti::save_image(path, &v).unwrap();
    v
}

/// A label map with `labels` painted in slabs along i, and its sidecar.
fn label_map(path: &Path, reference: &Volume, labels: &[(u8, &str, ReviewStatus)], sidecar: bool) {
    let n = reference.voxel_count();
    let mut map = vec![0u8; n];
    for (slab, &(value, _, _)) in labels.iter().enumerate() {
        for (idx, m) in map.iter_mut().enumerate() {
            if idx % SHAPE[0] / 3 == slab + 1 {
                *m = value;
            }
        }
    }
    nifti::save_label_map(path, &map, reference).unwrap();
    if sidecar {
        let set = LabelSet {
            labels: labels
                .iter()
                .map(|&(v, name, status)| {
                    let mut l = LabelInfo::new(v, name);
                    l.review.status = status;
                    l
                })
                .collect(),
        };
        save_sidecar(path, &set).unwrap();
    }
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn export(manifest: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .arg("export-dataset")
        .arg(manifest)
        .arg("-o")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn export_dataset_takes_completed_reviews_with_exact_geometry() {
    use ReviewStatus::*;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let img_a = image(&d.join("p01_t0.nii.gz"), 0.0);
    let img_b = image(&d.join("p01_t1.nii.gz"), 3.0);
    let img_c = image(&d.join("p02.nii.gz"), 0.0);
    label_map(
        &d.join("p01_t0_seg.nii.gz"),
        &img_a,
        &[(1, "tumour", Completed)],
        true,
    );
    label_map(
        &d.join("p01_t1_seg.nii.gz"),
        &img_b,
        &[(1, "oedema", Completed), (2, "tumour", Completed)],
        true,
    );
    label_map(
        &d.join("p02_seg.nii.gz"),
        &img_c,
        &[(1, "tumour", InProgress)],
        true,
    );
    label_map(
        &d.join("p03_seg.nii.gz"),
        &img_c,
        &[(1, "tumour", Completed)],
        false,
    );
    let manifest = d.join("cohort.csv");
    std::fs::write(
        &manifest,
        "case_id,image,labels,timepoint\n\
         p01,p01_t0.nii.gz,p01_t0_seg.nii.gz,0\n\
         p01,p01_t1.nii.gz,p01_t1_seg.nii.gz;p02_seg.nii.gz,1\n\
         p02,p02.nii.gz,p02_seg.nii.gz,\n\
         p03,p02.nii.gz,p03_seg.nii.gz,\n\
         p04,p02.nii.gz,,\n\
         p05,missing.nii.gz,p01_t0_seg.nii.gz,\n",
    )
    .unwrap();

    let out = d.join("Dataset501_Tumours");
    let run = export(&manifest, &out, &["--folds", "2"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let dataset = json(&out.join("dataset.json"));
    // NIfTI carries no modality: the channel is "image" unless named.
    assert_eq!(dataset["channel_names"]["0"], "image");
    assert_eq!(dataset["file_ending"], ".nii.gz");
    assert_eq!(dataset["numTraining"], 2);
    // Names ordered by their lowest value anywhere, then numbered 1..n.
    assert_eq!(
        dataset["labels"],
        serde_json::json!({"background": 0, "oedema": 1, "tumour": 2})
    );

    let report = json(&out.join("export_report.json"));
    let left: Vec<(String, String)> = report["left_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["scan_id"].as_str().unwrap().into(),
                l["reason"].as_str().unwrap().into(),
            )
        })
        .collect();
    let reason = |id: &str| &left.iter().find(|l| l.0 == id).unwrap().1;
    assert_eq!(left.len(), 4, "{left:?}");
    assert!(reason("p02").contains("inprogress"));
    assert!(reason("p03").contains("no review status"));
    assert!(reason("p04").contains("no label map"));
    assert!(reason("p05").contains("does not exist"));

    // Scans of one patient share a fold.
    let splits = json(&out.join("splits_final.json"));
    let val0: Vec<&str> = splits[0]["val"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let val1 = splits[1]["val"].as_array().unwrap();
    assert!(val0 == ["p01_0", "p01_1"] || val1.len() == 2, "{splits}");

    for (scan, source, expect) in [
        ("p01_0", &img_a, [(1u8, 2u8)].as_slice()),
        ("p01_1", &img_b, [(1, 1), (2, 2)].as_slice()),
    ] {
        let opts = LoadOptions::default();
        let img = load(&out.join(format!("imagesTr/{scan}_0000.nii.gz")), &opts).unwrap();
        let lab = load(&out.join(format!("labelsTr/{scan}.nii.gz")), &opts).unwrap();
        assert_eq!(img.data, source.data, "{scan}: image values");
        for m in [&img.ras_from_voxel, &lab.ras_from_voxel] {
            let err = (*m - source.ras_from_voxel)
                .to_cols_array()
                .iter()
                .fold(0.0f64, |a, x| a.max(x.abs()));
            assert!(err < 1e-5, "{scan}: affine differs by {err}");
        }
        let src_labels = load(
            &d.join(format!("{}_seg.nii.gz", scan.replace("_", "_t"))),
            &opts,
        )
        .unwrap();
        let (VoxelData::U8(got), VoxelData::U8(was)) = (&lab.data, &src_labels.data) else {
            panic!("labels are not uint8");
        };
        for (g, w) in got.iter().zip(was) {
            let want = expect.iter().find(|e| e.0 == *w).map_or(*w, |e| e.1);
            assert_eq!(*g, want, "{scan}: renumbered label");
        }
    }

    // Nothing is overwritten.
    let again = export(&manifest, &out, &[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    let monai = d.join("monai");
    let run = export(&manifest, &monai, &["--format", "monai", "--folds", "3"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let list = json(&monai.join("datalist.json"));
    let training = list["training"].as_array().unwrap();
    assert_eq!(training.len(), 2);
    assert_eq!(training[0]["image"], "imagesTr/p01_0.nii.gz");
    assert_eq!(training[0]["label"], "labelsTr/p01_0.nii.gz");
    assert_eq!(training[0]["fold"], training[1]["fold"]);
    assert_eq!(list["labels"]["2"], "tumour");
    assert!(monai.join("imagesTr/p01_1.nii.gz").exists());
}
