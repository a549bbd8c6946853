"""Decide whether a set of slices forms one regular volume, and with what geometry.

Works on headers only, so discovery (:func:`mrecist_tool.dicom.scan`) reports the same verdict
that loading (:func:`mrecist_tool.dicom.read_series`) acts on.  Conventions (DICOM PS3.3
C.7.6.2.1.1): Image Orientation (Patient) gives the LPS direction of increasing column index
(``x``) then of increasing row index (``y``); the slice axis ``z = x × y``; slices are ordered
by their position along ``z``, so the volume is right-handed and ``origin`` is the first slice's
Image Position (Patient).

A series is refused -- never loaded with a made-up spacing -- when its slices differ in size,
orientation or pixel spacing, when two slices share a position, when the stack is sheared
(gantry tilt) or when the spacing between slices is irregular.  Missing slices (gaps that are
whole multiples of the regular spacing) are refused too unless the caller asks to fill them.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..errors import DicomError
from .header import FileHeader, FrameGeometry

MissingSlices = Literal["raise", "fill"]

ORIENTATION_TOL = 1e-3  # difference of direction cosines treated as the same plane
POSITION_TOL_MM = 1e-3 * 10  # slice positions closer than this (mm) are duplicates
SPACING_REL_TOL = 0.02  # relative tolerance on the slice spacing
SPACING_ABS_TOL_MM = 0.02
SHEAR_TOL_DEG = 0.5


@dataclass(frozen=True)
class SliceRef:
    """One 2-D image: a single-frame file, or one frame of a multi-frame file."""

    header: FileHeader
    frame: FrameGeometry | None = None

    @property
    def position(self) -> tuple[float, float, float] | None:
        return self.frame.position if self.frame is not None else self.header.position

    @property
    def orientation(self) -> tuple[float, ...] | None:
        return self.frame.orientation if self.frame is not None else self.header.orientation

    @property
    def pixel_spacing(self) -> tuple[float, float] | None:
        if self.frame is not None and self.frame.pixel_spacing is not None:
            return self.frame.pixel_spacing
        return self.header.pixel_spacing

    @property
    def slope(self) -> float:
        return self.frame.slope if self.frame is not None else self.header.slope

    @property
    def intercept(self) -> float:
        return self.frame.intercept if self.frame is not None else self.header.intercept

    @property
    def window(self) -> tuple[float, float] | None:
        if self.frame is not None and self.frame.window is not None:
            return self.frame.window
        return self.header.window

    @property
    def label(self) -> str:
        name = self.header.path.name
        return f"{name} frame {self.frame.index + 1}" if self.frame is not None else name


@dataclass(frozen=True)
class StackPlan:
    """The verdict on a set of slices: geometry, order, and where missing slices go.

    ``slices[k]`` is the image for volume slice ``order[k]``; with missing slices filled,
    ``n_slices`` exceeds ``len(slices)`` and the absent indices are left at the fill value.
    """

    slices: tuple[SliceRef, ...]
    slice_index: tuple[int, ...]  # volume slice index of each entry of ``slices``
    n_slices: int
    rows: int
    columns: int
    spacing: tuple[float, float, float]  # (z, y, x) mm
    origin: tuple[float, float, float]  # LPS of voxel [0, 0, 0]
    direction: np.ndarray  # 3x3, columns = LPS unit vectors of the x, y, z index axes
    warnings: tuple[str, ...] = field(default=())

    @property
    def orientation_label(self) -> str:
        return orientation_label(self.direction[:, 2])


def orientation_label(normal: np.ndarray | tuple[float, ...]) -> str:
    """``axial``, ``coronal`` or ``sagittal`` when the slice normal is within 10° of an axis."""
    n = np.abs(np.asarray(normal, dtype=float))
    axis = int(np.argmax(n))
    if n[axis] < math.cos(math.radians(10)):
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


def _describe_orientation(o: tuple[float, ...]) -> str:
    normal = np.cross(o[:3], o[3:])
    return f"{orientation_label(normal)} [{', '.join(f'{v:g}' for v in o)}]"


def _majority(values: list, label: str, refs: list[SliceRef], what: str) -> None:
    """Raise when ``values`` are not all equal, naming the variants and an example file."""
    counts = Counter(values)
    if len(counts) <= 1:
        return
    parts = []
    for value, count in counts.most_common(4):
        example = refs[values.index(value)].label
        parts.append(f"{value} ×{count} (e.g. {example})")
    more = f" and {len(counts) - 4} more" if len(counts) > 4 else ""
    raise DicomError(f"{label}: mixed {what} in one series: {'; '.join(parts)}{more}")


def plan_stack(
    refs: list[SliceRef], *, label: str = "series", missing_slices: MissingSlices = "raise"
) -> StackPlan:
    """Check that ``refs`` form one regular volume and compute its geometry.

    Parameters
    ----------
    refs
        The images of the series (files or frames), in any order.
    label
        How messages name the series (e.g. its folder and description).
    missing_slices
        ``"raise"`` (default) refuses a series with gaps; ``"fill"`` inserts empty slices
        where whole slices are missing, so the geometry stays right, and warns.

    Raises
    ------
    DicomError
        With the reason and where: which files, which positions, what gap.
    """
    if not refs:
        raise DicomError(f"{label}: no images")
    warnings: list[str] = list(_value_notes(refs))
    _refuse_defects(refs, label)
    _majority([(r.header.rows, r.header.columns) for r in refs], label, refs,
              "image sizes (rows, columns)")
    first = refs[0].header
    if first.samples_per_pixel != 1:
        raise DicomError(
            f"{label}: colour images ({first.photometric}, {first.samples_per_pixel} samples per "
            "pixel); only greyscale CT/MR volumes are loaded"
        )
    missing_geo = [r for r in refs if r.position is None or r.orientation is None]
    if missing_geo:
        raise DicomError(
            f"{label}: {len(missing_geo)} of {len(refs)} images lack Image Position/Orientation "
            f"(Patient) (e.g. {missing_geo[0].label}): no patient geometry, not a volume"
        )
    orients = [tuple(round(v / ORIENTATION_TOL) * ORIENTATION_TOL for v in r.orientation or ())
               for r in refs]
    if len(set(orients)) > 1:
        # Tolerate rounding noise: compare to the first orientation before complaining.
        ref_o = np.asarray(refs[0].orientation, dtype=float)
        if any(np.max(np.abs(np.asarray(r.orientation) - ref_o)) > ORIENTATION_TOL for r in refs):
            _majority([_describe_orientation(r.orientation or ()) for r in refs], label, refs,
                      "orientations")
            _majority([tuple(round(v, 4) for v in r.orientation or ()) for r in refs], label,
                      refs, "orientations")
    spacings = [r.pixel_spacing for r in refs]
    if any(s is None for s in spacings):
        warnings.append("Pixel Spacing missing: in-plane spacing taken as 1 mm")
    _majority([tuple(round(v, 4) for v in s) if s else None for s in spacings], label, refs,
              "pixel spacings")
    o = np.asarray(refs[0].orientation, dtype=float)
    positions = np.asarray([r.position for r in refs], dtype=float)
    if (not np.all(np.isfinite(o)) or np.linalg.norm(o[:3]) < 1e-3
            or np.linalg.norm(o[3:]) < 1e-3 or not np.all(np.isfinite(positions))):
        raise DicomError(f"{label}: invalid Image Orientation/Position (Patient) in "
                         f"{refs[0].label}: {list(o)}")
    x = o[:3] / np.linalg.norm(o[:3])
    y = o[3:] / np.linalg.norm(o[3:])
    if abs(float(np.dot(x, y))) > 1e-2:
        raise DicomError(f"{label}: Image Orientation (Patient) rows and columns are not "
                         f"perpendicular ({_describe_orientation(tuple(o))})")
    z = np.cross(x, y)
    z /= np.linalg.norm(z)
    along = positions @ z
    order = np.argsort(along, kind="stable")
    refs = [refs[i] for i in order]
    positions = positions[order]
    along = along[order]
    ps = refs[0].pixel_spacing or (1.0, 1.0)
    spacing_y, spacing_x = float(ps[0]), float(ps[1])

    if len(refs) == 1:
        h = refs[0].header
        sz = h.spacing_between_slices or h.slice_thickness or (
            refs[0].frame.slice_thickness if refs[0].frame else None)
        if not sz:
            sz = 1.0
            warnings.append("single image without Slice Thickness: slice spacing taken as 1 mm")
        return StackPlan(
            slices=tuple(refs), slice_index=(0,), n_slices=1, rows=h.rows, columns=h.columns,
            spacing=(float(sz), spacing_y, spacing_x), origin=_tuple3(positions[0]),
            direction=np.column_stack([x, y, z]), warnings=tuple(warnings),
        )

    steps = np.diff(along)
    dup = np.nonzero(steps < POSITION_TOL_MM)[0]
    if dup.size:
        i = int(dup[0])
        hint = _duplicate_hint(refs)
        raise DicomError(
            f"{label}: {dup.size} duplicate slice position(s): {refs[i].label} and "
            f"{refs[i + 1].label} are both at {along[i]:.2f} mm along the slice normal{hint}"
        )
    # Shear: the step between slices must follow the slice normal (gantry tilt breaks this).
    total = positions[-1] - positions[0]
    inplane = total - (total @ z) * z
    shear_deg = math.degrees(math.atan2(float(np.linalg.norm(inplane)), float(total @ z)))
    if shear_deg > SHEAR_TOL_DEG:
        tilt = refs[0].header.gantry_tilt
        tilt_txt = f"; Gantry/Detector Tilt is {tilt:g}°" if tilt else ""
        raise DicomError(
            f"{label}: the slices are sheared by {shear_deg:.1f}° (their positions do not follow "
            f"the slice normal: gantry tilt or a non-parallel stack{tilt_txt}); a sheared "
            "volume is not loaded because voxel geometry would be wrong"
        )
    if refs[0].header.gantry_tilt:
        warnings.append(f"Gantry/Detector Tilt {refs[0].header.gantry_tilt:g}°: geometry follows "
                        "the tilted Image Orientation (Patient)")
    median = float(np.median(steps))
    tol = max(SPACING_ABS_TOL_MM, SPACING_REL_TOL * median)
    irregular = np.nonzero(np.abs(steps - median) > tol)[0]
    slice_index = list(range(len(refs)))
    n_slices = len(refs)
    spacing_z = float((along[-1] - along[0]) / (len(refs) - 1))
    if irregular.size:
        multiples = steps / median
        whole = np.abs(multiples - np.round(multiples)) * median <= tol
        i = int(irregular[0])
        where = (f"between {refs[i].label} ({along[i]:.2f} mm) and {refs[i + 1].label} "
                 f"({along[i + 1]:.2f} mm along the slice normal)")
        if not whole.all() or (multiples < 0.5).any():
            raise DicomError(
                f"{label}: irregular slice spacing: {steps[i]:.2f} mm {where} where the other "
                f"slices are {median:.2f} mm apart (spacing ranges {steps.min():.2f}–"
                f"{steps.max():.2f} mm); not loaded because no single spacing is right"
            )
        missing = int(np.sum(np.round(multiples) - 1))
        gaps = "; ".join(
            f"{int(np.round(multiples[j])) - 1} missing {_between(refs, along, int(j))}"
            for j in irregular[:5]
        )
        if missing_slices != "fill":
            raise DicomError(
                f"{label}: missing slices: gap of {steps[i]:.2f} mm {where}, expected "
                f"{median:.2f} mm ({missing} slice(s) missing in all: {gaps}); pass "
                "missing_slices='fill' to load with empty slices in the gaps"
            )
        slice_index = [int(v) for v in np.concatenate([[0], np.cumsum(np.round(multiples))])]
        n_slices = slice_index[-1] + 1
        spacing_z = float((along[-1] - along[0]) / (n_slices - 1))
        warnings.append(f"{missing} missing slice(s) filled with the minimum value: {gaps}")
    h = refs[0].header
    return StackPlan(
        slices=tuple(refs),
        slice_index=tuple(slice_index),
        n_slices=n_slices,
        rows=h.rows,
        columns=h.columns,
        spacing=(spacing_z, spacing_y, spacing_x),
        origin=_tuple3(positions[0]),
        direction=np.column_stack([x, y, z]),
        warnings=tuple(warnings),
    )


def _refuse_defects(refs: list[SliceRef], label: str) -> None:
    """A value that makes an image wrong (NaN orientation, zero pixel spacing, a Rescale
    Intercept of 1e12, ...) refuses the whole series, naming the file and the element: loading
    the other slices would give a volume with a slice silently missing."""
    bad = [r for r in refs if r.header.defects]
    if not bad:
        return
    files = {r.header.path for r in bad}
    first = bad[0].header
    more = f" (and {len(files) - 1} more file(s) with such values)" if len(files) > 1 else ""
    raise DicomError(f"{label}: {first.path.name}: {first.defects[0]}{more}; not loaded because "
                     "its geometry or pixel values would be wrong")


def _value_notes(refs: list[SliceRef]) -> list[str]:
    """Values ignored with a reason (a negative Slice Thickness, a NaN window), once each."""
    seen: dict[str, tuple[str, int]] = {}
    for r in refs:
        for note in r.header.notes:
            name, count = seen.get(note, (r.header.path.name, 0))
            seen[note] = (name, count + 1)
    return [f"{note} (in {name}{f' and {count - 1} other file(s)' if count > 1 else ''})"
            for note, (name, count) in seen.items()]


def _between(refs: list[SliceRef], along: np.ndarray, j: int) -> str:
    return (f"between {refs[j].label} ({along[j]:.2f} mm) and {refs[j + 1].label} "
            f"({along[j + 1]:.2f} mm)")


def _duplicate_hint(refs: list[SliceRef]) -> str:
    """Name the header field that distinguishes stacked acquisitions, if one does."""
    for attr, name in (("acquisition_number", "Acquisition Number"),
                       ("temporal_position", "Temporal Position Identifier"),
                       ("echo_number", "Echo Numbers")):
        values = {getattr(r.header, attr) for r in refs}
        if len(values) > 1:
            return (f"; the series holds several {name} values ({sorted(map(str, values))}): "
                    "several volumes in one series")
    if len({r.frame.stack_key for r in refs if r.frame is not None}) > 1:
        return "; the multi-frame object holds several stacks or temporal positions"
    if len({r.header.sop_instance_uid for r in refs}) < len(refs):
        return "; the same SOP Instance UID appears in several files (copies of one image)"
    return ""


def _tuple3(a: np.ndarray) -> tuple[float, float, float]:
    return (float(a[0]), float(a[1]), float(a[2]))
