"""Scale-out on a real Dask cluster on loopback: the same tables as local processes (issue 9).

A ``dask scheduler`` and two ``dask worker`` processes are started for the test; ``mrecist
assess --scheduler tcp://127.0.0.1:PORT`` runs a 2,000-case cohort, a quarter of whose cases carry
viable tumour masks (the per-case image work measures every mask again), one worker is killed with
SIGKILL once a third of the cases are back (the command's own progress bar says when), and every
output file must be byte-identical to the local run's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
ENV = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600"}
N_CASES = 2000
SPACING = (2.0, 1.0, 1.0)  # z, y, x mm
FIELD = 92  # pixels: 92 mm


def _disk_mask(diameter_mm: float) -> np.ndarray:
    yy, xx = np.mgrid[0:FIELD, 0:FIELD]
    c = (FIELD - 1) / 2
    inside = ((yy - c) * SPACING[1]) ** 2 + ((xx - c) * SPACING[2]) ** 2 <= (diameter_mm / 2) ** 2
    out = np.zeros((1, FIELD, FIELD), dtype=np.uint8)
    out[0] = inside
    return out


def _write_cohort_with_masks(folder: Path) -> int:
    """Write the simulated cohort; in every fourth case the first measured baseline lesion gets a
    mask (500 cases with image work, spread over the whole cohort and so over every chunk), and
    every other mask disagrees with its recorded diameter by 6 mm.  Returns how many disagree.

    The case files are the test's own, written plainly in one pass (the toolkit's atomic writer
    flushes every file to disk, which costs more than the whole assessment here).  Cases whose
    masks have the same diameter share one mask file (fewer files to write; every case still
    reads and measures its mask)."""
    import SimpleITK as sitk

    from mrecist_tool.sample.cohort import generate_cohort

    (folder / "masks").mkdir()
    n_disagree = 0
    written: set[str] = set()
    for k, doc in enumerate(generate_cohort(N_CASES, seed=9, visits=2)):
        nodes = {les["id"] for les in doc["lesions"] if les.get("kind", "tumor") in ("node", "porta-hepatis-node")}
        obs = next((o for o in doc["observations"] if o["status"] == "measured" and o["lesion"] not in nodes
                    and "viable_diameter_mm" in o and float(o["viable_diameter_mm"]) < 80), None)
        if obs is not None and k % 4 == 0:
            diameter = float(obs["viable_diameter_mm"]) + (6.0 if k % 8 == 0 else 0.0)
            n_disagree += k % 8 == 0
            name = f"masks/disk_{min(diameter, 90.0):.1f}.nii"
            if name not in written:
                img = sitk.GetImageFromArray(_disk_mask(min(diameter, 90.0)))
                img.SetSpacing((SPACING[2], SPACING[1], SPACING[0]))
                sitk.WriteImage(img, str(folder / name))
                written.add(name)
            obs["geometry"] = {"mask": name}
        (folder / f"{doc['subject']['id']}.json").write_text(json.dumps(doc, indent=1) + "\n")
    return n_disagree


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    folder = tmp_path_factory.mktemp("cohort2000")
    return folder, _write_cohort_with_masks(folder)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """A scheduler and two single-threaded workers (no nanny: a killed worker stays dead)."""
    sched_file = tmp_path / "scheduler.json"
    logs = tmp_path / "logs"
    logs.mkdir()
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        with open(logs / f"{name}.log", "wb") as log:  # the test's own log files
            proc = subprocess.Popen([str(BIN / "dask"), *args], stdout=log, stderr=subprocess.STDOUT,
                                    cwd=tmp_path, start_new_session=True)
        procs.append(proc)
        return proc

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
              "--scheduler-file", str(sched_file))
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        for name in ("w1", "w2"):
            start(name, "worker", address, "--name", name, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                  "--host", "127.0.0.1", "--death-timeout", "60")
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, procs[1:]
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _assess(cases: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    cmd = [str(BIN / "mrecist"), "assess", str(cases), "--out", str(out), "--print", "never", *extra]
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


class _Progress:
    """Follows the progress bar of a running ``mrecist assess --progress always``: results come
    back in input order, so ``done`` cases are final and the others are still to be computed."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.done = 0
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._follow, args=(proc,), daemon=True)
        self._thread.start()

    def _follow(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:  # text mode: the bar's carriage returns end lines too
            match = re.search(r"\] (\d+)/\d+ \(", line)
            with self._changed:
                if match:
                    self.done = int(match[1])
                else:
                    self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self.done = -1  # the command ended
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> int:
        with self._changed:
            self._changed.wait_for(lambda: self.done >= count or self.done < 0, timeout)
            return self.done

    def stderr(self, timeout: float = 600) -> str:
        self._thread.join(timeout)
        return "".join(self.lines)


def test_a_dask_cluster_losing_a_worker_gives_the_local_tables(
    cohort: tuple[Path, int], cluster: tuple[str, list[subprocess.Popen[bytes]]], tmp_path: Path
) -> None:
    cases, n_disagree = cohort
    address, workers = cluster
    local = _assess(cases, tmp_path / "local")
    _, err = local.communicate(timeout=600)
    assert local.returncode == 0, err

    # Kill a worker once a third of the cases are back: the chunks in flight on it (a few
    # hundred cases) are lost with it and must be computed again elsewhere.
    remote = _assess(cases, tmp_path / "dask", "--scheduler", address, "--progress", "always")
    progress = _Progress(remote)
    done = progress.wait_for(N_CASES // 3, timeout=600)
    assert N_CASES // 3 <= done < N_CASES - 200, f"no kill midway: {done} of {N_CASES} cases done"
    os.killpg(workers[0].pid, signal.SIGKILL)
    workers[0].wait()
    remote.wait(timeout=600)
    err = progress.stderr()
    assert remote.returncode == 0, err
    assert "assessed 2000 case(s), refused 0" in err

    local_files, dask_files = _files(tmp_path / "local"), _files(tmp_path / "dask")
    assert sorted(dask_files) == sorted(local_files)
    assert {"ablations.csv", "assessment.json", "lesions.csv", "subjects.csv", "timepoints.csv"} <= set(dask_files)
    for name in local_files:
        assert dask_files[name] == local_files[name], name
    # The image work ran on the workers: every disagreeing mask is a warning in subjects.csv.
    warned = dask_files["subjects.csv"].decode().count("differs from its mask's")
    assert warned == n_disagree > 150


def test_local_cluster_gives_the_serial_tables(cohort: tuple[Path, int], tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    for path in sorted(cohort[0].glob("SIM-00[0-3]?.json")):  # 40 cases and their masks
        shutil.copy(path, small / path.name)
    shutil.copytree(cohort[0] / "masks", small / "masks")
    serial = _assess(small, tmp_path / "serial", "--jobs", "1")
    assert serial.wait(timeout=300) == 0
    dask = _assess(small, tmp_path / "local-cluster", "--scheduler", "local:2")
    _, err = dask.communicate(timeout=300)
    assert dask.returncode == 0, err
    assert _files(tmp_path / "serial") == _files(tmp_path / "local-cluster")


@pytest.mark.parametrize("spec", ["tcp://nowhere", "local:0", "http://x:1", "local:many"])
def test_a_scheduler_that_is_no_address_is_a_usage_error(spec: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from mrecist_tool.cli.main import main

    assert main(["assess", str(tmp_path), "--out", str(tmp_path / "o"), "--scheduler", spec]) == 2
    assert "--scheduler" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_refused_cleanly() -> None:
    import socket

    from mrecist_tool.pipeline.executors import DaskExecutor, SchedulerError

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SchedulerError, match=r"--scheduler tcp://127.0.0.1:\d+: cannot use the Dask scheduler"):
        DaskExecutor(f"tcp://127.0.0.1:{port}", connect_timeout=2)
