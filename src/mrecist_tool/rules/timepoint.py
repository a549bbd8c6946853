"""Target, non-target and overall response at one timepoint (RECIST 1.1 §4.3–4.4, mRECIST §3).

Evaluation order is PD, then NE, then CR, then PR, then SD (GEN-7): progression is never masked
by missing data.  Thresholds are exact (GEN-2, see :mod:`.arith`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from .arith import ZERO, display_mm, meets_absolute_pd, meets_pr, meets_relative_pd
from .context import CaseContext
from .measure import NonTargetState, TargetValue, node_is_normal
from .results import CR, IR_SD, NE, NON_CR_NON_PD, PD, PR, SD, Decision

RECIST_ABS_MIN_MM = Decimal(5)  # REC-T3's absolute increase, used by MR-T7 recist_like


@dataclass(slots=True)
class History:
    """What earlier timepoints tell the current one."""

    baseline_sum: Decimal | None
    nadir: Decimal | None  # smallest complete sum before this timepoint (REC-T3, MR-T6)
    cr_confirmed_before: bool  # an overall CR confirmed at the previous assessment (REC-N5)
    target_pr_reached: bool  # a target PR or CR before (REC-T5, eortc_faq)


def _fmt(x: Decimal) -> str:
    return display_mm(x)


def _pd_check(
    ctx: CaseContext, nadir: Decimal, current: Decimal, h: History, unmeasured_viable: bool = False
) -> tuple[bool, list[str], list[str]]:
    """REC-T3 / MR-T3 with MR-T4 and MR-T7: is ``current`` progression over ``nadir``?

    ``unmeasured_viable``: some target shows viable tissue that was not measured, so the true sum
    is above ``current``; after a nadir of 0 that alone is a reappearance (REC-NE2: the missing
    value could not change the category)."""
    s = ctx.settings
    rules = ["MR-T3" if s.is_mrecist else "REC-T3", "GEN-2"]
    notes: list[str] = []
    abs_min = s.pd_abs_min
    if nadir == ZERO:
        rules.append("GEN-3")
        if s.is_mrecist and s.nadir_zero_policy == "literal_pd":
            rules.append("MR-T7")
            hit = current > ZERO or unmeasured_viable
            if unmeasured_viable:
                rules.append("REC-NE2")
                notes.append("viable tissue recorded without a measurement: the sum is above 0 mm")
            notes.append(
                f"nadir 0 mm: any reappearance of viable tissue is progression (literal rule); "
                f"sum {_fmt(current)} mm → {'PD' if hit else 'not PD'}"
            )
            return hit, rules, notes
        if s.is_mrecist:
            rules.append("MR-T7")
            # recist_like (§11.7): reappearance needs RECIST's 5 mm absolute increase, whatever
            # pd_abs_min_mm says (that setting is the mRECIST MR-T4 switch, not this floor).
            abs_min = RECIST_ABS_MIN_MM
        rules.append("REC-N5")
        if h.cr_confirmed_before and (current > ZERO or unmeasured_viable):
            notes.append("reappearance after a confirmed overall CR: progression (REC-N5)")
            return True, rules, notes
    rel = meets_relative_pd(nadir, current, s.pd_rel_threshold)
    absolute = meets_absolute_pd(nadir, current, abs_min)
    if abs_min > ZERO:
        rules.append("MR-T4" if s.is_mrecist else "REC-T3")
    notes.append(
        f"vs nadir {_fmt(nadir)} mm: increase {_fmt(current - nadir)} mm; "
        f"(S−N)·100 ≥ {_fmt(s.pd_rel_threshold)}·N is {rel}"
        + (f"; S−N ≥ {_fmt(abs_min)} mm is {absolute}" if abs_min > ZERO else "")
    )
    return rel and absolute, list(dict.fromkeys(rules)), notes


def target_response(
    ctx: CaseContext,
    values: Sequence[TargetValue],
    h: History,
    nontarget_states: Sequence[NonTargetState] = (),
) -> Decision:
    s = ctx.settings
    rules: list[str] = []
    flags: list[str] = [f for v in values for f in v.flags]
    notes: list[str] = [n for v in values for n in v.notes]
    for v in values:
        rules.extend(v.rules)
    known = [v for v in values if v.measure is not None]
    partial = sum((v.measure for v in known if v.measure is not None), ZERO)
    complete = len(known) == len(values)
    if h.baseline_sum is None:
        return Decision(
            NE,
            tuple(dict.fromkeys([*rules, "REC-B3"])),
            tuple(flags),
            (*notes, "baseline sum incomplete: responses cannot be judged"),
        )
    nadir = h.nadir if h.nadir is not None else h.baseline_sum

    # PD first (GEN-7); with missing lesions the partial sum is a lower bound (REC-NE2).
    unmeasured_viable = any(v.measure is None and v.viable for v in values)
    is_pd, pd_rules, pd_notes = _pd_check(ctx, nadir, partial, h, unmeasured_viable)
    if is_pd and (complete or known or unmeasured_viable):
        if not complete:
            pd_rules.append("REC-NE2")
            pd_notes.append(f"partial sum {_fmt(partial)} mm of the measured targets already meets PD")
        return Decision(PD, tuple(dict.fromkeys([*rules, *pd_rules])), tuple(flags), (*notes, *pd_notes))
    if not complete:
        return Decision(
            NE,
            tuple(dict.fromkeys([*rules, "REC-NE2"])),
            tuple(flags),
            (*notes, *pd_notes, "some targets not evaluable and the rest do not show PD"),
        )
    current = partial
    blocking = [] if s.is_mrecist else _pathological_nontarget_nodes(ctx, nontarget_states)
    if _all_gone(ctx, values) and blocking:
        # REC-T1: "every pathological node (target or non-target)" under 10 mm; without that the
        # targets' disappearance is judged by the sum (PR or SD) below.
        rules.append("REC-T1")
        notes.extend(blocking)
    elif _all_gone(ctx, values):
        rule = "MR-T1" if s.is_mrecist else "REC-T1"
        return Decision(
            CR,
            tuple(dict.fromkeys([*rules, rule])),
            tuple(flags),
            (*notes, *pd_notes, "all targets have disappeared" + (" (no viable tissue)" if s.is_mrecist else "")),
        )
    pr_rule = "MR-T2" if s.is_mrecist else "REC-T2"
    if meets_pr(h.baseline_sum, current, s.pr_threshold):
        return Decision(
            PR,
            tuple(dict.fromkeys([*rules, pr_rule, "GEN-2"])),
            tuple(flags),
            (
                *notes,
                *pd_notes,
                f"sum {_fmt(current)} mm vs baseline {_fmt(h.baseline_sum)} mm: "
                f"(B−S)·100 ≥ {_fmt(s.pr_threshold)}·B holds",
            ),
        )
    if s.pr_persistence == "eortc_faq" and h.target_pr_reached:
        return Decision(
            PR,
            tuple(dict.fromkeys([*rules, "REC-T5"])),
            tuple(flags),
            (
                *notes,
                *pd_notes,
                "PR persists: less than 30 % below baseline now, but no PD since the response (EORTC FAQ)",
            ),
        )
    return Decision(
        SD,
        tuple(dict.fromkeys([*rules, "MR-T5" if s.is_mrecist else "REC-T4"])),
        tuple(flags),
        (
            *notes,
            *pd_notes,
            f"sum {_fmt(current)} mm: not {_fmt(s.pr_threshold)} % below baseline {_fmt(h.baseline_sum)} mm and not PD",
        ),
    )


def _pathological_nontarget_nodes(ctx: CaseContext, states: Sequence[NonTargetState]) -> list[str]:
    """REC-T1's non-target half: why a non-target node keeps the targets from CR, one note each.

    A node whose short axis is back under 10 mm, or that has gone, has the state "absent"
    (:func:`.measure.nontarget_state`); any other state leaves a pathological node, or one that
    was not seen, so the targets' CR cannot be shown.  RECIST 1.1 only: under mRECIST the node
    rule is inherited for nodal targets (§11.1), not for non-target nodes.
    """
    out: list[str] = []
    for st in states:
        lesion = ctx.lesions.get(st.lesion)
        if lesion is None or not lesion.is_node or st.state == "absent":
            continue
        if st.state == "ne":
            out.append(f"non-target node {st.lesion} not evaluated: a CR of the targets cannot be shown (REC-T1)")
        else:
            size = f" short axis {display_mm(st.measure)} mm" if st.measure is not None else ""
            out.append(f"non-target node {st.lesion}{size} is still pathological (not < "
                       f"{display_mm(ctx.settings.node_path_sa_mm)} mm): no CR of the targets (REC-T1)")
    return out


def _all_gone(ctx: CaseContext, values: Sequence[TargetValue]) -> bool:
    """MR-T1 / REC-T1: every non-nodal target 0 mm, every nodal target back to normal size."""
    for v in values:
        assert v.measure is not None
        if v.is_node:
            if not node_is_normal(ctx, ctx.lesions[v.lesion], v.measure):
                return False
        elif v.measure != ZERO:
            return False
    return True


def nontarget_response(ctx: CaseContext, states: Sequence[NonTargetState], h: History) -> Decision:
    s = ctx.settings
    rules = [r for st in states for r in st.rules]
    flags = [f for st in states for f in st.flags]
    notes = [n for st in states for n in st.notes]
    persisting = "IR/SD" if s.is_mrecist else NON_CR_NON_PD
    table = "MR-NT" if s.is_mrecist else "REC-NT"
    kinds = {st.state for st in states}
    if "progressed" in kinds:
        return Decision(PD, tuple(dict.fromkeys([*rules, table])), tuple(flags), tuple(notes))
    back = [st for st in states if st.state == "present"]
    if back and h.cr_confirmed_before:
        # REC-N5 with §11.3: after an overall CR definitively assigned at the previous assessment,
        # a non-target that reappears (or viable tissue at an ablated one, APP-4) is progression.
        app4 = any("APP-4" in st.rules for st in back)
        return Decision(
            PD,
            tuple(dict.fromkeys([*rules, *(["APP-4"] if app4 else []), "REC-N5", "§11.3"])),
            tuple(flags),
            (
                *notes,
                f"{', '.join(st.lesion for st in back)} back after a definitive overall CR: progression "
                + ("(APP-4, REC-N5)" if app4 else "(REC-N5)"),
            ),
        )
    if "ne" in kinds:
        return Decision(
            NE,
            tuple(dict.fromkeys([*rules, "REC-NE2"])),
            tuple(flags),
            (*notes, "not all non-target lesions evaluated"),
        )
    if "present" in kinds:
        return Decision(
            persisting if s.is_mrecist else NON_CR_NON_PD,
            tuple(dict.fromkeys([*rules, table])),
            tuple(flags),
            tuple(notes),
        )
    return Decision(
        CR, tuple(dict.fromkeys([*rules, table])), tuple(flags), (*notes, "all non-target lesions have disappeared")
    )


def overall_with_targets(
    ctx: CaseContext,
    target: Decision,
    nontarget: Decision | None,
    new_yes: bool,
    search_complete: bool,
) -> Decision:
    """Table 1 (RECIST 1.1) / MR-O table, with REC-NE3 and REC-NE4."""
    s = ctx.settings
    table = "MR-O" if s.is_mrecist else "REC-Table1"
    nt = nontarget.category if nontarget is not None else None
    if target.category == PD:
        return Decision(PD, (table,), notes=("target PD",))
    if nt == PD:
        return Decision(PD, (table,), notes=("non-target PD",))
    if new_yes:
        return Decision(PD, (table,), notes=("new lesion",))
    if target.category == NE:
        return Decision(NE, (table, "REC-NE2"), notes=("targets not all evaluable",))
    if target.category == CR:
        if nt in (None, CR):
            if not search_complete:
                return Decision(
                    NE, (table, "REC-NE4"), notes=("CR, but new lesions could not be excluded (incomplete coverage)",)
                )
            return Decision(CR, (table,), notes=("target CR, non-target CR or none, no new lesion",))
        if nt == NE:
            return Decision(PR, (table, "REC-NE3"), notes=("target CR, non-targets not all evaluated: PR",))
        return Decision(PR, (table,), notes=(f"target CR with non-target {nt}: PR",))
    if target.category == PR:
        return Decision(PR, (table,), notes=("target PR, non-target not PD, no new lesion",))
    return Decision(SD, (table,), notes=("target SD, non-target not PD, no new lesion",))


def overall_without_targets(
    ctx: CaseContext, nontarget: Decision | None, new_yes: bool, search_complete: bool
) -> Decision:
    """Table 2: non-target disease only (REC-Table2, END-ORR-3: never PR or SD)."""
    if nontarget is not None and nontarget.category == PD:
        return Decision(PD, ("REC-Table2",), notes=("non-target PD",))
    if new_yes:
        return Decision(PD, ("REC-Table2",), notes=("new lesion",))
    if nontarget is None:
        return Decision(
            NE,
            ("REC-Table2",),
            ("no target or non-target disease at baseline",),
            ("no baseline disease recorded: only new lesions can be assessed",),
        )
    if nontarget.category == NE:
        return Decision(NE, ("REC-Table2", "REC-NE2"), notes=("non-targets not all evaluated",))
    if nontarget.category == CR:
        if not search_complete:
            return Decision(
                NE,
                ("REC-Table2", "REC-NE4"),
                notes=("CR, but new lesions could not be excluded (incomplete coverage)",),
            )
        return Decision(CR, ("REC-Table2",), notes=("all non-target lesions gone, no new lesion",))
    return Decision(NON_CR_NON_PD, ("REC-Table2",), notes=("non-target disease persists (not called SD)",))


__all__ = [
    "IR_SD",
    "History",
    "nontarget_response",
    "overall_with_targets",
    "overall_without_targets",
    "target_response",
]
