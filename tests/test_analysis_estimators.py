"""The estimators' conventions at the edges, by hand (STAT-1 to STAT-4; issue 14 items 1–4, 8).

Every expected value is worked out in the comment beside it (and was confirmed with R's
survival 3.5, whose output is quoted); the cohort-wide comparison with R is
``tests/test_r_crosscheck.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrecist_tool.analysis import cox, fine_gray, gray_test, survival
from mrecist_tool.analysis import cumulative_incidence as aj
from mrecist_tool.analysis import kaplan_meier as km

# -- Aalen–Johansen (STAT-4) ---------------------------------------------------------------------


def test_day_0_events_count_in_the_cumulative_incidence_stat_4_end_dfs_4() -> None:
    # times 0 0 2 3 5, codes 1 1 1 2 0 (never disease-free twice at day 0):
    #   t=0: n=5, d1=2 -> F = 2/5, S = 3/5; t=2: n=3, F += 3/5 * 1/3 -> 3/5, S = 2/5
    #   t=3: competing, S = 1/5; F(5) = 3/5.  lifelines' fitter gave F(0) = 0.
    fit = aj.fit([0, 0, 2, 3, 5], [1, 1, 1, 2, 0])
    assert fit.at(0)[0] == pytest.approx(0.4)
    assert fit.at(2)[0] == pytest.approx(0.6)
    assert fit.at(5)[0] == pytest.approx(0.6)
    # At 0 the infinitesimal-jackknife SE is the binomial one, sqrt(p (1 - p) / n) (R: 0.2191).
    assert fit.se_at(0) == pytest.approx(math.sqrt(0.4 * 0.6 / 5))


def test_events_come_before_censorings_at_a_tied_time_stat_4() -> None:
    # times 1 1 2, codes 1 0 1: the subject censored at 1 is at risk at 1 (n=3): F(1) = 1/3,
    # then n=1 at 2: F(2) = 1/3 + 2/3 = 1.  Censoring first would give F(1) = 1/2.  No jitter.
    fit = aj.fit([1, 1, 2], [1, 0, 1])
    assert fit.at(1)[0] == pytest.approx(1 / 3)
    assert fit.at(2)[0] == pytest.approx(1.0)
    assert survival.fit_km([1, 1, 2], [True, False, True]).at(1)[0] == pytest.approx(2 / 3)


def test_interval_is_missing_where_the_incidence_is_0_or_1_stat_4() -> None:
    fit = aj.fit([1, 2, 3], [2, 1, 1])
    value, low, high = fit.at(1.5)  # only a competing event so far: F = 0 after the first time
    assert value == 0.0 and math.isnan(low) and math.isnan(high)
    value, low, high = fit.at(3)  # F = 1/3 + 1/3 = 2/3: an interval
    assert value == pytest.approx(2 / 3) and low < value < high
    value, low, high = aj.fit([1, 2], [1, 1]).at(2)  # F = 1: R gives NA
    assert value == pytest.approx(1.0) and math.isnan(low) and math.isnan(high)
    assert fit.at(0.5) == (0.0, 0.0, 0.0)  # before the first time, as R's summary(times=)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.sampled_from([0, 1, 2])), min_size=1,
                max_size=40))
def test_incidences_and_event_free_probability_add_to_one_stat_4(rows: list[tuple[int, int]]) -> None:
    times = np.array([r[0] for r in rows], dtype=float)
    codes = np.array([r[1] for r in rows])
    first = aj.fit(times, codes)
    second = aj.fit(times, np.where(codes == 0, 0, 3 - codes))  # the competing cause's CIF
    assert np.all(np.diff(first.cif) >= -1e-12)
    assert np.allclose(first.cif + second.cif + first.free, 1.0)
    assert np.all(first.se >= 0)
    # Without competing events the incidence is 1 - Kaplan–Meier.
    only = aj.fit(times, np.where(codes == 2, 0, codes))
    curve = km.fit(times, np.where(codes == 2, 0, codes) == 1)
    assert np.allclose(only.cif, 1 - curve.surv)


# -- Kaplan–Meier ends (STAT-1, STAT-2) -------------------------------------------------------------


def test_median_on_exactly_one_half_is_the_midpoint_to_the_next_drop_stat_1() -> None:
    # times 1 2 3 4, events 1 1 0 1: S = 3/4, 1/2 (from 2 until the drop at 4) -> median 3
    # (R: 3), not "not reached" (lifelines, with S stored as 0.5000000000000001).
    assert km.fit([1, 2, 3, 4], [1, 1, 0, 1]).median()[0] == 3.0
    times = np.array([1.0, 2.0, 3.0, 4.0])
    assert km.first_below_half(times, np.array([0.75, 0.5000000000000001, 0.5000000000000001, 0.0])) == 3.0
    # Flat at 0.5 to the end: the time it reached 0.5 (R's print / summary()$table: 2).
    assert km.fit([1, 2, 3, 4], [1, 1, 0, 0]).median()[0] == 2.0
    # Just above one half is not reached.
    assert math.isnan(km.first_below_half(times[:2], np.array([0.75, 0.5001])))


def test_not_reached_is_missing_never_infinite_stat_1() -> None:
    table = survival.survival_table(
        pd.DataFrame({"subject": ["a", "b", "c", "d"], "arm": ["A"] * 4, "unit": "patient",
                      "endpoint": "OS", "time_months": [5.0, 6.0, 7.0, 8.0],
                      "event": [1, 0, 0, 0]}),
        pd.DataFrame({"subject": ["a", "b", "c", "d"], "arm": ["A"] * 4}), ["A"])
    median = table[(table["statistic"] == "median") & (table["arm"] == "A")].iloc[0]
    assert median["estimate"] == "" and median["note"] == survival.NOT_REACHED
    assert not any(isinstance(v, float) and math.isinf(v)
                   for v in table[["estimate", "ci_low", "ci_high"]].to_numpy().ravel())


def test_survival_interval_missing_where_survival_is_1_after_the_first_time_stat_1() -> None:
    fit = km.fit([5, 8, 14, 20, 30], [0, 0, 1, 0, 1])
    assert fit.at(3) == (1.0, 1.0, 1.0)  # before the first time: R's summary() writes [1, 1]
    value, low, high = fit.at(12)  # censorings only so far: R gives NA
    assert value == 1.0 and math.isnan(low) and math.isnan(high)
    assert fit.at(30)[0] == 0.0 and math.isnan(fit.at(30)[1])  # S = 0: NA


def test_reverse_km_upper_limit_missing_when_not_reached_stat_2() -> None:
    # Reverse KM of times 1..4 with events at 1, 2 (censorings 3, 4 become the events):
    # G = 1 until 3, then 1/2, then 0 at 4 -> median follow-up 3.5; the upper curve is NA at
    # G = 0 and never below one half before, so the upper limit is missing (R: NA, where
    # lifelines wrote the last time).
    fit = km.fit([1, 2, 3, 4], [0, 0, 1, 1])
    median, _, high = fit.median()
    assert median == 3.5 and math.isnan(high)


def test_restricted_mean_and_its_se_by_hand_stat_1() -> None:
    # times 2, 4 both events, tau 5: area 1 * 2 + 1/2 * 2 + 0 = 3; variance: at t=2 (n=2, d=1)
    # the area after 2 is 1, times d / (n (n - d)) = 1/2 -> SE sqrt(1/2) (R: 3, 0.707).
    area, se = km.fit([2, 4], [1, 1]).rmst(5)
    assert area == pytest.approx(3.0) and se == pytest.approx(math.sqrt(0.5))


# -- Cox (STAT-3, STAT-6) ----------------------------------------------------------------------------


def test_cox_two_groups_without_ties_matches_the_closed_form_score_stat_3() -> None:
    # Two subjects, one per group, the treated one dies first: the partial likelihood
    # exp(b) / (exp(b) + 1) has no maximum; the fit refuses (monotone likelihood).
    with pytest.raises(cox.CoxError):
        cox.fit([1, 2], [1, 1], [1.0, 0.0])


def test_cox_lr_and_score_tests_are_reported_beside_wald_stat_3() -> None:
    rng = np.random.default_rng(3)
    x = np.repeat([0.0, 1.0], 40)
    t = rng.exponential(np.where(x == 1, 2.0, 1.0))
    e = rng.random(80) < 0.8
    fitted = cox.fit(t, e, x)
    lr, df, p_lr = fitted.lr_test()
    assert df == 1 and lr > 0 and 0 < p_lr < 1
    assert 0 < fitted.wald_p() < 1 and fitted.score_test()[0] > 0
    # At the maximum the score is zero to full precision (tighter than lifelines' stopping rule).
    _, score, _, _ = cox._steps(fitted._data, fitted.coef)
    assert abs(float(score[0])) < 1e-9


def test_fine_gray_without_competing_events_is_the_breslow_cox_model_stat_4() -> None:
    rng = np.random.default_rng(5)
    x = np.repeat([0.0, 1.0], 30)
    t = np.round(rng.exponential(1.0, 60), 1)
    codes = (rng.random(60) < 0.7).astype(int)
    fg = fine_gray.fit(t, codes, x)
    plain = cox.fit(t, codes, x, ties="breslow", cluster=np.arange(60))
    assert fg.coef[0] == pytest.approx(plain.coef[0], abs=1e-10)
    assert fg.se()[0] == pytest.approx(plain.se()[0], abs=1e-10)


def test_stratified_fine_gray_is_the_stratified_breslow_cox_without_competing_events_stat_4() -> None:
    # The primary analysis is stratified by the randomisation factor; without competing events
    # the stratified Fine–Gray model is the stratified Cox model (Breslow ties, robust variance),
    # and a single stratum gives the unstratified model.  (Against R: tests/test_r_crosscheck.py.)
    rng = np.random.default_rng(6)
    x = np.tile([0.0, 1.0], 40)
    layer = np.repeat(["1", "2-4"], 40)
    t = np.round(rng.exponential(np.where(layer == "1", 2.0, 0.7)), 1)
    codes = (rng.random(80) < 0.7).astype(int)
    fg = fine_gray.fit(t, codes, x, strata=layer)
    plain = cox.fit(t, codes, x, ties="breslow", cluster=np.arange(80), strata=layer)
    assert fg.coef[0] == pytest.approx(plain.coef[0], abs=1e-10)
    assert fg.se()[0] == pytest.approx(plain.se()[0], abs=1e-10)
    one = fine_gray.fit(t, codes, x, strata=np.full(80, "all"))
    assert one.coef[0] == pytest.approx(fine_gray.fit(t, codes, x).coef[0], abs=1e-12)
    assert abs(fg.coef[0] - one.coef[0]) > 1e-6


def test_ipcw_expansion_weights_are_the_censoring_survival_ratio_stat_4() -> None:
    # times 1(competing) 2(censored) 3(event) 4(censored) 5(event):
    # G drops at 2 (n=4 -> 3/4) and 4 (n=2 -> 3/8).  The competing subject stays at risk with
    # weight 1 up to 2, G(t-)/G(1-) = 3/4 on (2, 4] (event at 3) and 3/8 on (4, 5] (event at 5).
    rows = fine_gray.expand([1, 2, 3, 4, 5], [2, 0, 1, 0, 1])
    mine = rows.row == 0
    assert rows.stop[mine].tolist() == [2.0, 4.0, 5.0]
    assert rows.weight[mine].tolist() == pytest.approx([1.0, 0.75, 0.375])
    assert rows.status.tolist() == [0, 0, 0, 0, 1, 0, 1]


def test_gray_test_is_zero_for_identical_groups_stat_4() -> None:
    times = [1, 2, 3, 4, 5, 6] * 2
    codes = [1, 2, 0, 1, 2, 1] * 2
    result = gray_test.gray_test(times, codes, ["A"] * 6 + ["B"] * 6)
    assert result.statistic == pytest.approx(0.0, abs=1e-12) and result.df == 1
    assert result.p_value == pytest.approx(1.0)


def test_ph_test_is_rs_current_km_transformed_score_test_stat_3() -> None:
    rng = np.random.default_rng(8)
    x = np.repeat([0.0, 1.0], 50)
    t = rng.exponential(1.0, 100)
    fitted = cox.fit(t, np.ones(100), x)
    table = fitted.ph_test("km")
    assert set(table) == {"x1", "GLOBAL"} and table["x1"][1] == 1
    assert table["x1"][0] == pytest.approx(table["GLOBAL"][0])
    assert fitted.ph_test("rank")["x1"][0] != table["x1"][0]
