//! Label maps saved as NIfTI read back with the image's geometry, through the
//! sform and through the qform alone.

mod common;

use common::data_dir;
use rayseg::volume::nifti::{load_nifti_bytes, save_label_map};
use rayseg::volume::{LoadOptions, VoxelData, load};

fn max_abs_diff(a: &glam::DMat4, b: &glam::DMat4) -> f64 {
    let (a, b) = (a.to_cols_array(), b.to_cols_array());
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn saved_label_map_keeps_voxels_and_geometry() {
    // Oblique and anisotropic, so the qform carries a real rotation.
    for rel in [
        "nifti/dipy/aniso_vox.nii.gz",
        "nifti/nibabel/example4d.nii.gz",
        "nifti/nibabel/anatomical.nii",
    ] {
        let image = load(&data_dir().join(rel), &LoadOptions::default()).unwrap();
        let labels: Vec<u8> = (0..image.voxel_count())
            .map(|n| (n * 7 % 5) as u8)
            .collect();
        let dir = tempfile::tempdir().unwrap();
        for name in ["labels.nii.gz", "labels.nii"] {
            let path = dir.path().join(name);
            save_label_map(&path, &labels, &image).unwrap();
            let back = load(&path, &LoadOptions::default()).unwrap();
            assert_eq!(back.shape, image.shape);
            assert_eq!(back.data, VoxelData::U8(labels.clone()), "{rel} {name}");
            let d = max_abs_diff(&back.ras_from_voxel, &image.ras_from_voxel);
            assert!(d < 1e-4, "{rel}: sform differs by {d}");

            // Zero the sform code: readers fall back to the qform, which must agree.
            let mut bytes = std::fs::read(dir.path().join("labels.nii")).unwrap_or_default();
            if name == "labels.nii" {
                bytes[254..256].copy_from_slice(&0i16.to_le_bytes());
                let q = load_nifti_bytes(&bytes, &path, &LoadOptions::default()).unwrap();
                let d = max_abs_diff(&q.ras_from_voxel, &image.ras_from_voxel);
                assert!(d < 1e-3, "{rel}: qform differs by {d}");
            }
        }
    }
}

#[test]
fn save_refuses_a_wrong_voxel_count() {
    let image = load(
        &data_dir().join("nifti/nibabel/anatomical.nii"),
        &LoadOptions::default(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.nii.gz");
    let err = save_label_map(&path, &[1, 2, 3], &image)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad.nii.gz") && err.contains("3 voxels"),
        "{err}"
    );
    assert!(!path.exists(), "nothing is written on error");
}
