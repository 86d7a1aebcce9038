//! NRRD and MetaImage files written by other tools (3D Slicer via slicerio's
//! test data, ITK's examples), compared with SimpleITK's reading of them
//! (`tests/data/third_party/reference.json`), and used on every command that
//! takes a path: image, `--labels`, `--mask`, `stats --image`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rayseg::annotate::label_formats::read_label_map;
use rayseg::volume::{LoadOptions, Volume, load};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Reading {
    shape: [usize; 3],
    volumes: usize,
    ras_from_voxel: [[f64; 4]; 4],
    min: f64,
    max: f64,
    mean: f64,
    sum: f64,
    label_voxels: BTreeMap<String, u64>,
}

fn dir() -> PathBuf {
    common::data_dir().join("third_party")
}

fn references() -> BTreeMap<String, Reading> {
    let text = std::fs::read_to_string(dir().join("reference.json")).expect("reference.json");
    serde_json::from_str(&text).expect("reference.json parses")
}

fn open(name: &str) -> Volume {
    load(&dir().join(name), &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{name} does not load: {e}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn every_file_matches_simpleitk() {
    let refs = references();
    assert_eq!(refs.len(), 5);
    for (name, r) in &refs {
        let v = open(name);
        assert_eq!(v.shape, r.shape, "{name}");
        assert_eq!(v.provenance.volumes_in_source, r.volumes, "{name}");
        let cols = v.ras_from_voxel.to_cols_array_2d();
        for (i, row) in r.ras_from_voxel.iter().enumerate() {
            for (j, want) in row.iter().enumerate() {
                let got = cols[j][i];
                assert!(
                    (got - want).abs() < 1e-4,
                    "{name}: [{i}][{j}] {got} vs {want}"
                );
            }
        }
        let s = v.stats();
        for (what, got, want) in [
            ("min", s.min, r.min),
            ("max", s.max, r.max),
            ("mean", s.mean, r.mean),
            ("sum", s.sum, r.sum),
        ] {
            assert!(close(got, want), "{name}: {what} {got} vs {want}");
        }
    }
}

fn rayseg(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("the rayseg binary runs");
    assert!(
        out.status.success(),
        "rayseg {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A MetaImage copy of `v` (uint8 labels), written here so that `--mask`
/// gets a `.mha` on the CT grid: ITK's LPS geometry, TransformMatrix by columns.
fn write_mha(v: &Volume, path: &Path) {
    let m = v.ras_from_voxel.to_cols_array_2d();
    let lps = |col: usize, row: usize| if row < 2 { -m[col][row] } else { m[col][row] };
    let mut matrix = Vec::new();
    for (axis, spacing) in v.spacing_mm.iter().enumerate() {
        for row in 0..3 {
            matrix.push(format!("{}", lps(axis, row) / spacing));
        }
    }
    let header = format!(
        "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n\
         TransformMatrix = {}\nOffset = {} {} {}\nElementSpacing = {} {} {}\n\
         DimSize = {} {} {}\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n",
        matrix.join(" "),
        lps(3, 0),
        lps(3, 1),
        lps(3, 2),
        v.spacing_mm[0],
        v.spacing_mm[1],
        v.spacing_mm[2],
        v.shape[0],
        v.shape[1],
        v.shape[2],
    );
    let mut bytes = header.into_bytes();
    bytes.extend((0..v.voxel_count()).map(|n| v.data.get_f64(n).unwrap_or(0.0) as u8));
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn every_command_takes_nrrd_and_metaimage() {
    let tmp = tempfile::tempdir().unwrap();
    let ct = dir().join("CTChest4.nrrd");
    let seg = dir().join("Segmentation.seg.nrrd");
    let overlapping = dir().join("SegmentationOverlapping.seg.nrrd");
    let mha = tmp.path().join("segmentation.mha");
    write_mha(&open("Segmentation.seg.nrrd"), &mha);

    let info = rayseg(&["info", s(&ct), "--json"]);
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["format"], "nrrd");
    let info = rayseg(&["info", s(&overlapping), "--json", "--volume", "1"]);
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["volume_index"], 1);
    assert_eq!(info["volumes"], 2);

    // stats: a Slicer segmentation (and its MetaImage copy) over the NRRD CT,
    // voxel counts as SimpleITK reads the segmentation.
    let want = &references()["Segmentation.seg.nrrd"].label_voxels;
    for mask in [&seg, &mha] {
        let out = rayseg(&["stats", s(mask), "--image", s(&ct), "--json"]);
        let stats: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        let got: BTreeMap<String, u64> = stats
            .iter()
            .map(|l| (l["label"].to_string(), l["voxels"].as_u64().unwrap()))
            .collect();
        assert_eq!(&got, want, "{}", mask.display());
    }

    let png = tmp.path().join("slice.png");
    rayseg(&[
        "slice",
        s(&ct),
        "--plane",
        "axial",
        "--labels",
        s(&seg),
        "-o",
        s(&png),
    ]);
    assert!(std::fs::metadata(&png).unwrap().len() > 0);
    let png = tmp.path().join("render.png");
    rayseg(&[
        "render",
        s(&ct),
        "--labels",
        s(&mha),
        "--size",
        "64x64",
        "-o",
        s(&png),
    ]);
    assert!(std::fs::metadata(&png).unwrap().len() > 0);

    // grow and brush keep the labels of a NRRD / MetaImage --mask they start from.
    let grown = tmp.path().join("grown.nii.gz");
    rayseg(&[
        "grow",
        s(&ct),
        "--seed",
        "2,2,17",
        "--lower",
        "-3100",
        "--upper",
        "-900",
        "--label",
        "9",
        "--mask",
        s(&overlapping),
        "-o",
        s(&grown),
    ]);
    let painted = tmp.path().join("painted.nii.gz");
    let centre = {
        let v = open("CTChest4.nrrd");
        v.ras_from_index(glam::DVec3::new(20.0, 20.0, 17.0))
    };
    let centre = format!("{},{},{}", centre.x, centre.y, centre.z);
    rayseg(&[
        "brush",
        s(&ct),
        "--center-mm",
        &centre,
        "--radius-mm",
        "5",
        "--label",
        "9",
        "--mask",
        s(&mha),
        "-o",
        s(&painted),
    ]);
    // The overlapping segmentation's layers are flattened (the sphere of
    // layer 1 over the first layer's labels); the MetaImage copy is layer 0.
    let ct_volume = open("CTChest4.nrrd");
    let flattened = read_label_map(&overlapping, &ct_volume, None)
        .unwrap()
        .labels;
    let seg_voxels = open("Segmentation.seg.nrrd");
    let first_layer: Vec<u8> = (0..seg_voxels.voxel_count())
        .map(|n| seg_voxels.data.get_f64(n).unwrap() as u8)
        .collect();
    for (out, before) in [(&grown, &flattened), (&painted, &first_layer)] {
        let v = load(out, &LoadOptions::default()).unwrap();
        let mut kept = 0u64;
        let mut added = 0u64;
        for n in 0..v.voxel_count() {
            let before = f64::from(before[n]);
            let after = v.data.get_f64(n).unwrap();
            if after == 9.0 {
                added += 1;
            } else {
                assert_eq!(after, before, "{}: voxel {n}", out.display());
                kept += u64::from(before != 0.0);
            }
        }
        assert!(added > 0, "{}: nothing labelled", out.display());
        assert!(
            kept > 200_000,
            "{}: the mask's labels were lost",
            out.display()
        );
    }
}
