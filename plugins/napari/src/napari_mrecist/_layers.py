"""napari layer data for volumes and annotations (layer-data tuples; no viewer needed).

Every layer of one timepoint shares the volume's ``scale`` and ``translate`` (mm), so a Shapes
layer's data coordinates are the volume's array indices ``(z, y, x)`` and
:meth:`mrecist_tool.dicom.Volume.index_to_lps` turns them into patient coordinates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mrecist_tool.dicom import Volume

# Window presets (centre, width), HU.  Liver: narrow, so arterial hyperenhancement and washout
# stand out; soft tissue: the usual abdominal window.
WINDOWS: dict[str, tuple[float, float]] = {
    "liver": (60.0, 160.0),
    "soft tissue": (40.0, 400.0),
    "bone": (400.0, 1800.0),
}
DEFAULT_WINDOW = "liver"
LINE_COLOR = "yellow"


def contrast_limits(volume: Volume, preset: str = DEFAULT_WINDOW) -> tuple[float, float]:
    """Display range: a CT window preset, else (MR) the 1st-99.5th percentile of a sample."""
    if volume.modality.upper() == "CT" and preset in WINDOWS:
        c, w = WINDOWS[preset]
        return (c - w / 2, c + w / 2)
    if volume.window is not None and preset == "header":
        c, w = volume.window
        return (c - w / 2, c + w / 2)
    sample = np.asarray(volume.array[:: max(1, volume.array.shape[0] // 16)], dtype=np.float32)
    lo, hi = np.percentile(sample, [1.0, 99.5])
    if hi <= lo:
        hi = lo + 1.0
    return (float(lo), float(hi))


def image_layer_data(volume: Volume, name: str, preset: str = DEFAULT_WINDOW,
                     **extra_meta: Any) -> tuple[np.ndarray, dict[str, Any], str]:
    """An Image layer-data tuple with scale/translate in mm and a window preset."""
    nap = volume.to_napari()
    meta = dict(nap["metadata"])
    meta.update({"mrecist": {"phase": volume.phase, "modality": volume.modality, **extra_meta}})
    kwargs: dict[str, Any] = {
        "name": name,
        "scale": nap["scale"],
        "translate": nap["translate"],
        "axis_labels": nap["axis_labels"],
        "metadata": meta,
        "contrast_limits": contrast_limits(volume, preset),
        "colormap": "gray",
    }
    return (volume.array, kwargs, "image")


def geometry_kwargs(volume: Volume) -> dict[str, Any]:
    nap = volume.to_napari()
    return {"scale": nap["scale"], "translate": nap["translate"]}


def lines_in_index_space(volume: Volume, lines_lps: dict[str, np.ndarray]) -> tuple[list[np.ndarray], list[str]]:
    """LPS line end points → index-space vertices for a Shapes layer, with their lesion ids."""
    data: list[np.ndarray] = []
    ids: list[str] = []
    for lesion, pts in lines_lps.items():
        data.append(volume.lps_to_index(pts))
        ids.append(lesion)
    return data, ids
