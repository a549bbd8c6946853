"""The shipped JSON Schema and the hand-written checker agree (so the two never drift)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from mrecist_tool.casefile import discover_case_files, schema, validate_file
from mrecist_tool.rules.criteria import PARAMS, PROFILES

ROOT = Path(__file__).parent.parent
CORPUS = Path(__file__).parent / "malformed"
EXPECTED: dict[str, list[list[str]]] = json.loads((CORPUS / "expected.json").read_text("utf-8"))

# Every valid case file shipped: ours, the hand-written samples and any golden test cases.
VALID_FILES = sorted((CORPUS / "valid").glob("*.json")) + discover_case_files(
    [p for p in (ROOT / "sample_data", ROOT / "tests" / "cases") if p.is_dir()])[0]

# Corpus files whose defect is structural (types, required keys, enums, patterns): the schema
# must reject them too.  The others are cross-reference defects (unknown or duplicate ids,
# baselines, date order, measurements per criteria, calendar dates, masks leaving the folder,
# NaN / duplicated keys the JSON parser itself flags), which only the toolkit can see.
SCHEMA_REJECTS = {
    "top_level_list.json", "wrong_type_subject.json", "missing_subject_id.json",
    "missing_timepoints.json", "empty_timepoints.json", "observations_not_list.json",
    "missing_status.json", "unknown_status.json", "wrong_criteria.json", "unknown_profile.json",
    "bad_lesion_id.json", "id_too_long.json", "wrong_format.json", "missing_format.json",
    "newer_version.json", "version_as_text.json", "baseline_as_text.json",
    "date_wrong_format.json", "instant_without_zone.json", "bad_death_cause.json",
    "negative_length.json", "length_as_text.json", "length_as_boolean.json",
    "length_null.json", "slice_thickness_negative.json", "unknown_setting.json",
    "setting_wrong_kind.json", "setting_negative.json", "settings_not_object.json",
    "ablation_without_lesions.json", "mask_absolute.json", "line_two_numbers.json",
    "line_three_points.json",
}


def _strict_load(path: Path) -> Any:
    def refuse(literal: str) -> None:
        raise ValueError(literal)

    return json.loads(path.read_text("utf-8"), parse_float=Decimal, parse_constant=refuse)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def test_schema_is_valid_draft_2020_12() -> None:
    s = schema()
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(s)


def test_schema_documents_every_field() -> None:
    """Every property in the schema carries a description or a reference to a documented one."""
    s = schema()
    missing = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for name, prop in node.get("properties", {}).items():
                if "description" not in prop and "$ref" not in prop:
                    missing.append(f"{where}.{name}")
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    walk(s, "$")
    assert missing == []


def test_schema_knows_every_setting_and_profile() -> None:
    s = schema()
    assert set(s["properties"]["settings"]["properties"]) == set(PARAMS)
    assert set(s["properties"]["profile"]["enum"]) == set(PROFILES)


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.name)
def test_schema_accepts_every_valid_file(path: Path, validator: Any) -> None:
    assert [p for p in validate_file(path) if p.severity == "error"] == []
    errors = [e.message for e in validator.iter_errors(_strict_load(path))]
    assert errors == []


def test_schema_accepts_a_generated_cohort(validator: Any) -> None:
    from mrecist_tool.casefile import case_from_dict
    from mrecist_tool.sample.cohort import generate_cohort

    for data in generate_cohort(20, seed=3):
        data = json.loads(json.dumps(data), parse_float=Decimal)
        case_from_dict(data)
        assert [e.message for e in validator.iter_errors(data)] == []


@pytest.mark.parametrize("name", sorted(SCHEMA_REJECTS))
def test_schema_rejects_the_structural_defects_of_the_corpus(name: str, validator: Any) -> None:
    assert name in EXPECTED
    data = _strict_load(CORPUS / name)
    assert list(validator.iter_errors(data)), f"{name} passes the schema"


def test_schema_reject_list_names_corpus_files() -> None:
    assert set(EXPECTED) >= SCHEMA_REJECTS
