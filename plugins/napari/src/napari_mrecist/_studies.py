"""Finding and loading the images of a case's timepoints (no Qt).

A folder is scanned once with :func:`mrecist_tool.dicom.scan` (headers only) and each
timepoint's series is loaded lazily with :func:`mrecist_tool.dicom.read_series`, one volume per
series, cached.  Nothing is loaded silently incomplete: a series with missing or unreadable
slices is refused with the core's located reason (which files, which gap), and
:meth:`StudySet.problems` lists every file and series left out, so the reader is told.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from mrecist_tool.dicom import ScanResult, SeriesInfo, Volume, read_series, scan, studies_to_timepoints
from mrecist_tool.errors import DicomError
from mrecist_tool.model import Timepoint

# The phase the reader measures on first: mRECIST viability is judged on the arterial phase
# (APP-1); portal-venous next; anything loadable last.
PHASE_PREFERENCE = ("arterial", "portal-venous", "delayed", "hepatobiliary", "non-contrast", "other")
_LISTED = 3  # problems named one by one before "and N more"

# The core's messages end with hints for API users (an argument to pass: ``missing_slices=``,
# ``part=``, ``series_uid=``, ``patient=``); in the viewer there is no such argument, so the
# reader is told what they can do in the viewer instead.  The core's own message (CLI, API)
# stays as it is.  Every hint the DICOM layer gives is here (test_plugin_readers.py makes each
# one with real DICOM and checks it is replaced).
_ONE_VOLUME = ("the viewer shows a series of one volume only: choose another series of this study in "
               "the Series box, or have each volume exported as a series of its own and open the "
               "folder again")
_API_HINTS = (
    (re.compile(r";?\s*pass missing_slices='fill' to load with empty slices in the gaps"),
     "; the viewer does not open a series with a gap: add the missing slices to the folder "
     "(export the whole series again from the PACS) and open it again"),
    # scan: a series holding several volumes (dynamic phases, echoes) in one Series UID
    (re.compile(r";?\s*load one with read_series\(\.\.\., part='[^']*'\) and so on"), f"; {_ONE_VOLUME}"),
    # read_series: the same series asked for as a whole (the parts' list ends the message)
    (re.compile(r";?\s*load one volume with part= one of: ([^;]*)"), f" (its volumes: \\1); {_ONE_VOLUME}"),
    (re.compile(r";?\s*pass series_uid= one of: "),
     "; open the subject's folder with Open… and choose the series in the Series box: "),
    (re.compile(r";?\s*pass patient= one pseudonym"),
     "; open one subject's folder with Open…, or the whole folder with Worklist…"),
)


def for_reader(message: str) -> str:
    """A core message as the viewer shows it: API hints replaced by what the reader can do."""
    for pattern, instead in _API_HINTS:
        message = pattern.sub(instead, message)
    return message


def _rank(info: SeriesInfo, wanted: str | None) -> tuple[int, int]:
    phase = info.phase.replace("_", "-")
    if wanted and phase == wanted:
        return (0, -info.n_slices)
    order = PHASE_PREFERENCE.index(phase) if phase in PHASE_PREFERENCE else len(PHASE_PREFERENCE)
    return (1 + order, -info.n_slices)


def _label(info: SeriesInfo) -> str:
    number = f"series {info.series_number}" if info.series_number is not None else "series"
    return f"{number} {info.description!r}" if info.description else f"{number} {info.series_uid}"


@dataclass
class StudySet:
    """The scanned images of one folder, with a cache of loaded volumes."""

    root: Path
    scan_result: ScanResult
    _volumes: dict[str, Volume] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, root: Path, salt: str | None = None) -> StudySet:
        """Scan ``root`` (headers only).  ``salt`` makes the patients' pseudonyms stable."""
        return cls(root=Path(root), scan_result=scan(root, salt=salt))

    # -- what is there -----------------------------------------------------------------------------
    @property
    def patients(self) -> list[str]:
        return [p.pseudonym for p in self.scan_result.patients]

    def study_uids(self) -> set[str]:
        return {st.study_uid for st in self.scan_result.studies}

    def holds_any(self, study_uids: set[str], series_uids: set[str]) -> bool:
        """Whether this folder holds one of the given studies or series."""
        return bool(self.study_uids() & study_uids
                    or {s.series_uid for s in self.scan_result.series} & series_uids)

    def timepoints(self, patient: str | None = None) -> list[Timepoint]:
        """One timepoint per study date of one patient (the only one, or ``patient``).

        Raises
        ------
        DicomError
            With a message a reader can act on: no images at all (and why the files were not
            used), or several patients in the folder.
        """
        result = self.scan_result
        if not result.patients:
            raise DicomError(self.nothing_found())
        if len(result.patients) > 1 and patient is None:
            raise DicomError(f"{self.root}: images of {len(result.patients)} patients; open one "
                             "subject's folder with Open…, or the whole folder with Worklist…")
        return studies_to_timepoints(result, patient=patient)

    def nothing_found(self) -> str:
        """Why the folder gave no image series, naming files and reasons."""
        result = self.scan_result
        text = f"{self.root}: no DICOM image series found ({result.n_files} file(s) looked at"
        if result.skipped:
            text += f"; {len(result.skipped)} left out: " + _examples(
                [f"{s.path.name}: {s.reason}" for s in result.skipped])
        return text + ")"

    def problems(self) -> list[str]:
        """Every series that will not load and every unreadable DICOM file, with the reason."""
        out: list[str] = []
        for info in self.scan_result.series:
            if not info.loadable and info.kind in ("volume", "image", "multi-volume"):
                out.append(f"{_label(info)} ({info.n_files} files) not loaded: {for_reader(str(info.reason))}")
        dicom_like = [s for s in self.scan_result.skipped
                      if not s.reason.startswith("not a DICOM file") and "DICOMDIR" not in s.reason]
        if dicom_like:
            out.append(f"{len(dicom_like)} DICOM file(s) could not be read and are left out: "
                       + _examples([f"{s.path.name}: {s.reason}" for s in dicom_like]))
        return out

    def warnings(self) -> list[str]:
        return [f"{_label(info)}: {w}" for info in self.scan_result.loadable_series for w in info.warnings]

    # -- one timepoint ---------------------------------------------------------------------------
    def candidates(self, tp: Timepoint) -> list[SeriesInfo]:
        """The series of a timepoint's study (or of its listed series), loadable or not."""
        wanted_uids = {s.uid for s in tp.series or ()}
        other_studies = set(tp.extra.get("other_study_uids", ()) or ()) if tp.extra else set()
        return [info for info in self.scan_result.series
                if info.series_uid in wanted_uids or (tp.study_uid and info.study_uid == tp.study_uid)
                or info.study_uid in other_studies]

    def series_for(self, tp: Timepoint, phase: str | None = None) -> SeriesInfo | None:
        """The series to show for a timepoint: the requested phase, else the preference order,
        among the loadable series of the timepoint's study (or of its listed series)."""
        candidates = [info for info in self.candidates(tp) if info.loadable]
        if not candidates:
            return None
        # A phase recorded in the case wins over the scanner's guess.
        recorded = {s.uid: s.phase for s in tp.series or ()}

        def key(info: SeriesInfo) -> tuple[int, int]:
            if info.series_uid in recorded:
                info = _with_phase(info, recorded[info.series_uid])
            return _rank(info, phase)

        return min(candidates, key=key)

    def why_no_series(self, tp: Timepoint) -> str:
        """Why a timepoint has no image to show (its series' reasons, or no study here)."""
        refused = [info for info in self.candidates(tp) if not info.loadable]
        if refused:
            return "; ".join(f"{_label(info)}: {for_reader(str(info.reason))}" for info in refused)
        return f"its study ({tp.study_uid or 'no Study Instance UID recorded'}) is not in {self.root}"

    def volume(self, series_uid: str) -> Volume:
        """Load (once) and return a series; a gap or an unreadable slice raises DicomError."""
        if series_uid not in self._volumes:
            info = self.scan_result.series_by_uid(series_uid)
            self._volumes[series_uid] = read_series(list(info.files), series_uid=series_uid,
                                                    missing_slices="raise")
        return self._volumes[series_uid]


def _examples(items: list[str]) -> str:
    shown = "; ".join(items[:_LISTED])
    return shown + (f"; and {len(items) - _LISTED} more" if len(items) > _LISTED else "")


def _with_phase(info: SeriesInfo, phase: str) -> SeriesInfo:
    from dataclasses import replace

    return replace(info, phase=phase)
