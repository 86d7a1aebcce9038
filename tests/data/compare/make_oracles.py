#!/usr/bin/env python3
"""Writes the label-map pairs of tests/compare.rs and their expected metrics.

    python3 tests/data/compare/make_oracles.py

Needs numpy, scipy, nibabel, SimpleITK, MedPy and DeepMind's surface-distance
(not on PyPI: `pip install git+https://github.com/deepmind/surface-distance`).
The expected values come from surface-distance (surfaces, distances, surface
Dice, Dice) and SimpleITK (Dice, Jaccard, volumes, read from the written
files); nothing here calls rayseg. SimpleITK's and MedPy's own distances are
recorded under "peers" for the README's comparison and are not asserted.
"""

import json
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import SimpleITK as sitk
from scipy import ndimage
from scipy.spatial import cKDTree

# surface-distance (2020) still uses numpy's removed aliases.
np.Inf, np.NaN = np.inf, np.nan
import surface_distance as sd  # noqa: E402
from medpy.metric import binary as medpy  # noqa: E402

HERE = Path(__file__).resolve().parent
PERCENT = 95
# A fixture is rejected if a cumulative area share or a distance lies this
# close to 95 % or to the tolerance: rounding could then move the answer.
EDGE = 1e-9


def affine(spacing, rotation=np.eye(3), origin=(0.0, 0.0, 0.0)):
    m = np.eye(4)
    m[:3, :3] = rotation @ np.diag(spacing)
    m[:3, 3] = origin
    return m


def rotation(axis, angle):
    """Rodrigues: rotation by `angle` radians about `axis`."""
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * kx @ kx


def blob(shape, centre, radii, seed, roughness=0.35):
    """An ellipsoid (voxel units) with a smoothly wobbling boundary."""
    rng = np.random.default_rng(seed)
    grid = np.indices(shape, dtype=float)
    r = sum(((g - c) / q) ** 2 for g, c, q in zip(grid, centre, radii))
    noise = ndimage.gaussian_filter(rng.standard_normal(shape), 2.0)
    return r + roughness * noise / noise.std() < 1.0


def save(name, labels, m):
    img = nib.Nifti1Image(labels.astype(np.uint8), m)
    img.set_qform(m, code=1)
    img.set_sform(m, code=1)
    nib.save(img, HERE / name)


def pairs():
    """(case, file A, file B, tolerance mm); writes the files."""
    # Anisotropic, multi-label: 1 and 2 in both, 3 only in A, 5 only in B.
    shape = (40, 36, 24)
    m = affine((0.7, 0.9, 2.5), origin=(-12.0, 30.5, 7.25))
    a = np.zeros(shape, np.uint8)
    b = np.zeros(shape, np.uint8)
    a[blob(shape, (14, 14, 10), (9, 8, 6), 1)] = 1
    b[blob(shape, (15, 13, 10.5), (9.5, 8, 5.5), 2)] = 1
    a[blob(shape, (28, 24, 14), (7, 9, 5), 3)] = 2
    b[blob(shape, (27, 25, 13), (7, 8, 6), 4)] = 2
    a[blob(shape, (8, 30, 19), (4, 3, 2.5), 5)] = 3
    b[blob(shape, (33, 6, 4), (4, 4, 2.5), 6)] = 5
    save("aniso_a.nii.gz", a, m)
    save("aniso_b.nii.gz", b, m)
    # Same as aniso_b but placed 0.01 mm away: a different grid.
    save("shifted_b.nii.gz", b, affine((0.7, 0.9, 2.5), origin=(-11.99, 30.5, 7.25)))

    # Oblique (rotated about a skew axis, i flipped): label 1 overlapping,
    # label 2 present in both but disjoint.
    shape = (32, 28, 20)
    r = rotation((1.0, -2.0, 0.5), 0.6) @ np.diag((-1.0, 1.0, 1.0))
    m = affine((1.2, 0.8, 1.5), r, origin=(40.0, -22.0, 13.0))
    a = np.zeros(shape, np.uint8)
    b = np.zeros(shape, np.uint8)
    a[blob(shape, (14, 13, 9), (8, 9, 6), 7)] = 1
    b[blob(shape, (15, 14, 10), (8, 8, 6), 8)] = 1
    a[blob(shape, (5, 22, 4), (3, 4, 3), 9)] = 2
    b[blob(shape, (26, 5, 16), (3, 3, 3), 10)] = 2
    save("oblique_a.nii.gz", a, m)
    save("oblique_b.nii.gz", b, m)

    return [
        ("anisotropic", "aniso_a.nii.gz", "aniso_b.nii.gz", 1.0),
        ("oblique", "oblique_a.nii.gz", "oblique_b.nii.gz", 2.0),
        ("identical", "aniso_a.nii.gz", "aniso_a.nii.gz", 1.0),
    ]


def read(name):
    """Labels (i, j, k) and the voxel spacing: column norms of the affine."""
    img = nib.load(HERE / name)
    labels = np.asarray(img.dataobj).astype(np.uint8)
    spacing = np.linalg.norm(img.affine[:3, :3], axis=0)
    return labels, img.affine, spacing


def check_not_on_an_edge(distances, areas, tolerance):
    """Refuses fixtures whose answer could flip with the last bit of a sum."""
    if len(distances) == 0:
        return
    share = np.cumsum(areas) / np.sum(areas)
    i = int(np.searchsorted(share, PERCENT / 100.0))
    for j in (i - 1, i):
        if 0 <= j < len(share) - 1 and abs(share[j] - PERCENT / 100.0) < EDGE:
            raise SystemExit(f"95 % falls on a surfel boundary ({share[j]}): change a seed")
    if np.any(np.abs(distances - tolerance) < EDGE):
        raise SystemExit("a distance equals the tolerance: change a seed")


def voxel_centre_hausdorff(ma, mb, m):
    """Exact Hausdorff distance (mm) between the two sets of voxel centres."""
    pa = nib.affines.apply_affine(m, np.argwhere(ma))
    pb = nib.affines.apply_affine(m, np.argwhere(mb))
    return max(cKDTree(pb).query(pa)[0].max(), cKDTree(pa).query(pb)[0].max())


def peers(ma, mb, m, spacing):
    """SimpleITK and MedPy on the same pair (reported, not asserted)."""
    out = {"voxel_centre_hausdorff_mm": voxel_centre_hausdorff(ma, mb, m)}
    ia, ib = (sitk.GetImageFromArray(x.astype(np.uint8).transpose(2, 1, 0)) for x in (ma, mb))
    for img in (ia, ib):
        img.SetSpacing([float(s) for s in spacing])
    h = sitk.HausdorffDistanceImageFilter()
    h.Execute(ia, ib)
    out["simpleitk_hausdorff_mm"] = h.GetHausdorffDistance()
    out["simpleitk_average_hausdorff_mm"] = h.GetAverageHausdorffDistance()
    out["medpy_hd_mm"] = medpy.hd(mb, ma, voxelspacing=spacing)
    out["medpy_hd95_mm"] = medpy.hd95(mb, ma, voxelspacing=spacing)
    out["medpy_assd_mm"] = medpy.assd(mb, ma, voxelspacing=spacing)
    return out


def label_oracle(l, a, b, m, spacing, overlap, shape_a, shape_b, tolerance):
    ma, mb = a == l, b == l
    na, nb = int(ma.sum()), int(mb.sum())
    voxel_ml = abs(np.linalg.det(m[:3, :3])) / 1000.0
    e = {"label": l, "voxels_a": na, "voxels_b": nb, "voxels_both": int((ma & mb).sum())}
    e["empty"] = "A" if na == 0 else "B" if nb == 0 else None
    # Volumes from SimpleITK's own reading of the files.
    e["volume_a_ml"] = shape_a.GetPhysicalSize(l) / 1000.0 if na else 0.0
    e["volume_b_ml"] = shape_b.GetPhysicalSize(l) / 1000.0 if nb else 0.0
    assert abs(e["volume_a_ml"] - na * voxel_ml) < 1e-6 * max(1.0, e["volume_a_ml"])
    e["volume_diff_ml"] = e["volume_b_ml"] - e["volume_a_ml"]
    e["volume_diff_percent"] = 100.0 * (nb - na) / na if na else None
    e["dice"] = float(sd.compute_dice_coefficient(ma, mb))
    if na and nb:
        e["jaccard"] = overlap.GetJaccardCoefficient(l)
        assert abs(overlap.GetDiceCoefficient(l) - e["dice"]) < 1e-12
    else:
        e["jaccard"] = 0.0

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # inf/NaN on empty sides
        d = sd.compute_surface_distances(ma, mb, spacing)
    dab, dba = d["distances_gt_to_pred"], d["distances_pred_to_gt"]
    sa, sb = d["surfel_areas_gt"], d["surfel_areas_pred"]
    e["surface_area_a_mm2"] = float(sa.sum())
    e["surface_area_b_mm2"] = float(sb.sum())
    if e["empty"]:
        e["surface_dice"] = 0.0
        for k in ("hausdorff_mm", "hd95_mm", "assd_mm", "asd_a_to_b_mm", "asd_b_to_a_mm"):
            e[k] = None
        return e
    check_not_on_an_edge(dab, sa, tolerance)
    check_not_on_an_edge(dba, sb, tolerance)
    hd = max(dab.max(), dba.max())
    assert hd == sd.compute_robust_hausdorff(d, 100)
    e["hausdorff_mm"] = float(hd)
    e["hd95_mm"] = float(sd.compute_robust_hausdorff(d, PERCENT))
    ab, ba = sd.compute_average_surface_distance(d)
    e["asd_a_to_b_mm"], e["asd_b_to_a_mm"] = float(ab), float(ba)
    e["assd_mm"] = float((np.sum(dab * sa) + np.sum(dba * sb)) / (sa.sum() + sb.sum()))
    e["surface_dice"] = float(sd.compute_surface_dice_at_tolerance(d, tolerance))
    e["peers"] = peers(ma, mb, m, spacing)
    return e


def main():
    cases = []
    for case, fa, fb, tolerance in pairs():
        a, m, spacing = read(fa)
        b, mb_, _ = read(fb)
        assert np.allclose(m, mb_)
        ia, ib = sitk.ReadImage(str(HERE / fa)), sitk.ReadImage(str(HERE / fb))
        overlap = sitk.LabelOverlapMeasuresImageFilter()
        overlap.Execute(ia, ib)
        shapes = []
        for img in (ia, ib):
            f = sitk.LabelShapeStatisticsImageFilter()
            f.Execute(img)
            shapes.append(f)
        labels = sorted((set(np.unique(a)) | set(np.unique(b))) - {0})
        cases.append(
            {
                "case": case,
                "a": fa,
                "b": fb,
                "tolerance_mm": tolerance,
                "spacing_mm": spacing.tolist(),
                "labels": [
                    label_oracle(int(l), a, b, m, spacing, overlap, *shapes, tolerance)
                    for l in labels
                ],
            }
        )
    meta = {
        "made_by": "tests/data/compare/make_oracles.py",
        "numpy": np.__version__,
        "nibabel": nib.__version__,
        "SimpleITK": sitk.Version_VersionString(),
        "surface_distance": "deepmind/surface-distance d07cc4eeb5fc6968262648e30bf5c60f21e04313",
    }
    out = {"meta": meta, "cases": cases}
    (HERE / "oracles.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1)[:3000])


if __name__ == "__main__":
    main()
