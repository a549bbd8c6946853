"""Benchmark: the whole ``mrecist analyze`` on the simulated 668-subject cohort.

Generates the cohort (``mrecist_tool.sample.cohort``, seed 0) into a temporary folder, then times
``mrecist analyze COHORT --out OUT`` as a subprocess (reading, assessing, endpoints, statistics,
every plot in PNG and SVG, report.html).  The baseline, measured in the same run, is the start-up
of ``python -c "import pandas, matplotlib.pyplot, lifelines"`` — the floor any analysis pays on
this machine.  Target: analyze under 10 s.

    .venv/bin/python benchmarks/analysis_bench.py [--subjects 668] [--repeat 1]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 10.0


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"command failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-3000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=668)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the best is kept")
    args = parser.parse_args()

    from mrecist_tool.sample.cohort import write_cohort

    with tempfile.TemporaryDirectory(prefix="mrecist-analysis-bench-") as tmp:
        cohort = Path(tmp) / "cohort"
        write_cohort(cohort, args.subjects, seed=0)
        baseline_cmd = [sys.executable, "-c", "import pandas, matplotlib.pyplot, lifelines"]
        analyze_cmd = [sys.executable, "-m", "mrecist_tool.cli.main", "analyze", str(cohort),
                       "--out", str(Path(tmp) / "out"), "--quiet"]
        baseline = min(timed(baseline_cmd) for _ in range(args.repeat))
        analyze = min(timed(analyze_cmd) for _ in range(args.repeat))
        report = Path(tmp) / "out" / "report.html"
        size_mb = report.stat().st_size / 1e6
    ratio = analyze / baseline
    verdict = "OK" if analyze < TARGET_S else "OVER TARGET"
    print(f"mrecist analyze, {args.subjects} simulated subjects: {analyze:.2f} s "
          f"(target < {TARGET_S:.0f} s: {verdict})")
    print(f"baseline (import pandas, matplotlib.pyplot, lifelines): {baseline:.2f} s")
    print(f"ratio analyze / baseline: {ratio:.1f}x   report.html {size_mb:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
