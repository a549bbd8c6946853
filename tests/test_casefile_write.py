"""Writing case files: lossless, exact decimals, stable order, atomic saves."""

from __future__ import annotations

import dataclasses
import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from mrecist_tool.casefile import case_to_dict, dumps_case, read_case, read_case_text, write_case
from mrecist_tool.errors import SaveError

VALID = Path(__file__).parent / "malformed" / "valid"


@pytest.mark.parametrize("name", ["example.json", "rich.json"])
def test_round_trip_loses_nothing(name: str, tmp_path: Path) -> None:
    case = read_case(VALID / name)
    out = tmp_path / name
    write_case(case, out)
    again = read_case(out)
    assert again == case
    assert case_to_dict(again) == case_to_dict(case)  # extras included (compare=False there)
    # Writing again gives the same bytes: the key order is stable.
    write_case(again, tmp_path / "second.json")
    assert (tmp_path / "second.json").read_bytes() == out.read_bytes()


def test_decimals_are_written_digit_for_digit(tmp_path: Path) -> None:
    """GEN-1: 9.80 is written as 9.80 and 0.1 as 0.1, never via a binary float."""
    case = read_case(VALID / "example.json")
    obs = list(case.observations)
    obs[0] = dataclasses.replace(obs[0], viable_diameter_mm=Decimal("9.80"))
    obs[4] = dataclasses.replace(obs[4], viable_diameter_mm=Decimal("0.1"),
                                 gap_to_ablation_zone_mm=Decimal("12345678901234567890.123"))
    case = dataclasses.replace(case, observations=tuple(obs))
    text = dumps_case(case)
    assert '"viable_diameter_mm": 9.80' in text
    assert '"viable_diameter_mm": 0.1,' in text
    assert "12345678901234567890.123" in text
    again = read_case_text(text)
    assert again.observations[4].gap_to_ablation_zone_mm == Decimal("12345678901234567890.123")
    assert str(again.observations[0].viable_diameter_mm) == "9.80"


def test_output_is_pretty_utf8_in_spec_order(tmp_path: Path) -> None:
    case = read_case(VALID / "rich.json")
    out = tmp_path / "c.json"
    write_case(case, out)
    raw = out.read_bytes()
    text = raw.decode("utf-8")
    assert "motion artefact — ñ" in text  # not \u escapes
    assert text.endswith("}\n")
    keys = list(json.loads(text))
    assert keys[:4] == ["format", "version", "subject", "reader"]
    assert keys.index("timepoints") < keys.index("lesions") < keys.index("observations")
    assert keys[-1] == "x-study"


def test_write_replaces_atomically_and_leaves_no_temp_file(tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    out.write_text("old", encoding="utf-8")
    os.chmod(out, 0o640)
    write_case(read_case(VALID / "example.json"), out)
    assert read_case(out).subject.id == "CRLM-0007"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]
    assert out.stat().st_mode & 0o777 == 0o640


def test_failed_save_keeps_the_old_file_and_names_it(tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    out.write_text("old content", encoding="utf-8")
    case = read_case(VALID / "example.json")
    bad = dataclasses.replace(case, extra={"x-bad": object()})
    with pytest.raises(SaveError, match=r"c\.json"):
        write_case(bad, out)
    assert out.read_text(encoding="utf-8") == "old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]


def test_save_into_a_missing_or_readonly_folder_is_a_save_error(tmp_path: Path) -> None:
    case = read_case(VALID / "example.json")
    with pytest.raises(SaveError, match="nowhere"):
        write_case(case, tmp_path / "nowhere" / "c.json")
    if os.geteuid() != 0:  # root ignores folder permissions
        ro = tmp_path / "ro"
        ro.mkdir()
        os.chmod(ro, 0o500)
        try:
            with pytest.raises(SaveError):
                write_case(case, ro / "c.json")
        finally:
            os.chmod(ro, 0o700)


def test_save_error_is_also_an_oserror() -> None:
    assert issubclass(SaveError, OSError)


def test_case_problems_tells_what_a_saved_case_still_needs() -> None:
    from mrecist_tool.casefile import case_problems

    case = read_case(VALID / "example.json")
    assert case_problems(case) == []
    obs = list(case.observations)
    obs[0] = dataclasses.replace(obs[0], viable_diameter_mm=None)
    problems = case_problems(dataclasses.replace(case, observations=tuple(obs)))
    assert [p.path for p in problems] == ["$.observations[0].viable_diameter_mm"]
