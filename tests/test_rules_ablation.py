"""Ablated tumours: technique efficacy, residual tumour, LTP, IDP, EHP (ABL-2..ABL-11, APP-3..APP-6),
written from response-rules.md §3.8 and §4 and the case format's "Ablated lesions" paragraph.

Course used unless told otherwise: baseline on day 0 (2021-01-04) with one liver target L1 of
20 mm; L1 ablated on day 7; follow-ups on days 40 (33 days after ablation, inside the default
technique-efficacy window 21–56), 130 and 220.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from casebuilder import build

from mrecist_tool.rules import AblatedLesionResult, CaseAssessment, assess_case

BASE = date(2021, 1, 4)
ABLATION_DAY = 7


def day(n: int) -> str:
    return (BASE + timedelta(days=n)).isoformat()


def dt(n: int) -> date:
    return BASE + timedelta(days=n)


def viable(size: str, gap: str = "0", **extra: Any) -> dict[str, Any]:
    """Viable tissue recorded on an ablated lesion (case format: measured + gap to the zone)."""
    return {"size": size, "gap_to_ablation_zone_mm": gap, **extra}


def focus(size: str, gap: str, near: str = "L1", **extra: Any) -> dict[str, Any]:
    """A focus recorded as a ``new`` lesion next to an ablated lesion."""
    return {"size": size, "near_lesion": near, "gap_to_ablation_zone_mm": gap, "enhancement": "typical", **extra}


def ablation_case(
    follow_up: dict[tuple[str, str], Any],
    *,
    fu_days: tuple[int, ...] = (40, 130, 220),
    lesions: dict[str, Any] | None = None,
    baseline: dict[tuple[str, str], Any] | None = None,
    procedures: list[tuple[str, str, str, list[str]]] | None = None,
    tp_extra: dict[str, dict[str, Any]] | None = None,
    **settings: Any,
) -> CaseAssessment:
    tps: list[Any] = [("BL", day(0))]
    for i, n in enumerate(fu_days, start=1):
        extra = (tp_extra or {}).get(f"FU{i}")
        tps.append((f"FU{i}", day(n), extra) if extra else (f"FU{i}", day(n)))
    all_lesions = {
        "L1": "target",
        "X1": {"role": "new", "organ": "liver"},
        "X2": {"role": "new", "organ": "liver"},
        "E1": {"role": "new", "organ": "lung"},
        **(lesions or {}),
    }
    obs = {("L1", "BL"): "20", **(baseline or {}), **follow_up}
    procs = procedures if procedures is not None else [("A1", "ablation", day(ABLATION_DAY), ["L1"])]
    case = build(tps=tps, lesions=all_lesions, obs=obs, procedures=procs, settings=settings)
    return assess_case(case)


def zone(a: CaseAssessment, lesion: str = "L1") -> AblatedLesionResult:
    for r in a.ablations:
        if r.lesion == lesion:
            return r
    raise AssertionError(f"no ablation result for {lesion}")


def states(a: CaseAssessment, lesion: str = "L1") -> list[str]:
    return [s.status for s in zone(a, lesion).states]


def local_status(a: CaseAssessment, lesion: str, tp: str) -> str:
    for row in a.lesions:
        if row.lesion == lesion and row.timepoint == tp:
            return row.local_status
    raise AssertionError((lesion, tp))


def all_flags(a: CaseAssessment, lesion: str = "L1") -> str:
    z = zone(a, lesion)
    return " | ".join([*z.flags, *(f for s in z.states for f in s.flags)])


# -- ABL-2/ABL-3/ABL-11: complete ablation at the first follow-up ----------------------------------


def test_ABL_3_complete_at_first_follow_up_is_primary_technique_efficacy() -> None:
    a = ablation_case({("L1", "FU1"): "absent", ("L1", "FU2"): "absent"}, fu_days=(40, 130))
    z = zone(a)
    assert states(a) == ["complete", "complete"]
    assert z.technique_efficacy == "primary-success"
    assert z.first_complete_date == dt(40)
    assert z.residual_date is None and z.ltp_date is None
    assert z.ablation_dates == (dt(ABLATION_DAY),)
    assert "ABL-3" in z.rules
    assert a.events.never_disease_free is False
    assert a.events.first_recurrence_date is None


def test_ABL_11_local_status_column_empty_before_ablation() -> None:
    a = ablation_case({("L1", "FU1"): "absent"}, fu_days=(40,))
    assert local_status(a, "L1", "BL") == ""
    assert local_status(a, "L1", "FU1") == "complete"


def test_MR_V4_APP_3_completely_ablated_target_counts_zero() -> None:
    """The ablation zone is not tumour: a completely ablated target is 0 mm → target CR."""
    a = ablation_case({("L1", "FU1"): "absent"}, fu_days=(40,))
    r = a.timepoint("FU1")
    assert r.target_sum_mm == 0
    assert r.target is not None and r.target.category == "CR"


# -- ABL-4: residual unablated tumour at the first follow-up --------------------------------------


def test_ABL_4_viable_tissue_at_first_follow_up_is_residual_not_LTP() -> None:
    a = ablation_case({("L1", "FU1"): viable("8"), ("L1", "FU2"): viable("9")}, fu_days=(40, 130))
    z = zone(a)
    assert states(a) == ["residual", "residual"]
    assert z.technique_efficacy == "primary-failure"
    assert z.residual_date == dt(40)
    assert z.ltp_date is None and z.ltp_timepoint is None
    assert a.events.first_ltp_date is None
    assert local_status(a, "L1", "FU1") == "residual"
    assert "ABL-4" in zone(a).states[0].rules


def test_ABL_4_residual_viable_diameter_enters_the_target_sum() -> None:
    """APP-3: residual tumour is viable tissue of that target (MR-V1): 20 → 8 mm is PR."""
    a = ablation_case({("L1", "FU1"): viable("8")}, fu_days=(40,))
    r = a.timepoint("FU1")
    assert r.target_sum_mm == 8
    assert r.overall is not None and r.overall.category == "PR"


def test_END_DFS_4_residual_never_retreated_is_never_disease_free() -> None:
    a = ablation_case({("L1", "FU1"): viable("8"), ("L1", "FU2"): viable("8")}, fu_days=(40, 130))
    assert a.events.never_disease_free is True


def test_ABL_4_APP_6_too_small_residual_is_still_residual() -> None:
    """Viable tissue too small to measure is still viable (MR-V5), unlike a benign rim (absent)."""
    a = ablation_case({("L1", "FU1"): {"status": "too-small", "gap_to_ablation_zone_mm": "0"}}, fu_days=(40,))
    assert states(a) == ["residual"]
    b = ablation_case({("L1", "FU1"): {"status": "absent", "note": "thin smooth periablational rim"}}, fu_days=(40,))
    assert states(b) == ["complete"]


# -- ABL-5: LTP after a clean follow-up --------------------------------------------------------


def test_ABL_5_viable_tissue_after_a_clean_follow_up_is_LTP() -> None:
    a = ablation_case({("L1", "FU1"): "absent", ("L1", "FU2"): viable("8")}, fu_days=(40, 130))
    z = zone(a)
    assert states(a) == ["complete", "ltp"]
    assert z.technique_efficacy == "primary-success"
    assert z.ltp_date == dt(130) and z.ltp_timepoint == "FU2"
    assert "ABL-5" in z.states[1].rules
    assert local_status(a, "L1", "FU2") == "ltp"
    assert a.events.first_ltp_date == dt(130)
    assert a.events.first_recurrence_date == dt(130)
    assert "LTP" in a.events.first_recurrence_kinds
    assert "LTP" in a.timepoint("FU2").progression
    assert a.events.never_disease_free is False


def test_ABL_5_LTP_of_a_target_after_target_CR_is_overall_PD() -> None:
    """Nadir 0 after complete ablation: any viable tissue is target PD (MR-T7 literal)."""
    a = ablation_case({("L1", "FU1"): "absent", ("L1", "FU2"): viable("8")}, fu_days=(40, 130))
    r = a.timepoint("FU2")
    assert r.overall is not None and r.overall.category == "PD"
    assert a.events.first_progression_date == dt(130)


def test_ABL_5_LTP_later_clean_study_does_not_undo_it() -> None:
    a = ablation_case({("L1", "FU1"): "absent", ("L1", "FU2"): viable("8"), ("L1", "FU3"): "absent"})
    assert zone(a).ltp_date == dt(130)
    assert a.events.first_ltp_date == dt(130)


# -- ABL-8: first follow-up rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_after", "flagged"),
    [(20, True), (21, False), (56, False), (57, True), (200, True)],
    ids=["before-window", "window-start", "window-end", "after-window", "very-late"],
)
def test_ABL_8_residual_at_first_follow_up_however_late_with_timing_flag(days_after: int, flagged: bool) -> None:
    """Viable tissue on the first follow-up is residual however late; outside [21, 56] it is flagged."""
    a = ablation_case({("L1", "FU1"): viable("8")}, fu_days=(ABLATION_DAY + days_after,))
    assert states(a) == ["residual"]
    assert zone(a).ltp_date is None
    assert ("timing" in all_flags(a).lower()) is flagged


def test_ABL_8_window_setting() -> None:
    a = ablation_case(
        {("L1", "FU1"): viable("8")}, fu_days=(ABLATION_DAY + 60,), technique_efficacy_window_days=[28, 90]
    )
    assert "timing" not in all_flags(a).lower()


@pytest.mark.parametrize(
    ("fu1_obs", "fu1_extra"),
    [("not-evaluable", None), (None, {"imaging": "not-done"})],
    ids=["zone-not-evaluable", "no-imaging"],
)
def test_ABL_8_first_follow_up_not_adequate_then_viable_is_residual(
    fu1_obs: str | None, fu1_extra: dict[str, Any] | None
) -> None:
    """No earlier study showed complete ablation, so the first viable tissue is residual, not LTP."""
    follow_up: dict[tuple[str, str], Any] = {("L1", "FU2"): viable("8")}
    if fu1_obs is not None:
        follow_up[("L1", "FU1")] = fu1_obs
    a = ablation_case(follow_up, fu_days=(40, 130), tp_extra={"FU1": fu1_extra} if fu1_extra else None)
    z = zone(a)
    assert states(a)[-1] == "residual"
    assert "complete" not in states(a)
    assert z.residual_date == dt(130)
    assert z.ltp_date is None
    assert a.events.first_ltp_date is None
    assert "ABL-8" in " ".join(r for s in z.states for r in s.rules) or "ABL-8" in z.rules


def test_ABL_8_first_follow_up_without_viability_phase_is_not_adequate() -> None:
    """A study without the viability phase (MR-O2) cannot show complete ablation."""
    a = ablation_case(
        {("L1", "FU1"): "absent", ("L1", "FU2"): viable("8")},
        fu_days=(40, 130),
        tp_extra={"FU1": {"series": ["non-contrast"]}},
    )
    assert states(a)[-1] == "residual"
    assert zone(a).ltp_date is None


# -- ABL-6: LTP versus intrahepatic distant progression ----------------------------------------------


@pytest.mark.parametrize(
    ("gap", "kind"),
    [("9.9", "LTP"), ("10", "LTP"), ("10.0", "LTP"), ("10.1", "IDP")],
    ids=["9.9", "10", "10.0", "10.1"],
)
def test_ABL_6_ltp_max_distance_10mm_inclusive(gap: str, kind: str) -> None:
    a = ablation_case(
        {("L1", "FU1"): "absent", ("L1", "FU2"): "absent", ("X1", "FU2"): focus("15", gap)}, fu_days=(40, 130)
    )
    z = zone(a)
    r = a.timepoint("FU2")
    assert kind in r.progression
    assert r.overall is not None and r.overall.category == "PD"
    if kind == "LTP":
        assert states(a) == ["complete", "ltp"]
        assert z.ltp_date == dt(130)
        assert a.events.first_ltp_date == dt(130)
        assert a.events.first_idp_date is None
        assert r.new_lesions.category == "no", "a focus within the distance is LTP, not a new lesion"
        assert "IDP" not in r.progression
    else:
        assert states(a) == ["complete", "complete"], "ABL-11: the tumour stays COMPLETE on IDP"
        assert z.ltp_date is None
        assert a.events.first_idp_date == dt(130)
        assert a.events.first_ltp_date is None
        assert r.new_lesions.category == "yes"
        assert "LTP" not in r.progression
    assert a.events.first_recurrence_date == dt(130)
    assert a.events.first_recurrence_kinds == (kind,)


@pytest.mark.parametrize(("gap", "kind"), [("0", "LTP"), ("0.1", "IDP"), ("3", "IDP")])
def test_ABL_6_setting_zero_means_contiguous_only(gap: str, kind: str) -> None:
    a = ablation_case(
        {("L1", "FU1"): "absent", ("L1", "FU2"): "absent", ("X1", "FU2"): focus("15", gap)},
        fu_days=(40, 130),
        ltp_max_distance_mm=0,
    )
    assert kind in a.timepoint("FU2").progression
    assert (a.events.first_ltp_date == dt(130)) is (kind == "LTP")
    assert (a.events.first_idp_date == dt(130)) is (kind == "IDP")


@pytest.mark.parametrize(("gap", "kind"), [("5", "LTP"), ("5.01", "IDP")])
def test_ABL_6_setting_5mm(gap: str, kind: str) -> None:
    a = ablation_case(
        {("L1", "FU1"): "absent", ("X1", "FU2"): focus("15", gap)}, fu_days=(40, 130), ltp_max_distance_mm=Decimal("5")
    )
    assert kind in a.timepoint("FU2").progression


def test_ABL_6_gap_recorded_on_the_ablated_lesion_itself_beyond_distance_is_not_LTP() -> None:
    """Viable tissue recorded on L1 with a gap beyond the distance is separate from the zone."""
    a = ablation_case({("L1", "FU1"): "absent", ("L1", "FU2"): viable("8", gap="10")}, fu_days=(40, 130))
    assert states(a) == ["complete", "ltp"]


def test_ABL_6_APP_5_distant_focus_is_judged_as_a_new_lesion() -> None:
    """APP-5: beyond the distance, a small focus is a candidate new lesion (MR-SP4: < 10 mm is equivocal)."""
    a = ablation_case(
        {("L1", "FU1"): "absent", ("L1", "FU2"): "absent", ("X1", "FU2"): focus("8", "20")}, fu_days=(40, 130)
    )
    r = a.timepoint("FU2")
    assert r.new_lesions.category == "equivocal"
    assert r.overall is not None and r.overall.category != "PD"
    assert zone(a).ltp_date is None


def test_ABL_6_LTP_focus_does_not_need_the_new_lesion_size_floor() -> None:
    """Within the distance the focus is viable tissue of L1, not a candidate new lesion: 6 mm is LTP."""
    a = ablation_case({("L1", "FU1"): "absent", ("X1", "FU2"): focus("6", "2")}, fu_days=(40, 130))
    assert zone(a).ltp_date == dt(130)
    assert a.timepoint("FU2").overall.category == "PD"  # type: ignore[union-attr]


# -- ABL-7: extrahepatic progression -----------------------------------------------------------------


def test_ABL_7_extrahepatic_new_lesion_is_EHP() -> None:
    a = ablation_case(
        {("L1", "FU1"): "absent", ("L1", "FU2"): "absent", ("E1", "FU2"): {"size": "12"}}, fu_days=(40, 130)
    )
    r = a.timepoint("FU2")
    assert "EHP" in r.progression
    assert r.overall is not None and r.overall.category == "PD"
    assert a.events.first_ehp_date == dt(130)
    assert a.events.first_ltp_date is None and a.events.first_idp_date is None
    assert a.events.first_recurrence_date == dt(130)
    assert a.events.first_recurrence_kinds == ("EHP",)
    assert states(a) == ["complete", "complete"]


def test_ABL_7_location_field_overrides_organ() -> None:
    a = ablation_case(
        {("L1", "FU1"): "absent", ("P1", "FU2"): {"size": "12"}},
        fu_days=(40, 130),
        lesions={"P1": {"role": "new", "organ": "peritoneum", "location": "extrahepatic"}},
    )
    assert a.events.first_ehp_date == dt(130)


def test_END_DFS_first_recurrence_is_the_earliest_kind() -> None:
    """EHP on day 130, LTP on day 220: DFS recurrence on day 130 (§6.0), LTP date kept separately."""
    a = ablation_case(
        {
            ("L1", "FU1"): "absent",
            ("L1", "FU2"): "absent",
            ("E1", "FU2"): {"size": "12"},
            ("L1", "FU3"): viable("9"),
            ("E1", "FU3"): {"size": "14"},
        }
    )
    ev = a.events
    assert ev.first_recurrence_date == dt(130)
    assert ev.first_recurrence_kinds == ("EHP",)
    assert ev.first_ehp_date == dt(130)
    assert ev.first_ltp_date == dt(220)
    assert zone(a).ltp_date == dt(220)


# -- ABL-10: re-ablation and assisted technique efficacy ------------------------------------------------


def test_ABL_10_re_ablation_of_residual_is_assisted_technique_efficacy() -> None:
    a = ablation_case(
        {("L1", "FU1"): viable("8"), ("L1", "FU2"): "absent"},
        fu_days=(40, 130),
        procedures=[("A1", "ablation", day(ABLATION_DAY), ["L1"]), ("A2", "ablation", day(50), ["L1"])],
    )
    z = zone(a)
    assert states(a) == ["residual", "complete"]
    assert z.technique_efficacy == "assisted-success"
    assert z.ablation_dates == (dt(ABLATION_DAY), dt(50))
    assert z.residual_date == dt(40)
    assert z.first_complete_date == dt(130)
    assert z.ltp_origin_date == dt(50), "END-LTP-2: the risk set starts at the re-ablation"
    assert a.events.never_disease_free is False


def test_ABL_10_LTP_after_assisted_complete_ablation() -> None:
    a = ablation_case(
        {("L1", "FU1"): viable("8"), ("L1", "FU2"): "absent", ("L1", "FU3"): viable("7")},
        procedures=[("A1", "ablation", day(ABLATION_DAY), ["L1"]), ("A2", "ablation", day(50), ["L1"])],
    )
    assert states(a) == ["residual", "complete", "ltp"]
    assert zone(a).ltp_date == dt(220)
    assert a.events.first_ltp_date == dt(220)


def test_ABL_10_failed_re_ablation_stays_residual_and_never_disease_free() -> None:
    a = ablation_case(
        {("L1", "FU1"): viable("8"), ("L1", "FU2"): viable("6")},
        fu_days=(40, 130),
        procedures=[("A1", "ablation", day(ABLATION_DAY), ["L1"]), ("A2", "ablation", day(50), ["L1"])],
    )
    z = zone(a)
    assert states(a) == ["residual", "residual"]
    assert z.technique_efficacy != "assisted-success"
    assert z.ltp_date is None
    assert a.events.never_disease_free is True


def test_END_LTP_2_primary_risk_set_origin_is_the_first_ablation() -> None:
    a = ablation_case({("L1", "FU1"): "absent"}, fu_days=(40,))
    assert zone(a).ltp_origin_date == dt(ABLATION_DAY)
    b = ablation_case({("L1", "FU1"): viable("8")}, fu_days=(40,))
    assert zone(b).ltp_origin_date is None, "never completely ablated: not in the LTP risk set"


# -- ABL-9: equivocal focus confirmed later -----------------------------------------------------------


def equivocal_then_confirmed(**settings: Any) -> CaseAssessment:
    return ablation_case(
        {
            ("L1", "FU1"): "absent",
            ("L1", "FU2"): "absent",
            ("X1", "FU2"): focus("6", "3", equivocal=True),
            ("L1", "FU3"): "absent",
            ("X1", "FU3"): focus("12", "3"),
        },
        **settings,
    )


def test_ABL_9_equivocal_focus_confirmed_later_dates_LTP_back() -> None:
    a = equivocal_then_confirmed()
    z = zone(a)
    assert z.ltp_date == dt(130) and z.ltp_timepoint == "FU2"
    assert a.events.first_ltp_date == dt(130)
    assert a.events.first_recurrence_date == dt(130)
    assert "ABL-9" in " ".join([*z.rules, *(r for s in z.states for r in s.rules)])


def test_ABL_9_retro_dating_setting_off_dates_LTP_at_confirmation() -> None:
    """ABL-9 dates back "as in REC-N3 and MR-SP5", whose parameter is retro_date_equivocal_new_lesions."""
    a = equivocal_then_confirmed(retro_date_equivocal_new_lesions=False)
    assert zone(a).ltp_date == dt(220)
    assert a.events.first_ltp_date == dt(220)


def test_ABL_9_equivocal_focus_never_confirmed_is_not_LTP() -> None:
    a = ablation_case(
        {
            ("L1", "FU1"): "absent",
            ("L1", "FU2"): "absent",
            ("X1", "FU2"): focus("6", "3", equivocal=True),
            ("L1", "FU3"): "absent",
            ("X1", "FU3"): "absent",
        }
    )
    assert zone(a).ltp_date is None
    assert a.events.first_ltp_date is None
    assert a.timepoint("FU2").overall.category != "PD"  # type: ignore[union-attr]


# -- APP-4: LTP at the ablation zone of a non-target --------------------------------------------------

NT_LESIONS = {"L1": "target", "N1": "non-target"}
NT_BASE = {("L1", "BL"): "30", ("N1", "BL"): "present"}
NT_ABLATION = [("A1", "ablation", day(ABLATION_DAY), ["N1"])]


def test_APP_4_LTP_at_ablated_nontarget_is_IR_SD_not_PD() -> None:
    a = ablation_case(
        {("L1", "FU1"): "30", ("N1", "FU1"): "absent", ("L1", "FU2"): "30", ("N1", "FU2"): viable("6")},
        fu_days=(40, 130),
        lesions=NT_LESIONS,
        baseline=NT_BASE,
        procedures=NT_ABLATION,
    )
    assert states(a, "N1") == ["complete", "ltp"]
    r = a.timepoint("FU2")
    assert r.nontarget is not None and r.nontarget.category == "IR/SD"
    assert r.overall is not None and r.overall.category == "SD"
    assert a.events.first_ltp_date == dt(130)


def test_APP_4_LTP_focus_near_ablated_nontarget_is_not_a_new_lesion() -> None:
    a = ablation_case(
        {
            ("L1", "FU1"): "30",
            ("N1", "FU1"): "absent",
            ("L1", "FU2"): "30",
            ("N1", "FU2"): "absent",
            ("X1", "FU2"): focus("12", "4", near="N1"),
        },
        fu_days=(40, 130),
        lesions=NT_LESIONS,
        baseline=NT_BASE,
        procedures=NT_ABLATION,
    )
    r = a.timepoint("FU2")
    assert states(a, "N1")[-1] == "ltp"
    assert r.new_lesions.category == "no"
    assert r.nontarget is not None and r.nontarget.category == "IR/SD"
    assert r.overall is not None and r.overall.category == "SD"
    assert "APP-4" in r.reasons


def test_APP_4_radiologist_flagged_progression_is_PD() -> None:
    a = ablation_case(
        {("L1", "FU1"): "30", ("N1", "FU1"): "absent", ("L1", "FU2"): "30", ("N1", "FU2"): "progressed"},
        fu_days=(40, 130),
        lesions=NT_LESIONS,
        baseline=NT_BASE,
        procedures=NT_ABLATION,
    )
    r = a.timepoint("FU2")
    assert r.nontarget is not None and r.nontarget.category == "PD"
    assert r.overall is not None and r.overall.category == "PD"


def confirmed_cr_then_nontarget_ltp(form: str) -> CaseAssessment:
    """Target L1 (not ablated) and ablated non-target N1 both gone at FU1 and FU2 (≥ 28 days apart):
    a confirmed overall CR; then viable tissue at N1's zone on FU3."""
    follow_up: dict[tuple[str, str], Any] = {
        ("L1", "FU1"): "absent",
        ("N1", "FU1"): "absent",
        ("L1", "FU2"): "absent",
        ("N1", "FU2"): "absent",
        ("L1", "FU3"): "absent",
    }
    if form == "on-lesion":
        follow_up[("N1", "FU3")] = viable("6")
    else:
        follow_up[("N1", "FU3")] = "absent"
        follow_up[("X1", "FU3")] = focus("6", "2", near="N1")
    return ablation_case(
        follow_up, lesions=NT_LESIONS, baseline=NT_BASE, procedures=NT_ABLATION, confirmation_required=True
    )


def test_APP_4_REC_N5_LTP_after_confirmed_overall_CR_is_PD_focus_form() -> None:
    a = confirmed_cr_then_nontarget_ltp("focus")
    assert [r.overall.category for r in a.timepoints[1:]] == ["CR", "CR", "PD"]  # type: ignore[union-attr]
    assert a.timepoint("FU3").nontarget.category == "PD"  # type: ignore[union-attr]
    assert "REC-N5" in a.timepoint("FU3").reasons


def test_APP_4_REC_N5_LTP_after_confirmed_overall_CR_is_PD_on_lesion_form() -> None:
    a = confirmed_cr_then_nontarget_ltp("on-lesion")
    assert states(a, "N1")[-1] == "ltp"
    assert [r.overall.category for r in a.timepoints[1:]] == ["CR", "CR", "PD"]  # type: ignore[union-attr]


def test_APP_4_rule_reported_for_tissue_recorded_on_the_nontarget() -> None:
    a = ablation_case(
        {("L1", "FU1"): "30", ("N1", "FU1"): "absent", ("L1", "FU2"): "30", ("N1", "FU2"): viable("6")},
        fu_days=(40, 130),
        lesions=NT_LESIONS,
        baseline=NT_BASE,
        procedures=NT_ABLATION,
    )
    assert "APP-4" in a.timepoint("FU2").reasons


# -- MR-V3 / APP-3: a focus counted in the target sum --------------------------------------------------

TWO_TARGETS = {"L1": "target", "L2": "target"}
TWO_BASE = {("L1", "BL"): "20", ("L2", "BL"): "30"}


@pytest.mark.parametrize(("rule", "l1_mm", "total"), [("largest", 12, 42), ("sum", 20, 50)])
def test_MR_V3_APP_3_focus_and_own_tissue_combined_by_fragment_rule(rule: str, l1_mm: int, total: int) -> None:
    """L1 has 8 mm of its own viable tissue and a 12 mm focus 4 mm from its zone (within 10 mm)."""
    a = ablation_case(
        {
            ("L1", "FU1"): "absent",
            ("L2", "FU1"): "30",
            ("L1", "FU2"): viable("8"),
            ("L2", "FU2"): "30",
            ("X1", "FU2"): focus("12", "4"),
        },
        fu_days=(40, 130),
        lesions=TWO_TARGETS,
        baseline=TWO_BASE,
        viable_fragment_rule=rule,
    )
    r = a.timepoint("FU2")
    assert r.target_sum_mm == total
    row = next(x for x in a.lesions if x.lesion == "L1" and x.timepoint == "FU2")
    assert row.measure_mm == l1_mm
    assert "MR-V3" in r.reasons or "APP-3" in r.reasons


@pytest.mark.parametrize("rule", ["largest", "sum"])
def test_APP_3_focus_alone_counts_as_the_target(rule: str) -> None:
    a = ablation_case(
        {("L1", "FU1"): "absent", ("L2", "FU1"): "30", ("L2", "FU2"): "30", ("X1", "FU2"): focus("12", "4")},
        fu_days=(40, 130),
        lesions=TWO_TARGETS,
        baseline=TWO_BASE,
        viable_fragment_rule=rule,
    )
    assert a.timepoint("FU2").target_sum_mm == 42


def test_APP_3_focus_beyond_distance_is_not_in_the_target_sum() -> None:
    a = ablation_case(
        {
            ("L1", "FU1"): "absent",
            ("L2", "FU1"): "30",
            ("L1", "FU2"): "absent",
            ("L2", "FU2"): "30",
            ("X1", "FU2"): focus("12", "10.1"),
        },
        fu_days=(40, 130),
        lesions=TWO_TARGETS,
        baseline=TWO_BASE,
    )
    assert a.timepoint("FU2").target_sum_mm == 30


@pytest.mark.parametrize(("rule", "total"), [("largest", 8), ("sum", 14)])
def test_MR_V3_residual_fragments_at_first_follow_up(rule: str, total: int) -> None:
    a = ablation_case(
        {("L1", "FU1"): viable("8"), ("X1", "FU1"): focus("6", "2")}, fu_days=(40,), viable_fragment_rule=rule
    )
    assert states(a) == ["residual"]
    assert a.timepoint("FU1").target_sum_mm == total
    assert a.timepoint("FU1").new_lesions.category == "no"


# -- ABL-11 step 5: resection ends follow-up of the zone ------------------------------------------------


def test_ABL_11_resection_ends_follow_up_of_the_zone() -> None:
    a = ablation_case(
        {("L1", "FU1"): "absent", ("L1", "FU2"): viable("8")},
        fu_days=(40, 130),
        procedures=[("A1", "ablation", day(ABLATION_DAY), ["L1"]), ("R1", "resection", day(100), ["L1"])],
    )
    z = zone(a)
    assert z.resected_date == dt(100)
    assert z.ltp_date is None
    assert "ltp" not in states(a)
    assert a.events.first_ltp_date is None
    assert z.last_adequate_imaging_date is not None and z.last_adequate_imaging_date <= dt(100)


def test_ABL_11_last_adequate_imaging_is_the_censoring_date() -> None:
    a = ablation_case({("L1", "FU1"): "absent", ("L1", "FU2"): "absent", ("L1", "FU3"): "not-evaluable"})
    assert zone(a).last_adequate_imaging_date == dt(130)


# -- further courses ----------------------------------------------------------------------------


def test_ABL_11_no_local_state_before_the_ablation_date() -> None:
    """Ablated on day 100: the day-56 study is before the ablation, so it has no local status."""
    a = ablation_case(
        {("L1", "FU1"): "20", ("L1", "FU2"): "absent"},
        fu_days=(56, 130),
        procedures=[("A1", "ablation", day(100), ["L1"])],
    )
    assert local_status(a, "L1", "FU1") == ""
    assert states(a) == ["complete"]


def test_ABL_6_distant_focus_on_the_first_follow_up_is_IDP_not_residual() -> None:
    a = ablation_case({("L1", "FU1"): "absent", ("X1", "FU1"): focus("15", "20")}, fu_days=(40,))
    assert states(a) == ["complete"]
    assert a.events.first_idp_date == dt(40)
    assert "IDP" in a.timepoint("FU1").progression


def test_ABL_8_LTP_needs_an_earlier_adequate_clean_study_not_necessarily_the_first() -> None:
    """FU1 could not assess the zone, FU2 shows complete ablation, FU3 viable tissue: LTP."""
    a = ablation_case({("L1", "FU1"): "not-evaluable", ("L1", "FU2"): "absent", ("L1", "FU3"): viable("8")})
    assert states(a) == ["not-evaluable", "complete", "ltp"]
    assert zone(a).ltp_date == dt(220)


def test_ABL_9_equivocal_focus_on_the_first_follow_up_confirmed_later_is_residual() -> None:
    """The focus was first shown on the first follow-up (dated there, ABL-9): residual, not LTP (ABL-8)."""
    a = ablation_case(
        {
            ("L1", "FU1"): "absent",
            ("X1", "FU1"): focus("6", "2", equivocal=True),
            ("L1", "FU2"): "absent",
            ("X1", "FU2"): focus("12", "2"),
        },
        fu_days=(40, 130),
    )
    z = zone(a)
    assert z.residual_date == dt(40)
    assert z.ltp_date is None
    assert z.technique_efficacy == "primary-failure"
    assert a.events.never_disease_free is True


def test_ABL_9_MR_SP5_distant_focus_meeting_criteria_later_dates_IDP_back() -> None:
    """A typical 8 mm focus 30 mm away (equivocal under MR-SP4) is 12 mm on FU3: IDP dated FU2."""
    a = ablation_case(
        {
            ("L1", "FU1"): "absent",
            ("L1", "FU2"): "absent",
            ("X1", "FU2"): focus("8", "30"),
            ("L1", "FU3"): "absent",
            ("X1", "FU3"): focus("12", "30"),
        }
    )
    assert a.events.first_idp_date == dt(130)
    assert a.events.first_recurrence_date == dt(130)


def test_APP_3_LTP_of_one_target_without_overall_PD() -> None:
    """L1 (20 mm, ablated) and L2 (40 mm, chemotherapy).  FU1: L1 gone, L2 40 → sum 40 (−33 %, PR).
    FU2: 5 mm LTP at L1, L2 30 → sum 35, below the nadir 40: still PR.  LTP is a local event and the
    first DFS recurrence (§6.0), but not overall progression."""
    a = ablation_case(
        {("L1", "FU1"): "absent", ("L2", "FU1"): "40", ("L1", "FU2"): viable("5"), ("L2", "FU2"): "30"},
        fu_days=(40, 130),
        lesions={"L2": "target"},
        baseline={("L2", "BL"): "40"},
    )
    assert [r.overall.category for r in a.timepoints[1:]] == ["PR", "PR"]  # type: ignore[union-attr]
    assert a.timepoint("FU2").target_sum_mm == 35
    assert a.events.first_ltp_date == dt(130)
    assert a.events.first_recurrence_date == dt(130)
    assert a.events.first_progression_date is None


def test_ABL_11_two_tumours_ablated_in_one_session_are_followed_separately() -> None:
    a = ablation_case(
        {("L1", "FU1"): "absent", ("L2", "FU1"): "absent", ("L1", "FU2"): "absent", ("L2", "FU2"): viable("7")},
        fu_days=(40, 130),
        lesions={"L2": "target"},
        baseline={("L2", "BL"): "15"},
        procedures=[("A1", "ablation", day(ABLATION_DAY), ["L1", "L2"])],
    )
    assert states(a, "L1") == ["complete", "complete"]
    assert states(a, "L2") == ["complete", "ltp"]
    assert a.events.first_ltp_date == dt(130)


def test_ABL_3_no_follow_up_after_the_ablation_is_not_evaluable() -> None:
    """The only follow-up (day 3) precedes the ablation (day 7): technique efficacy cannot be judged."""
    a = ablation_case({("L1", "FU1"): "20"}, fu_days=(3,))
    z = zone(a)
    assert z.states == ()
    assert z.technique_efficacy == "not-evaluable"
    assert z.ltp_date is None and z.residual_date is None


@pytest.mark.parametrize(("clean_day", "setting", "expected"), [
    (3, 0, ["complete", "ltp"]),        # §11.11 by default: only the ablation-day study is not a follow-up
    (3, 2, ["complete", "ltp"]),        # one day beyond the setting: a follow-up
    (3, 3, ["complete", "residual"]),   # at the setting: technical-success imaging
    (3, 20, ["complete", "residual"]),
])
def test_ABL_2_a_clean_scan_within_technical_success_imaging_days_is_not_the_first_follow_up(
        clean_day: int, setting: int, expected: list[str]) -> None:
    """A clean scan 3 days after ablation, viable tissue at 40 days. By default (§11.11) the scan
    is the first follow-up: complete ablation shown (flagged outside the 21-56 day window, ABL-8),
    so the tissue is LTP (ABL-5). With ``technical_success_imaging_days`` >= 3 the scan is
    technical-success imaging (ABL-2), and the tissue at the first follow-up is residual (ABL-4)."""
    a = ablation_case({("L1", "FU1"): "absent", ("L1", "FU2"): viable("8")},
                      fu_days=(ABLATION_DAY + clean_day, 40), technical_success_imaging_days=setting)
    assert states(a) == expected
    z = zone(a)
    if expected[-1] == "residual":
        assert z.ltp_date is None and z.residual_date == dt(40)
        assert z.technique_efficacy == "primary-failure"
        assert z.states[0].rules == ("ABL-2",)
    else:
        assert z.ltp_date == dt(40) and z.residual_date is None
        assert z.technique_efficacy == "primary-success"
        assert any(f"first follow-up {clean_day} days after ablation, outside the 21-56 day window" in f
                   for f in z.flags)


def test_ABL_2_tissue_on_an_early_scan_is_residual_whatever_the_setting() -> None:
    """Technical-success imaging never hides tissue: viable tissue 3 days after the ablation is
    residual tumour (ABL-4, ABL-8) with the setting at 0 and at 20."""
    for setting in (0, 20):
        a = ablation_case({("L1", "FU1"): viable("8")}, fu_days=(ABLATION_DAY + 3,),
                          technical_success_imaging_days=setting)
        assert states(a) == ["residual"] and zone(a).technique_efficacy == "primary-failure"


@pytest.mark.parametrize(("days", "window", "refused"), [
    (20, [21, 56], False),   # the old reading: everything before the window's start
    (21, [21, 56], True),    # exactly at the window's start: a follow-up would be skipped
    (22, [21, 56], True),
    (21, [22, 56], False),
    (0, [0, 56], False),     # the default (§11.11, ablation day only) whatever the window
])
def test_ABL_2_technical_success_imaging_days_must_stay_before_the_efficacy_window(
        days: int, window: list[int], refused: bool) -> None:
    """ABL-2/ABL-3: an extension of technical-success imaging that reaches into the
    technique-efficacy window would skip the follow-up that shows complete ablation: the two
    settings together are refused, naming both, whichever layer set them."""
    from mrecist_tool.errors import SettingsConflictError
    from mrecist_tool.rules.criteria import resolve_settings

    values = {"technical_success_imaging_days": days, "technique_efficacy_window_days": window}
    for layers in ({"case_settings": values},
                   {"case_settings": {"technique_efficacy_window_days": window},
                    "cli_overrides": {"technical_success_imaging_days": days}}):
        if not refused:
            assert resolve_settings(**layers).technical_success_imaging_days == days
            continue
        with pytest.raises(SettingsConflictError) as err:
            resolve_settings(**layers)
        text = str(err.value)
        assert "technique_efficacy_window_days" in text and f"= {days}" in text
        assert f"at most {window[0] - 1}" in text
        assert text.startswith("--set: ") == ("cli_overrides" in layers)
