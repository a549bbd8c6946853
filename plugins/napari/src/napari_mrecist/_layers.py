"""napari layer data for volumes and annotations (layer-data tuples; no viewer needed).

Every layer of one timepoint shares the volume's ``scale`` and ``translate`` (mm), so a Shapes
layer's data coordinates are the volume's array indices ``(z, y, x)`` and
:meth:`mrecist_tool.dicom.Volume.index_to_lps` turns them into patient coordinates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mrecist_tool.dicom import Volume

# CT window presets (centre, width), HU, on keys 1-4.  Liver: narrow, so arterial
# hyperenhancement and washout stand out; soft tissue: the usual abdominal window.
WINDOWS: dict[str, tuple[float, float]] = {
    "liver": (60.0, 160.0),
    "soft tissue": (40.0, 400.0),
    "lung": (-600.0, 1500.0),
    "bone": (400.0, 1800.0),
}
# MR has no absolute units: its presets are percentiles of the series' own values.
MR_WINDOWS: dict[str, tuple[float, float]] = {
    "MR standard": (1.0, 99.5),
    "MR high contrast": (10.0, 97.0),
    "MR bright detail": (40.0, 99.9),
    "MR full range": (0.0, 100.0),
}
AUTO = "data range"
DEFAULT_WINDOW = "liver"
LINE_COLOR = "yellow"


def _sample(volume: Volume) -> np.ndarray:
    return np.asarray(volume.array[:: max(1, volume.array.shape[0] // 16)], dtype=np.float32)


def window_presets(volume: Volume) -> dict[str, tuple[float, float]]:
    """The presets offered for a series, in key order (1, 2, ...), as display ranges; the data's
    own 1st-99.5th percentile range is always last (key 0)."""
    sample = _sample(volume)
    out: dict[str, tuple[float, float]] = {}
    if volume.modality.upper() == "CT":
        for name, (c, w) in WINDOWS.items():
            out[name] = (c - w / 2, c + w / 2)
    else:
        for name, (a, b) in MR_WINDOWS.items():
            lo, hi = np.percentile(sample, [a, b])
            out[name] = (float(lo), float(hi) if hi > lo else float(lo) + 1.0)
    lo, hi = np.percentile(sample, [1.0, 99.5])
    out[AUTO] = (float(lo), float(hi) if hi > lo else float(lo) + 1.0)
    return out


def default_preset(volume: Volume, wanted: str = DEFAULT_WINDOW) -> str:
    """``wanted`` when the series offers it, else its first preset (MR: "MR standard")."""
    names = list(window_presets(volume))
    return wanted if wanted in names else names[0]


def contrast_limits(volume: Volume, preset: str = DEFAULT_WINDOW) -> tuple[float, float]:
    """Display range of a preset (CT: HU window; MR: percentiles of the data)."""
    presets = window_presets(volume)
    if preset in presets:
        return presets[preset]
    if volume.window is not None and preset == "header":
        c, w = volume.window
        return (c - w / 2, c + w / 2)
    return presets[next(iter(presets))]


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
