"""CDISC SDTM DM, TU, TR and RS tables as pharmaverse writes them (pharmaversesdtm's
``tu_onco``/``tr_onco``/``rs_onco``, read by the admiralonco ADRS/ADTR templates).

One row per record; built from a :class:`~mrecist_tool.model.Case` and the engine's
:class:`~mrecist_tool.rules.results.CaseAssessment`; nothing is decided here.

* ``USUBJID`` = ``STUDYID-<subject pseudonym>``; ``--LNKID`` = the lesion id (links TU to TR);
  ``--LNKGRP`` = the timepoint id (links a visit's TR records to its RS responses);
  ``VISITNUM`` = the rank in date order (baseline 1); ``VISIT`` = the timepoint id, the baseline
  ``SCREENING`` (or ``BASELINE``: ``baseline_visit``) so that the templates' measurable-disease
  step finds it; ``EPOCH`` SCREENING (baseline, before randomisation), TREATMENT (up to the last
  ablation), FOLLOW-UP; ``--DY`` the study day from randomisation (no day 0).
* ``--EVAL`` ``INDEPENDENT ASSESSOR`` or ``INVESTIGATOR`` (a case file's ``"evaluator"``, else
  the command line's); ``--EVALID`` the reader's id; ``--ACPTFL`` the accepted read (a case
  file's ``"accepted"``, else "Y" when a subject has one read per evaluator).  All reads of a
  subject are exported together with ``--SEQ`` unique per subject (:func:`finalize`).
* TU: ``TUTESTCD=TUMIDENT``; ``TARGET``, ``NON-TARGET`` or ``NEW``; ``TULOC`` the organ;
  ``--METHOD`` ``CT SCAN`` / ``MRI`` from a timepoint's ``"modality"`` (else ``method``).
* TR: RECIST 1.1 ``LDIAM`` / ``SUMDIAM``; mRECIST measures the viable tumour: ``VDIAM``
  "Viable Tumor Diameter" and ``SUMVDIAM``; nodes ``SAXIS``.  ``TRSTAT=NOT DONE`` with
  ``TRREASND`` where a target was not assessed.  ``TUMSTATE`` of non-target and new lesions:
  ``PRESENT``, ``ABSENT``, ``UNEQUIVOCAL`` (unequivocal progression), ``NE``, ``EQUIVOCAL`` (a new
  finding not yet unequivocal; ``UNEQUIVOCAL`` once a later study dated it back to this visit, so
  TR never says EQUIVOCAL beside RS's NEWLIND Y).
* RS: ``RSCAT`` ``MRECIST LENCIONI LIVER CANCER 2010`` or ``RECIST 1.1``; ``TRGRESP``,
  ``NTRGRESP``, ``NEWLIND`` (Y / N / U), ``OVRLRESP`` per follow-up visit (``RSSTAT=NOT DONE``,
  ``RSREASND=IMAGING NOT DONE`` for a visit without imaging); ``BESTRESP`` once per read.
  ``RSORRES`` keeps the criteria's words (mRECIST ``IR/SD``), ``RSSTRESC`` the standard ones.
* DM: one row per subject: ``RFSTDTC`` (randomisation), ``RFENDTC``, ``DTHDTC``/``DTHFL``, arm.

Each table is written as CSV and as SAS transport v5 (XPT, with variable labels).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..model import Case, Observation
from ..rules.results import CaseAssessment, TimepointResult

EVALUATORS = ("INDEPENDENT ASSESSOR", "INVESTIGATOR")

TU_COLUMNS = (
    "STUDYID", "DOMAIN", "USUBJID", "TUSEQ", "TULNKID", "TUTESTCD", "TUTEST", "TUORRES",
    "TUSTRESC", "TULOC", "TUMETHOD", "TUEVAL", "TUEVALID", "TUACPTFL", "VISITNUM", "VISIT",
    "EPOCH", "TUDTC", "TUDY",
)
TR_COLUMNS = (
    "STUDYID", "DOMAIN", "USUBJID", "TRSEQ", "TRGRPID", "TRLNKID", "TRLNKGRP", "TRTESTCD",
    "TRTEST", "TRORRES", "TRORRESU", "TRSTRESC", "TRSTRESN", "TRSTRESU", "TRSTAT", "TRREASND",
    "TRMETHOD", "TREVAL", "TREVALID", "TRACPTFL", "VISITNUM", "VISIT", "EPOCH", "TRDTC", "TRDY",
)
RS_COLUMNS = (
    "STUDYID", "DOMAIN", "USUBJID", "RSSEQ", "RSLNKGRP", "RSTESTCD", "RSTEST", "RSCAT",
    "RSORRES", "RSSTRESC", "RSSTAT", "RSREASND", "RSEVAL", "RSEVALID", "RSACPTFL", "VISITNUM",
    "VISIT", "EPOCH", "RSDTC", "RSDY",
)
DM_COLUMNS = (
    "STUDYID", "DOMAIN", "USUBJID", "SUBJID", "RFSTDTC", "RFENDTC", "DTHDTC", "DTHFL", "ARMCD",
    "ARM", "ACTARMCD", "ACTARM",
)
BASELINE_VISITS = ("SCREENING", "BASELINE")

ROLE_TU = {"target": "TARGET", "non-target": "NON-TARGET", "new": "NEW"}
TUMSTATE = {
    "present": "PRESENT",
    "measured": "PRESENT",
    "too-small": "PRESENT",
    "absent": "ABSENT",
    "progressed": "UNEQUIVOCAL",
    "not-evaluable": "NE",
}
RSCAT = {"mRECIST": "MRECIST LENCIONI LIVER CANCER 2010", "RECIST1.1": "RECIST 1.1"}
STANDARD_RESPONSE = {"IR/SD": "NON-CR/NON-PD"}
# The NY codelist: an equivocal or unknown new lesion is "U" (unknown), not yet "Y".
NEWLIND = {"yes": "Y", "no": "N", "equivocal": "U", "unknown": "U"}
MODALITY_METHOD = {"CT": "CT SCAN", "MR": "MRI", "MRI": "MRI", "PT": "PET SCAN", "US": "ULTRASOUND"}
TESTS = {
    "LDIAM": "Longest Diameter",
    "VDIAM": "Viable Tumor Diameter",
    "SUMVDIAM": "Sum of Viable Tumor Diameters",
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
    baseline_visit: str = "SCREENING",
) -> dict[str, list[dict[str, Any]]]:
    """The DM, TU, TR and RS tables of assessed cases, as lists of row dicts.

    Parameters
    ----------
    assessments:
        One :class:`CaseAssessment` per case (``mrecist_tool.rules.assess_case``); several reads
        of one subject (two readers, investigator and independent review) may be given together.
    studyid:
        ``STUDYID``, e.g. ``"NCT04562727"``.
    evaluator:
        ``--EVAL`` of cases that do not name their own (a case file's ``"evaluator"``):
        ``"INDEPENDENT ASSESSOR"`` (default) or ``"INVESTIGATOR"``.
    method:
        ``TUMETHOD``/``TRMETHOD`` when a timepoint does not record its modality (``"modality"``
        of the timepoint: CT gives ``CT SCAN``, MR gives ``MRI``).
    baseline_visit:
        ``VISIT`` of the baseline timepoint, ``"SCREENING"`` (default, as pharmaversesdtm and the
        admiralonco templates) or ``"BASELINE"``.

    ``--SEQ`` and ``--ACPTFL`` are set across all rows by :func:`finalize` (``write_sdtm``
    calls it), so that rows from separate workers stay unique per subject.
    """
    if evaluator not in EVALUATORS:
        raise ValueError(f"evaluator: expected one of {EVALUATORS}, found {evaluator!r}")
    if baseline_visit not in BASELINE_VISITS:
        raise ValueError(f"baseline_visit: expected one of {BASELINE_VISITS}, found {baseline_visit!r}")
    if not studyid.strip():
        raise ValueError("studyid: expected a study identifier, found an empty string")
    tables: dict[str, list[dict[str, Any]]] = {"DM": [], "TU": [], "TR": [], "RS": []}
    for a in assessments:
        rows = _subject_tables(a, studyid, evaluator, method, baseline_visit)
        for name in tables:
            tables[name].extend(rows[name])
    return tables


def _study_day(when: date, reference: date | None) -> int | str:
    """``--DY``: day 1 is the reference (randomisation) date; no day 0 (SDTMIG 4.4.4)."""
    if reference is None:
        return ""
    days = (when - reference).days
    return days + 1 if days >= 0 else days


def _subject_tables(
    a: CaseAssessment, studyid: str, default_evaluator: str, default_method: str,
    baseline_visit: str,
) -> dict[str, list[dict[str, Any]]]:
    case = a.case
    usubjid = f"{studyid}-{case.subject.id}"
    ordered = case.sorted_timepoints()
    visitnum = {tp.id: i for i, tp in enumerate(ordered, 1)}
    tp_by_id = {tp.id: tp for tp in ordered}
    visit = {tp.id: (baseline_visit if tp.baseline else tp.id) for tp in ordered}
    tp_date = {tp.id: tp.date.isoformat() for tp in ordered}
    reference = case.subject.randomization_date or case.baseline.date
    ablations = [p.date for p in case.procedures if p.type == "ablation"]
    last_ablation = max(ablations) if ablations else None
    obs_index = case.observation_index()
    criteria = a.settings.criteria
    evaluator = str(case.extra.get("evaluator") or default_evaluator).upper()
    if evaluator not in EVALUATORS:
        evaluator = default_evaluator
    accepted = case.extra.get("accepted")
    # One read: one case file (a subject may have several: readers, evaluators).
    read = str(case.source) if case.source else f"{case.subject.id}:{case.reader or ''}"
    base = {"STUDYID": studyid, "USUBJID": usubjid, "_read": read}

    def epoch(tp_id: str) -> str:
        when = tp_by_id[tp_id].date
        if tp_by_id[tp_id].baseline or when < reference:
            return "SCREENING"
        if last_ablation is not None and when <= last_ablation:
            return "TREATMENT"
        return "FOLLOW-UP"

    def method(tp_id: str) -> str:
        modality = str(tp_by_id[tp_id].extra.get("modality") or "").upper()
        return MODALITY_METHOD.get(modality, default_method)

    def visit_fields(tp_id: str, prefix: str) -> dict[str, Any]:
        return {"VISITNUM": visitnum[tp_id], "VISIT": visit[tp_id], "EPOCH": epoch(tp_id),
                f"{prefix}DTC": tp_date[tp_id],
                f"{prefix}DY": _study_day(tp_by_id[tp_id].date, reference),
                f"{prefix}ACPTFL": "" if accepted is None else ("Y" if accepted else "N")}

    death = case.subject.death
    dm = [{**base, "DOMAIN": "DM", "SUBJID": case.subject.id,
           "RFSTDTC": reference.isoformat(),
           "RFENDTC": (death.date if death else (case.subject.last_known_alive
                                                 or ordered[-1].date)).isoformat(),
           "DTHDTC": death.date.isoformat() if death else "", "DTHFL": "Y" if death else "",
           "ARMCD": _armcd(case.subject.arm or ""), "ARM": case.subject.arm or "",
           "ACTARMCD": _armcd(case.subject.arm or "") if ablations else "",
           "ACTARM": (case.subject.arm or "") if ablations else ""}]

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
                "TULOC": lesion.organ.upper(), "TUMETHOD": method(tp.id), "TUEVAL": evaluator,
                "TUEVALID": _reader(case, obs), **visit_fields(tp.id, "TU"),
            }
        )

    # TR: measurements of targets, states of non-targets and new lesions, sums per visit.
    tr: list[dict[str, Any]] = []
    lesions = {lesion.id: lesion for lesion in case.lesions}
    new_category = {t.timepoint: t.new_lesions.category for t in a.timepoints}

    def add_tr(tp_id: str, **fields: Any) -> None:
        record: dict[str, Any] = {c: "" for c in TR_COLUMNS}
        record.update(base)
        record.update(DOMAIN="TR", TRSEQ=len(tr) + 1, TRMETHOD=method(tp_id), TREVAL=evaluator,
                      TRLNKGRP=tp_id, **visit_fields(tp_id, "TR"))
        record.update(fields)
        tr.append(record)

    for row in a.lesions:
        if row.lesion not in lesions:
            continue
        lesion = lesions[row.lesion]
        obs = obs_index.get((row.lesion, row.timepoint))
        reader = _reader(case, obs)
        if row.role == "target" or (row.role == "new" and row.measure_mm is not None):
            code = "SAXIS" if lesion.is_node else ("VDIAM" if criteria == "mRECIST" else "LDIAM")
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
                # A finding confirmed later is dated back (REC-N3, §11.6): the visit's new-lesion
                # call is then "yes", and TR must not say EQUIVOCAL beside RS's NEWLIND Y.
                state = "UNEQUIVOCAL" if new_category.get(row.timepoint) == "yes" else "EQUIVOCAL"
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
    sum_code = "SUMVDIAM" if criteria == "mRECIST" else "SUMDIAM"
    for t in a.timepoints:
        if t.target_sum_mm is None:
            continue
        add_tr(
            t.timepoint, TRGRPID="TARGET", TRTESTCD=sum_code, TRTEST=TESTS[sum_code],
            TRORRES=_num(t.target_sum_mm), TRORRESU="mm", TRSTRESC=_num(t.target_sum_mm),
            TRSTRESN=_num(t.target_sum_mm), TRSTRESU="mm", TREVALID=case.reader or "",
        )

    # Visit by visit, the sum after the lesions of that visit; TRSEQ follows that order.
    tr.sort(key=lambda r: (r["VISITNUM"], r["TRTESTCD"] in ("SUMDIAM", "SUMVDIAM")))
    for i, r in enumerate(tr, 1):
        r["TRSEQ"] = i

    # RS: responses per follow-up visit (RSSTAT NOT DONE where no imaging), then the best.
    rs: list[dict[str, Any]] = []
    rscat = RSCAT.get(criteria, criteria.upper())
    reader_id = case.reader or _single_reader(case)

    def add_rs(code: str, orres: str, stresc: str, tp_id: str | None, **extra: Any) -> None:
        record = {**base, "DOMAIN": "RS", "RSSEQ": len(rs) + 1, "RSTESTCD": code,
                  "RSTEST": TESTS[code], "RSCAT": rscat, "RSORRES": orres, "RSSTRESC": stresc,
                  "RSEVAL": evaluator, "RSEVALID": reader_id, "RSLNKGRP": tp_id or ""}
        if tp_id is not None:
            record.update(visit_fields(tp_id, "RS"))
        else:
            record["RSACPTFL"] = "" if accepted is None else ("Y" if accepted else "N")
        record.update(extra)
        rs.append(record)

    for t in a.timepoints:
        if t.baseline:
            continue
        if not tp_by_id[t.timepoint].imaging_done:
            add_rs("OVRLRESP", "", "", t.timepoint, RSSTAT="NOT DONE",
                   RSREASND="IMAGING NOT DONE")
            continue
        for code, category in _responses(t):
            add_rs(code, category, STANDARD_RESPONSE.get(category, category), t.timepoint)
    best = a.best
    if best.category:
        tp_id = best.timepoint if best.timepoint in tp_by_id else None
        add_rs("BESTRESP", best.category, STANDARD_RESPONSE.get(best.category, best.category),
               tp_id)
    return {"DM": dm, "TU": tu, "TR": tr, "RS": rs}


def _armcd(arm: str) -> str:
    return "".join(ch for ch in arm.upper() if ch.isalnum())[:20]


def finalize(tables: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Unique ``--SEQ`` per subject across every read, and ``--ACPTFL`` of each read.

    Rows keep their order; ``--SEQ`` counts 1, 2, ... per ``USUBJID`` over all its reads (two
    readers, investigator and independent review), so (USUBJID, --SEQ) is a key.  A read a case
    file marks ``"accepted"`` keeps its flag; otherwise, when a subject has a single read per
    evaluator, that read is the accepted one ("Y").  DM keeps one row per subject.
    """
    first_dm: dict[str, dict[str, Any]] = {}
    for r in tables.get("DM", []):
        first_dm.setdefault(r["USUBJID"], r)
    tables["DM"] = list(first_dm.values())
    for name in ("TU", "TR", "RS"):
        prefix = name
        reads: dict[tuple[str, str], set[str]] = {}
        for r in tables.get(name, []):
            reads.setdefault((r["USUBJID"], r[f"{prefix}EVAL"]), set()).add(str(r.get("_read")))
        counter: dict[str, int] = {}
        for r in tables.get(name, []):
            counter[r["USUBJID"]] = counter.get(r["USUBJID"], 0) + 1
            r[f"{prefix}SEQ"] = counter[r["USUBJID"]]
            if r.get(f"{prefix}ACPTFL", "") == "" and len(reads[(r["USUBJID"],
                                                              r[f"{prefix}EVAL"])]) == 1:
                r[f"{prefix}ACPTFL"] = "Y"
    return tables


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


COLUMNS = {"DM": DM_COLUMNS, "TU": TU_COLUMNS, "TR": TR_COLUMNS, "RS": RS_COLUMNS}


def table_csv(name: str, rows: Sequence[dict[str, Any]]) -> str:
    """One table as CSV text with the domain's columns in SDTMIG order."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS[name]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in COLUMNS[name]})
    return buf.getvalue()


LABELS = {
    "STUDYID": "Study Identifier", "DOMAIN": "Domain Abbreviation",
    "USUBJID": "Unique Subject Identifier", "SUBJID": "Subject Identifier for the Study",
    "RFSTDTC": "Subject Reference Start Date/Time", "RFENDTC": "Subject Reference End Date/Time",
    "DTHDTC": "Date/Time of Death", "DTHFL": "Subject Death Flag", "ARMCD": "Planned Arm Code",
    "ARM": "Description of Planned Arm", "ACTARMCD": "Actual Arm Code",
    "ACTARM": "Description of Actual Arm", "VISITNUM": "Visit Number", "VISIT": "Visit Name",
    "EPOCH": "Epoch",
}
_SUFFIX_LABELS = {
    "SEQ": "Sequence Number", "LNKID": "Link ID", "LNKGRP": "Link Group ID",
    "GRPID": "Group ID", "TESTCD": "Short Name", "TEST": "Name",
    "ORRES": "Result or Finding in Original Units", "ORRESU": "Original Units",
    "STRESC": "Character Result/Finding in Std Format", "STRESN": "Numeric Result/Finding in "
    "Standard Units", "STRESU": "Standard Units", "STAT": "Completion Status",
    "REASND": "Reason Not Done", "METHOD": "Method of Identification", "LOC": "Location",
    "EVAL": "Evaluator", "EVALID": "Evaluator Identifier", "ACPTFL": "Accepted Record Flag",
    "DTC": "Date/Time", "DY": "Study Day", "CAT": "Category",
}
_DOMAIN_NAMES = {"TU": "Tumor/Lesion", "TR": "Tumor/Lesion Result", "RS": "Response",
                 "DM": "Demographics"}


def label(name: str) -> str:
    """SAS variable label (at most 40 characters) of an SDTM variable."""
    if name in LABELS:
        return LABELS[name]
    prefix, rest = name[:2], name[2:]
    text = _SUFFIX_LABELS.get(rest, name)
    if rest in ("TESTCD", "TEST"):
        text = f"{_DOMAIN_NAMES.get(prefix, prefix)} Test {text}"
    return text[:40]


def write_sdtm(tables: dict[str, list[dict[str, Any]]], out_dir: str | Path) -> list[Path]:
    """Write ``dm``, ``tu``, ``tr`` and ``rs`` as ``.csv`` and SAS transport ``.xpt`` (labels),
    after :func:`finalize` (unique ``--SEQ``, ``--ACPTFL``); each file atomically, readable by
    the group (the writer follows the umask)."""
    from ..atomic import atomic_write_text, atomic_write_with

    finalize(tables)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("DM", "TU", "TR", "RS"):
        path = folder / f"{name.lower()}.csv"
        atomic_write_text(path, table_csv(name, tables.get(name, [])))
        written.append(path)
        xpt = folder / f"{name.lower()}.xpt"
        _write_xpt(name, tables.get(name, []), xpt, atomic_write_with)
        written.append(xpt)
    return written


def _write_xpt(name: str, rows: Sequence[dict[str, Any]], path: Path, writer: Any) -> None:
    import pandas as pd
    import pyreadstat

    columns = list(COLUMNS[name])
    frame = pd.DataFrame([{c: row.get(c, "") for c in columns} for row in rows], columns=columns)
    numeric = {"VISITNUM", f"{name}SEQ", f"{name}DY", f"{name}STRESN"}
    for c in columns:
        if c in numeric:
            frame[c] = pd.to_numeric(frame[c].replace("", None), errors="coerce").astype(float)
        else:
            frame[c] = frame[c].fillna("").astype(str)
    domain = _DOMAIN_NAMES.get(name, name)

    def write(tmp: Path) -> None:
        pyreadstat.write_xport(frame, str(tmp), file_label=domain[:40],
                               column_labels=[label(c) for c in columns], table_name=name,
                               file_format_version=5)

    writer(path, write)
