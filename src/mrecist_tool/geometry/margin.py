"""The minimal ablative margin between reconstructed surfaces (MAR-3, MAR-4, MAR-6, MAR-7).

The tumour surface ∂T and the ablation-zone surface ∂A are reconstructed from their masks
(:mod:`.surface`), meshed on a lattice of at most ``step_mm`` (0.5 mm by default, rule MAR-3's
``margin_isotropic_spacing_mm``), and the margin field is the signed distance from every vertex
of ∂T to the mesh of ∂A: positive inside A, negative outside (MAR-4).  The MAM is its minimum,
located in LPS; the surface fractions and quantiles are weighted by the area each vertex stands
for, so a finely meshed region does not count more than a coarse one.

The tumour may live on another grid than the zone (a different series), and may be related to
it by a registration: ``tumour_map`` takes LPS points of the zone's (post-ablation) space to the
tumour's (pre-ablation) space, the direction in which registrations are expressed, so the
tumour's field is *pulled* onto a lattice of the zone's space -- its surface warped with a
smooth interpolation of its signed distance rather than nearest-neighbour voxels.

Subcapsular correction (MAR-6): where the zone stops at the liver capsule, margin cannot be
gained beyond it, so the corrected margin measures only to the intraparenchymal part of ∂A --
the zone's surface less the part within one voxel (of the liver mask's grid, along the surface
normal) of the outside of the liver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from .grid import Grid
from .mesh import Mesh, MeshDistance, extract_mesh
from .surface import SurfaceModel

FloatArray = NDArray[np.float64]
PointMap = Callable[[FloatArray], FloatArray]

#: slices thicker than this leave the surface between them uncertain: flag the margin
THICK_SLICE_MM = 2.5


@dataclass(frozen=True)
class MarginResult:
    """The margin of an ablation zone around a tumour (MAR-7).

    Lengths in mm.  The margin at a point of the tumour surface is its signed distance to the
    zone's surface: positive inside the zone, negative outside (MAR-4).  Surface fractions and
    quantiles are weighted by the area each surface vertex stands for.

    Attributes
    ----------
    mam_mm : float
        The minimal ablative margin (MAM), mm.
    min_point : tuple of float
        The LPS point of the tumour surface where the margin is smallest (the predicted LTP
        site) -- index millimetres when the grids have no origin.
    min_index : tuple of float
        The same point as fractional (z, y, x) indices of the zone's grid.
    nearest_zone_point : tuple of float
        The point of the zone's surface nearest to it.
    coverage : float
        Share of the tumour's volume inside the zone, 0 to 1.
    fraction_ge_5mm : float
        Share of the tumour surface with a margin of 5 mm or more.
    fraction_ge_10mm : float
        Share of the tumour surface with a margin of 10 mm or more.
    q05_mm : float
        5th percentile of the margin over the tumour surface, mm.
    q50_mm : float
        Median margin over the tumour surface, mm.
    tolerance_mm : float
        How far the MAM may be from the truth given the voxels: 0.5 mm plus half the voxel
        pitch along the direction of the minimum.
    mam_corrected_mm : float or None
        The MAM after the subcapsular correction (MAR-6); None without a liver mask.
    min_point_corrected : tuple of float or None
        Where the corrected MAM is.
    capsule_fraction : float or None
        Share of the zone's surface at the liver capsule (MAR-6).
    flags : tuple of str
        What a reader should check (thick slices, no liver mask, a zone at the capsule).
    surface_vertices : numpy.ndarray
        The tumour surface mesh's vertices, as zone-grid indices (for display).
    surface_faces : numpy.ndarray
        Its triangles, as vertex indices.
    surface_margin : numpy.ndarray
        The margin at each vertex, mm.
    """

    mam_mm: float
    min_point: tuple[float, float, float]
    min_index: tuple[float, float, float]
    nearest_zone_point: tuple[float, float, float]
    coverage: float
    fraction_ge_5mm: float
    fraction_ge_10mm: float
    q05_mm: float
    q50_mm: float
    tolerance_mm: float
    mam_corrected_mm: float | None = None
    min_point_corrected: tuple[float, float, float] | None = None
    capsule_fraction: float | None = None  # share of the zone's surface at the capsule (MAR-6)
    flags: tuple[str, ...] = ()
    surface_vertices: FloatArray = field(default_factory=lambda: np.zeros((0, 3)), repr=False, compare=False)
    surface_faces: NDArray[np.intp] = field(default_factory=lambda: np.zeros((0, 3), np.intp), repr=False, compare=False)
    surface_margin: FloatArray = field(default_factory=lambda: np.zeros(0), repr=False, compare=False)


def _same_grid(a: Grid, b: Grid) -> bool:
    if not np.allclose(a.spacing, b.spacing, atol=1e-6):
        return False
    if (a.origin is None) != (b.origin is None):
        return False
    if a.origin is not None and not np.allclose(a.origin, b.origin, atol=1e-4):  # type: ignore[arg-type]
        return False
    da = np.eye(3) if a.direction is None else a.direction
    db = np.eye(3) if b.direction is None else b.direction
    return bool(np.allclose(da, db, atol=1e-6))


def _pitch_along(grid: Grid, u_point: FloatArray) -> float:
    """Voxel pitch (mm) of ``grid`` along the unit direction ``u_point`` of the point frame."""
    d = np.eye(3) if grid.direction is None else np.asarray(grid.direction)
    ux, uy, uz = d.T @ u_point  # components along the grid's x, y, z axes
    sz, sy, sx = grid.spacing
    return float(np.sqrt((ux * sx) ** 2 + (uy * sy) ** 2 + (uz * sz) ** 2))


def _pitch_along_many(grid: Grid, u_points: FloatArray) -> FloatArray:
    """:func:`_pitch_along` for many directions (rows)."""
    d = np.eye(3) if grid.direction is None else np.asarray(grid.direction)
    comp = u_points @ d  # components along the grid's x, y, z axes
    sz, sy, sx = grid.spacing
    return np.asarray(np.sqrt((comp[:, 0] * sx) ** 2 + (comp[:, 1] * sy) ** 2 + (comp[:, 2] * sz) ** 2))


def lattice_values(
    model: SurfaceModel,
    frame: Grid,
    lo: FloatArray,
    shape: tuple[int, int, int],
    inc: FloatArray,
    point_map: PointMap | None = None,
) -> NDArray[np.float32]:
    """``model``'s field on a lattice of ``frame`` (first index ``lo``, step ``inc``), pulled
    through ``point_map`` (points of ``frame``'s space → points of ``model``'s space)."""
    axes = [lo[i] + inc[i] * np.arange(shape[i]) for i in range(3)]
    out = np.empty(shape, dtype=np.float32)
    zz_yy = np.stack(np.meshgrid(axes[1], axes[2], indexing="ij"), axis=-1).reshape(-1, 2)
    for i, z in enumerate(axes[0]):  # slab by slab: bounded memory on large lattices
        idx = np.column_stack([np.full(len(zz_yy), z), zz_yy])
        pts = frame.index_to_point(idx)
        if point_map is not None:
            pts = point_map(pts)
        out[i] = model.evaluate(model.grid.point_to_index(pts)).reshape(shape[1], shape[2])
    return out


def _lattice_over(frame: Grid, lo_idx: FloatArray, hi_idx: FloatArray, step_mm: float
                  ) -> tuple[FloatArray, tuple[int, int, int], FloatArray]:
    sp = np.asarray(frame.spacing, dtype=float)
    inc = 1.0 / np.maximum(1, np.ceil(sp / step_mm - 1e-9))
    lo = np.floor(lo_idx / inc) * inc
    n = np.ceil((hi_idx - lo) / inc).astype(int) + 1
    return lo, (int(n[0]), int(n[1]), int(n[2])), inc


def placed_bounds(model: SurfaceModel, frame: Grid, pad_mm: float,
                  inverse_map: PointMap | None = None) -> tuple[FloatArray, FloatArray]:
    """Index bounds, in ``frame``, of ``model``'s surface (mapped by ``inverse_map``, model →
    frame space), padded by ``pad_mm``."""
    lo, hi = np.asarray(model.bbox[0]), np.asarray(model.bbox[1])
    corners = np.array([[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1]) for c in (lo[2], hi[2])])
    pts = model.grid.index_to_point(corners)
    if inverse_map is not None:
        pts = inverse_map(pts)
    idx = frame.point_to_index(pts)
    pad = pad_mm / np.asarray(frame.spacing, dtype=float)
    return idx.min(axis=0) - pad, idx.max(axis=0) + pad


def ablative_margin_models(
    tumour: SurfaceModel,
    zone: SurfaceModel,
    *,
    liver: SurfaceModel | None = None,
    tumour_map: PointMap | None = None,
    tumour_bounds: tuple[FloatArray, FloatArray] | None = None,
    step_mm: float = 0.5,
    subcapsular_correction: bool = True,
) -> MarginResult:
    """Margin of ``zone`` around ``tumour`` (see the module docstring).

    Parameters
    ----------
    tumour : SurfaceModel
        The tumour's reconstructed surface.
    zone : SurfaceModel
        The ablation zone's reconstructed surface.
    liver : SurfaceModel, optional
        The post-ablation liver (MAR-6).
    tumour_map : callable, optional
        LPS points of the zone's space → the tumour's space (a registration); without it, the
        tumour is taken as already in the zone's space (the same grid, or another grid of the
        same frame of reference).
    tumour_bounds : tuple of (numpy.ndarray, numpy.ndarray), optional
        Index bounds in the zone's grid where the mapped tumour lies (needed with
        ``tumour_map``, whose inverse this module does not know).
    step_mm : float
        Lattice step (MAR-3).
    subcapsular_correction : bool
        Compute the corrected MAM when ``liver`` is given (MAR-6).

    Returns
    -------
    MarginResult
        The margin and where it is smallest.

    Raises
    ------
    ValueError
        When the masks are on different grids that are not placed in patient space, or when the
        tumour's surface cannot be found where it was mapped.
    """
    frame = zone.grid
    flags: list[str] = []
    zv, zlo, zinc = zone.sample(step_mm)
    zone_mesh = extract_mesh(zv, zlo, zinc, frame)
    if zone_mesh is None:
        raise ValueError("the ablation zone has no surface")

    same = tumour_map is None and _same_grid(tumour.grid, frame)
    if same:
        tv, tlo, tinc = tumour.sample(step_mm)
    else:
        if tumour.grid.origin is None or frame.origin is None:
            raise ValueError("the tumour and zone masks are on different grids without patient positions: "
                             "they cannot be compared")
        if tumour_bounds is None:
            if tumour_map is not None:
                raise ValueError("tumour_bounds are needed with tumour_map")
            tumour_bounds = placed_bounds(tumour, frame, 2.0)
        tlo, tshape, tinc = _lattice_over(frame, tumour_bounds[0], tumour_bounds[1], step_mm)
        tv = lattice_values(tumour, frame, tlo, tshape, tinc, tumour_map)
        if tv.max() > 0:  # shrink the lattice to the tumour, then re-sample with a border
            inside = np.argwhere(tv > 0)
            a = tlo + (inside.min(axis=0) - 4) * tinc
            b = tlo + (inside.max(axis=0) + 4) * tinc
            tlo, tshape, tinc = _lattice_over(frame, a, b, step_mm)
            tv = lattice_values(tumour, frame, tlo, tshape, tinc, tumour_map)
    tumour_mesh = extract_mesh(tv, tlo, tinc, frame)
    if tumour_mesh is None:
        raise ValueError("the tumour has no surface in the zone's space (empty after mapping, or cut off)")

    verts = tumour_mesh.vertices
    inside_zone = zone.evaluate(frame.point_to_index(verts)) > 0
    zone_distance = MeshDistance(zone_mesh, (zv, zlo, zinc, frame))
    dist, foot = zone_distance.query(verts)
    m = np.where(inside_zone, dist, -dist)
    w = tumour_mesh.vertex_area
    k = int(np.argmin(m))

    # coverage |T ∩ A| / |T| on the tumour lattice
    t_in = np.argwhere(tv > 0)
    t_idx = tlo + t_in * tinc
    covered = zone.evaluate(t_idx) > 0
    coverage = float(covered.mean()) if covered.size else 0.0

    u = foot[k] - verts[k]
    n = float(np.linalg.norm(u))
    u = u / n if n > 1e-9 else tumour_mesh.normals[k]
    grids = [frame, tumour.grid]
    pitch = max(_pitch_along(g, u) for g in grids)
    thickest = max(max(g.spacing) for g in grids)
    if thickest > THICK_SLICE_MM:
        flags.append(f"thick-slices: {thickest:g} mm voxels; the surface between slices is reconstructed, "
                     f"MAM uncertain by about ±{0.5 + pitch / 2:.1f} mm")

    corrected: float | None = None
    corrected_at: tuple[float, float, float] | None = None
    capsule_fraction: float | None = None
    if liver is not None and subcapsular_correction:
        corrected, corrected_at, capsule_fraction = _subcapsular(zone_mesh, liver, verts, inside_zone, flags, step_mm)
    elif subcapsular_correction:
        flags.append("no-liver-mask: subcapsular correction (MAR-6) not computed")

    return MarginResult(
        mam_mm=float(m[k]),
        min_point=_t3(verts[k]),
        min_index=_t3(frame.point_to_index(verts[k])),
        nearest_zone_point=_t3(foot[k]),
        coverage=coverage,
        fraction_ge_5mm=float(w[m >= 5].sum() / w.sum()),
        fraction_ge_10mm=float(w[m >= 10].sum() / w.sum()),
        q05_mm=_weighted_quantile(m, w, 0.05),
        q50_mm=_weighted_quantile(m, w, 0.5),
        tolerance_mm=0.5 + pitch / 2,
        mam_corrected_mm=corrected,
        min_point_corrected=corrected_at,
        capsule_fraction=capsule_fraction,
        flags=tuple(flags),
        surface_vertices=frame.point_to_index(verts),
        surface_faces=tumour_mesh.faces,
        surface_margin=m,
    )


def _subcapsular(zone_mesh: Mesh, liver: SurfaceModel, verts: FloatArray, inside_zone: NDArray[np.bool_],
                 flags: list[str], step_mm: float = 0.5) -> tuple[float | None, tuple[float, float, float] | None, float]:
    """Corrected MAM: distances only to the zone surface inside the liver parenchyma (MAR-6).

    A zone surface point is at the capsule when it lies outside the liver or within one voxel
    of the liver's surface -- the liver grid's voxel pitch along the capsule's normal, measured
    as a true distance to the liver's reconstructed surface (meshed around the zone only).
    """
    zp = zone_mesh.vertices
    lg = liver.grid
    idx = lg.point_to_index(zp)
    pad = 2.0 + max(lg.spacing)
    lo, shape, inc = _lattice_over(lg, idx.min(axis=0) - pad / np.asarray(lg.spacing),
                                   idx.max(axis=0) + pad / np.asarray(lg.spacing), step_mm)
    values = lattice_values(liver, lg, lo, shape, inc)
    inside_liver = liver.evaluate(idx) > 0
    liver_mesh = extract_mesh(values, lo, inc, lg)
    if liver_mesh is None:  # no capsule near the zone
        at = ~inside_liver
        band_ok = inside_liver
    else:
        dist, foot = MeshDistance(liver_mesh, (values, lo, inc, lg)).query(zp)
        _, nearest = liver_mesh_tree_normals(liver_mesh, foot)
        band = _pitch_along_many(lg, nearest)
        band_ok = inside_liver & (dist >= band)
        at = ~band_ok
    keep_face: NDArray[np.bool_] = np.asarray(band_ok[zone_mesh.faces].all(axis=1))
    at_capsule = float(zone_mesh.vertex_area[at].sum() / zone_mesh.vertex_area.sum())
    if at_capsule > 0:
        flags.append(f"subcapsular: {100 * at_capsule:.0f}% of the zone surface lies at the liver capsule "
                     "and is excluded from the corrected MAM (MAR-6)")
    if not keep_face.any():
        flags.append("subcapsular: no intraparenchymal zone surface left; corrected MAM not computed")
        return None, None, at_capsule
    inner = zone_mesh.subset(keep_face)
    d, _ = MeshDistance(inner).query(verts)
    mc = np.where(inside_zone, d, -d)
    j = int(np.argmin(mc))
    return float(mc[j]), _t3(verts[j]), at_capsule


def liver_mesh_tree_normals(mesh: Mesh, points: FloatArray) -> tuple[NDArray[np.intp], FloatArray]:
    """The mesh vertex nearest each point (on or next to the mesh) and its normal."""
    from scipy.spatial import cKDTree

    _, i = cKDTree(mesh.vertices).query(points)
    i = np.asarray(i, dtype=np.intp)
    return i, mesh.normals[i]


def _weighted_quantile(values: FloatArray, weights: FloatArray, q: float) -> float:
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cum = np.cumsum(w) - w / 2
    cum /= w.sum()
    return float(np.interp(q, cum, v))


def _t3(v: NDArray[np.float64]) -> tuple[float, float, float]:
    a = np.asarray(v, dtype=float).ravel()
    return (float(a[0]), float(a[1]), float(a[2]))
