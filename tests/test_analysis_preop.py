"""PRE-2 to PRE-4 in the analysis: ORR to preoperative chemotherapy beside the whole-course ORR,
each labelled, and the disappearing-metastasis summary; both in the tables and the report.

Four perioperative subjects assessed by the engine (no hand-made table rows): a responder with a
disappearing metastasis left under observation, a non-responder, a subject without a
pre-ablation study, and one without target disease; plus one postoperative subject.
Expected by hand: denominator 3 (the non-target-only subject is excluded, END-ORR-3), 1 responder
(33.3 %, Clopper–Pearson 0.84 %–90.57 %: Beta(1, 3) and Beta(2, 2) quantiles), 1 without a pre-ablation study; whole-course ORR 3/3.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

import pytest
from casebuilder import build

from mrecist_tool.analysis import proportions, report
from mrecist_tool.analysis.dataset import from_tables
from mrecist_tool.model import Case, Procedure
from mrecist_tool.pipeline.tables import assessment_tables
from mrecist_tool.rules import assess_case

ORIGIN = date(2021, 1, 4)


def day(n: int) -> str:
    return (ORIGIN + timedelta(days=n)).isoformat()


def subject(sid: str, arm: str, pre: dict[str, Any] | None, *, targets: bool = True) -> Case:
    lesions: dict[str, Any] = {"L1": "target", "L2": "target"} if targets else {"N1": "non-target"}
    baseline = {"L1": "30", "L2": "12"} if targets else {"N1": "present"}
    gone = {k: "absent" for k in lesions}
    tps: list[Any] = [("BL", day(0))]
    obs: dict[tuple[str, str], Any] = {(k, "BL"): v for k, v in baseline.items()}
    if pre is not None:
        tps.append(("PRE", day(60)))
        obs.update({(k, "PRE"): v for k, v in pre.items()})
    tps.append(("FU1", day(110)))
    obs.update({(k, "FU1"): v for k, v in gone.items()})
    ablated = [k for k in lesions if not (pre and pre.get(k) == "absent" and k == "L2")]
    case = build(
        tps=tps, lesions=lesions, obs=obs, procedures=[("ABL1", "ablation", day(70), ablated)],
        subject={"id": sid, "arm": arm, "randomization_date": day(0)},
    )
    chemo = Procedure("CHEMO1", "systemic-therapy", ORIGIN + timedelta(days=7), (), protocol=True)
    return dataclasses.replace(case, procedures=(*case.procedures, chemo))


@pytest.fixture(scope="module")
def data() -> Any:
    cases = [
        subject("P1", "perioperative", {"L1": "18", "L2": "absent"}),  # PR, DLM L2 observed
        subject("P2", "perioperative", {"L1": "28", "L2": "12"}),  # SD
        subject("P3", "perioperative", None),  # no pre-ablation study
        subject("P4", "perioperative", {"N1": "present"}, targets=False),  # no target disease
        subject("Q1", "postoperative", None),
    ]
    return from_tables(assessment_tables([assess_case(c) for c in cases]))


def test_PRE_2_orr_to_preoperative_chemotherapy_beside_the_whole_course_orr(data: Any) -> None:
    table = proportions.preop_orr_table(data.subjects)
    assert list(table["arm"]) == ["perioperative", "perioperative"], "only the perioperative arm"
    pre = table[table["endpoint"] == "ORR_PREOP"].iloc[0]
    whole = table[table["endpoint"] == "ORR"].iloc[0]
    assert (pre["n"], pre["responders"], pre["no_pre_ablation_scan"], pre["excluded_no_target"]) == (3, 1, 1, 1)
    assert pre["orr"] == pytest.approx(1 / 3)
    assert pre["ci_low"] == pytest.approx(0.0084, abs=1e-4) and pre["ci_high"] == pytest.approx(0.9057, abs=1e-4)
    assert (whole["n"], whole["responders"]) == (3, 3)
    assert "preoperative" in pre["label"] and "whole course" in whole["label"]


def test_PRE_3_PRE_4_dlm_summary(data: Any) -> None:
    table = proportions.dlm_summary(data.subjects, data.dlm).set_index("arm")
    assert table.loc["perioperative", "with_pre_ablation_scan"] == 3
    assert table.loc["perioperative", "with_dlm"] == 1 and table.loc["perioperative", "dlm_observed"] == 1
    assert table.loc["postoperative", "dlm"] == 0
    assert table.loc["all", "dlm"] == 1


def test_PRE_2_report_section_labels_both_rates(data: Any) -> None:
    html = report.preop_section(proportions.preop_orr_table(data.subjects),
                                proportions.dlm_summary(data.subjects, data.dlm))
    assert "ORR to preoperative chemotherapy" in html and "ORR over the whole course" in html
    assert "Disappearing liver metastases" in html
    assert 'href="#rule-PRE-2"' in html
