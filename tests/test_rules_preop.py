"""Response to preoperative chemotherapy and disappearing liver metastases (response-rules.md §6.4).

Each test names the PRE rule it checks, at its boundaries.  Course unless told otherwise:
randomisation and baseline on day 0 (2021-01-04), perioperative arm, preoperative chemotherapy
from day 7 (protocol therapy), a pre-ablation study on day 60, ablation on day 70, follow-ups on
days 110 (40 days after the ablation) and 200.  Liver targets L1 (30 mm) and L2 (12 mm).
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

import pytest
from casebuilder import build

from mrecist_tool.model import Procedure
from mrecist_tool.pipeline import endpoints as ep
from mrecist_tool.pipeline.tables import dlm_rows, subject_row
from mrecist_tool.rules import CaseAssessment, assess_case

ORIGIN = date(2021, 1, 4)


def day(n: int) -> str:
    return (ORIGIN + timedelta(days=n)).isoformat()


def course(
    visits: dict[int, dict[str, Any]],
    *,
    ablation_day: int = 70,
    ablated: tuple[str, ...] = ("L1", "L2"),
    lesions: dict[str, Any] | None = None,
    baseline: dict[str, Any] | None = None,
    arm: str = "perioperative",
    extra_procedures: list[tuple[str, str, int, list[str]]] | None = None,
    **settings: Any,
) -> CaseAssessment:
    tps: list[Any] = [("BL", day(0))]
    obs: dict[tuple[str, str], Any] = {(k, "BL"): v for k, v in (baseline or {"L1": "30", "L2": "12"}).items()}
    for n, seen in sorted(visits.items()):
        tps.append((f"T{n}", day(n)))
        for lid, value in seen.items():
            obs[(lid, f"T{n}")] = value
    procs = [("ABL1", "ablation", day(ablation_day), list(ablated))]
    procs += [(pid, kind, day(n), ls) for pid, kind, n, ls in (extra_procedures or [])]
    case = build(
        tps=tps,
        lesions=lesions or {"L1": "target", "L2": "target", "X1": {"role": "new", "organ": "liver"}},
        obs=obs,
        procedures=procs,
        subject={"arm": arm, "randomization_date": day(0)},
        settings=settings,
    )
    chemo = Procedure("CHEMO1", "systemic-therapy", ORIGIN + timedelta(days=7), (), protocol=True)
    case = dataclasses.replace(case, procedures=(*case.procedures, chemo))
    return assess_case(case)


GONE = {"L1": "absent", "L2": "absent"}


# -- PRE-1: the pre-ablation window ------------------------------------------------------------------


@pytest.mark.parametrize(("scan_day", "in_window"), [(69, True), (70, False), (71, False)])
def test_PRE_1_window_ends_before_the_ablation_day(scan_day: int, in_window: bool) -> None:
    """A study the day before the ablation is in the window; one on the ablation day is not
    (it is technical-success imaging, §11.11)."""
    a = course({scan_day: {"L1": "18", "L2": "8"}, 110: GONE})
    pre = a.pre_ablation
    assert pre is not None and pre.first_ablation_date == ORIGIN + timedelta(days=70)
    assert (f"T{scan_day}" in pre.timepoints) is in_window
    assert pre.best == ("PR" if in_window else "")
    assert pre.responder is in_window


def test_PRE_1_window_ends_at_the_first_ablation_of_a_target() -> None:
    """A non-target ablated on day 30 does not end the window; the targets' ablation on day 70 does."""
    a = course(
        {60: {"L1": "18", "L2": "8", "N1": "present"}, 110: {**GONE, "N1": "absent"}},
        lesions={"L1": "target", "L2": "target", "N1": "non-target"},
        baseline={"L1": "30", "L2": "12", "N1": "present"},
        extra_procedures=[("ABL0", "ablation", 30, ["N1"])],
    )
    assert a.pre_ablation is not None and a.pre_ablation.timepoints == ("T60",)


def test_PRE_1_best_response_is_whole_course_independent_and_unconfirmed() -> None:
    """PR before the ablation, CR after it: the pre-ablation best response is PR, the whole-course
    BOR is CR; confirmation is not required in the window even when the case requires it."""
    a = course({60: {"L1": "18", "L2": "8"}, 110: GONE, 200: GONE}, confirmation_required=True)
    assert a.pre_ablation is not None and a.pre_ablation.best == "PR" and a.pre_ablation.responder
    assert a.best.category == "CR"
    row = subject_row(a)
    assert row["pre_ablation_best_response"] == "PR" and row["best_overall_response"] == "CR"


@pytest.mark.parametrize(("scan_day", "expected"), [(41, "NE"), (42, "SD"), (43, "SD")])
def test_PRE_1_sd_minimum_applies_in_the_window(scan_day: int, expected: str) -> None:
    a = course({scan_day: {"L1": "28", "L2": "12"}, 110: GONE})
    assert a.pre_ablation is not None and a.pre_ablation.best == expected
    assert a.pre_ablation.responder is False


@pytest.mark.parametrize(("l1", "responder"), [("20.9", True), ("21", True), ("21.1", False)])
def test_PRE_2_responder_at_the_30_percent_boundary(l1: str, responder: bool) -> None:
    """Baseline sum 42 (30 + 12); 21 + 8.4 = 29.4 is exactly −30 % (PR); 21.1 + 8.4 is not."""
    a = course({60: {"L1": l1, "L2": "8.4"}, 110: GONE})
    assert a.pre_ablation is not None and a.pre_ablation.responder is responder


def test_PRE_2_no_pre_ablation_study_is_a_non_responder() -> None:
    a = course({110: GONE})
    row = subject_row(a)
    assert row["pre_ablation_best_response"] == "" and row["pre_ablation_responder"] == "false"
    assert row["preop_chemo_arm"] == "true"


def test_PRE_2_arm_setting() -> None:
    a = course({60: {"L1": "18", "L2": "8"}, 110: GONE}, arm="postoperative")
    assert subject_row(a)["preop_chemo_arm"] == "false"
    b = course({60: {"L1": "18", "L2": "8"}, 110: GONE}, arm="A", preop_chemo_arm="A")
    assert subject_row(b)["preop_chemo_arm"] == "true"


# -- PRE-3: disappearing liver metastases ----------------------------------------------------------


@pytest.mark.parametrize(("l2_pre", "dlm"), [("absent", True), ("0", True), ("too-small", False), ("3", False)])
def test_PRE_3_gone_at_the_last_pre_ablation_study(l2_pre: str, dlm: bool) -> None:
    a = course({60: {"L1": "18", "L2": l2_pre}, 110: GONE})
    assert a.pre_ablation is not None
    assert [d.lesion for d in a.pre_ablation.dlm] == (["L2"] if dlm else [])


def test_PRE_3_only_the_last_pre_ablation_study_counts() -> None:
    a = course({40: {"L1": "20", "L2": "absent"}, 60: {"L1": "18", "L2": "4"}, 110: GONE})
    assert a.pre_ablation is not None and a.pre_ablation.dlm == ()


@pytest.mark.parametrize(("baseline_mm", "dlm"), [("9.9", False), ("10", True), ("10.1", True)])
def test_PRE_3_measurable_at_baseline(baseline_mm: str, dlm: bool) -> None:
    """A non-target measured at baseline: a DLM only when measurable (REC-M1, 10 mm)."""
    a = course(
        {60: {"L1": "18", "N1": "absent"}, 110: {"L1": "absent", "N1": "absent"}},
        lesions={"L1": "target", "N1": "non-target"},
        baseline={"L1": "30", "N1": baseline_mm},
        ablated=("L1",),
    )
    assert a.pre_ablation is not None and bool(a.pre_ablation.dlm) is dlm


@pytest.mark.parametrize(("ablated", "site"), [(("L1", "L2"), "ablated"), (("L1",), "observed")])
def test_PRE_3_site_ablated_or_observed(ablated: tuple[str, ...], site: str) -> None:
    a = course({60: {"L1": "18", "L2": "absent"}, 110: GONE, 200: GONE}, ablated=ablated)
    (row,) = dlm_rows(a)
    assert row["lesion"] == "L2" and row["site"] == site
    assert row["last_pre_ablation_timepoint"] == "T60" and row["recurrence_date"] == ""
    assert subject_row(a)["dlm_lesions"] == "L2"
    assert a.events.never_disease_free is False, "§11.19: a DLM under observation has no viable tissue"


# -- PRE-4: in-situ recurrence ------------------------------------------------------------------------


def test_PRE_4_observed_site_recurrence_is_intrahepatic_progression_and_a_DFS_event() -> None:
    a = course({60: {"L1": "18", "L2": "absent"}, 110: GONE, 200: {"L1": "absent", "L2": "6"}}, ablated=("L1",))
    (row,) = dlm_rows(a)
    assert row["recurrence_kind"] == "IDP" and row["recurrence_date"] == day(200)
    assert a.events.first_idp_date == ORIGIN + timedelta(days=200)
    assert "IDP" in a.timepoint("T200").progression
    assert a.timepoint("T200").overall.category == "PD"  # type: ignore[union-attr]
    dfs = ep.dfs_row(subject_row(a))
    assert (dfs["time_days"], dfs["event"]) == (200, 1)
    assert a.events.first_ltp_date is None


def test_PRE_4_focus_next_to_an_observed_DLM_is_that_lesion_tissue() -> None:
    """Recorded as a new 6 mm focus with near_lesion = L2: not an (equivocal, < 10 mm) new lesion
    but L2's tissue: L2 counts 6 mm, target PD from a nadir of 0, intrahepatic progression."""
    focus = {"size": "6", "near_lesion": "L2", "gap_to_ablation_zone_mm": "0", "enhancement": "atypical"}
    a = course({60: {"L1": "18", "L2": "absent"}, 110: GONE, 200: {**GONE, "X1": focus}}, ablated=("L1",))
    r = a.timepoint("T200")
    assert r.target_sum_mm == 6 and r.overall.category == "PD"  # type: ignore[union-attr]
    assert r.new_lesions.category == "no"
    assert "PRE-4" in r.reasons
    assert a.events.first_idp_date == ORIGIN + timedelta(days=200)


def test_PRE_4_ablated_site_recurrence_is_LTP() -> None:
    a = course({60: {"L1": "18", "L2": "absent"}, 110: GONE, 200: {"L1": "absent", "L2": {"size": "6", "gap_to_ablation_zone_mm": "0"}}})
    (row,) = dlm_rows(a)
    assert row["recurrence_kind"] == "LTP" and row["recurrence_date"] == day(200)
    assert a.events.first_ltp_date == ORIGIN + timedelta(days=200)
    assert a.events.first_idp_date is None


def test_PRE_4_ablated_site_tissue_at_the_first_follow_up_is_residual() -> None:
    """ABL-8 still applies at an ablated DLM site: tissue at the first follow-up is residual."""
    a = course({60: {"L1": "18", "L2": "absent"}, 110: {"L1": "absent", "L2": {"size": "6", "gap_to_ablation_zone_mm": "0"}}})
    (row,) = dlm_rows(a)
    assert row["recurrence_kind"] == "residual" and row["recurrence_date"] == day(110)


def test_PRE_4_recurrence_dated_to_the_first_study_showing_it() -> None:
    a = course(
        {60: {"L1": "18", "L2": "absent"}, 110: GONE, 200: {"L1": "absent", "L2": "too-small"}, 290: {"L1": "absent", "L2": "9"}},
        ablated=("L1",),
    )
    (row,) = dlm_rows(a)
    assert row["recurrence_date"] == day(200)


# -- explain ------------------------------------------------------------------------------------------


def test_PRE_1_PRE_2_PRE_3_explain_shows_the_window_the_response_and_the_DLM() -> None:
    """`mrecist explain` at a study in the pre-ablation window (and for the whole case) says so,
    with the response to preoperative chemotherapy and each disappearing metastasis; a follow-up
    after the ablation and a case without a window say nothing of it."""
    from mrecist_tool.rules.explain import explain_timepoint, pre_ablation_lines

    a = course({60: {"L1": "18", "L2": "absent"}, 110: GONE, 200: {"L1": "absent", "L2": "6"}}, ablated=("L1",))
    text = explain_timepoint(a, "T60")
    assert ("Pre-ablation window: T60, before the first ablation on 2021-03-15 (PRE-1); best response PR "
            "at T60, a responder (PRE-2") in text
    assert "  L2: disappearing liver metastasis at T60, site observed, not ablated; tumour back at T200 (2021-07-23): IDP" in text
    assert all(f"docs/rules.md#rule-PRE-{n}" in text for n in (1, 2, 3, 4))
    assert "Pre-ablation" not in explain_timepoint(a, "T110")
    whole = "\n".join(pre_ablation_lines(a))
    assert "Response to preoperative chemotherapy: T60" in whole and "L2: disappearing" in whole
    post = course({110: GONE}, arm="postoperative")
    assert pre_ablation_lines(post) == [] and "Pre-ablation" not in explain_timepoint(post, "T110")
