#!/usr/bin/env bash
# The Python tests: the rayseg package (python/tests) and the Snakemake cohort
# workflow (workflows/cohort/tests). Run after `cargo test` (or `cargo build`),
# whose target/debug the wheel reuses and whose CLI the tests compare with.
# Makes a virtual environment in target/py-venv the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/py-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check \
  pytest nibabel numpy snakemake snakemake-executor-plugin-slurm
"$venv/bin/pip" install -q --disable-pip-version-check .
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
export RAYSEG="${RAYSEG:-$PWD/target/debug/rayseg}"
# snakemake is called from the tests through the venv's PATH.
PATH="$PWD/$venv/bin:$PATH" "$venv/bin/pytest" -q python/tests workflows/cohort/tests "$@"
