"""Reading and checking case files (case-format.md): exact decimals, every problem collected."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from mrecist_tool.casefile import (
    MAX_FILE_BYTES,
    case_from_dict,
    check_measurements,
    discover_case_files,
    load_case,
    read_case,
    read_case_text,
    validate_file,
)
from mrecist_tool.errors import CaseFileError, UnsupportedVersionError

VALID = Path(__file__).parent / "malformed" / "valid"
EXAMPLE = json.loads((VALID / "example.json").read_text("utf-8"))


def _example() -> dict:
    return json.loads(json.dumps(EXAMPLE))


def test_example_of_the_spec_reads_into_the_model() -> None:
    case = read_case(VALID / "example.json")
    assert case.subject.id == "CRLM-0007"
    assert [tp.id for tp in case.timepoints] == ["BL", "FU1", "FU2"]
    assert case.baseline.id == "BL"
    assert case.procedures[0].lesions == ("L1",)
    assert case.observations[0].viable_diameter_mm == Decimal("24.5")
    assert case.source == VALID / "example.json"


def test_lengths_are_exact_decimals_gen1() -> None:
    """GEN-1: 9.8 is read as Decimal('9.8'), never through a binary float."""
    data = _example()
    text = json.dumps(data).replace('"viable_diameter_mm": 24.5', '"viable_diameter_mm": 9.8')
    case = read_case_text(text)
    value = case.observations[0].viable_diameter_mm
    assert isinstance(value, Decimal) and value == Decimal("9.8")
    assert str(value) == "9.8"
    # Integers become Decimals too.
    assert case.observations[4].viable_diameter_mm == Decimal(8)
    assert isinstance(case.observations[4].gap_to_ablation_zone_mm, Decimal)


def test_timepoints_are_sorted_by_date_and_observations_keep_file_order() -> None:
    data = _example()
    data["timepoints"].reverse()
    case = case_from_dict(json.loads(json.dumps(data), parse_float=Decimal))
    assert [tp.id for tp in case.timepoints] == ["BL", "FU1", "FU2"]
    assert [o.timepoint for o in case.observations][:3] == ["BL", "BL", "FU1"]


def test_rich_valid_file_has_no_problem_at_all() -> None:
    assert validate_file(VALID / "rich.json") == []
    case = read_case(VALID / "rich.json")
    assert case.profile == "nct04562727"
    assert case.settings["ltp_max_distance_mm"] == Decimal("5.0")
    assert case.timepoints[0].series is not None
    assert case.timepoints[0].phases == frozenset({"arterial", "portal-venous"})
    assert case.timepoints[0].slice_thickness_mm == Decimal("2.50")
    line = case.observations[0].geometry.line  # type: ignore[union-attr]
    assert line == ((Decimal("10.5"), Decimal(-42), Decimal("88.25")),
                    (Decimal(30), Decimal("-40.5"), Decimal("88.25")))
    assert case.lesion("LN1").is_node
    assert case.subject.strata == {"centre": "A", "size": "<3cm"}
    assert case.extra["x-study"]["numbers"][1] == Decimal("2.50")


def test_every_problem_is_reported_not_just_the_first() -> None:
    data = _example()
    data["observations"][0]["viable_diameter_mm"] = -1
    data["observations"][2]["lesion"] = "L9"
    data["timepoints"][2]["date"] = "2021-02-30"
    data["subject"]["id"] = "Jane Doe"
    with pytest.raises(CaseFileError) as info:
        case_from_dict(data, file="x.json")
    paths = {p.path for p in info.value.problems}
    assert {"$.observations[0].viable_diameter_mm", "$.observations[2].lesion",
            "$.timepoints[2].date", "$.subject.id"} <= paths
    assert all(p.file == "x.json" for p in info.value.problems)
    assert "x.json: $.observations[2].lesion: unknown lesion id 'L9'" in str(info.value)


def test_unknown_keys_are_kept_and_warned_with_a_suggestion() -> None:
    data = _example()
    data["observations"][0]["viable_diamter_mm"] = 3
    data["x-site"] = "A"
    case, problems = load_case_dict(data)
    assert case is not None
    assert case.observations[0].extra == {"viable_diamter_mm": 3}
    assert case.extra == {"x-site": "A"}
    [warning] = problems
    assert warning.severity == "warning"
    assert warning.path == "$.observations[0].viable_diamter_mm"
    assert "did you mean 'viable_diameter_mm'" in warning.message


def load_case_dict(data: dict, tmp: Path | None = None):  # type: ignore[no-untyped-def]
    from mrecist_tool.casefile._io import _build

    return _build(data, "t.json")


def test_personal_data_keys_are_flagged() -> None:
    data = _example()
    data["subject"]["birth_date"] = "1950-01-01"
    _, problems = load_case_dict(data)
    assert any("personal data" in p.message and p.path == "$.subject.birth_date"
               for p in problems)


def test_newer_version_is_refused_with_the_version_this_toolkit_reads() -> None:
    data = _example()
    data["version"] = 3
    with pytest.raises(UnsupportedVersionError, match="this toolkit reads version 1"):
        case_from_dict(data)


def test_no_baseline_is_an_error_and_one_baseline_must_be_earliest() -> None:
    data = _example()
    del data["timepoints"][0]["baseline"]
    with pytest.raises(CaseFileError, match="no timepoint is marked as the baseline"):
        case_from_dict(data)


@pytest.mark.parametrize("criteria, key", [("mRECIST", "viable_diameter_mm"),
                                           ("RECIST1.1", "longest_diameter_mm")])
def test_measured_needs_the_diameter_of_its_criteria_mr_v1(criteria: str, key: str) -> None:
    """MR-V1 / RECIST 1.1: a measured non-nodal lesion needs the criteria's diameter."""
    data = _example()
    data["criteria"] = criteria
    for o in data["observations"]:
        if o["status"] == "measured":
            o["viable_diameter_mm"] = o["longest_diameter_mm"] = 20
            del o[key]
    with pytest.raises(CaseFileError) as info:
        case_from_dict(data)
    assert {p.path for p in info.value.problems} == {
        f"$.observations[0].{key}", f"$.observations[4].{key}"}


def test_criteria_override_changes_the_measurement_check() -> None:
    """A --criteria override: the reader and check_measurements judge by the new criteria."""
    data = _example()
    case = case_from_dict(data)
    problems = check_measurements(case, "RECIST1.1")
    assert [p.path for p in problems] == ["$.observations[0].longest_diameter_mm",
                                          "$.observations[4].longest_diameter_mm"]
    assert check_measurements(case) == []
    for o in data["observations"]:
        if "viable_diameter_mm" in o:
            o["longest_diameter_mm"] = o.pop("viable_diameter_mm")
    with pytest.raises(CaseFileError):
        case_from_dict(data)
    assert case_from_dict(data, criteria="RECIST1.1").criteria == "mRECIST"


def test_profile_criteria_decides_which_diameter_is_needed() -> None:
    data = _example()
    del data["criteria"]
    data["profile"] = "recist1.1"
    with pytest.raises(CaseFileError, match=r"under RECIST 1\.1"):
        case_from_dict(data)


def test_settings_are_checked_by_the_rules_parameters() -> None:
    data = _example()
    data["settings"] = {"ltp_max_distance_mm": 5, "confirm_min_days": 28.5,
                        "viability_phase": "venous"}
    with pytest.raises(CaseFileError) as info:
        case_from_dict(data)
    assert {p.path for p in info.value.problems} == {"$.settings.confirm_min_days",
                                                     "$.settings.viability_phase"}


def test_mask_existence_is_a_warning(tmp_path: Path) -> None:
    data = _example()
    data["observations"][0]["geometry"] = {"mask": "masks/L1_BL.nii.gz"}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    case, problems = load_case(path)
    assert case is not None
    assert [p.severity for p in problems] == ["warning"]
    (tmp_path / "masks").mkdir()
    (tmp_path / "masks" / "L1_BL.nii.gz").write_bytes(b"")
    assert validate_file(path) == []


def test_huge_file_is_refused_with_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with open(path, "wb") as fh:
        fh.write(b'{"format": "mrecist-case", "pad": "')
        fh.truncate(MAX_FILE_BYTES + 10)
    with pytest.raises(CaseFileError, match="larger than 20 MiB are refused"):
        read_case(path)


def test_unreadable_inputs_are_case_file_errors(tmp_path: Path) -> None:
    with pytest.raises(CaseFileError, match="no such file"):
        read_case(tmp_path / "missing.json")
    with pytest.raises(CaseFileError, match="folder"):
        read_case(tmp_path)


def test_discovery_finds_case_files_and_reports_broken_json(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "case1.json").write_text(json.dumps(EXAMPLE), encoding="utf-8")
    (tmp_path / "other.json").write_text('{"format": "napari-settings"}', encoding="utf-8")
    (tmp_path / "broken.json").write_text('{"subject": ', encoding="utf-8")
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "c.json").write_text(json.dumps(EXAMPLE), encoding="utf-8")
    mislabelled = dict(EXAMPLE, format="mrecist")
    (tmp_path / "mislabelled.json").write_text(json.dumps(mislabelled), encoding="utf-8")
    # The marker may come late in a large file: found without parsing.
    late = dict(EXAMPLE)
    late.pop("format")
    late = {"x-pad": "p" * 200_000, **late, "format": "mrecist-case"}
    (tmp_path / "late.json").write_text(json.dumps(late), encoding="utf-8")
    files, problems = discover_case_files([tmp_path, tmp_path / "notes.txt",
                                           tmp_path / "nope"])
    names = [f.name for f in files]
    assert names == ["late.json", "case1.json", "notes.txt"]
    by_file = {Path(p.file).name: p for p in problems}
    assert set(by_file) == {"broken.json", "mislabelled.json", "nope"}
    assert "not valid JSON" in by_file["broken.json"].message
    assert "no such file or folder" in by_file["nope"].message


def test_read_never_raises_other_than_case_file_error_on_odd_values() -> None:
    for value in (None, 1, "x", [], [1], {"format": "mrecist-case"},
                  {"format": "mrecist-case", "version": 1, "timepoints": 5}):
        with pytest.raises(CaseFileError):
            case_from_dict(value)


def test_fast_built_observations_equal_normally_built_ones() -> None:
    from mrecist_tool.model import Observation

    case = read_case(VALID / "example.json")
    o = case.observations[4]
    normal = Observation("L1", "FU2", "measured", viable_diameter_mm=Decimal(8),
                         gap_to_ablation_zone_mm=Decimal(0))
    assert o == normal and hash(o) == hash(normal) and repr(o) == repr(normal)
    with pytest.raises(AttributeError):
        o.status = "absent"  # type: ignore[misc]
