"""``mrecist analyze RESULTS_OR_CASES... --out DIR``: trial endpoints, statistics, plots, report.

A folder holding ``subjects.csv`` is read as the output of ``mrecist assess``; any other path is
case files (a folder is searched for them) that are assessed first.  A folder written by an older
``mrecist assess`` (a table or a column of this version missing) is refused with exit status 1,
naming each file and column: assess the case files again, or give them instead of the folder.  Writes ``endpoints.csv``,
``orr.csv``, ``dcr.csv``, ``bor.csv``, ``survival.csv``, ``plots/`` and ``report.html``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ..exitcodes import EXIT_OK, EXIT_REFUSED, EXIT_USAGE
from ._executor_options import add_scheduler_option, scheduler_or_usage_error
from ._settings_options import add_settings_options


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="trial endpoints (OS, DFS, LTP, CSS, ORR), statistics, plots and report.html",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="RESULTS_OR_CASES",
                        help="an `mrecist assess --out` folder, or case files / folders of them")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    parser.add_argument("--cutoff", metavar="DATE",
                        help="data cut-off YYYY-MM-DD: every case is analysed as it stood on that "
                             "date (later studies, procedures and deaths are ignored, and the "
                             "report says how many); needs case files, not an assess folder")
    parser.add_argument("--studyid", default="NCT04562727",
                        help="STUDYID of the ADaM datasets written to DIR/adam (default: %(default)s)")
    parser.add_argument("--blinded", action="store_true",
                        help="also write report-blinded.html: arms pooled, no comparison between "
                             "arms (for the open session of a data-monitoring committee)")
    parser.add_argument("--jobs", type=int, choices=(1, 2), default=None,
                        help="processes to use: 2 draws the plots in parallel with the "
                             "statistics (default: 2 when the machine has several cores)")
    add_scheduler_option(parser, what=" (for case files; an assess folder is only read)")
    # --criteria / --profile / --set: the same options as `mrecist assess`; endpoint settings
    # (e.g. --set dfs_definition=datecan) apply to the whole cohort.
    add_settings_options(parser)
    parser.set_defaults(func=run)


class _Progress:
    """Progress on stderr: one updating line on a terminal, a few plain lines otherwise."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.start = time.monotonic()
        self._last_pct = -1

    def step(self, message: str) -> None:
        if not self.quiet:
            self._end_line()
            print(f"[{time.monotonic() - self.start:5.1f}s] {message}", file=sys.stderr)

    def count(self, done: int, total: int) -> None:
        if self.quiet or total == 0:
            return
        pct = 100 * done // total
        if self.tty:
            print(f"\rassessing case files: {done}/{total} ({pct}%)", end="", file=sys.stderr)
            self._last_pct = pct
        elif pct // 25 != self._last_pct // 25 or done == total:
            self._last_pct = pct
            self.step(f"assessing case files: {done}/{total}")

    def _end_line(self) -> None:
        if self.tty and self._last_pct >= 0:
            print(file=sys.stderr)
            self._last_pct = -1


def run(args: argparse.Namespace) -> int:
    from ..errors import MrecistError
    from ..rules.criteria import resolve_settings
    from ._settings_options import cli_settings

    progress = _Progress(args.quiet)
    try:
        cli = cli_settings(args)
        settings = resolve_settings(cli_profile=cli["profile"], cli_criteria=cli["criteria"],
                                    cli_overrides=cli["overrides"])
    except (MrecistError, ValueError) as exc:
        print(f"mrecist analyze: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not scheduler_or_usage_error(args, "analyze"):
        return EXIT_USAGE
    cutoff = None
    if args.cutoff:
        from datetime import date

        try:
            cutoff = date.fromisoformat(args.cutoff)
        except ValueError:
            print(f"mrecist analyze: --cutoff {args.cutoff!r}: expected a date YYYY-MM-DD",
                  file=sys.stderr)
            return EXIT_USAGE
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"mrecist analyze: --out {out}: exists and is not a folder", file=sys.stderr)
        return EXIT_USAGE
    paths = [Path(p) for p in args.paths]
    missing = [p for p in paths if not p.exists()]
    if len(missing) == len(paths):
        for p in missing:
            print(f"mrecist analyze: {p}: no such file or folder", file=sys.stderr)
        return EXIT_USAGE

    import os

    jobs = args.jobs or (2 if (os.cpu_count() or 1) > 1 else 1)
    worker = None
    if jobs > 1:
        from ..analysis.worker import PlotWorker

        worker = PlotWorker.start()  # imports the plotting stack while the input is read
    try:
        return _analyze(args, paths, cli, settings, progress, worker, cutoff)
    finally:
        if worker is not None:
            worker.close()


def _analyze(args: argparse.Namespace, paths: list[Path], cli: dict[str, Any], settings: Any,
             progress: _Progress, worker: Any, cutoff: Any = None) -> int:
    from ..errors import MrecistError

    progress.step("loading pandas, lifelines, matplotlib")
    from ..analysis import dataset
    from ..analysis.run import run_analysis

    try:
        results = [p for p in paths if dataset.is_results_dir(p)]
        if results and len(results) != len(paths):
            print("mrecist analyze: give either one `mrecist assess` output folder or case "
                  "files, not both", file=sys.stderr)
            return EXIT_USAGE
        if len(results) > 1:
            print("mrecist analyze: give one `mrecist assess` output folder", file=sys.stderr)
            return EXIT_USAGE
        if results and cutoff is not None:
            print("mrecist analyze: --cutoff needs the case files: an `mrecist assess` folder "
                  "was assessed with all the data, and a later study can revise earlier "
                  "categories (§11.6); give the case files (or assess them again)",
                  file=sys.stderr)
            return EXIT_USAGE
        if results and args.scheduler is not None:
            print("mrecist analyze: --scheduler runs the assessment of case files; an `mrecist "
                  "assess` folder is only read (give the case files, or leave --scheduler out)",
                  file=sys.stderr)
            return EXIT_USAGE
        if results:
            progress.step(f"reading {results[0]}")
            data = dataset.from_results_dir(results[0], settings)
            if data.settings_used is not None and (cli["profile"] or cli["criteria"]
                                                   or cli["overrides"]):
                from ..analysis.settings_used import check_command_line

                check_command_line(data.settings_used, cli)
        else:
            data = dataset.from_case_paths(paths, settings, cli=cli, progress=progress.count,
                                           cutoff=cutoff, executor=args.scheduler)
        if data.subjects.empty:
            for problem in data.problems:
                print(problem, file=sys.stderr)
            print("mrecist analyze: no subject could be analysed", file=sys.stderr)
            return EXIT_REFUSED
        progress.step(f"{len(data.subjects)} subjects in {len(data.arms)} arm(s)"
                      + (" — SIMULATED DATA" if data.simulated else ""))
        files = run_analysis(data, args.out, progress=progress.step, plot_worker=worker,
                             blinded=args.blinded, studyid=args.studyid)
    except (MrecistError, ValueError, OSError) as exc:
        print(f"mrecist analyze: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    for problem in data.problems:
        print(problem, file=sys.stderr)
    progress.step(f"wrote {files['report']}")
    return EXIT_REFUSED if data.problems else EXIT_OK
