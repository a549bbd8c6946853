"""Triangle meshes of reconstructed surfaces, and exact point-to-surface distances.

A :class:`~mrecist_tool.geometry.surface.SurfaceModel` is sampled on a fine lattice and its zero
level set extracted with marching cubes (:func:`skimage.measure.marching_cubes`, Lewiner's
variant); vertices then sit on the reconstructed surface to within the lattice's linear
interpolation.  Distances from points to a mesh are exact point-to-triangle distances (Ericson,
*Real-Time Collision Detection*, §5.1.5), taken over the triangles around the few mesh vertices
nearest to each point, which always include the triangle holding the nearest surface point on
a smooth closed surface sampled this finely.

All coordinates here are ``(x, y, z)`` points of one frame: LPS millimetres when the grids are
placed in patient space, index millimetres otherwise (see :mod:`mrecist_tool.geometry.grid`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from .grid import Grid

FloatArray = NDArray[np.float64]

#: mesh vertices examined per query point (their incident triangles are measured exactly)
K_NEAREST = 2


@dataclass(frozen=True)
class Mesh:
    """A closed triangle mesh: vertices (x, y, z), faces, and each vertex's share of the area."""

    vertices: FloatArray
    faces: NDArray[np.intp]
    vertex_area: FloatArray
    normals: FloatArray  # outward unit normals at the vertices (pointing outside the lesion)

    @property
    def area_mm2(self) -> float:
        return float(self.vertex_area.sum())

    def subset(self, keep_faces: NDArray[np.bool_]) -> Mesh:
        """The mesh made of the faces where ``keep_faces`` is true (vertices renumbered)."""
        faces = self.faces[keep_faces]
        used = np.unique(faces)
        remap = np.full(len(self.vertices), -1, dtype=np.intp)
        remap[used] = np.arange(used.size)
        return Mesh(self.vertices[used], remap[faces], self.vertex_area[used], self.normals[used])


def extract_mesh(
    values: NDArray[np.float32],
    lo: FloatArray,
    inc: FloatArray,
    grid: Grid,
    to_point: Callable[[FloatArray], FloatArray] | None = None,
) -> Mesh | None:
    """The zero level set of a field sampled on a lattice of ``grid``, as a mesh.

    ``lo`` and ``inc`` are the lattice's first index and index step (in ``grid``'s voxels);
    vertices come back as points of ``grid`` (``to_point`` overrides the index → point map).
    ``None`` when the field has no zero crossing.
    """
    from skimage.measure import marching_cubes

    if values.size == 0 or not (values.max() > 0 > values.min()):
        return None
    verts, faces, normals, _ = marching_cubes(values, level=0.0, allow_degenerate=False)
    idx = np.asarray(lo, dtype=float) + verts * np.asarray(inc, dtype=float)
    mapper = to_point or grid.index_to_point
    pts = np.asarray(mapper(idx), dtype=float)
    # skimage's normals point up the gradient (inside, where the field grows): flip them, and
    # carry them from index space into the point frame (orthonormal map, anisotropic scale)
    sp = np.asarray(grid.spacing, dtype=float)
    g = -normals / sp  # gradient in mm⁻¹ along (z, y, x)
    gz, gy, gx = g[:, 0], g[:, 1], g[:, 2]
    d = np.eye(3) if grid.direction is None else np.asarray(grid.direction)
    n = np.stack([gx, gy, gz], axis=-1) @ d.T
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
    tri = pts[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=-1)
    vertex_area = np.zeros(len(pts))
    for j in range(3):
        np.add.at(vertex_area, faces[:, j], area / 3)
    return Mesh(pts, faces.astype(np.intp), vertex_area, n)


def _incident(faces: NDArray[np.intp], n_vertices: int) -> NDArray[np.intp]:
    """Faces around each vertex, padded with -1: (n_vertices, max valence)."""
    owner = faces.ravel()
    face_of = np.repeat(np.arange(len(faces)), 3)
    order = np.argsort(owner, kind="stable")
    owner, face_of = owner[order], face_of[order]
    counts = np.bincount(owner, minlength=n_vertices)
    width = int(counts.max()) if counts.size else 1
    out = np.full((n_vertices, max(width, 1)), -1, dtype=np.intp)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    col = np.arange(owner.size) - starts[owner]
    out[owner, col] = face_of
    return out


def closest_on_triangles(p: FloatArray, a: FloatArray, b: FloatArray, c: FloatArray) -> FloatArray:
    """Closest points to ``p`` on triangles ``(a, b, c)`` (all arrays (N, 3))."""
    ab, ac, ap = b - a, c - a, p - a
    d1 = np.einsum("ij,ij->i", ab, ap)
    d2 = np.einsum("ij,ij->i", ac, ap)
    bp = p - b
    d3 = np.einsum("ij,ij->i", ab, bp)
    d4 = np.einsum("ij,ij->i", ac, bp)
    cp = p - c
    d5 = np.einsum("ij,ij->i", ab, cp)
    d6 = np.einsum("ij,ij->i", ac, cp)
    vc = d1 * d4 - d3 * d2
    vb = d5 * d2 - d1 * d6
    va = d3 * d6 - d5 * d4
    with np.errstate(divide="ignore", invalid="ignore"):
        v_ab = d1 / (d1 - d3)
        w_ac = d2 / (d2 - d6)
        w_bc = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        denom = 1.0 / (va + vb + vc)
        v_f = vb * denom
        w_f = vc * denom
        # A degenerate triangle gives inf/NaN here; it is replaced by its nearest corner below.
        choices = [a, b, a + v_ab[:, None] * ab, c, a + w_ac[:, None] * ac, b + w_bc[:, None] * (c - b)]
        face = a + v_f[:, None] * ab + w_f[:, None] * ac
    conds = [
        (d1 <= 0) & (d2 <= 0),
        (d3 >= 0) & (d4 <= d3),
        (vc <= 0) & (d1 >= 0) & (d3 <= 0),
        (d6 >= 0) & (d5 <= d6),
        (vb <= 0) & (d2 >= 0) & (d6 <= 0),
        (va <= 0) & ((d4 - d3) >= 0) & ((d5 - d6) >= 0),
    ]
    out = face.copy()
    for cond, ch in zip(reversed(conds), reversed(choices), strict=True):
        out = np.where(cond[:, None], ch, out)
    bad = ~np.all(np.isfinite(out), axis=1)
    if bad.any():  # a degenerate triangle: fall back to its nearest corner
        corners = np.stack([a[bad], b[bad], c[bad]], axis=1)
        k = np.argmin(np.linalg.norm(corners - p[bad][:, None], axis=-1), axis=1)
        out[bad] = corners[np.arange(k.size), k]
    return out


class MeshDistance:
    """Exact distances from points to one mesh (the mesh indexed once, queried many times).

    A k-d tree answers "nearest vertices" fast only for points near the surface: from the
    middle of a closed surface every vertex is almost equally near, and the search visits them
    all.  So each query point is first given a *seed* on the surface -- the nearest boundary
    voxel of the sampled field, from one Euclidean feature transform of the lattice the mesh
    came from -- and the exact distance is taken over the triangles around the vertices nearest
    to the seed, then once more around the foot point found, which settles on the nearest
    triangle.
    """

    def __init__(self, mesh: Mesh, lattice: tuple[NDArray[np.float32], FloatArray, FloatArray, Grid] | None = None
                 ) -> None:
        self.mesh = mesh
        self.tree = cKDTree(mesh.vertices)
        self.incident = _incident(mesh.faces, len(mesh.vertices))
        self._seeds: FloatArray | None = None
        if lattice is not None:
            self._index_seeds(*lattice)

    def _index_seeds(self, values: NDArray[np.float32], lo: FloatArray, inc: FloatArray, grid: Grid) -> None:
        from scipy import ndimage

        inside = values > 0
        edge = inside ^ ndimage.binary_erosion(inside, border_value=0)
        edge |= ~inside & ndimage.binary_dilation(inside)
        if not edge.any():
            return
        step_mm = np.asarray(inc, dtype=float) * np.asarray(grid.spacing, dtype=float)
        _, feat = ndimage.distance_transform_edt(~edge, sampling=step_mm, return_indices=True)
        self._feat = feat.astype(np.int32)
        self._lo = np.asarray(lo, dtype=float)
        self._inc = np.asarray(inc, dtype=float)
        self._grid = grid
        self._seeds = np.zeros(0)

    def _seed(self, pts: FloatArray) -> FloatArray:
        """A point of the surface near the nearest one, for every point on the lattice; the
        point itself elsewhere."""
        if self._seeds is None:
            return pts
        idx = (self._grid.point_to_index(pts) - self._lo) / self._inc
        ijk = np.rint(idx).astype(np.int64)
        shape = np.array(self._feat.shape[1:])
        on = np.all((ijk >= 0) & (ijk < shape), axis=1)
        out = pts.copy()
        if on.any():
            f = self._feat[:, ijk[on, 0], ijk[on, 1], ijk[on, 2]].T
            out[on] = self._grid.index_to_point(self._lo + f * self._inc)
        return out

    def _local(self, p: FloatArray, seed: FloatArray, k: int) -> tuple[FloatArray, FloatArray]:
        v = self.mesh.vertices
        _, near = self.tree.query(seed, k=k)
        near = np.asarray(near).reshape(len(p), k)
        faces = self.incident[near].reshape(len(p), -1)  # (P, k * valence), -1 padded
        valid = faces >= 0
        tri = self.mesh.faces[np.where(valid, faces, 0)]  # (P, W, 3)
        pp = np.broadcast_to(p[:, None, :], (*faces.shape, 3)).reshape(-1, 3)
        q = closest_on_triangles(pp, v[tri[..., 0]].reshape(-1, 3), v[tri[..., 1]].reshape(-1, 3),
                                 v[tri[..., 2]].reshape(-1, 3)).reshape(*faces.shape, 3)
        d = np.linalg.norm(q - p[:, None, :], axis=-1)
        d[~valid] = np.inf
        j = np.argmin(d, axis=1)
        rows = np.arange(len(p))
        return d[rows, j], q[rows, j]

    def query(self, points: FloatArray, chunk: int = 4000) -> tuple[FloatArray, FloatArray]:
        """Distance (mm) from each point to the mesh and the nearest surface point."""
        pts = np.asarray(points, dtype=float).reshape(-1, 3)
        dist = np.empty(len(pts))
        foot = np.empty_like(pts)
        k1 = min(K_NEAREST, len(self.mesh.vertices))
        k2 = min(3, len(self.mesh.vertices))
        for s in range(0, len(pts), chunk):
            p = pts[s : s + chunk]
            d, q = self._local(p, self._seed(p), k1)
            d2, q2 = self._local(p, q, k2)  # around the foot found: the nearest triangle
            better = d2 < d
            d = np.where(better, d2, d)
            q = np.where(better[:, None], q2, q)
            dist[s : s + len(p)] = d
            foot[s : s + len(p)] = q
        return dist, foot
