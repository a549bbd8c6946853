"""Many case files through one executor: :func:`assess_files`, the loop every command shares."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Problem
from .case import CaseResult, CaseStep, check_options
from .executors import DaskExecutor, Executor, ProcessExecutor, SerialExecutor, default_workers, run_cases

#: Below this many files, starting worker processes costs more than it saves.
PARALLEL_MIN_FILES = 64


@dataclass
class Batch:
    """The results of a batch of case files, in the order the files were found.

    Attributes
    ----------
    results : list of CaseResult
        One per case file found.
    discovery_problems : list of Problem
        Paths that do not exist, folders that cannot be read, ``.json`` files that look like
        damaged case files.
    """

    results: list[CaseResult] = field(default_factory=list)
    discovery_problems: list[Problem] = field(default_factory=list)

    @property
    def accepted(self) -> list[CaseResult]:
        """The cases that were assessed."""
        return [r for r in self.results if not r.refused]

    @property
    def problems(self) -> list[Problem]:
        """What a command reports: the discovery problems, then each refused case's errors."""
        out = list(self.discovery_problems)
        for r in self.results:
            if r.refused:
                out.extend(r.errors)
        return out

    @property
    def refused_files(self) -> list[str]:
        """Files refused (at discovery or when read), each once, in the order reported."""
        files: list[str] = []
        for p in self.discovery_problems:
            if p.severity == "error" and p.file not in files:
                files.append(p.file)
        files.extend(r.file for r in self.results if r.refused)
        return files


def make_executor(executor: str | Executor | None, n_files: int, jobs: int | None = None) -> tuple[Executor, bool]:
    """The executor to use, and whether the caller owns it (and must close it).

    ``executor`` is an executor object, or ``None`` / ``"auto"`` (local processes for
    :data:`PARALLEL_MIN_FILES` files or more, else this process), ``"serial"``,
    ``"processes"``, or a Dask scheduler: ``"tcp://HOST:PORT"`` or ``"local:N"``
    (:class:`~.executors.DaskExecutor`).
    """
    if executor is not None and not isinstance(executor, str):
        return executor, False
    kind = executor or "auto"
    if kind.startswith(("tcp://", "tls://", "local:")):
        return DaskExecutor(kind), True
    workers = jobs or default_workers()
    if kind == "serial" or (kind == "auto" and (workers <= 1 or n_files < PARALLEL_MIN_FILES)):
        return SerialExecutor(), True
    if kind in ("auto", "processes"):
        return ProcessExecutor(workers), True
    raise ValueError(f"unknown executor {kind!r}; expected 'auto', 'serial' or 'processes'")


def iter_assess(
    files: Sequence[str | Path],
    options: Mapping[str, Any] | None = None,
    *,
    steps: Sequence[CaseStep] = (),
    executor: str | Executor | None = None,
    jobs: int | None = None,
    keep_assessment: bool = False,
) -> Iterator[CaseResult]:
    """Assess case files, yielding one :class:`CaseResult` per file in the order given.

    The per-case work runs on ``executor`` (see :func:`make_executor`); results stream back in
    order as they are done.
    """
    opts = check_options(options)
    run, owned = make_executor(executor, len(files), jobs)
    try:
        items = [(os.path.abspath(f) if run.absolute_paths else str(f), str(f)) for f in files]
        yield from run_cases(run, items, opts, steps, keep_assessment=keep_assessment)
    finally:
        if owned:
            run.close()


def assess_files(
    paths: Sequence[str | Path] | str | Path,
    options: Mapping[str, Any] | None = None,
    *,
    steps: Sequence[CaseStep] = (),
    executor: str | Executor | None = None,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    keep_assessment: bool = False,
) -> Batch:
    """Find the case files under ``paths`` and assess each; one bad case never stops the others.

    Parameters
    ----------
    paths : path or sequence of paths
        Case files, or folders searched recursively for them.
    options : mapping, optional
        ``{"profile", "criteria", "overrides"}`` as on the command line (see
        :func:`~mrecist_tool.pipeline.case.assess_file`).
    steps : sequence of callables, optional
        Per-case steps (:mod:`mrecist_tool.pipeline.steps`); for the image work and a product
        use :func:`~mrecist_tool.pipeline.steps.steps_for`.
    executor : str or Executor, optional
        Where the per-case work runs (:func:`make_executor`): ``"serial"``, ``"processes"``,
        ``"tcp://HOST:PORT"`` of a Dask scheduler or ``"local:N"``; default: local processes
        for large batches.
    jobs : int, optional
        Worker processes for the local executor (default: the cores, at most 4).
    progress : callable, optional
        ``progress(done, total)``, called as results come back.
    keep_assessment : bool
        Keep each full assessment in its result.

    Returns
    -------
    Batch
        One :class:`CaseResult` per file found, in order, and the problems of the discovery.

    Raises
    ------
    SchedulerError
        When a Dask scheduler is asked for and cannot be used (nothing was assessed).
    """
    files, found = discover(paths)
    return assess_found(files, found, options, steps=steps, executor=executor, jobs=jobs, progress=progress,
                        keep_assessment=keep_assessment)


def discover(paths: Sequence[str | Path] | str | Path) -> tuple[list[Path], list[Problem]]:
    """The case files under ``paths`` and the problems found on the way.

    Parameters
    ----------
    paths : path or sequence of paths
        Case files (taken as given) or folders (searched recursively for ``*.json`` files whose
        ``format`` is ``mrecist-case``).

    Returns
    -------
    tuple of (list of Path, list of Problem)
        The files in a stable order, and the problems (missing paths, unreadable folders, damaged
        ``.json`` files); see :func:`mrecist_tool.casefile.discover_case_files`.
    """
    from ..casefile import discover_case_files

    if isinstance(paths, str | Path):
        paths = [paths]
    return discover_case_files([Path(p) for p in paths])


def assess_found(
    files: Sequence[str | Path],
    discovery_problems: Sequence[Problem] = (),
    options: Mapping[str, Any] | None = None,
    *,
    steps: Sequence[CaseStep] = (),
    executor: str | Executor | None = None,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    keep_assessment: bool = False,
) -> Batch:
    """:func:`assess_files` for files already found with :func:`discover`."""
    batch = Batch(discovery_problems=list(discovery_problems))
    total = len(files)
    for done, result in enumerate(
        iter_assess(files, options, steps=steps, executor=executor, jobs=jobs, keep_assessment=keep_assessment), 1
    ):
        batch.results.append(result)
        if progress is not None:
            progress(done, total)
    return batch
