"""Response to preoperative chemotherapy and disappearing liver metastases (response-rules.md §6.4).

In the perioperative arm chemotherapy comes before the ablation; only then does the target sum say
anything about the drugs (after ablation almost every target has no viable tissue).

- PRE-1: the pre-ablation window — studies after the baseline dated before the first ablation of
  a target lesion (:meth:`CaseContext._find_pre_ablation_window`).  Its best response uses the
  case's criteria, without confirmation; SD counts from ``sd_min_days`` as usual (REC-C3).
- PRE-2: a responder has CR or PR there; a subject without a pre-ablation study is a
  non-responder (the rate itself is computed in the analysis, per arm).
- PRE-3: a liver lesion measurable at baseline and gone at the last pre-ablation study is a
  disappearing liver metastasis (DLM); each is listed with what happened to its site.
- PRE-4: tumour seen later at a DLM site is an in-situ recurrence, dated to the first study
  showing it: LTP (or residual tumour, ABL-8) of that lesion when the site was ablated,
  intrahepatic progression when it was not.  Both are DFS events.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date

from .best_response import Visit, best_overall_response
from .context import CaseContext
from .results import (
    CR,
    LOCAL_LTP,
    LOCAL_RESIDUAL,
    PR,
    AblatedLesionResult,
    DisappearedLesion,
    PreAblation,
)


def _tissue_back(ctx: CaseContext, lesion_id: str, tp_id: str) -> bool:
    """Viable tissue recorded on the lesion itself, or a focus next to it (PRE-4)."""
    o = ctx.obs.get((lesion_id, tp_id))
    if o is not None:
        if o.status in ("too-small", "present", "progressed"):
            return True
        if o.status == "measured":
            value = ctx.criteria_value(ctx.lesions[lesion_id], o)
            if value is None:
                value = o.viable_diameter_mm or o.longest_diameter_mm
            if value is not None and value > 0:
                return True
    tp = next(t for t in ctx.timepoints if t.id == tp_id)
    return any(ctx.focus_reading(fid, tp) in ("viable", "retro") for fid in ctx.foci_of.get(lesion_id, ()))


def disappeared_lesions(ctx: CaseContext, ablations: dict[str, AblatedLesionResult]) -> tuple[DisappearedLesion, ...]:
    """PRE-3 and PRE-4: every DLM, what was done at its site, and its in-situ recurrence."""
    out: list[DisappearedLesion] = []
    for lid in sorted(ctx.dlm):
        lesion = ctx.lesions[lid]
        last = ctx.dlm[lid]
        ablated = ctx.ablation_dates.get(lid, ())
        resected = ctx.resection_dates.get(lid)
        site = "ablated" if ablated else ("resected" if resected else "observed")
        treated_on = ablated[0] if ablated else resected
        when: date | None = None
        tp_id: str | None = None
        kind = ""
        rules = ["PRE-3"]
        result = ablations.get(lid)
        for tp in ctx.timepoints[ctx.order[last.id] + 1 :]:
            if not tp.imaging_done or (resected is not None and tp.date >= resected):
                continue
            if ablated and tp.date == ablated[0]:
                continue  # technical-success imaging of the ablation (§11.11)
            if ablated and tp.date > ablated[0] and result is not None:
                # After the ablation the ablated-tumour states decide (ABL-4, ABL-5, ABL-8).
                state = next((st for st in result.states if st.timepoint == tp.id), None)
                if state is not None and state.status in (LOCAL_LTP, LOCAL_RESIDUAL):
                    when, tp_id = tp.date, tp.id
                    kind = "LTP" if state.status == LOCAL_LTP else "residual"
                    break
                continue
            if _tissue_back(ctx, lid, tp.id):
                when, tp_id, kind = tp.date, tp.id, "IDP"
                break
        if when is not None:
            rules.append("PRE-4")
            rules.extend(("ABL-5",) if kind == "LTP" else ("ABL-4", "ABL-8") if kind == "residual" else ("ABL-6",))
        baseline_mm = ctx.criteria_value(lesion, ctx.obs.get((lid, ctx.baseline.id)))
        out.append(
            DisappearedLesion(
                lesion=lid,
                role=lesion.role,
                baseline_mm=baseline_mm,
                last_pre_ablation_timepoint=last.id,
                last_pre_ablation_date=last.date,
                site=site,
                site_treated_date=treated_on,
                recurrence_date=when,
                recurrence_timepoint=tp_id,
                recurrence_kind=kind,
                rules=tuple(rules),
            )
        )
    return tuple(out)


def pre_ablation_response(
    ctx: CaseContext,
    visits: Sequence[Visit],
    dlm: tuple[DisappearedLesion, ...],
    new_therapy_date: date | None,
) -> PreAblation:
    """PRE-1 and PRE-2: the best response in the pre-ablation window (no confirmation)."""
    window = {tp.id for tp in ctx.pre_ablation}
    inside = [v for v in visits if v.timepoint in window]
    if ctx.first_ablation is None:
        return PreAblation(None, (), None, "", None, False, (), dlm)
    scanned = [tp for tp in ctx.pre_ablation if tp.imaging_done]
    if not inside:
        return PreAblation(
            ctx.first_ablation, tuple(window), None, "", None, False, ("PRE-1", "PRE-2"), dlm
        )
    settings = dataclasses.replace(ctx.settings, confirmation_required=False)
    best = best_overall_response(
        inside,
        origin=ctx.case.origin_date,
        settings=settings,
        has_targets=bool(ctx.targets),
        new_therapy_date=new_therapy_date,
    )
    return PreAblation(
        first_ablation_date=ctx.first_ablation,
        timepoints=tuple(tp.id for tp in ctx.pre_ablation),
        last_scan_date=scanned[-1].date if scanned else None,
        best=best.category,
        best_timepoint=best.timepoint,
        responder=best.category in (CR, PR),
        rules=("PRE-1", "PRE-2", *best.rules),
        dlm=dlm,
    )


__all__ = ["disappeared_lesions", "pre_ablation_response"]
