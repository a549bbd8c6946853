"""``mrecist scan FOLDER``: list the patients, studies and series in a folder of DICOM files.

Exit status: 0 when at least one loadable image series was found (skipped non-DICOM or broken
files are normal in PACS exports and are listed, not fatal); 1 when none was found; 2 for a
usage error (e.g. the folder does not exist).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..exitcodes import EXIT_OK, EXIT_REFUSED, EXIT_USAGE


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "scan",
        help="list studies and series in a DICOM folder (headers only)",
        description="Walk FOLDER recursively, read DICOM headers only and list patients "
        "(pseudonymised), studies and series: modality, phase, slices, thickness, and whether "
        "each series loads as a volume (or why not). Exit 0 when at least one loadable series "
        "was found, 1 when none, 2 on usage errors.",
    )
    parser.add_argument("folder", help="folder of DICOM files (searched recursively)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--show-identity", action="store_true",
                        help="show patient name, ID and birth date instead of pseudonyms")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from ..dicom import scan
    from ..errors import DicomError

    folder = Path(args.folder)
    if not folder.exists():
        print(f"mrecist scan: {folder}: no such file or folder", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = scan(folder, reveal_identity=args.show_identity)
    except DicomError as exc:
        print(f"mrecist scan: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_table(result))
    return EXIT_OK if result.loadable_series else EXIT_REFUSED


def format_table(result: Any) -> str:
    """The human-readable listing printed by ``mrecist scan``."""
    lines: list[str] = []
    n_series = len(result.series)
    lines.append(f"{result.root}: {result.n_files} files, {len(result.patients)} patient(s), "
                 f"{len(result.studies)} stud(y/ies), {n_series} series "
                 f"({len(result.loadable_series)} loadable), {len(result.skipped)} skipped")
    for patient in result.patients:
        who = patient.pseudonym
        if patient.patient_id is not None:
            who += f"  {patient.name}  ID {patient.patient_id}  born {patient.birth_date}"
        lines.append("")
        lines.append(f"Patient {who}")
        for study in patient.studies:
            date = study.date.isoformat() if study.date else "no date"
            desc = f"  {study.description}" if study.description else ""
            lines.append(f"  Study {date}{desc}  [{study.study_uid}]")
            lines.append(f"    {'#':>4}  {'mod':<4} {'phase':<14} {'slices':>6} {'thick':>6} "
                         f"{'orient':<9} {'loadable':<8} description")
            for s in study.series:
                number = "" if s.series_number is None else str(s.series_number)
                thick = f"{s.slice_thickness:g}" if s.slice_thickness else "-"
                ok = "yes" if s.loadable else "no"
                lines.append(f"    {number:>4}  {s.modality:<4} {s.phase:<14} {s.n_slices:>6} "
                             f"{thick:>6} {s.orientation:<9} {ok:<8} {s.description}")
                if s.reason:
                    lines.append(f"          not loadable: {s.reason}")
                for part in s.parts:
                    state = "loadable" if part.loadable else f"not loadable: {part.reason}"
                    lines.append(f"          part {part.part}: {part.n_slices} slices, "
                                 f"{part.phase}, {state}")
                for w in s.warnings:
                    lines.append(f"          warning: {w}")
    if result.skipped:
        lines.append("")
        lines.append("Skipped files:")
        for item in result.skipped:
            lines.append(f"  {item.path}: {item.reason}")
    return "\n".join(lines)
