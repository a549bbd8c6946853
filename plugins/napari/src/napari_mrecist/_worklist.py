"""A worklist: a folder of many subjects (a trial's export), and each one's reading status (no Qt).

Layout (the export is never written into; readings go to their own folder)::

    EXPORT/
      <subject folder>/...          DICOM of one subject (any layout), or a prepared case file
                                    with its DICOM beside it
      readings/<reader>/<subject folder>.json    each reader's case file for that subject

A subject is *not started* when no reader has a case file (or autosave) for it, *in progress*
while a case file or autosave exists, and *done* when its reader marked it so (the case file's
declared extension ``"x-reading": {"status": "done", "reader": ..., "updated": ...}``).  The
worklist shows every reader's status, so a second reader sees who read what.  The reading also
keeps where the reader was (``"timepoint"``, ``"lesion"``) so reopening resumes there.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._session import now_iso

READINGS = "readings"
READING_KEY = "x-reading"
NOT_STARTED, IN_PROGRESS, DONE = "not started", "in progress", "done"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    """A file-name-safe form of a folder or reader name."""
    return _SAFE.sub("-", text).strip("-.") or "reader"


@dataclass(frozen=True)
class ReaderStatus:
    reader: str
    status: str
    updated: str | None
    path: Path


@dataclass
class Subject:
    """One subject of the worklist."""

    name: str  # its folder's name
    folder: Path
    case_file: Path | None  # a prepared case file inside the folder, if any
    readers: list[ReaderStatus] = field(default_factory=list)

    def status_of(self, reader: str) -> str:
        for r in self.readers:
            if r.reader == safe_name(reader):
                return r.status
        return NOT_STARTED

    def summary(self) -> str:
        """Everyone's status, e.g. "done (dr-a); in progress (dr-b)"."""
        if not self.readers:
            return NOT_STARTED
        return "; ".join(f"{r.status} ({r.reader})" for r in self.readers)


def _is_case_file(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return b"mrecist-case" in fh.read(4096)
    except OSError:
        return False


def _reading_status(path: Path) -> tuple[str, str | None]:
    autosave = path.with_name(path.name.removesuffix(".json") + ".autosave.json")
    source = path if path.exists() else autosave
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return IN_PROGRESS, None
    reading = data.get(READING_KEY) if isinstance(data, dict) else None
    if isinstance(reading, dict) and reading.get("status") == DONE:
        return DONE, str(reading.get("updated") or "") or None
    return IN_PROGRESS, (str(reading.get("updated")) if isinstance(reading, dict) else None)


class Worklist:
    """The subjects of one export folder and where their readings are."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.subjects: list[Subject] = []
        self.refresh()

    def refresh(self) -> None:
        from ._reader import folder_has_dicom

        subjects = []
        for entry in sorted(self.root.iterdir(), key=lambda p: p.name):
            if not entry.is_dir() or entry.name.startswith(".") or entry.name == READINGS:
                continue
            cases = sorted(p for p in entry.glob("*.json") if _is_case_file(p)
                           and not p.name.endswith(".autosave.json"))
            if not cases and not folder_has_dicom(entry):
                continue
            subject = Subject(entry.name, entry, cases[0] if cases else None)
            subject.readers = self._statuses(entry.name)
            subjects.append(subject)
        self.subjects = subjects

    def _statuses(self, name: str) -> list[ReaderStatus]:
        out: list[ReaderStatus] = []
        readings = self.root / READINGS
        if not readings.is_dir():
            return out
        for reader_dir in sorted(p for p in readings.iterdir() if p.is_dir()):
            path = reader_dir / f"{name}.json"
            autosave = reader_dir / f"{name}.autosave.json"
            if path.exists() or autosave.exists():
                status, updated = _reading_status(path)
                out.append(ReaderStatus(reader_dir.name, status, updated, path))
        return out

    def reading_path(self, subject: Subject, reader: str) -> Path:
        """Where ``reader``'s case file of ``subject`` is (or will be saved)."""
        return self.root / READINGS / safe_name(reader) / f"{subject.name}.json"

    def index_of(self, name: str) -> int:
        for i, s in enumerate(self.subjects):
            if s.name == name:
                return i
        raise KeyError(name)

    def resume_index(self, reader: str) -> int:
        """Where ``reader`` resumes: their first subject in progress, else the first not started
        (else the first)."""
        for wanted in (IN_PROGRESS, NOT_STARTED):
            for i, s in enumerate(self.subjects):
                if s.status_of(reader) == wanted:
                    return i
        return 0


def reading_mark(extra: dict[str, Any], reader: str, status: str, timepoint: str | None,
                 lesion: str | None) -> None:
    """Write the reading's status and position into a case's ``extra`` (saved with it)."""
    extra[READING_KEY] = {"status": status, "reader": reader, "updated": now_iso(),
                          **({"timepoint": timepoint} if timepoint else {}),
                          **({"lesion": lesion} if lesion else {})}


def reading_position(extra: dict[str, Any]) -> tuple[str | None, str | None]:
    value = extra.get(READING_KEY)
    if not isinstance(value, dict):
        return None, None
    tp, lesion = value.get("timepoint"), value.get("lesion")
    return (tp if isinstance(tp, str) else None, lesion if isinstance(lesion, str) else None)


def is_done(extra: dict[str, Any]) -> bool:
    value = extra.get(READING_KEY)
    return isinstance(value, dict) and value.get("status") == DONE


def ensure_folder(path: Path) -> None:
    os.makedirs(path.parent, exist_ok=True)
