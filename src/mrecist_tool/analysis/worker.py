"""A process that draws the plots while the main process computes the statistics.

Kept apart from :mod:`mrecist_tool.analysis.run` and free of heavy imports, so that the command
line can start the worker *before* it imports pandas, lifelines and matplotlib itself: the
worker's imports then overlap with reading and assessing the input.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .dataset import AnalysisData


def _warm_up() -> int:
    from . import plots  # noqa: F401  (the import is the point)

    return os.getpid()


# What the worker returns: name -> {"png": path, "svg": path} of every plot it drew.
WorkerResult = dict[str, dict[str, Path]]


def _work(data: AnalysisData, out_dir: str) -> WorkerResult:
    from . import plots

    return plots.all_plots(data, out_dir)


class PlotWorker:
    """One spawned process that draws the plots (``mrecist analyze --jobs 2``).

    Any failure to start it leaves it disabled, and the caller draws in its own process.
    """

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._warm: Future[int] | None = None

    @classmethod
    def start(cls) -> PlotWorker:
        worker = cls()
        try:
            context = multiprocessing.get_context("spawn")  # fork is unsafe with BLAS threads
            worker._pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
            worker._warm = worker._pool.submit(_warm_up)
        except (OSError, ValueError, RuntimeError):
            worker._pool = None
        return worker

    def submit(self, data: AnalysisData, out_dir: Path) -> Future[Any] | None:
        """Queue the plots of ``data``; ``None`` when the worker is not available."""
        if self._pool is None:
            return None
        try:
            return self._pool.submit(_work, data, str(out_dir))
        except RuntimeError:  # pool broken or shut down
            return None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
