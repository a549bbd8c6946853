"""Time-to-event statistics per endpoint and arm (STAT-1 to STAT-4, STAT-6), with lifelines.

Times are in months (GEN-6: days / 30.4375).  For each endpoint of the long endpoint table
(:mod:`mrecist_tool.pipeline.endpoints`) and each arm (and all subjects together):

* STAT-1: Kaplan–Meier (``lifelines.KaplanMeierFitter``) with Greenwood variance and pointwise
  95 % intervals on the log(−log) scale (lifelines' "exponential Greenwood" interval); the median
  with the interval where that pointwise band crosses 0.5 (Brookmeyer–Crowley with the
  log(−log) transform: equal to statsmodels' ``quantile_ci(method="cloglog")``); landmark
  survival at 12, 24, 36 and 60 months.  Only event code 1 is an event: competing events (2)
  are censored, and such rows are labelled "cause-specific".
* STAT-2: median follow-up by reverse Kaplan–Meier (Schemper & Smith) on the OS data.
* STAT-3: log-rank test (``lifelines.statistics.logrank_test``); Cox hazard ratio of the first arm
  versus the second (``CoxPHFitter``, Efron ties), with a Schoenfeld-residual test of
  proportional hazards; for patient endpoints, when the subjects carry randomisation strata,
  also the stratified log-rank test (``statsmodels.duration.survfunc.survdiff``) and the
  stratified Cox model.
* STAT-4: Aalen–Johansen cumulative incidence of the event with competing events (code 2) as a
  competing risk (``AalenJohansenFitter``), with its delta-method log(−log) interval, at the
  landmarks; for LTP, CSS and registry DFS.  Gray's test and Fine–Gray regression are **not**
  computed; the cause-specific Cox HR is reported instead.
* STAT-6: per-tumour endpoints use a marginal Cox model with patient clusters (robust sandwich
  variance, ``cluster_col``); the log-rank p-value there ignores clustering and says so; every
  row reports the number of patients and of tumours.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from lifelines import AalenJohansenFitter, CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test, proportional_hazard_test
from lifelines.utils import median_survival_times
from statsmodels.duration.survfunc import survdiff

from ..pipeline.endpoints import COMPETING_RISK_ENDPOINTS, ENDPOINT_LABELS

LANDMARKS_MONTHS = (12, 24, 36, 60)
ALL_ARMS = "all"
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
)

KM_METHOD = "Kaplan-Meier; Greenwood variance, log(-log) 95% CI"
KM_CS_METHOD = KM_METHOD + "; cause-specific: competing events censored"
AJ_METHOD = (
    "Aalen-Johansen cumulative incidence; competing events as competing risk; log(-log) 95% CI"
)


# Fitted estimators by data: the report's plots redraw the curves the tables were computed from,
# and fitting (the Aalen–Johansen variance above all) is the slow part of an analysis.
_FITS: dict[tuple[Any, ...], Any] = {}
_MAX_FITS = 128


def _remember(key: tuple[Any, ...], fitter: Any) -> None:
    if len(_FITS) >= _MAX_FITS:
        _FITS.pop(next(iter(_FITS)))
    _FITS[key] = fitter


def analysable(endpoints: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    """Rows of one endpoint that have a time and an event code."""
    part = endpoints[endpoints["endpoint"] == endpoint]
    return part.dropna(subset=["time_months", "event"])


def _step_value(frame: pd.DataFrame, t: float) -> pd.Series | None:
    """Row of a right-continuous step function (indexed by time) at time ``t``."""
    idx = frame.index.values.astype(float)
    pos = int(np.searchsorted(idx, t, side="right")) - 1
    if pos < 0:
        return None
    return frame.iloc[pos]


def _ci_columns(ci: pd.DataFrame) -> tuple[str, str]:
    low = next(c for c in ci.columns if "lower" in c)
    high = next(c for c in ci.columns if "upper" in c)
    return low, high


def fit_km(
    durations: Sequence[float], events: Sequence[bool], label: str = "KM"
) -> KaplanMeierFitter:
    """A Kaplan–Meier fit (Greenwood, log(−log) interval) of months and event flags."""
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    key = ("km", label, t.tobytes(), e.tobytes())
    if key not in _FITS:
        kmf = KaplanMeierFitter(label=label)
        kmf.fit(t, e)
        _remember(key, kmf)
    return _FITS[key]


def km_median(kmf: KaplanMeierFitter) -> tuple[float, float, float]:
    """Median and its 95 % interval (inf when not reached)."""
    median = float(kmf.median_survival_time_)
    ci = median_survival_times(kmf.confidence_interval_)
    low_col, high_col = _ci_columns(ci)
    return median, float(ci[low_col].iloc[0]), float(ci[high_col].iloc[0])


def km_at(kmf: KaplanMeierFitter, t: float) -> tuple[float, float, float]:
    """Survival at ``t`` months with its interval; NaN past the last follow-up time."""
    if t > float(kmf.durations.max()):
        return float("nan"), float("nan"), float("nan")
    sf = _step_value(kmf.survival_function_, t)
    ci = _step_value(kmf.confidence_interval_survival_function_, t)
    if sf is None or ci is None:
        return 1.0, 1.0, 1.0
    low_col, high_col = _ci_columns(kmf.confidence_interval_survival_function_)
    return float(sf.iloc[0]), float(ci[low_col]), float(ci[high_col])


_JITTER = 1e-6  # months; lifelines jitters tied times by up to this much (recursively)
_JITTER_TOLERANCE = 1e-4


def fit_aj(
    durations: Sequence[float], events: Sequence[int], label: str = "CIF"
) -> AalenJohansenFitter:
    """Aalen–Johansen CIF of event code 1 with code 2 competing.

    lifelines breaks tied times by a tiny random jitter; with a fixed seed the result is
    reproducible, and the point estimate equals the tied-data Aalen–Johansen estimate because the
    jitter only orders events within a day.
    """
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=int)
    key = ("aj", label, t.tobytes(), e.tobytes())
    if key not in _FITS:
        ajf = AalenJohansenFitter(seed=2024, jitter_level=_JITTER, calculate_variance=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ajf.fit(t, e, event_of_interest=1, label=label)
        _remember(key, ajf)
    return _FITS[key]


def aj_at(ajf: AalenJohansenFitter, t: float) -> tuple[float, float, float]:
    """Cumulative incidence at ``t`` months with its interval (NaN past the last time)."""
    t = t + _JITTER_TOLERANCE  # an event jittered to just after t still happened at t
    if t > float(np.max(ajf.durations)) + 2 * _JITTER_TOLERANCE:
        return float("nan"), float("nan"), float("nan")
    cif = _step_value(ajf.cumulative_density_, t)
    if cif is None:
        return 0.0, 0.0, 0.0
    value = float(cif.iloc[0])
    ci = ajf.confidence_interval_
    if value == 0.0:
        return 0.0, float("nan"), float("nan")
    if ci is None:
        return value, float("nan"), float("nan")
    row = _step_value(ci, t)
    if row is None:
        return value, float("nan"), float("nan")
    # lifelines 0.30 labels the two bound columns the wrong way round; take them by value.
    bounds = sorted(float(v) for v in row.values)
    return value, bounds[0], bounds[-1]


def _strata_labels(subjects: pd.DataFrame) -> pd.Series:
    """One label per subject joining its randomisation strata (``strata`` JSON column)."""
    if "strata" not in subjects:
        return pd.Series("", index=subjects["subject"].values)

    def label(text: Any) -> str:
        try:
            value = json.loads(text) if isinstance(text, str) and text.strip() else {}
        except json.JSONDecodeError:
            return str(text)
        if not isinstance(value, dict):
            return str(value)
        return "|".join(f"{k}={value[k]}" for k in sorted(value))

    return pd.Series(subjects["strata"].map(label).values, index=subjects["subject"].values)


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
    }


def _describe(endpoint: str, unit: str, arm: str, part: pd.DataFrame) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    base = _base(endpoint, unit, arm, part)
    has_competing = base["competing"] > 0
    km_method = KM_CS_METHOD if has_competing else KM_METHOD
    estimator = "KM (cause-specific)" if has_competing else "KM"
    kmf = fit_km(part["time_months"], part["event"] == 1)
    median, low, high = km_median(kmf)
    rows.append({**base, "estimator": estimator, "statistic": "median", "time_months": "",
                 "estimate": median, "ci_low": low, "ci_high": high, "method": km_method})
    for t in LANDMARKS_MONTHS:
        value, low, high = km_at(kmf, t)
        rows.append({**base, "estimator": estimator, "statistic": f"survival_{t}m",
                     "time_months": t, "estimate": value, "ci_low": low, "ci_high": high,
                     "method": km_method})
    if endpoint in COMPETING_RISK_ENDPOINTS:
        ajf = fit_aj(part["time_months"], part["event"].astype(int))
        for t in LANDMARKS_MONTHS:
            value, low, high = aj_at(ajf, t)
            rows.append({**base, "estimator": "CIF (Aalen-Johansen)",
                         "statistic": f"cumulative_incidence_{t}m", "time_months": t,
                         "estimate": value, "ci_low": low, "ci_high": high, "method": AJ_METHOD})
    if endpoint == "OS":
        reverse = fit_km(part["time_months"], part["event"] == 0)
        fu, low, high = km_median(reverse)
        rows.append({**base, "estimator": "reverse KM", "statistic": "median_follow_up",
                     "time_months": "", "estimate": fu, "ci_low": low, "ci_high": high,
                     "method": "reverse Kaplan-Meier (Schemper & Smith 1996), STAT-2"})
    return rows


def _cox(frame: pd.DataFrame, *, cluster: bool, strata: bool) -> CoxPHFitter:
    cph = CoxPHFitter()
    columns = ["time_months", "event1", "arm_first"]
    kwargs: dict[str, Any] = {}
    if cluster:
        columns.append("subject")
        kwargs["cluster_col"] = "subject"
    if strata:
        columns.append("stratum")
        kwargs["strata"] = ["stratum"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph.fit(frame[columns], duration_col="time_months", event_col="event1", **kwargs)
    return cph


def _compare(endpoint: str, unit: str, part: pd.DataFrame, arms: Sequence[str],
             strata: pd.Series) -> list[dict[str, Any]]:
    """Log-rank test and Cox HR of ``arms[0]`` versus ``arms[1]`` (STAT-3, STAT-6)."""
    a, b = arms
    part = part[part["arm"].isin(arms)].copy()
    label = f"{a} vs {b}"
    base = _base(endpoint, unit, label, part)
    first, second = part[part["arm"] == a], part[part["arm"] == b]
    rows: list[dict[str, Any]] = []
    if first.empty or second.empty or base["events"] == 0:
        return rows
    cause = " (cause-specific)" if base["competing"] else ""
    lr = logrank_test(first["time_months"], second["time_months"],
                      event_observed_A=first["event"] == 1, event_observed_B=second["event"] == 1)
    lr_note = "; ignores clustering of tumours within patients" if unit == "tumour" else ""
    rows.append({**base, "estimator": "log-rank" + cause, "statistic": "logrank_chi2",
                 "time_months": "", "estimate": float(lr.test_statistic), "ci_low": "",
                 "ci_high": "", "p_value": float(lr.p_value),
                 "method": "log-rank test, unstratified" + lr_note})
    frame = part.assign(event1=(part["event"] == 1).astype(int),
                        arm_first=(part["arm"] == a).astype(int))
    cluster = unit == "tumour"
    variants: list[tuple[str, bool]] = [("hazard_ratio", False)]
    frame["stratum"] = frame["subject"].map(strata).fillna("")
    if not cluster and frame["stratum"].nunique() > 1:
        chi2, p_value = survdiff(frame["time_months"].to_numpy(float),
                                 frame["event1"].to_numpy(int), frame["arm_first"].to_numpy(int),
                                 strata=frame["stratum"].to_numpy())
        rows.append({**base, "estimator": "log-rank" + cause,
                     "statistic": "logrank_stratified_chi2", "time_months": "",
                     "estimate": float(chi2), "ci_low": "", "ci_high": "",
                     "p_value": float(p_value),
                     "method": "log-rank test stratified by the randomisation strata "
                               "(statsmodels survdiff)"})
    if not cluster and frame["stratum"].nunique() > 1:
        variants.append(("hazard_ratio_stratified", True))
    for statistic, stratified in variants:
        try:
            cph = _cox(frame, cluster=cluster, strata=stratified)
        except Exception as exc:  # lifelines raises several types on degenerate data
            rows.append({**base, "estimator": "Cox" + cause, "statistic": statistic,
                         "method": f"Cox model not estimable: {type(exc).__name__}"})
            continue
        summary = cph.summary.loc["arm_first"]
        method = "Cox PH, Wald 95% CI"
        if cluster:
            method += "; robust (sandwich) variance clustered by patient, STAT-6"
        if stratified:
            method += "; stratified by randomisation strata"
        rows.append({**base, "estimator": "Cox" + cause, "statistic": statistic,
                     "time_months": "", "estimate": float(summary["exp(coef)"]),
                     "ci_low": float(summary["exp(coef) lower 95%"]),
                     "ci_high": float(summary["exp(coef) upper 95%"]),
                     "p_value": float(summary["p"]), "method": method})
        if not stratified and not cluster:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ph = proportional_hazard_test(
                        cph, frame[["time_months", "event1", "arm_first"]], time_transform="rank"
                    )
                statistic_value = float(np.asarray(ph.test_statistic)[0])
                rows.append({**base, "estimator": "Cox" + cause, "statistic": "ph_test",
                             "time_months": "", "estimate": statistic_value,
                             "ci_low": "", "ci_high": "",
                             "p_value": float(np.asarray(ph.p_value)[0]),
                             "method": "Schoenfeld residual test of proportional hazards "
                                       "(rank time transform)"})
            except Exception as exc:
                rows.append({**base, "estimator": "Cox", "statistic": "ph_test",
                             "method": f"not computed: {type(exc).__name__}"})
    return rows


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
        for arm in [*arms, ALL_ARMS]:
            part = data if arm == ALL_ARMS else data[data["arm"] == arm]
            if not part.empty:
                rows.extend(_describe(endpoint, unit, arm, part))
        if len(arms) == 2:
            rows.extend(_compare(endpoint, unit, data, arms, strata))
    out = pd.DataFrame(rows, columns=list(SURVIVAL_COLUMNS))
    out.insert(1, "label", out["endpoint"].map(ENDPOINT_LABELS).fillna(out["endpoint"]))
    return out
