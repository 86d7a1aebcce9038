//! NRRD loading checked against SimpleITK's reading of every generated file
//! in tests/data/nrrd (see its README and make_nrrd_files.py), plus the bad
//! files' error kinds.

use std::path::{Path, PathBuf};

use rayseg::volume::{LoadErrorKind, LoadOptions, Volume, load};
use serde::Deserialize;

#[derive(Deserialize)]
struct Reference {
    files: Vec<Entry>,
    bad: Vec<BadEntry>,
}

#[derive(Deserialize)]
struct Entry {
    path: String,
    reader: String,
    shape: [usize; 3],
    volumes: usize,
    volume_index: usize,
    ras_from_voxel: [[f64; 4]; 4],
    rayseg_type: String,
    values: Vec<f64>,
}

#[derive(Deserialize)]
struct BadEntry {
    path: String,
    kind: String,
    message_contains: String,
}

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/nrrd")
}

fn reference() -> Reference {
    let text = std::fs::read_to_string(folder().join("reference.json"))
        .expect("tests/data/nrrd/reference.json (run make_nrrd_files.py)");
    serde_json::from_str(&text).expect("reference.json parses")
}

fn load_volume(path: &str, volume_index: usize) -> Result<Volume, rayseg::volume::LoadError> {
    load(
        &folder().join(path),
        &LoadOptions {
            volume_index,
            ..Default::default()
        },
    )
}

/// Every difference between a loaded volume and its reference entry.
fn compare(e: &Entry, v: &Volume) -> Vec<String> {
    let mut problems = Vec::new();
    if v.shape != e.shape {
        problems.push(format!("shape {:?}, want {:?}", v.shape, e.shape));
    }
    if v.provenance.volumes_in_source != e.volumes {
        problems.push(format!(
            "{} volumes, want {}",
            v.provenance.volumes_in_source, e.volumes
        ));
    }
    if v.provenance.volume_index != e.volume_index || v.provenance.format != "nrrd" {
        problems.push(format!("provenance {:?}", v.provenance));
    }
    let rows = v.ras_from_voxel.transpose().to_cols_array_2d();
    for (r, (got, want)) in rows.iter().zip(&e.ras_from_voxel).enumerate() {
        for c in 0..4 {
            if (got[c] - want[c]).abs() > 1e-4 {
                problems.push(format!("affine[{r}][{c}] = {}, want {}", got[c], want[c]));
            }
        }
    }
    if v.data.type_name() != e.rayseg_type {
        problems.push(format!(
            "type {}, want {}",
            v.data.type_name(),
            e.rayseg_type
        ));
    }
    if v.data.len() != e.values.len() {
        problems.push(format!("{} values, want {}", v.data.len(), e.values.len()));
    }
    let wrong: Vec<usize> = (0..e.values.len().min(v.data.len()))
        .filter(|&i| v.data.get_f64(i) != Some(e.values[i]))
        .collect();
    if let Some(&first) = wrong.first() {
        problems.push(format!(
            "{} values differ, first at {first}: {:?}, want {}",
            wrong.len(),
            v.data.get_f64(first),
            e.values[first]
        ));
    }
    problems
}

#[test]
fn every_file_matches_simpleitk() {
    let reference = reference();
    assert!(
        reference.files.len() >= 60,
        "expected at least 60 reference entries, got {}",
        reference.files.len()
    );
    let mut failures = Vec::new();
    for e in &reference.files {
        assert!(e.reader.starts_with("SimpleITK"), "{}", e.reader);
        match load_volume(&e.path, e.volume_index) {
            Ok(v) => failures.extend(
                compare(e, &v)
                    .into_iter()
                    .map(|p| format!("{} [volume {}]: {p}", e.path, e.volume_index)),
            ),
            Err(err) => failures.push(format!("{}: {err}", e.path)),
        }
    }
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
}

#[test]
fn reference_covers_what_it_must() {
    let reference = reference();
    let has = |needle: &str| reference.files.iter().any(|e| e.path.contains(needle));
    for needle in [
        "type_int8",
        "type_uint8",
        "type_int16",
        "type_uint16",
        "type_int32",
        "type_uint32",
        "type_int64",
        "type_uint64",
        "type_float",
        "type_double",
        "enc_gzip",
        "enc_bzip2",
        "enc_ascii",
        "enc_hex",
        "enc_raw_big",
        "space_lps_short",
        "space_ras_long",
        "space_las",
        "space_scanner_xyz",
        "nospace_",
        "detached_list",
        "detached_pattern",
        "detached_gz",
        "skip_",
        "slice_2d",
        "seg_list_first",
        "series_list_last",
        "labelmap_slicer",
    ] {
        assert!(has(needle), "no reference entry for {needle}");
    }
    // 4-D files are checked on a volume other than the first too.
    assert!(
        reference
            .files
            .iter()
            .any(|e| e.path.starts_with("seg_") && e.volume_index > 0)
    );
}

#[test]
fn bad_files_give_their_error_kind() {
    let reference = reference();
    assert!(reference.bad.len() >= 10);
    for b in &reference.bad {
        let Err(err) = load_volume(&b.path, 0) else {
            panic!("{} must not load", b.path);
        };
        let kind = match &err.kind {
            LoadErrorKind::Io(_) => "Io",
            LoadErrorKind::Truncated { .. } => "Truncated",
            LoadErrorKind::NotRecognised(_) => "NotRecognised",
            LoadErrorKind::Corrupt(_) => "Corrupt",
            LoadErrorKind::BadHeader(_) => "BadHeader",
            LoadErrorKind::Unsupported(_) => "Unsupported",
            LoadErrorKind::BadOption(_) => "BadOption",
            other => panic!("{}: unexpected kind {other:?}", b.path),
        };
        let message = err.to_string();
        assert_eq!(kind, b.kind, "{}: {message}", b.path);
        assert!(
            message.contains(&b.path) && message.contains(&b.message_contains),
            "{}: message should name the file and say `{}`: {message}",
            b.path,
            b.message_contains
        );
    }
}

#[test]
fn volume_out_of_range_names_the_count() {
    for (path, count) in [
        ("seg_list_first.seg.nrrd", 3),
        ("series_list_last.nrrd", 4),
        ("type_int16.nrrd", 1),
    ] {
        let err = load_volume(path, count).unwrap_err();
        assert!(
            matches!(err.kind, LoadErrorKind::BadOption(_)),
            "{path}: {err}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&format!("{count} volume")) && message.contains(path),
            "{message}"
        );
    }
}

#[test]
fn warnings_say_what_a_user_must_know() {
    let warned = |path: &str, index: usize, needle: &str| {
        let v = load_volume(path, index).unwrap();
        assert!(
            v.warnings.iter().any(|w| w.contains(needle)),
            "{path}: no warning with `{needle}` in {:?}",
            v.warnings
        );
    };
    warned("seg_list_first.seg.nrrd", 2, "volume 2 of 3");
    warned("series_unmarked_nospace.nrrd", 0, "last axis");
    warned("nospace_default.nrrd", 0, "no space");
    warned("type_int64_big.nrrd", 0, "64-bit");
    assert!(
        load_volume("type_int16.nrrd", 0)
            .unwrap()
            .warnings
            .is_empty()
    );
}

#[test]
fn bytes_and_file_paths_agree() {
    for path in [
        "seg_list_first.seg.nrrd",
        "enc_hex_big.nrrd",
        "skip_from_end.nrrd",
    ] {
        let full = folder().join(path);
        let bytes = std::fs::read(&full).unwrap();
        let options = LoadOptions {
            volume_index: 0,
            ..Default::default()
        };
        let from_bytes = rayseg::volume::nrrd::load_nrrd_bytes(&bytes, &full, &options).unwrap();
        let from_file = load(&full, &options).unwrap();
        assert_eq!(from_bytes.data, from_file.data, "{path}");
        assert_eq!(
            from_bytes.ras_from_voxel, from_file.ras_from_voxel,
            "{path}"
        );
    }
    // A detached header given as bytes finds its data next to `path`.
    let nhdr = folder().join("detached_list.nhdr");
    let bytes = std::fs::read(&nhdr).unwrap();
    let v = rayseg::volume::nrrd::load_nrrd_bytes(&bytes, &nhdr, &LoadOptions::default()).unwrap();
    assert_eq!(v.shape, [7, 6, 5]);
}
