"""The decisions of response-rules.md §11, each at its boundaries, through the whole engine.

Every test is named by its §11 item (``test_11_N_…``) and the rule it settles.  Cases are real
:class:`~mrecist_tool.model.Case` objects assessed by :func:`assess_case`; endpoints are derived
from the ``subjects.csv`` row the engine writes (so the columns the endpoints read are tested
too).

Standard course unless told otherwise: randomisation on day 0 (2021-01-04), baseline CT on day
-5, one liver target L1 of 20 mm ablated on day 14, first follow-up on day 50 (36 days after the
ablation, inside the 21–56 day technique-efficacy window).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from casebuilder import build

from mrecist_tool.model import Case
from mrecist_tool.pipeline import endpoints as ep
from mrecist_tool.pipeline.tables import subject_row
from mrecist_tool.rules import PROFILES, CaseAssessment, Settings, assess_case, excess_targets, profile_settings

ORIGIN = date(2021, 1, 4)


def day(n: int) -> str:
    return (ORIGIN + timedelta(days=n)).isoformat()


def course(
    visits: dict[int, dict[str, Any]],
    *,
    lesions: dict[str, Any] | None = None,
    baseline: dict[str, Any] | None = None,
    procedures: list[tuple[str, str, int, list[str]]] | None = None,
    subject: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    tp_extra: dict[int, dict[str, Any]] | None = None,
) -> Case:
    """``visits``: study day -> {lesion: observation}; the baseline is on day -5."""
    tps: list[Any] = [("BL", day(-5))]
    obs: dict[tuple[str, str], Any] = {(lid, "BL"): v for lid, v in (baseline or {"L1": "20"}).items()}
    for i, (n, seen) in enumerate(sorted(visits.items()), start=1):
        extra = (tp_extra or {}).get(n)
        tps.append((f"FU{i}", day(n), extra) if extra else (f"FU{i}", day(n)))
        for lid, value in seen.items():
            obs[(lid, f"FU{i}")] = value
    if procedures is None:
        procedures = [("A1", "ablation", 14, ["L1"])]
    procs = [(pid, kind, day(n), ls) for pid, kind, n, ls in procedures]
    subj = {"randomization_date": day(0), **(subject or {})}
    return build(
        tps=tps,
        lesions=lesions or {"L1": "target", "E1": {"role": "new", "organ": "lung"}},
        obs=obs,
        procedures=procs,
        subject=subj,
        settings=settings,
    )


def endpoints(case: Case, **endpoint_settings: Any) -> dict[str, dict[str, Any]]:
    a = assess_case(case)
    settings = a.settings.updated(endpoint_settings) if endpoint_settings else a.settings
    rows = ep.subject_endpoints(subject_row(a), settings)
    rows += [r for ab in _ablation_rows(a) for r in ep.tumour_endpoints(ab, subject_row(a), settings)]
    return {(r["endpoint"] + (":" + r["lesion"] if r["lesion"] else "")): r for r in rows}


def _ablation_rows(a: CaseAssessment) -> list[dict[str, str]]:
    from mrecist_tool.pipeline.tables import ablation_rows

    return ablation_rows(a)


def coded(row: dict[str, Any]) -> tuple[Any, Any]:
    return row["time_days"], row["event"]


SENSITIVITY = {"missed_assessments_policy": "censor_before_gap"}
CLEAN = {"L1": "absent"}


# -- §11.1 nodal targets under mRECIST --------------------------------------------------------------


@pytest.mark.parametrize(("short_axis", "expected"), [("9.9", "CR"), ("10", "PR"), ("10.0", "PR")])
def test_11_1_nodal_target_disappeared_below_10mm_under_mrecist(short_axis: str, expected: str) -> None:
    """MR-T1 with REC-T1's node rule: a nodal target counts as gone when its short axis is < 10 mm;
    the short axis stays in the sum (REC-S1)."""
    case = course(
        {50: {"L1": "absent", "LN": short_axis}},
        lesions={"L1": "target", "LN": {"role": "target", "kind": "node", "organ": "lymph node"}},
        baseline={"L1": "20", "LN": "18"},
        procedures=[],
    )
    r = assess_case(case).timepoint("FU1")
    assert r.target is not None and r.target.category == expected
    assert str(r.target_sum_mm) == short_axis


# -- §11.2 excess targets ----------------------------------------------------------------------------


@pytest.mark.parametrize(("n_liver", "warned"), [(2, False), (3, True)])
def test_11_2_excess_targets_per_organ_warned_and_all_assessed(n_liver: int, warned: bool) -> None:
    lesions = {f"L{i}": "target" for i in range(1, n_liver + 1)}
    case = course(
        {50: {lid: "10" for lid in lesions}},
        lesions=lesions,
        baseline={lid: "20" for lid in lesions},
        procedures=[],
    )
    a = assess_case(case)
    assert a.timepoint("FU1").target_sum_mm == 10 * n_liver, "every recorded target is assessed"
    found = excess_targets(case)
    assert bool(found) is warned
    assert all(f.rule == "MR-B3" for f in found)
    for r in a.timepoints:
        assert any("per organ" in f for f in r.flags) is warned, "§11.2: in the timepoint flags"


@pytest.mark.parametrize(("n_targets", "warned"), [(5, False), (6, True)])
def test_11_2_excess_targets_in_total(n_targets: int, warned: bool) -> None:
    organs = ["liver", "liver", "lung", "lung", "adrenal", "bone"]
    lesions = {f"L{i}": {"role": "target", "organ": organs[i]} for i in range(n_targets)}
    case = course({50: {}}, lesions=lesions, baseline={lid: "20" for lid in lesions}, procedures=[])
    messages = [f.message for f in excess_targets(case)]
    assert any("more than the maximum of 5" in m for m in messages) is warned


@pytest.mark.parametrize(("n_liver", "warned"), [(2, False), (3, True)])
def test_11_2_validate_prints_the_excess_targets_warning_and_accepts_the_case(
    n_liver: int, warned: bool, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """§11.2 through the command line: `mrecist validate` shows the warning (exit 0, the case is
    valid), and `assess` assesses every target."""
    import copy
    import json
    from pathlib import Path

    from mrecist_tool.cli.main import main

    data = json.loads((Path(__file__).resolve().parent.parent / "sample_data" / "cases" / "CRLM-S001.json").read_text())
    assert [les["id"] for les in data["lesions"] if les["role"] == "target" and les["organ"] == "liver"] == ["L1", "L2"]
    if n_liver == 3:
        extra = copy.deepcopy(next(les for les in data["lesions"] if les["id"] == "L1"))
        extra["id"] = "L9"
        data["lesions"].append(extra)
        for obs in [o for o in data["observations"] if o["lesion"] == "L1"]:
            data["observations"].append({**copy.deepcopy(obs), "lesion": "L9"})
        for proc in data["procedures"]:
            if "L1" in proc.get("lesions", []):
                proc["lesions"].append("L9")
    path = tmp_path / "case.json"
    path.write_text(json.dumps(data))
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert ("3 target lesions in liver (L1, L2, L9), more than 2 per organ" in out + err) is warned
    assert ("[MR-B3]" in out + err) is warned
    assert main(["assess", str(path), "--out", str(tmp_path / "out"), "--print", "never"]) == 0


# -- §11.3 confirmed CR for REC-N5 / APP-4 without confirmation ---------------------------------------


@pytest.mark.parametrize(("second_cr_day", "expected"), [(77, "PR"), (78, "PD"), (79, "PD")])
def test_11_3_definitive_CR_needs_two_CRs_28_days_apart_even_without_confirmation(
    second_cr_day: int, expected: str
) -> None:
    """Overall CR on day 50 and again on day 77/78/79; then viable tissue at the ablated
    non-target's zone.  Two CRs ≥ 28 days apart make the CR definitive (REC-N5), so the
    reappearance is PD (APP-4); 27 days apart is not, so the non-target only returns to IR/SD."""
    case = course(
        {
            50: {"L1": "absent", "N1": "absent"},
            second_cr_day: {"L1": "absent", "N1": "absent"},
            140: {"L1": "absent", "N1": {"size": "6", "gap_to_ablation_zone_mm": "0"}},
        },
        lesions={"L1": "target", "N1": "non-target"},
        baseline={"L1": "20", "N1": "present"},
        procedures=[("A1", "ablation", 14, ["L1", "N1"])],
    )
    a = assess_case(case)
    assert a.settings.confirmation_required is False
    assert a.timepoint("FU3").overall.category == expected  # type: ignore[union-attr]


# -- §11.4 APP-2 size floor ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "size", "expected"),
    [
        ("size_and_pattern", "9.9", "equivocal"),
        ("size_and_pattern", "10", "yes"),
        ("size_and_pattern", "10.1", "yes"),
        ("recist_unequivocal", "5", "yes"),
        ("recist_unequivocal", "9.9", "yes"),
    ],
)
def test_11_4_new_liver_lesion_size_floor_only_for_size_and_pattern(rule: str, size: str, expected: str) -> None:
    case = course(
        {50: {"L1": "15", "X1": {"size": size, "enhancement": "typical"}}},
        lesions={"L1": "target", "X1": {"role": "new", "organ": "liver"}},
        procedures=[],
        settings={"new_lesion_rule_liver": rule},
    )
    assert assess_case(case).timepoint("FU1").new_lesions.category == expected


# -- §11.7 MR-T7 recist_like ------------------------------------------------------------------------


@pytest.mark.parametrize("pd_abs_min_mm", [0, 8])
@pytest.mark.parametrize(("size", "expected"), [("4.9", "PR"), ("5", "PD"), ("5.1", "PD")])
def test_11_7_recist_like_uses_5mm_whatever_pd_abs_min_mm(pd_abs_min_mm: int, size: str, expected: str) -> None:
    case = course(
        {50: {"L1": "absent"}, 140: {"L1": {"size": size}}},
        procedures=[],
        settings={"nadir_zero_policy": "recist_like", "pd_abs_min_mm": pd_abs_min_mm},
    )
    assert assess_case(case).timepoint("FU2").overall.category == expected  # type: ignore[union-attr]


# -- §11.9 and §11.14: every path into an event or a competing death under END-GEN-4 -----------------
#
# Last adequate assessment on day 90 (FU2).  Visits are due on days 180, 270, 360, … (every 90
# days to day 730); a visit is missed once its window (due + 45 days) closed before the event.
# An event on day 314 or 315 follows one missed visit (day 180; day 270's window closes on day 315
# itself, not before); on day 316, two.


def quiet_then(event_day: int, event: dict[str, Any] | None = None, **subject: Any) -> Case:
    visits: dict[int, dict[str, Any]] = {50: CLEAN, 90: CLEAN}
    if event is not None:
        visits[event_day] = event
    return course(visits, subject=subject or None)


@pytest.mark.parametrize(("event_day", "censored"), [(314, False), (315, False), (316, True)])
def test_11_14_END_GEN_4_imaging_recurrence_after_two_missed_visits(event_day: int, censored: bool) -> None:
    """The gap is measured from the last adequate assessment before the event scan (the old
    defect measured it from the event scan itself, so the rule never fired)."""
    case = quiet_then(event_day, {"L1": "absent", "E1": {"size": "12"}})
    primary = endpoints(case)["DFS"]
    assert coded(primary) == (event_day, 1)
    assert ("END-GEN-4" in primary["flags"]) is censored
    sens = endpoints(case, **SENSITIVITY)["DFS"]
    assert coded(sens) == ((90, 0) if censored else (event_day, 1))


@pytest.mark.parametrize(("event_day", "censored"), [(314, False), (315, False), (316, True)])
def test_11_9_registry_DFS_other_cause_death_competing_then_censored_in_sensitivity(
    event_day: int, censored: bool
) -> None:
    case = quiet_then(event_day, death=(day(event_day), "other"), last_known_alive=day(event_day))
    primary = endpoints(case)["DFS"]
    assert coded(primary) == (event_day, 2), "competing in the primary analysis, also after missed visits"
    sens = endpoints(case, **SENSITIVITY)["DFS"]
    assert coded(sens) == ((90, 0) if censored else (event_day, 2))


@pytest.mark.parametrize("cause", ["cancer", "unknown"])
@pytest.mark.parametrize(("event_day", "censored"), [(314, False), (315, False), (316, True)])
def test_11_9_registry_DFS_disease_death_after_missed_visits(cause: str, event_day: int, censored: bool) -> None:
    case = quiet_then(event_day, death=(day(event_day), cause))
    assert coded(endpoints(case)["DFS"]) == (event_day, 1)
    assert coded(endpoints(case, **SENSITIVITY)["DFS"]) == ((90, 0) if censored else (event_day, 1))


def test_11_9_datecan_DFS_any_death_after_missed_visits() -> None:
    case = quiet_then(400, death=(day(400), "other"))
    assert coded(endpoints(case, dfs_definition="datecan")["DFS"]) == (400, 1)
    assert coded(endpoints(case, dfs_definition="datecan", **SENSITIVITY)["DFS"]) == (90, 0)


def test_11_9_a_study_on_the_day_of_death_is_an_assessment_before_it() -> None:
    case = course({50: CLEAN, 90: CLEAN, 400: CLEAN}, subject={"death": (day(400), "other")})
    assert coded(endpoints(case, **SENSITIVITY)["DFS"]) == (400, 2)


@pytest.mark.parametrize(("event_day", "censored"), [(314, False), (315, False), (316, True)])
def test_11_14_patient_LTP_and_LTPFS_after_missed_visits(event_day: int, censored: bool) -> None:
    case = quiet_then(event_day, {"L1": {"size": "8", "gap_to_ablation_zone_mm": "0"}})
    primary = endpoints(case)
    assert coded(primary["LTP"]) == (event_day, 1)
    assert coded(primary["LTPFS"]) == (event_day, 1)
    sens = endpoints(case, **SENSITIVITY)
    for name in ("LTP", "LTPFS", "DFS"):
        assert coded(sens[name]) == ((90, 0) if censored else (event_day, 1)), name


@pytest.mark.parametrize(("event_day", "censored"), [(314, False), (315, False), (316, True)])
def test_11_14_patient_LTP_competing_death_and_LTPFS_death_after_missed_visits(event_day: int, censored: bool) -> None:
    case = quiet_then(event_day, death=(day(event_day), "other"))
    primary = endpoints(case)
    assert coded(primary["LTP"]) == (event_day, 2)
    assert coded(primary["LTPFS"]) == (event_day, 1)
    sens = endpoints(case, **SENSITIVITY)
    assert coded(sens["LTP"]) == ((90, 0) if censored else (event_day, 2))
    assert coded(sens["LTPFS"]) == ((90, 0) if censored else (event_day, 1))


def test_11_9_OS_and_CSS_are_never_censored_for_missed_visits() -> None:
    case = quiet_then(600, death=(day(600), "cancer"))
    sens = endpoints(case, **SENSITIVITY)
    assert coded(sens["OS"]) == (600, 1)
    assert coded(sens["CSS"]) == (600, 1)


# -- §11.13 the schedule changes over time -----------------------------------------------------------


@pytest.mark.parametrize(("death_day", "censored"), [(1100, False), (1179, False), (1180, False), (1181, True)])
def test_11_13_default_schedule_six_monthly_after_day_730(death_day: int, censored: bool) -> None:
    """Last study on day 730; visits due on days 910, 1090, … (every 180 days).  Death on day 1100
    follows one missed six-monthly visit: not censored (a fixed 90-day interval would count three).
    Day 1090's window closes on day 1180."""
    case = course({50: CLEAN, 730: CLEAN}, subject={"death": (day(death_day), "other")})
    assert coded(endpoints(case, **SENSITIVITY)["DFS"]) == ((730, 0) if censored else (death_day, 2))


def test_11_13_assessment_schedule_setting() -> None:
    case = course({50: CLEAN, 730: CLEAN}, subject={"death": (day(1100), "other")})
    fixed = endpoints(case, assessment_schedule=[[90, None]], **SENSITIVITY)["DFS"]
    assert coded(fixed) == (730, 0)
    assert Settings().assessment_schedule == ((90, 730), (180, None))
    from mrecist_tool.rules.criteria import parse_setting_text

    assert parse_setting_text("assessment_schedule", "90:730,180") == ((90, 730), (180, None))
    assert parse_setting_text("assessment_schedule", "[[90, 730], [180, null]]") == ((90, 730), (180, None))
    assert parse_setting_text("assessment_schedule", "60") == ((60, None),)


def test_11_13_due_dates_of_the_default_schedule() -> None:
    due = [(d - ORIGIN).days for d, _ in ep.due_assessments(ORIGIN, ((90, 730), (180, None)), ORIGIN + timedelta(days=1300))]
    assert due == [90, 180, 270, 360, 450, 540, 630, 720, 910, 1090, 1270]


def test_11_13_a_schedule_ending_on_day_720_starts_the_six_monthly_visits_from_there() -> None:
    """The project's reading of §11.13 (docs/rules.md): a segment's visits are due at multiples
    of its interval from the end of the previous segment, so the default's six-monthly visits
    start from day 730 (910, 1090, …) and not from the last 90-day visit on day 720; a protocol
    that means day 720 says so, and gets 900, 1080, …"""
    due = [(d - ORIGIN).days for d, _ in ep.due_assessments(ORIGIN, ((90, 720), (180, None)), ORIGIN + timedelta(days=1300))]
    assert due == [90, 180, 270, 360, 450, 540, 630, 720, 900, 1080, 1260]
    from mrecist_tool.rules.reference import DECISIONS

    text = DECISIONS[13]
    assert "910, 1090" in text and "[[90, 720], [180, null]]" in text and "900, 1080" in text


@pytest.mark.parametrize(("death_day", "censored"), [(1169, False), (1170, False), (1171, True)])
def test_11_13_schedule_ending_on_day_720_at_its_boundary(death_day: int, censored: bool) -> None:
    """Last study on day 720 under [[90, 720], [180, null]]: visits due on days 900 and 1080; day
    1080's window closes on day 1170 (1080 + 90), so a death on day 1171 follows two missed visits."""
    case = course({50: CLEAN, 720: CLEAN}, subject={"death": (day(death_day), "other")})
    dfs = endpoints(case, assessment_schedule=[[90, 720], [180, None]], **SENSITIVITY)["DFS"]
    assert coded(dfs) == ((720, 0) if censored else (death_day, 2))


@pytest.mark.parametrize(
    "bad", [[[0, 10]], [[90, None], [180, None]], [[90, 730], [180, 700]], [[90]], [], "90:730", [["90", 730]], [[90.5, None]]]
)
def test_11_13_schedule_values_are_checked(bad: Any) -> None:
    from mrecist_tool.errors import SettingsError

    with pytest.raises(SettingsError):
        Settings().updated({"assessment_schedule": bad})


# -- §11.15 OS censoring -------------------------------------------------------------------------------


def test_11_15_OS_censored_at_the_latest_of_last_known_alive_and_every_study() -> None:
    case = course({50: CLEAN, 300: CLEAN}, subject={"last_known_alive": day(200)})
    assert coded(endpoints(case)["OS"]) == (300, 0)
    later = course({50: CLEAN, 300: CLEAN}, subject={"last_known_alive": day(400)})
    assert coded(endpoints(later)["OS"]) == (400, 0)


# -- §11.16 patient-level LTP risk set -----------------------------------------------------------------


def test_11_16_patient_whose_only_tumour_is_excluded_has_no_LTP_row() -> None:
    """L1 residual at the first follow-up (END-LTP-2: excluded from the primary LTP analysis),
    re-ablated, clean, then LTP: no patient-level LTP/LTPFS, but DFS counts the recurrence."""
    case = course(
        {50: {"L1": {"size": "8", "gap_to_ablation_zone_mm": "0"}}, 140: CLEAN, 230: {"L1": {"size": "7"}}},
        procedures=[("A1", "ablation", 14, ["L1"]), ("A2", "ablation", 60, ["L1"])],
    )
    e = endpoints(case)
    for name in ("LTP", "LTPFS"):
        assert e[name]["event"] == "" and e[name]["time_days"] == "", name
        assert "§11.16" in e[name]["rules"]
    assert coded(e["DFS"]) == (230, 1)
    a = assess_case(case)
    columns = ep.endpoint_columns(subject_row(a), a.settings)
    assert columns["ltp_event"] == "" and columns["ltpfs_event"] == ""


def test_11_16_excluded_tumour_adds_no_event_to_the_patient() -> None:
    """L1 in the primary risk set (complete at FU1), L2 excluded (residual, re-ablated); L2's LTP
    is not a patient-level LTP event; the patient stays censored on L1."""
    case = course(
        {
            50: {"L1": "absent", "L2": {"size": "8", "gap_to_ablation_zone_mm": "0"}},
            140: {"L1": "absent", "L2": "absent"},
            230: {"L1": "absent", "L2": {"size": "7"}},
        },
        lesions={"L1": "target", "L2": "target"},
        baseline={"L1": "20", "L2": "15"},
        procedures=[("A1", "ablation", 14, ["L1", "L2"]), ("A2", "ablation", 60, ["L2"])],
    )
    e = endpoints(case)
    assert coded(e["LTP"]) == (230, 0)
    a = assess_case(case)
    assert a.events.first_ltp_date == ORIGIN + timedelta(days=230)  # subjects.csv first_ltp_date
    assert a.events.first_ltp_primary_date is None


# -- §11.17 LTP censoring -------------------------------------------------------------------------------


def test_11_17_patient_LTP_censored_at_the_last_study_imaging_every_zone_at_risk() -> None:
    """Day 230: overall PR (target CR, the ablated non-target N1 not evaluated), an adequate
    assessment for DFS, but N1's zone was not imaged: patient LTP and LTPFS are censored on day
    140, as N1's tumour row; DFS on day 230."""
    case = course(
        {
            50: {"L1": "absent", "N1": "absent"},
            140: {"L1": "absent", "N1": "absent"},
            230: {"L1": "absent", "N1": "not-evaluable"},
        },
        lesions={"L1": "target", "N1": "non-target"},
        baseline={"L1": "20", "N1": "present"},
        procedures=[("A1", "ablation", 14, ["L1", "N1"])],
    )
    e = endpoints(case)
    assert assess_case(case).timepoint("FU3").overall.category == "PR"  # type: ignore[union-attr]
    assert coded(e["DFS"]) == (230, 0)
    assert coded(e["LTP"]) == (140, 0)
    assert coded(e["LTPFS"]) == (140, 0)
    assert e["LTP_TUMOUR:N1"]["end_date"] == day(140)
    assert e["LTP_TUMOUR:L1"]["end_date"] == day(230)


def test_11_17_a_resected_zone_is_no_longer_needed_for_patient_LTP_censoring() -> None:
    """§11.17 with §11.18: N1's zone is resected on day 100, so it is no longer at risk; later
    studies that cannot image it (day 140, 230) still count for patient-level LTP and LTPFS, which
    are censored at day 230 with L1's tumour row; N1's row is censored at its resection."""
    case = course(
        {
            50: {"L1": "absent", "N1": "absent"},
            140: {"L1": "absent", "N1": "not-evaluable"},
            230: {"L1": "absent", "N1": "not-evaluable"},
        },
        lesions={"L1": "target", "N1": "non-target"},
        baseline={"L1": "20", "N1": "present"},
        procedures=[("A1", "ablation", 14, ["L1", "N1"]), ("R1", "resection", 100, ["N1"])],
    )
    e = endpoints(case)
    assert coded(e["LTP_TUMOUR:N1"]) == (100 - 14, 0)
    assert e["LTP_TUMOUR:L1"]["end_date"] == day(230)
    assert coded(e["LTP"]) == (230, 0)
    assert coded(e["LTPFS"]) == (230, 0)


# -- §11.18 resection ---------------------------------------------------------------------------------


def test_11_18_resection_censors_tumour_and_patient_LTP() -> None:
    case = course(
        {50: CLEAN, 200: CLEAN},
        procedures=[("A1", "ablation", 14, ["L1"]), ("R1", "resection", 100, ["L1"])],
        subject={"death": (day(300), "other")},
    )
    e = endpoints(case)
    assert coded(e["LTP_TUMOUR:L1"]) == (100 - 14, 0)
    assert coded(e["LTPFS_TUMOUR:L1"]) == (100 - 14, 0)
    assert coded(e["LTP"]) == (100, 0), "no zone at risk after the resection: the later death is not competing"
    assert coded(e["LTPFS"]) == (100, 0)
    assert coded(e["OS"]) == (300, 1)


# -- §11.10 unknown cause of death in registry DFS ---------------------------------------------------


@pytest.mark.parametrize(("policy", "code"), [("cancer", 1), ("other", 2)])
def test_11_10_unknown_cause_of_death_follows_css_unknown_cause(policy: str, code: int) -> None:
    case = course({50: CLEAN}, subject={"death": (day(200), "unknown")})
    assert coded(endpoints(case, css_unknown_cause=policy)["DFS"]) == (200, code)


# -- §11.11 study on the ablation day -------------------------------------------------------------


def test_11_11_study_on_the_ablation_day_is_never_the_first_follow_up() -> None:
    """A clean study on the day of the ablation, then viable tissue at the first follow-up inside
    the window: residual tumour (ABL-4), not LTP."""
    case = course({14: CLEAN, 50: {"L1": {"size": "8", "gap_to_ablation_zone_mm": "0"}}})
    a = assess_case(case)
    (zone,) = a.ablations
    assert zone.residual_date == ORIGIN + timedelta(days=50) and zone.ltp_date is None
    assert zone.technique_efficacy == "primary-failure"


def test_11_11_study_on_a_re_ablation_day_does_not_clear_residual_tumour() -> None:
    """Residual on day 50, re-ablated on day 60 with a clean study that same day, clean on day 140:
    assisted technique efficacy (the day-60 study is technical-success imaging)."""
    case = course(
        {50: {"L1": {"size": "8", "gap_to_ablation_zone_mm": "0"}}, 60: CLEAN, 140: CLEAN},
        procedures=[("A1", "ablation", 14, ["L1"]), ("A2", "ablation", 60, ["L1"])],
    )
    (zone,) = assess_case(case).ablations
    assert [s.status for s in zone.states] == ["residual", "complete", "complete"]
    assert zone.states[1].rules == ("ABL-2",)
    assert zone.technique_efficacy == "assisted-success"
    assert zone.ltp_origin_date == ORIGIN + timedelta(days=60)


# -- §11.12 LTP, repeat ablation, clean study -----------------------------------------------------


def test_11_12_LTP_reablated_then_clean_is_complete_again_first_LTP_date_kept() -> None:
    case = course(
        {50: CLEAN, 140: {"L1": {"size": "8", "gap_to_ablation_zone_mm": "0"}}, 230: CLEAN},
        procedures=[("A1", "ablation", 14, ["L1"]), ("A2", "ablation", 160, ["L1"])],
    )
    a = assess_case(case)
    (zone,) = a.ablations
    assert [s.status for s in zone.states] == ["complete", "ltp", "complete"]
    assert "END-LTP-5" in zone.states[2].rules
    assert zone.ltp_date == ORIGIN + timedelta(days=140) == a.events.first_ltp_date


# -- §11.19 never disease-free ------------------------------------------------------------------------


@pytest.mark.parametrize(("l2", "never"), [("12", True), ("too-small", True), ("absent", False)])
def test_11_19_target_never_ablated_still_viable_is_never_disease_free(l2: str, never: bool) -> None:
    case = course(
        {50: {"L1": "absent", "L2": l2}, 140: {"L1": "absent", "L2": "absent"}},
        lesions={"L1": "target", "L2": "target"},
        baseline={"L1": "20", "L2": "15"},
    )
    a = assess_case(case)
    assert a.events.never_disease_free is never
    dfs = endpoints(case)["DFS"]
    assert coded(dfs) == ((0, 1) if never else (140, 0))
    if never:
        assert "END-DFS-4" in dfs["rules"]
        assert any("§11.19" in f for f in a.flags)


def test_11_19_not_applied_without_a_local_treatment() -> None:
    case = course({50: {"L1": "15"}}, procedures=[])
    assert assess_case(case).events.never_disease_free is False


def test_11_19_judged_after_the_treatment_phase_not_before() -> None:
    """L2 still 12 mm on day 30 (16 days after the ablation, before the window) but gone on day
    50: not never disease-free."""
    case = course(
        {30: {"L1": "absent", "L2": "12"}, 50: {"L1": "absent", "L2": "absent"}},
        lesions={"L1": "target", "L2": "target"},
        baseline={"L1": "20", "L2": "15"},
    )
    assert assess_case(case).events.never_disease_free is False


# -- §11.20 and §11.21 profiles -------------------------------------------------------------------------


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_11_20_dfs_definition_registry_by_default_datecan_in_every_profile(profile: str) -> None:
    s = profile_settings(profile)
    assert s.dfs_definition == "registry"
    assert s.updated({"dfs_definition": "datecan"}).dfs_definition == "datecan"


def test_11_21_trial_profile() -> None:
    s = profile_settings("nct04562727")
    assert s.new_lesion_rule_liver == "recist_unequivocal"
    assert s.viability_phase == "any"
    assert s.dfs_definition == "registry"


@pytest.mark.parametrize(("second_cr_day", "expected"), [(77, "PR"), (78, "PD")])
def test_11_3_REC_N5_non_target_back_after_a_definitive_CR_is_PD(second_cr_day: int, expected: str) -> None:
    """A non-target (never ablated) gone on days 50 and 77/78, back on day 140: PD only after two
    overall CRs at least 28 days apart (REC-N5 with §11.3); otherwise CR then PR (REC-C5)."""
    case = course(
        {
            50: {"L1": "absent", "N1": "absent"},
            second_cr_day: {"L1": "absent", "N1": "absent"},
            140: {"L1": "absent", "N1": "present"},
        },
        lesions={"L1": "target", "N1": "non-target"},
        baseline={"L1": "20", "N1": "present"},
    )
    r = assess_case(case).timepoint("FU3")
    assert r.overall is not None and r.overall.category == expected
    assert r.nontarget is not None and r.nontarget.category == ("PD" if expected == "PD" else "IR/SD")
