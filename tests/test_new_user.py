"""What a new user tripped over (issue 13 part 6): misspelt keys, RECIST 1.1 on the samples,
``explain`` refusing as ``assess`` does, ``view`` without a display, the SIMULATED marking of the
samples, ``assess /nope``, and the profile each case used in subjects.csv."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mrecist_tool.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data" / "cases"


def _misspelt(tmp_path: Path) -> Path:
    data = json.loads((SAMPLES / "CRLM-S001.json").read_text())
    subject = data["subject"]
    subject["randomisation_date"] = subject.pop("randomization_date")
    path = tmp_path / "misspelt.json"
    path.write_text(json.dumps(data))
    return path


def test_a_misspelt_key_refuses_the_case_in_assess_with_the_nearest_name(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Otherwise the baseline date silently becomes the time origin and DFS and OS shift."""
    case = _misspelt(tmp_path)
    assert main(["assess", str(case), "--out", str(tmp_path / "o"), "--print", "never"]) == 1
    err = capsys.readouterr().err
    assert "$.subject.randomisation_date" in err and "did you mean 'randomization_date'" in err
    assert main(["explain", str(case)]) == 1
    assert "did you mean 'randomization_date'" in capsys.readouterr().err
    # validate refuses it the same way (a file validate accepts, assess accepts)
    assert main(["validate", str(case)]) == 1
    out, err = capsys.readouterr()
    assert "did you mean 'randomization_date'" in out + err


def test_an_unknown_key_unlike_any_known_one_is_still_only_a_warning(tmp_path: Path) -> None:
    data = json.loads((SAMPLES / "CRLM-S001.json").read_text())
    data["subject"]["site_of_enrolment"] = "A"
    data["x-local"] = {"anything": 1}
    path = tmp_path / "extra.json"
    path.write_text(json.dumps(data))
    assert main(["assess", str(path), "--out", str(tmp_path / "o"), "--print", "never"]) == 0


def test_every_sample_case_is_assessed_under_recist_1_1_too(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", str(SAMPLES), "--criteria", "RECIST1.1", "--out", str(tmp_path),
                 "--print", "never"]) == 0
    rows = list(csv.DictReader((tmp_path / "subjects.csv").open()))
    assert len(rows) == 6 and {r["criteria"] for r in rows} == {"RECIST1.1"}


def test_explain_refuses_exactly_as_assess_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads((SAMPLES / "CRLM-S003.json").read_text())
    for obs in data["observations"]:
        obs.pop("longest_diameter_mm", None)
    case = tmp_path / "viable-only.json"
    case.write_text(json.dumps(data))
    assert main(["assess", str(case), "--criteria", "RECIST1.1", "--out", str(tmp_path / "o"),
                 "--print", "never"]) == 1
    from_assess = [line for line in capsys.readouterr().err.splitlines() if line.startswith(str(case))]
    assert main(["explain", str(case), "--criteria", "RECIST1.1"]) == 1
    out, err = capsys.readouterr()
    assert "incomplete" not in out and not out
    assert err.splitlines() == from_assess and from_assess


def test_assess_of_a_missing_path_says_where_and_writes_nothing(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["assess", "/nope", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "/nope: no such file or folder" in err
    assert "tables written" not in err and "nothing written" in err
    assert not out.exists()


def test_subjects_csv_records_the_profile_each_case_used(tmp_path: Path) -> None:
    assert main(["assess", str(SAMPLES), "--out", str(tmp_path / "a"), "--print", "never"]) == 0
    profiles = {r["subject"]: r["profile"] for r in csv.DictReader((tmp_path / "a" / "subjects.csv").open())}
    assert profiles["CRLM-S001"] == "nct04562727"  # the case file's own profile
    assert profiles["CRLM-S006"] == "mrecist-published"  # none in the file: the default
    assert main(["assess", str(SAMPLES / "CRLM-S001.json"), "--profile", "recist1.1",
                 "--out", str(tmp_path / "b"), "--print", "never"]) == 0
    (row,) = csv.DictReader((tmp_path / "b" / "subjects.csv").open())
    assert row["profile"] == "recist1.1"


def test_the_hand_written_samples_are_marked_simulated() -> None:
    for path in sorted(SAMPLES.glob("*.json")):
        assert json.loads(path.read_text())["simulated"] is True, path.name


def test_an_analysis_of_the_hand_written_samples_carries_the_simulated_banner(tmp_path: Path) -> None:
    """The marker is not enough by itself: the report of `analyze sample_data/cases` says so."""
    assert main(["analyze", str(SAMPLES), "--out", str(tmp_path), "-q", "--jobs", "1"]) == 0
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "SIMULATED DATA" in page and "hand-written sample cases" in page


def test_view_without_a_display_says_so_instead_of_a_qt_abort() -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "mrecist_tool.cli.main", "view",
                           str(SAMPLES / "CRLM-S001.json")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "no display" in proc.stderr and "xvfb-run" in proc.stderr
    assert "xcb" not in proc.stderr and "Traceback" not in proc.stderr


def test_generated_subjects_and_the_cohort_are_mrecist_only_as_the_readmes_say(
        generated_subject: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The hand-written cases carry both diameters; the generated SYN-* subjects and the simulated
    cohort carry viable diameters only.  RECIST 1.1 refuses those with the located message, and
    both READMEs say which samples are mRECIST only."""
    from mrecist_tool.sample.cohort import write_cohort

    (cohort_case,) = write_cohort(tmp_path / "cohort", 1, seed=0)
    for case in (generated_subject, cohort_case):
        assert main(["assess", str(case), "--out", str(tmp_path / "m"), "--print", "never"]) == 0
        assert main(["assess", str(case), "--criteria", "RECIST1.1", "--out", str(tmp_path / "r"),
                     "--print", "never"]) == 1
        err = capsys.readouterr().err
        assert f"{case}: $.observations[" in err and "longest_diameter_mm: missing" in err
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "`SYN-*`) and the simulated cohort (`--cohort N`) are mRECIST only" in readme
    samples = " ".join((ROOT / "sample_data" / "README.md").read_text().split())
    assert "**mRECIST only**" in samples and "refuses the three `SYN-*` subjects" in samples
    assert "(`mrecist sample-data OUT --cohort N`) is mRECIST only" in samples
