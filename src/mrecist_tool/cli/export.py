"""``mrecist export sdtm|sr|seg``: exchange formats (CDISC SDTM-style tables, DICOM SR and SEG).

    mrecist export sdtm CASES... --out DIR --studyid NCT04562727
    mrecist export sr CASE --timepoint FU1 --dicom FOLDER --out report.dcm
    mrecist export seg CASE --timepoint FU1 --dicom FOLDER --out masks.dcm

Exit status: 0 written; 1 some input refused (the others are still written for ``sdtm``);
2 usage error.  SR and SEG carry the case's subject id as Patient ID and Name and no other
identifying attribute of the source images unless ``--keep-patient-identity`` (for storing them
back in the hospital PACS beside their images); patient attributes are never printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..exitcodes import EXIT_OK, EXIT_REFUSED, EXIT_USAGE
from ._executor_options import add_scheduler_option, scheduler_or_usage_error
from ._settings_options import add_settings_options


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export",
        help="export SDTM-style TU/TR/RS tables, DICOM SR (TID 1500) or DICOM SEG",
        description="Write exchange formats: CDISC SDTM-style tables of many cases, or a DICOM "
        "Structured Report / Segmentation of one case at one timepoint.",
    )
    sub = p.add_subparsers(dest="format", metavar="FORMAT")
    sub.required = True

    sd = sub.add_parser(
        "sdtm",
        help="SDTM DM, TU, SUPPTU, TR and RS tables (CSV and SAS XPT) of case files",
        description="Assess case files and write dm, tu, supptu, tr and rs as CSV and SAS "
        "transport (SDTMIG oncology domains as pharmaversesdtm lays them out), with "
        "evaluators.csv. All reads of a subject (readers, evaluators) are exported together. "
        "Folders are searched recursively. One bad case never stops the others.",
    )
    sd.add_argument("paths", nargs="+", metavar="CASE", help="case files or folders")
    sd.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder (created)")
    sd.add_argument("--studyid", required=True, help="STUDYID, e.g. NCT04562727")
    sd.add_argument(
        "--evaluator", default="INVESTIGATOR",
        choices=["INVESTIGATOR", "INDEPENDENT ASSESSOR"],
        help="--EVAL of case files that do not name their own \"evaluator\" (default: "
        "%(default)s, the reads the admiralonco templates select)",
    )
    sd.add_argument("--method", default="", help='TUMETHOD/TRMETHOD where a timepoint does not '
                    'record its modality, e.g. "CT SCAN" or "MRI"')
    sd.add_argument("--baseline-visit", default="SCREENING", choices=["SCREENING", "BASELINE"],
                    help="VISIT of the baseline timepoint (default: %(default)s)")
    add_scheduler_option(sd)
    add_settings_options(sd)
    sd.set_defaults(func=run_sdtm)

    for name, what in (("sr", "DICOM SR (TID 1500 measurement report)"), ("seg", "DICOM SEG")):
        d = sub.add_parser(
            name,
            help=f"{what} of one case at one timepoint",
            description=f"Write a {what} of CASE at TIMEPOINT, referencing the source images "
            "found in FOLDER (searched recursively by study/series UID).",
        )
        d.add_argument("case", type=Path, metavar="CASE", help="case file")
        d.add_argument("--timepoint", required=True, metavar="ID", help="timepoint id, e.g. FU1")
        d.add_argument("--dicom", required=True, type=Path, metavar="FOLDER",
                       help="folder with the timepoint's source images")
        d.add_argument("--out", required=True, type=Path, metavar="FILE", help="output .dcm file")
        d.add_argument(
            "--series", metavar="UID",
            help="source series for observations that name none"
            + (" (SR)" if name == "sr" else "; the SEG is defined on it (default: the arterial "
               "series, else the first one the masks name)"),
        )
        if name == "sr":
            d.add_argument("--seg", type=Path, metavar="SEG.dcm",
                           help="the SEG of the same timepoint (from 'export seg'): lesions with "
                           "a segment get a TID 1411 group referencing it (read by Slicer)")
        d.add_argument(
            "--keep-patient-identity", action="store_true",
            help="copy the patient's name, ID, birth date and the study's accession number and "
            "descriptions from the source images (to store the object in the hospital PACS beside "
            "them); default: the case's subject id as Patient ID and Name, nothing else identifying",
        )
        if name == "seg":
            d.add_argument("--resample", action="store_true",
                           help="map masks not on the series' voxel grid by nearest neighbour "
                           "(default: refuse them)")
        d.set_defaults(func=run_sr if name == "sr" else run_seg)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def sdtm_rows(work: Any, studyid: str, evaluator: str, method: str,
              baseline_visit: str = "SCREENING") -> None:
    """Per-case product of ``mrecist export sdtm``: the case's TU, TR and RS rows."""
    from ..exchange.sdtm import sdtm_tables

    work.outputs["sdtm"] = sdtm_tables([work.assessment], studyid, evaluator=evaluator, method=method,
                                       baseline_visit=baseline_visit)


def _assess_all(paths: list[str], cli: dict[str, Any], studyid: str, evaluator: str, method: str,
                baseline_visit: str = "SCREENING", executor: str | None = None) -> Any:
    """Read and assess every case through the pipeline, with its SDTM rows; one bad case never
    stops the others.  ``executor`` is ``--scheduler`` (default: local processes for large
    batches).  Returns the pipeline's :class:`~mrecist_tool.pipeline.batch.Batch`."""
    import functools

    from ..pipeline.batch import assess_files
    from ..pipeline.steps import steps_for

    product = functools.partial(sdtm_rows, studyid=studyid, evaluator=evaluator, method=method,
                                baseline_visit=baseline_visit)
    return assess_files(paths, cli, steps=steps_for(product), executor=executor)


def run_sdtm(args: argparse.Namespace) -> int:
    from ..errors import SaveError
    from ..exchange.sdtm import sdtm_tables, unmapped_locations, write_sdtm
    from ..pipeline.executors import SchedulerError
    from ._settings_options import settings_or_usage_error

    if not args.studyid.strip():
        print("mrecist export sdtm: --studyid must not be empty", file=sys.stderr)
        return EXIT_USAGE
    cli = settings_or_usage_error(args, "export sdtm")
    if cli is None:
        return EXIT_USAGE
    if not scheduler_or_usage_error(args, "export sdtm"):
        return EXIT_USAGE
    studyid = args.studyid.strip()
    try:
        batch = _assess_all(args.paths, cli, studyid, args.evaluator, args.method, args.baseline_visit,
                            executor=args.scheduler)
    except SchedulerError as exc:
        print(f"mrecist export sdtm: {exc}; nothing was exported", file=sys.stderr)
        return EXIT_REFUSED
    for problem in batch.problems:
        print(str(problem), file=sys.stderr)
    tables = sdtm_tables([], studyid, evaluator=args.evaluator, method=args.method)
    for result in batch.accepted:
        for name, rows in result.outputs["sdtm"].items():
            tables[name].extend(rows)
    for message in unmapped_locations(tables["TU"]):
        print(f"warning: {message}", file=sys.stderr)
    n_bad = len(batch.refused_files)
    try:
        written = write_sdtm(tables, args.out)
    except (SaveError, OSError) as exc:
        print(f"mrecist export sdtm: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(
        f"exported {len(batch.accepted)} case(s), refused {n_bad}: "
        + ", ".join(f"{p.name} ({len(tables.get(p.stem.upper(), []))} rows)" for p in written)
        + f" in {args.out}",
        file=sys.stderr,
    )
    return EXIT_REFUSED if n_bad else EXIT_OK


def _read_case(path: Path, prog: str) -> Any:
    from ..casefile import read_case
    from ..errors import CaseFileError

    try:
        return read_case(path)
    except CaseFileError as exc:
        for problem in exc.problems or []:
            print(str(problem), file=sys.stderr)
        if not exc.problems:
            print(f"{prog}: {exc}", file=sys.stderr)
        return None


def _run_dicom(args: argparse.Namespace, kind: str) -> int:
    from ..errors import DicomError, MissingDependencyError, SaveError

    prog = f"mrecist export {kind}"
    case = _read_case(args.case, prog)
    if case is None:
        return EXIT_REFUSED
    try:
        if kind == "sr":
            from ..exchange.dicom_sr import write_sr

            seg = None
            if args.seg is not None:
                seg = _read_seg(args.seg)
            result: Any = write_sr(
                case, args.timepoint, args.dicom, args.out, series_uid=args.series, seg=seg,
                keep_patient_identity=args.keep_patient_identity,
            )
            summary = (
                f"wrote SR of {len(result.lesions)} lesion(s) at {result.timepoint} "
                f"(series {', '.join(result.referenced_series)}) to {args.out}"
            )
        else:
            from ..exchange.dicom_seg import write_seg

            result = write_seg(
                case, args.timepoint, args.dicom, args.out,
                series_uid=args.series, resample=args.resample,
                keep_patient_identity=args.keep_patient_identity,
            )
            summary = (
                f"wrote SEG of {len(result.segments)} segment(s) at {result.timepoint} "
                f"(series {result.series_uid}) to {args.out}"
            )
    except (DicomError, MissingDependencyError, SaveError, ValueError) as exc:
        print(f"{prog}: {args.case}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except Exception as exc:  # a defect must not end in a traceback: report it
        print(
            f"{prog}: {args.case}: internal error ({type(exc).__name__}: {exc}); please report it",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(summary, file=sys.stderr)
    return EXIT_OK


def _read_seg(path: Path) -> Any:
    import pydicom

    from ..errors import DicomError
    from ..safe_files import NotRegularFileError, open_regular

    try:
        with open_regular(path) as fh:  # a FIFO given as --seg must not block
            return pydicom.dcmread(fh)  # with its pixels: the SR reports each segment's volume
    except NotRegularFileError as exc:
        raise DicomError(f"{path}: {exc.reason}") from None
    except Exception as exc:  # not DICOM, unreadable: one clear line
        raise DicomError(f"{path}: cannot be read as a DICOM SEG ({type(exc).__name__}: {exc})") from None


def run_sr(args: argparse.Namespace) -> int:
    return _run_dicom(args, "sr")


def run_seg(args: argparse.Namespace) -> int:
    return _run_dicom(args, "seg")
