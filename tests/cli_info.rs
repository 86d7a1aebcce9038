//! `rayseg info` as a user runs it: JSON on stdout, errors on stderr with a
//! non-zero exit.

mod common;

use std::process::Command;

use common::data_dir;

fn rayseg(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .args(args)
        .output()
        .expect("the rayseg binary runs")
}

#[test]
fn info_json_has_the_documented_fields() {
    let path = data_dir().join("nifti/dipy/aniso_vox.nii.gz");
    let out = rayseg(&["info", path.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    for key in [
        "shape",
        "spacing_mm",
        "ras_from_voxel",
        "min",
        "max",
        "mean",
        "modality",
        "warnings",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    let r = common::references()
        .into_iter()
        .find(|r| r.path == "nifti/dipy/aniso_vox.nii.gz")
        .unwrap();
    assert_eq!(v["shape"], serde_json::json!(r.shape));
    let rows = v["ras_from_voxel"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for (row, want_row) in rows.iter().zip(r.ras_from_voxel.iter()) {
        for (got, want) in row.as_array().unwrap().iter().zip(want_row) {
            assert!(
                (got.as_f64().unwrap() - want).abs() < 1e-4,
                "{row} vs {want_row:?}"
            );
        }
    }
    assert_eq!(v["max"].as_f64(), Some(r.max));
}

#[test]
fn info_text_and_volume_option() {
    let path = data_dir().join("nifti/nibabel/example4d.nii.gz");
    let out = rayseg(&["info", path.to_str().unwrap(), "--volume", "1"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("volume        1 of 2"), "{text}");
}

#[test]
fn errors_go_to_stderr_with_nonzero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.nii");
    std::fs::write(&bad, b"not an image at all").unwrap();
    let out = rayseg(&["info", bad.to_str().unwrap(), "--json"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.nii"), "{err}");
}
