"""The result tables of ``mrecist assess`` (case-format.md, "Results"), as CSV-ready rows.

Every value is a string: decimals exactly as computed (percentages rounded to one decimal only
here, for display, GEN-5), dates ISO 8601, booleans ``true``/``false``, missing values empty.
Column names and values named in case-format.md are a contract; columns are only ever added.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from ..rules.arith import display_mm, display_pct
from ..rules.results import LOCAL_NE, CaseAssessment, Decision

TIMEPOINT_COLUMNS = [
    "subject", "timepoint", "date", "criteria", "target_sum_mm", "baseline_sum_mm", "nadir_mm",
    "change_from_baseline_pct", "change_from_nadir_pct", "target_response", "nontarget_response",
    "new_lesions", "overall_response", "reasons",
    # added columns
    "baseline", "days_from_origin", "progression", "flags",
]
LESION_COLUMNS = [
    "subject", "lesion", "role", "timepoint", "status", "measure_mm", "local_status",
    # added columns
    "date", "kind", "organ", "site", "reasons",
]
SUBJECT_COLUMNS = [
    "subject", "arm", "criteria", "best_overall_response", "bor_confirmed",
    "first_progression_date", "first_ltp_date",
    # added columns
    "bor_timepoint", "origin_date", "randomization_date", "baseline_date", "has_target_disease",
    "first_progression_kinds", "first_recurrence_date", "first_recurrence_kinds", "first_idp_date",
    "first_ehp_date", "last_adequate_assessment_date", "last_imaging_date", "never_disease_free",
    "has_post_baseline_assessment", "death_date", "death_cause", "last_known_alive",
    "best_change_from_baseline_pct", "first_response_date", "duration_of_response_days",
    "sd_min_met", "new_therapy_date", "n_targets", "n_nontargets", "n_ablated",
    # here: one plain column per randomisation stratum, strata_<name> (strata_columns), the
    # union over the cohort, sorted (subject_columns)
    "simulated", "bor_reasons", "flags", "warnings", "source_file",
    "assessment_dates", "ltp_risk_set", "first_ltp_primary_date", "ltp_assessment_dates",
    "ltp_censor_date", "ltp_risk_end_date",
    "first_ablation_date", "preop_chemo_arm", "pre_ablation_timepoints", "pre_ablation_best_response",
    "pre_ablation_responder", "pre_ablation_reasons", "dlm_lesions", "dlm_recurrence_date",
    "end_of_study_date", "end_of_study_reason", "profile",
]
#: The subjects.csv column after which the ``strata_<name>`` columns stand.
STRATA_AFTER = "n_ablated"
STRATA_PREFIX = "strata_"
_NOT_IN_NAME = re.compile(r"[^a-z0-9_]+")


def strata_columns(strata: Mapping[str, str]) -> dict[str, str]:
    """A case's randomisation strata as plain ``subjects.csv`` columns: ``strata_<name>``.

    The name is lower-cased and every run of characters outside ``[a-z0-9_]`` becomes ``_``
    (``"Metastases count"`` → ``strata_metastases_count``); two names that become the same get
    ``_2``, ``_3`` in the order of the original names.  Sorted by column name.
    """
    out: dict[str, str] = {}
    for name in sorted(strata):
        base = STRATA_PREFIX + (_NOT_IN_NAME.sub("_", str(name).strip().lower()).strip("_") or "unnamed")
        key, n = base, 2
        while key in out:
            key, n = f"{base}_{n}", n + 1
        out[key] = str(strata[name])
    return dict(sorted(out.items()))


def strata_of_row(row: Mapping[str, object]) -> dict[str, str]:
    """The strata of a ``subjects.csv`` row, ``{name: level}`` (empty cells left out), from its
    ``strata_<name>`` columns.  (The JSON ``strata`` column of older tables is not read: a result
    set that has it is refused as a whole, :func:`mrecist_tool.analysis.dataset.check_result_set`.)"""
    out: dict[str, str] = {}
    for key, value in row.items():
        if isinstance(key, str) and key.startswith(STRATA_PREFIX):
            text = "" if value is None else str(value).strip()
            if text and text.lower() != "nan":
                out[key[len(STRATA_PREFIX):]] = text
    return dict(sorted(out.items()))


#: Columns of older tables whose meaning moved to other columns: a result set holding one was
#: written by an older version (``strata``: JSON text, now the ``strata_<name>`` columns).
OBSOLETE_COLUMNS = {"subjects": ("strata",)}


def subject_columns(keys: Iterable[str]) -> list[str]:
    """The columns of ``subjects.csv`` for rows with these keys (over a whole cohort): the
    contract columns, the ``strata_<name>`` columns sorted after :data:`STRATA_AFTER`, then
    any other keys (the endpoint columns) in the order first seen."""
    keys = list(dict.fromkeys(keys))
    strata = sorted(k for k in keys if k.startswith(STRATA_PREFIX))
    at = SUBJECT_COLUMNS.index(STRATA_AFTER) + 1
    columns = [*SUBJECT_COLUMNS[:at], *strata, *SUBJECT_COLUMNS[at:]]
    known = set(columns)
    return columns + [k for k in keys if k not in known]


# PRE-3 / PRE-4: one row per disappearing liver metastasis (an added table, dlm.csv).
DLM_COLUMNS = [
    "subject", "lesion", "role", "arm", "baseline_mm", "last_pre_ablation_timepoint",
    "last_pre_ablation_date", "site", "site_treated_date", "recurrence_date", "recurrence_timepoint",
    "recurrence_kind", "reasons",
]
ABLATION_COLUMNS = [
    "subject", "lesion", "role", "arm", "first_ablation_date", "ablation_dates",
    "technique_efficacy", "first_complete_date", "residual_date", "ltp_date", "ltp_timepoint",
    "last_adequate_imaging_date", "resected_date", "ltp_origin_date", "local_statuses", "flags",
    # the ablative margin (issue 10, MAR-7): filled by the margin step when the procedure has
    # margin inputs, empty otherwise
    "mam_mm", "mam_corrected_mm", "coverage", "fraction_ge_5mm", "fraction_ge_10mm", "registration",
    "liver_dice", "margin_flags",
    "technique",
    # the zone's adequate contrast imaging (END-GEN-4 per tumour) and END-LTP-5's episode of
    # local control from the last ablation of the site
    "adequate_imaging_dates", "local_control_origin_date", "local_control_failure_date",
]

Row = dict[str, str]


def fmt(value: Any) -> str:
    """One cell: exact decimals, ISO dates, lower-case booleans, empty for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return display_mm(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ";".join(fmt(v) for v in value)
    return str(value)


def _cat(decision: Decision | None) -> str:
    return decision.category if decision is not None else ""


def timepoint_rows(a: CaseAssessment) -> list[Row]:
    origin = a.case.origin_date
    rows = []
    for r in a.timepoints:
        rows.append({
            "subject": a.subject,
            "timepoint": r.timepoint,
            "date": fmt(r.date),
            "criteria": r.criteria,
            "target_sum_mm": fmt(r.target_sum_mm),
            "baseline_sum_mm": fmt(r.baseline_sum_mm),
            "nadir_mm": fmt(r.nadir_mm),
            "change_from_baseline_pct": display_pct(r.change_from_baseline_pct),
            "change_from_nadir_pct": display_pct(r.change_from_nadir_pct),
            "target_response": _cat(r.target),
            "nontarget_response": _cat(r.nontarget),
            "new_lesions": "" if r.baseline else r.new_lesions.category,
            "overall_response": _cat(r.overall),
            "reasons": ";".join(r.reasons),
            "baseline": fmt(r.baseline),
            "days_from_origin": str((r.date - origin).days),
            "progression": ";".join(r.progression),
            "flags": " | ".join(r.flags),
        })
    return rows


def lesion_rows(a: CaseAssessment) -> list[Row]:
    dates = {tp.id: tp.date for tp in a.case.timepoints}
    lesions = {lesion.id: lesion for lesion in a.case.lesions}
    rows = []
    for r in sorted(a.lesions, key=lambda x: (x.lesion, dates[x.timepoint])):
        lesion = lesions[r.lesion]
        rows.append({
            "subject": a.subject,
            "lesion": r.lesion,
            "role": r.role,
            "timepoint": r.timepoint,
            "status": r.status,
            "measure_mm": fmt(r.measure_mm),
            "local_status": r.local_status,
            "date": fmt(dates[r.timepoint]),
            "kind": lesion.kind,
            "organ": lesion.organ,
            "site": lesion.site or "",
            "reasons": ";".join(r.rules),
        })
    return rows


def subject_row(a: CaseAssessment, profile: str | None = None) -> Row:
    """The subjects.csv row of a case; ``profile``: the settings profile it was assessed with
    (default: the case's own, else the default profile)."""
    from ..rules.engine import profile_for_case

    case, ev, best = a.case, a.events, a.best
    changes = [r.change_from_baseline_pct for r in a.timepoints if not r.baseline and r.change_from_baseline_pct is not None]
    stop = best.progression_date
    eligible = [
        r.change_from_baseline_pct
        for r in a.timepoints
        if not r.baseline and r.change_from_baseline_pct is not None and (stop is None or r.date <= stop)
    ]
    best_change = min(eligible) if eligible else (min(changes) if changes else None)
    simulated = bool(case.extra.get("simulated")) or bool(case.subject.extra.get("simulated"))
    end = case.subject.end_of_study
    return {
        "subject": a.subject,
        "arm": case.subject.arm or "",
        "criteria": a.settings.criteria,
        "best_overall_response": best.category,
        "bor_confirmed": fmt(best.confirmed),
        "first_progression_date": fmt(ev.first_progression_date),
        "first_ltp_date": fmt(ev.first_ltp_date),
        "bor_timepoint": best.timepoint or "",
        "origin_date": fmt(case.origin_date),
        "randomization_date": fmt(case.subject.randomization_date),
        "baseline_date": fmt(case.baseline.date),
        "has_target_disease": fmt(a.has_target_disease),
        "first_progression_kinds": ";".join(ev.first_progression_kinds),
        "first_recurrence_date": fmt(ev.first_recurrence_date),
        "first_recurrence_kinds": ";".join(ev.first_recurrence_kinds),
        "first_idp_date": fmt(ev.first_idp_date),
        "first_ehp_date": fmt(ev.first_ehp_date),
        "last_adequate_assessment_date": fmt(ev.last_adequate_assessment_date),
        "last_imaging_date": fmt(ev.last_imaging_date),
        "never_disease_free": fmt(ev.never_disease_free),
        "has_post_baseline_assessment": fmt(ev.has_post_baseline_assessment),
        "death_date": fmt(case.subject.death.date if case.subject.death else None),
        "death_cause": case.subject.death.cause if case.subject.death else "",
        "last_known_alive": fmt(case.subject.last_known_alive),
        "end_of_study_date": fmt(end.date if end else None),
        "end_of_study_reason": end.reason if end else "",
        "best_change_from_baseline_pct": display_pct(best_change),
        "first_response_date": fmt(best.first_response_date),
        "duration_of_response_days": fmt(best.duration_of_response_days),
        "sd_min_met": fmt(best.sd_min_met),
        "new_therapy_date": fmt(ev.new_therapy_date),
        "n_targets": str(sum(1 for x in case.lesions if x.role == "target")),
        "n_nontargets": str(sum(1 for x in case.lesions if x.role == "non-target")),
        "n_ablated": str(len(a.ablations)),
        **strata_columns(case.subject.strata),
        "simulated": fmt(simulated),
        "bor_reasons": ";".join(best.rules),
        "flags": " | ".join(a.flags),
        "warnings": " | ".join(f"{w.lesion + ': ' if w.lesion else ''}{w.message} [{w.rule}]" for w in a.warnings),
        "source_file": str(case.source.name) if case.source is not None else "",
        "assessment_dates": fmt(ev.assessment_dates),
        "ltp_risk_set": fmt(ev.ltp_risk_set),
        "first_ltp_primary_date": fmt(ev.first_ltp_primary_date),
        "ltp_assessment_dates": fmt(ev.ltp_assessment_dates),
        "ltp_censor_date": fmt(ev.ltp_censor_date),
        "ltp_risk_end_date": fmt(ev.ltp_risk_end_date),
        **_pre_ablation_columns(a),
        "profile": profile or profile_for_case(case),
    }


def _first_technique(a: CaseAssessment, lesion: str) -> str:
    """The technique (MWA, RFA, ...) of the first ablation of ``lesion`` (the analysis' subgroups)."""
    ablations = sorted((p for p in a.case.procedures if p.type == "ablation" and lesion in p.lesions),
                       key=lambda p: p.date)
    return (ablations[0].technique or "") if ablations else ""


def _pre_ablation_columns(a: CaseAssessment) -> Row:
    """PRE-1 to PRE-4 in subjects.csv: the response to preoperative chemotherapy, labelled apart
    from the whole-course ``best_overall_response``, and the disappearing metastases."""
    pre = a.pre_ablation
    arm = a.case.subject.arm or ""
    recurrences = [d.recurrence_date for d in (pre.dlm if pre else ()) if d.recurrence_date is not None]
    return {
        "first_ablation_date": fmt(pre.first_ablation_date if pre else None),
        "preop_chemo_arm": fmt(bool(arm) and arm == a.settings.preop_chemo_arm),
        "pre_ablation_timepoints": ";".join(pre.timepoints) if pre else "",
        "pre_ablation_best_response": pre.best if pre else "",
        "pre_ablation_responder": fmt(pre.responder) if pre and pre.first_ablation_date else "",
        "pre_ablation_reasons": ";".join(pre.rules) if pre else "",
        "dlm_lesions": ";".join(d.lesion for d in pre.dlm) if pre else "",
        "dlm_recurrence_date": fmt(min(recurrences)) if recurrences else "",
    }


def dlm_rows(a: CaseAssessment) -> list[Row]:
    """PRE-3 / PRE-4: each disappearing liver metastasis, its site and its in-situ recurrence."""
    if a.pre_ablation is None:
        return []
    return [
        {
            "subject": a.subject,
            "lesion": d.lesion,
            "role": d.role,
            "arm": a.case.subject.arm or "",
            "baseline_mm": fmt(d.baseline_mm),
            "last_pre_ablation_timepoint": d.last_pre_ablation_timepoint,
            "last_pre_ablation_date": fmt(d.last_pre_ablation_date),
            "site": d.site,
            "site_treated_date": fmt(d.site_treated_date),
            "recurrence_date": fmt(d.recurrence_date),
            "recurrence_timepoint": d.recurrence_timepoint or "",
            "recurrence_kind": d.recurrence_kind,
            "reasons": ";".join(d.rules),
        }
        for d in a.pre_ablation.dlm
    ]


def ablation_rows(a: CaseAssessment) -> list[Row]:
    rows = []
    for r in a.ablations:
        rows.append({
            "subject": a.subject,
            "lesion": r.lesion,
            "role": r.role,
            "arm": a.case.subject.arm or "",
            "first_ablation_date": fmt(r.ablation_dates[0]),
            "ablation_dates": fmt(r.ablation_dates),
            "technique_efficacy": r.technique_efficacy,
            "first_complete_date": fmt(r.first_complete_date),
            "residual_date": fmt(r.residual_date),
            "ltp_date": fmt(r.ltp_date),
            "ltp_timepoint": r.ltp_timepoint or "",
            "last_adequate_imaging_date": fmt(r.last_adequate_imaging_date),
            "resected_date": fmt(r.resected_date),
            "ltp_origin_date": fmt(r.ltp_origin_date),
            "local_statuses": ";".join(f"{s.timepoint}={s.status}" for s in r.states),
            "flags": " | ".join(r.flags),
            "technique": _first_technique(a, r.lesion),
            "adequate_imaging_dates": fmt([s.date for s in r.states if s.status != LOCAL_NE]),
            "local_control_origin_date": fmt(r.local_control_origin_date),
            "local_control_failure_date": fmt(r.local_control_failure_date),
        })
    return rows


def assessment_tables(assessments: Iterable[CaseAssessment]) -> dict[str, list[Row]]:
    """Rows of ``timepoints``, ``lesions``, ``subjects``, ``ablations`` and ``dlm`` for many cases."""
    tables: dict[str, list[Row]] = {"timepoints": [], "lesions": [], "subjects": [], "ablations": [], "dlm": []}
    for a in assessments:
        tables["timepoints"].extend(timepoint_rows(a))
        tables["lesions"].extend(lesion_rows(a))
        tables["subjects"].append(subject_row(a))
        tables["ablations"].extend(ablation_rows(a))
        tables["dlm"].extend(dlm_rows(a))
    return tables


COLUMNS = {
    "timepoints": TIMEPOINT_COLUMNS,
    "lesions": LESION_COLUMNS,
    "subjects": SUBJECT_COLUMNS,
    "ablations": ABLATION_COLUMNS,
    "dlm": DLM_COLUMNS,
}


def row_columns() -> dict[str, list[str]]:
    """The columns every row of :func:`assessment_tables` has: :data:`COLUMNS` without the
    margin columns of ``ablations`` (only the margin step of ``mrecist assess`` adds them)."""
    from ..margin.step import MARGIN_COLUMNS

    columns = {name: list(cols) for name, cols in COLUMNS.items()}
    columns["ablations"] = [c for c in columns["ablations"] if c not in MARGIN_COLUMNS]
    return columns


def expected_columns() -> dict[str, list[str]]:
    """The columns this version writes in every result table, whatever the cohort.

    :data:`COLUMNS`, and in ``subjects.csv`` also the patient-level endpoint columns
    (``os_days, os_event, ..., distant_days, distant_event``).  The ``strata_<name>`` columns are
    not here: they depend on the cohort's strata.  A result set lacking one of these was written
    by an older version, and reading it as if the column were empty would change the numbers
    without saying so (:func:`mrecist_tool.analysis.dataset.check_result_set`).
    """
    from .endpoints import PATIENT_ENDPOINTS

    columns = {name: list(cols) for name, cols in COLUMNS.items()}
    columns["subjects"] = [*SUBJECT_COLUMNS, *(f"{e.lower()}_{part}" for e in PATIENT_ENDPOINTS
                                               for part in ("days", "event"))]
    return columns
