//! MetaImage loading checked against SimpleITK's reading of every file in
//! tests/data/metaimage (made by make_metaimage_files.py there), and the
//! malformed files there against the errors they must give.

use std::path::{Path, PathBuf};

use rayseg::volume::metaimage::load_metaimage_bytes;
use rayseg::volume::{LoadError, LoadErrorKind, LoadOptions, Volume, load};
use serde::Deserialize;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/metaimage")
}

#[derive(Deserialize)]
struct Reference {
    files: Vec<Good>,
    bad: Vec<Bad>,
}

#[derive(Deserialize)]
struct Good {
    path: String,
    volume_index: usize,
    shape: [usize; 3],
    volumes: usize,
    ras_from_voxel: [[f64; 4]; 4],
    dtype: String,
    modality: String,
    warnings: Vec<String>,
    values: Vec<serde_json::Number>,
}

#[derive(Deserialize)]
struct Bad {
    path: String,
    error: String,
    message_contains: String,
}

fn reference() -> Reference {
    let text = std::fs::read_to_string(dir().join("reference.json")).expect("reference.json");
    serde_json::from_str(&text).expect("reference.json parses")
}

fn options(volume_index: usize) -> LoadOptions {
    LoadOptions {
        volume_index,
        ..Default::default()
    }
}

/// Every difference between a loaded volume and its reference entry.
fn compare(r: &Good, v: &Volume) -> Vec<String> {
    let mut bad = Vec::new();
    if v.shape != r.shape {
        bad.push(format!("shape {:?} != {:?}", v.shape, r.shape));
    }
    if v.provenance.volumes_in_source != r.volumes || v.provenance.volume_index != r.volume_index {
        bad.push(format!(
            "volume {} of {} != {} of {}",
            v.provenance.volume_index, v.provenance.volumes_in_source, r.volume_index, r.volumes
        ));
    }
    if v.provenance.format != "metaimage" {
        bad.push(format!("format {}", v.provenance.format));
    }
    let m = v.ras_from_voxel.to_cols_array_2d();
    for (row, want_row) in r.ras_from_voxel.iter().enumerate() {
        for (col, &want) in want_row.iter().enumerate() {
            let got = m[col][row];
            if (got - want).abs() > 1e-4 {
                bad.push(format!("ras_from_voxel[{row}][{col}] = {got} != {want}"));
            }
        }
    }
    if v.data.type_name() != r.dtype {
        bad.push(format!("dtype {} != {}", v.data.type_name(), r.dtype));
    }
    if v.modality.as_str() != r.modality {
        bad.push(format!(
            "modality {} != {}",
            v.modality.as_str(),
            r.modality
        ));
    }
    if v.data.len() != r.values.len() {
        bad.push(format!("{} values != {}", v.data.len(), r.values.len()));
    } else {
        let wrong: Vec<usize> = (0..r.values.len())
            .filter(|&i| v.data.get_f64(i) != r.values[i].as_f64())
            .collect();
        if let Some(&first) = wrong.first() {
            bad.push(format!(
                "{} values differ, first at {first}: {:?} != {}",
                wrong.len(),
                v.data.get_f64(first),
                r.values[first]
            ));
        }
    }
    for want in &r.warnings {
        if !v.warnings.iter().any(|w| w.contains(want.as_str())) {
            bad.push(format!(
                "no warning containing '{want}' in {:?}",
                v.warnings
            ));
        }
    }
    if r.warnings.is_empty() && !v.warnings.is_empty() {
        bad.push(format!("unexpected warnings {:?}", v.warnings));
    }
    bad
}

#[test]
fn every_file_matches_simpleitk() {
    let refs = reference();
    assert!(refs.files.len() >= 70, "only {} entries", refs.files.len());
    let mut failures = Vec::new();
    for r in &refs.files {
        match load(&dir().join(&r.path), &options(r.volume_index)) {
            Ok(v) => failures.extend(
                compare(r, &v)
                    .into_iter()
                    .map(|p| format!("{} [{}]: {p}", r.path, r.volume_index)),
            ),
            Err(e) => failures.push(format!("{} [{}]: {e}", r.path, r.volume_index)),
        }
    }
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
}

fn kind_name(kind: &LoadErrorKind) -> &'static str {
    match kind {
        LoadErrorKind::Io(_) => "Io",
        LoadErrorKind::Truncated { .. } => "Truncated",
        LoadErrorKind::NotRecognised(_) => "NotRecognised",
        LoadErrorKind::Corrupt(_) => "Corrupt",
        LoadErrorKind::BadHeader(_) => "BadHeader",
        LoadErrorKind::Unsupported(_) => "Unsupported",
        LoadErrorKind::BadOption(_) => "BadOption",
        _ => "other",
    }
}

/// Loads and returns the error, checking that its message names the file.
fn load_err(path: &Path, volume_index: usize) -> LoadError {
    let Err(err) = load(path, &options(volume_index)) else {
        panic!("{} must not load", path.display());
    };
    let name = path.file_name().unwrap().to_string_lossy();
    assert!(
        err.to_string().contains(&*name),
        "message does not name the file: {err}"
    );
    err
}

#[test]
fn bad_files_give_the_expected_errors() {
    let refs = reference();
    assert!(refs.bad.len() >= 15);
    let mut failures = Vec::new();
    for b in &refs.bad {
        let err = load_err(&dir().join(&b.path), 0);
        let msg = err.to_string();
        if kind_name(&err.kind) != b.error || !msg.contains(&b.message_contains) {
            failures.push(format!(
                "{}: expected {} containing '{}', got {}: {msg}",
                b.path,
                b.error,
                b.message_contains,
                kind_name(&err.kind)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn volume_index_out_of_range() {
    for (file, count) in [
        ("dims/4d.mha", 3),
        ("dims/channels2.mha", 2),
        ("types/short.mha", 1),
    ] {
        let err = load_err(&dir().join(file), count);
        assert!(matches!(err.kind, LoadErrorKind::BadOption(_)), "{err}");
        assert!(
            err.to_string().contains(&format!("holds {count} volume")),
            "{err}"
        );
    }
}

#[test]
fn bytes_load_like_files() {
    for (file, index) in [
        ("dims/4d_zlib.mha", 2),
        ("types/double_msb.mha", 0),
        ("detached/sized.mhd", 0),
        ("detached/list.mhd", 0),
        ("detached/local_headersize_end.mha", 0),
    ] {
        let path = dir().join(file);
        let from_file = load(&path, &options(index)).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let from_bytes = load_metaimage_bytes(&bytes, &path, &options(index)).unwrap();
        assert_eq!(from_file.data, from_bytes.data, "{file}");
        assert_eq!(
            from_file.ras_from_voxel, from_bytes.ras_from_voxel,
            "{file}"
        );
    }
}

#[test]
fn header_without_data_line_is_bounded() {
    // 5 MiB of header lines and never an ElementDataFile.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("endless.mha");
    let mut text = String::from("ObjectType = Image\nNDims = 3\n");
    while text.len() < 5 << 20 {
        text.push_str("Comment = still no data file here\n");
    }
    std::fs::write(&path, &text).unwrap();
    let err = load_err(&path, 0);
    assert!(matches!(err.kind, LoadErrorKind::BadHeader(_)), "{err}");
    assert!(err.to_string().contains("first 4194304 bytes"), "{err}");
}

#[test]
fn garbage_never_panics() {
    // Every prefix of a few real files, and each with bytes flipped, must
    // load or fail cleanly.
    let tmp = tempfile::tempdir().unwrap();
    for file in [
        "types/short.mha",
        "dims/4d_zlib.mha",
        "dims/channels2.mha",
        "syntax/crlf_colons.mha",
    ] {
        let bytes = std::fs::read(dir().join(file)).unwrap();
        let path = tmp.path().join("x.mha");
        for cut in (0..bytes.len()).step_by(7) {
            let _ = load_metaimage_bytes(&bytes[..cut], &path, &options(0));
        }
        for at in (0..bytes.len().min(600)).step_by(3) {
            let mut b = bytes.clone();
            b[at] ^= 0x5a;
            let _ = load_metaimage_bytes(&b, &path, &options(1));
        }
    }
}

/// Peak resident memory of this process, from /proc (bytes).
#[cfg(target_os = "linux")]
fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// The last of six 16 MiB volumes, raw and zlib-compressed (with
/// incompressible values, so the compressed stream is as big as the raw
/// one): memory must follow the volume, not the 96 MiB stream.
#[cfg(target_os = "linux")]
#[test]
fn memory_follows_the_volume_not_the_file() {
    use std::io::Write;
    let (dims, volumes) = ([256u64, 256, 128], 6u64);
    let volume_bytes = dims.iter().product::<u64>() * 2;
    let tmp = tempfile::tempdir().unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut chunk = vec![0u8; 1 << 20];
    let mut write_stream = |out: &mut dyn Write| {
        for _ in 0..volume_bytes * volumes / chunk.len() as u64 {
            for b in chunk.chunks_exact_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                b.copy_from_slice(&state.to_le_bytes());
            }
            out.write_all(&chunk).unwrap();
        }
    };
    let header = |extra: &str| {
        format!(
            "ObjectType = Image\nNDims = 4\nDimSize = 256 256 128 {volumes}\n{extra}\
             ElementType = MET_USHORT\nElementDataFile = LOCAL\n"
        )
    };
    let raw = tmp.path().join("raw.mha");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&raw).unwrap());
    f.write_all(header("").as_bytes()).unwrap();
    write_stream(&mut f);
    drop(f);
    let zlib = tmp.path().join("zlib.mha");
    let mut f = std::fs::File::create(&zlib).unwrap();
    f.write_all(header("CompressedData = True\n").as_bytes())
        .unwrap();
    let mut z = flate2::write::ZlibEncoder::new(f, flate2::Compression::fast());
    write_stream(&mut z);
    z.finish().unwrap();

    let before = peak_rss_bytes();
    for path in [&raw, &zlib] {
        let v = load(path, &options(volumes as usize - 1)).unwrap();
        assert_eq!(v.voxel_count() as u64 * 2, volume_bytes);
        assert_eq!(v.provenance.volumes_in_source, volumes as usize);
    }
    let grown = peak_rss_bytes().saturating_sub(before);
    assert!(
        grown < volume_bytes * 5 / 2,
        "peak memory grew by {} MiB for a {} MiB volume",
        grown >> 20,
        volume_bytes >> 20
    );
}
