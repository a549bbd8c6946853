"""mRECIST special rules (MR-B4, MR-B5, MR-SP1..SP5, MR-T7, MR-O2, MR-V4, MR-V5), the CRLM
adaptations (APP-1, APP-2) and the named profiles, written from response-rules.md §3 and §7.

Course used unless told otherwise: baseline on day 0 (2021-01-04), follow-ups on days 56, 112
and 168; one liver target L1 of 40 mm kept at 35 mm (SD) so that only the rule under test can
make a timepoint PD.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from casebuilder import build

from mrecist_tool.model import Case
from mrecist_tool.rules import CaseAssessment, assess_case

BASE = date(2021, 1, 4)
FU_DAYS = (56, 112, 168)


def day(n: int) -> str:
    return (BASE + timedelta(days=n)).isoformat()


def dt(n: int) -> date:
    return BASE + timedelta(days=n)


def make(
    follow_up: dict[tuple[str, str], Any],
    *,
    lesions: dict[str, Any] | None = None,
    baseline: dict[tuple[str, str], Any] | None = None,
    n_fu: int = 1,
    criteria: str | None = "mRECIST",
    tp_extra: dict[str, dict[str, Any]] | None = None,
    stable_target: bool = True,
    **settings: Any,
) -> Case:
    tps: list[Any] = [("BL", day(0))]
    for i in range(1, n_fu + 1):
        extra = (tp_extra or {}).get(f"FU{i}")
        tps.append((f"FU{i}", day(FU_DAYS[i - 1]), extra) if extra else (f"FU{i}", day(FU_DAYS[i - 1])))
    all_lesions: dict[str, Any] = {"L1": "target", **(lesions or {})}
    obs: dict[tuple[str, str], Any] = {("L1", "BL"): {"size": "40"}}
    if stable_target:
        for i in range(1, n_fu + 1):
            obs[("L1", f"FU{i}")] = {"size": "35"}
    obs.update(baseline or {})
    obs.update(follow_up)
    # criteria None: the case names no criteria, so its profile decides.
    return build(tps=tps, lesions=all_lesions, obs=obs, criteria=criteria, settings=settings)  # type: ignore[arg-type]


def run(*args: Any, **kwargs: Any) -> CaseAssessment:
    return assess_case(make(*args, **kwargs))


def cats(a: CaseAssessment) -> list[str]:
    return [r.overall.category for r in a.timepoints[1:] if r.overall is not None]


def warning_rules(a: CaseAssessment) -> set[str]:
    return {w.rule for w in a.warnings}


# -- MR-B4 / MR-SP3: portal vein thrombosis ------------------------------------------------------

PVT = {"role": "non-target", "kind": "portal-vein-thrombus"}


def test_MR_B4_portal_vein_thrombus_as_target_is_warned() -> None:
    """PVT is non-measurable and always a non-target lesion."""
    case = make(
        {},
        lesions={"P1": {"role": "target", "kind": "portal-vein-thrombus"}},
        baseline={("P1", "BL"): {"size": "15"}},
        n_fu=0,
    )
    a = assess_case(case)
    assert "MR-B4" in warning_rules(a)


def test_MR_B4_portal_vein_thrombus_as_nontarget_is_not_warned() -> None:
    a = run({("P1", "FU1"): "present"}, lesions={"P1": PVT}, baseline={("P1", "BL"): "present"})
    assert "MR-B4" not in warning_rules(a)
    assert a.timepoint("FU1").nontarget.category == "IR/SD"  # type: ignore[union-attr]


def test_MR_SP3_unequivocal_growth_of_PVT_is_nontarget_PD() -> None:
    a = run({("P1", "FU1"): "progressed"}, lesions={"P1": PVT}, baseline={("P1", "BL"): "present"})
    r = a.timepoint("FU1")
    assert r.nontarget is not None and r.nontarget.category == "PD"
    assert r.overall is not None and r.overall.category == "PD"
    assert "MR-SP3" in r.reasons


# -- MR-B5 / MR-SP2: porta hepatis nodes ----------------------------------------------------------


@pytest.mark.parametrize(("sa", "warned"), [("19.9", True), ("20", False), ("20.1", False)])
def test_MR_B5_porta_hepatis_node_target_needs_short_axis_20(sa: str, warned: bool) -> None:
    case = make(
        {},
        lesions={"H1": {"role": "target", "kind": "porta-hepatis-node", "organ": "lymph node"}},
        baseline={("H1", "BL"): sa},
        n_fu=0,
    )
    assert ("MR-B5" in warning_rules(assess_case(case))) is warned


def test_MR_B5_other_nodes_follow_REC_M2() -> None:
    """A 19.9 mm node elsewhere is a measurable target (SA ≥ 15), so no MR-B5 warning."""
    case = make(
        {},
        lesions={"N1": {"role": "target", "kind": "node", "organ": "lymph node"}},
        baseline={("N1", "BL"): "19.9"},
        n_fu=0,
    )
    assert "MR-B5" not in warning_rules(assess_case(case))


def test_MR_B5_is_mRECIST_only() -> None:
    case = make(
        {},
        lesions={"H1": {"role": "target", "kind": "porta-hepatis-node", "organ": "lymph node"}},
        baseline={("H1", "BL"): "19.9"},
        n_fu=0,
        criteria="RECIST1.1",
    )
    assert "MR-B5" not in warning_rules(assess_case(case))


@pytest.mark.parametrize(("sa", "new"), [("19.9", False), ("20", True), ("20.1", True)])
def test_MR_SP2_new_porta_hepatis_node_counts_from_short_axis_20(sa: str, new: bool) -> None:
    a = run({("H1", "FU1"): sa}, lesions={"H1": {"role": "new", "kind": "porta-hepatis-node", "organ": "lymph node"}})
    r = a.timepoint("FU1")
    assert (r.new_lesions.category == "yes") is new
    assert (r.overall.category == "PD") is new  # type: ignore[union-attr]


# -- MR-SP1: effusions and cytology ----------------------------------------------------------------

NEW_EFFUSION = {"E1": {"role": "new", "kind": "effusion", "organ": "pleura"}}


@pytest.mark.parametrize(
    ("cytology", "pd"), [("positive", True), ("negative", False), ("not-done", False), (None, False)]
)
def test_MR_SP1_new_effusion_is_PD_only_with_positive_cytology(cytology: str | None, pd: bool) -> None:
    obs: dict[str, Any] = {"status": "present"}
    if cytology is not None:
        obs["cytology"] = cytology
    a = run({("E1", "FU1"): obs}, lesions=NEW_EFFUSION)
    r = a.timepoint("FU1")
    assert (r.overall.category == "PD") is pd  # type: ignore[union-attr]
    if not pd:
        assert r.overall.category == "SD"  # type: ignore[union-attr]
    assert "MR-SP1" in r.reasons


@pytest.mark.parametrize("cytology", ["negative", "not-done"])
def test_MR_SP1_setting_off_makes_a_new_effusion_PD(cytology: str) -> None:
    a = run(
        {("E1", "FU1"): {"status": "present", "cytology": cytology}},
        lesions=NEW_EFFUSION,
        effusion_requires_cytology=False,
    )
    assert cats(a) == ["PD"]


def test_MR_SP1_not_applied_under_RECIST() -> None:
    """§7: effusion_requires_cytology defaults to False under RECIST 1.1."""
    a = run({("E1", "FU1"): {"status": "present", "cytology": "negative"}}, lesions=NEW_EFFUSION, criteria="RECIST1.1")
    assert cats(a) == ["PD"]


@pytest.mark.parametrize(("cytology", "category"), [("positive", "PD"), ("negative", "IR/SD"), ("not-done", "IR/SD")])
def test_MR_SP1_worsening_nontarget_effusion(cytology: str, category: str) -> None:
    a = run(
        {("E1", "FU1"): {"status": "progressed", "cytology": cytology}},
        lesions={"E1": {"role": "non-target", "kind": "effusion", "organ": "peritoneum"}},
        baseline={("E1", "BL"): "present"},
    )
    r = a.timepoint("FU1")
    assert r.nontarget is not None and r.nontarget.category == category


# -- MR-SP4 / APP-2: new intrahepatic lesions ----------------------------------------------------------

NEW_LIVER = {"X1": {"role": "new", "organ": "liver"}}
NEW_LUNG = {"Y1": {"role": "new", "organ": "lung"}}


def new_liver(size: str, enhancement: str = "typical", equivocal: bool = False) -> dict[str, Any]:
    return {"size": size, "enhancement": enhancement, "equivocal": equivocal}


@pytest.mark.parametrize(
    ("size", "category", "overall"), [("9.9", "equivocal", "SD"), ("10", "yes", "PD"), ("10.1", "yes", "PD")]
)
def test_MR_SP4_typical_new_liver_lesion_from_10mm(size: str, category: str, overall: str) -> None:
    a = run({("X1", "FU1"): new_liver(size)}, lesions=NEW_LIVER)
    r = a.timepoint("FU1")
    assert r.new_lesions.category == category
    assert r.overall is not None and r.overall.category == overall
    assert "MR-SP4" in r.reasons


def test_MR_SP4_atypical_new_liver_lesion_is_equivocal_until_it_grows() -> None:
    a = run({("X1", "FU1"): new_liver("15", "atypical")}, lesions=NEW_LIVER)
    r = a.timepoint("FU1")
    assert r.new_lesions.category == "equivocal"
    assert r.overall is not None and r.overall.category == "SD"


@pytest.mark.parametrize(("later", "pd"), [("24.9", False), ("25", True), ("25.1", True)])
def test_MR_SP4_atypical_growth_10mm(later: str, pd: bool) -> None:
    """Atypical 15 mm on FU1, then 24.9 / 25 / 25.1 mm on FU2: PD from ≥ 10 mm interval growth."""
    a = run(
        {("X1", "FU1"): new_liver("15", "atypical"), ("X1", "FU2"): new_liver(later, "atypical")},
        lesions=NEW_LIVER,
        n_fu=2,
        retro_date_equivocal_new_lesions=False,
    )
    assert cats(a) == (["SD", "PD"] if pd else ["SD", "SD"])
    assert (a.events.first_progression_date == dt(112)) is pd


def test_MR_SP4_atypical_growth_setting() -> None:
    a = run(
        {("X1", "FU1"): new_liver("15", "atypical"), ("X1", "FU2"): new_liver("20", "atypical")},
        lesions=NEW_LIVER,
        n_fu=2,
        atypical_growth_mm=5,
        retro_date_equivocal_new_lesions=False,
    )
    assert cats(a) == ["SD", "PD"]


def test_MR_SP4_new_lesion_min_ld_setting() -> None:
    a = run({("X1", "FU1"): new_liver("8")}, lesions=NEW_LIVER, new_lesion_min_ld_mm=8)
    assert cats(a) == ["PD"]


def test_MR_SP4_extrahepatic_new_lesions_follow_REC_N1_without_size_floor() -> None:
    a = run({("Y1", "FU1"): new_liver("5", "atypical")}, lesions=NEW_LUNG)
    assert cats(a) == ["PD"]


@pytest.mark.parametrize(
    ("rule", "lesion", "pd"),
    [
        ("hcc_typical_pattern", new_liver("15", "atypical"), False),
        ("recist_unequivocal", new_liver("15", "atypical"), True),
        ("recist_unequivocal", new_liver("15", "atypical", equivocal=True), False),
        ("recist_unequivocal", new_liver("15", "typical", equivocal=True), False),
        ("size_and_pattern", new_liver("9.9", "typical"), False),
        ("size_and_pattern", new_liver("10", "typical"), True),
        ("hcc_typical_pattern", new_liver("10", "typical"), True),
    ],
)
def test_APP_2_new_lesion_rule_liver(rule: str, lesion: dict[str, Any], pd: bool) -> None:
    a = run({("X1", "FU1"): lesion}, lesions=NEW_LIVER, new_lesion_rule_liver=rule)
    assert (cats(a) == ["PD"]) is pd


# -- MR-SP5 / REC-N3: retroactive dating -----------------------------------------------------------------


def equivocal_then_confirmed(
    lesions: dict[str, Any], first: dict[str, Any], later: dict[str, Any], **settings: Any
) -> CaseAssessment:
    lid = next(iter(lesions))
    return run({(lid, "FU1"): first, (lid, "FU2"): later}, lesions=lesions, n_fu=3, **settings)


def test_REC_N3_equivocal_extrahepatic_lesion_confirmed_later_dates_PD_back() -> None:
    a = equivocal_then_confirmed(NEW_LUNG, {"size": "6", "equivocal": True}, {"size": "9"})
    assert a.timepoint("FU1").overall.category == "PD"  # type: ignore[union-attr]
    assert a.best.progression_date == dt(56)
    assert a.events.first_progression_date == dt(56)
    assert a.best.category == "PD", "PD on day 56 is the first assessment: nothing before it counts"
    assert "REC-N3" in a.timepoint("FU1").reasons or "MR-SP5" in a.timepoint("FU1").reasons


def test_REC_N3_retro_dating_off_dates_PD_at_confirmation() -> None:
    a = equivocal_then_confirmed(
        NEW_LUNG, {"size": "6", "equivocal": True}, {"size": "9"}, retro_date_equivocal_new_lesions=False
    )
    assert cats(a)[:2] == ["SD", "PD"]
    assert a.timepoint("FU1").new_lesions.category == "equivocal"
    assert a.best.progression_date == dt(112)
    assert a.events.first_progression_date == dt(112)
    assert a.best.category == "SD"


def test_MR_SP5_small_typical_liver_lesion_meeting_criteria_later_dates_back() -> None:
    a = equivocal_then_confirmed(NEW_LIVER, new_liver("8"), new_liver("12"))
    assert cats(a)[:2] == ["PD", "PD"]
    assert a.events.first_progression_date == dt(56)


def test_MR_SP5_atypical_growth_dates_back_to_first_detection() -> None:
    a = equivocal_then_confirmed(NEW_LIVER, new_liver("15", "atypical"), new_liver("25", "atypical"))
    assert cats(a)[0] == "PD"
    assert a.events.first_progression_date == dt(56)


def test_MR_SP5_setting_off_keeps_the_later_date() -> None:
    a = equivocal_then_confirmed(NEW_LIVER, new_liver("8"), new_liver("12"), retro_date_equivocal_new_lesions=False)
    assert cats(a)[:2] == ["SD", "PD"]
    assert a.events.first_progression_date == dt(112)


def test_REC_N3_equivocal_lesion_never_confirmed_is_not_PD_and_is_flagged() -> None:
    a = run({("Y1", "FU1"): {"size": "6", "equivocal": True}, ("Y1", "FU2"): "absent"}, lesions=NEW_LUNG, n_fu=2)
    assert cats(a) == ["SD", "SD"]
    r = a.timepoint("FU1")
    assert r.new_lesions.category == "equivocal"
    assert r.flags or r.new_lesions.flags, "GEN-8: equivocal new lesion pending is a review flag"
    assert a.events.first_progression_date is None


# -- MR-T7: nadir of zero --------------------------------------------------------------------------


def reappear(value: Any, n_fu: int = 2, **settings: Any) -> CaseAssessment:
    """L1 20 mm → absent (target CR, nadir 0) → ``value``."""
    return run(
        {("L1", "FU1"): "absent", ("L1", "FU2"): value},
        baseline={("L1", "BL"): {"size": "20"}},
        stable_target=False,
        n_fu=n_fu,
        **settings,
    )


@pytest.mark.parametrize("value", [{"size": "0.5"}, {"size": "3"}, "too-small"])
def test_MR_T7_literal_pd_any_reappearance_is_PD(value: Any) -> None:
    a = reappear(value)
    r = a.timepoint("FU2")
    assert r.target is not None and r.target.category == "PD"
    assert "MR-T7" in r.reasons


@pytest.mark.parametrize(("size", "expected"), [("4.9", "PR"), ("5", "PD"), ("5.1", "PD")])
def test_MR_T7_recist_like_requires_the_absolute_minimum(size: str, expected: str) -> None:
    a = reappear({"size": size}, nadir_zero_policy="recist_like", pd_abs_min_mm=5)
    r = a.timepoint("FU2")
    assert r.target is not None and r.target.category == expected
    assert r.overall is not None and r.overall.category == expected


def test_MR_T7_recist_like_after_confirmed_CR_reappearance_is_PD() -> None:
    """REC-N5: a reappearance after a definitively (confirmed) assigned overall CR is PD."""
    a = run(
        {("L1", "FU1"): "absent", ("L1", "FU2"): "absent", ("L1", "FU3"): {"size": "3"}},
        baseline={("L1", "BL"): {"size": "20"}},
        stable_target=False,
        n_fu=3,
        nadir_zero_policy="recist_like",
        pd_abs_min_mm=5,
        confirmation_required=True,
    )
    assert cats(a) == ["CR", "CR", "PD"]
    assert "REC-N5" in a.timepoint("FU3").reasons


def test_MR_T7_does_not_touch_RECIST() -> None:
    """§7: RECIST 1.1 always applies REC-T3 (5 mm) whatever nadir_zero_policy says."""
    case = make(
        {("L1", "FU1"): "absent", ("L1", "FU2"): {"size": "4"}},
        baseline={("L1", "BL"): {"size": "20"}},
        stable_target=False,
        n_fu=2,
        criteria="RECIST1.1",
        nadir_zero_policy="literal_pd",
    )
    assert assess_case(case).timepoint("FU2").target.category == "PR"  # type: ignore[union-attr]


def test_REC_N5_RECIST_reappearance_after_confirmed_CR_is_PD() -> None:
    case = make(
        {("L1", "FU1"): "absent", ("L1", "FU2"): "absent", ("L1", "FU3"): {"size": "4"}},
        baseline={("L1", "BL"): {"size": "20"}},
        stable_target=False,
        n_fu=3,
        criteria="RECIST1.1",
        confirmation_required=True,
    )
    a = assess_case(case)
    assert cats(a) == ["CR", "CR", "PD"]


# -- MR-O2 / APP-1: the viability phase ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "phases", "evaluable"),
    [
        ("arterial", ["arterial"], True),
        ("arterial", ["arterial", "portal-venous"], True),
        ("arterial", ["portal-venous"], False),
        ("arterial", ["non-contrast", "delayed"], False),
        ("portal_venous", ["portal-venous"], True),
        ("portal_venous", ["arterial"], False),
        ("any", ["arterial"], True),
        ("any", ["portal-venous"], True),
        ("any", ["delayed"], True),
        ("any", ["hepatobiliary"], True),
        ("any", ["non-contrast"], False),
        ("arterial", None, True),
    ],
)
def test_MR_O2_viability_phase(setting: str, phases: list[str] | None, evaluable: bool) -> None:
    """Without a series of the viability phase the mRECIST target is NE; no series list = not recorded."""
    extra = {"FU1": {"series": phases}} if phases is not None else None
    a = run({("L1", "FU1"): {"size": "20"}}, tp_extra=extra, viability_phase=setting)
    r = a.timepoint("FU1")
    assert r.target is not None
    assert (r.target.category == "PR") is evaluable
    if not evaluable:
        assert r.target.category == "NE"
        assert "MR-O2" in r.reasons


def test_MR_O2_missing_phase_still_allows_PD_from_a_new_lesion() -> None:
    """REC-NE2 applied after MR-O2: a new lesion is PD whatever is missing."""
    a = run(
        {("L1", "FU1"): {"size": "20"}, ("Y1", "FU1"): {"size": "12"}},
        lesions=NEW_LUNG,
        tp_extra={"FU1": {"series": ["portal-venous"]}},
    )
    assert cats(a) == ["PD"]


# -- MR-V4 / MR-V5: no viable tissue, too small to measure ------------------------------------------------


def test_MR_V4_measured_zero_viable_diameter_is_CR() -> None:
    """A visible but non-enhancing mass counts 0 mm."""
    a = run(
        {("L1", "FU1"): {"status": "measured", "viable_diameter_mm": "0", "longest_diameter_mm": "38"}},
        stable_target=False,
    )
    r = a.timepoint("FU1")
    assert r.target_sum_mm == 0
    assert r.target is not None and r.target.category == "CR"


def test_MR_V4_rule_reported_for_measured_zero_viable_diameter() -> None:
    a = run(
        {("L1", "FU1"): {"status": "measured", "viable_diameter_mm": "0", "longest_diameter_mm": "38"}},
        stable_target=False,
    )
    assert "MR-V4" in a.timepoint("FU1").reasons


def test_MR_V1_mRECIST_uses_viable_RECIST_uses_longest_diameter() -> None:
    obs = {("L1", "FU1"): {"status": "measured", "viable_diameter_mm": "20", "longest_diameter_mm": "38"}}
    assert run(obs, stable_target=False).timepoint("FU1").target.category == "PR"  # type: ignore[union-attr]
    assert run(obs, stable_target=False, criteria="RECIST1.1").timepoint("FU1").target.category == "SD"  # type: ignore[union-attr]


def test_MR_V5_too_small_counts_5mm_and_is_flagged() -> None:
    a = run({("L1", "FU1"): "too-small"}, stable_target=False)
    r = a.timepoint("FU1")
    assert r.target_sum_mm == 5
    assert r.target is not None and r.target.category == "PR"
    flags = (*r.flags, *r.target.flags, *(f for x in a.lesions if x.timepoint == "FU1" for f in x.notes))
    assert "MR-V5" in r.reasons
    assert r.target.flags or r.flags, f"MR-V5 says flag it; got {flags}"


def test_MR_V5_too_small_default_setting() -> None:
    a = run({("L1", "FU1"): "too-small"}, stable_target=False, too_small_default_mm=Decimal("3"))
    assert a.timepoint("FU1").target_sum_mm == 3


# -- profiles ----------------------------------------------------------------------------------------


def with_profile(case: Case, profile: str | None) -> CaseAssessment:
    return assess_case(dataclasses.replace(case, profile=profile))


def small_lesion_growth() -> Case:
    """10 mm → 12.5 mm: +25 % but only +2.5 mm."""
    return make(
        {("L1", "FU1"): {"size": "12.5"}}, baseline={("L1", "BL"): {"size": "10"}}, stable_target=False, criteria=None
    )


@pytest.mark.parametrize(
    ("profile", "expected"), [(None, "PD"), ("mrecist-published", "PD"), ("recist1.1", "SD"), ("nct04562727", "PD")]
)
def test_profiles_MR_T4_absolute_minimum(profile: str | None, expected: str) -> None:
    a = with_profile(small_lesion_growth(), profile)
    assert a.timepoint("FU1").target.category == expected  # type: ignore[union-attr]


def test_profile_recist11_sets_the_criteria() -> None:
    """§7 `criteria`: the recist1.1 profile assesses by RECIST 1.1 (REC-T3 with its 5 mm rule)."""
    a = with_profile(small_lesion_growth(), "recist1.1")
    assert a.settings.criteria == "RECIST1.1"
    assert a.timepoint("FU1").criteria == "RECIST1.1"


def test_profile_case_criteria_overrides_the_profile() -> None:
    """§7 / case format: the case file's own `criteria` beats its profile (MR-T4: no 5 mm rule)."""
    case = dataclasses.replace(small_lesion_growth(), criteria="mRECIST")
    assert with_profile(case, "recist1.1").timepoint("FU1").target.category == "PD"  # type: ignore[union-attr]


@pytest.mark.parametrize(("profile", "pd"), [("mrecist-published", False), ("nct04562727", True)])
def test_profiles_APP_2_atypical_unequivocal_liver_lesion(profile: str, pd: bool) -> None:
    """NCT04562727 judges new liver lesions by the RECIST unequivocal rule; published mRECIST by MR-SP4."""
    case = make({("X1", "FU1"): new_liver("15", "atypical")}, lesions=NEW_LIVER, criteria=None)
    assert (cats(with_profile(case, profile)) == ["PD"]) is pd


@pytest.mark.parametrize(("profile", "evaluable"), [("mrecist-published", False), ("nct04562727", True)])
def test_profiles_APP_1_portal_venous_viability(profile: str, evaluable: bool) -> None:
    case = make(
        {("L1", "FU1"): {"size": "20"}},
        tp_extra={"FU1": {"series": ["portal-venous"]}},
        stable_target=False,
        criteria=None,
    )
    assert (with_profile(case, profile).timepoint("FU1").target.category == "PR") is evaluable  # type: ignore[union-attr]


def test_profile_nct04562727_defaults_of_the_trial() -> None:
    """§6.0, §7: randomised, so no confirmation (REC-C1); SD minimum 42 days (REC-C3); LTP distance
    10 mm (ABL-6)."""
    a = with_profile(make({}, n_fu=0, criteria=None), "nct04562727")
    s = a.settings
    assert s.criteria == "mRECIST"
    assert s.confirmation_required is False
    assert s.sd_min_days == 42
    assert s.ltp_max_distance_mm == 10


def test_REC_N3_retro_dated_timepoint_is_revised() -> None:
    """The earlier timepoint itself is revised: new lesion "yes", progression kind "new"."""
    a = run({("Y1", "FU1"): {"size": "6", "equivocal": True}, ("Y1", "FU2"): {"size": "9"}}, lesions=NEW_LUNG, n_fu=2)
    r = a.timepoint("FU1")
    assert r.new_lesions.category == "yes"
    assert "new" in r.progression


def test_REC_N3_confirmation_after_a_study_without_the_lesion_recorded_still_dates_back() -> None:
    a = run({("Y1", "FU1"): {"size": "6", "equivocal": True}, ("Y1", "FU3"): {"size": "9"}}, lesions=NEW_LUNG, n_fu=3)
    assert a.events.first_progression_date == dt(56)


@pytest.mark.parametrize(("sa", "new"), [("9.9", False), ("10", True)])
def test_MR_SP2_REC_N5_new_node_elsewhere_pathological_from_10mm(sa: str, new: bool) -> None:
    """Only porta hepatis nodes have the stricter 20 mm rule; other new nodes count from SA 10 mm."""
    a = run({("K1", "FU1"): sa}, lesions={"K1": {"role": "new", "kind": "node", "organ": "lymph node"}})
    assert (a.timepoint("FU1").new_lesions.category == "yes") is new


def test_MR_SP4_new_liver_lesion_without_recorded_pattern_is_equivocal() -> None:
    """Only the typical pattern makes a ≥ 10 mm liver lesion PD at once; no pattern recorded → followed."""
    a = run({("X1", "FU1"): {"size": "15"}}, lesions=NEW_LIVER)
    assert a.timepoint("FU1").new_lesions.category == "equivocal"
    assert cats(a) == ["SD"]


def test_MR_SP4_reader_equivocal_typical_lesion_is_not_PD() -> None:
    """REC-N1: a lesion the reader calls equivocal is followed, even with the typical pattern."""
    a = run({("X1", "FU1"): new_liver("15", "typical", equivocal=True)}, lesions=NEW_LIVER)
    assert cats(a) == ["SD"]


def test_MR_SP4_not_applied_under_RECIST() -> None:
    """RECIST 1.1 has no size floor or pattern rule for new lesions (REC-N1): 5 mm atypical is PD."""
    a = run({("X1", "FU1"): new_liver("5", "atypical")}, lesions=NEW_LIVER, criteria="RECIST1.1")
    assert cats(a) == ["PD"]


@pytest.mark.parametrize(("sa", "pd"), [("9.9", False), ("12", True)])
def test_MR_SP2_not_applied_under_RECIST_new_porta_hepatis_node(sa: str, pd: bool) -> None:
    """Under RECIST 1.1 a new node is pathological from SA 10 mm (REC-N5), porta hepatis or not."""
    a = run(
        {("H1", "FU1"): sa},
        lesions={"H1": {"role": "new", "kind": "porta-hepatis-node", "organ": "lymph node"}},
        criteria="RECIST1.1",
    )
    assert (cats(a) == ["PD"]) is pd
