"""The executors: same results in the same order everywhere; a dying worker costs no other case.

Worker deaths are real: a per-case step (an ordinary step, as image work is) ends its own process
with ``os._exit`` for one chosen case, once or every time.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from mrecist_tool.pipeline import assess_files, steps_for, table_text
from mrecist_tool.pipeline.case import CaseWork
from mrecist_tool.pipeline.executors import ProcessExecutor, SerialExecutor, chunk_size
from mrecist_tool.sample.cohort import write_cohort


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cohort")
    write_cohort(folder, 80, seed=11, visits=4)
    return folder


def _texts(batch: object) -> list[tuple[str, str, str]]:
    return [(r.file, r.outputs["tables"].csv["timepoints"], r.outputs["tables"].record_json)
            for r in batch.results]  # type: ignore[attr-defined]


def die_for(work: CaseWork, subject: str, marker: str | None = None) -> None:
    """Kill the worker process running ``subject``'s case (only the first time, with a marker)."""
    if work.case.subject.id != subject:
        return
    if marker is not None:
        if Path(marker).exists():
            return
        Path(marker).touch()
    os._exit(9)


def test_processes_give_the_serial_results_in_the_same_order(cohort: Path) -> None:
    steps = steps_for(table_text)
    serial = assess_files(cohort, steps=steps, executor="serial")
    pooled = assess_files(cohort, steps=steps, executor=ProcessExecutor(2))
    assert len(serial.results) == 80 and not serial.refused_files
    assert _texts(serial) == _texts(pooled)
    assert [r.settings for r in serial.results] == [r.settings for r in pooled.results]


def test_a_worker_killed_once_is_retried_and_nothing_is_lost(cohort: Path, tmp_path: Path) -> None:
    marker = tmp_path / "died-once"
    killer = functools.partial(die_for, subject="SIM-0040", marker=str(marker))
    steps = (killer, table_text)
    executor = ProcessExecutor(2)
    try:
        batch = assess_files(cohort, steps=steps, executor=executor)
    finally:
        executor.close()
    assert marker.exists()  # the worker did die
    assert not batch.refused_files
    reference = assess_files(cohort, steps=steps_for(table_text), executor="serial")
    assert _texts(batch) == _texts(reference)


def test_a_case_that_kills_its_worker_every_time_is_reported_and_the_rest_assessed(cohort: Path) -> None:
    killer = functools.partial(die_for, subject="SIM-0007")
    executor = ProcessExecutor(2)
    try:
        batch = assess_files(cohort, steps=(killer, table_text), executor=executor)
    finally:
        executor.close()
    assert [Path(f).name for f in batch.refused_files] == ["SIM-0007.json"]
    (problem,) = batch.problems
    assert problem.path == "$" and "failed twice" in problem.message and "please report it" in problem.message
    assert len(batch.accepted) == 79
    assert [r.subject for r in batch.accepted] == [f"SIM-{i:04d}" for i in range(1, 81) if i != 7]


def test_serial_executor_and_chunks() -> None:
    assert SerialExecutor().submit(lambda x: x + 1, 1).result() == 2
    assert chunk_size(10, 2) == 1 and chunk_size(668, 2) == 41 and chunk_size(100_000, 4) == 64
