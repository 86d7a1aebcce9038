//! `rayseg compare` against DeepMind's surface-distance and SimpleITK: the
//! expected values in tests/data/compare/oracles.json were written by
//! tests/data/compare/make_oracles.py from those libraries, never by rayseg.

use std::path::{Path, PathBuf};
use std::process::Command;

use rayseg::annotate::label_formats::read_label_map_alone;
use rayseg::annotate::metrics::{Empty, Grid, LabelMetrics, Options, compare};
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/compare")
        .join(name)
}

fn oracles() -> Value {
    let text = std::fs::read_to_string(data("oracles.json")).expect("oracles.json");
    serde_json::from_str(&text).expect("oracles.json parses")
}

fn read(name: &str) -> (Grid, Vec<u8>) {
    let (volume, file) = read_label_map_alone(&data(name), None).expect(name);
    let grid = Grid {
        shape: volume.shape,
        ras_from_voxel: volume.ras_from_voxel,
    };
    (grid, file.labels)
}

/// Distances and areas: relative 1e-6 (the files hold the affine as float32,
/// read the same way by both sides, so agreement is far closer).
fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-6 * want.abs() + 1e-9,
        "{what}: {got} != {want}"
    );
}

fn optional(got: Option<f64>, want: &Value, what: &str) {
    match (got, want.as_f64()) {
        (Some(g), Some(w)) => close(g, w, what),
        (None, None) => assert!(want.is_null(), "{what}: {want}"),
        _ => panic!("{what}: {got:?} != {want}"),
    }
}

fn empty_name(e: Option<Empty>) -> Value {
    match e {
        None => Value::Null,
        Some(Empty::A) => "A".into(),
        Some(Empty::B) => "B".into(),
        Some(Empty::Both) => "both".into(),
    }
}

fn check_label(case: &str, got: &LabelMetrics, want: &Value) {
    let what = |field: &str| format!("{case} label {}: {field}", got.label);
    assert_eq!(i64::from(got.label), want["label"].as_i64().unwrap());
    assert_eq!(empty_name(got.empty), want["empty"], "{}", what("empty"));
    for (field, value) in [
        ("voxels_a", got.voxels_a),
        ("voxels_b", got.voxels_b),
        ("voxels_both", got.voxels_both),
    ] {
        assert_eq!(Some(value), want[field].as_u64(), "{}", what(field));
    }
    // Overlap is a ratio of counts: exact up to the last bit.
    for (field, value) in [("dice", got.dice), ("jaccard", got.jaccard)] {
        let w = want[field].as_f64().unwrap();
        assert!((value.unwrap() - w).abs() < 1e-12, "{}", what(field));
    }
    for (field, value) in [
        ("volume_a_ml", got.volume_a_ml),
        ("volume_b_ml", got.volume_b_ml),
        ("volume_diff_ml", got.volume_diff_ml),
        ("surface_area_a_mm2", got.surface_area_a_mm2),
        ("surface_area_b_mm2", got.surface_area_b_mm2),
    ] {
        close(value, want[field].as_f64().unwrap(), &what(field));
    }
    for (field, value) in [
        ("volume_diff_percent", got.volume_diff_percent),
        ("surface_dice", got.surface_dice),
        ("hausdorff_mm", got.hausdorff_mm),
        ("hd95_mm", got.hd95_mm),
        ("assd_mm", got.assd_mm),
        ("asd_a_to_b_mm", got.asd_a_to_b_mm),
        ("asd_b_to_a_mm", got.asd_b_to_a_mm),
    ] {
        optional(value, &want[field], &what(field));
    }
}

#[test]
fn matches_surface_distance_and_simpleitk() {
    let oracles = oracles();
    let cases = oracles["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let name = case["case"].as_str().unwrap();
        let (grid, a) = read(case["a"].as_str().unwrap());
        let (grid_b, b) = read(case["b"].as_str().unwrap());
        grid.check_same(&grid_b).unwrap();
        let options = Options {
            tolerance_mm: case["tolerance_mm"].as_f64().unwrap(),
            label: None,
        };
        let got = compare(&grid, &a, &b, &options).unwrap();
        let want = case["labels"].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{name}: labels");
        for (g, w) in got.iter().zip(want) {
            check_label(name, g, w);
        }
    }
}

#[test]
fn cli_json_reports_the_oracle_values() {
    let oracles = oracles();
    let case = &oracles["cases"][0];
    assert_eq!(case["case"], "anisotropic");
    let (a, b) = (data("aniso_a.nii.gz"), data("aniso_b.nii.gz"));
    let out = Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .args(["compare", "--json"])
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Strict JSON: a NaN or an infinity would not parse.
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["files"]["a"].as_str(), a.to_str());
    assert_eq!(report["files"]["b"].as_str(), b.to_str());
    assert_eq!(report["grid"]["shape"], serde_json::json!([40, 36, 24]));
    for (got, want) in report["grid"]["spacing_mm"]
        .as_array()
        .unwrap()
        .iter()
        .zip(case["spacing_mm"].as_array().unwrap())
    {
        close(got.as_f64().unwrap(), want.as_f64().unwrap(), "spacing");
    }
    assert_eq!(report["tolerance_mm"], 1.0);
    assert!(report["policy"].as_str().unwrap().contains("\"empty\""));
    let labels = report["labels"].as_array().unwrap();
    let want = case["labels"].as_array().unwrap();
    assert_eq!(labels.len(), want.len());
    for (got, want) in labels.iter().zip(want) {
        for field in ["label", "empty", "voxels_a", "voxels_b", "voxels_both"] {
            assert_eq!(got[field], want[field], "{field}");
        }
        for field in ["hausdorff_mm", "hd95_mm", "assd_mm", "surface_dice", "dice"] {
            match (got[field].as_f64(), want[field].as_f64()) {
                (Some(g), Some(w)) => close(g, w, field),
                _ => assert!(got[field].is_null() && want[field].is_null(), "{field}"),
            }
        }
    }
}

#[test]
fn cli_refuses_maps_on_different_grids_naming_both() {
    let (a, b) = (data("aniso_a.nii.gz"), data("shifted_b.nii.gz"));
    let out = Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .arg("compare")
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("aniso_a.nii.gz") && stderr.contains("shifted_b.nii.gz"),
        "{stderr}"
    );
    assert!(stderr.contains("0.0100 mm"), "{stderr}");
}

#[test]
fn a_label_in_neither_map_is_flagged_both() {
    let (grid, a) = read("oblique_a.nii.gz");
    let (_, b) = read("oblique_b.nii.gz");
    let options = Options {
        tolerance_mm: 1.0,
        label: Some(9),
    };
    let got = compare(&grid, &a, &b, &options).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].empty, got[0].dice, got[0].hd95_mm),
        (Some(Empty::Both), None, None)
    );
}
