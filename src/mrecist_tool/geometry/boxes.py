"""The bounding box of a mask: where measurements crop before working.

A lesion is a few thousand voxels of a series of tens of millions, so surface reconstruction,
gap search, diameters and the viewer's redraws all cut to the mask's box first; they share this
one definition.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def bounding_box(mask: NDArray[np.bool_]) -> tuple[slice, ...] | None:
    """The smallest box (one slice per axis) holding every true voxel, ``None`` when none is."""
    out = []
    for axis in range(mask.ndim):
        hit = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis)))
        if hit.size == 0:
            return None
        out.append(slice(int(hit[0]), int(hit[-1]) + 1))
    return tuple(out)
