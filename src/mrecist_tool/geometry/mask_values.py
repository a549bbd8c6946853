"""What a mask file's voxel values must be before "inside" means anything.

Every reader of masks used to take "non-zero" (or "> 0") as inside. A file that is not a binary
mask then gives a silently wrong number: a DICOM label series stored with a rescale intercept of
-1024 has no zero voxel, so the whole box became "inside" and the margin came out 4.9 mm instead
of 3.65 mm; a probability map or a multi-label map (1 = tumour, 2 = zone) merges structures. A
mask is therefore accepted only when it holds 0 (outside) and at most one other value (inside);
anything else is refused with what was found, so the reader can threshold or split it first. A
mask that fills its whole grid must hold 1 (a liver mask cropped to the organ does); any other
uniform value is refused, as a label series without background would be.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import MrecistError

__all__ = ["MaskValueError", "binary_inside", "edges_of_spans", "edges_reached"]


class MaskValueError(MrecistError, ValueError):
    """A mask whose voxel values are not 0 outside and one value inside."""


def _show(value: float) -> str:
    return f"{value:g}"


def binary_inside(array: np.ndarray) -> np.ndarray:
    """The inside of a binary mask as a boolean array of the same shape.

    Parameters
    ----------
    array : numpy.ndarray
        The mask's voxel values, any numeric dtype.

    Returns
    -------
    numpy.ndarray
        ``True`` where the voxel holds the mask's one non-zero value. An all-zero array gives
        all ``False`` (an empty mask; callers decide whether that is allowed).

    Raises
    ------
    MaskValueError
        When no voxel is 0 (no background: for example a label series with a rescale
        intercept), when there is more than one non-zero value (a probability or multi-label
        map), or when a value is not finite. The message says what was found.
    """
    values = np.asarray(array)
    if values.size == 0:
        return np.zeros(values.shape, dtype=bool)
    if values.dtype.kind == "b":
        return values.copy()
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise MaskValueError("it holds NaN or infinite values; a mask holds 0 outside and one value inside")
    count = int(np.count_nonzero(values))
    if count == 0:
        return np.zeros(values.shape, dtype=bool)
    low, high = float(values.min()), float(values.max())
    if count == values.size:
        if low == high == 1:  # a mask that fills its (cropped) grid, e.g. a liver mask cut to the organ
            return np.ones(values.shape, dtype=bool)
        found = f"every voxel is {_show(low)}" if low == high else f"values from {_show(low)} to {_show(high)}"
        raise MaskValueError(
            f"no voxel is 0 ({found}): not a binary mask; a label series stored with a rescale "
            "intercept reads this way (expected 0 outside and one value inside; a mask filling its "
            "whole grid holds 1)")
    label = values.flat[int(np.argmax(values != 0))]  # the first non-zero voxel, without listing them all
    inside = values == label
    if int(np.count_nonzero(inside)) != count:
        other = values[(values != 0) & ~inside]
        first, second = sorted((float(label), float(other.flat[0])))
        raise MaskValueError(
            f"more than one non-zero value ({_show(first)} and {_show(second)}): a probability "
            "or multi-label map, not a binary mask; threshold it or save one structure per file "
            "(expected 0 outside and one value inside)")
    return inside


_AXIS_NAMES = ("slice", "row", "column")  # numpy (z, y, x): index terms, whatever the orientation


def edges_of_spans(spans: Sequence[np.ndarray], shape: Sequence[int]) -> tuple[str, ...]:
    """:func:`edges_reached` from the indices where each axis holds the mask (already found).

    Parameters
    ----------
    spans : sequence of numpy.ndarray
        Per axis (z, y, x), the sorted indices whose plane holds a voxel of the mask; none empty.
    shape : sequence of int
        The mask's shape.

    Returns
    -------
    tuple of str
        As :func:`edges_reached`.
    """
    edges: list[str] = []
    for name, span, size in zip(_AXIS_NAMES, spans, shape, strict=True):
        if int(span[0]) == 0:
            edges.append(f"first {name}")
        if int(span[-1]) == int(size) - 1:
            edges.append(f"last {name}")
    return tuple(edges)


def edges_reached(inside: np.ndarray) -> tuple[str, ...]:
    """The sides of its grid that a 3-D mask reaches.

    A structure cut by the edge of its image (a lesion at the top of the scanned range, a field
    of view too small, a mask cropped to the structure by another tool) is measured only up to
    that edge: its diameter may be too small, a gap to it too large and a margin measured to the
    image's edge instead of the structure's, with nothing else to show it.  The sides are named
    in index terms ("first slice", "last column", ...) because the grid's orientation is arbitrary.

    Parameters
    ----------
    inside : numpy.ndarray
        The mask, boolean (z, y, x).

    Returns
    -------
    tuple of str
        The sides reached, in the order first/last slice, row, column; empty for an empty mask.
    """
    mask = np.asarray(inside, dtype=bool)
    spans = [np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis))) for axis in range(mask.ndim)]
    if any(len(span) == 0 for span in spans):
        return ()
    return edges_of_spans(spans, mask.shape)
