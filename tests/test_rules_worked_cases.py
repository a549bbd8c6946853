"""Whole-subject worked cases, written from response-rules.md and case-format.md (not from the code).

Each test tells one subject's clinical story and names the rules that decide it; the expected
categories were worked out by hand from the spec.  Subjects are pseudonymous ("WC-01" …); the
baseline is 2021-01-04 (day 0) unless a randomisation date is given.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from casebuilder import build

from mrecist_tool.rules import CaseAssessment, assess_case

BASE = date(2021, 1, 4)


def day(n: int) -> str:
    return (BASE + timedelta(days=n)).isoformat()


def dt(n: int) -> date:
    return BASE + timedelta(days=n)


def assess(**kwargs: Any) -> CaseAssessment:
    return assess_case(build(**kwargs))


def overall(a: CaseAssessment) -> list[str]:
    return [r.overall.category for r in a.timepoints[1:] if r.overall is not None]


def targets(a: CaseAssessment) -> list[str]:
    return [r.target.category for r in a.timepoints[1:] if r.target is not None]


def mm(**sizes: str) -> dict[str, Any]:
    """An observation carrying both diameters: the viable one (mRECIST) and the whole one (RECIST)."""
    return {"status": "measured", "viable_diameter_mm": sizes["viable"], "longest_diameter_mm": sizes["whole"]}


def test_WC01_necrotic_response_mRECIST_PR_but_RECIST_SD() -> None:
    """WC-01. Two liver metastases (42 and 28 mm, sum 70) on chemotherapy.  At 8 weeks both are
    largely necrotic: the viable (enhancing) rims measure 25 and 20 mm (sum 45, −35.7 %) while the
    whole lesions still measure 40 and 26 mm (sum 66, −5.7 %).

    mRECIST measures viable tumour (MR-V1, MR-V2): PR (MR-T2).  RECIST 1.1 measures the whole
    lesion: SD (REC-T4).  At 16 weeks, viable 20 + 15 = 35 (−50 %): still PR; whole 38 + 25 = 63: SD.
    """
    obs = {
        ("L1", "BL"): mm(viable="42", whole="42"),
        ("L2", "BL"): mm(viable="28", whole="28"),
        ("L1", "FU1"): mm(viable="25", whole="40"),
        ("L2", "FU1"): mm(viable="20", whole="26"),
        ("L1", "FU2"): mm(viable="20", whole="38"),
        ("L2", "FU2"): mm(viable="15", whole="25"),
    }
    kw: dict[str, Any] = {
        "tps": [("BL", day(0)), ("FU1", day(56)), ("FU2", day(112))],
        "lesions": {"L1": "target", "L2": "target"},
        "obs": obs,
        "subject": {"id": "WC-01"},
    }
    m = assess(criteria="mRECIST", **kw)
    r = assess(criteria="RECIST1.1", **kw)
    assert targets(m) == ["PR", "PR"] and overall(m) == ["PR", "PR"]
    assert targets(r) == ["SD", "SD"] and overall(r) == ["SD", "SD"]
    assert m.best.category == "PR" and r.best.category == "SD"
    assert m.timepoint("FU1").target_sum_mm == 45 and r.timepoint("FU1").target_sum_mm == 66
    assert "MR-T2" in m.timepoint("FU1").reasons
    assert "REC-T4" in r.timepoint("FU1").reasons


def test_WC02_small_lesions_grow_relative_PD_under_mRECIST_only() -> None:
    """WC-02. Two just-measurable targets of 10.0 mm each (REC-M1), liver and lung: sum 20.0.  At
    9 weeks both measure 12.0 mm: sum 24.0, exactly +20 % (GEN-2, GEN-4) but only +4.0 mm.

    mRECIST has no absolute minimum (MR-T4): PD.  RECIST 1.1 also needs +5 mm (REC-T3): SD.  At
    18 weeks 12.5 + 12.5 = 25.0 (+5.0 mm from the nadir 20.0, +25 %): RECIST PD too.
    """
    obs = {
        ("L1", "BL"): {"size": "10.0"},
        ("L2", "BL"): {"size": "10.0"},
        ("L1", "FU1"): {"size": "12.0"},
        ("L2", "FU1"): {"size": "12.0"},
        ("L1", "FU2"): {"size": "12.5"},
        ("L2", "FU2"): {"size": "12.5"},
    }
    kw: dict[str, Any] = {
        "tps": [("BL", day(0)), ("FU1", day(63)), ("FU2", day(126))],
        "lesions": {"L1": "target", "L2": {"role": "target", "organ": "lung"}},
        "obs": obs,
        "subject": {"id": "WC-02"},
    }
    m = assess(criteria="mRECIST", **kw)
    r = assess(criteria="RECIST1.1", **kw)
    assert not m.warnings and not r.warnings, "10.0 mm is measurable (REC-M1 is inclusive)"
    assert overall(m)[0] == "PD"
    assert overall(r) == ["SD", "PD"]
    assert m.best.category == "PD"
    assert r.best.category == "SD", "SD on day 63 met the 42-day minimum (REC-C3)"
    assert m.events.first_progression_date == dt(63)
    assert r.events.first_progression_date == dt(126)


def test_WC03_case_format_example_ablation_then_LTP() -> None:
    """WC-03 (the case-format example). L1, a 24.5 mm segment VII metastasis, is ablated by MWA on
    2021-03-30; L2 is a non-target.  FU1 (3 weeks after ablation): no viable tissue at the zone
    → target CR, non-target IR/SD → overall PR (MR-O); complete ablation, primary technique
    efficacy (ABL-3).  FU2: 8 mm of viable tissue at the zone edge after a clean follow-up → LTP
    (ABL-5); sum 8 from a nadir of 0 → target PD (MR-T7 literal) → overall PD.

    BOR PR (REC-C2) first met on FU1; duration of response FU1 → FU2 (REC-D1); LTP is the first
    DFS recurrence (§6.0).
    """
    a = assess(
        tps=[("BL", "2021-02-25"), ("FU1", "2021-04-20"), ("FU2", "2021-07-21")],
        lesions={"L1": "target", "L2": "non-target"},
        obs={
            ("L1", "BL"): "24.5",
            ("L2", "BL"): "present",
            ("L1", "FU1"): "absent",
            ("L2", "FU1"): "present",
            ("L1", "FU2"): {"size": "8", "gap_to_ablation_zone_mm": "0"},
            ("L2", "FU2"): "present",
        },
        procedures=[("ABL1", "ablation", "2021-03-30", ["L1"])],
        subject={"id": "CRLM-0007", "arm": "perioperative", "randomization_date": "2021-03-02"},
    )
    assert targets(a) == ["CR", "PD"]
    assert overall(a) == ["PR", "PD"]
    z = a.ablations[0]
    assert [s.status for s in z.states] == ["complete", "ltp"]
    assert z.technique_efficacy == "primary-success"
    assert a.best.category == "PR"
    assert a.best.first_response_date == date(2021, 4, 20)
    assert a.best.duration_of_response_days == (date(2021, 7, 21) - date(2021, 4, 20)).days
    assert a.events.first_ltp_date == date(2021, 7, 21)
    assert a.events.first_recurrence_date == date(2021, 7, 21)
    assert a.events.first_recurrence_kinds == ("LTP",)


def test_WC04_residual_tumour_re_ablated_then_disease_free() -> None:
    """WC-04. A single 24 mm target ablated on day 10.  The first follow-up (day 45) shows a 9 mm
    nodular enhancing focus at the zone edge: residual unablated tumour (ABL-4), not LTP; target
    sum 9 (−62.5 %) → PR.  Re-ablated on day 60; follow-ups on days 120 and 210 are clean:
    assisted technique efficacy (ABL-3, ABL-10); target CR.

    BOR CR (no confirmation needed); never disease-free is False because the residual tumour was
    successfully re-treated (END-DFS-4); no LTP; the LTP risk set starts at the re-ablation
    (END-LTP-2).
    """
    a = assess(
        tps=[("BL", day(0)), ("FU1", day(45)), ("FU2", day(120)), ("FU3", day(210))],
        lesions={"L1": "target"},
        obs={
            ("L1", "BL"): "24",
            ("L1", "FU1"): {"size": "9", "gap_to_ablation_zone_mm": "0"},
            ("L1", "FU2"): "absent",
            ("L1", "FU3"): "absent",
        },
        procedures=[("A1", "ablation", day(10), ["L1"]), ("A2", "ablation", day(60), ["L1"])],
        subject={"id": "WC-04"},
    )
    assert overall(a) == ["PR", "CR", "CR"]
    assert a.best.category == "CR"
    z = a.ablations[0]
    assert [s.status for s in z.states] == ["residual", "complete", "complete"]
    assert z.technique_efficacy == "assisted-success"
    assert z.ltp_origin_date == dt(60)
    assert a.events.never_disease_free is False
    assert a.events.first_ltp_date is None
    assert a.events.first_recurrence_date is None


def test_WC05_residual_tumour_never_treated_late_first_follow_up() -> None:
    """WC-05. A 30 mm target ablated on day 7; the first contrast study is only on day 120 (113 days
    after ablation, outside the 21–56 day window) and shows 12 mm of viable tissue at the zone.
    However late, the first follow-up decides: residual tumour (ABL-8), flagged "timing
    indeterminate" because early LTP cannot be excluded.  Day 200: 14 mm, still residual; no
    re-treatment.  Target 30 → 12 (−60 %) PR, then 14 (+16.7 % from the nadir 12) still PR.

    Never disease-free (END-DFS-4); technique efficacy failed (ABL-3); no LTP.
    """
    a = assess(
        tps=[("BL", day(0)), ("FU1", day(120)), ("FU2", day(200))],
        lesions={"L1": "target"},
        obs={
            ("L1", "BL"): "30",
            ("L1", "FU1"): {"size": "12", "gap_to_ablation_zone_mm": "0"},
            ("L1", "FU2"): {"size": "14", "gap_to_ablation_zone_mm": "0"},
        },
        procedures=[("A1", "ablation", day(7), ["L1"])],
        subject={"id": "WC-05"},
    )
    z = a.ablations[0]
    assert [s.status for s in z.states] == ["residual", "residual"]
    assert z.technique_efficacy == "primary-failure"
    flags = " ".join([*z.flags, *(f for s in z.states for f in s.flags)]).lower()
    assert "timing" in flags
    assert overall(a) == ["PR", "PR"]
    assert a.events.never_disease_free is True
    assert a.events.first_ltp_date is None


def test_WC06_intrahepatic_distant_progression() -> None:
    """WC-06. Two liver targets (22 mm ablated on day 10, 18 mm ablated on day 12); one 7 mm
    non-target in segment II.  Day 50: both zones clean, non-target persists → target CR,
    non-target IR/SD → PR.  Day 140: a new 14 mm arterially enhancing lesion with washout in
    segment IVa, 35 mm from L1's zone: beyond the 10 mm LTP distance (ABL-6), so a candidate new
    lesion (APP-5) that meets MR-SP4 (≥ 10 mm, typical) → PD by intrahepatic distant progression.
    Both tumours stay COMPLETE (ABL-11).

    BOR PR; the DFS recurrence is IDP on day 140.
    """
    a = assess(
        tps=[("BL", day(0)), ("FU1", day(50)), ("FU2", day(140))],
        lesions={"L1": "target", "L2": "target", "N1": "non-target", "X1": {"role": "new", "organ": "liver"}},
        obs={
            ("L1", "BL"): "22",
            ("L2", "BL"): "18",
            ("N1", "BL"): "present",
            ("L1", "FU1"): "absent",
            ("L2", "FU1"): "absent",
            ("N1", "FU1"): "present",
            ("L1", "FU2"): "absent",
            ("L2", "FU2"): "absent",
            ("N1", "FU2"): "present",
            ("X1", "FU2"): {
                "size": "14",
                "enhancement": "typical",
                "near_lesion": "L1",
                "gap_to_ablation_zone_mm": "35",
            },
        },
        procedures=[("A1", "ablation", day(10), ["L1"]), ("A2", "ablation", day(12), ["L2"])],
        subject={"id": "WC-06"},
    )
    assert overall(a) == ["PR", "PD"]
    assert a.timepoint("FU2").new_lesions.category == "yes"
    assert "IDP" in a.timepoint("FU2").progression
    assert all(z.ltp_date is None for z in a.ablations)
    assert all([s.status for s in z.states] == ["complete", "complete"] for z in a.ablations)
    assert a.best.category == "PR"
    assert a.events.first_idp_date == dt(140)
    assert a.events.first_recurrence_kinds == ("IDP",)
    assert a.events.first_ltp_date is None


def test_WC07_extrahepatic_progression_small_lung_nodule() -> None:
    """WC-07. One 26 mm target ablated on day 9, clean on day 40 (target CR, no non-targets →
    overall CR).  Day 130: the liver is clean but an unequivocal 7 mm lung nodule appears.  The
    10 mm floor of MR-SP4 is for intrahepatic lesions only; extrahepatic new lesions follow
    REC-N1 (ABL-7, APP-5) → PD by extrahepatic progression.

    BOR CR; DFS recurrence EHP on day 130; the tumour stays COMPLETE.
    """
    a = assess(
        tps=[("BL", day(0)), ("FU1", day(40)), ("FU2", day(130))],
        lesions={"L1": "target", "P1": {"role": "new", "organ": "lung"}},
        obs={
            ("L1", "BL"): "26",
            ("L1", "FU1"): "absent",
            ("L1", "FU2"): "absent",
            ("P1", "FU2"): {"size": "7"},
        },
        procedures=[("A1", "ablation", day(9), ["L1"])],
        subject={"id": "WC-07"},
    )
    assert overall(a) == ["CR", "PD"]
    assert a.best.category == "CR"
    assert a.events.first_ehp_date == dt(130)
    assert a.events.first_recurrence_kinds == ("EHP",)
    assert [s.status for s in a.ablations[0].states] == ["complete", "complete"]


def test_WC08_nontarget_only_disease() -> None:
    """WC-08. Two liver metastases of 8 and 6 mm: below the 10 mm floor (REC-M1), so non-targets and
    no target disease.  Day 84: one persists → NON-CR/NON-PD (Table 2, never "SD").  Day 168 and
    day 259: both gone → CR.

    BOR CR (Table 2; END-ORR-3: such a subject is never PR or SD).
    """
    a = assess(
        tps=[("BL", day(0)), ("FU1", day(84)), ("FU2", day(168)), ("FU3", day(259))],
        lesions={"N1": "non-target", "N2": "non-target"},
        obs={
            ("N1", "BL"): "present",
            ("N2", "BL"): "present",
            ("N1", "FU1"): "present",
            ("N2", "FU1"): "absent",
            ("N1", "FU2"): "absent",
            ("N2", "FU2"): "absent",
            ("N1", "FU3"): "absent",
            ("N2", "FU3"): "absent",
        },
        subject={"id": "WC-08"},
    )
    assert not a.has_target_disease
    assert overall(a) == ["NON-CR/NON-PD", "CR", "CR"]
    assert a.timepoint("FU1").nontarget.category == "IR/SD"  # type: ignore[union-attr]
    assert a.timepoint("FU1").target is None
    assert a.best.category == "CR"


def test_WC09_nontarget_only_persisting_then_progression() -> None:
    """WC-09. Non-target-only disease (a 9 mm liver lesion) under RECIST 1.1: persists on day 30
    (NON-CR/NON-PD, before the 42-day minimum, REC-C3) and has unequivocally progressed on day 90
    → PD.  The early NON-CR/NON-PD does not count: BOR PD.
    """
    a = assess(
        tps=[("BL", day(0)), ("FU1", day(30)), ("FU2", day(90))],
        lesions={"N1": "non-target"},
        obs={("N1", "BL"): "present", ("N1", "FU1"): "present", ("N1", "FU2"): "progressed"},
        criteria="RECIST1.1",
        subject={"id": "WC-09"},
    )
    assert overall(a) == ["NON-CR/NON-PD", "PD"]
    assert a.timepoint("FU1").nontarget.category == "NON-CR/NON-PD"  # type: ignore[union-attr]
    assert a.best.category == "PD"
    assert a.events.first_progression_date == dt(90)


def test_WC10_equivocal_lung_nodule_confirmed_PD_dated_back() -> None:
    """WC-10. A 35 mm liver target under chemotherapy: day 60 sum 30 (−14 %, SD) with a 4 mm lung
    nodule the reader calls equivocal (REC-N1) → not PD yet, flagged.  Day 120: sum 24 (−31 %,
    PR by the table) but the nodule is now 9 mm and unequivocal: a new lesion → PD, and PD is dated
    back to day 60, the first scan that showed it (REC-N3, MR-SP5).

    With retro-dating, day 60 is PD, so BOR is PD and the event date is day 60.  With the setting
    off, day 60 stays SD (day 60 ≥ 42: minimum met) and BOR is SD with progression on day 120.
    """
    kw: dict[str, Any] = {
        "tps": [("BL", day(0)), ("FU1", day(60)), ("FU2", day(120))],
        "lesions": {"L1": "target", "P1": {"role": "new", "organ": "lung"}},
        "obs": {
            ("L1", "BL"): "35",
            ("L1", "FU1"): "30",
            ("P1", "FU1"): {"size": "4", "equivocal": True},
            ("L1", "FU2"): "24",
            ("P1", "FU2"): {"size": "9"},
        },
        "subject": {"id": "WC-10"},
    }
    on = assess(**kw)
    assert overall(on) == ["PD", "PD"]
    assert on.best.category == "PD"
    assert on.events.first_progression_date == dt(60)
    off = assess(settings={"retro_date_equivocal_new_lesions": False}, **kw)
    assert overall(off) == ["SD", "PD"]
    assert off.timepoint("FU1").new_lesions.category == "equivocal"
    assert off.best.category == "SD"
    assert off.events.first_progression_date == dt(120)


def test_WC11_confirmed_response_in_a_single_arm_analysis() -> None:
    """WC-11. A sensitivity analysis requiring confirmation (REC-C1).  Target 50 mm (RECIST 1.1).
    Day 56: 33 mm (−34 %, PR).  Day 80: 32 mm (only 24 days later: cannot confirm).  Day 84: not
    imaged (NE; allowed between, REC-C6).  Day 112: 30 mm (56 days after the first PR) → PR
    confirmed.  Day 200: 36 mm: +20 % over the nadir 30 and +6 mm → PD.

    BOR PR, confirmed; duration of response from day 56 to day 200 = 144 days (REC-D1).
    """
    a = assess(
        tps=[
            ("BL", day(0)),
            ("FU1", day(56)),
            ("FU2", day(80)),
            ("FU3", day(84), {"imaging": "not-done"}),
            ("FU4", day(112)),
            ("FU5", day(200)),
        ],
        lesions={"L1": "target"},
        obs={("L1", "BL"): "50", ("L1", "FU1"): "33", ("L1", "FU2"): "32", ("L1", "FU4"): "30", ("L1", "FU5"): "36"},
        criteria="RECIST1.1",
        settings={"confirmation_required": True},
        subject={"id": "WC-11"},
    )
    assert overall(a) == ["PR", "PR", "NE", "PR", "PD"]
    assert a.best.category == "PR"
    assert a.best.confirmed is True
    assert a.best.first_response_date == dt(56)
    assert a.best.duration_of_response_days == 144


def test_WC12_LTP_at_an_ablated_nontarget_keeps_SD() -> None:
    """WC-12. Target L1 (40 mm, systemic therapy only) and non-target N1 (an 8 mm lesion, ablated on
    day 14).  Day 56: L1 36 mm (SD), N1's zone clean (complete ablation).  Day 150: L1 35 mm
    (SD); 6 mm of viable tissue at N1's zone edge → LTP of N1 (ABL-5), which only moves the
    non-target to IR/SD (APP-4); no overall PD.

    BOR SD (minimum met on day 56); the LTP is still the first DFS recurrence on day 150 (§6.0),
    though it is not overall progression.
    """
    a = assess(
        tps=[("BL", day(0)), ("FU1", day(56)), ("FU2", day(150))],
        lesions={"L1": "target", "N1": "non-target"},
        obs={
            ("L1", "BL"): "40",
            ("N1", "BL"): "present",
            ("L1", "FU1"): "36",
            ("N1", "FU1"): "absent",
            ("L1", "FU2"): "35",
            ("N1", "FU2"): {"size": "6", "gap_to_ablation_zone_mm": "0"},
        },
        procedures=[("A1", "ablation", day(14), ["N1"])],
        subject={"id": "WC-12"},
    )
    assert overall(a) == ["SD", "SD"]
    assert a.timepoint("FU1").nontarget.category == "CR"  # type: ignore[union-attr]
    assert a.timepoint("FU2").nontarget.category == "IR/SD"  # type: ignore[union-attr]
    assert a.best.category == "SD"
    assert a.events.first_progression_date is None
    assert a.events.first_ltp_date == dt(150)
    assert a.events.first_recurrence_date == dt(150)


def test_WC13_early_SD_then_progression() -> None:
    """WC-13. An early scan on day 28 (SD: 40 → 38 mm) before the 42-day SD minimum (REC-C3), then
    PD on day 84 (48 mm: +26 % over the nadir 38).  The early SD does not count: BOR PD.  Had the
    subject been randomised 14 days before the baseline scan, day 28 would be day 42 from
    randomisation and the SD would count (REC-C3 counts from randomisation).
    """
    kw: dict[str, Any] = {
        "tps": [("BL", day(0)), ("FU1", day(28)), ("FU2", day(84))],
        "lesions": {"L1": "target"},
        "obs": {("L1", "BL"): "40", ("L1", "FU1"): "38", ("L1", "FU2"): "48"},
    }
    a = assess(subject={"id": "WC-13"}, **kw)
    assert overall(a) == ["SD", "PD"]
    assert a.best.category == "PD"
    assert a.best.sd_min_met is False
    b = assess(subject={"id": "WC-13b", "randomization_date": day(-14)}, **kw)
    assert b.best.category == "SD"


def test_WC14_portal_venous_viability_for_CRLM_profile() -> None:
    """WC-14. Hypovascular CRLM imaged in the portal-venous phase only.  Under published mRECIST
    (arterial phase, MR-O2) the target cannot be judged → NE; under the NCT04562727 profile, whose
    viability phase is "any" (APP-1), 30 → 18 mm is −40 % → PR.
    """
    import dataclasses

    case = build(
        tps=[("BL", day(0), {"series": ["portal-venous"]}), ("FU1", day(56), {"series": ["portal-venous"]})],
        lesions={"L1": "target"},
        obs={("L1", "BL"): "30", ("L1", "FU1"): "18"},
        criteria=None,  # type: ignore[arg-type]
        subject={"id": "WC-14"},
    )
    published = assess_case(dataclasses.replace(case, profile="mrecist-published"))
    trial = assess_case(dataclasses.replace(case, profile="nct04562727"))
    assert overall(published) == ["NE"]
    assert overall(trial) == ["PR"]
    assert trial.best.category == "PR"
