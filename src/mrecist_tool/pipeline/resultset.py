"""The result set of ``mrecist assess``, written whole or not at all.

The tables (``timepoints.csv``, ``lesions.csv``, ``subjects.csv``, ``ablations.csv``, ``dlm.csv``, their
Parquet copies) and ``assessment.json`` belong together: a ``subjects.csv`` of one run beside a
``timepoints.csv`` of another is a silently wrong data set.  So the set is written into a
staging folder beside the output folder and switched in with one rename
(:func:`mrecist_tool.atomic.staged_folder`): whenever the command is killed, the output folder
holds the complete previous set or the complete new one.  Other files in the output folder (a
report, notes) are kept.  A run killed part-way leaves a staging folder behind; the next run
removes it (and anything of the user's in it goes back) before writing.

The switch needs write permission on the folder that holds the output folder, not only on the
output folder.  Where only the output folder is writable, ``mrecist assess`` refuses before any
work (:func:`mrecist_tool.atomic.check_stageable`) and suggests a folder inside it, rather than
fall back to replacing the tables one by one: a reader in R or pandas, which checks no manifest,
would then see a mixed set during the switch or after a kill in it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .steps import TableText, csv_text, table_columns
from .tables import COLUMNS

#: The tables of a result set: every table of :data:`~.tables.COLUMNS` (one place lists them).
TABLES = tuple(COLUMNS)
RESULT_FILES = frozenset({f"{t}.{ext}" for t in TABLES for ext in ("csv", "parquet")} | {"assessment.json"})


def run_timestamp() -> str:
    """The time stamp of a run (ISO 8601, UTC, seconds): now, or ``SOURCE_DATE_EPOCH`` when set
    (the reproducible-builds convention, so that two runs can be compared byte for byte)."""
    import os
    from datetime import UTC, datetime

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    when = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)
    return when.isoformat(timespec="seconds")


def is_result_file(name: str) -> bool:
    """Whether ``name`` is one of the files of a result set (replaced as a whole by each run)."""
    return name in RESULT_FILES


def assessment_json_text(outputs: Sequence[TableText], refused: list[dict[str, Any]], generated: str) -> str:
    """``assessment.json`` of a batch, from the per-case records (already JSON text)."""
    from .assessment_json import assessment_document

    # Compact: the C encoder; pretty-printing would fall back to pure Python, ten times slower.
    doc = assessment_document([], refused, generated=generated)
    head = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    cases = ",\n".join(o.record_json for o in outputs)
    return head.replace('"cases":[]', f'"cases":[\n{cases}\n]', 1) + "\n"


def write_result_set(
    out: str | Path,
    outputs: Sequence[TableText],
    refused: list[dict[str, Any]],
    *,
    parquet: bool = False,
    generated: str = "",
) -> list[str]:
    """Write the tables and ``assessment.json`` of a batch to ``out``, as one set.

    Parameters
    ----------
    out : str or Path
        The output folder (created if missing).
    outputs : sequence of TableText
        The per-case products of the assessed cases, in order.
    refused : list of dict
        ``[{"file": ..., "problems": [{"path": ..., "message": ...}]}]`` for ``assessment.json``.
    parquet : bool
        Also write typed Parquet copies of the tables.
    generated : str
        The run's time stamp for ``assessment.json``.

    Returns
    -------
    list of str
        Notes on what an interrupted earlier run left behind and this one cleaned up.

    Raises
    ------
    SaveError
        When the set cannot be written; the previous set, if any, is then unchanged.
    """
    from ..atomic import recover_folder, staged_folder

    folder = Path(out)
    notes = recover_folder(folder, is_result_file)
    # subjects.csv's columns are the union over the cohort (each case has its own strata_<name>
    # columns); a case whose row was written with other columns is written again with these.
    columns = table_columns([k for o in outputs for k in o.subject_columns])
    with staged_folder(folder, owned=is_result_file) as stage:
        for name, cols in columns.items():
            if name == "subjects":
                body = "".join(o.csv[name] if o.subject_columns == cols or o.subject_row is None
                               else csv_text([o.subject_row], cols, header=False) for o in outputs)
            else:
                body = "".join(o.csv[name] for o in outputs)
            stage.add_text(f"{name}.csv", csv_text([], cols) + body)
        stage.add_text("assessment.json", assessment_json_text(outputs, refused, generated))
        if parquet:
            from .parquet import write_parquet_tables

            write_parquet_tables(stage.path, columns)
    return notes
