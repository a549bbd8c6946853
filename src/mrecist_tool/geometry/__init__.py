"""Measurement geometry on masks: lines, diameters, short axes, gaps and margins (no GUI).

Masks are numpy arrays indexed (z, y, x) with spacing (z, y, x) in mm; end points come back as
(x, y, z) in DICOM LPS patient coordinates when an ``origin`` (and ``direction``) is given, and
in index millimetres otherwise (see :mod:`mrecist_tool.geometry.grid`).

* :func:`line_length_mm` -- length of a line in patient coordinates;
* :func:`longest_axial_diameter`, :func:`axial_measurements`, :func:`slice_measurement`,
  :func:`short_axis` -- maximum in-plane Feret diameter with end points and the perpendicular
  short axis, per slice and overall (MR-V1, REC-M1);
* :func:`viable_diameter` -- several separate viable foci, largest or sum (MR-V3);
* :func:`gap_mm`, :func:`nearest_gap` -- gap from a focus to an ablation zone, 0 when touching,
  between surfaces reconstructed between the slices (ABL-6);
* :func:`ablative_margin` -- minimal ablative margin on registered masks, with the subcapsular
  correction when a liver mask is given (MAR-3, MAR-4, MAR-6, MAR-7);
* :func:`reconstruct` -- a mask's surface reconstructed between its slices (:mod:`.surface`),
  measured with :func:`ablative_margin_models` (:mod:`.margin`) across grids and registrations.
"""

from __future__ import annotations

from .diameters import (
    AxialMeasurement,
    NonAxialError,
    Segment,
    ViableDiameter,
    axial_measurements,
    check_axial,
    longest_axial_diameter,
    short_axis,
    slice_measurement,
    viable_diameter,
)
from .distance import Gap, Margin, ablative_margin, gap_mm, nearest_gap
from .grid import Grid, line_length_mm, make_grid
from .margin import MarginResult, ablative_margin_models
from .surface import SurfaceModel, reconstruct

__all__ = [
    "AxialMeasurement",
    "Gap",
    "Grid",
    "Margin",
    "MarginResult",
    "NonAxialError",
    "Segment",
    "SurfaceModel",
    "ViableDiameter",
    "ablative_margin",
    "ablative_margin_models",
    "axial_measurements",
    "check_axial",
    "gap_mm",
    "line_length_mm",
    "longest_axial_diameter",
    "make_grid",
    "nearest_gap",
    "reconstruct",
    "short_axis",
    "slice_measurement",
    "viable_diameter",
]
