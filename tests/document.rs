//! The segmentation document and its journal: every edit through one seam,
//! undo/redo, checkout equals the states the document went through, tamper
//! and torn-entry detection, recovery of unsaved edits.
//!
//! Oracles: the states are copied out of the document after each edit and
//! compared with what the journal rebuilds from its deltas; brush and grow
//! results are compared with the engine's CPU references run on a plain
//! copy of the map (no document, no journal).

mod common;

use std::path::Path;
use std::sync::Arc;

use glam::DVec3;
use rayseg::annotate::brush::{BrushStroke, cpu::apply_stroke};
use rayseg::annotate::document::{EditOp, Recovery, SegDocument};
use rayseg::annotate::grow::{Connectivity, GrowRequest, cpu::grow_cpu, seed_from_ras};
use rayseg::annotate::journal::{JournalError, hex, label_map_hash, replay, verify};
use rayseg::annotate::labels::{LabelSet, ReviewStatus};

fn image() -> Arc<rayseg::volume::Volume> {
    Arc::new(common::orientation_phantom(false))
}

fn brush(label: u8, points: &[[f64; 3]], radius_mm: f64, erase: bool) -> EditOp {
    EditOp::Brush {
        label,
        points_mm: points.to_vec(),
        radius_mm,
        erase,
        plane: None,
        lower: None,
        upper: None,
        overwrite: Default::default(),
    }
}

fn grow(label: u8, seed_mm: [f64; 3], lower: f64, upper: f64) -> EditOp {
    EditOp::Grow {
        label,
        seed_mm,
        lower,
        upper,
        connectivity: 6,
        max_distance_mm: Some(12.0),
    }
}

fn open(dir: &Path, recovery: Recovery) -> SegDocument {
    let img = image();
    let n = img.voxel_count();
    SegDocument::open(
        img,
        vec![0; n],
        LabelSet::default(),
        "empty",
        &dir.join("seg.journal.jsonl"),
        "tester",
        recovery,
    )
    .unwrap()
    .0
}

/// A script touching every kind of edit; returns the map after each entry.
fn run_script(doc: &mut SegDocument) -> Vec<(u64, Vec<u8>)> {
    let ops = [
        brush(1, &[[0.0, 0.0, 0.0], [6.0, 3.0, -4.0]], 5.0, false),
        grow(2, [-10.0, -10.0, -20.0], 50.0, 150.0),
        brush(3, &[[-5.0, 20.0, 10.0]], 4.0, false),
        brush(1, &[[2.0, 1.0, 0.0]], 2.5, true),
        EditOp::Undo,
        EditOp::Redo,
        EditOp::Undo,
        EditOp::MergeLabels { from: 3, into: 2 },
        EditOp::SetLabel {
            label: 2,
            name: Some("Tumour".into()),
            color: Some([200, 30, 30]),
            opacity: None,
            visible: None,
            locked: Some(true),
            terminology: None,
            review: Some(ReviewStatus::InProgress),
            note: Some("margin unclear".into()),
        },
        brush(1, &[[-8.0, -8.0, -18.0]], 6.0, false),
        EditOp::DeleteLabel { label: 1 },
    ];
    let mut states = Vec::new();
    for op in &ops {
        let out = doc.apply(op).unwrap();
        states.push((out.seq.unwrap(), doc.labels().to_vec()));
    }
    states
}

#[test]
fn checkout_at_every_entry_equals_the_state_the_document_had() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = open(dir.path(), Recovery::Restore);
    let states = run_script(&mut doc);
    let path = dir.path().join("seg.journal.jsonl");
    for (seq, labels) in &states {
        let r = replay(&path, Some(*seq)).unwrap();
        assert_eq!(&r.labels, labels, "entry {seq}");
        assert_eq!(
            r.head_sha256(),
            hex(&label_map_hash(labels, doc.shape())),
            "entry {seq}"
        );
    }
    let whole = replay(&path, None).unwrap();
    assert_eq!(whole.labels, doc.labels());
    assert_eq!(&whole.label_set, doc.label_set());
    let tumour = whole.label_set.get(2).unwrap();
    assert_eq!(tumour.name, "Tumour");
    assert_eq!(tumour.review.status, ReviewStatus::InProgress);
    assert_eq!(tumour.review.note, "margin unclear");
    assert!(whole.label_set.get(1).is_none() && whole.label_set.get(3).is_none());
    // Every entry names its author and tool, and counts match the document's.
    assert!(whole.entries.iter().all(|e| e.author == "tester"));
    assert_eq!(doc.voxel_count(1), 0);
    assert_eq!(
        doc.voxel_count(2),
        doc.labels().iter().filter(|&&l| l == 2).count() as u64
    );
}

#[test]
fn edits_equal_the_engine_references_and_undo_restores_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = open(dir.path(), Recovery::Restore);
    let img = doc.image().clone();
    let mut reference = vec![0u8; img.voxel_count()];

    let op = brush(1, &[[0.0, 0.0, 0.0], [6.0, 3.0, -4.0]], 5.0, false);
    let out = doc.apply(&op).unwrap();
    let stroke = BrushStroke::paint(
        vec![DVec3::new(0.0, 0.0, 0.0), DVec3::new(6.0, 3.0, -4.0)],
        5.0,
        1,
    );
    let changed = apply_stroke(&img, &mut reference, &stroke).unwrap();
    assert_eq!(doc.labels(), reference.as_slice());
    assert_eq!(out.voxels_changed, changed);
    assert!(changed > 0);
    let after_brush = reference.clone();

    let out = doc
        .apply(&grow(2, [-10.0, -10.0, -20.0], 50.0, 150.0))
        .unwrap();
    let seed = seed_from_ras(&img, [-10.0, -10.0, -20.0]).unwrap();
    let mut request = GrowRequest::new(&img, vec![seed], 50.0, 150.0, Connectivity::Face, 2);
    request.max_distance_mm = Some(12.0);
    let grown = grow_cpu(&img, &mut reference, &request).unwrap();
    assert_eq!(doc.labels(), reference.as_slice());
    assert!(grown.voxel_count > 0);
    // The brushed voxels inside the grow region went to label 2.
    assert!(out.voxels_changed <= grown.voxel_count);

    doc.apply(&EditOp::Undo).unwrap();
    assert_eq!(doc.labels(), after_brush.as_slice());
    doc.apply(&EditOp::Undo).unwrap();
    assert!(doc.labels().iter().all(|&l| l == 0));
    doc.apply(&EditOp::Redo).unwrap();
    doc.apply(&EditOp::Redo).unwrap();
    assert_eq!(doc.labels(), reference.as_slice());
    // Nothing left to redo: no change, still one journal entry.
    let out = doc.apply(&EditOp::Redo).unwrap();
    assert_eq!(out.voxels_changed, 0);
    assert!(verify(&dir.path().join("seg.journal.jsonl")).is_ok());
}

fn journal_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn bad_entry(path: &Path) -> u64 {
    match replay(path, None) {
        Err(JournalError::BadEntry { seq, .. }) => seq,
        other => panic!("expected a bad entry, got {other:?}"),
    }
}

#[test]
fn tampering_is_detected_and_names_the_first_bad_entry() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = open(dir.path(), Recovery::Restore);
    run_script(&mut doc);
    drop(doc);
    let path = dir.path().join("seg.journal.jsonl");
    let good = journal_lines(&path);
    assert!(verify(&path).is_ok());

    // A changed author on entry 3: the chain breaks at entry 4.
    let mut lines = good.clone();
    lines[3] = lines[3].replace("\"author\":\"tester\"", "\"author\":\"mallory\"");
    write_lines(&path, &lines);
    assert_eq!(bad_entry(&path), 4);

    // A changed count in the last entry (no line after it to break the chain).
    let mut lines = good.clone();
    let last = lines.len() - 1;
    let v: serde_json::Value = serde_json::from_str(&lines[last]).unwrap();
    let n = v["voxels_changed"].as_u64().unwrap();
    lines[last] = lines[last].replace(
        &format!("\"voxels_changed\":{n}"),
        &format!("\"voxels_changed\":{}", n + 1),
    );
    write_lines(&path, &lines);
    assert_eq!(bad_entry(&path), last as u64);

    // A removed entry.
    let mut lines = good.clone();
    lines.remove(2);
    write_lines(&path, &lines);
    assert_eq!(bad_entry(&path), 2);

    // A delta rewritten with its chain recomputed is caught by the label hash.
    let mut lines = good.clone();
    let last_v: serde_json::Value = serde_json::from_str(&lines[last]).unwrap();
    let mut forged = last_v.clone();
    forged["label_sha256"] = serde_json::Value::String("0".repeat(64));
    lines[last] = serde_json::to_string(&forged).unwrap();
    write_lines(&path, &lines);
    assert_eq!(bad_entry(&path), last as u64);
}

#[test]
fn a_torn_last_entry_is_dropped_with_a_warning_and_the_journal_continues() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = open(dir.path(), Recovery::Restore);
    let states = run_script(&mut doc);
    drop(doc);
    let path = dir.path().join("seg.journal.jsonl");
    let bytes = std::fs::read(&path).unwrap();
    // Cut the last line in half (as a crash during its write would).
    let last_start = bytes[..bytes.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    let cut = last_start + (bytes.len() - last_start) / 2;
    std::fs::write(&path, &bytes[..cut]).unwrap();
    let r = replay(&path, None).unwrap();
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    let (seq, labels) = &states[states.len() - 2];
    assert_eq!(r.entries.last().unwrap().seq, *seq);
    assert_eq!(&r.labels, labels);

    // Reopening restores the state before the torn entry and appends after it.
    let mut doc = open(dir.path(), Recovery::Restore);
    assert_eq!(doc.labels(), labels.as_slice());
    let out = doc
        .apply(&brush(4, &[[0.0, 5.0, 5.0]], 3.0, false))
        .unwrap();
    assert_eq!(out.seq, Some(*seq + 1));
    drop(doc);
    let (n, warnings) = verify(&path).unwrap();
    assert_eq!(n as u64, *seq + 2);
    assert!(warnings.is_empty());
}

#[test]
fn unsaved_edits_are_restored_or_discarded_on_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = open(dir.path(), Recovery::Restore);
    doc.apply(&brush(1, &[[0.0, 0.0, 0.0]], 5.0, false))
        .unwrap();
    doc.mark_saved("nifti").unwrap();
    doc.apply(&brush(2, &[[-6.0, 10.0, 4.0]], 4.0, false))
        .unwrap();
    let unsaved_state = doc.labels().to_vec();
    drop(doc); // a crash: no save

    let img = image();
    let n = img.voxel_count();
    let (doc, report) = SegDocument::open(
        img.clone(),
        vec![0; n],
        LabelSet::default(),
        "empty",
        &dir.path().join("seg.journal.jsonl"),
        "tester",
        Recovery::Restore,
    )
    .unwrap();
    assert!(report.restored);
    assert_eq!(report.unsaved_edits, 1);
    assert_eq!(doc.labels(), unsaved_state.as_slice());
    assert!(doc.is_dirty());
    drop(doc);

    let (doc, report) = SegDocument::open(
        img,
        vec![0; n],
        LabelSet::default(),
        "empty",
        &dir.path().join("seg.journal.jsonl"),
        "tester",
        Recovery::Discard,
    )
    .unwrap();
    assert!(!report.restored);
    assert!(doc.labels().iter().all(|&l| l == 0));
    drop(doc);
    // Nothing was erased: the discarded edit is still in the journal.
    let r = replay(&dir.path().join("seg.journal.jsonl"), None).unwrap();
    assert!(
        r.entries
            .iter()
            .any(|e| e.tool.as_deref() == Some("brush") && e.changed.contains_key("2"))
    );
}

#[test]
fn a_journal_of_another_image_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path(), Recovery::Restore));
    let other = Arc::new(common::orientation_phantom(true));
    let n = other.voxel_count();
    let err = SegDocument::open(
        other,
        vec![0; n],
        LabelSet::default(),
        "empty",
        &dir.path().join("seg.journal.jsonl"),
        "tester",
        Recovery::Restore,
    )
    .err()
    .unwrap();
    assert!(
        err.to_string().contains("belongs to another image"),
        "{err}"
    );
}

#[test]
fn undo_restores_the_label_set_with_the_voxels() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = open(dir.path(), Recovery::Restore);
    doc.apply(&brush(3, &[[0.0, 0.0, 0.0]], 5.0, false))
        .unwrap();
    let rename = EditOp::SetLabel {
        label: 3,
        name: Some("Nodule".into()),
        color: Some([10, 200, 30]),
        opacity: None,
        visible: None,
        locked: None,
        terminology: None,
        review: Some(ReviewStatus::Flagged),
        note: None,
    };
    doc.apply(&rename).unwrap();
    let painted = doc.labels().to_vec();
    doc.apply(&EditOp::DeleteLabel { label: 3 }).unwrap();
    assert!(doc.label_set().get(3).is_none());
    assert_eq!(doc.voxel_count(3), 0);

    doc.apply(&EditOp::Undo).unwrap();
    assert_eq!(doc.labels(), painted.as_slice());
    let l = doc.label_set().get(3).expect("label 3 is back");
    assert_eq!((l.name.as_str(), l.color), ("Nodule", [10, 200, 30]));
    assert_eq!(l.review.status, ReviewStatus::Flagged);

    // Undoing the rename (a label-set-only edit) restores the old description.
    doc.apply(&EditOp::Undo).unwrap();
    assert_eq!(doc.label_set().get(3).unwrap().name, "Label 3");
    assert_eq!(doc.labels(), painted.as_slice());
    doc.apply(&EditOp::Redo).unwrap();
    assert_eq!(doc.label_set().get(3).unwrap().name, "Nodule");
    drop(doc);
    // The journal's label sets follow the same path.
    let r = replay(&dir.path().join("seg.journal.jsonl"), None).unwrap();
    assert_eq!(r.label_set.get(3).unwrap().name, "Nodule");
}
