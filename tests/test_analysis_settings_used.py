"""The analysis uses the settings the cases were assessed with, or refuses (issue 14 items 5–6).

``mrecist assess`` writes each case's effective settings into assessment.json and derives the
endpoint columns of subjects.csv with them; ``mrecist analyze`` on that folder must derive the
same endpoints (END-CSS-3, §6.0, END-DFS-4, END-GEN-4 settings), refuse cases whose endpoint
settings differ, refuse command-line settings other than those assessed with, and show every
settings combination with its number of cases.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from mrecist_tool.analysis import dataset, report
from mrecist_tool.analysis.settings_used import MixedSettingsError
from mrecist_tool.cli.main import main
from mrecist_tool.sample.cohort import generate_cohort

N = 24


def _write(folder: Path, tweak: Any = None) -> Path:
    folder.mkdir(parents=True)
    for i, case in enumerate(generate_cohort(N, seed=7)):
        if tweak is not None:
            tweak(i, case)
        (folder / f"{case['subject']['id']}.json").write_text(json.dumps(case), encoding="utf-8")
    return folder


def _assess(root: Path, tweak: Any = None) -> Path:
    cases = _write(root / "cases", tweak)
    out = root / "assessed"
    assert main(["assess", str(cases), "--out", str(out), "--print", "never"]) == 0
    return out


def _set(name: str, value: Any, which: Any = lambda i: True) -> Any:
    def tweak(i: int, case: dict[str, Any]) -> None:
        if which(i):
            case.setdefault("settings", {})[name] = value
    return tweak


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_endpoints_follow_the_case_files_settings_end_css_3(tmp_path: Path) -> None:
    assessed = _assess(tmp_path, _set("css_unknown_cause", "other"))
    data = dataset.from_results_dir(assessed)
    assert data.settings.css_unknown_cause == "other"
    subjects = {r["subject"]: r for r in _csv(assessed / "subjects.csv")}
    patient = data.endpoints[data.endpoints["unit"] == "patient"]
    def text(value: Any) -> str:
        return "" if value is None or str(value) in ("<NA>", "nan", "None") else str(value)

    for row in patient.to_dict("records"):
        key = row["endpoint"].lower()
        csv_row = subjects[row["subject"]]
        assert text(row["time_days"]) == csv_row[f"{key}_days"]
        assert text(row["event"]) == csv_row[f"{key}_event"]
    page = report.settings_section(data)
    assert 'data-setting="css_unknown_cause"' in page and ">other<" in page
    assert f"{N} cases" in page


def test_mixed_endpoint_settings_are_refused_with_the_groups_named(tmp_path: Path) -> None:
    assessed = _assess(tmp_path, _set("css_unknown_cause", "other", lambda i: i < 5))
    with pytest.raises(MixedSettingsError) as info:
        dataset.from_results_dir(assessed)
    message = str(info.value)
    assert "css_unknown_cause" in message and "(5 cases)" in message
    assert f"({N - 5} cases)" in message and "assessment.json" in message
    assert main(["analyze", str(assessed), "--out", str(tmp_path / "report"), "-q",
                 "--jobs", "1"]) == 1


def test_command_line_settings_other_than_assessed_are_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assessed = _assess(tmp_path)
    out = tmp_path / "report"
    assert main(["analyze", str(assessed), "--out", str(out), "-q", "--jobs", "1",
                 "--profile", "recist1.1"]) == 1
    err = capsys.readouterr().err
    assert "criteria asked RECIST1.1" in err and "mrecist assess again" in err
    assert not (out / "report.html").exists()
    assert main(["analyze", str(assessed), "--out", str(out), "-q", "--jobs", "1",
                 "--set", "css_unknown_cause=other"]) == 1
    assert "css_unknown_cause asked other" in capsys.readouterr().err


def test_table_without_assessment_json_is_checked_against_its_endpoint_columns(
        tmp_path: Path) -> None:
    assessed = _assess(tmp_path, _set("css_unknown_cause", "other"))
    (assessed / "assessment.json").unlink()
    # Without the record, the analysis' own (default) settings give other endpoints: refused.
    with pytest.raises(ValueError, match=r"endpoint value\(s\) differ"):
        dataset.from_results_dir(assessed)
    from mrecist_tool.rules.criteria import Settings

    data = dataset.from_results_dir(assessed, Settings().updated({"css_unknown_cause": "other"}))
    assert data.settings_used is None and not data.endpoints.empty


def test_settings_table_has_one_column_per_combination_with_counts(tmp_path: Path) -> None:
    assessed = _assess(tmp_path, _set("ltp_max_distance_mm", 5, lambda i: i % 3 == 0))
    data = dataset.from_results_dir(assessed)
    used = data.settings_used
    assert used is not None and [len(g.subjects) for g in used.groups] == [16, 8]
    assert used.groups[0].label == "profile nct04562727"
    assert used.groups[1].label == "profile nct04562727 with ltp_max_distance_mm=5"
    page = report.settings_section(data)
    assert 'data-cases="16"' in page and 'data-cases="8"' in page
    assert '<tr data-setting="ltp_max_distance_mm" data-kind="rule" class="differs">' in page


def test_every_endpoint_setting_is_a_setting_of_this_version() -> None:
    """assessment.json cases lacking one of ENDPOINT_SETTINGS are refused as older: a name that
    is no longer a setting would refuse every case (or, filtered out, hide a stale list)."""
    from mrecist_tool.analysis.settings_used import ENDPOINT_SETTINGS
    from mrecist_tool.rules.criteria import Settings

    assert set(ENDPOINT_SETTINGS) <= set(Settings().as_dict())
