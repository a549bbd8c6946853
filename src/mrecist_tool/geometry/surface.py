"""The surface of a binary mask, reconstructed between its slices (MAR-3, MAR-4).

A reader's mask says, voxel by voxel, whether the voxel's centre lies inside the lesion.  Where
exactly the surface runs is only known to within a voxel, and on thick slices (5 mm) measuring
between voxel staircases is off by up to half a slice in any direction that crosses them.  This
module turns a mask into a continuous *surface model*: a function that is positive inside and
negative outside, whose zero level set is the best estimate of the lesion's surface, and which
can be evaluated at any point, so that two masks on different grids (or related by a
registration) can be measured against each other in true millimetres.

How the surface is reconstructed
--------------------------------
* **In each slice** the mask's outline is placed midway between inside and outside pixel
  centres (on the pixel faces), and the slice's signed distance to that outline is computed in
  mm (``scipy.ndimage.distance_transform_edt`` with the in-plane spacing, then the exact
  distance to the nearest other-side pixel's *box* along the same ray).  In-plane pixels are
  small (≤ 1 mm), so this is within half a pixel of the truth.
* **Between slices** the signed distance maps of neighbouring slices are interpolated linearly:
  shape-based interpolation (Raya & Udupa, IEEE TMI 1990; Herman et al., IEEE CG&A 1992), so a
  sphere on 5 mm slices becomes a smooth stack of frustums rather than a staircase of 5 mm
  ledges.
* **Past the last slice** of each connected piece of a slice that has nothing above it (an
  *end*), a cap is added whose cross-sections are copies of that last section scaled about a
  centroid that keeps drifting as it did.  Where the piece was closing (its sections shrinking
  towards the end), the cross-sectional area is extrapolated as a quadratic in the slice
  position through the last three sections -- exact for any ellipsoid, at any orientation, since
  parallel sections of an ellipsoid are similar ellipses of area quadratic in their position and
  with collinear centres -- and the cap ends where that area reaches zero.  With only two
  sections a sphere through both is assumed; with one, a sphere centred on it.  Where three or
  more sections have one area (a prism), or no sphere fits, the cap is flat, half a slice beyond
  the last centre: the voxel face.  The cap never reaches the next slice's centre, where the
  mask said "outside".

The result is evaluated lazily (:meth:`SurfaceModel.evaluate`) at fractional voxel indices of the
mask's own grid; :meth:`SurfaceModel.sample` fills a regular lattice in that grid's frame, ready
for marching cubes (:func:`skimage.measure.marching_cubes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

from .boxes import bounding_box
from .grid import Grid, make_grid

FloatArray = NDArray[np.float64]

#: the value of the field in slices without any mask: far outside
FAR = 1.0e4
_PAD_PIXELS = 3
_CONN8 = np.ones((3, 3), dtype=bool)


def _box_half_along(v: FloatArray, spacing: FloatArray) -> FloatArray:
    """Distance from a box's centre to its boundary along directions ``v`` (rows)."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    u = np.abs(v) / np.where(n > 0, n, 1.0)
    with np.errstate(divide="ignore"):
        t = np.where(u > 1e-12, (spacing / 2) / np.where(u > 1e-12, u, 1.0), np.inf)
    return np.asarray(t.min(axis=-1))


def slice_signed_distance(mask2d: NDArray[np.bool_], sy: float, sx: float) -> FloatArray:
    """Signed distance (mm, + inside) of every pixel centre to the slice's outline.

    The outline runs along the pixel faces between inside and outside pixels; each pixel gets
    its distance along the ray to the nearest pixel of the other kind, up to that pixel's box.
    The mask must have outside pixels (pad it).
    """
    sp = np.array([sy, sx], dtype=float)
    out = np.zeros(mask2d.shape, dtype=float)
    for inside, sign in ((mask2d, 1.0), (~mask2d, -1.0)):
        if not inside.any():
            continue
        _, idx = ndimage.distance_transform_edt(inside, sampling=(sy, sx), return_indices=True)
        where = np.nonzero(inside)
        here = np.stack(where, axis=-1).astype(float)
        there = np.stack([idx[0][where], idx[1][where]], axis=-1).astype(float)
        v = (there - here) * sp
        d = np.linalg.norm(v, axis=-1) - _box_half_along(v, sp)
        out[where] = sign * d
    return out


@dataclass(frozen=True)
class _Cap:
    """The cap beyond an end section (slice ``k`` of the cropped stack, towards ``k + step``)."""

    k: int
    step: int  # +1: beyond slice k towards k+1; -1: towards k-1
    extent: float  # where the cap ends, in slices beyond k (0 < extent < 1)
    b: float  # relative area q(s) = 1 + b s + c s²  (s in slices beyond k), for domes
    c: float
    flat: bool  # a flat end: the section extruded to ``extent``, then nothing
    sdf: FloatArray  # the end section's own 2-D signed distance (mm), on a padded crop
    y0: int  # where that crop starts in the stack's rows / columns
    x0: int
    centroid: tuple[float, float]  # (y, x) pixel index of the section's centroid
    drift: tuple[float, float]  # centroid motion per slice beyond k, (y, x) pixels

    def relative_area(self, s: FloatArray) -> FloatArray:
        if self.flat:
            return np.where(s < self.extent, 1.0, 0.0)
        return np.clip(1.0 + self.b * s + self.c * s * s, 0.0, None)


@dataclass(frozen=True)
class SurfaceModel:
    """A mask's reconstructed surface as a signed field over its own grid (mm, + inside).

    Indices passed to :meth:`evaluate` are fractional (z, y, x) voxel indices of ``grid``.
    Built by :func:`reconstruct`; the attributes below are its internal representation.

    Attributes
    ----------
    grid : Grid
        The mask's grid (spacing, and its place in LPS space when known).
    shape : tuple of int
        The mask's shape.
    offset : tuple of int
        Index of the stack's ``[0, 0, 0]`` in the mask's grid.
    stack : numpy.ndarray
        Per-slice signed distances, mm (a large negative value in empty slices).
    caps : tuple of _Cap
        The caps beyond the end sections.
    bbox : tuple of (tuple of float, tuple of float)
        Index bounds of the surface.
    volume_mm3 : float
        The mask's volume, mm³.
    subdivide : tuple of (int, int)
        In-plane sub-pixels per pixel (y, x) of the stack.
    bulges : dict
        Two-slice pieces: stack slice k → (R, z0) of the sphere through slices k and k + 1, whose
        bulge between the slices a straight interpolation would cut.
    """

    grid: Grid
    shape: tuple[int, int, int]
    offset: tuple[int, int, int]  # index of the stack's [0, 0, 0] in the mask's grid
    stack: NDArray[np.float32]  # per-slice signed distances (mm); -FAR in empty slices
    caps: tuple[_Cap, ...]
    bbox: tuple[tuple[float, float, float], tuple[float, float, float]]  # index bounds of the surface
    volume_mm3: float
    subdivide: tuple[int, int] = (1, 1)  # in-plane sub-pixels per pixel (y, x) of the stack
    # two-slice pieces: stack slice k -> (R, z0) of the sphere through slices k and k+1 (mm,
    # z0 from slice k), whose bulge between the slices a straight interpolation would cut
    bulges: dict[int, tuple[float, float]] = field(default_factory=dict)

    def _bulge(self, k: FloatArray, t: FloatArray) -> FloatArray:
        """How far the sphere through a two-slice piece bulges beyond the straight line
        between its sections, at fraction ``t`` past slice ``k`` (mm; 0 elsewhere)."""
        out = np.zeros(np.shape(t))
        if not self.bulges:
            return out
        dz = self.grid.spacing[0]
        for kk, (r, z0) in self.bulges.items():
            on = k == kk
            if not np.any(on):
                continue
            tt = t[on]
            r0 = np.sqrt(max(r * r - z0 * z0, 0.0))
            r1 = np.sqrt(max(r * r - (dz - z0) ** 2, 0.0))
            rz = np.sqrt(np.maximum(r * r - (tt * dz - z0) ** 2, 0.0))
            out[on] = np.maximum(rz - ((1 - tt) * r0 + tt * r1), 0.0)
        return out

    @property
    def _sub_spacing(self) -> tuple[float, float, float]:
        sz, sy, sx = self.grid.spacing
        return (sz, sy / self.subdivide[0], sx / self.subdivide[1])

    @property
    def thick_slice_mm(self) -> float:
        return self.grid.spacing[0]

    def evaluate(self, index_zyx: ArrayLike) -> FloatArray:
        """The field at fractional voxel indices ``(..., 3)`` of the mask's grid."""
        idx = np.asarray(index_zyx, dtype=float)
        flat = idx.reshape(-1, 3) - np.asarray(self.offset, dtype=float)
        if self.subdivide != (1, 1):
            fy, fx = self.subdivide
            flat = np.column_stack([flat[:, 0], (flat[:, 1] + 0.5) * fy - 0.5, (flat[:, 2] + 0.5) * fx - 0.5])
        if self.cubic:
            val = self._between_slices_cubic(flat)
        else:
            val = ndimage.map_coordinates(self.stack, flat.T, order=1, mode="constant", cval=-FAR,
                                          prefilter=False).astype(float)
        for cap in self.caps:
            _apply_cap(cap, flat, val, self._sub_spacing)
        return val.reshape(idx.shape[:-1])

    @property
    def cubic(self) -> bool:
        """Whether slices are interpolated with cubic (Catmull-Rom) weights: on slices clearly
        thicker than the pixels, where linear interpolation cuts every chord of a round
        surface (by 0.3-0.6 mm on 5 mm slices)."""
        sz, sy, sx = self.grid.spacing
        return sz > 1.2 * max(sy, sx)

    def _between_slices_cubic(self, flat: FloatArray) -> FloatArray:
        """Catmull-Rom in z through four slices, bilinear in-plane (see :func:`_combine`)."""
        nz = self.stack.shape[0]
        k = np.floor(flat[:, 0])
        t = flat[:, 0] - k
        vals = []
        for j in (-1, 0, 1, 2):
            kk = k + j
            coords = np.stack([np.clip(kk, 0, nz - 1), flat[:, 1], flat[:, 2]])
            v = ndimage.map_coordinates(self.stack, coords, order=1, mode="constant", cval=-FAR, prefilter=False)
            v = np.where((kk < 0) | (kk > nz - 1), -FAR, v)
            vals.append(v.astype(float))
        return _combine(vals, t, cubic=True, bulge=self._bulge(k, t))

    def lattice(self, step_mm: float, pad_mm: float = 2.0) -> tuple[FloatArray, tuple[int, int, int], FloatArray]:
        """A regular lattice in this grid's frame that covers the surface.

        Returns the (z, y, x) index coordinates of the lattice's first point, its shape, and
        its step in voxel indices per axis: each native voxel is divided into an integer number
        of steps no longer than ``step_mm``.
        """
        sp = np.asarray(self.grid.spacing, dtype=float)
        div = np.maximum(1, np.ceil(sp / step_mm - 1e-9))
        inc = 1.0 / div
        lo = np.asarray(self.bbox[0]) - pad_mm / sp
        hi = np.asarray(self.bbox[1]) + pad_mm / sp
        lo = np.floor(lo / inc) * inc
        n = np.ceil((hi - lo) / inc).astype(int) + 1
        return lo, (int(n[0]), int(n[1]), int(n[2])), inc

    def sample(self, step_mm: float, pad_mm: float = 2.0) -> tuple[NDArray[np.float32], FloatArray, FloatArray]:
        """The field on :meth:`lattice`: (values, first index, index step).

        The same values as :meth:`evaluate` at the lattice's points, computed plane by plane:
        each slice of the stack is brought to the lattice's rows and columns once (two small
        interpolation matrices), and the planes between slices combine those.
        """
        lo, shape, inc = self.lattice(step_mm, pad_mm)
        axes = [lo[i] + inc[i] * np.arange(shape[i]) for i in range(3)]
        fy, fx = self.subdivide
        zst = axes[0] - self.offset[0]
        yst = (axes[1] - self.offset[1] + 0.5) * fy - 0.5
        xst = (axes[2] - self.offset[2] + 0.5) * fx - 0.5
        _, sy, sx = self._sub_spacing
        nz, ny, nx = self.stack.shape
        wy, ey = _interp_matrix(yst, ny)
        wx, ex = _interp_matrix(xst, nx)
        beyond = np.hypot((ey * sy)[:, None], (ex * sx)[None, :])  # mm outside the stack's crop
        planes: dict[int, FloatArray] = {}

        def plane(k: int) -> FloatArray:
            if k < 0 or k >= nz or not (self.stack[k] > -FAR / 2).any():
                return np.full((shape[1], shape[2]), -FAR)
            if k not in planes:
                planes[k] = wy @ self.stack[k].astype(float) @ wx.T - beyond
            return planes[k]

        out = np.empty(shape, dtype=np.float32)
        grid_y, grid_x = np.meshgrid(yst, xst, indexing="ij")
        flat_yx = np.column_stack([grid_y.ravel(), grid_x.ravel()])
        for i, z in enumerate(zst):
            k = int(np.floor(z + 1e-9))
            t = max(z - k, 0.0)
            vals = [plane(k + j) for j in (-1, 0, 1, 2)]
            tt = np.full(vals[0].shape, t)
            val = (_combine(vals, tt, cubic=self.cubic, bulge=self._bulge(np.full(tt.shape, k), tt))
                   if t > 1e-9 else vals[1].copy())
            for cap in self.caps:
                sgap = (z - cap.k) * cap.step
                if 0 < sgap <= 1.0:
                    flat = np.column_stack([np.full(len(flat_yx), z), flat_yx])
                    v = val.ravel()
                    _apply_cap(cap, flat, v, self._sub_spacing)
                    val = v.reshape(val.shape)
            out[i] = val
        return out, lo, inc


def _interp_matrix(pos: FloatArray, n: int) -> tuple[FloatArray, FloatArray]:
    """Linear interpolation weights from ``n`` samples to positions ``pos`` (clamped at the
    ends), and how far each position lies beyond the ends (in samples)."""
    w = np.zeros((len(pos), n))
    p = np.clip(pos, 0, n - 1)
    i0 = np.clip(np.floor(p).astype(int), 0, max(n - 2, 0))
    f = p - i0
    rows = np.arange(len(pos))
    w[rows, i0] += 1 - f
    if n > 1:
        w[rows, np.minimum(i0 + 1, n - 1)] += f
    excess = np.maximum(-pos, 0) + np.maximum(pos - (n - 1), 0)
    return w, excess


def _combine(vals: list[FloatArray], t: FloatArray, cubic: bool, bulge: FloatArray | None = None) -> FloatArray:
    """The field between slices k and k+1 at fraction ``t`` from the values of slices k-1, k,
    k+1, k+2 (``-FAR`` where a slice is empty).

    Catmull-Rom when all four slices hold the mask's outline; next to an empty slice (an end),
    where a cubic would reach for the far-outside value, a parabola through the three slices on
    the near side, or a straight line between two -- plus ``bulge`` (a two-slice piece's sphere);
    linear throughout when ``cubic`` is false.
    """
    p0, p1, p2, p3 = vals
    lin = (1 - t) * p1 + t * p2
    if not cubic:
        return lin
    t2, t3 = t * t, t * t * t
    cub = 0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t3)
    q_hi = p1 + t * (p2 - p0) / 2 + t2 * (p2 - 2 * p1 + p0) / 2  # slice k+2 missing
    q_lo = p1 + t * (-3 * p1 + 4 * p2 - p3) / 2 + t2 * (p1 - 2 * p2 + p3) / 2  # slice k-1 missing
    f0, f1, f2, f3 = (v <= -FAR / 2 for v in vals)
    two = f0 & f3 & ~f1 & ~f2
    if bulge is not None:
        lin = np.where(two, lin + bulge, lin)
    out = np.where(f1 | f2 | two, lin, cub)
    out = np.where(~f0 & ~f1 & ~f2 & f3, q_hi, out)
    return np.asarray(np.where(f0 & ~f1 & ~f2 & ~f3, q_lo, out))


def _apply_cap(cap: _Cap, idx: FloatArray, val: FloatArray, spacing: tuple[float, float, float]) -> None:
    """Union (max) of the field with one cap, for the points between the end section and the
    next slice.  Past the cap's end the cap's field keeps falling with the distance to it, so
    the zero crossing between lattice points is found where it is."""
    s = (idx[:, 0] - cap.k) * cap.step
    sel = np.flatnonzero((s > 0) & (s <= 1.0))
    if sel.size == 0:
        return
    dz, sy, sx = spacing
    ss = np.minimum(s[sel], cap.extent)
    beyond = np.maximum(s[sel] - cap.extent, 0.0) * dz  # mm past the cap's end along z
    sigma = np.sqrt(cap.relative_area(ss)) if not cap.flat else np.ones(sel.size)
    cy = cap.centroid[0] + cap.drift[0] * ss
    cx = cap.centroid[1] + cap.drift[1] * ss
    live = sigma > 1e-3
    out = np.full(sel.size, -FAR)
    tip = ~live  # the dome's tip (σ → 0): the distance to the tip point
    if tip.any():
        dy = (idx[sel[tip], 1] - cy[tip]) * sy
        dx = (idx[sel[tip], 2] - cx[tip]) * sx
        out[tip] = -np.sqrt(dy * dy + dx * dx + beyond[tip] ** 2)
    if live.any():
        sg = sigma[live]
        # the point, mapped back into the end section: c_k + (p - c(s)) / σ
        py = cap.centroid[0] + (idx[sel[live], 1] - cy[live]) / sg - cap.y0
        px = cap.centroid[1] + (idx[sel[live], 2] - cx[live]) / sg - cap.x0
        d = ndimage.map_coordinates(cap.sdf, np.stack([py, px]), order=1, mode="nearest", prefilter=False)
        # outside the crop the section's distance keeps growing: clamp with the crop's box
        ny, nx = cap.sdf.shape
        oy = np.maximum(np.maximum(-py, py - (ny - 1)), 0.0) * sy
        ox = np.maximum(np.maximum(-px, px - (nx - 1)), 0.0) * sx
        d = d - np.hypot(oy, ox)
        out[live] = sg * d
    if cap.flat:
        # an extruded section, cut by the plane at ``extent``
        out = np.minimum(out, (cap.extent - s[sel]) * dz)
    val[sel] = np.maximum(val[sel], out)


def _fit_cap_profile(areas: list[float], dz: float) -> tuple[float, float, float, bool]:
    """(extent, b, c, flat) of the cap beyond the last of ``areas`` (mm², last first).

    ``areas[0]`` is the end section, ``areas[1]`` the one a slice before it, and so on.  Lesions
    and ablation zones are round, so the prior is round: three or more sections of one area
    are a prism (flat end at the voxel face); otherwise the area's quadratic through the last
    three sections, or a sphere through the last two, or -- for one section -- a sphere
    centred on it; a flat end at the voxel face when none of these fits the data.
    """
    a0 = areas[0]
    if len(areas) == 1:
        r_eq = float(np.sqrt(a0 / np.pi))
        e = r_eq / dz if r_eq < 0.95 * dz else 0.5
        return e, 0.0, -1.0 / (e * e), False
    if len(areas) >= 3 and abs(areas[1] / a0 - 1) < 0.02 and abs(areas[2] / a0 - 1) < 0.02:
        return 0.5, 0.0, 0.0, True  # a prism
    if len(areas) >= 3:
        a1, a2 = areas[1] / a0, areas[2] / a0
        c = (a2 - 2 * a1 + 1) / 2
        b = 1 + c - a1
        root = _positive_root(c, b)
        if c < 0 and root is not None and root < 1.0:
            return root, b, c, False
    # a sphere-like section through the last two, A = π(R² - (z - z0)²), z beyond the end
    delta = (areas[1] - a0) / np.pi  # = (0 - z0)² - (-dz - z0)² in mm²
    z0 = -(dz * dz + delta) / (2 * dz)
    r2 = a0 / np.pi + z0 * z0
    pole = z0 + float(np.sqrt(r2))
    e = pole / dz
    if not 0 < e < 1:  # a sphere does not fit the data: a flat end at the voxel face
        return 0.5, 0.0, 0.0, True
    # q(s) = (R² - (s dz - z0)²) / (R² - z0²) = 1 + b s + c s²
    k = np.pi / a0
    return e, 2 * dz * z0 * k, -dz * dz * k, False


def _positive_root(c: float, b: float) -> float | None:
    """The smallest positive root of c s² + b s + 1 = 0."""
    if abs(c) < 1e-12:
        return -1.0 / b if b < 0 else None
    disc = b * b - 4 * c
    if disc < 0:
        return None
    r = np.sqrt(disc)
    roots = [(-b - r) / (2 * c), (-b + r) / (2 * c)]
    pos = [float(x) for x in roots if x > 1e-9]
    return min(pos) if pos else None


def _ends(mask: NDArray[np.bool_], step: int) -> list[tuple[int, NDArray[np.bool_]]]:
    """Sections with nothing of the mask in the neighbouring slice ``k + step``: (k, section)."""
    out = []
    nz = mask.shape[0]
    for k in range(nz):
        if not mask[k].any():
            continue
        nxt = mask[k + step] if 0 <= k + step < nz else np.zeros_like(mask[k])
        labels, n = ndimage.label(mask[k], structure=_CONN8)
        if n == 0:
            continue
        touched = np.unique(labels[nxt & (labels > 0)])
        for lab in range(1, n + 1):
            if lab not in touched:
                out.append((k, labels == lab))
    return out


def _build_cap(mask: NDArray[np.bool_], k: int, section: NDArray[np.bool_], step: int,
               spacing: tuple[float, float, float]) -> _Cap:
    dz, sy, sx = spacing
    pix = sy * sx
    areas = [float(section.sum()) * pix]
    cents = [np.argwhere(section).mean(axis=0)]
    current = section
    j = k - step
    while 0 <= j < mask.shape[0] and len(areas) < 3:
        labels, _ = ndimage.label(mask[j], structure=_CONN8)
        hit = np.unique(labels[current & (labels > 0)])
        if hit.size == 0:
            break
        current = np.isin(labels, hit)
        areas.append(float(current.sum()) * pix)
        cents.append(np.argwhere(current).mean(axis=0))
        j -= step
    extent, b, c, flat = _fit_cap_profile(areas, dz)
    drift = (cents[0] - cents[1]) if len(cents) > 1 and not flat else np.zeros(2)
    rows = np.flatnonzero(section.any(axis=1))
    cols = np.flatnonzero(section.any(axis=0))
    y0 = max(int(rows[0]) - _PAD_PIXELS, 0)
    x0 = max(int(cols[0]) - _PAD_PIXELS, 0)
    y1 = min(int(rows[-1]) + _PAD_PIXELS + 1, section.shape[0])
    x1 = min(int(cols[-1]) + _PAD_PIXELS + 1, section.shape[1])
    sdf = slice_signed_distance(np.pad(section[y0:y1, x0:x1], 1), sy, sx)[1:-1, 1:-1]
    return _Cap(k, step, float(extent), float(b), float(c), bool(flat), sdf, y0, x0,
                (float(cents[0][0]), float(cents[0][1])), (float(drift[0]), float(drift[1])))


def reconstruct(mask: ArrayLike, spacing: ArrayLike | Grid | object) -> SurfaceModel:
    """The reconstructed surface of a 3-D (z, y, x) mask; see the module docstring.

    Parameters
    ----------
    mask : array_like
        (z, y, x) or (y, x), truthy inside.
    spacing : array_like, Grid or Volume
        (z, y, x) mm, a :class:`Grid`, or a volume with ``spacing``/``origin``/``direction``.

    Returns
    -------
    SurfaceModel
        The surface as a signed field over the mask's grid.

    Raises
    ------
    ValueError
        For an empty mask.
    """
    m = np.asarray(mask).astype(bool, copy=False)
    if m.ndim == 2:
        m = m[None]
    if m.ndim != 3:
        raise ValueError(f"mask must be 2-D or 3-D, got {m.ndim} dimensions")
    grid = make_grid(spacing)
    box = bounding_box(m)
    if box is None:
        raise ValueError("the mask is empty")
    # crop, with one empty slice beyond each end and a few empty pixels around
    lo = np.array([b.start for b in box]) - np.array([1, _PAD_PIXELS, _PAD_PIXELS])
    crop = np.pad(m[box], ((1, 1), (_PAD_PIXELS, _PAD_PIXELS), (_PAD_PIXELS, _PAD_PIXELS)))
    fy, fx = _square_subdivision(grid.spacing[1], grid.spacing[2])
    if (fy, fx) != (1, 1):
        crop = np.repeat(np.repeat(crop, fy, axis=1), fx, axis=2)
    sub = (grid.spacing[0], grid.spacing[1] / fy, grid.spacing[2] / fx)
    stack = np.full(crop.shape, -FAR, dtype=np.float32)
    for k in range(crop.shape[0]):
        if crop[k].any():
            stack[k] = slice_signed_distance(crop[k], sub[1], sub[2])
    caps = tuple(
        _build_cap(crop, k, sec, step, sub) for step in (1, -1) for k, sec in _ends(crop, step)
    )
    top = np.array([b.stop - 1 for b in box], dtype=float)
    bot = np.array([b.start for b in box], dtype=float)
    half = np.array([1.0, 0.5, 0.5])
    bbox = (tuple(bot - half), tuple(top + half))
    vol = float(m[box].sum()) * float(np.prod(grid.spacing))
    return SurfaceModel(grid, (int(m.shape[0]), int(m.shape[1]), int(m.shape[2])),
                        (int(lo[0]), int(lo[1]), int(lo[2])), stack, caps,
                        (bbox[0], bbox[1]), vol, (fy, fx), _two_slice_bulges(crop, sub))


def _two_slice_bulges(crop: NDArray[np.bool_], spacing: tuple[float, float, float]) -> dict[int, tuple[float, float]]:
    """Sphere fits of pieces that occupy exactly two slices (with empty slices on both sides):
    a 10 mm lesion on 5 mm slices.  Its sections' areas give the sphere (R, z0)."""
    dz, sy, sx = spacing
    area = crop.sum(axis=(1, 2)).astype(float) * sy * sx
    out: dict[int, tuple[float, float]] = {}
    nz = len(area)
    for k in range(nz - 1):
        if area[k] > 0 and area[k + 1] > 0 and (k == 0 or area[k - 1] == 0) and (k + 2 >= nz or area[k + 2] == 0):
            # A(z) = π(R² - (z - z0)²) through z = 0 and z = dz
            z0 = ((area[k] - area[k + 1]) / np.pi + dz * dz) / (2 * dz)
            r2 = area[k] / np.pi + z0 * z0
            out[k] = (float(np.sqrt(r2)), float(z0))
    return out


def _square_subdivision(sy: float, sx: float, most: int = 8) -> tuple[int, int]:
    """Sub-pixels per pixel (y, x) that make non-square pixels (nearly) square.

    Interpolating a signed distance map places the outline exactly on the pixel faces only on
    square pixels: at a corner pixel one value cannot be half a pitch along both axes.  Real
    CT and MR pixels are square; for the rest, the mask is divided into sub-pixels whose sides
    differ by less than 2 %, or as little as ``most`` sub-pixels a side allow.
    """
    if abs(sy - sx) <= 1e-6 * max(sy, sx):
        return 1, 1
    best = (1, 1)
    err = abs(sy - sx) / max(sy, sx)
    for fy in range(1, most + 1):
        for fx in range(1, most + 1):
            e = abs(sy / fy - sx / fx) / max(sy / fy, sx / fx)
            if e < err - 1e-9:
                best, err = (fy, fx), e
        if err < 0.02:
            break
    return best
