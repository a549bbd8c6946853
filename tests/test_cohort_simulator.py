"""The simulated trial cohort: valid case files, deterministic, two arms, marked as simulated."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

from mrecist_tool.casefile import read_case, read_case_text
from mrecist_tool.rules import assess_case
from mrecist_tool.sample.cohort import ARMS, generate_cohort, write_cohort


def test_cohort_is_deterministic_from_seed() -> None:
    assert generate_cohort(30, seed=7) == generate_cohort(30, seed=7)
    assert generate_cohort(30, seed=7) != generate_cohort(30, seed=8)


def test_two_arms_balanced_by_blocks_of_four() -> None:
    cohort = generate_cohort(40, seed=1)
    counts = Counter(c["subject"]["arm"] for c in cohort)
    assert counts == {ARMS[0]: 20, ARMS[1]: 20}
    for start in range(0, 40, 4):
        block = Counter(c["subject"]["arm"] for c in cohort[start:start + 4])
        assert block == {ARMS[0]: 2, ARMS[1]: 2}


def test_every_case_is_valid_and_marked_simulated(tmp_path: Path) -> None:
    paths = write_cohort(tmp_path / "cohort", 25, seed=3)
    assert len(paths) == 25
    assert "SIMULATED" in (tmp_path / "cohort" / "README.md").read_text()
    for path in paths:
        case = read_case(path)  # raises CaseFileError on any problem
        assert case.extra.get("simulated") is True
        assert case.subject.id.startswith("SIM-")
        assert case.subject.arm in ARMS


def test_eligibility_and_schedule_shape() -> None:
    """1-4 liver metastases, targets <= 2 and 10-40 mm, baseline before randomisation,
    ablation 14-28 days after it, first follow-up 28-42 days after the ablation."""
    for data in generate_cohort(60, seed=5):
        lesions = [les for les in data["lesions"] if les["role"] != "new"]
        assert 1 <= len(lesions) <= 4
        assert all(les["organ"] == "liver" for les in lesions)
        targets = [les["id"] for les in lesions if les["role"] == "target"]
        assert 1 <= len(targets) <= 2
        baseline = {o["lesion"]: o for o in data["observations"] if o["timepoint"] == "BL"}
        for lid in targets:
            assert 10 <= baseline[lid]["viable_diameter_mm"] <= 40
        rand = date.fromisoformat(data["subject"]["randomization_date"])
        bl = date.fromisoformat(data["timepoints"][0]["date"])
        assert data["timepoints"][0]["baseline"] and 3 <= (rand - bl).days <= 10
        ablation = date.fromisoformat(data["procedures"][0]["date"])
        assert 14 <= (ablation - rand).days <= 28
        if len(data["timepoints"]) > 1:
            fu1 = date.fromisoformat(data["timepoints"][1]["date"])
            assert 28 <= (fu1 - ablation).days <= 42
        dates = [tp["date"] for tp in data["timepoints"]]
        assert dates == sorted(dates) and len(set(dates)) == len(dates)
        assert (date.fromisoformat(dates[-1]) - rand).days <= 1826 + 42


def test_fixed_number_of_visits_for_benchmarks() -> None:
    cohort = generate_cohort(20, seed=2, visits=11)
    assert {len(c["timepoints"]) for c in cohort} == {12}
    for data in cohort:
        death = data["subject"].get("death")
        if death:  # death only after the last visit
            assert death["date"] > data["timepoints"][-1]["date"]


def test_cohort_has_the_events_the_endpoints_need() -> None:
    """Assessed by the engine, 200 subjects show residual tumour, LTP, IDP, EHP, every kind of
    death, and both primary and assisted technique efficacy."""
    assessments = [assess_case(read_case_text(json.dumps(c)))
                   for c in generate_cohort(200, seed=11)]
    kinds = Counter(k for a in assessments for k in a.events.first_recurrence_kinds)
    assert kinds["LTP"] > 0 and kinds["IDP"] > 0 and kinds["EHP"] > 0
    causes = Counter(a.case.subject.death.cause for a in assessments if a.case.subject.death)
    assert set(causes) == {"cancer", "other", "unknown"}
    efficacy = Counter(r.technique_efficacy for a in assessments for r in a.ablations)
    assert efficacy["primary-success"] > 0 and efficacy["assisted-success"] > 0
    assert any(a.events.never_disease_free for a in assessments)
    ltp_tumours = sum(1 for a in assessments for r in a.ablations if r.ltp_date)
    n_tumours = sum(len(a.ablations) for a in assessments)
    assert 0.04 < ltp_tumours / n_tumours < 0.25


def test_written_files_are_json_case_files(tmp_path: Path) -> None:
    (path,) = write_cohort(tmp_path, 1, seed=0)
    data = json.loads(path.read_text())
    assert data["format"] == "mrecist-case" and data["version"] == 1
    assert data["simulated"] is True


def test_rewriting_a_smaller_cohort_removes_stale_simulated_files(tmp_path: Path) -> None:
    write_cohort(tmp_path, 6, seed=0)
    (tmp_path / "SIM-9999.json").write_text('{"not": "ours"}')  # not simulator output: kept
    write_cohort(tmp_path, 3, seed=0)
    names = sorted(p.name for p in tmp_path.glob("SIM-*.json"))
    assert names == ["SIM-0001.json", "SIM-0002.json", "SIM-0003.json", "SIM-9999.json"]
