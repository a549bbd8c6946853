"""Objective response and disease control rates with exact confidence intervals (END-ORR, STAT-5).

* END-ORR: responders are subjects whose best overall response is CR or PR (confirmed when the
  assessment required confirmation, REC-C1).
* END-ORR-2: the denominator is every randomised subject with measurable (target) disease at
  baseline; subjects without an evaluable post-baseline assessment stay in it as non-responders.
* END-ORR-3: subjects without target disease are left out of ORR and DCR (their best response
  can only be CR, Non-CR/Non-PD, PD or NE) and counted in ``excluded_no_target``.
* END-DCR: CR, PR, or SD that met the minimum duration (REC-C3); same denominator as ORR.
* STAT-5: Clopper–Pearson exact 95 % interval, ``scipy.stats.binomtest(...).proportion_ci``.
* Difference between two arms: Newcombe's hybrid score interval (Newcombe 1998, method 10,
  from Wilson score intervals) via ``statsmodels.stats.proportion.confint_proportions_2indep``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest
from statsmodels.stats.proportion import confint_proportions_2indep

from ..pipeline.endpoints import parse_bool

CP_METHOD = "Clopper-Pearson exact 95% CI"
DIFF_METHOD = "difference (first - second arm), Newcombe hybrid score 95% CI"
ALL_ARMS = "all"


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval of ``k`` successes in ``n`` trials (STAT-5).

    >>> [round(x, 4) for x in clopper_pearson(12, 40)]
    [0.1656, 0.4653]
    """
    if n <= 0:
        return float("nan"), float("nan")
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def newcombe_difference(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float, float]:
    """Difference ``k1/n1 - k2/n2`` with Newcombe's hybrid score 95 % interval."""
    if n1 <= 0 or n2 <= 0:
        return float("nan"), float("nan"), float("nan")
    low, high = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff")
    return k1 / n1 - k2 / n2, float(low), float(high)


def _confirmed(value: Any) -> bool:
    # bor_confirmed is empty when confirmation is not required (REC-C1): the response counts.
    text = "" if value is None else str(value).strip().lower()
    return text in ("", "none", "nan") or parse_bool(text)


def classify(subjects: pd.DataFrame) -> pd.DataFrame:
    """Per subject: ``evaluable`` (in the ORR denominator), ``responder``, ``controlled``."""
    # Columns every subjects table has (a result set without them is refused when read): a
    # missing one must fail here, not count every subject as having target disease.
    bor = subjects["best_overall_response"].fillna("").astype(str).str.strip().str.upper()
    has_target = subjects["has_target_disease"]
    has_target = has_target.map(lambda v: True if str(v).strip() == "" else parse_bool(v))
    confirmed = subjects["bor_confirmed"].map(_confirmed)
    sd_ok = subjects["sd_min_met"].map(
        lambda v: True if str(v).strip() == "" else parse_bool(v)
    )
    responder = bor.isin(["CR", "PR"]) & confirmed & has_target
    controlled = responder | ((bor == "SD") & sd_ok & has_target)
    return pd.DataFrame({
        "subject": subjects["subject"],
        "arm": subjects["arm"],
        "bor": bor,
        "evaluable": has_target,
        "responder": responder,
        "controlled": controlled,
    })


def _rate_rows(flags: pd.DataFrame, column: str, arms: Sequence[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    counts: dict[str, tuple[int, int]] = {}
    for arm in [*arms, ALL_ARMS]:
        part = flags if arm == ALL_ARMS else flags[flags["arm"] == arm]
        denominator = part[part["evaluable"]]
        n, k = len(denominator), int(denominator[column].sum())
        counts[arm] = (k, n)
        low, high = clopper_pearson(k, n)
        rows.append({
            "arm": arm,
            "n": n,
            "responders": k,
            "orr": k / n if n else float("nan"),
            "ci_low": low,
            "ci_high": high,
            "method": CP_METHOD,
            "excluded_no_target": int((~part["evaluable"]).sum()),
        })
    if len(arms) == 2:
        (k1, n1), (k2, n2) = counts[arms[0]], counts[arms[1]]
        diff, low, high = newcombe_difference(k1, n1, k2, n2)
        rows.append({
            "arm": f"{arms[0]} - {arms[1]}",
            "n": n1 + n2,
            "responders": k1 + k2,
            "orr": diff,
            "ci_low": low,
            "ci_high": high,
            "method": DIFF_METHOD,
            "excluded_no_target": "",
        })
    return rows


def orr_table(subjects: pd.DataFrame, arms: Sequence[str] | None = None) -> pd.DataFrame:
    """ORR per arm, overall, and the difference between two arms (``orr.csv``).

    Columns: ``endpoint, arm, n, responders, orr, ci_low, ci_high, method, excluded_no_target``.
    """
    flags = classify(subjects)
    arms = list(arms) if arms is not None else sorted(set(flags["arm"]))
    out = pd.DataFrame(_rate_rows(flags, "responder", arms))
    out.insert(0, "endpoint", "ORR")
    return out


def dcr_table(subjects: pd.DataFrame, arms: Sequence[str] | None = None) -> pd.DataFrame:
    """DCR (CR + PR + SD meeting REC-C3) per arm, overall and the difference (``dcr.csv``).

    Same columns as :func:`orr_table`; ``responders`` counts controlled subjects and ``orr``
    holds the disease control rate (the column name is shared so both tables load alike).
    """
    flags = classify(subjects)
    arms = list(arms) if arms is not None else sorted(set(flags["arm"]))
    out = pd.DataFrame(_rate_rows(flags, "controlled", arms))
    out.insert(0, "endpoint", "DCR")
    return out


ORR_LABEL = "ORR over the whole course (mRECIST best overall response, END-ORR)"
PREOP_LABEL = "ORR to preoperative chemotherapy (best response before the first ablation, PRE-2)"
PREOP_COLUMNS = ["endpoint", "label", "arm", "n", "responders", "orr", "ci_low", "ci_high", "method",
                 "excluded_no_target", "no_pre_ablation_scan"]


def preop_orr_table(subjects: pd.DataFrame) -> pd.DataFrame:
    """PRE-2: ORR to preoperative chemotherapy in the perioperative arm, beside its whole-course ORR.

    Denominator: the subjects randomised to that arm (``preop_chemo_arm`` true) with measurable
    disease at baseline; responders have CR or PR as best response in the pre-ablation window
    (``pre_ablation_responder``); a subject without a pre-ablation study is a non-responder and
    is counted in ``no_pre_ablation_scan``.  Each row is labelled; the two rates are never merged.
    Columns: :data:`PREOP_COLUMNS` (``orr_preop.csv``).
    """
    if subjects.empty:
        return pd.DataFrame(columns=PREOP_COLUMNS)
    flags = classify(subjects)
    flags["preop_arm"] = subjects["preop_chemo_arm"].map(parse_bool).values
    flags["preop_responder"] = subjects["pre_ablation_responder"].map(parse_bool).values
    flags["no_scan"] = subjects["pre_ablation_best_response"].fillna("").astype(str).str.strip().eq("").values
    rows: list[dict[str, Any]] = []
    for arm in sorted(set(flags.loc[flags["preop_arm"], "arm"])):
        part = flags[(flags["arm"] == arm) & flags["preop_arm"]]
        evaluable = part[part["evaluable"]]
        n = len(evaluable)
        for endpoint, label, column in (("ORR_PREOP", PREOP_LABEL, "preop_responder"),
                                        ("ORR", ORR_LABEL, "responder")):
            k = int(evaluable[column].sum())
            low, high = clopper_pearson(k, n)
            rows.append({
                "endpoint": endpoint, "label": label, "arm": arm, "n": n, "responders": k,
                "orr": k / n if n else float("nan"), "ci_low": low, "ci_high": high,
                "method": CP_METHOD, "excluded_no_target": int((~part["evaluable"]).sum()),
                "no_pre_ablation_scan": int(evaluable["no_scan"].sum()) if endpoint == "ORR_PREOP" else "",
            })
    return pd.DataFrame(rows, columns=PREOP_COLUMNS)


def dlm_summary(subjects: pd.DataFrame, dlm: pd.DataFrame) -> pd.DataFrame:
    """PRE-3 / PRE-4 per arm: subjects with a pre-ablation study, subjects with a disappearing
    liver metastasis (DLM), DLMs by site (ablated / observed / resected) and in-situ recurrences
    by kind (LTP or residual at an ablated site, intrahepatic progression at an observed one)."""
    columns = ["arm", "subjects", "with_pre_ablation_scan", "with_dlm", "dlm", "dlm_ablated",
               "dlm_observed", "dlm_resected", "recurrence_ltp", "recurrence_residual",
               "recurrence_idp"]
    if subjects.empty:
        return pd.DataFrame(columns=columns)
    scanned = subjects["pre_ablation_best_response"].fillna("").astype(str)
    rows = []
    for arm in [*sorted(set(subjects["arm"])), ALL_ARMS]:
        part = subjects if arm == ALL_ARMS else subjects[subjects["arm"] == arm]
        ids = set(part["subject"])
        d = dlm[dlm["subject"].isin(ids)] if not dlm.empty else pd.DataFrame(
            columns=["subject", "site", "recurrence_kind"])
        rows.append({
            "arm": arm,
            "subjects": len(part),
            "with_pre_ablation_scan": int(scanned.loc[part.index].str.strip().ne("").sum()),
            "with_dlm": int(d["subject"].nunique()),
            "dlm": len(d),
            "dlm_ablated": int((d["site"] == "ablated").sum()),
            "dlm_observed": int((d["site"] == "observed").sum()),
            "dlm_resected": int((d["site"] == "resected").sum()),
            "recurrence_ltp": int((d["recurrence_kind"] == "LTP").sum()),
            "recurrence_residual": int((d["recurrence_kind"] == "residual").sum()),
            "recurrence_idp": int((d["recurrence_kind"] == "IDP").sum()),
        })
    return pd.DataFrame(rows, columns=columns)


def bor_distribution(subjects: pd.DataFrame, arms: Sequence[str] | None = None) -> pd.DataFrame:
    """Counts and percentages of each best overall response per arm (all subjects)."""
    flags = classify(subjects)
    arms = list(arms) if arms is not None else sorted(set(flags["arm"]))
    order = ["CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE"]
    seen = [c for c in order if c in set(flags["bor"])] + sorted(
        c for c in set(flags["bor"]) if c not in order
    )
    rows = []
    for arm in [*arms, ALL_ARMS]:
        part = flags if arm == ALL_ARMS else flags[flags["arm"] == arm]
        for category in seen:
            count = int((part["bor"] == category).sum())
            rows.append({
                "arm": arm,
                "best_overall_response": category or "(missing)",
                "n": count,
                "pct": 100.0 * count / len(part) if len(part) else float("nan"),
            })
    return pd.DataFrame(rows, columns=["arm", "best_overall_response", "n", "pct"])


TE_METHOD = ("GEE (binomial, independence working correlation) with patient clusters; robust "
             "95% CI on the logit scale, STAT-6")
TE_EXACT_METHOD = "Clopper-Pearson exact 95% CI over tumours (all or none succeeded: no GEE)"


def clustered_proportion(successes: Sequence[int], clusters: Sequence[str]) -> tuple[float, float]:
    """95 % interval of a proportion of tumours clustered within patients (STAT-6).

    An intercept-only GEE (``statsmodels``) with a binomial family and patient clusters gives
    the pooled proportion with a cluster-robust (sandwich) standard error; the interval is
    computed on the logit scale and transformed back.
    """
    import numpy as np
    import statsmodels.api as sm

    y = np.asarray(successes, dtype=float)
    model = sm.GEE(y, np.ones((len(y), 1)), groups=np.asarray(clusters),
                   family=sm.families.Binomial(), cov_struct=sm.cov_struct.Independence())
    low, high = model.fit().conf_int()[0]
    return float(1 / (1 + np.exp(-low))), float(1 / (1 + np.exp(-high)))


def technique_efficacy_table(
    ablations: pd.DataFrame, arms: Sequence[str] | None = None
) -> pd.DataFrame:
    """Primary and assisted technique efficacy per tumour (END-TE, ABL-3), per arm and overall.

    Denominator: ablated tumours whose first follow-up could be evaluated (technique efficacy
    not ``not-evaluable``).  Primary: complete ablation at the first follow-up; assisted:
    primary success or complete ablation after re-treatment.  Columns: ``endpoint, arm,
    n_tumours, n_patients, successes, proportion, ci_low, ci_high, method``.
    """
    columns = ["endpoint", "arm", "n_tumours", "n_patients", "successes", "proportion",
               "ci_low", "ci_high", "method"]
    if ablations.empty:
        return pd.DataFrame(columns=columns)
    frame = ablations.assign(arm=ablations["arm"].fillna("").replace("", "(none)"))
    frame = frame[frame["technique_efficacy"].astype(str) != "not-evaluable"]
    arms = list(arms) if arms is not None else sorted(set(frame["arm"]))
    rows = []
    success_sets = {
        "TE_PRIMARY": {"primary-success"},
        "TE_ASSISTED": {"primary-success", "assisted-success"},
    }
    for endpoint, ok in success_sets.items():
        for arm in [*arms, ALL_ARMS]:
            part = frame if arm == ALL_ARMS else frame[frame["arm"] == arm]
            n = len(part)
            hits = part["technique_efficacy"].isin(ok).astype(int).tolist()
            k = sum(hits)
            if n == 0:
                low = high = float("nan")
                method = TE_METHOD
            elif 0 < k < n:
                try:
                    low, high = clustered_proportion(hits, part["subject"].astype(str).tolist())
                    method = TE_METHOD
                except (ValueError, np.linalg.LinAlgError):
                    low, high = clopper_pearson(k, n)
                    method = "Clopper-Pearson exact 95% CI over tumours (GEE failed)"
            else:
                low, high = clopper_pearson(k, n)
                method = TE_EXACT_METHOD
            rows.append({"endpoint": endpoint, "arm": arm, "n_tumours": n,
                         "n_patients": int(part["subject"].nunique()), "successes": k,
                         "proportion": k / n if n else float("nan"), "ci_low": low,
                         "ci_high": high, "method": method})
    return pd.DataFrame(rows, columns=columns)
