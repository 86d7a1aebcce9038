#!/usr/bin/env python3
"""Synthetic raters and SimpleITK oracles for `rayseg consensus`.

Writes, next to this script:
  <case>_r<N>.nii.gz          the raters' label maps (uint8)
  <case>_p<L>.nii.gz          SimpleITK STAPLE probability for label L (float64)
  <case>_staple.nii.gz        the multi-label STAPLE consensus (rule below)
  <case>_majority.nii.gz      NumPy majority vote (rule below)
  mismatch_shifted.nii.gz     the first rater of `multi` 0.01 mm off its grid
  oracles.json                per case and label: sensitivity, specificity,
                              elapsed iterations (floats also as hex bits)

STAPLE is SimpleITK's `STAPLEImageFilter` with its defaults (confidence
weight 1, unbounded iterations) and ForegroundValue = L, run once per label
present in any rater. Multi-label rule (rayseg's, computed here with NumPy
from SimpleITK's probabilities): a voxel takes the label whose probability is
>= 0.5, the most probable if several, ties to the lower label; none:
background. Majority: the label most raters gave (background counts); a tie
for the most gives background; checked here to equal SimpleITK's
`LabelVoting` with undecided label 0.

Run: python make_oracles.py  (numpy, nibabel, SimpleITK).
"""

import hashlib
import json
import struct
from pathlib import Path

import nibabel as nib
import numpy as np
import SimpleITK as sitk

HERE = Path(__file__).resolve().parent


def hexbits(x):
    return "0x%016x" % struct.unpack("<Q", struct.pack("<d", float(x)))[0]


def ellipsoid(shape, spacing, centre_mm, radii_mm):
    ijk = np.indices(shape).astype(float)
    d = sum(((ijk[a] * spacing[a] - centre_mm[a]) / radii_mm[a]) ** 2 for a in range(3))
    return d <= 1.0


def dilate(mask, steps=1):
    """6-connected dilation (np.roll would wrap: pad instead)."""
    for _ in range(steps):
        p = np.pad(mask, 1)
        out = p.copy()
        for a in range(3):
            out |= np.roll(p, 1, a) | np.roll(p, -1, a)
        mask = out[1:-1, 1:-1, 1:-1]
    return mask


def erode(mask, steps=1):
    return ~dilate(~mask, steps)


def shift(labels, offset):
    out = np.zeros_like(labels)
    src = tuple(slice(max(0, -o), labels.shape[a] - max(0, o)) for a, o in enumerate(offset))
    dst = tuple(slice(max(0, o), labels.shape[a] - max(0, -o)) for a, o in enumerate(offset))
    out[dst] = labels[src]
    return out


def paint(shape, masks):
    """Later masks over earlier ones: [(label, mask)]."""
    out = np.zeros(shape, np.uint8)
    for label, m in masks:
        out[m] = label
    return out


def boundary_noise(labels, rng, fraction):
    """Each voxel next to a different label takes a neighbour's label with
    probability `fraction`."""
    out = labels.copy()
    for a in range(3):
        nb = np.roll(labels, 1, a)
        edge = (nb != labels) & (rng.random(labels.shape) < fraction)
        out[edge] = nb[edge]
    return out


def case_multi():
    """5 raters, labels 1, 2, 7, anisotropic oblique grid."""
    shape, spacing = (40, 36, 16), (0.7, 0.8, 2.5)
    c = [shape[a] * spacing[a] / 2 for a in range(3)]
    organ = lambda g: ellipsoid(shape, spacing, c, [10 + g, 9 + g, 14 + 2 * g])
    lesion = lambda g: ellipsoid(shape, spacing, [c[0] + 4, c[1], c[2]], [3.5 + g, 3.5 + g, 6 + g])
    vessel = lambda g: ellipsoid(shape, spacing, [c[0] - 8, c[1] + 6, c[2]], [1.2 + g, 1.2 + g, 30])
    rng = np.random.default_rng(7)
    raters = [
        # Over-segments everything by about a voxel.
        paint(shape, [(1, organ(1.0)), (2, lesion(0.8)), (7, vessel(0.5))]),
        # Under-segments.
        paint(shape, [(1, organ(-1.0)), (2, lesion(-0.8)), (7, vessel(-0.3))]),
        # Right, but one voxel off along i and noisy edges.
        boundary_noise(shift(paint(shape, [(1, organ(0)), (2, lesion(0)), (7, vessel(0))]), (1, 0, 0)), rng, 0.3),
        # Misses the vessel and calls part of the lesion organ.
        paint(shape, [(1, organ(0.3)), (2, lesion(-1.5))]),
        # Close to the truth, a little noise.
        boundary_noise(paint(shape, [(1, organ(0)), (2, lesion(0)), (7, vessel(0))]), rng, 0.15),
    ]
    theta = np.deg2rad(12)
    rot = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]])
    affine = np.eye(4)
    affine[:3, :3] = rot @ np.diag(spacing)
    affine[:3, 3] = [-20.5, 13.25, 40.0]
    return raters, affine


def case_binary():
    """3 raters, one label, isotropic 1 mm."""
    shape, spacing = (32, 30, 28), (1.0, 1.0, 1.0)
    c = [16, 15, 14]
    rng = np.random.default_rng(11)
    raters = [
        paint(shape, [(1, ellipsoid(shape, spacing, c, [9, 8, 7]))]),
        paint(shape, [(1, dilate(ellipsoid(shape, spacing, c, [9, 8, 7]), 2))]),
        boundary_noise(paint(shape, [(1, ellipsoid(shape, spacing, [c[0], c[1] + 2, c[2]], [8, 8, 8]))]), rng, 0.4),
    ]
    affine = np.diag([1.0, 1.0, 1.0, 1.0])
    return raters, affine


def case_pair():
    """2 raters (STAPLE's least), labels 1 and 3, one of them marked by one
    rater only."""
    shape, spacing = (24, 20, 12), (1.2, 1.2, 3.0)
    c = [14.4, 12.0, 18.0]
    a = paint(shape, [(1, ellipsoid(shape, spacing, c, [8, 7, 12])), (3, ellipsoid(shape, spacing, [c[0] + 6, c[1], c[2]], [2.5, 2.5, 5]))])
    b = paint(shape, [(1, erode(ellipsoid(shape, spacing, c, [8, 7, 12])))])
    return [a, b], np.diag([1.2, 1.2, 3.0, 1.0])


def case_noise():
    """4 raters of independent random noise: STAPLE needs thousands of
    iterations, which tests that the sums match ITK's bit for bit."""
    shape = (20, 18, 16)
    rng = np.random.default_rng(3)
    raters = [(rng.random(shape) < p).astype(np.uint8) for p in (0.2, 0.35, 0.5, 0.3)]
    return raters, np.eye(4)


def to_sitk(labels):
    # NumPy index [i, j, k] (i fastest in the file) to SimpleITK's [k, j, i].
    return sitk.GetImageFromArray(np.ascontiguousarray(labels.transpose(2, 1, 0)))


def from_sitk(image):
    return sitk.GetArrayFromImage(image).transpose(2, 1, 0)


def save(labels, affine, name):
    img = nib.Nifti1Image(labels, affine)
    img.header.set_data_dtype(labels.dtype)
    img.set_sform(affine, code=1)
    img.set_qform(affine, code=1)
    nib.save(img, HERE / name)


def majority(raters):
    stack = np.stack(raters)
    votes = np.stack([(stack == v).sum(0) for v in range(256)])
    best = votes.max(0)
    winners = (votes == best).sum(0)
    return np.where(winners == 1, votes.argmax(0), 0).astype(np.uint8)


def main():
    oracle = {
        "simpleitk": sitk.Version.VersionString(),
        "itk": sitk.Version.ITKVersionString(),
        "cases": {},
    }
    cases = {"multi": case_multi(), "binary": case_binary(), "pair": case_pair(), "noise": case_noise()}
    for name, (raters, affine) in cases.items():
        files = []
        for n, r in enumerate(raters):
            files.append(f"{name}_r{n}.nii.gz")
            save(r.astype(np.uint8), affine, files[-1])
        images = [to_sitk(r) for r in raters]
        labels = sorted(set(np.unique(np.stack(raters)).tolist()) - {0})
        per_label = {}
        probs = {}
        for label in labels:
            f = sitk.STAPLEImageFilter()
            f.SetForegroundValue(float(label))
            p = from_sitk(f.Execute(images))
            probs[label] = p
            save(p.astype(np.float64), affine, f"{name}_p{label}.nii.gz")
            sens, spec = f.GetSensitivity(), f.GetSpecificity()
            per_label[str(label)] = {
                "sensitivity": list(sens),
                "specificity": list(spec),
                "sensitivity_bits": [hexbits(x) for x in sens],
                "specificity_bits": [hexbits(x) for x in spec],
                "iterations": f.GetElapsedIterations(),
                "probability": f"{name}_p{label}.nii.gz",
                # SHA-256 of the float64 probabilities, little-endian, i fastest.
                "probability_sha256": hashlib.sha256(
                    np.ascontiguousarray(p.transpose(2, 1, 0), dtype="<f8").tobytes()
                ).hexdigest(),
            }
        # Multi-label rule on SimpleITK's probabilities. Ascending labels and
        # a strict `>` keep the lower label on ties.
        consensus = np.zeros(raters[0].shape, np.uint8)
        best = np.full(raters[0].shape, -1.0)
        for label in labels:
            take = (probs[label] >= 0.5) & (probs[label] > best)
            consensus[take] = label
            best[take] = probs[label][take]
        save(consensus, affine, f"{name}_staple.nii.gz")
        vote = majority(raters)
        itk_vote = from_sitk(sitk.LabelVoting(images, 0))
        assert np.array_equal(vote, itk_vote), f"{name}: majority differs from sitk.LabelVoting"
        save(vote, affine, f"{name}_majority.nii.gz")
        oracle["cases"][name] = {
            "inputs": files,
            "shape": list(raters[0].shape),
            "labels": per_label,
            "staple": f"{name}_staple.nii.gz",
            "majority": f"{name}_majority.nii.gz",
            "staple_voxels": {str(l): int((consensus == l).sum()) for l in labels},
            "majority_voxels": {str(l): int((vote == l).sum()) for l in labels},
        }
        its = {l: v["iterations"] for l, v in per_label.items()}
        print(name, raters[0].shape, "labels", labels, "iterations", its)
    # The multi case's first rater, its grid moved 0.01 mm (> 1e-3 mm).
    raters, affine = cases["multi"]
    moved = affine.copy()
    moved[1, 3] += 0.01
    save(raters[0], moved, "mismatch_shifted.nii.gz")
    (HERE / "oracles.json").write_text(json.dumps(oracle, indent=1) + "\n")


if __name__ == "__main__":
    main()
