"""Longest in-plane diameter and short axis of a mask, per slice and overall (MR-V1, REC-M1).

mRECIST's viable diameter (rule MR-V1) and RECIST's longest diameter are measured in the
acquisition (axial) plane, so every measurement here is made slice by slice on array axis 0 and
the overall answer is the largest over the slices, reported with its slice.

Method and its bias
-------------------
For one slice, the boundary pixels of the mask (pixels with a 4-neighbour outside it) are put
in millimetres (anisotropic in-plane spacing honoured), their convex hull is taken, and the
longest distance between two hull vertices -- the maximum Feret diameter -- is found by brute
force over the hull vertices (a few dozen even for a 512×512 mask, so well under 20 ms).

Pixel *centres* of a mask sit inside the drawn outline, so the centre-to-centre Feret diameter
underestimates the true one; the hull of pixel *corners* overestimates it (by up to √2 pixels
on a diagonal).  Checked on 600 random ellipses (semi-axes 3–30 mm, random sub-pixel centre,
rotation and spacing 0.5–1 mm), the centre Feret diameter was 0.51 voxel short on average,
the corner one 0.72 voxel long.  We therefore extend the centre-to-centre line by a quarter of
the pixel pitch along the line at each end (half a pixel in total).  On round shapes (discs,
aspect > 0.5) the result is within half a voxel of the analytic diameter in > 99 % of cases,
with a mean bias of about +0.1 voxel; thin pointed shapes (aspect < 0.3) are still measured up
to about one voxel short because their tips are partly missing from the mask.  The short axis
gets the same correction.

The short axis is the longest chord of the slice's convex hull perpendicular to the long axis
(RECIST's short axis, measured in the same slice as the long axis).  For a non-convex focus it
spans the concavity, as a reader's calliper would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from ..errors import MrecistError
from .grid import Grid, make_grid

_Pair = tuple[NDArray[np.float64], NDArray[np.float64]]


@dataclass(frozen=True)
class Segment:
    """A measured line: its length and both end points.

    Attributes
    ----------
    length_mm : float
        Its length, mm.
    start : tuple of float
        One end, ``(x, y, z)``: LPS mm when the grid had an origin, index mm otherwise.
    end : tuple of float
        The other end, likewise.
    start_index : tuple of float
        ``start`` as fractional voxel indices ``(z, y, x)`` (napari's data coordinates).
    end_index : tuple of float
        ``end`` likewise.
    """

    length_mm: float
    start: tuple[float, float, float]
    end: tuple[float, float, float]
    start_index: tuple[float, float, float]
    end_index: tuple[float, float, float]

    def as_line(self, ndigits: int = 2) -> list[list[float]]:
        """The case-file form ``[[x, y, z], [x, y, z]]``, rounded to ``ndigits``."""
        return [[round(v, ndigits) for v in self.start], [round(v, ndigits) for v in self.end]]


@dataclass(frozen=True)
class AxialMeasurement:
    """Long axis (maximum Feret diameter) and short axis of a mask in one slice.

    Attributes
    ----------
    slice_index : int
        The slice (z index) measured.
    long_axis : Segment
        The longest in-plane diameter.
    short_axis : Segment
        The longest diameter perpendicular to it, in the same slice.
    """

    slice_index: int
    long_axis: Segment
    short_axis: Segment

    @property
    def diameter_mm(self) -> float:
        return self.long_axis.length_mm

    @property
    def short_axis_mm(self) -> float:
        return self.short_axis.length_mm


@dataclass(frozen=True)
class ViableDiameter:
    """The viable diameter of a lesion with one or more separate foci (rule MR-V3).

    Attributes
    ----------
    diameter_mm : float
        The viable diameter, mm (0 for an empty mask, MR-V4).
    rule : str
        ``"largest"`` (the longest single focus) or ``"sum"`` (the foci added).
    foci : tuple of AxialMeasurement
        Each focus's measurement.
    """

    diameter_mm: float
    rule: str
    foci: tuple[AxialMeasurement, ...]

    @property
    def largest(self) -> AxialMeasurement | None:
        return max(self.foci, key=lambda f: f.diameter_mm, default=None)


# --------------------------------------------------------------------------------------------
# One slice, in (y, x) millimetres


def _boundary_points_mm(mask2d: NDArray[np.bool_], sy: float, sx: float) -> NDArray[np.float64]:
    """Boundary pixel centres of a (cropped) 2-D mask, as (y_mm, x_mm) rows."""
    p = np.pad(mask2d, 1)
    c = p[1:-1, 1:-1]
    # a 4-neighbour erosion by shifted views: several times faster than ndimage on 512²
    inner = c & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    yy, xx = np.nonzero(c & ~inner)
    return np.column_stack([yy * sy, xx * sx]).astype(float)


def _hull(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """Convex hull vertices in counter-clockwise order, or the unique points if degenerate."""
    if len(points) >= 3:
        try:
            return points[ConvexHull(points).vertices]
        except QhullError:  # all points on one line
            pass
    return np.unique(points, axis=0)


def _pitch(u: NDArray[np.float64], sy: float, sx: float) -> float:
    """Pixel pitch (mm) along the unit direction ``u`` = (uy, ux)."""
    return float(np.hypot(u[0] * sy, u[1] * sx))


def _chord_perpendicular(
    hull: NDArray[np.float64], u: NDArray[np.float64]
) -> tuple[float, float, float]:
    """Longest chord of a convex polygon perpendicular to ``u``: (station, v_min, v_max).

    Chord length along a direction is concave and piecewise linear in the station, so its
    maximum is at a vertex's station: intersect each vertex's perpendicular line with all edges.
    """
    v = np.array([-u[1], u[0]])
    a = hull @ u
    b = hull @ v
    if len(hull) < 3:
        return float(a[0]), float(b.min()), float(b.max())
    a0, a1 = a, np.roll(a, -1)
    b0, b1 = b, np.roll(b, -1)
    da = a1 - a0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (a[:, None] - a0[None, :]) / da[None, :]
    ok = (t >= -1e-9) & (t <= 1 + 1e-9) & (da[None, :] != 0)
    bv = np.where(ok, b0[None, :] + t * (b1 - b0)[None, :], np.nan)
    # each vertex lies on its own perpendicular line
    bv = np.concatenate([bv, b[:, None]], axis=1)
    lo = np.nanmin(bv, axis=1)
    hi = np.nanmax(bv, axis=1)
    k = _first_max(hi - lo)
    return float(a[k]), float(lo[k]), float(hi[k])


def _first_max(values: NDArray[np.float64]) -> int:
    """Flat index of the first value within rounding (1e-9 relative) of the maximum."""
    flat = values.ravel()
    top = float(np.nanmax(flat))
    return int(np.flatnonzero(flat >= top - 1e-9 * abs(top))[0])


def _measure_slice_mm(
    mask2d: NDArray[np.bool_], sy: float, sx: float
) -> tuple[_Pair, _Pair] | None:
    """Long and short axis end points of a 2-D mask, in (y_mm, x_mm) of the given array."""
    rows = np.flatnonzero(mask2d.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask2d.any(axis=0))
    y0, x0 = int(rows[0]), int(cols[0])
    crop = mask2d[y0 : rows[-1] + 1, x0 : cols[-1] + 1]
    offset = np.array([y0 * sy, x0 * sx])
    hull = _hull(_boundary_points_mm(crop, sy, sx))

    if len(hull) == 1:  # a single pixel: one pixel pitch each way
        c = hull[0]
        dx, dy = np.array([0.0, sx / 2]), np.array([sy / 2, 0.0])
        long_ = (c - dx, c + dx)
        short = (c - dy, c + dy)
        long_, short = _ordered(long_, short)
        return _shift(long_, offset), _shift(short, offset)

    d2 = ((hull[:, None, :] - hull[None, :, :]) ** 2).sum(-1)
    # Ties (a square's two diagonals) go to the first pair in hull order, not to whichever
    # rounding makes larger: otherwise the short axis changes when only the spacing's scale does.
    i, j = np.unravel_index(_first_max(d2), d2.shape)
    p, q = hull[i], hull[j]
    if (p[1], p[0]) > (q[1], q[0]):  # stable orientation: start at the smaller x (then y)
        p, q = q, p
    u = (q - p) / np.sqrt(d2[i, j])
    ext = _pitch(u, sy, sx) / 4
    long_ = (p - ext * u, q + ext * u)

    v = np.array([-u[1], u[0]])
    station, lo, hi = _chord_perpendicular(hull, u)
    ext_v = _pitch(v, sy, sx) / 4
    short = (station * u + (lo - ext_v) * v, station * u + (hi + ext_v) * v)
    long_, short = _ordered(long_, short)
    return _shift(long_, offset), _shift(short, offset)


def _ordered(long_: _Pair, short: _Pair) -> tuple[_Pair, _Pair]:
    """Swap the axes if the corrected "short" one came out longer (tiny masks with very
    anisotropic pixels, where the half-pixel corrections dominate)."""
    if np.linalg.norm(short[1] - short[0]) > np.linalg.norm(long_[1] - long_[0]) * (1 + 1e-9):
        return short, long_
    return long_, short


def _shift(
    pair: tuple[NDArray[np.float64], NDArray[np.float64]], offset: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    return (np.asarray(pair[0]) + offset, np.asarray(pair[1]) + offset)


def _segment(
    grid: Grid, z: int, ends_mm: tuple[NDArray[np.float64], NDArray[np.float64]]
) -> Segment:
    _, sy, sx = grid.spacing
    idx = np.array([[z, e[0] / sy, e[1] / sx] for e in ends_mm], dtype=float)
    pts = grid.index_to_point(idx)
    length = float(np.linalg.norm(pts[1] - pts[0]))
    return Segment(
        length_mm=length,
        start=(float(pts[0, 0]), float(pts[0, 1]), float(pts[0, 2])),
        end=(float(pts[1, 0]), float(pts[1, 1]), float(pts[1, 2])),
        start_index=(float(idx[0, 0]), float(idx[0, 1]), float(idx[0, 2])),
        end_index=(float(idx[1, 0]), float(idx[1, 1]), float(idx[1, 2])),
    )


def _as_mask(mask: ArrayLike, ndim: int | tuple[int, ...]) -> NDArray[np.bool_]:
    m = np.asarray(mask)
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if m.ndim not in dims:
        raise ValueError(f"mask must have {' or '.join(map(str, dims))} dimensions, got {m.ndim}")
    return m.astype(bool, copy=False)


# --------------------------------------------------------------------------------------------
# Public API


def _t3(v: ArrayLike) -> tuple[float, float, float]:
    a = np.asarray(v, dtype=float).ravel()
    return (float(a[0]), float(a[1]), float(a[2]))


def _offset(m: AxialMeasurement, start: NDArray[np.float64]) -> AxialMeasurement:
    """Move a measurement made in a sub-volume starting at index ``start`` to the full grid."""

    def seg(s: Segment) -> Segment:
        return replace(s, start_index=_t3(np.add(s.start_index, start)),
                       end_index=_t3(np.add(s.end_index, start)))

    return AxialMeasurement(m.slice_index + int(start[0]), seg(m.long_axis), seg(m.short_axis))


def slice_measurement(
    mask2d: ArrayLike, pixel_spacing: Sequence[float] = (1.0, 1.0)
) -> AxialMeasurement | None:
    """Long axis (maximum Feret diameter) and short axis of a 2-D mask.

    Parameters
    ----------
    mask2d : array_like
        (rows, columns), truthy inside.
    pixel_spacing : sequence of float
        (row spacing, column spacing) in mm, i.e. (y, x).

    Returns
    -------
    AxialMeasurement or None
        With ``slice_index`` 0 and points in index mm; None for an empty mask.
    """
    m = _as_mask(mask2d, 2)
    sy, sx = (float(s) for s in pixel_spacing)
    grid = make_grid((1.0, sy, sx))
    res = _measure_slice_mm(m, sy, sx)
    if res is None:
        return None
    return AxialMeasurement(0, _segment(grid, 0, res[0]), _segment(grid, 0, res[1]))


#: slices whose normal is further than this from the head-foot axis are not axial
MAX_AXIAL_TILT_DEG = 5.0


class NonAxialError(MrecistError, ValueError):
    """In-plane (axial) diameters asked of a series whose slices are not axial.

    The message names the slice orientation; RECIST and mRECIST diameters are measured in the
    axial plane only.
    """


def check_axial(grid: Grid) -> None:
    """Refuse a grid whose slices are not axial.

    RECIST and mRECIST diameters are measured in the axial plane, and measuring them in a
    coronal, sagittal or oblique slice would silently give another number.  (Distances and
    margins are measured in 3-D and have no such limit.)  A grid without a direction is taken as
    axial.

    Parameters
    ----------
    grid : Grid
        The grid of the mask or series.

    Raises
    ------
    NonAxialError
        Naming the slice orientation, when the slice normal is more than
        :data:`MAX_AXIAL_TILT_DEG` from the head-foot axis.
    """
    if grid.direction is None:
        return
    normal = np.asarray(grid.direction, float)[:, 2]
    tilt = float(np.degrees(np.arccos(min(abs(normal[2]) / max(np.linalg.norm(normal), 1e-12), 1.0))))
    if tilt > MAX_AXIAL_TILT_DEG:
        kind = "coronal" if abs(normal[1]) > 0.9 else "sagittal" if abs(normal[0]) > 0.9 else "oblique"
        raise NonAxialError(
            f"the slices are {kind} (their normal is {tilt:.0f}° from the head-foot axis): in-plane "
            "diameters would be measured in the wrong plane; measure on an axial series or reformat")


def axial_measurements(
    mask: ArrayLike,
    spacing: ArrayLike | Grid | Any,
    origin: Sequence[float] | None = None,
    direction: ArrayLike | None = None,
) -> list[AxialMeasurement]:
    """Long and short axis of a 3-D mask (z, y, x) in every slice where it is present.

    Parameters
    ----------
    mask : array_like
        (z, y, x), truthy inside.
    spacing : array_like, Grid or Volume
        (z, y, x) mm, a :class:`Grid`, or a volume with ``spacing``/``origin``/``direction``.
    origin : sequence of float, optional
        LPS mm of voxel (0, 0, 0): the end points are then patient coordinates.
    direction : array_like, optional
        3×3 direction cosines.

    Returns
    -------
    list of AxialMeasurement
        One per slice where the mask is present, in slice order.

    Raises
    ------
    NonAxialError
        When the slices are not axial.
    """
    m = _as_mask(mask, 3)
    grid = make_grid(spacing, origin, direction)
    check_axial(grid)
    _, sy, sx = grid.spacing
    out: list[AxialMeasurement] = []
    for z in np.flatnonzero(m.any(axis=(1, 2))):
        res = _measure_slice_mm(m[z], sy, sx)
        if res is not None:
            out.append(
                AxialMeasurement(int(z), _segment(grid, int(z), res[0]), _segment(grid, int(z), res[1]))
            )
    return out


def longest_axial_diameter(
    mask: ArrayLike,
    spacing: ArrayLike | Grid | Any,
    origin: Sequence[float] | None = None,
    direction: ArrayLike | None = None,
) -> AxialMeasurement | None:
    """The slice with the longest in-plane diameter of a 3-D mask, with both axes (MR-V1).

    The overall diameter of a sphere is therefore its equator's.

    Parameters
    ----------
    mask : array_like
        (z, y, x), truthy inside.
    spacing : array_like, Grid or Volume
        (z, y, x) mm, a :class:`Grid`, or a volume with ``spacing``/``origin``/``direction``.
    origin : sequence of float, optional
        LPS mm of voxel (0, 0, 0).
    direction : array_like, optional
        3×3 direction cosines.

    Returns
    -------
    AxialMeasurement or None
        None for an empty mask.

    Raises
    ------
    NonAxialError
        When the slices are not axial.
    """
    per_slice = axial_measurements(mask, spacing, origin, direction)
    return max(per_slice, key=lambda a: a.diameter_mm, default=None)


def short_axis(
    mask: ArrayLike,
    spacing: ArrayLike | Grid | Any,
    origin: Sequence[float] | None = None,
    direction: ArrayLike | None = None,
) -> Segment | None:
    """Short axis (RECIST node short axis): perpendicular to the long axis, in its slice.

    Parameters
    ----------
    mask : array_like
        (z, y, x), truthy inside.
    spacing : array_like, Grid or Volume
        (z, y, x) mm, a :class:`Grid`, or a volume with ``spacing``/``origin``/``direction``.
    origin : sequence of float, optional
        LPS mm of voxel (0, 0, 0).
    direction : array_like, optional
        3×3 direction cosines.

    Returns
    -------
    Segment or None
        The short axis of the slice with the longest diameter; None for an empty mask.

    Raises
    ------
    NonAxialError
        When the slices are not axial.
    """
    best = longest_axial_diameter(mask, spacing, origin, direction)
    return None if best is None else best.short_axis


def viable_diameter(
    mask: ArrayLike,
    spacing: ArrayLike | Grid | Any,
    rule: Literal["largest", "sum"] = "largest",
    origin: Sequence[float] | None = None,
    direction: ArrayLike | None = None,
) -> ViableDiameter:
    """Viable diameter of a lesion whose viable tissue may be in several separate foci (MR-V3).

    The foci are the connected components of the mask in 3-D, counting face, edge and corner
    neighbours as connected (a reader sees diagonally touching voxels as one focus).  Each
    focus is measured with :func:`longest_axial_diameter`; ``rule="largest"`` takes the longest
    single focus (the default of ``viable_fragment_rule``), ``rule="sum"`` adds them.

    Parameters
    ----------
    mask : array_like
        (z, y, x), truthy inside.
    spacing : array_like, Grid or Volume
        (z, y, x) mm, a :class:`Grid`, or a volume with ``spacing``/``origin``/``direction``.
    rule : {"largest", "sum"}
        How separate foci combine.
    origin : sequence of float, optional
        LPS mm of voxel (0, 0, 0).
    direction : array_like, optional
        3×3 direction cosines.

    Returns
    -------
    ViableDiameter
        An empty mask has a viable diameter of 0 mm (MR-V4).

    Raises
    ------
    NonAxialError
        When the slices are not axial.
    """
    if rule not in ("largest", "sum"):
        raise ValueError(f"rule must be 'largest' or 'sum', got {rule!r}")
    m = _as_mask(mask, (2, 3))
    if m.ndim == 2:
        m = m[None]
    grid = make_grid(spacing, origin, direction)
    labels, _ = ndimage.label(m, structure=np.ones((3, 3, 3), dtype=bool))
    foci: list[AxialMeasurement] = []
    for k, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None:
            continue
        # measure each focus in its bounding box, on a grid placed where that box starts
        start = np.array([s.start for s in sl], dtype=float)
        sub_grid = Grid(grid.spacing, _t3(grid.index_to_point(start)), grid.direction)
        best = longest_axial_diameter(labels[sl] == k, sub_grid)
        if best is not None:
            foci.append(_offset(best, start))
    foci.sort(key=lambda f: -f.diameter_mm)
    if not foci:
        total = 0.0
    elif rule == "largest":
        total = foci[0].diameter_mm
    else:
        total = float(sum(f.diameter_mm for f in foci))
    return ViableDiameter(total, rule, tuple(foci))
