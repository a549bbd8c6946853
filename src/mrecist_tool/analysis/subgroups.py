"""Arm effect within subgroups (the forest plot): Cox HR of the primary endpoint by subgroup.

Subgroups, per subject:

* each randomisation factor (the ``strata_<name>`` columns, e.g. ``metastases``: 1 / 2-4);
* the number of liver metastases at baseline (targets plus non-targets: 1, 2, 3-4);
* the ablation technique of the subject's first ablation session (e.g. MWA, RFA; several
  techniques: "mixed"; not ablated: "none").

In each level, the hazard ratio of the first arm versus the second (Cox, Efron ties; the event
is code 1, competing events censored: cause-specific, as in the main DFS Cox model) with its Wald
95 % interval, and for each subgroup variable the likelihood-ratio test of the arm-by-subgroup
interaction.  Levels with no event in an arm get no HR (it is not finite) and say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2 as chi2_dist

from ..pipeline.tables import strata_of_row
from . import cox
from .dataset import AnalysisData
from .survival import PRIMARY_ENDPOINT, analysable

COLUMNS = ["endpoint", "subgroup", "level", "n", "events", "n_first_arm", "events_first_arm",
           "hazard_ratio", "ci_low", "ci_high", "p_value", "interaction_p", "note"]


def subgroup_labels(data: AnalysisData) -> pd.DataFrame:
    """One row per subject: its level of every subgroup variable."""
    s = data.subjects
    out = pd.DataFrame({"subject": s["subject"].astype(str)})
    # The strata_<name> columns of subjects.csv.
    parsed = [strata_of_row(row) for row in s.to_dict("records")]
    for key in sorted({k for p in parsed for k in p}):
        out[f"stratum: {key}"] = [p.get(key, "") for p in parsed]
    # n_targets / n_nontargets: every subjects table has them (a missing one must fail here,
    # not put every subject in the "1" group).
    counts = (pd.to_numeric(s["n_targets"], errors="coerce").fillna(0)
              + pd.to_numeric(s["n_nontargets"], errors="coerce").fillna(0)).astype(int)
    out["liver metastases at baseline"] = counts.map(
        lambda n: "1" if n <= 1 else ("2" if n == 2 else "3-4")).to_numpy()
    technique: dict[str, str] = {}
    ab = data.ablations
    if not ab.empty:
        first = ab.assign(first=ab["first_ablation_date"].astype(str))
        for subject, g in first.groupby("subject"):
            session = g[g["first"] == g["first"].min()]
            kinds = sorted({str(t).strip() for t in session["technique"].fillna("") if str(t).strip()})
            technique[str(subject)] = kinds[0] if len(kinds) == 1 else ("mixed" if kinds else "not recorded")
    out["ablation technique"] = out["subject"].map(technique).fillna("none").to_numpy()
    return out


def _hr(frame: pd.DataFrame) -> tuple[float, float, float, float, str]:
    try:
        fitted = cox.fit(frame["time_months"], frame["event1"], frame["x"])
    except (cox.CoxError, np.linalg.LinAlgError) as exc:
        return (float("nan"),) * 4 + (f"not estimable: {exc}",)
    hr, low, high = fitted.hazard_ratio()
    return hr, low, high, fitted.wald_p(), ""


def _interaction_p(frame: pd.DataFrame, column: str) -> float:
    levels = sorted(frame[column].unique())
    if len(levels) < 2:
        return float("nan")
    dummies = np.column_stack([(frame[column] == lv).to_numpy(float) for lv in levels[1:]])
    x = frame["x"].to_numpy(float)[:, None]
    try:
        main = cox.fit(frame["time_months"], frame["event1"], np.hstack([x, dummies]))
        full = cox.fit(frame["time_months"], frame["event1"],
                       np.hstack([x, dummies, dummies * x]))
    except (cox.CoxError, np.linalg.LinAlgError):
        return float("nan")
    stat = 2 * (full.loglik - main.loglik)
    return float(chi2_dist.sf(stat, dummies.shape[1]))


def subgroup_table(data: AnalysisData, arms: Sequence[str],
                   endpoint: str = PRIMARY_ENDPOINT) -> pd.DataFrame:
    """Arm effect within each level of each subgroup variable (``subgroups.csv``)."""
    rows: list[dict[str, Any]] = []
    part = analysable(data.endpoints, endpoint)
    part = part[part["arm"].isin(arms)]
    if part.empty or len(arms) != 2:
        return pd.DataFrame(columns=COLUMNS)
    labels = subgroup_labels(data).set_index("subject")
    frame = part.assign(event1=(part["event"] == 1).astype(int),
                        x=(part["arm"] == arms[0]).astype(float)).join(labels, on="subject")

    def row(subgroup: str, level: str, g: pd.DataFrame, interaction: float) -> dict[str, Any]:
        hr, low, high, p, note = _hr(g)
        first = g[g["x"] == 1]
        return {"endpoint": endpoint, "subgroup": subgroup, "level": level, "n": len(g),
                "events": int(g["event1"].sum()), "n_first_arm": len(first),
                "events_first_arm": int(first["event1"].sum()), "hazard_ratio": hr,
                "ci_low": low, "ci_high": high, "p_value": p, "interaction_p": interaction,
                "note": note}

    rows.append(row("all", "all subjects", frame, float("nan")))
    for column in labels.columns:
        interaction = _interaction_p(frame, column)
        for level, g in frame.groupby(column, sort=True):
            rows.append(row(column, str(level), g, interaction))
    return pd.DataFrame(rows, columns=COLUMNS)
