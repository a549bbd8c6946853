"""Per-case steps: what runs for each assessed case, in a worker process or on a cluster.

A step is a picklable callable ``step(work: CaseWork) -> None``
(:class:`~mrecist_tool.pipeline.case.CaseWork`).  Two kinds, run in this order:

* **image work** (:data:`IMAGE_STEPS`): work on the case's images and masks that may add
  findings to the assessment: :func:`~.masks.check_masks` (masks to diameters and gaps, compared
  with what the reader recorded) and :func:`~mrecist_tool.margin.step.margin_step` (the ablative
  margins of procedures that carry margin inputs; ablations.csv's margin columns).  This tuple
  is the extension point for per-case image work: append a step to it and every command runs
  it, locally or on a cluster.
* **products**: what a command needs of each case, as small picklable values — :func:`table_text`
  (``mrecist assess``: CSV text and the ``assessment.json`` record), :func:`table_rows`
  (``mrecist analyze``: row dicts), or a command's own (``mrecist export sdtm``).

:func:`steps_for` puts the image work before a product.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..margin.step import margin_step
from .case import CaseStep, CaseWork
from .masks import check_masks

#: Image work run for every case before its product (see the module docstring).
IMAGE_STEPS: tuple[CaseStep, ...] = (check_masks, margin_step)


def _ablation_rows(work: CaseWork) -> list[dict[str, str]]:
    """ablations.csv rows with the margin columns of the margin step (empty without inputs)."""
    from .tables import ablation_rows

    margins = work.outputs.get("margins") or {}
    rows = ablation_rows(work.assessment)
    for row in rows:
        row.update(margins.get(row.get("lesion", ""), {}))
    return rows


def steps_for(product: CaseStep | None) -> tuple[CaseStep, ...]:
    """The per-case steps of a command: the image work, then its product.

    Parameters
    ----------
    product : callable or None
        The command's product step (e.g. :func:`table_text`), or ``None`` for the image work only.

    Returns
    -------
    tuple of callables
        :data:`IMAGE_STEPS` followed by ``product``.
    """
    return IMAGE_STEPS + ((product,) if product is not None else ())


@dataclass
class TableText:
    """Everything ``mrecist assess`` writes about one case, as text ready to write: strings cross
    process boundaries far more cheaply than nested dicts."""

    subject: str
    file: str
    csv: dict[str, str]  # table name -> CSV lines of this case (no header)
    subject_columns: list[str]  # columns of its subjects.csv row (contract + endpoint columns)
    record_json: str  # the case's entry in assessment.json
    summary: str  # one line for the terminal
    timepoint_rows: list[dict[str, str]] | None = None  # kept only for printing small batches
    # the subjects.csv row itself: re-rendered when the cohort's columns differ from this case's
    # (a stratum another case has and this one lacks)
    subject_row: dict[str, str] | None = None


def table_columns(subject_keys: Sequence[str]) -> dict[str, list[str]]:
    """The columns of the tables, subjects.csv with the strata and endpoint columns of these keys."""
    from .tables import COLUMNS, subject_columns

    columns = {k: list(v) for k, v in COLUMNS.items()}
    columns["subjects"] = subject_columns(subject_keys)
    return columns


def csv_text(rows: Iterable[dict[str, str]], columns: list[str], header: bool = True) -> str:
    """Rows as CSV text (``\\n`` line ends, columns in the given order)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _subject_with_endpoints(work: CaseWork) -> dict[str, str]:
    """The subjects.csv row with the endpoint columns (os_days, os_event, dfs_days, ...)."""
    from .endpoints import endpoint_columns
    from .tables import subject_row

    row = subject_row(work.assessment, work.profile)
    for k, v in endpoint_columns(row, work.settings).items():
        row[k] = "" if v is None else str(v)
    return row


def table_text(work: CaseWork, keep_rows: bool = False) -> None:
    """Product of ``mrecist assess``: the case's rows of the result tables as CSV text.

    Stored as ``work.outputs["tables"]`` (a :class:`TableText`), with the case's
    ``assessment.json`` record and a one-line summary.

    Parameters
    ----------
    work : CaseWork
        The assessed case.
    keep_rows : bool
        Also keep the rows as dicts (for the table printed on the terminal).
    """
    from .assessment_json import case_result
    from .tables import dlm_rows, lesion_rows, timepoint_rows

    a = work.assessment
    subject = _subject_with_endpoints(work)
    tp_rows = timepoint_rows(a)
    tables = {
        "timepoints": tp_rows,
        "lesions": lesion_rows(a),
        "subjects": [subject],
        "ablations": _ablation_rows(work),
        "dlm": dlm_rows(a),
    }
    columns = table_columns(list(subject))
    text = {name: csv_text(rows, columns[name], header=False) for name, rows in tables.items()}
    record = json.dumps(case_result(a), ensure_ascii=False, separators=(",", ":"))
    local = "; ".join(
        f"{ab.lesion} {ab.technique_efficacy}" + (f", LTP {ab.ltp_date}" if ab.ltp_date else "") for ab in a.ablations
    )
    summary = f"{a.subject}: best overall response {a.best.category}" + (f"; ablated: {local}" if local else "")
    work.outputs["tables"] = TableText(
        a.subject, work.file, text, columns["subjects"], record, summary, tp_rows if keep_rows else None,
        subject,
    )


def table_rows(work: CaseWork) -> None:
    """Product of ``mrecist analyze``: the case's rows of the result tables as dicts.

    Stored as ``work.outputs["rows"]``, as :func:`~mrecist_tool.pipeline.tables.assessment_tables`
    gives them (with the margin columns of ``ablations`` when the case has margins).

    Parameters
    ----------
    work : CaseWork
        The assessed case.
    """
    from .tables import assessment_tables

    rows = assessment_tables([work.assessment])
    for row in rows["subjects"]:
        row["profile"] = work.profile
    if work.outputs.get("margins"):
        rows["ablations"] = _ablation_rows(work)
    work.outputs["rows"] = rows


def rows_of(results: Iterable[Any]) -> dict[str, list[dict[str, Any]]]:
    """The ``"rows"`` products of many :class:`~.case.CaseResult` joined into four tables."""
    tables: dict[str, list[dict[str, Any]]] = {
        "timepoints": [], "lesions": [], "subjects": [], "ablations": [], "dlm": []
    }
    for r in results:
        rows = r.outputs.get("rows")
        if rows:
            for name, part in rows.items():
                tables.setdefault(name, []).extend(part)
    return tables
