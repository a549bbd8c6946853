"""The survival statistics agree with a second package (statsmodels) on a cohort.

The simulated cohort is assessed by the engine; KM estimates, Greenwood standard errors, the
median and its Brookmeyer–Crowley interval (STAT-1), the log-rank test and the Cox hazard ratio
(STAT-3) are computed both ways.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from mrecist_tool.analysis import dataset, survival
from mrecist_tool.casefile import read_case_text
from mrecist_tool.pipeline.tables import assessment_tables
from mrecist_tool.rules import assess_case
from mrecist_tool.sample.cohort import generate_cohort


@pytest.fixture(scope="module")
def cohort() -> dataset.AnalysisData:
    cases = [read_case_text(json.dumps(c)) for c in generate_cohort(160, seed=21)]
    return dataset.from_tables(assessment_tables(assess_case(c) for c in cases))


@pytest.fixture(scope="module")
def table(cohort: dataset.AnalysisData) -> pd.DataFrame:
    return survival.survival_table(cohort.endpoints, cohort.subjects, cohort.arms,
                                   names=["OS", "DFS"])


@pytest.mark.parametrize("endpoint", ["OS", "DFS"])
def test_kaplan_meier_matches_statsmodels_stat_1(cohort: dataset.AnalysisData,
                                                 endpoint: str) -> None:
    part = survival.analysable(cohort.endpoints, endpoint)
    t = part["time_months"].to_numpy(float)
    e = (part["event"] == 1).to_numpy(int)
    kmf = survival.fit_km(t, e == 1)
    sm = SurvfuncRight(t, e)
    for landmark in (6, 12, 24, 36):
        i = int(np.searchsorted(sm.surv_times, landmark, side="right")) - 1
        value, low, high = survival.km_at(kmf, landmark)
        assert value == pytest.approx(sm.surv_prob[i], abs=1e-10)
        # Greenwood SE on the log(-log) scale gives the interval: rebuild it from statsmodels'
        s, se = sm.surv_prob[i], sm.surv_prob_se[i]
        z = 1.959963984540054
        theta = z * se / (s * abs(np.log(s)))
        assert low == pytest.approx(s ** np.exp(theta), abs=1e-8)
        assert high == pytest.approx(s ** np.exp(-theta), abs=1e-8)
    median, low, high = survival.km_median(kmf)
    sm_low, sm_high = sm.quantile_ci(0.5, method="cloglog")
    if np.isnan(sm.quantile(0.5)):  # not reached: NaN in both (R: NA), never inf
        assert np.isnan(median)
    else:
        assert median == pytest.approx(sm.quantile(0.5))
    assert low == pytest.approx(sm_low)
    # statsmodels writes an upper limit that is not reached as inf; R and we leave it missing.
    assert high == pytest.approx(sm_high) or (np.isnan(high) and np.isinf(sm_high))


@pytest.mark.parametrize("endpoint", ["OS", "DFS"])
def test_logrank_and_cox_match_statsmodels_stat_3(cohort: dataset.AnalysisData,
                                                  table: pd.DataFrame, endpoint: str) -> None:
    part = survival.analysable(cohort.endpoints, endpoint)
    first = cohort.arms[0]
    t = part["time_months"].to_numpy(float)
    e = (part["event"] == 1).to_numpy(int)
    x = (part["arm"] == first).to_numpy(int)
    rows = table[table["endpoint"] == endpoint].set_index("statistic")
    chi2, p = survdiff(t, e, x)
    assert rows.loc["logrank_chi2", "estimate"] == pytest.approx(chi2, rel=1e-6)
    assert rows.loc["logrank_chi2", "p_value"] == pytest.approx(p, rel=1e-6)
    fit = PHReg(t, x.reshape(-1, 1).astype(float), status=e, ties="efron").fit()
    assert rows.loc["hazard_ratio", "estimate"] == pytest.approx(np.exp(fit.params[0]), rel=1e-4)
    low, high = np.exp(fit.conf_int()[0])
    assert rows.loc["hazard_ratio", "ci_low"] == pytest.approx(low, rel=1e-3)
    assert rows.loc["hazard_ratio", "ci_high"] == pytest.approx(high, rel=1e-3)


def test_stratified_logrank_is_reported_when_strata_exist_stat_3(table: pd.DataFrame) -> None:
    stratified = table[table["statistic"] == "logrank_stratified_chi2"]
    assert set(stratified["endpoint"]) == {"OS", "DFS"}
    assert all(0 <= p <= 1 for p in stratified["p_value"])
