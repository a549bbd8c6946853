"""Baseline selection checks (REC-M1–M5, REC-B1–B2, MR-B1–B5): warnings, never refusals.

A radiologist may have reasons the protocol allows; the toolkit says what it sees and lets the
assessment proceed.
"""

from __future__ import annotations

from decimal import Decimal

from .arith import display_mm
from .context import CaseContext
from .results import Finding

# REC-B2: paired organs count as one organ; all lymph nodes are one organ.
_ORGAN_ALIASES = {
    "left lung": "lung",
    "right lung": "lung",
    "lungs": "lung",
    "left kidney": "kidney",
    "right kidney": "kidney",
    "kidneys": "kidney",
    "left adrenal": "adrenal",
    "right adrenal": "adrenal",
    "hepatic": "liver",
}


def organ_group(ctx: CaseContext, lesion_id: str) -> str:
    lesion = ctx.lesions[lesion_id]
    if lesion.is_node:
        return "lymph nodes"
    name = lesion.organ.strip().lower()
    if "node" in name:
        return "lymph nodes"
    return _ORGAN_ALIASES.get(name, name)


def measurability_floor(ctx: CaseContext) -> tuple[Decimal, str]:
    """REC-M1: 10 mm, or twice the slice thickness when slices are thicker than 5 mm."""
    floor = ctx.measurability_floor()
    thickness = ctx.baseline.slice_thickness_mm
    if thickness is not None and thickness > 5 and floor > ctx.settings.min_target_ld_mm:
        return floor, f"2 × slice thickness {display_mm(thickness)} mm"
    return floor, f"{display_mm(floor)} mm"


def baseline_findings(ctx: CaseContext) -> list[Finding]:
    s = ctx.settings
    out: list[Finding] = []
    bl = ctx.baseline
    floor, floor_text = measurability_floor(ctx)
    for lesion in ctx.targets:
        o = ctx.observation(lesion.id, bl.id)
        if lesion.kind == "portal-vein-thrombus":
            out.append(
                Finding(
                    "MR-B4", "a portal vein thrombus is non-measurable and always a non-target lesion", lesion.id, bl.id
                )
            )
        if lesion.kind == "effusion":
            out.append(Finding("REC-M3", "an effusion is not measurable and cannot be a target", lesion.id, bl.id))
        if ctx.ablated_before(lesion.id, bl.date) or any(d <= bl.date for d in ctx.ablation_dates.get(lesion.id, ())):
            out.append(
                Finding(
                    "REC-M4",
                    "lesion treated locally before baseline: usually not measurable unless it has progressed",
                    lesion.id,
                    bl.id,
                )
            )
        if o is None or o.status != "measured":
            out.append(
                Finding(
                    "REC-B3",
                    f"target not measured at baseline (status {o.status if o else 'missing'}): the baseline sum is incomplete",
                    lesion.id,
                    bl.id,
                )
            )
            continue
        if lesion.is_node:
            porta = lesion.kind == "porta-hepatis-node" and s.is_mrecist
            need = s.porta_hepatis_malignant_sa_mm if porta else s.node_target_sa_mm
            sa = o.short_axis_mm
            if sa is not None and sa < need:
                out.append(
                    Finding(
                        "MR-B5" if porta else "REC-M2",
                        f"node short axis {display_mm(sa)} mm < {display_mm(need)} mm: not measurable as a target",
                        lesion.id,
                        bl.id,
                    )
                )
            continue
        ld = o.longest_diameter_mm if o.longest_diameter_mm is not None else o.viable_diameter_mm
        if ld is not None and ld < floor:
            out.append(
                Finding(
                    "MR-B1" if s.is_mrecist else "REC-M1",
                    f"longest diameter {display_mm(ld)} mm < {display_mm(floor)} mm ({floor_text}): not measurable",
                    lesion.id,
                    bl.id,
                )
            )
        if s.is_mrecist and o.viable_diameter_mm is not None and o.viable_diameter_mm == 0:
            out.append(
                Finding(
                    "MR-B1", "no viable (enhancing) tissue at baseline: cannot be an mRECIST target", lesion.id, bl.id
                )
            )
    for lesion in ctx.nontargets:
        o = ctx.observation(lesion.id, bl.id)
        if lesion.is_node and o is not None and o.short_axis_mm is not None and o.short_axis_mm < s.node_path_sa_mm:
            out.append(
                Finding(
                    "REC-M2",
                    f"node short axis {display_mm(o.short_axis_mm)} mm < {display_mm(s.node_path_sa_mm)} mm: normal, need not be recorded",
                    lesion.id,
                    bl.id,
                )
            )
        if o is None:
            out.append(Finding("REC-B4", "non-target lesion not recorded at baseline", lesion.id, bl.id))
    out.extend(excess_target_findings(ctx))
    return out


def excess_target_findings(ctx: CaseContext) -> list[Finding]:
    """§11.2: more targets than REC-B1 / MR-B3 allow.  All recorded targets are still assessed
    (nothing is dropped silently); the excess is a warning for ``validate``, the timepoint flags
    and the viewer."""
    s = ctx.settings
    rule = "REC-B1" if not s.is_mrecist else "MR-B3"
    out: list[Finding] = []
    if len(ctx.targets) > s.max_targets_total:
        out.append(
            Finding(
                rule,
                f"{len(ctx.targets)} target lesions, more than the maximum of {s.max_targets_total}; "
                "all are assessed (§11.2)",
            )
        )
    per_organ: dict[str, list[str]] = {}
    for lesion in ctx.targets:
        per_organ.setdefault(organ_group(ctx, lesion.id), []).append(lesion.id)
    for organ, ids in sorted(per_organ.items()):
        if len(ids) > s.max_targets_per_organ:
            out.append(
                Finding(
                    rule,
                    f"{len(ids)} target lesions in {organ} ({', '.join(ids)}), more than "
                    f"{s.max_targets_per_organ} per organ; all are assessed (§11.2)",
                )
            )
    return out
