#!/usr/bin/env python3
"""Check `rayseg export-seg` with independent readers: highdicom reads the
Segmentations back (pixels per source instance, the volume and its
geometry, segment descriptions, colours, codes) and dciodvfy (dicom3tools)
validates them. Run by hand (CI has neither); prints what it checked and
exits non-zero on any mismatch.

The mask is made here, not by rayseg: labels 1, 3, 7 and 200 on the grid
of `ct_oblique/` (written by make_series.py), the grid computed here from
the DICOM headers (slices sorted along the normal, LPS -> RAS), saved with
nibabel as NIfTI with a rayseg label sidecar.

Usage: /work/venv-peers/bin/python check_highdicom.py [--rayseg target/debug/rayseg]
Needs: highdicom >= 0.23, pydicom >= 3, numpy, nibabel; dciodvfy on PATH
"""
import argparse
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom

HERE = os.path.dirname(os.path.abspath(__file__))
SERIES = os.path.join(HERE, "ct_oblique")
SECRET = "check-secret"
FAILURES = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        FAILURES.append(what)


def source():
    src = [pydicom.dcmread(f) for f in glob.glob(os.path.join(SERIES, "*.dcm"))]
    iop = np.array(src[0].ImageOrientationPatient, float)
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    src.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, float), normal)))
    ps = [float(x) for x in src[0].PixelSpacing]
    p0 = np.array(src[0].ImagePositionPatient, float)
    step = (np.array(src[-1].ImagePositionPatient, float) - p0) / (len(src) - 1)
    lps = np.eye(4)
    lps[:3, 0], lps[:3, 1], lps[:3, 2], lps[:3, 3] = row * ps[1], col * ps[0], step, p0
    return src, lps


def make_mask(shape):
    m = np.zeros(shape, np.uint8)  # [i, j, k]
    m[0:5, 0:4, 1:5] = 1
    m[8:16, 6:12, 0:3] = 3
    m[15, 0, 4] = 7
    m[3:6, 8:11, 2] = 200
    return m


LABELS = {
    1: ("Right lung", [128, 174, 128],
        {"category": {"scheme": "SCT", "value": "123037004", "meaning": "Anatomical Structure"},
         "type": {"scheme": "SCT", "value": "39607008", "meaning": "Lung"},
         "modifier": {"scheme": "SCT", "value": "24028007", "meaning": "Right"}}),
    3: ("lesion", [241, 214, 145],
        {"category": {"scheme": "SCT", "value": "49755003",
                      "meaning": "Morphologically Altered Structure"},
         "type": {"scheme": "SCT", "value": "108369006", "meaning": "Neoplasm"}}),
    7: ("spot", [0, 151, 206], None),
    200: ("Größe", [255, 255, 0], None),
}
DEFAULT_CODE = ("SCT", "85756007", "Tissue")


def sidecar(path):
    labels = []
    for value, (name, color, terminology) in LABELS.items():
        info = {"value": value, "name": name, "color": color, "opacity": 0.5,
                "visible": True, "locked": False}
        if terminology:
            info["terminology"] = terminology
        labels.append(info)
    with open(path, "w") as f:
        json.dump({"format": "rayseg-labels", "version": 1, "labels": labels}, f)


def mapped_uid(uid, secret):
    """The UID replacement README.md documents for --deidentify."""
    h = bytearray(hashlib.sha256(f"{secret}:{uid}".encode()).digest()[:16])
    h[6] = h[6] & 0x0F | 0x80
    h[8] = h[8] & 0x3F | 0x80
    return "2.25." + str(int.from_bytes(h, "big"))


def code(c):
    return (c.scheme_designator, c.value, c.meaning)


def dciodvfy(path, allowed):
    out = subprocess.run(["dciodvfy", path], capture_output=True, text=True)
    text = (out.stdout + out.stderr).strip()
    print("      dciodvfy: " + text.replace("\n", "\n                "))
    errors = [l for l in text.splitlines() if l.startswith("Error")]
    unexpected = [e for e in errors if not any(a in e for a in allowed)]
    check(not unexpected, f"dciodvfy {os.path.basename(path)}: no errors"
          + (f" besides the expected {len(errors)}" if errors else ""))


def check_seg(path, src, lps, mask, kind, uid_of):
    name = os.path.basename(path)
    seg = hd.seg.segread(path)
    check(seg.SegmentationType == kind, f"{name}: SegmentationType {seg.SegmentationType}")
    # Segment number -> rayseg label, from what rayseg wrote.
    label_of = {}
    for s in seg.SegmentSequence:
        if s.SegmentNumber == 0:
            continue
        label = int(s.SegmentDescription.split()[-1])
        label_of[int(s.SegmentNumber)] = label
        want_name, want_rgb, want_terms = LABELS[label]
        check(s.SegmentLabel == want_name, f"{name}: segment {s.SegmentNumber} label {s.SegmentLabel!r}")
        rgb = hd.color.CIELabColor.from_dicom_value(list(s.RecommendedDisplayCIELabValue)).to_rgb()
        check(list(rgb) == want_rgb, f"{name}: segment {s.SegmentNumber} colour {rgb} (CIELab)")
        desc = seg.get_segment_description(int(s.SegmentNumber))
        cat, typ = code(desc.segmented_property_category), code(desc.segmented_property_type)
        if want_terms:
            want_cat = tuple(want_terms["category"][k] for k in ("scheme", "value", "meaning"))
            want_typ = tuple(want_terms["type"][k] for k in ("scheme", "value", "meaning"))
        else:
            want_cat = want_typ = DEFAULT_CODE
        check((cat, typ) == (want_cat, want_typ), f"{name}: segment {s.SegmentNumber} codes {cat} {typ}")
        if want_terms and "modifier" in want_terms:
            mods = [(m.CodingSchemeDesignator, m.CodeValue, m.CodeMeaning)
                    for m in desc.segmented_property_type.SegmentedPropertyTypeModifierCodeSequence]
            check(mods == [("SCT", "24028007", "Right")], f"{name}: type modifier {mods}")
        check(desc.algorithm_type.value == "MANUAL", f"{name}: algorithm type {desc.algorithm_type.value}")
    check(sorted(label_of.values()) == sorted(LABELS), f"{name}: segments for labels {sorted(label_of.values())}")

    # Pixels per source instance, slices in our k order.
    uids = [uid_of(d.SOPInstanceUID) for d in src]
    px = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=uids, combine_segments=True, relabel=False,
        assert_missing_frames_are_empty=True)
    labels = np.zeros_like(px, dtype=np.uint8)
    for number, label in label_of.items():
        labels[px == number] = label
    want = np.transpose(mask, (2, 1, 0))  # [k, j, i]
    check(np.array_equal(labels, want),
          f"{name}: get_pixels_by_source_instance equals the mask ({int((want > 0).sum())} voxels)")

    # The volume highdicom builds, voxel by voxel through its affine.
    vol = seg.get_volume(combine_segments=True, relabel=False)
    ijk_from_lps = np.linalg.inv(lps)
    a, b, c = np.indices(vol.array.shape)
    idx = np.stack([a.ravel(), b.ravel(), c.ravel(), np.ones(a.size)])
    ours = ijk_from_lps @ vol.affine @ idx
    on_grid = np.abs(ours - np.round(ours)).max() < 1e-4
    check(on_grid, f"{name}: get_volume grid {vol.array.shape} lies on the image grid")
    i, j, k = np.round(ours[:3]).astype(int)
    inside = (i >= 0) & (i < 16) & (j >= 0) & (j < 12) & (k >= 0) & (k < 5)
    got = np.zeros(vol.array.size, np.uint8)
    for number, label in label_of.items():
        got[vol.array.ravel() == number] = label
    check(inside.all() and np.array_equal(got, mask[i, j, k]),
          f"{name}: get_volume equals the mask on the source grid")
    covered = np.zeros_like(mask)
    covered[i, j, k] = 1
    check(((mask > 0) <= (covered > 0)).all(), f"{name}: get_volume covers every labelled voxel")
    return seg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rayseg", default=os.path.join(HERE, "../../../target/debug/rayseg"))
    ap.add_argument("--keep", help="write the files here instead of a temporary folder")
    args = ap.parse_args()
    print("highdicom", hd.__version__, "pydicom", pydicom.__version__)
    src, lps = source()
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    mask = make_mask((16, 12, 5))
    work = args.keep or tempfile.mkdtemp()
    os.makedirs(work, exist_ok=True)
    try:
        mask_path = os.path.join(work, "mask.nii.gz")
        nib.save(nib.Nifti1Image(mask, ras), mask_path)
        sidecar(os.path.join(work, "mask.labels.json"))
        outputs = {}
        for variant, extra in [("binary", []), ("labelmap", ["--labelmap"]),
                               ("deid", ["--deidentify", "--uid-secret", SECRET])]:
            out = os.path.join(work, f"{variant}.dcm")
            run = subprocess.run([args.rayseg, "export-seg", mask_path, "--image", SERIES, "-o", out]
                                 + extra, capture_output=True, text=True)
            print("      " + run.stdout.strip().replace("\n", "\n      "))
            check(run.returncode == 0, f"rayseg export-seg {' '.join(extra)} ({run.stderr.strip()})")
            outputs[variant] = out
        check_seg(outputs["binary"], src, lps, mask, "BINARY", lambda u: u)
        check_seg(outputs["labelmap"], src, lps, mask, "LABELMAP", lambda u: u)
        seg = check_seg(outputs["deid"], src, lps, mask, "BINARY", lambda u: mapped_uid(u, SECRET))

        # De-identification: nothing of the source's identity is left.
        raw = open(outputs["deid"], "rb").read()
        s0 = src[0]
        secrets = [str(s0.PatientName), s0.PatientID, s0.PatientBirthDate, s0.AccessionNumber,
                   str(s0.ReferringPhysicianName), s0.StudyInstanceUID, s0.SeriesInstanceUID,
                   s0.FrameOfReferenceUID, s0.InstitutionName, s0.StudyDescription]
        secrets += [d.SOPInstanceUID for d in src]
        leaked = [x for x in secrets if x.encode("utf-8") in raw or x.encode("latin-1") in raw]
        check(not leaked, f"deid: no source identifier in the file ({len(secrets)} checked) {leaked}")
        check(seg.PatientIdentityRemoved == "YES", "deid: PatientIdentityRemoved YES")
        check(seg.DeidentificationMethodCodeSequence[0].CodeValue == "113100", "deid: method code 113100")
        check(seg.StudyInstanceUID == mapped_uid(s0.StudyInstanceUID, SECRET)
              and seg.FrameOfReferenceUID == mapped_uid(s0.FrameOfReferenceUID, SECRET),
              "deid: study and frame-of-reference UIDs are the documented hashes")
        check(all(not seg.get(k) for k in ("PatientName", "PatientID", "PatientBirthDate")),
              "deid: PatientName, PatientID, PatientBirthDate empty")

        ident = hd.seg.segread(outputs["binary"])
        check(str(ident.PatientName) == str(s0.PatientName) and ident.PatientID == s0.PatientID
              and ident.StudyInstanceUID == s0.StudyInstanceUID, "binary: patient and study copied")

        dciodvfy(outputs["binary"], [])
        dciodvfy(outputs["labelmap"], ["Information Object Not found", "SegmentNumber of 0"])
        dciodvfy(outputs["deid"], [])
    finally:
        if not args.keep:
            shutil.rmtree(work)
    print(f"{len(FAILURES)} failure(s)")
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
