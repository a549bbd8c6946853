"""``mrecist import sr FILE... [--case CASE.json] --out NEW.json``: DICOM SR into a case file.

Reads TID 1500 measurement reports (ours, or another viewer's) and merges their measurements
into a case file, so measurements made elsewhere can be assessed here.  The input case is never
overwritten unless ``--in-place``; the output is written atomically.  Each SR file is imported
or refused on its own (with its name and the place in it of each problem): a refused file leaves
the case as it was, the other files are still imported.  (The module is ``import_`` because ``import`` is
a Python keyword; the subcommand is ``import``.)

Exit status: 0 written; 1 some SR file or the merged case was refused; 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..exitcodes import EXIT_OK, EXIT_REFUSED, EXIT_USAGE


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "import",
        help="import measurements from DICOM SR (TID 1500) into a case file",
        description="Read measurements from DICOM Structured Reports into a case file.",
    )
    sub = p.add_subparsers(dest="format", metavar="FORMAT")
    sub.required = True
    sr = sub.add_parser(
        "sr",
        help="TID 1500 measurement reports",
        description="Merge the measurement groups of TID 1500 SR files into CASE (or a new case "
        "for --subject). Lesions are matched by tracking UID, then tracking identifier; "
        "timepoints by study UID, time point label, then study date. Unmatched ones are added.",
    )
    sr.add_argument("files", nargs="+", type=Path, metavar="FILE", help="SR files")
    sr.add_argument("--case", type=Path, metavar="CASE.json", help="case file to merge into")
    sr.add_argument("--out", type=Path, metavar="NEW.json", help="where to write the result")
    sr.add_argument("--in-place", action="store_true", help="overwrite --case with the result")
    sr.add_argument("--subject", metavar="ID",
                    help="subject pseudonym of a new case (never taken from the DICOM header)")
    sr.add_argument("--timepoint", metavar="ID",
                    help="put every report at this timepoint (added when missing)")
    sr.add_argument(
        "--long-axis-as", choices=["auto", "viable", "longest"], default="auto",
        help="read another viewer's long-axis / length as the viable diameter (mRECIST) or the "
        "longest diameter (auto: viable for an mRECIST case unless the SR is one of ours)",
    )
    sr.add_argument(
        "--accept-conflicts", action="store_true",
        help="resolve conflicts instead of refusing the file: a tracking UID that is another "
        "lesion's goes by the UID, a duplicated group keeps the last value, an existing "
        "observation is replaced (each is reported)",
    )
    sr.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    sr.set_defaults(func=run_sr)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def _output_path(args: argparse.Namespace) -> tuple[Path | None, str | None]:
    if args.in_place:
        if args.case is None:
            return None, "--in-place needs --case"
        if args.out is not None:
            return None, "give either --out or --in-place, not both"
        return args.case, None
    if args.out is None:
        return None, "give --out NEW.json (or --in-place to overwrite --case)"
    if args.case is not None and args.out.resolve() == args.case.resolve():
        return None, "--out is the input case; use --in-place to overwrite it"
    if args.out.exists() and not args.force:
        return None, f"{args.out} exists; pass --force to overwrite it"
    return args.out, None


def run_sr(args: argparse.Namespace) -> int:
    from ..casefile import case_from_dict, case_to_dict, read_case, write_case
    from ..errors import CaseFileError, MissingDependencyError, SaveError
    from ..exchange.sr_import import import_reports

    prog = "mrecist import sr"
    out, problem = _output_path(args)
    if problem:
        print(f"{prog}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    assert out is not None
    if args.case is None and not args.subject:
        print(f"{prog}: a new case needs --subject ID (a pseudonym), or give --case", file=sys.stderr)
        return EXIT_USAGE

    data = None
    if args.case is not None:
        try:
            data = case_to_dict(read_case(args.case))
        except CaseFileError as exc:
            for p in exc.problems or []:
                print(str(p), file=sys.stderr)
            if not exc.problems:
                print(f"{prog}: {exc}", file=sys.stderr)
            return EXIT_REFUSED
    try:
        result = import_reports(
            args.files,
            case_data=data,
            subject_id=args.subject,
            timepoint_id=args.timepoint,
            long_axis_as=args.long_axis_as,
            accept_conflicts=args.accept_conflicts,
            out_name=out,
        )
    except (ValueError, MissingDependencyError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except Exception as exc:  # a defect must not end in a traceback: report it
        print(f"{prog}: internal error ({type(exc).__name__}: {exc}); please report it",
              file=sys.stderr)
        return EXIT_REFUSED
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    for file, problems in result.refused.items():
        for problem in problems:
            print(f"{file}: {problem}", file=sys.stderr)
        print(f"{prog}: {file}: refused; nothing from it was imported", file=sys.stderr)
    if not result.imported:
        print(f"{prog}: no report could be imported; nothing written", file=sys.stderr)
        return EXIT_REFUSED
    try:
        case = case_from_dict(result.data, file=out)
    except CaseFileError as exc:  # cannot happen: every kept file was checked
        for p in exc.problems or []:
            print(str(p), file=sys.stderr)
        print(f"{prog}: the merged case is not valid; nothing written", file=sys.stderr)
        return EXIT_REFUSED
    try:
        write_case(case, out)
    except SaveError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    errors = result.refused
    print(f"imported {len(result.imported)} report(s) into {out}"
          + (f"; refused {len(errors)}" if errors else ""), file=sys.stderr)
    return EXIT_REFUSED if errors else EXIT_OK
