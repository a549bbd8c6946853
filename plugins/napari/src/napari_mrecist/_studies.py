"""Finding and loading the images of a case's timepoints (no Qt).

A case file names each timepoint's ``study_uid`` and series; the images are looked for in the
case file's folder (its ``dicom/`` subfolder first, the layout of the generated sample studies),
scanned once with :func:`mrecist_tool.dicom.scan` and loaded lazily with
:func:`mrecist_tool.dicom.read_series`, one volume per timepoint, cached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mrecist_tool.dicom import ScanResult, SeriesInfo, Volume, read_series, scan, studies_to_timepoints
from mrecist_tool.model import Timepoint

# The phase the reader measures on first: mRECIST viability is judged on the arterial phase
# (APP-1); portal-venous next; anything loadable last.
PHASE_PREFERENCE = ("arterial", "portal-venous", "delayed", "hepatobiliary", "non-contrast", "other")


def dicom_root_for_case(case_path: Path) -> Path | None:
    """Where a case's images are: ``<folder>/dicom`` when present, else the case's folder when
    DICOM files are found in it (a quick probe, not a full scan)."""
    from ._reader import _folder_has_dicom

    folder = case_path.parent
    if (folder / "dicom").is_dir():
        return folder / "dicom"
    if _folder_has_dicom(folder):
        return folder
    return None


def _rank(info: SeriesInfo, wanted: str | None) -> tuple[int, int]:
    phase = info.phase.replace("_", "-")
    if wanted and phase == wanted:
        return (0, -info.n_slices)
    order = PHASE_PREFERENCE.index(phase) if phase in PHASE_PREFERENCE else len(PHASE_PREFERENCE)
    return (1 + order, -info.n_slices)


@dataclass
class StudySet:
    """The scanned images of one subject, with a cache of loaded volumes."""

    root: Path
    scan_result: ScanResult
    _volumes: dict[str, Volume] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, root: Path) -> StudySet:
        return cls(root=Path(root), scan_result=scan(root))

    def timepoints(self, baseline_study_uid: str | None = None) -> list[Timepoint]:
        return studies_to_timepoints(self.scan_result, baseline_study_uid)

    def series_for(self, tp: Timepoint, phase: str | None = None) -> SeriesInfo | None:
        """The series to show for a timepoint: the requested phase, else the preference order,
        among the loadable series of the timepoint's study (or of its listed series)."""
        candidates: list[SeriesInfo] = []
        wanted_uids = {s.uid for s in tp.series or ()}
        other_studies = set(tp.extra.get("other_study_uids", ()) or ()) if tp.extra else set()
        for info in self.scan_result.loadable_series:
            if info.series_uid in wanted_uids or (tp.study_uid and info.study_uid == tp.study_uid) \
                    or info.study_uid in other_studies:
                candidates.append(info)
        if not candidates:
            return None
        # A phase recorded in the case wins over the scanner's guess.
        recorded = {s.uid: s.phase for s in tp.series or ()}

        def key(info: SeriesInfo) -> tuple[int, int]:
            if info.series_uid in recorded:
                info = _with_phase(info, recorded[info.series_uid])
            return _rank(info, phase)

        return min(candidates, key=key)

    def volume(self, series_uid: str) -> Volume:
        """Load (once) and return a series."""
        if series_uid not in self._volumes:
            info = self.scan_result.series_by_uid(series_uid)
            self._volumes[series_uid] = read_series(list(info.files), series_uid=series_uid,
                                                    missing_slices="fill")
        return self._volumes[series_uid]


def _with_phase(info: SeriesInfo, phase: str) -> SeriesInfo:
    from dataclasses import replace

    return replace(info, phase=phase)
