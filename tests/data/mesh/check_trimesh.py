#!/usr/bin/env python3
"""Checks `rayseg mesh` output with trimesh (run by hand, not by cargo test).

    /work/venv-peers/bin/python tests/data/mesh/check_trimesh.py [--rayseg target/debug/rayseg]

Writes NIfTI masks with nibabel (a sphere, an anisotropic ellipsoid on an
oblique mirrored grid, a thin plate, a 1-voxel rod, two labels), runs the CLI
for STL (binary, ASCII), OBJ and PLY in LPS and RAS, and checks with trimesh:
`is_watertight`, volume against voxel count x voxel volume (2 %), world
bounds against the label's voxel extent (half a voxel), and the SPACE tag.
Needs numpy, nibabel and trimesh.
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import trimesh

ROOT = Path(__file__).resolve().parents[3]


def oblique_affine():
    """Rotated about a skew axis, 0.8 x 1.1 x 2.5 mm, i mirrored."""
    axis = np.array([1.0, 2.0, 0.5])
    axis /= np.linalg.norm(axis)
    angle = 0.7
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    rotation = np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag([-0.8, 1.1, 2.5])
    affine[:3, 3] = [-120.0, 35.5, 410.0]
    return affine


def masks():
    """(name, labels array, affine) test cases."""
    i, j, k = np.indices((40, 40, 40), dtype=float)
    sphere = ((i - 19.7) ** 2 + (j - 20.2) ** 2 + (k - 19.9) ** 2 <= 12.0**2).astype(np.uint8)
    yield "sphere", sphere, np.diag([1.0, 1.0, 1.0, 1.0])

    i, j, k = np.indices((70, 50, 16), dtype=float)
    x, y, z = (i - 34.6) * 0.7, (j - 24.4) * 0.7, (k - 7.3) * 3.0
    ellipsoid = ((x / 22) ** 2 + (y / 15) ** 2 + (z / 18) ** 2 <= 1).astype(np.uint8)
    yield "ellipsoid_aniso", ellipsoid, np.diag([0.7, 0.7, 3.0, 1.0])
    yield "ellipsoid_oblique", ellipsoid, oblique_affine()

    plate = np.zeros((30, 30, 8), np.uint8)
    plate[3:27, 4:26, 3:5] = 1
    yield "plate_2_voxels", plate, np.diag([0.8, 0.8, 1.5, 1.0])

    rod = np.zeros((40, 12, 12), np.uint8)
    rod[2:31, 5, 6] = 1
    rod[30, 5:11, 6] = 1
    yield "rod_1_voxel", rod, np.diag([0.8, 0.8, 1.5, 1.0])

    two = np.zeros((30, 30, 30), np.uint8)
    i, j, k = np.indices(two.shape, dtype=float)
    two[(i - 9) ** 2 + (j - 10) ** 2 + (k - 12) ** 2 <= 36] = 1
    two[(i - 21) ** 2 + (j - 19) ** 2 + (k - 16) ** 2 <= 25] = 2
    yield "two_labels", two, np.diag([1.2, 0.9, 2.0, 1.0])


def voxel_extent(labels, value, affine, space):
    """World AABB of the label's voxel corners in `space`, and half a voxel
    along each world axis (half the voxel's extent projected on it)."""
    idx = np.argwhere(labels == value).astype(float)
    offsets = np.array([[a, b, c] for a in (-0.5, 0.5) for b in (-0.5, 0.5) for c in (-0.5, 0.5)])
    corners = (idx[:, None, :] + offsets[None, :, :]).reshape(-1, 3)
    world = corners @ affine[:3, :3].T + affine[:3, 3]
    if space == "lps":
        world[:, :2] *= -1
    half = 0.5 * np.abs(affine[:3, :3]).sum(axis=1)
    return world.min(axis=0), world.max(axis=0), half


def space_tag(path):
    data = path.read_bytes()
    head = data[:80] if path.suffix == ".stl" and not data.startswith(b"solid") else data[:400]
    return "LPS" if b"SPACE=LPS" in head else "RAS" if b"SPACE=RAS" in head else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rayseg", default=str(ROOT / "target/debug/rayseg"))
    args = parser.parse_args()
    failures = 0
    print(f"trimesh {trimesh.__version__}")
    print(f"{'case':<18} {'file':<36} {'watertight':>10} {'volume mL':>10} {'voxel mL':>10} {'diff %':>7} {'bounds dev':>10} tag")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, labels, affine in masks():
            mask = tmp / f"{name}.nii.gz"
            nib.save(nib.Nifti1Image(labels, affine), mask)
            voxel_mm3 = abs(np.linalg.det(affine[:3, :3]))
            values = [v for v in np.unique(labels) if v != 0]
            for ext, extra, space in [
                ("stl", [], "lps"),
                ("stl", ["--no-volume-correction"], "lps"),
                ("stl", ["--ascii"], "ras"),
                ("obj", [], "lps"),
                ("ply", [], "ras"),
            ]:
                out = tmp / f"{name}.{ext}"
                cmd = [args.rayseg, "mesh", str(mask), "-o", str(out), "--space", space, *extra]
                run = subprocess.run(cmd, capture_output=True, text=True)
                if run.returncode != 0:
                    print(f"FAIL {name}: {' '.join(cmd)}\n{run.stderr}")
                    failures += 1
                    continue
                for value in values:
                    path = tmp / f"{name}_label_{value}.{ext}"
                    mesh = trimesh.load(path, force="mesh")
                    voxel_ml = (labels == value).sum() * voxel_mm3 / 1000
                    diff = 100 * (mesh.volume / 1000 - voxel_ml) / voxel_ml
                    lo, hi, half = voxel_extent(labels, value, affine, space)
                    # Worst deviation as a fraction of half a voxel on that axis.
                    dev = max((np.abs(mesh.bounds[0] - lo) / half).max(), (np.abs(mesh.bounds[1] - hi) / half).max())
                    tag = space_tag(path)
                    ok = (
                        mesh.is_watertight
                        and mesh.is_winding_consistent
                        and (abs(diff) <= 2.0 or "--no-volume-correction" in extra)
                        and dev <= 1.0
                        and tag == space.upper()
                        and mesh.volume > 0
                    )
                    failures += not ok
                    label = path.name.removeprefix(name + "_")
                    print(
                        f"{name:<18} {label + ' ' + ' '.join(extra):<36} {str(mesh.is_watertight):>10} "
                        f"{mesh.volume / 1000:>10.4f} {voxel_ml:>10.4f} {diff:>+7.2f} "
                        f"{dev:>6.2f} vx {tag}{'' if ok else '  FAIL'}"
                    )
        # One label by number, to the exact name given.
        mask = tmp / "sphere.nii.gz"
        out = tmp / "only.stl"
        run = subprocess.run([args.rayseg, "mesh", str(mask), "--label", "1", "-o", str(out), "--smooth", "0"],
                             capture_output=True, text=True)
        mesh = trimesh.load(out) if out.exists() else None
        ok = run.returncode == 0 and mesh is not None and mesh.is_watertight
        failures += not ok
        print(f"--label 1 --smooth 0: watertight {mesh.is_watertight if mesh else None}, "
              f"volume {mesh.volume / 1000 if mesh else 0:.4f} mL{'' if ok else '  FAIL'}")
    print("all passed" if failures == 0 else f"{failures} FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
