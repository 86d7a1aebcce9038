//! NIfTI loading checked against nibabel's reading of every bundled kit file.

mod common;

use common::{bundled_references, compare, data_dir, load_ref};
use rayseg::volume::{LoadOptions, VoxelData, load};

#[test]
fn every_bundled_nifti_matches_nibabel() {
    let refs = bundled_references(&["nifti/"]);
    assert!(
        refs.len() >= 9,
        "expected at least 9 NIfTI references, got {}",
        refs.len()
    );
    let mut failures = Vec::new();
    for r in &refs {
        let v = load_ref(r);
        // The kit's statistics are of volume 0, which is what loads by default.
        assert_eq!(v.provenance.volumes_in_source, r.volumes, "{}", r.path);
        for problem in compare(r, &v) {
            failures.push(format!("{}: {problem}", r.path));
        }
    }
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
}

#[test]
fn stored_integer_types_are_kept() {
    let load_path = |p: &str| load(&data_dir().join(p), &LoadOptions::default()).unwrap();
    let big_endian = load_path("nifti/nibabel/anatomical.nii");
    assert!(
        matches!(big_endian.data, VoxelData::I16(_)),
        "anatomical.nii is int16"
    );
    let mni = load_path("nifti/mni152_2009a/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz");
    assert!(matches!(mni.data, VoxelData::U8(_)));
    assert_eq!(mni.provenance.format, "nifti-1");
    let n2 = load_path("nifti/nibabel/example_nifti2.nii.gz");
    assert_eq!(n2.provenance.format, "nifti-2");
}

#[test]
fn second_volume_of_4d_file_is_selectable() {
    let path = data_dir().join("nifti/nibabel/example4d.nii.gz");
    let v0 = load(&path, &LoadOptions::default()).unwrap();
    let v1 = load(
        &path,
        &LoadOptions {
            volume_index: 1,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(v1.provenance.volume_index, 1);
    assert_eq!(v0.shape, v1.shape);
    assert_eq!(v0.ras_from_voxel, v1.ras_from_voxel);
    // Independently computed with numpy over the raw int16 data of volume 1.
    let whole_sum = 101_985_356.0;
    assert_eq!(v0.stats().sum + v1.stats().sum, whole_sum);

    let err = load(
        &path,
        &LoadOptions {
            volume_index: 2,
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("example4d.nii.gz") && err.contains("2 volume"),
        "{err}"
    );
}

#[test]
fn uncompressed_and_compressed_bytes_agree() {
    let path = data_dir().join("nifti/nibabel/example_nifti2.nii.gz");
    let gz = std::fs::read(&path).unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut plain).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let nii = dir.path().join("copy.nii");
    std::fs::write(&nii, &plain).unwrap();
    let a = load(&path, &LoadOptions::default()).unwrap();
    let b = load(&nii, &LoadOptions::default()).unwrap();
    assert_eq!(a.data, b.data);
    assert_eq!(a.ras_from_voxel, b.ras_from_voxel);
}

/// Multi-member gzip (as bgzip writes) and a lying size trailer take the
/// streaming inflater instead of the one-shot libdeflate path; same voxels.
#[test]
fn multi_member_and_odd_trailer_gzip_load_the_same() {
    use std::io::Write;
    let path = data_dir().join("nifti/itk_kmeans/KmeansTest_T1UCharRaw.nii.gz");
    let reference = load(&path, &LoadOptions::default()).unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&std::fs::read(&path).unwrap()[..]),
        &mut plain,
    )
    .unwrap();
    let member = |bytes: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    };
    let mid = plain.len() / 2;
    let mut two = member(&plain[..mid]);
    two.extend(member(&plain[mid..]));
    let mut lying = member(&plain);
    let n = lying.len();
    lying[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [("two.nii.gz", two), ("lying.nii.gz", lying)] {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let v = load(&p, &LoadOptions::default()).unwrap();
        assert_eq!(v.data, reference.data, "{name}");
    }
}
