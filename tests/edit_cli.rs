//! `rayseg edit` and `rayseg journal`: scripts of edits, journal verify /
//! checkout / log, tamper detection by exit code, and recovery after the
//! editing process is killed (SIGKILL) mid-script.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn rayseg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .args(args)
        .env("RAYSEG_AUTHOR", "cli-tester")
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stdout {}\nstderr {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A 64³ CT phantom with lesions (the CLI's own generator).
fn phantom(dir: &Path) -> PathBuf {
    let path = dir.join("ct.nii.gz");
    let p = path.to_str().unwrap();
    ok(&rayseg(&[
        "phantom",
        "--size",
        "64",
        "--spacing",
        "3,3,3",
        "--seed",
        "5",
        "-o",
        p,
    ]));
    path
}

fn script(dir: &Path, name: &str, ops: &serde_json::Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, ops.to_string()).unwrap();
    path
}

fn ops() -> serde_json::Value {
    serde_json::json!([
        {"op":"brush","label":1,"points_mm":[[0,0,0],[10,5,0]],"radius_mm":5.0,"erase":false},
        {"op":"grow","label":2,"seed_mm":[0,0,0],"lower":-300,"upper":300,"connectivity":6,"max_distance_mm":15.0},
        {"op":"set_label","label":2,"name":"Tumour","review":"completed"},
        {"op":"brush","label":2,"points_mm":[[0,0,0]],"radius_mm":3.0,"erase":true},
        {"op":"undo"}
    ])
}

#[test]
fn edit_prints_one_json_object_per_edit_and_the_journal_verifies_and_checks_out() {
    let dir = tempfile::tempdir().unwrap();
    let ct = phantom(dir.path());
    let s = script(dir.path(), "ops.json", &ops());
    let out_path = dir.path().join("seg.nii.gz");
    let stdout = ok(&rayseg(&[
        "edit",
        ct.to_str().unwrap(),
        "-o",
        out_path.to_str().unwrap(),
        "--script",
        s.to_str().unwrap(),
        "--json",
    ]));
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    let names: Vec<&str> = lines.iter().map(|l| l["op"].as_str().unwrap()).collect();
    assert_eq!(names, ["brush", "grow", "set_label", "brush", "undo"]);
    assert!(lines[0]["voxels_changed"].as_u64().unwrap() > 0);
    assert!(lines.iter().all(|l| l["ms"].as_f64().unwrap() >= 0.0));
    // Undo changes back exactly what the erase changed.
    assert_eq!(lines[3]["voxels_changed"], lines[4]["voxels_changed"]);

    let mask = out_path.to_str().unwrap();
    let v = ok(&rayseg(&["journal", "verify", mask]));
    assert!(v.contains("verified"), "{v}");
    let log = ok(&rayseg(&["journal", "log", mask, "--json"]));
    let entries: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // open, load, 5 edits, save
    assert_eq!(entries.len(), 8, "{log}");
    assert!(entries.iter().all(|e| e["author"] == "cli-tester"));
    assert_eq!(entries[7]["kind"], "save");

    // The map after the grow (entry 3) equals a replay through `grow` alone.
    let at3 = dir.path().join("at3.nii.gz");
    ok(&rayseg(&[
        "journal",
        "checkout",
        mask,
        "--at",
        "3",
        "-o",
        at3.to_str().unwrap(),
    ]));
    let only = script(
        dir.path(),
        "two.json",
        &serde_json::Value::Array(ops().as_array().unwrap()[0..2].to_vec()),
    );
    let replayed = dir.path().join("replayed.nii.gz");
    ok(&rayseg(&[
        "edit",
        ct.to_str().unwrap(),
        "-o",
        replayed.to_str().unwrap(),
        "--script",
        only.to_str().unwrap(),
    ]));
    let a = rayseg::volume::load(&at3, &Default::default()).unwrap();
    let b = rayseg::volume::load(&replayed, &Default::default()).unwrap();
    assert_eq!(a.data, b.data);

    // A changed byte in an entry makes verify exit 1 naming that entry's successor.
    let journal = dir.path().join("seg.journal.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap();
    let tampered = text.replacen("\"tool\":\"grow\"", "\"tool\":\"brush\"", 1);
    assert_ne!(tampered, text);
    std::fs::write(&journal, tampered).unwrap();
    let out = rayseg(&["journal", "verify", mask]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("entry 4"), "{err}");
}

#[test]
fn a_killed_edit_is_recovered_from_its_journal() {
    let dir = tempfile::tempdir().unwrap();
    let ct = phantom(dir.path());
    // Many small strokes: the process is killed while it is working through them.
    let ops: Vec<serde_json::Value> = (0..4000)
        .map(|n| {
            let x = (n % 20) as f64 * 2.0 - 20.0;
            let y = ((n / 20) % 20) as f64 * 2.0 - 20.0;
            serde_json::json!({"op":"brush","label":1 + (n % 3),"points_mm":[[x,y,0.0],[x,y,6.0]],"radius_mm":3.0})
        })
        .collect();
    let s = script(dir.path(), "long.json", &serde_json::Value::Array(ops));
    let out_path = dir.path().join("seg.nii.gz");
    let journal = dir.path().join("seg.journal.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .args([
            "edit",
            ct.to_str().unwrap(),
            "-o",
            out_path.to_str().unwrap(),
            "--script",
            s.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        let lines = std::fs::read(&journal)
            .map(|b| b.iter().filter(|&&c| c == b'\n').count())
            .unwrap_or(0);
        if lines >= 12 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the kill"
        );
        assert!(started.elapsed().as_secs() < 300, "no journal entries");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(!out_path.exists(), "the map is written only at the end");

    // The journal holds what was done; a torn last line at most.
    let mask = out_path.to_str().unwrap();
    ok(&rayseg(&["journal", "verify", mask]));
    let r = rayseg::annotate::journal::replay(&journal, None).unwrap();
    let done = r.entries.len();
    assert!(done >= 12);

    // Reopening (an empty script) restores every journaled edit and saves.
    let empty = script(dir.path(), "none.json", &serde_json::json!([]));
    let out = rayseg(&[
        "edit",
        ct.to_str().unwrap(),
        "-o",
        mask,
        "--script",
        empty.to_str().unwrap(),
    ]);
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("restored"), "{err}");
    let saved = rayseg::volume::load(&out_path, &Default::default()).unwrap();
    let saved: Vec<u8> = (0..saved.voxel_count())
        .map(|n| saved.data.get_f64(n).unwrap() as u8)
        .collect();
    assert_eq!(saved, r.labels);
    assert!(r.labels.iter().any(|&l| l != 0));
    ok(&rayseg(&["journal", "verify", mask]));
}

#[test]
fn edit_refuses_a_bad_script_before_touching_anything() {
    let dir = tempfile::tempdir().unwrap();
    let ct = phantom(dir.path());
    let s = script(
        dir.path(),
        "bad.json",
        &serde_json::json!([{"op":"brush","label":1}]),
    );
    let out_path = dir.path().join("seg.nii.gz");
    let out = rayseg(&[
        "edit",
        ct.to_str().unwrap(),
        "-o",
        out_path.to_str().unwrap(),
        "--script",
        s.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.json"));
    assert!(!dir.path().join("seg.journal.jsonl").exists());
}

#[test]
fn brush_and_grow_commands_are_journaled_too() {
    let dir = tempfile::tempdir().unwrap();
    let ct = phantom(dir.path());
    let ct = ct.to_str().unwrap();
    let grown = dir.path().join("grown.nii.gz");
    ok(&rayseg(&[
        "grow",
        ct,
        "--seed-mm",
        "0,0,0",
        "--lower",
        "-300",
        "--upper",
        "300",
        "--max-distance-mm",
        "12",
        "--cpu",
        "-o",
        grown.to_str().unwrap(),
    ]));
    let brushed = dir.path().join("brushed.seg.nrrd");
    ok(&rayseg(&[
        "brush",
        ct,
        "--center-mm",
        "0,0,0",
        "--radius-mm",
        "6",
        "--label",
        "2",
        "--mask",
        grown.to_str().unwrap(),
        "-o",
        brushed.to_str().unwrap(),
    ]));
    for (map, tool) in [(&grown, "grow"), (&brushed, "brush")] {
        let m = map.to_str().unwrap();
        ok(&rayseg(&["journal", "verify", m]));
        let log = ok(&rayseg(&["journal", "log", m, "--json"]));
        let entries: Vec<serde_json::Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let edit = entries
            .iter()
            .find(|e| e["tool"] == tool)
            .unwrap_or_else(|| panic!("no {tool} entry in {log}"));
        assert!(edit["voxels_changed"].as_u64().unwrap() > 0);
        assert_eq!(edit["author"], "cli-tester");
        assert_eq!(entries.last().unwrap()["kind"], "save");
    }
    // The journal rebuilds exactly what the command wrote.
    let r =
        rayseg::annotate::journal::replay(&dir.path().join("grown.journal.jsonl"), None).unwrap();
    let saved = rayseg::volume::load(&grown, &Default::default()).unwrap();
    let saved: Vec<u8> = (0..saved.voxel_count())
        .map(|n| saved.data.get_f64(n).unwrap() as u8)
        .collect();
    assert_eq!(saved, r.labels);
}
