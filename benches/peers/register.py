"""rayseg register vs SimpleITK ImageRegistrationMethod on the same pairs.

Run from the repository root after `cargo build --release --bin rayseg`:
    /work/venv-peers/bin/python benches/peers/register.py [--runs 3] [--cases a,b,c,d]

Cases (moving images are made here with scipy's cubic spline, independent of
both tools): (a) CT phantom with a known rigid motion on another grid, (b) the
same with a non-monotonic contrast remap, (c) MNI152 T1 against a known-motion
resample of itself at 2 mm with inverted contrast, (d) MNI152 T1 against
Colin27 (ch2), affine, no truth: rayseg compared with SimpleITK by mean
displacement over the brain. SimpleITK gets rayseg's schedule: Mattes 50 bins,
the same per-level sample counts (as percentages), shrink factors, σ in mm,
random sampling, linear interpolation, the initialiser rayseg chose, physical
shift scales, regular-step gradient descent. Times are whole processes,
median of --runs. Prints a markdown table. Also checks that SimpleITK reads
rayseg's .tfm to the same map as its JSON.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import nibabel as nib
import numpy as np
from scipy import ndimage

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RAYSEG = os.path.join(ROOT, "target", "release", "rayseg")
MNI = "/work/shared/data/nifti/mni152_2009a/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
CH2 = "/work/shared/data/nifti/mricron/ch2.nii.gz"
F = np.diag([-1.0, -1.0, 1.0, 1.0])


def rigid(axis, deg, t):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    a = np.radians(deg)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    r = np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * k @ k
    m = np.eye(4)
    m[:3, :3] = r
    m[:3, 3] = t
    return m


def moved(fixed_path, out_path, truth_ras, shape, spacing, remap=None, background=None):
    """Moving image on its own grid: value at y = fixed(G⁻¹ y), cubic spline."""
    img = nib.load(fixed_path)
    data = np.asarray(img.dataobj, dtype=np.float32)
    bg = float(data.min()) if background is None else background
    centre = img.affine @ np.r_[(np.array(data.shape) - 1) / 2.0, 1.0]
    aff = np.diag(list(spacing) + [1.0])
    aff[:3, 3] = centre[:3] - (np.array(shape) - 1) / 2.0 * np.array(spacing)
    # moving voxel → moving RAS → fixed RAS (G⁻¹) → fixed voxel.
    m = np.linalg.inv(img.affine) @ np.linalg.inv(truth_ras) @ aff
    coeffs = ndimage.spline_filter(data, order=3)
    out = ndimage.affine_transform(coeffs, m[:3, :3], m[:3, 3], output_shape=shape,
                                   order=3, cval=bg, prefilter=False)
    if remap is not None:
        out = remap(out)
    nib.save(nib.Nifti1Image(out.astype(np.float32), aff), out_path)


def t2_like_ct(v):
    return np.interp(np.clip(v, -1000, 600), [-1000, -800, 0, 40, 90, 150, 600],
                     [50, 0, 800, 600, 350, 900, 100])


def sitk_worker(spec_path):
    import SimpleITK as sitk
    spec = json.load(open(spec_path))
    fixed = sitk.ReadImage(spec["fixed"], sitk.sitkFloat32)
    moving = sitk.ReadImage(spec["moving"], sitk.sitkFloat32)
    kind = sitk.Euler3DTransform() if spec["kind"] == "rigid" else sitk.AffineTransform(3)
    how = (sitk.CenteredTransformInitializerFilter.MOMENTS if spec["init"] == "moments"
           else sitk.CenteredTransformInitializerFilter.GEOMETRY)
    init = sitk.CenteredTransformInitializer(fixed, moving, kind, how)
    if spec["init"] == "identity":
        init.SetTranslation((0.0, 0.0, 0.0))
    r = sitk.ImageRegistrationMethod()
    r.SetMetricAsMattesMutualInformation(numberOfHistogramBins=50)
    r.SetMetricSamplingStrategy(r.RANDOM)
    r.SetMetricSamplingPercentagePerLevel(spec["percent"], 1)
    r.SetInterpolator(sitk.sitkLinear)
    r.SetOptimizerAsRegularStepGradientDescent(learningRate=1.0, minStep=1e-4,
                                               numberOfIterations=200,
                                               relaxationFactor=0.5,
                                               gradientMagnitudeTolerance=1e-8)
    r.SetOptimizerScalesFromPhysicalShift()
    r.SetShrinkFactorsPerLevel(spec["shrink"])
    r.SetSmoothingSigmasPerLevel(spec["sigmas"])
    r.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    r.SetInitialTransform(init, inPlace=False)
    out = r.Execute(fixed, moving)
    sitk.WriteTransform(out, spec["out"])
    json.dump({"metric": r.GetMetricValue(), "iterations": r.GetOptimizerIteration(),
               "stop": r.GetOptimizerStopConditionDescription()}, open(spec["out"] + ".json", "w"))


def lps_matrix_of_tfm(path):
    """moving_lps_from_fixed_lps of a transform file, through SimpleITK."""
    import SimpleITK as sitk
    t = sitk.ReadTransform(path)
    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float) * 100.0
    img = np.array([t.TransformPoint(tuple(p)) for p in pts])
    m = np.eye(4)
    m[:3, 3] = img[0]
    m[:3, :3] = (img[1:] - img[0]).T / 100.0
    return m


def eval_points(fixed_path, threshold):
    img = nib.load(fixed_path)
    data = np.asarray(img.dataobj, dtype=np.float32)[::3, ::3, ::3]
    idx = np.argwhere(data > threshold) * 3
    ras = (img.affine @ np.c_[idx, np.ones(len(idx))].T).T
    return (F @ ras.T).T  # LPS


def errors(m_lps, truth_lps, pts):
    d = np.linalg.norm((pts @ m_lps.T - pts @ truth_lps.T)[:, :3], axis=1)
    r = m_lps[:3, :3] @ truth_lps[:3, :3].T
    u, _, vt = np.linalg.svd(r)  # nearest rotation (affine results)
    r = u @ vt
    ang = np.degrees(np.arccos(np.clip((np.trace(r) - 1) / 2, -1, 1)))
    return ang, d.mean()


def timed(cmd, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--sitk-worker":
        return sitk_worker(sys.argv[2])
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cases", default="a,b,c,d")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rayseg-register-")
    cases = []
    want = args.cases.split(",")
    if "a" in want or "b" in want:
        ph = os.path.join(work, "phantom.nii.gz")
        subprocess.run([RAYSEG, "phantom", "-o", ph, "--size", "128", "--spacing", "2.5",
                        "--supersample", "2", "--noise-hu", "10"], check=True,
                       stdout=subprocess.DEVNULL)
        truth = rigid([0.4, -0.3, 1.0], 12.0, [18.0, -12.0, 22.0])
        if "a" in want:
            mv = os.path.join(work, "phantom_moved.nii.gz")
            moved(ph, mv, truth, (110, 110, 100), (3.0, 3.0, 3.2), background=-1000.0)
            cases.append(("a phantom rigid", ph, mv, "rigid", truth, -500.0))
        if "b" in want:
            mv = os.path.join(work, "phantom_t2.nii.gz")
            moved(ph, mv, truth, (110, 110, 100), (3.0, 3.0, 3.2), remap=t2_like_ct,
                  background=-1000.0)
            cases.append(("b phantom rigid, contrast remap", ph, mv, "rigid", truth, -500.0))
    if "c" in want:
        truth = rigid([1.0, 0.2, -0.3], -10.0, [-15.0, 20.0, 10.0])
        mv = os.path.join(work, "mni_moved.nii.gz")
        mx = float(np.asarray(nib.load(MNI).dataobj).max())
        moved(MNI, mv, truth, (100, 120, 95), (2.0, 2.0, 2.0), remap=lambda v: mx - v,
              background=0.0)
        cases.append(("c MNI T1 vs moved, inverted 2 mm", MNI, mv, "rigid", truth, 30.0))
    if "d" in want:
        cases.append(("d MNI T1 vs ch2 (affine)", MNI, CH2, "affine", None, 30.0))
    rows = []
    for name, fixed, moving, kind, truth, thr in cases:
        pts = eval_points(fixed, thr)
        out = os.path.join(work, "rayseg.json")
        cmd = [RAYSEG, "register", fixed, moving, "-o", out, f"--{kind}"]
        t_r = timed(cmd, args.runs)
        rep = json.load(open(out))
        m_json = F @ np.array(rep["moving_ras_from_fixed_ras"]) @ F
        m_tfm = lps_matrix_of_tfm(os.path.join(work, "rayseg.tfm"))
        tfm_gap = np.abs(pts @ (m_json - m_tfm).T).max()
        assert tfm_gap < 1e-6, f"SimpleITK reads rayseg's .tfm differently: {tfm_gap} mm"
        img = nib.load(fixed)
        shape = np.array(img.shape[:3])
        percent = []
        for lv in rep["levels"]:
            f = lv["shrink"]
            fs = np.maximum(1, np.minimum(f, shape // 4))
            percent.append(min(1.0, lv["samples"] / float(np.prod(shape // fs))))
        spec = {"fixed": fixed, "moving": moving, "kind": kind, "init": rep["initializer"],
                "percent": percent, "shrink": [lv["shrink"] for lv in rep["levels"]],
                "sigmas": [lv["sigma_mm"] for lv in rep["levels"]],
                "out": os.path.join(work, "sitk.tfm")}
        spec_path = os.path.join(work, "spec.json")
        json.dump(spec, open(spec_path, "w"))
        t_s = timed([sys.executable, os.path.abspath(__file__), "--sitk-worker", spec_path],
                    args.runs)
        s_rep = json.load(open(spec["out"] + ".json"))
        m_sitk = lps_matrix_of_tfm(spec["out"])
        iters_r = "+".join(str(lv["iterations"]) for lv in rep["levels"])
        if truth is not None:
            t_lps = F @ truth @ F
            for tool, m, t, metric, it in (("rayseg", m_json, t_r, rep["final_metric"], iters_r),
                                           ("SimpleITK", m_sitk, t_s, s_rep["metric"],
                                            s_rep["iterations"])):
                ang, disp = errors(m, t_lps, pts)
                rows.append(f"| {name} | {tool} | {t:.2f} | {ang:.3f} | {disp:.3f} | "
                            f"{metric:.4f} | {it} |")
        else:
            ang, disp = errors(m_json, m_sitk, pts)
            rows.append(f"| {name} | rayseg | {t_r:.2f} | vs SimpleITK: {ang:.3f} | "
                        f"vs SimpleITK: {disp:.3f} | {rep['final_metric']:.4f} | {iters_r} |")
            rows.append(f"| {name} | SimpleITK | {t_s:.2f} | | | {s_rep['metric']:.4f} | "
                        f"{s_rep['iterations']} |")
        print(rows[-2], rows[-1], sep="\n", file=sys.stderr, flush=True)
    print(f"\n{os.cpu_count()} CPUs; whole-process time, median of {args.runs}\n")
    print("| case | tool | time s | rotation error ° | mean displacement mm | final metric | "
          "iterations (last level for SimpleITK) |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
