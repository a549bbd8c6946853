"""``--scheduler`` on every command that assesses case files (issue 9): ``export sdtm`` and
``analyze`` give the same bytes whether their cases are assessed in this process or on a
two-worker Dask ``LocalCluster`` (``--scheduler local:2``), as ``assess`` does
(tests/test_pipeline_dask.py).

The folder mixes the sample cases, simulated cases and refused files, so the refusals, their
order and their messages are part of what must not change.  ``analyze`` is compared on every
table it writes (CSV, ADaM included): its plots and ``report.html`` carry per-run ids and a
time stamp, so they differ between two serial runs already and prove nothing here; so do the
creation times in the headers of SAS transport files, which are masked.
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

import pytest

from mrecist_tool.cli.main import build_parser, main
from mrecist_tool.sample.cohort import write_cohort

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mixed")
    for path in sorted((ROOT / "sample_data" / "cases").glob("*.json")):
        shutil.copy(path, folder / path.name)
    write_cohort(folder / "sim", 14, seed=11, visits=4)
    for name in ("length_as_text", "same_date_timepoints", "not_json"):
        shutil.copy(ROOT / "tests" / "malformed" / f"{name}.json", folder / f"bad_{name}.json")
    return folder


# SAS transport files stamp their creation time (ddMMMyy:hh:mm:ss) into their headers.
XPT_TIME = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")


def _files(folder: Path, pattern: str = "*") -> dict[str, bytes]:
    out = {}
    for path in sorted(folder.rglob(pattern)):
        if path.is_file():
            data = path.read_bytes()
            out[str(path.relative_to(folder))] = XPT_TIME.sub(b"<time>", data) if path.suffix == ".xpt" else data
    return out


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(args)
    err = capsys.readouterr().err
    return code, sorted(line for line in err.splitlines() if ": $" in line)


def test_export_sdtm_on_a_local_cluster_gives_the_serial_bytes(
    mixed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    common = ["export", "sdtm", str(mixed), "--studyid", "NCT04562727", "--profile", "nct04562727"]
    serial = _run([*common, "--out", str(tmp_path / "serial")], capsys)
    dask = _run([*common, "--out", str(tmp_path / "dask"), "--scheduler", "local:2"], capsys)
    assert serial[0] == dask[0] == 1  # the bad files refused, the others exported
    assert serial[1] and serial[1] == dask[1]
    expected = _files(tmp_path / "serial")
    assert {"tu.csv", "tr.csv", "rs.csv"} <= set(expected)
    assert _files(tmp_path / "dask") == expected


def test_analyze_case_files_on_a_local_cluster_gives_the_serial_tables(
    mixed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["analyze", str(mixed), "-q", "--jobs", "1"]
    serial = _run([*common, "--out", str(tmp_path / "serial")], capsys)
    dask = _run([*common, "--out", str(tmp_path / "dask"), "--scheduler", "local:2"], capsys)
    assert serial[0] == dask[0] == 1
    assert serial[1] and serial[1] == dask[1]
    expected = _files(tmp_path / "serial", "*.csv")
    assert {"endpoints.csv", "orr.csv", "survival.csv", "adam/adsl.csv"} <= set(expected)
    assert _files(tmp_path / "dask", "*.csv") == expected


@pytest.mark.parametrize("command", [["export", "sdtm", "--studyid", "S1"], ["analyze"]])
@pytest.mark.parametrize("spec", ["tcp://nowhere", "local:0", "local:many"])
def test_a_scheduler_that_is_no_address_is_a_usage_error_everywhere(
    command: list[str], spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*command, str(ROOT / "sample_data" / "cases"), "--out", str(tmp_path / "o"), "--scheduler", spec]
    assert main(args) == 2
    assert "--scheduler" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_analyze_of_an_assess_folder_refuses_a_scheduler(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", str(ROOT / "sample_data" / "cases"), "--out", str(tmp_path / "r"), "--print", "never"]) == 0
    capsys.readouterr()
    assert main(["analyze", str(tmp_path / "r"), "--out", str(tmp_path / "a"), "-q", "--scheduler", "local:2"]) == 2
    assert "only read" in capsys.readouterr().err


def _subparser(parser: argparse.ArgumentParser, *names: str) -> argparse.ArgumentParser:
    for name in names:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


@pytest.mark.parametrize("command", [["assess"], ["export", "sdtm"], ["analyze"]])
def test_the_commands_share_one_scheduler_option(command: list[str]) -> None:
    from mrecist_tool.cli._executor_options import SCHEDULER_HELP

    option = next(a for a in _subparser(build_parser(), *command)._actions if "--scheduler" in a.option_strings)
    assert option.help is not None and option.help.startswith(SCHEDULER_HELP)
