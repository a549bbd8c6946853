"""REC-C2: assessments after a new anticancer therapy are ignored for best response when the
protocol says so (``bor_stop_at_new_therapy``); therapy the protocol prescribes (``protocol``)
is not a new therapy."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from casebuilder import (
    build,
    d,
)

from mrecist_tool.casefile import case_to_dict, read_case, write_case
from mrecist_tool.model import Procedure
from mrecist_tool.rules import assess_case


def _case(protocol: bool):  # type: ignore[no-untyped-def]
    case = build(
        tps=[("BL", "2021-01-04"), ("FU1", "2021-03-01"), ("FU2", "2021-06-01")],
        lesions={"L1": "target"},
        obs={("L1", "BL"): "40", ("L1", "FU1"): "40", ("L1", "FU2"): "10"},
        settings={"bor_stop_at_new_therapy": True},
    )
    chemo = Procedure("C1", "systemic-therapy", d("2021-03-15"), protocol=protocol)
    return dataclasses.replace(case, procedures=(chemo,))


def test_REC_C2_new_therapy_stops_best_response() -> None:
    a = assess_case(_case(protocol=False))
    assert a.events.new_therapy_date == d("2021-03-15")
    assert a.best.category == "SD"  # the PR at FU2 came after the new therapy


def test_REC_C2_protocol_therapy_is_not_a_new_therapy() -> None:
    a = assess_case(_case(protocol=True))
    assert a.events.new_therapy_date is None
    assert a.best.category == "PR"


def test_protocol_flag_round_trips_through_the_case_file(tmp_path: Path) -> None:
    case = _case(protocol=True)
    assert case_to_dict(case)["procedures"][0]["protocol"] is True
    path = tmp_path / "c.json"
    write_case(case, path)
    assert json.loads(path.read_text())["procedures"][0]["protocol"] is True
    assert read_case(path).procedures[0].protocol is True
