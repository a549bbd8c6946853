"""The simulated trial cohort: valid case files, deterministic, two arms, marked as simulated."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from mrecist_tool.casefile import read_case, read_case_text
from mrecist_tool.rules import assess_case
from mrecist_tool.sample.cohort import ARMS, generate_cohort, summarise_cohort, write_cohort


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
    """1-4 liver metastases, targets <= 2 and 10-40 mm, baseline before randomisation; the
    postoperative arm is ablated 14-28 days after it, the perioperative arm after about three
    months of chemotherapy (from day 7-14) and a pre-ablation CT (PRE-5); first follow-up 28-42
    days after the ablation."""
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
        procedures = {p["id"]: p for p in data["procedures"]}
        ablation = date.fromisoformat(procedures["ABL1"]["date"])
        follow_ups = [tp for tp in data["timepoints"][1:] if tp["id"] != "PRE"]
        if data["subject"]["arm"] == ARMS[1]:
            assert 14 <= (ablation - rand).days <= 28
            assert "CT1" not in procedures
        else:
            chemo = date.fromisoformat(procedures["CT1"]["date"])
            assert procedures["CT1"]["protocol"] is True and 7 <= (chemo - rand).days <= 14
            assert 84 <= (ablation - chemo).days <= 112
            pre = [tp for tp in data["timepoints"] if tp["id"] == "PRE"]
            if pre:
                assert 7 <= (ablation - date.fromisoformat(pre[0]["date"])).days <= 21
        if follow_ups:
            fu1 = date.fromisoformat(follow_ups[0]["date"])
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


def test_PRE_5_summary_of_a_seeded_trial_sized_cohort_is_in_the_published_ranges() -> None:
    """PRE-5 with seed 0 and 668 subjects, as the engine assesses them: ORR to preoperative
    chemotherapy about 40 % (35-45 %), a disappearing liver metastasis in 5-25 % of the patients
    given preoperative chemotherapy, per-tumour LTP 10-15 % at 24 and at 36 months."""
    summary = summarise_cohort(generate_cohort(668, seed=0))
    assert summary.preop_subjects == 334
    assert 0.35 <= summary.preop_orr <= 0.45
    assert 0.05 <= summary.dlm_rate <= 0.25
    assert 0.10 <= summary.ltp_24 <= summary.ltp_36 <= 0.15
    text = summary.text()
    assert text.startswith("SIMULATED") and f"{100 * summary.preop_orr:.1f} %" in text


def test_cumulative_incidence_by_hand() -> None:
    """Aalen-Johansen on 5 tumours: LTP at 10, death at 20, censored at 25, LTP at 30, censored
    at 40.  t=10: 1/5 (S = 4/5); t=20 competing: S = 4/5 * 3/4 = 3/5; t=30 with 2 at risk:
    1/5 + 3/5 * 1/2 = 1/2."""
    from mrecist_tool.sample.cohort import _cumulative_incidence

    rows = [(10, 1), (20, 2), (25, 0), (30, 1), (40, 0)]
    assert _cumulative_incidence(rows, 9) == 0
    assert _cumulative_incidence(rows, 29) == pytest.approx(0.2)
    assert _cumulative_incidence(rows, 30) == pytest.approx(0.5)


def test_cohort_has_preoperative_chemotherapy_and_disappearing_metastases() -> None:
    cases = generate_cohort(120, seed=3)
    assessments = [assess_case(read_case_text(json.dumps(c))) for c in cases]
    peri = [a for a in assessments if a.case.subject.arm == ARMS[0]]
    assert all(a.pre_ablation is not None and a.pre_ablation.first_ablation_date for a in peri)
    assert any(a.pre_ablation.responder for a in peri if a.pre_ablation)
    dlm = [d for a in peri if a.pre_ablation for d in a.pre_ablation.dlm]
    assert {d.site for d in dlm} == {"ablated", "observed"}
    post = [a for a in assessments if a.case.subject.arm == ARMS[1]]
    assert all(a.pre_ablation is not None and not a.pre_ablation.timepoints for a in post)


def test_sample_data_prints_the_PRE_5_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mrecist_tool.cli.main import main

    assert main(["sample-data", str(tmp_path), "--cohort", "24", "--no-studies"]) == 0
    out = capsys.readouterr().out
    assert "SIMULATED cohort of 24 subjects" in out and "ORR to preoperative chemotherapy" in out
    assert main(["sample-data", str(tmp_path), "--cohort", "24", "--no-studies", "--no-summary"]) == 0
    assert "ORR to preoperative" not in capsys.readouterr().out


def test_PRE_5_make_demo_prints_the_summary_as_the_readme_says() -> None:
    root = Path(__file__).resolve().parent.parent
    demo = (root / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "sample-data demo_output --cohort 668" in demo and "--no-summary" not in demo
    readme = " ".join((root / "README.md").read_text().split())
    assert ("the simulated cohort's summary beside the published ranges it follows (PRE-5: ORR to "
            "preoperative chemotherapy") in readme
