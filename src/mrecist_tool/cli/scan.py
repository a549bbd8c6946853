"""``mrecist scan FOLDER``: list the patients, studies and series in a folder of DICOM files.

Exit status: 0 when at least one loadable image series was found (skipped non-DICOM or broken
files are normal in PACS exports and are listed, not fatal); 1 when none was found; 2 for a
usage error (e.g. the folder does not exist).

Privacy: patients are pseudonyms unless ``--show-identity``; study and series descriptions,
protocol names and the folders of skipped files (free text that often holds a name or a
hospital number) are hidden unless ``--show-descriptions``.  Series whose pixels carry burned-in
annotation (Burned In Annotation YES) are flagged.
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
        "each series loads as a volume (or why not). Descriptions and folder names are hidden "
        "unless asked; burned-in annotation is flagged. Exit 0 when at least one loadable "
        "series was found, 1 when none, 2 on usage errors.",
    )
    parser.add_argument("folder", help="folder of DICOM files (searched recursively)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--show-identity", action="store_true",
                        help="show patient name, ID and birth date instead of pseudonyms")
    parser.add_argument("--show-descriptions", action="store_true",
                        help="show study and series descriptions and the folders of skipped "
                        "files (free text that may name the patient)")
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
        print(json.dumps(result.to_dict(args.show_descriptions), indent=2, ensure_ascii=False))
    else:
        print(format_table(result, args.show_descriptions))
    return EXIT_OK if result.loadable_series else EXIT_REFUSED


def format_table(result: Any, show_descriptions: bool = False) -> str:
    """The human-readable listing printed by ``mrecist scan``; descriptions and the folders of
    skipped files only with ``show_descriptions``."""
    from ..dicom.privacy import HIDDEN, hide_quoted

    lines: list[str] = []
    n_series = len(result.series)
    lines.append(f"{result.root}: {result.n_files} files, {len(result.patients)} patient(s), "
                 f"{len(result.studies)} stud(y/ies), {n_series} series "
                 f"({len(result.loadable_series)} loadable), {len(result.skipped)} skipped")
    burned = result.burned_in_series
    if burned:
        lines.append(f"warning: {len(burned)} series with burned-in annotation (marked below): "
                     "their pixels may show the patient's name or ID; do not share images, "
                     "screenshots or masks drawn on them without checking")
    if not show_descriptions:
        lines.append(f"(descriptions and folder names {HIDDEN}: --show-descriptions shows them)")
    for patient in result.patients:
        who = patient.pseudonym
        if patient.patient_id is not None:
            who += f"  {patient.name}  ID {patient.patient_id}  born {patient.birth_date}"
        lines.append("")
        lines.append(f"Patient {who}")
        for study in patient.studies:
            date = study.date.isoformat() if study.date else "no date"
            desc = f"  {study.description}" if study.description and show_descriptions else ""
            lines.append(f"  Study {date}{desc}  [{study.study_uid}]")
            lines.append(f"    {'#':>4}  {'mod':<4} {'phase':<14} {'slices':>6} {'thick':>6} "
                         f"{'orient':<9} {'loadable':<8} description")
            for s in study.series:
                number = "" if s.series_number is None else str(s.series_number)
                thick = f"{s.slice_thickness:g}" if s.slice_thickness else "-"
                ok = "yes" if s.loadable else "no"
                hide = s.text_to_hide(show_descriptions)
                shown = s.description if show_descriptions else (HIDDEN if s.description else "")
                lines.append(f"    {number:>4}  {s.modality:<4} {s.phase:<14} {s.n_slices:>6} "
                             f"{thick:>6} {s.orientation:<9} {ok:<8} {shown}")
                if s.burned_in_annotation:
                    lines.append("          BURNED-IN ANNOTATION: the pixels may show the "
                                 "patient's name or ID")
                if s.reason:
                    lines.append(f"          not loadable: {hide_quoted(s.reason, hide)}")
                for part in s.parts:
                    state = ("loadable" if part.loadable
                             else f"not loadable: {hide_quoted(part.reason or '', hide)}")
                    lines.append(f"          part {part.part}: {part.n_slices} slices, "
                                 f"{part.phase}, {state}")
                for w in s.warnings:
                    lines.append(f"          warning: {hide_quoted(w, hide)}")
    if result.skipped:
        lines.append("")
        lines.append("Skipped files:")
        if show_descriptions:
            for item in result.skipped:
                lines.append(f"  {item.path}: {item.reason}")
        else:
            from collections import Counter

            reasons = Counter(result.skipped_reason(item) for item in result.skipped)
            for reason, n in sorted(reasons.items()):
                lines.append(f"  {n} file(s): {reason}")
            lines.append(f"  (paths {HIDDEN}: --show-descriptions lists them)")
    return "\n".join(lines)
