"""``assess``, ``export sdtm`` and ``analyze`` are computed from the same per-case results.

On a mixed folder — good cases, refused cases, a case overriding its settings, a case whose
measurements do not fit the criteria the command line asks for — each command refuses the same
files with the same located problems and assesses the others with the same settings, because
all three go through :func:`mrecist_tool.pipeline.assess_files` (issue 9).
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from mrecist_tool.analysis import dataset
from mrecist_tool.cli.batch import assess_paths
from mrecist_tool.cli.export import _assess_all
from mrecist_tool.cli.main import main

ROOT = Path(__file__).parent.parent
SAMPLES = ROOT / "sample_data" / "cases"
MALFORMED = ROOT / "tests" / "malformed"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mixed")
    for f in sorted(SAMPLES.glob("*.json")):
        shutil.copy(f, folder / f.name)
    for name in ("length_as_text", "same_date_timepoints", "unknown_setting", "setting_wrong_kind",
                 "newer_version", "not_json"):
        shutil.copy(MALFORMED / f"{name}.json", folder / f"bad_{name}.json")
    base = json.loads((SAMPLES / "CRLM-S003.json").read_text())
    override = dict(base, subject={**base["subject"], "id": "OVR-1"},
                    settings={"ltp_max_distance_mm": 5, "confirmation_required": True})
    (folder / "override.json").write_text(json.dumps(override))
    # mRECIST measurements only, no criteria of its own: fine as written, refused under RECIST.
    plain = {k: v for k, v in base.items() if k not in ("profile", "settings", "criteria")}
    plain["subject"] = {**base["subject"], "id": "PLAIN-1"}
    plain["observations"] = [{k: v for k, v in o.items() if k != "longest_diameter_mm"}
                             for o in base["observations"]]
    (folder / "plain.json").write_text(json.dumps(plain))
    return folder


def _problem_lines(text: str) -> list[str]:
    return sorted(line for line in text.splitlines() if ": $" in line)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _key(results: list[Any]) -> list[tuple[Any, ...]]:
    return [(r.file, r.refused, tuple(map(str, r.problems)), r.settings, r.subject) for r in results]


def _cli(flags: list[str]) -> dict[str, Any]:
    """The options the command line gives the pipeline for ``flags``."""
    from mrecist_tool.cli._settings_options import cli_settings
    from mrecist_tool.cli.main import build_parser

    return cli_settings(build_parser().parse_args(["assess", "x", "--out", "y", *flags]))


FLAG_SETS = [[], ["--set", "ltp_max_distance_mm=5", "--profile", "nct04562727"], ["--profile", "recist1.1"],
             ["--criteria", "RECIST1.1"]]
OPTION_SETS = [(flags, _cli(flags)) for flags in FLAG_SETS]


@pytest.mark.parametrize(("flags", "cli"), OPTION_SETS, ids=["defaults", "set", "profile", "criteria"])
def test_the_three_commands_share_per_case_results(mixed: Path, tmp_path: Path, flags: list[str],
                                                   cli: dict[str, Any]) -> None:
    via_assess = assess_paths([mixed], cli=cli, progress="never").batch
    via_sdtm = _assess_all([str(mixed)], cli, "NCT04562727", "INDEPENDENT ASSESSOR", "")
    via_analyze = dataset.from_case_paths([mixed], cli=cli)
    assert via_assess is not None
    assert _key(via_assess.results) == _key(via_sdtm.results) == _key(via_analyze.cases)
    assert via_assess.refused_files == via_sdtm.refused_files
    assert any(not r.refused for r in via_assess.results)
    assert len(via_assess.refused_files) >= 6
    # The override is in force for the case that asks for it, and only there (unless --set).
    settings = {r.subject: r.settings for r in via_assess.accepted}
    if "--set" not in flags and "--criteria" not in flags and "--profile" not in flags:
        assert settings["OVR-1"].ltp_max_distance_mm == 5
        assert settings["CRLM-S003"].ltp_max_distance_mm == 10


@pytest.mark.parametrize(("flags", "cli"), [OPTION_SETS[2]], ids=["profile"])
def test_the_three_commands_report_the_same_problems_and_subjects(
    mixed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], cli: dict[str, Any]
) -> None:
    assess_out, sdtm_out, analyze_out = tmp_path / "assess", tmp_path / "sdtm", tmp_path / "analyze"
    codes = [
        main(["assess", str(mixed), "--out", str(assess_out), "--print", "never", *flags]),
    ]
    printed = [capsys.readouterr().err]
    codes.append(main(["export", "sdtm", str(mixed), "--out", str(sdtm_out), "--studyid", "S1", *flags]))
    printed.append(capsys.readouterr().err)
    codes.append(main(["analyze", str(mixed), "--out", str(analyze_out), "-q", *flags]))
    printed.append(capsys.readouterr().err)
    assert codes == [1, 1, 1]  # some cases refused, the others written
    lines = [_problem_lines(text) for text in printed]
    assert lines[0] and lines[0] == lines[1] == lines[2]
    subjects = {r["subject"] for r in _read(assess_out / "subjects.csv")}
    assert subjects == {r["USUBJID"].removeprefix("S1-") for r in _read(sdtm_out / "tu.csv")}
    assert subjects == {r["subject"] for r in _read(analyze_out / "endpoints.csv")}
    doc = json.loads((assess_out / "assessment.json").read_text())
    refused = {r["file"] for r in doc["refused"]}
    assert refused == {line.split(": $")[0] for line in lines[0]}
    # Under RECIST 1.1 the file with viable diameters only is refused by every command (before
    # issue 9, `--profile recist1.1` let it through `assess` unchecked).
    assert any(f.endswith("plain.json") for f in refused)

