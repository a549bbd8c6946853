"""Analytic phantoms for the margin and gap tests: shapes in patient space (LPS, mm) sampled on
grids of any spacing and orientation the way a reader's mask samples a lesion (a voxel is in
the mask when its centre is inside the shape), with the exact distances they should give."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mrecist_tool.geometry.grid import Grid

GRIDS = {
    "0.5iso": (0.5, 0.5, 0.5),
    "0.8x0.8x2.5": (2.5, 0.8, 0.8),
    "0.7x0.7x5": (5.0, 0.7, 0.7),
}


def rotation(axis: str, degrees: float) -> NDArray[np.float64]:
    a = np.deg2rad(degrees)
    c, s = np.cos(a), np.sin(a)
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


# columns: LPS directions of the x (column), y (row) and z (slice) index axes
ORIENTATIONS = {
    "axial": np.eye(3),
    # coronal slices: rows run head to foot, slices go posterior
    "coronal": np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]]),
    "oblique": rotation("x", 25) @ rotation("y", 15) @ rotation("z", 10),
}


@dataclass(frozen=True)
class Ellipsoid:
    centre: NDArray[np.float64]
    axes: NDArray[np.float64]  # semi-axes, mm
    rotation: NDArray[np.float64]  # columns: the ellipsoid's axes in LPS

    @classmethod
    def sphere(cls, centre, r: float) -> Ellipsoid:
        return cls(np.asarray(centre, float), np.array([r, r, r], float), np.eye(3))

    def inside(self, p: NDArray[np.float64]) -> NDArray[np.bool_]:
        q = (p - self.centre) @ self.rotation / self.axes
        return (q * q).sum(-1) <= 1.0

    def surface_points(self, n: int = 200) -> NDArray[np.float64]:
        """A dense parametric sample of the surface (n × 2n points)."""
        th = np.linspace(0, np.pi, n)
        ph = np.linspace(0, 2 * np.pi, 2 * n, endpoint=False)
        t, f = np.meshgrid(th, ph, indexing="ij")
        unit = np.stack([np.sin(t) * np.cos(f), np.sin(t) * np.sin(f), np.cos(t)], -1).reshape(-1, 3)
        return self.centre + (unit * self.axes) @ self.rotation.T


def grid_around(spacing, direction, centre, half_extent_mm: float, jitter=(0.0, 0.0, 0.0)) -> tuple[Grid, tuple[int, int, int]]:
    """A grid of ``spacing`` and ``direction`` covering a cube around ``centre``."""
    sz, sy, sx = spacing
    shape = (int(2 * half_extent_mm / sz) + 2, int(2 * half_extent_mm / sy) + 2, int(2 * half_extent_mm / sx) + 2)
    d = np.asarray(direction, float)
    middle = np.array([shape[2] * sx, shape[1] * sy, shape[0] * sz]) / 2
    origin = np.asarray(centre, float) - d @ middle + np.asarray(jitter, float)
    return Grid.make(spacing, origin, d), shape


def sample(shape_fn, grid: Grid, shape: tuple[int, int, int]) -> NDArray[np.bool_]:
    """The mask of a shape on a grid (voxel centres inside)."""
    out = np.zeros(shape, bool)
    yy, xx = np.meshgrid(np.arange(shape[1]), np.arange(shape[2]), indexing="ij")
    for z in range(shape[0]):
        idx = np.stack([np.full(yy.shape, z), yy, xx], -1).astype(float)
        out[z] = shape_fn(grid.index_to_point(idx))
    return out


def sphere_margin(tumour: Ellipsoid, zone: Ellipsoid) -> tuple[float, NDArray[np.float64]]:
    """Exact MAM between two spheres, and where on the tumour it is smallest."""
    rt, ra = tumour.axes[0], zone.axes[0]
    v = tumour.centre - zone.centre
    n = np.linalg.norm(v)
    u = v / n if n > 0 else np.array([1.0, 0, 0])
    return float(ra - n - rt), tumour.centre + rt * u


def ellipsoid_distance(e: Ellipsoid, p: NDArray[np.float64]) -> NDArray[np.float64]:
    """Exact distance from points to an ellipsoid's surface (Eberly, "Distance from a point to
    an ellipse, an ellipsoid, or a hyperellipsoid", 2013): the root of a monotone function,
    found by bisection for all points at once."""
    y = np.abs((p - e.centre) @ e.rotation) + 1e-12
    a = e.axes
    lo = np.full(len(y), -a.min() ** 2 + 1e-12)
    hi = -a.min() ** 2 + np.sqrt(((a * y) ** 2).sum(-1)) + 1.0
    for _ in range(200):
        t = (lo + hi) / 2
        f = (((a * y) / (t[:, None] + a * a)) ** 2).sum(-1) - 1.0
        lo = np.where(f > 0, t, lo)
        hi = np.where(f > 0, hi, t)
    t = (lo + hi) / 2
    x = a * a * y / (t[:, None] + a * a)
    return np.linalg.norm(x - y, axis=-1)


def numeric_margin(tumour: Ellipsoid, zone: Ellipsoid) -> tuple[float, NDArray[np.float64]]:
    """MAM of any two ellipsoids: exact signed distance from a dense sample of the tumour's
    surface to the zone's surface (the sample's spacing, < 0.2 mm here, bounds the error)."""
    ts = tumour.surface_points(160)
    d = ellipsoid_distance(zone, ts)
    signed = np.where(zone.inside(ts), d, -d)
    k = int(np.argmin(signed))
    return float(signed[k]), ts[k]


def tolerance(spacing, direction, u_lps) -> float:
    """0.5 mm plus half the voxel pitch along the direction ``u_lps`` (issue 10)."""
    d = np.asarray(direction, float)
    ux, uy, uz = d.T @ (np.asarray(u_lps, float) / np.linalg.norm(u_lps))
    sz, sy, sx = spacing
    return 0.5 + 0.5 * float(np.sqrt((ux * sx) ** 2 + (uy * sy) ** 2 + (uz * sz) ** 2))
