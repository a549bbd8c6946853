"""ORR/DCR with exact intervals (END-ORR, STAT-5) and survival estimates (STAT-1..4, STAT-6).

Every expected number is computed by hand (or by the formula written out here), not by the
library the module uses.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from mrecist_tool.analysis import proportions, survival

# -- STAT-5: Clopper–Pearson ---------------------------------------------------------------------


def test_clopper_pearson_12_of_40_stat_5() -> None:
    low, high = proportions.clopper_pearson(12, 40)
    assert round(low, 4) == 0.1656 and round(high, 4) == 0.4653


def test_clopper_pearson_0_of_20_stat_5() -> None:
    low, high = proportions.clopper_pearson(0, 20)
    assert low == 0.0 and round(high, 4) == 0.1684
    # closed form for k = 0: upper = 1 - (alpha/2)^(1/n)
    assert high == pytest.approx(1 - 0.025 ** (1 / 20), abs=1e-9)


def test_clopper_pearson_all_successes_stat_5() -> None:
    low, high = proportions.clopper_pearson(20, 20)
    assert high == 1.0 and low == pytest.approx(0.025 ** (1 / 20), abs=1e-9)


def test_clopper_pearson_empty_denominator_is_nan() -> None:
    assert all(math.isnan(v) for v in proportions.clopper_pearson(0, 0))


def test_newcombe_difference_matches_newcombe_1998_table_ii() -> None:
    """Newcombe, Stat Med 1998;17:873-890, method 10, examples (a) and (b)."""
    diff, low, high = proportions.newcombe_difference(56, 70, 48, 80)
    assert diff == pytest.approx(0.2)
    assert round(low, 4) == 0.0524 and round(high, 4) == 0.3339
    _, low, high = proportions.newcombe_difference(9, 10, 3, 10)
    assert round(low, 4) == 0.1705 and round(high, 4) == 0.8090


def _subjects(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"subject": f"S{i}", "arm": arm, "best_overall_response": bor,
          "has_target_disease": target, "bor_confirmed": "", "sd_min_met": sd}
         for i, (arm, bor, target, sd) in enumerate(rows)]
    )


def test_orr_denominator_and_non_target_only_excluded_end_orr_2_3() -> None:
    subjects = _subjects([
        ("A", "CR", "true", "true"),
        ("A", "PR", "true", "true"),
        ("A", "NE", "true", "false"),  # no evaluable follow-up: non-responder, stays in (ORR-2)
        ("A", "CR", "false", "true"),  # non-target only: excluded (ORR-3)
        ("B", "SD", "true", "true"),
        ("B", "PD", "true", "true"),
    ])
    orr = proportions.orr_table(subjects).set_index("arm")
    assert orr.loc["A", "n"] == 3 and orr.loc["A", "responders"] == 2
    assert orr.loc["A", "excluded_no_target"] == 1
    assert orr.loc["B", "n"] == 2 and orr.loc["B", "responders"] == 0
    assert orr.loc["all", "n"] == 5 and orr.loc["all", "responders"] == 2
    low, high = proportions.clopper_pearson(2, 3)
    assert orr.loc["A", "ci_low"] == pytest.approx(low)
    assert orr.loc["A", "ci_high"] == pytest.approx(high)
    assert orr.loc["A", "method"] == proportions.CP_METHOD
    diff = orr.loc["A - B"]
    assert diff["orr"] == pytest.approx(2 / 3) and "Newcombe" in diff["method"]
    assert {"arm", "n", "responders", "orr", "ci_low", "ci_high", "method"} <= set(orr.reset_index())


def test_dcr_counts_sd_only_when_minimum_duration_met_end_dcr() -> None:
    subjects = _subjects([
        ("A", "SD", "true", "true"),
        ("A", "SD", "true", "false"),
        ("A", "PR", "true", "true"),
        ("A", "PD", "true", "true"),
    ])
    dcr = proportions.dcr_table(subjects).set_index("arm")
    assert dcr.loc["A", "responders"] == 2 and dcr.loc["A", "n"] == 4


def test_unconfirmed_response_is_not_a_responder_rec_c1() -> None:
    subjects = _subjects([("A", "PR", "true", "true"), ("A", "PR", "true", "true")])
    subjects.loc[0, "bor_confirmed"] = "false"
    subjects.loc[1, "bor_confirmed"] = "true"
    assert proportions.orr_table(subjects).set_index("arm").loc["A", "responders"] == 1


# -- STAT-1: Kaplan–Meier by hand ----------------------------------------------------------------

# times 2 3 3 5 6 8 9 ; events 1 1 0 1 0 1 0
#   t=2: n=7 d=1  S = 6/7
#   t=3: n=6 d=1  S = 5/7          (the censoring at 3 comes after the event)
#   t=5: n=4 d=1  S = 15/28
#   t=8: n=2 d=1  S = 15/56
TIMES = [2, 3, 3, 5, 6, 8, 9]
EVENTS = [1, 1, 0, 1, 0, 1, 0]


def test_kaplan_meier_small_table_by_hand_stat_1() -> None:
    kmf = survival.fit_km(TIMES, [e == 1 for e in EVENTS])
    assert survival.km_at(kmf, 2)[0] == pytest.approx(6 / 7)
    assert survival.km_at(kmf, 4)[0] == pytest.approx(5 / 7)
    assert survival.km_at(kmf, 5)[0] == pytest.approx(15 / 28)
    assert survival.km_at(kmf, 7.9)[0] == pytest.approx(15 / 28)
    assert survival.km_at(kmf, 8)[0] == pytest.approx(15 / 56)
    assert survival.km_at(kmf, 1)[0] == 1.0
    assert math.isnan(survival.km_at(kmf, 10)[0])  # past the last follow-up: not estimable
    assert survival.km_median(kmf)[0] == 8


def test_greenwood_log_minus_log_interval_by_hand_stat_1() -> None:
    kmf = survival.fit_km(TIMES, [e == 1 for e in EVENTS])
    s = 15 / 28
    greenwood = 1 / (7 * 6) + 1 / (6 * 5) + 1 / (4 * 3)  # sum d / (n (n - d)) up to t = 5
    se = math.sqrt(greenwood) / abs(math.log(s))
    z = 1.959963984540054
    low, high = s ** math.exp(z * se), s ** math.exp(-z * se)
    _, ci_low, ci_high = survival.km_at(kmf, 5)
    assert ci_low == pytest.approx(low, abs=1e-6)
    assert ci_high == pytest.approx(high, abs=1e-6)


def test_reverse_km_median_follow_up_stat_2() -> None:
    # Reverse KM: censorings are the events. Censored at 3 (n=6), 6 (n=3), 9 (n=1):
    # G = 5/6, then 5/6 * 2/3 = 5/9 (> 1/2), then 0 -> median follow-up 9.
    kmf = survival.fit_km(TIMES, [e == 0 for e in EVENTS])
    assert survival.km_at(kmf, 6)[0] == pytest.approx(5 / 9)
    assert survival.km_median(kmf)[0] == 9


# -- STAT-4: Aalen–Johansen by hand --------------------------------------------------------------


def test_aalen_johansen_cumulative_incidence_by_hand_stat_4() -> None:
    # times 1 2 3 4 5 ; events 1 2 1 0 1 (2 = competing)
    #   t=1: n=5, CIF = 1/5 = 0.2, S = 4/5
    #   t=2: competing, S = 3/5
    #   t=3: n=3, CIF += 1/3 * 3/5 -> 0.4, S = 2/5
    #   t=5: n=1, CIF += 1 * 2/5 -> 0.8
    ajf = survival.fit_aj([1, 2, 3, 4, 5], [1, 2, 1, 0, 1])
    assert survival.aj_at(ajf, 1)[0] == pytest.approx(0.2, abs=1e-6)
    assert survival.aj_at(ajf, 2.5)[0] == pytest.approx(0.2, abs=1e-6)
    assert survival.aj_at(ajf, 3)[0] == pytest.approx(0.4, abs=1e-6)
    assert survival.aj_at(ajf, 5)[0] == pytest.approx(0.8, abs=1e-6)
    value, low, high = survival.aj_at(ajf, 3)
    assert low < value < high


def test_aalen_johansen_with_tied_times_equals_tied_estimate_stat_4() -> None:
    # times 1 1 3 4 5 ; events 1 2 1 0 1: at t=1, n=5 with one event and one competing:
    #   CIF = 1/5, S = 3/5; t=3: CIF += 1/3 * 3/5 -> 0.4; t=5: CIF += 2/5 -> 0.8
    ajf = survival.fit_aj([1, 1, 3, 4, 5], [1, 2, 1, 0, 1])
    assert survival.aj_at(ajf, 2)[0] == pytest.approx(0.2, abs=1e-6)
    assert survival.aj_at(ajf, 3)[0] == pytest.approx(0.4, abs=1e-6)
    assert survival.aj_at(ajf, 5)[0] == pytest.approx(0.8, abs=1e-6)


# -- survival table ------------------------------------------------------------------------------


def _long(unit: str = "patient") -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    arms = ["A"] * 7 + ["B"] * 7
    times = [*TIMES, 1, 2, 2, 4, 4, 6, 7]
    events = [*EVENTS, 1, 1, 2, 1, 0, 1, 0]
    for i, (arm, t, e) in enumerate(zip(arms, times, events, strict=True)):
        rows.append({"subject": f"S{i // 2 if unit == 'tumour' else i}", "arm": arm,
                     "unit": unit, "endpoint": "LTP_TUMOUR" if unit == "tumour" else "DFS",
                     "time_months": float(t), "event": float(e)})
    endpoints = pd.DataFrame(rows)
    subjects = pd.DataFrame({"subject": endpoints["subject"].unique()})
    subjects["arm"] = subjects["subject"].map(endpoints.groupby("subject")["arm"].first())
    return endpoints, subjects


def test_survival_table_rows_and_labels_stat_1_3_4() -> None:
    endpoints, subjects = _long()
    table = survival.survival_table(endpoints, subjects, ["A", "B"])
    assert list(table.columns[:2]) == ["endpoint", "label"]
    a = table[(table["arm"] == "A") & (table["statistic"] == "median")].iloc[0]
    assert a["estimate"] == 8 and a["n"] == 7 and a["events"] == 4
    b = table[(table["arm"] == "B") & (table["statistic"] == "median")].iloc[0]
    assert b["competing"] == 1 and b["estimator"] == "KM (cause-specific)"
    assert "competing events censored" in b["method"]
    cif = table[table["statistic"] == "cumulative_incidence_12m"]
    assert set(cif["arm"]) == {"A", "B", "all"}
    stats = set(table["statistic"])
    assert {"logrank_chi2", "hazard_ratio", "ph_test", "survival_12m", "survival_60m"} <= stats
    hr = table[table["statistic"] == "hazard_ratio"].iloc[0]
    assert hr["ci_low"] < hr["estimate"] < hr["ci_high"] and 0 < hr["p_value"] <= 1


def test_per_tumour_cox_uses_patient_clusters_and_reports_counts_stat_6() -> None:
    endpoints, subjects = _long("tumour")
    table = survival.survival_table(endpoints, subjects, ["A", "B"])
    hr = table[table["statistic"] == "hazard_ratio"].iloc[0]
    assert "clustered by patient" in hr["method"]
    median = table[(table["statistic"] == "median") & (table["arm"] == "all")].iloc[0]
    assert median["n_tumours"] == 14 and median["n_patients"] == 7
    logrank = table[table["statistic"] == "logrank_chi2"].iloc[0]
    assert "ignores clustering" in logrank["method"]


# -- STAT-6: clustered proportions (END-TE) ------------------------------------------------------


def test_clustered_proportion_singletons_is_the_logit_wald_interval_stat_6() -> None:
    """One tumour per patient: the sandwich variance of logit(p) is 1 / (n p (1 - p))."""
    hits = [1] * 30 + [0] * 10
    low, high = proportions.clustered_proportion(hits, [f"P{i}" for i in range(40)])
    p, n, z = 0.75, 40, 1.959963984540054
    half = z / math.sqrt(n * p * (1 - p))
    logit = math.log(p / (1 - p))
    assert low == pytest.approx(1 / (1 + math.exp(-(logit - half))), abs=1e-6)
    assert high == pytest.approx(1 / (1 + math.exp(-(logit + half))), abs=1e-6)


def test_clustered_proportion_uses_patient_sums_stat_6() -> None:
    """Pairs of tumours per patient: var(logit p) = sum_c (sum_i (y - p))^2 / (n p (1-p))^2."""
    # 10 patients with both tumours complete, 5 with both failed: p = 2/3, fully clustered.
    hits = [1] * 20 + [0] * 10
    clusters = [f"P{i // 2}" for i in range(30)]
    p, n, z = 2 / 3, 30, 1.959963984540054
    sums = [2 * (1 - p)] * 10 + [2 * (0 - p)] * 5
    se = math.sqrt(sum(s * s for s in sums)) / (n * p * (1 - p))
    logit = math.log(p / (1 - p))
    low, high = proportions.clustered_proportion(hits, clusters)
    assert low == pytest.approx(1 / (1 + math.exp(-(logit - z * se))), abs=1e-6)
    assert high == pytest.approx(1 / (1 + math.exp(-(logit + z * se))), abs=1e-6)


def test_technique_efficacy_primary_and_assisted_end_te() -> None:
    ablations = pd.DataFrame({
        "subject": ["S1", "S1", "S2", "S3", "S4"],
        "arm": ["A", "A", "A", "B", "B"],
        "technique_efficacy": ["primary-success", "assisted-success", "primary-failure",
                               "primary-success", "not-evaluable"],
    })
    table = proportions.technique_efficacy_table(ablations).set_index(["endpoint", "arm"])
    primary_a = table.loc[("TE_PRIMARY", "A")]
    assert primary_a["n_tumours"] == 3 and primary_a["n_patients"] == 2
    assert primary_a["successes"] == 1
    assert table.loc[("TE_ASSISTED", "A"), "successes"] == 2
    only_b = table.loc[("TE_PRIMARY", "B")]  # the not-evaluable tumour is not counted
    assert only_b["n_tumours"] == 1 and only_b["method"] == proportions.TE_EXACT_METHOD
