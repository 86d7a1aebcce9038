"""scripts/manifest.py reads a manifest as src/cohort/manifest.rs does (the
same cases as its unit tests); needs no rayseg."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from manifest import ManifestError, journal_path, parse_manifest, tracked_cases  # noqa: E402


def parse(text):
    return parse_manifest(text, "m.csv", "/data")


def test_columns_in_any_order_with_several_label_maps():
    rows = parse('Image,case_id,labels,timepoint\n'
                 'ct/a.nii.gz,p01,"a1.nii.gz; /abs/a2.nii.gz",2024/03/01\n'
                 '# a comment\n'
                 'ct/b.nii.gz,p02,,\n')
    assert len(rows) == 2
    assert rows[0].image == "/data/ct/a.nii.gz"
    assert rows[0].labels == ["/data/a1.nii.gz", "/abs/a2.nii.gz"]
    assert rows[0].scan_id == "p01_2024_03_01"
    assert rows[1].labels == [] and rows[1].scan_id == "p02" and rows[1].line == 4


@pytest.mark.parametrize("text, message", [
    ("case_id,image\np/1,x.nii\n", "line 2"),
    ("case_id,image\na,x\na,y\n", "appears twice"),
    ("case_id,image,timepoint\na,x,1\na,y,1\n", "scan a_1 appears twice"),
    ("case,image\na,x\n", "no `case_id` column"),
    ("case_id,image\n", "no rows"),
    ("case_id,image\n.a,x\n", "may hold only"),
    ("case_id,image\na,\n", "empty image"),
])
def test_refuses_bad_rows_naming_the_line(text, message):
    with pytest.raises(ManifestError, match=message.replace("`", ".")):
        parse(text)


def test_time_points_order_numeric_else_text():
    rows = parse("case_id,image,labels,timepoint\n"
                 "a,x,s,12\na,y,s,3\nb,x,s,2024-05-01\nb,y,s,2024-01-02\nc,x,s,\n")
    t = tracked_cases(rows)
    assert [r.timepoint for r in t["a"]] == ["3", "12"]
    assert [r.timepoint for r in t["b"]] == ["2024-01-02", "2024-05-01"]
    assert "c" not in t  # one scan, no time point: nothing to track


def test_journal_path_as_rayseg():
    assert journal_path("/a/seg.nii.gz") == "/a/seg.journal.jsonl"
    assert journal_path("b/Seg.SEG.NRRD") == "b/Seg.journal.jsonl"
    assert journal_path("x") == "x.journal.jsonl"
