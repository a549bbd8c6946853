"""CDISC SDTM DM, TU, TR and RS tables as pharmaverse writes them (pharmaversesdtm's
``tu_onco``/``tr_onco``/``rs_onco`` and their RECIST versions ``*_onco_recist``, which the
admiralonco ADRS/ADTR templates read).

One row per record; built from a :class:`~mrecist_tool.model.Case` and the engine's
:class:`~mrecist_tool.rules.results.CaseAssessment`; nothing is decided here.  Variable names,
their order and labels, and the codelist values are those of pharmaversesdtm (the fixture
``tests/fixtures/pharmaverse_onco_conventions.json`` names the source of each), plus the terms
mRECIST needs.

* ``USUBJID`` = ``STUDYID-<subject pseudonym>``; ``--LNKID`` = the lesion id (links TU to TR);
  ``--LNKGRP`` = the timepoint id, prefixed ``R<n>-`` for independent reader n as in
  pharmaversesdtm (links a visit's TR records to its RS responses); ``VISITNUM`` = the rank in
  date order (baseline 1); ``VISIT`` = the timepoint id, the baseline ``SCREENING`` (or
  ``BASELINE``: ``baseline_visit``) so that the templates' measurable-disease step finds it;
  ``EPOCH`` SCREENING (baseline, before randomisation), TREATMENT (up to the last ablation),
  FOLLOW-UP; ``--DY`` the study day from randomisation (no day 0).
* ``--EVAL`` ``INVESTIGATOR`` (default) or ``INDEPENDENT ASSESSOR`` (a case file's
  ``"evaluator"``, else the command line's).  ``--EVALID`` as pharmaversesdtm: empty for the
  investigator, ``RADIOLOGIST <n>`` for the independent readers, numbered over the whole export
  in the order of their reader ids (``evaluators.csv`` keeps the key).  ``--ACPTFL`` ``Y`` on
  the accepted read: a case file's ``"accepted": true``, else a subject's only independent read;
  empty for investigator reads, as pharmaversesdtm.  All reads of a subject are exported together
  with ``--SEQ`` unique per subject (:func:`finalize`).
* TU: ``TUTESTCD=TUMIDENT``; ``TARGET``, ``NON-TARGET`` or ``NEW``; ``TULOC`` a term of the
  CDISC LOC codelist mapped from the lesion's organ (nodes ``LYMPH NODE``), what the reader wrote
  kept in SUPPTU ``TULOCDTL`` (:mod:`.sdtm_terms`); ``--METHOD`` ``CT SCAN`` / ``MRI`` from a
  timepoint's modality (else ``method``).
* TR: RECIST 1.1 ``LDIAM`` "Longest Diameter" and ``SUMDIAM`` "Sum of Diameter"; mRECIST
  measures the viable tumour: ``VDIAM`` "Viable Tumor Diameter" and ``SUMVDIAM``; a node's short
  axis is ``LPERP`` "Longest Perpendicular" (as pharmaversesdtm and the ADTR template).
  ``TRSTAT=NOT DONE`` with ``TRREASND`` where a lesion was not assessed.  ``TUMSTATE`` of
  non-target and new lesions: ``PRESENT``, ``ABSENT``, ``UNEQUIVOCAL`` (unequivocal
  progression), ``NE``, ``EQUIVOCAL`` (a new finding not yet unequivocal; ``UNEQUIVOCAL`` once a
  later study dated it back to this visit, so TR never says EQUIVOCAL beside RS's NEWLIND Y).
* RS: ``RSCAT`` ``MRECIST LENCIONI LIVER CANCER 2010`` or ``RECIST 1.1``; ``TRGRESP``,
  ``NTRGRESP``, ``NEWLIND`` (Y / N / U), ``NEWLPROG`` (``UNEQUIVOCAL`` / ``EQUIVOCAL``, at
  visits with a new finding, as pharmaversesdtm's rs_onco), ``OVRLRESP`` per follow-up visit
  (``RSSTAT=NOT DONE``, ``RSREASND=IMAGING NOT DONE`` for a visit without imaging); ``BESTRESP``
  once per read.  ``RSORRES`` keeps the criteria's words (mRECIST ``IR/SD``), ``RSSTRESC`` the
  standard ones.
* DM: one row per subject: ``RFSTDTC`` (randomisation), ``RFENDTC``, ``RFPENDTC`` (end of
  participation), ``DTHDTC``/``DTHFL``, arm (``ARMNRS`` ``ASSIGNED, NOT TREATED`` without an
  ablation).
* DS: ``RANDOMIZED`` (``PROTOCOL MILESTONE``) and the ``DISPOSITION EVENT`` that ended
  participation: a case file's ``subject.end_of_study`` (``COMPLETED``, ``WITHDRAWAL BY
  SUBJECT``, ``LOST TO FOLLOW-UP``, ``DEATH``, ``OTHER``), else a death.

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
from .sdtm_terms import end_of_participation, lesion_location

EVALUATORS = ("INVESTIGATOR", "INDEPENDENT ASSESSOR")
DEFAULT_EVALUATOR = "INVESTIGATOR"

# Variables in pharmaversesdtm's order (tu_onco, tr_onco, rs_onco, dm), EPOCH where the SDTMIG
# puts it (after VISIT).
TU_COLUMNS = (
    "STUDYID", "DOMAIN", "USUBJID", "TUSEQ", "TULNKID", "TUTESTCD", "TUTEST", "TUORRES",
    "TUSTRESC", "TULOC", "TUMETHOD", "TUEVAL", "TUEVALID", "TUACPTFL", "VISITNUM", "VISIT",
    "EPOCH", "TUDTC", "TUDY",
)
TR_COLUMNS = (
    "STUDYID", "DOMAIN", "USUBJID", "TRSEQ", "TRGRPID", "TRLNKGRP", "TRLNKID", "TRTESTCD",
    "TRTEST", "TRORRES", "TRORRESU", "TRSTRESC", "TRSTRESN", "TRSTRESU", "TRSTAT", "TRREASND",
    "TRMETHOD", "TREVAL", "TREVALID", "TRACPTFL", "VISITNUM", "VISIT", "EPOCH", "TRDTC", "TRDY",
)
RS_COLUMNS = (
    "STUDYID", "DOMAIN", "USUBJID", "RSSEQ", "RSLNKGRP", "RSTESTCD", "RSTEST", "RSCAT",
    "RSORRES", "RSSTRESC", "RSSTAT", "RSREASND", "RSEVAL", "RSEVALID", "RSACPTFL", "VISITNUM",
    "VISIT", "EPOCH", "RSDTC", "RSDY",
)
DM_COLUMNS = (
    "STUDYID", "DOMAIN", "USUBJID", "SUBJID", "RFSTDTC", "RFENDTC", "RFPENDTC", "DTHDTC", "DTHFL",
    "ARMCD", "ARM", "ACTARMCD", "ACTARM", "ARMNRS",
)
DS_COLUMNS = (
    "STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSTERM", "DSDECOD", "DSCAT", "DSDTC", "DSSTDTC",
    "DSSTDY",
)
SUPPTU_COLUMNS = (
    "STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG",
)
EVALUATOR_KEY_COLUMNS = ("EVAL", "EVALID", "USUBJID", "READER")
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
# pharmaversesdtm's rs_onco: NEWLPROG only at visits with a new finding.
NEWLPROG = {"yes": "UNEQUIVOCAL", "equivocal": "EQUIVOCAL"}
MODALITY_METHOD = {"CT": "CT SCAN", "MR": "MRI"}
TESTS = {
    "LDIAM": "Longest Diameter",
    "LPERP": "Longest Perpendicular",
    "SUMDIAM": "Sum of Diameter",
    "VDIAM": "Viable Tumor Diameter",
    "SUMVDIAM": "Sum of Viable Tumor Diameter",
    "TUMSTATE": "Tumor State",
    "TRGRESP": "Target Response",
    "NTRGRESP": "Non-target Response",
    "NEWLIND": "New Lesion Indicator",
    "NEWLPROG": "New Lesion Progression",
    "OVRLRESP": "Overall Response",
    "BESTRESP": "Best Overall Response",
}
SUM_TESTS = frozenset({"SUMDIAM", "SUMVDIAM"})


def _num(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    return text


def sdtm_tables(
    assessments: Iterable[CaseAssessment],
    studyid: str,
    *,
    evaluator: str = DEFAULT_EVALUATOR,
    method: str = "",
    baseline_visit: str = "SCREENING",
) -> dict[str, list[dict[str, Any]]]:
    """The DM, TU, TR and RS tables of assessed cases, as lists of row dicts.

    ``--SEQ``, ``--EVALID``, ``--ACPTFL`` and SUPPTU are set across all rows by :func:`finalize`
    (``write_sdtm`` calls it), so that rows from separate workers stay unique per subject.
    Private keys (``_read``, ``_reader``, ...) carry what :func:`finalize` needs.

    Parameters
    ----------
    assessments : Iterable of CaseAssessment
        One per case (``mrecist_tool.rules.assess_case``); several reads of one subject (two
        readers, investigator and independent review) may be given together.
    studyid : str
        ``STUDYID``, e.g. ``"NCT04562727"``.
    evaluator : str, optional
        ``--EVAL`` of cases that do not name their own (a case file's ``"evaluator"``):
        ``"INVESTIGATOR"`` (default, what the admiralonco templates select) or
        ``"INDEPENDENT ASSESSOR"``.
    method : str, optional
        ``TUMETHOD``/``TRMETHOD`` when a timepoint does not record its modality (``"modality"``
        of the timepoint: CT gives ``CT SCAN``, MR gives ``MRI``).
    baseline_visit : str, optional
        ``VISIT`` of the baseline timepoint, ``"SCREENING"`` (default, as pharmaversesdtm's
        ``*_onco_recist`` data and the admiralonco templates) or ``"BASELINE"``.

    Returns
    -------
    dict of str to list of dict
        Rows by domain (``"DM"``, ``"DS"``, ``"TU"``, ``"TR"``, ``"RS"``), each row a dict of
        variable to value; SUPPTU is added by :func:`write_sdtm`.

    Raises
    ------
    ValueError
        An unknown ``evaluator`` or ``baseline_visit``, or an empty ``studyid``.
    """
    if evaluator not in EVALUATORS:
        raise ValueError(f"evaluator: expected one of {EVALUATORS}, found {evaluator!r}")
    if baseline_visit not in BASELINE_VISITS:
        raise ValueError(f"baseline_visit: expected one of {BASELINE_VISITS}, found {baseline_visit!r}")
    if not studyid.strip():
        raise ValueError("studyid: expected a study identifier, found an empty string")
    tables: dict[str, list[dict[str, Any]]] = {"DM": [], "DS": [], "TU": [], "TR": [], "RS": []}
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
    reader = case.reader or _single_reader(case)
    base = {"STUDYID": studyid, "USUBJID": usubjid, "_read": read, "_reader": reader,
            "_accepted": accepted}

    def epoch(tp_id: str) -> str:
        when = tp_by_id[tp_id].date
        if tp_by_id[tp_id].baseline or when < reference:
            return "SCREENING"
        if last_ablation is not None and when <= last_ablation:
            return "TREATMENT"
        return "FOLLOW-UP"

    def method(tp_id: str) -> str:
        return MODALITY_METHOD.get(tp_by_id[tp_id].modality or "", default_method)

    def visit_fields(tp_id: str, prefix: str) -> dict[str, Any]:
        return {"VISITNUM": visitnum[tp_id], "VISIT": visit[tp_id], "EPOCH": epoch(tp_id),
                f"{prefix}DTC": tp_date[tp_id],
                f"{prefix}DY": _study_day(tp_by_id[tp_id].date, reference)}

    death = case.subject.death
    arm = case.subject.arm or ""
    end = case.subject.end_of_study
    ended = end_of_participation(end.reason if end else None, end.date if end else None,
                                 death.date if death else None)
    dm = [{**base, "DOMAIN": "DM", "SUBJID": case.subject.id,
           "RFSTDTC": reference.isoformat(),
           "RFENDTC": (death.date if death else (case.subject.last_known_alive
                                                 or ordered[-1].date)).isoformat(),
           "RFPENDTC": ended[1].isoformat() if ended else "",
           "DTHDTC": death.date.isoformat() if death else "", "DTHFL": "Y" if death else "",
           "ARMCD": _armcd(arm), "ARM": arm,
           "ACTARMCD": _armcd(arm) if ablations else "",
           "ACTARM": arm if ablations else "",
           "ARMNRS": "" if ablations or not arm else "ASSIGNED, NOT TREATED"}]

    # DS: the randomisation milestone and the event that ended participation (pharmaversesdtm).
    ds: list[dict[str, Any]] = []

    def add_ds(term: str, decod: str, cat: str, when: date) -> None:
        ds.append({**base, "DOMAIN": "DS", "DSSEQ": len(ds) + 1, "DSTERM": term,
                   "DSDECOD": decod, "DSCAT": cat, "DSDTC": when.isoformat(),
                   "DSSTDTC": when.isoformat(), "DSSTDY": _study_day(when, reference)})

    if case.subject.randomization_date is not None:
        add_ds("RANDOMIZED", "RANDOMIZED", "PROTOCOL MILESTONE", case.subject.randomization_date)
    if ended is not None:
        note = (end.note or "").strip().upper() if end is not None else ""
        add_ds(note or ended[0], ended[0], "DISPOSITION EVENT", ended[1])

    # TU: one identification record per lesion, at baseline or where first seen (new lesions).
    tu: list[dict[str, Any]] = []
    for lesion in case.lesions:
        if lesion.role == "new":
            seen = [tp for tp in ordered if (lesion.id, tp.id) in obs_index]
            tp = seen[0] if seen else case.baseline
        else:
            tp = case.baseline
        where = lesion_location(lesion)
        tu.append(
            {
                **base, "DOMAIN": "TU", "TUSEQ": len(tu) + 1, "TULNKID": lesion.id,
                "TUTESTCD": "TUMIDENT", "TUTEST": "Tumor Identification",
                "TUORRES": ROLE_TU.get(lesion.role, lesion.role.upper()),
                "TUSTRESC": ROLE_TU.get(lesion.role, lesion.role.upper()),
                "TULOC": where.term, "TUMETHOD": method(tp.id), "TUEVAL": evaluator,
                "_locdtl": where.detail, "_organ": where.organ, **visit_fields(tp.id, "TU"),
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
        if row.role == "target" or (row.role == "new" and row.measure_mm is not None):
            code = "LPERP" if lesion.is_node else ("VDIAM" if criteria == "mRECIST" else "LDIAM")
            fields: dict[str, Any] = dict(
                TRGRPID=row.role.upper(), TRLNKID=row.lesion, TRTESTCD=code, TRTEST=TESTS[code],
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
                    TRREASND="NOT EVALUATED",
                )
            else:
                add_tr(
                    row.timepoint, TRGRPID=row.role.upper(), TRLNKID=row.lesion,
                    TRTESTCD="TUMSTATE", TRTEST=TESTS["TUMSTATE"], TRORRES=state,
                    TRSTRESC=state,
                )
    sum_code = "SUMVDIAM" if criteria == "mRECIST" else "SUMDIAM"
    for t in a.timepoints:
        if t.target_sum_mm is None:
            continue
        add_tr(
            t.timepoint, TRGRPID="TARGET", TRTESTCD=sum_code, TRTEST=TESTS[sum_code],
            TRORRES=_num(t.target_sum_mm), TRORRESU="mm", TRSTRESC=_num(t.target_sum_mm),
            TRSTRESN=_num(t.target_sum_mm), TRSTRESU="mm",
        )

    # Visit by visit, the sum after the lesions of that visit; TRSEQ follows that order.
    tr.sort(key=lambda r: (r["VISITNUM"], r["TRTESTCD"] in SUM_TESTS))
    for i, r in enumerate(tr, 1):
        r["TRSEQ"] = i

    # RS: responses per follow-up visit (RSSTAT NOT DONE where no imaging), then the best.
    rs: list[dict[str, Any]] = []
    rscat = RSCAT.get(criteria, criteria.upper())

    def add_rs(code: str, orres: str, stresc: str, tp_id: str | None, **extra: Any) -> None:
        record = {**base, "DOMAIN": "RS", "RSSEQ": len(rs) + 1, "RSTESTCD": code,
                  "RSTEST": TESTS[code], "RSCAT": rscat, "RSORRES": orres, "RSSTRESC": stresc,
                  "RSEVAL": evaluator, "RSLNKGRP": tp_id or ""}
        if tp_id is not None:
            record.update(visit_fields(tp_id, "RS"))
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
    return {"DM": dm, "DS": ds, "TU": tu, "TR": tr, "RS": rs}


def _armcd(arm: str) -> str:
    return "".join(ch for ch in arm.upper() if ch.isalnum())[:20]


def _read_key(row: dict[str, Any]) -> str:
    """Who made a read: its reader id, else the read itself (a case file without one)."""
    return str(row.get("_reader") or f"(unnamed reader of {row.get('_read')})")


def finalize(tables: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Unique ``--SEQ`` per subject across every read; ``--EVALID``, ``--ACPTFL``, SUPPTU.

    Rows keep their order; ``--SEQ`` counts 1, 2, ... per ``USUBJID`` over all its reads (two
    readers, investigator and independent review), so (USUBJID, --SEQ) is a key.

    ``--EVALID`` (pharmaversesdtm): ``RADIOLOGIST <n>`` for independent readers, numbered over the
    export in the order of their reader ids; investigator reads have none unless a subject has
    several, which are then numbered within the subject.  ``--LNKGRP`` of an independent read is
    prefixed ``R<n>-`` so that each reader's TR and RS records link to each other only.

    ``--ACPTFL``: ``Y`` on a read whose case file says ``"accepted": true``; when no read of a
    subject and evaluator says so, on a subject's only independent read.  Investigator reads are
    not flagged unless their case file says so (pharmaversesdtm leaves them empty).

    SUPPTU gets ``TULOCDTL`` (what the reader wrote about the location) of every TU record with
    such text, keyed by ``TUSEQ``; ``EVALUATORS`` (not an SDTM domain) keeps which reader id each
    ``--EVALID`` stands for.  DM keeps one row per subject and DS one set of records.
    """
    first_dm: dict[str, dict[str, Any]] = {}
    for r in tables.get("DM", []):
        first_dm.setdefault(r["USUBJID"], r)
    tables["DM"] = list(first_dm.values())
    # DS holds facts about the subject, not a read: the first read's records, once.
    read_of = {u: r.get("_read") for u, r in first_dm.items()}
    tables["DS"] = [r for r in tables.get("DS", []) if r.get("_read") == read_of.get(r["USUBJID"])]

    independent = sorted({_read_key(r) for name in ("TU", "TR", "RS")
                          for r in tables.get(name, []) if r[f"{name}EVAL"] != "INVESTIGATOR"})
    radiologist = {key: f"RADIOLOGIST {i}" for i, key in enumerate(independent, 1)}
    investigator_reads: dict[str, list[str]] = {}
    for name in ("TU", "TR", "RS"):
        for r in tables.get(name, []):
            if r[f"{name}EVAL"] == "INVESTIGATOR":
                seen = investigator_reads.setdefault(r["USUBJID"], [])
                if _read_key(r) not in seen:
                    seen.append(_read_key(r))

    def evalid(r: dict[str, Any], prefix: str) -> str:
        if r[f"{prefix}EVAL"] != "INVESTIGATOR":
            return radiologist[_read_key(r)]
        own = sorted(investigator_reads.get(r["USUBJID"], []))
        return f"RADIOLOGIST {own.index(_read_key(r)) + 1}" if len(own) > 1 else ""

    keys: dict[tuple[str, str, str], dict[str, str]] = {}
    for name in ("TU", "TR", "RS"):
        prefix = name
        flagged = {(r["USUBJID"], r[f"{prefix}EVAL"]) for r in tables.get(name, [])
                   if r.get("_accepted") is True}
        reads: dict[tuple[str, str], set[str]] = {}
        for r in tables.get(name, []):
            reads.setdefault((r["USUBJID"], r[f"{prefix}EVAL"]), set()).add(str(r.get("_read")))
        counter: dict[str, int] = {}
        for r in tables.get(name, []):
            counter[r["USUBJID"]] = counter.get(r["USUBJID"], 0) + 1
            r[f"{prefix}SEQ"] = counter[r["USUBJID"]]
            r[f"{prefix}EVALID"] = evalid(r, prefix)
            group = (r["USUBJID"], r[f"{prefix}EVAL"])
            only_independent = (r[f"{prefix}EVAL"] != "INVESTIGATOR" and len(reads[group]) == 1
                                and group not in flagged)
            r[f"{prefix}ACPTFL"] = "Y" if r.get("_accepted") is True or only_independent else ""
            if r[f"{prefix}EVALID"].startswith("RADIOLOGIST ") and r.get(f"{prefix}LNKGRP"):
                number = r[f"{prefix}EVALID"].rsplit(" ", 1)[1]
                r[f"{prefix}LNKGRP"] = f"R{number}-{r[f'{prefix}LNKGRP']}"
            key = (r[f"{prefix}EVAL"], r[f"{prefix}EVALID"],
                   "" if r[f"{prefix}EVAL"] != "INVESTIGATOR" else r["USUBJID"])
            if r[f"{prefix}EVALID"]:
                keys.setdefault(key, {"EVAL": key[0], "EVALID": key[1], "USUBJID": key[2],
                                      "READER": str(r.get("_reader") or "")})
    tables["EVALUATORS"] = sorted(keys.values(), key=lambda k: (k["EVAL"], k["USUBJID"],
                                                                 int(k["EVALID"].split()[-1])))
    tables["SUPPTU"] = [
        {"STUDYID": r["STUDYID"], "RDOMAIN": "TU", "USUBJID": r["USUBJID"], "IDVAR": "TUSEQ",
         "IDVARVAL": str(r["TUSEQ"]), "QNAM": "TULOCDTL", "QLABEL": "Location Detail",
         "QVAL": r["_locdtl"], "QORIG": "CRF"}
        for r in tables.get("TU", []) if r.get("_locdtl")
    ]
    return tables


def unmapped_locations(tu: Sequence[dict[str, Any]]) -> list[str]:
    """One message per TU record whose organ has no CDISC LOC term (``TULOC`` left empty)."""
    return [f"{r.get('_read')}: lesion {r['TULNKID']}: organ {r.get('_organ', '')!r} has no "
            "CDISC LOC term here; TULOC left empty, the text kept in SUPPTU TULOCDTL"
            for r in tu if not r.get("TULOC")]


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
    category = t.new_lesions.category
    out.append(("NEWLIND", NEWLIND.get(category, category.upper())))
    if category in NEWLPROG:
        out.append(("NEWLPROG", NEWLPROG[category]))
    if t.overall is not None:
        out.append(("OVRLRESP", t.overall.category))
    return out


COLUMNS = {"DM": DM_COLUMNS, "DS": DS_COLUMNS, "TU": TU_COLUMNS, "TR": TR_COLUMNS,
           "RS": RS_COLUMNS, "SUPPTU": SUPPTU_COLUMNS, "EVALUATORS": EVALUATOR_KEY_COLUMNS}
DOMAINS = ("DM", "DS", "TU", "SUPPTU", "TR", "RS")


def table_csv(name: str, rows: Sequence[dict[str, Any]]) -> str:
    """One table as CSV text with the domain's columns in pharmaversesdtm's order."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS[name]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in COLUMNS[name]})
    return buf.getvalue()


# Labels as pharmaversesdtm gives them (its *_onco_recist data first, where the variable is
# there, else tu_onco / tr_onco / rs_onco / dm / supptr_onco); EPOCH and ARMNRS from the SDTMIG.
_COMMON_LABELS = {
    "STUDYID": "Study Identifier", "DOMAIN": "Domain Abbreviation",
    "USUBJID": "Unique Subject Identifier", "VISITNUM": "Visit Number", "VISIT": "Visit Name",
    "EPOCH": "Epoch",
}
LABELS: dict[str, dict[str, str]] = {
    "DM": {"SUBJID": "Subject Identifier for the Study",
           "RFSTDTC": "Subject Reference Start Date/Time",
           "RFENDTC": "Subject Reference End Date/Time",
           "RFPENDTC": "Date/Time of End of Participation", "DTHDTC": "Date/Time of Death",
           "DTHFL": "Subject Death Flag", "ARMCD": "Planned Arm Code",
           "ARM": "Description of Planned Arm", "ACTARMCD": "Actual Arm Code",
           "ACTARM": "Description of Actual Arm",
           "ARMNRS": "Reason Arm and/or Actual Arm is Null"},
    "DS": {"DSSEQ": "Sequence Number", "DSTERM": "Reported Term for the Disposition Event",
           "DSDECOD": "Standardized Disposition Term", "DSCAT": "Category for Disposition Event",
           "DSDTC": "Date/Time of Collection", "DSSTDTC": "Start Date/Time of Disposition Event",
           "DSSTDY": "Study Day of Start of Disposition Event"},
    "TU": {"TUSEQ": "Sequence Number", "TULNKID": "Link ID",
           "TUTESTCD": "Tumor/Lesion ID Short Name", "TUTEST": "Tumor/Lesion ID Test Name",
           "TUORRES": "Tumor/Lesion ID Result", "TUSTRESC": "Tumor/Lesion ID Result Std. Format",
           "TULOC": "Location of the Tumor/Lesion", "TUMETHOD": "Method of Identification",
           "TUEVAL": "Evaluator", "TUEVALID": "Evaluator Identifier",
           "TUACPTFL": "Accepted Record Flag", "TUDTC": "Date/Time of Tumor Identification",
           "TUDY": "Study Day of Tumor Identification"},
    "TR": {"TRSEQ": "Sequence Number", "TRGRPID": "Group ID", "TRLNKGRP": "Link Group",
           "TRLNKID": "Link ID", "TRTESTCD": "Tumor/Lesion Assessment Short Name",
           "TRTEST": "Tumor/Lesion Assessment Test Name",
           "TRORRES": "Result or Finding in Original Units", "TRORRESU": "Original Units",
           "TRSTRESC": "Character Result/Finding in Std Format",
           "TRSTRESN": "Numeric Result/Finding in Standard Units", "TRSTRESU": "Standard Units",
           "TRSTAT": "Completion Status", "TRREASND": "Reason Tumor Measurement Not Performed",
           "TRMETHOD": "Method used to Identify the Tumor", "TREVAL": "Evaluator",
           "TREVALID": "Evaluator Identifier", "TRACPTFL": "Accepted Record Flag",
           "TRDTC": "Date/Time of Tumor/Lesion Measurement",
           "TRDY": "Study Day of Tumor Measurement"},
    "RS": {"RSSEQ": "Sequence Number", "RSLNKGRP": "Link Group",
           "RSTESTCD": "Assessment Short Name", "RSTEST": "Assessment Name",
           "RSCAT": "Category for Response Assessment",
           "RSORRES": "Result or Finding in Original Units",
           "RSSTRESC": "Character Result/Finding in Std Format", "RSSTAT": "Completion Status",
           "RSREASND": "Reason Response Assessment Not Performed", "RSEVAL": "Evaluator",
           "RSEVALID": "Evaluator Identifier", "RSACPTFL": "Accepted Record Flag",
           "RSDTC": "Date/Time of Assessment", "RSDY": "Study Day of Response Assessment"},
    "SUPPTU": {"RDOMAIN": "Related Domain Abbreviation", "IDVAR": "Identifying Variable",
               "IDVARVAL": "Identifying Variable Value", "QNAM": "Qualifier Variable Name",
               "QLABEL": "Qualifier Variable Label", "QVAL": "Data Value", "QORIG": "Origin"},
}
_DOMAIN_NAMES = {"DS": "Disposition", "TU": "Tumor/Lesion Identification", "TR": "Tumor/Lesion Results",
                 "RS": "Disease Response and Clin Classification", "DM": "Demographics",
                 "SUPPTU": "Supplemental Qualifiers for TU"}


def label(name: str, domain: str | None = None) -> str:
    """SAS variable label (at most 40 characters) of an SDTM variable of ``domain`` (by
    default the one its first two letters name)."""
    domain = domain or name[:2]
    text = _COMMON_LABELS.get(name) or LABELS.get(domain, {}).get(name, name)
    return text[:40]


def write_sdtm(tables: dict[str, list[dict[str, Any]]], out_dir: str | Path) -> list[Path]:
    """Write ``dm``, ``ds``, ``tu``, ``supptu``, ``tr`` and ``rs`` as ``.csv`` and SAS transport ``.xpt``
    (labels), and ``evaluators.csv`` (which reader each ``--EVALID`` is), after :func:`finalize`;
    each file atomically, readable by the group (the writer follows the umask).

    Parameters
    ----------
    tables : dict of str to list of dict
        The rows by domain, from :func:`sdtm_tables` (finalised here, in place).
    out_dir : str or pathlib.Path
        The folder to write to (created when missing).

    Returns
    -------
    list of pathlib.Path
        Every file written.
    """
    from ..atomic import atomic_write_text, atomic_write_with

    finalize(tables)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in DOMAINS:
        path = folder / f"{name.lower()}.csv"
        atomic_write_text(path, table_csv(name, tables.get(name, [])))
        written.append(path)
        xpt = folder / f"{name.lower()}.xpt"
        _write_xpt(name, tables.get(name, []), xpt, atomic_write_with)
        written.append(xpt)
    path = folder / "evaluators.csv"
    atomic_write_text(path, table_csv("EVALUATORS", tables.get("EVALUATORS", [])))
    written.append(path)
    return written


def _write_xpt(name: str, rows: Sequence[dict[str, Any]], path: Path, writer: Any) -> None:
    import pandas as pd
    import pyreadstat

    columns = list(COLUMNS[name])
    frame = pd.DataFrame([{c: row.get(c, "") for c in columns} for row in rows], columns=columns)
    numeric = {"VISITNUM", f"{name}SEQ", f"{name}DY", f"{name}STRESN", f"{name}STDY"}
    for c in columns:
        if c in numeric:
            frame[c] = pd.to_numeric(frame[c].replace("", None), errors="coerce").astype(float)
        else:
            frame[c] = frame[c].fillna("").astype(str)
    domain = _DOMAIN_NAMES.get(name, name)

    def write(tmp: Path) -> None:
        pyreadstat.write_xport(frame, str(tmp), file_label=domain[:40],
                               column_labels=[label(c, name) for c in columns], table_name=name,
                               file_format_version=5)

    writer(path, write)
