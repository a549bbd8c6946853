"""Paint the phantom's layers onto an axial voxel grid, slab by slab, with noise.

Edges are soft over about one pixel (a partial-volume ramp from each shape's signed distance),
so no global filtering is needed and a 512×512×300 series can be made a few slices at a time.
Ground-truth masks are exact: a voxel belongs to a shape when its centre is inside it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from .scenarios import Layer
from .shapes import Shape
from .tissues import CT_NOISE_HU, CT_PHASES, MR_NOISE, tissue_value

SLAB = 16  # slices rendered at a time; part of the noise seeding, so keep it fixed


@dataclass(frozen=True)
class AxialGrid:
    """An axial grid: identity orientation, slices in increasing S (z)."""

    shape: tuple[int, int, int]  # (z, y, x)
    spacing: tuple[float, float, float]  # (z, y, x) mm
    origin: tuple[float, float, float]  # LPS of voxel [0, 0, 0]

    def axis(self, k: int) -> NDArray[np.float64]:
        """Coordinates (mm) along array axis ``k`` (0 = z, 1 = y, 2 = x)."""
        n = self.shape[k]
        return np.asarray(self.origin[2 - k] + np.arange(n) * self.spacing[k], dtype=np.float64)

    def index_range(self, k: int, lo: float, hi: float) -> tuple[int, int]:
        o, s, n = self.origin[2 - k], self.spacing[k], self.shape[k]
        a = int(np.floor((lo - o) / s))
        b = int(np.ceil((hi - o) / s)) + 1
        return max(a, 0), min(b, n)


def _box(grid: AxialGrid, shape: Shape, z0: int, z1: int, pad: float
         ) -> tuple[slice, slice, slice] | None:
    lo, hi = shape.bounds()
    zr = grid.index_range(0, lo[2] - pad, hi[2] + pad)
    zr = (max(zr[0], z0), min(zr[1], z1))
    yr = grid.index_range(1, lo[1] - pad, hi[1] + pad)
    xr = grid.index_range(2, lo[0] - pad, hi[0] + pad)
    if zr[0] >= zr[1] or yr[0] >= yr[1] or xr[0] >= xr[1]:
        return None
    return slice(*zr), slice(*yr), slice(*xr)


def _sdf(grid: AxialGrid, shape: Shape, box: tuple[slice, slice, slice]) -> NDArray[np.float64]:
    z = grid.axis(0)[box[0]][:, None, None]
    y = grid.axis(1)[box[1]][None, :, None]
    x = grid.axis(2)[box[2]][None, None, :]
    return np.broadcast_to(shape.sdf(x, y, z), tuple(s.stop - s.start for s in box))


def slab_weights(grid: AxialGrid, layers: Sequence[Layer], z0: int, z1: int
                 ) -> list[tuple[tuple[slice, slice, slice], NDArray[np.float32], str]]:
    """Each layer's partial-volume weight inside its box, for slices ``z0:z1``."""
    width = max(grid.spacing[1], grid.spacing[2])
    out = []
    for layer in layers:
        box = _box(grid, layer.shape, z0, z1, width)
        if box is None:
            continue
        w = np.clip(0.5 - _sdf(grid, layer.shape, box) / width, 0.0, 1.0).astype(np.float32)
        if w.any():
            local = (slice(box[0].start - z0, box[0].stop - z0), box[1], box[2])
            out.append((local, w, layer.tissue))
    return out


def compose(weights: list[tuple[tuple[slice, slice, slice], NDArray[np.float32], str]],
            slab_shape: tuple[int, int, int], modality: str, phase: str) -> NDArray[np.float32]:
    """Blend the layers' tissue values for one phase (painter's order)."""
    vol = np.full(slab_shape, tissue_value("air", modality, phase), dtype=np.float32)
    for box, w, tissue in weights:
        v = tissue_value(tissue, modality, phase)
        sub = vol[box]
        sub += w * (np.float32(v) - sub)
    return vol


def add_noise(vol: NDArray[np.float32], modality: str, phase: str, rng: np.random.Generator
              ) -> NDArray[np.uint16]:
    """Seeded, slightly correlated noise; stored values (CT: HU + 1024; MR: magnitude)."""
    if modality == "MR":
        n1 = ndimage.gaussian_filter(rng.standard_normal(vol.shape, np.float32), (0, 0.6, 0.6))
        n2 = ndimage.gaussian_filter(rng.standard_normal(vol.shape, np.float32), (0, 0.6, 0.6))
        k = MR_NOISE / 0.47  # the filter shrinks unit noise to about 0.47
        mag = np.sqrt((vol + k * n1) ** 2 + (k * n2) ** 2)
        return np.clip(np.rint(mag), 0, 4095).astype(np.uint16)
    sigma = CT_NOISE_HU[CT_PHASES.index(phase)]
    n = ndimage.gaussian_filter(rng.standard_normal(vol.shape, np.float32), (0, 0.6, 0.6))
    hu = vol + (sigma / 0.47) * n
    return np.clip(np.rint(hu) + 1024, 0, 4095).astype(np.uint16)


def render_slabs(grid: AxialGrid, layers: Sequence[Layer], modality: str,
                 phases: Sequence[str], seed_key: Sequence[int]
                 ) -> Iterator[tuple[int, dict[str, NDArray[np.uint16]]]]:
    """Yield ``(z0, {phase: stored pixel values (z, y, x)})`` slab by slab."""
    nz, ny, nx = grid.shape
    for z0 in range(0, nz, SLAB):
        z1 = min(z0 + SLAB, nz)
        weights = slab_weights(grid, layers, z0, z1)
        out = {}
        for p, phase in enumerate(phases):
            vol = compose(weights, (z1 - z0, ny, nx), modality, phase)
            rng = np.random.default_rng([*seed_key, p, z0])
            out[phase] = add_noise(vol, modality, phase, rng)
        yield z0, out


def shapes_mask(grid: AxialGrid, shapes: Sequence[Shape]) -> NDArray[np.bool_]:
    """Voxels whose centres lie inside any of ``shapes``."""
    mask = np.zeros(grid.shape, dtype=bool)
    for shape in shapes:
        box = _box(grid, shape, 0, grid.shape[0], 0.0)
        if box is not None:
            mask[box] |= _sdf(grid, shape, box) <= 0
    return mask
