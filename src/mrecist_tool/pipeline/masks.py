"""Image work of every case today: masks to diameters and gaps, compared with what was recorded.

A reader who paints viable tissue or an ablation zone in the viewer saves the masks beside the
case file (``geometry.mask``, ``geometry.ablation_zone_mask``) and the diameter or gap the viewer
took from them.  A case file edited by hand, or a mask repainted in another tool, can leave the
two apart; the categories follow the recorded number, so a silent disagreement is a silently
wrong number.  :func:`check_masks` measures every mask again, with the functions the viewer uses
(:mod:`mrecist_tool.geometry`), and adds a finding (a warning in ``subjects.csv`` and
``assessment.json``) where they disagree:

* a ``measured`` lesion whose diameter differs from its mask's by more than
  :data:`DIAMETER_TOLERANCE_PIXELS` in-plane pixel diagonals (at least
  :data:`MIN_TOLERANCE_MM`): each end of a drawn line may sit about a pixel off the painted
  edge.  The diameter is the one its criteria use: the viable diameter with
  ``viable_fragment_rule`` under mRECIST (MR-V1, MR-V3), the longest diameter under RECIST 1.1
  (REC-M1), the short axis of a node (REC-M2);
* a lesion recorded ``absent`` whose mask holds tissue, or ``measured`` with an empty mask;
* a gap to the ablation zone that differs from the masks' by more than one voxel (at least
  :data:`MIN_TOLERANCE_MM`), or that falls on the other side of ``ltp_max_distance_mm`` (ABL-6);
* a measured mask, or an ablation zone's mask, that reaches the edge of its image (its first or
  last slice, row or column): the structure may continue beyond what was imaged, so its diameter
  may be too small and a gap to it too large;
* a diameter asked of a mask whose slices are not axial (coronal, sagittal, oblique): in-plane
  diameters would come from the wrong plane, so the mask is not measured and the finding says
  so (:func:`mrecist_tool.geometry.check_axial`).  Gaps are 3-D and measured in any orientation.

Masks are read only when they are regular files inside the case's folder (symbolic links
resolved), and only up to :data:`MAX_MASK_VOXELS`; a mask that cannot be used is itself a
finding (a missing one is not: the case-file reader warns about it).  Nothing is read, and nothing heavy imported, for a case without masks.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..model import Observation
    from ..rules.results import Finding
    from .case import CaseWork

DIAMETER_TOLERANCE_PIXELS = 1.0
MIN_TOLERANCE_MM = 1.0
MAX_MASK_VOXELS = 2**28  # 1024 x 1024 x 256; larger is not a lesion mask


@dataclass(frozen=True)
class _Mask:
    array: Any  # numpy bool (z, y, x), cropped to the mask's bounding box (+1 voxel)
    full_shape: tuple[int, ...]
    offset: tuple[int, ...]
    spacing: tuple[float, float, float]  # (z, y, x) mm
    #: 3×3, columns = LPS directions of the x, y, z index axes (the file's orientation)
    direction: Any = None
    #: the sides of its grid the mask reaches ("first slice", "last column", ...), in index terms
    edges: tuple[str, ...] = ()


class _Unusable(Exception):
    """A mask that cannot be measured; the message says why."""


class _Missing(_Unusable):
    """A mask file that does not exist: the case-file reader already warns about it."""


def _read_mask(folder: Path, relative: str) -> _Mask:
    import numpy as np
    import SimpleITK as sitk

    from ..geometry.mask_values import MaskValueError, binary_inside, edges_of_spans
    from ..safe_files import OutsideFolderError, check_regular, resolve_inside

    try:
        path = resolve_inside(folder, relative)
    except OutsideFolderError:
        raise _Unusable("it leaves the case file's folder (through a symbolic link); not read") from None
    if not os.path.lexists(path):
        raise _Missing("it does not exist")
    why = check_regular(path)
    if why is not None:
        raise _Unusable(f"it is {why}" if why.startswith("a ") else why)
    real = os.path.realpath(path)
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(real))
    try:
        reader.ReadImageInformation()
        size = reader.GetSize()
        if len(size) != 3:
            raise _Unusable(f"expected a 3-D mask, found {len(size)}-D")
        if math.prod(size) > MAX_MASK_VOXELS:
            raise _Unusable(f"{'x'.join(map(str, size))} voxels is beyond the {MAX_MASK_VOXELS:,}-voxel limit")
        image = reader.Execute()
    except RuntimeError as exc:  # SimpleITK's error for an unreadable or unknown file
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unknown format"
        raise _Unusable(f"it cannot be read as an image ({first[:200]})") from None
    sx, sy, sz = image.GetSpacing()
    direction = np.asarray(image.GetDirection(), dtype=float).reshape(3, 3)
    try:
        array = binary_inside(sitk.GetArrayViewFromImage(image))
    except MaskValueError as exc:
        raise _Unusable(str(exc)) from None
    # The bounding box from the projections on each axis (cheaper than listing every voxel).
    spans = [np.flatnonzero(array.any(axis=tuple(a for a in range(3) if a != axis))) for axis in range(3)]
    if any(len(span) == 0 for span in spans):
        return _Mask(array[:0, :0, :0], array.shape, (0, 0, 0), (sz, sy, sx), direction)
    lo = [max(int(span[0]) - 1, 0) for span in spans]
    hi = [int(span[-1]) + 2 for span in spans]
    crop = array[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]].copy()
    return _Mask(crop, array.shape, (lo[0], lo[1], lo[2]), (sz, sy, sx), direction,
                 edges_of_spans(spans, array.shape))



def _fmt(value: float | Decimal) -> str:
    return f"{float(value):.1f}"


class _Checker:
    def __init__(self, work: CaseWork) -> None:
        from ..rules.results import Finding

        self.work = work
        self.Finding = Finding
        self.findings: list[Finding] = []
        self.cache: dict[str, _Mask | _Unusable] = {}
        self.lesions = {les.id: les for les in work.case.lesions}
        self.obs = {(o.lesion, o.timepoint): o for o in work.case.observations}

    def mask(self, relative: str) -> _Mask:
        got = self.cache.get(relative)
        if got is None:
            try:
                got = _read_mask(self.work.folder, relative)
            except _Unusable as exc:
                got = exc
            self.cache[relative] = got
        if isinstance(got, _Unusable):
            raise got
        return got

    def add(self, rule: str, o: Observation, message: str) -> None:
        self.findings.append(self.Finding(rule, f"at {o.timepoint}, {message}", o.lesion, o.timepoint))

    def measure(self, o: Observation) -> None:
        from .. import geometry as geom

        g = o.geometry
        assert g is not None and g.mask is not None
        lesion = self.lesions.get(o.lesion)
        if lesion is None or o.status not in ("measured", "absent"):
            return
        mrecist = self.work.settings.criteria == "mRECIST"
        if lesion.is_node:
            rule, what, recorded = "REC-M2", "short axis", o.short_axis_mm
        elif mrecist:
            rule, what, recorded = "MR-V1", "viable diameter", o.viable_diameter_mm
        else:
            rule, what, recorded = "REC-M1", "longest diameter", o.longest_diameter_mm
        try:
            m = self.mask(g.mask)
        except _Missing:
            return
        except _Unusable as exc:
            self.add(rule, o, f"the mask {g.mask!r} was not measured: {exc}")
            return
        empty = not m.array.any()
        if o.status == "absent":
            if not empty:
                self.add(rule, o, f"the lesion is recorded absent but its mask {g.mask!r} holds tissue")
            return
        if empty:
            self.add(rule, o, f"the lesion is recorded measured but its mask {g.mask!r} is empty")
            return
        if m.edges:
            self.add(rule, o, f"the mask {g.mask!r} reaches the edge of its image ({', '.join(m.edges)}): the "
                              f"lesion may continue beyond what was imaged, so its {what} may be too small")
        if recorded is None:
            return  # the reader's check reports the missing diameter
        try:
            geom.check_axial(geom.Grid(m.spacing, None, m.direction))
        except geom.NonAxialError as exc:
            self.add(rule, o, f"the {what} was not measured from the mask {g.mask!r}: {exc}")
            return
        if lesion.is_node:
            seg = geom.short_axis(m.array, m.spacing)
            value = seg.length_mm if seg is not None else 0.0
        elif mrecist:
            rule_name = self.work.settings.viable_fragment_rule
            value = geom.viable_diameter(m.array, m.spacing, rule=rule_name).diameter_mm  # type: ignore[arg-type]
        else:
            best = geom.longest_axial_diameter(m.array, m.spacing)
            value = best.diameter_mm if best is not None else 0.0
        _, sy, sx = m.spacing
        tolerance = max(MIN_TOLERANCE_MM, DIAMETER_TOLERANCE_PIXELS * math.hypot(sy, sx))
        if abs(float(recorded) - value) > tolerance:
            self.add(rule, o, f"the recorded {what} {_fmt(recorded)} mm differs from its mask's "
                              f"{_fmt(value)} mm ({g.mask}) by more than {_fmt(tolerance)} mm")

    def gap(self, o: Observation) -> None:
        from .. import geometry as geom

        g = o.geometry
        if g is None or g.mask is None or o.gap_to_ablation_zone_mm is None:
            return
        zone_name = g.ablation_zone_mask
        if zone_name is None and o.near_lesion:
            near = self.obs.get((o.near_lesion, o.timepoint))
            zone_name = near.geometry.ablation_zone_mask if near and near.geometry else None
        if zone_name is None:
            return
        try:
            focus, zone = self.mask(g.mask), self.mask(zone_name)
        except _Missing:
            return
        except _Unusable as exc:
            self.add("ABL-6", o, f"the gap to the ablation zone was not measured: {exc}")
            return
        if focus.full_shape != zone.full_shape or focus.spacing != zone.spacing:
            return  # painted on different grids: nothing to compare without resampling
        if not focus.array.any() or not zone.array.any():
            return
        if zone.edges:
            self.add("ABL-6", o, f"the ablation zone mask {zone_name!r} reaches the edge of its image "
                                 f"({', '.join(zone.edges)}): the zone may continue beyond what was imaged, "
                                 "so the gap measured to it may be too large")
        value = _gap_between(focus, zone, geom)
        recorded = float(o.gap_to_ablation_zone_mm)
        tolerance = max(MIN_TOLERANCE_MM, max(focus.spacing))
        limit = float(self.work.settings.ltp_max_distance_mm)
        if abs(recorded - value) > tolerance:
            self.add("ABL-6", o, f"the recorded gap to the ablation zone {_fmt(recorded)} mm differs from "
                                 f"the masks' {_fmt(value)} mm ({g.mask}, {zone_name}) by more than "
                                 f"{_fmt(tolerance)} mm")
        elif (recorded <= limit) != (value <= limit):
            self.add("ABL-6", o, f"the recorded gap to the ablation zone {_fmt(recorded)} mm and the masks' "
                                 f"{_fmt(value)} mm ({g.mask}, {zone_name}) fall on either side of "
                                 f"ltp_max_distance_mm = {_fmt(limit)}")


def _gap_between(focus: _Mask, zone: _Mask, geom: Any) -> float:
    """The gap between two cropped masks of one grid, on the union of their boxes."""
    import numpy as np

    lo = np.minimum(focus.offset, zone.offset)
    hi = np.maximum(np.add(focus.offset, focus.array.shape), np.add(zone.offset, zone.array.shape))
    shape = tuple(int(v) for v in hi - lo)

    def place(m: _Mask) -> Any:
        out = np.zeros(shape, dtype=bool)
        start = np.subtract(m.offset, lo)
        end = start + m.array.shape
        out[start[0]:end[0], start[1]:end[1], start[2]:end[2]] = m.array
        return out

    return float(geom.gap_mm(place(focus), place(zone), focus.spacing))


def check_masks(work: CaseWork) -> None:
    """Image work: measure every mask of the case again and add a finding where a recorded
    diameter or gap disagrees with its mask (see the module docstring)."""
    observations = [o for o in work.case.observations if o.geometry is not None and o.geometry.mask]
    if not observations:
        return
    checker = _Checker(work)
    for o in observations:
        checker.measure(o)
        checker.gap(o)
    work.add_findings(checker.findings)
