"""Missing data and not-evaluable timepoints (REC-NE1..NE4, MR-O2)."""

from __future__ import annotations

from casebuilder import build

from mrecist_tool.rules import assess_case

TPS = [("BL", "2021-01-04"), ("FU1", "2021-03-01"), ("FU2", "2021-06-01")]


def fu1(obs: dict, tp_extra: dict | None = None, lesions: dict | None = None, **kw: object):  # type: ignore[no-untyped-def]
    tps = [TPS[0], (TPS[1][0], TPS[1][1], tp_extra or {})]
    case = build(tps=tps, lesions=lesions or {"L1": "target", "L2": "target", "N1": "non-target"}, obs=obs, **kw)
    return assess_case(case).timepoints[1]


BL = {("L1", "BL"): "30", ("L2", "BL"): "20", ("N1", "BL"): "present"}


def test_REC_NE1_no_imaging_is_NE() -> None:
    r = fu1(BL, {"imaging": "not-done"})
    assert r.overall is not None and r.overall.category == "NE"
    assert "REC-NE1" in r.reasons


def test_REC_NE2_missing_target_gives_NE() -> None:
    r = fu1({**BL, ("L1", "FU1"): "25", ("N1", "FU1"): "present"})
    assert r.target is not None and r.target.category == "NE"
    assert r.overall is not None and r.overall.category == "NE"
    assert "REC-NE2" in r.reasons


def test_REC_NE2_partial_sum_already_PD_is_PD() -> None:
    """Sum 50 at baseline; L1 alone is 60 at FU1 (+20 %): the missing L2 cannot undo PD."""
    r = fu1({**BL, ("L1", "FU1"): "60", ("L2", "FU1"): "not-evaluable", ("N1", "FU1"): "present"})
    assert r.target is not None and r.target.category == "PD"
    assert "REC-NE2" in r.target.rules
    assert r.overall is not None and r.overall.category == "PD"


def test_REC_NE2_partial_sum_just_below_PD_is_NE() -> None:
    r = fu1({**BL, ("L1", "FU1"): "59.9", ("L2", "FU1"): "not-evaluable", ("N1", "FU1"): "present"})
    assert r.target is not None and r.target.category == "NE"


def test_REC_NE2_partial_sum_needs_5mm_under_recist() -> None:
    bl = {("L1", "BL"): "10", ("L2", "BL"): "10", ("N1", "BL"): "present"}
    obs = {**bl, ("L1", "FU1"): "25", ("L2", "FU1"): "not-evaluable", ("N1", "FU1"): "present"}
    assert fu1(obs, criteria="RECIST1.1").target.category == "PD"  # type: ignore[union-attr]  # +5 mm, +25 %
    obs[("L1", "FU1")] = "24.9"  # +4.9 mm (+24.5 %): the 5 mm rule is not met by the lower bound
    assert fu1(obs, criteria="RECIST1.1").target.category == "NE"  # type: ignore[union-attr]
    assert fu1(obs).target.category == "PD"  # type: ignore[union-attr]  # mRECIST: no absolute minimum


def test_REC_NE2_nontarget_PD_or_new_lesion_give_PD_whatever_is_missing() -> None:
    obs = {**BL, ("L1", "FU1"): "not-evaluable", ("N1", "FU1"): "progressed"}
    assert fu1(obs).overall.category == "PD"  # type: ignore[union-attr]
    obs = {**BL, ("L1", "FU1"): "not-evaluable", ("N1", "FU1"): "present", ("X1", "FU1"): {"status": "present"}}
    lesions = {"L1": "target", "L2": "target", "N1": "non-target", "X1": {"role": "new", "organ": "lung"}}
    assert fu1(obs, lesions=lesions).overall.category == "PD"  # type: ignore[union-attr]


def test_REC_NE3_target_CR_with_nontarget_not_evaluated_is_PR() -> None:
    r = fu1({**BL, ("L1", "FU1"): "absent", ("L2", "FU1"): "absent"})
    assert r.target is not None and r.target.category == "CR"
    assert r.nontarget is not None and r.nontarget.category == "NE"
    assert r.overall is not None and r.overall.category == "PR"
    assert "REC-NE3" in r.overall.rules


def test_REC_NE3_missing_nontarget_does_not_make_PR_or_SD_NE() -> None:
    r = fu1({**BL, ("L1", "FU1"): "10", ("L2", "FU1"): "10"})
    assert r.overall is not None and r.overall.category == "PR"
    r = fu1({**BL, ("L1", "FU1"): "30", ("L2", "FU1"): "20"})
    assert r.overall is not None and r.overall.category == "SD"


def test_REC_NE4_incomplete_new_lesion_search_blocks_CR_only() -> None:
    obs = {**BL, ("L1", "FU1"): "absent", ("L2", "FU1"): "absent", ("N1", "FU1"): "absent"}
    r = fu1(obs, {"new_lesion_search": "incomplete"})
    assert r.overall is not None and r.overall.category == "NE"
    assert "REC-NE4" in r.reasons
    assert fu1(obs).overall.category == "CR"  # type: ignore[union-attr]
    obs2 = {**BL, ("L1", "FU1"): "10", ("L2", "FU1"): "10", ("N1", "FU1"): "present"}
    assert fu1(obs2, {"new_lesion_search": "incomplete"}).overall.category == "PR"  # type: ignore[union-attr]


def test_MR_O2_missing_viability_phase_makes_targets_NE() -> None:
    obs = {**BL, ("L1", "FU1"): "10", ("L2", "FU1"): "10", ("N1", "FU1"): "present"}
    r = fu1(obs, {"series": ["non-contrast", "portal-venous"]})
    assert r.target is not None and r.target.category == "NE"
    assert "MR-O2" in r.reasons
    assert fu1(obs, {"series": ["arterial", "portal-venous"]}).overall.category == "PR"  # type: ignore[union-attr]
    # The trial profile accepts portal-venous viability (APP-1).
    r = fu1(obs, {"series": ["non-contrast", "portal-venous"]}, settings={"viability_phase": "portal_venous"})
    assert r.overall is not None and r.overall.category == "PR"
    # RECIST 1.1 does not judge viability.
    obs_r = {("L1", "BL"): "30", ("L2", "BL"): "20", ("N1", "BL"): "present", ("L1", "FU1"): "10", ("L2", "FU1"): "10", ("N1", "FU1"): "present"}
    assert fu1(obs_r, {"series": ["non-contrast"]}, criteria="RECIST1.1").overall.category == "PR"  # type: ignore[union-attr]
