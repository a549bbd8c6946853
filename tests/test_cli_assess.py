"""``mrecist assess`` and ``mrecist explain``: outputs, exit codes, overrides, bad input."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from mrecist_tool.cli.main import main

SAMPLES = Path(__file__).parent.parent / "sample_data" / "cases"

CONTRACT = {
    "timepoints.csv": "subject, timepoint, date, criteria, target_sum_mm, baseline_sum_mm, nadir_mm, change_from_baseline_pct, change_from_nadir_pct, target_response, nontarget_response, new_lesions, overall_response, reasons",
    "lesions.csv": "subject, lesion, role, timepoint, status, measure_mm, local_status",
    "subjects.csv": "subject, arm, criteria, best_overall_response, bor_confirmed, first_progression_date, first_ltp_date, os_days, os_event, dfs_days, dfs_event",
}


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_assess_sample_cases_writes_the_contract_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", str(SAMPLES), "--out", str(tmp_path)]) == 0
    for name, cols in CONTRACT.items():
        header = read(tmp_path / name)[0].keys()
        for col in cols.split(", "):
            assert col in header, (name, col)
    out = capsys.readouterr().out
    assert "CRLM-S003" in out and "overall" in out  # the per-timepoint table is printed
    tps = {(r["subject"], r["timepoint"]): r for r in read(tmp_path / "timepoints.csv")}
    # The worked example of case-format.md (CRLM-S003 is that case).
    assert tps[("CRLM-S003", "FU1")]["overall_response"] == "PR"
    assert tps[("CRLM-S003", "FU2")]["target_response"] == "PD"
    assert tps[("CRLM-S003", "FU2")]["overall_response"] == "PD"
    assert tps[("CRLM-S003", "BL")]["overall_response"] == ""
    assert tps[("CRLM-S005", "FU1")]["overall_response"] == "NON-CR/NON-PD"
    assert tps[("CRLM-S005", "FU1")]["nontarget_response"] == "IR/SD"
    lesions = {(r["subject"], r["lesion"], r["timepoint"]): r for r in read(tmp_path / "lesions.csv")}
    assert lesions[("CRLM-S003", "L1", "BL")]["local_status"] == ""
    assert lesions[("CRLM-S003", "L1", "FU1")]["local_status"] == "complete"
    assert lesions[("CRLM-S003", "L1", "FU2")]["local_status"] == "ltp"
    assert lesions[("CRLM-S002", "L1", "FU1")]["local_status"] == "residual"
    subjects = {r["subject"]: r for r in read(tmp_path / "subjects.csv")}
    assert subjects["CRLM-S003"]["first_ltp_date"] == "2021-07-21"
    assert subjects["CRLM-S004"]["first_idp_date"] == "2021-09-28"
    assert subjects["CRLM-S004"]["first_ehp_date"] == "2021-12-21"
    doc = json.loads((tmp_path / "assessment.json").read_text())
    assert doc["format"] == "mrecist-assessment" and len(doc["cases"]) == 6
    fu2 = next(t for t in doc["cases"][2]["timepoints"] if t["timepoint"] == "FU2")
    assert "MR-T7" in fu2["target"]["rules"]


def test_assess_one_bad_case_never_stops_the_others(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "cases"
    shutil.copytree(SAMPLES, cases)
    (cases / "broken.json").write_text('{"format": "mrecist-case", "version": 1, "subject": {"id": "X"}, ', encoding="utf-8")
    data = json.loads((cases / "CRLM-S001.json").read_text())
    data["observations"][0]["lesion"] = "NOPE"
    (cases / "bad-ref.json").write_text(json.dumps(data), encoding="utf-8")
    code = main(["assess", str(cases), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert "broken.json" in err and "bad-ref.json" in err and "$.observations[0].lesion" in err
    assert "Traceback" not in err
    subjects = read(tmp_path / "out" / "subjects.csv")
    assert len(subjects) == 6  # the six good cases are all assessed
    refused = json.loads((tmp_path / "out" / "assessment.json").read_text())["refused"]
    assert {Path(r["file"]).name for r in refused} == {"broken.json", "bad-ref.json"}


def test_assess_set_override_changes_the_rule_parameter(tmp_path: Path) -> None:
    """CRLM-S002 FU1: 27 → 9 mm is −66.7 %: PR by default, SD when PR needs 70 % (pr_threshold)."""
    case = SAMPLES / "CRLM-S002.json"
    assert main(["assess", str(case), "--out", str(tmp_path / "a")]) == 0
    assert {r["timepoint"]: r for r in read(tmp_path / "a" / "timepoints.csv")}["FU1"]["target_response"] == "PR"
    assert main(["assess", str(case), "--out", str(tmp_path / "b"), "--set", "pr_threshold=70"]) == 0
    assert {r["timepoint"]: r for r in read(tmp_path / "b" / "timepoints.csv")}["FU1"]["target_response"] == "SD"
    doc = json.loads((tmp_path / "b" / "assessment.json").read_text())
    assert doc["cases"][0]["settings"]["pr_threshold"] == 70


def test_assess_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", str(SAMPLES), "--out", str(tmp_path), "--set", "no_such_setting=1"]) == 2
    assert "unknown setting" in capsys.readouterr().err
    assert main(["assess", str(SAMPLES), "--out", str(tmp_path), "--set", "sd_min_days=soon"]) == 2
    assert main(["assess", str(SAMPLES)]) == 2  # --out missing
    assert main(["assess", str(SAMPLES), "--out", str(tmp_path), "--criteria", "WHO"]) == 2


def test_assess_missing_path_is_refused_not_crashed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 1
    assert "nowhere" in capsys.readouterr().err


def test_assess_recist_override_checks_measurements(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """S003 without its longest diameters: under --criteria RECIST1.1 its measured lesions lack
    longest_diameter_mm, and the case is refused with the located problem."""
    data = json.loads((SAMPLES / "CRLM-S003.json").read_text())
    for obs in data["observations"]:
        obs.pop("longest_diameter_mm", None)
    case = tmp_path / "viable-only.json"
    case.write_text(json.dumps(data))
    assert main(["assess", str(case), "--out", str(tmp_path / "o"), "--criteria", "RECIST1.1"]) == 1
    err = capsys.readouterr().err
    assert "longest_diameter_mm" in err and "$.observations[" in err


def test_assess_parquet(tmp_path: Path) -> None:
    import pandas as pd

    assert main(["assess", str(SAMPLES), "--out", str(tmp_path), "--parquet"]) == 0
    frame = pd.read_parquet(tmp_path / "timepoints.parquet")
    assert len(frame) == len(read(tmp_path / "timepoints.csv"))
    assert frame["target_sum_mm"].dtype.kind == "f"


def test_explain_names_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(SAMPLES / "CRLM-S003.json"), "--timepoint", "FU2"]) == 0
    out = capsys.readouterr().out
    assert "Target response: PD" in out and "MR-T7" in out and "L1: ltp" in out
    assert main(["explain", str(SAMPLES / "CRLM-S003.json"), "--timepoint", "FU9"]) == 2
