//! `rayseg consensus` against SimpleITK on the synthetic raters of
//! `tests/data/consensus/` (made by its `make_oracles.py` with SimpleITK
//! 2.5 / ITK 5.4; see that folder's README.md).
//!
//! STAPLE is expected to match ITK's `STAPLEImageFilter` bit for bit: the
//! sensitivities and specificities (compared as f64 bit patterns), the
//! elapsed iterations, and every voxel's probability (SHA-256 of the f64
//! image), hence also the thresholded map, with no tolerance. The `noise`
//! case needs 807 iterations, so any drift in summation order would show.
//! Majority vote is compared with a NumPy oracle (which the script checked
//! against SimpleITK's `LabelVoting` with undecided label 0).

use std::path::{Path, PathBuf};
use std::process::Command;

use rayseg::annotate::consensus::{
    Method, StapleOptions, check_same_grid, consensus, staple_probability,
};
use rayseg::annotate::label_formats::read_label_map_alone;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/consensus")
}

fn oracles() -> Value {
    let path = dir().join("oracles.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn labels(name: &str) -> Vec<u8> {
    let path = dir().join(name);
    read_label_map_alone(&path, None)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .1
        .labels
}

fn inputs(case: &Value) -> Vec<Vec<u8>> {
    case["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| labels(f.as_str().unwrap()))
        .collect()
}

fn bits(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| u64::from_str_radix(s.as_str().unwrap().trim_start_matches("0x"), 16).unwrap())
        .collect()
}

fn cases() -> Vec<(String, Value)> {
    let o = oracles();
    let cases = o["cases"].as_object().unwrap();
    assert_eq!(cases.len(), 4, "multi, binary, pair, noise");
    cases.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[test]
fn staple_matches_simpleitk_bit_for_bit() {
    for (name, case) in cases() {
        let maps = inputs(&case);
        let raters: Vec<&[u8]> = maps.iter().map(Vec::as_slice).collect();
        for (label, want) in case["labels"].as_object().unwrap() {
            let label: u8 = label.parse().unwrap();
            let (est, probability) =
                staple_probability(&raters, label, &StapleOptions::default()).unwrap();
            let what = format!("{name} label {label}");
            assert_eq!(
                u64::from(est.iterations),
                want["iterations"].as_u64().unwrap(),
                "{what}: iterations"
            );
            assert!(est.converged, "{what}");
            let sensitivity: Vec<u64> = est.sensitivity.iter().map(|x| x.to_bits()).collect();
            let specificity: Vec<u64> = est.specificity.iter().map(|x| x.to_bits()).collect();
            assert_eq!(
                sensitivity,
                bits(&want["sensitivity_bits"]),
                "{what}: sensitivity {:?} vs {}",
                est.sensitivity,
                want["sensitivity"]
            );
            assert_eq!(
                specificity,
                bits(&want["specificity_bits"]),
                "{what}: specificity {:?} vs {}",
                est.specificity,
                want["specificity"]
            );
            let bytes: Vec<u8> = probability.iter().flat_map(|p| p.to_le_bytes()).collect();
            let digest: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(
                digest,
                want["probability_sha256"].as_str().unwrap(),
                "{what}: probabilities differ from {}",
                want["probability"]
            );
        }
    }
}

#[test]
fn staple_consensus_map_matches_the_oracle() {
    for (name, case) in cases() {
        let maps = inputs(&case);
        let raters: Vec<&[u8]> = maps.iter().map(Vec::as_slice).collect();
        let got = consensus(&raters, Method::Staple, &StapleOptions::default()).unwrap();
        let want = labels(case["staple"].as_str().unwrap());
        let differ = got.labels.iter().zip(&want).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "{name}: {differ} voxels differ");
        for s in &got.summary {
            assert_eq!(
                s.consensus_voxels,
                case["staple_voxels"][s.label.to_string()].as_u64().unwrap(),
                "{name} label {}",
                s.label
            );
            let est = s.staple.as_ref().unwrap();
            let want = &case["labels"][s.label.to_string()];
            assert_eq!(
                u64::from(est.iterations),
                want["iterations"].as_u64().unwrap()
            );
            for (r, map) in maps.iter().enumerate() {
                let voxels = map.iter().filter(|&&l| l == s.label).count() as u64;
                assert_eq!(
                    s.rater_voxels[r], voxels,
                    "{name} label {} rater {r}",
                    s.label
                );
            }
        }
    }
}

#[test]
fn majority_matches_the_numpy_oracle() {
    for (name, case) in cases() {
        let maps = inputs(&case);
        let raters: Vec<&[u8]> = maps.iter().map(Vec::as_slice).collect();
        let got = consensus(&raters, Method::Majority, &StapleOptions::default()).unwrap();
        let want = labels(case["majority"].as_str().unwrap());
        let differ = got.labels.iter().zip(&want).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "{name}: {differ} voxels differ");
        assert!(got.summary.iter().all(|s| s.staple.is_none()));
    }
}

#[test]
fn grids_must_match_within_a_micrometre() {
    let grid = |name: &str| {
        let path = dir().join(name);
        let (v, _) = read_label_map_alone(&path, None).unwrap();
        (path, v.shape, v.ras_from_voxel)
    };
    let (a, sa, ma) = grid("multi_r0.nii.gz");
    let (b, sb, mb) = grid("multi_r3.nii.gz");
    let (c, sc, mc) = grid("mismatch_shifted.nii.gz");
    check_same_grid(&[(&a, sa, ma), (&b, sb, mb)]).unwrap();
    let err = check_same_grid(&[(&a, sa, ma), (&b, sb, mb), (&c, sc, mc)]).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("mismatch_shifted.nii.gz") && msg.contains("multi_r0.nii.gz"),
        "{msg}"
    );
}

fn rayseg(args: &[&Path]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .arg("consensus")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn cli_writes_staple_and_reports_every_rater() {
    let case = &oracles()["cases"]["multi"];
    let files: Vec<PathBuf> = case["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| dir().join(f.as_str().unwrap()))
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("consensus.nii.gz");
    let mut args: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    args.extend([Path::new("-o"), &out, Path::new("--json")]);
    let run = rayseg(&args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["method"], "staple");
    let reported = report["labels"].as_array().unwrap();
    assert_eq!(reported.len(), 3);
    for l in reported {
        let want = &case["labels"][l["label"].to_string()];
        assert_eq!(l["iterations"], want["iterations"]);
        let raters = l["raters"].as_array().unwrap();
        assert_eq!(raters.len(), 5);
        for (r, rater) in raters.iter().enumerate() {
            for key in ["sensitivity", "specificity"] {
                let got = rater[key].as_f64().unwrap();
                let want = want[key][r].as_f64().unwrap();
                assert!(
                    (got - want).abs() < 1e-12,
                    "label {} rater {r} {key}",
                    l["label"]
                );
            }
        }
        assert_eq!(
            l["consensus_voxels"],
            case["staple_voxels"][l["label"].to_string()]
        );
    }
    let (grid, written) = read_label_map_alone(&out, None).unwrap();
    let (first, _) = read_label_map_alone(&files[0], None).unwrap();
    assert_eq!(grid.shape, first.shape);
    assert!(grid.ras_from_voxel.abs_diff_eq(first.ras_from_voxel, 1e-6));
    assert_eq!(written.labels, labels(case["staple"].as_str().unwrap()));

    // A rater off the grid: an error naming the file.
    let shifted = dir().join("mismatch_shifted.nii.gz");
    let run = rayseg(&[&files[0], &files[1], &shifted, Path::new("-o"), &out]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("mismatch_shifted.nii.gz"), "{stderr}");

    // Never over an input.
    let run = rayseg(&[&files[0], &files[1], Path::new("-o"), &files[1]]);
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("overwrite an input"));
}
