"""The effects and grow from seeds against their CLI subcommands, voxel for
voxel, and against NumPy where the result is plain."""

import numpy as np
import pytest

import rayseg


@pytest.fixture(scope="module")
def maps(ct, tmp_path_factory):
    """A map with a hollow block (label 1, two islands), a thin slab drawn on
    two slices (label 2) and a bright-tissue label (3), saved for the CLI."""
    image, affine = ct
    m = np.zeros(image.shape, np.uint8)
    m[4:14, 4:14, 4:14] = 1
    m[7:11, 7:11, 7:11] = 0
    m[20:22, 2:4, 2:4] = 1
    m[18:26, 18:26, 10] = 2
    m[19:25, 19:25, 16] = 2
    m[(image > 100) & (m == 0)] = 3
    other = np.zeros(image.shape, np.uint8)
    other[8:20, 8:20, 8:20] = 4
    d = tmp_path_factory.mktemp("effects")
    rayseg.save_labels(d / "m.nii.gz", m, affine)
    rayseg.save_labels(d / "other.nii.gz", other, affine)
    return d, m, other


CASES = {
    "margin+": (["margin", "--label", 1, "--mm", 2.0], dict(f="margin", label=1, mm=2.0)),
    "margin-": (["margin", "--label", 1, "--mm", -1.5], dict(f="margin", label=1, mm=-1.5)),
    "margin-bg": (["margin", "--label", 3, "--mm", 3, "--overwrite", "background"],
                  dict(f="margin", label=3, mm=3, overwrite="background")),
    "hollow": (["hollow", "--label", 1, "--mm", 1.5, "--outside"],
               dict(f="hollow", label=1, mm=1.5, shell="outside")),
    "smooth": (["smooth", "--label", 3, "--median-mm", 2], dict(f="smooth", label=3, median_mm=2)),
    "gauss": (["smooth", "--label", 1, "--gaussian-mm", 1], dict(f="smooth", label=1,
                                                                 gaussian_mm=1)),
    "fill": (["fill-holes", "--label", 1], dict(f="fill_holes", label=1)),
    "fill2d": (["fill-holes", "--label", 1, "--slice-wise", "--axis", "j"],
               dict(f="fill_holes", label=1, slice_wise=True, axis="j")),
    "largest": (["islands", "--label", 1, "--keep-largest"],
                dict(f="islands", label=1, keep_largest=True)),
    "small": (["islands", "--label", 3, "--min-voxels", 20, "--connectivity", 26],
              dict(f="islands", label=3, min_voxels=20, connectivity=26)),
    "split": (["islands", "--label", 1, "--split"], dict(f="islands", label=1, split=True)),
    "interp": (["interpolate", "--label", 2], dict(f="interpolate", label=2)),
    "invert": (["logical", "--op", "invert", "--label", 2], dict(f="logical", op="invert",
                                                                  label=2)),
    "union": (["logical", "--op", "union", "--label", 2, "--with", 1],
              dict(f="logical", op="union", label=2, with_label=1)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_effect_matches_cli(maps, ct, run, case):
    d, m, _ = maps
    _, affine = ct
    args, kw = CASES[case]
    kw = dict(kw)
    out = d / f"{case}.nii.gz"
    run(args[0], d / "m.nii.gz", *args[1:], "-o", out)
    py = getattr(rayseg, kw.pop("f"))(m, affine, **kw)
    assert py.dtype == np.uint8 and py.shape == m.shape
    np.testing.assert_array_equal(py, rayseg.load_labels(out)[0])
    assert not np.array_equal(py, m) or case == "largest"


def test_logical_with_map(maps, ct, run):
    d, m, other = maps
    _, affine = ct
    for op in ("union", "subtract", "intersect", "copy"):
        out = d / f"with-{op}.nii.gz"
        run("logical", d / "m.nii.gz", "--op", op, "--label", 1, "--with", 4, "--with-map",
            d / "other.nii.gz", "-o", out)
        py = rayseg.logical(m, affine, op, 1, with_label=4, with_map=other)
        np.testing.assert_array_equal(py, rayseg.load_labels(out)[0])
    union = rayseg.logical(m, affine, "union", 1, with_label=4, with_map=other)
    np.testing.assert_array_equal(union == 1, (m == 1) | (other == 4))


def test_threshold_mask(maps, ct, ct_path, run):
    d, m, _ = maps
    image, affine = ct
    out = d / "thr.nii.gz"
    run("threshold-mask", d / "m.nii.gz", "--image", ct_path, "--label", 3, "--lower", 150,
        "--upper", 400, "-o", out)
    py = rayseg.threshold_mask(m, affine, image, 3, 150, 400)
    np.testing.assert_array_equal(py, rayseg.load_labels(out)[0])
    keep = (m == 3) & (image >= 150) & (image <= 400)
    np.testing.assert_array_equal(py == 3, keep)


def test_fill_holes_numpy(maps, ct):
    _, m, _ = maps
    _, affine = ct
    filled = rayseg.fill_holes(m, affine, 1)
    assert (filled[7:11, 7:11, 7:11] == 1).all()
    np.testing.assert_array_equal(filled[m != 0], m[m != 0])


def test_seeds_matches_cli(tmp_path, ct_path, ct, truth, run):
    image, affine = ct
    t = next(t for t in truth if t["location"] == "liver")
    i, j, k = np.linalg.solve(affine, np.append(t["centre_ras_mm"], 1.0))[:3].round().astype(int)
    s = np.zeros(image.shape, np.uint8)
    s[i, j, k] = 1
    s[i + 5, j, k] = 2
    s[i, j + 6, k] = 2
    rayseg.save_labels(tmp_path / "s.nii.gz", s, affine)
    for extra, kw in (([], {}), (["--background", 2, "--roi-margin-mm", 6, "--smoothing-mm", 0],
                                 dict(background=2, roi_margin_mm=6, smoothing_mm=0))):
        out = tmp_path / "seeds.nii.gz"
        out.unlink(missing_ok=True)
        (tmp_path / "seeds.journal.jsonl").unlink(missing_ok=True)
        run("seeds", ct_path, "--seeds", tmp_path / "s.nii.gz", *extra, "-o", out)
        py = rayseg.seeds(image, affine, s, **kw)
        np.testing.assert_array_equal(py, rayseg.load_labels(out)[0])
        assert (py == 1).sum() > 1


def test_edit_script_and_errors(maps, ct):
    _, m, _ = maps
    image, affine = ct
    script = [{"op": "margin", "label": 1, "mm": 1.5}, {"op": "islands", "label": 1,
                                                         "keep_largest": True}]
    stepwise = rayseg.islands(rayseg.margin(m, affine, 1, 1.5), affine, 1, keep_largest=True)
    np.testing.assert_array_equal(rayseg.edit(m, affine, script), stepwise)
    with pytest.raises(ValueError, match="label 9 does not exist"):
        rayseg.margin(m, affine, 9, 1.0)
    with pytest.raises(ValueError, match="exactly one"):
        rayseg.smooth(m, affine, 1)
    with pytest.raises(ValueError, match="two or more"):
        rayseg.seeds(image, affine, (m == 1).astype(np.uint8))
    with pytest.raises(ValueError, match="not a list of edit ops"):
        rayseg.edit(m, affine, [{"op": "nonsense"}])
