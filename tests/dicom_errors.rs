//! DICOM failures: every error has the right kind and names the file or
//! folder; damaged input never panics and absurd headers are refused early.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::data_dir;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use rayseg::volume::dicom::load_dicom_bytes;
use rayseg::volume::{LoadError, LoadErrorKind, LoadOptions, load};

fn kit(p: &str) -> PathBuf {
    data_dir().join(p)
}

fn load_err(path: &Path) -> LoadError {
    match load(path, &LoadOptions::default()) {
        Ok(v) => panic!("{} loaded ({:?}) but should fail", path.display(), v.shape),
        Err(e) => e,
    }
}

/// The message must name the file: the Display of LoadError starts with it.
fn assert_names(err: &LoadError, path: &Path) {
    let msg = err.to_string();
    assert_eq!(err.path, path, "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

#[test]
fn truncated_pixel_data_is_reported_with_sizes() {
    let bytes = std::fs::read(kit("dicom/ct_single/CT_small.dcm")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("cut.dcm");
    std::fs::write(&path, &bytes[..bytes.len() - 10_000]).unwrap();
    let err = load_err(&path);
    assert_names(&err, &path);
    match &err.kind {
        LoadErrorKind::Truncated {
            needed, available, ..
        } => {
            assert_eq!(*needed, 128 * 128 * 2);
            // The file has a few bytes after PixelData, so a bit more is left.
            assert!(
                *available < *needed && *needed - *available <= 10_000,
                "{err}"
            );
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    // Same through the in-memory entry point.
    let err = load_dicom_bytes(
        &bytes[..bytes.len() - 10_000],
        &path,
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err.kind, LoadErrorKind::Truncated { .. }), "{err}");
}

#[test]
fn file_cut_inside_the_header_is_corrupt_not_a_panic() {
    let bytes = std::fs::read(kit("dicom/codecs/MR_small.dcm")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("cut_header.dcm");
    std::fs::write(&path, &bytes[..700]).unwrap();
    let err = load_err(&path);
    assert_names(&err, &path);
    assert!(
        matches!(
            err.kind,
            LoadErrorKind::Corrupt(_) | LoadErrorKind::Truncated { .. }
        ),
        "{err}"
    );
}

#[test]
fn garbage_bytes_are_not_recognised() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("garbage.dcm");
    let garbage: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &garbage).unwrap();
    let err = load_err(&path);
    assert_names(&err, &path);
    assert!(matches!(err.kind, LoadErrorKind::NotRecognised(_)), "{err}");

    // A DICM marker followed by garbage: corrupt, not a panic.
    let mut marked = garbage.clone();
    marked[128..132].copy_from_slice(b"DICM");
    std::fs::write(&path, &marked).unwrap();
    let err = load_err(&path);
    assert_names(&err, &path);
    assert!(matches!(err.kind, LoadErrorKind::Corrupt(_)), "{err}");
}

#[test]
fn dicom_without_pixel_data() {
    let mut obj = dicom_object::open_file(kit("dicom/codecs/MR_small.dcm")).unwrap();
    assert!(obj.remove_element(tags::PIXEL_DATA));
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("no_pixels.dcm");
    obj.write_to_file(&path).unwrap();
    let err = load_err(&path);
    assert_names(&err, &path);
    assert!(matches!(err.kind, LoadErrorKind::NoPixelData(_)), "{err}");
}

/// Rewrites the meta group's transfer syntax, keeping the data set bytes
/// (valid for syntaxes that encode the data set as explicit VR LE).
fn with_transfer_syntax(src: &Path, uid: &str) -> Vec<u8> {
    let bytes = std::fs::read(src).unwrap();
    let group_len = u32::from_le_bytes(bytes[140..144].try_into().unwrap()) as usize;
    let dataset = &bytes[144 + group_len..];
    let mut meta = dicom_object::open_file(src).unwrap().meta().clone();
    meta.transfer_syntax = uid.to_string();
    meta.update_information_group_length();
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    meta.write(&mut out).unwrap();
    out.extend_from_slice(dataset);
    out
}

#[test]
fn unsupported_transfer_syntax_names_uid_and_name() {
    let tmp = tempfile::tempdir().unwrap();
    for (uid, name) in [
        ("1.2.840.10008.1.2.4.100", "MPEG2"),
        ("1.2.840.10008.1.2.4.110", "JPEG XL"),
    ] {
        let path = tmp.path().join(format!("{uid}.dcm"));
        std::fs::write(
            &path,
            with_transfer_syntax(&kit("dicom/codecs/MR_small.dcm"), uid),
        )
        .unwrap();
        let err = load_err(&path);
        assert_names(&err, &path);
        let msg = err.to_string();
        assert!(matches!(err.kind, LoadErrorKind::Unsupported(_)), "{msg}");
        assert!(msg.contains(uid) && msg.contains(name), "{msg}");
    }
}

#[test]
fn series_with_inconsistent_image_size() {
    let src = kit("derived/ct_series_from_itk_kmeans_t1");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let tmp = tempfile::tempdir().unwrap();
    for f in &files[..5] {
        std::fs::copy(f, tmp.path().join(f.file_name().unwrap())).unwrap();
    }
    // Same series UID, but 64 × 64.
    let mut obj = dicom_object::open_file(&files[5]).unwrap();
    obj.put(DataElement::new(
        tags::ROWS,
        VR::US,
        PrimitiveValue::from(64u16),
    ));
    obj.put(DataElement::new(
        tags::COLUMNS,
        VR::US,
        PrimitiveValue::from(64u16),
    ));
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::from(vec![0u8; 64 * 64 * 2]),
    ));
    let odd = tmp.path().join("odd_size.dcm");
    obj.write_to_file(&odd).unwrap();
    let err = load_err(tmp.path());
    assert_names(&err, &odd);
    let msg = err.to_string();
    assert!(
        matches!(err.kind, LoadErrorKind::InconsistentSeries(_)),
        "{msg}"
    );
    assert!(
        msg.contains("64 rows × 64 columns") && msg.contains("128 × 128"),
        "{msg}"
    );
}

#[test]
fn empty_folder_and_folder_without_dicom() {
    let tmp = tempfile::tempdir().unwrap();
    let err = load_err(tmp.path());
    assert_names(&err, tmp.path());
    assert!(matches!(err.kind, LoadErrorKind::NoDicom), "{err}");

    std::fs::write(tmp.path().join("readme.txt"), "hello").unwrap();
    std::fs::write(tmp.path().join("image.dcm"), vec![7u8; 1000]).unwrap();
    std::fs::create_dir(tmp.path().join("sub")).unwrap();
    std::fs::write(tmp.path().join("sub/x.bin"), vec![0u8; 200]).unwrap();
    let err = load_err(tmp.path());
    assert_names(&err, tmp.path());
    assert!(matches!(err.kind, LoadErrorKind::NoDicom), "{err}");
}

#[test]
fn absurd_header_is_refused_before_allocating() {
    let tmp = tempfile::tempdir().unwrap();
    for src in ["dicom/codecs/MR_small.dcm", "dicom/codecs/MR_small_RLE.dcm"] {
        let mut obj = dicom_object::open_file(kit(src)).unwrap();
        obj.put(DataElement::new(
            tags::ROWS,
            VR::US,
            PrimitiveValue::from(30000u16),
        ));
        obj.put(DataElement::new(
            tags::COLUMNS,
            VR::US,
            PrimitiveValue::from(30000u16),
        ));
        obj.put(DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from("30000"),
        ));
        let path = tmp.path().join("huge.dcm");
        obj.write_to_file(&path).unwrap();
        let start = Instant::now();
        let err = load_err(&path);
        let elapsed = start.elapsed();
        assert_names(&err, &path);
        assert!(
            matches!(err.kind, LoadErrorKind::BadHeader(_)),
            "{src}: {err}"
        );
        // 30000³ × 2 bytes would be 54 TB: refusing must not even try.
        assert!(elapsed.as_secs_f64() < 2.0, "{src}: took {elapsed:?}");
    }
}

#[test]
fn damaged_bytes_never_panic() {
    // A cheap stand-in for the fuzz target: cuts and byte flips of small
    // files of several syntaxes must all return (Ok or Err), never panic.
    let path = Path::new("fuzz.dcm");
    for src in [
        "dicom/codecs/MR_small.dcm",
        "dicom/codecs/MR_small_RLE.dcm",
        "dicom/codecs/MR_small_jpeg_ls_lossless.dcm",
        "dicom/codecs/MR_small_bigendian.dcm",
        "dicom/multiframe/emri_small_jpeg_2k_lossless.dcm",
    ] {
        let bytes = std::fs::read(kit(src)).unwrap();
        for cut in (0..bytes.len()).step_by(bytes.len() / 60 + 1) {
            let _ = load_dicom_bytes(&bytes[..cut], path, &LoadOptions::default());
        }
        for (n, at) in (132..bytes.len()).step_by(bytes.len() / 80 + 1).enumerate() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0xFF - (n as u8 % 7);
            let _ = load_dicom_bytes(&flipped, path, &LoadOptions::default());
        }
    }
}

#[test]
fn in_memory_loading_matches_file_loading() {
    let path = kit("dicom/ct_single/CT_small.dcm");
    let bytes = std::fs::read(&path).unwrap();
    let from_bytes = load_dicom_bytes(&bytes, &path, &LoadOptions::default()).unwrap();
    let from_file = load(&path, &LoadOptions::default()).unwrap();
    assert_eq!(from_bytes.data, from_file.data);
    assert_eq!(from_bytes.ras_from_voxel, from_file.ras_from_voxel);
}

/// Found by `cargo fuzz run dicom`: an RLE frame whose segment decodes short
/// made dicom-rs's RLE decoder panic; rayseg decodes RLE itself and reports it.
#[test]
fn fuzz_regression_rle_short_segment_is_an_error() {
    let path = common::data_dir().join("fuzz/dicom_rle_short_segment.dcm");
    let bytes = std::fs::read(&path).unwrap();
    let result = std::panic::catch_unwind(|| {
        rayseg::volume::dicom::load_dicom_bytes(
            &bytes,
            &path,
            &rayseg::volume::LoadOptions::default(),
        )
    });
    let loaded = result.expect("the loader must not panic");
    let err = loaded
        .expect_err("a corrupt RLE frame must not load")
        .to_string();
    assert!(
        err.contains("dicom_rle_short_segment.dcm") && err.contains("RLE"),
        "{err}"
    );
}

/// Found by `cargo fuzz run dicom`: a one-bit change in a deflated data set
/// made dicom-rs's own inflating reader allocate over 2 GB. rayseg now inflates
/// deflated files itself (bounded) and parses them as explicit little endian,
/// with the usual length checks; this input is then an ordinary image.
#[test]
fn fuzz_regression_deflated_file_is_inflated_by_rayseg() {
    let path = common::data_dir().join("fuzz/dicom_deflate_huge_length.dcm");
    let v = load(&path, &LoadOptions::default()).expect("the mutated file is a valid image");
    assert_eq!(v.shape, [512, 512, 1]);
}

/// A 12-bit lossy JPEG frame cut in half (the item length rewritten to
/// match) is a decode error naming the file, not a panic or a picture.
#[test]
fn truncated_twelve_bit_jpeg_frame_is_an_error() {
    let src = kit("dicom/codecs/JPEG-lossy.dcm");
    let bytes = std::fs::read(&src).unwrap();
    // PixelData (7FE0,0010) OB, undefined length; then the offset table item.
    let at = bytes
        .windows(4)
        .rposition(|w| w == [0xE0, 0x7F, 0x10, 0x00])
        .unwrap();
    let le32 = |p: usize| u32::from_le_bytes(bytes[p..p + 4].try_into().unwrap()) as usize;
    let table = at + 12;
    let fragment = table + 8 + le32(table + 4);
    assert_eq!(bytes[fragment..fragment + 4], [0xFE, 0xFF, 0x00, 0xE0]);
    let half = (le32(fragment + 4) / 2) & !1;
    let mut cut = bytes[..fragment + 4].to_vec();
    cut.extend_from_slice(&(half as u32).to_le_bytes());
    cut.extend_from_slice(&bytes[fragment + 8..fragment + 8 + half]);
    cut.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    let path = PathBuf::from("cut/JPEG-lossy-truncated.dcm");
    let loaded =
        std::panic::catch_unwind(|| load_dicom_bytes(&cut, &path, &LoadOptions::default()))
            .expect("the loader must not panic");
    let err = loaded.expect_err("a truncated 12-bit JPEG frame must not load");
    assert_names(&err, &path);
    let msg = err.to_string();
    assert!(matches!(err.kind, LoadErrorKind::Corrupt(_)), "{msg}");
    assert!(msg.contains("12-bit JPEG"), "{msg}");
}

/// Found by `cargo fuzz run dicom`: a file-meta string declaring ~4 GB made
/// dicom-object allocate it while rayseg only wanted the transfer syntax.
#[test]
fn fuzz_regression_meta_huge_string_is_refused() {
    // The second input (no transfer syntax, then a huge data-set length) reached
    // the error diagnosis, which parsed without the length walk.
    for name in [
        "dicom_meta_huge_string.dcm",
        "dicom_no_syntax_huge_length.dcm",
    ] {
        let path = common::data_dir().join("fuzz").join(name);
        let err = load(&path, &LoadOptions::default()).expect_err("damaged input must not load");
        assert!(err.to_string().contains(name), "{err}");
    }
}

/// Found by `cargo fuzz run dicom`: a JPEG 2000 codestream larger than Rows ×
/// Columns made dicom-rs's codec adapter index past its output buffer (a
/// panic that rayseg's guard turned into an error). The codestream's SIZ
/// segment is now checked first, so the codec never runs on it.
#[test]
fn fuzz_regression_jpeg2000_larger_than_the_header_is_refused_before_decoding() {
    let name = "dicom_jpeg2k_component_overflow.dcm";
    let path = common::data_dir().join("fuzz").join(name);
    let err = load(&path, &LoadOptions::default()).expect_err("damaged input must not load");
    let msg = err.to_string();
    assert!(msg.contains(name), "{msg}");
    assert!(msg.contains("JPEG 2000"), "{msg}");
    assert!(!msg.contains("codec failed"), "{msg}");
}

/// Found by `cargo fuzz run dicom`: an FD element of 2 bytes made dicom-parser
/// read no number but skip 2 bytes in its count, so the next "element"
/// declared 1.4 GB and was allocated (4.7 s, 1.4 GB RSS for a 40 kB file).
/// Binary numbers whose length is not a multiple of their width are refused
/// by rayseg's length walk first.
#[test]
fn fuzz_regression_binary_value_of_odd_length_is_refused_before_parsing() {
    let name = "dicom_fd_length_desync.dcm";
    let path = common::data_dir().join("fuzz").join(name);
    let err = load(&path, &LoadOptions::default()).expect_err("damaged input must not load");
    let msg = err.to_string();
    assert!(msg.contains(name), "{msg}");
    assert!(
        msg.contains("(0018,9093)") && msg.contains("not a multiple"),
        "{msg}"
    );
}
