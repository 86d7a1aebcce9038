//! DICOM Segmentation export and import (`annotate::label_formats::dicom_seg`,
//! `rayseg export-seg`): round trips through BINARY and LABELMAP objects on a
//! tiny oblique CT series (`tests/data/dicom_seg/ct_oblique`, written by
//! `make_series.py`), the attributes checked with dicom-object and the
//! pixels unpacked here independently, de-identification, the journal's
//! algorithm types, and third-party Segmentations: dcmqi's `liver.dcm`
//! (counts from pydicom) and highdicom's BINARY (overlapping), LABELMAP and
//! FRACTIONAL objects with the label maps highdicom was given
//! (`make_highdicom_segs.py`). `check_highdicom.py` reads rayseg's output
//! with highdicom and runs dciodvfy (by hand: CI has neither).

use std::path::{Path, PathBuf};
use std::process::Command;

use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use glam::DVec3;
use rayseg::annotate::label_formats::dicom_seg::{
    AlgorithmType, Deidentify, ExportRequest, LABEL_MAP_SEGMENTATION_STORAGE, SEGMENTATION_STORAGE,
    SegmentationType, default_terminology, export,
};
use rayseg::annotate::label_formats::{
    LabelFormatError, read_label_map, read_label_map_alone, write_label_map,
};
use rayseg::annotate::labels::{Code, LabelInfo, LabelSet, Terminology};
use rayseg::volume::{LoadOptions, Volume, load};
use sha2::{Digest, Sha256};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/dicom_seg")
        .join(name)
}

fn series() -> PathBuf {
    data("ct_oblique")
}

fn image() -> Volume {
    load(&series(), &LoadOptions::default()).expect("ct_oblique loads")
}

const SHAPE: [usize; 3] = [16, 12, 5];

/// Labels 1, 3 and 7 (2 unused), in boxes that miss some slices.
fn mask() -> Vec<u8> {
    let mut labels = vec![0u8; SHAPE.iter().product()];
    for k in 0..5 {
        for j in 0..12 {
            for i in 0..16 {
                let v = &mut labels[i + 16 * (j + 12 * k)];
                if i < 5 && j < 4 && k >= 1 {
                    *v = 1;
                }
                if i >= 8 && j >= 6 && k <= 2 {
                    *v = 3;
                }
                if (i, j, k) == (15, 0, 4) {
                    *v = 7;
                }
            }
        }
    }
    labels
}

fn lung() -> Terminology {
    let mut t = Terminology::new(
        Code::new("SCT", "123037004", "Anatomical Structure"),
        Code::new("SCT", "39607008", "Lung"),
    );
    t.modifier = Some(Code::new("SCT", "24028007", "Right"));
    t.anatomic_region = Some(Code::new("SCT", "51185008", "Thorax"));
    t
}

fn label_set() -> LabelSet {
    let mut right_lung = LabelInfo::new(1, "Right lüng");
    right_lung.color = [128, 174, 128];
    right_lung.terminology = Some(lung());
    let mut lesion = LabelInfo::new(3, "lesion");
    lesion.color = [241, 214, 145];
    LabelSet {
        labels: vec![
            right_lung,
            LabelInfo::new(2, "unused"),
            lesion,
            LabelInfo::new(7, "spot"),
        ],
    }
}

fn open(path: &Path) -> InMemDicomObject {
    OpenFileOptions::new()
        .open_file(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_inner()
}

fn text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> String {
    obj.get(tag)
        .map(|e| {
            e.value()
                .to_str()
                .unwrap()
                .trim_end_matches(['\0', ' '])
                .to_owned()
        })
        .unwrap_or_default()
}

fn item(obj: &InMemDicomObject, tag: dicom_core::Tag) -> &InMemDicomObject {
    &obj.get(tag).and_then(|e| e.items()).expect("sequence")[0]
}

/// The source files: SOP Instance UID by ImagePositionPatient text.
fn source_instances() -> Vec<(String, String, Vec<f64>)> {
    std::fs::read_dir(series())
        .unwrap()
        .map(|e| {
            let o = open(&e.unwrap().path());
            let ipp = o
                .get(tags::IMAGE_POSITION_PATIENT)
                .unwrap()
                .value()
                .to_multi_float64()
                .unwrap();
            (
                text(&o, tags::SOP_INSTANCE_UID),
                text(&o, tags::SOP_CLASS_UID),
                ipp,
            )
        })
        .collect()
}

fn request<'a>(
    image: &'a Volume,
    labels: &'a [u8],
    set: &'a LabelSet,
    output: &'a Path,
    kind: SegmentationType,
) -> ExportRequest<'a> {
    ExportRequest {
        image,
        source_path: Path::new(""),
        labels,
        label_set: set,
        mask_path: None,
        output,
        kind,
        deidentify: None,
        content_creator: "Reader^Rae".into(),
        series_number: 300,
        series_description: "rayseg segmentation".into(),
    }
}

fn export_to(dir: &Path, name: &str, kind: SegmentationType, deid: Option<Deidentify>) -> PathBuf {
    let image = image();
    let labels = mask();
    let set = label_set();
    let out = dir.join(name);
    let series = series();
    let mut req = request(&image, &labels, &set, &out, kind);
    req.source_path = &series;
    req.deidentify = deid;
    let summary = export(&req).expect("export");
    assert_eq!(
        summary
            .segments
            .iter()
            .map(|s| (s.number, s.label))
            .collect::<Vec<_>>(),
        [(1, 1), (2, 3), (3, 7)]
    );
    out
}

/// Bit `n` of BINARY PixelData, unpacked here (PS3.5 8.1.1: least significant
/// bit first, frames back to back).
fn bit(pixels: &[u8], n: usize) -> u8 {
    (pixels[n / 8] >> (n % 8)) & 1
}

fn position_of(group: &InMemDicomObject) -> Vec<f64> {
    item(group, tags::PLANE_POSITION_SEQUENCE)
        .get(tags::IMAGE_POSITION_PATIENT)
        .unwrap()
        .value()
        .to_multi_float64()
        .unwrap()
}

/// The slice k of the image a position lies on.
fn slice_of(image: &Volume, lps: &[f64]) -> usize {
    let at = image.index_from_ras(DVec3::new(-lps[0], -lps[1], lps[2]));
    assert!(at.x.abs() < 1e-3 && at.y.abs() < 1e-3, "{at}");
    let k = at.z.round();
    assert!((at.z - k).abs() < 1e-3);
    k as usize
}

#[test]
fn binary_export_references_the_series_and_packs_bits() {
    let dir = tempfile::tempdir().unwrap();
    let out = export_to(dir.path(), "seg.dcm", SegmentationType::Binary, None);
    let obj = open(&out);
    let image = image();
    let labels = mask();
    assert_eq!(text(&obj, tags::SOP_CLASS_UID), SEGMENTATION_STORAGE);
    assert_eq!(text(&obj, tags::SEGMENTATION_TYPE), "BINARY");
    assert_eq!(text(&obj, tags::MODALITY), "SEG");
    assert_eq!(text(&obj, tags::MANUFACTURER), "rayseg");
    assert_eq!(text(&obj, tags::PATIENT_NAME), "Testperson^Jörg");
    assert_eq!(text(&obj, tags::PATIENT_ID), "RAYSEG-TEST-001");
    assert_eq!(text(&obj, tags::ACCESSION_NUMBER), "ACC-20240315-7");
    assert_eq!(text(&obj, tags::CONTENT_CREATOR_NAME), "Reader^Rae");
    let source = source_instances();
    let src0 = open(&series().join("slice_1.dcm"));
    for tag in [tags::STUDY_INSTANCE_UID, tags::FRAME_OF_REFERENCE_UID] {
        assert_eq!(text(&obj, tag), text(&src0, tag));
    }
    assert!(text(&obj, tags::SERIES_INSTANCE_UID).starts_with("2.25."));
    assert_ne!(
        text(&obj, tags::SERIES_INSTANCE_UID),
        text(&src0, tags::SERIES_INSTANCE_UID)
    );
    // Every instance of the series is referenced.
    let referenced = item(&obj, tags::REFERENCED_SERIES_SEQUENCE);
    assert_eq!(
        text(referenced, tags::SERIES_INSTANCE_UID),
        text(&src0, tags::SERIES_INSTANCE_UID)
    );
    let mut uids: Vec<String> = referenced
        .get(tags::REFERENCED_INSTANCE_SEQUENCE)
        .and_then(|e| e.items())
        .unwrap()
        .iter()
        .map(|i| text(i, tags::REFERENCED_SOP_INSTANCE_UID))
        .collect();
    uids.sort();
    let mut want: Vec<String> = source.iter().map(|s| s.0.clone()).collect();
    want.sort();
    assert_eq!(uids, want);

    // Geometry: the source's orientation and spacings.
    let shared = item(&obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    let measures = item(shared, tags::PIXEL_MEASURES_SEQUENCE);
    let number = |o: &InMemDicomObject, t| o.get(t).unwrap().value().to_multi_float64().unwrap();
    assert_eq!(number(measures, tags::PIXEL_SPACING), [0.8, 0.7]);
    assert_eq!(number(measures, tags::SLICE_THICKNESS), [2.0]);
    assert!((number(measures, tags::SPACING_BETWEEN_SLICES)[0] - 2.5).abs() < 1e-6);
    let iop = number(
        item(shared, tags::PLANE_ORIENTATION_SEQUENCE),
        tags::IMAGE_ORIENTATION_PATIENT,
    );
    let src_iop = number(&src0, tags::IMAGE_ORIENTATION_PATIENT);
    assert!(iop.iter().zip(&src_iop).all(|(a, b)| (a - b).abs() < 1e-9));

    // Frames: one per segment and slice it is on; each names its slice's
    // instance; the bits are the mask's.
    let frames = obj
        .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|e| e.items())
        .unwrap();
    assert_eq!(frames.len(), 4 + 3 + 1);
    assert_eq!(text(&obj, tags::NUMBER_OF_FRAMES), "8");
    let pixels = obj
        .get(tags::PIXEL_DATA)
        .unwrap()
        .value()
        .to_bytes()
        .unwrap();
    assert_eq!(pixels.len(), (8 * 16 * 12usize).div_ceil(8));
    let label_of_segment = [0u8, 1, 3, 7];
    let mut seen = 0;
    for (f, group) in frames.iter().enumerate() {
        let segment = item(group, tags::SEGMENT_IDENTIFICATION_SEQUENCE)
            .get(tags::REFERENCED_SEGMENT_NUMBER)
            .unwrap()
            .value()
            .to_int::<usize>()
            .unwrap();
        let ipp = position_of(group);
        let k = slice_of(&image, &ipp);
        let derivation = item(group, tags::DERIVATION_IMAGE_SEQUENCE);
        let source_image = item(derivation, tags::SOURCE_IMAGE_SEQUENCE);
        let (uid, class, _) = source
            .iter()
            .find(|(_, _, p)| p.iter().zip(&ipp).all(|(a, b)| (a - b).abs() < 1e-6))
            .expect("a source instance at the frame's position");
        assert_eq!(&text(source_image, tags::REFERENCED_SOP_INSTANCE_UID), uid);
        assert_eq!(&text(source_image, tags::REFERENCED_SOP_CLASS_UID), class);
        for p in 0..16 * 12 {
            let want = u8::from(labels[p + 16 * 12 * k] == label_of_segment[segment]);
            assert_eq!(bit(&pixels, f * 16 * 12 + p), want, "frame {f} pixel {p}");
            seen += usize::from(want);
        }
    }
    assert_eq!(seen, labels.iter().filter(|&&l| l != 0).count());

    // Segment descriptions.
    let segments = obj
        .get(tags::SEGMENT_SEQUENCE)
        .and_then(|e| e.items())
        .unwrap();
    assert_eq!(segments.len(), 3);
    assert_eq!(text(&segments[0], tags::SEGMENT_LABEL), "Right lüng");
    assert_eq!(text(&segments[0], tags::SEGMENT_ALGORITHM_TYPE), "MANUAL");
    let type_item = item(&segments[0], tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE);
    assert_eq!(text(type_item, tags::CODE_VALUE), "39607008");
    let modifier = item(
        type_item,
        tags::SEGMENTED_PROPERTY_TYPE_MODIFIER_CODE_SEQUENCE,
    );
    assert_eq!(text(modifier, tags::CODE_MEANING), "Right");
    // highdicom 0.28.2: CIELabColor.from_rgb(128, 174, 128).value.
    let lab = segments[0]
        .get(tags::RECOMMENDED_DISPLAY_CIE_LAB_VALUE)
        .unwrap()
        .value()
        .to_multi_int::<u16>()
        .unwrap();
    assert_eq!(lab, [43803, 26565, 37722]);
    // The default terminology for a label without one.
    let category = item(
        &segments[1],
        tags::SEGMENTED_PROPERTY_CATEGORY_CODE_SEQUENCE,
    );
    assert_eq!(text(category, tags::CODE_VALUE), "85756007");
    assert_eq!(text(category, tags::CODING_SCHEME_DESIGNATOR), "SCT");
}

/// Reads `path` back onto the image and alone, and checks it is the mask.
fn check_read_back(path: &Path) {
    let image = image();
    let file = read_label_map(path, &image, None).expect("reads onto the image");
    assert_eq!(file.labels, mask());
    assert!(file.warnings.is_empty(), "{:?}", file.warnings);
    let set = file.label_set.expect("label set");
    let want = label_set();
    assert_eq!(
        set.labels.iter().map(|l| l.value).collect::<Vec<_>>(),
        [1, 3, 7]
    );
    for l in &set.labels {
        let w = want.get(l.value).unwrap();
        assert_eq!((&l.name, l.color), (&w.name, w.color), "label {}", l.value);
        let terminology = w.terminology.clone().unwrap_or_else(default_terminology);
        assert_eq!(l.terminology.as_ref(), Some(&terminology));
    }
    let (grid, alone) = read_label_map_alone(path, None).expect("reads alone");
    assert_eq!(grid.shape, SHAPE);
    let worst = (grid.ras_from_voxel - image.ras_from_voxel)
        .to_cols_array()
        .iter()
        .fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(worst < 1e-4, "{worst}");
    assert_eq!(alone.labels, mask());
}

#[test]
fn binary_and_labelmap_read_back_identically() {
    let dir = tempfile::tempdir().unwrap();
    let binary = export_to(dir.path(), "binary.dcm", SegmentationType::Binary, None);
    check_read_back(&binary);
    let labelmap = export_to(dir.path(), "labelmap.dcm", SegmentationType::Labelmap, None);
    check_read_back(&labelmap);

    let obj = open(&labelmap);
    assert_eq!(
        text(&obj, tags::SOP_CLASS_UID),
        LABEL_MAP_SEGMENTATION_STORAGE
    );
    assert_eq!(text(&obj, tags::SEGMENTATION_TYPE), "LABELMAP");
    assert_eq!(text(&obj, tags::NUMBER_OF_FRAMES), "5");
    assert_eq!(text(&obj, tags::BITS_ALLOCATED), "8");
    // One frame per slice, in slice order; values are segment numbers.
    let pixels = obj
        .get(tags::PIXEL_DATA)
        .unwrap()
        .value()
        .to_bytes()
        .unwrap();
    let number = |l: u8| match l {
        1 => 1,
        3 => 2,
        7 => 3,
        _ => 0,
    };
    let image = image();
    let frames = obj
        .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|e| e.items())
        .unwrap();
    for (f, group) in frames.iter().enumerate() {
        let k = slice_of(&image, &position_of(group));
        assert_eq!(k, f);
        let want: Vec<u8> = mask()[k * 192..(k + 1) * 192]
            .iter()
            .map(|&l| number(l))
            .collect();
        assert_eq!(&pixels[f * 192..(f + 1) * 192], &want[..]);
    }
    // Segment 0 is the background, as highdicom writes it.
    let segments = obj
        .get(tags::SEGMENT_SEQUENCE)
        .and_then(|e| e.items())
        .unwrap();
    assert_eq!(text(&segments[0], tags::SEGMENT_LABEL), "Background");
    assert_eq!(segments.len(), 4);
}

/// UID replacement as the README gives it, written out again here.
fn expected_uid(original: &str, secret: &str) -> String {
    let d = Sha256::digest(format!("{secret}:{original}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    format!("2.25.{}", u128::from_be_bytes(b))
}

#[test]
fn deidentified_export_keeps_no_identifier() {
    let dir = tempfile::tempdir().unwrap();
    let deid = Deidentify {
        secret: "s3cret".into(),
        pseudonym: None,
    };
    let out = export_to(dir.path(), "deid.dcm", SegmentationType::Binary, Some(deid));
    let bytes = std::fs::read(&out).unwrap();
    let src0 = open(&series().join("slice_1.dcm"));
    let mut secrets: Vec<String> = [
        tags::PATIENT_NAME,
        tags::PATIENT_ID,
        tags::PATIENT_BIRTH_DATE,
        tags::ACCESSION_NUMBER,
        tags::REFERRING_PHYSICIAN_NAME,
        tags::INSTITUTION_NAME,
        tags::STUDY_DESCRIPTION,
        tags::STUDY_INSTANCE_UID,
        tags::SERIES_INSTANCE_UID,
        tags::FRAME_OF_REFERENCE_UID,
        tags::STUDY_DATE,
    ]
    .iter()
    .map(|&t| text(&src0, t))
    .collect();
    secrets.extend(["Testperson".into(), "Reader".into()]);
    secrets.extend(source_instances().into_iter().map(|s| s.0));
    for s in &secrets {
        assert!(!s.is_empty());
        let found = bytes.windows(s.len()).any(|w| w == s.as_bytes());
        assert!(!found, "{s:?} is in the de-identified file");
    }
    let obj = open(&out);
    for tag in [
        tags::PATIENT_NAME,
        tags::PATIENT_ID,
        tags::PATIENT_BIRTH_DATE,
        tags::PATIENT_SEX,
        tags::STUDY_ID,
        tags::ACCESSION_NUMBER,
        tags::CONTENT_CREATOR_NAME,
    ] {
        assert_eq!(text(&obj, tag), "", "{tag}");
    }
    assert!(obj.get(tags::STUDY_DESCRIPTION).is_none());
    assert!(obj.get(tags::PATIENT_AGE).is_none());
    assert_eq!(text(&obj, tags::PATIENT_IDENTITY_REMOVED), "YES");
    let method = item(&obj, tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE);
    assert_eq!(text(method, tags::CODE_VALUE), "113100");
    // UIDs mapped consistently: the documented hash of the source's.
    for tag in [tags::STUDY_INSTANCE_UID, tags::FRAME_OF_REFERENCE_UID] {
        assert_eq!(text(&obj, tag), expected_uid(&text(&src0, tag), "s3cret"));
    }
    let referenced = item(&obj, tags::REFERENCED_SERIES_SEQUENCE);
    assert_eq!(
        text(referenced, tags::SERIES_INSTANCE_UID),
        expected_uid(&text(&src0, tags::SERIES_INSTANCE_UID), "s3cret")
    );
    let mut uids: Vec<String> = referenced
        .get(tags::REFERENCED_INSTANCE_SEQUENCE)
        .and_then(|e| e.items())
        .unwrap()
        .iter()
        .map(|i| text(i, tags::REFERENCED_SOP_INSTANCE_UID))
        .collect();
    uids.sort();
    let mut want: Vec<String> = source_instances()
        .iter()
        .map(|s| expected_uid(&s.0, "s3cret"))
        .collect();
    want.sort();
    assert_eq!(uids, want);
    // Still the same segmentation.
    check_read_back(&out);
}

#[test]
fn refuses_inputs_as_output_and_images_not_from_the_series() {
    let dir = tempfile::tempdir().unwrap();
    let image = image();
    let labels = mask();
    let set = label_set();
    let series = series();
    let mask_path = dir.path().join("mask.nii.gz");
    write_label_map(&mask_path, &labels, &set, &image, None).unwrap();
    let existing = series.join("slice_3.dcm");
    let before = std::fs::read(&existing).unwrap();
    for out in [&mask_path, &existing] {
        let mut req = request(&image, &labels, &set, out, SegmentationType::Binary);
        req.source_path = &series;
        req.mask_path = Some(&mask_path);
        let err = export(&req).unwrap_err().to_string();
        assert!(err.contains("refusing to overwrite"), "{err}");
    }
    assert_eq!(std::fs::read(&existing).unwrap(), before);
    // An image whose grid is not the series': named, nothing written.
    let mut shifted = image.clone();
    shifted.ras_from_voxel.w_axis.x += 0.5 * shifted.spacing_mm[0];
    let out = dir.path().join("x.dcm");
    let mut req = request(&shifted, &labels, &set, &out, SegmentationType::Binary);
    req.source_path = &series;
    let err = export(&req).unwrap_err().to_string();
    assert!(
        err.contains("ct_oblique") && err.contains("not on one of its"),
        "{err}"
    );
    assert!(!out.exists());
    // An empty mask has no segment.
    let empty = vec![0u8; labels.len()];
    let mut req = request(&image, &empty, &set, &out, SegmentationType::Binary);
    req.source_path = &series;
    let err = export(&req).unwrap_err().to_string();
    assert!(err.contains("no labelled voxel"), "{err}");
}

#[test]
fn dcmqi_liver_reads_as_pydicom_counts() {
    let (grid, file) = read_label_map_alone(&data("dcmqi_liver.dcm"), None).unwrap();
    assert_eq!(grid.shape, [512, 512, 3]);
    assert!((grid.spacing_mm[0] - 0.810547).abs() < 1e-9);
    assert!((grid.spacing_mm[2] - 1.0).abs() < 1e-9);
    // pydicom 3.0.2: [int(f.sum()) for f in dcmread(path).pixel_array].
    let per_slice: Vec<usize> = file
        .labels
        .chunks(512 * 512)
        .map(|s| s.iter().filter(|&&l| l == 1).count())
        .collect();
    let mut sorted = per_slice.clone();
    sorted.sort();
    assert_eq!(sorted, [35220, 35645, 36233]);
    let set = file.label_set.unwrap();
    assert_eq!(set.labels.len(), 1);
    let liver = &set.labels[0];
    assert_eq!((liver.value, liver.name.as_str()), (1, "Liver"));
    // highdicom: CIELabColor.from_dicom_value([41661, 41167, 40792]).to_rgb().
    assert_eq!(liver.color, [221, 130, 101]);
    let t = liver.terminology.as_ref().unwrap();
    assert_eq!(t.type_, Code::new("SRT", "T-62000", "Liver"));
    assert_eq!(t.category, Code::new("SRT", "T-D0050", "Tissue"));
}

fn expected(name: &str) -> Vec<u8> {
    std::fs::read(data(name)).unwrap()
}

#[test]
fn highdicom_segmentations_read_as_written() {
    let image = image();
    let binary = read_label_map(&data("hd_binary_overlap.dcm"), &image, None).unwrap();
    assert_eq!(binary.labels, expected("hd_binary_overlap.expected.u8"));
    assert!(
        binary
            .warnings
            .iter()
            .any(|w| w.contains("more than one segment")),
        "{:?}",
        binary.warnings
    );
    let set = binary.label_set.unwrap();
    let names: Vec<(u8, &str)> = set
        .labels
        .iter()
        .map(|l| (l.value, l.name.as_str()))
        .collect();
    assert_eq!(names, [(1, "liver"), (2, "lesion"), (3, "spot")]);
    assert_eq!(
        set.labels[1].terminology.as_ref().unwrap().type_,
        Code::new("SCT", "108369006", "Neoplasm")
    );

    // Frames on slices 1..=4 only: a box of the image grid, placed exactly.
    let labelmap = read_label_map(&data("hd_labelmap.dcm"), &image, None).unwrap();
    assert_eq!(labelmap.labels, expected("hd_labelmap.expected.u8"));
    let (grid, _) = read_label_map_alone(&data("hd_labelmap.dcm"), None).unwrap();
    assert_eq!(grid.shape, [16, 12, 4]);

    let fractional = read_label_map(&data("hd_fractional.dcm"), &image, None).unwrap();
    assert_eq!(fractional.labels, expected("hd_fractional.expected.u8"));
}

#[test]
fn damaged_segmentations_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(data("hd_labelmap.dcm")).unwrap();
    // Cut inside PixelData, and a NumberOfFrames far beyond the pixels.
    let cut = dir.path().join("cut.dcm");
    std::fs::write(&cut, &good[..good.len() - 100]).unwrap();
    let mut obj = OpenFileOptions::new()
        .open_file(data("hd_labelmap.dcm"))
        .unwrap();
    obj.put(dicom_core::DataElement::new(
        tags::NUMBER_OF_FRAMES,
        dicom_core::VR::IS,
        dicom_core::PrimitiveValue::from("100000000"),
    ));
    let huge = dir.path().join("huge.dcm");
    obj.write_to_file(&huge).unwrap();
    for path in [&cut, &huge] {
        let err = read_label_map_alone(path, None).unwrap_err();
        assert!(
            err.to_string()
                .contains(&*path.file_name().unwrap().to_string_lossy()),
            "{err}"
        );
    }
    let err = read_label_map_alone(&huge, None).unwrap_err();
    assert!(
        matches!(err, LabelFormatError::Segmentation { .. }),
        "{err}"
    );
}

fn rayseg(args: &[&str], author: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .args(args)
        .env("RAYSEG_AUTHOR", author)
        .output()
        .expect("rayseg runs")
}

#[test]
fn cli_exports_algorithm_types_from_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let image = image();
    let series = series();
    let s = |p: &Path| p.to_string_lossy().into_owned();
    // A model's draft of labels 1, 3 and 7; then a person brushes label 3,
    // grows label 7 and paints a new label 5.
    let draft = dir.path().join("draft.nii.gz");
    write_label_map(&draft, &mask(), &label_set(), &image, None).unwrap();
    let ras = |i: f64, j: f64, k: f64| image.ras_from_index(DVec3::new(i, j, k)).to_array();
    let script = serde_json::json!([
        {"op": "brush", "label": 3, "points_mm": [ras(7.0, 8.0, 0.0)], "radius_mm": 0.5},
        // HU = -24 + 10 i + 100 j + 1000 k: grows i = 0..=2 of row 0, slice 0.
        {"op": "grow", "label": 7, "seed_mm": ras(0.0, 0.0, 0.0), "lower": -30.0,
         "upper": 0.0, "connectivity": 6},
        {"op": "brush", "label": 5, "points_mm": [ras(2.0, 10.0, 4.0)], "radius_mm": 0.5},
    ]);
    let script_path = dir.path().join("script.json");
    std::fs::write(&script_path, script.to_string()).unwrap();
    let edited = dir.path().join("edited.nii.gz");
    let out = rayseg(
        &[
            "edit",
            &s(&series),
            "--labels",
            &s(&draft),
            "--draft-model",
            "TestNet",
            "--script",
            &s(&script_path),
            "-o",
            &s(&edited),
        ],
        "Editor^Ed",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let seg = dir.path().join("edited.dcm");
    let out = rayseg(
        &[
            "export-seg",
            &s(&edited),
            "--image",
            &s(&series),
            "-o",
            &s(&seg),
        ],
        "Editor^Ed",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for private in ["Testperson", "RAYSEG-TEST-001", "ACC-20240315", "2.25."] {
        assert!(
            !stdout.contains(private) && !stderr.contains(private),
            "{stdout}{stderr}"
        );
    }
    let obj = open(&seg);
    let segments = obj
        .get(tags::SEGMENT_SEQUENCE)
        .and_then(|e| e.items())
        .unwrap();
    let found: Vec<(String, String, String)> = segments
        .iter()
        .map(|s| {
            (
                text(s, tags::SEGMENT_LABEL),
                text(s, tags::SEGMENT_ALGORITHM_TYPE),
                text(s, tags::SEGMENT_ALGORITHM_NAME),
            )
        })
        .collect();
    let want = |name: &str, kind: AlgorithmType, alg: &str| {
        (name.to_owned(), kind.dicom().to_owned(), alg.to_owned())
    };
    assert_eq!(
        found,
        [
            want("Right lüng", AlgorithmType::Automatic, "TestNet"),
            want(
                "lesion",
                AlgorithmType::Semiautomatic,
                "TestNet; edited in rayseg"
            ),
            want("Label 5", AlgorithmType::Manual, ""),
            want("spot", AlgorithmType::Semiautomatic, "TestNet; rayseg grow"),
        ]
    );
    assert_eq!(text(&obj, tags::CONTENT_CREATOR_NAME), "Editor^Ed");

    // The mask and the series are never overwritten.
    let out = rayseg(
        &[
            "export-seg",
            &s(&edited),
            "--image",
            &s(&series),
            "-o",
            &s(&edited),
        ],
        "x",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to overwrite"));
}
