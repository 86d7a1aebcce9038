//! Malformed NIfTI input gets a clear error naming the file, never a panic or
//! a huge allocation.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::data_dir;
use rayseg::volume::{LoadErrorKind, LoadOptions, load};

fn kit_bytes(rel: &str) -> Vec<u8> {
    std::fs::read(data_dir().join(rel)).unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut out).unwrap();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn write_tmp(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Loads and returns the error, checking that its message names the file.
fn load_err(path: &Path) -> rayseg::volume::LoadError {
    let Err(err) = load(path, &LoadOptions::default()) else {
        panic!("malformed input {} must not load", path.display());
    };
    let msg = err.to_string();
    let name = path.file_name().unwrap().to_string_lossy();
    assert!(
        msg.contains(&*name),
        "message does not name the file: {msg}"
    );
    err
}

fn plain_itk() -> Vec<u8> {
    gunzip(&kit_bytes("nifti/itk_kmeans/KmeansTest_T1UCharRaw.nii.gz"))
}

#[test]
fn truncated_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = plain_itk();
    let p = write_tmp(dir.path(), "cut.nii", &bytes[..bytes.len() / 2]);
    let err = load_err(&p);
    assert!(matches!(err.kind, LoadErrorKind::Truncated { .. }), "{err}");
    // Cut inside the header too.
    let p = write_tmp(dir.path(), "cuthdr.nii", &bytes[..200]);
    assert!(matches!(load_err(&p).kind, LoadErrorKind::Truncated { .. }));
}

#[test]
fn truncated_gzip_stream() {
    let dir = tempfile::tempdir().unwrap();
    let gz = kit_bytes("nifti/itk_kmeans/KmeansTest_T1UCharRaw.nii.gz");
    let p = write_tmp(dir.path(), "cut.nii.gz", &gz[..gz.len() / 2]);
    let err = load_err(&p);
    assert!(
        matches!(
            err.kind,
            LoadErrorKind::Truncated { .. } | LoadErrorKind::Corrupt(_)
        ),
        "{err}"
    );
}

#[test]
fn corrupt_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let mut gz = kit_bytes("nifti/itk_kmeans/KmeansTest_T1UCharRaw.nii.gz");
    let n = gz.len();
    for b in &mut gz[40..n / 2] {
        *b ^= 0x5a;
    }
    let p = write_tmp(dir.path(), "corrupt.nii.gz", &gz);
    let err = load_err(&p);
    assert!(
        matches!(
            err.kind,
            LoadErrorKind::Corrupt(_) | LoadErrorKind::Truncated { .. }
        ),
        "{err}"
    );
}

#[test]
fn garbage_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let junk: Vec<u8> = (0..5000u32)
        .map(|n| (n.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let p = write_tmp(dir.path(), "junk.nii", &junk);
    assert!(matches!(load_err(&p).kind, LoadErrorKind::NotRecognised(_)));
    let p = write_tmp(dir.path(), "empty.nii.gz", &[]);
    load_err(&p);
}

fn set_dims(bytes: &mut [u8], dims: [i16; 3]) {
    for (a, d) in dims.iter().enumerate() {
        bytes[42 + 2 * a..44 + 2 * a].copy_from_slice(&d.to_le_bytes());
    }
}

#[test]
fn absurd_dimensions_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = plain_itk();
    set_dims(&mut bytes, [30000, 30000, 30000]);
    let p = write_tmp(dir.path(), "huge.nii", &bytes);
    let err = load_err(&p);
    assert!(matches!(err.kind, LoadErrorKind::Truncated { .. }), "{err}");
    // The same header compressed: the compressed size bounds what it can hold.
    let p = write_tmp(dir.path(), "huge.nii.gz", &gzip(&bytes));
    let err = load_err(&p);
    assert!(matches!(err.kind, LoadErrorKind::BadHeader(_)), "{err}");
    assert!(err.to_string().contains("27000000000000"), "{err}");
    // Negative and zero dimensions.
    set_dims(&mut bytes, [128, -5, 62]);
    let p = write_tmp(dir.path(), "negative.nii", &bytes);
    assert!(matches!(load_err(&p).kind, LoadErrorKind::BadHeader(_)));
}

#[test]
fn bad_vox_offset() {
    let dir = tempfile::tempdir().unwrap();
    let original = plain_itk();
    for (name, offset) in [
        ("inside.nii", 100.0f32),
        ("negative.nii", -352.0),
        ("nan.nii", f32::NAN),
        ("beyond.nii", 1.0e9),
    ] {
        let mut bytes = original.clone();
        bytes[108..112].copy_from_slice(&offset.to_le_bytes());
        let p = write_tmp(dir.path(), name, &bytes);
        let err = load_err(&p);
        assert!(
            matches!(
                err.kind,
                LoadErrorKind::BadHeader(_) | LoadErrorKind::Truncated { .. }
            ),
            "{name}: {err}"
        );
    }
}

#[test]
fn unsupported_datatype_and_bitpix_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = plain_itk();
    bytes[70..72].copy_from_slice(&128i16.to_le_bytes()); // RGB24
    bytes[72..74].copy_from_slice(&24i16.to_le_bytes());
    let p = write_tmp(dir.path(), "rgb.nii", &bytes);
    let err = load_err(&p);
    assert!(matches!(err.kind, LoadErrorKind::Unsupported(_)), "{err}");
    assert!(err.to_string().contains("RGB24"), "{err}");
    let mut bytes = plain_itk();
    assert_eq!(&bytes[70..72], &4i16.to_le_bytes(), "the kit file is int16");
    bytes[72..74].copy_from_slice(&8i16.to_le_bytes());
    let p = write_tmp(dir.path(), "bitpix.nii", &bytes);
    assert!(matches!(load_err(&p).kind, LoadErrorKind::BadHeader(_)));
}

#[test]
fn missing_file_names_the_path() {
    let p = data_dir().join("no/such/file.nii.gz");
    assert!(matches!(load_err(&p).kind, LoadErrorKind::Io(_)));
}
