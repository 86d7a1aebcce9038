//! Real-world DICOM defects (issue 13), one file each, compared with what
//! independent readers make of them (`tests/data/dicom_defects/reference.json`,
//! written by `make_defect_files.py` with pydicom, SimpleITK and nibabel).

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rayseg::volume::{LoadErrorKind, LoadOptions, Volume, load};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Expected {
    source: String,
    shape: Option<[usize; 3]>,
    ras_from_voxel: Option<[[f64; 4]; 4]>,
    dtype: Option<String>,
    min: Option<f64>,
    max: Option<f64>,
    mean: Option<f64>,
    nan: Option<u64>,
    checksum: Option<f64>,
    warning: Option<String>,
    error: Option<String>,
}

fn dir() -> PathBuf {
    common::data_dir().join("dicom_defects")
}

fn expected() -> BTreeMap<String, Expected> {
    let text = std::fs::read_to_string(dir().join("reference.json")).expect("reference.json");
    serde_json::from_str(&text).expect("reference.json parses")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn check(name: &str, e: &Expected, v: &Volume) {
    let ctx = format!("{name} ({})", e.source);
    if let Some(shape) = e.shape {
        assert_eq!(v.shape, shape, "{ctx}");
    }
    if let Some(m) = e.ras_from_voxel {
        let cols = v.ras_from_voxel.to_cols_array_2d();
        for (r, row) in m.iter().enumerate() {
            for (c, want) in row.iter().enumerate() {
                let got = cols[c][r];
                assert!(
                    (got - want).abs() < 1e-4,
                    "{ctx}: affine[{r}][{c}] {got} vs {want}"
                );
            }
        }
    }
    if let Some(dtype) = &e.dtype {
        assert_eq!(v.data.type_name(), dtype, "{ctx}");
    }
    let s = v.stats();
    for (what, got, want) in [
        ("min", s.min, e.min),
        ("max", s.max, e.max),
        ("mean", s.mean, e.mean),
        ("sum", s.sum, e.checksum),
    ] {
        if let Some(want) = want {
            assert!(close(got, want), "{ctx}: {what} {got} vs {want}");
        }
    }
    if let Some(nan) = e.nan {
        assert_eq!(s.nan, nan, "{ctx}");
    }
    match &e.warning {
        Some(w) => assert!(
            v.warnings.iter().any(|x| x.contains(w.as_str())),
            "{ctx}: no warning containing {w:?} in {:?}",
            v.warnings
        ),
        None => assert!(v.warnings.is_empty(), "{ctx}: unexpected {:?}", v.warnings),
    }
}

#[test]
fn every_defect_file_matches_its_reference() {
    let all = expected();
    assert!(all.len() >= 11, "reference.json lists {} files", all.len());
    for (name, e) in &all {
        let path = dir().join(name);
        let started = Instant::now();
        let result = load(&path, &LoadOptions::default());
        // dcmtk reads each of these instantly; UN_sequence.dcm once took 20 s.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{name} took {:?}",
            started.elapsed()
        );
        match (&e.error, result) {
            (None, Ok(v)) => check(name, e, &v),
            (None, Err(err)) => panic!("{name} ({}) failed: {err}", e.source),
            (Some(kind), Ok(v)) => panic!("{name} loaded {:?} but should fail: {kind}", v.shape),
            (Some(kind), Err(err)) => {
                let got = format!("{:?}", err.kind);
                assert!(
                    got.starts_with(kind.as_str()),
                    "{name}: {err} is not {kind}"
                );
                assert_eq!(err.path, path, "{err}");
            }
        }
    }
}

#[test]
fn un_sequence_holds_no_pixel_data_and_says_so() {
    let err = load(&dir().join("UN_sequence.dcm"), &LoadOptions::default()).unwrap_err();
    assert!(matches!(err.kind, LoadErrorKind::NoPixelData(_)), "{err}");
}

#[test]
fn big_endian_rt_dose_equals_little_endian() {
    let le = load(&dir().join("rtdose.dcm"), &LoadOptions::default()).unwrap();
    let be = load(&dir().join("rtdose_expb.dcm"), &LoadOptions::default()).unwrap();
    assert_eq!(le.data, be.data);
    assert_eq!(le.ras_from_voxel, be.ras_from_voxel);
    // GridFrameOffsetVector steps 5 mm from ImagePositionPatient.
    assert_eq!(le.spacing_mm[2], 5.0);
}

#[test]
fn bare_data_sets_equal_their_part10_originals() {
    let kit = common::data_dir().join("dicom/codecs");
    for (bare, full) in [
        ("no_meta_implicit_le.dcm", "MR_small_implicit.dcm"),
        ("no_meta_explicit_be.dcm", "MR_small_bigendian.dcm"),
    ] {
        let a = load(&dir().join(bare), &LoadOptions::default()).unwrap();
        let b = load(&kit.join(full), &LoadOptions::default()).unwrap();
        assert_eq!(a.data, b.data, "{bare}");
        assert_eq!(a.ras_from_voxel, b.ras_from_voxel, "{bare}");
    }
}

#[test]
fn nested_icon_does_not_change_the_image() {
    let with_icon = load(
        &dir().join("icon_jpeg2000_nested.dcm"),
        &LoadOptions::default(),
    )
    .unwrap();
    let plain = load(
        &common::data_dir().join("dicom/codecs/MR_small_jp2klossless.dcm"),
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(with_icon.data, plain.data);
}

/// The data set of a Part 10 file: no preamble, no "DICM", no meta group.
fn bare(part10: &[u8]) -> Vec<u8> {
    let mut pos = 132;
    while part10[pos..pos + 2] == [2, 0] {
        let vr = &part10[pos + 4..pos + 6];
        pos += if [&b"OB"[..], b"OW", b"UN", b"SQ", b"UT"].contains(&vr) {
            12 + u32::from_le_bytes(part10[pos + 8..pos + 12].try_into().unwrap()) as usize
        } else {
            8 + u16::from_le_bytes(part10[pos + 6..pos + 8].try_into().unwrap()) as usize
        };
    }
    part10[pos..].to_vec()
}

#[test]
fn series_of_bare_data_sets_equals_the_part10_series() {
    let series = common::data_dir().join("derived/ct_series_from_itk_kmeans_t1");
    let tmp = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&series).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(tmp.path().join(path.file_name().unwrap()), bare(&bytes)).unwrap();
    }
    // Not DICOM, and never read whole: skipped by the series scan.
    std::fs::write(tmp.path().join("notes.txt"), b"scan notes").unwrap();
    let a = load(tmp.path(), &LoadOptions::default()).unwrap();
    let b = load(&series, &LoadOptions::default()).unwrap();
    assert_eq!(a.shape, [128, 128, 62]);
    assert_eq!(a.data, b.data);
    assert_eq!(a.ras_from_voxel, b.ras_from_voxel);
    assert!(
        a.warnings
            .iter()
            .filter(|w| w.contains("bare data set"))
            .count()
            == 1,
        "one warning for the whole series: {:?}",
        a.warnings
    );
}
