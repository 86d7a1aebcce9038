"""NumPy arrays to what the native module takes: 1-D arrays in Fortran order
(i fastest, the library's layout) of a dtype the library stores, the shape,
and the affine as a 4x4 list of rows."""

from __future__ import annotations

import numpy as np

# The voxel types the library stores (its VoxelData variants).
STORED = {np.dtype(t) for t in ("u1", "i1", "u2", "i2", "u4", "i4", "f4", "f8")}


def affine_rows(affine) -> list:
    a = np.asarray(affine, dtype=np.float64)
    if a.shape != (4, 4):
        raise ValueError(f"affine must be a 4x4 matrix, not of shape {a.shape}")
    return a.tolist()


def _grid(a: np.ndarray, what: str) -> tuple:
    if a.ndim != 3:
        raise ValueError(f"{what} must be a 3-D array (I, J, K), not {a.ndim}-D")
    if 0 in a.shape:
        raise ValueError(f"{what} of shape {a.shape} has no voxels")
    return tuple(int(n) for n in a.shape)


def flat(a: np.ndarray) -> np.ndarray:
    """i fastest, contiguous: a view when `a` is already Fortran-ordered."""
    return np.ascontiguousarray(a.ravel(order="F"))


def image(values, what: str = "image") -> tuple[np.ndarray, tuple]:
    """Values in a stored type: the library's own types as they are; bool as
    uint8; wider integers as int32 when they fit (else float64); float16 as
    float32."""
    a = np.asarray(values)
    shape = _grid(a, what)
    dt = a.dtype
    if dt not in STORED:
        if dt == np.bool_:
            a = a.astype(np.uint8)
        elif np.issubdtype(dt, np.integer):
            lo, hi = (int(a.min()), int(a.max()))
            fits = np.iinfo(np.int32).min <= lo and hi <= np.iinfo(np.int32).max
            a = a.astype(np.int32 if fits else np.float64)
        elif np.issubdtype(dt, np.floating):
            a = a.astype(np.float32 if dt.itemsize < 4 else np.float64)
        else:
            raise ValueError(f"{what} has dtype {dt}: expected a real numeric array")
    return flat(a), shape


def labels(values, shape: tuple | None = None, what: str = "labels") -> tuple[np.ndarray, tuple]:
    """A label map as uint8: integer (or integral float) values in 0..=255."""
    a = np.asarray(values)
    got = _grid(a, what)
    if shape is not None and got != tuple(shape):
        raise ValueError(f"{what} has shape {got}, the image {tuple(shape)}")
    if a.dtype != np.uint8:
        if a.dtype == np.bool_:
            a = a.astype(np.uint8)
        elif np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating):
            if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a) & (a == np.round(a))):
                raise ValueError(f"{what} holds non-integer values: label maps are integers 0..255")
            if a.min() < 0 or a.max() > 255:
                raise ValueError(
                    f"{what} holds values in [{a.min()}, {a.max()}]: label maps are 0..255"
                )
            a = a.astype(np.uint8)
        else:
            raise ValueError(f"{what} has dtype {a.dtype}: expected uint8 labels")
    return flat(a), got


def grid(flat_values: np.ndarray, shape) -> np.ndarray:
    """A 1-D array from the library as (I, J, K), Fortran order (no copy)."""
    return flat_values.reshape(tuple(shape), order="F")
