"""Batch recomputation for ``mrecist assess``.

Each case is read, checked, assessed and turned into its table rows and JSON record on its own
(in a worker process for large batches, using both cores): a refusal, or even an unexpected error
in one case, is reported with its file and never stops the others.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CaseFileError, Problem, SettingsError

PARALLEL_MIN_FILES = 64  # below this, starting workers costs more than it saves


@dataclass
class CaseOutput:
    """Everything ``mrecist assess`` writes about one case, as text ready to write: strings
    cross process boundaries far more cheaply than nested dicts."""

    subject: str
    file: str
    csv: dict[str, str]  # table name -> CSV lines of this case (no header)
    subject_columns: list[str]  # columns of its subjects.csv row (contract + endpoint columns)
    record_json: str  # the case's entry in assessment.json
    summary: str  # one line for the terminal
    timepoint_rows: list[dict[str, str]] | None = None  # kept only for printing small batches


@dataclass
class BatchResult:
    outputs: list[CaseOutput] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # errors and warnings, in file order
    refused_files: list[str] = field(default_factory=list)

    def refused_records(self) -> list[dict[str, Any]]:
        by_file: dict[str, list[dict[str, str]]] = {}
        for p in self.problems:
            if p.severity == "error":
                by_file.setdefault(p.file, []).append({"path": p.path, "message": p.message})
        return [{"file": f, "problems": by_file.get(f, [])} for f in self.refused_files]


class Progress:
    """A small progress bar on stderr; silent unless asked or on a terminal with many items."""

    def __init__(self, total: int, mode: str = "auto", label: str = "assessing") -> None:
        self.total = total
        self.label = label
        self.enabled = mode == "always" or (mode == "auto" and sys.stderr.isatty() and total > 50)
        self.start = time.monotonic()
        self.last = 0.0

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < self.total and now - self.last < 0.1:
            return
        self.last = now
        width = 30
        filled = int(width * done / max(self.total, 1))
        rate = done / max(now - self.start, 1e-9)
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} ({rate:.0f}/s)")
        if done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _columns(subject_keys: list[str]) -> dict[str, list[str]]:
    from ..pipeline.tables import COLUMNS

    columns = {k: list(v) for k, v in COLUMNS.items()}
    columns["subjects"] += [k for k in subject_keys if k not in columns["subjects"]]
    return columns


def process_file(path: Path, cli: dict[str, Any], keep_rows: bool = False) -> tuple[CaseOutput | None, list[Problem]]:
    """Read, check and assess one case file; never raises."""
    from ..casefile import check_measurements, read_case
    from ..pipeline.assessment_json import case_result
    from ..pipeline.tables import ablation_rows, lesion_rows, subject_row, timepoint_rows
    from ..rules import assess_case, settings_for_case

    name = str(path)
    try:
        case = read_case(path, criteria=cli.get("criteria"))
        settings = settings_for_case(case, **cli)
        if cli.get("criteria"):
            extra = [p for p in check_measurements(case, settings.criteria) if p.severity == "error"]
            if extra:
                raise CaseFileError(name, extra)
        a = assess_case(case, settings)
        subject = subject_row(a)
        _add_endpoints(subject, a.settings)
        tp_rows = timepoint_rows(a)
        tables = {"timepoints": tp_rows, "lesions": lesion_rows(a), "subjects": [subject], "ablations": ablation_rows(a)}
        columns = _columns(list(subject))
        csv_text = {name: _csv_text(rows, columns[name], header=False) for name, rows in tables.items()}
        record = json.dumps(case_result(a), ensure_ascii=False, separators=(",", ":"))
        local = "; ".join(
            f"{ab.lesion} {ab.technique_efficacy}" + (f", LTP {ab.ltp_date}" if ab.ltp_date else "") for ab in a.ablations
        )
        summary = f"{a.subject}: best overall response {a.best.category}" + (f"; ablated: {local}" if local else "")
        keep = tp_rows if keep_rows else None
        return CaseOutput(a.subject, name, csv_text, columns["subjects"], record, summary, keep), []
    except CaseFileError as exc:
        return None, list(exc.problems) or [Problem(name, "$", str(exc))]
    except SettingsError as exc:
        return None, [Problem(name, "$.settings", str(exc))]
    except Exception as exc:  # an engine defect must not stop the batch: report it, go on
        return None, [Problem(name, "$", f"internal error while assessing ({type(exc).__name__}: {exc}); please report it")]


def _add_endpoints(row: dict[str, str], settings: Any) -> None:
    """The endpoint columns of subjects.csv (os_days, os_event, dfs_days, ...; issue 5)."""
    from ..pipeline.endpoints import endpoint_columns

    for k, v in endpoint_columns(row, settings).items():
        row[k] = "" if v is None else str(v)


def _worker_init() -> None:
    # Workers are short-lived and allocate many small immutable records: the cyclic garbage
    # collector would only rescan them (measured ~20 % of the engine's time).
    import gc

    gc.freeze()
    gc.disable()


def _worker(args: tuple[str, dict[str, Any]]) -> tuple[CaseOutput | None, list[Problem]]:
    return process_file(Path(args[0]), args[1])


def assess_paths(
    paths: Sequence[str | Path], *, cli: dict[str, Any] | None = None, progress: str = "auto", jobs: int | None = None
) -> BatchResult:
    from ..casefile import discover_case_files

    cli = cli or {}
    result = BatchResult()
    files, problems = discover_case_files([Path(p) for p in paths])
    result.problems.extend(problems)
    for p in problems:
        if p.severity == "error" and p.file not in result.refused_files:
            result.refused_files.append(p.file)
    bar = Progress(len(files), progress)
    jobs = jobs or min(os.cpu_count() or 1, 4)
    if jobs > 1 and len(files) >= PARALLEL_MIN_FILES:
        import multiprocessing

        ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        with ctx.Pool(jobs, initializer=_worker_init) as pool:
            results: Iterable[tuple[CaseOutput | None, list[Problem]]] = pool.imap(
                _worker, [(str(f), cli) for f in files], chunksize=max(1, len(files) // (jobs * 8))
            )
            _collect(result, files, results, bar)
    else:
        import gc

        gc.freeze()  # what is loaded so far (modules, settings) need not be rescanned
        keep = len(files) <= 20
        _collect(result, files, (process_file(f, cli, keep_rows=keep) for f in files), bar)
    return result


def _collect(result: BatchResult, files: list[Path], results: Iterable[tuple[CaseOutput | None, list[Problem]]], bar: Progress) -> None:
    for i, (path, (output, problems)) in enumerate(zip(files, results, strict=True), 1):
        result.problems.extend(problems)
        if output is None:
            result.refused_files.append(str(path))
        else:
            result.outputs.append(output)
        bar.update(i)


def _csv_text(rows: Iterable[dict[str, str]], columns: list[str], header: bool = True) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _header(columns: list[str]) -> str:
    return _csv_text([], columns)


def write_outputs(result: BatchResult, out: Path, *, parquet: bool = False, generated: str = "") -> None:
    from ..atomic import atomic_write_text
    from ..pipeline.assessment_json import assessment_document

    out.mkdir(parents=True, exist_ok=True)
    columns = _columns(result.outputs[0].subject_columns if result.outputs else [])
    for name, cols in columns.items():
        body = "".join(o.csv[name] for o in result.outputs)
        atomic_write_text(out / f"{name}.csv", _header(cols) + body)
    # The per-case records are already JSON text (compact: the C encoder; pretty-printing would
    # fall back to pure Python, ten times slower); splice them into the document.
    doc = assessment_document([], result.refused_records(), generated=generated)
    head = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    marker = '"cases":[]'
    cases = ",\n".join(o.record_json for o in result.outputs)
    atomic_write_text(out / "assessment.json", head.replace(marker, f'"cases":[\n{cases}\n]', 1) + "\n")
    if parquet:
        from ..pipeline.parquet import write_parquet_tables

        write_parquet_tables(out, columns)
