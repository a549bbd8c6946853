"""Assemble one case's assessment: timepoints, lesions, ablated tumours, best response, events.

Pure functions over the frozen :class:`~mrecist_tool.model.Case`; no I/O, no heavy imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ..model import Case, Timepoint
from .ablation import follow_ablated_lesion
from .arith import ZERO, pct_change
from .baseline_checks import baseline_findings, excess_target_findings
from .best_response import Visit, best_overall_response
from .context import CaseContext
from .criteria import Settings, resolve_settings
from .measure import focus_diameter, node_is_normal, nontarget_state, target_value
from .new_lesions import follow_new_lesions, new_lesions_at
from .preop import disappeared_lesions, pre_ablation_response
from .results import (
    CR,
    LOCAL_LTP,
    LOCAL_NE,
    NE,
    PD,
    PR,
    AblatedLesionResult,
    CaseAssessment,
    Decision,
    Finding,
    LesionTimepoint,
    LocalState,
    SubjectEvents,
    TimepointResult,
)
from .timepoint import (
    History,
    nontarget_response,
    overall_with_targets,
    overall_without_targets,
    target_response,
)


def excess_targets(case: Case, settings: Settings | None = None) -> list[Finding]:
    """§11.2: warnings for more target lesions than REC-B1 / MR-B3 allow.

    For ``mrecist validate`` and the viewer: the engine assesses every recorded target anyway.

    Parameters
    ----------
    case : Case
        The case.
    settings : Settings, optional
        The rule settings; default: the case's own.

    Returns
    -------
    list of Finding
        Empty when the targets are within the limits.
    """
    s = settings if settings is not None else settings_for_case(case)
    return excess_target_findings(CaseContext.build(case, s))


def settings_for_case(case: Case, **cli: object) -> Settings:
    """The case's effective settings: defaults ⊕ profile ⊕ criteria ⊕ settings ⊕ command line.

    Parameters
    ----------
    case : Case
        The case (its ``profile``, ``criteria`` and ``settings`` are used).
    **cli : object
        ``profile``, ``criteria`` and ``overrides`` as on the command line (optional).

    Returns
    -------
    Settings
        As :func:`resolve_settings` combines them.

    Raises
    ------
    SettingsError
        As :func:`resolve_settings`.
    """
    return resolve_settings(
        profile=case.profile,
        case_criteria=case.criteria,
        case_settings=case.settings,
        cli_profile=cli.get("profile"),  # type: ignore[arg-type]
        cli_criteria=cli.get("criteria"),  # type: ignore[arg-type]
        cli_overrides=cli.get("overrides"),  # type: ignore[arg-type]
    )


def profile_for_case(case: Case, **cli: object) -> str:
    """The name of the settings profile a case is assessed with (the command line's
    ``--profile``, else the case's ``profile``, else the default), as :func:`settings_for_case`
    applies it; recorded in subjects.csv."""
    from .criteria import DEFAULT_PROFILE

    return str(cli.get("profile") or case.profile or DEFAULT_PROFILE)


def assess_case(case: Case, settings: Settings | None = None) -> CaseAssessment:
    """Assess every timepoint, every ablated lesion and the best overall response of a case.

    Pure: reads nothing but ``case`` and ``settings``, and the same input always gives the same
    result.  "Not evaluable" is a category with its reasons, never an exception.

    Parameters
    ----------
    case : Case
        A case, e.g. from :func:`mrecist_tool.casefile.read_case`.
    settings : Settings, optional
        The rule settings; default: the case's own (:func:`settings_for_case`).

    Returns
    -------
    CaseAssessment
        Every category with the rule IDs that decided it, per-lesion rows, the ablated tumours'
        course, the best overall response and the dates the endpoints need.
    """
    s = settings if settings is not None else settings_for_case(case)
    ctx = CaseContext.build(case, s)
    courses = follow_new_lesions(ctx)
    ablations = {
        lid: follow_ablated_lesion(ctx, ctx.lesions[lid]) for lid in sorted(ctx.ablation_dates) if lid in ctx.lesions
    }
    local_status = {(lid, st.timepoint): st.status for lid, res in ablations.items() for st in res.states}
    local_by_tp: dict[str, list[tuple[str, LocalState]]] = {}
    for lid, res in ablations.items():
        for st in res.states:
            local_by_tp.setdefault(st.timepoint, []).append((lid, st))
    ltp_timepoints = {res.ltp_timepoint for res in ablations.values() if res.ltp_timepoint}
    # PRE-4: tumour back at a disappeared metastasis left under observation is intrahepatic
    # progression (a DFS event), dated to the first study showing it.
    dlm = disappeared_lesions(ctx, ablations)
    dlm_idp: dict[str, list[str]] = {}
    for item in dlm:
        if item.recurrence_kind == "IDP" and item.recurrence_timepoint is not None:
            dlm_idp.setdefault(item.recurrence_timepoint, []).append(item.lesion)
    has_targets = bool(ctx.targets)
    bl = ctx.baseline
    # §11.2: every timepoint's sum includes the excess targets, so every row says so.
    excess_flags = tuple(f"{f.message} [{f.rule}]" for f in excess_target_findings(ctx))

    rows: list[TimepointResult] = []
    lesion_rows: list[LesionTimepoint] = []
    complete_sums: list[tuple[date, Decimal]] = []
    baseline_sum: Decimal | None = None
    evaluable: list[tuple[date, str]] = []  # (date, overall) of evaluable follow-ups
    target_pr_reached = False
    visits: list[Visit] = []
    ehp_nontarget: date | None = None

    for tp in ctx.timepoints:
        if tp.date < bl.date:
            continue  # validation refuses this; never assess a study before the baseline
        values = [target_value(ctx, lesion, tp) for lesion in ctx.targets]
        states = [nontarget_state(ctx, lesion, tp) for lesion in ctx.nontargets]
        total: Decimal | None = None
        if values and all(v.measure is not None for v in values):
            total = sum((v.measure for v in values if v.measure is not None), ZERO)
        nl = new_lesions_at(ctx, courses, tp)
        if tp is bl or tp.id == bl.id:
            baseline_sum = total
            if total is not None and s.nadir_includes_baseline:
                complete_sums.append((tp.date, total))
            rows.append(
                TimepointResult(
                    timepoint=tp.id,
                    date=tp.date,
                    baseline=True,
                    criteria=s.criteria,
                    target_sum_mm=total,
                    baseline_sum_mm=total,
                    nadir_mm=None,
                    change_from_baseline_pct=None,
                    change_from_nadir_pct=None,
                    target=None,
                    nontarget=None,
                    new_lesions=Decision("no", ()),
                    overall=None,
                    flags=excess_flags,
                )
            )
            lesion_rows.extend(_lesion_rows(ctx, tp, values, states, local_status))
            continue

        nadir = min((v for _, v in complete_sums), default=None)
        if nadir is None:
            nadir = baseline_sum  # MR-T6: with no earlier sum the baseline is the reference
        h = History(
            baseline_sum=baseline_sum,
            nadir=nadir,
            cr_confirmed_before=_cr_confirmed(evaluable, s.confirm_min_days),
            target_pr_reached=target_pr_reached,
        )
        target = target_response(ctx, values, h, states) if has_targets else None
        nontarget = nontarget_response(ctx, states, h) if ctx.nontargets else None
        search_complete = tp.new_lesion_search != "incomplete"
        new_yes = bool(nl.counted)
        flags: list[str] = list(excess_flags)
        if not tp.imaging_done:
            overall = Decision(NE, ("REC-NE1",), notes=("no imaging at this visit",))
            new_decision = Decision("no", ("REC-NE1",), notes=("no imaging",))
        else:
            if has_targets:
                assert target is not None
                overall = overall_with_targets(ctx, target, nontarget, new_yes, search_complete)
            else:
                overall = overall_without_targets(ctx, nontarget, new_yes, search_complete)
            new_decision = _new_lesion_decision(nl, search_complete)
        cr_then_pr = False
        if overall.category == PR and evaluable and evaluable[-1][1] == CR:
            # The toolkit cannot tell whether the CR was real (REC-C5): always flag for review.
            flags.append("CR followed by PR – reviewer decision")
            if s.cr_then_pr_policy == "treat_as_pd":
                overall = Decision(
                    PD,
                    (*overall.rules, "REC-C5"),
                    overall.flags,
                    (*overall.notes, "PR after a CR: recurrence, treated as PD (REC-C5)"),
                )
            else:
                cr_then_pr = True
                overall = Decision(overall.category, (*overall.rules, "REC-C5"), overall.flags, overall.notes)
        if nl.equivocal:
            flags.append("equivocal new lesion pending: " + ", ".join(nl.equivocal))
        if nl.retro:
            flags.append("PD dated back to the first detection of " + ", ".join(nl.retro))
        if not search_complete:
            flags.append("new-lesion search incomplete (REC-NE4)")
        for d in (target, nontarget):
            if d is not None:
                flags.extend(d.flags)

        progression: list[str] = []
        if overall.category == PD:
            if target is not None and target.category == PD:
                progression.append("target")
            if nontarget is not None and nontarget.category == PD:
                progression.append("non-target")
            if new_yes:
                progression.append("new")
        if tp.id in ltp_timepoints:
            progression.append("LTP")
        if nl.counted_intrahepatic or tp.id in dlm_idp:
            progression.append("IDP")
        if tp.id in dlm_idp and overall is not None:
            overall = Decision(
                overall.category,
                (*overall.rules, "PRE-4"),
                overall.flags,
                (*overall.notes, *(f"{lid}: tumour back at a disappeared metastasis, not ablated: "
                                   "intrahepatic progression (PRE-4)" for lid in dlm_idp[tp.id])),
            )
        extrahepatic_nt = [
            st.lesion for st in states if st.state == "progressed" and not ctx.lesions[st.lesion].is_intrahepatic
        ]
        if nl.counted_extrahepatic or extrahepatic_nt:
            progression.append("EHP")
            if extrahepatic_nt and ehp_nontarget is None:
                ehp_nontarget = tp.date

        local_here = [(lid, st) for lid, st in local_by_tp.get(tp.id, ()) if st.status in ("residual", LOCAL_LTP)]
        if local_here and tp.imaging_done:
            overall = Decision(
                overall.category,
                tuple(dict.fromkeys([*overall.rules, *(r for _, st in local_here for r in st.rules)])),
                overall.flags,
                (*overall.notes, *(f"{lid}: {st.status} at the ablation zone" for lid, st in local_here)),
            )

        if total is not None and tp.imaging_done:
            complete_sums.append((tp.date, total))
        if target is not None and target.category in (PR, CR):
            target_pr_reached = True
        if overall.category != NE:
            evaluable.append((tp.date, overall.category))
        visits.append(Visit(tp.id, tp.date, overall.category, cr_then_pr))
        rows.append(
            TimepointResult(
                timepoint=tp.id,
                date=tp.date,
                baseline=False,
                criteria=s.criteria,
                target_sum_mm=total,
                baseline_sum_mm=baseline_sum,
                nadir_mm=nadir if has_targets else None,
                change_from_baseline_pct=pct_change(baseline_sum, total),
                change_from_nadir_pct=pct_change(nadir, total) if has_targets else None,
                target=target,
                nontarget=nontarget,
                new_lesions=new_decision,
                overall=overall,
                progression=tuple(dict.fromkeys(progression)),
                flags=tuple(dict.fromkeys(flags)),
            )
        )
        lesion_rows.extend(_lesion_rows(ctx, tp, values, states, local_status))

    new_therapy = _new_therapy_date(case, bl.date)
    best = best_overall_response(
        visits,
        origin=case.origin_date,
        settings=s,
        has_targets=has_targets,
        new_therapy_date=new_therapy,
    )
    pre = pre_ablation_response(ctx, visits, dlm, new_therapy)
    untreated = _untreated_viable_targets(ctx, rows)
    death = case.subject.death.date if case.subject.death else None
    not_cleared = residual_not_cleared_in_window(list(ablations.values()), s.dfs_retreatment_window)
    events = _events(rows, list(ablations.values()), best.progression_date, ehp_nontarget, new_therapy, untreated,
                     death=death, not_cleared=not_cleared)
    warnings = tuple(baseline_findings(ctx))
    all_flags = [f for r in rows for f in r.flags] + list(best.flags)
    all_flags += [
        f"never disease-free: target {lid} never ablated or resected and still viable at {tp} (END-DFS-4, §11.19)"
        for lid, tp in untreated
    ]
    all_flags += [
        f"never disease-free: {lid}: {why} (END-DFS-4)"
        for lid, why in not_cleared
    ]
    all_flags += [f"{a.lesion}: {f}" for a in ablations.values() for f in a.flags]
    return CaseAssessment(
        case=case,
        settings=s,
        timepoints=tuple(rows),
        lesions=tuple(lesion_rows),
        ablations=tuple(ablations.values()),
        best=best,
        events=events,
        has_target_disease=has_targets,
        warnings=warnings,
        flags=tuple(dict.fromkeys(all_flags)),
        pre_ablation=pre,
    )


def _cr_confirmed(evaluable: list[tuple[date, str]], min_days: int) -> bool:
    """REC-N5: was an overall CR definitively (confirmed) assigned at the previous assessment?

    Taken as: the last evaluable assessment was CR and the run of consecutive CRs ending there
    spans at least ``confirm_min_days`` [D].
    """
    if not evaluable or evaluable[-1][1] != CR:
        return False
    end = evaluable[-1][0]
    start = end
    for when, category in reversed(evaluable):
        if category != CR:
            break
        start = when
    return (end - start).days >= min_days


def _new_lesion_decision(nl, search_complete: bool) -> Decision:
    rules = list(nl.rules)
    flags: list[str] = []
    if not search_complete:
        rules.append("REC-NE4")
        flags.append("new-lesion search incomplete")
    if nl.counted:
        category = "yes"
    elif nl.equivocal:
        category = "equivocal"
    else:
        category = "no"
    return Decision(category, tuple(dict.fromkeys(rules)), tuple(flags), nl.notes)


def _lesion_rows(ctx, tp: Timepoint, values, states, local_status) -> list[LesionTimepoint]:
    rows: list[LesionTimepoint] = []
    for v in values:
        rows.append(
            LesionTimepoint(
                v.lesion,
                "target",
                tp.id,
                v.status,
                v.measure,
                local_status.get((v.lesion, tp.id), ""),
                v.rules,
                v.notes,
            )
        )
    for st in states:
        rows.append(
            LesionTimepoint(
                st.lesion,
                "non-target",
                tp.id,
                st.status,
                st.measure,
                local_status.get((st.lesion, tp.id), ""),
                st.rules,
                st.notes,
            )
        )
    for lesion in ctx.new_lesions:
        o = ctx.obs.get((lesion.id, tp.id))
        first = ctx.first_seen(lesion.id)
        if o is None and (first is None or first.date > tp.date):
            continue
        status = o.status if o is not None else "not-evaluated"
        measure = focus_diameter(ctx, o) if o is not None and o.status == "measured" else None
        focus = ctx.local_foci.get(lesion.id)
        note = (f"viable tissue of {focus.lesion} (within ltp_max_distance_mm)",) if focus else ()
        rows.append(
            LesionTimepoint(
                lesion.id,
                "new",
                tp.id,
                status,
                measure,
                local_status.get((lesion.id, tp.id), ""),
                ("APP-3",) if focus else (),
                note,
            )
        )
    return rows


def _new_therapy_date(case: Case, baseline: date) -> date | None:
    # REC-C2: a new anticancer therapy; therapy the protocol prescribes does not count.
    dates = [p.date for p in case.procedures if p.type == "systemic-therapy" and not p.protocol and p.date > baseline]
    return min(dates) if dates else None


def _untreated_viable_targets(ctx: CaseContext, rows: list[TimepointResult]) -> list[tuple[str, str]]:
    """§11.19: targets never ablated nor resected and still viable after the treatment phase.

    The treatment phase ends, for this purpose, at the start of the technique-efficacy window
    after the first local procedure (ablation or resection); the lesion is judged at the first
    evaluable follow-up from then on.  Cases without any local procedure have no treatment
    phase and are left alone.  Returns (lesion, timepoint) pairs.
    """
    procedures = [p for p in ctx.case.procedures if p.type in ("ablation", "resection") and p.date > ctx.baseline.date]
    if not procedures:
        return []
    treated = {lid for p in ctx.case.procedures if p.type in ("ablation", "resection") for lid in p.lesions}
    start = min(p.date for p in procedures)
    low = ctx.settings.technique_efficacy_window_days[0]
    evaluable = [r for r in rows if not r.baseline and r.overall is not None and (r.date - start).days >= low]
    out: list[tuple[str, str]] = []
    for lesion in ctx.targets:
        if lesion.id in treated:
            continue
        for r in evaluable:
            tp = next(t for t in ctx.timepoints if t.id == r.timepoint)
            value = target_value(ctx, lesion, tp)
            if value.measure is None and value.viable is None:
                continue  # not evaluated here: judged at the next evaluable study
            if lesion.is_node:
                viable = value.measure is not None and not node_is_normal(ctx, lesion, value.measure)
            else:
                viable = bool(value.viable) or (value.measure is not None and value.measure > ZERO)
            if viable:
                out.append((lesion.id, r.timepoint))
            break
    return out


def _events(
    rows: list[TimepointResult],
    ablations: list[AblatedLesionResult],
    progression_date: date | None,
    ehp_nontarget: date | None,
    new_therapy: date | None,
    untreated: list[tuple[str, str]] | None = None,
    *,
    death: date | None = None,
    not_cleared: list[tuple[str, str]] | None = None,
) -> SubjectEvents:
    followups = [r for r in rows if not r.baseline]
    first_pd = next((r for r in followups if r.overall is not None and r.overall.category == PD), None)
    ltp = min((a.ltp_date for a in ablations if a.ltp_date), default=None)
    idp = next((r.date for r in followups if "IDP" in r.progression), None)
    ehp = next((r.date for r in followups if "EHP" in r.progression), None)
    if ehp_nontarget is not None:
        ehp = min(ehp, ehp_nontarget) if ehp else ehp_nontarget
    dated = {k: d for k, d in (("LTP", ltp), ("IDP", idp), ("EHP", ehp)) if d is not None}
    first_rec = min(dated.values(), default=None)
    evaluable = [r for r in followups if r.overall is not None and r.overall.category != NE]
    # END-DFS-4: a target never treated, or residual tumour not cleared within the window
    # (residual_not_cleared_in_window, worked out once by assess_case for the flags too).
    never_df = bool(untreated) or bool(not_cleared)
    imaging = [r.date for r in rows if r.overall is None or "REC-NE1" not in r.overall.rules]
    assessments = tuple(r.date for r in rows if r.baseline or (r.overall is not None and r.overall.category != NE))
    patient_ltp = _patient_ltp(rows, ablations, death)
    return SubjectEvents(
        first_progression_date=first_pd.date if first_pd else progression_date,
        first_progression_kinds=first_pd.progression if first_pd else (),
        first_recurrence_date=first_rec,
        first_recurrence_kinds=tuple(k for k, d in dated.items() if d == first_rec),
        first_ltp_date=ltp,
        first_idp_date=idp,
        first_ehp_date=ehp,
        last_adequate_assessment_date=evaluable[-1].date if evaluable else None,
        last_imaging_date=max(imaging) if imaging else None,
        never_disease_free=never_df,
        has_post_baseline_assessment=bool(evaluable),
        new_therapy_date=new_therapy,
        assessment_dates=assessments,
        ltp_risk_set=patient_ltp.risk_set,
        first_ltp_primary_date=patient_ltp.first_ltp,
        ltp_assessment_dates=patient_ltp.assessment_dates,
        ltp_censor_date=patient_ltp.censor_date,
        ltp_risk_end_date=patient_ltp.risk_end,
    )


@dataclass(frozen=True, slots=True)
class _PatientLtp:
    risk_set: bool
    first_ltp: date | None
    assessment_dates: tuple[date, ...]
    censor_date: date | None
    risk_end: date | None = None


def residual_not_cleared_in_window(
    ablations: list[AblatedLesionResult], window_days: int | None
) -> list[tuple[str, str]]:
    """END-DFS-4: residual unablated tumour not successfully re-treated within the protocol window.

    The project's reading of "within the protocol window": the re-ablation that cleared the
    residual tumour (the last ablation before the first complete study after it) took place at
    most ``window_days`` days after the tumour's first ablation (``dfs_retreatment_window_days``,
    default the upper bound of ``technique_efficacy_window_days``); exactly at the bound is
    within.  A residual tumour never cleared, cleared only by a later re-ablation, or no longer
    seen without any re-treatment (it was not re-treated; the ablation course flags it for
    review), makes the patient never disease-free.  Returns (lesion, reason) pairs.
    """
    out: list[tuple[str, str]] = []
    for a in ablations:
        if a.residual_date is None:
            continue
        # Technical-success imaging on a re-ablation day (ABL-2, §11.11) does not clear it.
        cleared = next((st for st in a.states
                        if st.status == "complete" and st.date > a.residual_date and "ABL-2" not in st.rules), None)
        if cleared is None:
            out.append((a.lesion, "residual tumour never cleared"))
            continue
        done = [d for d in a.ablation_dates if d < cleared.date]
        if len(done) < 2:
            out.append((a.lesion, "residual tumour no longer seen, but not re-treated"))
            continue
        if window_days is None:
            continue
        days = (done[-1] - a.ablation_dates[0]).days
        if days > window_days:
            out.append((a.lesion, f"residual tumour re-treated {days} days after the ablation, "
                                  f"after the {window_days}-day window"))
    return out


def _patient_ltp(
    rows: list[TimepointResult], ablations: list[AblatedLesionResult], death: date | None = None
) -> _PatientLtp:
    """Patient-level time to first LTP from the per-tumour primary risk set (§11.16, §11.17).

    A tumour belongs to it when its first follow-up showed complete ablation (END-LTP-2), or —
    the project's reading of END-LTP-2 and PJ-2 — when it had no adequate follow-up at all
    (technique efficacy not evaluable, no residual tumour seen); the others add no event.  A study
    counts as an LTP assessment when every followed zone still at risk then (ablated before it,
    not resected by then, no LTP before it) was adequately imaged there; a zone never adequately
    followed cannot show LTP (ABL-5) and does not hold the censoring back.  A zone without
    follow-up stays at risk until the death, else until its ablation (as its tumour row).
    """
    primary = [
        a for a in ablations
        if a.technique_efficacy == "primary-success" or (a.technique_efficacy == "not-evaluable" and a.residual_date is None)
    ]
    if not primary:
        return _PatientLtp(False, None, (), None)
    followed = [a for a in primary if a.technique_efficacy == "primary-success"]
    first_ltp = min((a.ltp_date for a in followed if a.ltp_date is not None), default=None)
    local = {(a.lesion, st.timepoint): st.status for a in followed for st in a.states}
    dates: list[date] = []
    for r in rows:
        if not r.baseline and (r.overall is None or "REC-NE1" in r.overall.rules):
            continue  # no imaging at this visit
        at_risk = [
            a
            for a in followed
            if a.ablation_dates[0] < r.date
            and (a.resected_date is None or a.resected_date > r.date)
            and (a.ltp_date is None or a.ltp_date >= r.date)
        ]
        if all(local.get((a.lesion, r.timepoint), LOCAL_NE) != LOCAL_NE for a in at_risk):
            dates.append(r.date)
    censor = dates[-1] if dates else None
    risk_end: date | None = None
    # §11.18: once every zone is resected (without LTP) no zone is at risk any more: censored at
    # the last resection, like each tumour; a zone without follow-up ends at its ablation when the
    # patient is alive (its tumour row contributes no time).
    ends: list[date | None] = []
    for a in primary:
        if a.resected_date is not None:
            ends.append(a.resected_date)
        elif a.technique_efficacy == "primary-success" or death is not None:
            ends.append(None)
        else:
            ends.append(a.ablation_dates[0])
    if first_ltp is None and all(e is not None for e in ends):
        risk_end = max(e for e in ends if e is not None)
        dates = [d for d in dates if d <= risk_end]
        censor = risk_end
    return _PatientLtp(True, first_ltp, tuple(dates), censor, risk_end)
