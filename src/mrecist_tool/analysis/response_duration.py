"""Duration of response (REC-D1) as a time-to-event endpoint of the responders.

One row per responder (best overall response CR or PR, confirmed when the assessment required
confirmation: the ORR numerator, END-ORR) in the long endpoint format, endpoint ``DOR``:

* origin: the first date CR or PR criteria were met (``first_response_date``);
* event (1): the first documented progression (``first_progression_date``), or death from any
  cause before it (as FDA guidance and admiralonco's duration-of-response parameter count it);
* censored (0): at the last adequate disease assessment (END-GEN-3).

The Kaplan–Meier median of these rows is the median duration of response.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..pipeline import endpoints as ep
from .proportions import classify

DOR = "DOR"


def dor_rows(subjects: Any) -> pd.DataFrame:
    """Long endpoint rows of ``DOR`` for the responders of ``subjects`` (a frame or AnalysisData)."""
    frame: pd.DataFrame = getattr(subjects, "subjects", subjects)
    columns = list(ep.LONG_COLUMNS)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    responder = classify(frame)["responder"].to_numpy()
    rows: list[dict[str, Any]] = []
    for row, is_responder in zip(frame.to_dict("records"), responder, strict=True):
        if not is_responder:
            continue
        start = ep.parse_date(row.get("first_response_date"))
        if start is None:
            continue
        progression = ep.parse_date(row.get("first_progression_date"))
        death = ep.parse_date(row.get("death_date"))
        last = ep.parse_date(row.get("last_adequate_assessment_date"))
        if progression is not None and progression >= start and (death is None or progression <= death):
            end, event, kind = progression, 1, "progression"
        elif death is not None and death >= start:
            end, event, kind = death, 1, "death"
        else:
            end, event, kind = (last if last is not None and last >= start else start), 0, "censored"
        days = (end - start).days
        rows.append({"subject": str(row["subject"]), "arm": str(row.get("arm", "")),
                     "unit": "patient", "lesion": "", "endpoint": DOR,
                     "origin_date": start.isoformat(), "end_date": end.isoformat(),
                     "time_days": days, "time_months": round(days / ep.DAYS_PER_MONTH, 4),
                     "event": event, "event_type": kind, "rules": "REC-D1;END-GEN-3",
                     "flags": ""})
    out = pd.DataFrame(rows, columns=columns)
    out["time_days"] = pd.to_numeric(out["time_days"]).astype("Int64")
    out["time_months"] = pd.to_numeric(out["time_months"])
    out["event"] = pd.to_numeric(out["event"]).astype("Int64")
    return out
