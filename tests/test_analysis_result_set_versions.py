"""``mrecist analyze`` on an assess folder written by an older version refuses, never computes.

A result set lacking a column the current ``mrecist assess`` writes was written by an older
version; reading the column as empty changes the numbers without saying so (END-GEN-4: without
``ablations.csv``'s ``adequate_imaging_dates`` the per-tumour gap would be measured from the
zone's last imaging only).  So the headers of every table the analysis reads are checked against
what this version writes, and a set that lacks any is refused with one message naming the file,
the columns and what to do.  The folders here are real ``mrecist assess`` output of the sample
cases, with one column taken out.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from mrecist_tool.analysis.dataset import (
    READ_TABLES,
    OutdatedResultsError,
    from_results_dir,
    from_tables,
)
from mrecist_tool.cli.main import main
from mrecist_tool.exitcodes import EXIT_REFUSED
from mrecist_tool.pipeline.tables import COLUMNS, STRATA_PREFIX, expected_columns

SAMPLES = Path(__file__).parent.parent / "sample_data" / "cases"


@pytest.fixture(scope="module")
def assessed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("assessed") / "results"
    assert main(["assess", str(SAMPLES), "--out", str(out), "--print", "never", "--jobs", "1"]) == 0
    return out


def _copy(folder: Path, dest: Path) -> Path:
    shutil.copytree(folder, dest)
    return dest


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh))


def _edit_columns(path: Path, drop: str | None = None, add: str | None = None) -> None:
    """Rewrite a table with one column taken out or one more (as an older/newer writer would)."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = [c for c in reader.fieldnames or [] if c != drop] + ([add] if add else [])
        rows = [{**{k: v for k, v in r.items() if k != drop}, **({add: "x"} if add else {})}
                for r in reader]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_checked_columns_are_what_assess_writes(assessed: Path) -> None:
    """The checked list is exactly each table's header as this version writes it (strata aside)."""
    expected = expected_columns()
    for name in COLUMNS:
        header = [c for c in _header(assessed / f"{name}.csv") if not c.startswith(STRATA_PREFIX)]
        assert header == expected[name], name
    assert set(READ_TABLES) <= set(COLUMNS)


def test_current_folder_is_analysed(assessed: Path) -> None:
    data = from_results_dir(assessed)
    assert not data.problems and len(data.subjects) == len(list(SAMPLES.glob("*.json")))
    assert set(data.endpoints["endpoint"]) >= {"DFS", "LTP_TUMOUR", "LOCAL_CONTROL_TUMOUR"}


@pytest.mark.parametrize(("table", "column"), [
    (name, column) for name, columns in expected_columns().items() if name in READ_TABLES
    for column in columns])
def test_a_folder_lacking_a_column_is_refused_naming_file_and_column(
        assessed: Path, tmp_path: Path, table: str, column: str) -> None:
    folder = _copy(assessed, tmp_path / "old")
    _edit_columns(folder / f"{table}.csv", drop=column)
    with pytest.raises(OutdatedResultsError) as info:
        from_results_dir(folder)
    message = str(info.value)
    assert f"{folder / f'{table}.csv'}: lacks column(s) {column}" in message
    assert "run `mrecist assess` again with this version" in message
    assert "pass the case files" in message


def test_END_GEN_4_analyze_refuses_a_folder_without_adequate_imaging_dates(
        assessed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The per-tumour missed-assessment censoring needs the zone's adequate imaging dates; an
    older ablations.csv without them is refused with the documented exit code, nothing written."""
    folder = _copy(assessed, tmp_path / "old")
    _edit_columns(folder / "ablations.csv", drop="adequate_imaging_dates")
    out = tmp_path / "report"
    assert main(["analyze", str(folder), "--out", str(out), "-q", "--jobs", "1"]) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert f"{folder / 'ablations.csv'}: lacks column(s) adequate_imaging_dates" in err
    assert "older mrecist assess" in err and "Traceback" not in err
    assert err.count("mrecist analyze:") == 1  # one message
    assert not (out / "report.html").exists()


def test_every_lacking_file_and_column_is_named_in_one_message(assessed: Path, tmp_path: Path) -> None:
    folder = _copy(assessed, tmp_path / "old")
    _edit_columns(folder / "subjects.csv", drop="ltp_censor_date")
    _edit_columns(folder / "subjects.csv", drop="distant_days")
    (folder / "dlm.csv").unlink()
    with pytest.raises(OutdatedResultsError) as info:
        from_results_dir(folder)
    message = str(info.value)
    assert f"{folder / 'subjects.csv'}: lacks column(s) ltp_censor_date, distant_days" in message
    assert f"{folder / 'dlm.csv'}: missing" in message
    # which version wrote it, from assessment.json
    assert "its assessment.json: mrecist-tool" in message


def test_an_extra_unknown_column_is_ignored(assessed: Path, tmp_path: Path) -> None:
    folder = _copy(assessed, tmp_path / "extra")
    for name in READ_TABLES:
        _edit_columns(folder / f"{name}.csv", add="written_by_a_later_version")
    mine, theirs = from_results_dir(assessed), from_results_dir(folder)
    assert mine.endpoints.equals(theirs.endpoints)


def test_the_old_json_strata_column_is_refused(assessed: Path, tmp_path: Path) -> None:
    """Its strata would otherwise be dropped from the stratified tests without a word."""
    folder = _copy(assessed, tmp_path / "old")
    _edit_columns(folder / "subjects.csv", add="strata")
    with pytest.raises(OutdatedResultsError, match=r"subjects\.csv: has the older column\(s\) strata"):
        from_results_dir(folder)


def test_END_GEN_4_case_settings_without_the_schedule_are_refused(
        assessed: Path, tmp_path: Path) -> None:
    """assessment.json of an older version has no assessment_schedule: the default must not be
    taken for it (the missed-assessment count depends on it)."""
    folder = _copy(assessed, tmp_path / "old")
    doc = json.loads((folder / "assessment.json").read_text(encoding="utf-8"))
    del doc["cases"][0]["settings"]["assessment_schedule"]
    (folder / "assessment.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ValueError, match=r"\$\.cases\[0\]\.settings: no assessment_schedule"):
        from_results_dir(folder)


def test_rows_lacking_columns_are_refused_by_from_tables(assessed: Path) -> None:
    with (assessed / "ablations.csv").open(encoding="utf-8", newline="") as fh:
        ablations = list(csv.DictReader(fh))
    with (assessed / "subjects.csv").open(encoding="utf-8", newline="") as fh:
        subjects = list(csv.DictReader(fh))
    assert ablations
    for row in ablations:
        del row["adequate_imaging_dates"]
    with pytest.raises(OutdatedResultsError, match=r"ablations rows lack column\(s\) adequate_imaging_dates"):
        from_tables({"subjects": subjects, "ablations": ablations})
