//! Label-map formats behind one seam (`annotate::label_formats`): round trips
//! through every format, 3D Slicer segmentations as slicerio 1.4.0 reads them
//! (`tests/data/label_formats/reference.json`, written by
//! `tests/data/label_formats/make_reference.py`), cropped and overlapping
//! segmentations, grids that do not fit (resampled, or errors), and names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use glam::{DMat4, DVec3, DVec4};
use rayseg::annotate::label_files::{load_sidecar, sidecar_path};
use rayseg::annotate::label_formats::{
    GridError, LabelFormat, LabelFormatError, read_label_map, write_label_map,
};
use rayseg::annotate::labels::{Code, LabelInfo, LabelSet, ReviewStatus, Terminology};
use rayseg::volume::{LoadOptions, Modality, Volume, VoxelData, load};
use serde::Deserialize;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/label_formats")
}

fn third_party(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/third_party")
        .join(name)
}

/// A small oblique image: 30° about z, anisotropic voxels, origin off centre.
fn image_at(origin: DVec3) -> Volume {
    let (s, c) = 30f64.to_radians().sin_cos();
    let m = DMat4::from_cols(
        DVec4::new(0.8 * c, 0.8 * s, 0.0, 0.0),
        DVec4::new(-1.1 * s, 1.1 * c, 0.0, 0.0),
        DVec4::new(0.0, 0.0, 2.5, 0.0),
        origin.extend(1.0),
    );
    let data = VoxelData::I16((0..210).map(|x| x as i16 - 100).collect());
    Volume::new([7, 6, 5], data, m, Modality::Ct).unwrap()
}

fn image() -> Volume {
    image_at(DVec3::new(-12.5, 30.25, 7.0))
}

fn index(i: usize, j: usize, k: usize) -> usize {
    i + 7 * (j + 6 * k)
}

/// Label 1 a box, 3 a plane patch, 7 one voxel (undescribed); 5 is
/// described but has no voxels.
fn labels() -> Vec<u8> {
    let mut l = vec![0u8; 210];
    for k in 0..=2 {
        for j in 1..=4 {
            for i in 1..=3 {
                l[index(i, j, k)] = 1;
            }
        }
    }
    for j in 0..=2 {
        for i in 2..=5 {
            l[index(i, j, 3)] = 3;
        }
    }
    l[index(6, 5, 4)] = 7;
    l
}

fn label_set() -> LabelSet {
    let mut liver = LabelInfo::new(1, "liver");
    liver.color = [200, 80, 60];
    liver.opacity = 0.75;
    liver.terminology = Some(Terminology::new(
        Code::new("SCT", "123037004", "Anatomical Structure"),
        Code::new("SCT", "10200004", "Liver"),
    ));
    liver.review.status = ReviewStatus::InProgress;
    liver.review.note = "slices 1|2: 50% done\nsecond line".into();
    let mut lesion = LabelInfo::new(3, "lesion: A|B");
    lesion.color = [10, 250, 30];
    lesion.visible = false;
    lesion.locked = true;
    let mut t = Terminology::new(
        Code::new("SCT", "49755003", "Morphologically Altered Structure"),
        Code::new("SCT", "4147007", "Mass"),
    );
    t.modifier = Some(Code::new("SCT", "24028007", "Right"));
    lesion.terminology = Some(t);
    lesion.review.status = ReviewStatus::Flagged;
    let mut empty = LabelInfo::new(5, "not drawn yet");
    empty.review.status = ReviewStatus::Completed;
    LabelSet {
        labels: vec![liver, lesion, empty],
    }
}

/// What a Slicer segmentation of the fixture holds: the label set and a
/// segment for label 7, which has voxels but no description.
fn label_set_with_undescribed() -> LabelSet {
    let mut set = label_set();
    set.labels.push(LabelInfo::new(7, "Label 7"));
    set
}

fn assert_same_grid(v: &Volume, image: &Volume, tolerance: f64, what: &str) {
    assert_eq!(v.shape, image.shape, "{what}");
    let (a, b) = (
        v.ras_from_voxel.to_cols_array(),
        image.ras_from_voxel.to_cols_array(),
    );
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= tolerance, "{what}: {a:?} vs {b:?}");
    }
}

#[test]
fn every_format_keeps_labels_names_colours_terminology_and_review() {
    let dir = tempfile::tempdir().unwrap();
    let (image, labels, set) = (image(), labels(), label_set());
    for (name, format, files) in [
        ("a.nii.gz", LabelFormat::Nifti, 2),
        ("b.nii", LabelFormat::Nifti, 2),
        ("c.nrrd", LabelFormat::Nrrd, 2),
        ("d.nhdr", LabelFormat::Nrrd, 3),
        ("e.mha", LabelFormat::MetaImage, 2),
        ("f.mhd", LabelFormat::MetaImage, 3),
        ("g.seg.nrrd", LabelFormat::SegNrrd, 1),
        ("h.seg.nhdr", LabelFormat::SegNrrd, 2),
    ] {
        let path = dir.path().join(name);
        assert_eq!(LabelFormat::from_path(&path).unwrap(), format);
        let written = write_label_map(&path, &labels, &set, &image, None).unwrap();
        assert_eq!(written.len(), files, "{name}: {written:?}");
        assert!(written.iter().all(|p| p.exists()), "{name}");
        assert_eq!(written[0], path);
        let back = read_label_map(&path, &image, None).unwrap();
        assert_eq!(back.labels, labels, "{name}");
        assert!(back.warnings.is_empty(), "{name}: {:?}", back.warnings);
        let want = match format {
            LabelFormat::SegNrrd => label_set_with_undescribed(),
            _ => set.clone(),
        };
        assert_eq!(back.label_set.as_ref(), Some(&want), "{name}");
        // Any reader of the format sees the image's grid (NIfTI holds float32).
        let v = load(&path, &LoadOptions::default()).unwrap();
        let tolerance = if format == LabelFormat::Nifti {
            1e-4
        } else {
            1e-12
        };
        assert_same_grid(&v, &image, tolerance, name);
        // The format can also be given by name, whatever the extension.
        let renamed = dir.path().join(format!("{name}.labels"));
        write_label_map(&renamed, &labels, &set, &image, Some(format)).unwrap();
        let back = read_label_map(&renamed, &image, Some(format)).unwrap();
        assert_eq!(back.labels, labels, "{name} by name");
    }
    // Sidecar formats write a sidecar; Slicer's keeps everything in its header.
    assert!(sidecar_path(&dir.path().join("c.nrrd")).exists());
    assert!(!dir.path().join("g.labels.json").exists());
}

#[test]
fn seg_nrrd_header_follows_slicer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.seg.nrrd");
    write_label_map(&path, &labels(), &label_set(), &image(), None).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"NRRD0004\n"));
    let kv: BTreeMap<String, String> = rayseg::volume::nrrd::read_key_values(&path)
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(kv["Segment0_ID"], "Segment_1");
    assert_eq!(kv["Segment0_LabelValue"], "1");
    assert_eq!(kv["Segment0_Layer"], "0");
    assert_eq!(kv["Segment0_Extent"], "1 3 1 4 0 2");
    assert_eq!(kv["Segment2_Extent"], "0 -1 0 -1 0 -1");
    assert_eq!(kv["Segment1_Name"], "lesion: A|B");
    assert_eq!(
        kv["Segment1_Tags"],
        "Segmentation.Status:flagged|TerminologyEntry:Segmentation category and type - \
         3D Slicer General Anatomy list~SCT^49755003^Morphologically Altered Structure~\
         SCT^4147007^Mass~SCT^24028007^Right~Anatomic codes - DICOM master list~^^~^^|\
         rayseg.Locked:1|rayseg.Opacity:0.5|rayseg.Visible:0|"
    );
    assert!(
        kv["Segment0_Tags"]
            .contains("|rayseg.ReviewNote:slices 1%7C2%3A 50%25 done%0Asecond line|"),
        "{}",
        kv["Segment0_Tags"]
    );
    assert_eq!(kv["Segmentation_MasterRepresentation"], "Binary labelmap");
    assert_eq!(
        kv["Segmentation_ContainedRepresentationNames"],
        "Binary labelmap|"
    );
    assert_eq!(kv["Segmentation_ReferenceImageExtentOffset"], "0 0 0");
    assert!(kv["Segmentation_ConversionParameters"].contains("&Reference image geometry|"));
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(400)]);
    assert!(text.contains("space: left-posterior-superior\n"), "{text}");
    assert!(text.contains("kinds: domain domain domain\n"), "{text}");
    assert!(text.contains("encoding: gzip\n"), "{text}");
}

#[derive(Debug, Deserialize)]
struct SlicerioSegment {
    id: String,
    name: String,
    color: [f64; 3],
    label_value: i64,
    layer: usize,
    extent: [i64; 6],
    status: Option<String>,
    terminology: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    /// Voxels of its layer holding its value inside its extent (numpy).
    voxels: u64,
    /// Its label after flattening, by the rule rayseg documents.
    rayseg_label: u8,
}

#[derive(Debug, Deserialize)]
struct SlicerioReading {
    voxels_shape: Vec<usize>,
    ijk_to_lps: [[f64; 4]; 4],
    reference_image_extent_offset: Option<[i64; 3]>,
    segments: Vec<SlicerioSegment>,
    /// Voxel count of each label of the flattened map on CTChest4's grid
    /// (absent for files on another grid).
    flattened_label_voxels: Option<BTreeMap<String, u64>>,
}

fn references() -> BTreeMap<String, SlicerioReading> {
    let text = std::fs::read_to_string(data().join("reference.json")).expect("reference.json");
    serde_json::from_str(&text).expect("reference.json parses")
}

fn counts(labels: &[u8]) -> BTreeMap<String, u64> {
    let mut c = BTreeMap::new();
    for &l in labels.iter().filter(|&&l| l != 0) {
        *c.entry(l.to_string()).or_insert(0) += 1;
    }
    c
}

fn terminology_lists(t: &Terminology) -> BTreeMap<String, serde_json::Value> {
    let code = |c: &Code| serde_json::json!([c.scheme, c.value, c.meaning]);
    let mut m = BTreeMap::new();
    m.insert("contextName".into(), serde_json::json!(t.context));
    m.insert("category".into(), code(&t.category));
    m.insert("type".into(), code(&t.type_));
    if let Some(c) = &t.modifier {
        m.insert("typeModifier".into(), code(c));
    }
    m.insert(
        "anatomicContextName".into(),
        serde_json::json!("Anatomic codes - DICOM master list"),
    );
    m
}

/// What rayseg writes for the fixture is what slicerio read from
/// `rayseg_written.seg.nrrd`; that file is rayseg's output today, byte for
/// byte (`RAYSEG_REGENERATE_LABEL_FORMATS=1` rewrites it, then run
/// `make_reference.py` again).
#[test]
fn slicerio_reads_what_rayseg_writes() {
    let (image, labels, set) = (image(), labels(), label_set());
    let committed = data().join("rayseg_written.seg.nrrd");
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("rayseg_written.seg.nrrd");
    write_label_map(&fresh, &labels, &set, &image, None).unwrap();
    let fresh_bytes = std::fs::read(&fresh).unwrap();
    if std::env::var_os("RAYSEG_REGENERATE_LABEL_FORMATS").is_some() {
        std::fs::write(&committed, &fresh_bytes).unwrap();
    }
    assert!(
        std::fs::read(&committed).unwrap() == fresh_bytes,
        "rayseg_written.seg.nrrd is not what rayseg writes now: rerun with \
         RAYSEG_REGENERATE_LABEL_FORMATS=1, then make_reference.py"
    );
    let refs = references();
    let r = &refs["rayseg_written.seg.nrrd"];
    assert_eq!(r.voxels_shape, [7, 6, 5]);
    assert_eq!(r.reference_image_extent_offset, Some([0, 0, 0]));
    let m = image.ras_from_voxel.to_cols_array_2d();
    for (row, want_row) in r.ijk_to_lps.iter().enumerate() {
        for (col, want) in want_row.iter().enumerate() {
            let ras = m[col][row];
            let lps = if row < 2 { -ras } else { ras };
            assert!((lps - want).abs() < 1e-12, "[{row}][{col}] {lps} vs {want}");
        }
    }
    let want = label_set_with_undescribed();
    let c = counts(&labels);
    assert_eq!(r.segments.len(), want.labels.len());
    for (seg, info) in r.segments.iter().zip(&want.labels) {
        let v = info.value;
        assert_eq!(seg.id, format!("Segment_{v}"));
        assert_eq!(seg.name, info.name);
        assert_eq!(seg.label_value, i64::from(v));
        assert_eq!(seg.rayseg_label, v);
        assert_eq!(seg.layer, 0);
        for (got, want) in seg.color.iter().zip(info.color) {
            assert!(
                (got - f64::from(want) / 255.0).abs() < 1e-12,
                "{}",
                seg.name
            );
        }
        assert_eq!(
            seg.status.as_deref(),
            Some(info.review.status.slicer_name()),
            "{}",
            seg.name
        );
        assert_eq!(
            seg.terminology,
            info.terminology.as_ref().map(terminology_lists),
            "{}",
            seg.name
        );
        assert_eq!(
            seg.voxels,
            c.get(&v.to_string()).copied().unwrap_or(0),
            "{}",
            seg.name
        );
        assert_eq!(
            seg.tags.get("rayseg.Visible").map(String::as_str),
            Some(if info.visible { "1" } else { "0" })
        );
    }
    assert_eq!(r.segments[0].extent, [1, 3, 1, 4, 0, 2]);
    assert_eq!(r.segments[2].extent, [0, -1, 0, -1, 0, -1]);
    assert!(r.segments[0].tags["rayseg.ReviewNote"].contains("%7C"));
}

/// Slicer's own files, as slicerio reads them: names, colours, label values,
/// status and terminology per segment, and the voxels after flattening.
#[test]
fn slicer_segmentations_read_as_slicerio_reads_them() {
    let refs = references();
    let ct = load(&third_party("CTChest4.nrrd"), &LoadOptions::default()).unwrap();
    for name in ["Segmentation.seg.nrrd", "SegmentationOverlapping.seg.nrrd"] {
        let r = &refs[name];
        let file = read_label_map(&third_party(name), &ct, None).unwrap();
        let set = file.label_set.as_ref().unwrap();
        assert_eq!(set.labels.len(), r.segments.len(), "{name}");
        for (info, seg) in set.labels.iter().zip(&r.segments) {
            assert_eq!(info.name, seg.name, "{name}");
            assert_eq!(info.value, seg.rayseg_label, "{name}: {}", seg.name);
            let rgb = seg.color.map(|c| (c * 255.0).round() as u8);
            assert_eq!(info.color, rgb, "{name}: {}", seg.name);
            let status = seg
                .status
                .as_deref()
                .and_then(ReviewStatus::from_slicer_name);
            assert_eq!(info.review.status, status.unwrap_or_default());
            let t = info.terminology.as_ref().expect("terminology");
            let st = seg.terminology.as_ref().expect("slicerio terminology");
            assert_eq!(serde_json::json!(t.context), st["contextName"]);
            let code = |c: &Code| serde_json::json!([c.scheme, c.value, c.meaning]);
            assert_eq!(code(&t.type_), st["type"], "{name}: {}", seg.name);
            assert_eq!(code(&t.category), st["category"], "{name}: {}", seg.name);
            assert_eq!(
                t.modifier.as_ref().map(code),
                st.get("typeModifier").cloned(),
                "{name}: {}",
                seg.name
            );
        }
        assert_eq!(
            Some(counts(&file.labels)),
            r.flattened_label_voxels,
            "{name}"
        );
        if name == "SegmentationOverlapping.seg.nrrd" {
            // Layer 1's sphere has value 1, which layer 0's ribs already have.
            let sphere = set.labels.iter().find(|l| l.name == "overlapping sphere");
            assert_eq!(sphere.map(|l| l.value), Some(8));
            let all = file.warnings.join("\n");
            assert!(all.contains("overlapping segments flattened"), "{all}");
            assert!(
                all.contains("\"overlapping sphere\" (layer 1, label 8) replaced"),
                "{all}"
            );
            assert!(all.contains("is label 8 here"), "{all}");
        } else {
            assert!(file.warnings.is_empty(), "{:?}", file.warnings);
        }
    }
}

/// A segmentation cropped to its segments' box (as Slicer crops it), written
/// by slicerio, lands at its place on the full grid.
#[test]
fn cropped_segmentation_is_placed_on_the_image_grid() {
    let refs = references();
    let r = &refs["cropped_overlapping.seg.nrrd"];
    let offset = r.reference_image_extent_offset.expect("offset");
    let ct = load(&third_party("CTChest4.nrrd"), &LoadOptions::default()).unwrap();
    let cropped = read_label_map(&data().join("cropped_overlapping.seg.nrrd"), &ct, None).unwrap();
    assert_eq!(Some(counts(&cropped.labels)), r.flattened_label_voxels);
    let full = read_label_map(&third_party("SegmentationOverlapping.seg.nrrd"), &ct, None)
        .unwrap()
        .labels;
    let [_, bi, bj, bk] = r.voxels_shape[..] else {
        panic!("a 4-D crop expected, got {:?}", r.voxels_shape)
    };
    let [ni, nj, _] = ct.shape;
    let mut inside = 0;
    for (n, (&got, &whole)) in cropped.labels.iter().zip(&full).enumerate() {
        let ijk = [n % ni, (n / ni) % nj, n / (ni * nj)];
        let in_box = (0..3).all(|a| {
            let lo = offset[a] as usize;
            (lo..lo + [bi, bj, bk][a]).contains(&ijk[a])
        });
        inside += usize::from(in_box);
        assert_eq!(got, if in_box { whole } else { 0 }, "voxel {ijk:?}");
    }
    assert_eq!(inside, bi * bj * bk);
    assert_eq!(cropped.label_set.unwrap().labels.len(), r.segments.len());
}

#[test]
fn grids_that_do_not_fit_are_resampled() {
    let dir = tempfile::tempdir().unwrap();
    let (image, labels, set) = (image(), labels(), label_set());
    // Half a voxel off the image's lattice: resampled by nearest neighbour.
    // Every image voxel centre is on a tie (a cell boundary of the map),
    // which goes to the higher map index: image voxel i takes map voxel i.
    let half = image
        .ras_from_voxel
        .transform_point3(DVec3::new(0.5, 0.0, 0.0));
    let shifted = image_at(half);
    for name in ["shifted.seg.nrrd", "shifted.nrrd"] {
        let path = dir.path().join(name);
        write_label_map(&path, &labels, &set, &shifted, None).unwrap();
        let read = read_label_map(&path, &image, None).unwrap();
        assert_eq!(read.labels, labels, "{name}");
        assert!(
            read.warnings
                .iter()
                .any(|w| w.contains("(other origin): resampled onto it by nearest neighbour")),
            "{name}: {:?}",
            read.warnings
        );
    }
    // A whole voxel off is fine for a segmentation: it is placed, and what
    // falls outside the image is dropped with a warning.
    let one = image
        .ras_from_voxel
        .transform_point3(DVec3::new(1.0, 0.0, 0.0));
    let path = dir.path().join("moved.seg.nrrd");
    write_label_map(&path, &labels, &set, &image_at(one), None).unwrap();
    let moved = read_label_map(&path, &image, None).unwrap();
    assert_eq!(moved.labels[index(2, 1, 0)], 1);
    assert_eq!(moved.labels[index(1, 1, 0)], 0);
    assert!(
        moved
            .warnings
            .iter()
            .any(|w| w.contains("1 labelled voxels lie outside")),
        "{:?}",
        moved.warnings
    );
    // A plain label map off the image grid is resampled too: the same
    // voxels, and label 7, which falls outside, is named as lost.
    let path = dir.path().join("moved.nrrd");
    write_label_map(&path, &labels, &set, &image_at(one), None).unwrap();
    let plain = read_label_map(&path, &image, None).unwrap();
    assert_eq!(plain.labels, moved.labels);
    assert_eq!(plain.warnings.len(), 2, "{:?}", plain.warnings);
    assert!(
        plain.warnings[1].starts_with("label 7 of the label map"),
        "{:?}",
        plain.warnings
    );
    // A Slicer segmentation of another image (other spacing and direction)
    // that does not reach this one, and a plain map far away, are errors.
    let brain = load(
        &third_party("BrainProtonDensitySliceBorder20DirectionPlus30.nhdr"),
        &LoadOptions::default(),
    )
    .unwrap();
    let seg = third_party("Segmentation.seg.nrrd");
    match read_label_map(&seg, &brain, None) {
        Err(LabelFormatError::Grid {
            path,
            source: GridError::NoOverlap { .. },
        }) => assert_eq!(path, seg),
        other => panic!("{other:?}"),
    }
    let far = image_at(DVec3::new(500.0, 0.0, 0.0));
    let path = dir.path().join("far.nii.gz");
    write_label_map(&path, &labels, &set, &far, None).unwrap();
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
    assert!(err.to_string().contains("far.nii.gz"), "{err}");
    // And the written map must fill the image grid.
    let err = write_label_map(
        &dir.path().join("short.nii.gz"),
        &labels[1..],
        &set,
        &image,
        None,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            LabelFormatError::Size {
                got: 209,
                want: 210,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn names_and_formats_that_do_not_fit_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (image, labels, set) = (image(), labels(), label_set());
    let png = dir.path().join("out.png");
    let err = write_label_map(&png, &labels, &set, &image, None).unwrap_err();
    assert!(matches!(&err, LabelFormatError::UnknownExtension { path } if *path == png));
    assert!(err.to_string().contains("out.png"), "{err}");
    assert!(!png.exists());
    let text = dir.path().join("labels.txt");
    std::fs::write(&text, "not a label map\n").unwrap();
    assert!(matches!(
        read_label_map(&text, &image, None),
        Err(LabelFormatError::UnknownExtension { .. })
    ));
    let nii = dir.path().join("out.nii.gz");
    assert!(matches!(
        write_label_map(&nii, &labels, &set, &image, Some(LabelFormat::Nrrd)),
        Err(LabelFormatError::FormatMismatch { .. })
    ));
    assert!(matches!(
        LabelFormat::from_name("dicom"),
        Err(LabelFormatError::UnknownFormat { .. })
    ));
    // A file without a known extension is read by its first bytes.
    let unnamed = dir.path().join("labels.bin");
    write_label_map(&unnamed, &labels, &set, &image, Some(LabelFormat::SegNrrd)).unwrap();
    assert_eq!(
        read_label_map(&unnamed, &image, None).unwrap().labels,
        labels
    );
    // Terminology Slicer cannot hold is refused, not mangled.
    let mut bad = set.clone();
    bad.labels[0].terminology.as_mut().unwrap().type_.meaning = "a~b".into();
    let err = write_label_map(
        &dir.path().join("bad.seg.nrrd"),
        &labels,
        &bad,
        &image,
        None,
    )
    .unwrap_err();
    assert!(
        matches!(err, LabelFormatError::Unwritable { .. }),
        "{err:?}"
    );
}

#[test]
fn empty_slicer_segmentation_reads_as_empty_wherever_its_voxel_is() {
    // Slicer writes a segmentation whose segments are all empty as one
    // voxel, which need not lie on the image grid.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.seg.nrrd");
    let mut bytes = b"NRRD0004\ntype: unsigned char\ndimension: 3\n\
        space: left-posterior-superior\nsizes: 1 1 1\n\
        space directions: (1,0,0) (0,1,0) (0,0,1)\nkinds: domain domain domain\n\
        encoding: raw\nspace origin: (0.25,0,0)\nSegment0_Color:=0.5 0.5 0.5\n\
        Segment0_Extent:=0 -1 0 -1 0 -1\nSegment0_ID:=Segment_1\nSegment0_LabelValue:=1\n\
        Segment0_Layer:=0\nSegment0_Name:=nothing yet\n\
        Segmentation_MasterRepresentation:=Binary labelmap\n\n"
        .to_vec();
    bytes.push(0);
    std::fs::write(&path, bytes).unwrap();
    let file = read_label_map(&path, &image(), None).unwrap();
    assert!(file.labels.iter().all(|&l| l == 0));
    let set = file.label_set.unwrap();
    assert_eq!(set.labels.len(), 1);
    assert_eq!(set.labels[0].name, "nothing yet");
    assert_eq!(set.labels[0].color, [128, 128, 128]);
    assert_eq!(set.labels[0].review.status, ReviewStatus::NotStarted);
}

#[test]
fn sidecars_without_terminology_or_review_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let mask = dir.path().join("old.nii.gz");
    std::fs::write(
        sidecar_path(&mask),
        r#"{"format": "rayseg-labels", "version": 1, "labels": [
            {"value": 2, "name": "kidney", "color": [1, 2, 3], "opacity": 0.5,
             "visible": true, "locked": false}]}"#,
    )
    .unwrap();
    let set = load_sidecar(&mask).unwrap().unwrap();
    assert_eq!(set.labels[0].terminology, None);
    assert_eq!(set.labels[0].review.status, ReviewStatus::NotStarted);
    assert_eq!(set.labels[0].review.note, "");
    let json = serde_json::to_value(label_set()).unwrap();
    assert_eq!(json["labels"][0]["review"]["status"], "in_progress");
    assert_eq!(json["labels"][0]["terminology"]["type"]["meaning"], "Liver");
}

#[test]
fn cli_writes_the_format_the_name_or_flag_says() {
    let dir = tempfile::tempdir().unwrap();
    let image = image();
    // The image itself as u8 NRRD (values 0..=209), on the oblique grid.
    let image_path = dir.path().join("ct.nrrd");
    let values: Vec<u8> = (0..210).map(|n| n as u8).collect();
    write_label_map(&image_path, &values, &LabelSet::default(), &image, None).unwrap();
    let grow = |out: &Path, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rayseg"))
            .args(["grow", image_path.to_str().unwrap(), "--seed", "0,0,0"])
            .args([
                "--lower", "0", "--upper", "255", "--label", "4", "--cpu", "-o",
            ])
            .arg(out)
            .args(extra)
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .output()
            .expect("rayseg runs")
    };
    let seg = dir.path().join("grown.seg.nrrd");
    let out = grow(&seg, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read(&seg).unwrap().starts_with(b"NRRD0004"));
    let back = read_label_map(&seg, &image, None).unwrap();
    assert!(back.labels.iter().all(|&l| l == 4));
    assert_eq!(back.label_set.unwrap().labels[0].name, "Label 4");
    let mha = dir.path().join("grown.labels");
    let out = grow(&mha, &["--format", "metaimage"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read(&mha)
            .unwrap()
            .starts_with(b"ObjectType = Image")
    );
    for (name, extra) in [
        ("grown.png", &[][..]),
        ("grown.nii.gz", &["--format", "nrrd"][..]),
    ] {
        let out = grow(&dir.path().join(name), extra);
        assert!(!out.status.success(), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(name), "{err}");
        assert!(!dir.path().join(name).exists());
    }
}
