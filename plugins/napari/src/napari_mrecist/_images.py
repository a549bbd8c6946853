"""Where a case's images are, written into the case file so it reopens from anywhere (no Qt).

A case file records its images twice over: each timepoint's ``study_uid`` and series UIDs (the
format's own fields) say *which* images, and the declared extension ``"x-images": {"folder":
...}`` says *where* -- relative to the case file's folder, so a case and its images can move
together (an absolute path only when no relative one exists, e.g. another drive).

Opening a case looks in that folder, then in ``dicom/`` beside the case file, then in the case
file's folder, and accepts a folder only when it holds one of the case's studies (by UID).  When
none does, the reader is told which folder was expected and can point to the right one
(:func:`relink`); the new place is recorded on the next save.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._session import Session
from ._studies import StudySet

IMAGES_KEY = "x-images"


@dataclass
class ImageLookup:
    """The outcome of looking for a case's images."""

    studies: StudySet | None
    tried: list[Path] = field(default_factory=list)
    recorded: str | None = None  # the folder the case file names, as written

    @property
    def found(self) -> bool:
        return self.studies is not None

    def message(self, case_name: str) -> str:
        where = f"the folder it records ({self.recorded})" if self.recorded else "the usual places"
        tried = ", ".join(str(p) for p in self.tried) or "nowhere"
        return (f"{case_name}: its images were not found in {where}; looked in: {tried}. "
                "Use 'Find images…' to point to the folder holding its studies.")


def case_uids(session: Session) -> tuple[set[str], set[str]]:
    """The Study and Series Instance UIDs the case names."""
    studies: set[str] = set()
    series: set[str] = set()
    for tp in session.timepoints.values():
        if tp.study_uid:
            studies.add(tp.study_uid)
        studies.update(str(u) for u in (tp.extra.get("other_study_uids") or ()) if tp.extra)
        series.update(s.uid for s in tp.series or ())
    for obs in session.observations.values():
        if obs.geometry is not None and obs.geometry.series_uid:
            series.add(obs.geometry.series_uid)
    return studies, series


def recorded_folder(extra: dict[str, Any]) -> str | None:
    value = extra.get(IMAGES_KEY)
    folder = value.get("folder") if isinstance(value, dict) else None
    return folder if isinstance(folder, str) and folder.strip() else None


def images_entry(images_root: Path, case_path: Path) -> dict[str, str]:
    """The ``x-images`` value for a case saved at ``case_path``: relative when possible."""
    root = Path(os.path.abspath(images_root))
    try:
        rel = os.path.relpath(root, Path(os.path.abspath(case_path)).parent)
    except ValueError:  # another drive (Windows): no relative path exists
        return {"folder": str(root)}
    return {"folder": Path(rel).as_posix()}


def _folder_has_dicom(folder: Path) -> bool:
    from ._reader import folder_has_dicom

    return folder.is_dir() and folder_has_dicom(folder)


def locate(session: Session, case_file: Path, salt: str | None = None) -> ImageLookup:
    """Find the folder holding the case's studies (see the module docstring).

    ``case_file`` is the file the case was read from (the case, or its autosave beside it).
    A case that names no UIDs (written by hand) accepts any folder with DICOM in the usual
    places.
    """
    base = Path(os.path.abspath(case_file)).parent
    recorded = recorded_folder(session.extra)
    candidates: list[Path] = []
    if recorded:
        p = Path(recorded)
        candidates.append(p if p.is_absolute() else base / p)
    candidates += [base / "dicom", base]
    studies_wanted, series_wanted = case_uids(session)
    lookup = ImageLookup(None, recorded=recorded)
    seen: set[Path] = set()
    for folder in candidates:
        folder = Path(os.path.normpath(folder))
        if folder in seen:
            continue
        seen.add(folder)
        lookup.tried.append(folder)
        if not _folder_has_dicom(folder):
            continue
        studies = StudySet.open(folder, salt=salt)
        if not (studies_wanted or series_wanted) or studies.holds_any(studies_wanted, series_wanted):
            lookup.studies = studies
            return lookup
    return lookup


def relink(session: Session, folder: Path, salt: str | None = None) -> StudySet:
    """Use ``folder`` for the case's images when it holds one of its studies.

    Raises
    ------
    ValueError
        When the folder holds none of the case's studies (its UIDs are named).
    """
    studies = StudySet.open(folder, salt=salt)
    wanted, series = case_uids(session)
    if (wanted or series) and not studies.holds_any(wanted, series):
        found = len(studies.scan_result.studies)
        raise ValueError(f"{folder}: none of this case's {len(wanted)} studies is there "
                         f"({found} other stud{'y' if found == 1 else 'ies'} found)")
    return studies
