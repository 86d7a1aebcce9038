//! Shared helpers for tests that compare rayseg with the kit's reference readers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rayseg::volume::{LoadOptions, Volume, load};
use serde::Deserialize;

/// Test data bundled in the repo (a copy of part of the shared kit), or the
/// whole kit when `RAYSEG_TEST_DATA` points at it.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("RAYSEG_TEST_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data"),
    }
}

fn using_full_kit() -> bool {
    std::env::var_os("RAYSEG_TEST_DATA").is_some()
}

/// One entry of `reference/geometry.json` (nibabel for NIfTI, SimpleITK for DICOM).
#[derive(Debug, Deserialize, Clone)]
pub struct Reference {
    pub path: String,
    pub reader: String,
    pub shape: [usize; 3],
    pub volumes: usize,
    pub spacing_mm: [f64; 3],
    pub ras_from_voxel: [[f64; 4]; 4],
    pub geometry_trusted: bool,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub sum: f64,
    pub nonzero: u64,
    pub lossy: bool,
}

pub fn references() -> Vec<Reference> {
    let text = std::fs::read_to_string(data_dir().join("reference/geometry.json"))
        .expect("tests/data/reference/geometry.json must be present");
    serde_json::from_str(&text).expect("geometry.json parses")
}

/// Files of the kit deliberately left out of the repo to keep it small
/// (see tests/data/PROVENANCE.md). Every other reference entry must be present.
pub const NOT_BUNDLED: &[&str] = &[
    "nifti/mricron/ch2.nii.gz",
    "nifti/mricron/ch2bet.nii.gz",
    "nifti/mricron/ch2better.nii.gz",
    "nifti/mni152_2009a/mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz",
    "nifti/mni152_2009a/mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz",
    "dicom/codecs/MR2_UNCI.dcm",
];

/// Reference entries whose path starts with `prefix`, all of which must be on disk.
pub fn bundled_references(prefixes: &[&str]) -> Vec<Reference> {
    let refs: Vec<Reference> = references()
        .into_iter()
        .filter(|r| prefixes.iter().any(|p| r.path.starts_with(p)))
        .filter(|r| using_full_kit() || !NOT_BUNDLED.contains(&r.path.as_str()))
        .collect();
    for r in &refs {
        assert!(
            data_dir().join(&r.path).exists(),
            "reference entry {} is not bundled under tests/data",
            r.path
        );
    }
    assert!(!refs.is_empty(), "no reference entries for {prefixes:?}");
    refs
}

pub fn load_ref(r: &Reference) -> Volume {
    let path = data_dir().join(&r.path);
    load(&path, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{} failed to load: {e}", r.path))
}

/// Compares a loaded volume with its reference; returns a list of mismatches.
pub fn compare(r: &Reference, v: &Volume) -> Vec<String> {
    let mut bad = Vec::new();
    if v.shape != r.shape {
        bad.push(format!("shape {:?} != {:?}", v.shape, r.shape));
    }
    if r.geometry_trusted {
        for a in 0..3 {
            if (v.spacing_mm[a] - r.spacing_mm[a]).abs() > 1e-4 {
                bad.push(format!("spacing {:?} != {:?}", v.spacing_mm, r.spacing_mm));
                break;
            }
        }
        let m = v.ras_from_voxel.to_cols_array_2d();
        for (row, ref_row) in r.ras_from_voxel.iter().enumerate() {
            for (col, &want) in ref_row.iter().enumerate() {
                let got = m[col][row];
                if (got - want).abs() > 1e-4 {
                    bad.push(format!("ras_from_voxel[{row}][{col}] = {got} != {want}"));
                }
            }
        }
    }
    let s = v.stats();
    if r.lossy {
        let tol = 0.005 * r.mean.abs().max(1e-9);
        if (s.mean - r.mean).abs() > tol {
            bad.push(format!("mean {} not within 0.5% of {}", s.mean, r.mean));
        }
    } else {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
        if !close(s.min, r.min) {
            bad.push(format!("min {} != {}", s.min, r.min));
        }
        if !close(s.max, r.max) {
            bad.push(format!("max {} != {}", s.max, r.max));
        }
        if !close(s.sum, r.sum) {
            bad.push(format!("sum {} != {}", s.sum, r.sum));
        }
        if s.nonzero != r.nonzero {
            bad.push(format!("nonzero {} != {}", s.nonzero, r.nonzero));
        }
    }
    bad
}

/// Value of the body in [`orientation_phantom`].
pub const PHANTOM_BODY: i16 = 100;
/// Value of the marker cube at the patient's left-anterior-superior corner.
pub const PHANTOM_MARKER: i16 = 1000;

/// An asymmetric phantom for orientation tests: a 40×48×56 grid of
/// 1×1.5×2 mm voxels holding a body block (value 100) and a marker cube
/// (value 1000) at the patient's left-anterior-superior corner of the body.
/// With `flip_i`, voxel i runs towards the patient's left instead of right
/// (as in LPS-stored data), so a correct renderer must read the affine.
pub fn orientation_phantom(flip_i: bool) -> Volume {
    use glam::{DMat4, DVec4};
    use rayseg::volume::{Modality, VoxelData};
    let shape = [40usize, 48, 56];
    let spacing = [1.0, 1.5, 2.0];
    let mut data = vec![0i16; shape.iter().product()];
    for k in 0..shape[2] {
        for j in 0..shape[1] {
            for i in 0..shape[0] {
                // RAS coordinates relative to the grid: x_ras grows with i unless flipped.
                let x_right = if flip_i { shape[0] - 1 - i } else { i };
                let inside =
                    (4..36).contains(&x_right) && (4..44).contains(&j) && (4..52).contains(&k);
                let marker =
                    (4..10).contains(&x_right) && (38..44).contains(&j) && (46..52).contains(&k);
                data[i + shape[0] * (j + shape[1] * k)] = if marker {
                    PHANTOM_MARKER
                } else if inside {
                    PHANTOM_BODY
                } else {
                    0
                };
            }
        }
    }
    let sx = if flip_i { -spacing[0] } else { spacing[0] };
    let m = DMat4::from_cols(
        DVec4::new(sx, 0.0, 0.0, 0.0),
        DVec4::new(0.0, spacing[1], 0.0, 0.0),
        DVec4::new(0.0, 0.0, spacing[2], 0.0),
        DVec4::new(if flip_i { 39.0 } else { 0.0 } - 20.0, -36.0, -56.0, 1.0),
    );
    Volume::new(shape, VoxelData::I16(data), m, Modality::Ct).expect("valid phantom")
}
