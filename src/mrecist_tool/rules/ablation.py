"""Per ablated tumour: complete ablation, residual unablated tumour, or local tumour progression.

The per-tumour state machine of ABL-11:

1. ``ABLATED`` at the ablation date.
2. At the first adequate contrast-enhanced follow-up: no viable tissue → ``COMPLETE`` (primary
   technique efficacy, ABL-3); viable tissue at or in the zone → ``RESIDUAL`` (ABL-4).  A viable
   focus is residual whenever no earlier study showed complete ablation, however late the first
   study is (ABL-8), with a timing flag when it falls outside the protocol window.
3. ``RESIDUAL`` + re-ablation + clean follow-up → ``COMPLETE`` (assisted technique efficacy,
   ABL-10).
4. From ``COMPLETE``, viable tissue within ``ltp_max_distance_mm`` of the zone → ``LTP`` (ABL-5,
   ABL-6); farther foci are new lesions at patient level (see :mod:`.new_lesions`).
5. Resection of the ablated area ends follow-up of the zone.

The LTP date is that of the first study showing the focus; an equivocal focus confirmed later is
dated back to its first detection when ``retro_date_equivocal_new_lesions`` is set (ABL-9).
"""

from __future__ import annotations

from datetime import date

from ..model import Lesion, Timepoint
from .arith import ZERO
from .context import CaseContext
from .measure import criteria_diameter, focus_diameter
from .results import (
    LOCAL_COMPLETE,
    LOCAL_LTP,
    LOCAL_NE,
    LOCAL_RESIDUAL,
    AblatedLesionResult,
    LocalState,
)

_CONTRAST_PHASES = frozenset({"arterial", "portal-venous", "delayed", "hepatobiliary"})


def _adequate(ctx: CaseContext, tp: Timepoint) -> bool:
    """A contrast-enhanced study that can show viable tissue (ABL-3; MR-O2 under mRECIST)."""
    if not tp.imaging_done:
        return False
    if tp.series is not None and not (tp.phases or frozenset()) & _CONTRAST_PHASES:
        return False
    return ctx.viability_phase_ok(tp)


def _viable_focus_timepoints(ctx: CaseContext, lesion_id: str) -> tuple[dict[str, str], set[str], set[str]]:
    """Timepoints at which a focus next to the lesion is viable tissue (after ABL-9 dating),
    those at which only an equivocal focus is pending, and those dated back (ABL-9).

    Read from :meth:`CaseContext.focus_reading`, the one answer the target sums use too (§11.6).
    """
    viable: dict[str, str] = {}
    pending: set[str] = set()
    retro: set[str] = set()
    plain: set[str] = set()
    for fid in ctx.foci_of.get(lesion_id, ()):
        first = ctx.local_foci[fid].first_timepoint
        for tp in ctx.timepoints[ctx.order[first] :]:
            reading = ctx.focus_reading(fid, tp)
            if reading in ("viable", "retro"):
                viable.setdefault(tp.id, fid)
                (retro if reading == "retro" else plain).add(tp.id)
            elif reading == "pending":
                pending.add(tp.id)
    pending -= set(viable)
    return viable, pending, retro - plain


def _own_viable(ctx: CaseContext, lesion: Lesion, tp: Timepoint) -> bool | None:
    """Viable tissue recorded on the lesion itself near its zone (None: not assessed)."""
    o = ctx.observation(lesion.id, tp.id)
    if o is None or o.status == "not-evaluable":
        return None
    if o.status == "absent":
        return False
    gap = o.gap_to_ablation_zone_mm
    if gap is not None and gap > ctx.settings.ltp_max_distance_mm:
        return False  # the tissue lies away from the zone: not local (ABL-6)
    if o.status == "measured":
        value = criteria_diameter(ctx, lesion, o)
        if value is None:
            value = focus_diameter(ctx, o)
        return value is not None and value > ZERO
    return True  # too-small, present, progressed


def follow_ablated_lesion(ctx: CaseContext, lesion: Lesion) -> AblatedLesionResult:
    s = ctx.settings
    ablations = ctx.ablation_dates[lesion.id]
    resected = ctx.resection_dates.get(lesion.id)
    viable_foci, pending_foci, retro_foci = _viable_focus_timepoints(ctx, lesion.id)
    low, high = s.technique_efficacy_window_days

    states: list[LocalState] = []
    phase = "ablated"  # ablated | complete | residual | ltp
    reablated = False  # a re-ablation since the last residual / LTP finding
    last_ablation: date = ablations[0]
    efficacy = "not-evaluable"
    first_complete: date | None = None
    residual_date: date | None = None
    ltp_date: date | None = None
    ltp_tp: str | None = None
    last_adequate: date | None = None
    ltp_origin: date | None = None
    seen_adequate = False
    flags: list[str] = []
    all_rules: list[str] = []

    for tp in ctx.timepoints:
        if tp.date <= ablations[0]:
            continue
        if resected is not None and tp.date >= resected:
            break
        current = max(d for d in ablations if d < tp.date)
        if current != last_ablation:
            last_ablation = current
            if phase in ("residual", "ltp"):
                reablated = True
        tp_flags: list[str] = []
        rules: tuple[str, ...]
        if not _adequate(ctx, tp):
            states.append(
                LocalState(tp.id, tp.date, LOCAL_NE, ("ABL-3",), ("no adequate contrast-enhanced imaging of the zone",))
            )
            continue
        own = _own_viable(ctx, lesion, tp)
        focus = viable_foci.get(tp.id)
        if own is None and focus is None:
            states.append(
                LocalState(tp.id, tp.date, LOCAL_NE, ("ABL-3",), (f"{lesion.id} not assessed at this follow-up",))
            )
            continue
        if tp.date in ablations and phase in ("residual", "ltp"):
            # §11.11: a study on the day of a re-ablation is technical-success imaging of that
            # procedure (ABL-2), never a follow-up: it neither clears nor re-dates the tumour.
            viable_now = bool(own) or focus is not None
            status = (LOCAL_RESIDUAL if phase == "residual" else LOCAL_LTP) if viable_now else LOCAL_COMPLETE
            states.append(
                LocalState(tp.id, tp.date, status, ("ABL-2",), ("technical-success imaging on the day of re-ablation",))
            )
            reablated = True
            last_adequate = tp.date
            continue
        if tp.id in pending_foci and focus is None:
            tp_flags.append("equivocal focus at the ablation zone pending")
        last_adequate = tp.date
        viable = bool(own) or focus is not None
        since = (tp.date - last_ablation).days
        if not viable and phase in ("ablated", "residual") and since <= s.technical_success_imaging_days:
            # A clean study this soon after the ablation is technical-success imaging (ABL-2), not
            # the follow-up that establishes complete ablation (ABL-3): tissue seen later is still
            # residual tumour, not LTP.  By default (0) only the ablation-day study is (§11.11),
            # and that one never reaches here; any later study is a follow-up, flagged when it
            # falls outside the window (ABL-8).  Tissue is never hidden this way: it is residual.
            states.append(
                LocalState(
                    tp.id,
                    tp.date,
                    LOCAL_COMPLETE,
                    ("ABL-2",),
                    (
                        *tp_flags,
                        f"technical-success imaging {since} days after ablation "
                        f"(technical_success_imaging_days = {s.technical_success_imaging_days})",
                    ),
                )
            )
            continue
        first_followup = not seen_adequate
        seen_adequate = True
        days = (tp.date - ablations[0]).days
        if first_followup and not (low <= days <= high):
            tp_flags.append(
                f"first follow-up {days} days after ablation, outside the {low}-{high} day window"
                + ("; timing indeterminate: early LTP cannot be excluded" if viable else "")
            )
        if viable:
            if phase in ("ablated", "residual"):
                # No study since the (last) ablation has shown complete ablation (ABL-8).
                rules = ("ABL-4", "ABL-8")
                status = LOCAL_RESIDUAL
                if residual_date is None:
                    residual_date = tp.date
                if first_followup:
                    efficacy = "primary-failure"
                phase, reablated = "residual", False
            else:  # complete or ltp
                rules = ("ABL-5", "ABL-6", "ABL-11")
                status = LOCAL_LTP
                if ltp_date is None:
                    ltp_date, ltp_tp = tp.date, tp.id
                if tp.id in retro_foci:
                    rules = (*rules, "ABL-9")
                    tp_flags.append("equivocal focus confirmed later; dated to this study (ABL-9)")
                phase, reablated = "ltp", False
        else:
            if phase == "ablated":
                rules = ("ABL-3", "ABL-11")
                if first_followup:
                    efficacy = "primary-success"
                    ltp_origin = ablations[0]
            elif phase == "residual" and reablated:
                rules = ("ABL-3", "ABL-10")
                efficacy = "assisted-success" if efficacy in ("primary-failure", "not-evaluable") else efficacy
                if ltp_origin is None:
                    ltp_origin = last_ablation
                    flags.append("enters the LTP risk set after assisted complete ablation (END-LTP-2)")
            elif not reablated and phase in ("residual", "ltp"):
                rules = ("ABL-11",)
                tp_flags.append(f"{phase} tumour no longer seen without re-treatment: review")
            else:
                rules = ("ABL-11",) if phase == "complete" else ("ABL-10", "END-LTP-5")
            status = LOCAL_COMPLETE
            if first_complete is None:
                first_complete = tp.date
            phase, reablated = "complete", False
        all_rules.extend(rules)
        states.append(LocalState(tp.id, tp.date, status, rules, tuple(tp_flags)))
        flags.extend(f"{tp.id}: {f}" for f in tp_flags)

    if efficacy == "not-evaluable" and not seen_adequate:
        flags.append("no adequate contrast-enhanced follow-up of the zone")
    control_origin, control_failure = _local_control(ablations, resected, states)
    return AblatedLesionResult(
        lesion=lesion.id,
        role=lesion.role,
        ablation_dates=ablations,
        states=tuple(states),
        technique_efficacy=efficacy,
        first_complete_date=first_complete,
        residual_date=residual_date,
        ltp_date=ltp_date,
        ltp_timepoint=ltp_tp,
        last_adequate_imaging_date=last_adequate,
        resected_date=resected,
        ltp_origin_date=ltp_origin,
        flags=tuple(dict.fromkeys(flags)),
        rules=tuple(dict.fromkeys(all_rules)),
        local_control_origin_date=control_origin,
        local_control_failure_date=control_failure,
    )


def _local_control(
    ablations: tuple[date, ...], resected: date | None, states: list[LocalState]
) -> tuple[date | None, date | None]:
    """END-LTP-5 (§11.12): the episode of local control that starts at the last ablation of the site.

    The project's reading: the origin is the last ablation done while the zone was followed
    (before any resection).  Its first follow-up (technical-success imaging excluded, ABL-2,
    §11.11) must show complete ablation — tumour seen there is residual after that treatment,
    not LTP (ABL-4), so the tumour is left out (None, None), as END-LTP-2 leaves out residual
    tumour.  Without an adequate follow-up after it the tumour still enters from that ablation
    (as the per-tumour LTP analysis does, PJ-2).  The failure is the first LTP after the clean
    follow-up.  A tumour never re-ablated therefore has the origin and event of the primary
    per-tumour LTP analysis.
    """
    done = [d for d in ablations if resected is None or d < resected]
    last = done[-1] if done else ablations[0]
    after = [st for st in states if st.date > last and st.status != LOCAL_NE and "ABL-2" not in st.rules]
    if not after:
        return last, None
    if after[0].status != LOCAL_COMPLETE:
        return None, None
    failure = next((st.date for st in after if st.status in (LOCAL_LTP, LOCAL_RESIDUAL)), None)
    return last, failure
