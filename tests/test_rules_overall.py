"""Timepoint response tables: RECIST 1.1 Table 1 and Table 2, the mRECIST MR-O table, and the
non-target categories (REC-NT, MR-NT)."""

from __future__ import annotations

import pytest
from casebuilder import build

from mrecist_tool.rules import assess_case

TPS = [("BL", "2021-01-04"), ("FU1", "2021-03-01")]
LESIONS = {"L1": "target", "N1": "non-target", "X1": {"role": "new", "organ": "lung"}}


def row(target: str, nontarget: str, new: bool, criteria: str = "mRECIST"):  # type: ignore[no-untyped-def]
    obs = {("L1", "BL"): "40", ("N1", "BL"): "present", ("L1", "FU1"): target, ("N1", "FU1"): nontarget}
    if new:
        obs[("X1", "FU1")] = "present"
    case = build(tps=TPS, lesions=LESIONS, obs=obs, criteria=criteria)
    return assess_case(case).timepoints[1]


# target values: 0 → CR, 20 → PR, 35 → SD, 50 → PD, not-evaluable → NE
TABLE1 = [
    ("absent", "absent", False, "CR"),
    ("absent", "present", False, "PR"),
    ("absent", "not-evaluable", False, "PR"),
    ("20", "present", False, "PR"),
    ("20", "not-evaluable", False, "PR"),
    ("35", "present", False, "SD"),
    ("35", "not-evaluable", False, "SD"),
    ("not-evaluable", "present", False, "NE"),
    ("50", "present", False, "PD"),
    ("20", "progressed", False, "PD"),
    ("absent", "absent", True, "PD"),
]


@pytest.mark.parametrize(("target", "nontarget", "new", "overall"), TABLE1)
@pytest.mark.parametrize("criteria", ["mRECIST", "RECIST1.1"])
def test_REC_Table1_and_MR_O_rows(target: str, nontarget: str, new: bool, overall: str, criteria: str) -> None:
    r = row(target, nontarget, new, criteria)
    assert r.overall is not None and r.overall.category == overall
    assert ("MR-O" if criteria == "mRECIST" else "REC-Table1") in r.overall.rules


def test_MR_NT_names_IR_SD_and_RECIST_names_non_CR_non_PD() -> None:
    assert row("20", "present", False).nontarget.category == "IR/SD"  # type: ignore[union-attr]
    assert row("20", "present", False, "RECIST1.1").nontarget.category == "NON-CR/NON-PD"  # type: ignore[union-attr]
    assert row("20", "absent", False).nontarget.category == "CR"  # type: ignore[union-attr]
    assert row("20", "progressed", False).nontarget.category == "PD"  # type: ignore[union-attr]


def nt_only(nontarget: str, new: bool = False, criteria: str = "mRECIST"):  # type: ignore[no-untyped-def]
    obs = {("N1", "BL"): "present", ("N1", "FU1"): nontarget}
    if new:
        obs[("X1", "FU1")] = "present"
    case = build(tps=TPS, lesions={"N1": "non-target", "X1": {"role": "new", "organ": "bone"}}, obs=obs, criteria=criteria)
    return assess_case(case)


@pytest.mark.parametrize(
    ("nontarget", "new", "overall"),
    [("absent", False, "CR"), ("present", False, "NON-CR/NON-PD"), ("not-evaluable", False, "NE"),
     ("progressed", False, "PD"), ("present", True, "PD"), ("absent", True, "PD")],
)
def test_REC_Table2_nontarget_only(nontarget: str, new: bool, overall: str) -> None:
    """Table 2 / END-ORR-3: without target disease the answer is never PR or SD."""
    a = nt_only(nontarget, new)
    r = a.timepoints[1]
    assert r.target is None
    assert r.overall is not None and r.overall.category == overall
    assert "REC-Table2" in r.overall.rules
    assert not a.has_target_disease


def test_new_lesion_column_values() -> None:
    assert row("20", "present", True).new_lesions.category == "yes"
    assert row("20", "present", False).new_lesions.category == "no"
