"""stats and compare against the CLI's --json and NumPy; bad arguments."""

import numpy as np
import pytest

import rayseg


def masks(image):
    """Two overlapping label maps from thresholds, with two labels each."""
    a = np.zeros(image.shape, np.uint8)
    a[image > 20] = 1
    a[image > 200] = 2
    b = np.zeros(image.shape, np.uint8)
    b[image > 0] = 1
    b[image > 150] = 2
    return a, b


def test_stats_matches_cli(tmp_path, ct_path, ct, run):
    image, affine = ct
    a, _ = masks(image)
    rayseg.save_labels(tmp_path / "a.nii.gz", a, affine, names={1: "soft", 2: "dense"})
    cli = run("stats", tmp_path / "a.nii.gz", "--image", ct_path, "--json")
    py = rayseg.stats(image, affine, a, names={1: "soft", 2: "dense"})
    assert py == cli
    assert all(s["name"] is None for s in rayseg.stats(image, affine, a))


def test_stats_matches_numpy(ct):
    image, affine = ct
    a, _ = masks(image)
    voxel_ml = abs(np.linalg.det(affine[:3, :3])) / 1000
    for s in rayseg.stats(image, affine, a):
        v = image[a == s["label"]].astype(np.float64)
        assert s["voxels"] == v.size
        assert s["volume_ml"] == pytest.approx(v.size * voxel_ml, rel=1e-12)
        assert s["mean"] == pytest.approx(v.mean(), rel=1e-9)
        assert s["sd"] == pytest.approx(v.std(), rel=1e-9)
        assert (s["min"], s["max"]) == (v.min(), v.max())
        ijk = np.argwhere(a == s["label"])
        assert s["bbox_voxel"] == [ijk.min(0).tolist(), ijk.max(0).tolist()]
        centroid = affine @ np.append(ijk.mean(0), 1.0)
        np.testing.assert_allclose(s["centroid_ras_mm"], centroid[:3], atol=1e-9)


def test_compare_matches_cli(tmp_path, ct, run):
    image, affine = ct
    a, b = masks(image)
    rayseg.save_labels(tmp_path / "a.nii.gz", a, affine)
    rayseg.save_labels(tmp_path / "b.nii.gz", b, affine)
    cli = run("compare", tmp_path / "a.nii.gz", tmp_path / "b.nii.gz", "--json")
    py = rayseg.compare(a, b, affine)
    for key in ("grid", "tolerance_mm", "hd_percentile", "policy", "labels"):
        assert py[key] == cli[key], key
    cli = run("compare", tmp_path / "a.nii.gz", tmp_path / "b.nii.gz", "--label", 3,
              "--tolerance-mm", 2.5, "--json")
    assert rayseg.compare(a, b, affine, label=3, tolerance_mm=2.5)["labels"] == cli["labels"]


def test_compare_matches_numpy(ct):
    image, affine = ct
    a, b = masks(image)
    for m in rayseg.compare(a, b, affine)["labels"]:
        x, y = a == m["label"], b == m["label"]
        both = np.count_nonzero(x & y)
        assert (m["voxels_a"], m["voxels_b"], m["voxels_both"]) == (
            np.count_nonzero(x), np.count_nonzero(y), both)
        assert m["dice"] == pytest.approx(2 * both / (x.sum() + y.sum()), rel=1e-12)
        assert m["jaccard"] == pytest.approx(both / np.count_nonzero(x | y), rel=1e-12)


def test_any_layout_and_dtype(ct):
    image, affine = ct
    a, b = masks(image)
    ref = rayseg.stats(image, affine, a)
    # C order, a float copy of the image, int64 and bool label maps.
    assert rayseg.stats(np.ascontiguousarray(image), affine, np.ascontiguousarray(a)) == ref
    assert rayseg.stats(image.astype(np.float64), affine, a.astype(np.int64)) == ref
    assert rayseg.stats(image.tolist(), affine.tolist(), a.tolist()) == ref
    # A strided view of a larger array.
    big = np.zeros((64, 64, 64), image.dtype)
    big[::2, ::2, ::2] = image
    assert rayseg.stats(big[::2, ::2, ::2], affine, a) == ref
    mask = (a == 1)
    assert rayseg.stats(image, affine, mask)[0]["voxels"] == mask.sum()


def test_bad_arguments(ct):
    image, affine = ct
    a, _ = masks(image)
    with pytest.raises(ValueError, match="shape"):
        rayseg.stats(image, affine, a[:-1])
    with pytest.raises(ValueError, match="3-D"):
        rayseg.stats(image[0], affine, a)
    with pytest.raises(ValueError, match="invertible"):
        rayseg.stats(image, np.diag([1.0, 0.0, 1.0, 1.0]), a)
    with pytest.raises(ValueError, match="4x4"):
        rayseg.stats(image, np.eye(3), a)
    with pytest.raises(ValueError, match="last row"):
        rayseg.stats(image, np.ones((4, 4)), a)
    with pytest.raises(ValueError, match="non-finite"):
        rayseg.stats(image, np.full((4, 4), np.nan), a)
    with pytest.raises(ValueError, match="0..255"):
        rayseg.stats(image, affine, a.astype(np.int32) * 300)
    with pytest.raises(ValueError, match="non-integer"):
        rayseg.stats(image, affine, a * 0.5)
    with pytest.raises(ValueError, match="dtype"):
        rayseg.stats(image.astype(np.complex64), affine, a)
    with pytest.raises(ValueError, match="tolerance|Tolerance"):
        rayseg.compare(a, a, affine, tolerance_mm=-1)
