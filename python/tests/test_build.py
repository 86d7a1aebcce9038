"""The wheel reuses `cargo test`'s compiled dependencies only if every
dependency the two share resolves to the same features: one differing
feature (serde's `alloc`, asked for by a dev-dependency of the root crate)
rebuilds everything above it. Checked here with `cargo tree`, which resolves
without compiling."""

import re
import shutil
import subprocess

import pytest

from conftest import REPO


def features(*args):
    out = subprocess.run(
        ["cargo", "tree", "--locked", "--prefix", "none", "-f", "{p} [{f}]", *args],
        cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.fail(f"cargo tree {' '.join(args)} failed:\n{out.stderr}")
    found = {}
    for line in out.stdout.splitlines():
        m = re.match(r"(\S+ v\S+).*\[(.*)\]", line)
        if m:
            found.setdefault(m.group(1), set()).add(m.group(2))
    return found


def test_wheel_dependencies_resolve_as_cargo_test():
    if shutil.which("cargo") is None:
        pytest.fail("cargo not found")
    root = features("-p", "rayseg", "-e", "normal,build,dev")
    wheel = features("-p", "rayseg-python", "-e", "normal,build")
    # Each build of a shared package the wheel needs (for the target, or for
    # the host as a build dependency) must be one `cargo test` makes too.
    differ = {p: (root[p], wheel[p]) for p in root.keys() & wheel.keys()
              if p.split()[0] != "rayseg" and not wheel[p] <= root[p]}
    assert not differ, (
        "features differ between `cargo test` and the wheel's build (mirror them in "
        f"python/Cargo.toml): {differ}")
