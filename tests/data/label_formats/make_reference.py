"""Writes `reference.json`: slicerio's reading of 3D Slicer segmentations, the
oracle of tests/label_formats.rs, and `cropped_overlapping.seg.nrrd`.

slicerio (PyPI, MIT; 1.4.0 here) is an independent reader and writer of
Slicer's `.seg.nrrd` (it reads the header with pynrrd). For each file this
records what slicerio reads (segment IDs, names, colours, label values,
layers, extents, status, terminology, other tags, the voxel array's shape,
the IJK-to-LPS matrix) and, computed here with numpy:

* `voxels` of each segment: voxels of its layer holding its label value
  inside its extent (Slicer's definition of a segment's voxels);
* `rayseg_label`: the label rayseg gives it (its label value when in 1..=255
  and no earlier segment has it, else the smallest value no segment has);
* `flattened_label_voxels`: voxel count per label after flattening the layers
  onto CTChest4.nrrd's grid, later layers over earlier ones (absent for
  files on another grid).

Files:
* `Segmentation.seg.nrrd`, `SegmentationOverlapping.seg.nrrd` from
  tests/data/third_party (Slicer's own output, from slicerio 1.4.0's data);
* `cropped_overlapping.seg.nrrd`: SegmentationOverlapping cropped here to the
  box of its "overlapping sphere" segment, as Slicer crops a segmentation to
  its segments' extent (the file's origin moved to the box's corner,
  `Segmentation_ReferenceImageExtentOffset` the box's offset, extents made
  relative to the box), written by slicerio's `write_segmentation`;
* `rayseg_written.seg.nrrd`: what rayseg writes for the fixture of
  tests/label_formats.rs (that test rewrites it when
  RAYSEG_REGENERATE_LABEL_FORMATS=1 is set).

Run (in a virtual environment):
    pip install slicerio==1.4.0
    python tests/data/label_formats/make_reference.py
"""

import json
from pathlib import Path

import nrrd
import numpy as np
import slicerio

HERE = Path(__file__).parent
THIRD_PARTY = HERE.parent / "third_party"
CT = THIRD_PARTY / "CTChest4.nrrd"


def ijk_to_lps(header):
    m = np.eye(4)
    dirs = np.array(header["space directions"], dtype=float)
    if dirs.shape[0] == 4:
        dirs = dirs[1:]
    m[:3, :3] = dirs.T
    m[:3, 3] = header["space origin"]
    return m


def layers(seg):
    v = seg["voxels"]
    return v if v.ndim == 4 else v[np.newaxis]


def segment_mask(seg, s):
    """Voxels of the segment's layer holding its value inside its extent."""
    layer = layers(seg)[s.get("layer", 0)]
    mask = np.zeros(layer.shape, dtype=bool)
    e = s.get("extent", [0, -1, 0, -1, 0, -1])
    if e[0] <= e[1] and e[2] <= e[3] and e[4] <= e[5]:
        box = (slice(e[0], e[1] + 1), slice(e[2], e[3] + 1), slice(e[4], e[5] + 1))
        mask[box] = layer[box] == s["labelValue"]
    return mask


def rayseg_labels(segments):
    taken, keeps = set(), []
    for s in segments:
        v = s["labelValue"]
        keep = 1 <= v <= 255 and v not in taken
        keeps.append(keep)
        if keep:
            taken.add(v)
    free = iter(v for v in range(1, 256) if v not in taken)
    return [s["labelValue"] if k else next(free) for s, k in zip(segments, keeps)]


def flattened_counts(seg, labels):
    """Label voxel counts after flattening onto the CT grid (None if off it)."""
    ct = ijk_to_lps(nrrd.read_header(str(CT)))
    m = seg["ijkToLPS"]
    if not np.allclose(ct[:3, :3], m[:3, :3], atol=1e-3):
        return None
    offset = np.linalg.solve(ct, m[:, 3])[:3]
    if not np.allclose(offset, np.round(offset), atol=1e-3):
        return None
    offset = np.round(offset).astype(int)
    shape = nrrd.read_header(str(CT))["sizes"]
    out = np.zeros(shape, dtype=np.uint8)
    order = sorted(range(len(seg["segments"])), key=lambda n: seg["segments"][n].get("layer", 0))
    for n in order:
        mask = segment_mask(seg, seg["segments"][n])
        idx = np.nonzero(mask)
        dst = tuple(idx[a] + offset[a] for a in range(3))
        inside = np.all([(dst[a] >= 0) & (dst[a] < shape[a]) for a in range(3)], axis=0)
        out[tuple(d[inside] for d in dst)] = labels[n]
    values, counts = np.unique(out[out != 0], return_counts=True)
    return {str(int(v)): int(c) for v, c in zip(values, counts)}


def reading(path):
    seg = slicerio.read_segmentation(str(path))
    labels = rayseg_labels(seg["segments"])
    segments = []
    for s, label in zip(seg["segments"], labels):
        segments.append(
            dict(
                id=s["id"],
                name=s.get("name"),
                color=s.get("color"),
                label_value=s["labelValue"],
                layer=s.get("layer", 0),
                extent=s.get("extent"),
                status=s.get("status"),
                terminology=s.get("terminology"),
                tags=s.get("tags", {}),
                voxels=int(segment_mask(seg, s).sum()),
                rayseg_label=label,
            )
        )
    return dict(
        voxels_shape=list(seg["voxels"].shape),
        ijk_to_lps=seg["ijkToLPS"].tolist(),
        reference_image_extent_offset=seg.get("referenceImageExtentOffset"),
        segments=segments,
        flattened_label_voxels=flattened_counts(seg, labels),
    )


def crop_overlapping():
    """SegmentationOverlapping cropped to its sphere's box, as Slicer crops."""
    seg = slicerio.read_segmentation(str(THIRD_PARTY / "SegmentationOverlapping.seg.nrrd"))
    sphere = next(s for s in seg["segments"] if s["name"] == "overlapping sphere")
    e = sphere["extent"]
    lo = np.array([e[0], e[2], e[4]])
    hi = np.array([e[1], e[3], e[5]])
    seg["voxels"] = np.ascontiguousarray(
        seg["voxels"][:, lo[0] : hi[0] + 1, lo[1] : hi[1] + 1, lo[2] : hi[2] + 1]
    )
    m = seg["ijkToLPS"].copy()
    m[:3, 3] = (seg["ijkToLPS"] @ np.append(lo, 1.0))[:3]
    seg["ijkToLPS"] = m
    seg["referenceImageExtentOffset"] = [
        int(a + b) for a, b in zip(seg.get("referenceImageExtentOffset", [0, 0, 0]), lo)
    ]
    for s in seg["segments"]:
        x = s["extent"]
        new = []
        for a in range(3):
            new += [max(x[2 * a], lo[a]) - lo[a], min(x[2 * a + 1], hi[a]) - lo[a]]
        if any(new[2 * a] > new[2 * a + 1] for a in range(3)):
            new = [0, -1, 0, -1, 0, -1]
        s["extent"] = [int(v) for v in new]
    slicerio.write_segmentation(str(HERE / "cropped_overlapping.seg.nrrd"), seg)


def main():
    crop_overlapping()
    files = {
        "Segmentation.seg.nrrd": THIRD_PARTY / "Segmentation.seg.nrrd",
        "SegmentationOverlapping.seg.nrrd": THIRD_PARTY / "SegmentationOverlapping.seg.nrrd",
        "cropped_overlapping.seg.nrrd": HERE / "cropped_overlapping.seg.nrrd",
        "rayseg_written.seg.nrrd": HERE / "rayseg_written.seg.nrrd",
    }
    ref = {name: reading(path) for name, path in files.items()}
    (HERE / "reference.json").write_text(json.dumps(ref, indent=1) + "\n")


if __name__ == "__main__":
    main()
