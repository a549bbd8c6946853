"""The results panel's content as plain rows (no Qt): what the engine decided, with the rule IDs.

Nothing is decided here: every value is read from :class:`mrecist_tool.rules.CaseAssessment`.
Each cell carries a tooltip naming the rules, flags and notes behind it (GEN-8).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from mrecist_tool.model import Observation
from mrecist_tool.rules import CaseAssessment, Decision

TIMEPOINT_COLUMNS = ("timepoint", "date", "sum mm", "Δ BL", "nadir", "Δ nadir",
                     "target", "non-target", "new", "overall")
ABLATION_COLUMNS = ("lesion", "ablated", "efficacy", "LTP date")


@dataclass(frozen=True)
class Cell:
    text: str
    tooltip: str = ""
    emphasis: bool = False  # progression and not-evaluable stand out in the table


def _num(v: Decimal | None, suffix: str = "") -> str:
    if v is None:
        return ""
    return f"{v.normalize():f}{suffix}" if v == v.to_integral() else f"{v:.1f}{suffix}"


def _pct(v: Decimal | None) -> str:
    if v is None:
        return ""
    sign = "+" if v > 0 else ""
    return f"{sign}{v.quantize(Decimal('0.1'))}%"


def decision_tooltip(d: Decision | None) -> str:
    if d is None:
        return ""
    parts = []
    if d.rules:
        parts.append("rules: " + ", ".join(d.rules))
    if d.flags:
        parts.append("flags: " + ", ".join(d.flags))
    parts.extend(d.notes)
    return "\n".join(parts)


def _decision(d: Decision | None) -> Cell:
    if d is None:
        return Cell("")
    return Cell(d.category, decision_tooltip(d), d.category in ("PD", "NE", "yes"))


def timepoint_rows(a: CaseAssessment) -> list[list[Cell]]:
    """One row per timepoint, baseline first: sums, changes and the four categories."""
    rows: list[list[Cell]] = []
    for tp in a.timepoints:
        name = f"{tp.timepoint} ★" if tp.baseline else tp.timepoint
        progression = ("progression: " + ", ".join(tp.progression)) if tp.progression else ""
        rows.append([
            Cell(name, progression),
            Cell(tp.date.isoformat()),
            Cell(_num(tp.target_sum_mm)),
            Cell(_pct(tp.change_from_baseline_pct)),
            Cell(_num(tp.nadir_mm)),
            Cell(_pct(tp.change_from_nadir_pct)),
            _decision(tp.target),
            _decision(tp.nontarget),
            _decision(tp.new_lesions) if not tp.baseline else Cell(""),
            _decision(tp.overall),
        ])
    return rows


def ablation_rows(a: CaseAssessment) -> tuple[list[str], list[list[Cell]]]:
    """Per ablated lesion: its local state (complete / residual / LTP) at every follow-up."""
    tp_ids = [tp.timepoint for tp in a.timepoints]
    used = [t for t in tp_ids if any(s.timepoint == t for abl in a.ablations for s in abl.states)]
    header = list(ABLATION_COLUMNS) + used
    rows: list[list[Cell]] = []
    for abl in a.ablations:
        states = {s.timepoint: s for s in abl.states}
        row = [
            Cell(f"{abl.lesion} ({abl.role})", "\n".join(abl.flags)),
            Cell(", ".join(d.isoformat() for d in abl.ablation_dates)),
            Cell(abl.technique_efficacy, "rules: " + ", ".join(abl.rules) if abl.rules else ""),
            Cell(abl.ltp_date.isoformat() if abl.ltp_date else "", "", abl.ltp_date is not None),
        ]
        for t in used:
            s = states.get(t)
            if s is None:
                row.append(Cell(""))
                continue
            tip = "\n".join(filter(None, ["rules: " + ", ".join(s.rules) if s.rules else "",
                                          "flags: " + ", ".join(s.flags) if s.flags else ""]))
            row.append(Cell(s.status, tip, s.status in ("ltp", "residual")))
        rows.append(row)
    return header, rows


def summary_line(a: CaseAssessment) -> Cell:
    """Best overall response and warnings, for the line under the tables."""
    b = a.best
    text = f"Best overall response: {b.category}"
    if b.confirmed is not None:
        text += " (confirmed)" if b.confirmed else " (unconfirmed)"
    if a.warnings:
        text += f" — {len(a.warnings)} warning(s)"
    tip = [decision_tooltip(Decision(b.category, b.rules, b.flags, b.notes))]
    tip += [f"{w.rule}: {w.message}" for w in a.warnings]
    return Cell(text, "\n".join(t for t in tip if t), bool(a.warnings))


def lesion_cell(a: CaseAssessment, lesion: str, timepoint: str) -> Cell:
    """What the engine counted for one lesion at one timepoint (lesions.csv)."""
    for row in a.lesions:
        if row.lesion == lesion and row.timepoint == timepoint:
            text = row.status
            if row.measure_mm is not None:
                text += f" {_num(row.measure_mm)} mm"
            if row.local_status:
                text += f" [{row.local_status}]"
            tip = "\n".join(filter(None, ["rules: " + ", ".join(row.rules) if row.rules else "",
                                          *row.notes]))
            return Cell(text, tip)
    return Cell("")


def criteria_note(case_observations: Sequence[Observation], lesions: Mapping[str, object], criteria: str,
                  measure_field_of: Callable[[str], str]) -> str:
    """Why timepoints may have become NE after a change of criteria: diameters recorded for the
    other criteria do not count (viable diameters are not longest diameters, MR-V1 vs REC-T1).

    ``measure_field_of(lesion)`` is the field the current criteria read.  Returns "" when every
    measured observation carries the diameter the criteria need.
    """
    missing: dict[str, list[str]] = {}
    for obs in case_observations:
        if obs.status != "measured" or obs.lesion not in lesions:
            continue
        if getattr(obs, measure_field_of(obs.lesion)) is None:
            missing.setdefault(obs.timepoint, []).append(obs.lesion)
    if not missing:
        return ""
    where = "; ".join(f"{tp}: {', '.join(ids)}" for tp, ids in sorted(missing.items()))
    if criteria == "RECIST1.1":
        return (f"RECIST 1.1 measures the longest diameter of the whole lesion; these measurements were "
                f"recorded as viable (enhancing) diameters for mRECIST and do not count, so their "
                f"timepoints are NE until they are measured again: {where}.")
    return (f"mRECIST measures the viable (enhancing) diameter; these measurements were recorded as "
            f"longest diameters for RECIST 1.1 and do not count, so their timepoints are NE until "
            f"they are measured again: {where}.")
