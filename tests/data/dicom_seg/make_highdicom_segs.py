#!/usr/bin/env python3
"""Write third-party Segmentations of `ct_oblique/` with highdicom, and the
label maps rayseg must read from them (`*.expected.u8`: one byte per voxel
of the image grid, i (column) fastest, then j (row), then k (slices in
ascending order along the slice normal)).

* `hd_binary_overlap.dcm`: BINARY, 3 segments; segment 2 overlaps segment 1
  (a later segment wins: expected holds 2 there); segment 3 is on one slice
  only, so highdicom omits every other empty frame.
* `hd_labelmap.dcm`: LABELMAP (Label Map Segmentation Storage) of 2 segments.
* `hd_fractional.dcm`: FRACTIONAL, 1 segment; values 0, 0.25, 0.5, 1.0 of
  the maximum 255; rayseg thresholds at half the maximum (>= 128 is in).

Usage: /work/venv-peers/bin/python make_highdicom_segs.py
Needs: highdicom >= 0.23 (LABELMAP), pydicom >= 3, numpy
"""
import glob
import os

import highdicom as hd
import numpy as np
import pydicom
from pydicom.sr.codedict import codes

HERE = os.path.dirname(os.path.abspath(__file__))


def source():
    src = [pydicom.dcmread(f) for f in glob.glob(os.path.join(HERE, "ct_oblique", "*.dcm"))]
    row = np.array(src[0].ImageOrientationPatient[:3], float)
    col = np.array(src[0].ImageOrientationPatient[3:], float)
    normal = np.cross(row, col)
    return sorted(src, key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, float), normal)))


def description(number, label, category, type_, alg=hd.seg.SegmentAlgorithmTypeValues.MANUAL):
    ident = None
    if alg != hd.seg.SegmentAlgorithmTypeValues.MANUAL:
        ident = hd.AlgorithmIdentificationSequence(
            name="test algorithm", version="1", family=codes.cid7162.ArtificialIntelligence)
    return hd.seg.SegmentDescription(
        segment_number=number, segment_label=label,
        segmented_property_category=category, segmented_property_type=type_,
        algorithm_type=alg, algorithm_identification=ident)


def save(seg, name, expected):
    seg.save_as(os.path.join(HERE, name))
    # expected is (k, j, i): write k slowest, i fastest.
    expected.astype(np.uint8).tofile(os.path.join(HERE, name.replace(".dcm", ".expected.u8")))
    print("wrote", name, seg.NumberOfFrames, "frames")


def common(src):
    return dict(source_images=src, series_instance_uid=hd.UID(), series_number=7,
                sop_instance_uid=hd.UID(), instance_number=1, manufacturer="highdicom test",
                manufacturer_model_name="make_highdicom_segs.py", software_versions=hd.__version__,
                device_serial_number="1")


def main():
    src = source()
    k, rows, cols = len(src), src[0].Rows, src[0].Columns
    masks = np.zeros((k, rows, cols, 3), bool)
    masks[0:3, 2:6, 1:7, 0] = True          # segment 1
    masks[2:5, 4:9, 5:12, 1] = True         # segment 2, overlapping 1 on slice 2
    masks[4, 10:12, 14:16, 2] = True        # segment 3, one slice
    expected = np.zeros((k, rows, cols), np.uint8)
    for s in range(3):
        expected[masks[..., s]] = s + 1
    liver = codes.SCT.Liver
    descs = [
        description(1, "liver", codes.SCT.Organ, liver),
        description(2, "lesion", codes.SCT.MorphologicallyAbnormalStructure, codes.SCT.Neoplasm,
                    hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC),
        description(3, "spot", codes.SCT.Tissue, codes.SCT.Tissue),
    ]
    seg = hd.seg.Segmentation(pixel_array=masks, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
                              segment_descriptions=descs, **common(src))
    save(seg, "hd_binary_overlap.dcm", expected)

    lab = np.zeros((k, rows, cols), np.uint8)
    lab[1:4, 0:5, 0:8] = 1
    lab[3:5, 6:12, 9:16] = 2
    seg = hd.seg.Segmentation(pixel_array=lab, segmentation_type=hd.seg.SegmentationTypeValues.LABELMAP,
                              segment_descriptions=descs[:2], **common(src))
    save(seg, "hd_labelmap.dcm", lab)

    frac = np.zeros((k, rows, cols), np.float32)
    frac[1:4, 3:9, 4:12] = 0.25
    frac[2:4, 4:8, 5:11] = 0.5
    frac[2, 5:7, 6:10] = 1.0
    seg = hd.seg.Segmentation(pixel_array=frac, segmentation_type=hd.seg.SegmentationTypeValues.FRACTIONAL,
                              segment_descriptions=descs[:1], max_fractional_value=255, **common(src))
    save(seg, "hd_fractional.dcm", (frac >= 0.5).astype(np.uint8))


if __name__ == "__main__":
    main()
