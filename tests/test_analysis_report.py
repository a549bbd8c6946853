"""``mrecist analyze`` end to end on a simulated cohort: tables, plots and report.html.

The report is opened in headless Chromium (Debian's ``chromium``), which must load it with every
image decoded and no console error.  A missing Chromium is a failure, not a skip.
"""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mrecist_tool import RULES_VERSION
from mrecist_tool.cli.main import main
from mrecist_tool.sample.cohort import write_cohort

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
N_SUBJECTS = 48


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("analyze")
    write_cohort(root / "cohort", N_SUBJECTS, seed=4)
    out = root / "out"
    assert main(["analyze", str(root / "cohort"), "--out", str(out), "-q",
                 "--profile", "nct04562727"]) == 0
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_analyze_writes_every_table(analysis: Path) -> None:
    for name in ("endpoints.csv", "orr.csv", "dcr.csv", "bor.csv", "survival.csv",
                 "technique_efficacy.csv", "report.html"):
        assert (analysis / name).is_file(), name
    orr = _rows(analysis / "orr.csv")
    assert {"arm", "n", "responders", "orr", "ci_low", "ci_high", "method"} <= set(orr[0])
    assert [r["arm"] for r in orr] == ["perioperative", "postoperative", "all",
                                       "perioperative - postoperative"]
    assert int(orr[2]["n"]) <= N_SUBJECTS
    endpoints = _rows(analysis / "endpoints.csv")
    patient = [r for r in endpoints if r["unit"] == "patient"]
    # OS, DFS, CSS, LTP, LTPFS and DISTANT (time to distant progression, PJ-1)
    assert len(patient) == 6 * N_SUBJECTS
    assert {r["event"] for r in endpoints} <= {"0", "1", "2", ""}
    survival = _rows(analysis / "survival.csv")
    assert {r["endpoint"] for r in survival} >= {"OS", "DFS", "CSS", "LTP", "LTP_TUMOUR"}
    assert any(r["statistic"] == "hazard_ratio" for r in survival)


def test_analyze_writes_png_and_svg_plots(analysis: Path) -> None:
    for name in ("km_os", "km_dfs", "cif_ltp_tumour", "cif_css", "waterfall", "spider",
                 "swimmer"):
        png = analysis / "plots" / f"{name}.png"
        svg = analysis / "plots" / f"{name}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in svg.read_text(encoding="utf-8")[:2000]


CIF_ADDED = {"cif_distant": "DISTANT", "cif_local_control_tumour": "LOCAL_CONTROL_TUMOUR"}


@pytest.mark.parametrize("name", sorted(CIF_ADDED))
def test_PJ_1_END_LTP_5_cumulative_incidence_plots_are_written_and_in_the_report(
        analysis: Path, name: str) -> None:
    """DISTANT and LOCAL_CONTROL_TUMOUR have their curves like LTP: 300 dpi PNG beside SVG,
    shown in report.html with their caption and the SVG's name."""
    from PIL import Image

    png, svg = analysis / "plots" / f"{name}.png", analysis / "plots" / f"{name}.svg"
    with Image.open(png) as image:
        assert image.format == "PNG"
        assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    assert "<svg" in svg.read_text(encoding="utf-8")[:2000]
    page = (analysis / "report.html").read_text(encoding="utf-8")
    figure = page.split(f'<figure id="fig-{name}">')[1].split("</figure>")[0]
    assert 'src="data:image/png;base64,' in figure and f"<code>{name}.svg</code>" in figure
    assert "competing risk" in figure and name not in _text(figure).split("(300 dpi")[0]


@pytest.mark.parametrize("endpoint", sorted(CIF_ADDED.values()))
def test_PJ_1_END_LTP_5_plotted_cumulative_incidence_equals_survival_csv(
        analysis: Path, endpoint: str) -> None:
    """The curves drawn (the step lines of the figure, read back from it) take at every landmark
    the Aalen–Johansen estimate survival.csv gives for the same endpoint and arm."""
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    from mrecist_tool.analysis import plots

    endpoints = pd.read_csv(analysis / "endpoints.csv", dtype={"subject": str, "arm": str,
                                                                "lesion": str})
    survival = pd.read_csv(analysis / "survival.csv", dtype={"arm": str})
    arms = sorted(set(endpoints["arm"]))  # as the analysis orders them (AnalysisData.arms)
    figure = plots.cif_plot(endpoints, endpoint, arms)
    try:
        steps = {line.get_label().split(":")[0]: (np.asarray(line.get_xdata(), float),
                                                  np.asarray(line.get_ydata(), float))
                 for ax in figure.axes for line in ax.get_lines()
                 if line.get_drawstyle() == "steps-post" and ":" in str(line.get_label())}
    finally:
        plt.close(figure)
    assert set(steps) == set(arms)
    compared = 0
    for row in survival[(survival["endpoint"] == endpoint)
                        & survival["statistic"].str.startswith("cumulative_incidence_")
                        & survival["arm"].isin(arms)].to_dict("records"):
        if row["estimate"] != row["estimate"]:  # past the last follow-up: not drawn either
            continue
        xs, ys = steps[row["arm"]]
        drawn = ys[np.searchsorted(xs, float(row["time_months"]), side="right") - 1]
        assert drawn == pytest.approx(float(row["estimate"]), abs=1e-12), row
        compared += float(row["estimate"]) > 0
    assert compared >= 2  # events in the landmarks compared, not only zeros


def test_report_is_self_contained_and_says_simulated(analysis: Path) -> None:
    page = (analysis / "report.html").read_text(encoding="utf-8")
    assert "SIMULATED DATA" in page
    assert RULES_VERSION in html.unescape(page)
    # no external resource: every src is inline data, no stylesheet or script links
    assert all(src.startswith("data:image/png;base64,")
               for src in re.findall(r'src="([^"]*)"', page))
    assert not re.search(r'<link\b|<script\b|https?://', page)
    for heading in ("Cohort summary", "Objective response rate", "Kaplan–Meier estimates",
                    "Comparisons between arms", "Technique efficacy", "Settings and rules"):
        assert heading in page


def test_report_links_every_rule_id_to_its_glossary_entry(analysis: Path) -> None:
    """Issue 13 part 5: rule IDs in the report link to a glossary built from docs/rules.md."""
    page = (analysis / "report.html").read_text(encoding="utf-8")
    targets = set(re.findall(r'href="#(rule-[^"]+)"', page))
    assert {"rule-END-GEN-1", "rule-END-ORR-2", "rule-STAT-5"} <= targets
    for target in targets:
        assert f'id="{target}"' in page, target
    assert '<h2 id="sec-rules">' in page


ROOT = Path(__file__).resolve().parent.parent


def _text(page: str) -> str:
    """The report's visible words, tags dropped (a linked rule ID reads as plain text) and white
    space collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def test_END_LTP_5_local_control_is_computed_and_no_longer_listed_as_not_computed(analysis: Path) -> None:
    """LOCAL_CONTROL_TUMOUR (END-LTP-5) is estimated; the report and the README used to list
    "local control after repeat treatment" among what is not computed."""
    assert any(r["endpoint"] == "LOCAL_CONTROL_TUMOUR" for r in _rows(analysis / "survival.csv"))
    page = _text((analysis / "report.html").read_text(encoding="utf-8"))
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    for text in (page, readme):
        not_computed = re.findall(r"Not computed:([^.]*)", text)
        assert not_computed and all("STAT-7" in s and "END-LTP-5" not in s for s in not_computed), not_computed
        assert "END-LTP-5) is the per-tumour endpoint" in text


def test_11_9_event_codes_are_documented_as_each_table_writes_them(analysis: Path) -> None:
    """endpoints.csv: 0 censored, 1 event, 2 competing, empty (with the reason in event_type) for
    a row left out; ADTTE: CDISC's CNSR (0 event, 1 censored), a competing event CNSR 1 with
    CMPEVFL Y.  docs/rules.md, the README and the report say both, as written."""
    endpoints = _rows(analysis / "endpoints.csv")
    assert {r["event"] for r in endpoints} == {"0", "1", "2", ""}
    assert all(r["event_type"] for r in endpoints if r["event"] == "")
    adtte = _rows(analysis / "adam" / "adtte.csv")
    assert {r["CNSR"] for r in adtte} == {"0", "1"}
    assert all(r["CNSR"] == "1" for r in adtte if r["CMPEVFL"] == "Y")
    for code, cnsr, flag in (("1", "0", ""), ("2", "1", "Y")):
        for paramcd in ("DFS", "LTP"):
            assert (sum(r["endpoint"] == paramcd and r["event"] == code for r in endpoints)
                    == sum(r["PARAMCD"] == paramcd and r["CNSR"] == cnsr and r["CMPEVFL"] == flag
                           for r in adtte)), (paramcd, code)
    rules = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert "**0** censored, **1** event, **2** competing event" in rules
    assert "`CNSR` **0** event, **1** censored, and a competing event is `CNSR` 1 with `CMPEVFL` = Y" in rules
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "event code 0 censored, 1 event, 2 competing; empty for a row left out" in readme
    assert "`CNSR` 0 event, 1 censored, and a competing event is `CNSR` 1 with `CMPEVFL` Y" in readme
    page = _text((analysis / "report.html").read_text(encoding="utf-8"))
    assert "event 0 censored, 1 event, 2 competing; empty for a row left out" in page
    assert "CNSR 0 event, 1 censored, a competing event CNSR 1 with CMPEVFL Y" in page


def test_PRE_2_PRE_3_readme_names_every_table_assess_and_analyze_write(analysis: Path, tmp_path: Path) -> None:
    """A user reading the README finds every file: dlm.csv of assess, orr_preop.csv and dlm.csv
    of analyze were missing from it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert main(["assess", str(ROOT / "sample_data" / "cases"), "--out", str(tmp_path / "a"),
                 "--print", "never"]) == 0
    written = {p.name for p in (tmp_path / "a").iterdir()}
    written |= {p.name for p in analysis.glob("*.csv")} | {"report.html"}
    assert {"dlm.csv", "orr_preop.csv", "margin_ltp.csv"} <= written
    assert [name for name in sorted(written) if f"`{name}`" not in readme] == []
    for column in ("pre_ablation_best_response", "pre_ablation_responder", "dlm_lesions",
                   "recurrence_kind"):
        assert column in readme, column


_CHECK = """<script>
window.__errors = [];
window.addEventListener("error", function (e) {
  window.__errors.push(String(e.message || (e.target && e.target.src) || e.type));
}, true);
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  var pre = document.createElement("pre");
  pre.id = "mrecist-check";
  pre.textContent = JSON.stringify({images: imgs.length, loaded: ok, errors: window.__errors});
  document.body.appendChild(pre);
});
</script>"""


def test_report_loads_in_headless_chromium(analysis: Path, tmp_path: Path) -> None:
    assert Path(CHROMIUM).exists(), "chromium is required for this test (apt-get install chromium)"
    page = (analysis / "report.html").read_text(encoding="utf-8")
    probe = tmp_path / "report-probe.html"
    # The probe script goes first in <head> so it sees every error the page itself raises.
    probe.write_text(page.replace("<head>", "<head>" + _CHECK, 1), encoding="utf-8")
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr",
         "--v=0", "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    match = re.search(r'<pre id="mrecist-check">(.*?)</pre>', done.stdout, re.S)
    assert match, f"no result from the page (exit {done.returncode}): {done.stderr[-2000:]}"
    result = json.loads(html.unescape(match.group(1)))
    assert result["images"] >= 9
    assert result["loaded"] == result["images"], result
    assert result["errors"] == []
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console


def test_analyze_reads_an_assess_output_folder(tmp_path: Path) -> None:
    # The endpoint settings come from the assessment (assessment.json); repeating them on the
    # analyze command line is accepted, other values are refused (test_analysis_settings_used).
    write_cohort(tmp_path / "cases", 16, seed=9)
    assert main(["assess", str(tmp_path / "cases"), "--out", str(tmp_path / "res"),
                 "--print", "never", "--progress", "never", "--set", "dfs_definition=datecan"]) == 0
    assert main(["analyze", str(tmp_path / "res"), "--out", str(tmp_path / "ana"), "-q",
                 "--set", "dfs_definition=datecan", "--jobs", "1"]) == 0
    page = (tmp_path / "ana" / "report.html").read_text(encoding="utf-8")
    assert "SIMULATED DATA" in page and "datecan" in page
    dfs = [r for r in _rows(tmp_path / "ana" / "endpoints.csv") if r["endpoint"] == "DFS"]
    assert len(dfs) == 16


def test_one_bad_case_file_does_not_stop_the_analysis(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    write_cohort(tmp_path / "cases", 12, seed=2)
    bad = tmp_path / "cases" / "SIM-0003.json"
    data = json.loads(bad.read_text())
    data["timepoints"][0]["date"] = "not a date"
    bad.write_text(json.dumps(data))
    code = main(["analyze", str(tmp_path / "cases"), "--out", str(tmp_path / "out"), "-q",
                 "--jobs", "1"])
    assert code == 1
    err = capsys.readouterr().err
    assert "SIM-0003.json" in err and "$.timepoints[0].date" in err
    assert "Traceback" not in err
    assert len(_rows(tmp_path / "out" / "orr.csv")) == 4
    assert "could not be analysed" in (tmp_path / "out" / "report.html").read_text()


def test_usage_errors_exit_2_without_traceback(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert main(["analyze", str(tmp_path), "--out", str(tmp_path / "o"),
                 "--set", "dfs_definition=sometimes"]) == 2
    err = capsys.readouterr().err
    assert "no such file or folder" in err and "dfs_definition" in err
    assert "Traceback" not in err


def test_a_subject_with_an_unreadable_date_is_reported_and_left_out() -> None:
    from mrecist_tool.analysis.dataset import from_tables
    from mrecist_tool.pipeline.tables import SUBJECT_COLUMNS

    empty = dict.fromkeys(SUBJECT_COLUMNS, "")  # every column of subjects.csv, as analysed
    good = {**empty, "subject": "S1", "arm": "A", "randomization_date": "2022-01-10",
            "last_known_alive": "2022-06-01", "has_post_baseline_assessment": "false"}
    bad = {**empty, "subject": "S2", "arm": "A", "randomization_date": "2022-13-10"}
    data = from_tables({"subjects": [good, bad]})
    assert list(data.subjects["subject"]) == ["S1"]
    assert set(data.endpoints["subject"]) == {"S1"}
    (problem,) = data.problems
    assert "S2" in problem and "2022-13-10" in problem


def test_comparisons_name_their_statistics_for_readers(analysis: Path) -> None:
    """The comparisons table shows statistics by name with the likelihood-ratio p in its own
    column: no CSV codes (logrank_chi2, ...) nor "LR p in p_value_lr" in the report."""
    page = (analysis / "report.html").read_text(encoding="utf-8")
    section = page.split("<h3>Comparisons between arms</h3>")[1].split("<h2")[0]
    for code in ("logrank_chi2", "hazard_ratio", "ph_test", "gray_chi2", "p_value_lr"):
        assert code not in section
    assert "<th>p (LR)</th>" in section or ">p (LR)<" in section
    assert "Cox HR, stratified" in section and "Gray's test" in section
    assert "Duration of response" in section and ">DOR<" not in section


def _cells(row: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]


def test_primary_analysis_is_the_stratified_one_and_lr_p_of_clustered_models_is_not_shown(
        analysis: Path) -> None:
    """The stratified log-rank test and Cox HR are labelled "primary analysis"; the stratified
    Fine–Gray SHR supports them; a patient-clustered Cox model shows no LR p, whose test ignores
    the clustering, beside its robust Wald p."""
    page = (analysis / "report.html").read_text(encoding="utf-8")
    primary = page.split('id="primary-endpoint"')[1].split("</div>")[0]
    labels = [c[0] for c in map(_cells, re.findall(r"<tr>(.*?)</tr>", primary)) if c]
    marked = [label for label in labels if label.startswith("primary analysis: ")]
    assert marked == ["primary analysis: log-rank, stratified",
                      "primary analysis: Cox HR, stratified"], labels
    survival = _rows(analysis / "survival.csv")
    dfs = {r["statistic"] for r in survival if r["endpoint"] == "DFS"}
    if "subdistribution_hazard_ratio" in dfs:
        assert "subdistribution_hazard_ratio_stratified" in dfs
        assert "Fine–Gray SHR, stratified" in labels
    section = page.split("<h3>Comparisons between arms</h3>")[1].split("<h2")[0]
    clustered = [c for c in map(_cells, re.findall(r"<tr>(.*?)</tr>", section))
                 if c and "clustered by patient" in c[-1] and c[2].startswith("Cox HR")]
    assert clustered and all(c[5] == "–" for c in clustered)
    tumour_cox = [r for r in survival if r["endpoint"] == "LTP_TUMOUR"
                  and r["statistic"] == "hazard_ratio"]
    assert tumour_cox[0]["p_value_lr"] != "" and "ignores the clustering" in tumour_cox[0]["method"]
