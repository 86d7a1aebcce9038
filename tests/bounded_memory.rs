//! No input makes loading cost more than max(2 GB, 2.5 × the decoded volume)
//! of peak memory, or run away in time (issue 13). `rayseg info --json` runs
//! in a child process on every file under the loader test folders (the bad
//! inputs, fuzz regressions and real-world defects among them) and on
//! headers written here that claim terabytes; the child's peak RSS comes from
//! wait4(2), so each file is measured alone.

#![cfg(target_os = "linux")]

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FLOOR_BYTES: u64 = 2 << 30;
const TIME_LIMIT: Duration = Duration::from_secs(60);

struct Run {
    peak_rss_bytes: u64,
    elapsed: Duration,
    /// Bytes of the decoded volume when the file loaded.
    decoded_bytes: Option<u64>,
}

fn bytes_per_voxel(dtype: &str) -> u64 {
    match dtype {
        "uint8" | "int8" => 1,
        "uint16" | "int16" => 2,
        "float64" => 8,
        _ => 4,
    }
}

/// Runs `rayseg info --json path`, killing it past the time limit.
// The child is reaped by wait4 below, which is what reports its peak RSS.
#[allow(clippy::zombie_processes)]
fn measure(path: &Path) -> Run {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .args(["info", "--json"])
        .arg(path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the rayseg binary runs");
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 only writes it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own unwaited child; the pointers are to locals.
        let got = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(got >= 0, "wait4 failed for {}", path.display());
        if got == pid {
            break;
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            panic!("{} still loading after {TIME_LIMIT:?}", path.display());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let elapsed = started.elapsed();
    let text = reader.join().unwrap_or_default();
    let decoded_bytes = (libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0)
        .then(|| serde_json::from_str::<serde_json::Value>(&text).ok())
        .flatten()
        .map(|info| {
            let voxels: u64 = info["shape"]
                .as_array()
                .map(|s| s.iter().filter_map(|n| n.as_u64()).product())
                .unwrap_or(0);
            voxels * bytes_per_voxel(info["dtype"].as_str().unwrap_or(""))
        });
    assert!(
        !libc::WIFSIGNALED(status),
        "{} killed the loader with signal {}",
        path.display(),
        libc::WTERMSIG(status)
    );
    Run {
        // ru_maxrss is in KiB on Linux.
        peak_rss_bytes: usage.ru_maxrss as u64 * 1024,
        elapsed,
        decoded_bytes,
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else if !path
            .extension()
            .is_some_and(|e| ["py", "md", "json", "txt"].contains(&e.to_str().unwrap_or("")))
        {
            out.push(path);
        }
    }
}

/// Headers whose sizes claim far more than their files hold.
fn write_claims(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut put = |name: &str, bytes: Vec<u8>| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        out.push(path);
    };
    // NIfTI-1: 65535 × 65535 × 65535 float64 voxels, no data.
    let mut nii = vec![0u8; 352];
    nii[0..4].copy_from_slice(&348i32.to_le_bytes());
    for (i, d) in [3i16, 32767, 32767, 32767, 1, 1, 1, 1].iter().enumerate() {
        nii[40 + 2 * i..42 + 2 * i].copy_from_slice(&d.to_le_bytes());
    }
    nii[70..72].copy_from_slice(&64i16.to_le_bytes());
    nii[72..74].copy_from_slice(&64i16.to_le_bytes());
    nii[108..112].copy_from_slice(&352f32.to_le_bytes());
    nii[344..348].copy_from_slice(b"n+1\0");
    put("claim_2e14_voxels.nii", nii);
    // NRRD, raw, gzip and bzip2 bodies of a few bytes for 10^12 voxels.
    for (name, encoding, body) in [
        ("claim_raw.nrrd", "raw", vec![0u8; 64]),
        (
            "claim_gzip.nrrd",
            "gzip",
            vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0],
        ),
        ("claim_bzip2.nrrd", "bzip2", b"BZh91AY&SY".to_vec()),
    ] {
        let mut bytes = format!(
            "NRRD0004\ntype: double\ndimension: 3\nsizes: 10000 10000 10000\n\
             encoding: {encoding}\nendian: little\n\n"
        )
        .into_bytes();
        bytes.extend(body);
        put(name, bytes);
    }
    // MetaImage, raw and zlib.
    for (name, compressed) in [("claim_raw.mha", "False"), ("claim_zlib.mha", "True")] {
        let mut bytes = format!(
            "ObjectType = Image\nNDims = 3\nDimSize = 10000 10000 10000\n\
             ElementType = MET_DOUBLE\nCompressedData = {compressed}\nElementDataFile = LOCAL\n"
        )
        .into_bytes();
        bytes.extend([0x78, 0x9c, 3, 0, 0, 0, 0, 1]);
        put(name, bytes);
    }
    out
}

#[test]
fn no_input_exceeds_the_memory_bound() {
    let data = common::data_dir();
    let mut inputs = Vec::new();
    for sub in ["fuzz", "dicom_defects", "nrrd", "metaimage", "third_party"] {
        files_under(&data.join(sub), &mut inputs);
    }
    inputs.sort();
    assert!(inputs.len() > 150, "only {} inputs found", inputs.len());
    let tmp = tempfile::tempdir().unwrap();
    inputs.extend(write_claims(tmp.path()));

    let mut worst: Option<(u64, PathBuf)> = None;
    for path in &inputs {
        let run = measure(path);
        let limit = FLOOR_BYTES.max(run.decoded_bytes.unwrap_or(0) * 5 / 2);
        assert!(
            run.peak_rss_bytes <= limit,
            "{}: peak RSS {} MB over the {} MB bound (decoded volume {:?} bytes)",
            path.display(),
            run.peak_rss_bytes >> 20,
            limit >> 20,
            run.decoded_bytes
        );
        assert!(run.elapsed < TIME_LIMIT, "{}", path.display());
        if worst.as_ref().is_none_or(|(w, _)| run.peak_rss_bytes > *w) {
            worst = Some((run.peak_rss_bytes, path.clone()));
        }
    }
    if let Some((peak, path)) = worst {
        eprintln!(
            "{} inputs; largest peak RSS {} MB ({})",
            inputs.len(),
            peak >> 20,
            path.display()
        );
    }
}

/// A large native multi-frame file: the bound must hold for real volumes,
/// not only for bad input, and well below the 2 GB floor. 512 × 512 × 300
/// uint16 frames (157 MB) may cost 2.5 × that at most; holding the parsed
/// pixel data, a 4-byte copy of every stored value and the output (4×), as
/// the loader once did, fails.
#[test]
fn large_multiframe_dicom_costs_at_most_two_and_a_half_volumes() {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    let (rows, columns, frames) = (512u16, 512u16, 300usize);
    let voxels = usize::from(rows) * usize::from(columns) * frames;
    let mut obj =
        dicom_object::open_file(common::data_dir().join("dicom/codecs/MR_small.dcm")).unwrap();
    let put = |obj: &mut dicom_object::DefaultDicomObject, tag, vr, value| {
        obj.put(DataElement::new(tag, vr, value));
    };
    put(&mut obj, tags::ROWS, VR::US, PrimitiveValue::from(rows));
    put(
        &mut obj,
        tags::COLUMNS,
        VR::US,
        PrimitiveValue::from(columns),
    );
    put(
        &mut obj,
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        PrimitiveValue::from(frames.to_string()),
    );
    let samples: Vec<u16> = (0..voxels).map(|n| (n % 4093) as u16).collect();
    put(
        &mut obj,
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(samples.into()),
    );
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("multiframe.dcm");
    obj.write_to_file(&path).unwrap();
    drop(obj);

    let run = measure(&path);
    let decoded = run.decoded_bytes.expect("the file loads");
    assert_eq!(decoded, voxels as u64 * 2);
    assert!(
        run.peak_rss_bytes <= decoded * 5 / 2,
        "peak RSS {} MB for a {} MB volume",
        run.peak_rss_bytes >> 20,
        decoded >> 20
    );
}
