"""A readable account of how each category at a timepoint was reached, rule by rule."""

from __future__ import annotations

from .arith import display_mm, display_pct
from .reference import RULES_BY_ID, rule_anchor, rule_ids_in
from .results import CaseAssessment, Decision

#: Where the rule IDs of ``explain`` are documented (docs/rules.md in the repository).
RULES_DOC = "docs/rules.md"


def _decision_lines(title: str, d: Decision | None) -> list[str]:
    if d is None:
        return []
    lines = [f"{title}: {d.category}    [{', '.join(d.rules)}]"]
    lines += [f"    - {n}" for n in d.notes]
    lines += [f"    ! {f}" for f in d.flags]
    return lines


def explain_timepoint(a: CaseAssessment, timepoint: str, *, with_rules: bool = True) -> str:
    """Explain one timepoint of an assessed case (raises KeyError for an unknown timepoint);
    ``with_rules`` ends it with the rules used (:func:`rules_used`)."""
    r = a.timepoint(timepoint)
    s = a.settings
    out = [
        f"Subject {a.subject} — timepoint {r.timepoint} ({r.date.isoformat()}) — {s.criteria}"
        + (" — baseline" if r.baseline else ""),
        f"Settings: PR ≥ {display_mm(s.pr_threshold)} % below baseline; PD ≥ {display_mm(s.pd_rel_threshold)} % above nadir"
        + (f" and ≥ {display_mm(s.pd_abs_min)} mm" if s.pd_abs_min else " (no absolute minimum, MR-T4)")
        + f"; viability phase {s.viability_phase}; LTP distance ≤ {display_mm(s.ltp_max_distance_mm)} mm.",
    ]
    if a.ablations:
        low, high = s.technique_efficacy_window_days
        out.append(f"Ablation: first follow-up window {low}–{high} days (ABL-3); residual tumour must be "
                   f"re-ablated within {s.dfs_retreatment_window} days of the ablation "
                   f"(dfs_retreatment_window_days, END-DFS-4).")
    out += [
        "",
    ]
    if r.baseline:
        out.append(
            f"Baseline sum of {'viable ' if s.is_mrecist else ''}diameters: {display_mm(r.target_sum_mm) or 'incomplete'} mm"
        )
        for row in a.lesions:
            if row.timepoint == r.timepoint:
                out.append(f"  {row.lesion} ({row.role}): {row.status} {display_mm(row.measure_mm)}".rstrip())
        if a.warnings:
            out.append("")
            out.append("Baseline checks:")
            out += [f"  ! {w.lesion + ': ' if w.lesion else ''}{w.message} [{w.rule}]" for w in a.warnings]
        return _finish(out, with_rules)
    out.append(
        f"Sums: current {display_mm(r.target_sum_mm) or 'not all measured'} mm; baseline {display_mm(r.baseline_sum_mm) or '—'} mm "
        f"({display_pct(r.change_from_baseline_pct) or '—'} %); nadir {display_mm(r.nadir_mm) or '—'} mm "
        f"({display_pct(r.change_from_nadir_pct) or '—'} %)"
    )
    out.append("")
    out += _decision_lines("Target response", r.target)
    out += _decision_lines("Non-target response", r.nontarget)
    out += _decision_lines("New lesions", r.new_lesions)
    out += _decision_lines("Overall response", r.overall)
    local = [(ab, st) for ab in a.ablations for st in ab.states if st.timepoint == r.timepoint]
    if local:
        out.append("")
        out.append("Ablated lesions:")
        for ab, st in local:
            out.append(f"  {ab.lesion}: {st.status}    [{', '.join(st.rules)}]")
            out += [f"    ! {f}" for f in st.flags]
    out += pre_ablation_lines(a, r.timepoint)
    if r.flags:
        out.append("")
        out.append("Review flags:")
        out += [f"  ! {f}" for f in r.flags]
    return _finish(out, with_rules)


def pre_ablation_lines(a: CaseAssessment, timepoint: str | None = None) -> list[str]:
    """PRE-1 to PRE-3: the response to preoperative chemotherapy and the disappearing liver
    metastases, for a study in the pre-ablation window (``timepoint``) or the whole case (None).
    Empty when the case has no pre-ablation window (no study between baseline and ablation)."""
    pre = a.pre_ablation
    if pre is None or not pre.timepoints or (timepoint is not None and timepoint not in pre.timepoints):
        return []
    first = pre.first_ablation_date.isoformat() if pre.first_ablation_date else "—"
    best = f"{pre.best} at {pre.best_timepoint}" if pre.best and pre.best_timepoint else pre.best or "none"
    head = ("Pre-ablation window" if timepoint is not None else "Response to preoperative chemotherapy")
    out = ["", f"{head}: {', '.join(pre.timepoints)}, before the first ablation on {first} (PRE-1); "
               f"best response {best}, {'a responder' if pre.responder else 'a non-responder'} (PRE-2, "
               "unconfirmed, reported beside the whole-course best response)."]
    for d in pre.dlm:
        if timepoint is not None and d.last_pre_ablation_timepoint != timepoint:
            continue
        site = {"ablated": f"site ablated on {d.site_treated_date}" if d.site_treated_date else "site ablated",
                "resected": "site resected", "observed": "site observed, not ablated"}.get(d.site, d.site)
        back = (f"; tumour back at {d.recurrence_timepoint} ({d.recurrence_date}): {d.recurrence_kind}"
                if d.recurrence_date else "")
        out.append(f"  {d.lesion}: disappearing liver metastasis at {d.last_pre_ablation_timepoint}, "
                   f"{site}{back}    [{', '.join(d.rules)}]")
    return out


def _finish(out: list[str], with_rules: bool) -> str:
    text = "\n".join(out)
    return text + "\n\n" + rules_used(text) if with_rules else text


def rules_used(text: str) -> str:
    """The rule IDs written in ``text``, each with its title and its entry in docs/rules.md."""
    ids = sorted(rule_ids_in(text) & RULES_BY_ID.keys(), key=list(RULES_BY_ID).index)
    lines = [f"Rules used (see {RULES_DOC}; settings: `mrecist assess --help`):"]
    for rule_id in ids:
        entry = RULES_BY_ID[rule_id]
        lines.append(f"  {rule_id:<11} {entry.title} [{entry.flag}]  {RULES_DOC}#{rule_anchor(rule_id)}")
    return "\n".join(lines)
