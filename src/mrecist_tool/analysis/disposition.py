"""Subject disposition (CONSORT-style) at the data cut-off, per arm, and the review flags.

The disposition table a data-monitoring committee reads first: how many subjects were
randomised, treated, evaluable and analysed, and where each one stood at the data cut-off.  The
"status at the cut-off" rows split the randomised total exactly (died / completed the 60-month
follow-up / in follow-up / follow-up ended early); :func:`status_adds_up` checks it and the report says so.

Definitions (stated in the report under the table):

* **treated**: at least one ablation on or before the cut-off;
* **evaluable for response**: measurable (target) disease at baseline and a best overall response
  other than NE (END-ORR-2 keeps the others in the ORR denominator as non-responders);
* **analysed**: the subjects in each analysis — ORR (ITT with target disease, END-ORR-2/3), the
  primary DFS analysis (all randomised with an origin, minus those left out under END-DFS-4
  ``exclude``), OS;
* **status at the cut-off**: where a case file records the end of the subject's participation
  (``subject.end_of_study``), its reason: withdrew consent, lost to follow-up, another reason,
  completed, or death (a death known only after a subject left is counted under the reason they
  left).  Otherwise: died on or before the cut-off; alive and followed for the full 60 months
  (the registry's time frame, §6.0): completed; alive with the last contact within 183 days
  (about one scheduled six-monthly visit) of the cut-off: in follow-up; alive with an earlier
  last contact: follow-up ended early, reason not recorded;
* **missed scheduled assessments**: visits of the protocol schedule (``assessment_schedule``,
  §11.13) whose window (due date ± half the interval) closed before the subject's last imaging
  study with no adequate assessment in it; **not evaluable**: timepoints with an overall response
  of NE (including visits without imaging).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from ..pipeline import endpoints as ep
from .dataset import AnalysisData

FOLLOW_UP_MONTHS = 60
IN_FOLLOW_UP_DAYS = 183
ALL = "all"


@dataclass(frozen=True)
class CutoffInfo:
    """The data cut-off of an analysis and what was left out because of it."""

    date: date | None
    given: bool
    ignored: dict[str, int]
    excluded: tuple[str, ...]  # subjects randomised after the cut-off

    def sentence(self) -> str:
        if self.date is None:
            return "No data cut-off given and no dates in the data."
        if not self.given:
            return (f"No data cut-off given: the latest date in the data, "
                    f"{self.date.isoformat()}, is used as the cut-off.")
        parts = [f"{v} {k}" for k, v in self.ignored.items() if v and k != "follow-up days"]
        text = f"Data cut-off {self.date.isoformat()}: everything dated after it is ignored"
        text += (" (" + ", ".join(parts) + ")") if parts else " (nothing in the data was later)"
        if self.excluded:
            text += (f"; {len(self.excluded)} subject(s) randomised after it are not in the "
                     "analysis")
        return text + "."


def latest_date(data: AnalysisData) -> date | None:
    """The latest date anywhere in the subjects and timepoints tables."""
    found: list[date] = []
    for frame in (data.subjects, data.timepoints):
        for column in frame.columns:
            if not (column.endswith("_date") or column in ("date", "last_known_alive")):
                continue
            for value in frame[column].dropna().astype(str):
                try:
                    parsed = ep.parse_date(value)
                except ValueError:
                    continue
                if parsed is not None:
                    found.append(parsed)
    return max(found) if found else None


def cutoff_info(data: AnalysisData) -> CutoffInfo:
    if data.cutoff is not None:
        return CutoffInfo(data.cutoff, True, dict(data.cutoff_ignored), tuple(data.after_cutoff))
    return CutoffInfo(latest_date(data), False, {}, ())


def _flag(series: pd.Series) -> pd.Series:
    return series.fillna("").astype(str).map(ep.parse_bool)


STATUS_LABELS = {
    "died": "Died",
    "completed": f"Completed the {FOLLOW_UP_MONTHS}-month follow-up",
    "ongoing": "In follow-up at the cut-off",
    "withdrawn": "Withdrew consent",
    "lost": "Lost to follow-up",
    "other": "Left the study for another reason",
    "ended_early": f"Follow-up ended early, reason not recorded (no contact in the last "
                   f"{IN_FOLLOW_UP_DAYS} days)",
}
LEFT_EARLY = {"withdrawn": "withdrawn", "lost-to-follow-up": "lost", "other": "other"}


def _status(row: dict[str, Any], cutoff: date | None) -> str:
    death = ep.parse_date(row.get("death_date"))
    reason = str(row.get("end_of_study_reason") or "").strip()
    ended = ep.parse_date(row.get("end_of_study_date"))
    if reason in LEFT_EARLY and (death is None or ended is None or ended < death):
        return LEFT_EARLY[reason]
    if death is not None or reason == "death":
        return "died"
    if reason == "completed":
        return "completed"
    origin = ep.origin_of(row)
    last = max([d for d in (ep.parse_date(row.get(k)) for k in
                            ("last_known_alive", "last_imaging_date")) if d is not None],
               default=origin)
    if origin is not None and last is not None and (last - origin).days >= round(
            FOLLOW_UP_MONTHS * ep.DAYS_PER_MONTH) - IN_FOLLOW_UP_DAYS // 2:
        return "completed"
    if cutoff is None or last is None or (cutoff - last).days <= IN_FOLLOW_UP_DAYS:
        return "ongoing"
    return "ended_early"


def missed_assessments(row: dict[str, Any], settings: Any) -> int:
    """Scheduled visits whose window closed before the last imaging study with no assessment."""
    origin = ep.origin_of(row)
    last = ep.parse_date(row.get("last_imaging_date"))
    if origin is None or last is None:
        return 0
    done = sorted(d for d in (ep.parse_date(x) for x in
                              str(row.get("assessment_dates") or "").split(";") if x.strip())
                  if d is not None)
    # The schedule the endpoints were derived with (the cases' own settings): a malformed one
    # already failed there, and a silent default here would count visits against another one.
    schedule = ep.schedule_of(settings)
    missed = 0
    for due, interval in ep.due_assessments(origin, schedule, last):
        half = timedelta(days=interval / 2)
        if due + half >= last:
            continue
        if not any(due - half <= d <= due + half for d in done):
            missed += 1
    return missed


def disposition_table(data: AnalysisData, arms: Sequence[str] | None = None) -> pd.DataFrame:
    """Rows ``(section, category, <arm>..., all)`` of counts; see the module docstring."""
    arms = list(arms) if arms is not None else data.arms
    s = data.subjects
    info = cutoff_info(data)
    rows: list[dict[str, Any]] = []
    groups = [(a, s[s["arm"] == a]) for a in arms] + [(ALL, s)]

    def add(section: str, category: str, count: Callable[[pd.DataFrame], int]) -> None:
        row: dict[str, Any] = {"section": section, "category": category}
        for name, part in groups:
            row[name] = int(count(part)) if len(part) else 0
        rows.append(row)

    def analysed(endpoint: str) -> Callable[[pd.DataFrame], int]:
        part_ep = data.endpoints[(data.endpoints["endpoint"] == endpoint)
                                 & data.endpoints["event"].notna()]
        return lambda part: int(part_ep["subject"].isin(part["subject"]).sum())

    # Columns every subjects table has (a result set without them is refused when read): a
    # missing one must fail here, not count every subject as treated or followed up.
    n_ablated = pd.to_numeric(s["n_ablated"], errors="coerce").fillna(0)
    target = s["has_target_disease"].fillna("")
    has_target = target.map(lambda v: True if str(v).strip() == "" else ep.parse_bool(v))
    bor = s["best_overall_response"].fillna("").astype(str).str.upper()
    post = _flag(s["has_post_baseline_assessment"])
    status = pd.Series([_status(r, info.date) for r in s.to_dict("records")], index=s.index)
    missed = pd.Series([missed_assessments(r, data.settings) for r in s.to_dict("records")],
                       index=s.index)
    tp = data.timepoints
    ne = tp[tp["overall_response"].astype(str) == "NE"] if not tp.empty else tp

    add("Enrolment", "Randomised", len)
    add("Allocation", "Treated (at least one ablation by the cut-off)",
        lambda p: (n_ablated[p.index] > 0).sum())
    add("Allocation", "Not treated", lambda p: (n_ablated[p.index] <= 0).sum())
    add("Follow-up", "With at least one post-baseline imaging assessment",
        lambda p: post[p.index].sum())
    add("Follow-up", "Evaluable for response (target disease, best response not NE)",
        lambda p: (has_target[p.index] & ~bor[p.index].isin(["NE", ""])).sum())
    def with_status(key: str) -> Callable[[pd.DataFrame], int]:
        return lambda p: int((status[p.index] == key).sum())

    for key, label in STATUS_LABELS.items():
        add("Status at the cut-off", label, with_status(key))
    add("Analysis", "ORR (ITT: target disease at baseline, END-ORR-2)",
        lambda p: has_target[p.index].sum())
    add("Analysis", "DFS, primary endpoint (all randomised with an origin date)", analysed("DFS"))
    add("Analysis", "OS", analysed("OS"))
    add("Scans", "Scheduled assessments missed (no adequate imaging in the visit window)",
        lambda p: missed[p.index].sum())
    add("Scans", "Imaging timepoints not evaluable (overall response NE)",
        lambda p: ne["subject"].isin(p["subject"]).sum() if not ne.empty else 0)
    return pd.DataFrame(rows, columns=["section", "category", *arms, ALL])


STATUS_ROWS = tuple(STATUS_LABELS.values())


def status_adds_up(table: pd.DataFrame) -> bool:
    """Whether the status rows add up to the randomised total in every column."""
    counts = table.set_index("category").drop(columns="section")
    return bool((counts.loc[list(STATUS_ROWS)].sum() == counts.loc["Randomised"]).all())


REVIEW_COLUMNS = ["subject", "arm", "where", "flag"]


def review_flags(data: AnalysisData) -> pd.DataFrame:
    """Every review flag of the assessment with its subject and timepoint (or lesion).

    Flags come from timepoints.csv (per timepoint), ablations.csv (per ablated lesion) and
    subjects.csv (the subject's own, e.g. END-DFS-4 never disease-free); the same text at the
    same place is listed once.
    """
    arm = data.subjects.set_index("subject")["arm"].to_dict() if not data.subjects.empty else {}
    rows: list[dict[str, str]] = []
    seen: set[tuple[str, str, str]] = set()

    def add(subject: str, where: str, text: str) -> None:
        for flag in (f.strip() for f in str(text).replace(" | ", ";").split(";")):
            key = (subject, where, flag)
            if flag and flag.lower() != "nan" and key not in seen:
                seen.add(key)
                rows.append({"subject": subject, "arm": arm.get(subject, ""), "where": where,
                             "flag": flag})

    tp = data.timepoints
    if not tp.empty:
        for r in tp.to_dict("records"):
            add(str(r["subject"]), f"timepoint {r['timepoint']}", r["flags"] or "")
    ab = data.ablations
    if not ab.empty:
        for r in ab.to_dict("records"):
            add(str(r["subject"]), f"lesion {r['lesion']}", r["flags"] or "")
    s = data.subjects
    if not s.empty:
        for r in s.to_dict("records"):
            subject = str(r["subject"])
            known = {row["flag"] for row in rows if row["subject"] == subject}
            for flag in str(r.get("flags") or "").replace(" | ", ";").split(";"):
                # The subject's list repeats its timepoints' and lesions' flags ("L1: ...").
                bare = flag.split(": ", 1)[1] if re.match(r"^[\w.-]+: ", flag) else flag
                if flag.strip() and flag.strip() not in known and bare.strip() not in known:
                    add(subject, "subject", flag)
    return pd.DataFrame(rows, columns=REVIEW_COLUMNS)
