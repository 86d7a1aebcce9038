"""Copies the third-party NRRD and MetaImage files used by
tests/third_party_formats.rs out of their packages, unchanged, and writes
`reference.json` with SimpleITK's reading of each (RAS+ voxel-to-world
matrix, i.e. ITK's LPS geometry with rows x and y negated; shape; value
statistics of volume 0).

  slicerio 1.4.0 (PyPI wheel, MIT):  slicerio/data/CTChest4.nrrd,
      Segmentation.seg.nrrd, SegmentationOverlapping.seg.nrrd
  insighttoolkit5-examples 5.2.1-5+deb12u1 (Debian, Apache-2.0):
      /usr/share/doc/insighttoolkit5-examples/examples/Data/
      BrainProtonDensitySliceBorder20DirectionPlus30.{nhdr,raw},
      BrainProtonDensitySliceShifted13x17yDirectionPlus30.{mhd,zraw}

Run:  pip download --no-deps slicerio==1.4.0 && unzip slicerio-1.4.0-*.whl -d slicerio
      apt-get download insighttoolkit5-examples && dpkg -x insighttoolkit5-examples_*.deb itk
      python make_reference.py slicerio/slicerio/data itk/usr/share/doc/insighttoolkit5-examples/examples/Data
"""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk

OUT = Path(__file__).parent
SLICERIO = ["CTChest4.nrrd", "Segmentation.seg.nrrd", "SegmentationOverlapping.seg.nrrd"]
ITK = [
    "BrainProtonDensitySliceBorder20DirectionPlus30.nhdr",
    "BrainProtonDensitySliceBorder20DirectionPlus30.raw",
    "BrainProtonDensitySliceShifted13x17yDirectionPlus30.mhd",
    "BrainProtonDensitySliceShifted13x17yDirectionPlus30.zraw",
]


def reading(path):
    img = sitk.ReadImage(str(path))
    volumes = 1
    if img.GetNumberOfComponentsPerPixel() > 1:
        volumes = img.GetNumberOfComponentsPerPixel()
        img = sitk.VectorIndexSelectionCast(img, 0)
    n = img.GetDimension()
    direction = np.eye(3)
    direction[:n, :n] = np.array(img.GetDirection()).reshape(n, n)
    spacing, origin = np.ones(3), np.zeros(3)
    spacing[:n], origin[:n] = img.GetSpacing(), img.GetOrigin()
    m = np.eye(4)
    m[:3, :3] = direction * spacing
    m[:3, 3] = origin
    m[:2, :] *= -1
    a = sitk.GetArrayFromImage(img).astype(np.float64)
    labels = {}
    if path.name.endswith(".seg.nrrd"):
        values, counts = np.unique(a[a != 0], return_counts=True)
        labels = {str(int(v)): int(c) for v, c in zip(values, counts)}
    return dict(
        label_voxels=labels,
        shape=list(img.GetSize()) + [1] * (3 - n),
        volumes=volumes,
        ras_from_voxel=m.tolist(),
        min=float(a.min()),
        max=float(a.max()),
        mean=float(a.mean()),
        sum=float(a.sum()),
    )


def main(slicerio_dir, itk_dir):
    for name in SLICERIO:
        shutil.copyfile(Path(slicerio_dir) / name, OUT / name)
    for name in ITK:
        shutil.copyfile(Path(itk_dir) / name, OUT / name)
    headers = SLICERIO + [n for n in ITK if n.endswith((".nhdr", ".mhd"))]
    ref = {name: reading(OUT / name) for name in headers}
    (OUT / "reference.json").write_text(json.dumps(ref, indent=1) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
