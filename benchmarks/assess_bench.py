"""Benchmark of batch recomputation at the trial's size (issue 2).

Generates 668 subjects × 12 timepoints (baseline + 11 follow-ups) with the cohort simulator,
writes them as case files, then measures in this one run:

* the engine alone: ``assess_case`` on the already-read cases, in timepoints per second, as the
  batch runs it (loaded cases frozen out of the cyclic GC) and with the default GC, against a
  baseline of merely parsing the same JSON texts with the standard library (ratio printed);
* the whole command: ``mrecist assess DIR --out OUT`` in a fresh process (start-up, reading,
  validation, assessment, writing every table), against a bare ``python -c pass`` start-up;
* the Dask overhead per case: the one pipeline (read, check, assess, image work, table text) run
  on a ``LocalCluster`` of two single-threaded worker processes, against the same pipeline on two
  local worker processes (the default executor) in the same run; cluster start-up is reported
  apart.  Both runs must give identical results.

Targets: engine ≥ 20,000 timepoints/s; whole command < 2 s wall time on a 2-core machine.
Run: ``make bench`` or ``.venv/bin/python benchmarks/assess_bench.py [--subjects N] [--visits V]``
(``--no-dask`` skips the cluster; ``--engine-only`` measures the engine alone, quickly, for a
quiet moment on a shared machine).

The engine rate is also given per CPU-second of this process (``time.process_time``) with the
load average before and after: on a machine shared with other work, the wall-time rate mostly
measures the neighbours, the CPU-time rate much less so.  The target is judged on wall time.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def median_time(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def median_cpu_time(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=668)
    ap.add_argument("--visits", type=int, default=11, help="follow-up timepoints per subject (plus baseline)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster measurement")
    ap.add_argument("--engine-only", action="store_true", help="measure the engine alone (no command, no Dask)")
    args = ap.parse_args()
    load_before = load()

    from mrecist_tool.casefile import read_case
    from mrecist_tool.rules import assess_case
    from mrecist_tool.sample.cohort import write_cohort

    with tempfile.TemporaryDirectory(prefix="mrecist-bench-") as tmp:
        folder = Path(tmp) / "cases"
        write_cohort(folder, args.subjects, seed=2026, visits=args.visits)
        files = sorted(folder.rglob("*.json"))
        texts = [f.read_text(encoding="utf-8") for f in files]
        cases = [read_case(f) for f in files]
        n_tp = sum(len(c.timepoints) for c in cases)

        t_json = median_time(lambda: [json.loads(t) for t in texts], args.repeat)
        t_engine_gc = median_time(lambda: [assess_case(c) for c in cases], args.repeat)
        # As `mrecist assess` runs it: the loaded cases are moved out of the cyclic collector's
        # view (gc.freeze), which otherwise rescans them on every collection; new garbage is
        # still collected.
        gc.collect()
        gc.freeze()
        t_engine = median_time(lambda: [assess_case(c) for c in cases], args.repeat)
        t_engine_cpu = median_cpu_time(lambda: [assess_case(c) for c in cases], args.repeat)
        gc.unfreeze()
        rate = n_tp / t_engine
        if args.engine_only:
            print(f"cohort: {len(files)} subjects, {n_tp} timepoints; {load_before} before, {load()} after")
            print(f"engine alone:    {t_engine:.3f} s = {rate:,.0f} timepoints/s  (target >= 20,000)  "
                  f"{'OK' if rate >= 20000 else 'MISSED'}")
            print(f"  on CPU time: {t_engine_cpu:.3f} s = {n_tp / t_engine_cpu:,.0f} timepoints per CPU-second")
            print(f"  baseline json.loads of the same files: {t_json:.3f} s; ratio engine/json = {t_engine / t_json:.2f}")
            return 0

        exe = Path(sys.executable).parent / "mrecist"
        out = Path(tmp) / "out"
        cmd = [str(exe), "assess", str(folder), "--out", str(out), "--print", "never"]
        subprocess.run(cmd, check=True, capture_output=True)  # warm the page cache once
        t_cmd = median_time(lambda: subprocess.run(cmd, check=True, capture_output=True), args.repeat)
        t_python = median_time(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), args.repeat)
        dask = None if args.no_dask else dask_overhead(folder, max(1, args.repeat // 2))

    print(f"cohort: {len(files)} subjects, {n_tp} timepoints ({args.visits} follow-ups + baseline each); "
          f"{load_before} before, {load()} after")
    print(f"engine alone:    {t_engine:.3f} s = {rate:,.0f} timepoints/s  (target >= 20,000)  "
          f"{'OK' if rate >= 20000 else 'MISSED'}")
    print(f"  on CPU time: {t_engine_cpu:.3f} s = {n_tp / t_engine_cpu:,.0f} timepoints per CPU-second")
    print(f"  with the default garbage collector rescanning the loaded cohort: {t_engine_gc:.3f} s = {n_tp / t_engine_gc:,.0f} timepoints/s")
    print(f"  baseline json.loads of the same files: {t_json:.3f} s; ratio engine/json = {t_engine / t_json:.2f}")
    print(f"whole command:   {t_cmd:.3f} s wall  (target < 2 s)  {'OK' if t_cmd < 2 else 'MISSED'}")
    print(f"  baseline python start-up: {t_python:.3f} s; ratio command/start-up = {t_cmd / t_python:.1f}")
    if dask is not None:
        t_local, t_dask, t_start, n = dask
        print(f"dask LocalCluster (2 workers): {t_dask:.3f} s for {n} cases vs {t_local:.3f} s on 2 local processes; "
              f"overhead {(t_dask - t_local) / n * 1e3:+.2f} ms per case, ratio dask/local = {t_dask / t_local:.2f} "
              f"(cluster start-up {t_start:.1f} s, not included)")
    return 0


def dask_overhead(folder: Path, repeat: int) -> tuple[float, float, float, int]:
    """Median time of the whole per-case pipeline on two local processes and on a two-worker
    LocalCluster (cluster already started), and the cluster's start-up time."""
    from mrecist_tool.pipeline import assess_files, steps_for, table_text
    from mrecist_tool.pipeline.executors import DaskExecutor, ProcessExecutor

    steps = steps_for(table_text)
    local = ProcessExecutor(2)
    t0 = time.perf_counter()
    cluster = DaskExecutor("local:2")
    t_start = time.perf_counter() - t0
    try:
        reference = assess_files(folder, steps=steps, executor=local)
        again = assess_files(folder, steps=steps, executor=cluster)  # warm the workers' imports
        same = [r.outputs["tables"].record_json for r in reference.results] == [
            r.outputs["tables"].record_json for r in again.results]
        if not same:
            raise SystemExit("dask and local results differ")
        t_local = median_time(lambda: assess_files(folder, steps=steps, executor=local), repeat)
        t_dask = median_time(lambda: assess_files(folder, steps=steps, executor=cluster), repeat)
    finally:
        cluster.close()
        local.close()
    return t_local, t_dask, t_start, len(reference.results)


if __name__ == "__main__":
    sys.exit(main())
