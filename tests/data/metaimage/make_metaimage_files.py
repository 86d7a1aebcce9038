#!/usr/bin/env python3
"""Writes the MetaImage test files in this folder, reference.json and README.md.

Run with a Python that has SimpleITK (2.5.7 was used) and numpy:

    python tests/data/metaimage/make_metaimage_files.py

Headers are written by hand, line by line, so every key spelling, separator
and line ending is exactly what the test means; voxel data come from numpy
(and zlib/gzip for compressed data). A few files are written by SimpleITK
itself. Every good file is then read back with SimpleITK, and that reading,
converted to rayseg's conventions, is the reference:

* shape (i, j, k): 2-D images get k = 1;
* ras_from_voxel: ITK's LPS affine (origin, direction · diag(spacing)) with
  rows x and y negated; a 2-D image's third axis is +z, 1 mm, origin z 0;
  a 4-D image is placed by the spatial 3×3 block of its 4×4 direction;
* values: the selected volume (4th-axis index or channel), i fastest;
* dtype: SimpleITK's pixel type, 64-bit integers narrowed as rayseg does
  (to 32 bits when every value of the volume fits, else float64).

Nothing here comes from a third party. The script deletes and rewrites
every file it owns, so it is safe to run again.
"""

import gzip
import json
import shutil
import zlib
from pathlib import Path

import numpy as np
import SimpleITK as sitk

HERE = Path(__file__).resolve().parent
SHAPE = (7, 6, 5)  # i, j, k
N = SHAPE[0] * SHAPE[1] * SHAPE[2]
IDX = np.arange(N)

# A non-symmetric oblique rotation; runs of three are the LPS directions of
# axes i, j, k (ITK's direction columns). SimpleITK writes SLA for it.
OBLIQUE = "0.36 0.48 -0.8 -0.8 0.6 0 0.48 0.64 0.6"

entries = []  # reference entries for good files
bad = []  # expected failures
readme = []  # (path, what it shows)


def path_of(rel):
    p = HERE / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def header(fields, data_file, ndims=3, dims=SHAPE):
    """Header text: ObjectType, NDims, DimSize, then `fields`, then ElementDataFile."""
    lines = ["ObjectType = Image", f"NDims = {ndims}", "DimSize = " + " ".join(map(str, dims))]
    lines += [f"{k} = {v}" for k, v in fields]
    lines.append(f"ElementDataFile = {data_file}")
    return "\n".join(lines) + "\n"


def write(rel, text, data=b"", what=None):
    p = path_of(rel)
    p.write_bytes((text.encode() if isinstance(text, str) else text) + data)
    if what:
        readme.append((rel, what))
    return p


def as_volume(values, dtype, dims=SHAPE):
    """numpy array in MetaImage order (i fastest) from a flat list."""
    return np.asarray(values, dtype=dtype).reshape(tuple(reversed(dims)))


def rayseg_dtype(values, np_dtype):
    if np_dtype == np.int64:
        return "int32" if values.min() >= -(2**31) and values.max() < 2**31 else "float64"
    if np_dtype == np.uint64:
        return "uint32" if values.max() < 2**32 else "float64"
    return np.dtype(np_dtype).name


def json_values(v):
    if v.dtype.kind in "iu":
        return [int(x) for x in v]
    return [float(x) for x in v]


def affine_ras(direction, spacing, origin, dim):
    D = np.eye(3)
    s = np.ones(3)
    o = np.zeros(3)
    m = min(dim, 3)
    D[:m, :m] = np.asarray(direction).reshape(dim, dim)[:m, :m]
    s[:m] = spacing[:m]
    o[:m] = origin[:m]
    lps = np.eye(4)
    lps[:3, :3] = D @ np.diag(s)
    lps[:3, 3] = o
    return (np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps).tolist()


MODALITY = {"MET_MOD_CT": "CT", "MET_MOD_MR": "MR", "MET_MOD_UNKNOWN": "unknown"}


def reference(rel, volume_index=0, warnings=(), expect=None):
    """Appends SimpleITK's reading of `rel`; `expect` (flat, i fastest) is
    checked against it so the reference is known to hold what was written."""
    p = HERE / rel
    img = sitk.ReadImage(str(p))
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(p))
    reader.ReadImageInformation()
    modality = "unknown"
    if reader.HasMetaDataKey("Modality"):
        m = reader.GetMetaData("Modality")
        modality = MODALITY.get(m, m.removeprefix("MET_MOD_"))
    dim = img.GetDimension()
    size = img.GetSize()
    channels = img.GetNumberOfComponentsPerPixel()
    arr = sitk.GetArrayFromImage(img)
    if channels > 1:
        volumes = channels
        vol = arr[..., volume_index]
    elif dim == 4:
        volumes = size[3]
        vol = arr[volume_index]
    else:
        volumes = 1
        vol = arr
    values = vol.ravel()
    if expect is not None:
        assert np.array_equal(values, np.asarray(expect).ravel()), rel
    entries.append(
        {
            "path": rel,
            "reader": "SimpleITK " + sitk.Version.VersionString(),
            "volume_index": volume_index,
            "shape": [size[0], size[1], size[2] if dim > 2 else 1],
            "volumes": volumes,
            "ras_from_voxel": affine_ras(img.GetDirection(), img.GetSpacing(), img.GetOrigin(), dim),
            "dtype": rayseg_dtype(values, values.dtype),
            "modality": modality,
            "warnings": list(warnings),
            "values": json_values(values),
        }
    )


def expect_error(rel, kind, needle, what):
    bad.append({"path": rel, "error": kind, "message_contains": needle})
    readme.append((rel, what))


def scalar_files():
    types = [
        # name, MET type, numpy dtype, values (distinct, so axis mistakes show)
        ("char", "MET_CHAR", np.int8, (IDX * 37 + 11) % 256 - 128),
        ("uchar", "MET_UCHAR", np.uint8, (IDX * 37 + 11) % 256),
        ("short", "MET_SHORT", np.int16, IDX * 151 - 15000),
        ("ushort", "MET_USHORT", np.uint16, IDX * 311 + 7),
        ("int", "MET_INT", np.int32, IDX * 10_000_019 - 1_000_000_000),
        ("uint", "MET_UINT", np.uint32, IDX * 20_000_003 + 3),
        ("long", "MET_LONG", np.int32, IDX * 9_999_991 - 999_999_999),  # 4 bytes in MetaIO
        ("ulong", "MET_ULONG", np.uint32, IDX * 19_999_999 + 1),
        ("long_long", "MET_LONG_LONG", np.int64, IDX * 1000 - 100_000),  # fits: int32
        ("long_long_big", "MET_LONG_LONG", np.int64, IDX * 2**40 - 2**47),  # float64, exact
        ("ulong_long", "MET_ULONG_LONG", np.uint64, IDX * 2**35 + 5),  # float64, exact
        ("float", "MET_FLOAT", np.float32, (IDX - 105) * 0.375),
        ("double", "MET_DOUBLE", np.float64, (IDX - 105) * 1024.0625),
    ]
    for name, met, dt, values in types:
        vol = as_volume(values, dt)
        rel = f"types/{name}.mha"
        write(rel, header([("ElementType", met)], "LOCAL"), vol.tobytes(), f"{met}, little-endian, LOCAL")
        reference(rel, expect=vol)
    # Values past 2^53 lose precision in float64: rayseg warns.
    huge = as_volume(np.uint64(2**63) + IDX.astype(np.uint64) * np.uint64(4097), np.uint64)
    write("types/ulong_long_huge.mha", header([("ElementType", "MET_ULONG_LONG")], "LOCAL"), huge.tobytes(),
          "MET_ULONG_LONG beyond 2^53: rounded to float64 with a warning")
    reference("types/ulong_long_huge.mha", warnings=["2^53"], expect=huge)
    # Big-endian data, under both spellings of the key and several truth spellings.
    msb = [
        ("short_msb", "MET_SHORT", np.int16, IDX * 151 - 15000, "ElementByteOrderMSB", "True"),
        ("float_msb", "MET_FLOAT", np.float32, (IDX - 105) * 0.375, "BinaryDataByteOrderMSB", "true"),
        ("double_msb", "MET_DOUBLE", np.float64, (IDX - 105) * 1024.0625, "ElementByteOrderMSB", "1"),
        ("ulong_long_msb", "MET_ULONG_LONG", np.uint64, IDX * 2**35 + 5, "BinaryDataByteOrderMSB", "T"),
    ]
    for name, met, dt, values, key, truth in msb:
        vol = as_volume(values, dt)
        rel = f"types/{name}.mha"
        write(rel, header([(key, truth), ("ElementType", met)], "LOCAL"), vol.astype(vol.dtype.newbyteorder(">")).tobytes(),
              f"{met} big-endian ({key} = {truth})")
        reference(rel, expect=vol)
    vol = as_volume(IDX * 151 - 15000, np.int16)
    write("types/short_msb_false.mha", header([("ElementByteOrderMSB", "False"), ("ElementType", "MET_SHORT")], "LOCAL"),
          vol.tobytes(), "ElementByteOrderMSB = False: little-endian")
    reference("types/short_msb_false.mha", expect=vol)


def short_volume():
    return as_volume(IDX * 151 - 15000, np.int16)


def geometry_files():
    vol = short_volume()
    data = vol.tobytes()
    base = [("ElementSpacing", "0.5 0.7 1.3"), ("ElementType", "MET_SHORT")]
    cases = [
        ("oblique", [("TransformMatrix", OBLIQUE), ("Offset", "10 -20 30"), ("AnatomicalOrientation", "SLA")], [],
         "non-symmetric oblique TransformMatrix (read column by column), Offset"),
        ("oblique_anat_wrong", [("TransformMatrix", OBLIQUE), ("Offset", "10 -20 30"), ("AnatomicalOrientation", "RAI")],
         ["AnatomicalOrientation = RAI contradicts"],
         "AnatomicalOrientation contradicting the matrix: ignored, with a warning"),
        ("anat_lps_identity", [("AnatomicalOrientation", "LPS")], ["AnatomicalOrientation = LPS contradicts"],
         "AnatomicalOrientation = LPS and no matrix: identity (ITK ignores the code), warning"),
        ("anat_rai_identity", [("AnatomicalOrientation", "RAI")], [],
         "AnatomicalOrientation = RAI and no matrix: agrees with the identity, no warning"),
        ("position", [("Position", "1.5 -2.5 3.5")], [], "Position as the origin"),
        ("origin", [("Origin", "-4 5 -6")], [], "Origin as the origin"),
        ("origin_offset_position", [("Origin", "4 5 6"), ("Offset", "7 8 9"), ("Position", "1 2 3")], [],
         "all three: Origin wins over Offset over Position, whatever the line order"),
        ("image_position", [("Offset", "7 8 9"), ("ImagePosition", "-1 -2 -3")], [],
         "ImagePosition wins over every other origin key"),
        ("rotation", [("Rotation", OBLIQUE)], [], "Rotation as the matrix"),
        ("orientation", [("Orientation", OBLIQUE)], [], "Orientation as the matrix"),
        ("transform_over_rotation", [("Rotation", OBLIQUE), ("TransformMatrix", "1 0 0 0 0 1 0 -1 0")], [],
         "TransformMatrix wins over Rotation"),
        ("center_of_rotation", [("TransformMatrix", OBLIQUE), ("Offset", "1 2 3"), ("CenterOfRotation", "10 20 30")], [],
         "CenterOfRotation changes nothing"),
        ("negative_spacing", [("ElementSpacing", "-0.5 0.7 1.3")], [],
         "negative spacing (ITK flips the direction; same affine)"),
        ("not_rotation", [("TransformMatrix", "2 0 0 0 1 0 0.5 0 1")], ["not a rotation"],
         "a matrix that is not a rotation: used as written, as ITK does, with a warning"),
    ]
    for name, fields, warnings, what in cases:
        rel = f"geometry/{name}.mha"
        fields = fields + [f for f in base if f[0] not in dict(fields)]
        write(rel, header(fields, "LOCAL"), data, what)
        reference(rel, warnings=warnings, expect=vol)
    write("geometry/element_size.mha", header([("ElementSize", "2 3 4"), ("ElementType", "MET_SHORT")], "LOCAL"), data,
          "ElementSize alone is the spacing")
    reference("geometry/element_size.mha", expect=vol)
    write("geometry/element_size_and_spacing.mha",
          header([("ElementSize", "2 3 4"), ("ElementSpacing", "0.5 0.6 0.7"), ("ElementType", "MET_SHORT")], "LOCAL"),
          data, "ElementSpacing wins over ElementSize")
    reference("geometry/element_size_and_spacing.mha", expect=vol)
    # Loose syntax: CRLF, ':' separators, odd spacing, a comment, an unknown
    # key, a wrong-case key (ignored by ITK: warning), lower-case truth values.
    # The comment comes first: MetaIO 2.5.7 joins a line without a separator
    # to the next line's key (losing that key); rayseg skips such lines.
    text = ("# written by hand\r\nObjectType: Image\r\nNDims :3\r\n  DimSize   =   7 6 5  \r\n"
            "ElementSpacing=0.25 0.5 2\r\nelementspacing = 9 9 9\r\nFooBar = whatever\r\n"
            "CompressedData = false\r\nElementByteOrderMSB = true\r\nElementType =  MET_SHORT\r\n"
            "ElementDataFile = LOCAL\r\n")
    write("syntax/crlf_colons.mha", text, vol.astype(">i2").tobytes(),
          "CRLF, ':' and '=' separators, extra spaces, comment, unknown and wrong-case keys, 'true'")
    reference("syntax/crlf_colons.mha", warnings=["'elementspacing' ignored"], expect=vol)
    write("syntax/local_lowercase.mha", header([("ElementType", "MET_SHORT")], "local"), data,
          "ElementDataFile = local (MetaIO accepts LOCAL, Local, local)")
    reference("syntax/local_lowercase.mha", expect=vol)


def dims_files():
    # 2-D: one slice, oblique 2×2 matrix.
    vol2 = as_volume(IDX[:42] * 7 - 100, np.int16, dims=(7, 6))
    write("dims/2d.mha", header([("ElementSpacing", "0.5 0.7"), ("Offset", "1 2"), ("TransformMatrix", "0.6 0.8 -0.8 0.6"),
                                 ("ElementType", "MET_SHORT")], "LOCAL", ndims=2, dims=(7, 6)), vol2.tobytes(),
          "NDims 2: one slice (k = 1), 2×2 oblique matrix")
    reference("dims/2d.mha", expect=vol2)
    # 4-D: three volumes, 4×4 matrix whose spatial block is oblique.
    d4 = (7, 6, 5, 3)
    v4 = np.arange(N * 3, dtype=np.int16).reshape(3, 5, 6, 7) * 3 - 500
    m4 = "0.36 0.48 -0.8 0 -0.8 0.6 0 0 0.48 0.64 0.6 0 0 0 0 1"
    f4 = [("ElementSpacing", "0.5 0.7 1.3 2.5"), ("Offset", "1 2 3 4"), ("TransformMatrix", m4), ("ElementType", "MET_SHORT")]
    write("dims/4d.mha", header(f4, "LOCAL", ndims=4, dims=d4), v4.tobytes(), "NDims 4: three volumes, oblique")
    reference("dims/4d.mha", 0, expect=v4[0])
    reference("dims/4d.mha", 2, expect=v4[2])
    z = zlib.compress(v4.tobytes())
    write("dims/4d_zlib.mha", header([("CompressedData", "True"), ("CompressedDataSize", len(z))] + f4, "LOCAL", ndims=4, dims=d4),
          z, "NDims 4, zlib-compressed: volume 1 decompressed past volume 0")
    reference("dims/4d_zlib.mha", 1, expect=v4[1])
    names = []
    for t in range(3):
        names.append(f"4d_vol{t}.raw")
        path_of(f"dims/{names[-1]}").write_bytes(v4[t].tobytes())
    write("dims/4d_list3d.mhd", header(f4, "LIST 3D", ndims=4, dims=d4) + "".join(n + "\n" for n in names), b"",
          "NDims 4 as LIST 3D: one file per volume (4d_vol*.raw)")
    reference("dims/4d_list3d.mhd", 1, expect=v4[1])
    # Two interleaved channels.
    ch = np.stack([IDX * 5 - 300, IDX * -3 + 7], axis=-1).astype(np.int16).reshape(5, 6, 7, 2)
    write("dims/channels2.mha", header([("ElementNumberOfChannels", 2), ("ElementType", "MET_SHORT")], "LOCAL"),
          ch.tobytes(), "ElementNumberOfChannels 2: interleaved, each channel selectable")
    reference("dims/channels2.mha", 0, expect=ch[..., 0])
    reference("dims/channels2.mha", 1, expect=ch[..., 1])
    ch3 = np.stack([IDX % 256, (IDX * 3) % 256, 255 - IDX % 256], axis=-1).astype(np.uint8).reshape(5, 6, 7, 3)
    z = zlib.compress(ch3.tobytes())
    write("dims/channels3_zlib.mha", header([("ElementNumberOfChannels", 3), ("CompressedData", "True"),
                                            ("CompressedDataSize", len(z)), ("ElementType", "MET_UCHAR")], "LOCAL"),
          z, "three uchar channels, zlib-compressed")
    reference("dims/channels3_zlib.mha", 2, expect=ch3[..., 2])


def detached_files():
    vol = short_volume()
    data = vol.tobytes()
    t = [("ElementSpacing", "0.8 0.9 2"), ("Offset", "-5 6 -7"), ("ElementType", "MET_SHORT")]
    path_of("detached/plain.raw").write_bytes(data)
    write("detached/plain.mhd", header(t, "plain.raw"), b"", ".mhd + .raw")
    reference("detached/plain.mhd", expect=vol)
    z = zlib.compress(data, 9)
    path_of("detached/sized.zraw").write_bytes(z)
    write("detached/sized.mhd", header([("CompressedData", "True"), ("CompressedDataSize", len(z))] + t, "sized.zraw"), b"",
          ".mhd + .zraw with CompressedDataSize")
    reference("detached/sized.mhd", expect=vol)
    path_of("detached/unsized.zraw").write_bytes(zlib.compress(data, 1))
    write("detached/unsized.mhd", header([("CompressedData", "True")] + t, "unsized.zraw"), b"",
          ".mhd + .zraw without CompressedDataSize (the whole file)")
    reference("detached/unsized.mhd", expect=vol)
    path_of("detached/gzip.zraw").write_bytes(gzip.compress(data, mtime=0))
    write("detached/gzip.mhd", header([("CompressedData", "True")] + t, "gzip.zraw"), b"",
          "gzip rather than zlib framing (MetaIO inflates both)")
    reference("detached/gzip.mhd", expect=vol)
    # LIST: one slice per file, with and without the 2D word, plain and compressed.
    slices = [vol[k].tobytes() for k in range(5)]
    for k, s in enumerate(slices):
        path_of(f"detached/slice_{k}.raw").write_bytes(s)
        path_of(f"detached/zslice_{k}.zraw").write_bytes(zlib.compress(s))
    listing = "".join(f"slice_{k}.raw\n" for k in range(5))
    write("detached/list.mhd", header(t, "LIST") + listing, b"", "LIST: slice files named after the header")
    reference("detached/list.mhd", expect=vol)
    write("detached/list2d.mhd", (header(t, "LIST 2D") + listing).replace("\n", "\r\n"), b"",
          "LIST 2D, CRLF line ends")
    reference("detached/list2d.mhd", expect=vol)
    write("detached/list_zlib.mhd", header([("CompressedData", "True")] + t, "LIST 2D") + "".join(f"zslice_{k}.zraw\n" for k in range(5)),
          b"", "LIST of zlib-compressed slices")
    reference("detached/list_zlib.mhd", expect=vol)
    # Numbered patterns.
    for k, s in enumerate(slices):
        path_of(f"detached/pat{k + 1:03d}.raw").write_bytes(s)
        path_of(f"detached/step{2 * k + 2:02d}.raw").write_bytes(s)
    write("detached/pattern.mhd", header(t, "pat%03d.raw"), b"", "pattern pat%03d.raw (MetaIO default: from 1, step 1)")
    reference("detached/pattern.mhd", expect=vol)
    write("detached/pattern_step.mhd", header(t, "step%02d.raw 2 10 2"), b"", "pattern step%02d.raw 2 10 2")
    reference("detached/pattern_step.mhd", expect=vol)
    # HeaderSize: skip a preamble, or take the last bytes of the file.
    path_of("detached/preamble.raw").write_bytes(b"P" * 17 + data)
    write("detached/headersize.mhd", header([("HeaderSize", 17)] + t, "preamble.raw"), b"", "HeaderSize = 17 in a .raw")
    reference("detached/headersize.mhd", expect=vol)
    write("detached/headersize_end.mhd", header([("HeaderSize", -1)] + t, "preamble.raw"), b"",
          "HeaderSize = -1: the data are the last bytes of the .raw")
    reference("detached/headersize_end.mhd", expect=vol)
    text = header([("HeaderSize", 512)] + t, "LOCAL")
    write("detached/local_headersize.mha", text, b"#" * (512 - len(text)) + data,
          "HeaderSize = 512 in a .mha: counted from the start of the file")
    reference("detached/local_headersize.mha", expect=vol)
    write("detached/local_headersize_end.mha", header([("HeaderSize", -1)] + t, "LOCAL"), b"junk" + data,
          "HeaderSize = -1 in a .mha: junk before the data is skipped")
    reference("detached/local_headersize_end.mha", expect=vol)
    z = zlib.compress(data)
    write("detached/local_zlib_trailing.mha", header([("CompressedData", "True"), ("CompressedDataSize", len(z))] + t, "LOCAL"),
          z + b"trailing bytes", "LOCAL zlib with CompressedDataSize and bytes after it")
    reference("detached/local_zlib_trailing.mha", expect=vol)


def label_and_modality_files():
    k, j, i = np.meshgrid(np.arange(5), np.arange(6), np.arange(7), indexing="ij")
    labels = np.zeros((5, 6, 7), np.uint8)
    labels[(i >= 1) & (i <= 5) & (j >= 1) & (j <= 4)] = 1
    labels[(i >= 2) & (i <= 3) & (k >= 1) & (k <= 3)] = 2
    labels[(i == 5) & (j >= 3) & (k >= 2)] = 5
    z = zlib.compress(labels.tobytes())
    write("label/labels.mha", header([("CompressedData", "True"), ("CompressedDataSize", len(z)), ("ElementSpacing", "1 1 2.5"),
                                      ("Offset", "-3 -2.5 10"), ("ElementType", "MET_UCHAR")], "LOCAL"), z,
          "label map: uchar labels 0, 1, 2, 5 in blocks, zlib")
    reference("label/labels.mha", expect=labels)
    hu = as_volume(IDX * 13 - 1024, np.int16)
    write("modality/ct.mha", header([("Modality", "MET_MOD_CT"), ("ElementSpacing", "0.7 0.7 2.5"), ("ElementType", "MET_SHORT")],
                                    "LOCAL"), hu.tobytes(), "Modality = MET_MOD_CT")
    reference("modality/ct.mha", expect=hu)
    mr = as_volume(IDX * 9, np.uint16)
    write("modality/mr.mha", header([("Modality", "MET_MOD_MR"), ("ElementType", "MET_USHORT")], "LOCAL"), mr.tobytes(),
          "Modality = MET_MOD_MR")
    reference("modality/mr.mha", expect=mr)
    write("modality/us.mha", header([("Modality", "MET_MOD_US"), ("ElementType", "MET_USHORT")], "LOCAL"), mr.tobytes(),
          "Modality = MET_MOD_US (other)")
    reference("modality/us.mha", expect=mr)


def sitk_files():
    vol = short_volume()
    img = sitk.GetImageFromArray(vol)
    img.SetSpacing((0.5, 0.7, 1.3))
    img.SetOrigin((10.0, -20.0, 30.0))
    img.SetDirection((0.36, -0.8, 0.48, 0.48, 0.6, 0.64, -0.8, 0.0, 0.6))
    sitk.WriteImage(img, str(path_of("sitk/oblique.mha")))
    readme.append(("sitk/oblique.mha", "written by SimpleITK: int16, oblique, LOCAL"))
    reference("sitk/oblique.mha", expect=vol)
    f32 = as_volume((IDX - 105) * 0.375, np.float32)
    img = sitk.GetImageFromArray(f32)
    img.SetSpacing((1.25, 1.5, 3.0))
    img.SetOrigin((-1.0, 2.0, -3.0))
    sitk.WriteImage(img, str(path_of("sitk/compressed.mha")), True)
    readme.append(("sitk/compressed.mha", "written by SimpleITK: float32, compressed, LOCAL"))
    reference("sitk/compressed.mha", expect=f32)
    u16 = as_volume(IDX * 311 + 7, np.uint16)
    img = sitk.GetImageFromArray(u16)
    img.SetDirection((-1, 0, 0, 0, -1, 0, 0, 0, 1))
    sitk.WriteImage(img, str(path_of("sitk/detached.mhd")))
    readme.append(("sitk/detached.mhd", "written by SimpleITK: uint16, LPI direction, .mhd + .raw"))
    reference("sitk/detached.mhd", expect=u16)
    i32 = as_volume(IDX * 10_000_019 - 1_000_000_000, np.int32)
    img = sitk.GetImageFromArray(i32)
    img.SetSpacing((0.9, 0.8, 0.7))
    sitk.WriteImage(img, str(path_of("sitk/detached_compressed.mhd")), True)
    readme.append(("sitk/detached_compressed.mhd", "written by SimpleITK: int32, .mhd + .zraw"))
    reference("sitk/detached_compressed.mhd", expect=i32)
    rgb = np.stack([IDX % 256, (IDX * 7) % 256, (IDX * 11) % 256], axis=-1).astype(np.uint8).reshape(5, 6, 7, 3)
    sitk.WriteImage(sitk.GetImageFromArray(rgb, isVector=True), str(path_of("sitk/vector.mha")))
    readme.append(("sitk/vector.mha", "written by SimpleITK: 3-channel uint8 vector image"))
    reference("sitk/vector.mha", 0, expect=rgb[..., 0])
    reference("sitk/vector.mha", 2, expect=rgb[..., 2])
    v4 = (np.arange(N * 2).reshape(2, 5, 6, 7) * 0.5 - 3).astype(np.float64)
    img = sitk.JoinSeries([sitk.GetImageFromArray(v4[t]) for t in range(2)])
    img.SetSpacing((0.5, 0.7, 1.3, 2.0))
    img.SetOrigin((1.0, 2.0, 3.0, 4.0))
    sitk.WriteImage(img, str(path_of("sitk/4d.mha")), True)
    readme.append(("sitk/4d.mha", "written by SimpleITK: 4-D float64, two volumes, compressed"))
    reference("sitk/4d.mha", 1, expect=v4[1])
    s2 = as_volume(IDX[:42] * 3, np.int16, dims=(7, 6))
    img = sitk.GetImageFromArray(s2)
    img.SetSpacing((0.3, 0.4))
    img.SetOrigin((5.0, 6.0))
    img.SetDirection((0.0, 1.0, 1.0, 0.0))
    sitk.WriteImage(img, str(path_of("sitk/2d.mha")))
    readme.append(("sitk/2d.mha", "written by SimpleITK: 2-D int16, axes swapped"))
    reference("sitk/2d.mha", expect=s2)


def rayseg_only_files():
    # SimpleITK 2.5.7 cannot read LOCAL compressed data without
    # CompressedDataSize (it inflates from the start of the file and returns
    # garbage). rayseg inflates to the end of the file; the reference is what
    # was written.
    vol = short_volume()
    write("rayseg_only/local_zlib_unsized.mha", header([("CompressedData", "True"), ("ElementType", "MET_SHORT")], "LOCAL"),
          zlib.compress(vol.tobytes()), "LOCAL zlib without CompressedDataSize: SimpleITK misreads it; reference from numpy")
    entries.append(
        {
            "path": "rayseg_only/local_zlib_unsized.mha",
            "reader": "numpy (what was written; SimpleITK 2.5.7 misreads this file)",
            "volume_index": 0,
            "shape": list(SHAPE),
            "volumes": 1,
            "ras_from_voxel": affine_ras(np.eye(3).ravel(), [1, 1, 1], [0, 0, 0], 3),
            "dtype": "int16",
            "modality": "unknown",
            "warnings": [],
            "values": json_values(vol.ravel()),
        }
    )


def bad_files():
    vol = short_volume()
    data = vol.tobytes()
    s = [("ElementType", "MET_SHORT")]
    write("bad/truncated.mha", header(s, "LOCAL"), data[:100])
    expect_error("bad/truncated.mha", "Truncated", "voxel data", "voxel data cut short (100 of 420 bytes)")
    path_of("bad/truncated.raw").write_bytes(data[:300])
    write("bad/truncated_raw.mhd", header(s, "truncated.raw"))
    expect_error("bad/truncated_raw.mhd", "Truncated", "truncated.raw", "detached .raw cut short")
    write("bad/huge_claim.mha", header(s, "LOCAL", dims=(10000, 10000, 10000)), data[:64])
    expect_error("bad/huge_claim.mha", "Truncated", "needs 2000000000", "DimSize claims 10^12 voxels, 64-byte body")
    write("bad/huge_claim_zlib.mha", header([("CompressedData", "True")] + s, "LOCAL", dims=(10000, 10000, 10000)),
          zlib.compress(data))
    expect_error("bad/huge_claim_zlib.mha", "BadHeader", "compressed bytes", "10^12 voxels claimed from a small zlib body")
    write("bad/unknown_type.mha", header([("ElementType", "MET_FOO")], "LOCAL"), data)
    expect_error("bad/unknown_type.mha", "Unsupported", "MET_FOO", "unknown ElementType")
    write("bad/array_type.mha", header([("ElementType", "MET_UCHAR_ARRAY")], "LOCAL"), data)
    expect_error("bad/array_type.mha", "Unsupported", "MET_UCHAR_ARRAY", "array ElementType")
    write("bad/ndims7.mha", header(s, "LOCAL", ndims=7, dims=(7, 6, 5, 1, 1, 1, 1)), data)
    expect_error("bad/ndims7.mha", "Unsupported", "NDims = 7", "NDims 7")
    z = bytearray(zlib.compress(data))
    z[10:20] = b"\xff" * 10
    try:
        zlib.decompress(bytes(z))
        raise AssertionError("corrupt_zlib must not inflate")
    except zlib.error:
        pass
    write("bad/corrupt_zlib.mha", header([("CompressedData", "True"), ("CompressedDataSize", len(z))] + s, "LOCAL"), bytes(z))
    expect_error("bad/corrupt_zlib.mha", "Corrupt", "compressed", "corrupt zlib stream")
    z = zlib.compress(data)[:60]
    write("bad/cut_zlib.mha", header([("CompressedData", "True"), ("CompressedDataSize", len(z))] + s, "LOCAL"), z)
    expect_error("bad/cut_zlib.mha", "Truncated", "420", "zlib stream cut short")
    write("bad/missing_data.mhd", header(s, "nothere.raw"))
    expect_error("bad/missing_data.mhd", "Io", "nothere.raw", "detached data file missing")
    write("bad/no_data_file.mha", "ObjectType = Image\nNDims = 3\nDimSize = 7 6 5\nElementType = MET_SHORT\n", data)
    expect_error("bad/no_data_file.mha", "BadHeader", "ElementDataFile", "no ElementDataFile line")
    write("bad/zero_dim.mha", header(s, "LOCAL", dims=(7, 0, 5)), data)
    expect_error("bad/zero_dim.mha", "BadHeader", "DimSize", "a zero size")
    write("bad/singular_matrix.mha", header([("TransformMatrix", "1 0 0 1 0 0 0 0 1")] + s, "LOCAL"), data)
    expect_error("bad/singular_matrix.mha", "BadHeader", "singular", "singular TransformMatrix")
    write("bad/short_spacing.mha", header([("ElementSpacing", "1 2")] + s, "LOCAL"), data)
    expect_error("bad/short_spacing.mha", "BadHeader", "ElementSpacing has 2", "two spacings for three axes")
    write("bad/zero_spacing.mha", header([("ElementSpacing", "1 0 2")] + s, "LOCAL"), data)
    expect_error("bad/zero_spacing.mha", "BadHeader", "zero", "a zero spacing")
    write("bad/list_short.mhd", header(s, "LIST") + "".join(f"../detached/slice_{k}.raw\n" for k in range(3)))
    expect_error("bad/list_short.mhd", "BadHeader", "LIST names 3", "LIST with 3 names for 5 slices")
    path_of("bad/short_slice.raw").write_bytes(data[:50])
    write("bad/list_short_slice.mhd", header(s, "LIST")
          + "".join(f"../detached/slice_{k}.raw\n" for k in range(2)) + "short_slice.raw\n"
          + "".join(f"../detached/slice_{k}.raw\n" for k in range(3, 5)))
    expect_error("bad/list_short_slice.mhd", "Truncated", "short_slice.raw", "one LIST slice file cut short")
    write("bad/text_data.mha", header([("BinaryData", "False")] + s, "LOCAL"), (" ".join(map(str, vol.ravel())) + "\n").encode())
    expect_error("bad/text_data.mha", "Unsupported", "BinaryData", "voxel values as text (SimpleITK reads it; rayseg refuses)")
    write("bad/channels_4d.mha", header([("ElementNumberOfChannels", 2)] + s, "LOCAL", ndims=4, dims=(7, 6, 5, 2)), data * 4)
    expect_error("bad/channels_4d.mha", "Unsupported", "channels", "channels and a 4th axis together")
    write("bad/end_compressed_unsized.mha", header([("CompressedData", "True"), ("HeaderSize", -1)] + s, "LOCAL"),
          zlib.compress(data))
    expect_error("bad/end_compressed_unsized.mha", "Unsupported", "HeaderSize = -1",
                 "HeaderSize -1 with compressed data of unknown size")


def write_readme():
    rows = "\n".join(f"| `{p}` | {w} |" for p, w in readme)
    text = f"""# MetaImage test files

Made by `make_metaimage_files.py` in this folder; no third-party data. The
headers are written by hand (so every key spelling, separator and line end is
exactly as listed), the voxel data with numpy, zlib and gzip, and the files
under `sitk/` by `SimpleITK.WriteImage`. Volumes are 7×6×5 (2-D: 7×6) with
distinct values, so an axis or byte-order mistake changes the values.

`reference.json` holds, for each good file (and, for 4-D and multi-channel
files, for more than one volume index), SimpleITK's reading converted to
rayseg's conventions: shape (i, j, k), number of volumes, `ras_from_voxel`
(row-major 4×4, voxel index to RAS mm: ITK's LPS affine with rows x and y
negated; 2-D images get a +z third axis of 1 mm), dtype after rayseg's 64-bit
narrowing, modality, expected warnings, and every voxel value of the selected
volume, i fastest. Under `bad`, each malformed file has the `LoadErrorKind` it
must give and a piece of its message. `tests/metaimage_reference.rs` checks
all of it.

Regenerate (rewrites every file here):

    python tests/data/metaimage/make_metaimage_files.py

| file | what it shows |
|---|---|
{rows}
"""
    (HERE / "README.md").write_text(text)


def main():
    for sub in ["types", "geometry", "syntax", "dims", "detached", "label", "modality", "sitk", "rayseg_only", "bad"]:
        shutil.rmtree(HERE / sub, ignore_errors=True)
    scalar_files()
    geometry_files()
    dims_files()
    detached_files()
    label_and_modality_files()
    sitk_files()
    rayseg_only_files()
    bad_files()
    ref = {
        "generator": "make_metaimage_files.py",
        "simpleitk": sitk.Version.VersionString(),
        "files": entries,
        "bad": bad,
    }
    # One entry per line keeps diffs readable and the file small.
    with open(HERE / "reference.json", "w") as f:
        f.write('{"generator": %s, "simpleitk": %s,\n"files": [\n' % (json.dumps(ref["generator"]), json.dumps(ref["simpleitk"])))
        f.write(",\n".join(json.dumps(e, separators=(",", ":")) for e in entries))
        f.write('\n],\n"bad": [\n')
        f.write(",\n".join(json.dumps(b) for b in bad))
        f.write("\n]}\n")
    write_readme()
    print(f"{len(entries)} reference entries, {len(bad)} bad files")


if __name__ == "__main__":
    main()
