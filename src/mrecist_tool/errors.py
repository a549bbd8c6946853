"""One error hierarchy for the toolkit.

Every error is also a builtin (``ValueError``, ``OSError``, ``ImportError``) so callers that do not
know our types still catch them.  Messages name the file, the place in it (a JSON path or a DICOM
file), what was found and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class MrecistError(Exception):
    """Base class of every error raised on purpose by mrecist_tool."""


@dataclass(frozen=True)
class Problem:
    """One located problem in an input file.

    Attributes
    ----------
    file : str
        The file, as the user named it.
    path : str
        Where in it: a JSON path such as ``$.observations[3].viable_diameter_mm`` (or, for DICOM,
        a file name and tag).
    message : str
        What was found and what was expected.
    severity : str
        ``"error"`` (the file is refused) or ``"warning"``.
    rule : str or None
        The rule ID of response-rules.md the problem is about, if any.
    """

    file: str
    path: str
    message: str
    severity: str = "error"
    rule: str | None = None

    def __str__(self) -> str:
        rule = f" [{self.rule}]" if self.rule else ""
        return f"{self.file}: {self.path}: {self.message}{rule}"


class CaseFileError(MrecistError, ValueError):
    """A case file could not be read: it carries every problem found, not just the first.

    Parameters
    ----------
    file : str or Path
        The case file.
    problems : list of Problem
        Every problem found; errors go to ``.problems``, warnings to ``.warnings``.
    """

    def __init__(self, file: str | Path, problems: list[Problem]):
        self.file = str(file)
        self.problems = [p for p in problems if p.severity == "error"]
        self.warnings = [p for p in problems if p.severity != "error"]
        lines = [str(p) for p in self.problems] or [f"{file}: invalid case file"]
        super().__init__("\n".join(lines))


class UnsupportedVersionError(CaseFileError):
    """The case file is of a newer format version than this toolkit reads.

    Parameters
    ----------
    file : str or Path
        The case file.
    problems : list of Problem
        The problem naming the version found and the versions read.
    """


class SettingsError(MrecistError, ValueError):
    """An unknown setting name or a value of the wrong kind."""


class SettingsConflictError(SettingsError):
    """Settings that are each valid but contradict one another (e.g. an ABL-2 extension that
    reaches into the technique-efficacy window)."""


class DicomError(MrecistError, ValueError):
    """A DICOM file or series cannot be used; the message names the file and the reason."""


class MissingDependencyError(MrecistError, ImportError):
    """An optional dependency is not installed; the message says which extra to install."""


class SaveError(MrecistError, OSError):
    """A file could not be written; the previous file, if any, is untouched."""
