//! Label sidecars and ITK-SNAP label description files.

use rayseg::annotate::label_files::{
    export_itksnap, format_itksnap, import_itksnap, load_sidecar, parse_itksnap, save_sidecar,
    sidecar_path,
};
use rayseg::annotate::labels::{LabelInfo, LabelSet};
use std::path::Path;

fn sample() -> LabelSet {
    let mut a = LabelInfo::new(1, "Liver");
    a.opacity = 1.0;
    let mut b = LabelInfo::new(7, "lesion, segment VIII");
    b.color = [12, 200, 3];
    b.opacity = 0.35;
    b.visible = false;
    let mut c = LabelInfo::new(255, "Last");
    c.opacity = 0.0;
    LabelSet {
        labels: vec![a, b, c],
    }
}

#[test]
fn itksnap_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels.txt");
    export_itksnap(&path, &sample()).unwrap();
    assert_eq!(import_itksnap(&path).unwrap(), sample());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"Clear Label\""));
}

#[test]
fn parses_itksnap_written_file() {
    let text = r#"################################################
# ITK-SnAP Label Description File
# IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL
################################################
    0     0    0    0        0  0  0    "Clear Label"
    1   255    0    0        1  1  1    "Label 1"
    2     0  255    0      0.5  1  0    "Two words"

   12     0    0  255        1  0  1    "x"
"#;
    let set = parse_itksnap(text, Path::new("a.txt")).unwrap();
    assert_eq!(set.labels.len(), 3);
    assert_eq!(set.labels[1].name, "Two words");
    assert_eq!(set.labels[1].opacity, 0.5);
    assert!(!set.labels[2].visible);
    assert_eq!(set.labels[2].color, [0, 0, 255]);
    // Our own formatting parses back to the same set.
    assert_eq!(
        parse_itksnap(&format_itksnap(&set), Path::new("b.txt")).unwrap(),
        set
    );
}

#[test]
fn bad_lines_name_file_and_line() {
    let cases = [
        ("    1   255 0 0 1 1 1 Label\n", "line 1"),
        ("# c\n    1   256 0 0 1 1 1 \"x\"\n", "line 2"),
        ("\n\n    1 255 0 0 1.5 1 1 \"x\"\n", "line 3"),
        ("    1 255 0 0 1 1 \"x\"\n", "line 1"),
        (
            "    3 1 2 3 1 1 1 \"a\"\n    3 1 2 3 1 1 1 \"b\"\n",
            "line 2",
        ),
    ];
    for (text, line) in cases {
        let err = parse_itksnap(text, Path::new("/data/seg_labels.txt"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/data/seg_labels.txt") && err.contains(line),
            "{text:?}: {err}"
        );
    }
}

#[test]
fn sidecar_round_trip_and_naming() {
    let dir = tempfile::tempdir().unwrap();
    let mask = dir.path().join("seg.nii.gz");
    assert_eq!(sidecar_path(&mask), dir.path().join("seg.labels.json"));
    assert_eq!(
        sidecar_path(Path::new("a/b.NII")),
        Path::new("a/b.labels.json")
    );
    assert!(load_sidecar(&mask).unwrap().is_none());
    let mut set = sample();
    set.labels[0].locked = true;
    let written = save_sidecar(&mask, &set).unwrap();
    assert_eq!(written, sidecar_path(&mask));
    assert_eq!(load_sidecar(&mask).unwrap(), Some(set.clone()));
    // Only the sidecar remains in the folder (the temporary file was renamed).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    // Duplicates are refused, naming the file.
    set.labels.push(LabelInfo::new(7, "again"));
    let err = save_sidecar(&mask, &set).unwrap_err().to_string();
    assert!(
        err.contains("seg.labels.json") && err.contains("twice"),
        "{err}"
    );
    std::fs::write(sidecar_path(&mask), "{not json").unwrap();
    let err = load_sidecar(&mask).unwrap_err().to_string();
    assert!(err.contains("seg.labels.json"), "{err}");
}
