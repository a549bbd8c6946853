"""The project's readings of endpoint rules that the wording leaves open (docs/rules.md, "The
project's readings"), each at its boundaries, through the whole engine and the endpoint rows.

* END-GEN-4 for the per-tumour rows (§11.9): the sensitivity analysis censors them too;
* END-LTP-2 / PJ-2: a tumour without any adequate follow-up is in the LTP risk set;
* END-DFS-4: residual tumour re-treated after ``dfs_retreatment_window_days``;
* END-LTP-5: ``LOCAL_CONTROL_TUMOUR`` from the last ablation of the site;
* PJ-1 / PJ-4: ``DISTANT``, time to distant progression.

Standard course (see test_rules_section11.py): randomisation on day 0, baseline on day -5, one
liver target L1 ablated on day 14, the technique-efficacy window 21–56 days.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from test_rules_section11 import CLEAN, ORIGIN, SENSITIVITY, coded, course, day, endpoints

from mrecist_tool.errors import SettingsError
from mrecist_tool.model import Case
from mrecist_tool.pipeline import endpoints as ep
from mrecist_tool.pipeline.tables import ablation_rows, subject_row
from mrecist_tool.rules import Settings, assess_case
from mrecist_tool.rules.criteria import PARAMS, coerce_value, parse_setting_text

FOCUS = {"L1": {"size": "8", "gap_to_ablation_zone_mm": "0"}}
TUMOUR_ROWS = ("LTP_TUMOUR:L1", "LTP_TUMOUR_ASSISTED:L1", "LTPFS_TUMOUR:L1", "LOCAL_CONTROL_TUMOUR:L1")


# -- END-GEN-4 per tumour ------------------------------------------------------------------------
# Clean studies on days 50 and 90; visits due on days 180 and 270 (every 90 days from
# randomisation) count as missed once their windows close on days 225 and 315.  An event on day
# 315 follows one missed visit, on day 316 two.


@pytest.mark.parametrize(("event_day", "censored"), [(314, False), (315, False), (316, True)])
def test_END_GEN_4_per_tumour_LTP_after_two_missed_visits(event_day: int, censored: bool) -> None:
    case = course({50: CLEAN, 90: CLEAN, event_day: FOCUS})
    primary = endpoints(case)
    for name in TUMOUR_ROWS:
        assert coded(primary[name]) == (event_day - 14, 1), name
        assert ("END-GEN-4" in primary[name]["rules"]) is censored, name
    sens = endpoints(case, **SENSITIVITY)
    for name in TUMOUR_ROWS:
        assert coded(sens[name]) == ((90 - 14, 0) if censored else (event_day - 14, 1)), name
        assert sens[name]["end_date"] == day(90 if censored else event_day), name


@pytest.mark.parametrize(("event_day", "censored"), [(314, False), (315, False), (316, True)])
def test_END_GEN_4_per_tumour_competing_death_after_two_missed_visits(event_day: int, censored: bool) -> None:
    case = course({50: CLEAN, 90: CLEAN}, subject={"death": (day(event_day), "other")})
    primary = endpoints(case)
    assert coded(primary["LTP_TUMOUR:L1"]) == (event_day - 14, 2)
    assert coded(primary["LTPFS_TUMOUR:L1"]) == (event_day - 14, 1)
    assert coded(primary["LOCAL_CONTROL_TUMOUR:L1"]) == (event_day - 14, 2)
    sens = endpoints(case, **SENSITIVITY)
    assert coded(sens["LTP_TUMOUR:L1"]) == ((76, 0) if censored else (event_day - 14, 2))
    assert coded(sens["LTPFS_TUMOUR:L1"]) == ((76, 0) if censored else (event_day - 14, 1))
    assert coded(sens["OS"]) == (event_day, 1), "OS is never censored for missed visits"


def test_END_GEN_4_per_tumour_gap_counts_from_the_zone_imaging() -> None:
    """Day 180: the overall assessment is adequate but L1's zone was not imaged (L1 is a
    non-target, not evaluable there); the gap of the tumour row runs from day 90, its last
    imaging: visits 180 and 270 missed for the zone before the LTP on day 316."""
    case = course(
        {50: {"L1": "absent", "T1": "10"}, 90: {"L1": "absent", "T1": "10"},
         180: {"L1": "not-evaluable", "T1": "10"}, 316: {"L1": {"size": "8", "gap_to_ablation_zone_mm": "0"},
                                                          "T1": "10"}},
        lesions={"T1": "target", "L1": "non-target"},
        baseline={"T1": "12", "L1": "present"},
    )
    sens = endpoints(case, **SENSITIVITY)
    assert coded(sens["LTP_TUMOUR:L1"]) == (76, 0)
    assert "zone" in sens["LTP_TUMOUR:L1"]["flags"]


def test_END_GEN_4_a_zone_imaged_on_the_day_of_death_counts_before_it() -> None:
    case = course({50: CLEAN, 90: CLEAN, 400: CLEAN}, subject={"death": (day(400), "other")})
    assert coded(endpoints(case, **SENSITIVITY)["LTP_TUMOUR:L1"]) == (386, 2)


# -- END-LTP-2 / PJ-2: a tumour without follow-up -------------------------------------------------


@pytest.mark.parametrize(("death_day", "expected_tumour"), [(14, (0, 2)), (40, (26, 2))])
def test_END_LTP_2_tumour_dying_before_any_follow_up_is_a_competing_death(
    death_day: int, expected_tumour: tuple[int, int]
) -> None:
    case = course({}, subject={"death": (day(death_day), "cancer")})
    (zone,) = assess_case(case).ablations
    assert zone.technique_efficacy == "not-evaluable"
    e = endpoints(case)
    assert coded(e["LTP_TUMOUR:L1"]) == expected_tumour
    assert coded(e["LTP_TUMOUR_ASSISTED:L1"]) == expected_tumour
    assert coded(e["LTPFS_TUMOUR:L1"]) == (expected_tumour[0], 1)
    assert coded(e["LTP"]) == (death_day, 2)
    assert coded(e["LTPFS"]) == (death_day, 1)
    assert "END-LTP-2" in e["LTP_TUMOUR:L1"]["rules"] and "PJ-2" in e["LTP_TUMOUR:L1"]["rules"]


def test_END_LTP_2_a_clean_follow_up_on_the_day_of_death_makes_the_tumour_followed() -> None:
    """The other side: a study on day 40 (26 days after the ablation, inside the window) shows
    complete ablation; the death that day competes as for any followed tumour."""
    case = course({40: CLEAN}, subject={"death": (day(40), "other")})
    (zone,) = assess_case(case).ablations
    assert zone.technique_efficacy == "primary-success"
    e = endpoints(case)
    assert coded(e["LTP_TUMOUR:L1"]) == (26, 2)
    assert "no adequate follow-up" not in e["LTP_TUMOUR:L1"]["flags"]


def test_END_LTP_2_tumour_without_follow_up_alive_is_censored_at_its_ablation() -> None:
    """No adequate imaging of the zone (the only follow-up has no contrast), patient alive: the
    tumour rows are censored at the ablation (no time), the patient row at the ablation too."""
    case = course({60: {"L1": "absent"}}, subject={"last_known_alive": day(300)},
                  tp_extra={60: {"series": ["non-contrast"]}})
    (zone,) = assess_case(case).ablations
    assert zone.technique_efficacy == "not-evaluable" and zone.last_adequate_imaging_date is None
    e = endpoints(case)
    for name in ("LTP_TUMOUR:L1", "LTPFS_TUMOUR:L1", "LTP_TUMOUR_ASSISTED:L1"):
        assert coded(e[name]) == (0, 0), name
        assert e[name]["end_date"] == day(14), name
    assert coded(e["LTP"]) == (0, 0), "no adequate assessment at all: day 0 (END-GEN-3)"
    assert coded(e["OS"]) == (300, 0)


def test_END_LTP_2_patient_whose_only_zone_was_never_followed_is_censored_at_the_ablation() -> None:
    """The patient is assessed (target T1 gone on days 60 and 150) but L1's zone never: the
    patient-level LTP ends with the zone's risk, at the ablation on day 14 (as L1's row)."""
    case = course(
        {60: {"T1": "absent", "L1": "not-evaluable"}, 150: {"T1": "absent", "L1": "not-evaluable"}},
        lesions={"T1": "target", "L1": "non-target"},
        baseline={"T1": "12", "L1": "present"},
    )
    e = endpoints(case)
    assert coded(e["LTP_TUMOUR:L1"]) == (0, 0)
    assert coded(e["LTP"]) == (14, 0)
    assert coded(e["LTPFS"]) == (14, 0)
    assert coded(e["DFS"]) == (150, 0)


def test_END_LTP_2_zone_never_followed_does_not_hold_back_the_patient_censoring() -> None:
    """L1 complete at every study; L2 (a non-target) never evaluable: L2 is in the risk set but,
    never followed, cannot show LTP (ABL-5): the patient's LTP is censored on L1's last study."""
    case = course(
        {50: {"L1": "absent", "L2": "not-evaluable"}, 140: {"L1": "absent", "L2": "not-evaluable"}},
        lesions={"L1": "target", "L2": "non-target"},
        baseline={"L1": "20", "L2": "present"},
        procedures=[("A1", "ablation", 14, ["L1", "L2"])],
    )
    e = endpoints(case)
    assert coded(e["LTP_TUMOUR:L2"]) == (0, 0)
    assert coded(e["LTP_TUMOUR:L1"]) == (126, 0)
    assert coded(e["LTP"]) == (140, 0)


def test_END_LTP_2_residual_tumour_is_still_excluded() -> None:
    case = course({50: FOCUS, 140: FOCUS})
    e = endpoints(case)
    assert e["LTP_TUMOUR:L1"]["event"] == "" and "residual" in e["LTP_TUMOUR:L1"]["event_type"]
    assert e["LOCAL_CONTROL_TUMOUR:L1"]["event"] == ""


# -- END-DFS-4: re-treatment of residual tumour within the window ------------------------------------


def residual_reablated(reablation_after_ablation: int, **settings: Any) -> Case:
    """Residual on day 50, re-ablated ``reablation_after_ablation`` days after the day-14
    ablation, clean 40 and 130 days after the re-ablation."""
    r = 14 + reablation_after_ablation
    return course(
        {50: FOCUS, r + 40: CLEAN, r + 130: CLEAN},
        procedures=[("A1", "ablation", 14, ["L1"]), ("A2", "ablation", r, ["L1"])],
        settings=settings or None,
    )


@pytest.mark.parametrize(("days", "never"), [(55, False), (56, False), (57, True)])
def test_END_DFS_4_residual_retreated_within_the_default_window(days: int, never: bool) -> None:
    """Default: the upper bound of technique_efficacy_window_days (56); at the bound is within."""
    case = residual_reablated(days)
    a = assess_case(case)
    assert a.events.never_disease_free is never
    assert any("re-treated" in f and "END-DFS-4" in f for f in a.flags) is never
    dfs = endpoints(case)["DFS"]
    if never:
        assert coded(dfs) == (0, 1) and "never" in dfs["event_type"]
    else:
        assert coded(dfs) == (14 + days + 130, 0)
    (zone,) = a.ablations
    assert zone.technique_efficacy == "assisted-success"


@pytest.mark.parametrize(("days", "never"), [(99, False), (100, False), (101, True)])
def test_END_DFS_4_dfs_retreatment_window_days_setting(days: int, never: bool) -> None:
    case = residual_reablated(days, dfs_retreatment_window_days=100)
    assert assess_case(case).events.never_disease_free is never


@pytest.mark.parametrize(("window", "never"), [([21, 56], True), ([21, 60], False)])
def test_END_DFS_4_default_window_follows_the_technique_efficacy_window(window: list[int], never: bool) -> None:
    case = residual_reablated(58, technique_efficacy_window_days=window)
    assert assess_case(case).events.never_disease_free is never


def test_END_DFS_4_late_retreatment_excluded_under_the_exclude_option() -> None:
    case = residual_reablated(106)
    dfs = endpoints(case, dfs_never_disease_free="exclude")["DFS"]
    assert dfs["event"] == "" and "END-DFS-4" in dfs["rules"]


def test_END_DFS_4_residual_never_cleared_and_technical_success_imaging_is_not_clearance() -> None:
    """Residual on day 50, re-ablated on day 60 with a clean study that day (technical-success
    imaging, §11.11) and nothing after: not cleared, never disease-free."""
    case = course(
        {50: FOCUS, 60: CLEAN},
        procedures=[("A1", "ablation", 14, ["L1"]), ("A2", "ablation", 60, ["L1"])],
    )
    assert assess_case(case).events.never_disease_free is True


@pytest.mark.parametrize("reablated", [False, True])
def test_END_DFS_4_residual_no_longer_seen_without_re_treatment_is_never_disease_free(reablated: bool) -> None:
    """Residual on day 50, clean on days 140 and 230. Not re-treated: END-DFS-4's "not
    successfully re-treated within the protocol window" holds, so the patient is never
    disease-free (DFS event at day 0), and the ablation course flags the disappearance for review.
    Re-ablated on day 60 (46 days after the ablation, within 56): disease-free from there.
    Found by the independent case IC-ABL10-RESIDUAL-GONE-WITHOUT-RETREATMENT."""
    procedures = [("A1", "ablation", 14, ["L1"])] + ([("A2", "ablation", 60, ["L1"])] if reablated else [])
    case = course({50: FOCUS, 140: CLEAN, 230: CLEAN}, procedures=procedures)
    a = assess_case(case)
    assert a.events.never_disease_free is not reablated
    dfs = endpoints(case)["DFS"]
    if reablated:
        assert coded(dfs) == (230, 0)
    else:
        assert coded(dfs) == (0, 1) and "never" in dfs["event_type"]
        assert any("no longer seen, but not re-treated" in f and "END-DFS-4" in f for f in a.flags)
        assert any("residual tumour no longer seen without re-treatment: review" in f for f in a.flags)


def test_END_DFS_4_setting_values() -> None:
    assert Settings().dfs_retreatment_window_days is None
    assert Settings().dfs_retreatment_window == 56
    assert coerce_value("dfs_retreatment_window_days", 30) == 30
    assert coerce_value("dfs_retreatment_window_days", None) is None
    assert parse_setting_text("dfs_retreatment_window_days", "0") == 0
    assert parse_setting_text("dfs_retreatment_window_days", "null") is None
    for bad in (-1, 1.5, "30", True):
        with pytest.raises(SettingsError, match="dfs_retreatment_window_days"):
            coerce_value("dfs_retreatment_window_days", bad)
    assert "END-DFS-4" in PARAMS["dfs_retreatment_window_days"].rule


# -- END-LTP-5: local tumour control after repeat treatment ---------------------------------------------


def test_END_LTP_5_second_LTP_after_reablation_counts_from_the_last_ablation() -> None:
    """LTP on day 150, re-ablated on day 170, clean on day 240, LTP again on day 330 (§11.12)."""
    case = course(
        {50: CLEAN, 150: FOCUS, 240: CLEAN, 330: FOCUS},
        procedures=[("A1", "ablation", 14, ["L1"]), ("A2", "ablation", 170, ["L1"])],
    )
    e = endpoints(case)
    assert coded(e["LTP_TUMOUR:L1"]) == (136, 1)
    assert coded(e["LOCAL_CONTROL_TUMOUR:L1"]) == (160, 1)
    assert e["LOCAL_CONTROL_TUMOUR:L1"]["origin_date"] == day(170)
    assert "END-LTP-5" in e["LOCAL_CONTROL_TUMOUR:L1"]["rules"]


def test_END_LTP_5_never_reablated_equals_the_primary_LTP_row() -> None:
    case = course({50: CLEAN, 150: FOCUS, 240: FOCUS})
    e = endpoints(case)
    assert coded(e["LOCAL_CONTROL_TUMOUR:L1"]) == coded(e["LTP_TUMOUR:L1"]) == (136, 1)


def test_END_LTP_5_reablated_and_controlled_is_censored_at_the_last_zone_imaging() -> None:
    case = course(
        {50: CLEAN, 150: FOCUS, 240: CLEAN, 330: CLEAN},
        procedures=[("A1", "ablation", 14, ["L1"]), ("A2", "ablation", 170, ["L1"])],
    )
    assert coded(endpoints(case)["LOCAL_CONTROL_TUMOUR:L1"]) == (160, 0)


def test_END_LTP_5_tumour_at_the_first_follow_up_after_the_last_ablation_is_left_out() -> None:
    """ABL-4: tissue at the first follow-up after the re-ablation is residual after that
    treatment, not LTP: no local control was achieved, the tumour is left out (END-LTP-2)."""
    case = course(
        {50: CLEAN, 150: FOCUS, 240: FOCUS},
        procedures=[("A1", "ablation", 14, ["L1"]), ("A2", "ablation", 170, ["L1"])],
    )
    row = endpoints(case)["LOCAL_CONTROL_TUMOUR:L1"]
    assert row["event"] == "" and row["time_days"] == ""
    assert "after the last ablation" in row["event_type"]


def test_END_LTP_5_death_after_a_reablation_without_follow_up_competes() -> None:
    case = course(
        {50: CLEAN, 150: FOCUS},
        procedures=[("A1", "ablation", 14, ["L1"]), ("A2", "ablation", 170, ["L1"])],
        subject={"death": (day(200), "other")},
    )
    assert coded(endpoints(case)["LOCAL_CONTROL_TUMOUR:L1"]) == (30, 2)


def test_END_LTP_5_resection_censors() -> None:
    case = course(
        {50: CLEAN, 150: FOCUS, 240: CLEAN},
        procedures=[("A1", "ablation", 14, ["L1"]), ("A2", "ablation", 170, ["L1"]),
                    ("R1", "resection", 300, ["L1"])],
    )
    assert coded(endpoints(case)["LOCAL_CONTROL_TUMOUR:L1"]) == (130, 0)


@pytest.mark.parametrize("key", ["local_control_origin_date", "local_control_failure_date",
                                 "adequate_imaging_dates"])
def test_END_LTP_5_END_GEN_4_rows_without_the_columns_are_refused_not_read_as_empty(key: str) -> None:
    """A row of an older ablations.csv must not be derived as if the column were empty (END-GEN-4
    would measure the zone's gap from the last imaging only; END-LTP-5 would have no row)."""
    # a death: every path of the row is taken, the zone's gap rule included
    a = assess_case(course({50: CLEAN}, subject={"death": (day(200), "other")}))
    (row,) = ablation_rows(a)
    row.pop(key)
    with pytest.raises(ValueError, match=f"no '{key}' column"):
        ep.tumour_endpoints(row, subject_row(a))


# -- PJ-1 / PJ-4: time to distant progression --------------------------------------------------------


def test_PJ_4_DISTANT_intrahepatic_distant_progression_is_the_event() -> None:
    case = course({50: CLEAN, 150: {"L1": "absent", "E2": {"size": "12"}}},
                  lesions={"L1": "target", "E2": {"role": "new", "organ": "liver"}},
                  settings={"new_lesion_rule_liver": "recist_unequivocal"})
    e = endpoints(case)
    assert coded(e["DISTANT"]) == (150, 1)
    assert "IDP" in e["DISTANT"]["event_type"] and "ABL-6" in e["DISTANT"]["rules"]


def test_PJ_4_DISTANT_extrahepatic_progression_is_the_event() -> None:
    case = course({50: CLEAN, 150: {"L1": "absent", "E1": {"size": "12"}}})
    e = endpoints(case)
    assert coded(e["DISTANT"]) == (150, 1)
    assert "EHP" in e["DISTANT"]["event_type"] and "ABL-7" in e["DISTANT"]["rules"]


def test_PJ_4_DISTANT_LTP_does_not_end_follow_up() -> None:
    case = course({50: CLEAN, 150: FOCUS, 240: FOCUS})
    e = endpoints(case)
    assert coded(e["DFS"]) == (150, 1)
    assert coded(e["DISTANT"]) == (240, 0)


@pytest.mark.parametrize("cause", ["cancer", "other", "unknown"])
def test_PJ_4_DISTANT_death_without_distant_progression_competes_whatever_its_cause(cause: str) -> None:
    case = course({50: CLEAN, 150: CLEAN}, subject={"death": (day(200), cause)})
    row = endpoints(case)["DISTANT"]
    assert coded(row) == (200, 2)
    assert "death" in row["event_type"]


@pytest.mark.parametrize(("event_day", "censored"), [(314, False), (315, False), (316, True)])
def test_PJ_4_DISTANT_END_GEN_4_sensitivity(event_day: int, censored: bool) -> None:
    case = course({50: CLEAN, 90: CLEAN, event_day: {"L1": "absent", "E1": {"size": "12"}}})
    assert coded(endpoints(case)["DISTANT"]) == (event_day, 1)
    assert coded(endpoints(case, **SENSITIVITY)["DISTANT"]) == ((90, 0) if censored else (event_day, 1))


def test_PJ_4_DISTANT_columns_in_subjects_csv() -> None:
    a = assess_case(course({50: CLEAN, 150: {"L1": "absent", "E1": {"size": "12"}}}))
    columns = ep.endpoint_columns(subject_row(a), a.settings)
    assert (columns["distant_days"], columns["distant_event"]) == (150, 1)
    assert a.events.first_ehp_date == ORIGIN + timedelta(days=150)


# -- END-DFS-4: the setting wherever settings are listed ----------------------------------------------


def test_END_DFS_4_dfs_retreatment_window_days_is_listed_in_docs_explain_and_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mrecist_tool.analysis import report
    from mrecist_tool.analysis.dataset import from_results_dir
    from mrecist_tool.cli.main import main
    from mrecist_tool.rules.reference import settings_table

    row = next(line for line in settings_table().splitlines() if "`dfs_retreatment_window_days`" in line)
    assert "END-DFS-4" in row and "technique_efficacy_window_days" in row

    samples = Path(__file__).parent.parent / "sample_data" / "cases"
    assert main(["explain", str(samples / "CRLM-S002.json"), "--timepoint", "FU1"]) == 0
    assert "re-ablated within 56 days" in capsys.readouterr().out
    assert main(["explain", str(samples / "CRLM-S002.json"), "--timepoint", "FU1",
                 "--set", "dfs_retreatment_window_days=70"]) == 0
    assert "re-ablated within 70 days" in capsys.readouterr().out

    for value, shown in (("70", ">70<"), ("null", "technique_efficacy_window_days")):
        out = tmp_path / value
        assert main(["assess", str(samples / "CRLM-S002.json"), "--out", str(out), "--print", "never",
                     "--set", f"dfs_retreatment_window_days={value}"]) == 0
        page = report.settings_section(from_results_dir(out))
        at = page.index('data-setting="dfs_retreatment_window_days"')
        assert shown in page[at:page.index("</tr>", at)], value
