//! Model drafts and edit provenance: `--draft-model` journals the draft with
//! its file's hash; `rayseg provenance` reports per label what people kept,
//! removed and added, checked against counts made here from the two maps;
//! the history follows the map through a chain of commands; the document's
//! running counts equal a recount after edits, undo and redo.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use rayseg::annotate::document::{EditOp, SegDocument};
use rayseg::annotate::label_formats::read_label_map_alone;
use rayseg::annotate::labels::{LabelInfo, LabelSet};
use rayseg::annotate::provenance::DraftOrigin;
use rayseg::volume::{LoadOptions, load};
use sha2::Digest;

fn rayseg(args: &[&str], author: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .args(args)
        .env("RAYSEG_AUTHOR", author)
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

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn phantom(dir: &Path) -> PathBuf {
    let path = dir.join("ct.nii.gz");
    let args = [
        "phantom",
        "--size",
        "48",
        "--spacing",
        "2,2,3",
        "--seed",
        "3",
        "-o",
    ];
    ok(&rayseg(&[&args[..], &[s(&path)]].concat(), "t"));
    path
}

fn script(dir: &Path, name: &str, ops: serde_json::Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, ops.to_string()).unwrap();
    path
}

fn labels_of(path: &Path) -> (Vec<u8>, f64) {
    let (grid, file) = read_label_map_alone(path, None).unwrap();
    let ml = grid.spacing_mm.iter().product::<f64>() / 1000.0;
    (file.labels, ml)
}

#[test]
fn provenance_reports_what_people_changed_in_a_draft() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ct = phantom(d);
    // The "model": two labels painted by a script (as any tool would write them).
    let model_ops = serde_json::json!([
        {"op":"brush","label":1,"points_mm":[[0,0,0],[12,0,0]],"radius_mm":9.0},
        {"op":"brush","label":2,"points_mm":[[-20,-20,0]],"radius_mm":7.0}
    ]);
    let draft = d.join("draft.nii.gz");
    let sc = script(d, "model.json", model_ops);
    ok(&rayseg(
        &["edit", s(&ct), "--script", s(&sc), "-o", s(&draft)],
        "model",
    ));
    // A reader refines it: erases part of 1, adds to 2, and undoes nothing.
    let reader_ops = serde_json::json!([
        {"op":"brush","label":1,"points_mm":[[12,0,0]],"radius_mm":6.0,"erase":true},
        {"op":"brush","label":2,"points_mm":[[-14,-20,0]],"radius_mm":5.0},
        {"op":"brush","label":3,"points_mm":[[20,20,0]],"radius_mm":4.0}
    ]);
    let refined = d.join("refined.nii.gz");
    let sc = script(d, "reader.json", reader_ops);
    ok(&rayseg(
        &[
            "edit",
            s(&ct),
            "--labels",
            s(&draft),
            "--draft-model",
            "TestNet v2",
            "--script",
            s(&sc),
            "-o",
            s(&refined),
        ],
        "alice",
    ));
    // A second reader grows label 1 by 2 mm in another command: the history follows.
    let last = d.join("final.nii.gz");
    ok(&rayseg(
        &[
            "margin",
            s(&refined),
            "--image",
            s(&ct),
            "--label",
            "1",
            "--mm",
            "2",
            "-o",
            s(&last),
        ],
        "bob",
    ));

    let out = ok(&rayseg(&["provenance", s(&last), "--json"], "t"));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["draft"]["model"], "TestNet v2");
    assert_eq!(v["draft"]["source"], "draft.nii.gz");
    let sha = sha2::Sha256::digest(std::fs::read(&draft).unwrap());
    let hex: String = sha.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(v["draft"]["file_sha256"], hex.as_str());
    assert_eq!(v["opened_by"], "alice");
    assert_eq!(v["human_edits"], 4);
    assert_eq!(v["warnings"].as_array().unwrap().len(), 0, "{v}");

    // Independent counts from the two maps.
    let (before, ml) = labels_of(&draft);
    let (after, _) = labels_of(&last);
    let rows = v["labels"].as_array().unwrap();
    let present: Vec<u64> = rows.iter().map(|r| r["label"].as_u64().unwrap()).collect();
    assert_eq!(present, [1, 2, 3]);
    let edits = [2u64, 1, 1];
    for (row, want_edits) in rows.iter().zip(edits) {
        let l = row["label"].as_u64().unwrap() as u8;
        let n = |f: &dyn Fn(u8, u8) -> bool| {
            before
                .iter()
                .zip(&after)
                .filter(|(b, a)| f(**b, **a))
                .count() as f64
        };
        let proposed = n(&|b, _| b == l);
        let kept = n(&|b, a| b == l && a == l);
        let removed = n(&|b, a| b == l && a != l);
        let added = n(&|b, a| b != l && a == l);
        let now = n(&|_, a| a == l);
        let close = |key: &str, want: f64| {
            let got = row[key].as_f64().unwrap();
            assert!(
                (got - want).abs() < 1e-9,
                "label {l} {key}: {got} vs {want}"
            );
        };
        close("proposed_ml", proposed * ml);
        close("kept_ml", kept * ml);
        close("removed_ml", removed * ml);
        close("added_ml", added * ml);
        close("current_ml", now * ml);
        let dice = if proposed + now > 0.0 {
            2.0 * kept / (proposed + now)
        } else {
            0.0
        };
        close("dice", dice);
        assert_eq!(row["human_edits"], want_edits, "label {l}");
    }
    assert!(rows[0]["removed_ml"].as_f64().unwrap() > 0.0);
    assert_eq!(rows[0]["editors"], serde_json::json!(["alice", "bob"]));
    assert_eq!(rows[2]["proposed_ml"], 0.0);

    // The text table names the model; a map without a draft is a clear error.
    let text = ok(&rayseg(&["provenance", s(&last)], "t"));
    assert!(text.contains("model TestNet v2"), "{text}");
    let none = rayseg(&["provenance", s(&draft)], "t");
    assert!(!none.status.success());
    let err = String::from_utf8_lossy(&none.stderr);
    assert!(err.contains("no model draft"), "{err}");
}

#[test]
fn running_counts_equal_a_recount_through_undo_and_redo() {
    let dir = tempfile::tempdir().unwrap();
    let ct = phantom(dir.path());
    let image = Arc::new(load(&ct, &LoadOptions::default()).unwrap());
    let n = image.voxel_count();
    let mut draft = vec![0u8; n];
    for (i, v) in draft.iter_mut().enumerate() {
        if i % 7 == 0 && i < n / 2 {
            *v = 1;
        } else if i % 11 == 0 {
            *v = 2;
        }
    }
    let mut set = LabelSet::default();
    set.labels.push(LabelInfo::new(1, "a"));
    set.labels.push(LabelInfo::new(2, "b"));
    let origin = DraftOrigin {
        model: "m".into(),
        source: "x".into(),
        file_sha256: "0".repeat(64),
    };
    let (mut doc, _) = SegDocument::open_draft(
        image.clone(),
        draft.clone(),
        set,
        origin,
        &dir.path().join("j.journal.jsonl"),
        "t",
    )
    .unwrap();
    let ops: Vec<EditOp> = serde_json::from_value(serde_json::json!([
        {"op":"brush","label":1,"points_mm":[[0,0,0]],"radius_mm":10.0},
        {"op":"brush","label":2,"points_mm":[[5,5,0]],"radius_mm":8.0,"erase":true},
        {"op":"undo"},
        {"op":"redo"},
        {"op":"brush","label":2,"points_mm":[[-10,0,0]],"radius_mm":6.0},
        {"op":"undo"}
    ]))
    .unwrap();
    for op in &ops {
        doc.apply(op).unwrap();
        let report = doc.provenance().unwrap();
        for row in &report.labels {
            let l = row.label;
            let kept = draft
                .iter()
                .zip(doc.labels())
                .filter(|(d, c)| **d == l && **c == l)
                .count() as u64;
            let now = doc.labels().iter().filter(|c| **c == l).count() as u64;
            assert_eq!((row.kept_voxels, row.current_voxels), (kept, now));
        }
    }
    // Undo and redo are not edits; the three brush strokes are.
    assert_eq!(doc.provenance().unwrap().human_edits, 3);
    // Reopening the journal finds the draft and the same figures.
    let figures = doc.provenance().unwrap().labels;
    let labels = doc.labels().to_vec();
    let set = doc.label_set().clone();
    drop(doc);
    let (doc, _) = SegDocument::open(
        image,
        labels,
        set,
        "file",
        &dir.path().join("j.journal.jsonl"),
        "t",
        rayseg::annotate::document::Recovery::Restore,
    )
    .unwrap();
    assert_eq!(doc.provenance().unwrap().labels, figures);
}
