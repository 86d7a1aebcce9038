#!/usr/bin/env python3
"""rayseg's effects against their peers, side by side in one run: grow from
seeds vs scikit-image's random walker, fill between slices vs ITK's
MorphologicalContourInterpolator, margin ±3 mm vs SciPy's exact EDT.

    python3 benches/peers/effects.py [--runs 5] [--beta B] [--beta-sweep] [--no-readme]

Data: the synthetic CT of benches/effects.rs (512×512×300, 0.7×0.7×2.5 mm; a
30 mm lesion at 100 HU in 60 HU liver, touching a 180 HU vessel, noise SD 10
HU from an integer hash), the same seed strokes, the structure drawn on every
5th slice and the 60 mm margin structure, computed here by the same formulas
in the same floating-point order, so the volume is the bench's voxel for voxel
(compare the `ct checksum` both print). Written once to NIfTI under
target/peers/effects/ and read by rayseg and the peers alike.

Each of --runs rounds runs, alternating: the release CLI (`rayseg seeds`,
`interpolate`, `margin`; the op's own `ms` from --json, i.e. through the
segmentation document, journal entry included; for seeds also reading the seed
map, which the op names), the same with RAYON_NUM_THREADS=1, and each peer
(in-process time of the call; ITK in a child process with one thread, see
itk_interpolate.py). Agreement: voxel mismatches against SciPy (expected 0),
Dice against ITK and against the analytic truth.

Needs numpy, scipy, scikit-image, nibabel and itk-morphologicalcontourinterpolation:
run it with an interpreter that has them (e.g. a venv), or let it make
target/peers-venv and install them there. Prints a Markdown table and, unless
--no-readme, writes it between the effects-table markers in README.md, with
the criterion medians of `cargo bench --bench effects` when
target/criterion/effects/ holds them. Raw results: target/peers/effects/results.json.
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = ROOT / "target" / "peers" / "effects"
RAYSEG = ROOT / "target" / "release" / "rayseg"
VENV = ROOT / "target" / "peers-venv"
PEERS = ["numpy", "scipy", "scikit-image", "pyamg", "nibabel", "itk-morphologicalcontourinterpolation"]
BEGIN, END = "<!-- effects-table:begin -->", "<!-- effects-table:end -->"
# Bump when the data below change, so cached NIfTI files are rewritten.
DATA_VERSION = 1

# ---- The data: benches/effects.rs, formula for formula. ----
SHAPE = (512, 512, 300)
SPACING = (0.7, 0.7, 2.5)
NOISE = 17.320508075688775
LESION, LESION_R = (-60.0, 10.0, 0.0), 15.0
VESSEL, VESSEL_R = (-41.0, 10.0), 5.0
STROKE_R = 2.0
STROKES = [
    (1, (-66.0, 10.0, 0.0), (-54.0, 10.0, 0.0)),
    (1, (-63.0, 10.0, -7.0), (-57.0, 10.0, -7.0)),
    (2, (-90.0, -10.0, 0.0), (-90.0, 30.0, 0.0)),
    (2, (-80.0, -15.0, 0.0), (-40.0, -15.0, 0.0)),
    (2, (-80.0, 35.0, 0.0), (-50.0, 35.0, 0.0)),
    (2, (-41.0, 10.0, -20.0), (-41.0, 10.0, 20.0)),
    (2, (-70.0, 10.0, 25.0), (-50.0, 10.0, 25.0)),
    (2, (-70.0, 10.0, -25.0), (-50.0, 10.0, -25.0)),
]
INTERP_C, INTERP_R = (45.0, 30.0, 60.0), (20.0, 16.0, 24.0)
COS30, SIN30 = 0.8660254037844387, 0.5
DRAWN_EVERY = 5
MARGIN_C, MARGIN_R = (50.0, -10.0, -40.0), (30.0, 25.0, 30.0)
MARGIN_MM = 3.0
ROI_MARGIN_MM = 15.0
# Random walker: edge weights exp(-beta / (10 σ) · |∇I|²), ∇ in HU per mm here
# (spacing given) and σ the ROI's SD (17 HU). --beta-sweep on this data (cg_mg,
# Dice vs truth): 10 → 0.52, 20 → 0.82, 30 → 0.95, 50 → 0.94, 130 (the
# default) → 0.76; so 30.
DEFAULT_BETA = 30.0
# cg_j as the plain choice; cg_mg (pyamg's multigrid preconditioner) converges
# within tol 1e-3 where cg_j stops early (scikit-image then warns that the
# probabilities leave [0, 1]) and is faster: the best peer.
RW_MODES = ("cg_j", "cg_mg")


def ensure_env():
    """Re-runs this script in target/peers-venv (made and filled if needed) unless
    the running interpreter already has the peers."""
    try:
        import itk  # noqa: F401
        import nibabel  # noqa: F401
        import numpy  # noqa: F401
        import pyamg  # noqa: F401
        import scipy  # noqa: F401
        import skimage  # noqa: F401
        return
    except ImportError:
        if os.environ.get("RAYSEG_EFFECTS_REEXEC"):
            raise
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([py, "-m", "pip", "install", "-q", *PEERS], check=True)
    env = dict(os.environ, RAYSEG_EFFECTS_REEXEC="1")
    os.execve(str(py), [str(py), __file__, *sys.argv[1:]], env)


def sq(a):
    return a * a


def axes_mm():
    import numpy as np

    return [(np.arange(n, dtype=np.float64) - (n - 1) / 2.0) * s for n, s in zip(SHAPE, SPACING)]


def splitmix(x):
    import numpy as np

    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def uniform(idx, t):
    import numpy as np

    return (splitmix(idx * np.uint64(4) + np.uint64(t)) >> np.uint64(11)).astype(np.float64) * (
        1.0 / 9007199254740992.0)


def ct_volume():
    """int16 [i, j, k] and the bench's checksum sum(v · (n mod 251))."""
    import numpy as np

    ni, nj, nk = SHAPE
    ax = axes_mm()
    x = np.broadcast_to(ax[0][:, None], (ni, nj))
    y = np.broadcast_to(ax[1][None, :], (ni, nj))
    plane_idx = (np.arange(ni, dtype=np.uint64)[:, None]
                 + np.uint64(ni) * np.arange(nj, dtype=np.uint64)[None, :])
    vol = np.empty(SHAPE, np.int16)
    checksum = 0
    for k in range(nk):
        z = ax[2][k]
        v = np.full((ni, nj), -1000.0)
        v[sq(x / 160.0) + sq(y / 115.0) <= 1.0] = 40.0
        v[sq((x + 60.0) / 90.0) + sq(y / 75.0) + sq(z / 100.0) <= 1.0] = 60.0
        d = np.sqrt(sq(x - VESSEL[0]) + sq(y - VESSEL[1]))
        f = np.clip((VESSEL_R + 0.35 - d) / 0.7, 0.0, 1.0)
        v = np.where(v > -1000.0, v + f * (180.0 - v), v)
        d = np.sqrt(sq(x - LESION[0]) + sq(y - LESION[1]) + sq(z - LESION[2]))
        f = np.clip((LESION_R + 0.35 - d) / 0.7, 0.0, 1.0)
        v = v + f * (100.0 - v)
        idx = plane_idx + np.uint64(ni * nj * k)
        n = uniform(idx, 0) + uniform(idx, 1) + uniform(idx, 2) + uniform(idx, 3) - 2.0
        s = np.floor(v + n * NOISE + 0.5).astype(np.int16)
        vol[:, :, k] = s
        checksum += int((s.astype(np.int64) * (idx % np.uint64(251)).astype(np.int64)).sum())
    return vol, checksum


def around(c, r):
    import math

    out = []
    for a in range(3):
        mid = (SHAPE[a] - 1) / 2.0
        lo = max(math.floor((c[a] - r) / SPACING[a] + mid), 0)
        hi = min(math.ceil((c[a] + r) / SPACING[a] + mid), SHAPE[a] - 1)
        out.append(slice(int(lo), int(hi) + 1))
    return tuple(out)


def paint(vol, box, label, inside):
    import numpy as np

    ax = axes_mm()
    p = np.meshgrid(ax[0][box[0]], ax[1][box[1]], ax[2][box[2]], indexing="ij")
    sub = vol[box]
    sub[inside(p)] = label


def stroke(vol, s):
    import numpy as np

    label, a, b = s
    mid = [(a[x] + b[x]) / 2.0 for x in range(3)]
    half = np.sqrt(sq(b[0] - a[0]) + sq(b[1] - a[1]) + sq(b[2] - a[2])) / 2.0

    def inside(p):
        ab = [b[0] - a[0], b[1] - a[1], b[2] - a[2]]
        ap = [p[0] - a[0], p[1] - a[1], p[2] - a[2]]
        t = np.clip((ap[0] * ab[0] + ap[1] * ab[1] + ap[2] * ab[2])
                    / (ab[0] * ab[0] + ab[1] * ab[1] + ab[2] * ab[2]), 0.0, 1.0)
        q = [a[0] + t * ab[0], a[1] + t * ab[1], a[2] + t * ab[2]]
        return sq(p[0] - q[0]) + sq(p[1] - q[1]) + sq(p[2] - q[2]) <= STROKE_R * STROKE_R

    paint(vol, around(mid, float(half) + STROKE_R + 1.0), label, inside)


def seed_map():
    import numpy as np

    m = np.zeros(SHAPE, np.uint8)
    for s in STROKES:
        stroke(m, s)
    return m


def lesion_truth():
    import numpy as np

    m = np.zeros(SHAPE, np.uint8)
    paint(m, around(LESION, LESION_R + 1.0), 1, lambda p: sq(p[0] - LESION[0]) + sq(p[1] - LESION[1])
          + sq(p[2] - LESION[2]) <= sq(LESION_R))
    return m


def drawn_structure():
    import numpy as np

    truth = np.zeros(SHAPE, np.uint8)

    def inside(p):
        u, y, z = (p[a] - INTERP_C[a] for a in range(3))
        v = y * COS30 + z * SIN30
        w = -y * SIN30 + z * COS30
        return sq(u / INTERP_R[0]) + sq(v / INTERP_R[1]) + sq(w / INTERP_R[2]) <= 1.0

    paint(truth, around(INTERP_C, 26.0), 1, inside)
    on = np.nonzero(truth.any(axis=(0, 1)))[0]
    drawn = np.zeros_like(truth)
    ks = list(range(int(on[0]), int(on[-1]) + 1, DRAWN_EVERY))
    drawn[:, :, ks] = truth[:, :, ks]
    return drawn, truth, ks


def margin_structure():
    import numpy as np

    m = np.zeros(SHAPE, np.uint8)
    paint(m, around(MARGIN_C, 31.0), 1, lambda p: sq((p[0] - MARGIN_C[0]) / MARGIN_R[0])
          + sq((p[1] - MARGIN_C[1]) / MARGIN_R[1]) + sq((p[2] - MARGIN_C[2]) / MARGIN_R[2]) <= 1.0)
    return m


def affine():
    import numpy as np

    a = np.diag([*SPACING, 1.0])
    a[:3, 3] = [-(n - 1) / 2.0 * s for n, s in zip(SHAPE, SPACING)]
    return a


def make_data():
    """Writes the NIfTI files (unless present for this DATA_VERSION); returns the in-memory data."""
    import nibabel as nib
    import numpy as np

    OUT.mkdir(parents=True, exist_ok=True)
    stamp = OUT / "data_version.json"
    t0 = time.perf_counter()
    ct, checksum = ct_volume()
    seeds = seed_map()
    truth = lesion_truth()
    drawn, interp_truth, ks = drawn_structure()
    margin = margin_structure()
    info = {"version": DATA_VERSION, "ct_checksum": checksum,
            "seed_voxels": {str(l): int((seeds == l).sum()) for l in (1, 2)},
            "lesion_voxels": int(truth.sum()), "drawn_slices": ks,
            "drawn_voxels": int(drawn.sum()), "interp_structure_voxels": int(interp_truth.sum()),
            "margin_structure_voxels": int(margin.sum())}
    print(f"data built in {time.perf_counter() - t0:.1f} s: {json.dumps(info)}", file=sys.stderr)
    files = {"ct": OUT / "ct.nii.gz", "seeds": OUT / "seeds.nii.gz",
             "drawn": OUT / "drawn.nii.gz", "margin": OUT / "margin.nii.gz"}
    old = json.loads(stamp.read_text()) if stamp.exists() else None
    if old != info or not all(p.exists() for p in files.values()):
        aff = affine()
        for name, arr in (("ct", ct), ("seeds", seeds), ("drawn", drawn), ("margin", margin)):
            img = nib.Nifti1Image(arr, aff)
            img.header.set_xyzt_units("mm")
            nib.save(img, files[name])
        stamp.write_text(json.dumps(info))
    return {"ct": ct, "seeds": seeds, "truth": truth, "drawn": drawn, "interp_truth": interp_truth,
            "drawn_slices": ks, "margin": margin, "files": files, "info": info}


# ---- Runs ----

def rayseg(args, threads=None):
    """Runs a rayseg effect with --json; returns its op's ms and the process wall time."""
    env = dict(os.environ)
    if threads:
        env["RAYON_NUM_THREADS"] = str(threads)
    t0 = time.perf_counter()
    p = subprocess.run([str(RAYSEG), *map(str, args), "--json", "--discard-unsaved"],
                       capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"rayseg {' '.join(map(str, args))} failed:\n{p.stderr}")
    line = json.loads(p.stdout.strip().splitlines()[-1])
    return line["ms"], wall, line["voxels_changed"]


def fresh(path):
    """An output path with no earlier output or journal beside it."""
    for p in (path, path.with_name(path.name.split(".")[0] + ".journal.jsonl")):
        if p.exists():
            p.unlink()
    for p in path.parent.glob(path.name.split(".")[0] + "*.journal.jsonl"):
        p.unlink()
    return path


def read_labels(path):
    import nibabel as nib
    import numpy as np

    return np.asarray(nib.load(path).dataobj)


def dice(a, b):
    import numpy as np

    s = int(a.sum()) + int(b.sum())
    return 1.0 if s == 0 else 2.0 * int(np.logical_and(a, b).sum()) / s


def seeds_roi(seeds):
    """rayseg's ROI: the seeds' box grown by ceil(15 mm / spacing) voxels per axis."""
    import math

    import numpy as np

    nz = np.nonzero(seeds)
    box = []
    for a in range(3):
        pad = math.ceil(ROI_MARGIN_MM / SPACING[a])
        box.append(slice(max(int(nz[a].min()) - pad, 0), min(int(nz[a].max()) + pad, SHAPE[a] - 1) + 1))
    return tuple(box)


def random_walker(ct, seeds, beta, mode):
    import warnings

    import numpy as np
    from skimage.segmentation import random_walker as rw

    t0 = time.perf_counter()
    box = seeds_roi(seeds)
    data = ct[box].astype(np.float64)
    labels = seeds[box].astype(np.int32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seg = rw(data, labels, beta=beta, mode=mode, tol=1e-3, spacing=SPACING)
    ms = (time.perf_counter() - t0) * 1e3
    out = np.zeros(SHAPE, bool)
    out[box] = seg == 1
    return ms, out


def scipy_margin(mask, mm):
    import math

    import numpy as np
    from scipy.ndimage import distance_transform_edt as edt

    t0 = time.perf_counter()
    nz = np.nonzero(mask)
    box = tuple(slice(max(int(nz[a].min()) - math.ceil(abs(mm) / SPACING[a]) - 1, 0),
                      min(int(nz[a].max()) + math.ceil(abs(mm) / SPACING[a]) + 2, SHAPE[a]))
                for a in range(3))
    m = mask[box] > 0
    if mm >= 0:
        res = edt(~m, sampling=SPACING) <= mm
    else:
        res = edt(m, sampling=SPACING) > -mm
    ms = (time.perf_counter() - t0) * 1e3
    out = np.zeros(SHAPE, bool)
    out[box] = res
    return ms, out


def itk_interpolate(src, dst, timeout, distance_transform=False):
    cmd = [sys.executable, str(HERE / "itk_interpolate.py"), str(src), str(dst), "--axis", "2", "--crop"]
    if distance_transform:
        cmd.append("--distance-transform")
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        sys.exit(f"ITK interpolation failed (exit {p.returncode}):\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt(xs):
    def f(v):
        return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"

    return f"{f(median(xs))} ms ({f(min(xs))}–{f(max(xs))})"


def criterion_rows():
    """Medians of `cargo bench --bench effects`, if its criterion output is there."""
    base = ROOT / "target" / "criterion" / "effects"
    rows = []
    for name in ("seeds_smoothing_1mm", "seeds_from_scratch", "seeds_incremental_one_stroke",
                 "seeds_document_op",
                 "interpolate_op_every_5th_slice", "margin_op_plus_3mm", "margin_op_minus_3mm"):
        est = base / name / "new" / "estimates.json"
        if est.exists():
            e = json.loads(est.read_text())
            rows.append((name, e["median"]["point_estimate"] / 1e6,
                         time.strftime("%Y-%m-%d", time.gmtime(est.stat().st_mtime))))
    return rows


def main():
    ensure_env()
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--beta", type=float, default=DEFAULT_BETA)
    ap.add_argument("--beta-sweep", action="store_true",
                    help="run the random walker once per beta in a list first and print Dice vs truth")
    ap.add_argument("--itk-timeout", type=float, default=600.0)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args()

    import itk
    import numpy as np
    import scipy
    import skimage

    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--bin", "rayseg"], cwd=ROOT, check=True)
    d = make_data()
    files = d["files"]
    truth = d["truth"] > 0
    between = np.zeros(SHAPE, bool)
    ks = d["drawn_slices"]
    between[:, :, ks[0]:ks[-1] + 1] = True
    between[:, :, ks] = False

    sweep = []
    if args.beta_sweep:
        for beta in (10.0, 20.0, 30.0, 50.0, 130.0):
            for mode in RW_MODES:
                ms, seg = random_walker(d["ct"], d["seeds"], beta, mode)
                sweep.append({"beta": beta, "mode": mode, "ms": ms, "dice": dice(seg, truth)})
                print(f"random walker {mode} beta {beta}: {ms:.0f} ms, Dice vs truth "
                      f"{dice(seg, truth):.4f}", file=sys.stderr)

    r = {k: [] for k in ["seeds_rayseg", "seeds_rayseg_1t", "seeds_rayseg_s0", "seeds_cg_j", "seeds_cg_mg", "interp_rayseg",
                         "interp_rayseg_1t", "interp_itk", "grow_rayseg", "grow_rayseg_1t",
                         "grow_scipy", "shrink_rayseg", "shrink_rayseg_1t", "shrink_scipy"]}
    outs = {}
    for run in range(args.runs):
        print(f"run {run + 1}/{args.runs}", file=sys.stderr)
        # Grow from seeds.
        o = fresh(OUT / "rayseg_seeds.nii.gz")
        r["seeds_rayseg"].append(rayseg(["seeds", files["ct"], "--seeds", files["seeds"],
                                         "--roi-margin-mm", ROI_MARGIN_MM, "--background", 2,
                                         "-o", o])[0])
        o1 = fresh(OUT / "rayseg_seeds_1t.nii.gz")
        r["seeds_rayseg_1t"].append(rayseg(["seeds", files["ct"], "--seeds", files["seeds"],
                                            "--roi-margin-mm", ROI_MARGIN_MM, "--background", 2,
                                            "-o", o1], threads=1)[0])
        o0 = fresh(OUT / "rayseg_seeds_s0.nii.gz")
        r["seeds_rayseg_s0"].append(rayseg(["seeds", files["ct"], "--seeds", files["seeds"],
                                            "--roi-margin-mm", ROI_MARGIN_MM, "--background", 2,
                                            "--smoothing-mm", 0, "-o", o0])[0])
        for mode in RW_MODES:
            ms, outs[mode] = random_walker(d["ct"], d["seeds"], args.beta, mode)
            r[f"seeds_{mode}"].append(ms)
        outs["seeds"], outs["seeds_s0"] = o, o0
        # Fill between slices.
        o = fresh(OUT / "rayseg_interp.nii.gz")
        r["interp_rayseg"].append(rayseg(["interpolate", files["drawn"], "--label", 1, "--axis", "k",
                                          "-o", o])[0])
        o1 = fresh(OUT / "rayseg_interp_1t.nii.gz")
        r["interp_rayseg_1t"].append(rayseg(["interpolate", files["drawn"], "--label", 1, "--axis",
                                             "k", "-o", o1], threads=1)[0])
        itk_out = OUT / "itk_interp.nii.gz"
        info = itk_interpolate(files["drawn"], itk_out, args.itk_timeout)
        r["interp_itk"].append(info["ms"])
        outs["interp"], outs["itk"], outs["itk_info"] = o, itk_out, info
        # Margin ±3 mm.
        for sign, key in ((1, "grow"), (-1, "shrink")):
            mm = sign * MARGIN_MM
            o = fresh(OUT / f"rayseg_{key}.nii.gz")
            r[f"{key}_rayseg"].append(rayseg(["margin", files["margin"], "--label", 1,
                                              f"--mm={mm:g}", "-o", o])[0])
            o1 = fresh(OUT / f"rayseg_{key}_1t.nii.gz")
            r[f"{key}_rayseg_1t"].append(rayseg(["margin", files["margin"], "--label", 1,
                                                 f"--mm={mm:g}", "-o", o1], threads=1)[0])
            ms, outs[f"{key}_scipy"] = scipy_margin(d["margin"], mm)
            r[f"{key}_scipy"].append(ms)
            outs[key] = o

    # Agreement (the outputs are deterministic; the last run's).
    ag = {}
    seg = read_labels(outs["seeds"]) == 1
    ag["seeds_dice_rayseg"] = dice(seg, truth)
    seg0 = read_labels(outs["seeds_s0"]) == 1
    ag["seeds_dice_rayseg_s0"] = dice(seg0, truth)
    # Voxels the lesion label took inside the vessel (outside the truth).
    ax = axes_mm()
    vessel = ((ax[0][:, None] - VESSEL[0]) ** 2 + (ax[1][None, :] - VESSEL[1]) ** 2
              <= (VESSEL_R + 0.35) ** 2)[:, :, None]
    ag["seeds_vessel_leak"] = {"rayseg": int((seg & ~truth & vessel).sum()),
                               "rayseg_s0": int((seg0 & ~truth & vessel).sum())}
    ag["seeds_voxels"] = {"rayseg": int(seg.sum()), "rayseg_s0": int(seg0.sum()),
                          "truth": int(truth.sum())}
    for mode in RW_MODES:
        ag[f"seeds_dice_{mode}"] = dice(outs[mode], truth)
        ag[f"seeds_dice_rayseg_{mode}"] = dice(seg, outs[mode])
        ag["seeds_voxels"][mode] = int(outs[mode].sum())
    mine = read_labels(outs["interp"]) == 1
    theirs = read_labels(outs["itk"]) > 0
    itk_dt_out = OUT / "itk_interp_dt.nii.gz"
    ag["itk_dt_info"] = itk_interpolate(files["drawn"], itk_dt_out, args.itk_timeout, True)
    theirs_dt = read_labels(itk_dt_out) > 0
    it = d["interp_truth"] > 0
    ag["interp_dice_all"] = dice(mine, theirs)
    ag["interp_dice_between"] = dice(mine & between, theirs & between)
    ag["interp_dice_between_itk_dt"] = dice(mine & between, theirs_dt & between)
    ag["interp_mismatch"] = int((mine != theirs).sum())
    ag["interp_dice_truth_between"] = {"rayseg": dice(mine & between, it & between),
                                       "itk": dice(theirs & between, it & between),
                                       "itk_dt": dice(theirs_dt & between, it & between)}
    ag["interp_voxels"] = {"rayseg": int(mine.sum()), "itk": int(theirs.sum()),
                           "itk_dt": int(theirs_dt.sum()), "drawn": int(d["drawn"].sum())}
    for key in ("grow", "shrink"):
        mine = read_labels(outs[key]) == 1
        ref = outs[f"{key}_scipy"]
        ag[f"{key}_mismatch"] = int((mine != ref).sum())
        ag[f"{key}_voxels"] = {"rayseg": int(mine.sum()), "scipy": int(ref.sum()),
                               "before": int(d["margin"].sum())}
    med = {k: median(v) for k, v in r.items()}
    versions = {"numpy": np.__version__, "SciPy": scipy.__version__,
                "scikit-image": skimage.__version__, "ITK": itk.Version.GetITKVersion()}
    (OUT / "results.json").write_text(json.dumps(
        {"runs": r, "median": med, "agreement": ag, "beta": args.beta, "beta_sweep": sweep,
         "data": d["info"], "versions": versions}, indent=1))

    def ratio(a, b):
        return f"{med[a] / med[b]:.2f}×"

    def one(key):
        return f"; 1 thread {median(r[key]):.3g} ms"

    sv = ag["seeds_voxels"]
    roi_voxels = int(np.prod([b.stop - b.start for b in seeds_roi(d["seeds"])]))
    rows = []
    for n, mode in enumerate(RW_MODES[::-1]):
        rows.append((
            "Grow from seeds, 30 mm lesion touching a vessel: 2 tumour + 6 background strokes "
            f"({d['info']['seed_voxels']['1']} + {d['info']['seed_voxels']['2']} seed voxels), "
            f"ROI = the seeds' box + 15 mm ({roi_voxels:,} voxels)" if n == 0 else "〃",
            (fmt(r["seeds_rayseg"]) + one("seeds_rayseg_1t")
             + f"; `--smoothing-mm 0` {median(r['seeds_rayseg_s0']):.3g} ms") if n == 0 else "〃",
            f"scikit-image `random_walker` ({mode}, tol 1e-3, beta {args.beta:g}, same ROI)",
            fmt(r[f"seeds_{mode}"]), ratio("seeds_rayseg", f"seeds_{mode}"),
            (f"Dice vs truth: rayseg {ag['seeds_dice_rayseg']:.3f} (σ 0.7 mm smoothing, the default; "
             f"{ag['seeds_vessel_leak']['rayseg']} voxels leak into the vessel), "
             f"`--smoothing-mm 0` {ag['seeds_dice_rayseg_s0']:.3f} "
             f"({ag['seeds_vessel_leak']['rayseg_s0']} in the vessel), " if n == 0
             else "Dice vs truth: ")
            + f"random walker {ag[f'seeds_dice_{mode}']:.3f} (vs rayseg "
            f"{ag[f'seeds_dice_rayseg_{mode}']:.3f}); voxels: "
            + (f"rayseg {sv['rayseg']}, " if n == 0 else "")
            + f"RW {sv[mode]}, truth {sv['truth']}"))
    rows += [
        (f"Fill between slices, ~40 mm structure drawn on every 5th slice ({len(ks)} slices, "
         f"{d['info']['drawn_voxels']} voxels)",
         fmt(r["interp_rayseg"]) + one("interp_rayseg_1t"),
         "ITK MorphologicalContourInterpolator (UseDistanceTransform off, axis k, 1 thread, "
         "the label's box)",
         fmt(r["interp_itk"]), ratio("interp_rayseg", "interp_itk"),
         f"Dice vs ITK {ag['interp_dice_all']:.4f} (filled slices {ag['interp_dice_between']:.4f}; "
         f"vs ITK's default distance-transform median {ag['interp_dice_between_itk_dt']:.4f}); "
         f"vs truth on filled slices: rayseg {ag['interp_dice_truth_between']['rayseg']:.3f}, "
         f"ITK {ag['interp_dice_truth_between']['itk']:.3f}"),
    ]
    for key, sign in (("grow", "+"), ("shrink", "−")):
        v = ag[f"{key}_voxels"]
        expr = ("`distance_transform_edt(~m, sampling) <= 3`" if key == "grow"
                else "`distance_transform_edt(m, sampling) > 3`")
        rows.append((f"Margin {sign}3 mm, 60 mm structure ({v['before']} → {v['rayseg']} voxels)",
                     fmt(r[f"{key}_rayseg"]) + one(f"{key}_rayseg_1t"),
                     f"SciPy {expr} on the label's box",
                     fmt(r[f"{key}_scipy"]), ratio(f"{key}_rayseg", f"{key}_scipy"),
                     f"{ag[f'{key}_mismatch']} voxels differ"))
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                         capture_output=True, text=True).stdout.strip()
    lines = [
        f"Generated by `python3 benches/peers/effects.py` (median and range of {args.runs} "
        f"alternating runs) on a {os.cpu_count()}-core VM ({cpu}), {platform.system()}, no GPU "
        "involved (these are CPU paths). Peers: "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + f". Data: the synthetic CT of `benches/effects.rs` (512×512×300, 0.7×0.7×2.5 mm, ct checksum "
        f"{d['info']['ct_checksum']}) as NIfTI. rayseg: the op's `ms` from the release CLI's "
        "`--json` (through the segmentation document, journal entry with fsync included; "
        "seeds also reads the seed map it names, 512×512×300), on both cores (rayon) and with "
        "`RAYON_NUM_THREADS=1`; peers: the call alone, in process, one thread (ITK pinned to one). "
        "Ratio < 1 means rayseg is faster.",
        "",
        "| task | rayseg | peer | peer time | ratio | agreement |",
        "|---|---|---|---|---|---|",
    ] + [f"| {' | '.join(row)} |" for row in rows]
    crit = criterion_rows()
    if crit:
        lines += ["", "In-process medians from `cargo bench --bench effects` (criterion, release, "
                  f"same data, run {crit[0][2]}):", "",
                  "| bench | median |", "|---|---|"]
        lines += [f"| `{n}` | {ms:.3g} ms |" for n, ms, _ in crit]
    table = "\n".join(lines)
    print(table)
    if not args.no_readme:
        readme = ROOT / "README.md"
        text = readme.read_text()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            readme.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")
        else:
            print("README has no effects-table markers; not written", file=sys.stderr)


if __name__ == "__main__":
    main()
