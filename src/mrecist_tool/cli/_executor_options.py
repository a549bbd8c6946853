"""Where the per-case work of a command runs: ``--scheduler``, shared by every command that
assesses case files (``assess``, ``export sdtm``, ``analyze``) so that it means the same
everywhere (issue 9)."""

from __future__ import annotations

import argparse
import sys

SCHEDULER_HELP = (
    "run the per-case work on a Dask cluster: tcp://HOST:PORT of a running scheduler (workers must "
    "see the case files at the same paths), or local:N to start N local worker processes; the "
    "outputs are the same as without it"
)


def add_scheduler_option(parser: argparse.ArgumentParser, *, what: str = "") -> None:
    """Add ``--scheduler ADDRESS`` to ``parser`` (``what`` is appended to its help text)."""
    parser.add_argument("--scheduler", metavar="ADDRESS", help=SCHEDULER_HELP + what)


def scheduler_or_usage_error(args: argparse.Namespace, command: str, *, jobs: int | None = None) -> bool:
    """Check ``args.scheduler`` before any work; print the problem and return False (the caller
    exits with the usage status) when it is no scheduler address, or when ``jobs`` (local worker
    processes) is given beside it."""
    spec = getattr(args, "scheduler", None)
    if spec is None:
        return True
    from ..pipeline.executors import SchedulerError, parse_scheduler

    try:
        parse_scheduler(spec)
    except SchedulerError as exc:
        print(f"mrecist {command}: {exc}", file=sys.stderr)
        return False
    if jobs is not None:
        print(f"mrecist {command}: --jobs is for local processes; give the workers to --scheduler instead "
              "(local:N)", file=sys.stderr)
        return False
    return True
