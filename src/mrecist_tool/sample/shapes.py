"""Analytic shapes in patient space (LPS mm) with a signed distance, for the phantom.

Each shape gives an approximate signed distance in mm (negative inside) on any grid of points,
and its bounding box, so it can be painted slab by slab with a soft, partial-volume edge and
turned into an exact ground-truth mask (signed distance <= 0 at the voxel centre).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F = NDArray[np.float64]


@dataclass(frozen=True)
class Ellipsoid:
    """An ellipsoid with semi-axes ``radii`` (mm), rotated by ``yaw`` degrees about S."""

    centre: tuple[float, float, float]
    radii: tuple[float, float, float]
    yaw: float = 0.0

    def bounds(self) -> tuple[F, F]:
        r = max(self.radii[0], self.radii[1])
        half = np.array([r, r, self.radii[2]])
        c = np.asarray(self.centre, dtype=float)
        return c - half, c + half

    def sdf(self, x: F, y: F, z: F) -> F:
        dx, dy, dz = x - self.centre[0], y - self.centre[1], z - self.centre[2]
        if self.yaw:
            t = np.radians(self.yaw)
            dx, dy = dx * np.cos(t) + dy * np.sin(t), -dx * np.sin(t) + dy * np.cos(t)
        a, b, c = self.radii
        f = (dx / a) ** 2 + (dy / b) ** 2 + (dz / c) ** 2 - 1.0
        # first-order distance f / |grad f|; exact on a sphere's surface, fine near others
        g = 2 * np.sqrt((dx / a**2) ** 2 + (dy / b**2) ** 2 + (dz / c**2) ** 2)
        return f / np.maximum(g, 1e-6)

    def scaled(self, k: float) -> Ellipsoid:
        return Ellipsoid(self.centre, (self.radii[0] * k, self.radii[1] * k, self.radii[2] * k),
                         self.yaw)

    def grown(self, mm: float) -> Ellipsoid:
        return Ellipsoid(self.centre, tuple(r + mm for r in self.radii), self.yaw)  # type: ignore[arg-type]

    def surface_point(self, direction: tuple[float, float, float]) -> F:
        """The point of the surface in ``direction`` (unit vector, LPS) from the centre."""
        d = np.asarray(direction, dtype=float)
        d = d / np.linalg.norm(d)
        t = np.radians(self.yaw)
        local = np.array([d[0] * np.cos(t) + d[1] * np.sin(t),
                          -d[0] * np.sin(t) + d[1] * np.cos(t), d[2]])
        s = 1.0 / np.sqrt(((local / np.asarray(self.radii)) ** 2).sum())
        return np.asarray(self.centre, dtype=float) + s * d


@dataclass(frozen=True)
class Cylinder:
    """An elliptic cylinder along S between ``z0`` and ``z1`` (mm)."""

    centre: tuple[float, float]
    radii: tuple[float, float]
    z0: float = -1e4
    z1: float = 1e4

    def bounds(self) -> tuple[F, F]:
        c, r = self.centre, self.radii
        return (np.array([c[0] - r[0], c[1] - r[1], self.z0]),
                np.array([c[0] + r[0], c[1] + r[1], self.z1]))

    def sdf(self, x: F, y: F, z: F) -> F:
        dx, dy = x - self.centre[0], y - self.centre[1]
        a, b = self.radii
        f = (dx / a) ** 2 + (dy / b) ** 2 - 1.0
        g = 2 * np.sqrt((dx / a**2) ** 2 + (dy / b**2) ** 2)
        d = f / np.maximum(g, 1e-6) + 0 * z
        return np.maximum(d, np.maximum(self.z0 - z, z - self.z1))


@dataclass(frozen=True)
class Capsule:
    """A tube of radius ``radius`` (mm) around the segment ``p0``–``p1``: a vessel."""

    p0: tuple[float, float, float]
    p1: tuple[float, float, float]
    radius: float

    def bounds(self) -> tuple[F, F]:
        a, b = np.asarray(self.p0, dtype=float), np.asarray(self.p1, dtype=float)
        return np.minimum(a, b) - self.radius, np.maximum(a, b) + self.radius

    def sdf(self, x: F, y: F, z: F) -> F:
        a = np.asarray(self.p0, dtype=float)
        ab = np.asarray(self.p1, dtype=float) - a
        px, py, pz = x - a[0], y - a[1], z - a[2]
        t = np.clip((px * ab[0] + py * ab[1] + pz * ab[2]) / float(ab @ ab), 0.0, 1.0)
        return np.sqrt((px - t * ab[0]) ** 2 + (py - t * ab[1]) ** 2 + (pz - t * ab[2]) ** 2) - self.radius


Shape = Ellipsoid | Cylinder | Capsule
