"""ITK's MorphologicalContourInterpolator on a label map, in a child process.

    python itk_interpolate.py IN.nii.gz OUT.nii.gz --axis 2 [--distance-transform] [--crop]

Used by effects.py and make_interpolate_oracles.py, each of which runs it as a
child process with a timeout: the ITK 5.4 interpolator crashed with a heap
error under default threading on the 2-core machine these scripts run on, so
ITK is pinned to ONE thread here, before it is imported
(ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS) and again through the multithreader.

Index space: the array nibabel reads ([i, j, k]) becomes an ITK image whose
index (x, y, z) is (i, j, k), so ITK's axis 2 is rayseg's k. Settings: every
label (Label = 0), one axis (--axis), heuristic alignment on (the default),
cross structuring element (the default), extrapolation of branch extremities
(regions that overlap nothing on the other slice taper to a point; the
default, as rayseg), and UseDistanceTransform off (the dilation
median, rayseg's method) unless --distance-transform (ITK's default).
--crop runs the filter on the mask's bounding box grown by one voxel (what
rayseg's document op works on) and pastes the result back.

Prints one JSON line: {"ms": filter Update() time, "itk": version, "threads": 1, ...}.
"""

import argparse
import json
import os
import sys
import time

os.environ["ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"] = "1"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--axis", type=int, default=2)
    ap.add_argument("--distance-transform", action="store_true")
    ap.add_argument("--crop", action="store_true")
    args = ap.parse_args()

    import itk
    import nibabel as nib
    import numpy as np

    itk.MultiThreaderBase.SetGlobalDefaultNumberOfThreads(1)
    img = nib.load(args.input)
    mask = np.asarray(img.dataobj).astype(np.uint8)
    box = tuple(slice(None) for _ in range(3))
    if args.crop:
        nz = np.nonzero(mask)
        if nz[0].size:
            box = tuple(slice(max(int(a.min()) - 1, 0), min(int(a.max()) + 2, n))
                        for a, n in zip(nz, mask.shape))
    part = np.ascontiguousarray(mask[box])
    # ITK's array view is [z, y, x]: transpose so that ITK's index (x, y, z) = (i, j, k).
    image = itk.image_from_array(np.ascontiguousarray(part.transpose(2, 1, 0)))
    f = itk.MorphologicalContourInterpolator.New(image)
    f.SetAxis(args.axis)
    f.SetLabel(0)
    f.SetUseDistanceTransform(bool(args.distance_transform))
    f.SetHeuristicAlignment(True)
    f.SetUseBallStructuringElement(False)
    # Branch extremities (regions overlapping nothing on the other drawn
    # slice) taper to a point: ITK's default, and rayseg's.
    if hasattr(f, "SetUseExtrapolation"):
        f.SetUseExtrapolation(True)
    f.SetNumberOfWorkUnits(1)
    t0 = time.perf_counter()
    f.Update()
    ms = (time.perf_counter() - t0) * 1e3
    out = itk.array_from_image(f.GetOutput()).transpose(2, 1, 0)
    result = np.zeros_like(mask)
    result[box] = out
    nib.save(nib.Nifti1Image(result, img.affine, img.header), args.output)
    print(json.dumps({
        "ms": ms,
        "itk": itk.Version.GetITKVersion(),
        "threads": 1,
        "box": [[s.start or 0, s.stop if s.stop is not None else n]
                for s, n in zip(box, mask.shape)],
        "distance_transform": bool(args.distance_transform),
    }))


if __name__ == "__main__":
    sys.exit(main())
