//! AI drafts on other grids, resampled onto the image grid by nearest
//! neighbour and checked against SimpleITK's `Resample` (the oracles in
//! `tests/data/drafts/`, written by `make_oracles.py`), and label names from
//! TotalSegmentator's header extension, nnU-Net's `dataset.json` and ITK-SNAP
//! files.

use std::path::{Path, PathBuf};
use std::time::Instant;

use glam::{DMat4, DVec3};
use rayseg::annotate::label_formats::{
    GridError, GridGeometry, LabelFormat, LabelFormatError, read_label_map, resample_onto_image,
    write_label_map,
};
use rayseg::annotate::labels::LabelSet;
use rayseg::volume::{LoadOptions, Modality, Volume, VoxelData, load};

fn drafts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/drafts")
}

fn volume(name: &str) -> Volume {
    load(&drafts().join(name), &LoadOptions::default()).unwrap()
}

fn u8_data(v: &Volume) -> &[u8] {
    match &v.data {
        VoxelData::U8(x) => x,
        other => panic!("u8 expected, got {other:?}"),
    }
}

fn differing(a: &[u8], b: &[u8]) -> usize {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).filter(|(x, y)| x != y).count()
}

#[test]
fn drafts_match_simpleitk_nearest_neighbour() {
    let image = volume("image.nii.gz");
    for name in ["coarse", "oblique", "small_fov", "same"] {
        let oracle = volume(&format!("{name}.oracle.nii.gz"));
        let file = read_label_map(&drafts().join(format!("{name}.nii.gz")), &image, None).unwrap();
        assert_eq!(
            differing(&file.labels, u8_data(&oracle)),
            0,
            "{name}: voxels differing from SimpleITK"
        );
        let resampled: Vec<&String> = file
            .warnings
            .iter()
            .filter(|w| w.contains("resampled onto it by nearest neighbour"))
            .collect();
        if name == "same" {
            assert!(file.warnings.is_empty(), "{:?}", file.warnings);
        } else {
            assert_eq!(resampled.len(), 1, "{name}: {:?}", file.warnings);
            assert!(resampled[0].contains("40×36×24 at 0.8×0.75×1.5 mm"));
        }
    }
    let coarse = read_label_map(&drafts().join("coarse.nii.gz"), &image, None).unwrap();
    assert!(
        coarse.warnings[0]
            .starts_with("label map grid 21×19×13 at 1.6×1.5×3 mm is not the image grid"),
        "{}",
        coarse.warnings[0]
    );
    assert!(coarse.warnings[0].contains("(other shape, spacing, origin)"));
    let oblique = read_label_map(&drafts().join("oblique.nii.gz"), &image, None).unwrap();
    assert!(
        oblique.warnings[0].contains("orientation"),
        "{:?}",
        oblique.warnings
    );
}

/// The same draft through every format's reader: NRRD, MetaImage and a
/// Slicer segmentation (flattened on its own grid, then resampled).
#[test]
fn every_format_resamples_alike() {
    let image = volume("image.nii.gz");
    let draft = volume("oblique.nii.gz");
    let oracle = volume("oblique.oracle.nii.gz");
    let dir = tempfile::tempdir().unwrap();
    let set = LabelSet::default();
    for format in [
        LabelFormat::Nrrd,
        LabelFormat::MetaImage,
        LabelFormat::SegNrrd,
    ] {
        let path = dir.path().join(format!("draft.{}", format.extension()));
        write_label_map(&path, u8_data(&draft), &set, &draft, None).unwrap();
        let file = read_label_map(&path, &image, None).unwrap();
        assert_eq!(
            differing(&file.labels, u8_data(&oracle)),
            0,
            "{format}: voxels differing from SimpleITK"
        );
        assert!(
            file.warnings.iter().any(|w| w.contains("resampled")),
            "{format}: {:?}",
            file.warnings
        );
    }
}

#[test]
fn a_draft_off_the_image_is_an_error() {
    let image = volume("image.nii.gz");
    let path = drafts().join("outside.nii.gz");
    let err = read_label_map(&path, &image, None).unwrap_err();
    assert!(
        matches!(
            &err,
            LabelFormatError::Grid {
                source: GridError::NoOverlap { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("outside.nii.gz"), "{err}");
    assert!(err.to_string().contains("does not overlap"), "{err}");
}

#[test]
fn values_that_are_not_labels_stay_errors_off_grid() {
    let image = volume("image.nii.gz");
    let err = read_label_map(&drafts().join("not_labels.nii.gz"), &image, None).unwrap_err();
    assert!(
        matches!(
            &err,
            LabelFormatError::Grid {
                source: GridError::Value { value: 0.5 },
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn totalsegmentator_names_come_from_the_header_extension() {
    let path = drafts().join("totalseg/ct_ml.nii.gz");
    let grid = volume("totalseg/ct_ml.nii.gz");
    let file = read_label_map(&path, &grid, None).unwrap();
    let set = file.label_set.expect("names");
    let got: Vec<(u8, &str, [u8; 3])> = set
        .labels
        .iter()
        .map(|l| (l.value, l.name.as_str(), l.color))
        .collect();
    assert_eq!(
        got,
        [
            (1, "spleen", [255, 0, 0]),
            (2, "kidney_right", [0, 255, 0]),
            (3, "gallbladder", [0, 0, 255]),
            (5, "liver & more", [255, 128, 0]),
        ]
    );
    assert_eq!(file.warnings.len(), 1, "{:?}", file.warnings);
    assert!(
        file.warnings[0].contains("TotalSegmentator") && file.warnings[0].contains("ct_ml.nii.gz"),
        "{}",
        file.warnings[0]
    );
    let ext = rayseg::annotate::label_formats::nifti_extensions(&path)
        .unwrap()
        .unwrap();
    assert_eq!(ext.len(), 1);
    assert_eq!(ext[0].code, 0);
}

#[test]
fn nnunet_names_come_from_dataset_json() {
    let path = drafts().join("nnunet/Dataset042_Toy/labelsTr/toy_001.nii.gz");
    let grid = volume("nnunet/Dataset042_Toy/labelsTr/toy_001.nii.gz");
    let file = read_label_map(&path, &grid, None).unwrap();
    let set = file.label_set.expect("names");
    let got: Vec<(u8, &str)> = set
        .labels
        .iter()
        .map(|l| (l.value, l.name.as_str()))
        .collect();
    assert_eq!(got, [(1, "liver"), (2, "liver_tumour"), (5, "portal_vein")]);
    assert!(
        file.warnings[0].contains("dataset.json"),
        "{:?}",
        file.warnings
    );
}

#[test]
fn itksnap_names_beside_the_map() {
    let path = drafts().join("itksnap/case.nii.gz");
    let grid = volume("itksnap/case.nii.gz");
    let file = read_label_map(&path, &grid, None).unwrap();
    let set = file.label_set.expect("names");
    assert_eq!(set.labels.len(), 3);
    assert_eq!(set.labels[2].name, "Right ventricle");
    assert_eq!(set.labels[2].color, [70, 130, 180]);
    assert_eq!(set.labels[2].opacity, 0.6);
    assert!(file.warnings[0].contains("ITK-SNAP"), "{:?}", file.warnings);
    // A sidecar written beside it takes over.
    let dir = tempfile::tempdir().unwrap();
    for name in ["case.nii.gz", "case.label.txt"] {
        std::fs::copy(drafts().join("itksnap").join(name), dir.path().join(name)).unwrap();
    }
    let copy = dir.path().join("case.nii.gz");
    let mut mine = set.clone();
    mine.labels[0].name = "LV".into();
    write_label_map(&copy, &file.labels, &mine, &grid, None).unwrap();
    let again = read_label_map(&copy, &grid, None).unwrap();
    assert_eq!(again.label_set, Some(mine));
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
}

/// A whole CT (512×512×300 at 0.7×0.7×1 mm) from a 1.5 mm draft; the
/// timing is printed (`--nocapture`) and bounded loosely, as test machines
/// are shared.
#[test]
fn whole_ct_resample_is_fast() {
    let shape = [512, 512, 300];
    let image = Volume::new(
        shape,
        VoxelData::U8(vec![0; shape.iter().product()]),
        DMat4::from_scale(DVec3::new(0.7, 0.7, 1.0)),
        Modality::Ct,
    )
    .unwrap();
    let draft_shape = [239, 239, 200];
    let draft = GridGeometry {
        shape: draft_shape,
        ras_from_voxel: DMat4::from_translation(DVec3::new(0.2, -0.1, 0.3))
            * DMat4::from_axis_angle(DVec3::Z, 0.05)
            * DMat4::from_scale(DVec3::splat(1.5)),
    };
    let labels: Vec<u8> = (0..draft_shape.iter().product::<usize>())
        .map(|n| (n / 7919 % 5) as u8)
        .collect();
    let start = Instant::now();
    let on = resample_onto_image(&labels, &draft, &image).unwrap();
    let seconds = start.elapsed().as_secs_f64();
    println!("512×512×300 from a 1.5 mm draft: {seconds:.3} s");
    assert_eq!(on.labels.len(), image.voxel_count());
    assert!(on.labels.contains(&4));
    assert!(seconds < 20.0, "{seconds} s");
}
