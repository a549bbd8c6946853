"""Best overall response (REC-C1..C6, REC-D1, MR-O1), written from response-rules.md §2.9.

Every course below has one liver target L1 of 40 mm at baseline (day 0, 2021-01-04) unless told
otherwise.  Follow-up values are chosen so the timepoint category is obvious from the spec:

* ``absent`` → 0 mm → CR; ``20`` → −50 % → PR; ``25`` → −37.5 % → PR (nadir 25);
* ``29`` after a nadir of 25 → −27.5 % from baseline and +16 % from the nadir → SD;
* ``30`` after a nadir of 25 → exactly +20 % → PD; ``35`` from a nadir of 40 → SD;
* ``60`` → PD from any nadir ≤ 50; ``not-evaluable`` → NE.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from casebuilder import build

from mrecist_tool.rules import CaseAssessment, assess_case

BASE = date(2021, 1, 4)


def day(n: int) -> str:
    return (BASE + timedelta(days=n)).isoformat()


def course(
    visits: list[tuple[int, Any]],
    *,
    criteria: str = "mRECIST",
    baseline: str = "40",
    subject: dict[str, Any] | None = None,
    procedures: list[tuple[str, str, str, list[str]]] | None = None,
    **settings: Any,
) -> CaseAssessment:
    """A single-target course: ``visits`` are (study day, L1 observation) for FU1, FU2, …"""
    tps = [("BL", day(0))] + [(f"FU{i}", day(n)) for i, (n, _) in enumerate(visits, start=1)]
    obs: dict[tuple[str, str], Any] = {("L1", "BL"): baseline}
    for i, (_, value) in enumerate(visits, start=1):
        obs[("L1", f"FU{i}")] = value
    case = build(
        tps=tps,
        lesions={"L1": "target"},
        obs=obs,
        criteria=criteria,
        settings=settings,
        subject=subject,
        procedures=procedures,
    )
    return assess_case(case)


def overall(a: CaseAssessment) -> list[str]:
    return [r.overall.category for r in a.timepoints[1:] if r.overall is not None]


CONFIRM: dict[str, Any] = {"confirmation_required": True}


# -- REC-C1: confirmation only when required ----------------------------------------------------


def test_REC_C1_single_PR_counts_without_confirmation() -> None:
    """Randomised trial default (§7 confirmation_required False): one PR is the BOR."""
    a = course([(56, "20")])
    assert a.best.category == "PR"
    assert a.best.confirmed is None
    assert a.best.timepoint == "FU1"


def test_REC_C1_single_CR_counts_without_confirmation() -> None:
    a = course([(56, "absent")])
    assert a.best.category == "CR"
    assert a.best.confirmed is None


def test_REC_C1_single_unconfirmed_PR_is_SD_when_confirmation_required() -> None:
    """Table 3: an unconfirmed PR met after the SD minimum counts as SD."""
    a = course([(56, "20")], **CONFIRM)
    assert a.best.category == "SD"
    assert a.best.confirmed is False


@pytest.mark.parametrize(
    ("second_day", "expected", "confirmed"),
    [(56 + 27, "SD", False), (56 + 28, "PR", True), (56 + 29, "PR", True)],
    ids=["27-days", "exactly-28-days", "29-days"],
)
def test_REC_C1_confirmation_at_least_28_days_later(second_day: int, expected: str, confirmed: bool) -> None:
    """The confirming assessment must be ≥ 4 weeks (confirm_min_days 28, inclusive) after the first."""
    a = course([(56, "20"), (second_day, "20")], **CONFIRM)
    assert a.best.category == expected
    assert a.best.confirmed is confirmed


def test_REC_C1_too_early_second_PR_then_a_later_one_confirms() -> None:
    a = course([(56, "20"), (70, "20"), (100, "20")], **CONFIRM)
    assert a.best.category == "PR"
    assert a.best.confirmed is True


def test_REC_C1_confirm_min_days_setting() -> None:
    a = course([(56, "20"), (91, "20")], confirmation_required=True, confirm_min_days=35)
    assert a.best.category == "PR"
    a = course([(56, "20"), (91, "20")], confirmation_required=True, confirm_min_days=35 + 1)
    assert a.best.category == "SD"


# -- REC-C4: Table 3 ------------------------------------------------------------------------------

TABLE3 = [
    # (first, later, expected BOR); first visit on day 56 (SD minimum met), later on day 84.
    ("absent", "absent", "CR"),
    ("absent", "60", "SD"),  # CR then PD, minimum met
    ("absent", "not-evaluable", "SD"),  # CR then NE, minimum met
    ("25", "absent", "PR"),
    ("25", "25", "PR"),
    ("25", "29", "SD"),
    ("25", "30", "SD"),  # PR then PD, minimum met
    ("25", "not-evaluable", "SD"),
    ("not-evaluable", "not-evaluable", "NE"),
]


@pytest.mark.parametrize(("first", "later", "expected"), TABLE3)
def test_REC_C4_table3_rows_minimum_met(first: str, later: str, expected: str) -> None:
    a = course([(56, first), (84, later)], **CONFIRM)
    assert a.best.category == expected


TABLE3_EARLY = [
    # First visit on day 35 (< sd_min_days 42): the "else" branch of Table 3.
    ("absent", "60", "PD"),
    ("absent", "not-evaluable", "NE"),
    ("25", "30", "PD"),
    ("25", "not-evaluable", "NE"),
]


@pytest.mark.parametrize(("first", "later", "expected"), TABLE3_EARLY)
def test_REC_C4_table3_rows_minimum_not_met(first: str, later: str, expected: str) -> None:
    a = course([(35, first), (84, later)], **CONFIRM)
    assert a.best.category == expected


def test_REC_C4_confirmed_CR_reports_confirmation_and_rule() -> None:
    a = course([(56, "absent"), (84, "absent")], **CONFIRM)
    assert a.best.confirmed is True
    assert a.best.timepoint in ("FU1", "FU2")
    assert "REC-C1" in a.best.rules or "REC-C4" in a.best.rules


def test_REC_C4_PR_then_CR_then_CR_is_CR() -> None:
    """A CR confirmed by a later CR beats the earlier PR."""
    a = course([(56, "25"), (84, "absent"), (112, "absent")], **CONFIRM)
    assert a.best.category == "CR"
    assert a.best.confirmed is True


def test_REC_C4_early_PR_then_SD_in_time_is_SD() -> None:
    """Table 3 "PR then SD → SD": the unconfirmed PR on day 35 is followed by SD on day 84."""
    a = course([(35, "25"), (84, "29")], **CONFIRM)
    assert overall(a) == ["PR", "SD"]
    assert a.best.category == "SD"


# -- REC-C6: NE between a response and its confirmation ----------------------------------------


@pytest.mark.parametrize(("allow", "expected"), [(True, "PR"), (False, "SD")])
def test_REC_C6_intervening_NE(allow: bool, expected: str) -> None:
    """PR, NE, PR ≥ 28 days later: confirmed only when an intervening NE is allowed."""
    a = course([(56, "20"), (70, "not-evaluable"), (98, "20")], confirmation_required=True, allow_intervening_ne=allow)
    assert a.best.category == expected


def test_REC_C6_PD_between_response_and_confirmation_breaks_it() -> None:
    """No PD may stand between; and after PD nothing counts (REC-C2)."""
    a = course([(56, "25"), (84, "30"), (112, "20")], **CONFIRM)
    assert a.best.category == "SD"


# -- REC-C3: minimum duration of SD ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sd_day", "expected", "met"),
    [(41, "NE", False), (42, "SD", True), (43, "SD", True)],
    ids=["day-41", "exactly-day-42", "day-43"],
)
def test_REC_C3_sd_minimum_inclusive(sd_day: int, expected: str, met: bool) -> None:
    """SD counts when met on or after day sd_min_days (42, whole days, inclusive); alone before → NE."""
    a = course([(sd_day, "35")])
    assert overall(a) == ["SD"]
    assert a.best.category == expected
    assert a.best.sd_min_met is met


def test_REC_C3_sd_too_early_alone_reports_rule() -> None:
    a = course([(41, "35")])
    assert "REC-C3" in a.best.rules


def test_REC_C3_sd_too_early_then_PD_is_PD() -> None:
    a = course([(41, "35"), (84, "60")])
    assert a.best.category == "PD"
    assert "REC-C3" in a.best.rules


def test_REC_C3_sd_too_early_then_NE_is_NE() -> None:
    a = course([(41, "35"), (84, "not-evaluable")])
    assert a.best.category == "NE"


def test_REC_C3_sd_too_early_then_sd_in_time_is_SD() -> None:
    a = course([(41, "35"), (84, "35")])
    assert a.best.category == "SD"
    assert a.best.sd_min_met is True


def test_REC_C3_sd_exactly_at_minimum_then_PD_is_SD() -> None:
    a = course([(42, "35"), (84, "60")])
    assert a.best.category == "SD"


@pytest.mark.parametrize(("sd_day", "expected"), [(55, "NE"), (56, "SD"), (57, "SD")])
def test_REC_C3_sd_min_days_setting_56(sd_day: int, expected: str) -> None:
    assert course([(sd_day, "35")], sd_min_days=56).best.category == expected


@pytest.mark.parametrize(("sd_day", "expected"), [(46, "NE"), (47, "SD")])
def test_REC_C3_minimum_counted_from_randomisation(sd_day: int, expected: str) -> None:
    """Randomised 5 days after the baseline scan: day 46 from baseline is day 41 from randomisation."""
    a = course([(sd_day, "35")], subject={"randomization_date": day(5)})
    assert a.best.category == expected


def test_REC_C3_no_minimum_for_PR_or_CR() -> None:
    assert course([(20, "20")]).best.category == "PR"
    assert course([(20, "absent")]).best.category == "CR"


def test_REC_C3_PD_early_is_PD() -> None:
    assert course([(20, "60")]).best.category == "PD"


# -- REC-C3 for non-target-only disease (NON-CR/NON-PD) ----------------------------------------------


def nt_only(visits: list[tuple[int, Any]], **settings: Any) -> CaseAssessment:
    tps = [("BL", day(0))] + [(f"FU{i}", day(n)) for i, (n, _) in enumerate(visits, start=1)]
    obs: dict[tuple[str, str], Any] = {("N1", "BL"): "present"}
    for i, (_, value) in enumerate(visits, start=1):
        obs[("N1", f"FU{i}")] = value
    return assess_case(build(tps=tps, lesions={"N1": "non-target"}, obs=obs, settings=settings))


@pytest.mark.parametrize(("nn_day", "expected"), [(41, "NE"), (42, "NON-CR/NON-PD"), (43, "NON-CR/NON-PD")])
def test_REC_C3_nontarget_only_minimum_applies_to_non_CR_non_PD(nn_day: int, expected: str) -> None:
    a = nt_only([(nn_day, "present")])
    assert overall(a) == ["NON-CR/NON-PD"]
    assert a.best.category == expected


def test_REC_C3_nontarget_only_early_non_CR_non_PD_then_PD_is_PD() -> None:
    a = nt_only([(41, "present"), (84, "progressed")])
    assert a.best.category == "PD"


def test_END_ORR_3_nontarget_only_never_PR_or_SD() -> None:
    """Table 2: CR, NON-CR/NON-PD, PD or NE only; CR needs no minimum."""
    assert nt_only([(20, "absent")]).best.category == "CR"
    assert nt_only([(60, "present"), (120, "present")]).best.category == "NON-CR/NON-PD"
    assert nt_only([(60, "not-evaluable")]).best.category == "NE"


# -- REC-C5: CR followed by PR ---------------------------------------------------------------------
# RECIST 1.1: after a target CR (nadir 0) a 4 mm reappearance misses the 5 mm rule, so the
# timepoint is PR by the table (−90 % from baseline): a genuine "CR then PR" course.


def cr_then_pr(**settings: Any) -> CaseAssessment:
    return course([(56, "absent"), (112, "4")], criteria="RECIST1.1", **settings)


def test_REC_C5_course_is_CR_then_PR() -> None:
    assert overall(cr_then_pr()) == ["CR", "PR"]


@pytest.mark.parametrize("confirmation", [False, True])
def test_REC_C5_default_reclassifies_to_PR_and_flags(confirmation: bool) -> None:
    """Default reclassify_pr_and_flag: the CR was probably never real, BOR PR, review flag."""
    a = cr_then_pr(confirmation_required=confirmation)
    assert a.best.category == "PR"
    assert "REC-C5" in a.best.rules
    assert a.best.flags, "CR followed by PR needs a reviewer flag (GEN-8)"


def test_REC_C5_treat_as_pd_with_confirmation_minimum_met_is_SD() -> None:
    """Genuine CR: the later disease is recurrence → PD; CR on day 56 met the SD minimum → SD."""
    a = cr_then_pr(confirmation_required=True, cr_then_pr_policy="treat_as_pd")
    assert a.best.category == "SD"
    assert "REC-C5" in a.timepoints[-1].reasons


@pytest.mark.parametrize("confirmation", [False, True])
def test_REC_C5_treat_as_pd_still_raises_a_review_flag(confirmation: bool) -> None:
    a = cr_then_pr(confirmation_required=confirmation, cr_then_pr_policy="treat_as_pd")
    flags = (*a.best.flags, *a.flags, *a.timepoints[-1].flags, *a.timepoints[-1].overall.flags)  # type: ignore[union-attr]
    assert any("CR followed by PR" in f or "REC-C5" in f for f in flags)


def test_REC_C5_treat_as_pd_with_confirmation_minimum_not_met_is_PD() -> None:
    a = course(
        [(35, "absent"), (112, "4")],
        criteria="RECIST1.1",
        confirmation_required=True,
        cr_then_pr_policy="treat_as_pd",
    )
    assert a.best.category == "PD"


def test_REC_C5_treat_as_pd_marks_the_later_timepoint_PD() -> None:
    """ "If the CR was genuine, any disease seen afterwards means recurrence, so that timepoint is PD"."""
    a = cr_then_pr(cr_then_pr_policy="treat_as_pd")
    assert overall(a)[-1] == "PD"
    assert a.best.progression_date == date.fromisoformat(day(112))


def test_REC_C5_treat_as_pd_without_confirmation_keeps_the_CR() -> None:
    """No confirmation needed: the (genuine) CR on day 56 is the best response before the PD."""
    a = cr_then_pr(cr_then_pr_policy="treat_as_pd")
    assert a.best.category == "CR"


# -- REC-C2: assessments after PD, and after a new therapy -----------------------------------------


def test_REC_C2_assessments_after_PD_are_ignored() -> None:
    a = course([(56, "35"), (84, "60"), (140, "20"), (200, "absent")])
    assert a.best.category == "SD"
    assert a.best.progression_date == date.fromisoformat(day(84))


def test_REC_C2_PD_first_then_CR_is_PD() -> None:
    a = course([(56, "60"), (112, "absent")])
    assert a.best.category == "PD"


@pytest.mark.parametrize(("stop", "expected"), [(True, "SD"), (False, "PR")])
def test_REC_C2_bor_stop_at_new_therapy(stop: bool, expected: str) -> None:
    """A new systemic therapy on day 70: the PR on day 112 counts only when the protocol says so."""
    a = course(
        [(56, "35"), (112, "20")],
        procedures=[("CT2", "systemic-therapy", day(70), [])],
        bor_stop_at_new_therapy=stop,
    )
    assert a.best.category == expected


def test_REC_C2_bor_stop_at_new_therapy_is_on_by_default() -> None:
    from mrecist_tool.rules import Settings

    assert Settings().bor_stop_at_new_therapy is True
    a = course([(56, "35"), (112, "20")], procedures=[("CT2", "systemic-therapy", day(70), [])])
    assert a.best.category == "SD"


@pytest.mark.parametrize(("therapy_day", "expected"), [(111, "SD"), (112, "PR"), (113, "PR")])
def test_REC_C2_scan_on_the_day_new_therapy_starts_still_counts(therapy_day: int, expected: str) -> None:
    """REC-C2 [D]: a scan dated on the day the new therapy starts precedes the first dose."""
    a = course([(56, "35"), (112, "20")], procedures=[("CT2", "systemic-therapy", day(therapy_day), [])])
    assert a.best.category == expected


def test_REC_C2_new_therapy_before_baseline_does_not_stop_anything() -> None:
    a = course(
        [(56, "20")],
        procedures=[("CT0", "systemic-therapy", (BASE - timedelta(days=30)).isoformat(), [])],
        bor_stop_at_new_therapy=True,
    )
    assert a.best.category == "PR"


# -- REC-D1: duration of response ------------------------------------------------------------------


def test_REC_D1_duration_from_first_response_to_PD() -> None:
    """PR first met on day 56, PD (30 ≥ 1.2 × nadir 25) on day 140: 84 days."""
    a = course([(56, "25"), (84, "25"), (140, "30")])
    assert a.best.first_response_date == date.fromisoformat(day(56))
    assert a.best.progression_date == date.fromisoformat(day(140))
    assert a.best.duration_of_response_days == 84


def test_REC_D1_duration_from_first_date_even_when_confirmed_later() -> None:
    a = course([(56, "25"), (84, "25"), (140, "30")], **CONFIRM)
    assert a.best.category == "PR"
    assert a.best.first_response_date == date.fromisoformat(day(56))
    assert a.best.duration_of_response_days == 84


def test_REC_D1_no_duration_without_progression_or_response() -> None:
    a = course([(56, "25"), (84, "25")])
    assert a.best.progression_date is None
    assert a.best.duration_of_response_days is None
    b = course([(56, "35"), (84, "60")])
    assert b.best.first_response_date is None
    assert b.best.duration_of_response_days is None


def test_REC_D1_PD_reference_is_the_on_study_nadir() -> None:
    """Nadir 20 on day 84: 24 on day 140 is +20 % from the nadir (PD) though still −40 % from baseline."""
    a = course([(56, "25"), (84, "20"), (140, "24")])
    assert overall(a) == ["PR", "PR", "PD"]
    assert a.best.duration_of_response_days == 84


# -- further courses ----------------------------------------------------------------------------


def test_REC_C3_sd_too_early_then_NE_then_PD_is_PD() -> None:
    a = course([(41, "35"), (84, "not-evaluable"), (120, "60")])
    assert a.best.category == "PD"


def test_REC_C4_PR_then_NE_then_PD_minimum_met_is_SD() -> None:
    a = course([(56, "25"), (84, "not-evaluable"), (112, "30")], **CONFIRM)
    assert a.best.category == "SD"


@pytest.mark.parametrize(("allow", "expected", "confirmed"), [(True, "CR", True), (False, "SD", False)])
def test_REC_C6_CR_NE_CR(allow: bool, expected: str, confirmed: bool) -> None:
    a = course(
        [(56, "absent"), (70, "not-evaluable"), (98, "absent")], confirmation_required=True, allow_intervening_ne=allow
    )
    assert a.best.category == expected
    assert a.best.confirmed is confirmed


@pytest.mark.parametrize(("accept", "expected", "confirmed"), [(False, "SD", False), (True, "PR", True)])
def test_REC_C6_11_8_intervening_SD_breaks_confirmation_unless_accepted(
    accept: bool, expected: str, confirmed: bool
) -> None:
    """§11.8 / REC-C6: PR, SD, PR gives SD (minimum met) by default, as admiralonco's
    accept_sd = FALSE; confirm_accept_intervening_sd=True accepts the SD: confirmed PR."""
    a = course([(56, "25"), (70, "29"), (98, "25")], confirm_accept_intervening_sd=accept, **CONFIRM)
    assert overall(a) == ["PR", "SD", "PR"]
    assert a.best.category == expected
    assert a.best.confirmed is confirmed


def test_REC_C6_confirm_accept_intervening_sd_defaults_to_false() -> None:
    from mrecist_tool.rules import Settings

    assert Settings().confirm_accept_intervening_sd is False


def test_REC_C6_accepts_only_one_intervening_SD() -> None:
    """Two SDs between the PR and the next PR: not confirmed even when one SD is accepted."""
    a = course([(56, "25"), (70, "29"), (84, "29"), (112, "25")], confirm_accept_intervening_sd=True, **CONFIRM)
    assert overall(a) == ["PR", "SD", "SD", "PR"]
    assert a.best.category == "SD"


def test_REC_C6_accepted_SD_may_itself_be_28_days_later() -> None:
    """PR day 56, SD day 84 (28 days later), PR day 112: the SD is the one accepted SD."""
    a = course([(56, "25"), (84, "29"), (112, "25")], confirm_accept_intervening_sd=True, **CONFIRM)
    assert a.best.category == "PR" and a.best.confirmed is True
    b = course([(56, "25"), (84, "29"), (112, "25")], **CONFIRM)
    assert b.best.category == "SD"


def test_REC_C6_a_response_sooner_than_28_days_neither_confirms_nor_breaks() -> None:
    """PR day 56, PR day 70 (14 days: too soon), PR day 84 (28 days: confirms, inclusive)."""
    a = course([(56, "25"), (70, "25"), (84, "25")], **CONFIRM)
    assert a.best.category == "PR" and a.best.confirmed is True
    # One day short: day 83 is 27 days after day 56 (and 13 after day 70): nothing confirmed.
    b = course([(56, "25"), (70, "25"), (83, "25")], **CONFIRM)
    assert b.best.category == "SD" and b.best.confirmed is False


@pytest.mark.parametrize(
    ("visits", "expected", "confirmed"),
    [([(56, "absent")], "NON-CR/NON-PD", False), ([(56, "absent"), (90, "absent")], "CR", True)],
)
def test_REC_C1_nontarget_only_CR_needs_confirmation_when_required(
    visits: list[tuple[int, str]], expected: str, confirmed: bool
) -> None:
    a = nt_only(visits, confirmation_required=True)
    assert a.best.category == expected
    assert a.best.confirmed is confirmed


def test_REC_C5_mRECIST_CR_then_nontarget_reappears_is_CR_then_PR() -> None:
    """Table 1 / MR-O: target CR with a reappearing non-target is PR; after an overall CR that is
    REC-C5's "CR followed by PR" (default: reclassify and flag)."""
    case = build(
        tps=[("BL", day(0)), ("FU1", day(56)), ("FU2", day(112))],
        lesions={"L1": "target", "N1": "non-target"},
        obs={
            ("L1", "BL"): "40",
            ("N1", "BL"): "present",
            ("L1", "FU1"): "absent",
            ("N1", "FU1"): "absent",
            ("L1", "FU2"): "absent",
            ("N1", "FU2"): "present",
        },
    )
    a = assess_case(case)
    assert overall(a) == ["CR", "PR"]
    assert a.best.category == "PR"
    assert a.best.flags


def test_REC_D1_retro_dated_PD_shortens_the_duration() -> None:
    """An equivocal lung nodule on day 112 confirmed on day 168: PD dated day 112 (REC-N3)."""
    case = build(
        tps=[("BL", day(0)), ("FU1", day(56)), ("FU2", day(112)), ("FU3", day(168))],
        lesions={"L1": "target", "Y1": {"role": "new", "organ": "lung"}},
        obs={
            ("L1", "BL"): "40",
            ("L1", "FU1"): "20",
            ("L1", "FU2"): "20",
            ("Y1", "FU2"): {"size": "5", "equivocal": True},
            ("L1", "FU3"): "20",
            ("Y1", "FU3"): {"size": "9"},
        },
    )
    a = assess_case(case)
    assert a.best.category == "PR"
    assert a.best.progression_date == date.fromisoformat(day(112))
    assert a.best.duration_of_response_days == 56
