"""Batch recomputation for ``mrecist assess``: the pipeline's results, a progress bar, the tables.

Each case is read, checked, assessed and turned into its table rows and JSON record by the one
pipeline (:mod:`mrecist_tool.pipeline`), in worker processes for large batches: a refusal, or
even an unexpected error in one case, is reported with its file and never stops the others.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Problem
from ..pipeline.batch import Batch, assess_found, discover
from ..pipeline.executors import Executor
from ..pipeline.steps import TableText, steps_for, table_text

# The per-case product of ``mrecist assess`` (kept under its former name for the table printer).
CaseOutput = TableText

#: Print the per-timepoint table of batches up to this many case files (``--print auto``).
PRINT_MAX_FILES = 20


@dataclass
class BatchResult:
    """What ``mrecist assess`` writes and reports, from the pipeline's :class:`Batch`."""

    outputs: list[TableText] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # discovery problems, then refusals, in file order
    refused_files: list[str] = field(default_factory=list)
    batch: Batch | None = None

    def refused_records(self) -> list[dict[str, Any]]:
        by_file: dict[str, list[dict[str, str]]] = {}
        for p in self.problems:
            if p.severity == "error":
                by_file.setdefault(p.file, []).append({"path": p.path, "message": p.message})
        return [{"file": f, "problems": by_file.get(f, [])} for f in self.refused_files]


class Progress:
    """A small progress bar on stderr; silent unless asked or on a terminal with many items."""

    def __init__(self, total: int, mode: str = "auto", label: str = "assessing") -> None:
        self.total = total
        self.label = label
        self.enabled = mode == "always" or (mode == "auto" and sys.stderr.isatty() and total > 50)
        self.start = time.monotonic()
        self.last = 0.0

    def update(self, done: int, total: int | None = None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < self.total and now - self.last < 0.1:
            return
        self.last = now
        width = 30
        filled = int(width * done / max(self.total, 1))
        rate = done / max(now - self.start, 1e-9)
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} ({rate:.0f}/s)")
        if done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def assess_paths(
    paths: Sequence[str | Path],
    *,
    cli: dict[str, Any] | None = None,
    progress: str = "auto",
    jobs: int | None = None,
    executor: str | Executor | None = None,
    print_table: str = "auto",
) -> BatchResult:
    """Assess every case file under ``paths`` through the pipeline, for ``mrecist assess``."""
    files, found = discover(paths)
    keep = print_table == "always" or (print_table == "auto" and len(files) <= PRINT_MAX_FILES)
    product = functools.partial(table_text, keep_rows=True) if keep else table_text
    bar = Progress(len(files), progress)
    batch = assess_found(files, found, cli, steps=steps_for(product), executor=executor, jobs=jobs,
                         progress=bar.update)
    return BatchResult(
        outputs=[r.outputs["tables"] for r in batch.accepted],
        problems=batch.problems,
        refused_files=batch.refused_files,
        batch=batch,
    )


def write_outputs(result: BatchResult, out: Path, *, parquet: bool = False, generated: str = "") -> list[str]:
    """Write the result set (all tables and ``assessment.json``, switched in as one set); returns
    notes on what an interrupted earlier run left behind and was cleaned up."""
    from ..pipeline.resultset import write_result_set

    return write_result_set(out, result.outputs, result.refused_records(), parquet=parquet, generated=generated)
