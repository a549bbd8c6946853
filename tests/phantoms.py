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


# --------------------------------------------------------------------------------------------
# A synthetic liver CT for the registration tests: analytic, so a moved or deformed copy is
# rendered exactly (no resampling of the reference)


class LiverScene:
    """Body, spine, kidney, a liver with vessels, a hypodense tumour and (after ablation) a zone."""

    tumour_centre = np.array([-40.0, 5.0, 8.0])
    tumour_radius = 9.0
    zone_centre = np.array([-38.0, 6.0, 8.5])
    zone_radius = 15.0
    liver = Ellipsoid(np.array([-45.0, 0.0, 5.0]), np.array([62.0, 52.0, 48.0]), rotation("z", 15) @ rotation("x", 10))

    # parenchymal heterogeneity: a fixed sum of plane waves (wavelengths 12-40 mm, ±25 HU)
    _waves = np.random.default_rng(11).normal(size=(24, 3))
    _k = _waves / np.linalg.norm(_waves, axis=1, keepdims=True) * (2 * np.pi / np.random.default_rng(12).uniform(12, 40, 24))[:, None]
    _phase = np.random.default_rng(13).uniform(0, 2 * np.pi, 24)

    def texture(self, p: NDArray[np.float64]) -> NDArray[np.float64]:
        return 25.0 * np.cos(p @ self._k.T + self._phase).sum(-1) / np.sqrt(len(self._phase) / 2)

    def ct(self, p: NDArray[np.float64], ablated: bool) -> NDArray[np.float32]:
        x, y, z = p[..., 0], p[..., 1], p[..., 2]
        out = np.full(x.shape, -1000.0, dtype=np.float32)
        out[(x / 140.0) ** 2 + (y / 105.0) ** 2 <= 1] = -90.0  # fat
        out[(x / 130.0) ** 2 + (y / 95.0) ** 2 <= 1] = 40.0  # muscle / viscera
        out[(x - 55) ** 2 / 28**2 + (y - 50) ** 2 / 20**2 + (z + 10) ** 2 / 40**2 <= 1] = 30.0  # kidney
        out[(x - 5) ** 2 + (y - 65) ** 2 <= 16**2] = 450.0  # spine
        out[(x - 5) ** 2 + (y - 65) ** 2 <= 10**2] = 250.0
        out[(x - 20) ** 2 + (y - 45) ** 2 <= 11**2] = 170.0  # aorta
        inside = self.liver.inside(p)
        out[inside] = 95.0 + self.texture(p[inside])
        # vessels: capsules inside the liver
        for a, b, r in (((-10, 20, -30), (-50, 8, 0), 6.0), ((-50, 8, 0), (-85, 5, 10), 4.5),
                        ((-50, 8, 0), (-70, -35, 25), 4.0), ((-30, 30, 40), (-90, 15, 20), 4.5),
                        ((-30, 30, 40), (-20, -40, 30), 3.5), ((-60, -20, -25), (-95, 20, -15), 3.5)):
            out[inside & (_capsule_distance(p, np.array(a, float), np.array(b, float)) <= r)] = 180.0
        if ablated:
            zone = ((p - self.zone_centre) ** 2).sum(-1) <= self.zone_radius**2
            out[zone] = 25.0
            out[((p - self.zone_centre) ** 2).sum(-1) <= (self.zone_radius - 3) ** 2] = 10.0
        else:
            out[((p - self.tumour_centre) ** 2).sum(-1) <= self.tumour_radius**2] = 50.0
        return out


def _capsule_distance(p: NDArray[np.float64], a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    ab = b - a
    t = np.clip(((p - a) @ ab) / (ab @ ab), 0, 1)
    return np.linalg.norm(p - (a + t[..., None] * ab), axis=-1)


def sitk_image(array: NDArray, grid: Grid):
    """A SimpleITK image of ``array`` (z, y, x) placed on ``grid``."""
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(np.ascontiguousarray(array))
    sz, sy, sx = grid.spacing
    img.SetSpacing((sx, sy, sz))
    img.SetOrigin(tuple(float(v) for v in grid.origin))
    img.SetDirection(tuple(float(v) for v in np.asarray(grid.direction).ravel()))
    return img


def render(fn, grid: Grid, shape) -> NDArray:
    """``fn`` (points → values) on every voxel centre of ``grid``."""
    out = None
    yy, xx = np.meshgrid(np.arange(shape[1]), np.arange(shape[2]), indexing="ij")
    for z in range(shape[0]):
        idx = np.stack([np.full(yy.shape, z), yy, xx], -1).astype(float)
        v = fn(grid.index_to_point(idx))
        if out is None:
            out = np.zeros(shape, dtype=v.dtype)
        out[z] = v
    return out
