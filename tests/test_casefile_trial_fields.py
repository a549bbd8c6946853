"""Added optional case-file fields for trial data exchange (issue 14): a timepoint's
``modality``, a read's ``evaluator`` and ``accepted`` flag -- read, checked, written back, and
described by the shipped JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from mrecist_tool.casefile import case_to_dict, dumps_case, read_case_text, validate_file
from mrecist_tool.errors import CaseFileError

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "src" / "mrecist_tool" / "casefile"
                     / "schema" / "mrecist-case-v1.schema.json").read_text(encoding="utf-8"))


def base_case(**top: Any) -> dict[str, Any]:
    case: dict[str, Any] = {
        "format": "mrecist-case", "version": 1,
        "subject": {"id": "CRLM-0042", "arm": "perioperative", "randomization_date": "2021-03-02"},
        "timepoints": [{"id": "BL", "date": "2021-02-25", "baseline": True, "modality": "CT"},
                       {"id": "FU1", "date": "2021-06-01", "modality": "MR"}],
        "lesions": [{"id": "L1", "role": "target", "organ": "liver"}],
        "observations": [
            {"lesion": "L1", "timepoint": "BL", "status": "measured", "viable_diameter_mm": 24},
            {"lesion": "L1", "timepoint": "FU1", "status": "measured", "viable_diameter_mm": 12}],
    }
    case.update(top)
    return case


def test_modality_evaluator_and_accepted_round_trip_without_warnings(tmp_path: Path) -> None:
    data = base_case(evaluator="INDEPENDENT ASSESSOR", accepted=True)
    path = tmp_path / "case.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert validate_file(path) == []  # known fields: no "unknown key" warning
    case = read_case_text(json.dumps(data))
    assert [tp.modality for tp in case.sorted_timepoints()] == ["CT", "MR"]
    assert case.extra["evaluator"] == "INDEPENDENT ASSESSOR" and case.extra["accepted"] is True
    again = case_to_dict(case)
    assert [tp.get("modality") for tp in again["timepoints"]] == ["CT", "MR"]
    assert again["evaluator"] == "INDEPENDENT ASSESSOR" and again["accepted"] is True
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(dumps_case(case)))


def test_a_timepoint_without_modality_stays_without_it() -> None:
    data = base_case()
    del data["timepoints"][1]["modality"]
    case = read_case_text(json.dumps(data))
    assert case.timepoint("FU1").modality is None
    assert "modality" not in case_to_dict(case)["timepoints"][1]


@pytest.mark.parametrize(("where", "value", "expected"), [
    ("modality", "PET", "expected one of CT, MR"),
    ("modality", 3, "one of CT, MR"),
    ("evaluator", "investigator", "expected one of INVESTIGATOR, INDEPENDENT ASSESSOR"),
    ("accepted", "yes", "true or false"),
])
def test_bad_values_are_refused_at_their_json_path(where: str, value: Any, expected: str) -> None:
    data = base_case()
    if where == "modality":
        data["timepoints"][1]["modality"] = value
        path = "$.timepoints[1].modality"
    else:
        data[where] = value
        path = f"$.{where}"
    with pytest.raises(CaseFileError) as info:
        read_case_text(json.dumps(data), file="case.json")
    text = str(info.value)
    assert path in text and expected in text
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data))
    assert errors, "the schema accepts what the reader refuses"


def test_end_of_study_round_trips_and_is_checked_against_death_and_studies() -> None:
    data = base_case()
    data["subject"]["end_of_study"] = {"date": "2021-07-01", "reason": "lost-to-follow-up",
                                       "note": "moved, no forwarding address"}
    case = read_case_text(json.dumps(data))
    end = case.subject.end_of_study
    assert end is not None and (end.date.isoformat(), end.reason) == ("2021-07-01",
                                                                      "lost-to-follow-up")
    assert case_to_dict(case)["subject"]["end_of_study"] == data["subject"]["end_of_study"]
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(dumps_case(case)))

    # "death" without the death's date would leave OS censored: refused.
    data["subject"]["end_of_study"] = {"date": "2021-07-01", "reason": "death"}
    with pytest.raises(CaseFileError, match=r"\$\.subject\.end_of_study\.reason.*subject\.death"):
        read_case_text(json.dumps(data), file="case.json")
    # Before randomisation: refused; an unknown reason: refused with the choices.
    data["subject"]["end_of_study"] = {"date": "2021-01-01", "reason": "withdrawn"}
    with pytest.raises(CaseFileError, match="before the randomisation date"):
        read_case_text(json.dumps(data), file="case.json")
    data["subject"]["end_of_study"] = {"date": "2021-07-01", "reason": "moved"}
    with pytest.raises(CaseFileError, match="expected one of completed, withdrawn"):
        read_case_text(json.dumps(data), file="case.json")


def test_a_study_after_the_end_of_study_is_a_warning(tmp_path: Path) -> None:
    data = base_case()
    data["subject"]["end_of_study"] = {"date": "2021-04-01", "reason": "withdrawn"}
    path = tmp_path / "case.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    problems = validate_file(path)
    assert [(p.severity, p.path) for p in problems] == [("warning", "$.timepoints[1].date")]
    assert "after the end of study" in problems[0].message
