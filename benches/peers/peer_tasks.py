"""In-process timings of the peer readers and filters, printed as one JSON line.

Run by compare.py inside its virtual environment; each call does one task once:

    python peer_tasks.py load-sitk PATH
    python peer_tasks.py load-nibabel PATH
    python peer_tasks.py series-sitk DIR
    python peer_tasks.py series-pydicom DIR
    python peer_tasks.py grow-sitk PATH I J K LOWER UPPER {6|26} OUT
"""

import json
import os
import sys
import time


def ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1e3


def load_sitk(path: str) -> dict:
    import SimpleITK as sitk

    t0 = time.perf_counter()
    image = sitk.ReadImage(path)
    arr = sitk.GetArrayViewFromImage(image)
    return {"load_ms": ms(t0), "voxels": int(arr.size)}


def load_nibabel(path: str) -> dict:
    import nibabel as nib
    import numpy as np

    t0 = time.perf_counter()
    img = nib.load(path)
    arr = np.asanyarray(img.dataobj)
    return {"load_ms": ms(t0), "voxels": int(arr.size)}


def series_sitk(folder: str) -> dict:
    import SimpleITK as sitk

    t0 = time.perf_counter()
    reader = sitk.ImageSeriesReader()
    names = reader.GetGDCMSeriesFileNames(folder)
    reader.SetFileNames(names)
    image = reader.Execute()
    return {"load_ms": ms(t0), "voxels": int(image.GetNumberOfPixels())}


def series_pydicom(folder: str) -> dict:
    import numpy as np
    import pydicom

    t0 = time.perf_counter()
    files = [pydicom.dcmread(os.path.join(folder, f)) for f in sorted(os.listdir(folder))]
    files.sort(key=lambda d: float(d.ImagePositionPatient[2]))
    vol = np.stack([d.pixel_array for d in files])
    return {"load_ms": ms(t0), "voxels": int(vol.size)}


def grow_sitk(path, i, j, k, lower, upper, conn, out) -> dict:
    import SimpleITK as sitk

    t0 = time.perf_counter()
    image = sitk.ReadImage(path)
    t1 = time.perf_counter()
    connectivity = (
        sitk.ConnectedThresholdImageFilter.FullConnectivity
        if conn == "26"
        else sitk.ConnectedThresholdImageFilter.FaceConnectivity
    )
    mask = sitk.ConnectedThreshold(
        image,
        seedList=[(int(i), int(j), int(k))],
        lower=float(lower),
        upper=float(upper),
        replaceValue=1,
        connectivity=connectivity,
    )
    t2 = time.perf_counter()
    sitk.WriteImage(mask, out)
    t3 = time.perf_counter()
    voxels = int(sitk.GetArrayViewFromImage(mask).sum())
    return {
        "load_ms": (t1 - t0) * 1e3,
        "grow_ms": (t2 - t1) * 1e3,
        "save_ms": (t3 - t2) * 1e3,
        "voxels": voxels,
    }


TASKS = {
    "load-sitk": load_sitk,
    "load-nibabel": load_nibabel,
    "series-sitk": series_sitk,
    "series-pydicom": series_pydicom,
    "grow-sitk": grow_sitk,
}

if __name__ == "__main__":
    print(json.dumps(TASKS[sys.argv[1]](*sys.argv[2:])))
