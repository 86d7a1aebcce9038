"""grow against `rayseg grow`, an independent flood fill, and across devices."""

from collections import deque

import numpy as np
import pytest

import rayseg


def flood(inside, seeds, neighbours=6):
    """Voxels of `inside` connected to `seeds` (face or full 26-neighbourhood)."""
    steps = [(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)
             if (a, b, c) != (0, 0, 0) and (neighbours == 26 or abs(a) + abs(b) + abs(c) == 1)]
    out = np.zeros(inside.shape, bool)
    todo = deque(tuple(s) for s in seeds if inside[tuple(s)])
    for s in todo:
        out[s] = True
    while todo:
        i, j, k = todo.popleft()
        for a, b, c in steps:
            n = (i + a, j + b, k + c)
            if all(0 <= n[x] < inside.shape[x] for x in range(3)) and inside[n] and not out[n]:
                out[n] = True
                todo.append(n)
    return out


@pytest.fixture(scope="module")
def lesion(ct, truth):
    """A liver lesion's centre voxel and a HU window around its value."""
    image, affine = ct
    t = next(t for t in truth if t["location"] == "liver")
    ijk = np.linalg.solve(affine, np.append(t["centre_ras_mm"], 1.0))[:3].round().astype(int)
    lo = (t["hu"] + t["surrounding_hu"]) / 2
    return tuple(int(x) for x in ijk), t["centre_ras_mm"], min(lo, t["hu"] + 60), max(lo, t["hu"] + 60)


@pytest.mark.parametrize("connectivity", [6, 26])
def test_grow_matches_cli_and_flood(tmp_path, ct_path, ct, run, lesion, connectivity):
    image, affine = ct
    seed, _, lower, upper = lesion
    out = tmp_path / "g.nii.gz"
    run("grow", ct_path, "--seed", ",".join(map(str, seed)), "--lower", lower, "--upper", upper,
        "--connectivity", connectivity, "--label", 3, "--cpu", "-o", out)
    cli, _ = rayseg.load_labels(out)
    py, report = rayseg.grow(image, affine, seed, lower, upper, connectivity=connectivity,
                             label=3, device="cpu", return_info=True)
    assert py.dtype == np.uint8 and py.shape == image.shape
    np.testing.assert_array_equal(py, cli)
    expected = flood((image >= lower) & (image <= upper), [seed], connectivity)
    np.testing.assert_array_equal(py == 3, expected)
    assert report["voxels"] == expected.sum() > 0 and report["device"] == "cpu"


def test_grow_gpu_equals_cpu(ct, lesion):
    image, affine = ct
    seed, seed_mm, lower, upper = lesion
    assert rayseg.gpu_available(), "no GPU adapter (install mesa-vulkan-drivers)"
    assert rayseg.gpu_adapter()
    kw = dict(seeds_mm=[seed_mm], max_distance_mm=6.0, connectivity=26)
    cpu = rayseg.grow(image, affine, None, lower, upper, device="cpu", **kw)
    gpu, report = rayseg.grow(image, affine, None, lower, upper, device="gpu",
                              return_info=True, **kw)
    assert report["device"] == "gpu"
    np.testing.assert_array_equal(gpu, cpu)
    auto = rayseg.grow(image.astype(np.float32), affine, None, lower, upper, **kw)
    np.testing.assert_array_equal(auto, cpu)
    assert cpu.any()


def test_grow_into_labels_with_locks(tmp_path, ct_path, ct, run, lesion):
    image, affine = ct
    seed, _, lower, upper = lesion
    start = np.zeros(image.shape, np.uint8)
    i, j, k = seed
    start[i - 1:i + 2, j - 1:j + 2, :] = 5
    start[seed] = 0
    rayseg.save_labels(tmp_path / "start.nii.gz", start, affine)
    for device in ("cpu", "gpu"):
        out = tmp_path / f"g-{device}.nii.gz"
        run("grow", ct_path, "--seed", ",".join(map(str, seed)), "--lower", lower, "--upper",
            upper, "--mask", tmp_path / "start.nii.gz", "--locked", 5, "-o", out,
            *(["--cpu"] if device == "cpu" else []))
        py = rayseg.grow(image, affine, seed, lower, upper, labels=start, locked=[5],
                         device=device)
        np.testing.assert_array_equal(py, rayseg.load_labels(out)[0])
        assert (py[start == 5] == 5).all()


def test_grow_errors(ct):
    image, affine = ct
    with pytest.raises(ValueError, match="outside"):
        rayseg.grow(image, affine, (99, 0, 0), 0, 1)
    with pytest.raises(ValueError, match="bounds"):
        rayseg.grow(image, affine, (1, 1, 1), 10, 0, device="cpu")
    with pytest.raises(ValueError, match="seed"):
        rayseg.grow(image, affine, None, 0, 1)
    with pytest.raises(ValueError, match="device"):
        rayseg.grow(image, affine, (1, 1, 1), 0, 1, device="tpu")
    with pytest.raises(ValueError, match="connectivity"):
        rayseg.grow(image, affine, (1, 1, 1), 0, 1, connectivity=8)
    with pytest.warns(rayseg.RaysegWarning, match="grows nothing"):
        out = rayseg.grow(image, affine, (0, 0, 0), 5000, 6000, device="cpu")
    assert not out.any()
