"""SimpleITK peer of `rayseg grow`: ReadImage + ConnectedThreshold + WriteImage,
timed as a whole process (by the caller) and per step (printed here).

    python benches/peers/grow_sitk.py IMAGE I J K LOWER UPPER {6|26} OUT.nii.gz
"""

import sys
import time

import SimpleITK as sitk


def main() -> None:
    path, i, j, k, lower, upper, conn, out = sys.argv[1:9]
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
    stats = sitk.StatisticsImageFilter()
    stats.Execute(mask)
    voxels = int(round(stats.GetSum()))
    print(
        f"sitk: {voxels} voxels; read {1e3 * (t1 - t0):.0f} ms, "
        f"ConnectedThreshold {1e3 * (t2 - t1):.0f} ms, write {1e3 * (t3 - t2):.0f} ms; "
        f"threads {sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()}"
    )


if __name__ == "__main__":
    main()
