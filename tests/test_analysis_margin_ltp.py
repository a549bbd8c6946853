"""LTP by ablative margin (§5.1, MAR-7, STAT-6): bands of cumulative incidence and a Cox model
with MAM per mm, clustered by patient; cross-checked with lifelines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mrecist_tool.analysis.margin_ltp import margin_band, margin_ltp_table, tumour_margins


@pytest.mark.parametrize(("mam", "band"), [(-0.01, "< 0 mm"), (0.0, "0–5 mm"), (4.99, "0–5 mm"), (5.0, "5–10 mm"),
                                           (9.99, "5–10 mm"), (10.0, "≥ 10 mm"), (-7.0, "< 0 mm"), (25.0, "≥ 10 mm")])
def test_bands_both_sides_of_each_threshold(mam, band):
    """§5.1 bands: < 0, 0-5, 5-10, ≥ 10 mm; each lower bound belongs to the band above it."""
    assert margin_band(mam) == band


def _cohort(n_patients=220, seed=3, hr=0.45):
    """Tumours whose LTP hazard falls by ``hr`` per mm of MAM (exponential), 1-3 per patient,
    administrative censoring at 36 months, a few competing deaths."""
    rng = np.random.default_rng(seed)
    ep, ab = [], []
    for p in range(n_patients):
        frailty = rng.gamma(4.0, 0.25)
        for t in range(int(rng.integers(1, 4))):
            mam = float(np.round(rng.normal(4.0, 3.5), 2))
            rate = 0.03 * frailty * hr ** mam
            t_ltp = rng.exponential(1 / rate) if rate > 0 else np.inf
            t_death = rng.exponential(200.0)
            end = min(t_ltp, t_death, 36.0)
            event = 1 if end == t_ltp else 2 if end == t_death else 0
            sid, lid = f"P{p:03d}", f"L{t}"
            ep.append({"subject": sid, "arm": "A", "unit": "tumour", "lesion": lid, "endpoint": "LTP_TUMOUR",
                       "time_months": round(end, 3), "event": event})
            ab.append({"subject": sid, "lesion": lid, "mam_mm": mam, "margin_flags": ""})
    return pd.DataFrame(ep), pd.DataFrame(ab)


def test_cox_hazard_ratio_per_mm_and_bands_follow_the_margin():
    ep, ab = _cohort()
    table = margin_ltp_table(ep, ab)
    coxrow = table[table["analysis"].str.startswith("Cox")].iloc[0]
    assert coxrow["ci_low"] < 0.45 < coxrow["ci_high"]
    assert coxrow["p_value"] < 1e-6
    # cross-check: lifelines' Cox with a cluster-robust variance gives the same estimate
    from lifelines import CoxPHFitter

    data, _ = tumour_margins(ep, ab)
    df = pd.DataFrame({"t": data["time_months"], "e": (data["event"] == 1).astype(int), "mam_mm": data["mam_mm"],
                       "subject": data["subject"]})
    ref = CoxPHFitter().fit(df, "t", "e", cluster_col="subject")
    assert coxrow["estimate"] == pytest.approx(float(np.exp(ref.params_["mam_mm"])), rel=1e-4)
    assert coxrow["ci_high"] == pytest.approx(float(np.exp(ref.confidence_intervals_.iloc[0, 1])), rel=2e-3)
    # cumulative incidence at 24 months falls from band to band
    at24 = table[(table["time_months"] == 24.0)].set_index("band")["estimate"]
    assert at24["< 0 mm"] > at24["0–5 mm"] > at24["5–10 mm"] >= at24["≥ 10 mm"]


def test_tumours_without_margin_are_left_out_and_counted():
    ep, ab = _cohort(n_patients=40)
    ab.loc[:9, "mam_mm"] = np.nan
    ab.loc[10:12, "margin_flags"] = "unreliable registration: liver Dice 0.850 < 0.90 (MAR-2)"
    data, counts = tumour_margins(ep, ab)
    assert counts["without_margin"] == 10 and counts["unreliable"] == 3
    assert len(data) == counts["tumours"] - 10
    table = margin_ltp_table(ep, ab)
    assert "10 of" in table["note"].iloc[0]


def test_no_margins_at_all_is_reported_not_fitted():
    ep, ab = _cohort(n_patients=10)
    table = margin_ltp_table(ep, ab.drop(columns=["mam_mm"]))
    assert table[table["analysis"].str.startswith("Cox")]["method"].iloc[0].startswith("Cox model not estimable")


def test_report_section_shows_bands_and_the_hazard_ratio():
    from mrecist_tool.analysis.margin_ltp import margin_section

    ep, ab = _cohort(n_patients=120)
    html = margin_section(margin_ltp_table(ep, ab))
    assert "Local tumour progression by ablative margin" in html
    assert "0–5 mm" in html and "≥ 10 mm" in html and "Hazard ratio of LTP per mm of MAM" in html
    assert margin_section(margin_ltp_table(ep, ab.drop(columns=["mam_mm"]))) == ""
