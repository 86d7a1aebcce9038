#!/usr/bin/env python3
"""Writes tests/data/interpolate_itk/: ITK's MorphologicalContourInterpolator
on small drawn shapes, the oracle of tests/interpolate_itk.rs.

    python3 benches/peers/make_interpolate_oracles.py [--python PY]

Needs numpy, nibabel and the ITK package `itk-morphologicalcontourinterpolation`
(PyPI), in the running interpreter or in --python's (e.g. a venv:
`python3 -m venv /work/venv-peers && /work/venv-peers/bin/pip install
itk-morphologicalcontourinterpolation nibabel`).

Each shape is an analytic 3-D object on a 64×64×30 grid (voxels 0.8×0.8×2.5
mm; only the index space matters to both interpolators). Every 5th to 7th
slice across k is kept (the "drawn" slices, as a user draws them), ITK fills
the slices between, once with UseDistanceTransform off (the dilation median,
the method rayseg implements: the test's oracle) and once with ITK's default
(distance-transform median, reported only). ITK runs in a child process
(itk_interpolate.py) with one thread and a timeout: ITK 5.4's interpolator
crashed with a heap error under default threading on the 2-core machine.

Files per shape NAME: NAME_input.nii.gz (label 1 on the drawn slices),
NAME_itk.nii.gz (ITK, distance transform off), NAME_itk_dt.nii.gz (ITK
default), all uint8 on the same grid; oracles.json lists the shapes, their
drawn slices and ITK's Dice against the analytic truth and between its modes.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = ROOT / "tests" / "data" / "interpolate_itk"
SHAPE = (64, 64, 30)
SPACING = (0.8, 0.8, 2.5)


def shapes():
    """name -> (description, slice step, first drawn slice, truth [i, j, k] bool array)."""
    import numpy as np

    i, j = np.meshgrid(np.arange(SHAPE[0]), np.arange(SHAPE[1]), indexing="ij")
    nk = SHAPE[2]

    def disc(ci, cj, r):
        return (i - ci) ** 2 + (j - cj) ** 2 <= r * r

    def stack(f):
        return np.stack([f(k) for k in range(nk)], axis=2)

    def ellipse(ci, cj, a, b, theta):
        u = (i - ci) * np.cos(theta) + (j - cj) * np.sin(theta)
        v = -(i - ci) * np.sin(theta) + (j - cj) * np.cos(theta)
        return (u / a) ** 2 + (v / b) ** 2 <= 1.0

    t = lambda k: k / (nk - 1)  # noqa: E731
    return {
        "cone": ("a disc whose radius grows from 4 to 16 voxels (two discs of different radius "
                 "between any two drawn slices)", 6, 2,
                 stack(lambda k: disc(32, 32, 4 + 12 * t(k)))),
        "shifted": ("a disc of radius 8 whose centre moves 24 voxels along i (shifted discs)", 5, 2,
                    stack(lambda k: disc(20 + 24 * t(k), 32, 8))),
        "split": ("two discs of radius 7 moving apart: one region on the first drawn slices, "
                  "two on the last (a split)", 6, 3,
                  stack(lambda k: disc(32 - (1 + 14 * t(k)), 32, 7) | disc(32 + (1 + 14 * t(k)), 32, 7))),
        "appear": ("a disc of radius 6 on every slice, and a disc of radius 7 on slices 12-18 only "
                   "(a region appearing and ending between drawn slices)", 7, 1,
                   stack(lambda k: disc(20, 32, 6) | (disc(44, 32, 7) & (12 <= k <= 18)))),
        "rotate": ("an ellipse with semi-axes 14 and 6 voxels turning by 90 degrees", 5, 2,
                   stack(lambda k: ellipse(32, 32, 14, 6, np.pi / 2 * t(k)))),
        "crescent": ("a concave C shape (a disc minus a shifted smaller disc) growing from radius "
                     "10 to 16", 6, 1,
                     stack(lambda k: disc(32, 32, 10 + 6 * t(k))
                           & ~disc(32 + 0.5 * (10 + 6 * t(k)), 32, 0.7 * (10 + 6 * t(k))))),
    }


def dice(a, b):
    import numpy as np

    s = int(a.sum()) + int(b.sum())
    return 1.0 if s == 0 else 2.0 * int(np.logical_and(a, b).sum()) / s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default=os.environ.get("RAYSEG_PEERS_PYTHON", sys.executable),
                    help="interpreter with itk-morphologicalcontourinterpolation and nibabel")
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()
    import nibabel as nib
    import numpy as np

    OUT.mkdir(parents=True, exist_ok=True)
    affine = np.diag([*SPACING, 1.0])
    listing = {"shape": list(SHAPE), "spacing_mm": list(SPACING), "axis": 2, "shapes": {}}
    itk_version = None
    with tempfile.TemporaryDirectory() as tmp:
        for name, (what, step, first, truth) in shapes().items():
            drawn = [k for k in range(first, SHAPE[2], step) if truth[:, :, k].any()]
            sparse = np.zeros(SHAPE, np.uint8)
            for k in drawn:
                sparse[:, :, k] = truth[:, :, k]
            inp = OUT / f"{name}_input.nii.gz"
            nib.save(nib.Nifti1Image(sparse, affine), inp)
            between = np.zeros(SHAPE, bool)
            between[:, :, drawn[0]:drawn[-1] + 1] = True
            between[:, :, drawn] = False
            entry = {"what": what, "step": step, "drawn_slices": drawn}
            results = {}
            for mode, flags in (("itk", []), ("itk_dt", ["--distance-transform"])):
                out = OUT / f"{name}_{mode}.nii.gz"
                tmp_out = Path(tmp) / out.name
                p = subprocess.run([args.python, str(HERE / "itk_interpolate.py"), str(inp),
                                    str(tmp_out), "--axis", "2", *flags],
                                   capture_output=True, text=True, timeout=args.timeout)
                if p.returncode != 0:
                    sys.exit(f"ITK failed on {name} ({mode}), exit {p.returncode}:\n{p.stderr}")
                info = json.loads(p.stdout.strip().splitlines()[-1])
                itk_version = info["itk"]
                res = np.asarray(nib.load(tmp_out).dataobj) > 0
                # Stored as written by nibabel from the array (not ITK's own header).
                nib.save(nib.Nifti1Image(res.astype(np.uint8), affine), out)
                results[mode] = res
                entry[f"{mode}_dice_vs_truth_between"] = round(dice(res & between, truth & between), 4)
                entry[f"{mode}_voxels"] = int(res.sum())
            entry["itk_vs_itk_dt_dice_between"] = round(
                dice(results["itk"] & between, results["itk_dt"] & between), 4)
            entry["truth_voxels_between"] = int((truth & between).sum())
            listing["shapes"][name] = entry
            print(name, json.dumps(entry))
    listing["itk"] = itk_version
    listing["made_by"] = "benches/peers/make_interpolate_oracles.py"
    (OUT / "oracles.json").write_text(json.dumps(listing, indent=1) + "\n")


if __name__ == "__main__":
    main()
