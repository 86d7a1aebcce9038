"""In-process timings of the peer readers and filters, printed as one JSON line.

Run by compare.py inside its virtual environment; each call does one task once:

    python peer_tasks.py load-sitk PATH
    python peer_tasks.py load-nibabel PATH
    python peer_tasks.py series-sitk DIR
    python peer_tasks.py series-pydicom DIR
    python peer_tasks.py grow-sitk PATH I J K LOWER UPPER {6|26} OUT
    python peer_tasks.py render-vtk PATH {mip|dvr} OUT.png
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


def render_vtk(path, mode, out) -> dict:
    """VTK's CPU ray caster (vtkFixedPointVolumeRayCastMapper) at 512², offscreen
    (OSMesa on llvmpipe), anterior view with the object covering ~40 % of the
    image; first frame and the median of the next two."""
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkOSOpenGLRenderWindow")
    import vtk

    reader = vtk.vtkNIFTIImageReader()
    reader.SetFileName(path)
    reader.Update()
    lo, hi = reader.GetOutput().GetScalarRange()
    mapper = vtk.vtkFixedPointVolumeRayCastMapper()
    mapper.SetInputConnection(reader.GetOutputPort())
    # Full quality, as rayseg renders: VTK otherwise lowers the sampling to hit an
    # update rate. One sample per voxel for projections, two for DVR (rayseg's).
    spacing = min(reader.GetOutput().GetSpacing())
    mapper.AutoAdjustSampleDistancesOff()
    mapper.SetImageSampleDistance(1.0)
    mapper.SetSampleDistance(spacing if mode == "mip" else spacing / 2)
    prop = vtk.vtkVolumeProperty()
    prop.SetInterpolationTypeToLinear()
    opacity = vtk.vtkPiecewiseFunction()
    color = vtk.vtkColorTransferFunction()
    if mode == "mip":
        mapper.SetBlendModeToMaximumIntensity()
        opacity.AddPoint(lo, 0.0)
        opacity.AddPoint(hi, 1.0)
        color.AddRGBPoint(lo, 0, 0, 0)
        color.AddRGBPoint(hi, 1, 1, 1)
    else:
        mapper.SetBlendModeToComposite()
        prop.ShadeOn()
        mid = lo + 0.3 * (hi - lo)
        opacity.AddPoint(lo, 0.0)
        opacity.AddPoint(mid, 0.0)
        opacity.AddPoint(hi, 0.6)
        color.AddRGBPoint(mid, 0.8, 0.6, 0.5)
        color.AddRGBPoint(hi, 1.0, 1.0, 0.9)
    prop.SetScalarOpacity(opacity)
    prop.SetColor(color)
    volume = vtk.vtkVolume()
    volume.SetMapper(mapper)
    volume.SetProperty(prop)
    renderer = vtk.vtkRenderer()
    renderer.AddVolume(volume)
    window = vtk.vtkRenderWindow()
    window.SetOffScreenRendering(1)
    window.SetSize(512, 512)
    window.AddRenderer(renderer)
    cam = renderer.GetActiveCamera()
    cx, cy, cz = volume.GetCenter()
    # Anterior: looking along -y (from the front), superior up; the reader's
    # frame is voxel-aligned, which for ch2better is close to RAS.
    cam.SetFocalPoint(cx, cy, cz)
    cam.SetPosition(cx, cy + 1000.0, cz)
    cam.SetViewUp(0, 0, 1)
    cam.ParallelProjectionOn()
    renderer.ResetCamera()

    def coverage():
        # Fraction of pixels the object covers (non-black), as rayseg's --zoom 0.76 gives ~40 %.
        from vtk.util.numpy_support import vtk_to_numpy
        grab = vtk.vtkWindowToImageFilter()
        grab.SetInput(window)
        grab.Update()
        rgb = vtk_to_numpy(grab.GetOutput().GetPointData().GetScalars())
        return float((rgb.max(axis=1) > 8).mean())

    # Same framing as rayseg's row: zoom until the object covers ~40 % (untimed).
    window.Render()
    for _ in range(3):
        c = coverage()
        if c > 0:
            cam.Zoom((0.40 / c) ** 0.5)
        window.Render()
    covered = coverage()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        window.Render()
        times.append(ms(t0))
    shot = vtk.vtkWindowToImageFilter()
    shot.SetInput(window)
    writer = vtk.vtkPNGWriter()
    writer.SetFileName(out)
    writer.SetInputConnection(shot.GetOutputPort())
    writer.Write()
    warm = sorted(times[1:])
    return {"coverage": covered, "first_ms": times[0], "warm_ms": sum(warm) / len(warm), "vtk": vtk.vtkVersion.GetVTKVersion(),
            "gl": window.ReportCapabilities().splitlines()[0] if window.ReportCapabilities() else ""}


TASKS = {
    "load-sitk": load_sitk,
    "load-nibabel": load_nibabel,
    "series-sitk": series_sitk,
    "series-pydicom": series_pydicom,
    "grow-sitk": grow_sitk,
    "render-vtk": render_vtk,
}

if __name__ == "__main__":
    print(json.dumps(TASKS[sys.argv[1]](*sys.argv[2:])))
