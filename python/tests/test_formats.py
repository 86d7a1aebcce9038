"""load() on every image of the repository's format tests (NIfTI, NRRD,
MetaImage, DICOM files and series folders) against `rayseg info --json`:
same grid, matrix, dtype and values; where the CLI refuses a file, load()
raises."""

import json
import subprocess

import numpy as np
import pytest

import rayseg
from conftest import REPO

DATA = REPO / "tests" / "data"
IMAGES = sorted(
    p for d in ("nifti", "nrrd", "metaimage", "dicom") for p in (DATA / d).rglob("*")
    if p.is_file() and p.suffix.lower() not in (".md", ".json", ".py", ".txt", ".tsv")
) + sorted(p for p in (DATA / "dicom").iterdir() if p.is_dir())


@pytest.mark.parametrize("path", IMAGES, ids=lambda p: str(p.relative_to(DATA)))
def test_load_matches_cli_info(cli, path):
    done = subprocess.run([cli, "info", str(path), "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        with pytest.raises((rayseg.RaysegError, OSError, ValueError)):
            rayseg.load(path)
        return
    summary = json.loads(done.stdout)
    image, affine = rayseg.load(path)
    assert list(image.shape) == summary["shape"]
    assert image.dtype == np.dtype(summary["dtype"])
    assert affine.tolist() == summary["ras_from_voxel"]
    finite = image[~np.isnan(image)] if image.dtype.kind == "f" else image
    if finite.size:
        assert (float(finite.min()), float(finite.max())) == (summary["min"], summary["max"])
    assert float(finite.astype(np.float64).sum()) == pytest.approx(summary["sum"], rel=1e-9,
                                                                  abs=1e-9)
