"""Voxel grids: spacing, and optionally where the grid sits in patient space.

Conventions (the same as :mod:`mrecist_tool.dicom`):

* arrays are indexed ``(z, y, x)`` -- slice, row, column -- and ``spacing`` is ``(z, y, x)`` in mm;
* ``origin`` is the patient position (DICOM LPS, mm) of the centre of voxel ``[0, 0, 0]``;
* ``direction`` is a 3×3 matrix whose **columns** are the LPS unit vectors of the x (column),
  y (row) and z (slice) index axes.

Points handed back to callers are ``(x, y, z)`` triples.  With an ``origin`` (and optionally a
``direction``) they are LPS patient coordinates, so they can go straight into a case file's
``geometry.line``; without one they are *index millimetres* ``(x·sx, y·sy, z·sz)`` -- the
position in a grid that starts at 0 with identity orientation.  Lengths are the same either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def _spacing3(spacing: ArrayLike) -> tuple[float, float, float]:
    s = np.asarray(spacing, dtype=float).ravel()
    if s.shape == (2,):  # a 2-D slice: (y, x); give it a nominal 1 mm slice spacing
        s = np.array([1.0, s[0], s[1]])
    if s.shape != (3,) or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"spacing must be 3 positive numbers (z, y, x) in mm, got {spacing!r}")
    return (float(s[0]), float(s[1]), float(s[2]))


@dataclass(frozen=True)
class Grid:
    """Spacing (z, y, x) in mm, plus the optional placement of the grid in LPS space.

    Attributes
    ----------
    spacing : tuple of float
        (z, y, x) voxel spacing, mm.
    origin : tuple of float or None
        LPS mm of voxel (0, 0, 0); None when the grid is not placed in patient space.
    direction : numpy.ndarray or None
        3×3 direction cosines (columns: x, y, z axes in LPS); None: the identity.
    """

    spacing: tuple[float, float, float]
    origin: tuple[float, float, float] | None = None
    direction: FloatArray | None = field(default=None, compare=False)

    @classmethod
    def make(
        cls,
        spacing: ArrayLike,
        origin: Sequence[float] | None = None,
        direction: ArrayLike | None = None,
    ) -> Grid:
        """Validate and build a grid; ``direction`` without ``origin`` places voxel 0 at 0."""
        sp = _spacing3(spacing)
        org: tuple[float, float, float] | None = None
        if origin is not None:
            o = np.asarray(origin, dtype=float).ravel()
            if o.shape != (3,):
                raise ValueError(f"origin must be 3 numbers (LPS x, y, z), got {origin!r}")
            org = (float(o[0]), float(o[1]), float(o[2]))
        dirm: FloatArray | None = None
        if direction is not None:
            dirm = np.asarray(direction, dtype=float).reshape(3, 3)
            if not np.allclose(dirm.T @ dirm, np.eye(3), atol=1e-4):
                raise ValueError("direction must be orthonormal (columns = LPS unit vectors)")
            if org is None:
                org = (0.0, 0.0, 0.0)
        return cls(sp, org, dirm)

    @property
    def in_patient_space(self) -> bool:
        return self.origin is not None

    def index_to_point(self, index_zyx: ArrayLike) -> FloatArray:
        """Map fractional voxel indices ``(..., 3)`` in (z, y, x) order to ``(x, y, z)`` points.

        LPS when the grid has an origin, index millimetres otherwise (see module docstring).
        """
        idx = np.asarray(index_zyx, dtype=float)
        sz, sy, sx = self.spacing
        mm = np.stack([idx[..., 2] * sx, idx[..., 1] * sy, idx[..., 0] * sz], axis=-1)
        if self.origin is None:
            return mm
        d = np.eye(3) if self.direction is None else self.direction
        return np.asarray(self.origin, dtype=float) + mm @ d.T

    def point_to_index(self, point_xyz: ArrayLike) -> FloatArray:
        """Inverse of :meth:`index_to_point`: ``(x, y, z)`` points to fractional (z, y, x) indices."""
        p = np.asarray(point_xyz, dtype=float)
        if self.origin is not None:
            d = np.eye(3) if self.direction is None else self.direction
            p = (p - np.asarray(self.origin, dtype=float)) @ d  # d orthonormal: inverse = d.T
        sz, sy, sx = self.spacing
        return np.stack([p[..., 2] / sz, p[..., 1] / sy, p[..., 0] / sx], axis=-1)


def make_grid(
    spacing: ArrayLike | Grid | Any,
    origin: Sequence[float] | None = None,
    direction: ArrayLike | None = None,
) -> Grid:
    """A :class:`Grid` from a spacing, a grid, or anything with ``spacing``, ``origin``, ``direction``.

    Any object with those attributes in these conventions -- such as a
    :class:`mrecist_tool.dicom.Volume` -- will do, so ``longest_axial_diameter(mask, volume)``
    works.

    Parameters
    ----------
    spacing : array_like, Grid or Volume
        (z, y, x) mm, an existing grid (returned as is), or such an object.
    origin : sequence of float, optional
        LPS mm of voxel (0, 0, 0), with a plain spacing.
    direction : array_like, optional
        3×3 direction cosines, with a plain spacing.

    Returns
    -------
    Grid
        The grid.
    """
    if isinstance(spacing, Grid):
        return spacing
    if hasattr(spacing, "spacing") and hasattr(spacing, "origin") and origin is None:
        return Grid.make(spacing.spacing, spacing.origin, getattr(spacing, "direction", None))
    return Grid.make(spacing, origin, direction)


def line_length_mm(p0: ArrayLike, p1: ArrayLike) -> float:
    """Euclidean length in mm of the segment between two points in patient coordinates (LPS).

    Parameters
    ----------
    p0 : array_like
        One end, mm.
    p1 : array_like
        The other end, mm.

    Returns
    -------
    float
        The length, mm.

    Examples
    --------
    >>> line_length_mm([0, 0, 0], [3, 4, 0])
    5.0
    """
    a = np.asarray(p0, dtype=float).ravel()
    b = np.asarray(p1, dtype=float).ravel()
    if a.shape != b.shape or a.size not in (2, 3):
        raise ValueError(f"line end points must both be 2 or 3 numbers, got {p0!r} and {p1!r}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError(f"line end points must be finite, got {p0!r} and {p1!r}")
    return float(np.linalg.norm(b - a))
