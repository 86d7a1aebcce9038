"""Writes the DICOM (and one NIfTI) files that show the real-world defects of
issue 13, and `reference.json` with what independent readers make of them.

Sources (public packages only; no patient data):
  pydicom==3.0.2       pydicom/data/test_files/  (MIT)
  pydicom-data==1.0.0  data_store/data/          (MIT)
Files named in COPIED are byte-for-byte copies. The others are made here from
those files, as each entry says. References: pydicom (values, after
`apply_modality_lut`), SimpleITK (geometry) where it reads the file, numpy.

Run:  pip install pydicom==3.0.2 pydicom-data==1.0.0 SimpleITK nibabel numpy
      python make_defect_files.py
"""

import json
import shutil
import struct
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, generate_fragmented_frames
from pydicom.pixels import apply_modality_lut

warnings.simplefilter("ignore")
OUT = Path(__file__).parent

COPIED = {
    # 674 bytes: a private UN element of undefined length holding an implicit
    # VR sequence; no pixel data. Once cost 20 s and 3.6 GB.
    "UN_sequence.dcm": "UN_sequence.dcm",
    # RT Dose, classic multi-frame: IPP at the top, FrameIncrementPointer to
    # GridFrameOffsetVector, 32-bit samples.
    "rtdose.dcm": "rtdose.dcm",
    # The same in explicit VR big endian: 32-bit samples must be swapped.
    "rtdose_expb.dcm": "rtdose_expb.dcm",
    # RT Dose with NumberOfFrames "1A" (an invalid IS).
    "badVR.dcm": "badVR.dcm",
    # Meta group says JPEG Baseline (explicit VR) but the data set is implicit.
    "SC_rgb_jpeg.dcm": "SC_rgb_jpeg.dcm",
}


def sitk_affine(path):
    """ITK's LPS geometry as a RAS+ voxel-to-world matrix (rows x, y negated)."""
    img = sitk.ReadImage(str(path))
    d = np.array(img.GetDirection()).reshape(3, 3)
    m = np.eye(4)
    m[:3, :3] = d * np.array(img.GetSpacing())
    m[:3, 3] = img.GetOrigin()
    m[:2, :] *= -1
    return m.tolist(), list(img.GetSize())


def values_entry(arr):
    a = np.asarray(arr, dtype=np.float64)
    return dict(
        min=float(np.nanmin(a)),
        max=float(np.nanmax(a)),
        mean=float(np.nanmean(a)),
        nan=int(np.isnan(a).sum()),
    )


def pydicom_volume(ds):
    """pydicom's voxels as (k, j, i) after the modality LUT or rescale."""
    arr = apply_modality_lut(ds.pixel_array, ds)
    if arr.ndim == 2:
        arr = arr[None]
    return arr


def set_meta_ae(src, dst, title):
    """Copies a Part 10 file with (0002,0016) replaced by `title` (any length)."""
    raw = bytearray(Path(src).read_bytes())
    pos, elements = 132, []
    while raw[pos : pos + 2] == b"\x02\x00":
        tag = struct.unpack("<H", raw[pos + 2 : pos + 4])[0]
        vr = bytes(raw[pos + 4 : pos + 6])
        if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT"):
            length = struct.unpack("<I", raw[pos + 8 : pos + 12])[0]
            end = pos + 12 + length
        else:
            length = struct.unpack("<H", raw[pos + 6 : pos + 8])[0]
            end = pos + 8 + length
        elements.append((tag, bytes(raw[pos:end])))
        pos = end
    value = title.encode() + (b" " if len(title) % 2 else b"")
    ae = struct.pack("<HH2sH", 2, 0x16, b"AE", len(value)) + value
    body = [e for t, e in elements if t not in (0x0000, 0x0016)]
    body.append(ae)
    body.sort(key=lambda e: struct.unpack("<H", e[2:4])[0])
    group = b"".join(body)
    length = struct.pack("<HH2sHI", 2, 0, b"UL", 4, len(group))
    Path(dst).write_bytes(bytes(raw[:132]) + length + group + bytes(raw[pos:]))


def strip_meta(src, dst):
    """The data set alone: no preamble, no "DICM", no file meta group."""
    raw = Path(src).read_bytes()
    pos = 132
    while raw[pos : pos + 2] == b"\x02\x00":
        vr = raw[pos + 4 : pos + 6]
        if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT"):
            pos += 12 + struct.unpack("<I", raw[pos + 8 : pos + 12])[0]
        else:
            pos += 8 + struct.unpack("<H", raw[pos + 6 : pos + 8])[0]
    Path(dst).write_bytes(raw[pos:])


def main():
    ref = {}
    for name, source in COPIED.items():
        shutil.copyfile(get_testdata_file(source), OUT / name)

    ref["UN_sequence.dcm"] = dict(
        source="copied: pydicom 3.0.2 test_files/UN_sequence.dcm",
        error="NoPixelData",
        note="parses instantly; it holds no image",
    )

    for name in ("rtdose.dcm", "rtdose_expb.dcm"):
        ds = pydicom.dcmread(OUT / name)
        affine, size = sitk_affine(OUT / name)
        ref[name] = dict(
            source=f"copied: pydicom 3.0.2 test_files/{name}",
            shape=size,
            ras_from_voxel=affine,
            dtype="uint32",
            warning="GridFrameOffsetVector",
            **values_entry(pydicom_volume(ds)),
        )
    # SimpleITK swaps nothing in rtdose_expb.dcm (its values are wrong); its
    # geometry is still the reference, and pydicom's values are.

    ds = pydicom.dcmread(OUT / "badVR.dcm")
    frames = len(ds.PixelData) // (ds.Rows * ds.Columns * ds.BitsAllocated // 8)
    ds.NumberOfFrames = frames  # what the pixel data holds, so pydicom can decode it
    affine, _ = sitk_affine(OUT / "rtdose.dcm")  # same grid as rtdose.dcm
    ref["badVR.dcm"] = dict(
        source="copied: pydicom 3.0.2 test_files/badVR.dcm",
        shape=[ds.Columns, ds.Rows, frames],
        ras_from_voxel=affine,
        dtype="uint32",
        warning='NumberOfFrames "1A"',
        **values_entry(pydicom_volume(ds)),
    )

    ref["SC_rgb_jpeg.dcm"] = dict(
        source="copied: pydicom 3.0.2 test_files/SC_rgb_jpeg.dcm",
        error="Unsupported",
        note="implicit VR data set under an explicit syntax: parsed, then refused as colour",
    )

    # An 18-byte SourceApplicationEntityTitle (AE allows 16).
    set_meta_ae(get_testdata_file("MR_small.dcm"), OUT / "ae_title_18_bytes.dcm", "AN-18-BYTE-AETITLE")
    ds = pydicom.dcmread(OUT / "ae_title_18_bytes.dcm")
    assert len(ds.file_meta.SourceApplicationEntityTitle) == 18
    affine, size = sitk_affine(OUT / "ae_title_18_bytes.dcm")
    ref["ae_title_18_bytes.dcm"] = dict(
        source="made: pydicom 3.0.2 test_files/MR_small.dcm with (0002,0016) set to 18 bytes",
        shape=size,
        ras_from_voxel=affine,
        dtype="int16",
        warning="(0002,0016)",
        **values_entry(pydicom_volume(ds)),
    )

    # JPEG 2000 image whose IconImageSequence item holds its own encapsulated
    # JPEG 2000 fragments (nested encapsulated pixel data).
    ds = pydicom.dcmread(get_testdata_file("MR_small_jp2klossless.dcm"))
    frame = next(generate_fragmented_frames(ds.PixelData, number_of_frames=1))
    icon = Dataset()
    for key in ("SamplesPerPixel", "PhotometricInterpretation", "Rows", "Columns",
                "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation"):
        setattr(icon, key, getattr(ds, key))
    icon.PixelData = encapsulate([b"".join(frame)])
    icon["PixelData"].VR = "OB"
    icon["PixelData"].is_undefined_length = True
    ds.IconImageSequence = [icon]
    ds.save_as(OUT / "icon_jpeg2000_nested.dcm")
    back = pydicom.dcmread(OUT / "icon_jpeg2000_nested.dcm")
    assert back.IconImageSequence[0]["PixelData"].is_undefined_length
    affine, size = sitk_affine(get_testdata_file("MR_small_jp2klossless.dcm"))
    ref["icon_jpeg2000_nested.dcm"] = dict(
        source="made: pydicom 3.0.2 test_files/MR_small_jp2klossless.dcm plus an "
        "IconImageSequence item with its own encapsulated JPEG 2000 pixel data",
        shape=size,
        ras_from_voxel=affine,
        dtype="int16",
        **values_entry(pydicom_volume(back)),
    )

    # Bare data sets: no preamble, no file meta (dcmtk and pydicom force-read them).
    for name, source in (("no_meta_implicit_le.dcm", "MR_small_implicit.dcm"),
                         ("no_meta_explicit_be.dcm", "MR_small_bigendian.dcm")):
        strip_meta(get_testdata_file(source), OUT / name)
        full = pydicom.dcmread(get_testdata_file(source))
        affine, size = sitk_affine(get_testdata_file(source))
        ref[name] = dict(
            source=f"made: pydicom 3.0.2 test_files/{source} without preamble and file meta",
            shape=size,
            ras_from_voxel=affine,
            dtype="int16",
            warning="bare data set",
            **values_entry(pydicom_volume(full)),
        )

    # Modality LUT Sequence: the central 64x64 of pydicom-data's mlut_18.dcm
    # (512x512, 533 kB), LUT kept.
    ds = pydicom.dcmread(get_testdata_file("mlut_18.dcm"))
    crop = ds.pixel_array[224:288, 224:288].copy()
    ds.PixelData = crop.tobytes()
    ds.Rows, ds.Columns = crop.shape
    ds.save_as(OUT / "modality_lut_crop.dcm")
    back = pydicom.dcmread(OUT / "modality_lut_crop.dcm")
    lut = pydicom_volume(back)
    ref["modality_lut_crop.dcm"] = dict(
        source="made: pydicom-data 1.0.0 mlut_18.dcm, central 64x64 pixels, Modality LUT kept",
        shape=[64, 64, 1],
        dtype="uint16",
        warning="Modality LUT Sequence applied",
        checksum=float(np.asarray(lut, dtype=np.float64).sum()),
        **values_entry(lut),
    )

    # NaN voxels in a float NIfTI.
    rng = np.random.default_rng(13)
    data = rng.normal(100.0, 20.0, size=(6, 5, 4)).astype(np.float32)
    data[0, 0, 0] = np.nan
    data[3, 2, 1] = np.nan
    data[5, 4, 3] = np.nan
    img = nib.Nifti1Image(data, np.diag([1.5, 1.5, 2.0, 1.0]))
    nib.save(img, OUT / "nan_voxels.nii.gz")
    back = nib.load(OUT / "nan_voxels.nii.gz")
    ref["nan_voxels.nii.gz"] = dict(
        source="made: numpy random normal float32 6x5x4 with 3 NaN voxels, nibabel",
        shape=list(back.shape),
        ras_from_voxel=back.affine.tolist(),
        dtype="float32",
        warning="3 of 120 voxels are NaN",
        **values_entry(back.get_fdata()),
    )

    (OUT / "reference.json").write_text(json.dumps(ref, indent=1) + "\n")


if __name__ == "__main__":
    main()
