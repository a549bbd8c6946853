"""``mrecist validate PATH...``: check case files against the format and their cross-references.

Prints ``OK file`` for each valid file, or each problem as ``file: $.path: message`` (warnings
prefixed ``warning:``), then a summary.  Exit status: 0 every file valid, 1 any file refused (or
a path missing), 2 usage error.  No responses are computed: this is the check a data manager runs
before sending files.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

CRITERIA_CHOICES = ("mRECIST", "RECIST1.1")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check case files (format, types, ids, dates) without assessing them",
        description="Check case files against the case format (case-format.md) and their "
                    "cross-references. A folder is searched for *.json case files.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="case files or folders")
    parser.add_argument("--criteria", choices=CRITERIA_CHOICES,
                        help="check measured observations for the diameters these criteria "
                             "need, instead of each file's own criteria")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="print only errors and the summary (no OK lines, no warnings)")
    parser.set_defaults(func=run)


def _safe_problems(path: Any, criteria: str | None) -> list[Any]:
    """The problems of one file; never raises (an unexpected failure becomes a problem)."""
    from ..casefile import load_case, misspelt_keys_refused
    from ..errors import Problem

    try:
        case, problems = load_case(path, criteria=criteria)
        problems = misspelt_keys_refused(problems)
        if case is not None and not any(p.severity == "error" for p in problems):
            problems = problems + _checks_with_settings(case, str(path), criteria)
        return problems
    except RecursionError:
        return [Problem(str(path), "$", "the JSON is nested too deeply to be a case file")]
    except MemoryError:
        return [Problem(str(path), "$", "not enough memory to check this file")]
    except (OSError, UnicodeError) as exc:
        return [Problem(str(path), "$", f"the file cannot be read: {exc}")]
    except Exception as exc:  # a bug of ours must not hide the other files' results
        return [Problem(str(path), "$", f"internal error while checking this file "
                                        f"({type(exc).__name__}: {exc}); please report it")]


def _checks_with_settings(case: Any, file: str, criteria: str | None) -> list[Any]:
    """Checks that need the resolved settings: settings that contradict one another (an error, as
    in assess) and, §11.2, more targets than REC-B1 / MR-B3 allow (a warning: the engine assesses
    all)."""
    from ..errors import Problem, SettingsConflictError, SettingsError
    from ..rules import excess_targets, settings_for_case

    try:
        settings = settings_for_case(case, criteria=criteria)
    except SettingsConflictError as exc:
        # Each value passed the checks above; together they contradict, so assess refuses them.
        return [Problem(file, "$.settings", str(exc))]
    except SettingsError:
        return []  # the settings problem itself is reported by the checks above
    return [Problem(file, "$.lesions", f.message, "warning", f.rule) for f in excess_targets(case, settings)]


def _print(line: str, out: TextIO) -> None:
    try:
        out.write(line + "\n")
    except UnicodeEncodeError:  # a terminal that cannot show some character of a file name
        encoding = getattr(out, "encoding", None) or "ascii"
        out.write(line.encode(encoding, "backslashreplace").decode(encoding) + "\n")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from ..casefile import discover_case_files

    out = out or sys.stdout
    files, discovery = discover_case_files(args.paths)
    refused_paths: set[str] = set()
    other_errors = 0
    n_warnings = 0
    for p in discovery:
        if p.severity == "error":
            other_errors += 1
            _print(str(p), out)
        elif not args.quiet:
            n_warnings += 1
            _print(f"warning: {p}", out)
    n_ok = 0
    for path in files:
        problems = _safe_problems(path, args.criteria)
        errors = [p for p in problems if p.severity == "error"]
        warnings = [p for p in problems if p.severity != "error"]
        for p in errors:
            _print(str(p), out)
        if not args.quiet:
            for p in warnings:
                _print(f"warning: {p}", out)
        n_warnings += len(warnings)
        if errors:
            refused_paths.add(str(path))
        else:
            n_ok += 1
            if not args.quiet:
                _print(f"OK {path}", out)
    n_refused = len(refused_paths)
    if not files and not discovery:
        _print("no case files found (a case file is a *.json file with "
               "\"format\": \"mrecist-case\")", out)
        return 1
    summary = (f"{len(files)} case file{'s' if len(files) != 1 else ''} checked: {n_ok} valid, "
               f"{n_refused} refused")
    if other_errors:
        summary += f", {other_errors} other path{'s' if other_errors != 1 else ''} refused"
    if n_warnings:
        summary += f", {n_warnings} warning{'s' if n_warnings != 1 else ''}"
    _print(summary, out)
    return 1 if n_refused or other_errors else 0
