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

from ..pipeline import endpoints as ep
from .settings_used import SettingsUsed, from_assessment_json, from_settings

TABLES = ("subjects", "timepoints", "ablations", "lesions")
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


def _frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    rows = [{k: _cell(v) for k, v in r.items()} for r in rows]
    return pd.DataFrame(rows, dtype=object) if rows else pd.DataFrame()


def _num(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series([float("nan")] * len(frame), index=frame.index, dtype=float)
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
    ValueError
        When the subjects table's endpoint columns differ from the endpoints derived here.
    """
    if settings_used is not None:
        settings = settings_used.endpoint_settings()
    subjects = _frame(tables.get("subjects", ()))
    if subjects.empty:
        subjects = pd.DataFrame(columns=["subject", "arm"], dtype=object)
    for col in ("subject", "arm"):
        if col not in subjects:
            subjects[col] = ""
    subjects["arm"] = subjects["arm"].replace("", "(none)")
    # A stratum another subject has and this one lacks: an empty cell, as in subjects.csv.
    strata = [c for c in subjects.columns if str(c).startswith("strata_")]
    if strata:
        subjects[strata] = subjects[strata].fillna("")
    timepoints = _frame(tables.get("timepoints", ()))
    ablations = _frame(tables.get("ablations", ()))
    dlm = _frame(tables.get("dlm", ()))
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


def _read_csv(path: Path) -> list[dict[str, str]]:
    import io

    from ..safe_files import open_regular

    # A regular file only: a FIFO named timepoints.csv would block the analysis forever.
    with io.TextIOWrapper(open_regular(path), encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def from_results_dir(directory: str | Path, settings: Any = None) -> AnalysisData:
    """Read ``subjects.csv``, ``timepoints.csv``, ``ablations.csv`` (and ``lesions.csv``) of DIR.

    Only ``subjects.csv`` is required; a missing table is taken as empty.  The settings each case
    was assessed with are read from ``assessment.json`` when it is there.

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
    ValueError
        When a table is not a readable CSV or ``subjects.csv`` has no ``subject`` column.
    """
    folder = Path(directory)
    subjects_csv = folder / "subjects.csv"
    if not subjects_csv.is_file():
        raise FileNotFoundError(f"{folder}: no subjects.csv (expected mrecist assess output)")
    tables: dict[str, list[dict[str, str]]] = {}
    for name in ("subjects", "timepoints", "ablations", "dlm"):
        path = folder / f"{name}.csv"
        if path.is_file():
            try:
                tables[name] = _read_csv(path)
            except (csv.Error, UnicodeDecodeError) as exc:
                raise ValueError(f"{path}: not a readable CSV table ({exc})") from None
    rows = tables.get("subjects", [])
    if rows and "subject" not in rows[0]:
        raise ValueError(f"{subjects_csv}: expected a 'subject' column")
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
        "best_overall_response": s.get("best_overall_response", pd.Series("", index=s.index)),
        "best_change_pct": _num(s, "best_change_from_baseline_pct"),
    })
    if out["best_change_pct"].isna().all() and not data.timepoints.empty:
        tp = data.timepoints.assign(change=_num(data.timepoints, "change_from_baseline_pct"))
        best = tp.groupby("subject")["change"].min()
        out["best_change_pct"] = out["subject"].map(best)
    return out


def change_over_time(data: AnalysisData) -> pd.DataFrame:
    """Per subject and post-baseline timepoint: months from origin and % change (spider plot)."""
    tp = data.timepoints
    if tp.empty or "change_from_baseline_pct" not in tp:
        return pd.DataFrame(columns=["subject", "arm", "months", "change_pct", "nadir_pct"])
    arm = data.subjects.set_index("subject")["arm"]
    days = _num(tp, "days_from_origin")
    if days.isna().all():
        origin = data.subjects.set_index("subject").apply(
            lambda r: ep.origin_of(r.to_dict()), axis=1
        )
        dates = pd.to_datetime(tp["date"], errors="coerce")
        days = (dates - pd.to_datetime(tp["subject"].map(origin))).dt.days.astype(float)
    out = pd.DataFrame({
        "subject": tp["subject"],
        "arm": tp["subject"].map(arm),
        "months": days / ep.DAYS_PER_MONTH,
        "change_pct": _num(tp, "change_from_baseline_pct"),
        "nadir_pct": _num(tp, "change_from_nadir_pct"),
        "nadir_mm": _num(tp, "nadir_mm"),
        "baseline_mm": _num(tp, "baseline_sum_mm"),
        "criteria": tp.get("criteria", pd.Series("", index=tp.index)),
        "target_response": tp.get("target_response", pd.Series("", index=tp.index)),
        "overall_response": tp.get("overall_response", pd.Series("", index=tp.index)),
    })
    return out.dropna(subset=["months", "change_pct"])
