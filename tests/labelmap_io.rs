//! Label maps saved as NIfTI read back with the image's geometry, through the
//! sform and through the qform alone.

mod common;

use common::data_dir;
use rayseg::volume::nifti::{load_nifti_bytes, save_label_map, write_gzip};
use rayseg::volume::{LoadOptions, Modality, Volume, VoxelData, load};

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

/// A label map of several 1 MiB gzip pieces (compressed in parallel into one
/// gzip member) reads back exactly through rayseg's loader and a plain
/// single-member gzip decoder.
#[test]
fn multi_piece_gzip_label_map_round_trips() {
    use std::io::Read;
    let shape = [160, 150, 130]; // 3.1 MB: four pieces
    let image = Volume::new(
        shape,
        VoxelData::U8(vec![0; shape.iter().product()]),
        glam::DMat4::IDENTITY,
        Modality::Unknown,
    )
    .unwrap();
    // Mostly empty with a dense noisy block, like a grown region.
    let mut state = 0x2545_f491u32;
    let labels: Vec<u8> = (0..image.voxel_count())
        .map(|n| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let k = n / (160 * 150);
            if (40..90).contains(&k) {
                (state % 3) as u8
            } else {
                0
            }
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels.nii.gz");
    save_label_map(&path, &labels, &image).unwrap();
    let back = load(&path, &LoadOptions::default()).unwrap();
    assert_eq!(back.data, VoxelData::U8(labels.clone()));
    // GzDecoder stops after the first member: everything must be in it.
    let file = std::fs::read(&path).unwrap();
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&file[..])
        .read_to_end(&mut raw)
        .unwrap();
    assert_eq!(raw.len(), 352 + labels.len());
    assert_eq!(&raw[352..], &labels[..]);
}

/// `write_gzip` with odd piece sizes, empty parts and empty input.
#[test]
fn write_gzip_pieces_decode_as_one_member() {
    use std::io::Read;
    let data: Vec<u8> = (0..50_000u32).map(|n| (n * n % 251) as u8).collect();
    for (parts, chunk) in [
        (vec![&data[..10], &data[10..]], 7),
        (vec![&data[..]], 1000),
        (vec![&[][..], &data[..], &[][..]], 65_536),
        (vec![&[][..]], 16),
        (vec![], 16),
    ] {
        let mut out = Vec::new();
        write_gzip(&mut out, &parts, 4, chunk).unwrap();
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(&out[..])
            .read_to_end(&mut raw)
            .unwrap();
        assert_eq!(raw, parts.concat(), "chunk {chunk}");
    }
}
