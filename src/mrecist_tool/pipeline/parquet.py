"""Parquet copies of the result tables, with typed columns (dates, numbers, booleans)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_with

_NUMERIC_SUFFIXES = ("_mm", "_pct", "_days")
_BOOL = {"baseline", "has_target_disease", "never_disease_free", "has_post_baseline_assessment", "sd_min_met", "simulated", "bor_confirmed"}


def _to_parquet(frame: Any, path: Path) -> None:
    frame.to_parquet(path, index=False)


def write_parquet_tables(out: Path, columns: dict[str, list[str]]) -> None:
    """Typed Parquet copies of the CSV tables just written in ``out``."""
    import pandas as pd

    for name, cols in columns.items():
        frame = pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False)[cols]
        for col in frame.columns:
            if col.endswith(_NUMERIC_SUFFIXES) or col.endswith("_event") or col in ("days_from_origin", "n_targets", "n_nontargets", "n_ablated"):
                frame[col] = pd.to_numeric(frame[col].replace("", None), errors="coerce")
            elif col.endswith("_date") or col == "date" or col == "last_known_alive":
                frame[col] = pd.to_datetime(frame[col].replace("", None), errors="coerce").dt.date
            elif col in _BOOL:
                frame[col] = frame[col].map({"true": True, "false": False})
        atomic_write_with(out / f"{name}.parquet", functools.partial(_to_parquet, frame))
