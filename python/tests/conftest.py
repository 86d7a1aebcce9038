"""Shared fixtures: the CLI to compare with (env RAYSEG, else the repo's
target/debug/rayseg) and a small CT phantom it writes. A missing package or
binary fails the tests rather than skipping them."""

import json
import os
import pathlib
import subprocess

import pytest

# Pinned as CI pins it: wgpu's GL fallback drops compute writes to 3-D textures.
os.environ.setdefault("WGPU_BACKEND", "vulkan")

import rayseg  # noqa: E402  (after the backend is pinned)

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cli() -> str:
    path = os.environ.get("RAYSEG") or str(REPO / "target" / "debug" / "rayseg")
    if not os.access(path, os.X_OK):
        pytest.fail(f"rayseg binary not found at {path}: build it (cargo build) or set RAYSEG")
    return path


@pytest.fixture(scope="session")
def run(cli):
    """Runs the CLI; returns stdout (parsed when the last argument is --json)."""

    def run(*args):
        args = [str(a) for a in args]
        done = subprocess.run([cli, *args], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(f"rayseg {' '.join(args)} failed:\n{done.stderr}")
        return json.loads(done.stdout) if "--json" in args else done.stdout

    return run


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> pathlib.Path:
    return tmp_path_factory.mktemp("rayseg")


@pytest.fixture(scope="session")
def ct_path(run, workdir) -> pathlib.Path:
    """A 32³ CT phantom (int16 HU, 1.5 mm) with lesions of known volume."""
    path = workdir / "CT.nii.gz"
    run("phantom", "-o", path, "--size", 32, "--truth", workdir / "truth.json")
    return path


@pytest.fixture(scope="session")
def ct(ct_path):
    return rayseg.load(ct_path)


@pytest.fixture(scope="session")
def truth(ct_path):
    return json.loads((ct_path.parent / "truth.json").read_text())
