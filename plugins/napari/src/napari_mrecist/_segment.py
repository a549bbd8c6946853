"""One-click 3D segmentation of a viable focus or an ablation zone (no Qt).

A click inside the structure gives a seed; :func:`grow` returns a 3D mask on the volume's grid:

1. a box of ``START_MM`` either side of the seed is cut out and lightly smoothed (Gaussian,
   about half a pixel: the noise halves, edges stay where they are); when the grown region
   reaches the box's side the box is doubled, up to ``ROI_MM``, and the growth run again;
2. the inside value is the median at the seed (in-plane 3×3), the outside value starts as the
   median of the widest box (``ROI_MM``);
3. SimpleITK's ``ConnectedThreshold`` grows from the seed through voxels within ``tolerance`` ×
   |outside − inside| of the inside value (0.5: the half-way level, where partial-volume edges
   put a structure's boundary); the outside value is then re-estimated from a shell around the
   region and the growth repeated, twice;
4. thin bridges are cut (opening), holes filled, and the component holding the seed kept;
5. for a tumour darker than its surroundings (``kind="viable"``: a colorectal metastasis's
   hypovascular core) the shell up to ``RIM_MM`` outside is added where it differs from the
   surroundings by more than 1.5 × their noise, on either side: its enhancing rim is tumour,
   though in the portal-venous phase it is close to liver in value.

The two-sided band keeps the region out of darker or brighter tissue beyond the organ (fat, air,
vessels).  Everything runs on the box, the morphology on the grown region's own neighbourhood,
so the time depends on the structure's size, not the series': about 0.1 s for a 30 mm zone on a
512×512×300 series (``benchmarks/viewer_bench.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

KINDS = ("viable", "zone")
DEFAULT_TOLERANCE = 0.5
# The box searched around the seed: first START_MM either side, doubled up to ROI_MM while the
# grown region reaches the box's side.
START_MM = {"viable": 25.0, "zone": 35.0}
ROI_MM = {"viable": 45.0, "zone": 60.0}
SHELL_VOXELS = 3
SAMPLE_VOXELS = 200_000  # enough for the median of the surroundings
RIM_MM = 4.0
RIM_NOISE_FACTOR = 1.5
_C6 = ndi.generate_binary_structure(3, 1)


@dataclass(frozen=True)
class Growth:
    """A grown mask and the values it was cut at (shown to the reader)."""

    mask: np.ndarray  # bool, the volume's shape, read-only
    inside: float
    outside: float
    low: float
    high: float
    voxels: int  # of the mask
    # Half-width in mm of the search box when the region still reached its side at the widest
    # box (ROI_MM): the mask is cut there, most likely a leak beyond the structure.  None when
    # the region lies inside the box.
    cut_at_mm: float | None = None


def _ball(radius_mm: float, spacing: tuple[float, float, float]) -> np.ndarray:
    steps = [int(radius_mm / s + 0.5) for s in spacing]
    grid = np.ogrid[tuple(slice(-k, k + 1) for k in steps)]
    dist2 = sum((g * s) ** 2 for g, s in zip(grid, spacing, strict=True))
    return np.asarray(dist2 <= radius_mm ** 2 + 1e-6)


def _connected(image: np.ndarray, seed: tuple[int, int, int], low: float, high: float) -> np.ndarray:
    """Voxels within [low, high] connected (6-neighbourhood) to the seed, by SimpleITK."""
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(image)
    out = sitk.ConnectedThreshold(img, seedList=[(int(seed[2]), int(seed[1]), int(seed[0]))],
                                  lower=float(low), upper=float(high), replaceValue=1)
    return sitk.GetArrayViewFromImage(out).astype(bool)


def grow(array: np.ndarray, spacing: tuple[float, float, float], seed: tuple[int, int, int],
         kind: str = "viable", tolerance: float = DEFAULT_TOLERANCE) -> Growth:
    """Grow a 3D mask of a viable focus or an ablation zone from one seed voxel.

    Parameters
    ----------
    array
        The volume ``(z, y, x)`` of the phase the reader chose.
    spacing
        Voxel size ``(z, y, x)`` in mm.
    seed
        The clicked voxel ``(z, y, x)``, inside the structure.
    kind
        ``"viable"`` (tumour: its rim is included) or ``"zone"`` (ablation zone).
    tolerance
        How far from the inside value a voxel may be, as a fraction of the inside-to-outside
        contrast (0.5: half-way; larger grows further, smaller stays closer to the seed).

    Returns
    -------
    Growth
        The mask (the seed alone when nothing around it resembles it) and the values used.
    """
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}: expected one of {KINDS}")
    shape = array.shape
    seed = tuple(int(np.clip(c, 0, n - 1)) for c, n in zip(seed, shape, strict=True))  # type: ignore[assignment]
    # The surroundings' first estimate comes from the widest box, whatever box the growth starts
    # in: a structure filling the first box must not be taken for its own surroundings.
    widest = array[_box(seed, ROI_MM[kind], spacing, shape)]
    stride = max(1, round((widest.size / SAMPLE_VOXELS) ** (1 / 3)))
    outside = float(np.median(widest[::stride, ::stride, ::stride]))
    half_mm = START_MM[kind]
    while True:
        found = _grow_in_box(array, spacing, seed, kind, tolerance, half_mm, outside)
        if not found.at_box_edge or half_mm >= ROI_MM[kind]:
            break
        # The structure reaches the box's side: it is larger than the box, not cut by it.
        half_mm = min(2 * half_mm, ROI_MM[kind])
    mask = np.zeros(shape, dtype=bool)
    mask[found.where] = found.region
    mask.flags.writeable = False  # the session keeps it without a copy
    return Growth(mask, found.inside, found.outside, found.low, found.high, int(found.region.sum()),
                  half_mm if found.at_box_edge else None)


@dataclass(frozen=True)
class _Found:
    region: np.ndarray  # bool, the shape of ``where``
    where: tuple[slice, slice, slice]  # in the volume
    at_box_edge: bool  # the region touches a side of the box that is not the volume's side
    inside: float
    outside: float
    low: float
    high: float


def _bounds(region: np.ndarray, margin: tuple[int, ...], limit: tuple[int, ...]) -> tuple[slice, slice, slice]:
    """The bounding box of a non-empty region widened by ``margin`` voxels, inside ``limit``."""
    from mrecist_tool.geometry.boxes import bounding_box  # geometry loads scipy's heavier parts: not at start-up

    box = bounding_box(region)
    if box is None:
        raise ValueError("no region to bound")
    return tuple(slice(max(0, b.start - m), min(n, b.stop + m))  # type: ignore[return-value]
                 for b, m, n in zip(box, margin, limit, strict=True))


def _box(seed: tuple[int, ...], half_mm: float, spacing: tuple[float, float, float],
         shape: tuple[int, ...]) -> tuple[slice, slice, slice]:
    """The box of ``half_mm`` either side of the seed, inside the volume."""
    reach = [int(np.ceil(half_mm / s)) for s in spacing]
    return tuple(slice(max(0, c - r), min(n, c + r + 1))  # type: ignore[return-value]
                 for c, r, n in zip(seed, reach, shape, strict=True))


def _grow_in_box(array: np.ndarray, spacing: tuple[float, float, float], seed: tuple[int, int, int],
                 kind: str, tolerance: float, half_mm: float, outside: float) -> _Found:
    """:func:`grow` within a box of ``half_mm`` around the seed.

    The smoothing and the region growing see the whole box; the morphology (hole filling,
    shells, opening, the rim) runs on the grown region's own bounding box widened by the
    farthest reach of those operations, so it gives what it would give on the whole box at a
    fraction of the cost.
    """
    shape = array.shape
    box = _box(seed, half_mm, spacing, shape)
    lo, hi = [s.start for s in box], [s.stop for s in box]
    sub = np.asarray(array[box], dtype=np.float32)
    sigma = tuple(0.6 * min(spacing) / s for s in spacing)
    smooth = ndi.gaussian_filter(sub, sigma=sigma)
    at = tuple(c - a for c, a in zip(seed, lo, strict=True))
    near = smooth[at[0], max(0, at[1] - 1):at[1] + 2, max(0, at[2] - 1):at[2] + 2]
    inside = float(np.median(near))
    ball = _ball(RIM_MM, spacing)
    # Shells reach 3 voxels, the rim a ball's radius; one more keeps hole filling exact.
    margin = tuple(max(SHELL_VOXELS, k // 2) + 1 for k in ball.shape)
    crop: tuple[slice, ...] = tuple(slice(c, c + 1) for c in at)
    region = np.zeros((1, 1, 1), dtype=bool)
    low = high = inside
    for _ in range(3):
        reach_value = max(abs(outside - inside) * tolerance, 1e-3)
        # The clicked voxel is always inside its own band (a small focus's median may not be).
        low = min(inside - reach_value, float(smooth[at]))
        high = max(inside + reach_value, float(smooth[at]))
        grown = _connected(smooth, at, low, high)
        if not grown.any():
            break
        crop = _bounds(grown, margin, smooth.shape)
        values = smooth[crop]
        region = ndi.binary_fill_holes(grown[crop])
        shell = _shell(region)
        core = ndi.binary_erosion(region, _C6)
        inside = float(np.median(values[core])) if core.sum() > 3 else float(np.median(values[region]))
        if shell.any():
            outside = float(np.median(values[shell]))
    values = smooth[crop]
    at_crop = tuple(c - s.start for c, s in zip(at, crop, strict=True))
    region = ndi.binary_opening(region, _C6)
    labels, n = ndi.label(region, structure=_C6)
    if n:
        keep = labels[at_crop] or (int(np.bincount(labels.ravel())[1:].argmax()) + 1)
        region = labels == keep
    if kind == "viable" and region.any() and inside < outside:
        shell = _shell(region)
        ring_values = values[shell]
        noise = (1.4826 * float(np.median(np.abs(ring_values - np.median(ring_values))))
                 if ring_values.size else 0.0)
        ring = ndi.binary_dilation(region, ball) & ~region
        rim = ring & (np.abs(values - outside) > RIM_NOISE_FACTOR * noise)
        labels, _ = ndi.label(region | rim, structure=_C6)
        if labels[at_crop]:
            region = ndi.binary_fill_holes(labels == labels[at_crop])
    if not region.any():
        region[at_crop] = True
    edge = False
    for axis in range(3):
        s = crop[axis]
        first = region.take(0, axis=axis).any() if s.start == 0 else False
        last = region.take(-1, axis=axis).any() if s.stop == smooth.shape[axis] else False
        edge |= (first and lo[axis] > 0) or (last and hi[axis] < shape[axis])
    where = tuple(slice(b.start + s.start, b.start + s.stop) for b, s in zip(box, crop, strict=True))
    return _Found(region, where, edge, inside, outside, low, high)  # type: ignore[arg-type]


def _shell(region: np.ndarray) -> np.ndarray:
    """The voxels 2 to ``SHELL_VOXELS`` steps outside the region (the surroundings, clear of
    its partial-volume edge)."""
    return ndi.binary_dilation(region, _C6, iterations=SHELL_VOXELS) & ~ndi.binary_dilation(region, _C6)
