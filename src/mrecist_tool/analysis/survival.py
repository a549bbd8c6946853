"""Time-to-event statistics per endpoint and arm (STAT-1 to STAT-4, STAT-6): ``survival.csv``.

Times are in months (GEN-6: days / 30.4375).  Every estimate follows R's ``survival`` and
``cmprsk`` packages and is compared with them in ``tests/test_r_crosscheck.py``.  For each
endpoint of the long endpoint table (:mod:`mrecist_tool.pipeline.endpoints`) and each arm (and
all subjects together):

* STAT-1: Kaplan–Meier (:mod:`.kaplan_meier`): Greenwood variance, pointwise 95 % log(−log)
  interval, the median with its Brookmeyer–Crowley interval, landmark survival at 12, 24, 36
  and 60 months, and the restricted mean survival time (RMST) to a common horizon.  Only event
  code 1 is an event: competing events (2) are censored and such rows say "cause-specific".
* STAT-2: median follow-up by reverse Kaplan–Meier (Schemper & Smith) on the OS data.
* STAT-3: log-rank test (lifelines; stratified by the randomisation strata with statsmodels'
  ``survdiff`` when the subjects carry strata); Cox hazard ratio of the first arm versus the
  second (:mod:`.cox`, Efron ties) with Wald and likelihood-ratio p-values, unstratified and
  stratified; the proportional-hazards test of R's current ``cox.zph`` (score test, Kaplan–Meier
  time transform); the RMST difference.
* STAT-4: Aalen–Johansen cumulative incidence of the event with competing events as a competing
  risk (:mod:`.cumulative_incidence`) at the landmarks, Gray's test (:mod:`.gray_test`) and the
  Fine–Gray subdistribution hazard ratio (:mod:`.fine_gray`) — for DFS (registry definition),
  CSS and the LTP endpoints.
* STAT-6: per-tumour endpoints use a marginal Cox (and Fine–Gray) model with patient clusters
  (robust sandwich variance); the log-rank and Gray p-values there ignore clustering and say
  so; every row reports the number of patients and of tumours.

Values R reports as ``NA`` are empty cells: an interval where the survival is 1, a median that
is not reached (``note`` says "not reached"), a landmark past the last follow-up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from lifelines.statistics import logrank_test
from scipy.stats import norm
from statsmodels.duration.survfunc import survdiff

from ..pipeline.endpoints import COMPETING_RISK_ENDPOINTS, ENDPOINT_LABELS
from ..pipeline.tables import strata_of_row
from . import cox, fine_gray, gray_test
from . import cumulative_incidence as cif_mod
from . import kaplan_meier as km_mod

LANDMARKS_MONTHS = (12, 24, 36, 60)
RMST_MAX_MONTHS = 60.0
ALL_ARMS = "all"
PRIMARY_ENDPOINT = "DFS"
SURVIVAL_COLUMNS = (
    "endpoint",
    "unit",
    "arm",
    "estimator",
    "statistic",
    "time_months",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
    "n_patients",
    "n_tumours",
    "events",
    "competing",
    "method",
    "p_value_lr",
    "std_error",
    "note",
)

# Endpoints the analysis adds to the engine's (pipeline.endpoints.ENDPOINT_LABELS).
EXTRA_LABELS = {"DOR": "Duration of response (responders, REC-D1)"}

# What a cumulative incidence of each competing-risk endpoint counts (never "survival").
CIF_LABELS = {
    "DFS": "Recurrence or death due to disease (other-cause death competing)",
    "CSS": "Cancer death (other-cause death competing)",
    "LTP": "First LTP per patient (death without LTP competing)",
    "LTP_TUMOUR": "LTP per tumour from ablation (death or resection competing)",
    "LTP_TUMOUR_ASSISTED": "LTP per tumour incl. assisted complete ablation (death or resection "
                           "competing)",
    "LOCAL_CONTROL_TUMOUR": "LTP per tumour after the last ablation of the site (END-LTP-5; death "
                            "competing)",
    "DISTANT": "First intrahepatic distant or extrahepatic progression (death competing)",
}

KM_METHOD = "Kaplan-Meier; Greenwood variance, log(-log) 95% CI; median: Brookmeyer-Crowley"
KM_CS_METHOD = KM_METHOD + "; cause-specific: competing events censored"
AJ_METHOD = ("Aalen-Johansen cumulative incidence; competing events as competing risk; "
             "infinitesimal-jackknife SE (R survfit); log(-log) 95% CI")
RMST_METHOD = "restricted mean survival time (area under the KM curve), R survfit SE, normal 95% CI"
PH_METHOD = ("proportional-hazards score test of R survival >= 3.0 cox.zph (Grambsch-Therneau; "
             "time transform: Kaplan-Meier)")
NOT_REACHED = "not reached"


def analysable(endpoints: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    """Rows of one endpoint that have a time and an event code."""
    part = endpoints[endpoints["endpoint"] == endpoint]
    return part.dropna(subset=["time_months", "event"])


def fit_km(durations: Sequence[float] | np.ndarray | pd.Series,
           events: Sequence[bool] | np.ndarray | pd.Series) -> km_mod.KMFit:
    """A Kaplan–Meier fit of months and event flags (R's conventions)."""
    return km_mod.fit(np.asarray(durations, dtype=float), np.asarray(events, dtype=bool))


def km_at(kmf: km_mod.KMFit, t: float) -> tuple[float, float, float]:
    """Survival at ``t`` months with its interval (NaN where R gives NA)."""
    return kmf.at(t)


def km_median(kmf: km_mod.KMFit) -> tuple[float, float, float]:
    """Median and its 95 % interval (NaN when not reached)."""
    return kmf.median()


def fit_aj(durations: Sequence[float] | np.ndarray | pd.Series,
           events: Sequence[int] | np.ndarray | pd.Series) -> cif_mod.CIFit:
    """Aalen–Johansen CIF of event code 1 with code 2 competing (day-0 events counted)."""
    return cif_mod.fit(np.asarray(durations, dtype=float), np.asarray(events, dtype=int))


def aj_at(ajf: cif_mod.CIFit, t: float) -> tuple[float, float, float]:
    """Cumulative incidence at ``t`` months with its interval (NaN past the last time)."""
    return ajf.at(t)


def rmst_horizon(data: pd.DataFrame, arms: Sequence[str]) -> float:
    """Common RMST horizon: the shortest of the arms' longest follow-up, at most 60 months."""
    last = [float(data.loc[data["arm"] == a, "time_months"].max()) for a in arms
            if (data["arm"] == a).any()]
    if not last:
        return float("nan")
    return float(min(RMST_MAX_MONTHS, *last))


def _strata_labels(subjects: pd.DataFrame) -> pd.Series:
    """One label per subject joining its randomisation strata (the ``strata_<name>`` columns of
    ``subjects.csv``)."""
    if subjects.empty or "subject" not in subjects:
        return pd.Series(dtype=object)
    labels = ["|".join(f"{k}={v}" for k, v in strata_of_row(row).items())
              for row in subjects.to_dict("records")]
    return pd.Series(labels, index=subjects["subject"].values, dtype=object)


def strata_description(subjects: pd.DataFrame) -> str:
    """The randomisation factors' names, e.g. ``metastases`` (empty when there are none)."""
    names: set[str] = set()
    for row in subjects.to_dict("records"):
        names.update(strata_of_row(row))
    return ", ".join(sorted(names))


def _base(endpoint: str, unit: str, arm: str, part: pd.DataFrame) -> dict[str, Any]:
    return {
        "endpoint": endpoint,
        "unit": unit,
        "arm": arm,
        "n": len(part),
        "n_patients": int(part["subject"].nunique()),
        "n_tumours": len(part) if unit == "tumour" else "",
        "events": int((part["event"] == 1).sum()),
        "competing": int((part["event"] == 2).sum()),
        "p_value_lr": "",
        "std_error": "",
        "note": "",
    }


def _num(value: float) -> float | str:
    """A finite float, or an empty cell (R's NA)."""
    return value if value == value and not math.isinf(value) else ""


def _describe(endpoint: str, unit: str, arm: str, part: pd.DataFrame,
              tau: float) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    base = _base(endpoint, unit, arm, part)
    has_competing = base["competing"] > 0
    km_method = KM_CS_METHOD if has_competing else KM_METHOD
    estimator = "KM (cause-specific)" if has_competing else "KM"
    kmf = fit_km(part["time_months"], part["event"] == 1)
    median, low, high = kmf.median()
    rows.append({**base, "estimator": estimator, "statistic": "median", "time_months": "",
                 "estimate": _num(median), "ci_low": _num(low), "ci_high": _num(high),
                 "method": km_method, "note": NOT_REACHED if median != median else ""})
    for t in LANDMARKS_MONTHS:
        value, low, high = kmf.at(t)
        note = "past the last follow-up" if value != value else ""
        rows.append({**base, "estimator": estimator, "statistic": f"survival_{t}m",
                     "time_months": t, "estimate": _num(value), "ci_low": _num(low),
                     "ci_high": _num(high), "method": km_method, "note": note})
    if tau == tau:
        area, se = kmf.rmst(tau)
        rows.append({**base, "estimator": estimator, "statistic": "rmst", "time_months": tau,
                     "estimate": area, "ci_low": area - km_mod.Z95 * se,
                     "ci_high": area + km_mod.Z95 * se, "std_error": se,
                     "method": RMST_METHOD + ("; cause-specific" if has_competing else "")})
    if endpoint in COMPETING_RISK_ENDPOINTS:
        ajf = fit_aj(part["time_months"], part["event"].astype(int))
        for t in LANDMARKS_MONTHS:
            value, low, high = ajf.at(t)
            rows.append({**base, "estimator": "CIF (Aalen-Johansen)",
                         "statistic": f"cumulative_incidence_{t}m", "time_months": t,
                         "estimate": _num(value), "ci_low": _num(low), "ci_high": _num(high),
                         "std_error": _num(ajf.se_at(t)), "method": AJ_METHOD,
                         "note": "past the last follow-up" if value != value else ""})
    if endpoint == "OS":
        reverse = fit_km(part["time_months"], part["event"] == 0)
        fu, low, high = reverse.median()
        rows.append({**base, "estimator": "reverse KM", "statistic": "median_follow_up",
                     "time_months": "", "estimate": _num(fu), "ci_low": _num(low),
                     "ci_high": _num(high),
                     "method": "reverse Kaplan-Meier (Schemper & Smith 1996), STAT-2",
                     "note": NOT_REACHED if fu != fu else ""})
    return rows


def _cox_rows(base: dict[str, Any], cause: str, frame: pd.DataFrame, *, cluster: bool,
              stratified: bool) -> list[dict[str, Any]]:
    statistic = "hazard_ratio_stratified" if stratified else "hazard_ratio"
    try:
        fitted = cox.fit(frame["time_months"], frame["event1"], frame["arm_first"],
                         names=["arm"], strata=frame["stratum"] if stratified else None,
                         cluster=frame["subject"] if cluster else None)
    except (cox.CoxError, np.linalg.LinAlgError) as exc:
        return [{**base, "estimator": "Cox" + cause, "statistic": statistic,
                 "method": f"Cox model not estimable: {exc}"}]
    hr, low, high = fitted.hazard_ratio()
    method = "Cox PH (Efron ties), Wald 95% CI and p; LR p in p_value_lr"
    if cluster:
        method += (" (model-based: it ignores the clustering, as R's summary LR test); robust "
                   "(sandwich) variance clustered by patient, STAT-6")
    if stratified:
        method += "; stratified by the randomisation strata"
    rows = [{**base, "estimator": "Cox" + cause, "statistic": statistic, "time_months": "",
             "estimate": hr, "ci_low": low, "ci_high": high, "p_value": fitted.wald_p(),
             "p_value_lr": fitted.lr_test()[2], "std_error": float(fitted.se()[0]),
             "method": method}]
    if not cluster:
        ph_statistic = "ph_test_stratified" if stratified else "ph_test"
        try:
            chi2, _, p = fitted.ph_test("km")["arm"]
        except (cox.CoxError, np.linalg.LinAlgError, ValueError) as exc:
            # Too few events to spread over time (e.g. one event in all): the information
            # matrix of the test is singular. Reported as not estimable, like the model itself,
            # instead of stopping the whole analysis.
            rows.append({**base, "estimator": "Cox" + cause, "statistic": ph_statistic,
                         "time_months": "", "method": f"{PH_METHOD}: not estimable ({exc})"})
            return rows
        rows.append({**base, "estimator": "Cox" + cause, "statistic": ph_statistic,
                     "time_months": "", "estimate": chi2, "ci_low": "", "ci_high": "",
                     "p_value": p, "method": PH_METHOD
                     + ("; stratified model" if stratified else "")})
    return rows


def _compare(endpoint: str, unit: str, part: pd.DataFrame, arms: Sequence[str],
             strata: pd.Series, tau: float) -> list[dict[str, Any]]:
    """Tests and effect measures of ``arms[0]`` versus ``arms[1]`` (STAT-3, STAT-4, STAT-6)."""
    a, b = arms
    part = part[part["arm"].isin(arms)].copy()
    label = f"{a} vs {b}"
    base = _base(endpoint, unit, label, part)
    first, second = part[part["arm"] == a], part[part["arm"] == b]
    rows: list[dict[str, Any]] = []
    if first.empty or second.empty:
        return rows
    if tau == tau:
        area_a, se_a = fit_km(first["time_months"], first["event"] == 1).rmst(tau)
        area_b, se_b = fit_km(second["time_months"], second["event"] == 1).rmst(tau)
        diff, se = area_a - area_b, math.hypot(se_a, se_b)
        p = float(2 * norm.sf(abs(diff / se))) if se > 0 else float("nan")
        rows.append({**base, "estimator": "RMST", "statistic": "rmst_difference",
                     "time_months": tau, "estimate": diff, "ci_low": diff - km_mod.Z95 * se,
                     "ci_high": diff + km_mod.Z95 * se, "p_value": _num(p), "std_error": se,
                     "method": "difference of restricted means (first - second arm), normal "
                               "95% CI and z-test"})
    if base["events"] == 0:
        return rows
    competing = base["competing"] > 0
    cause = " (cause-specific)" if competing else ""
    clustered = unit == "tumour"
    lr = logrank_test(first["time_months"], second["time_months"],
                      event_observed_A=first["event"] == 1, event_observed_B=second["event"] == 1)
    lr_note = "; ignores clustering of tumours within patients" if clustered else ""
    rows.append({**base, "estimator": "log-rank" + cause, "statistic": "logrank_chi2",
                 "time_months": "", "estimate": float(lr.test_statistic), "ci_low": "",
                 "ci_high": "", "p_value": float(lr.p_value),
                 "method": "log-rank test, unstratified" + lr_note})
    frame = part.assign(event1=(part["event"] == 1).astype(int),
                        arm_first=(part["arm"] == a).astype(float))
    frame["stratum"] = frame["subject"].map(strata).fillna("")
    has_strata = not clustered and frame["stratum"].nunique() > 1
    if has_strata:
        chi2, p_value = survdiff(frame["time_months"].to_numpy(float),
                                 frame["event1"].to_numpy(int), frame["arm_first"].to_numpy(int),
                                 strata=frame["stratum"].to_numpy())
        rows.append({**base, "estimator": "log-rank" + cause,
                     "statistic": "logrank_stratified_chi2", "time_months": "",
                     "estimate": float(chi2), "ci_low": "", "ci_high": "",
                     "p_value": float(p_value),
                     "method": "log-rank test stratified by the randomisation strata"})
    rows += _cox_rows(base, cause, frame, cluster=clustered, stratified=False)
    if has_strata:
        rows += _cox_rows(base, cause, frame, cluster=False, stratified=True)
    if endpoint in COMPETING_RISK_ENDPOINTS and competing:
        rows += _competing_rows(base, frame, clustered, has_strata)
    return rows


def _competing_rows(base: dict[str, Any], frame: pd.DataFrame, clustered: bool,
                    has_strata: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    codes = frame["event"].astype(int).to_numpy()
    note = "; ignores clustering of tumours within patients" if clustered else ""
    gray = gray_test.gray_test(frame["time_months"], codes, frame["arm"])
    rows.append({**base, "estimator": "Gray's test", "statistic": "gray_chi2",
                 "time_months": "", "estimate": _num(gray.statistic), "ci_low": "",
                 "ci_high": "", "p_value": _num(gray.p_value),
                 "method": "Gray's test of cumulative incidence (rho = 0, cmprsk::cuminc)" + note})
    if has_strata:
        gray = gray_test.gray_test(frame["time_months"], codes, frame["arm"],
                                   strata=frame["stratum"])
        rows.append({**base, "estimator": "Gray's test", "statistic": "gray_stratified_chi2",
                     "time_months": "", "estimate": _num(gray.statistic), "ci_low": "",
                     "ci_high": "", "p_value": _num(gray.p_value),
                     "method": "Gray's test stratified by the randomisation strata"})
    rows.append(_fine_gray_row(base, frame, codes, clustered, stratified=False))
    if has_strata:
        rows.append(_fine_gray_row(base, frame, codes, clustered, stratified=True))
    return rows


def _fine_gray_row(base: dict[str, Any], frame: pd.DataFrame, codes: np.ndarray,
                   clustered: bool, *, stratified: bool) -> dict[str, Any]:
    statistic = ("subdistribution_hazard_ratio_stratified" if stratified
                 else "subdistribution_hazard_ratio")
    try:
        fitted = fine_gray.fit(frame["time_months"], codes, frame["arm_first"], names=["arm"],
                               cluster=frame["subject"],
                               strata=frame["stratum"] if stratified else None)
    except (cox.CoxError, np.linalg.LinAlgError) as exc:
        return {**base, "estimator": "Fine-Gray", "statistic": statistic,
                "method": f"Fine-Gray model not estimable: {exc}"}
    shr, low, high = fitted.hazard_ratio()
    method = ("Fine-Gray subdistribution HR (IPCW-weighted Cox, Breslow ties; as "
              "survival::finegray + coxph" + ("" if stratified else " and cmprsk::crr")
              + "), robust Wald 95% CI and p")
    if clustered:
        method += "; clustered by patient, STAT-6"
    if stratified:
        method += ("; baseline subdistribution hazard stratified by the randomisation strata "
                   "(one censoring distribution)")
    return {**base, "estimator": "Fine-Gray", "statistic": statistic, "time_months": "",
            "estimate": shr, "ci_low": low, "ci_high": high, "p_value": fitted.wald_p(),
            "std_error": float(fitted.se()[0]), "method": method}


def survival_table(
    endpoints: pd.DataFrame,
    subjects: pd.DataFrame,
    arms: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Estimates and tests per endpoint and arm (``survival.csv``); columns SURVIVAL_COLUMNS."""
    arms = list(arms) if arms is not None else sorted(set(subjects["arm"]))
    names = list(names) if names is not None else list(dict.fromkeys(endpoints["endpoint"]))
    strata = _strata_labels(subjects)
    rows: list[dict[str, Any]] = []
    for endpoint in names:
        data = analysable(endpoints, endpoint)
        if data.empty:
            continue
        unit = str(data["unit"].iloc[0])
        tau = rmst_horizon(data, arms)
        for arm in [*arms, ALL_ARMS]:
            part = data if arm == ALL_ARMS else data[data["arm"] == arm]
            if not part.empty:
                rows.extend(_describe(endpoint, unit, arm, part, tau))
        if len(arms) == 2:
            rows.extend(_compare(endpoint, unit, data, arms, strata, tau))
    out = pd.DataFrame(rows, columns=list(SURVIVAL_COLUMNS))
    labels = {**ENDPOINT_LABELS, **EXTRA_LABELS}
    out.insert(1, "label", out["endpoint"].map(labels).fillna(out["endpoint"]))
    out.insert(2, "primary", out["endpoint"] == PRIMARY_ENDPOINT)
    return out


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def arm_effect_text(data: pd.DataFrame, arms: Sequence[str], strata: pd.Series | None = None,
                    incidence: bool = False) -> str:
    """One line for a plot: the first arm's HR (or, for ``incidence``, Fine–Gray SHR) with its
    95 % CI and p, and the log-rank (or Gray) p; stratified when strata are given."""
    if len(arms) != 2:
        return ""
    a, b = arms
    part = data[data["arm"].isin(arms)]
    if (part["event"] == 1).sum() == 0 or part["arm"].nunique() < 2:
        return ""
    frame = part.assign(event1=(part["event"] == 1).astype(int),
                        arm_first=(part["arm"] == a).astype(float))
    stratum = None
    if strata is not None and part["unit"].iloc[0] == "patient":
        stratum = frame["subject"].map(strata).fillna("")
        if stratum.nunique() < 2:
            stratum = None
    cluster = frame["subject"] if part["unit"].iloc[0] == "tumour" else None
    codes = frame["event"].astype(int).to_numpy()
    try:
        if incidence:
            fitted = fine_gray.fit(frame["time_months"], codes, frame["arm_first"],
                                   cluster=frame["subject"], strata=stratum)
            test = gray_test.gray_test(frame["time_months"], codes, frame["arm"], strata=stratum)
            name, test_name, p_test = "SHR", "Gray's test", test.p_value
        else:
            fitted = cox.fit(frame["time_months"], frame["event1"], frame["arm_first"],
                             strata=stratum, cluster=cluster)
            if stratum is not None:
                _, p_test = survdiff(frame["time_months"].to_numpy(float),
                                     frame["event1"].to_numpy(int),
                                     frame["arm_first"].to_numpy(int), strata=stratum.to_numpy())
            else:
                first, second = frame[frame["arm"] == a], frame[frame["arm"] == b]
                p_test = float(logrank_test(first["time_months"], second["time_months"],
                                            event_observed_A=first["event1"],
                                            event_observed_B=second["event1"]).p_value)
            name, test_name = "HR", "log-rank"
    except (cox.CoxError, np.linalg.LinAlgError, ValueError):
        return ""
    hr, low, high = fitted.hazard_ratio()
    prefix = "stratified " if stratum is not None else ""
    return (f"{a} vs {b}: {prefix}{name} {hr:.2f} (95% CI {low:.2f}\u2013{high:.2f}), "
            f"{_p_text(fitted.wald_p())}; {prefix}{test_name} {_p_text(float(p_test))}")


def at_risk_table(endpoints: pd.DataFrame, arms: Sequence[str],
                  times: Sequence[float] = (0, 6, 12, 18, 24, 30, 36, 42, 48, 54, 60),
                  names: Sequence[str] | None = None) -> pd.DataFrame:
    """Numbers at risk, cumulative events and censorings per endpoint, arm and time (months).

    ``n_at_risk`` counts rows whose time is >= t (as under a survminer / ggsurvfit curve);
    ``events`` and ``competing`` count codes 1 and 2 up to and including t; ``censored`` the
    censorings before t.
    """
    names = list(names) if names is not None else list(dict.fromkeys(endpoints["endpoint"]))
    rows: list[dict[str, Any]] = []
    for endpoint in names:
        data = analysable(endpoints, endpoint)
        if data.empty:
            continue
        for arm in [*arms, ALL_ARMS]:
            part = data if arm == ALL_ARMS else data[data["arm"] == arm]
            if part.empty:
                continue
            t = part["time_months"].to_numpy(float)
            e = part["event"].astype(int).to_numpy()
            for when in times:
                rows.append({"endpoint": endpoint, "unit": str(part["unit"].iloc[0]), "arm": arm,
                             "time_months": when, "n_at_risk": int((t >= when).sum()),
                             "events": int(((t <= when) & (e == 1)).sum()),
                             "competing": int(((t <= when) & (e == 2)).sum()),
                             "censored": int(((t < when) & (e == 0)).sum())})
    return pd.DataFrame(rows, columns=["endpoint", "unit", "arm", "time_months", "n_at_risk",
                                       "events", "competing", "censored"])
