"""``assessment.json``: every decision of ``mrecist assess`` with the rule IDs behind it."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

from .. import RULES_VERSION, __version__
from ..rules.results import CaseAssessment, Decision
from .tables import fmt

FORMAT = "mrecist-assessment"
VERSION = 1


def _value(v: Any) -> Any:
    # Lengths are written as strings so that no reader turns 9.8 into 9.800000000000001.
    if isinstance(v, Decimal | date):
        return fmt(v)
    return v


def decision(d: Decision | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {"category": d.category, "rules": list(d.rules), "flags": list(d.flags), "notes": list(d.notes)}


def case_result(a: CaseAssessment) -> dict[str, Any]:
    return {
        "subject": a.subject,
        "file": str(a.case.source) if a.case.source else None,
        "criteria": a.settings.criteria,
        "settings": a.settings.as_dict(),
        "has_target_disease": a.has_target_disease,
        "timepoints": [
            {
                "timepoint": r.timepoint,
                "date": fmt(r.date),
                "baseline": r.baseline,
                "target_sum_mm": _value(r.target_sum_mm),
                "baseline_sum_mm": _value(r.baseline_sum_mm),
                "nadir_mm": _value(r.nadir_mm),
                "change_from_baseline_pct": _value(r.change_from_baseline_pct),
                "change_from_nadir_pct": _value(r.change_from_nadir_pct),
                "target": decision(r.target),
                "nontarget": decision(r.nontarget),
                "new_lesions": decision(r.new_lesions),
                "overall": decision(r.overall),
                "progression": list(r.progression),
                "flags": list(r.flags),
            }
            for r in a.timepoints
        ],
        # Per-lesion explanations are in the timepoint decisions' notes; not repeated here.
        "lesions": [
            {
                "lesion": r.lesion, "role": r.role, "timepoint": r.timepoint, "status": r.status,
                "measure_mm": _value(r.measure_mm), "local_status": r.local_status, "rules": list(r.rules),
            }
            for r in a.lesions
        ],
        "ablations": [
            {
                "lesion": r.lesion,
                "role": r.role,
                "ablation_dates": [fmt(x) for x in r.ablation_dates],
                "technique_efficacy": r.technique_efficacy,
                "first_complete_date": fmt(r.first_complete_date) or None,
                "residual_date": fmt(r.residual_date) or None,
                "ltp_date": fmt(r.ltp_date) or None,
                "ltp_timepoint": r.ltp_timepoint,
                "last_adequate_imaging_date": fmt(r.last_adequate_imaging_date) or None,
                "resected_date": fmt(r.resected_date) or None,
                "ltp_origin_date": fmt(r.ltp_origin_date) or None,
                "local_control_origin_date": fmt(r.local_control_origin_date) or None,
                "local_control_failure_date": fmt(r.local_control_failure_date) or None,
                "states": [
                    {"timepoint": s.timepoint, "date": fmt(s.date), "status": s.status,
                     "rules": list(s.rules), "flags": list(s.flags)}
                    for s in r.states
                ],
                "rules": list(r.rules),
                "flags": list(r.flags),
            }
            for r in a.ablations
        ],
        "best_overall_response": {
            "category": a.best.category,
            "confirmed": a.best.confirmed,
            "timepoint": a.best.timepoint,
            "first_response_date": fmt(a.best.first_response_date) or None,
            "progression_date": fmt(a.best.progression_date) or None,
            "duration_of_response_days": a.best.duration_of_response_days,
            "sd_min_met": a.best.sd_min_met,
            "rules": list(a.best.rules),
            "flags": list(a.best.flags),
            "notes": list(a.best.notes),
        },
        "events": {
            f.name: [_value(x) for x in v] if isinstance(v := getattr(a.events, f.name), tuple) else _value(v)
            for f in dataclasses.fields(a.events)
        },
        "warnings": [{"rule": w.rule, "message": w.message, "lesion": w.lesion, "timepoint": w.timepoint} for w in a.warnings],
        "flags": list(a.flags),
        "pre_ablation": _pre_ablation(a),
    }


def _pre_ablation(a: CaseAssessment) -> dict[str, Any] | None:
    """PRE-1 to PRE-4: the response to preoperative chemotherapy and the disappearing metastases."""
    pre = a.pre_ablation
    if pre is None:
        return None
    return {
        "first_ablation_date": fmt(pre.first_ablation_date) or None,
        "timepoints": list(pre.timepoints),
        "last_scan_date": fmt(pre.last_scan_date) or None,
        "best_response": pre.best or None,
        "best_timepoint": pre.best_timepoint,
        "responder": pre.responder,
        "rules": list(pre.rules),
        "disappearing_metastases": [
            {f.name: _value(getattr(d, f.name)) if not isinstance(getattr(d, f.name), tuple) else list(getattr(d, f.name))
             for f in dataclasses.fields(d)}
            for d in pre.dlm
        ],
    }


def assessment_document(
    cases: list[dict[str, Any]], refused: list[dict[str, Any]], *, generated: str
) -> dict[str, Any]:
    """The whole document, from :func:`case_result` records (built in the batch workers)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "toolkit": f"mrecist-tool {__version__}",
        "rules_version": RULES_VERSION,
        "generated": generated,
        "cases": cases,
        "refused": refused,
    }
