"""Threshold arithmetic (GEN-2..GEN-5) and target response (REC-T1..T5, MR-T1..T7).

Every threshold is tested below, exactly at, and above it with decimal inputs whose binary-float
evaluation goes wrong (42/35, 9.8/14.0, 19.9-14.9).
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from casebuilder import build

from mrecist_tool.rules import assess_case
from mrecist_tool.rules.arith import meets_absolute_pd, meets_pr, meets_relative_pd

TPS = [("BL", "2021-01-04"), ("FU1", "2021-03-01"), ("FU2", "2021-06-01"), ("FU3", "2021-09-01")]


def target_course(values: list[str], criteria: str = "mRECIST", **settings: object) -> list[str]:
    """Target responses at FU1.. for a single target measured BL, FU1, ..."""
    obs = {("L1", tp): v for (tp, _), v in zip(TPS, values, strict=False)}
    case = build(tps=TPS[: len(values)], lesions={"L1": "target"}, obs=obs, criteria=criteria, settings=settings)
    a = assess_case(case)
    return [r.target.category for r in a.timepoints[1:] if r.target is not None]


def two_targets(bl: tuple[str, str], fu: tuple[str, str], criteria: str = "mRECIST") -> str:
    case = build(
        tps=TPS[:2],
        lesions={"L1": "target", "L2": {"role": "target", "organ": "lung"}},
        obs={("L1", "BL"): bl[0], ("L2", "BL"): bl[1], ("L1", "FU1"): fu[0], ("L2", "FU1"): fu[1]},
        criteria=criteria,
    )
    r = assess_case(case).timepoints[1]
    assert r.target is not None
    return r.target.category


# -- GEN-2: the float traps of the spec ------------------------------------------------------


def test_GEN2_float_traps_are_decided_exactly() -> None:
    assert 42 / 35 - 1 < 0.2  # the trap: floats say "just below 20 %"
    assert meets_relative_pd(D("35"), D("42"), D(20))
    assert (9.8 - 14.0) / 14.0 > -0.3  # floats say "just short of 30 %"
    assert meets_pr(D("14.0"), D("9.8"), D(30))
    assert 19.9 - 14.9 < 5
    assert meets_absolute_pd(D("14.9"), D("19.9"), D(5))


@pytest.mark.parametrize(
    ("current", "expected"),
    [("9.9", "SD"), ("9.8", "PR"), ("9.7", "PR")],
    ids=["just-above-70pct", "exactly-30pct-below", "below"],
)
def test_MR_T2_partial_response_threshold_14_to_9_8(current: str, expected: str) -> None:
    """T03: 14.0 → 9.8 is exactly −30 %: PR is inclusive (GEN-4)."""
    assert target_course(["14.0", current]) == [expected]
    assert target_course(["14.0", current], criteria="RECIST1.1") == [expected]


@pytest.mark.parametrize(
    ("current", "expected"),
    [("41.9", "SD"), ("42", "PD"), ("42.1", "PD")],
)
def test_MR_T3_progression_threshold_35_to_42(current: str, expected: str) -> None:
    """T01: 35 → 42 is exactly +20 % over the nadir (the baseline here): PD, inclusive."""
    assert target_course(["35", current]) == [expected]


@pytest.mark.parametrize(
    ("current", "mrecist", "recist"),
    [("19.8", "PD", "SD"), ("19.9", "PD", "PD"), ("20.0", "PD", "PD")],
)
def test_REC_T3_absolute_5mm_only_under_recist(current: str, mrecist: str, recist: str) -> None:
    """T06: nadir 14.9 → 19.9 is exactly +5 mm (and +33.6 %). RECIST 1.1 needs ≥ 5 mm; mRECIST
    has no absolute minimum (MR-T4)."""
    assert target_course(["14.9", current]) == [mrecist]
    assert target_course(["14.9", current], criteria="RECIST1.1") == [recist]


@pytest.mark.parametrize(
    ("current", "expected"),
    [("12.4", "PD"), ("12.0", "PD"), ("11.9", "SD")],
)
def test_MR_T4_relative_only_small_lesion(current: str, expected: str) -> None:
    """T04/T05: nadir 10 → 12 is +20 % but only +2 mm: PD under mRECIST, SD under RECIST 1.1."""
    assert target_course(["10", current]) == [expected]
    assert target_course(["10", current], criteria="RECIST1.1") == ["SD"]


@pytest.mark.parametrize(("current", "expected"), [("14.9", "SD"), ("15", "PD")])
def test_MR_T4_pd_abs_min_setting_under_mrecist(current: str, expected: str) -> None:
    """T08: with pd_abs_min_mm = 5 mRECIST also needs the absolute increase (nadir 10)."""
    assert target_course(["10", current], pd_abs_min_mm=5) == [expected]


def test_GEN3_persistent_zero_is_not_progression() -> None:
    """T09: nadir 0 and current 0: 0·100 ≥ 20·0 is true, so the strict S − N > 0 guard matters."""
    assert target_course(["20", "0", "0"]) == ["CR", "CR"]
    assert target_course(["20", "0", "0"], criteria="RECIST1.1") == ["CR", "CR"]


def test_MR_T6_nadir_includes_baseline() -> None:
    """A lesion that only grows is judged against the baseline: 30 → 36 is +20 %: PD."""
    assert target_course(["30", "36"]) == ["PD"]
    assert target_course(["30", "35.9"]) == ["SD"]


def test_REC_T3_nadir_is_the_smallest_earlier_sum() -> None:
    """BL 50, FU1 20 (PR), FU2 24: +20 % and +4 mm over the nadir 20. mRECIST PD; RECIST 1.1 needs
    5 mm, so it stays PR against the baseline (REC-T2)."""
    assert target_course(["50", "20", "24"]) == ["PR", "PD"]
    assert target_course(["50", "20", "24"], criteria="RECIST1.1") == ["PR", "PR"]
    assert target_course(["50", "20", "25"], criteria="RECIST1.1") == ["PR", "PD"]


def test_REC_T3_nadir_ignores_incomplete_sums() -> None:
    """A follow-up where a target was not evaluable has no sum and cannot be a nadir."""
    case = build(
        tps=TPS[:4],
        lesions={"L1": "target", "L2": "target"},
        obs={
            ("L1", "BL"): "30", ("L2", "BL"): "20",
            ("L1", "FU1"): "10", ("L2", "FU1"): "not-evaluable",
            ("L1", "FU2"): "25", ("L2", "FU2"): "20",
            ("L1", "FU3"): "30", ("L2", "FU3"): "30",
        },
    )
    a = assess_case(case)
    assert [r.nadir_mm for r in a.timepoints[1:]] == [D(50), D(50), D(45)]
    assert [r.target.category for r in a.timepoints[1:] if r.target] == ["NE", "SD", "PD"]


@pytest.mark.parametrize(("fu2", "strict", "faq"), [("70", "PR", "PR"), ("71", "SD", "PR"), ("72", "SD", "PD")])
def test_REC_T5_pr_persistence_modes(fu2: str, strict: str, faq: str) -> None:
    """BL 100, FU1 60 (PR). FU2 71 is only 29 % below baseline and +18.3 % over the nadir:
    SD when recomputed against the baseline ("strict"), PR kept under the EORTC FAQ reading.
    FU2 72 is +20 % over the nadir: PD in both."""
    expect_strict = strict if fu2 != "72" else "PD"
    assert target_course(["100", "60", fu2]) == ["PR", expect_strict]
    assert target_course(["100", "60", fu2], pr_persistence="eortc_faq") == ["PR", faq]


def test_REC_T5_eortc_example_165_63_65() -> None:
    """The FAQ's own example: 165 → 63 → 65 stays PR."""
    for mode in ("strict", "eortc_faq"):
        assert target_course(["165", "63", "65"], criteria="RECIST1.1", pr_persistence=mode) == ["PR", "PR"]


def test_REC_B3_sum_of_several_targets() -> None:
    """The sum of two targets decides: 20+15=35 → 30+12=42 is +20 %: PD."""
    assert two_targets(("20", "15"), ("30", "12")) == "PD"
    assert two_targets(("20", "15"), ("29.9", "12")) == "SD"


def test_MR_T1_complete_response_needs_every_target_at_zero() -> None:
    assert two_targets(("20", "15"), ("0", "0")) == "CR"
    assert two_targets(("20", "15"), ("0", "0.1")) == "PR"


def test_REC_S2_too_small_counts_5mm_and_absent_counts_0() -> None:
    case = build(tps=TPS[:3], lesions={"L1": "target"}, obs={("L1", "BL"): "20", ("L1", "FU1"): "too-small", ("L1", "FU2"): "absent"}, criteria="RECIST1.1")
    a = assess_case(case)
    assert [r.target_sum_mm for r in a.timepoints] == [D(20), D(5), D(0)]
    assert [r.target.category for r in a.timepoints[1:] if r.target] == ["PR", "CR"]
    assert "REC-S2" in a.timepoints[1].reasons


def test_GEN5_percentages_only_rounded_for_display() -> None:
    from mrecist_tool.pipeline.tables import timepoint_rows

    case = build(tps=TPS[:2], lesions={"L1": "target"}, obs={("L1", "BL"): "30", ("L1", "FU1"): "20"})
    a = assess_case(case)
    r = a.timepoints[1]
    assert r.change_from_baseline_pct is not None and r.change_from_baseline_pct != D("-33.3")
    assert timepoint_rows(a)[1]["change_from_baseline_pct"] == "-33.3"


def _targets_gone_beside_a_nontarget_node(node_fu1: str, criteria: str = "RECIST1.1") -> tuple[str, str]:
    """A liver target 20 mm gone at FU1, beside a non-target node of short axis 15 mm at baseline."""
    case = build(
        tps=TPS[:2],
        lesions={"L1": "target", "N1": {"role": "non-target", "kind": "node", "organ": "lymph node"}},
        obs={("L1", "BL"): "20", ("N1", "BL"): "15", ("L1", "FU1"): "absent", ("N1", "FU1"): node_fu1},
        criteria=criteria,
    )
    r = assess_case(case).timepoints[1]
    assert r.target is not None
    return r.target.category, " ".join(r.target.notes)


@pytest.mark.parametrize(("sa", "expected"), [("9.9", "CR"), ("10", "PR"), ("10.1", "PR"), ("12.0", "PR")])
def test_REC_T1_a_pathological_non_target_node_keeps_the_targets_from_cr(sa: str, expected: str) -> None:
    """REC-T1: CR needs "every pathological node (target or non-target)" < 10 mm short axis. With
    the non-target node at 10 mm or more, the targets are judged by their sum: 0 against 20 is
    (20 − 0)·100 = 2000 ≥ 30·20, PR (REC-T2). Found by an independent case (IC-RECT1-NONTARGET-NODE-12.0)."""
    category, notes = _targets_gone_beside_a_nontarget_node(sa)
    assert category == expected
    if expected == "PR":
        assert f"non-target node N1 short axis {D(sa)} mm is still pathological" in notes


@pytest.mark.parametrize(("status", "why"), [("not-evaluated", "not evaluated"), ("present", "is still pathological"),
                                             ("absent", None)])
def test_REC_T1_a_non_target_node_not_shown_normal_keeps_the_targets_from_cr(status: str, why: str | None) -> None:
    category, notes = _targets_gone_beside_a_nontarget_node(status)
    assert category == ("CR" if why is None else "PR")
    if why is not None:
        assert f"non-target node N1 {why}" in notes


def test_11_1_under_mrecist_a_non_target_node_does_not_keep_the_targets_from_cr() -> None:
    """§11.1 inherits REC-T1's node rule for nodal *targets* under mRECIST; MR-T1 itself is about
    the targets' viable tissue, so a non-target node leaves the target CR as it is."""
    assert _targets_gone_beside_a_nontarget_node("12.0", criteria="mRECIST")[0] == "CR"


def test_REC_T1_node_target_complete_response_below_10mm() -> None:
    """REC-T1, REC-S1: a nodal target counts its actual short axis; CR when every node < 10 mm,
    so the sum can be > 0 at CR."""
    for sa, expected in (("9.9", "CR"), ("10", "PR")):
        case = build(
            tps=TPS[:2],
            lesions={"L1": "target", "N1": {"role": "target", "kind": "node", "organ": "lymph node"}},
            obs={("L1", "BL"): "30", ("N1", "BL"): "20", ("L1", "FU1"): "absent", ("N1", "FU1"): sa},
            criteria="RECIST1.1",
        )
        r = assess_case(case).timepoints[1]
        assert r.target is not None and r.target.category == expected, sa
        assert r.target_sum_mm == D(sa)
