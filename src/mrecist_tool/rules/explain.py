"""A readable account of how each category at a timepoint was reached, rule by rule."""

from __future__ import annotations

from .arith import display_mm, display_pct
from .results import CaseAssessment, Decision


def _decision_lines(title: str, d: Decision | None) -> list[str]:
    if d is None:
        return []
    lines = [f"{title}: {d.category}    [{', '.join(d.rules)}]"]
    lines += [f"    - {n}" for n in d.notes]
    lines += [f"    ! {f}" for f in d.flags]
    return lines


def explain_timepoint(a: CaseAssessment, timepoint: str) -> str:
    """Explain one timepoint of an assessed case (raises KeyError for an unknown timepoint)."""
    r = a.timepoint(timepoint)
    s = a.settings
    out = [
        f"Subject {a.subject} — timepoint {r.timepoint} ({r.date.isoformat()}) — {s.criteria}"
        + (" — baseline" if r.baseline else ""),
        f"Settings: PR ≥ {display_mm(s.pr_threshold)} % below baseline; PD ≥ {display_mm(s.pd_rel_threshold)} % above nadir"
        + (f" and ≥ {display_mm(s.pd_abs_min)} mm" if s.pd_abs_min else " (no absolute minimum, MR-T4)")
        + f"; viability phase {s.viability_phase}; LTP distance ≤ {display_mm(s.ltp_max_distance_mm)} mm.",
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
        return "\n".join(out)
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
    if r.flags:
        out.append("")
        out.append("Review flags:")
        out += [f"  ! {f}" for f in r.flags]
    out.append("")
    out.append("Rule IDs refer to response-rules.md; settings are listed with `mrecist assess --help`.")
    return "\n".join(out)
