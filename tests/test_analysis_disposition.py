"""Disposition at the data cut-off, --cutoff, review flags, duration of response, subgroups.

A data-monitoring committee's first table (issue 14): randomised → treated → evaluable →
analysed per arm; status at the cut-off adding up to the randomised total; everything after a
``--cutoff`` date ignored and counted; review flags listed with subject and timepoint.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
from casebuilder import build, d

from mrecist_tool.analysis import dataset, disposition
from mrecist_tool.cli.main import main
from mrecist_tool.pipeline.cutoff import AfterCutoff, cut_case
from mrecist_tool.sample.cohort import write_cohort

CUTOFF = "2023-06-30"


def _case() -> object:
    return build(
        tps=[("BL", "2021-01-01"), ("FU1", "2021-04-01"), ("FU2", "2021-07-01"),
             ("FU3", "2021-10-01")],
        lesions={"L1": "target", "N1": {"role": "new", "organ": "lung"}},
        obs={("L1", "BL"): 30, ("L1", "FU1"): 10, ("L1", "FU2"): 10, ("L1", "FU3"): 10,
             ("N1", "FU3"): "present"},
        procedures=[("ABL1", "ablation", "2021-01-20", ["L1"]),
                    ("ABL2", "ablation", "2021-11-01", ["L1"])],
        subject={"randomization_date": "2021-01-05", "last_known_alive": "2022-01-01",
                 "death": ("2021-12-01", "cancer")},
    )


def test_cut_case_drops_and_counts_everything_after_the_date_end_gen_3() -> None:
    cut, ignored = cut_case(_case(), d("2021-08-15"))  # type: ignore[arg-type]
    assert [t.id for t in cut.timepoints] == ["BL", "FU1", "FU2"]
    assert [les.id for les in cut.lesions] == ["L1"]  # N1 was first seen after the cut-off
    assert [p.id for p in cut.procedures] == ["ABL1"]
    # Died after the cut-off: alive at it, followed to it (PJ-5).
    assert cut.subject.death is None and cut.subject.last_known_alive == d("2021-08-15")
    assert ignored == {"timepoints": 1, "observations": 2, "procedures": 1, "new lesions": 1,
                       "deaths": 1, "study ends": 0, "follow-up days": 0}


def test_cut_case_refuses_a_subject_randomised_after_the_cut_off() -> None:
    with pytest.raises(AfterCutoff, match="after the data cut-off 2020-12-31"):
        cut_case(_case(), d("2020-12-31"))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("disposition")
    write_cohort(root / "cases", 40, seed=11)
    return root / "cases"


def test_cutoff_analysis_ignores_later_data_and_says_so(cohort: Path, tmp_path: Path) -> None:
    out = tmp_path / "cut"
    assert main(["analyze", str(cohort), "--out", str(out), "-q", "--jobs", "1",
                 "--cutoff", CUTOFF]) == 0
    with (out / "endpoints.csv").open(newline="", encoding="utf-8") as fh:
        ends = [r["end_date"] for r in csv.DictReader(fh) if r["end_date"]]
    assert ends and max(ends) <= CUTOFF
    page = (out / "report.html").read_text(encoding="utf-8")
    assert f"Data cut-off {CUTOFF}: everything dated after it is ignored (" in page
    assert "timepoints" in page.split(f"Data cut-off {CUTOFF}")[1][:300]


def test_cutoff_needs_case_files_not_an_assess_folder(cohort: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", str(cohort), "--out", str(tmp_path / "res"), "--print", "never"]) == 0
    assert main(["analyze", str(tmp_path / "res"), "--out", str(tmp_path / "a"), "-q",
                 "--jobs", "1", "--cutoff", CUTOFF]) == 2
    assert "--cutoff needs the case files" in capsys.readouterr().err
    assert main(["analyze", str(cohort), "--out", str(tmp_path / "a"), "-q", "--jobs", "1",
                 "--cutoff", "30/06/2023"]) == 2


def test_disposition_adds_up_to_the_randomised_total(cohort: Path) -> None:
    data = dataset.from_case_paths([cohort], cutoff=date.fromisoformat(CUTOFF))
    table = disposition.disposition_table(data)
    assert disposition.status_adds_up(table)
    rows = table.set_index("category")
    arms = data.arms
    assert rows.loc["Randomised", "all"] == 40 == sum(rows.loc["Randomised", a] for a in arms)
    status = rows.loc[list(disposition.STATUS_ROWS)]
    for column in [*arms, "all"]:
        assert status[column].sum() == rows.loc["Randomised", column]
    assert rows.loc["Treated (at least one ablation by the cut-off)", "all"] <= 40
    # A cut-off before some randomisations leaves those subjects out, and says how many.
    early = dataset.from_case_paths([cohort], cutoff=date(2021, 6, 30))
    info = disposition.cutoff_info(early)
    assert len(early.subjects) + len(info.excluded) == 40 and info.excluded
    assert "randomised after it are not in the analysis" in info.sentence()


def test_review_flags_list_subject_and_timepoint(tmp_path: Path) -> None:
    case = {
        "format": "mrecist-case", "version": 1,
        "subject": {"id": "S-FLAG", "arm": "A", "randomization_date": "2021-01-02"},
        "timepoints": [{"id": "BL", "date": "2021-01-01", "baseline": True},
                       {"id": "FU1", "date": "2021-03-01"}, {"id": "FU2", "date": "2021-05-01"}],
        "lesions": [{"id": "L1", "role": "target"}],
        "observations": [
            {"lesion": "L1", "timepoint": "BL", "status": "measured", "viable_diameter_mm": 30},
            {"lesion": "L1", "timepoint": "FU1", "status": "too-small"},
            {"lesion": "L1", "timepoint": "FU2", "status": "absent"}],
    }
    (tmp_path / "c.json").write_text(json.dumps(case), encoding="utf-8")
    data = dataset.from_case_paths([tmp_path])
    flags = disposition.review_flags(data)
    assert not flags.empty
    first = flags.iloc[0]
    assert first["subject"] == "S-FLAG" and first["where"] == "timepoint FU1"
    assert "too small to measure" in first["flag"]
    # Each flag once, although subjects.csv repeats the timepoint's flags.
    assert not flags.duplicated(["subject", "flag"]).any()


def _ended(sid: str, *, end: tuple[str, str] | None = None, alive: str = "2021-05-01",
           death: str | None = None) -> dict:
    subject: dict = {"id": sid, "arm": "A" if sid < "M" else "B",
                     "randomization_date": "2021-01-05", "last_known_alive": alive}
    if death:
        subject["death"] = {"date": death, "cause": "other"}
        subject["last_known_alive"] = death
    if end:
        subject["end_of_study"] = {"date": end[0], "reason": end[1]}
    return {"format": "mrecist-case", "version": 1, "subject": subject,
            "timepoints": [{"id": "BL", "date": "2021-01-01", "baseline": True},
                           {"id": "FU1", "date": "2021-04-01"}],
            "lesions": [{"id": "L1", "role": "target"}],
            "observations": [
                {"lesion": "L1", "timepoint": "BL", "status": "measured", "viable_diameter_mm": 30},
                {"lesion": "L1", "timepoint": "FU1", "status": "measured",
                 "viable_diameter_mm": 12}]}


def test_withdrawn_and_lost_to_follow_up_are_told_apart_by_end_of_study(tmp_path: Path) -> None:
    """subject.end_of_study says why participation ended; without it an early end is
    'reason not recorded'; a death learnt of after leaving stays under the reason for leaving;
    an end of study after the cut-off is ignored (the subject was still in the study)."""
    subjects = [
        _ended("A-WD", end=("2021-05-01", "withdrawn")),
        _ended("A-LF", end=("2021-05-01", "lost-to-follow-up")),
        _ended("A-OT", end=("2021-05-01", "other")),
        _ended("A-CO", end=("2022-01-02", "completed"), alive="2022-01-02"),
        _ended("A-DI", end=("2021-06-01", "death"), death="2021-06-01"),
        _ended("B-WDD", end=("2021-05-01", "withdrawn"), death="2021-09-01"),
        _ended("B-NR", alive="2021-05-01"),
        _ended("B-FU", alive="2022-06-01"),
        _ended("B-LATE", end=("2022-09-01", "withdrawn"), alive="2022-06-15"),
    ]
    folder = tmp_path / "cases"
    folder.mkdir()
    for case in subjects:
        (folder / f"{case['subject']['id']}.json").write_text(json.dumps(case), encoding="utf-8")
    data = dataset.from_case_paths([folder], cutoff=date(2022, 6, 30))
    table = disposition.disposition_table(data)
    assert disposition.status_adds_up(table)
    counts = table.set_index("category")["all"].to_dict()
    labels = disposition.STATUS_LABELS
    assert {k: counts[labels[k]] for k in labels} == {
        "died": 1, "completed": 1, "ongoing": 2, "withdrawn": 2, "lost": 1, "other": 1,
        "ended_early": 1}
    assert data.cutoff_ignored["study ends"] == 1


def _six_monthly_scans(schedule: list | None) -> dict:
    """Scans on days 0, 180 and 360 from randomisation; the last imaging on day 400."""
    case = _ended("S-SCHED", alive="2022-03-01")
    case["timepoints"] = [{"id": "BL", "date": "2021-01-05", "baseline": True},
                          {"id": "FU1", "date": "2021-07-04"}, {"id": "FU2", "date": "2021-12-31"},
                          {"id": "FU3", "date": "2022-02-09"}]
    case["observations"] = [
        {"lesion": "L1", "timepoint": tp, "status": "measured", "viable_diameter_mm": mm}
        for tp, mm in (("BL", 30), ("FU1", 12), ("FU2", 12), ("FU3", 12))]
    if schedule is not None:
        case["settings"] = {"assessment_schedule": schedule}
    return case


@pytest.mark.parametrize(("schedule", "missed"), [(None, 2), ([[180, None]], 0)])
def test_missed_visits_are_counted_against_the_schedule_the_cases_were_assessed_with(
        tmp_path: Path, schedule: list | None, missed: int) -> None:
    """END-GEN-4, §11.13: the disposition's missed-visit count follows the cases'
    ``assessment_schedule`` (default 3-monthly: days 90 and 270 missed; six-monthly: none),
    never a built-in default."""
    (tmp_path / "c.json").write_text(json.dumps(_six_monthly_scans(schedule)), encoding="utf-8")
    data = dataset.from_case_paths([tmp_path])
    row = data.subjects.to_dict("records")[0]
    assert disposition.missed_assessments(row, data.settings) == missed
