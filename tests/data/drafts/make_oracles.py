"""Writes the AI-draft fixtures of tests/resample_drafts.rs and their oracles.

Run from the repository root (numpy, nibabel and SimpleITK needed; test-data
tools only, never runtime dependencies):

    python tests/data/drafts/make_oracles.py

Geometry: a small oblique image grid and label-map "drafts" on other grids
(2x coarser, rotated with a flipped axis, a smaller shifted field of view,
the image grid itself, one far away, one holding probabilities). Every file is written with nibabel
(sform and qform both set, code 1). The oracle of each draft is what
SimpleITK 2.x gives for

    sitk.Resample(draft, image, sitk.Transform(), sitk.sitkNearestNeighbor, 0)

with both read back from the written files, so the oracle sees the geometry
as stored (float32). ITK rounds exact half-voxel ties up, as rayseg does, but
floating-point noise can tip a tie either way, so each draft's origin is
chosen (from a fixed list) so that no image voxel centre lies within 1e-4
voxel of a draft cell boundary where the two sides hold different labels.

Also written: a TotalSegmentator-style multilabel NIfTI (label table in a
NIfTI-1 header extension, code 0, "CaretExtension" XML as TotalSegmentator
>= 2 writes for --ml outputs), an nnU-Net v2 layout (dataset.json above
labelsTr/) and an ITK-SNAP label description file beside a label map.
"""

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import SimpleITK as sitk

HERE = Path(__file__).resolve().parent
MARGIN_VOXELS = 1e-4


def rotation(axis, degrees):
    axis = np.asarray(axis, float)
    axis /= np.linalg.norm(axis)
    a = np.radians(degrees)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * k @ k


def affine(directions, spacing, origin):
    m = np.eye(4)
    m[:3, :3] = directions @ np.diag(spacing)
    m[:3, 3] = origin
    return m


def save(data, aff, path):
    img = nib.Nifti1Image(np.asarray(data), aff)
    img.set_sform(aff, code=1)
    img.set_qform(aff, code=1)
    nib.save(img, str(path))
    return nib.load(str(path)).affine  # as stored (float32 sform)


# Image: 40x36x24, 0.8x0.75x1.5 mm, turned 10 degrees about z.
IMAGE_SHAPE = (40, 36, 24)
IMAGE_DIRS = rotation([0, 0, 1], 10)
IMAGE_AFFINE = affine(IMAGE_DIRS, [0.8, 0.75, 1.5], [-20.0, -15.0, -10.0])


def anatomy(world):
    """Labels of points (N x 3, RAS mm): a few overlapping ellipsoids."""
    centre = (IMAGE_AFFINE @ np.array([20, 18, 12, 1.0]))[:3]
    p = world - centre
    out = np.zeros(len(p), np.uint8)
    blobs = [  # (label, centre offset mm, semi-axes mm)
        (1, [0, 0, 0], [13, 10, 14]),
        (2, [-5, 3, 2], [5, 4, 7]),
        (3, [6, -2, -5], [3, 6, 4]),
        (4, [2, 7, 6], [2.5, 2.5, 3]),
        (7, [-8, -6, -9], [4, 2, 5]),
    ]
    for label, c, r in blobs:
        d = ((p - c) / r) ** 2
        out[d.sum(axis=1) <= 1] = label
    return out


def draft_data(shape, aff):
    ijk = np.indices(shape).reshape(3, -1).T  # i slowest here; reordered below
    world = (aff[:3, :3] @ ijk.T).T + aff[:3, 3]
    return anatomy(world).reshape(shape)


def image_centres():
    ijk = np.indices(IMAGE_SHAPE).reshape(3, -1).T
    return ijk, (IMAGE_AFFINE[:3, :3] @ ijk.T).T + IMAGE_AFFINE[:3, 3]


def tie_conflicts(shape, aff, data, image_aff):
    """Image voxel centres within MARGIN of a draft cell boundary whose two
    sides read differently (labels, or inside/outside with a label)."""
    ijk = np.indices(IMAGE_SHAPE).reshape(3, -1).T
    world = (image_aff[:3, :3] @ ijk.T).T + image_aff[:3, 3]
    q = (np.linalg.inv(aff) @ np.c_[world, np.ones(len(world))].T).T[:, :3]
    shape = np.array(shape)

    def read(idx):
        inside = np.all((idx >= 0) & (idx < shape), axis=1)
        out = np.zeros(len(idx), np.uint8)
        ii = idx[inside]
        out[inside] = data[ii[:, 0], ii[:, 1], ii[:, 2]]
        return out

    conflicts = 0
    base = np.floor(q + 0.5).astype(int)
    for a in range(3):
        frac = (q[:, a] + 0.5) - np.floor(q[:, a] + 0.5)
        near = np.minimum(frac, 1 - frac) < MARGIN_VOXELS
        if not near.any():
            continue
        other = base.copy()
        other[:, a] += np.where(frac < 0.5, -1, 1)
        conflicts += int(np.sum(near & (read(base) != read(other))))
    return conflicts


def write_draft(name, shape, dirs, spacing, origins):
    """Writes the first origin whose geometry has no label-changing near-ties."""
    image_aff = nib.load(str(HERE / "image.nii.gz")).affine
    for origin in origins:
        aff = affine(dirs, spacing, origin)
        data = draft_data(shape, aff)
        path = HERE / f"{name}.nii.gz"
        stored = save(data, aff, path)
        if tie_conflicts(shape, stored, data, image_aff) == 0:
            assert np.any(data), name
            print(name, "origin", np.round(origin, 4).tolist())
            return path
    raise SystemExit(f"{name}: every origin tried has near-ties")


def oracle(draft_path, out_name):
    image = sitk.ReadImage(str(HERE / "image.nii.gz"))
    draft = sitk.ReadImage(str(draft_path))
    out = sitk.Resample(draft, image, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    out = sitk.Cast(out, sitk.sitkUInt8)
    sitk.WriteImage(out, str(HERE / out_name), useCompression=True)
    arr = sitk.GetArrayFromImage(out)
    assert arr.any(), out_name
    # The rule written out in numpy agrees with ITK here (a check of the
    # geometry choice, not an oracle: the oracle is ITK's output above).
    d = nib.load(str(draft_path))
    image_aff = nib.load(str(HERE / "image.nii.gz")).affine
    ijk = np.indices(IMAGE_SHAPE).reshape(3, -1).T
    world = (image_aff[:3, :3] @ ijk.T).T + image_aff[:3, 3]
    q = (np.linalg.inv(d.affine) @ np.c_[world, np.ones(len(world))].T).T[:, :3]
    idx = np.floor(q + 0.5).astype(int)
    inside = np.all((idx >= 0) & (idx < np.array(d.shape)), axis=1)
    rule = np.zeros(len(idx), np.uint8)
    ii = idx[inside]
    rule[inside] = np.asarray(d.dataobj)[ii[:, 0], ii[:, 1], ii[:, 2]]
    differ = int(np.sum(rule.reshape(IMAGE_SHAPE) != arr.transpose(2, 1, 0)))
    assert differ == 0, f"{out_name}: ITK and floor(q + 0.5) differ at {differ} voxels"
    return arr


def main():
    save(np.zeros(IMAGE_SHAPE, np.uint8), IMAGE_AFFINE, HERE / "image.nii.gz")
    centre = (IMAGE_AFFINE @ np.array([19.5, 17.5, 11.5, 1.0]))[:3]
    jitter = [np.array(j) for j in ([0.31, -0.23, 0.17], [0.13, 0.41, -0.29], [-0.37, 0.07, 0.43],
                                    [0.21, 0.33, 0.11], [-0.17, -0.41, 0.37])]

    # 2x coarser, same directions, origin off the image lattice.
    o = IMAGE_AFFINE[:3, 3]
    coarse = write_draft("coarse", (21, 19, 13), IMAGE_DIRS, [1.6, 1.5, 3.0],
                         [o + IMAGE_DIRS @ j for j in jitter])
    # Rotated 25 degrees about an oblique axis, i flipped (negative
    # determinant), other spacing, centred on the image.
    dirs = rotation([1, 2, 3], 25) @ IMAGE_DIRS @ np.diag([-1, 1, 1])
    spacing = np.array([1.1, 1.3, 2.0])
    shape = (30, 26, 18)
    half = dirs @ (spacing * (np.array(shape) - 1) / 2)
    oblique = write_draft("oblique", shape, dirs, spacing, [centre - half + j for j in jitter])
    # A smaller field of view: 1x1x2 mm, a 14x12x8 box inside the image.
    small_fov = write_draft("small_fov", (14, 12, 8), IMAGE_DIRS, [1.0, 1.0, 2.0],
                            [o + IMAGE_DIRS @ (np.array([9.0, 6.0, 4.0]) + j) for j in jitter])
    # The image grid itself: resampling is the identity.
    ijk, world = image_centres()
    same = anatomy(world).reshape(IMAGE_SHAPE)
    save(same, IMAGE_AFFINE, HERE / "same.nii.gz")
    # Far from the image: no overlap.
    save(np.ones((4, 4, 4), np.uint8), affine(IMAGE_DIRS, [1, 1, 1], o + [500, 0, 0]),
         HERE / "outside.nii.gz")
    # Probabilities, not labels, on another grid: still an error.
    probabilities = np.zeros((2, 2, 2), np.float32)
    probabilities[1, 0, 0] = 0.5
    save(probabilities, affine(IMAGE_DIRS, [3, 3, 3], o), HERE / "not_labels.nii.gz")

    for draft, name in [(coarse, "coarse"), (oblique, "oblique"), (small_fov, "small_fov"),
                        (HERE / "same.nii.gz", "same")]:
        arr = oracle(draft, f"{name}.oracle.nii.gz")
        print(name, "labelled oracle voxels:", int((arr > 0).sum()))
    same_oracle = sitk.GetArrayFromImage(sitk.ReadImage(str(HERE / "same.oracle.nii.gz")))
    assert np.array_equal(same_oracle.transpose(2, 1, 0), same)

    write_names_fixtures()


def write_names_fixtures():
    """TotalSegmentator, nnU-Net and ITK-SNAP names beside small label maps."""
    data = np.zeros((6, 5, 4), np.uint8)
    data[1:3, 1:4, 0:2] = 1
    data[3:5, 0:2, 1:3] = 2
    data[5, 4, 3] = 5
    aff = affine(np.eye(3), [1.5, 1.5, 2.0], [-4.0, -3.0, -2.0])

    # TotalSegmentator: a CaretExtension label table in extension code 0.
    names = {1: "spleen", 2: "kidney_right", 3: "gallbladder", 5: "liver & more"}
    colours = {1: (255, 0, 0), 2: (0, 255, 0), 3: (0, 0, 255), 5: (255, 128, 0)}
    rows = "".join(
        f'<Label Key="{k}" Red="{colours[k][0] / 255}" Green="{colours[k][1] / 255}" '
        f'Blue="{colours[k][2] / 255}" Alpha="1"><![CDATA[{v}]]></Label>\n'
        for k, v in names.items()
    )
    xml = ('<?xml version="1.0" encoding="UTF-8"?> <CaretExtension>  '
           '<Date><![CDATA[2013-07-14T05:45:09]]></Date>   <VolumeInformation Index="0">   '
           '<LabelTable>\n' + rows + '\n  </LabelTable>  <StudyMetaDataLinkSet>  '
           '</StudyMetaDataLinkSet>  <VolumeType><![CDATA[Label]]></VolumeType>   '
           '</VolumeInformation></CaretExtension>\n              ')
    img = nib.Nifti1Image(data, aff)
    img.set_sform(aff, code=1)
    img.set_qform(aff, code=1)
    img.header.extensions.append(nib.nifti1.Nifti1Extension(0, xml.encode("utf-8")))
    (HERE / "totalseg").mkdir(exist_ok=True)
    nib.save(img, str(HERE / "totalseg" / "ct_ml.nii.gz"))
    back = nib.load(str(HERE / "totalseg" / "ct_ml.nii.gz"))
    assert back.header.extensions[0].get_code() == 0

    # nnU-Net v2: Dataset042_Toy/{dataset.json, labelsTr/toy_001.nii.gz}.
    ds = HERE / "nnunet" / "Dataset042_Toy"
    (ds / "labelsTr").mkdir(parents=True, exist_ok=True)
    save(data, aff, ds / "labelsTr" / "toy_001.nii.gz")
    dataset = {
        "channel_names": {"0": "CT"},
        "labels": {"background": 0, "liver": 1, "liver_tumour": 2, "portal_vein": 5},
        "numTraining": 1,
        "file_ending": ".nii.gz",
    }
    (ds / "dataset.json").write_text(json.dumps(dataset, indent=4) + "\n")

    # ITK-SNAP: case.nii.gz and case.label.txt as ITK-SNAP exports them.
    (HERE / "itksnap").mkdir(exist_ok=True)
    save(data, aff, HERE / "itksnap" / "case.nii.gz")
    lines = [
        "################################################",
        "# ITK-SnAP Label Description File",
        "# File format: ",
        "# IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL",
        "# Fields: ",
        "#    IDX:   Zero-based index ",
        "#    -R-:   Red color component (0..255)",
        "#    -G-:   Green color component (0..255)",
        "#    -B-:   Blue color component (0..255)",
        "#    -A-:   Label transparency (0.00 .. 1.00)",
        "#    VIS:   Label visibility (0 or 1)",
        "#    MSH:   Label mesh visibility (0 or 1)",
        "#  LABEL:   Label description ",
        "################################################",
        '    0     0    0    0        0  0  0    "Clear Label"',
        '    1   255    0    0        1  1  1    "Left ventricle"',
        '    2     0  255    0        1  1  1    "Myocardium"',
        '    5    70  130  180      0.6  1  0    "Right ventricle"',
    ]
    (HERE / "itksnap" / "case.label.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
