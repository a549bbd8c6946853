"""Where the per-case work runs: in this process, in local worker processes, or on a Dask cluster.

Every executor is used the same way by :func:`run_cases`, which

* sends the cases in chunks (a chunk is one task: per-task overhead matters for cohorts of
  thousands of cases whose rules work takes a millisecond each),
* keeps a bounded number of chunks in flight,
* hands the results back **in the input order** as soon as the next one is there (so outputs
  are byte-identical whichever executor ran them, and a progress bar can follow), and
* retries a failed task once, each of its cases as a task of its own; a case whose retry fails
  too is reported with a located problem and the rest of the batch goes on.

A task "fails" when the worker running it dies (killed, out of memory) or the task cannot be
sent or returned; an ordinary error in a case never fails its task, because
:func:`~mrecist_tool.pipeline.case.assess_file` turns it into a problem of that case.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from typing import Any, Protocol

from ..errors import MrecistError, Problem
from .case import CaseResult, CaseStep, assess_file

#: One case to assess: (the path a worker reads, the name the user gave).
Item = tuple[str, str]


class FutureLike(Protocol):
    def result(self) -> Any: ...


class Executor(Protocol):
    """What :func:`run_cases` needs of an executor."""

    #: How many tasks run at once (sizes the chunks and the window of tasks in flight).
    workers: int
    #: Whether workers need absolute paths (they may run elsewhere, in another folder).
    absolute_paths: bool
    #: Whether one task's failure leaves the others running (False for a local pool, which a
    #: dying worker breaks for every task in flight: retries then run one at a time).
    isolated_failures: bool

    def submit(self, fn: Callable[..., Any], *args: Any) -> FutureLike: ...

    def close(self) -> None: ...


def run_chunk(
    items: Sequence[Item], options: Mapping[str, Any], steps: Sequence[CaseStep], keep_assessment: bool = False
) -> list[CaseResult]:
    """The task every executor runs: assess a few cases in order."""
    return [assess_file(path, options, steps=steps, name=name, keep_assessment=keep_assessment) for path, name in items]


class SerialExecutor:
    """Runs every task at once, in this process (small batches; debugging)."""

    workers = 1
    absolute_paths = False
    isolated_failures = True

    def submit(self, fn: Callable[..., Any], *args: Any) -> FutureLike:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def close(self) -> None:
        pass


def _worker_init() -> None:
    # Workers are short-lived and allocate many small immutable records: the cyclic garbage
    # collector would only rescan them (measured ~20 % of the engine's time).
    import gc

    gc.freeze()
    gc.disable()
    _die_with_parent()


def _die_with_parent() -> None:
    """Linux: end this worker when the command that started it is killed (``kill -9``), rather
    than leave it running on its own."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the call
        os._exit(1)


class ProcessExecutor:
    """Local worker processes (the default for large batches).

    A pool whose worker died is replaced on the next submission, so the retry of the tasks it
    took down runs on fresh processes.
    """

    absolute_paths = False
    isolated_failures = False

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._pool = self._new_pool()

    def _new_pool(self) -> Any:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        return ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_worker_init)

    def submit(self, fn: Callable[..., Any], *args: Any) -> FutureLike:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self._pool.submit(fn, *args)
        except BrokenProcessPool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return self._pool.submit(fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def default_workers() -> int:
    """Worker processes when none are asked for: the cores this process may use, at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def task_failed(name: str, exc: BaseException) -> Problem:
    """The problem of a case whose task failed twice."""
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return Problem(name, "$", f"internal error: the worker assessing this case failed twice ({reason}); "
                              "the other cases were assessed; please report it")


def chunk_size(n_items: int, workers: int) -> int:
    """Cases per task: about eight tasks per worker, at most 64 cases each."""
    return max(1, min(64, n_items // (workers * 8)))


def run_cases(
    executor: Executor,
    items: Sequence[Item],
    options: Mapping[str, Any],
    steps: Sequence[CaseStep],
    *,
    keep_assessment: bool = False,
    size: int | None = None,
) -> Iterator[CaseResult]:
    """Assess ``items`` on ``executor``; yield one result per item, in the order given."""
    size = size or chunk_size(len(items), executor.workers)
    chunks = [list(items[i:i + size]) for i in range(0, len(items), size)]
    window = max(2, executor.workers * 2 + 2)
    args = (dict(options), tuple(steps), keep_assessment)
    pending: deque[tuple[list[Item], FutureLike]] = deque()
    upcoming = iter(chunks)

    def fill() -> None:
        while len(pending) < window:
            chunk = next(upcoming, None)
            if chunk is None:
                return
            pending.append((chunk, executor.submit(run_chunk, chunk, *args)))

    fill()
    while pending:
        chunk, future = pending.popleft()
        try:
            results = future.result()
        except Exception:
            # Retry once, each case on its own, so that one case that brings its worker down
            # takes no other case with it on the second attempt.
            results = list(_retry(executor, chunk, args))
        fill()
        yield from results


def _retry(executor: Executor, chunk: list[Item], args: tuple[Any, ...]) -> Iterator[CaseResult]:
    def outcome(name: str, future: FutureLike) -> list[CaseResult]:
        try:
            return list(future.result())
        except Exception as exc:
            return [CaseResult(name, [task_failed(name, exc)])]

    if executor.isolated_failures:
        futures = [(name, executor.submit(run_chunk, [(path, name)], *args)) for path, name in chunk]
        for name, future in futures:
            yield from outcome(name, future)
    else:
        for path, name in chunk:
            yield from outcome(name, executor.submit(run_chunk, [(path, name)], *args))


class SchedulerError(MrecistError, ValueError):
    """A ``--scheduler`` value that is not a scheduler address, or a scheduler that cannot be used."""


def parse_scheduler(spec: str) -> tuple[str, int | str]:
    """``("local", N)`` for ``local:N``, ``("remote", address)`` for ``tcp://HOST:PORT`` (or
    ``tls://``); :class:`SchedulerError` otherwise."""
    text = spec.strip()
    if text.startswith("local:"):
        count = text.removeprefix("local:")
        if count.isdigit() and 1 <= int(count) <= 256:
            return "local", int(count)
        raise SchedulerError(f"--scheduler {spec!r}: expected local:N with N the number of worker processes (1-256)")
    for scheme in ("tcp://", "tls://"):
        if text.startswith(scheme):
            host, sep, port = text.removeprefix(scheme).rpartition(":")
            if host and sep and port.isdigit() and 0 < int(port) < 65536:
                return "remote", text
    raise SchedulerError(f"--scheduler {spec!r}: expected tcp://HOST:PORT of a Dask scheduler, or local:N for "
                         "N local worker processes")


class DaskExecutor:
    """A Dask distributed cluster: an existing one (``tcp://HOST:PORT``) or a local one started
    for this run (``local:N``).  Workers must see the case files under the same absolute paths
    (a shared file system) and have mrecist-tool installed.

    A worker that dies is Dask's to handle first (it runs the worker's tasks elsewhere); a task
    that still fails is retried once by :func:`run_cases`, then reported for its case.
    """

    absolute_paths = True
    isolated_failures = True

    def __init__(self, spec: str, *, connect_timeout: float = 20.0) -> None:
        import logging
        import warnings

        kind, value = parse_scheduler(spec)
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - a core dependency
            from ..errors import MissingDependencyError

            raise MissingDependencyError("--scheduler needs the 'distributed' package: pip install distributed") from exc
        # The cluster's own chatter (workers joining and leaving) is not the user's business.
        logging.getLogger("distributed").setLevel(logging.ERROR)
        self._cluster: Any = None
        try:
            if kind == "local":
                with warnings.catch_warnings():
                    # Without a dashboard the scheduler still serves its health page, on 8787 if
                    # free, else on a random port with a warning that means nothing to the user.
                    warnings.filterwarnings("ignore", message=r"(?s)Port \d+ is already in use", category=UserWarning)
                    self._cluster = LocalCluster(n_workers=int(value), threads_per_worker=1, processes=True,
                                                 dashboard_address=None, silence_logs=logging.ERROR)
                self._client = Client(self._cluster)
            else:
                self._client = Client(str(value), timeout=f"{connect_timeout}s")
            self._client.wait_for_workers(1, timeout=connect_timeout)
        except (OSError, TimeoutError) as exc:
            self.close()
            raise SchedulerError(f"--scheduler {spec}: cannot use the Dask scheduler ({_short(exc)})") from None
        info = self._client.scheduler_info()
        self.workers = max(1, sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()))

    def submit(self, fn: Callable[..., Any], *args: Any) -> FutureLike:
        return self._client.submit(fn, *args, pure=False)

    def close(self) -> None:
        client, cluster = getattr(self, "_client", None), self._cluster
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__
