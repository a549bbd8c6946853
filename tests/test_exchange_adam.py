"""ADaM ADSL / ADRS / ADTTE in pharmaverse conventions, as CSV and SAS transport (issue 14).

ADSL has one row per subject; ADTTE's CNSR and AVAL are the endpoint table's event code and days
(CNSR 0 event, 1 censored; competing events flagged CMPEVFL); ADRS codes responses as
admiralonco does; the XPT files read back with pandas ``read_sas`` equal the CSV files.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mrecist_tool.analysis import dataset
from mrecist_tool.analysis.response_duration import dor_rows
from mrecist_tool.casefile import read_case_text
from mrecist_tool.exchange import adam
from mrecist_tool.pipeline.tables import assessment_tables
from mrecist_tool.rules import assess_case, settings_for_case
from mrecist_tool.sample.cohort import generate_cohort

SAS_EPOCH = date(1960, 1, 1)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[dataset.AnalysisData, pd.DataFrame, Path]:
    cases = [read_case_text(json.dumps(c)) for c in generate_cohort(40, seed=3)]
    data = dataset.from_tables(assessment_tables(assess_case(c, settings_for_case(c))
                                                 for c in cases))
    endpoints = pd.concat([data.endpoints, dor_rows(data)], ignore_index=True)
    out = tmp_path_factory.mktemp("adam")
    adam.write_adam(data.subjects, data.timepoints, data.ablations, endpoints, out, "NCT04562727")
    return data, endpoints, out


def test_adsl_has_one_row_per_subject(written: tuple[dataset.AnalysisData, pd.DataFrame, Path]) -> None:
    data, _, out = written
    adsl = pd.read_csv(out / "adsl.csv", keep_default_na=False)
    assert len(adsl) == len(data.subjects) == adsl["USUBJID"].nunique()
    assert (adsl["ITTFL"] == "Y").all() and set(adsl["SAFFL"]) <= {"Y", "N"}
    assert set(adsl["ARM"]) == set(data.arms)
    assert adsl["USUBJID"].str.startswith("NCT04562727-").all()


def test_adtte_cnsr_and_aval_equal_the_endpoint_columns(
        written: tuple[dataset.AnalysisData, pd.DataFrame, Path]) -> None:
    _, endpoints, out = written
    adtte = pd.read_csv(out / "adtte.csv", keep_default_na=False)
    ep = endpoints[(endpoints["unit"] == "patient")].dropna(subset=["time_days", "event"])
    ep = ep.assign(USUBJID="NCT04562727-" + ep["subject"].astype(str))
    merged = adtte.merge(ep, left_on=["USUBJID", "PARAMCD"], right_on=["USUBJID", "endpoint"],
                         validate="one_to_one")
    assert len(merged) == len(adtte) == len(ep)
    assert (merged["AVAL"] == merged["time_days"].astype(int)).all()
    assert (merged["CNSR"] == (merged["event"] != 1).astype(int)).all()
    assert ((merged["CMPEVFL"] == "Y") == (merged["event"] == 2)).all()
    assert (merged.loc[merged["CNSR"] == 1, "CNSDTDSC"] != "").all()
    assert (merged.loc[merged["CNSR"] == 0, "EVNTDESC"] != "").all()
    assert set(adtte["PARAMCD"]) == {"OS", "DFS", "CSS", "LTP", "LTPFS", "DISTANT", "DOR"}


def test_adrs_codes_responses_as_admiralonco(
        written: tuple[dataset.AnalysisData, pd.DataFrame, Path]) -> None:
    data, _, out = written
    adrs = pd.read_csv(out / "adrs.csv", keep_default_na=False)
    assert {"OVR", "BOR"} <= set(adrs["PARAMCD"])
    assert (adrs["AVAL"] == adrs["AVALC"].map(adam.AVAL_RESPONSE)).all()
    assert "IR/SD" not in set(adrs["AVALC"])  # mRECIST's words mapped to the standard ones
    bor = adrs[adrs["PARAMCD"] == "BOR"]
    assert len(bor) == len(data.subjects)
    assert not adrs.duplicated(["USUBJID", "ASEQ"]).any()


@pytest.mark.parametrize("name", ["adsl", "adrs", "adtte"])
def test_xpt_reads_back_with_pandas_read_sas(written: tuple[dataset.AnalysisData, pd.DataFrame, Path],
                                              name: str) -> None:
    _, _, out = written
    csv = pd.read_csv(out / f"{name}.csv", keep_default_na=False, dtype=str)
    xpt = pd.read_sas(out / f"{name}.xpt", format="xport", encoding="utf-8")
    assert list(xpt.columns) == list(csv.columns) and len(xpt) == len(csv)
    for column in csv.columns:
        theirs = xpt[column]
        if column in adam.DATE_COLUMNS:
            expected = [np.nan if v == "" else (date.fromisoformat(v) - SAS_EPOCH).days
                        for v in csv[column]]
            assert np.allclose(theirs.astype(float), expected, equal_nan=True), column
        elif theirs.dtype == object:
            assert theirs.fillna("").astype(str).tolist() == csv[column].tolist(), column
        else:
            expected = pd.to_numeric(csv[column].replace("", np.nan)).astype(float)
            # pandas decodes an IBM zero as 5.4e-79; pyreadstat and SAS read 0.
            assert np.allclose(theirs.astype(float), expected, atol=1e-70, equal_nan=True), column


def test_adsl_end_of_study_as_admiral_derives_it(
        written: tuple[dataset.AnalysisData, pd.DataFrame, Path]) -> None:
    """EOSSTT COMPLETED / DISCONTINUED (DCSREAS the DS term) / ONGOING from subject.end_of_study,
    a death ending participation when none is recorded (admiral's format_eoxxstt)."""
    data, _, out = written
    adsl = pd.read_csv(out / "adsl.csv", keep_default_na=False).set_index("SUBJID")
    terms = {"completed": "COMPLETED", "withdrawn": "WITHDRAWAL BY SUBJECT",
             "lost-to-follow-up": "LOST TO FOLLOW-UP", "death": "DEATH", "other": "OTHER"}
    seen = set()
    for r in data.subjects.to_dict("records"):
        row = adsl.loc[str(r["subject"])]
        reason = str(r.get("end_of_study_reason") or "")
        death = str(r.get("death_date") or "")
        if reason:
            expected = ("COMPLETED", "", r["end_of_study_date"]) if reason == "completed" else \
                ("DISCONTINUED", terms[reason], r["end_of_study_date"])
        elif death:
            expected = ("DISCONTINUED", "DEATH", death)
        else:
            expected = ("ONGOING", "", "")
        assert (row["EOSSTT"], row["DCSREAS"], row["EOSDT"]) == expected
        seen.add(row["EOSSTT"])
    assert seen == {"COMPLETED", "DISCONTINUED", "ONGOING"}
