"""Rules the code implements that no test named yet (found by docs/rules.md's test index):
baseline selection (REC-M3, REC-M4, REC-B1, REC-B2, REC-B4, MR-B1), GEN-7, MR-T5, REC-NT1 and
the endpoint conventions (END-OS, END-CSS, END-LTP, END-LTPFS, END-GEN-2, END-GEN-3, PJ-1, PJ-2,
PJ-4), each at its boundaries where it has one.  Written from response-rules.md."""

from __future__ import annotations

from typing import Any

import pytest
from casebuilder import build
from test_rules_section11 import CLEAN, coded, course, day, endpoints

from mrecist_tool.rules import assess_case

TPS = [("BL", "2021-01-04"), ("FU1", "2021-03-01"), ("FU2", "2021-06-01")]


def warnings_of(lesions: dict[str, Any], baseline: dict[str, Any], criteria: str = "mRECIST",
                **kwargs: Any) -> list[tuple[str, str | None]]:
    obs = {(lid, "BL"): v for lid, v in baseline.items()}
    case = build(tps=TPS[:1], lesions=lesions, obs=obs, criteria=criteria, **kwargs)
    return [(w.rule, w.lesion) for w in assess_case(case).warnings]


# -- baseline selection ---------------------------------------------------------------------------


@pytest.mark.parametrize(("ld", "warned"), [("9.9", True), ("10", False), ("10.1", False)])
def test_MR_B1_target_must_be_measurable(ld: str, warned: bool) -> None:
    assert (("MR-B1", "L1") in warnings_of({"L1": "target"}, {"L1": ld})) is warned


def test_MR_B1_target_without_viable_tissue_at_baseline() -> None:
    found = warnings_of({"L1": "target"}, {"L1": {"status": "measured", "viable_diameter_mm": 0,
                                                  "longest_diameter_mm": 20}})
    assert ("MR-B1", "L1") in found


def test_REC_M3_effusion_cannot_be_a_target() -> None:
    found = warnings_of({"P1": {"role": "target", "kind": "effusion", "organ": "pleura"}},
                        {"P1": {"status": "measured", "longest_diameter_mm": 30}}, criteria="RECIST1.1")
    assert ("REC-M3", "P1") in found


def test_REC_M4_target_ablated_before_baseline_is_warned() -> None:
    kwargs = {"procedures": [("A0", "ablation", "2020-12-01", ["L1"])]}
    assert ("REC-M4", "L1") in warnings_of({"L1": "target"}, {"L1": "20"}, **kwargs)
    assert ("REC-M4", "L1") not in warnings_of({"L1": "target"}, {"L1": "20"})


@pytest.mark.parametrize(("n_lung", "warned"), [(2, False), (3, True)])
def test_REC_B1_at_most_two_targets_per_organ_under_recist(n_lung: int, warned: bool) -> None:
    lesions = {f"P{i}": {"role": "target", "organ": "lung"} for i in range(n_lung)}
    found = warnings_of(lesions, {lid: "15" for lid in lesions}, criteria="RECIST1.1")
    assert any(rule == "REC-B1" for rule, _ in found) is warned


def test_REC_B2_all_lymph_nodes_are_one_organ_and_paired_organs_one() -> None:
    """Three nodal targets at three stations exceed the two per organ: nodes are one organ;
    likewise a target in each lung and a third in the left lung."""
    lesions = {f"N{i}": {"role": "target", "kind": "node", "organ": organ}
               for i, organ in enumerate(("mediastinum", "hilum", "retroperitoneum"))}
    found = warnings_of(lesions, {lid: "16" for lid in lesions}, criteria="RECIST1.1")
    assert any(rule == "REC-B1" for rule, _ in found)
    two = dict(list(lesions.items())[:2])
    assert not any(rule == "REC-B1" for rule, _ in warnings_of(two, {lid: "16" for lid in two},
                                                               criteria="RECIST1.1"))
    lungs = {f"P{i}": {"role": "target", "organ": organ}
             for i, organ in enumerate(("left lung", "right lung", "left lung"))}
    found = warnings_of(lungs, {lid: "15" for lid in lungs}, criteria="RECIST1.1")
    assert any(rule == "REC-B1" for rule, _ in found)


def test_REC_B4_non_target_not_recorded_at_baseline() -> None:
    found = warnings_of({"L1": "target", "N1": "non-target"}, {"L1": "20"})
    assert ("REC-B4", "N1") in found
    assert ("REC-B4", "N1") not in warnings_of({"L1": "target", "N1": "non-target"},
                                               {"L1": "20", "N1": "present"})


# -- timepoint response ------------------------------------------------------------------------------


def _fu1(obs: dict[tuple[str, str], Any], lesions: dict[str, Any] | None = None, **settings: Any) -> Any:
    case = build(tps=TPS[:2], lesions=lesions or {"L1": "target", "N1": "non-target",
                                                  "X1": {"role": "new", "organ": "lung"}},
                 obs=obs, settings=settings or None)
    return assess_case(case).timepoint("FU1")


def test_GEN_7_progression_is_never_masked_by_missing_data() -> None:
    """A target not evaluable (NE) and a new lesion: PD, not NE."""
    r = _fu1({("L1", "BL"): "20", ("N1", "BL"): "present", ("L1", "FU1"): "not-evaluable",
              ("N1", "FU1"): "present", ("X1", "FU1"): {"size": "12"}})
    assert r.target.category == "NE"
    assert r.overall.category == "PD"


@pytest.mark.parametrize(("fu1", "expected"), [("14.1", "SD"), ("14", "PR"), ("23.9", "SD"), ("24", "PD")])
def test_MR_T5_stable_disease_between_the_PR_and_PD_thresholds(fu1: str, expected: str) -> None:
    """Baseline 20 mm: 14 is exactly −30 % (PR), 24 exactly +20 % (PD); in between, SD."""
    r = _fu1({("L1", "BL"): "20", ("L1", "FU1"): fu1}, lesions={"L1": "target"})
    assert r.target.category == expected


@pytest.mark.parametrize(("status", "expected"), [("present", "IR/SD"), ("progressed", "PD")])
def test_REC_NT1_non_target_progression_is_the_readers_judgement(status: str, expected: str) -> None:
    r = _fu1({("L1", "BL"): "20", ("N1", "BL"): "present", ("L1", "FU1"): "20", ("N1", "FU1"): status})
    assert r.nontarget.category == expected
    assert (r.overall.category == "PD") is (expected == "PD")


# -- endpoint conventions ----------------------------------------------------------------------------


def test_END_OS_death_from_any_cause_is_an_event_origin_randomisation() -> None:
    e = endpoints(course({50: CLEAN}, subject={"death": (day(400), "other")}))
    assert coded(e["OS"]) == (400, 1) and e["OS"]["origin_date"] == day(0)


def test_END_OS_alive_censored_at_the_latest_study_or_last_known_alive() -> None:
    e = endpoints(course({50: CLEAN, 300: CLEAN}, subject={"last_known_alive": day(200)}))
    assert coded(e["OS"]) == (300, 0)


@pytest.mark.parametrize(("cause", "code"), [("cancer", 1), ("other", 2)])
def test_END_CSS_other_deaths_compete(cause: str, code: int) -> None:
    e = endpoints(course({50: CLEAN}, subject={"death": (day(400), cause)}))
    assert coded(e["CSS"]) == (400, code)


def test_END_GEN_2_event_dated_by_the_first_study_showing_it() -> None:
    e = endpoints(course({50: CLEAN, 140: {"L1": "absent", "E1": {"size": "12"}}, 230: CLEAN}))
    assert coded(e["DFS"]) == (140, 1)


def test_END_GEN_3_imaging_censored_at_the_last_adequate_assessment_or_day_0() -> None:
    e = endpoints(course({50: CLEAN, 140: CLEAN}, subject={"last_known_alive": day(500)}))
    assert coded(e["DFS"]) == (140, 0)
    e = endpoints(course({}, subject={"last_known_alive": day(500)}, procedures=[]))
    assert coded(e["DFS"]) == (0, 0)


def test_END_LTP_PJ_1_PJ_2_per_tumour_from_its_ablation_per_patient_from_randomisation() -> None:
    case = course({50: CLEAN, 140: {"L1": {"size": "8", "gap_to_ablation_zone_mm": "0"}}})
    e = endpoints(case)
    assert coded(e["LTP_TUMOUR:L1"]) == (140 - 14, 1)  # PJ-2: from the ablation on day 14
    assert coded(e["LTP"]) == (140, 1)  # PJ-1: the patient row, from randomisation


@pytest.mark.parametrize(("cause", "ltp", "ltpfs"), [("other", 2, 1), ("cancer", 2, 1)])
def test_PJ_4_END_LTPFS_death_is_an_event_of_LTP_free_survival_only(cause: str, ltp: int, ltpfs: int) -> None:
    """Time to LTP: death without LTP competes; LTP-free survival: death from any cause is an
    event (END-LTPFS)."""
    e = endpoints(course({50: CLEAN, 140: CLEAN}, subject={"death": (day(200), cause)}))
    assert coded(e["LTP"]) == (200, ltp)
    assert coded(e["LTPFS"]) == (200, ltpfs)
    assert coded(e["LTPFS_TUMOUR:L1"]) == (200 - 14, 1)
