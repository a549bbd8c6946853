"""Read, validate and write case files (``mrecist-case`` version 1, case-format.md).

Reading parses JSON exactly (lengths become :class:`~decimal.Decimal`, rule GEN-1), checks every
field and every cross-reference, and either returns a :class:`~mrecist_tool.model.Case` or raises
:class:`~mrecist_tool.errors.CaseFileError` carrying **every** problem found, each with the file,
a JSON path such as ``$.observations[3].viable_diameter_mm`` and what was found and expected.
Unknown keys are kept (``extra``) and reported as warnings, so a typo shows but a round trip
loses nothing.  Writing is lossless (decimals digit for digit), in a stable key order, and atomic.

Decisions this module makes (case-format.md leaves them open):

- A file with no ``"baseline": true`` is refused: the format says "true on exactly one
  timepoint", and guessing the baseline would silently change every response.
- A target lesion with no observation at baseline is refused (no baseline sum); a non-target
  without one is a warning.
- A ``measured`` observation must carry the diameter of the criteria it is assessed under (the
  file's ``settings.criteria``, else ``criteria``, else its ``profile``'s, else mRECIST), for new
  lesions too.  A command-line ``--criteria`` changes that: pass ``criteria=`` to the readers or
  call :func:`check_measurements` on the case.
- Keys beginning ``x-`` / ``x_`` are declared extensions: kept without a warning.  The top-level
  ``simulated`` (generated cohorts) and ``$schema``, and ``note`` (free text) on any object, are
  added optional fields kept in ``extra``.  Keys that look like personal data (``name``,
  ``birth_date``, ...) get a warning of their own.
- Numbers read as Python ``float`` (data parsed without ``parse_float=Decimal``) are accepted and
  converted through their shortest ``repr``, which is the literal written for any usual length.
- Files larger than 20 MiB, ``NaN`` / ``Infinity`` literals, duplicated keys and nesting deeper
  than 64 levels are refused, each at its JSON path where it has one.
- In a folder, ``*.json`` files are case files when they contain ``"format": "mrecist-case"``;
  other JSON files are skipped silently, but a ``*.json`` file that is not valid JSON, or one
  with ``subject`` and ``timepoints`` but the wrong ``format``, is reported (it may be a broken
  case file).  Hidden folders (``.git``, ``.venv``) are not searched.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace as _dc_replace
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from .. import model as m
from ..errors import CaseFileError, Problem, SaveError, UnsupportedVersionError
from ..safe_files import NotRegularFileError, check_regular, display_name, open_regular
from .checks import (
    TOP_KEYS,
    TOP_REQUIRED,
    Built,
    Checker,
    build_lesion,
    build_observation,
    build_procedure,
    build_subject,
    build_timepoint,
)
from .fast import fast_observation, fast_timepoint
from .jsontext import (
    MAX_FILE_BYTES,
    UNPARSED,
    atomic_write_text,
    describe,
    dumps,
    os_reason,
    parse_text,
    read_text,
)
from .xref import cross_check, effective_criteria, measurement_problems

__all__ = [
    "MAX_FILE_BYTES",
    "case_from_dict",
    "case_problems",
    "case_to_dict",
    "check_measurements",
    "discover_case_files",
    "load_case",
    "read_case",
    "read_case_text",
    "schema",
    "validate_file",
    "write_case",
]


# -- reading ----------------------------------------------------------------------------------


def _build(data: Any, file: str, *, criteria: str | None = None,
           source: Path | None = None, in_progress: bool = False) -> tuple[m.Case | None, list[Problem]]:
    """Check ``data`` (parsed JSON) and build a Case; ``None`` when any error was found."""
    ck = Checker(file)
    ck.in_progress = in_progress
    if not isinstance(data, dict):
        ck.wrong("$", data, "a JSON object {...} with \"format\": \"mrecist-case\"")
        return None, ck.problems
    fmt = data.get("format")
    if fmt != m.FORMAT_NAME:
        if "format" not in data:
            ck.error("$.format", "missing: a case file starts with \"format\": \"mrecist-case\"")
        else:
            ck.wrong("$.format", fmt, f"the text {json.dumps(m.FORMAT_NAME)}")
        if "timepoints" not in data:  # not a case file at all: listing more would be noise
            return None, ck.problems
    version = data.get("version")
    if "version" not in data:
        ck.error("$.version", f"missing: a case file states \"version\": {m.FORMAT_VERSION}")
    elif type(version) is not int:
        ck.wrong("$.version", version, f"the whole number {m.FORMAT_VERSION}")
    elif version > m.FORMAT_VERSION:
        ck.error("$.version", f"the file is version {version} of the case format; this "
                              f"toolkit reads version {m.FORMAT_VERSION} (update mrecist-tool)")
        return None, ck.problems
    elif version < m.FORMAT_VERSION:
        ck.error("$.version", f"found version {version}, expected {m.FORMAT_VERSION}")
    extra = ck.keys(data, "$", TOP_KEYS, TOP_REQUIRED[2:], "the case file")
    for key in ("simulated", "$schema", "accepted"):
        if key in data:
            (ck.text if key == "$schema" else ck.boolean)(data[key], f"$.{key}")
            extra[key] = data[key]  # added optional fields without a model attribute
    if "evaluator" in data:
        extra["evaluator"] = ck.enum(data["evaluator"], "$.evaluator", m.EVALUATORS)
    reader = ck.text(data["reader"], "$.reader") if "reader" in data else None
    crit = ck.enum(data["criteria"], "$.criteria", m.CRITERIA) if "criteria" in data else None
    profile = ck.profile(data["profile"], "$.profile") if "profile" in data else None
    settings = ck.settings(data["settings"], "$.settings") if "settings" in data else {}

    built = Built()
    if "subject" in data:
        built.subject = build_subject(ck, data["subject"])
    _items(ck, data, "timepoints", built, lambda i, v: build_timepoint(ck, i, v, built),
           built.timepoints, minimum=1, fast=lambda v: fast_timepoint(v, ck, built))
    _items(ck, data, "procedures", built, lambda i, v: build_procedure(ck, i, v),
           built.procedures)
    _items(ck, data, "lesions", built, lambda i, v: build_lesion(ck, i, v, built), built.lesions)
    _items(ck, data, "observations", built, lambda i, v: build_observation(ck, i, v),
           built.observations, fast=lambda v: fast_observation(v, ck))

    assess_criteria = criteria or effective_criteria(crit, profile, settings)
    cross_check(ck, built, assess_criteria, source.parent if source is not None else None)
    if any(p.severity == "error" for p in ck.problems) or built.subject is None or \
            not built.complete:
        return None, ck.problems
    case = m.Case(
        subject=built.subject,
        timepoints=tuple(sorted((tp for _, tp in built.timepoints), key=lambda t: t.date)),
        lesions=tuple(les for _, les in built.lesions),
        observations=tuple(o for _, o in built.observations),
        procedures=tuple(p for _, p in built.procedures),
        criteria=crit,
        settings=settings,
        profile=profile,
        reader=reader,
        version=m.FORMAT_VERSION,
        extra=extra,
        source=source,
    )
    return case, ck.problems


def _items(ck: Checker, data: dict[str, Any], key: str, built: Built, build: Any,
           out: list[Any], minimum: int = 0, fast: Any = None) -> None:
    if key not in data:
        return  # a missing required list was reported by the key check
    value = data[key]
    if not isinstance(value, list):
        ck.wrong(f"$.{key}", value, f"a list [...] of {key}")
        built.complete = False
        return
    built.lists_ok.add(key)
    if len(value) < minimum:
        ck.error(f"$.{key}", f"found an empty list, expected at least {minimum} of {key}")
    pairs = built.observed_pairs if key == "observations" else None
    for i, item in enumerate(value):
        # ``fast`` builds the common valid item without bookkeeping; ``build`` checks fully.
        obj = fast(item) if fast is not None else None
        if obj is None:
            obj = build(i, item)
        if obj is None:
            built.complete = False
            if pairs is not None and isinstance(item, dict):
                lesion, tp = item.get("lesion"), item.get("timepoint")
                if isinstance(lesion, str) and isinstance(tp, str):
                    pairs.add((lesion, tp))
        else:
            out.append((i, obj))


def _raise(file: str, problems: list[Problem]) -> None:
    errors = [p for p in problems if p.severity == "error"]
    if errors and any("this toolkit reads version" in p.message for p in errors):
        raise UnsupportedVersionError(file, problems)
    raise CaseFileError(file, problems)


def case_from_dict(data: Any, *, file: str | Path = "<case>",
                   criteria: str | None = None) -> m.Case:
    """Build a :class:`Case` from parsed JSON, checking everything.

    Parameters
    ----------
    data : Any
        The parsed JSON (numbers as :class:`~decimal.Decimal` or ``int``).
    file : str or Path
        Name used in messages.
    criteria : str, optional
        Check ``measured`` observations against these criteria instead of the file's own (a
        command-line ``--criteria`` override).

    Returns
    -------
    Case
        The case, with lengths as exact decimals.

    Raises
    ------
    CaseFileError
        With every problem found (:class:`UnsupportedVersionError` for a newer format).
    """
    case, problems = _build(data, str(file), criteria=criteria)
    if case is None:
        _raise(str(file), problems)
    assert case is not None
    return case


def _load_text(text: str, file: str, criteria: str | None,
               source: Path | None, in_progress: bool = False) -> tuple[m.Case | None, list[Problem]]:
    if len(text) > MAX_FILE_BYTES:
        return None, [Problem(file, "$", f"case files larger than {MAX_FILE_BYTES // 2**20} "
                                         "MiB are refused")]
    data, problems = parse_text(text, file)
    if data is UNPARSED:
        return None, problems
    case, more = _build(data, file, criteria=criteria, source=source, in_progress=in_progress)
    problems = problems + more
    if problems and case is not None and any(p.severity == "error" for p in problems):
        case = None  # NaN literals or duplicated keys found by the parser
    return case, problems


def read_case_text(text: str, *, file: str | Path = "<text>",
                   criteria: str | None = None) -> m.Case:
    """Read a case from JSON text.

    Parameters
    ----------
    text : str
        The JSON text of a case file.
    file : str or Path
        Name used in messages.
    criteria : str, optional
        Check measurements against these criteria instead of the case's own.

    Returns
    -------
    Case
        The case, as :func:`case_from_dict` builds it.

    Raises
    ------
    CaseFileError
        With every problem found, each located by JSON path.
    """
    case, problems = _load_text(text, str(file), criteria, None)
    if case is None:
        _raise(str(file), problems)
    assert case is not None
    return case


def load_case(path: str | Path, *, criteria: str | None = None, in_progress: bool = False
              ) -> tuple[m.Case | None, list[Problem]]:
    """Read a case file without raising.

    Mask paths are also checked to exist next to the file (a warning when missing).

    Parameters
    ----------
    path : str or Path
        The case file.
    criteria : str, optional
        Check measurements against these criteria instead of the file's own.
    in_progress : bool, optional
        The file is a reading not yet finished (the viewer reopening its own save or autosave),
        so a target not yet observed at baseline [REC-B1] is a warning, not an error.

    Returns
    -------
    tuple of (Case or None, list of Problem)
        The case (None when it has errors) and every error and warning.
    """
    path = Path(path)
    file = str(path)
    try:
        text, problems = read_text(path, file)
        if text is None:
            return None, problems
        return _load_text(text, file, criteria, path, in_progress)
    except RecursionError:
        return None, [Problem(file, "$", "the JSON is nested too deeply to be a case file")]
    except MemoryError:
        return None, [Problem(file, "$", "not enough memory to read this file")]


def read_case(path: str | Path, *, criteria: str | None = None) -> m.Case:
    """Read and check one case file.

    Parameters
    ----------
    path : str or Path
        The case file.
    criteria : str, optional
        Check ``measured`` observations against these criteria (``"mRECIST"`` or
        ``"RECIST1.1"``) instead of the file's own, as ``--criteria`` does.

    Returns
    -------
    Case
        The case, with lengths as exact decimals.

    Raises
    ------
    CaseFileError
        With every problem in the file (warnings in ``.warnings``); an unreadable file is a
        CaseFileError too.  :class:`UnsupportedVersionError` for a newer format version.
    """
    case, problems = load_case(path, criteria=criteria)
    if case is None:
        _raise(str(path), problems)
    assert case is not None
    return case


def validate_file(path: str | Path, *, criteria: str | None = None) -> list[Problem]:
    """Every error and warning in one case file, without raising.

    A key that looks like a misspelt known one is an error here, as in ``assess``
    (:func:`misspelt_keys_refused`).

    Parameters
    ----------
    path : str or Path
        The case file.
    criteria : str, optional
        Check measurements against these criteria instead of the file's own.

    Returns
    -------
    list of Problem
        Empty when the file is valid and clean.
    """
    return misspelt_keys_refused(load_case(path, criteria=criteria)[1])


def misspelt_keys_refused(problems: list[Problem]) -> list[Problem]:
    """Make an unknown key that looks like a known one an error.

    ``randomisation_date`` for ``randomization_date`` would otherwise be silently unused and, for
    a date, shift every time origin.  ``validate``, ``assess``, ``explain``, ``export`` and
    ``analyze`` refuse it alike; :func:`read_case` (the viewer) still opens the file so that it
    can be corrected.  Unknown keys unlike any known one stay warnings.

    Parameters
    ----------
    problems : list of Problem
        The problems of one case file, as :func:`load_case` returns them.

    Returns
    -------
    list of Problem
        The same problems, the "did you mean" unknown-key warnings turned into errors.
    """
    out = []
    for p in problems:
        if p.severity != "error" and p.message.startswith("unknown key") and "did you mean" in p.message:
            p = _dc_replace(p, severity="error", message=p.message.replace(
                ", kept but not used;", " (refused: its value would be ignored);"))
        out.append(p)
    return out


def case_problems(case: m.Case, *, criteria: str | None = None) -> list[Problem]:
    """Every error and warning the readers would report for ``case`` once written.

    :func:`write_case` does not refuse an incomplete case (an autosave of work in progress must
    never be lost); call this first to tell the user what still needs doing.

    Parameters
    ----------
    case : Case
        The case, e.g. as edited in the viewer.
    criteria : str, optional
        Check measurements against these criteria instead of the case's own.

    Returns
    -------
    list of Problem
        Empty when the case would be read back valid and clean.
    """
    file = str(case.source) if case.source is not None else "<case>"
    return _build(case_to_dict(case), file, criteria=criteria)[1]


def check_measurements(case: m.Case, criteria: str | None = None) -> list[Problem]:
    """Problems of ``measured`` observations lacking the diameter ``criteria`` needs.

    For a case read under one criteria and assessed under another (``--criteria``).  Paths
    index ``case.observations``, which keeps the file's order.

    Parameters
    ----------
    case : Case
        The case as read.
    criteria : str, optional
        ``"mRECIST"`` or ``"RECIST1.1"``; default: the case's own.

    Returns
    -------
    list of Problem
        One error per observation that lacks the diameter.
    """
    crit = criteria or effective_criteria(case.criteria, case.profile, case.settings)
    file = str(case.source) if case.source is not None else "<case>"
    lesions = {les.id: les for les in case.lesions}
    return measurement_problems(file, lesions, enumerate(case.observations), crit)


# -- discovery --------------------------------------------------------------------------------

_MARKER = re.compile(rb'"format"\s*:\s*"mrecist-case"')
_HEAD = 64 * 1024


def _has_marker(path: Path) -> bool:
    """Whether the file contains ``"format": "mrecist-case"`` (read in chunks, not parsed)."""
    with open_regular(path) as fh:
        tail = b""
        while True:
            chunk = fh.read(_HEAD)
            if not chunk:
                return False
            if _MARKER.search(tail + chunk):
                return True
            tail = chunk[-64:]


def _other_json_problem(path: Path) -> Problem | None:
    """For a ``*.json`` file without the marker: a problem when it may be a broken case file."""
    file = display_name(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None  # a large data file of some other tool: not ours to judge
        text, problems = read_text(path, file)
        if text is None:
            return Problem(file, "$", f"not read as a case file: {problems[0].message}")
        data, problems = parse_text(text, file)
    except (OSError, RecursionError, MemoryError):
        return None
    if data is UNPARSED:
        return Problem(file, "$", f"a .json file that is not valid JSON (it may be a damaged "
                                  f"case file): {problems[0].message}")
    if isinstance(data, dict) and "subject" in data and "timepoints" in data:
        return Problem(file, "$.format", f"looks like a case file but has \"format\": "
                                         f"{describe(data.get('format'))}; expected "
                                         "\"mrecist-case\"")
    return None


def discover_case_files(paths: Iterable[str | Path] | str | Path
                        ) -> tuple[list[Path], list[Problem]]:
    """Case files named by ``paths``: files as given, folders searched recursively.

    A file argument is taken as a case file whatever it holds; in a folder, ``*.json`` files
    containing ``"format": "mrecist-case"`` are case files (see the module docstring for the
    broken-file rule).

    Parameters
    ----------
    paths : str, Path or iterable of them
        Files and folders, as given on the command line.

    Returns
    -------
    tuple of (list of Path, list of Problem)
        The case files in a stable order, and the problems found on the way (a missing path, an
        unreadable folder, a damaged ``.json`` file that looks like a case file).
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    files: list[Path] = []
    problems: list[Problem] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        bad_name = _unencodable_name(p)
        if bad_name is not None:
            problems.append(bad_name)
            return
        try:
            key = Path(os.path.realpath(p))
        except (OSError, ValueError):
            key = p
        if key not in seen:
            seen.add(key)
            files.append(p)

    for raw in paths:
        path = Path(raw)
        try:
            is_dir, exists = path.is_dir(), path.exists() or path.is_symlink()
        except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL
            problems.append(Problem(display_name(path), "$", f"cannot be read: {os_reason(exc)}"))
            continue
        if is_dir:
            for found in _walk(path, problems):
                add(found)
        elif exists:
            add(path)
        else:
            problems.append(Problem(display_name(path), "$", "no such file or folder"))
    return files, problems


def _unencodable_name(path: Path) -> Problem | None:
    """A problem when the file's name cannot be written as UTF-8 (bytes of another encoding).

    Its name goes into the result tables and ``assessment.json``; rather than fail while writing
    them (and lose the batch), such a file is refused here, named with its bytes escaped.
    """
    name = str(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return Problem(display_name(path), "$", "the file's name (or a folder's) holds bytes "
                                                "that are not UTF-8 text (shown as \\xNN); "
                                                "rename it: file names are written into the "
                                                "result tables")
    return None


def _walk(folder: Path, problems: list[Problem]) -> list[Path]:
    found: list[Path] = []

    def onerror(exc: OSError) -> None:
        problems.append(Problem(display_name(exc.filename or folder), "$",
                                f"folder cannot be read: {exc.strerror or exc}", "warning"))

    for root, dirs, names in os.walk(folder, onerror=onerror):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if not name.lower().endswith(".json") or name.startswith("."):
                continue
            path = Path(root) / name
            reason = check_regular(path)
            if reason is not None:  # a FIFO would block, a device never end: never opened
                problems.append(Problem(display_name(path), "$", f"skipped: {reason}", "warning"))
                continue
            try:
                if _has_marker(path):
                    found.append(path)
                    continue
            except NotRegularFileError as exc:  # swapped for a FIFO since the check
                problems.append(Problem(display_name(path), "$", f"skipped: {exc.reason}", "warning"))
                continue
            except OSError as exc:
                problems.append(Problem(display_name(path), "$", f"cannot be read: {os_reason(exc)}"))
                continue
            problem = _other_json_problem(path)
            if problem is not None:
                problems.append(problem)
    return found


# -- writing ----------------------------------------------------------------------------------


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


def _with_extra(out: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if key not in out:
            out[key] = value
    return out


def _date(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _settings_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_settings_value(v) for v in value]
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _subject_dict(s: m.Subject) -> dict[str, Any]:
    out: dict[str, Any] = {"id": s.id}
    _put(out, "arm", s.arm)
    _put(out, "randomization_date", _date(s.randomization_date))
    _put(out, "last_known_alive", _date(s.last_known_alive))
    if s.death is not None:
        out["death"] = _with_extra({"date": s.death.date.isoformat(), "cause": s.death.cause},
                                   s.death.extra)
    if s.strata:
        out["strata"] = dict(s.strata)
    if s.end_of_study is not None:
        e = s.end_of_study
        end: dict[str, Any] = {"date": e.date.isoformat(), "reason": e.reason}
        _put(end, "note", e.note)
        out["end_of_study"] = _with_extra(end, e.extra)
    return _with_extra(out, s.extra)


def _timepoint_dict(tp: m.Timepoint) -> dict[str, Any]:
    out: dict[str, Any] = {"id": tp.id, "date": tp.date.isoformat()}
    if tp.baseline:
        out["baseline"] = True
    if tp.imaging != "done":
        out["imaging"] = tp.imaging
    if tp.new_lesion_search != "complete":
        out["new_lesion_search"] = tp.new_lesion_search
    _put(out, "study_uid", tp.study_uid)
    if tp.series is not None:
        out["series"] = [_series_dict(s) for s in tp.series]
    _put(out, "slice_thickness_mm", tp.slice_thickness_mm)
    _put(out, "modality", tp.modality)
    return _with_extra(out, tp.extra)


def _series_dict(s: m.Series) -> dict[str, Any]:
    out: dict[str, Any] = {"uid": s.uid, "phase": s.phase}
    _put(out, "description", s.description)
    return _with_extra(out, s.extra)


def _procedure_dict(p: m.Procedure) -> dict[str, Any]:
    out: dict[str, Any] = {"id": p.id, "type": p.type, "date": p.date.isoformat()}
    if p.lesions or p.type in ("ablation", "resection"):
        out["lesions"] = list(p.lesions)
    _put(out, "technique", p.technique)
    if p.protocol:
        out["protocol"] = True
    if p.margin is not None:
        from .margin_inputs import margin_dict

        out["margin"] = margin_dict(p.margin)
    return _with_extra(out, p.extra)


def _lesion_dict(les: m.Lesion) -> dict[str, Any]:
    out: dict[str, Any] = {"id": les.id, "role": les.role}
    if les.kind != "tumor":
        out["kind"] = les.kind
    out["organ"] = les.organ
    _put(out, "site", les.site)
    _put(out, "location", les.location)
    return _with_extra(out, les.extra)


def _observation_dict(o: m.Observation) -> dict[str, Any]:
    out: dict[str, Any] = {"lesion": o.lesion, "timepoint": o.timepoint, "status": o.status}
    _put(out, "viable_diameter_mm", o.viable_diameter_mm)
    _put(out, "longest_diameter_mm", o.longest_diameter_mm)
    _put(out, "short_axis_mm", o.short_axis_mm)
    _put(out, "enhancement", o.enhancement)
    if o.equivocal:
        out["equivocal"] = True
    _put(out, "cytology", o.cytology)
    _put(out, "near_lesion", o.near_lesion)
    _put(out, "gap_to_ablation_zone_mm", o.gap_to_ablation_zone_mm)
    _put(out, "reader", o.reader)
    _put(out, "recorded_at", o.recorded_at)
    _put(out, "note", o.note)
    if o.geometry is not None:
        g = o.geometry
        geo: dict[str, Any] = {}
        _put(geo, "series_uid", g.series_uid)
        if g.line is not None:
            geo["line"] = [list(g.line[0]), list(g.line[1])]
        _put(geo, "mask", g.mask)
        _put(geo, "ablation_zone_mask", g.ablation_zone_mask)
        out["geometry"] = _with_extra(geo, g.extra)
    return _with_extra(out, o.extra)


def case_to_dict(case: m.Case) -> dict[str, Any]:
    """The JSON-ready dict of a case, in the order of case-format.md (extras after).

    Lengths stay :class:`~decimal.Decimal` (write them with :func:`write_case` or
    :func:`dumps_case`, which keep every digit); defaults are omitted; timepoints by date.

    Parameters
    ----------
    case : Case
        The case.

    Returns
    -------
    dict
        The document, ready for :func:`dumps_case`.
    """
    out: dict[str, Any] = {"format": m.FORMAT_NAME, "version": m.FORMAT_VERSION}
    if "simulated" in case.extra:
        out["simulated"] = case.extra["simulated"]
    out["subject"] = _subject_dict(case.subject)
    _put(out, "reader", case.reader)
    _put(out, "profile", case.profile)
    _put(out, "criteria", case.criteria)
    if case.settings:
        out["settings"] = {k: _settings_value(v) for k, v in case.settings.items()}
    out["timepoints"] = [_timepoint_dict(tp) for tp in case.sorted_timepoints()]
    if case.procedures:
        out["procedures"] = [_procedure_dict(p) for p in case.procedures]
    out["lesions"] = [_lesion_dict(les) for les in case.lesions]
    out["observations"] = [_observation_dict(o) for o in case.observations]
    return _with_extra(out, case.extra)


def dumps_case(case: m.Case) -> str:
    """The case as pretty, exact JSON text (UTF-8 ready, ends with a newline).

    Parameters
    ----------
    case : Case
        The case.

    Returns
    -------
    str
        The text of its case file; every digit of every length is kept.
    """
    return dumps(case_to_dict(case))


def write_case(case: m.Case, path: str | Path) -> None:
    """Write ``case`` to ``path`` atomically (temp file, fsync, ``os.replace``).

    Parameters
    ----------
    case : Case
        The case; an incomplete case is written too (an autosave must never be lost).
    path : str or Path
        The case file to create or replace.

    Raises
    ------
    SaveError
        Naming the file; the previous file, if any, is untouched.
    """
    path = Path(path)
    try:
        text = dumps_case(case)
    except (ValueError, TypeError, RecursionError) as exc:
        raise SaveError(f"{path}: could not save the case file ({exc}); the previous file, if "
                        "any, is unchanged") from exc
    atomic_write_text(path, text)


# -- schema -----------------------------------------------------------------------------------


@cache
def _schema_text() -> str:
    return (resources.files("mrecist_tool.casefile") / "schema" / "mrecist-case-v1.schema.json") \
        .read_text(encoding="utf-8")


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of case format version 1, shipped with the package.

    Returns
    -------
    dict
        The schema document (a fresh copy: changing it changes nothing else).
    """
    return dict(json.loads(_schema_text()))
