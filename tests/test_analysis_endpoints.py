"""Endpoint coding per rule (response-rules.md §6): origin, end date, time and event code.

Event codes: 0 censored, 1 event, 2 competing.  Every expected value here is worked out by hand
from the dates in the row.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from mrecist_tool.pipeline import endpoints as ep
from mrecist_tool.rules.criteria import Settings

RAND = "2022-01-10"


def subject(**values: Any) -> dict[str, Any]:
    row = {
        "subject": "S1",
        "arm": "A",
        "randomization_date": RAND,
        "origin_date": RAND,
        "baseline_date": "2022-01-05",
        "has_post_baseline_assessment": "true",
        "never_disease_free": "false",
        "last_adequate_assessment_date": "2023-01-10",  # day 365
        "last_imaging_date": "2023-01-10",
        "last_known_alive": "2023-03-01",  # day 415
        "first_recurrence_date": "",
        "first_recurrence_kinds": "",
        "first_ltp_date": "",
        "death_date": "",
        "death_cause": "",
    }
    row.update(values)
    # The columns of the current subjects.csv that the rows above leave implicit: the dates of
    # the adequate assessments (END-GEN-4) and the patient's LTP follow-up (§11.16, §11.17),
    # here the single last adequate assessment and every tumour in the primary risk set.
    row.setdefault("assessment_dates", row["last_adequate_assessment_date"])
    row.setdefault("ltp_assessment_dates", row["assessment_dates"])
    row.setdefault("ltp_risk_set", "true")
    row.setdefault("first_ltp_primary_date", row["first_ltp_date"])
    censor = row["last_adequate_assessment_date"]
    if row["first_recurrence_date"] and row["last_imaging_date"] > censor:
        censor = row["last_imaging_date"]
    row.setdefault("ltp_censor_date", censor)
    row.setdefault("ltp_risk_end_date", "")
    return row


def one(rows: list[dict[str, Any]], endpoint: str) -> dict[str, Any]:
    (row,) = [r for r in rows if r["endpoint"] == endpoint]
    return row


def coded(row: dict[str, Any]) -> tuple[Any, Any]:
    return row["time_days"], row["event"]


# -- OS --------------------------------------------------------------------------------------


def test_os_alive_censored_at_last_known_alive_pj5() -> None:
    row = ep.os_row(subject())
    assert coded(row) == (415, 0)
    assert row["origin_date"] == RAND and row["end_date"] == "2023-03-01"
    # a later scan shows the subject was alive then
    assert ep.os_row(subject(last_known_alive="2022-06-01"))["time_days"] == 365


def test_os_death_any_cause_is_event_end_os() -> None:
    row = ep.os_row(subject(death_date="2022-07-10", death_cause="other"))
    assert coded(row) == (181, 1)
    assert row["time_months"] == pytest.approx(181 / 30.4375, abs=1e-4)  # GEN-6


def test_origin_is_randomisation_else_baseline_end_gen_1() -> None:
    row = ep.os_row(subject(randomization_date="", origin_date="", last_known_alive="2022-01-15",
                            last_imaging_date="", last_adequate_assessment_date=""))
    assert row["origin_date"] == "2022-01-05" and row["time_days"] == 10


# -- DFS -------------------------------------------------------------------------------------


def test_dfs_recurrence_is_event_dated_by_imaging_end_gen_2() -> None:
    row = ep.dfs_row(subject(first_recurrence_date="2022-10-08", first_recurrence_kinds="IDP",
                             last_adequate_assessment_date="2022-07-10"))
    assert coded(row) == (271, 1)
    assert row["event_type"] == "IDP"


def test_dfs_registry_cancer_death_event_other_death_competing_section_6_0() -> None:
    cancer = ep.dfs_row(subject(death_date="2022-12-01", death_cause="cancer"))
    other = ep.dfs_row(subject(death_date="2022-12-01", death_cause="other"))
    assert coded(cancer) == (325, 1)
    assert coded(other) == (325, 2)


def test_dfs_datecan_death_any_cause_is_event_pj_4() -> None:
    settings = Settings(dfs_definition="datecan")
    other = ep.dfs_row(subject(death_date="2022-12-01", death_cause="other"), settings)
    assert coded(other) == (325, 1)


def test_dfs_unknown_cause_death_follows_css_unknown_cause_end_css_3() -> None:
    row = subject(death_date="2022-12-01", death_cause="unknown")
    assert ep.dfs_row(row)["event"] == 1
    assert ep.dfs_row(row, Settings(css_unknown_cause="other"))["event"] == 2


def test_dfs_recurrence_before_death_wins() -> None:
    row = ep.dfs_row(subject(first_recurrence_date="2022-10-08", death_date="2022-12-01",
                             death_cause="other", last_adequate_assessment_date="2022-07-10"))
    assert coded(row) == (271, 1)


def test_dfs_censored_at_last_adequate_assessment_end_gen_3() -> None:
    row = ep.dfs_row(subject())
    assert coded(row) == (365, 0)
    assert row["end_date"] == "2023-01-10"


def test_dfs_no_post_baseline_assessment_censored_day_0_end_gen_3() -> None:
    row = ep.dfs_row(subject(has_post_baseline_assessment="false",
                             last_adequate_assessment_date="2022-01-05"))
    assert coded(row) == (0, 0)


def test_dfs_never_disease_free_event_day_0_end_dfs_4() -> None:
    row = ep.dfs_row(subject(never_disease_free="true"))
    assert coded(row) == (0, 1)
    assert "END-DFS-4" in row["rules"]


def test_dfs_never_disease_free_excluded_setting_end_dfs_4() -> None:
    row = ep.dfs_row(subject(never_disease_free="true"),
                     Settings(dfs_never_disease_free="exclude"))
    assert row["event"] == "" and row["time_days"] == ""
    assert "excluded" in row["event_type"]
    assert ep.endpoint_columns(subject(never_disease_free="true"),
                               Settings(dfs_never_disease_free="exclude"))["dfs_event"] == ""


def test_missed_assessments_count_end_gen_4() -> None:
    from datetime import date, timedelta

    origin, last = date(2022, 1, 10), date(2022, 4, 10)  # last assessment on day 90
    fixed = ((90, None),)
    # Visits due on days 180, 270, ...: each is missed once its window (due + 45 days) closed
    # before the event (§11.14).
    for event_day, missed in ((225, 0), (226, 1), (315, 1), (316, 2)):
        when = origin + timedelta(days=event_day)
        assert ep.missed_assessments(last, when, origin, fixed) == missed, event_day


def test_event_after_two_missed_assessments_counted_or_censored_end_gen_4() -> None:
    row = subject(first_recurrence_date="2023-01-10", last_adequate_assessment_date="2022-04-10")
    counted = ep.dfs_row(row)
    assert coded(counted) == (365, 1)
    assert "END-GEN-4" in counted["flags"]
    censored = ep.dfs_row(row, Settings(missed_assessments_policy="censor_before_gap"))
    assert coded(censored) == (90, 0)  # 2022-04-10 is day 90
    # one missed visit only: no flag, counted
    near = ep.dfs_row(subject(first_recurrence_date="2022-10-09",
                              last_adequate_assessment_date="2022-04-10"),
                      Settings(missed_assessments_policy="censor_before_gap"))
    assert coded(near) == (272, 1) and near["flags"] == ""


# -- CSS -------------------------------------------------------------------------------------


def test_css_cancer_death_event_other_competing_end_css() -> None:
    assert coded(ep.css_row(subject(death_date="2022-12-01", death_cause="cancer"))) == (325, 1)
    assert coded(ep.css_row(subject(death_date="2022-12-01", death_cause="other"))) == (325, 2)
    assert coded(ep.css_row(subject())) == (415, 0)


def test_css_unknown_cause_primary_cancer_sensitivity_other_end_css_3() -> None:
    row = subject(death_date="2022-12-01", death_cause="unknown")
    assert ep.css_row(row)["event"] == 1
    assert ep.css_row(row, Settings(css_unknown_cause="other"))["event"] == 2
    # no recorded cause is an unknown cause
    assert ep.css_row(subject(death_date="2022-12-01"))["event"] == 1


# -- LTP per patient ---------------------------------------------------------------------------


def test_ltp_patient_from_randomisation_death_competing_end_gen_1_pj_4() -> None:
    ltp = ep.ltp_patient_row(subject(first_ltp_date="2022-06-09",
                                     first_recurrence_date="2022-06-09",
                                     last_adequate_assessment_date="2022-03-10"))
    assert coded(ltp) == (150, 1)
    died = ep.ltp_patient_row(subject(death_date="2022-12-01", death_cause="cancer"))
    assert coded(died) == (325, 2)
    alive = ep.ltp_patient_row(subject())
    assert coded(alive) == (365, 0)


def test_ltp_patient_followed_past_distant_recurrence() -> None:
    """IDP does not end LTP follow-up: censored at the last imaging, not at the IDP."""
    row = ep.ltp_patient_row(subject(first_recurrence_date="2022-07-10",
                                     first_recurrence_kinds="IDP",
                                     last_adequate_assessment_date="2022-04-10",
                                     last_imaging_date="2022-10-08"))
    assert coded(row) == (271, 0)


def test_ltpfs_patient_death_is_event_end_ltpfs() -> None:
    assert coded(ep.ltpfs_patient_row(subject(death_date="2022-12-01",
                                              death_cause="other"))) == (325, 1)


def test_endpoint_columns_for_subjects_csv() -> None:
    cols = ep.endpoint_columns(subject(death_date="2022-12-01", death_cause="other"))
    assert cols == {
        "os_days": 325, "os_event": 1,
        "dfs_days": 325, "dfs_event": 2,
        "css_days": 325, "css_event": 2,
        "ltp_days": 325, "ltp_event": 2,
        "ltpfs_days": 325, "ltpfs_event": 1,
        "distant_days": 325, "distant_event": 2,
    }


def test_missing_origin_gives_empty_rows() -> None:
    cols = ep.endpoint_columns(subject(randomization_date="", origin_date="", baseline_date=""))
    assert set(cols.values()) == {""}


def test_date_before_origin_is_flagged_and_set_to_day_0() -> None:
    row = ep.os_row(subject(death_date="2022-01-01"))
    assert row["time_days"] == 0 and "before origin" in row["flags"]


# -- per tumour ------------------------------------------------------------------------------


def ablation(**values: Any) -> dict[str, Any]:
    row = {
        "subject": "S1",
        "lesion": "L1",
        "first_ablation_date": "2022-02-01",
        "ablation_dates": "2022-02-01",
        "technique_efficacy": "primary-success",
        "residual_date": "",
        "ltp_date": "",
        "last_adequate_imaging_date": "2023-02-01",  # 365 days after ablation
        "resected_date": "",
        "ltp_origin_date": "2022-02-01",
    }
    row.update(values)
    # Implicit columns of the current ablations.csv: the zone's adequate imaging (here only the
    # last one) and END-LTP-5's episode (a tumour ablated once: the LTP_TUMOUR origin and event).
    row.setdefault("adequate_imaging_dates", row["last_adequate_imaging_date"])
    row.setdefault("local_control_origin_date", row["ltp_origin_date"] if not row["residual_date"] else "")
    row.setdefault("local_control_failure_date", row["ltp_date"])
    return row


def test_tumour_ltp_from_ablation_date_pj_2() -> None:
    rows = ep.tumour_endpoints(ablation(ltp_date="2022-08-01"), subject())
    ltp = one(rows, "LTP_TUMOUR")
    assert ltp["unit"] == "tumour" and ltp["lesion"] == "L1"
    assert ltp["origin_date"] == "2022-02-01"
    assert coded(ltp) == (181, 1)


def test_tumour_ltp_censored_at_last_zone_imaging_pj_5() -> None:
    assert coded(one(ep.tumour_endpoints(ablation(), subject()), "LTP_TUMOUR")) == (365, 0)


def test_tumour_ltp_death_competes_resection_censors_end_ltp_11_18() -> None:
    died = ep.tumour_endpoints(ablation(), subject(death_date="2022-12-01", death_cause="other"))
    assert coded(one(died, "LTP_TUMOUR")) == (303, 2)
    assert coded(one(died, "LTPFS_TUMOUR")) == (303, 1)
    # §11.18: resection of the zone is neither LTP nor death: censored at its date.
    resected = ep.tumour_endpoints(ablation(resected_date="2022-06-01"), subject())
    assert coded(one(resected, "LTP_TUMOUR")) == (120, 0)
    assert coded(one(resected, "LTP_TUMOUR_ASSISTED")) == (120, 0)
    assert coded(one(resected, "LTPFS_TUMOUR")) == (120, 0)


def test_residual_tumour_excluded_from_primary_ltp_end_ltp_2() -> None:
    row = ablation(technique_efficacy="assisted-success", residual_date="2022-03-10",
                   ltp_origin_date="2022-03-25", ltp_date="2022-09-21")
    rows = ep.tumour_endpoints(row, subject())
    primary = one(rows, "LTP_TUMOUR")
    assert primary["event"] == "" and "END-LTP-2" in primary["rules"]
    assisted = one(rows, "LTP_TUMOUR_ASSISTED")
    assert assisted["origin_date"] == "2022-03-25"
    assert coded(assisted) == (180, 1)


def test_residual_never_cleared_not_in_any_ltp_risk_set_end_ltp_2() -> None:
    row = ablation(technique_efficacy="primary-failure", residual_date="2022-03-10",
                   ltp_origin_date="")
    rows = ep.tumour_endpoints(row, subject())
    assert all(r["event"] == "" for r in rows)


def test_long_table_has_patient_and_tumour_rows() -> None:
    rows = ep.long_table([subject()], [ablation(), ablation(lesion="L2")])
    n = len(ep.PATIENT_ENDPOINTS)
    assert [r["endpoint"] for r in rows[:n]] == list(ep.PATIENT_ENDPOINTS)
    assert len(rows) == n + 2 * len(ep.TUMOUR_ENDPOINTS)
    assert all(set(r) == set(ep.LONG_COLUMNS) for r in rows)


def test_endpoints_module_is_pure_python() -> None:
    """mrecist assess imports it for every run: no pandas or numpy at import."""
    code = (
        "import sys, mrecist_tool.pipeline.endpoints;"
        "bad = [m for m in ('pandas', 'numpy', 'scipy', 'matplotlib', 'lifelines')"
        " if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
