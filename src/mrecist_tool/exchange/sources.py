"""The source images an SR or SEG refers to, found through the dicom layer.

Headers come from :func:`mrecist_tool.dicom.series.read_headers` (the same reader ``scan`` and
``read_series`` use, with the same non-image filter), and a series' geometry from
:func:`mrecist_tool.dicom.stack.plan_stack` (the same slice ordering and refusal reasons), so an
export never accepts a series that loading would refuse, and its voxel grid is the grid of the
:class:`~mrecist_tool.dicom.volume.Volume` the viewer shows.  pydicom data sets are read only
for the series an export actually references (highdicom copies patient and study attributes
from them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..dicom.header import FileHeader
from ..dicom.series import Skipped, image_problem, list_files, read_headers, slice_refs
from ..dicom.stack import SliceRef, StackPlan, plan_stack
from ..dicom.volume import Volume
from ..errors import DicomError
from ..model import Case, Observation, Timepoint


@dataclass
class SourceIndex:
    """Headers of every image below a folder, by study and series."""

    folder: Path
    headers: list[FileHeader] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    _by_series: dict[str, list[FileHeader]] = field(default_factory=dict, repr=False)
    _series_cache: dict[str, SourceSeries] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        groups: dict[str, list[FileHeader]] = defaultdict(list)
        for h in self.headers:
            groups[h.series_uid].append(h)
        self._by_series = dict(groups)

    def series_headers(self, series_uid: str) -> list[FileHeader]:
        return self._by_series.get(series_uid, [])

    def has_series(self, series_uid: str) -> bool:
        return series_uid in self._by_series

    def study_series(self, study_uid: str) -> dict[str, list[FileHeader]]:
        return {u: hs for u, hs in self._by_series.items() if hs[0].study_uid == study_uid}

    def studies(self) -> set[str]:
        return {hs[0].study_uid for hs in self._by_series.values()}

    def series(self, series_uid: str) -> SourceSeries:
        """One series, sorted and checked by :func:`~mrecist_tool.dicom.stack.plan_stack`."""
        if series_uid not in self._series_cache:
            self._series_cache[series_uid] = _source_series(self, series_uid)
        return self._series_cache[series_uid]


def index_folder(folder: str | Path) -> SourceIndex:
    """Read the headers of every DICOM image below ``folder`` (recursively).

    Non-image objects (SR, SEG, presentation states, ...) and unreadable files are kept in
    ``skipped`` with the reason, as ``mrecist scan`` lists them.
    """
    root = Path(folder)
    if not root.is_dir():
        raise DicomError(f"{root}: not a folder of DICOM images")
    paths, _ = list_files(root)
    headers, skipped = read_headers(paths)
    images: list[FileHeader] = []
    for h in headers:
        problem = image_problem(h)
        if problem is not None or not h.study_uid or not h.series_uid:
            skipped.append(Skipped(h.path, problem or "no Study/Series Instance UID"))
        elif not h.is_localizer:
            images.append(h)
    return SourceIndex(folder=root, headers=images, skipped=skipped)


@dataclass
class SourceSeries:
    """One image series as one regular stack: its slices in volume order and its voxel grid."""

    series_uid: str
    plan: StackPlan
    index_folder: Path

    @property
    def slices(self) -> tuple[SliceRef, ...]:
        return self.plan.slices

    @property
    def frame_of_reference_uid(self) -> str | None:
        return self.plan.slices[0].header.frame_of_reference_uid or None

    @property
    def normal(self) -> np.ndarray:
        return np.asarray(self.plan.direction[:, 2], dtype=float)

    @property
    def offsets(self) -> np.ndarray:
        """Position of each slice along the slice normal (mm), ascending."""
        pos = np.asarray([r.position for r in self.plan.slices], dtype=float)
        return pos @ self.normal

    @property
    def slice_spacing(self) -> float:
        return float(self.plan.spacing[0])

    def grid(self) -> Volume:
        """The series' voxel grid as an (empty) :class:`Volume` geometry."""
        p = self.plan
        return Volume(array=np.zeros((0, 0, 0), np.uint8), spacing=p.spacing, origin=p.origin,
                      direction=p.direction, series_uid=self.series_uid,
                      frame_of_reference_uid=self.frame_of_reference_uid or "")

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.plan.n_slices, self.plan.rows, self.plan.columns)

    def nearest_slice(self, point: Iterable[float], tolerance_mm: float) -> SliceRef | None:
        """The slice whose plane is nearest to ``point`` (LPS mm), if within ``tolerance_mm``."""
        d = float(np.dot(np.asarray(list(point), dtype=float), self.normal))
        offsets = self.offsets
        j = int(np.argmin(np.abs(offsets - d)))
        if abs(offsets[j] - d) > tolerance_mm:
            return None
        return self.plan.slices[j]

    def slice_at(self, k: int) -> SliceRef:
        """The image of volume slice ``k`` (a refused stack never has gaps here)."""
        return self.plan.slices[self.plan.slice_index.index(k)]

    def image_coordinates(self, points: Any, ref: SliceRef) -> np.ndarray:
        """LPS points (n, 3) as 2D image coordinates (column, row) on ``ref``, for SCOORD.

        PS3.3 C.18.6.1.1: the top left corner of the top left pixel is (0, 0), so the centre of
        pixel (row r, column c) -- where Image Position (Patient) points -- is (c + 0.5, r + 0.5).
        """
        p = np.asarray(points, dtype=float)
        origin = np.asarray(ref.position, dtype=float)
        x = self.plan.direction[:, 0]
        y = self.plan.direction[:, 1]
        sy, sx = self.plan.spacing[1], self.plan.spacing[2]
        cols = (p - origin) @ x / sx + 0.5
        rows = (p - origin) @ y / sy + 0.5
        return np.column_stack([cols, rows])

    def datasets(self) -> list[Any]:
        """pydicom data sets (headers only) of the slices, in volume order."""

        seen: dict[Path, Any] = {}
        out = []
        for ref in self.plan.slices:
            path = ref.header.path
            if path not in seen:
                seen[path] = read_source_dataset(path)
                out.append(seen[path])
        return out


# Type 2 attributes of the Patient and General Study modules: present in a conformant image,
# often missing in real exports.  highdicom copies them into an SR or SEG and stops with an
# AttributeError when one is absent; an empty value is what Type 2 allows.
_TYPE2_SOURCE = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate",
                 "StudyTime", "ReferringPhysicianName", "StudyID", "AccessionNumber")


def read_source_dataset(path: Path) -> Any:
    """The header of a source image, as highdicom needs it (missing Type 2 patient and study
    attributes present and empty)."""
    import pydicom

    ds = pydicom.dcmread(path, stop_before_pixels=True)
    for keyword in _TYPE2_SOURCE:
        if keyword not in ds:
            setattr(ds, keyword, "")
    return ds


def _source_series(index: SourceIndex, series_uid: str) -> SourceSeries:
    headers = index.series_headers(series_uid)
    if not headers:
        raise DicomError(f"{index.folder}: no image of series {series_uid} found in this folder")
    refs, _ = slice_refs(headers)
    if any(r.frame is not None for r in refs):
        raise DicomError(
            f"{headers[0].path}: series {series_uid} is a multi-frame (Enhanced) object; SR and "
            "SEG export reference single-frame CT/MR slices"
        )
    desc = f"series {headers[0].series_number}" if headers[0].series_number is not None else "series"
    plan = plan_stack(refs, label=f"{index.folder}: {desc} ({series_uid})")
    return SourceSeries(series_uid=series_uid, plan=plan, index_folder=index.folder)


def choose_series(
    index: SourceIndex,
    case: Case,
    timepoint: Timepoint,
    observations: Iterable[Observation],
    series_uid: str | None = None,
) -> list[str]:
    """The series a timepoint's measurements refer to, found in the source folder.

    The ``--series`` given comes first (it is used for observations that name no series), then
    the observations' ``geometry.series_uid``.  When neither names one: the timepoint's series
    of the viability phase (arterial) then any listed series; any series of the timepoint's
    ``study_uid`` in the folder; the only study in the folder.
    """
    if series_uid and not index.has_series(series_uid):
        raise DicomError(f"{index.folder}: series {series_uid} is not in this folder")
    wanted: list[str] = [series_uid] if series_uid else []
    for obs in observations:
        uid = obs.geometry.series_uid if obs.geometry else None
        if uid and uid not in wanted:
            wanted.append(uid)
    missing = [uid for uid in wanted if not index.has_series(uid)]
    if missing:
        raise DicomError(
            f"{index.folder}: series {', '.join(missing)} (named by observations at timepoint "
            f"{timepoint.id}) not found in this folder"
        )
    if wanted:
        return wanted
    if timepoint.series:
        ordered = sorted(timepoint.series, key=lambda s: s.phase != "arterial")
        for s in ordered:
            if index.has_series(s.uid):
                return [s.uid]
    if timepoint.study_uid:
        candidates = index.study_series(timepoint.study_uid)
        if not candidates:
            raise DicomError(
                f"{index.folder}: no image of the study of timepoint {timepoint.id} "
                f"(StudyInstanceUID {timepoint.study_uid}) found in this folder"
            )
    else:
        studies = index.studies()
        if len(studies) != 1:
            raise DicomError(
                f"{index.folder}: timepoint {timepoint.id} of {case.source or 'the case'} has no "
                f"study_uid and the folder holds {len(studies)} studies; record the study_uid "
                "or pass --series UID"
            )
        candidates = index.study_series(next(iter(studies)))
    best = min(
        candidates.items(),
        key=lambda kv: (kv[1][0].series_number is None, kv[1][0].series_number or 0, kv[0]),
    )
    return [best[0]]
