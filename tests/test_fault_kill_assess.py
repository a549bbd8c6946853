"""kill -9 of ``mrecist assess`` at random moments never leaves a mixed result set (issue 8, item 11).

Two cohorts of different sizes are assessed alternately into one output folder that also holds
a user's notes and report.  Thirty runs are killed (SIGKILL, the whole process group: the command
and its worker processes): a third at random moments, a third just after the staging folder of
the write phase appears, a third just after the switch (the output folder's inode changes); after
each kill the folder must hold exactly the complete result set of one cohort or of the other.  A
final run cleans what the killed runs left behind.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mrecist_tool.sample.cohort import write_cohort

pytestmark = pytest.mark.slow

RESULTS = ("timepoints.csv", "lesions.csv", "subjects.csv", "ablations.csv", "dlm.csv", "assessment.json")
KILLS = 30
ENV = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600"}  # identical runs give identical bytes


def _command(cases: Path, out: Path) -> list[str]:
    exe = Path(sys.executable).parent / "mrecist"
    return [str(exe), "assess", str(cases), "--out", str(out), "--print", "never", "--progress", "never"]


def _snapshot(out: Path) -> dict[str, bytes]:
    return {n: (out / n).read_bytes() for n in RESULTS if (out / n).exists()}


def _inode(path: Path) -> int:
    try:
        return os.stat(path).st_ino
    except OSError:
        return -1


def _staging(parent: Path) -> list[str]:
    return [n for n in os.listdir(parent) if n.startswith(".out.") and n.endswith(".staging")]


def test_kill_9_leaves_the_complete_old_or_new_result_set(tmp_path: Path) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    write_cohort(small, 20, seed=1, visits=4)
    write_cohort(large, 80, seed=2, visits=4)  # 64 files or more: assessed by worker processes
    refs: dict[str, dict[str, bytes]] = {}
    durations = {}
    for name, cases in (("small", small), ("large", large)):
        t0 = time.monotonic()
        subprocess.run(_command(cases, tmp_path / f"ref-{name}"), env=ENV, check=True, capture_output=True)
        durations[name] = time.monotonic() - t0
        refs[name] = _snapshot(tmp_path / f"ref-{name}")
        assert sorted(refs[name]) == sorted(RESULTS)
    assert refs["small"] != refs["large"]

    work = tmp_path / "work"
    work.mkdir()
    out = work / "out"
    subprocess.run(_command(small, out), env=ENV, check=True, capture_output=True)
    (out / "notes.txt").write_text("the statistician's notes")
    (out / "report").mkdir()
    (out / "report" / "report.html").write_text("<p>kept</p>")

    rng = random.Random(2026)
    outcomes = {"old": 0, "new": 0}
    in_write_phase = 0
    for i in range(KILLS):
        current = next(k for k, v in refs.items() if v == _snapshot(out))
        other = "large" if current == "small" else "small"
        before = _inode(out)  # the switch puts another folder in place: a cheap sign that it happened
        proc = subprocess.Popen(_command(large if other == "large" else small, out), env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            if i % 3 == 1:  # wait for the switch itself, then kill during the clean-up after it
                deadline = time.monotonic() + 60
                while proc.poll() is None and _inode(out) == before and time.monotonic() < deadline:
                    time.sleep(0.0005)
            elif i % 3 == 0:  # wait for the write phase, then kill within a few milliseconds
                deadline = time.monotonic() + 30
                while proc.poll() is None and not _staging(work) and time.monotonic() < deadline:
                    time.sleep(0.0005)
                if proc.poll() is None and _staging(work):
                    in_write_phase += 1
                time.sleep(rng.uniform(0, 0.004) if i % 2 == 0 else rng.uniform(0, 0.05))
            else:  # anywhere in the run, start-up included
                time.sleep(rng.uniform(0, durations[other]))
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        now = _snapshot(out)
        assert now in (refs[current], refs[other]), f"kill {i}: a mixed or incomplete result set"
        outcomes["old" if now == refs[current] else "new"] += 1
    # Kills landed before the switch and after it.
    assert outcomes["old"] and outcomes["new"], outcomes
    assert in_write_phase >= KILLS // 3 - 2, in_write_phase

    # The next run cleans up what killed runs left, and the user's files are all there.
    done = subprocess.run(_command(small, out), env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert _snapshot(out) == refs["small"]
    assert _staging(work) == []
    assert sorted(os.listdir(work)) == ["out"]
    assert sorted(os.listdir(out)) == sorted([*RESULTS, "notes.txt", "report"])
    assert (out / "notes.txt").read_text() == "the statistician's notes"
    assert (out / "report" / "report.html").read_text() == "<p>kept</p>"
