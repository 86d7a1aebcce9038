#!/usr/bin/env python3
"""`rayseg compare` against DeepMind's surface-distance and MedPy on a whole CT-sized pair.

    python3 benches/peers/surface_metrics.py [--runs 3] [--readme [PATH]]

Writes a 512×512×134 pair (0.7×0.7×2.5 mm, 35 M voxels) of uint8 NIfTI label
maps holding two slightly different versions of one blobby lesion to
target/peers/surface_metrics/ (once), then times, each as a whole process
(start, read both files, compute, print), median of --runs:

* rayseg: `target/release/rayseg compare A B --json` (build it first with
  `cargo build --release --bin rayseg`);
* DeepMind surface-distance: nibabel reads, then compute_surface_distances and
  the four metrics (robust Hausdorff 100 and 95, average surface distance,
  surface Dice at 1 mm) plus compute_dice_coefficient;
* MedPy: nibabel reads, then medpy.metric.binary dc, hd, hd95 and assd.

Both Python tools run in this interpreter's environment (numpy, scipy,
nibabel, MedPy, surface-distance). Prints a Markdown table; with --readme it
also replaces the block between the compare-table markers of README.md (or
PATH). Raw results go to target/peers/surface_metrics/results.json.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RAYSEG = ROOT / "target" / "release" / "rayseg"
WORK = ROOT / "target" / "peers" / "surface_metrics"
BEGIN, END = "<!-- compare-table:begin -->", "<!-- compare-table:end -->"
SHAPE = (512, 512, 134)
SPACING_MM = (0.7, 0.7, 2.5)
TOLERANCE_MM = 1.0


def make_pair(a_path, b_path):
    """Two segmentations of one lesion: same ellipsoid, different wobble and a small shift."""
    import nibabel as nib
    import numpy as np
    from scipy import ndimage

    def lesion(centre, radii, seed):
        rng = np.random.default_rng(seed)
        lo = [max(0, int(c - 1.5 * r)) for c, r in zip(centre, radii)]
        hi = [min(n, int(c + 1.5 * r) + 1) for c, r, n in zip(centre, radii, SHAPE)]
        box = tuple(slice(l, h) for l, h in zip(lo, hi))
        grid = np.ogrid[box]
        r2 = sum(((g - c) / r) ** 2 for g, c, r in zip(grid, centre, radii))
        noise = ndimage.gaussian_filter(rng.standard_normal(r2.shape), 4.0)
        out = np.zeros(SHAPE, np.uint8)
        out[box] = r2 + 0.25 * noise / noise.std() < 1.0
        return out

    affine = np.diag([*SPACING_MM, 1.0])
    affine[:3, 3] = [-179.0, -179.0, -160.0]
    for path, centre, radii, seed in (
        (a_path, (250, 262, 66), (70, 55, 16), 1),
        (b_path, (252, 260, 67), (68, 57, 16), 2),
    ):
        img = nib.Nifti1Image(lesion(centre, radii, seed), affine)
        img.set_qform(affine, code=1)
        img.set_sform(affine, code=1)
        nib.save(img, path)


def load(path):
    import nibabel as nib
    import numpy as np

    img = nib.load(path)
    spacing = np.linalg.norm(img.affine[:3, :3], axis=0)
    return np.asarray(img.dataobj) == 1, spacing


def run_deepmind(a_path, b_path):
    import numpy as np

    np.Inf, np.NaN = np.inf, np.nan  # surface-distance (2020) uses the removed aliases
    import surface_distance as sd

    a, spacing = load(a_path)
    b, _ = load(b_path)
    t = time.perf_counter()
    d = sd.compute_surface_distances(a, b, spacing)
    ab, ba = sd.compute_average_surface_distance(d)
    sa, sb = d["surfel_areas_gt"], d["surfel_areas_pred"]
    out = {
        "dice": sd.compute_dice_coefficient(a, b),
        "hausdorff_mm": sd.compute_robust_hausdorff(d, 100),
        "hd95_mm": sd.compute_robust_hausdorff(d, 95),
        # Pooled over both surfaces, as rayseg's assd_mm.
        "assd_mm": (ab * sa.sum() + ba * sb.sum()) / (sa.sum() + sb.sum()),
        "surface_dice": sd.compute_surface_dice_at_tolerance(d, TOLERANCE_MM),
    }
    out["compute_s"] = time.perf_counter() - t
    return out


def run_medpy(a_path, b_path):
    from medpy.metric import binary

    a, spacing = load(a_path)
    b, _ = load(b_path)
    t = time.perf_counter()
    out = {
        "dice": binary.dc(b, a),
        "hausdorff_mm": binary.hd(b, a, voxelspacing=spacing),
        "hd95_mm": binary.hd95(b, a, voxelspacing=spacing),
        "assd_mm": binary.assd(b, a, voxelspacing=spacing),
    }
    out["compute_s"] = time.perf_counter() - t
    return out


def timed(cmd, env=None):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{p.stderr}")
    return wall, p.stdout, p.stderr


def versions():
    import medpy
    import nibabel
    import numpy
    import scipy

    return {"numpy": numpy.__version__, "scipy": scipy.__version__,
            "nibabel": nibabel.__version__, "MedPy": getattr(medpy, "__version__", "?")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--readme", nargs="?", const=str(ROOT / "README.md"), default=None,
                        help="rewrite the compare-table block of this README (default README.md)")
    parser.add_argument("--run", choices=["deepmind", "medpy"], help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        result = (run_deepmind if args.run == "deepmind" else run_medpy)(*args.paths)
        print(json.dumps({k: float(v) for k, v in result.items()}))
        return

    if not RAYSEG.exists():
        sys.exit(f"{RAYSEG} missing: cargo build --release --bin rayseg")
    WORK.mkdir(parents=True, exist_ok=True)
    a, b = WORK / "lesion_a.nii.gz", WORK / "lesion_b.nii.gz"
    if not (a.exists() and b.exists()):
        make_pair(a, b)
    tools = {
        "rayseg compare": [RAYSEG, "compare", a, b, "--json"],
        "DeepMind surface-distance": [sys.executable, __file__, "--run", "deepmind", a, b],
        "MedPy": [sys.executable, __file__, "--run", "medpy", a, b],
    }
    env = dict(os.environ, RAYSEG_TIMINGS="1")
    walls = {name: [] for name in tools}
    values, compute = {}, {name: [] for name in tools}
    for _ in range(args.runs):
        for name, cmd in tools.items():
            wall, out, err = timed(cmd, env)
            walls[name].append(wall)
            if name == "rayseg compare":
                label = json.loads(out)["labels"][0]
                values[name] = {k: label[k] for k in
                                ("dice", "hausdorff_mm", "hd95_mm", "assd_mm", "surface_dice")}
                timings = [l for l in err.splitlines() if l.startswith("timings ")]
                if timings:
                    compute[name].append(json.loads(timings[-1][8:])["compare_ms"] / 1e3)
            else:
                r = json.loads(out)
                compute[name].append(r.pop("compute_s"))
                values[name] = r
    med = {n: statistics.median(w) for n, w in walls.items()}
    med_compute = {n: statistics.median(c) if c else None for n, c in compute.items()}
    ours = values["rayseg compare"]

    def agreement(name):
        if name == "rayseg compare":
            return "–"
        diffs = {k: abs(v - ours[k]) / max(abs(ours[k]), 1e-12) for k, v in values[name].items()}
        worst = max(diffs.values())
        if worst < 1e-9:
            return f"identical (max rel. diff {worst:.0e})"
        return "differs by definition: " + ", ".join(
            f"{k.replace('_mm', '')} {100 * (values[name][k] / ours[k] - 1):+.1f} %"
            for k in ("hausdorff_mm", "hd95_mm", "assd_mm") if k in values[name])

    def fmt(name, key, digits=3):
        v = values[name].get(key)
        return "–" if v is None else f"{v:.{digits}f}"

    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                         capture_output=True, text=True).stdout.strip()
    rows = []
    for name in tools:
        inner = med_compute[name]
        rows.append(
            f"| Dice, HD, HD95, ASSD{', surface Dice' if name != 'MedPy' else ''} "
            f"| {name} | {med[name]:.2f} s"
            + (f" ({inner:.2f} s computing)" if inner is not None else "")
            + f" | {med[name] / med['rayseg compare']:.1f}× "
            f"| {fmt(name, 'dice', 4)} | {fmt(name, 'hausdorff_mm')} | {fmt(name, 'hd95_mm')} "
            f"| {fmt(name, 'assd_mm')} | {fmt(name, 'surface_dice', 4)} | {agreement(name)} |")
    v = versions()
    lines = [
        f"Generated by `python3 benches/peers/surface_metrics.py` (median of {args.runs} "
        f"alternating runs, each a whole process: start, read both files, compute, print) on "
        f"{os.cpu_count()} cores ({cpu}), {platform.system()}, Python {platform.python_version()}, "
        + ", ".join(f"{k} {x}" for k, x in v.items())
        + f". Pair: {SHAPE[0]}×{SHAPE[1]}×{SHAPE[2]} uint8 NIfTI (.nii.gz), "
        f"{SPACING_MM[0]}×{SPACING_MM[1]}×{SPACING_MM[2]} mm, one lesion each; "
        f"surface Dice at {TOLERANCE_MM:g} mm. Time ratio > 1: slower than rayseg.",
        "",
        "| task | tool | time | × rayseg | Dice | HD mm | HD95 mm | ASSD mm | surface Dice | agreement with rayseg |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    table = "\n".join(lines)
    print(table)
    (WORK / "results.json").write_text(json.dumps(
        {"wall_s": walls, "compute_s": compute, "values": values, "versions": v}, indent=1))
    if args.readme:
        readme = Path(args.readme)
        text = readme.read_text()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            readme.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")
        else:
            sys.exit(f"{readme} has no {BEGIN} … {END} block")


if __name__ == "__main__":
    main()
