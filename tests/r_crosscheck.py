"""Compare every figure of survival.csv, orr.csv, dcr.csv, technique_efficacy.csv, subgroups.csv,
orr_preop.csv and margin_ltp.csv with R.

Used by ``tests/test_r_crosscheck.py`` (one Rscript per cohort per session) and runnable on its
own to print the tally of figures compared and agreeing:

    .venv/bin/python tests/r_crosscheck.py

R (``r-base-core r-cran-survival r-cran-cmprsk r-cran-geepack``) recomputes everything from the
endpoint columns alone with ``tests/r/crosscheck.R``; nothing of the Python results is passed to
it.  Figures agree when both are missing (R ``NA``, an empty cell here) or when they differ by at
most ``TOLERANCE`` (counts must be equal).
"""

from __future__ import annotations

import functools
import json
import math
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
R_SCRIPT = HERE / "r" / "crosscheck.R"
TOLERANCE = 1e-4
# cmprsk::crr is a second reference for Fine–Gray; it differs from survival::finegray (the one
# matched to TOLERANCE) in two documented ways: its censoring curve keeps subjects with an event
# at a censoring time in the censoring risk set, and its variance adds a term for estimating
# that curve.  On these cohorts the two differ by up to about 2e-3, relative to the figure (an
# upper confidence bound near 3 differs by about 1.2e-2 on the PRE-5 cohort of 12 subjects).
CRR_TOLERANCE = 5e-3
# A hazard ratio R reports beyond these bounds comes from a fit whose coefficient diverged
# (monotone likelihood: no event in one arm of a stratum; coxph warns "coefficient may be
# infinite"): the figure is not estimable, which our Cox reports as empty.
DIVERGED_HR = (1e-8, 1e8)
COHORTS = ("n12", "n120", "n668", "ties")
COUNT_FIELDS = {"n", "events", "competing", "responders", "n_tumours", "n_patients", "successes",
                "n_first_arm", "events_first_arm", "n_ltp"}
SURVIVAL_FIELDS = ("estimate", "ci_low", "ci_high", "p_value", "p_value_lr", "std_error", "n",
                   "events", "competing")
RATE_FIELDS = ("n", "responders", "orr", "ci_low", "ci_high")
TE_FIELDS = ("n_tumours", "n_patients", "successes", "proportion", "ci_low", "ci_high")
SUBGROUP_FIELDS = ("n", "events", "n_first_arm", "events_first_arm", "hazard_ratio", "ci_low",
                   "ci_high", "p_value", "interaction_p")
KEY = ["table", "endpoint", "arm", "statistic", "time_months", "field"]


def rscript() -> str | None:
    return shutil.which("Rscript")


@functools.lru_cache(maxsize=4)
def _assessed(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from mrecist_tool.analysis import dataset
    from mrecist_tool.casefile import read_case_text
    from mrecist_tool.pipeline.tables import assessment_tables
    from mrecist_tool.rules import assess_case, settings_for_case
    from mrecist_tool.sample.cohort import generate_cohort

    cases = [read_case_text(json.dumps(c)) for c in generate_cohort(n, seed=seed)]
    data = dataset.from_tables(assessment_tables(assess_case(c, settings_for_case(c))
                                                 for c in cases))
    return data.endpoints, data.subjects, data.ablations


def _heavy_ties(endpoints: pd.DataFrame) -> pd.DataFrame:
    """Times coarsened to whole quarters (events, competing events and censorings tie), and
    about one subject in eight with a day-0 event on every competing-risk endpoint."""
    rng = random.Random(14)
    out = endpoints.dropna(subset=["time_days", "event"]).copy()
    days = (out["time_days"].astype(float) / 91).round() * 91
    day0 = {s for s in sorted(out["subject"].unique()) if rng.random() < 0.125}
    hit = out["subject"].isin(day0) & out["endpoint"].isin(["DFS", "LTP", "LTP_TUMOUR"])
    days[hit] = 0
    out.loc[hit, "event"] = [rng.choice([1, 1, 2, 0]) for _ in range(int(hit.sum()))]
    out["time_days"] = days.astype(int)
    out["time_months"] = (out["time_days"] / 30.4375).round(4)
    return out


def with_margins(ablations: pd.DataFrame, endpoints: pd.DataFrame) -> pd.DataFrame:
    """The ablations with a minimal ablative margin per tumour, for the LTP-by-margin figures.

    The simulated case files carry no margin inputs (margins come from masks), so each tumour
    gets a seeded MAM: smaller, on average, for tumours with LTP (as in published cohorts), some
    below 0 and some exactly on the 0, 5 and 10 mm band limits; one in twenty has none.
    """
    ltp = endpoints[(endpoints["endpoint"] == "LTP_TUMOUR") & (endpoints["event"] == 1)]
    progressed = set(zip(ltp["subject"].astype(str), ltp["lesion"].astype(str), strict=True))
    values: list[float] = []
    for subject, lesion in zip(ablations["subject"].astype(str), ablations["lesion"].astype(str),
                               strict=True):
        rng = random.Random(f"{subject}/{lesion}")
        draw = rng.random()
        if draw < 0.05:
            values.append(float("nan"))
        elif draw < 0.11:
            values.append(float(rng.choice([0, 5, 10])))
        else:
            mean = 3.5 if (subject, lesion) in progressed else 6.5
            values.append(round(rng.gauss(mean, 3.5), 1))
    return ablations.assign(mam_mm=values, margin_flags="")


def cohort(name: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Endpoints (with duration of response), subjects and ablations of one test cohort."""
    from mrecist_tool.analysis.response_duration import dor_rows

    endpoints, subjects, ablations = _assessed(668 if name == "ties" else int(name[1:]))
    endpoints = pd.concat([endpoints, dor_rows(subjects)], ignore_index=True)
    ablations = with_margins(ablations, endpoints)
    if name == "ties":
        endpoints = _heavy_ties(endpoints)
    return endpoints.copy(), subjects.copy(), ablations.copy()


def python_figures(endpoints: pd.DataFrame, subjects: pd.DataFrame, ablations: pd.DataFrame,
                   arms: list[str]) -> pd.DataFrame:
    """Our tables in the long form of r_figures.csv."""
    from mrecist_tool.analysis import dataset, proportions, subgroups, survival

    rows: list[dict[str, object]] = []
    sv = survival.survival_table(endpoints, subjects, arms)
    for r in sv.to_dict("records"):
        comparison = " vs " in str(r["arm"])
        test_only = str(r["statistic"]).startswith(("logrank", "ph_test", "gray"))
        for f in SURVIVAL_FIELDS:
            if comparison and f in ("n", "events", "competing"):
                continue
            missing = r[f] == "" or (isinstance(r[f], float) and math.isnan(r[f]))
            # An empty estimate or interval is a figure (R's NA); an empty p-value or SE on a
            # row that has none is not.
            if missing and (f not in ("estimate", "ci_low", "ci_high") or test_only):
                continue
            rows.append(_fig("survival", r, r["statistic"], f, "" if missing else r[f]))
        if comparison and r["statistic"] == "logrank_chi2":
            for f in ("n", "events", "competing"):
                rows.append(_fig("survival", r, "counts", f, r[f]))
    for table in (proportions.orr_table(subjects, arms), proportions.dcr_table(subjects, arms)):
        for r in table.to_dict("records"):
            for f in RATE_FIELDS:
                rows.append({"table": r["endpoint"], "endpoint": r["endpoint"], "arm": r["arm"],
                             "statistic": "rate", "time_months": "", "field": f, "value": r[f]})
    for r in proportions.technique_efficacy_table(ablations, arms).to_dict("records"):
        for f in TE_FIELDS:
            rows.append({"table": "TE", "endpoint": r["endpoint"], "arm": r["arm"],
                         "statistic": "proportion", "time_months": "", "field": f,
                         "value": r[f]})
    for r in proportions.preop_orr_table(subjects).to_dict("records"):
        for f in RATE_FIELDS:
            rows.append({"table": "orr_preop", "endpoint": r["endpoint"], "arm": r["arm"],
                         "statistic": "rate", "time_months": "", "field": f, "value": r[f]})
    rows += margin_figures(endpoints, ablations)
    data = dataset.AnalysisData(subjects=subjects, timepoints=pd.DataFrame(),
                                ablations=ablations, endpoints=endpoints)
    table = subgroups.subgroup_table(data, arms)
    levels = table.groupby("subgroup")["level"].count().to_dict()
    for r in table.to_dict("records"):
        for f in SUBGROUP_FIELDS:
            value = r[f]
            missing = isinstance(value, float) and math.isnan(value)
            if f == "interaction_p" and (r["subgroup"] == "all" or levels[r["subgroup"]] < 2):
                continue
            rows.append({"table": "subgroups", "endpoint": r["endpoint"], "arm": r["subgroup"],
                         "statistic": r["level"], "time_months": "", "field": f,
                         "value": "" if missing else value})
    return pd.DataFrame(rows)


def margin_figures(endpoints: pd.DataFrame, ablations: pd.DataFrame) -> list[dict[str, object]]:
    """margin_ltp.csv in the long form (bands named band1..band4 in the order of BANDS)."""
    from mrecist_tool.analysis.margin_ltp import BANDS, margin_ltp_table

    band_key = {label: f"band{i + 1}" for i, (_, _, label) in enumerate(BANDS)}
    rows: list[dict[str, object]] = []
    table = margin_ltp_table(endpoints, ablations)
    counted: set[str] = set()
    for r in table.to_dict("records"):
        band = band_key.get(str(r["band"]), "all")
        if band == "all":
            for f, out in (("estimate", "estimate"), ("ci_low", "ci_low"),
                           ("ci_high", "ci_high"), ("p_value", "p_value")):
                rows.append({"table": "margin", "endpoint": "LTP_TUMOUR", "arm": "all",
                             "statistic": "hazard_ratio_per_mm", "time_months": "", "field": out,
                             "value": r[f]})
            continue
        if band not in counted:
            counted.add(band)
            for f in ("n_tumours", "n_patients", "n_ltp"):
                rows.append({"table": "margin", "endpoint": "LTP_TUMOUR", "arm": band,
                             "statistic": "counts", "time_months": "", "field": f, "value": r[f]})
        if r["time_months"] == "":
            continue
        for f in ("estimate", "ci_low", "ci_high"):
            value = r[f]
            missing = value == "" or (isinstance(value, float) and math.isnan(value))
            rows.append({"table": "margin", "endpoint": "LTP_TUMOUR", "arm": band,
                         "statistic": "cumulative_incidence", "time_months": r["time_months"],
                         "field": f, "value": "" if missing else value})
    return rows


def subgroup_inputs(endpoints: pd.DataFrame, subjects: pd.DataFrame,
                    ablations: pd.DataFrame) -> pd.DataFrame:
    """Each subject's subgroup levels (inputs for R, which fits the models itself)."""
    from mrecist_tool.analysis import dataset, subgroups

    data = dataset.AnalysisData(subjects=subjects, timepoints=pd.DataFrame(),
                                ablations=ablations, endpoints=endpoints)
    return subgroups.subgroup_labels(data)


def _fig(table: str, r: dict[str, object], statistic: object, f: str, value: object) -> dict[str, object]:
    return {"table": table, "endpoint": r["endpoint"], "arm": r["arm"], "statistic": statistic,
            "time_months": r["time_months"] if statistic != "counts" else "", "field": f,
            "value": value}


def write_inputs(folder: Path, endpoints: pd.DataFrame, subjects: pd.DataFrame,
                 ablations: pd.DataFrame, arms: list[str]) -> None:
    from mrecist_tool.analysis.survival import _strata_labels

    folder.mkdir(parents=True, exist_ok=True)
    ep = endpoints.dropna(subset=["time_months", "event"])
    ep[["subject", "arm", "unit", "lesion", "endpoint", "time_months", "event"]].to_csv(
        folder / "endpoints.csv", index=False)
    s = subjects.copy()
    s["stratum"] = s["subject"].map(_strata_labels(subjects)).fillna("")
    cols = ["subject", "arm", "stratum", "best_overall_response", "has_target_disease",
            "bor_confirmed", "sd_min_met", "preop_chemo_arm", "pre_ablation_responder"]
    for c in cols:
        if c not in s:
            s[c] = ""
    s[cols].to_csv(folder / "subjects.csv", index=False)
    a = ablations.copy() if not ablations.empty else pd.DataFrame(
        columns=["subject", "arm", "lesion", "technique_efficacy", "mam_mm"])
    a["arm"] = a.get("arm", pd.Series("", index=a.index)).fillna("").replace("", "(none)")
    if "mam_mm" not in a:
        a["mam_mm"] = ""
    a[["subject", "arm", "lesion", "technique_efficacy", "mam_mm"]].to_csv(
        folder / "ablations.csv", index=False)
    (folder / "arms.txt").write_text("\n".join(arms) + "\n", encoding="utf-8")
    subgroup_inputs(endpoints, subjects, ablations).to_csv(folder / "subgroups.csv", index=False)


def start_r(folder: Path) -> subprocess.Popen[str]:
    """Start the R script on an input folder (one Rscript process)."""
    return subprocess.Popen([rscript() or "Rscript", "--vanilla", str(R_SCRIPT), str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_r(process: subprocess.Popen[str], folder: Path) -> pd.DataFrame:
    """Wait for the R script and read its figures."""
    try:
        _, err = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"Rscript failed ({process.returncode}):\n{err[-4000:]}")
    return pd.read_csv(folder / "r_figures.csv", keep_default_na=False)


@dataclass
class Comparison:
    compared: int = 0
    agreed: int = 0
    mismatches: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    by_source: dict[str, tuple[int, int]] = field(default_factory=dict)
    by_table: dict[str, tuple[int, int]] = field(default_factory=dict)


def _value(v: object) -> float | None:
    if v is None or (isinstance(v, str) and v.strip() == ""):
        return None
    x = float(v)  # type: ignore[arg-type]
    return None if math.isnan(x) or math.isinf(x) else x


def _time_key(v: object) -> str:
    x = _value(v)
    return "" if x is None else f"{x:.4f}"


def _one_armed_subgroups(py: pd.DataFrame) -> set[tuple[str, str]]:
    """(endpoint, subgroup) pairs with a level holding one arm only: the treatment-by-subgroup
    interaction is not estimable (R's coxph drops the aliased term and still reports a p-value
    for the reduced model; ours leaves it empty)."""
    out: set[tuple[str, str]] = set()
    rows = py[(py["table"] == "subgroups") & py["field"].isin(["n", "n_first_arm"])]
    for (endpoint, arm, _level), part in rows.groupby(["endpoint", "arm", "statistic"]):
        values = dict(zip(part["field"], part["value"], strict=False))
        n, first = _value(values.get("n")), _value(values.get("n_first_arm"))
        if n is not None and first is not None and (first == 0 or first == n):
            out.add((str(endpoint), str(arm)))
    return out


def compare(py: pd.DataFrame, r: pd.DataFrame) -> Comparison:
    """Match every Python figure with R's (all sources) and count agreement."""
    result = Comparison()
    one_armed = _one_armed_subgroups(py)
    index: dict[tuple[str, ...], list[tuple[str, object]]] = {}
    for row in r.to_dict("records"):
        key = (str(row["table"]), str(row["endpoint"]), str(row["arm"]), str(row["statistic"]),
               _time_key(row["time_months"]), str(row["field"]))
        index.setdefault(key, []).append((str(row["source"]), row["value"]))
    for row in py.to_dict("records"):
        key = (str(row["table"]), str(row["endpoint"]), str(row["arm"]), str(row["statistic"]),
               _time_key(row["time_months"]), str(row["field"]))
        theirs = index.get(key)
        if not theirs:
            result.unmatched.append("/".join(key) + f" = {row['value']}")
            continue
        for source, value in theirs:
            mine, ref = _value(row["value"]), _value(value)
            if key[5] in COUNT_FIELDS:
                ok = mine == ref
            elif mine is None and ref is not None and "hazard_ratio" in key[3] and (
                    not DIVERGED_HR[0] < ref < DIVERGED_HR[1] or (key[5] == "ci_low" and ref == 0)):
                ok = True  # both not estimable (see DIVERGED_HR)
            elif mine is None and key[5] == "interaction_p" and (key[1], key[2]) in one_armed:
                ok = True  # not estimable (see _one_armed_subgroups)
            elif mine is None or ref is None:
                ok = mine is None and ref is None
            elif source == "crr":
                ok = abs(mine - ref) <= CRR_TOLERANCE * max(1.0, abs(ref))
            else:
                ok = abs(mine - ref) <= TOLERANCE
            result.compared += 1
            seen, good = result.by_source.get(source, (0, 0))
            result.by_source[source] = (seen + 1, good + int(ok))
            seen, good = result.by_table.get(key[0], (0, 0))
            result.by_table[key[0]] = (seen + 1, good + int(ok))
            if ok:
                result.agreed += 1
            else:
                result.mismatches.append("/".join(key) + f" [{source}]: ours {mine}, R {ref}")
    return result


def check_cohort(name: str, folder: Path) -> Comparison:
    endpoints, subjects, ablations = cohort(name)
    arms = sorted(set(subjects["arm"]))
    write_inputs(folder, endpoints, subjects, ablations, arms)
    process = start_r(folder)  # R works while Python computes its own figures
    try:
        ours = python_figures(endpoints, subjects, ablations, arms)
    finally:
        r = finish_r(process, folder)
    return compare(ours, r)


def main() -> int:
    import tempfile

    if rscript() is None:
        print("Rscript not found (apt-get install r-base-core r-cran-survival r-cran-cmprsk "
              "r-cran-geepack)", file=sys.stderr)
        return 2
    total = Comparison()
    with tempfile.TemporaryDirectory() as tmp:
        for name in COHORTS:
            c = check_cohort(name, Path(tmp) / name)
            print(f"{name:>5}: {c.agreed} of {c.compared} figures agree within {TOLERANCE:g} "
                  f"(crr: {CRR_TOLERANCE:g}); "
                  f"unmatched {len(c.unmatched)}; by source "
                  + ", ".join(f"{k} {v[1]}/{v[0]}" for k, v in sorted(c.by_source.items()))
                  + "; by table " + ", ".join(f"{k} {v[1]}/{v[0]}"
                                              for k, v in sorted(c.by_table.items())))
            for m in c.mismatches[:20] + c.unmatched[:20]:
                print("   ", m)
            total.compared += c.compared
            total.agreed += c.agreed
    print(f"total: {total.agreed} of {total.compared} figures agree")
    return 0 if total.agreed == total.compared else 1


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent / "src"))
    raise SystemExit(main())
