"""Randomisation strata as plain columns of ``subjects.csv`` (issue 13 §6; STAT-3 reads them).

One column per stratum name, ``strata_<name>`` (the name lower-cased, other characters as
``_``), the union over the cohort, sorted, where the JSON ``strata`` column used to stand; a case
without a stratum another case has gets an empty cell.  The readers (the analysis' strata
labels and description, ADaM ADSL's STRATA) read them; the old JSON column is refused.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from mrecist_tool.analysis.dataset import from_results_dir
from mrecist_tool.analysis.survival import _strata_labels, strata_description
from mrecist_tool.cli.main import main
from mrecist_tool.exchange.adam import adsl
from mrecist_tool.pipeline.tables import STRATA_AFTER, strata_columns, strata_of_row, subject_columns

SAMPLES = Path(__file__).parent.parent / "sample_data" / "cases"


def _case(src: str, dest: Path, strata: dict[str, str] | None) -> None:
    data = json.loads((SAMPLES / src).read_text(encoding="utf-8"))
    if strata is None:
        data["subject"].pop("strata", None)
    else:
        data["subject"]["strata"] = strata
    (dest / src).write_text(json.dumps(data), encoding="utf-8")


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def test_strata_are_plain_columns_union_over_the_cohort(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    # The first case (in file order) has no strata at all: the header must not come from it.
    _case("CRLM-S001.json", cases, None)
    _case("CRLM-S002.json", cases, {"Metastases": "1", "centre": "A"})
    _case("CRLM-S003.json", cases, {"size group": "<3cm", "centre": "B"})
    out = tmp_path / "out"
    assert main(["assess", str(cases), "--out", str(out), "--print", "never", "--jobs", "1"]) == 0
    header, rows = _read(out / "subjects.csv")
    at = header.index(STRATA_AFTER) + 1
    assert header[at:at + 3] == ["strata_centre", "strata_metastases", "strata_size_group"]
    assert "strata" not in header
    by = {r["subject"]: r for r in rows}
    assert [by["CRLM-S001"][c] for c in header[at:at + 3]] == ["", "", ""]
    assert [by["CRLM-S002"][c] for c in header[at:at + 3]] == ["A", "1", ""]
    assert [by["CRLM-S003"][c] for c in header[at:at + 3]] == ["B", "", "<3cm"]
    # The columns after the strata are still in place (no shifted cells).
    assert by["CRLM-S003"]["first_ltp_date"] == "2021-07-21"
    assert by["CRLM-S002"]["simulated"] in ("true", "false")

    data = from_results_dir(out)
    assert strata_description(data.subjects) == "centre, metastases, size_group"
    labels = _strata_labels(data.subjects)
    assert labels["CRLM-S002"] == "centre=A|metastases=1" and labels["CRLM-S001"] == ""
    adam = adsl(data.subjects, data.ablations, "STUDY")
    assert dict(zip(adam["SUBJID"], adam["STRATA"], strict=True))["CRLM-S003"] == "centre=B;size_group=<3cm"


def test_one_case_result_set_without_strata_has_no_strata_columns(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    shutil.copy(SAMPLES / "CRLM-S001.json", cases)
    _case("CRLM-S001.json", cases, None)
    assert main(["assess", str(cases), "--out", str(tmp_path / "out"), "--print", "never"]) == 0
    header, _ = _read(tmp_path / "out" / "subjects.csv")
    assert not [c for c in header if c.startswith("strata")]


def test_strata_names_are_sanitised_and_kept_apart() -> None:
    assert strata_columns({"Metastases count": "2-4", "ECOG (0/1)": "0"}) == {
        "strata_ecog_0_1": "0", "strata_metastases_count": "2-4"}
    # Two names that sanitise alike stay two columns; an empty name gets one.
    assert strata_columns({"Site": "x", "site": "y", "–": "z"}) == {
        "strata_site": "x", "strata_site_2": "y", "strata_unnamed": "z"}
    assert subject_columns(["subject", "strata_b", "os_days", "strata_a"])[-1] == "os_days"


def test_strata_of_row_reads_the_strata_columns_only() -> None:
    # The JSON strata column of older tables is not read: a result set holding it is refused
    # as a whole (test_analysis_result_set_versions.py), never analysed without its strata.
    assert strata_of_row({"strata_metastases": "1", "strata_centre": ""}) == {"metastases": "1"}
    assert strata_of_row({"strata": '{"metastases": "1"}'}) == {}
