"""CDISC SDTM-style TU, TR and RS tables (tumour identification, results, response).

Variable names follow the SDTMIG oncology domains as used for RECIST 1.1 submissions; one row
per record; the evaluator (``--EVAL``) and the reader's id (``--EVALID``) are on every row.
Built from a :class:`~mrecist_tool.model.Case` and the engine's
:class:`~mrecist_tool.rules.results.CaseAssessment`; nothing is decided here.

Choices the SDTMIG leaves to the sponsor (also in the README):

* ``USUBJID`` = ``STUDYID-<subject pseudonym>``; ``--LNKID`` = the lesion id of the case file,
  which links TU to TR; ``VISIT`` = the timepoint id, ``VISITNUM`` = its rank in date order
  (baseline 1).
* TU: ``TUTESTCD=TUMIDENT``; ``TUORRES``/``TUSTRESC`` = ``TARGET``, ``NON-TARGET`` or ``NEW``;
  ``TULOC`` = the organ in upper case; a new lesion is identified at the visit it was first seen.
* TR measurements: RECIST 1.1 ``LDIAM`` "Longest Diameter" (non-nodal) and ``SAXIS`` "Short
  Axis" (nodes).  mRECIST measures only the viable (enhancing) part, which the CDISC
  terminology has no test for, so it gets ``VLDIAM`` "Viable Tumor Longest Diameter" instead of
  reusing ``LDIAM`` (a reviewer must not read it as the whole-lesion diameter).  ``TRORRES`` is
  the value recorded (or ``0`` for a lesion that disappeared, ``TOO SMALL TO MEASURE``);
  ``TRSTRESN`` is the value that entered the sum (e.g. 5 mm for too small).  A target not
  assessed at a visit has ``TRSTAT=NOT DONE``.  ``SUMDIAM`` "Sum of Diameters" per visit (of
  viable diameters under mRECIST).  Non-target and new lesions: ``TUMSTATE`` "Tumor State"
  (``PRESENT``, ``ABSENT``, ``UNEQUIVOCAL PROGRESSION``, ``NOT EVALUABLE``, ``EQUIVOCAL``).
* RS: ``RSCAT`` = ``MRECIST`` or ``RECIST 1.1``; ``TRGRESP``, ``NTRGRESP``, ``NEWLIND``
  (``Y``/``N``/``EQUIVOCAL``/``UNKNOWN``), ``OVRLRESP`` per follow-up visit, ``BESTRESP`` once
  per subject (dated at the visit that gave it).  ``RSORRES`` keeps the criteria's own words
  (mRECIST ``IR/SD``); ``RSSTRESC`` the standard ones (``NON-CR/NON-PD``).

SAS transport (XPT) is not written: pandas reads XPT but cannot write it; the CSV files load
into any SAS/R pipeline.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..model import Case, Observation
from ..rules.results import CaseAssessment, TimepointResult

EVALUATORS = ("INDEPENDENT ASSESSOR", "INVESTIGATOR")

TU_COLUMNS = (
    "STUDYID", "DOMAIN", "USUBJID", "TUSEQ", "TULNKID", "TUTESTCD", "TUTEST", "TUORRES",
    "TUSTRESC", "TULOC", "TUMETHOD", "TUEVAL", "TUEVALID", "VISITNUM", "VISIT", "TUDTC",
)
TR_COLUMNS = (
    "STUDYID", "DOMAIN", "USUBJID", "TRSEQ", "TRGRPID", "TRLNKID", "TRTESTCD", "TRTEST",
    "TRORRES", "TRORRESU", "TRSTRESC", "TRSTRESN", "TRSTRESU", "TRSTAT", "TRREASND",
    "TRMETHOD", "TREVAL", "TREVALID", "VISITNUM", "VISIT", "TRDTC",
)
RS_COLUMNS = (
    "STUDYID", "DOMAIN", "USUBJID", "RSSEQ", "RSTESTCD", "RSTEST", "RSCAT", "RSORRES",
    "RSSTRESC", "RSEVAL", "RSEVALID", "VISITNUM", "VISIT", "RSDTC",
)

ROLE_TU = {"target": "TARGET", "non-target": "NON-TARGET", "new": "NEW"}
TUMSTATE = {
    "present": "PRESENT",
    "measured": "PRESENT",
    "too-small": "PRESENT",
    "absent": "ABSENT",
    "progressed": "UNEQUIVOCAL PROGRESSION",
    "not-evaluable": "NOT EVALUABLE",
}
RSCAT = {"mRECIST": "MRECIST", "RECIST1.1": "RECIST 1.1"}
STANDARD_RESPONSE = {"IR/SD": "NON-CR/NON-PD"}
NEWLIND = {"yes": "Y", "no": "N", "equivocal": "EQUIVOCAL", "unknown": "UNKNOWN"}
TESTS = {
    "LDIAM": "Longest Diameter",
    "VLDIAM": "Viable Tumor Longest Diameter",
    "SAXIS": "Short Axis",
    "SUMDIAM": "Sum of Diameters",
    "TUMSTATE": "Tumor State",
    "TRGRESP": "Target Response",
    "NTRGRESP": "Non-target Response",
    "NEWLIND": "New Lesion Indicator",
    "OVRLRESP": "Overall Response",
    "BESTRESP": "Best Overall Response",
}


def _num(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    return text


def _reader(case: Case, obs: Observation | None) -> str:
    if obs is not None and obs.reader:
        return obs.reader
    return case.reader or ""


def sdtm_tables(
    assessments: Iterable[CaseAssessment],
    studyid: str,
    *,
    evaluator: str = "INDEPENDENT ASSESSOR",
    method: str = "",
) -> dict[str, list[dict[str, Any]]]:
    """The TU, TR and RS tables of assessed cases, as lists of row dicts.

    Parameters
    ----------
    assessments:
        One :class:`CaseAssessment` per case (``mrecist_tool.rules.assess_case``).
    studyid:
        ``STUDYID``, e.g. ``"NCT04562727"``.
    evaluator:
        ``--EVAL``: ``"INDEPENDENT ASSESSOR"`` (default) or ``"INVESTIGATOR"``.
    method:
        ``TUMETHOD``/``TRMETHOD``, e.g. ``"CT SCAN"`` or ``"MRI"`` (case files do not record the
        modality; empty by default).
    """
    if evaluator not in EVALUATORS:
        raise ValueError(f"evaluator: expected one of {EVALUATORS}, found {evaluator!r}")
    if not studyid.strip():
        raise ValueError("studyid: expected a study identifier, found an empty string")
    tables: dict[str, list[dict[str, Any]]] = {"TU": [], "TR": [], "RS": []}
    for a in assessments:
        rows = _subject_tables(a, studyid, evaluator, method)
        for name in tables:
            tables[name].extend(rows[name])
    return tables


def _subject_tables(
    a: CaseAssessment, studyid: str, evaluator: str, method: str
) -> dict[str, list[dict[str, Any]]]:
    case = a.case
    usubjid = f"{studyid}-{case.subject.id}"
    ordered = case.sorted_timepoints()
    visitnum = {tp.id: i for i, tp in enumerate(ordered, 1)}
    tp_date = {tp.id: tp.date.isoformat() for tp in ordered}
    obs_index = case.observation_index()
    criteria = a.settings.criteria
    base = {"STUDYID": studyid, "USUBJID": usubjid}

    # TU: one identification record per lesion, at baseline or where first seen (new lesions).
    tu: list[dict[str, Any]] = []
    for lesion in case.lesions:
        if lesion.role == "new":
            seen = [tp for tp in ordered if (lesion.id, tp.id) in obs_index]
            tp = seen[0] if seen else case.baseline
        else:
            tp = case.baseline
        obs = obs_index.get((lesion.id, tp.id))
        tu.append(
            {
                **base, "DOMAIN": "TU", "TUSEQ": len(tu) + 1, "TULNKID": lesion.id,
                "TUTESTCD": "TUMIDENT", "TUTEST": "Tumor Identification",
                "TUORRES": ROLE_TU.get(lesion.role, lesion.role.upper()),
                "TUSTRESC": ROLE_TU.get(lesion.role, lesion.role.upper()),
                "TULOC": lesion.organ.upper(), "TUMETHOD": method, "TUEVAL": evaluator,
                "TUEVALID": _reader(case, obs), "VISITNUM": visitnum[tp.id], "VISIT": tp.id,
                "TUDTC": tp_date[tp.id],
            }
        )

    # TR: measurements of targets, states of non-targets and new lesions, sums per visit.
    tr: list[dict[str, Any]] = []
    lesions = {lesion.id: lesion for lesion in case.lesions}

    def add_tr(tp_id: str, **fields: Any) -> None:
        record: dict[str, Any] = {c: "" for c in TR_COLUMNS}
        record.update(base)
        record.update(
            DOMAIN="TR", TRSEQ=len(tr) + 1, TRMETHOD=method, TREVAL=evaluator,
            VISITNUM=visitnum[tp_id], VISIT=tp_id, TRDTC=tp_date[tp_id],
        )
        record.update(fields)
        tr.append(record)

    for row in a.lesions:
        if row.lesion not in lesions:
            continue
        lesion = lesions[row.lesion]
        obs = obs_index.get((row.lesion, row.timepoint))
        reader = _reader(case, obs)
        if row.role == "target" or (row.role == "new" and row.measure_mm is not None):
            code = "SAXIS" if lesion.is_node else ("VLDIAM" if criteria == "mRECIST" else "LDIAM")
            fields: dict[str, Any] = dict(
                TRGRPID=row.role.upper(), TRLNKID=row.lesion, TRTESTCD=code, TRTEST=TESTS[code],
                TREVALID=reader,
            )
            if row.status in ("not-evaluated", "not-evaluable") or (
                row.measure_mm is None and row.status != "absent"
            ):
                fields.update(TRSTAT="NOT DONE", TRREASND=row.status.upper().replace("-", " "))
            else:
                measure = row.measure_mm if row.measure_mm is not None else Decimal(0)
                recorded = _recorded(obs, lesion.is_node, criteria)
                if row.status == "too-small":
                    orres = "TOO SMALL TO MEASURE"
                elif row.status == "absent":
                    orres = "0"
                else:
                    orres = _num(recorded) if recorded is not None else _num(measure)
                fields.update(
                    TRORRES=orres, TRORRESU="mm" if orres[:1].isdigit() else "",
                    TRSTRESC=_num(measure), TRSTRESN=_num(measure), TRSTRESU="mm",
                )
            add_tr(row.timepoint, **fields)
        if row.role in ("non-target", "new"):
            state = TUMSTATE.get(row.status, "")
            if row.role == "new" and obs is not None and obs.equivocal:
                state = "EQUIVOCAL"
            if row.status == "not-evaluated" or not state:
                add_tr(
                    row.timepoint, TRGRPID=row.role.upper(), TRLNKID=row.lesion,
                    TRTESTCD="TUMSTATE", TRTEST=TESTS["TUMSTATE"], TRSTAT="NOT DONE",
                    TRREASND="NOT EVALUATED", TREVALID=reader,
                )
            else:
                add_tr(
                    row.timepoint, TRGRPID=row.role.upper(), TRLNKID=row.lesion,
                    TRTESTCD="TUMSTATE", TRTEST=TESTS["TUMSTATE"], TRORRES=state,
                    TRSTRESC=state, TREVALID=reader,
                )
    for t in a.timepoints:
        if t.target_sum_mm is None:
            continue
        add_tr(
            t.timepoint, TRGRPID="TARGET", TRTESTCD="SUMDIAM", TRTEST=TESTS["SUMDIAM"],
            TRORRES=_num(t.target_sum_mm), TRORRESU="mm", TRSTRESC=_num(t.target_sum_mm),
            TRSTRESN=_num(t.target_sum_mm), TRSTRESU="mm", TREVALID=case.reader or "",
        )

    # Visit by visit, the sum after the lesions of that visit; TRSEQ follows that order.
    tr.sort(key=lambda r: (r["VISITNUM"], r["TRTESTCD"] == "SUMDIAM"))
    for i, r in enumerate(tr, 1):
        r["TRSEQ"] = i

    # RS: responses per follow-up visit, then the best overall response.
    rs: list[dict[str, Any]] = []
    rscat = RSCAT.get(criteria, criteria.upper())

    def add_rs(code: str, orres: str, stresc: str, visit: str, dtc: str, vnum: Any) -> None:
        rs.append(
            {
                **base, "DOMAIN": "RS", "RSSEQ": len(rs) + 1, "RSTESTCD": code,
                "RSTEST": TESTS[code], "RSCAT": rscat, "RSORRES": orres, "RSSTRESC": stresc,
                "RSEVAL": evaluator, "RSEVALID": case.reader or _single_reader(case),
                "VISITNUM": vnum, "VISIT": visit, "RSDTC": dtc,
            }
        )

    for t in a.timepoints:
        if t.baseline:
            continue
        for code, category in _responses(t):
            add_rs(code, category, STANDARD_RESPONSE.get(category, category), t.timepoint,
                   t.date.isoformat(), visitnum[t.timepoint])
    best = a.best
    if best.category:
        dtc = tp_date.get(best.timepoint or "", "")
        add_rs("BESTRESP", best.category, STANDARD_RESPONSE.get(best.category, best.category),
               best.timepoint or "", dtc, visitnum.get(best.timepoint or "", ""))
    return {"TU": tu, "TR": tr, "RS": rs}


def _single_reader(case: Case) -> str:
    readers = {o.reader for o in case.observations if o.reader}
    return next(iter(readers)) if len(readers) == 1 else ""


def _recorded(obs: Observation | None, is_node: bool, criteria: str) -> Decimal | None:
    if obs is None:
        return None
    if is_node:
        return obs.short_axis_mm
    return obs.viable_diameter_mm if criteria == "mRECIST" else obs.longest_diameter_mm


def _responses(t: TimepointResult) -> list[tuple[str, str]]:
    out = []
    if t.target is not None:
        out.append(("TRGRESP", t.target.category))
    if t.nontarget is not None:
        out.append(("NTRGRESP", t.nontarget.category))
    out.append(("NEWLIND", NEWLIND.get(t.new_lesions.category, t.new_lesions.category.upper())))
    if t.overall is not None:
        out.append(("OVRLRESP", t.overall.category))
    return out


COLUMNS = {"TU": TU_COLUMNS, "TR": TR_COLUMNS, "RS": RS_COLUMNS}


def table_csv(name: str, rows: Sequence[dict[str, Any]]) -> str:
    """One table as CSV text with the domain's columns in SDTMIG order."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS[name]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in COLUMNS[name]})
    return buf.getvalue()


def write_sdtm(tables: dict[str, list[dict[str, Any]]], out_dir: str | Path) -> list[Path]:
    """Write ``tu.csv``, ``tr.csv`` and ``rs.csv`` to ``out_dir`` (each atomically)."""
    from ..atomic import atomic_write_text

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("TU", "TR", "RS"):
        path = folder / f"{name.lower()}.csv"
        atomic_write_text(path, table_csv(name, tables.get(name, [])))
        written.append(path)
    return written
