"""rayseg for Python: read CT/MR volumes and label maps, measure, compare and
edit segmentations with the engine of the ``rayseg`` command line.

Conventions are nibabel's: a volume is an array of shape (I, J, K) in
Fortran order (i fastest, as nibabel's ``get_fdata``) with a 4x4 float64
``affine`` mapping voxel indices (i, j, k, 1) to RAS+ millimetres, exactly
the ``ras_from_voxel`` of ``rayseg info --json``. Image values are the
stored values after rescaling (HU for CT), in the dtype the library keeps
them in: the file's integer type when no scaling applies, float64 when a
non-integer slope or intercept does. Label maps are uint8 arrays on the same
grid.

Every function calls the same library code as the CLI subcommand of the same
name; dicts and lists carry the field names of that subcommand's ``--json``
output. ``grow`` runs on the GPU when ``device="auto"`` finds a usable
adapter (chosen as the CLI chooses: ``RAYSEG_ADAPTER``, ``WGPU_BACKEND``),
else on the CPU reference; both give the same region.
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np

from . import _arrays
from . import _rayseg
from ._rayseg import RaysegError, __version__

__all__ = [
    "RaysegError", "RaysegWarning", "__version__", "load", "info", "load_labels",
    "save_labels", "stats", "compare", "grow", "seeds", "interpolate", "islands",
    "margin", "hollow", "smooth", "fill_holes", "logical", "threshold_mask", "edit",
    "gpu_available", "gpu_adapter",
]


class RaysegWarning(UserWarning):
    """What the engine warns about (a seed that grows nothing, a resampled map)."""


def _warn(messages) -> None:
    for m in messages:
        warnings.warn(m, RaysegWarning, stacklevel=3)


def load(path, volume: int = 0, series: str | None = None):
    """Reads an image (NIfTI, NRRD, MetaImage, a DICOM file or series folder).

    Returns ``(array, affine)``: the scaled values (HU for CT) of shape
    (I, J, K) in their stored dtype, and the 4x4 RAS-from-voxel matrix.
    ``volume`` picks a volume of a 4-D file, ``series`` a SeriesInstanceUID of
    a folder holding several.
    """
    values, shape, affine = _rayseg.load(os.fspath(path), volume, series)
    return _arrays.grid(values, shape), np.array(affine, dtype=np.float64)


def info(path, volume: int = 0, series: str | None = None) -> dict:
    """``rayseg info --json``: shape, spacing, matrix, value range, warnings."""
    return json.loads(_rayseg.info(os.fspath(path), volume, series))


def load_labels(path, like=None, names: bool = False):
    """Reads a label map: on its own grid (``like`` None, as ``compare``
    reads maps), or onto the grid of ``like = (image, affine)`` (as ``stats``
    reads a mask onto its image; resampled by nearest neighbour when the
    grids differ, with a warning).

    Returns ``(labels, affine)``, or ``(labels, affine, names)`` with
    ``names=True`` (``{value: name}`` from the sidecar or the file).
    """
    grid = None
    if like is not None:
        image, affine = like
        values, shape = _arrays.image(image)
        grid = (values, shape, _arrays.affine_rows(affine))
    values, shape, affine, label_names, messages = _rayseg.load_labels(os.fspath(path), grid)
    _warn(messages)
    out = (_arrays.grid(values, shape), np.array(affine, dtype=np.float64))
    return out + (dict(label_names),) if names else out


def save_labels(path, labels, affine, names: dict | None = None, format: str | None = None,
                overwrite: bool = False) -> list:
    """Writes a label map atomically: ``.nii``/``.nii.gz``, ``.nrrd``, ``.mha``
    (each with a ``.labels.json`` sidecar holding ``names``) or ``.seg.nrrd``
    (by extension unless ``format`` names one). An existing file is kept
    unless ``overwrite``. Returns the paths written."""
    flat, shape = _arrays.labels(labels)
    written = _rayseg.save_labels(os.fspath(path), flat, shape, _arrays.affine_rows(affine),
                                  sorted((names or {}).items()), format, overwrite)
    return [os.fspath(p) for p in written]


def _names(names):
    return None if names is None else sorted((int(k), str(v)) for k, v in names.items())


def stats(image, affine, labels, names: dict | None = None) -> list:
    """``rayseg stats --json``: per label present, voxels, volume_ml, mean,
    sd (ddof 0), min, max, boxes, centroid, max diameter and RECIST axes."""
    values, shape = _arrays.image(image)
    flat, _ = _arrays.labels(labels, shape)
    return json.loads(_rayseg.stats(values, shape, _arrays.affine_rows(affine), flat,
                                    _names(names)))


def compare(a, b, affine, label: int | None = None, tolerance_mm: float | None = None,
            names: dict | None = None) -> dict:
    """``rayseg compare --json`` (without ``files`` and ``method``): Dice,
    Jaccard, volumes, Hausdorff, HD95, ASSD and surface Dice per label, with
    ``a`` the reference; both maps on one grid."""
    fa, shape = _arrays.labels(a, what="a")
    fb, _ = _arrays.labels(b, shape, what="b")
    return json.loads(_rayseg.compare(fa, fb, shape, _arrays.affine_rows(affine), label,
                                      tolerance_mm, _names(names)))


def _triples(points, what: str) -> list:
    if points is None:
        return []
    p = np.asarray(points, dtype=np.float64)
    if p.ndim == 1:
        p = p[None, :]
    if p.ndim != 2 or p.shape[1] != 3:
        raise ValueError(f"{what} must be one (i, j, k) / (x, y, z) triple or a list of them")
    return p.tolist()


def _device(device: str) -> str:
    if device not in ("auto", "gpu", "cpu"):
        raise ValueError(f'device {device!r}: one of "auto", "gpu", "cpu"')
    return device


def grow(image, affine, seeds=None, lower: float = None, upper: float = None, *,
         seeds_mm=None, connectivity: int = 6, max_distance_mm: float | None = None,
         label: int = 1, labels=None, locked=(), device: str = "auto",
         return_info: bool = False):
    """``rayseg grow``: the region connected to the seed voxels (``seeds``,
    (i, j, k) indices, and/or ``seeds_mm``, RAS points) whose values lie in
    [lower, upper] (inclusive, scaled values), written as ``label`` into
    ``labels`` (default: an empty map); ``locked`` labels are neither grown
    over nor overwritten. Returns the new uint8 map, and with ``return_info``
    also a dict: voxels, device ("gpu"/"cpu"), adapter, seed_used, warnings."""
    if lower is None or upper is None:
        raise ValueError("grow needs lower and upper bounds")
    values, shape = _arrays.image(image)
    ijk = _triples(seeds, "seeds")
    if any(float(x) != int(x) for s in ijk for x in s):
        raise ValueError("seeds are integer voxel indices (use seeds_mm for RAS points)")
    start = None if labels is None else _arrays.labels(labels, shape)[0]
    out, report = _rayseg.grow(
        values, shape, _arrays.affine_rows(affine), [[int(x) for x in s] for s in ijk],
        _triples(seeds_mm, "seeds_mm"), float(lower), float(upper), int(connectivity),
        max_distance_mm, int(label), start, [int(x) for x in locked], _device(device))
    report = json.loads(report)
    _warn(report["warnings"])
    result = _arrays.grid(out, shape)
    return (result, report) if return_info else result


def _apply(labels, affine, ops, image=None, map_=None, shape=None):
    flat, shape = _arrays.labels(labels, shape)
    values = None
    if image is not None:
        values, image_shape = _arrays.image(image)
        if image_shape != shape:
            raise ValueError(f"image has shape {image_shape}, the labels {shape}")
    extra = None if map_ is None else _arrays.labels(map_, shape, what="map")[0]
    ops = [{k: v for k, v in op.items() if v is not None} for op in ops]
    out, report = _rayseg.apply_ops(flat, shape, _arrays.affine_rows(affine), json.dumps(ops),
                                    values, extra)
    for r in json.loads(report):
        _warn(r["warnings"])
    return _arrays.grid(out, shape)


def edit(labels, affine, ops, image=None):
    """``rayseg edit --script``: applies a list of script ops (dicts such as
    ``{"op": "brush", "label": 1, "points_mm": [[x, y, z]], "radius_mm": 5}``)
    in order and returns the new map. ``image`` is needed by ops that read
    values (grow, seeds, threshold_mask, brush with bounds); file paths in
    ops are read as the CLI reads them."""
    return _apply(labels, affine, list(ops), image)


def seeds(image, affine, seeds, labels=None, roi_margin_mm: float = 15.0,
          background: int | None = None, smoothing_mm: float | None = None,
          overwrite: str = "all"):
    """``rayseg seeds``: every non-zero label of ``seeds`` (a map on the
    image grid) competes for the voxels of the seeds' box grown by
    ``roi_margin_mm``; ``background`` competes but is removed. Starts from
    ``labels`` (default: the seeds map itself)."""
    start = seeds if labels is None else labels
    op = {"op": "seeds", "seeds": "<map>", "roi_margin_mm": roi_margin_mm,
          "smoothing_mm": smoothing_mm, "background": background, "overwrite": overwrite}
    return _apply(start, affine, [op], image, map_=seeds, shape=np.shape(image))


def interpolate(labels, affine, label: int, axis: str | None = None, overwrite: str = "all"):
    """``rayseg interpolate``: fills ``label`` between the slices it was drawn
    on (``axis`` "i", "j" or "k"; detected when None)."""
    return _apply(labels, affine, [{"op": "interpolate", "label": label, "axis": axis,
                                    "overwrite": overwrite}])


def islands(labels, affine, label: int, keep_largest: bool = False,
            min_voxels: int | None = None, split: bool = False, connectivity: int = 6):
    """``rayseg islands``: keep the largest island, remove those smaller than
    ``min_voxels``, or ``split`` every island but the largest into new labels."""
    return _apply(labels, affine, [{"op": "islands", "label": label, "keep_largest": keep_largest,
                                    "min_voxels": min_voxels, "split": split,
                                    "connectivity": connectivity}])


def margin(labels, affine, label: int, mm: float, overwrite: str = "all"):
    """``rayseg margin``: grows (mm > 0) or shrinks (mm < 0) ``label`` by an
    exact Euclidean distance."""
    return _apply(labels, affine, [{"op": "margin", "label": label, "mm": mm,
                                    "overwrite": overwrite}])


def hollow(labels, affine, label: int, mm: float, shell: str = "inside", overwrite: str = "all"):
    """``rayseg hollow``: replaces ``label`` by a shell ``mm`` thick lying
    "inside", "outside" or "centred" on its surface."""
    return _apply(labels, affine, [{"op": "hollow", "label": label, "mm": mm, "shell": shell,
                                    "overwrite": overwrite}])


def smooth(labels, affine, label: int, median_mm: float | None = None,
           opening_mm: float | None = None, closing_mm: float | None = None,
           gaussian_mm: float | None = None, overwrite: str = "all"):
    """``rayseg smooth``: exactly one of a median, opening, closing (radius in
    mm) or Gaussian (sigma in mm, thresholded at one half)."""
    return _apply(labels, affine, [{"op": "smooth", "label": label, "median_mm": median_mm,
                                    "opening_mm": opening_mm, "closing_mm": closing_mm,
                                    "gaussian_mm": gaussian_mm, "overwrite": overwrite}])


def fill_holes(labels, affine, label: int, slice_wise: bool = False, axis: str = "k",
               overwrite: str = "all"):
    """``rayseg fill-holes``: fills background pockets enclosed by ``label``,
    in 3-D or per slice across ``axis``."""
    return _apply(labels, affine, [{"op": "fill_holes", "label": label,
                                    "slice_wise": axis if slice_wise else None,
                                    "overwrite": overwrite}])


def logical(labels, affine, op: str, label: int, with_label: int | None = None,
            with_map=None, overwrite: str = "all"):
    """``rayseg logical``: ``op`` one of union, subtract, intersect, invert,
    clear, copy; ``with_label`` the other label, read from ``with_map`` (another
    map on the grid) when given, else from ``labels``."""
    spec = {"op": "logical", "operation": op, "label": label, "with": with_label,
            "with_map": None if with_map is None else "<map>", "overwrite": overwrite}
    return _apply(labels, affine, [spec], map_=with_map)


def threshold_mask(labels, affine, image, label: int, lower: float, upper: float):
    """``rayseg threshold-mask``: keeps only the voxels of ``label`` whose
    image value lies in [lower, upper]."""
    return _apply(labels, affine, [{"op": "threshold_mask", "label": label, "lower": lower,
                                    "upper": upper}], image)


def gpu_available() -> bool:
    """Whether a GPU adapter passed rayseg's self-check (started on first use)."""
    return _rayseg.gpu_info()[0]


def gpu_adapter() -> str | None:
    """The GPU adapter ``grow`` uses (name, backend, type, driver), or None."""
    ok, text = _rayseg.gpu_info()
    return text if ok else None
