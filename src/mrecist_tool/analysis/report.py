"""``report.html``: one self-contained page a trial team can open in a browser.

Everything is inline — CSS in a ``<style>`` element, plots as base64 PNG ``<img>`` — so the page
loads with no network and no other file; it has no JavaScript.  Only subject pseudonyms appear
(in the swimmer plot), never names or hospital numbers.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from .. import RULES_VERSION, __version__
from ..pipeline.endpoints import ENDPOINT_LABELS, parse_bool
from ..rules.reference import link_rules_in_html, rule_link
from . import disposition
from .dataset import AnalysisData
from .margin_ltp import margin_section
from .settings_used import ENDPOINT_SETTINGS
from .survival import (
    CIF_LABELS,
    EXTRA_LABELS,
    LANDMARKS_MONTHS,
    NOT_REACHED,
    PRIMARY_ENDPOINT,
    strata_description,
)

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:0 auto;max-width:1280px;padding:1rem 2rem;color:#1b1b1b;line-height:1.4}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:2px solid #ddd;padding-bottom:.2rem;
margin-top:2rem}h3{margin-bottom:.3rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right;vertical-align:top}
th{background:#f2f4f7}td.l,th.l{text-align:left}td:not(.l){white-space:nowrap}
.banner{background:#fff3cd;border:2px solid #d39e00;padding:.6rem 1rem;font-weight:600;
margin:1rem 0}.meta{color:#555;font-size:.85rem}.note{color:#444;font-size:.85rem}
figure{margin:1rem 0 2rem}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85rem;color:#444}.primary{border:2px solid #1f5fa8;padding:.3rem 1rem;border-radius:6px}
.blinded{background:#e8f0fe;border-color:#1f5fa8}.toc{font-size:.9rem;margin:.5rem 0}
.problems{background:#fdecea;border:1px solid #e57373;
padding:.5rem 1rem}code{background:#f5f5f5;padding:0 .2rem}tr.differs td{background:#fff7e0}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def fmt_months(value: Any) -> str:
    v = _num(value)
    if math.isinf(v):
        return "NR"
    return "–" if math.isnan(v) else f"{v:.1f}"


def median_ci(row: Any) -> str:
    """``median (low–high)`` in months; "NR" for a median or limit that is not reached."""
    def part(value: Any) -> str:
        return "NR" if math.isnan(_num(value)) else f"{_num(value):.1f}"

    if str(row.get("note", "")) == NOT_REACHED or not math.isnan(_num(row["estimate"])):
        return f"{part(row['estimate'])} ({part(row['ci_low'])}–{part(row['ci_high'])})"
    return "–"


def fmt_pct(value: Any) -> str:
    v = _num(value)
    return "–" if math.isnan(v) else f"{100 * v:.1f}"


def fmt_p(value: Any) -> str:
    v = _num(value)
    if math.isnan(v):
        return "–"
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def est_ci(estimate: Any, low: Any, high: Any, fmt: Any) -> str:
    """``estimate (low–high)``, or a dash when the estimate is not estimable."""
    if math.isnan(_num(estimate)):
        return "–"
    return f"{fmt(estimate)} ({fmt(low)}–{fmt(high)})"


def _table(
    header: Sequence[str], rows: Sequence[Sequence[Any]], left: int = 1, last_left: bool = False
) -> str:
    """An HTML table; the first ``left`` columns (and the last one if asked) are left-aligned."""
    last = len(header) - 1 if last_left else -1

    def aligned(i: int) -> bool:
        return i < left or i == last

    cells = "".join(
        f'<th class="l">{_esc(h)}</th>' if aligned(i) else f"<th>{_esc(h)}</th>"
        for i, h in enumerate(header)
    )
    body = []
    for row in rows:
        tds = "".join(
            f'<td class="l">{_esc(v)}</td>' if aligned(i) else f"<td>{_esc(v)}</td>"
            for i, v in enumerate(row)
        )
        body.append(f"<tr>{tds}</tr>")
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _count(frame: pd.DataFrame, column: str, pred: Any = None) -> int:
    if column not in frame:
        return 0
    values = frame[column].fillna("").astype(str).str.strip()
    return int(values.map(pred).sum()) if pred else int((values != "").sum())


def cohort_summary(data: AnalysisData, survival_rows: pd.DataFrame,
                   arms: Sequence[str] | None = None) -> str:
    """Per arm (``arms``, default every arm): subjects, target disease, tumours, visits, events,
    follow-up; and all subjects."""
    s = data.subjects
    arms = data.arms if arms is None else list(arms)
    groups = [(a, s[s["arm"] == a]) for a in arms] + [("all", s)]
    header = ["", *[g[0] for g in groups]]
    tp = data.timepoints
    abl = data.ablations

    def per(fn: Any) -> list[Any]:
        return [fn(part) for _, part in groups]

    def tumours(part: pd.DataFrame) -> int:
        return int(abl["subject"].isin(part["subject"]).sum()) if not abl.empty else 0

    def visits(part: pd.DataFrame) -> str:
        if tp.empty:
            return "–"
        counts = tp[tp["subject"].isin(part["subject"])].groupby("subject").size()
        return f"{counts.median():.0f}" if len(counts) else "–"

    def kinds(part: pd.DataFrame, kind: str) -> int:
        return int(part["first_recurrence_kinds"].fillna("").astype(str).str.contains(kind).sum())

    def deaths(part: pd.DataFrame, cause: str | None = None) -> int:
        died = part["death_date"].fillna("") != ""
        if cause is None:
            return int(died.sum())
        causes = part["death_cause"].fillna("").replace("", "unknown")
        return int((died & (causes == cause)).sum())

    def followup(arm: str) -> str:
        row = survival_rows[(survival_rows["statistic"] == "median_follow_up")
                            & (survival_rows["arm"] == arm)]
        if row.empty:
            return "–"
        r = row.iloc[0]
        return median_ci(r)

    rows = [
        ["Subjects randomised", *per(len)],
        ["With target (mRECIST-measurable) disease",
         *per(lambda p: _count(p, "has_target_disease", lambda v: parse_bool(v) or v == ""))],
        ["Ablated tumours", *per(tumours)],
        ["Imaging timepoints per subject (median)", *per(visits)],
        ["Never disease-free (END-DFS-4)",
         *per(lambda p: _count(p, "never_disease_free", parse_bool))],
        ["First recurrence including LTP", *per(lambda p: kinds(p, "LTP"))],
        ["First recurrence including IDP", *per(lambda p: kinds(p, "IDP"))],
        ["First recurrence including EHP", *per(lambda p: kinds(p, "EHP"))],
        ["Deaths", *per(deaths)],
        ["… cancer", *per(lambda p: deaths(p, "cancer"))],
        ["… other cause", *per(lambda p: deaths(p, "other"))],
        ["… unknown cause", *per(lambda p: deaths(p, "unknown"))],
        ["Median follow-up, months (95% CI; reverse KM)", *[followup(a) for a, _ in groups]],
    ]
    return _table(header, rows)


def bor_section(bor: pd.DataFrame, arms: Sequence[str]) -> str:
    categories = list(dict.fromkeys(bor["best_overall_response"]))
    header = ["Best overall response", *arms, "all"]
    rows = []
    for c in categories:
        row: list[Any] = [c]
        for arm in [*arms, "all"]:
            hit = bor[(bor["arm"] == arm) & (bor["best_overall_response"] == c)]
            row.append(f"{int(hit['n'].iloc[0])} ({_num(hit['pct'].iloc[0]):.1f}%)"
                       if len(hit) else "0")
        rows.append(row)
    return _table(header, rows)


def rate_section(table: pd.DataFrame, label: str) -> str:
    header = ["Arm", "n (denominator)", label.split()[0], f"{label} %", "95% CI", "Method"]
    rows = []
    for _, r in table.iterrows():
        diff = " - " in str(r["arm"])
        value = f"{100 * _num(r['orr']):+.1f}" if diff else fmt_pct(r["orr"])
        interval = (f"{100 * _num(r['ci_low']):+.1f} to {100 * _num(r['ci_high']):+.1f}" if diff
                    else f"{fmt_pct(r['ci_low'])} to {fmt_pct(r['ci_high'])}")
        rows.append([
            r["arm"], r["n"], "" if diff else r["responders"], value, interval, r["method"],
        ])
    return _table(header, rows, last_left=True)


def survival_section(sv: pd.DataFrame, arms: Sequence[str]) -> str:
    """One table of KM medians and landmark rates, one of CIFs, one of comparisons."""
    parts: list[str] = []
    km = sv[sv["estimator"].astype(str).str.startswith("KM")]
    header = ["Endpoint", "Arm", "n", "Events", "Competing", "Median, months (95% CI)",
              *[f"{t} mo % (95% CI)" for t in LANDMARKS_MONTHS]]
    rows = []
    for (endpoint, arm), g in km.groupby(["endpoint", "arm"], sort=False):
        med = g[g["statistic"] == "median"].iloc[0]
        label = endpoint_label(endpoint)
        if str(g["estimator"].iloc[0]).endswith("(cause-specific)"):
            label += " [cause-specific KM]"
        row: list[Any] = [
            label, arm, med["n"], med["events"], med["competing"], median_ci(med),
        ]
        for t in LANDMARKS_MONTHS:
            lm = g[g["statistic"] == f"survival_{t}m"]
            row.append(est_ci(lm["estimate"].iloc[0], lm["ci_low"].iloc[0],
                              lm["ci_high"].iloc[0], fmt_pct) if len(lm) else "–")
        rows.append(row)
    parts.append("<h3>Kaplan–Meier estimates</h3>" + _table(header, rows, left=2))
    parts.append('<p class="note">KM rows marked "cause-specific" censor competing events '
                 "(other-cause death, resection); their 1 − KM overstates incidence when "
                 "competing events are common (END-LTP-3). NR: not reached. "
                 "– : not estimable (no follow-up that long).</p>")

    cif = sv[sv["estimator"].astype(str).str.startswith("CIF")]
    if not cif.empty:
        header = ["Endpoint", "Arm", "n", "Patients", "Tumours", "Events", "Competing",
                  *[f"{t} mo % (95% CI)" for t in LANDMARKS_MONTHS]]
        rows = []
        for (endpoint, arm), g in cif.groupby(["endpoint", "arm"], sort=False):
            first = g.iloc[0]
            row = [CIF_LABELS.get(str(endpoint), str(endpoint)), arm, first["n"],
                   first["n_patients"], first["n_tumours"] or "–", first["events"],
                   first["competing"]]
            for t in LANDMARKS_MONTHS:
                lm = g[g["statistic"] == f"cumulative_incidence_{t}m"]
                row.append(est_ci(lm["estimate"].iloc[0], lm["ci_low"].iloc[0],
                                  lm["ci_high"].iloc[0], fmt_pct) if len(lm) else "–")
            rows.append(row)
        parts.append("<h3>Cumulative incidence with competing risks (Aalen–Johansen)</h3>"
                     + _table(header, rows, left=2))

    tests = sv[sv["statistic"].isin(COMPARISON_ORDER)].copy()
    if not tests.empty:
        # Per endpoint, the stratified analysis first, then the unstratified ones; the endpoint
        # named once per group, the statistics by name (not by their CSV codes).
        tests["_order"] = tests["statistic"].map(COMPARISON_ORDER.index)
        tests["_endpoint"] = tests["endpoint"].map(
            {e: i for i, e in enumerate(dict.fromkeys(tests["endpoint"]))})
        header = ["Endpoint", "Comparison", "Statistic", "Estimate (95% CI)", "p (Wald or test)",
                  "p (LR)", "Method"]
        rows = []
        last = None
        for r in tests.sort_values(["_endpoint", "_order"], kind="stable").to_dict("records"):
            name = endpoint_label(r["endpoint"]) if r["endpoint"] != last else ""
            last = r["endpoint"]
            rows.append([name, r["arm"], COMPARISON_STATISTICS[r["statistic"]], _estimate_text(r),
                         fmt_p(r["p_value"]), _lr_p(r), _method_text(r["method"])])
        parts.append("<h3>Comparisons between arms</h3>"
                     '<p class="note">Stratified analyses (by the randomisation strata) first; '
                     "HR &lt; 1 favours the first arm named. Gray's test and the Fine–Gray "
                     "subdistribution HR compare cumulative incidences with competing risks; "
                     "per-tumour models use robust variances clustered by patient (STAT-6); "
                     "their likelihood-ratio p, which ignores that clustering, is not shown "
                     "here (<code>survival.csv</code> keeps it).</p>"
                     + _table(header, rows, left=3, last_left=True))
    return "\n".join(parts)


def endpoint_label(endpoint: Any) -> str:
    """An endpoint's name for readers (``DOR`` is "Duration of response ...")."""
    code = str(endpoint)
    return ENDPOINT_LABELS.get(code) or EXTRA_LABELS.get(code) or code


def _method_text(method: Any) -> str:
    """A method description for the report: the LR p is in its own column here, not in the
    CSV column the method text names."""
    text = str(method or "")
    for phrase in ("; LR p in p_value_lr (model-based: it ignores the clustering, as R's "
                   "summary LR test)", "; LR p in p_value_lr", " LR p in p_value_lr;",
                   "LR p in p_value_lr"):
        text = text.replace(phrase, "")
    return text.strip().rstrip(";").strip()


COMPARISON_ORDER = [
    "logrank_stratified_chi2", "hazard_ratio_stratified", "ph_test_stratified",
    "gray_stratified_chi2", "subdistribution_hazard_ratio_stratified", "logrank_chi2",
    "hazard_ratio", "ph_test", "gray_chi2", "subdistribution_hazard_ratio", "rmst_difference",
]
PRIMARY_STATISTICS = ("logrank_stratified_chi2", "hazard_ratio_stratified")
COMPARISON_STATISTICS = {
    "logrank_chi2": "log-rank",
    "logrank_stratified_chi2": "log-rank, stratified",
    "hazard_ratio": "Cox HR",
    "hazard_ratio_stratified": "Cox HR, stratified",
    "ph_test": "PH test (cox.zph, km)",
    "ph_test_stratified": "PH test, stratified model",
    "gray_chi2": "Gray's test",
    "gray_stratified_chi2": "Gray's test, stratified",
    "subdistribution_hazard_ratio": "Fine–Gray SHR",
    "subdistribution_hazard_ratio_stratified": "Fine–Gray SHR, stratified",
    "rmst_difference": "RMST difference",
}


def te_section(table: pd.DataFrame | None) -> str:
    """Technique efficacy per tumour (END-TE), with patient-clustered intervals (STAT-6)."""
    if table is None or table.empty:
        return ""
    names = {"TE_PRIMARY": "Primary technique efficacy",
             "TE_ASSISTED": "Assisted (secondary) technique efficacy"}
    rows = [[names.get(str(r["endpoint"]), r["endpoint"]), r["arm"], r["n_tumours"],
             r["n_patients"], r["successes"], fmt_pct(r["proportion"]),
             f"{fmt_pct(r['ci_low'])} to {fmt_pct(r['ci_high'])}", r["method"]]
            for _, r in table.iterrows()]
    header = ["Endpoint", "Arm", "Tumours", "Patients", "Complete ablation", "%", "95% CI",
              "Method"]
    return ("<h3>Technique efficacy per ablated tumour (END-TE, ABL-3)</h3>"
            '<p class="note">Denominator: ablated tumours with an evaluable first follow-up. '
            "Assisted efficacy also counts complete ablation after re-treatment of residual "
            "tumour.</p>" + _table(header, rows, left=2, last_left=True))


_CAPTIONS = {
    "km_os": "Overall survival, Kaplan–Meier by arm with 95% log(−log) bands and numbers at risk.",
    "km_dfs": "Disease-free survival (primary endpoint), Kaplan–Meier by arm, with the "
              "stratified hazard ratio and log-rank p; dotted guides mark the medians.",
    "cif_dfs": "Cumulative incidence of recurrence or death due to disease (registry DFS); "
               "other-cause death as a competing risk; Fine–Gray SHR and Gray's test.",
    "km_dor": "Duration of response among responders (REC-D1), Kaplan–Meier by arm.",
    "forest": "Arm effect on DFS within subgroups (Cox HR with 95% CI, log scale).",
    "km_ltpfs": "LTP-free survival per patient (LTP or death), Kaplan–Meier by arm.",
    "cif_ltp_tumour": "Cumulative incidence of LTP per ablated tumour from its ablation; "
                      "death as a competing risk, resection of the zone censored (END-LTP, "
                      "§11.18).",
    "cif_local_control_tumour": "Cumulative incidence of LTP per ablated tumour from the last "
                                "ablation of its site, after repeat treatment (local tumour "
                                "control, END-LTP-5); death as a competing risk, resection of "
                                "the zone censored.",
    "cif_ltp": "Cumulative incidence of first LTP per patient from randomisation; death "
               "without LTP as a competing risk.",
    "cif_css": "Cumulative incidence of cancer death; other-cause death as a competing risk "
               "(END-CSS).",
    "cif_distant": "Cumulative incidence of distant progression per patient from randomisation "
                   "(intrahepatic distant, ABL-6, or extrahepatic, ABL-7; PJ-1); death without it "
                   "as a competing risk; LTP does not end follow-up.",
    "waterfall": "Best change in the target lesion sum per arm, coloured by best overall "
                 "response (dashed: +20% and −30%).",
    "spider": "Change in the target lesion sum over time per arm (a seeded sample of subjects "
              "when large): from baseline with the PR threshold, and from the nadir with the "
              "PD threshold.",
    "swimmer": "Each subject's course: ablations, first response, LTP, distant recurrence, "
               "death.",
}


# Captions of the blinded report, where one pooled curve is drawn and nothing is compared.
_BLINDED_CAPTIONS = {
    "km_os": "Overall survival, Kaplan–Meier, arms pooled, with 95% log(−log) band and numbers "
             "at risk.",
    "km_dfs": "Disease-free survival (primary endpoint), Kaplan–Meier, arms pooled; the dotted "
              "guide marks the median.",
    "cif_dfs": "Cumulative incidence of recurrence or death due to disease (registry DFS), arms "
               "pooled; other-cause death as a competing risk.",
    "km_dor": "Duration of response among responders (REC-D1), Kaplan–Meier, arms pooled.",
    "km_ltpfs": "LTP-free survival per patient (LTP or death), Kaplan–Meier, arms pooled.",
    "waterfall": "Best change in the target lesion sum, arms pooled, coloured by best overall "
                 "response (dashed: +20% and −30%).",
    "spider": "Change in the target lesion sum over time, arms pooled (a seeded sample of "
              "subjects when large): from baseline with the PR threshold, and from the nadir "
              "with the PD threshold.",
}


def plots_section(plots: Mapping[str, Mapping[str, Path]], *, blinded: bool = False) -> str:
    return "\n".join(_figure(name, paths, blinded=blinded) for name, paths in plots.items())


def blind_tables(tables: Mapping[str, pd.DataFrame], pooled: str) -> dict[str, pd.DataFrame]:
    """The tables of the blinded report: the pooled group is shown once, as "all" (its rows
    or column under the pooled label repeat the "all" ones and are dropped)."""
    out: dict[str, pd.DataFrame] = {}
    for name, frame in tables.items():
        if frame is not None and not frame.empty:
            if "arm" in frame.columns and (frame["arm"] == "all").any():
                frame = frame[frame["arm"] != pooled]
            if pooled in frame.columns and "all" in frame.columns:
                frame = frame.drop(columns=[pooled])
        out[name] = frame
    return out


def setting_text(value: Any) -> str:
    """A setting's value as the report shows it: strings bare, anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value)


def _setting_cell(name: str, value: Any) -> str:
    """A cell of the settings table; a null default that stands for another setting says which."""
    if value is None and name == "dfs_retreatment_window_days":
        return "null (the upper bound of technique_efficacy_window_days)"
    return setting_text(value)


def settings_section(data: AnalysisData) -> str:
    """The settings the cases were assessed with, one column per distinct combination."""
    used = data.settings_used
    if used is None:
        settings = data.settings
        if settings is None:
            return "<p>Default settings (the assessment's own settings are not recorded).</p>"
        values = settings.as_dict() if hasattr(settings, "as_dict") else dict(settings)
        rows = [[k, setting_text(v)] for k, v in values.items()]
        return ('<p class="note">The assessment did not record its settings (no '
                "assessment.json): these are the settings given to the analysis.</p>"
                + _table(["Setting", "Value"], rows, left=2))
    names = list(dict.fromkeys(k for g in used.groups for k in g.settings))
    ordered = ([n for n in ENDPOINT_SETTINGS if n in names]
               + [n for n in names if n not in ENDPOINT_SETTINGS])
    head = "".join(
        f'<th class="l" data-group="{i}" data-cases="{len(g.subjects)}">{_esc(g.label)}'
        f"<br>{len(g.subjects)} case{'s' if len(g.subjects) != 1 else ''}</th>"
        for i, g in enumerate(used.groups))
    body = []
    for name in ordered:
        values = [g.settings.get(name) for g in used.groups]
        differs = len({json.dumps(v, sort_keys=True) for v in values}) > 1
        kind = "endpoint" if name in ENDPOINT_SETTINGS else "rule"
        cells = "".join(
            f'<td class="l" data-value="{_esc(json.dumps(v))}">{_esc(_setting_cell(name, v))}</td>'
            if name in g.settings else '<td class="l" data-value="null">–</td>'
            for v, g in zip(values, used.groups, strict=True))
        style = ' class="differs"' if differs else ""
        body.append(f'<tr data-setting="{_esc(name)}" data-kind="{kind}"{style}>'
                    f'<td class="l">{_esc(name)}</td>{cells}</tr>')
    table = (f'<table id="settings-table"><thead><tr><th class="l">Setting</th>{head}</tr>'
             f"</thead><tbody>{''.join(body)}</tbody></table>")
    n = used.n_cases
    groups = len(used.groups)
    return (f'<p>{n} case{"s" if n != 1 else ""} assessed with {groups} combination'
            f'{"s" if groups != 1 else ""} of settings (read from <code>{_esc(used.source)}'
            "</code>). The endpoint settings (first rows) are the same for every case, or the "
            "analysis would have refused to run; rows that differ between combinations are "
            "highlighted.</p>" + table)


def _dfs_wording(settings: Any) -> str:
    def get(name: str, default: str) -> str:
        if settings is None:
            return default
        if isinstance(settings, Mapping):
            return str(settings.get(name, default))
        return str(getattr(settings, name, default))

    definition = get("dfs_definition", "registry")
    if definition == "datecan":
        text = "DFS (DATECAN): recurrence or death from any cause."
    else:
        text = ("DFS (registry definition, §6.0): recurrence (LTP, IDP, EHP) or death due to "
                "disease; other-cause death is a competing event.")
    never = get("dfs_never_disease_free", "event_day0")
    text += (" Never disease-free: event at day 0 (END-DFS-4)." if never == "event_day0"
             else " Never disease-free: excluded from DFS (END-DFS-4).")
    unknown = get("css_unknown_cause", "cancer")
    counted = "cancer" if unknown == "cancer" else "other-cause"
    text += f" Deaths of unknown cause counted as {counted} deaths (END-CSS-3)."
    return text


def disposition_section(table: pd.DataFrame, data: AnalysisData) -> str:
    """CONSORT-style disposition per arm, with the cut-off sentence and the totals check."""
    info = disposition.cutoff_info(data)
    columns = [c for c in table.columns if c not in ("section", "category")]
    rows = []
    last = ""
    for r in table.to_dict("records"):
        section = r["section"] if r["section"] != last else ""
        last = r["section"]
        rows.append([section, r["category"], *[r[c] for c in columns]])
    adds_up = disposition.status_adds_up(table) if not table.empty else True
    check = ("The status rows add up to the randomised total in every arm."
             if adds_up else "WARNING: the status rows do not add up to the randomised total.")
    return (f'<p class="cutoff"><strong>{_esc(info.sentence())}</strong></p>'
            + _table(["", "Subjects", *columns], rows, left=2).replace(
                "<table>", '<table id="disposition">', 1)
            + f'<p class="note" id="disposition-check">{_esc(check)} Treated: at least one '
              "ablation by the cut-off. Evaluable for response: target disease at baseline and "
              "a best overall response other than NE. Status: the end of participation a case "
              "file records (subject.end_of_study: completed, withdrew consent, lost to "
              "follow-up, other reason, death; a death learnt of after a subject left is counted "
              "under the reason they left); without one, died by the cut-off, completed (alive "
              "at 60 months, the registry's time frame), in follow-up (last contact within 183 "
              "days of the cut-off) or follow-up ended early with the reason not recorded. "
              "Missed assessments: visits of the "
              "protocol schedule (assessment_schedule) with no adequate imaging in their window "
              "(due date ± half the interval) before the last imaging study.</p>")


def primary_section(sv: pd.DataFrame, data: AnalysisData,
                    plots: Mapping[str, Mapping[str, Path]], *, blinded: bool = False) -> str:
    """The primary endpoint (DFS), named and stratified, before everything else."""
    dfs = sv[sv["endpoint"] == PRIMARY_ENDPOINT]
    if dfs.empty:
        return "<p>No DFS data could be analysed.</p>"
    factors = strata_description(data.subjects)
    strat = (f"stratified by the randomisation factor{'s' if ',' in factors else ''} "
             f"<strong>{_esc(factors)}</strong>") if factors else "unstratified (no strata)"
    rows = []
    for arm, g in dfs.groupby("arm", sort=False):
        if " vs " in str(arm):
            continue
        med = g[g["statistic"] == "median"]
        if med.empty:
            continue
        m = med.iloc[0]
        cells: list[Any] = [arm, m["n"], m["events"], m["competing"], median_ci(m)]
        for t in (12, 24, 36):
            lm = g[g["statistic"] == f"survival_{t}m"]
            cells.append(est_ci(lm["estimate"].iloc[0], lm["ci_low"].iloc[0],
                                lm["ci_high"].iloc[0], fmt_pct) if len(lm) else "–")
        rows.append(cells)
    table = _table(["Arm", "n", "Events", "Competing", "Median DFS, months (95% CI)",
                    "12 mo %", "24 mo %", "36 mo %"], rows)
    tests = []
    order = COMPARISON_ORDER
    comparisons = dfs[dfs["statistic"].isin(order)].copy()
    comparisons["order"] = comparisons["statistic"].map(order.index)
    for r in comparisons.sort_values("order").to_dict("records"):
        # The primary analysis: the log-rank test and the Cox HR stratified by the randomisation
        # factor; the other stratified statistics (PH check, Gray, Fine–Gray) support it.
        primary = r["statistic"] in PRIMARY_STATISTICS
        tests.append([("primary analysis: " if primary else "")
                      + COMPARISON_STATISTICS[r["statistic"]], _estimate_text(r),
                      fmt_p(r["p_value"]), _lr_p(r), _method_text(r["method"])])
    test_table = _table(["Comparison", "Estimate (95% CI)", "p (Wald or test)", "p (LR)",
                         "Method"], tests, left=1, last_left=True) if tests else ""
    figures = "".join(_figure(name, plots[name], blinded=blinded)
                      for name in ("km_dfs", "cif_dfs") if name in plots)
    definition = _dfs_wording(data.settings)
    return (f'<div class="primary" id="primary-endpoint"><p><strong>Primary endpoint: '
            f"disease-free survival (DFS)</strong>, {strat}. {_esc(definition)}</p>"
            + table + test_table + figures + "</div>")


def _lr_p(r: Mapping[str, Any]) -> str:
    """The likelihood-ratio p of a Cox model; "–" for a clustered model, whose LR test is the
    naive one (it treats tumours of one patient as independent, unlike the robust Wald p)."""
    if "clustered by patient" in str(r.get("method", "")):
        return "–"
    return fmt_p(r.get("p_value_lr"))


def _estimate_text(r: Mapping[str, Any]) -> str:
    statistic = str(r["statistic"])
    if math.isnan(_num(r["estimate"])):
        return "–"
    if "hazard_ratio" in statistic:
        name = "SHR" if statistic.startswith("subdistribution") else "HR"
        return f"{name} {_num(r['estimate']):.2f} ({_num(r['ci_low']):.2f}–{_num(r['ci_high']):.2f})"
    if statistic == "rmst_difference":
        return (f"{_num(r['estimate']):+.2f} mo ({_num(r['ci_low']):+.2f} to "
                f"{_num(r['ci_high']):+.2f}), τ = {_num(r['time_months']):.1f} mo")
    return f"χ² {_num(r['estimate']):.2f}"


def response_duration_section(sv: pd.DataFrame) -> str:
    dor = sv[(sv["endpoint"] == "DOR") & (sv["statistic"] == "median")]
    if dor.empty:
        return ""
    rows = [[r["arm"], r["n"], r["events"], median_ci(r)] for r in dor.to_dict("records")]
    return ("<h3>Duration of response (REC-D1)</h3>"
            '<p class="note">Responders (best overall response CR or PR), from the first '
            "response to progression or death; censored at the last adequate assessment.</p>"
            + _table(["Arm", "Responders", "Progressed or died", "Median, months (95% CI)"],
                     rows))


def subgroup_section(table: pd.DataFrame | None, plots: Mapping[str, Mapping[str, Path]]) -> str:
    if table is None or table.empty:
        return ""
    rows = [["All subjects" if r["subgroup"] == "all" else r["subgroup"],
             "" if r["subgroup"] == "all" else r["level"], r["n"], r["events"],
             "not estimable" if math.isnan(_num(r["hazard_ratio"])) else
             f"{_num(r['hazard_ratio']):.2f} ({_num(r['ci_low']):.2f}–{_num(r['ci_high']):.2f})",
             fmt_p(r["p_value"]), fmt_p(r["interaction_p"])] for r in table.to_dict("records")]
    figure = _figure("forest", plots["forest"]) if "forest" in plots else ""
    return (figure + _table(["Subgroup", "Level", "n", "Events", "HR (95% CI)", "p",
                             "Interaction p (LR)"], rows, left=2))


REVIEW_LIMIT = 200


def review_section(flags: pd.DataFrame | None, *, show_arm: bool = True) -> str:
    if flags is None or flags.empty:
        return "<p>No review flags.</p>"
    counts = flags["flag"].value_counts(sort=False).sort_values(kind="stable")
    summary = _table(["Flag", "Times raised"], [[k, int(v)] for k, v in counts.items()])
    # The rarest kinds first, so that an unusual flag is not buried under routine notes.
    rank = {flag: i for i, flag in enumerate(counts.index)}
    flags = flags.assign(_rank=flags["flag"].map(rank)).sort_values(
        ["_rank", "subject"], kind="stable").drop(columns="_rank")
    shown = flags.head(REVIEW_LIMIT)
    rows = [[r["subject"], *([r["arm"]] if show_arm else []), r["where"], r["flag"]]
            for r in shown.to_dict("records")]
    more = (f'<p class="note">… and {len(flags) - REVIEW_LIMIT} more in '
            "<code>review_flags.csv</code>.</p>" if len(flags) > REVIEW_LIMIT else "")
    return (f"<p>{len(flags)} review flag(s) raised by the assessment, for a reader to check "
            "(some record a decision the rules took, e.g. a CR reclassified as PR; others are "
            "notes, e.g. a tumour entering the LTP risk set after assisted complete ablation). "
            "The rarest kinds are listed first; every one is in "
            "<code>review_flags.csv</code>.</p>" + summary
            + _table(["Subject", *(["Arm"] if show_arm else []), "Where", "Flag"], rows,
                     left=4 if show_arm else 3).replace(
                "<table>", '<table id="review-flags">', 1) + more)


def _figure(name: str, paths: Mapping[str, Path], *, blinded: bool = False) -> str:
    data = base64.b64encode(Path(paths["png"]).read_bytes()).decode("ascii")
    caption = (_BLINDED_CAPTIONS.get(name) if blinded else None) or _CAPTIONS.get(name, name)
    svg = Path(paths["svg"]).name
    return (f'<figure id="fig-{_esc(name)}"><img alt="{_esc(caption)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{_esc(caption)} '
            f"(300 dpi PNG; vector version: <code>{_esc(svg)}</code>)</figcaption></figure>")


def _blinded_preop_note() -> str:
    return ('<h3 id="pre">Response to preoperative chemotherapy (pre-ablation window; '
            f'{rule_link("PRE-2")})</h3><p class="note">Not shown in the blinded report: only one '
            "arm receives chemotherapy before the ablation (setting <code>preop_chemo_arm</code>), "
            "so this rate and the disappearing liver metastases "
            f"({rule_link('PRE-3')}) would identify that arm.</p>")


def preop_section(preop: pd.DataFrame | None, dlm: pd.DataFrame | None) -> str:
    """PRE-2 to PRE-4: ORR to preoperative chemotherapy beside the whole-course ORR, and the
    disappearing liver metastases (added by the engine; the rest of the layout is unchanged)."""
    parts = ['<h3 id="pre">Response to preoperative chemotherapy (pre-ablation window; '
             f'{rule_link("PRE-2")})</h3>']
    if preop is None or preop.empty:
        parts.append('<p class="note">No arm receives chemotherapy before the ablation '
                     "(setting <code>preop_chemo_arm</code>), so no pre-ablation ORR is reported.</p>")
    else:
        parts.append(
            '<p class="note">After ablation almost every target has no viable tissue, so the '
            "whole-course ORR is near 100 % by construction; the response to preoperative "
            "chemotherapy is the best response in the studies after baseline and before the first "
            f"ablation ({rule_link('PRE-1')}), without confirmation. Denominator: the arm's "
            "subjects with measurable disease at baseline; no pre-ablation study counts as "
            "non-response. The two rates are labelled and never merged.</p>")
        rows = [[r["label"], r["arm"], r["n"], r["responders"], fmt_pct(r["orr"]),
                 f"{fmt_pct(r['ci_low'])} to {fmt_pct(r['ci_high'])}",
                 r["no_pre_ablation_scan"]] for _, r in preop.iterrows()]
        parts.append(_table(["Rate", "Arm", "n", "Responders", "%", "95% CI (Clopper–Pearson)",
                             "No pre-ablation study"], rows))
    if dlm is not None and not dlm.empty and int(dlm["dlm"].sum()):
        parts.append(f"<h3>Disappearing liver metastases ({rule_link('PRE-3')}, {rule_link('PRE-4')})</h3>")
        header = ["Arm", "Subjects", "With a pre-ablation study", "With a DLM", "DLMs",
                  "Site ablated", "Site observed", "Site resected", "In-situ recurrence: LTP",
                  "Residual", "Intrahepatic progression"]
        rows = [[r[c] for c in dlm.columns] for _, r in dlm.iterrows()]
        parts.append(_table(header, rows))
    return "\n".join(parts)


def render(
    data: AnalysisData,
    tables: Mapping[str, pd.DataFrame],
    plots: Mapping[str, Mapping[str, Path]],
    *,
    blinded: bool = False,
) -> str:
    """The whole page as a string (``blinded``: arms pooled, for the open session)."""
    arms = data.arms
    if blinded:
        tables = blind_tables(tables, arms[0] if len(arms) == 1 else "pooled")
        arms = []
    orr, dcr, bor = tables["orr"], tables["dcr"], tables["bor"]
    survival_rows = tables["survival"]
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    banner = ""
    if data.simulated:
        banner = (
            '<div class="banner" role="alert">SIMULATED DATA — these subjects are synthetic '
            "(a simulated cohort or hand-written sample cases, marked \"simulated\": true), made "
            "to exercise the pipeline; the results say nothing about the trial. "
            f"({_esc(data.simulated_reason)})</div>"
        )
    if blinded:
        banner += ('<div class="banner blinded" role="note">BLINDED REPORT — both arms pooled; '
                   "no result by arm and no comparison between arms (for the open session).</div>")
    problems = ""
    if data.problems:
        shown = data.problems[:50]
        items = "".join(f"<li>{_esc(p)}</li>" for p in shown)
        if len(data.problems) > len(shown):
            items += f"<li>… and {len(data.problems) - len(shown)} more</li>"
        problems = (f'<div class="problems"><strong>{len(data.problems)} input(s) could not be '
                    f"analysed:</strong><ul>{items}</ul></div>")
    in_sections = {"km_dfs", "cif_dfs", "forest"}
    other_plots = {k: v for k, v in plots.items() if k not in in_sections}
    title = "Trial analysis report" + (" (blinded: arms pooled)" if blinded else "")
    # Every rule ID in the text links to its entry in a glossary at the end (docs/rules.md).
    return link_rules_in_html(f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title)} — mrecist-tool</title>
<style>{_CSS}</style></head>
<body>
<h1>{_esc(title)}</h1>
<p class="meta">NCT04562727 endpoints (response-rules.md §6) · generated {_esc(now)} by
mrecist-tool {_esc(__version__)} · rules version: <strong>{_esc(RULES_VERSION)}</strong><br>
Source: {_esc(data.source or "(tables)")}</p>
{banner}
{problems}
<nav class="toc"><a href="#sec-disposition">Disposition</a> · <a href="#sec-primary">Primary
endpoint</a> · <a href="#sec-secondary">Secondary endpoints</a> · <a href="#sec-response">Tumour
response</a> · <a href="#sec-subgroups">Subgroups</a> · <a href="#sec-plots">Plots</a> ·
<a href="#sec-flags">Review flags</a> · <a href="#sec-settings">Settings</a> · <a href="#sec-rules">Rules</a></nav>
<h2 id="sec-disposition">Disposition at the data cut-off</h2>
{disposition_section(tables["disposition"], data) if "disposition" in tables else ""}
<h2>Cohort summary</h2>
{cohort_summary(data, survival_rows, arms)}
<h2 id="sec-primary">Primary endpoint</h2>
{primary_section(survival_rows, data, plots, blinded=blinded)}
<h2 id="sec-secondary">Secondary endpoints (time to event)</h2>
<p class="note">Origin: randomisation (END-GEN-1); per-tumour LTP from the tumour's ablation.
Times in months (days / 30.4375). {_esc(_dfs_wording(data.settings))} Competing-risk endpoints
are compared by Gray's test and Fine–Gray regression beside the cause-specific log-rank and Cox
model. Every estimate follows R's survival and cmprsk packages (checked figure by figure in the
test suite). Local control after repeat treatment (END-LTP-5) is the per-tumour endpoint
LOCAL_CONTROL_TUMOUR, from the last ablation of the site. Not computed: interval-censored
sensitivity analyses (STAT-7).</p>
{survival_section(survival_rows, arms)}
{margin_section(tables.get("margin_ltp"))}
<h2 id="sec-response">Tumour response (mRECIST)</h2>
<h3>Best overall response, all randomised subjects</h3>
{bor_section(bor, arms)}
<h3>Objective response rate over the whole course (CR + PR; END-ORR)</h3>
<p class="note">Denominator: randomised subjects with measurable target disease at baseline
(END-ORR-2, ITT; no evaluable post-baseline assessment counts as non-response). Subjects with
non-target disease only are excluded (END-ORR-3). Confidence intervals: Clopper–Pearson exact
(STAT-5){"" if blinded else "; difference between arms: Newcombe hybrid score interval"}.</p>
{rate_section(orr, "ORR")}
{_blinded_preop_note() if blinded else preop_section(tables.get("orr_preop"), tables.get("dlm"))}
<h3>Disease control rate (CR + PR + SD meeting the minimum duration; END-DCR)</h3>
{rate_section(dcr, "DCR")}
{response_duration_section(survival_rows)}
{te_section(tables.get("technique_efficacy"))}
<h2 id="sec-subgroups">Subgroups</h2>
{subgroup_section(tables.get("subgroups"), plots) or "<p>Not shown in the blinded report.</p>"}
<h2 id="sec-plots">Plots</h2>
{plots_section(other_plots, blinded=blinded)}
<h2 id="sec-flags">Review flags</h2>
{review_section(tables.get("review_flags"), show_arm=not blinded)}
<h2 id="sec-settings">Settings and rules</h2>
<p>Rules version: <strong>{_esc(RULES_VERSION)}</strong>; mrecist-tool {_esc(__version__)}.</p>
{settings_section(data)}
<p class="note">Tables for R or pandas: <code>endpoints.csv</code> (long format: one row per
subject or tumour and endpoint; event 0 censored, 1 event, 2 competing; empty for a row left
out of the analysis, the reason in event_type), <code>orr.csv</code>,
<code>dcr.csv</code>, <code>bor.csv</code>, <code>technique_efficacy.csv</code>,
<code>survival.csv</code>, <code>at_risk.csv</code>, <code>disposition.csv</code>,
<code>review_flags.csv</code>, <code>subgroups.csv</code>, <code>margin_ltp.csv</code> (LTP by
ablative margin band and the hazard ratio per mm of MAM), <code>orr_preop.csv</code> (ORR to
preoperative chemotherapy, PRE-2), <code>dlm.csv</code> (disappearing liver metastases, PRE-3,
PRE-4); ADaM datasets for SAS or admiralonco in <code>adam/</code> (<code>adsl</code>,
<code>adrs</code>, <code>adtte</code>, each as <code>.csv</code> and SAS transport
<code>.xpt</code>; ADTTE keeps CDISC's convention: CNSR 0 event, 1 censored, a competing event
CNSR 1 with CMPEVFL Y).</p>
</body></html>
""")
