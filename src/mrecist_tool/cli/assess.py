"""``mrecist assess PATH... --out DIR``: recompute every case and write the result tables."""

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
        "assess",
        help="assess case files and write timepoints/lesions/subjects tables",
        description="Recompute mRECIST / RECIST 1.1 responses, best overall response and ablated-tumour "
        "states from case files. Folders are searched recursively for *.json case files. One bad case "
        "never stops the others. Exit status: 0 all assessed, 1 some refused, 2 usage error.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="case files or folders")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder (created)")
    p.add_argument("--parquet", action="store_true", help="also write the tables as Parquet")
    p.add_argument("--print", dest="print_table", choices=["auto", "always", "never"], default="auto",
                   help="print the per-timepoint table (auto: when at most 20 subjects)")
    p.add_argument("--progress", choices=["auto", "always", "never"], default="auto",
                   help="progress bar on stderr (auto: on a terminal, for more than 50 files)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="worker processes for large batches (default: the number of cores, at most 4)")
    add_scheduler_option(p)
    add_settings_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..pipeline.resultset import run_timestamp
    from ._settings_options import settings_or_usage_error
    from .batch import assess_paths, write_outputs

    cli = settings_or_usage_error(args, "assess")
    if cli is None:
        return EXIT_USAGE
    if not scheduler_or_usage_error(args, "assess", jobs=args.jobs):
        return EXIT_USAGE
    from ..atomic import check_stageable
    from ..errors import SaveError

    try:  # before any work: the result set is switched in whole by a rename beside --out
        check_stageable(args.out)
    except SaveError as exc:
        print(f"mrecist assess: --out {exc}; nothing was assessed", file=sys.stderr)
        return EXIT_USAGE
    import gc

    gc.freeze()  # what is loaded so far (modules, settings) need not be rescanned by the collector
    from ..pipeline.executors import SchedulerError

    try:
        result = assess_paths(args.paths, cli=cli, progress=args.progress, jobs=args.jobs,
                              print_table=args.print_table, executor=args.scheduler)
    except SchedulerError as exc:
        print(f"mrecist assess: {exc}; nothing was assessed", file=sys.stderr)
        return EXIT_REFUSED
    if result.problems and result.batch is not None and not result.batch.results:
        # No case file found, only problems (e.g. ``assess /nope``): say where, write nothing.
        for problem in result.problems:
            print(f"mrecist assess: {problem.file}: {problem.message}", file=sys.stderr)
        print(f"mrecist assess: nothing assessed; nothing written to {args.out}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        notes = write_outputs(result, args.out, parquet=args.parquet, generated=run_timestamp())
    except OSError as exc:
        print(f"mrecist assess: cannot write results to {args.out}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    for note in notes:
        print(f"mrecist assess: note: {note}", file=sys.stderr)
    for problem in result.problems:
        print(str(problem), file=sys.stderr)
    n_ok, n_bad = len(result.outputs), len(result.refused_files)
    show = args.print_table == "always" or (args.print_table == "auto" and n_ok <= 20)
    if show and result.outputs:
        from .table_print import print_timepoints

        print_timepoints(result.outputs)
    print(
        f"assessed {n_ok} case(s), refused {n_bad}; "
        + (f"tables written to {args.out}" if n_ok else f"empty tables written to {args.out}")
        + (f" (refused: {', '.join(result.refused_files)})" if n_bad and n_bad <= 10 else ""),
        file=sys.stderr,
    )
    return EXIT_REFUSED if n_bad else EXIT_OK
