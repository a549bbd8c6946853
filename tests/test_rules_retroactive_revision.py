"""§11.6 (REC-N3, MR-SP5, ABL-9, APP-3): one confirmation revises every table together.

An equivocal focus beside an ablation zone (counted by APP-3 as viable tissue of that lesion), or
an equivocal new lesion, confirmed on a later study is dated back to its first detection.  That
revision must reach the earlier timepoint's target response, overall response, the first
progression date, the best overall response and the endpoints, together with the lesion's local
status — never one without the others (a lesion row saying ``ltp`` beside a target CR at the same
timepoint contradicts MR-T1).

Course: baseline day 0 with one liver target L1 of 20 mm, ablated on day 7; follow-ups on days
40, 130 and 220 (the helpers of test_rules_ablation.py).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_rules_ablation import ablation_case, dt, focus, local_status, zone

from mrecist_tool.model import Case, Lesion, Observation, Procedure, Subject, Timepoint
from mrecist_tool.pipeline.tables import assessment_tables
from mrecist_tool.rules import CaseAssessment, assess_case


def equivocal_then_confirmed(**settings: Any) -> CaseAssessment:
    """FU1 clean; FU2 an equivocal 6 mm focus 3 mm from L1's zone; FU3 the focus confirmed, 12 mm."""
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


def test_11_6_confirmed_focus_revises_the_earlier_target_and_overall_response() -> None:
    a = equivocal_then_confirmed()
    fu2 = a.timepoint("FU2")
    assert local_status(a, "L1", "FU2") == "ltp"
    assert fu2.target_sum_mm == Decimal(6), "APP-3: the focus is L1's viable tissue from FU2"
    assert fu2.target is not None and fu2.target.category == "PD"  # MR-T7 literal: nadir 0
    assert fu2.overall is not None and fu2.overall.category == "PD"
    assert {"REC-N3", "ABL-9"} <= set(fu2.reasons)
    assert any("confirmed later" in f for f in fu2.flags)


def test_11_6_first_progression_date_bor_and_dfs_move_together() -> None:
    a = equivocal_then_confirmed()
    assert a.events.first_progression_date == dt(130)
    assert a.events.first_ltp_date == dt(130) == zone(a).ltp_date
    assert a.events.first_recurrence_date == dt(130)
    assert a.best.progression_date == dt(130)
    # FU1 target CR (overall CR) stays the best response; FU3 comes after the PD and is ignored.
    assert a.best.category == "CR" and a.best.timepoint == "FU1"
    subject = assessment_tables([a])["subjects"][0]
    assert subject["first_progression_date"] == subject["first_ltp_date"] == dt(130).isoformat()


def test_11_6_retro_setting_off_revises_nothing_at_FU2() -> None:
    """REC-N3/MR-SP5 setting off: PD and LTP both dated at the confirming study, FU2 stays CR."""
    a = equivocal_then_confirmed(retro_date_equivocal_new_lesions=False)
    fu2 = a.timepoint("FU2")
    assert local_status(a, "L1", "FU2") == "complete"
    assert fu2.target is not None and fu2.target.category == "CR"
    assert any("not counted yet" in f for f in fu2.flags), "§11.5: stays CR with a review flag"
    assert a.events.first_progression_date == dt(220) == a.events.first_ltp_date


def test_11_5_equivocal_focus_never_confirmed_stays_CR_with_a_flag() -> None:
    a = ablation_case(
        {
            ("L1", "FU1"): "absent",
            ("L1", "FU2"): "absent",
            ("X1", "FU2"): focus("6", "3", equivocal=True),
            ("L1", "FU3"): "absent",
            ("X1", "FU3"): focus("6", "3", equivocal=True),
        }
    )
    for tp in ("FU2", "FU3"):
        r = a.timepoint(tp)
        assert r.target is not None and r.target.category == "CR"
        assert local_status(a, "L1", tp) == "complete"
        assert any("equivocal" in f for f in r.flags)
    assert a.events.first_progression_date is None


def test_11_6_absent_reading_between_equivocal_and_confirmation_is_not_dated_back() -> None:
    """Only the studies that showed the (equivocal) focus are revised; a study where it was
    recorded absent stays clean."""
    a = ablation_case(
        {
            ("L1", "FU1"): "absent",
            ("X1", "FU1"): focus("6", "3", equivocal=True),
            ("L1", "FU2"): "absent",
            ("X1", "FU2"): "absent",
            ("L1", "FU3"): "absent",
            ("X1", "FU3"): focus("12", "3"),
        },
        fu_days=(40, 130, 220),
    )
    assert local_status(a, "L1", "FU2") == "complete"
    assert a.timepoint("FU2").target_sum_mm == 0


def test_11_6_unmeasured_equivocal_focus_dated_back_is_PD_after_a_nadir_of_zero() -> None:
    """A focus recorded 'present' (not measured) and confirmed later: the target sum is unknown
    but above 0 mm, so after a CR it is PD (MR-T7 literal, REC-NE2), not NE and never CR."""
    a = ablation_case(
        {
            ("L1", "FU1"): "absent",
            ("L1", "FU2"): "absent",
            ("X1", "FU2"): {"status": "present", "near_lesion": "L1", "gap_to_ablation_zone_mm": "2", "equivocal": True},
            ("L1", "FU3"): "absent",
            ("X1", "FU3"): focus("12", "2"),
        }
    )
    fu2 = a.timepoint("FU2")
    assert local_status(a, "L1", "FU2") == "ltp"
    assert fu2.target is not None and fu2.target.category == "PD"
    assert "REC-NE2" in fu2.target.rules


def test_11_6_nontarget_focus_confirmed_later_revises_the_nontarget_response() -> None:
    """APP-4: an equivocal focus at an ablated non-target's zone, confirmed later, makes the
    earlier non-target response IR/SD (not CR) and the earlier overall response not CR."""
    a = ablation_case(
        {
            ("L1", "FU1"): "absent", ("N1", "FU1"): "absent",
            ("L1", "FU2"): "absent", ("N1", "FU2"): "absent",
            ("X1", "FU2"): focus("6", "3", near="N1", equivocal=True),
            ("L1", "FU3"): "absent", ("N1", "FU3"): "absent",
            ("X1", "FU3"): focus("12", "3", near="N1"),
        },
        lesions={"N1": "non-target"},
        baseline={("N1", "BL"): "present"},
        procedures=[("A1", "ablation", (date(2021, 1, 4) + timedelta(days=7)).isoformat(), ["L1", "N1"])],
    )
    fu2 = a.timepoint("FU2")
    assert local_status(a, "N1", "FU2") == "ltp"
    assert fu2.nontarget is not None and fu2.nontarget.category == "IR/SD"
    assert fu2.overall is not None and fu2.overall.category == "PR"


# -- property: the tables never contradict themselves ---------------------------------------------

START = date(2021, 1, 4)
MEASURES = st.integers(min_value=0, max_value=300).map(lambda n: Decimal(n) / 10)


@st.composite
def ablated_cases(draw: st.DrawFn) -> tuple[Case, dict[str, Any]]:
    """One to two ablated liver targets, maybe an ablated non-target, and equivocal or confirmed
    foci next to them at random follow-ups, with random engine settings."""
    n_fu = draw(st.integers(2, 5))
    days = [0]
    for _ in range(n_fu):
        days.append(days[-1] + draw(st.integers(25, 120)))
    tps = tuple(Timepoint(f"T{i}", START + timedelta(days=n), baseline=(i == 0)) for i, n in enumerate(days))
    n_targets = draw(st.integers(1, 2))
    lesions = [Lesion(f"L{i}", "target") for i in range(n_targets)]
    with_nt = draw(st.booleans())
    if with_nt:
        lesions.append(Lesion("N0", "non-target"))
    ablation_day = draw(st.integers(1, max(1, days[1] - 1)))
    treated = [les.id for les in lesions if les.role == "target" or draw(st.booleans())]
    procs = [Procedure("A1", "ablation", START + timedelta(days=ablation_day), tuple(treated))]
    obs: list[Observation] = []
    for les in lesions:
        for tp in tps:
            if les.role == "target":
                if tp.baseline:
                    obs.append(Observation(les.id, tp.id, "measured", viable_diameter_mm=draw(MEASURES) + 10))
                    continue
                status = draw(st.sampled_from(["absent"] * 5 + ["measured", "too-small", "not-evaluable"]))
                fields = {"viable_diameter_mm": draw(MEASURES)} if status == "measured" else {}
                if status in ("measured", "too-small") and draw(st.booleans()):
                    fields["gap_to_ablation_zone_mm"] = Decimal(draw(st.integers(0, 15)))
                obs.append(Observation(les.id, tp.id, status, **fields))
            else:
                status = "present" if tp.baseline else draw(st.sampled_from(["absent", "absent", "present", "not-evaluable"]))
                obs.append(Observation(les.id, tp.id, status))
    n_foci = draw(st.integers(1, 3))
    for k in range(n_foci):
        fid = f"X{k}"
        lesions.append(Lesion(fid, "new"))
        near = draw(st.sampled_from(treated))
        gap = Decimal(draw(st.sampled_from([0, 0, 2, 5, 10, 11, 14])))
        first = draw(st.integers(1, n_fu))
        # Most foci start equivocal; some are confirmed on a later study, some never.
        confirm_at = draw(st.integers(first, n_fu + 1))  # n_fu + 1: never confirmed
        for i in range(first, n_fu + 1):
            if first < i < confirm_at and draw(st.integers(0, 3)) == 0:
                continue  # not recorded at this study
            if i in (first, confirm_at):
                status = draw(st.sampled_from(["measured", "measured", "present", "too-small"]))
            else:
                status = draw(st.sampled_from(["measured", "measured", "present", "too-small", "absent", "not-evaluable"]))
            fields: dict[str, Any] = {"near_lesion": near, "gap_to_ablation_zone_mm": gap, "equivocal": i < confirm_at}
            if i > confirm_at:
                fields["equivocal"] = draw(st.booleans())
            if status == "measured":
                fields["viable_diameter_mm"] = draw(MEASURES) + Decimal("0.1")
            obs.append(Observation(fid, tps[i].id, status, **fields))
    chosen = {
        "retro_date_equivocal_new_lesions": draw(st.sampled_from([True, True, False])),
        "nadir_zero_policy": draw(st.sampled_from(["literal_pd", "recist_like"])),
        "viable_fragment_rule": draw(st.sampled_from(["largest", "sum"])),
        "ltp_max_distance_mm": draw(st.sampled_from([0, 5, 10, 10])),
        "confirmation_required": draw(st.booleans()),
    }
    case = Case(
        subject=Subject("P-1"),
        timepoints=tps,
        lesions=tuple(lesions),
        observations=tuple(obs),
        procedures=tuple(procs),
        criteria="mRECIST",
        settings=chosen,
    )
    return case, chosen


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ablated_cases())
def test_11_6_property_no_ltp_or_residual_beside_a_CR(drawn: tuple[Case, dict[str, Any]]) -> None:
    case, _ = drawn
    a = assess_case(case)
    tables = assessment_tables([a])
    by_tp = {r["timepoint"]: r for r in tables["timepoints"]}
    for row in tables["lesions"]:
        if row["local_status"] not in ("ltp", "residual"):
            continue
        tp = by_tp[row["timepoint"]]
        # MR-T1: a target with viable tissue at its zone rules out target CR; likewise a
        # non-target (MR-NT CR needs every non-target free of enhancement); and so overall CR.
        if row["role"] == "target":
            assert tp["target_response"] != "CR", (row, tp)
        if row["role"] == "non-target":
            assert tp["nontarget_response"] != "CR", (row, tp)
        assert tp["overall_response"] != "CR", (row, tp)
    # The first progression date is the first overall PD, and the LTP date is a study where the
    # lesion row says ltp.
    first_pd = next((r["date"] for r in tables["timepoints"] if r["overall_response"] == "PD"), "")
    subject = tables["subjects"][0]
    assert subject["first_progression_date"] == first_pd
    if subject["first_ltp_date"]:
        assert any(
            r["local_status"] == "ltp" and r["date"] == subject["first_ltp_date"] for r in tables["lesions"]
        )
    # BOR never counts an assessment after the first PD.
    if a.best.timepoint and first_pd:
        assert a.timepoint(a.best.timepoint).date.isoformat() <= first_pd
