"""Local tumour progression by minimal ablative margin (response-rules.md §5.1, MAR-7, STAT-6).

Per ablated tumour of the primary LTP risk set (endpoint ``LTP_TUMOUR``: from the tumour's
ablation, death competing), joined with its MAM from ``ablations.csv`` (``mam_mm``):

* the cumulative incidence of LTP (Aalen–Johansen, death competing) in the margin bands of §5.1
  -- MAM < 0 (incomplete coverage), 0–5 (insufficient), 5–10 (adequate), ≥ 10 mm ("A0-like") --
  at 12, 24 and 36 months;
* a Cox model of time to LTP with the MAM (per mm) as covariate, with robust variance clustered
  by patient (tumours of one patient are not independent, STAT-6), as in the published cohorts
  (HR ≈ 0.45 per mm, Laimer 2025).

Tumours without a margin (no margin inputs, or a margin that could not be measured) are left
out and counted.  Margins flagged unreliable (MAR-2) are kept, and counted separately.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

BANDS: tuple[tuple[float, float, str], ...] = (
    (-math.inf, 0.0, "< 0 mm"),
    (0.0, 5.0, "0–5 mm"),
    (5.0, 10.0, "5–10 mm"),
    (10.0, math.inf, "≥ 10 mm"),
)
HORIZONS_MONTHS = (12.0, 24.0, 36.0)
ENDPOINT = "LTP_TUMOUR"


def margin_band(mam_mm: float) -> str:
    """The §5.1 band of a MAM (lower bounds inclusive: exactly 5 mm is adequate)."""
    for lo, hi, label in BANDS:
        if lo <= mam_mm < hi:
            return label
    return BANDS[-1][2]


def tumour_margins(endpoints: pd.DataFrame, ablations: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """The LTP_TUMOUR rows with their MAM and band, and counts of what was left out."""
    ep = endpoints[(endpoints["endpoint"] == ENDPOINT) & (endpoints["unit"] == "tumour")].copy()
    ep = ep[pd.to_numeric(ep["event"], errors="coerce").notna() & pd.to_numeric(ep["time_months"], errors="coerce").notna()]
    cols = ["subject", "lesion", "mam_mm"] + (["margin_flags"] if "margin_flags" in ablations else [])
    if "mam_mm" not in ablations:
        return ep.iloc[0:0].assign(mam_mm=[], band=[]), {"tumours": len(ep), "without_margin": len(ep), "unreliable": 0}
    ab = ablations[cols].copy()
    ab["subject"] = ab["subject"].astype(str)
    ab["lesion"] = ab["lesion"].astype(str)
    ep["subject"] = ep["subject"].astype(str)
    ep["lesion"] = ep["lesion"].astype(str)
    joined = ep.merge(ab, on=["subject", "lesion"], how="left")
    joined["mam_mm"] = pd.to_numeric(joined["mam_mm"], errors="coerce")
    joined["time_months"] = pd.to_numeric(joined["time_months"], errors="coerce")
    joined["event"] = pd.to_numeric(joined["event"], errors="coerce").astype(int)
    missing = int(joined["mam_mm"].isna().sum())
    data = joined[joined["mam_mm"].notna()].copy()
    data["band"] = [margin_band(v) for v in data["mam_mm"]]
    flags = data["margin_flags"].fillna("").astype(str) if "margin_flags" in data else pd.Series("", index=data.index)
    counts = {"tumours": len(joined), "without_margin": missing,
              "unreliable": int(flags.str.contains("unreliable").sum())}
    return data, counts


def margin_ltp_table(endpoints: pd.DataFrame, ablations: pd.DataFrame,
                     horizons: Sequence[float] = HORIZONS_MONTHS) -> pd.DataFrame:
    """One row per band and horizon (cumulative incidence) and one for the Cox model.

    Columns: ``analysis, band, n_tumours, n_patients, n_ltp, time_months, estimate, ci_low,
    ci_high, p_value, method, note``.
    """
    from . import cox
    from .survival import aj_at, fit_aj

    data, counts = tumour_margins(endpoints, ablations)
    note = (f"{counts['without_margin']} of {counts['tumours']} tumours without a margin left out; "
            f"{counts['unreliable']} margins after a registration flagged unreliable (MAR-2) kept")
    rows: list[dict[str, Any]] = []
    for _, _, label in BANDS:
        part = data[data["band"] == label]
        base = {"analysis": "cumulative incidence of LTP by margin band", "band": label,
                "n_tumours": len(part), "n_patients": part["subject"].nunique(),
                "n_ltp": int((part["event"] == 1).sum()),
                "method": "Aalen-Johansen, death competing (END-LTP-3); log(-log) 95% CI", "note": note}
        if part.empty:
            rows.append({**base, "time_months": "", "estimate": "", "ci_low": "", "ci_high": "", "p_value": ""})
            continue
        fit = fit_aj(part["time_months"], part["event"])
        for t in horizons:
            est, low, high = aj_at(fit, t)
            rows.append({**base, "time_months": t, "estimate": est, "ci_low": low, "ci_high": high, "p_value": ""})
    base = {"analysis": "Cox model of time to LTP, MAM per mm", "band": "all",
            "n_tumours": len(data), "n_patients": data["subject"].nunique() if len(data) else 0,
            "n_ltp": int((data["event"] == 1).sum()) if len(data) else 0, "time_months": "", "note": note}
    try:
        if len(data) < 5 or (data["event"] == 1).sum() < 2:
            raise cox.CoxError("too few tumours or LTP events")
        fitted = cox.fit(data["time_months"].to_numpy(float), (data["event"] == 1).astype(int).to_numpy(),
                         data["mam_mm"].to_numpy(float), names=["mam_mm"], cluster=data["subject"].to_numpy())
        hr, low, high = fitted.hazard_ratio()
        rows.append({**base, "estimate": hr, "ci_low": low, "ci_high": high, "p_value": fitted.wald_p(),
                     "method": "Cox PH (Efron ties), hazard ratio per mm of MAM, death censored (cause-specific); "
                               "robust (sandwich) variance clustered by patient, STAT-6"})
    except (cox.CoxError, np.linalg.LinAlgError, ValueError) as exc:
        rows.append({**base, "estimate": "", "ci_low": "", "ci_high": "", "p_value": "",
                     "method": f"Cox model not estimable: {exc}"})
    return pd.DataFrame(rows)


def margin_section(table: pd.DataFrame | None) -> str:
    """The report's "LTP by ablative margin" section (empty when no tumour has a margin)."""
    from .report import _esc, _table, fmt_pct

    if table is None or table.empty or int(table["n_tumours"].max() or 0) == 0:
        return ""
    ci = table[table["analysis"].str.startswith("cumulative")]
    horizons = sorted({float(t) for t in ci["time_months"] if t != ""})
    rows = []
    for band, g in ci.groupby("band", sort=False):
        first = g.iloc[0]
        cells = [band, int(first["n_tumours"]), int(first["n_patients"]), int(first["n_ltp"])]
        for t in horizons:
            at = g[g["time_months"] == t]
            if at.empty or at["estimate"].iloc[0] == "" or pd.isna(at["estimate"].iloc[0]):
                cells.append("–")
            else:
                r = at.iloc[0]
                cells.append(f"{fmt_pct(r['estimate'])} ({fmt_pct(r['ci_low'])}–{fmt_pct(r['ci_high'])})")
        rows.append(cells)
    header = ["MAM band", "Tumours", "Patients", "LTP", *[f"{t:g} mo % (95% CI)" for t in horizons]]
    cox_row = table[table["analysis"].str.startswith("Cox")].iloc[0]
    if cox_row["estimate"] == "" or pd.isna(cox_row["estimate"]):
        cox_text = _esc(cox_row["method"])
    else:
        cox_text = (f"Hazard ratio of LTP per mm of MAM: <strong>{float(cox_row['estimate']):.2f}</strong> "
                    f"(95% CI {float(cox_row['ci_low']):.2f}–{float(cox_row['ci_high']):.2f}; p = "
                    f"{float(cox_row['p_value']):.2g}); {int(cox_row['n_tumours'])} tumours in "
                    f"{int(cox_row['n_patients'])} patients. {_esc(cox_row['method'])}.")
    return (
        '<h3 id="sec-margin">Local tumour progression by ablative margin</h3>\n'
        '<p class="note">Per tumour of the primary LTP risk set, by its minimal ablative margin (MAM, '
        "§5.1 bands; published cohorts: no LTP at MAM ≥ 4–5 mm, HR ≈ 0.45 per mm). Cumulative "
        f"incidence with death as competing risk. {_esc(table['note'].iloc[0])}.</p>\n"
        f"{_table(header, rows)}\n<p>{cox_text}</p>\n"
    )
