"""Print the per-timepoint table for a person reading a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .batch import CaseOutput

_COLS = [
    ("subject", "subject"), ("timepoint", "tp"), ("date", "date"), ("target_sum_mm", "sum mm"),
    ("change_from_baseline_pct", "vs BL %"), ("change_from_nadir_pct", "vs nadir %"),
    ("target_response", "target"), ("nontarget_response", "non-target"), ("new_lesions", "new"),
    ("overall_response", "overall"),
]


def print_timepoints(outputs: list[CaseOutput]) -> None:
    rows = [r for o in outputs for r in (o.timepoint_rows or [])]
    if not rows:
        return
    widths = {k: max(len(h), *(len(r[k]) for r in rows)) for k, h in _COLS}
    print("  ".join(h.ljust(widths[k]) for k, h in _COLS).rstrip())
    print("  ".join("-" * widths[k] for k, _ in _COLS))
    last = None
    for r in rows:
        if last is not None and r["subject"] != last:
            print()
        last = r["subject"]
        print("  ".join(r[k].ljust(widths[k]) for k, _ in _COLS).rstrip())
    print()
    for o in outputs:
        print(o.summary)
