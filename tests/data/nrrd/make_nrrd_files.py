#!/usr/bin/env python3
"""Writes the NRRD test files of this folder and reference.json.

Run with SimpleITK and numpy installed:  python make_nrrd_files.py

Headers are written by hand so every spelling is exactly the one under test;
voxel data comes from numpy (gzip/bz2 from the standard library). Each good
file is then read with SimpleITK and its reading, converted to rayseg's
conventions (RAS affine = ITK's LPS affine with rows x and y negated; values
i-fastest), is stored in reference.json. Where ITK cannot read a file
(bzip2, which ITK's NrrdIO lacks, or a header form teem refuses) SimpleITK
reads a "twin" instead: the same header and values in a form it accepts,
written to a temporary folder; the entry names the twin.
Nothing here is third-party data.
"""

import bz2
import gzip
import json
import os
import shutil
import tempfile

import numpy as np
import SimpleITK as sitk

HERE = os.path.dirname(os.path.abspath(__file__))
NI, NJ, NK = 7, 6, 5  # i fastest, as in the file
BASE = np.arange(NI * NJ * NK).reshape(NK, NJ, NI)  # distinct; index = i + 7 j + 42 k

# Per type: (NRRD spelling, numpy dtype, values). Extremes sit at two voxels
# so narrowing or sign mistakes show.
def typed_values(dtype):
    v = BASE.astype(np.float64)
    if dtype == "i1":
        out = v - 105
    elif dtype == "u1":
        out = v + 40
    elif dtype == "i2":
        out = v * 150 - 16000
        out.flat[0], out.flat[-1] = -32768, 32767
    elif dtype == "u2":
        out = v * 300 + 1
        out.flat[-1] = 65535
    elif dtype == "i4":
        out = v * 1000003 - 100000000
        out.flat[0], out.flat[-1] = -(2**31), 2**31 - 1
    elif dtype == "u4":
        out = v * 20000000 + 1
        out.flat[-1] = 2**32 - 1
    elif dtype == "i8":
        out = v - 100  # fits 32 bits: rayseg narrows to int32
    elif dtype == "i8big":
        return (BASE.astype(np.int64) * 2**33 - 2**40).astype("<i8")
    elif dtype == "u8":
        return (BASE.astype(np.uint64) * 2**33 + 5).astype("<u8")
    elif dtype == "f4":
        out = v * 0.25 - 20.5
    elif dtype == "f8":
        out = v * 0.125 - 7.0
    else:
        raise ValueError(dtype)
    return out.astype("<" + dtype)


def rayseg_type(arr):
    """The VoxelData type rayseg holds (64-bit integers narrowed)."""
    name = arr.dtype.name
    if name == "int64":
        return "int32" if arr.min() >= -(2**31) and arr.max() < 2**31 else "float64"
    if name == "uint64":
        return "uint32" if arr.max() < 2**32 else "float64"
    return name


def gz(data):
    return gzip.compress(data, mtime=0)  # no timestamp: regenerating gives the same bytes


def header(lines):
    return ("\n".join(lines) + "\n").encode()


def be(arr):
    return arr.astype(arr.dtype.newbyteorder(">")).tobytes()


OBLIQUE = "(0.9,0.3,0.1) (-0.2,1.1,0.25) (0.05,-0.3,2.4)"
ORIGIN = "(-12.5,30.25,7.75)"

entries = []
bad_entries = []
written = []


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    written.append(name)


def itk_reference(name, read_path, volume_indices=(0,), reader_note=None, expect=None):
    """Reads read_path with SimpleITK; one reference entry per volume index."""
    img = sitk.ReadImage(read_path)
    dim = img.GetDimension()
    comps = img.GetNumberOfComponentsPerPixel()
    d = np.array(img.GetDirection()).reshape(dim, dim)
    s = np.array(img.GetSpacing())
    o = np.array(img.GetOrigin())
    if dim == 2:  # a slice: ITK's 2-D geometry in the z = 0 plane, unit normal
        d3, s3, o3 = np.eye(3), np.ones(3), np.zeros(3)
        d3[:2, :2], s3[:2], o3[:2] = d, s, o
    else:
        d3, s3, o3 = d[:3, :3], s[:3], o[:3]
    lps = np.eye(4)
    lps[:3, :3] = d3 @ np.diag(s3)
    lps[:3, 3] = o3
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    arr = sitk.GetArrayFromImage(img)
    size = list(img.GetSize())
    if comps > 1:
        volumes = comps
        pick = lambda t: arr[..., t]
    elif dim == 4:
        volumes = size[3]
        pick = lambda t: arr[t]
    else:
        volumes = 1
        pick = lambda t: arr
    shape = (size[:3] + [1])[:3]
    for t in volume_indices:
        values = pick(t).ravel()  # C order of (k, j, i) = i fastest
        if expect is not None:
            want = expect(t).ravel()
            assert np.array_equal(values, want), f"{name}: ITK disagrees with the values written"
        entry = {
            "path": name,
            "reader": "SimpleITK " + sitk.Version.VersionString()
            + (f" ({reader_note})" if reader_note else ""),
            "shape": shape,
            "volumes": volumes,
            "volume_index": t,
            "ras_from_voxel": [[float(x) for x in row] for row in ras],
            "rayseg_type": rayseg_type(values),
            "values": [v.item() for v in values],
        }
        entries.append(entry)


def good(name, hdr_lines, data, volume_indices=(0,), expect=None, twin=None, note=None):
    """Writes a file (header + attached data) and its SimpleITK reference.
    twin: (header lines, data) for SimpleITK to read instead."""
    write(name, header(hdr_lines) + b"\n" + data)
    if twin is None:
        itk_reference(name, os.path.join(HERE, name), volume_indices, None, expect)
    else:
        path = os.path.join(TWINS, os.path.basename(name))
        with open(path, "wb") as f:
            f.write(header(twin[0]) + b"\n" + twin[1])
        itk_reference(name, path, volume_indices, note, expect)


def common(type_name, dim=3, sizes=f"{NI} {NJ} {NK}", encoding="raw", endian="little"):
    lines = ["NRRD0004", f"type: {type_name}", f"dimension: {dim}", f"sizes: {sizes}"]
    if endian:
        lines.append(f"endian: {endian}")
    lines.append(f"encoding: {encoding}")
    return lines


LPS_GEOMETRY = ["space: left-posterior-superior", f"space directions: {OBLIQUE}",
                f"space origin: {ORIGIN}"]

TWINS = tempfile.mkdtemp(prefix="nrrd_twins_")


def main():
    for f in os.listdir(HERE):
        if f.endswith((".nrrd", ".nhdr", ".raw", ".gz")) or f == "reference.json":
            os.remove(os.path.join(HERE, f))

    # --- every scalar type, raw little-endian, LPS oblique -------------------
    for fname, spelling, dt in [
        ("type_int8.nrrd", "signed char", "i1"),
        ("type_uint8.nrrd", "uchar", "u1"),
        ("type_int16.nrrd", "short", "i2"),
        ("type_uint16.nrrd", "unsigned short int", "u2"),
        ("type_int32.nrrd", "int", "i4"),
        ("type_uint32.nrrd", "uint32_t", "u4"),
        ("type_int64_small.nrrd", "long long int", "i8"),
        ("type_int64_big.nrrd", "int64", "i8big"),
        ("type_uint64_big.nrrd", "unsigned long long", "u8"),
        ("type_float.nrrd", "float", "f4"),
        ("type_double.nrrd", "double", "f8"),
    ]:
        a = typed_values(dt)
        good(fname, common(spelling) + LPS_GEOMETRY, a.tobytes(), expect=lambda t, a=a: a)

    # --- encodings and byte orders ------------------------------------------
    a = typed_values("i2")
    good("enc_gzip.nrrd", common("int16_t", encoding="gzip") + LPS_GEOMETRY,
         gz(a.tobytes()), expect=lambda t: a)
    f = typed_values("f4")
    good("enc_gz_big.nrrd", common("float", encoding="gz", endian="big") + LPS_GEOMETRY,
         gz(be(f)), expect=lambda t: f)
    u = typed_values("u2")
    good("enc_bzip2.nrrd", common("uint16", encoding="bzip2") + LPS_GEOMETRY,
         bz2.compress(u.tobytes()), expect=lambda t: u,
         twin=(common("uint16") + LPS_GEOMETRY, u.tobytes()),
         note="raw twin: ITK's NrrdIO has no bzip2")
    i4 = typed_values("i4")
    good("enc_bz2_big.nrrd", common("signed int", encoding="bz2", endian="big") + LPS_GEOMETRY,
         bz2.compress(be(i4)), expect=lambda t: i4,
         twin=(common("signed int", endian="big") + LPS_GEOMETRY, be(i4)),
         note="raw twin: ITK's NrrdIO has no bzip2")
    good("enc_raw_big.nrrd", common("int32", endian="big") + LPS_GEOMETRY, be(i4),
         expect=lambda t: i4)
    d8 = typed_values("f8")
    good("enc_raw_big_double.nrrd", common("double", endian="big") + LPS_GEOMETRY, be(d8),
         expect=lambda t: d8)
    text = "\n".join(" ".join(repr(float(x)) for x in row) for row in f.reshape(-1, NI))
    good("enc_ascii_float.nrrd", common("float", encoding="ascii", endian=None) + LPS_GEOMETRY,
         text.encode() + b"\n", expect=lambda t: f)
    text = ", ".join(str(int(x)) for x in a.ravel())
    good("enc_text_int16.nrrd", common("short int", encoding="text", endian=None) + LPS_GEOMETRY,
         text.encode() + b"\n", expect=lambda t: a)
    s8 = typed_values("i1")
    text = "\n".join(str(int(x)) for x in s8.ravel())
    good("enc_txt_int8.nrrd", common("int8_t", encoding="txt", endian=None) + LPS_GEOMETRY,
         text.encode() + b"\n", expect=lambda t: s8)
    hx = be(u).hex()
    hx = "\n".join(hx[i:i + 60] for i in range(0, len(hx), 60)).upper()
    good("enc_hex_big.nrrd", common("ushort", encoding="hex", endian="big") + LPS_GEOMETRY,
         hx.encode() + b"\n", expect=lambda t: u)

    # --- spaces (long and short names), geometry ----------------------------
    g = typed_values("i2")
    for fname, space in [
        ("space_lps_long.nrrd", "left-posterior-superior"),
        ("space_lps_short.nrrd", "LPS"),
        ("space_ras_long.nrrd", "right-anterior-superior"),
        ("space_ras_short.nrrd", "RAS"),
        ("space_las_long.nrrd", "left-anterior-superior"),
        ("space_las_short.nrrd", "LAS"),
        ("space_scanner_xyz.nrrd", "scanner-xyz"),
        ("space_3d_right_handed.nrrd", "3D-right-handed"),
        ("space_3d_left_handed.nrrd", "3D-left-handed"),
    ]:
        good(fname, common("short") + [f"space: {space}", f"space directions: {OBLIQUE}",
                                       f"space origin: {ORIGIN}"], g.tobytes(),
             expect=lambda t: g)
    good("space_dimension_only.nrrd",
         common("short") + ["space dimension: 3", f"space directions: {OBLIQUE}",
                            f"space origin: {ORIGIN}"], g.tobytes(), expect=lambda t: g)
    good("space_nonorthogonal.nrrd",
         common("short") + ["space: RAS", "space directions: (1,0,0) (0.5,1,0) (0,0.7,2)",
                            "space origin: (1,2,3)"], g.tobytes(), expect=lambda t: g)
    good("space_no_origin.nrrd",
         common("short") + ["space: RAS", f"space directions: {OBLIQUE}"], g.tobytes(),
         expect=lambda t: g)
    good("space_no_directions.nrrd",
         common("short") + ["space: right-anterior-superior", f"space origin: {ORIGIN}"],
         g.tobytes(), expect=lambda t: g)
    good("nospace_default.nrrd", common("short"), g.tobytes(), expect=lambda t: g)
    good("nospace_spacings.nrrd", common("short") + ["spacings: 0.8 1.25 3"], g.tobytes(),
         expect=lambda t: g)
    good("nospace_mins_maxs.nrrd",
         common("short") + ["axis mins: -10 5 100", "axis maxs: 4 17 115"], g.tobytes(),
         expect=lambda t: g)
    good("nospace_spacings_mins_centers.nrrd",
         common("short") + ["spacings: 0.8 -1.25 3", "axis mins: -10 5 100",
                            "centers: node cell ???"], g.tobytes(), expect=lambda t: g)

    # --- header styles --------------------------------------------------------
    styled = (["NRRD0005", "# Complete NRRD file format specification at:",
               "# http://teem.sourceforge.net/nrrd/format.html", "type: uint16",
               "dimension: 3", "space: left-posterior-superior", f"sizes: {NI} {NJ} {NK}",
               f"space directions: {OBLIQUE}", "kinds: domain domain domain",
               "labels: \"x\" \"y\" \"z\"", "space units: \"mm\" \"mm\" \"mm\"",
               "thicknesses: nan nan 2.5", "content: synthetic", "old min: 0", "old max: 1",
               "measurement frame: (1,0,0) (0,1,0) (0,0,1)", "endian: little",
               "encoding: raw", f"space origin: {ORIGIN}", "my key:=some: value"])
    write("style_crlf_comments.nrrd",
          "\r\n".join(styled).encode() + b"\r\n\r\n" + u.tobytes())
    itk_reference("style_crlf_comments.nrrd", os.path.join(HERE, "style_crlf_comments.nrrd"),
                  expect=lambda t: u)
    # Forms teem refuses and rayseg accepts: trailing spaces, no space after
    # the colon, field names in other case, an unknown field.
    tolerant = (["NRRD0004   ", "TYPE:uint16  ", "Dimension: 3", f"sizes:{NI} {NJ} {NK}  ",
                 "Endian: LITTLE", "encoding:  raw", "space:LPS", f"space directions:{OBLIQUE}",
                 f"space origin: {ORIGIN}  ", "my own field: 12"])
    good("style_tolerant.nrrd", tolerant, u.tobytes(), expect=lambda t: u,
         twin=(common("uint16") + LPS_GEOMETRY, u.tobytes()),
         note="canonical twin: teem refuses this header's spellings")

    # --- skips ------------------------------------------------------------------
    good("skip_lines_bytes.nrrd", common("short") + LPS_GEOMETRY + ["line skip: 2", "byte skip: 5"],
         b"first junk line\nsecond\nXXXXX" + g.tobytes(), expect=lambda t: g)
    good("skip_from_end.nrrd", common("short") + LPS_GEOMETRY + ["byte skip: -1"],
         b"padding before the data" + g.tobytes(), expect=lambda t: g)
    good("skip_gzip_decompressed.nrrd",
         common("short", encoding="gzip") + LPS_GEOMETRY + ["byte skip: 6"],
         gz(b"SKIPME" + g.tobytes()), expect=lambda t: g)

    # --- detached data ----------------------------------------------------------
    det = common("ushort") + LPS_GEOMETRY
    write("detached_raw.raw", u.tobytes())
    write("detached_raw.nhdr", header(det + ["data file: detached_raw.raw"]))
    itk_reference("detached_raw.nhdr", os.path.join(HERE, "detached_raw.nhdr"), expect=lambda t: u)
    write("detached_gz.raw.gz", gz(u.tobytes()))
    write("detached_gz.nhdr", header(common("ushort", encoding="gzip") + LPS_GEOMETRY
                                     + ["data file: ./detached_gz.raw.gz"]))
    itk_reference("detached_gz.nhdr", os.path.join(HERE, "detached_gz.nhdr"), expect=lambda t: u)
    names = [f"detached_list_{k}.raw" for k in range(NK)]
    for k, n in enumerate(names):
        write(n, u[k].tobytes())
    write("detached_list.nhdr", header(det + ["data file: LIST"] + names))
    itk_reference("detached_list.nhdr", os.path.join(HERE, "detached_list.nhdr"),
                  expect=lambda t: u)
    for k in range(NK):
        write(f"detached_pattern_{1 + 2 * k:03d}.raw", b"hdr line\nAB" + u[k].tobytes())
    write("detached_pattern.nhdr", header(det + ["line skip: 1", "byte skip: 2",
                                                 "data file: detached_pattern_%03d.raw 1 9 2"]))
    itk_reference("detached_pattern.nhdr", os.path.join(HERE, "detached_pattern.nhdr"),
                  expect=lambda t: u)
    write("detached_from_end.raw", b"a header of another format" + u.tobytes())
    write("detached_from_end.nhdr", header(det + ["byte skip: -1",
                                                  "data file: detached_from_end.raw"]))
    itk_reference("detached_from_end.nhdr", os.path.join(HERE, "detached_from_end.nhdr"),
                  expect=lambda t: u)

    # --- 2-D -----------------------------------------------------------------------
    s2 = typed_values("u1")[0]  # 7 x 6
    good("slice_2d_spacings.nrrd", common("uint8", 2, f"{NI} {NJ}", endian=None)
         + ["spacings: 0.5 0.75", "axis mins: 10 20"], s2.tobytes(), expect=lambda t: s2)
    good("slice_2d_space2.nrrd", common("uint8", 2, f"{NI} {NJ}", endian=None)
         + ["space dimension: 2", "space directions: (0.9,0.2) (-0.3,1.4)",
            "space origin: (4,-6)"], s2.tobytes(), expect=lambda t: s2)

    # --- 4-D: one non-spatial axis ---------------------------------------------------
    # Slicer .seg.nrrd: list axis first (interleaved layers), RAS, gzip.
    layers = np.stack([(BASE * (c + 2) + c) % 7 for c in range(3)], axis=-1).astype("u1")
    seg = (["NRRD0004", "# Complete NRRD file format specification at:",
            "# http://teem.sourceforge.net/nrrd/format.html", "type: unsigned char",
            "dimension: 4", "space: right-anterior-superior", f"sizes: 3 {NI} {NJ} {NK}",
            f"space directions: none {OBLIQUE}", "kinds: list domain domain domain",
            "encoding: gzip", f"space origin: {ORIGIN}", "measurement frame: (1,0,0) (0,1,0) (0,0,1)",
            "Segment0_Color:=0.5 0.68 0.5", "Segment0_ColorAutoGenerated:=1",
            "Segment0_Extent:=0 6 0 5 0 4", "Segment0_ID:=Segment_1", "Segment0_LabelValue:=1",
            "Segment0_Layer:=0", "Segment0_Name:=liver", "Segment0_NameAutoGenerated:=0",
            "Segment0_Tags:=Segmentation.Status:inprogress|TerminologyEntry:Segmentation category and type - 3D Slicer General Anatomy list~SCT^85756007^Tissue~SCT^85756007^Tissue~^^~Anatomic codes - DICOM master list~^^~^^|",
            "Segment1_ID:=Segment_2", "Segment1_Layer:=1", "Segment1_LabelValue:=1",
            "Segment2_ID:=Segment_3", "Segment2_Layer:=2", "Segment2_LabelValue:=1",
            "Segmentation_ContainedRepresentationNames:=Binary labelmap|Closed surface|",
            "Segmentation_ConversionParameters:=Collapse labelmaps|1|Merge the labelmaps into as few shared labelmaps as possible&Compute surface normals|1|Compute surface normals",
            "Segmentation_MasterRepresentation:=Binary labelmap",
            "Segmentation_ReferenceImageExtentOffset:=0 0 0"])
    good("seg_list_first.seg.nrrd", seg, gz(layers.tobytes()), volume_indices=(0, 2),
         expect=lambda t: layers[..., t])
    series = np.stack([typed_values("f4") + 1000 * t for t in range(4)]).astype("<f4")
    good("series_list_last.nrrd", common("float", 4, f"{NI} {NJ} {NK} 4")
         + ["space: LPS", "kinds: domain domain domain list", f"space directions: {OBLIQUE} none",
            f"space origin: {ORIGIN}"], series.tobytes(), volume_indices=(0, 3),
         expect=lambda t: series[t])
    good("series_rast_time.nrrd", common("float", 4, f"{NI} {NJ} {NK} 4")
         + ["space: right-anterior-superior-time", "kinds: domain domain domain time",
            "space directions: (0.9,0.3,0.1,0) (-0.2,1.1,0.25,0) (0.05,-0.3,2.4,0) (0,0,0,2.5)",
            "space origin: (-12.5,30.25,7.75,0)"], series.tobytes(), volume_indices=(0, 2),
         expect=lambda t: series[t])
    good("series_unmarked_nospace.nrrd", common("float", 4, f"{NI} {NJ} {NK} 4")
         + ["spacings: 1.5 2 2.5 nan"], series.tobytes(), volume_indices=(1, 3),
         expect=lambda t: series[t])
    # `none` alone marks the list axis; teem wants kinds too, so ITK reads a twin.
    vec_mid = np.stack([g + 7 * c for c in range(2)], axis=1).astype("<i2")  # (k, c, j, i)
    good("vector_axis_by_none_only.nrrd", common("short", 4, f"{NI} {NJ} 2 {NK}")
         + ["space: LPS", "space directions: (0.9,0.3,0.1) (-0.2,1.1,0.25) none (0.05,-0.3,2.4)",
            f"space origin: {ORIGIN}"], vec_mid.tobytes(), volume_indices=(0, 1),
         expect=lambda t: vec_mid[:, t],
         twin=(common("short", 4, f"{NI} {NJ} 2 {NK}") + ["space: LPS", "kinds: domain domain vector domain",
               "space directions: (0.9,0.3,0.1) (-0.2,1.1,0.25) none (0.05,-0.3,2.4)",
               f"space origin: {ORIGIN}"], vec_mid.tobytes()),
         note="twin with kinds: teem needs kinds for a none direction")

    # --- Slicer-style label map ----------------------------------------------------------
    labels = ((BASE // 9) % 6).astype("<i2")
    slicer = (["NRRD0004", "# Complete NRRD file format specification at:",
               "# http://teem.sourceforge.net/nrrd/format.html", "type: short", "dimension: 3",
               "space: left-posterior-superior", f"sizes: {NI} {NJ} {NK}",
               "space directions: (-0.9375,0,0) (0,-0.9375,0) (0,0,2.5)",
               "kinds: domain domain domain", "endian: little", "encoding: gzip",
               "space origin: (119.53125,119.53125,-60)"])
    good("labelmap_slicer.nrrd", slicer, gz(labels.tobytes()), expect=lambda t: labels)

    # --- bad files: the error kind rayseg must give, and a word of its message -----------
    def bad(name, data, kind, needle):
        write(name, data)
        bad_entries.append({"path": name, "kind": kind, "message_contains": needle})

    full = header(common("short") + LPS_GEOMETRY) + b"\n" + g.tobytes()
    bad("bad_truncated.nrrd", full[: len(full) - 100], "Truncated", "truncated")
    gz_head = header(common("short", encoding="gzip") + LPS_GEOMETRY) + b"\n"
    bad("bad_truncated_gzip.nrrd", gz_head + gz(g.tobytes())[:200], "Truncated", "truncated")
    bad("bad_huge_claim.nrrd", header(common("float", sizes="10000 10000 10000")) + b"\n"
        + b"\0" * 64, "Truncated", "truncated")
    bad("bad_huge_claim_gzip.nrrd", header(common("float", sizes="10000 10000 10000",
                                                  encoding="gzip")) + b"\n"
        + gz(b"\0" * 64), "BadHeader", "compressed")
    bad("bad_type.nrrd", header(common("quaternion")) + b"\n" + g.tobytes(), "BadHeader",
        "quaternion")
    bad("bad_type_block.nrrd", header(common("block") + ["block size: 4"]) + b"\n" + g.tobytes(),
        "Unsupported", "block")
    bad("bad_dimension_1.nrrd", header(common("short", 1, "210")) + b"\n" + g.tobytes(),
        "Unsupported", "1-dimensional")
    bad("bad_dimension_5.nrrd", header(common("uchar", 5, "7 6 5 1 1", endian=None)) + b"\n"
        + g.tobytes(), "Unsupported", "5-dimensional")
    bad("bad_dimension_mismatch.nrrd", header(common("short", 3, "7 6")) + b"\n" + g.tobytes(),
        "BadHeader", "sizes")
    bad("bad_two_list_axes.nrrd", header(common("uchar", 4, "2 7 6 5", endian=None)
                                         + ["kinds: list domain domain vector"]) + b"\n"
        + b"\0" * 420, "Unsupported", "non-spatial")
    bad("bad_no_endian.nrrd", header(common("short", endian=None)) + b"\n" + g.tobytes(),
        "BadHeader", "endian")
    bad("bad_not_nrrd.nrrd", b"P5\n7 6\n255\n" + b"\0" * 42, "NotRecognised", "magic")
    bad("bad_list_count.nhdr", header(det + ["data file: LIST", "detached_list_0.raw"]),
        "BadHeader", "LIST")
    bad("bad_missing_data_file.nhdr", header(det + ["data file: no_such_file.raw"]), "Io",
        "no_such_file.raw")
    bad("bad_degenerate_directions.nrrd", header(common("short") + [
        "space: RAS", "space directions: (1,0,0) (2,0,0) (0,0,1)"]) + b"\n" + g.tobytes(),
        "BadHeader", "degenerate")

    with open(os.path.join(HERE, "reference.json"), "w") as f:
        json.dump({"generator": "make_nrrd_files.py", "files": entries, "bad": bad_entries},
                  f, separators=(",", ":"))
        f.write("\n")
    shutil.rmtree(TWINS)
    print(f"{len(written)} files, {len(entries)} reference entries, {len(bad_entries)} bad files")


if __name__ == "__main__":
    main()
