"""The analysis dataset: the engine's tables plus the long endpoint table, as pandas frames.

Three ways in, all ending in :class:`AnalysisData`:

* :func:`from_tables` — the row dicts of :func:`mrecist_tool.pipeline.tables.assessment_tables`;
* :func:`from_results_dir` — the CSV files ``mrecist assess --out DIR`` wrote, with the
  per-case settings of its ``assessment.json`` (:mod:`.settings_used`);
* :func:`from_case_paths` — case files (or folders of them), assessed by the one pipeline
  (:func:`mrecist_tool.pipeline.assess_files`) exactly as ``mrecist assess`` does.  A file that
  cannot be read is reported in ``AnalysisData.problems`` and the rest are analysed.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import MrecistError
from ..pipeline import endpoints as ep
from ..pipeline.tables import COLUMNS
from .settings_used import SettingsUsed, from_assessment_json, from_settings


class OutdatedResultsError(MrecistError, ValueError):
    """A result set (or table rows) lacks columns this version writes: written by an older
    ``mrecist assess``.  The message names each file and its missing columns."""


_SIM_ID = re.compile(r"^SIM-\d{4,}$")


@dataclass
class AnalysisData:
    """Everything the statistics, plots and report read.

    Built by :func:`from_case_paths`, :func:`from_results_dir` or :func:`from_tables`; every
    table holds text cells as the CSV files of ``mrecist assess`` do.

    Attributes
    ----------
    subjects : pandas.DataFrame
        One row per subject (``subjects.csv``): arm, randomisation, best overall response,
        endpoint columns.
    timepoints : pandas.DataFrame
        One row per subject and timepoint (``timepoints.csv``).
    ablations : pandas.DataFrame
        One row per ablated tumour (``ablations.csv``), margins included.
    endpoints : pandas.DataFrame
        The time-to-event endpoints in long form (one row per subject or tumour and endpoint).
    settings : Settings, Mapping or None
        The cohort-level endpoint settings used when the cases' own are not known (None: the
        defaults).
    simulated : bool
        True when every subject comes from the cohort simulator; the report says so.
    simulated_reason : str
        Why the data were taken as simulated (empty when they are not).
    source : str
        Where the data came from (a folder or a list of case files), for the report.
    problems : list of str
        The files that could not be read or assessed, with their problems.
    settings_used : SettingsUsed or None
        The settings every case was assessed with, grouped (None when not known: bare tables).
    cases : list
        The per-case results when the data came from case files (each with its located problems
        and the settings it was assessed with); empty for tables and results folders.
    cutoff : datetime.date or None
        The data cut-off given (``mrecist analyze --cutoff``).
    cutoff_ignored : dict of str to int
        What the cut-off left out, counted by kind.
    after_cutoff : list of str
        The subjects randomised after the cut-off (not analysed).
    dlm : pandas.DataFrame
        PRE-3: one row per disappearing liver metastasis (``dlm.csv`` of ``mrecist assess``).
    """

    subjects: pd.DataFrame
    timepoints: pd.DataFrame
    ablations: pd.DataFrame
    endpoints: pd.DataFrame
    settings: Any = None
    simulated: bool = False
    simulated_reason: str = ""
    source: str = ""
    problems: list[str] = field(default_factory=list)
    #: The settings every case was assessed with, grouped (None when not known: bare tables).
    settings_used: SettingsUsed | None = None
    #: The per-case results when the data came from case files (each with its located problems
    #: and the settings it was assessed with); empty for tables and results folders.
    cases: list[Any] = field(default_factory=list)
    #: The data cut-off given (``mrecist analyze --cutoff``), what it left out (counts by kind)
    #: and the subjects randomised after it (not analysed).
    cutoff: date | None = None
    cutoff_ignored: dict[str, int] = field(default_factory=dict)
    after_cutoff: list[str] = field(default_factory=list)
    #: PRE-3: one row per disappearing liver metastasis (``dlm.csv`` of ``mrecist assess``).
    dlm: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def arms(self) -> list[str]:
        """Arm labels in a stable order (sorted; subjects with no arm are ``"(none)"``)."""
        return sorted(set(self.subjects["arm"])) if len(self.subjects) else []


def _cell(value: Any) -> str:
    """One table cell as the text ``subjects.csv`` would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list | tuple):
        return ";".join(_cell(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(dict(value), sort_keys=True, default=str)
    if isinstance(value, float) and value != value:  # NaN
        return ""
    return str(value)


def _frame(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] = ()) -> pd.DataFrame:
    """The rows as text cells; a table with no rows still has its columns (the statistics
    read columns without defaults)."""
    rows = [{k: _cell(v) for k, v in r.items()} for r in rows]
    return pd.DataFrame(rows, dtype=object) if rows else pd.DataFrame(columns=list(columns), dtype=object)


def _num(frame: pd.DataFrame, column: str) -> pd.Series:
    # No default for a missing column: every table read has its columns (check_result_set).
    return pd.to_numeric(frame[column].replace("", None), errors="coerce").astype(float)


def _is_simulated(subjects: pd.DataFrame, case_flags: Sequence[bool] = ()) -> tuple[bool, str]:
    if case_flags and all(case_flags):
        return True, 'every case file is marked "simulated": true'
    if "simulated" in subjects and len(subjects) and subjects["simulated"].map(ep.parse_bool).all():
        return True, "every subject is marked simulated"
    if len(subjects) and subjects["subject"].map(lambda s: bool(_SIM_ID.match(s))).all():
        return True, "every subject id has the simulator's form SIM-nnnn"
    return False, ""


def from_tables(
    tables: Mapping[str, Iterable[Mapping[str, Any]]],
    settings: Any = None,
    *,
    simulated_flags: Sequence[bool] = (),
    source: str = "",
    problems: Iterable[str] = (),
    settings_used: SettingsUsed | None = None,
) -> AnalysisData:
    """Build the dataset from ``assessment_tables`` row dicts (or rows read from the CSVs).

    With ``settings_used`` (the per-case settings of the assessment) the endpoint settings are
    the cases' own, which must be one value per setting (:class:`MixedSettingsError` otherwise),
    and ``settings`` is not used for them.  The long endpoint rows are checked against the
    endpoint columns of the subjects table when it has them: a difference is an error.

    Parameters
    ----------
    tables : Mapping of str to iterable of Mapping
        Rows by table name: ``"subjects"`` (required), ``"timepoints"``, ``"ablations"``,
        ``"lesions"``, ``"dlm"``; each row maps a column name to its value.
    settings : Settings, Mapping or None, optional
        The cohort-level endpoint settings (None: the defaults); not used with
        ``settings_used``.
    simulated_flags : Sequence of bool, optional
        The ``simulated`` flag of each case file the rows come from.
    source : str, optional
        Where the rows came from, for the report.
    problems : Iterable of str, optional
        Problems met while reading, carried into :attr:`AnalysisData.problems`.
    settings_used : SettingsUsed or None, optional
        The settings each case was assessed with.

    Returns
    -------
    AnalysisData
        The dataset, endpoints derived.

    Raises
    ------
    MixedSettingsError
        When ``settings_used`` holds more than one value of an endpoint setting.
    OutdatedResultsError
        When rows lack a column of the current tables (the endpoint columns of ``subjects``
        aside), naming the table and the columns.
    ValueError
        When the subjects table's endpoint columns differ from the endpoints derived here.
    """
    if settings_used is not None:
        settings = settings_used.endpoint_settings()
    listed = {name: list(rows) for name, rows in tables.items()}
    _check_rows(listed, source)
    subjects = _frame(listed.get("subjects", ()), COLUMNS["subjects"])
    subjects["arm"] = subjects["arm"].replace("", "(none)")
    # A stratum another subject has and this one lacks: an empty cell, as in subjects.csv.
    strata = [c for c in subjects.columns if str(c).startswith("strata_")]
    if strata:
        subjects[strata] = subjects[strata].fillna("")
    timepoints = _frame(listed.get("timepoints", ()), COLUMNS["timepoints"])
    ablations = _frame(listed.get("ablations", ()), COLUMNS["ablations"])
    dlm = _frame(listed.get("dlm", ()), COLUMNS["dlm"])
    problems = list(problems)
    where = (str(Path(source) / "subjects.csv") if source and Path(source).is_dir()
             else "subjects table")
    long_rows, bad = _endpoint_rows(subjects, ablations, settings, where)
    if bad:
        problems.extend(bad.values())
        subjects = subjects[~subjects["subject"].isin(bad)].reset_index(drop=True)
    _check_endpoint_columns(subjects, long_rows, where)
    endpoints = pd.DataFrame(long_rows, columns=list(ep.LONG_COLUMNS))
    # Whole days and event codes stay integers in endpoints.csv (nullable: empty when the
    # endpoint is not defined for the row).
    endpoints["time_days"] = pd.to_numeric(endpoints["time_days"], errors="coerce").astype("Int64")
    endpoints["time_months"] = pd.to_numeric(endpoints["time_months"], errors="coerce")
    endpoints["event"] = pd.to_numeric(endpoints["event"], errors="coerce").astype("Int64")
    simulated, why = _is_simulated(subjects, simulated_flags)
    return AnalysisData(
        subjects=subjects,
        timepoints=timepoints,
        ablations=ablations,
        dlm=dlm,
        endpoints=endpoints,
        settings=settings,
        simulated=simulated,
        simulated_reason=why,
        source=source,
        problems=problems,
        settings_used=settings_used,
    )


def _check_rows(tables: Mapping[str, list[Mapping[str, Any]]], source: str) -> None:
    """Every row must have the columns the current tables have, as
    :func:`~mrecist_tool.pipeline.tables.assessment_tables` gives them
    (:func:`~mrecist_tool.pipeline.tables.row_columns`: not the endpoint columns of
    ``subjects``, derived here, nor the margin columns of ``ablations``, which only the margin
    step adds; the margin analysis says when there are none).  The endpoint derivation and the
    statistics do not read a missing column as empty: rows from another version or built by
    hand with columns left out are refused, naming the table and the columns."""
    from ..pipeline.tables import row_columns

    found = []
    required = row_columns()
    for name, rows in tables.items():
        if name not in required:
            continue
        columns = required[name]
        lacking = sorted({c for row in rows for c in columns if c not in row}, key=columns.index)
        if lacking:
            found.append(f"{name} rows lack column(s) {', '.join(lacking)}")
    if found:
        raise OutdatedResultsError(
            f"{source or 'tables'}: " + "; ".join(found) + " (the rows of "
            "mrecist_tool.pipeline.tables.assessment_tables have them; rows of an older version "
            "cannot be analysed by this one)")


def _check_endpoint_columns(subjects: pd.DataFrame, long_rows: list[dict[str, Any]],
                            where: str) -> None:
    """The derived endpoints must equal the ``<endpoint>_days/_event`` columns of the table."""
    if subjects.empty:
        return
    table = {str(r["subject"]): r for r in subjects.to_dict("records")}
    differences: list[str] = []
    for row in long_rows:
        if row["unit"] != "patient":
            continue
        key = str(row["endpoint"]).lower()
        days_col, event_col = f"{key}_days", f"{key}_event"
        if days_col not in subjects.columns or event_col not in subjects.columns:
            continue
        source = table[str(row["subject"])]
        theirs = (str(source[days_col]).strip(), str(source[event_col]).strip())
        mine = (str(row["time_days"]).strip(), str(row["event"]).strip())
        if theirs != mine:
            differences.append(f"{row['subject']} {row['endpoint']}: table {'/'.join(theirs)}, "
                               f"derived {'/'.join(mine)} (days/event)")
    if differences:
        shown = "; ".join(differences[:5]) + (f"; and {len(differences) - 5} more"
                                              if len(differences) > 5 else "")
        raise ValueError(
            f"{where}: {len(differences)} endpoint value(s) differ from those derived with the "
            f"analysis' endpoint settings ({shown}). The table was written with other settings: "
            "run mrecist assess again, or analyse the case files directly.")


def _endpoint_rows(
    subjects: pd.DataFrame, ablations: pd.DataFrame, settings: Any, where: str
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Long endpoint rows; a subject whose values cannot be read is left out and reported."""
    by_subject: dict[str, list[dict[str, Any]]] = {}
    if not ablations.empty and "subject" in ablations:
        for row in ablations.to_dict("records"):
            by_subject.setdefault(str(row["subject"]), []).append(row)
    rows: list[dict[str, Any]] = []
    tumour_rows: list[dict[str, Any]] = []
    bad: dict[str, str] = {}
    for subject in subjects.to_dict("records"):
        sid = str(subject["subject"])
        try:
            mine = ep.subject_endpoints(subject, settings)
            theirs = [r for a in by_subject.get(sid, [])
                      for r in ep.tumour_endpoints(a, subject, settings)]
        except ValueError as exc:
            bad[sid] = f"{where}: subject {sid}: {exc}; subject left out of the analysis"
            continue
        rows.extend(mine)
        tumour_rows.extend(theirs)
    return rows + tumour_rows, bad


def is_results_dir(path: str | Path) -> bool:
    """True for a folder written by ``mrecist assess --out`` (it holds ``subjects.csv``)."""
    return Path(path).is_dir() and (Path(path) / "subjects.csv").is_file()


def _read_table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """A table's header and rows; :class:`ValueError` naming the file if it is not a CSV."""
    import io

    from ..safe_files import open_regular

    # A regular file only: a FIFO named timepoints.csv would block the analysis forever.
    try:
        with io.TextIOWrapper(open_regular(path), encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            return list(reader.fieldnames or []), rows
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable CSV table ({exc})") from None


#: The tables ``mrecist analyze`` reads from a result set (``lesions.csv`` is not read).
READ_TABLES = ("subjects", "timepoints", "ablations", "dlm")
_AGAIN = ("run `mrecist assess` again with this version on the case files, or pass the case "
          "files to `mrecist analyze` instead of the folder")


def _written_by(folder: Path) -> str:
    """Which version wrote the set and when, from ``assessment.json`` ("" when not readable)."""
    try:
        doc = json.loads((folder / "assessment.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    if not isinstance(doc, dict):
        return ""
    parts = [str(doc[k]) for k in ("toolkit", "generated") if doc.get(k)]
    return f" (its assessment.json: {', '.join(parts)})" if parts else ""


def check_result_set(directory: str | Path, headers: Mapping[str, Sequence[str]]) -> None:
    """Refuse a result set that this version cannot analyse as it was meant.

    ``headers`` maps each table of the folder that was read to its header.  Every table
    ``mrecist analyze`` reads (:data:`READ_TABLES`) must be there, and each must have every
    column the current ``mrecist assess`` writes
    (:func:`mrecist_tool.pipeline.tables.expected_columns`); other columns are ignored.  A set
    written by an older version lacks some, and the endpoint derivation must not read a missing
    column as empty (END-GEN-4's censoring of the per-tumour rows, for one, needs
    ``ablations.csv``'s ``adequate_imaging_dates``).  The tables' headers are what is checked,
    not a version number: ``assessment.json``'s format version and toolkit version did not change
    when columns were added, so only the headers tell.

    Raises
    ------
    OutdatedResultsError
        Naming every file that is missing or lacks columns, the columns, and what to do.
    """
    from ..pipeline.tables import OBSOLETE_COLUMNS, expected_columns

    folder = Path(directory)
    found: list[str] = []
    for name, columns in expected_columns().items():
        if name not in READ_TABLES:
            continue
        path = folder / f"{name}.csv"
        if name not in headers:
            found.append(f"{path}: missing")
            continue
        header = set(headers[name])
        lacking = [c for c in columns if c not in header]
        old = [c for c in OBSOLETE_COLUMNS.get(name, ()) if c in header]
        if lacking:
            found.append(f"{path}: lacks column(s) {', '.join(lacking)}")
        if old:
            found.append(f"{path}: has the older column(s) {', '.join(old)}")
    if found:
        raise OutdatedResultsError(
            f"{folder}: written by an older mrecist assess{_written_by(folder)}: "
            + "; ".join(found) + ". This version cannot derive the endpoints without them (a "
            "missing column is not read as empty). To analyse it, " + _AGAIN + ".")


def from_results_dir(directory: str | Path, settings: Any = None) -> AnalysisData:
    """Read ``subjects.csv``, ``timepoints.csv``, ``ablations.csv`` and ``dlm.csv`` of DIR.

    The folder must be a result set of this version (:func:`check_result_set`): every table read
    present, with every column the current ``mrecist assess`` writes.  The settings each case was
    assessed with are read from ``assessment.json`` when it is there (without it, ``settings``,
    checked against the endpoint columns of ``subjects.csv``).

    Parameters
    ----------
    directory : str or pathlib.Path
        A results folder written by ``mrecist assess``.
    settings : Settings, Mapping or None, optional
        The cohort-level endpoint settings when ``assessment.json`` does not give them.

    Returns
    -------
    AnalysisData
        The dataset, endpoints derived.

    Raises
    ------
    FileNotFoundError
        When the folder has no ``subjects.csv``.
    OutdatedResultsError
        When a table is missing or lacks a column this version writes (an older result set).
    ValueError
        When a table is not a readable CSV.
    """
    folder = Path(directory)
    subjects_csv = folder / "subjects.csv"
    if not subjects_csv.is_file():
        raise FileNotFoundError(f"{folder}: no subjects.csv (expected mrecist assess output)")
    headers: dict[str, list[str]] = {}
    tables: dict[str, list[dict[str, str]]] = {}
    for name in READ_TABLES:
        path = folder / f"{name}.csv"
        if path.is_file():
            headers[name], tables[name] = _read_table(path)
    check_result_set(folder, headers)
    # The settings each case was assessed with (assessment.json); the endpoints follow them.
    used = from_assessment_json(folder / "assessment.json")
    return from_tables(tables, settings, source=str(folder), settings_used=used)


def from_case_paths(
    paths: Sequence[str | Path],
    settings: Any = None,
    *,
    cli: Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    cutoff: date | None = None,
    executor: str | None = None,
) -> AnalysisData:
    """Read, assess and tabulate case files (folders are searched for case files).

    Each case is assessed with its own effective settings (its profile, criteria and settings,
    then ``cli``: ``{"profile", "criteria", "overrides"}`` as on the command line).  ``settings``
    are the cohort-level endpoint settings (one DFS definition for the whole analysis).  A file
    that cannot be read or assessed is listed in ``problems`` and the rest are analysed.
    ``progress(done, total)`` is called as files are assessed; ``executor`` says where
    (:func:`mrecist_tool.pipeline.batch.make_executor`: ``"tcp://HOST:PORT"``, ``"local:N"``, …).

    Parameters
    ----------
    paths : Sequence of str or pathlib.Path
        Case files, or folders searched for case files.
    settings : Settings, Mapping or None, optional
        The cohort-level endpoint settings (None: the defaults).
    cli : Mapping of str to Any or None, optional
        Settings given as on the command line: ``{"profile", "criteria", "overrides"}``.
    progress : callable or None, optional
        ``progress(done, total)``, called as files are assessed.
    cutoff : datetime.date or None, optional
        The data cut-off: what was observed after it is left out.
    executor : str or None, optional
        Where the cases are assessed: ``"serial"``, ``"local:N"``, ``"tcp://HOST:PORT"``
        (None: local worker processes).

    Returns
    -------
    AnalysisData
        The dataset of the cases that were read and assessed; the others are in its
        ``problems``.
    """
    from ..pipeline.batch import assess_files
    from ..pipeline.steps import rows_of, steps_for, table_rows

    options = dict(cli or {})
    if cutoff is not None:
        options["cutoff"] = cutoff  # each case as it stood on that date (pipeline.cutoff)
    batch = assess_files(paths, options, steps=steps_for(table_rows), progress=progress, executor=executor)
    problems = [str(p) for p in batch.problems if p.severity == "error"]
    after = [r for r in batch.accepted if "after_cutoff" in r.outputs]
    accepted = [r for r in batch.accepted if "after_cutoff" not in r.outputs]
    used = from_settings(((str(r.subject), r.settings.as_dict()) for r in accepted
                          if r.settings is not None), "the case files") if accepted else None
    data = from_tables(
        rows_of(accepted),
        settings,
        simulated_flags=[r.simulated for r in accepted],
        source=", ".join(str(p) for p in paths),
        problems=problems,
        settings_used=used,
    )
    data.cases = batch.results
    if cutoff is not None:
        data.cutoff = cutoff
        data.after_cutoff = [str(r.subject) for r in after]
        totals: dict[str, int] = {}
        for r in accepted:
            for kind, n in r.outputs.get("cutoff_ignored", {}).items():
                totals[kind] = totals.get(kind, 0) + int(n)
        data.cutoff_ignored = totals
    return data


def best_change(data: AnalysisData) -> pd.DataFrame:
    """Per subject: arm, best response and best % change of the target sum (waterfall)."""
    s = data.subjects
    out = pd.DataFrame({
        "subject": s["subject"],
        "arm": s["arm"],
        "best_overall_response": s["best_overall_response"],
        "best_change_pct": _num(s, "best_change_from_baseline_pct"),
    })
    return out


def change_over_time(data: AnalysisData) -> pd.DataFrame:
    """Per subject and post-baseline timepoint: months from origin and % change (spider plot)."""
    tp = data.timepoints
    if tp.empty:
        return pd.DataFrame(columns=["subject", "arm", "months", "change_pct", "nadir_pct"])
    arm = data.subjects.set_index("subject")["arm"]
    days = _num(tp, "days_from_origin")
    out = pd.DataFrame({
        "subject": tp["subject"],
        "arm": tp["subject"].map(arm),
        "months": days / ep.DAYS_PER_MONTH,
        "change_pct": _num(tp, "change_from_baseline_pct"),
        "nadir_pct": _num(tp, "change_from_nadir_pct"),
        "nadir_mm": _num(tp, "nadir_mm"),
        "baseline_mm": _num(tp, "baseline_sum_mm"),
        "criteria": tp["criteria"],
        "target_response": tp["target_response"],
        "overall_response": tp["overall_response"],
    })
    return out.dropna(subset=["months", "change_pct"])
