"""CDISC ADaM datasets in pharmaverse (admiral / admiralonco) conventions: ADSL, ADRS, ADTTE.

Built from the analysis tables (``subjects``, ``timepoints`` and the long endpoint table), written
as CSV and as SAS transport version 5 (XPT, with ``pyreadstat``), with variable labels, so that a
SAS or admiralonco user picks them up without rework.

* **ADSL**, one row per subject: ``STUDYID, USUBJID, SUBJID, ARM, ARMCD, TRT01P, TRT01A``,
  ``RANDDT`` (randomisation), ``TRTSDT`` (first ablation), ``ITTFL`` (Y), ``SAFFL`` (treated),
  ``RSEVALFL`` (measurable disease at baseline), ``DTHFL, DTHDT, DTHCAUS``, ``LSTALVDT``,
  ``EOSSTT`` / ``EOSDT`` / ``DCSREAS`` (end of study as admiral derives them from DS: COMPLETED,
  DISCONTINUED with the standardized reason, or ONGOING), ``STRATA`` (randomisation strata as
  ``name=value`` pairs).
* **ADRS**, one row per response record: ``PARAMCD`` ``OVR`` (overall response per visit),
  ``BOR`` (best overall response) and ``CBOR`` (confirmed best overall response, REC-C1), with
  ``PARAM, PARCAT1`` ("Tumor Response"), ``PARCAT2`` ("Investigator", as admiralonco's
  template), ``PARCAT3`` (criteria: "mRECIST" or "RECIST 1.1"), ``AVALC``, ``AVAL`` (admiralonco's coding: CR 1, PR 2, SD 3, NON-CR/NON-PD 4, PD 5,
  NE 6, MISSING 7), ``ADT, ADY, AVISIT, AVISITN, ANL01FL``.
* **ADTTE**, one row per subject and endpoint: ``PARAMCD`` ``OS, DFS, CSS, LTP, LTPFS, DISTANT, DOR``,
  ``STARTDT`` (origin), ``ADT`` (event or censoring date), ``AVAL`` (days, as the endpoint table's
  ``time_days``), ``CNSR`` (0 event, 1 censored), ``EVNTDESC`` / ``CNSDTDSC`` (what happened /
  which date censors), and ``CMPEVFL`` = "Y" for a competing event (event code 2 of the endpoint
  table: censored for a cause-specific analysis, a competing risk for a cumulative incidence).

Dates are ISO 8601 in CSV and SAS dates (``DATE9.``) in XPT.  Variable names follow ADaMIG 1.3;
``CMPEVFL`` and ``STRATA`` are sponsor-defined.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from ..pipeline import endpoints as ep
from ..pipeline.tables import strata_of_row
from .sdtm_terms import end_of_participation

AVAL_RESPONSE = {"CR": 1, "PR": 2, "SD": 3, "NON-CR/NON-PD": 4, "PD": 5, "NE": 6, "MISSING": 7}
STANDARD_RESPONSE = {"IR/SD": "NON-CR/NON-PD"}
TTE_PARAMS = {
    "OS": "Overall Survival (days)",
    "DFS": "Disease-free Survival (days)",
    "CSS": "Cancer-specific Survival (days)",
    "LTP": "Time to Local Tumour Progression (days)",
    "LTPFS": "LTP-free Survival (days)",
    "DISTANT": "Time to Distant Progression (days)",
    "DOR": "Duration of Response (days)",
}
LABELS: dict[str, str] = {
    "STUDYID": "Study Identifier", "USUBJID": "Unique Subject Identifier",
    "SUBJID": "Subject Identifier for the Study", "ARM": "Description of Planned Arm",
    "ARMCD": "Planned Arm Code", "ACTARM": "Description of Actual Arm",
    "TRT01P": "Planned Treatment for Period 01", "TRT01A": "Actual Treatment for Period 01",
    "RANDDT": "Date of Randomization", "TRTSDT": "Date of First Exposure to Treatment",
    "ITTFL": "Intent-To-Treat Population Flag", "SAFFL": "Safety Population Flag",
    "RSEVALFL": "Response Evaluable Population Flag", "DTHFL": "Subject Death Flag",
    "DTHDT": "Date of Death", "DTHCAUS": "Cause of Death", "LSTALVDT": "Date Last Known Alive",
    "STRATA": "Randomization Strata", "EOSSTT": "End of Study Status",
    "EOSDT": "End of Study Date", "DCSREAS": "Reason for Discontinuation from Study",
    "PARAMCD": "Parameter Code", "PARAM": "Parameter",
    "PARCAT1": "Parameter Category 1", "PARCAT2": "Parameter Category 2",
    "PARCAT3": "Parameter Category 3", "AVALC": "Analysis Value (C)", "AVAL": "Analysis Value",
    "ADT": "Analysis Date", "ADY": "Analysis Relative Day", "AVISIT": "Analysis Visit",
    "AVISITN": "Analysis Visit (N)", "ANL01FL": "Analysis Flag 01", "STARTDT":
    "Time-to-Event Origin Date for Subject", "CNSR": "Censor", "EVNTDESC": "Event or Censoring "
    "Description", "CNSDTDSC": "Censor Date Description", "CMPEVFL": "Competing Event Flag",
    "SRCDOM": "Source Data", "ASEQ": "Analysis Sequence Number",
}
DATE_COLUMNS = {"RANDDT", "TRTSDT", "DTHDT", "LSTALVDT", "EOSDT", "ADT", "STARTDT"}
CRITERIA = {"mRECIST": "mRECIST", "RECIST1.1": "RECIST 1.1"}


def _date(value: Any) -> date | None:
    try:
        return ep.parse_date(value)
    except ValueError:
        return None


def _text(value: Any) -> str:
    return "" if value is None or str(value).strip().lower() in ("nan", "none") else str(value)


def _armcd(arm: str) -> str:
    return "".join(ch for ch in arm.upper() if ch.isalnum())[:20]  # as SDTM DM's ARMCD


def _strata(row: Mapping[str, Any]) -> str:
    """The randomisation strata as ``name=level;...`` (the ``strata_<name>`` columns)."""
    return ";".join(f"{k}={v}" for k, v in strata_of_row(row).items())


def adsl(subjects: pd.DataFrame, ablations: pd.DataFrame, studyid: str) -> pd.DataFrame:
    """ADSL: one row per subject."""
    first_ablation: dict[str, date] = {}
    if not ablations.empty:
        for r in ablations.to_dict("records"):
            when = _date(r.get("first_ablation_date"))
            sid = str(r["subject"])
            if when is not None and (sid not in first_ablation or when < first_ablation[sid]):
                first_ablation[sid] = when
    rows = []
    for r in subjects.to_dict("records"):
        sid = str(r["subject"])
        arm = _text(r.get("arm"))
        death = _date(r.get("death_date"))
        target = _text(r.get("has_target_disease")).lower()
        ended = end_of_participation(_text(r.get("end_of_study_reason")),
                                     _date(r.get("end_of_study_date")), death)
        status = "" if ended is None else ("COMPLETED" if ended[0] == "COMPLETED"
                                           else "DISCONTINUED")
        rows.append({
            "STUDYID": studyid, "USUBJID": f"{studyid}-{sid}", "SUBJID": sid,
            "ARM": arm, "ARMCD": _armcd(arm), "ACTARM": arm if sid in first_ablation else "",
            "TRT01P": arm, "TRT01A": arm if sid in first_ablation else "",
            "RANDDT": ep.origin_of(r), "TRTSDT": first_ablation.get(sid),
            "ITTFL": "Y", "SAFFL": "Y" if sid in first_ablation else "N",
            "RSEVALFL": "N" if target == "false" else "Y",
            "DTHFL": "Y" if death else "", "DTHDT": death,
            "DTHCAUS": _text(r.get("death_cause")).upper() if death else "",
            "LSTALVDT": _date(r.get("last_known_alive")) or death,
            "EOSSTT": status or "ONGOING", "EOSDT": ended[1] if ended else None,
            "DCSREAS": ended[0] if status == "DISCONTINUED" and ended else "",
            "STRATA": _strata(r),
        })
    return pd.DataFrame(rows, columns=["STUDYID", "USUBJID", "SUBJID", "ARM", "ARMCD", "ACTARM",
                                       "TRT01P", "TRT01A", "RANDDT", "TRTSDT", "ITTFL", "SAFFL",
                                       "RSEVALFL", "DTHFL", "DTHDT", "DTHCAUS", "LSTALVDT",
                                       "EOSSTT", "EOSDT", "DCSREAS", "STRATA"])


def adrs(subjects: pd.DataFrame, timepoints: pd.DataFrame, studyid: str,
         evaluator: str = "Investigator") -> pd.DataFrame:
    """ADRS: overall response per visit (OVR), best (BOR) and confirmed best (CBOR) response."""
    by_subject = {str(r["subject"]): r for r in subjects.to_dict("records")}
    rows: list[dict[str, Any]] = []

    def add(subject: Mapping[str, Any], paramcd: str, param: str, value: str, when: date | None,
            visit: str, visitnum: Any, criteria: str) -> None:
        sid = str(subject["subject"])
        origin = ep.origin_of(subject)
        value = STANDARD_RESPONSE.get(value, value) or "MISSING"
        rows.append({
            "STUDYID": studyid, "USUBJID": f"{studyid}-{sid}", "PARAMCD": paramcd,
            "PARAM": param, "PARCAT1": "Tumor Response", "PARCAT2": evaluator,
            "PARCAT3": CRITERIA.get(criteria, criteria) or "mRECIST", "AVALC": value,
            "AVAL": AVAL_RESPONSE.get(value, AVAL_RESPONSE["MISSING"]), "ADT": when,
            "ADY": (when - origin).days + (1 if when >= origin else 0)
            if when is not None and origin is not None else None,
            "AVISIT": visit, "AVISITN": visitnum, "ANL01FL": "Y",
            "TRT01P": _text(subject.get("arm")),
        })

    if not timepoints.empty:
        ordered = timepoints.assign(_d=timepoints["date"].astype(str)).sort_values(["subject", "_d"])
        for sid, g in ordered.groupby("subject", sort=False):
            subject = by_subject.get(str(sid))
            if subject is None:
                continue
            for n, r in enumerate(g.to_dict("records")):
                if n == 0 or ep.parse_bool(r.get("baseline")):
                    continue
                add(subject, "OVR", f"Overall Response by {evaluator}", _text(
                    r.get("overall_response")), _date(r.get("date")), _text(r.get("timepoint")),
                    n, _text(r.get("criteria")))
    visit_dates: dict[tuple[str, str], date | None] = {}
    if not timepoints.empty:
        for r in timepoints.to_dict("records"):
            visit_dates[(str(r["subject"]), _text(r.get("timepoint")))] = _date(r.get("date"))
    for sid, subject in by_subject.items():
        bor = _text(subject.get("best_overall_response"))
        visit = _text(subject.get("bor_timepoint"))
        when = visit_dates.get((sid, visit))
        criteria = _text(subject.get("criteria"))
        add(subject, "BOR", f"Best Overall Response by {evaluator} (confirmation not required)",
            bor, when, visit, None, criteria)
        confirmed = _text(subject.get("bor_confirmed")).lower()
        if confirmed in ("true", "false"):
            cbor = bor if confirmed == "true" or bor not in ("CR", "PR") else "SD"
            add(subject, "CBOR", f"Best Confirmed Overall Response by {evaluator}", cbor, when,
                visit, None, criteria)
    out = pd.DataFrame(rows, columns=["STUDYID", "USUBJID", "PARAMCD", "PARAM", "PARCAT1",
                                      "PARCAT2", "PARCAT3", "AVALC", "AVAL", "ADT", "ADY",
                                      "AVISIT", "AVISITN", "ANL01FL", "TRT01P"])
    out.insert(2, "ASEQ", out.groupby("USUBJID").cumcount() + 1)
    return out


_CENSOR_TEXT = {
    "alive": "LAST DATE KNOWN ALIVE",
    "censored": "LAST ADEQUATE DISEASE ASSESSMENT",
    "censored before gap": "LAST ADEQUATE ASSESSMENT BEFORE MISSED ASSESSMENTS",
}


def adtte(endpoints: pd.DataFrame, studyid: str) -> pd.DataFrame:
    """ADTTE: one row per subject and patient-level endpoint with a time and an event code."""
    part = endpoints[(endpoints["unit"] == "patient") & endpoints["endpoint"].isin(TTE_PARAMS)]
    part = part.dropna(subset=["time_days", "event"])
    rows = []
    for r in part.to_dict("records"):
        code = int(r["event"])
        kind = _text(r.get("event_type"))
        rows.append({
            "STUDYID": studyid, "USUBJID": f"{studyid}-{r['subject']}",
            "PARAMCD": r["endpoint"], "PARAM": TTE_PARAMS[r["endpoint"]],
            "STARTDT": _date(r.get("origin_date")), "ADT": _date(r.get("end_date")),
            "AVAL": int(r["time_days"]), "CNSR": 0 if code == 1 else 1,
            "EVNTDESC": kind.upper() if code != 0 else "",
            "CNSDTDSC": "" if code == 1 else (_CENSOR_TEXT.get(kind, kind.upper()) if code == 0
                                              else "COMPETING EVENT: " + kind.upper()),
            "CMPEVFL": "Y" if code == 2 else "", "SRCDOM": "ADSL" if r["endpoint"] == "OS" else "ADRS",
            "TRT01P": _text(r.get("arm")),
        })
    return pd.DataFrame(rows, columns=["STUDYID", "USUBJID", "PARAMCD", "PARAM", "STARTDT", "ADT",
                                       "AVAL", "CNSR", "EVNTDESC", "CNSDTDSC", "CMPEVFL",
                                       "SRCDOM", "TRT01P"])


def write_dataset(frame: pd.DataFrame, folder: Path, name: str, label: str) -> list[Path]:
    """``name.csv`` (ISO dates) and ``name.xpt`` (SAS transport v5, labels, DATE9. dates)."""
    from ..atomic import atomic_write_text, atomic_write_with

    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / f"{name}.csv"
    text = frame.copy()
    for column in DATE_COLUMNS & set(text.columns):
        text[column] = text[column].map(lambda v: v.isoformat() if isinstance(v, date) else "")
    atomic_write_text(csv_path, text.to_csv(index=False, lineterminator="\n"))
    xpt_path = folder / f"{name}.xpt"
    _write_xpt(frame, xpt_path, name.upper(), label, atomic_write_with)
    return [csv_path, xpt_path]


def _write_xpt(frame: pd.DataFrame, path: Path, table: str, label: str, writer: Any) -> None:
    import pyreadstat

    data = frame.copy()
    formats: dict[str, str] = {}
    for column in data.columns:
        if column in DATE_COLUMNS:
            # datetime.date values: pyreadstat writes SAS dates (days from 1960-01-01).
            data[column] = [v if isinstance(v, date) else None for v in data[column]]
            formats[column] = "DATE9"
        elif data[column].dtype == object:
            data[column] = data[column].fillna("").astype(str)
        else:
            data[column] = pd.to_numeric(data[column], errors="coerce").astype(float)
    labels = [LABELS.get(c, c)[:40] for c in data.columns]

    def write(tmp: Path) -> None:
        pyreadstat.write_xport(data, str(tmp), file_label=label[:40], column_labels=labels,
                               table_name=table[:8], file_format_version=5,
                               variable_format=formats)

    writer(path, write)


def write_adam(subjects: pd.DataFrame, timepoints: pd.DataFrame, ablations: pd.DataFrame,
               endpoints: pd.DataFrame, out_dir: str | Path, studyid: str) -> list[Path]:
    """Write ADSL, ADRS and ADTTE (CSV and XPT) to ``out_dir``.

    Parameters
    ----------
    subjects : pandas.DataFrame
        The subjects table (``subjects.csv`` of ``mrecist assess``).
    timepoints : pandas.DataFrame
        The timepoints table.
    ablations : pandas.DataFrame
        The ablated tumours table.
    endpoints : pandas.DataFrame
        The time-to-event endpoints in long form.
    out_dir : str or pathlib.Path
        The folder to write to.
    studyid : str
        The ``STUDYID``, e.g. ``"NCT04562727"``.

    Returns
    -------
    list of pathlib.Path
        Every file written.
    """
    folder = Path(out_dir)
    written = []
    written += write_dataset(adsl(subjects, ablations, studyid), folder, "adsl",
                             "Subject-Level Analysis Dataset")
    written += write_dataset(adrs(subjects, timepoints, studyid), folder, "adrs",
                             "Response Analysis Dataset")
    written += write_dataset(adtte(endpoints, studyid), folder, "adtte",
                             "Time-to-Event Analysis Dataset")
    return written
