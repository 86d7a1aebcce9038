"""load/info/load_labels/save_labels against `rayseg info --json`, nibabel
and NumPy."""

import nibabel as nib
import numpy as np
import pytest

import rayseg


def test_load_matches_info(ct_path, ct, run):
    image, affine = ct
    summary = run("info", ct_path, "--json")
    assert list(image.shape) == summary["shape"]
    assert image.dtype == np.dtype(summary["dtype"])
    assert affine.dtype == np.float64 and affine.shape == (4, 4)
    assert affine.tolist() == summary["ras_from_voxel"]
    assert image.min() == summary["min"] and image.max() == summary["max"]
    assert image.astype(np.float64).sum() == pytest.approx(summary["sum"], rel=1e-12)
    assert int(np.count_nonzero(image)) == summary["nonzero"]
    assert rayseg.info(ct_path) == summary


def test_load_matches_nibabel(ct_path, ct):
    image, affine = ct
    img = nib.load(ct_path)
    assert image.flags.f_contiguous
    np.testing.assert_array_equal(image, img.get_fdata())
    np.testing.assert_allclose(affine, img.affine, atol=1e-5)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        rayseg.load(tmp_path / "missing.nii.gz")
    junk = tmp_path / "junk.nii"
    junk.write_bytes(b"not an image at all" * 40)
    with pytest.raises(rayseg.RaysegError, match="junk.nii"):
        rayseg.load(junk)


def test_save_and_load_labels(tmp_path, ct):
    image, affine = ct
    labels = np.zeros(image.shape, np.uint8)
    labels[4:10, 5:12, 6:9] = 1
    labels[20:25, 20:22, 3:30] = 7
    out = tmp_path / "m.nii.gz"
    written = rayseg.save_labels(out, labels, affine, names={1: "tumour", 7: "vessel"})
    assert str(out) in written and any(w.endswith(".labels.json") for w in written)
    back, back_affine, names = rayseg.load_labels(out, names=True)
    np.testing.assert_array_equal(back, labels)
    np.testing.assert_array_equal(back_affine, affine)
    assert names == {1: "tumour", 7: "vessel"}
    on_image, _ = rayseg.load_labels(out, like=(image, affine))
    np.testing.assert_array_equal(on_image, labels)
    with pytest.raises(FileExistsError):
        rayseg.save_labels(out, labels, affine)
    rayseg.save_labels(out, labels * 0, affine, overwrite=True)
    assert not rayseg.load_labels(out)[0].any()


def test_save_labels_formats(tmp_path, ct):
    image, affine = ct
    labels = (image > 100).astype(np.uint8)
    for name in ("m.nrrd", "m.mha", "m.seg.nrrd"):
        rayseg.save_labels(tmp_path / name, labels, affine, names={1: "bright"})
        back, back_affine = rayseg.load_labels(tmp_path / name)
        np.testing.assert_array_equal(back, labels)
        np.testing.assert_allclose(back_affine, affine, atol=1e-9)
    with pytest.raises(ValueError, match="label-map format"):
        rayseg.save_labels(tmp_path / "m.txt", labels, affine)
