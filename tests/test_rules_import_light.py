"""The rules core imports nothing heavy (architecture.md): no pydicom, SimpleITK, pandas, numpy,
matplotlib, Qt or napari — so batch recomputation starts fast and the engine runs anywhere."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pydicom", "SimpleITK", "pandas", "numpy", "matplotlib", "qtpy", "PyQt5", "napari", "scipy", "lifelines")


def test_rules_import_is_light() -> None:
    code = (
        "import sys, mrecist_tool.rules, mrecist_tool.model, mrecist_tool.casefile;"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"heavy modules imported by the rules core: {out}"


def test_cli_assess_path_is_light() -> None:
    """`mrecist assess` without --parquet must not pay for pandas or numpy at start-up."""
    code = (
        "import sys; from mrecist_tool.cli.main import build_parser; build_parser();"
        "import mrecist_tool.cli.batch, mrecist_tool.pipeline.tables, mrecist_tool.pipeline.assessment_json;"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"heavy modules imported on the assess path: {out}"
