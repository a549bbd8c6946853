"""Regenerate the hostile case-file corpus and its manifest ``expected.json`` (issue 8, items 1-3,
6, 7).

Run from the repository root: ``.venv/bin/python tests/hostile/casefiles/regenerate.py``.

Each file is the valid example of case-format.md (``tests/malformed/valid/example.json``) with
one hostile defect, or a JSON text no case file should be.  ``expected.json`` maps each file name
to the (JSON path, message fragment) pairs that ``mrecist validate``, ``assess``, ``explain`` and
``export sdtm`` must report.  Inputs that cannot be committed as files (a FIFO, a symbolic link
leaving the case folder) are made by the tests themselves.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
EXAMPLE = HERE.parent.parent / "malformed" / "valid" / "example.json"
BASE: dict[str, Any] = json.loads(EXAMPLE.read_text("utf-8"))
GOOD = json.dumps(BASE, indent=1)

files: dict[str, str] = {}
expected: dict[str, list[list[str]]] = {}
OUT_OF_RANGE = "out of the range a case file holds"
SURROGATE = "lone UTF-16 surrogate"


def case(name: str, expect: list[tuple[str, str]], edit: Any = None, text: str | None = None) -> None:
    if text is None:
        data = copy.deepcopy(BASE)
        edit(data)
        text = json.dumps(data, indent=1) + "\n"
    files[name] = text
    expected[name] = [list(e) for e in expect]


def replaced(old: str, new: str) -> str:
    """The example's text with one literal replaced (for values json.dumps cannot write)."""
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


def settings(**values: Any) -> Any:
    return lambda d: d.update(settings=values)


# -- 1. top levels that are not an object -------------------------------------------------------
case("top_null.json", [("$", "found null, expected a JSON object")], text="null\n")
case("top_true.json", [("$", "found true, expected a JSON object")], text="true\n")
case("top_number.json", [("$", "found the number 42, expected a JSON object")], text="42\n")
case("top_text.json", [("$", "found the text \"mrecist-case\", expected a JSON object")],
     text='"mrecist-case"\n')
case("top_huge_number.json", [("$", OUT_OF_RANGE)], text="1e1000000\n")
case("top_nan.json", [("$", "found NaN")], text="NaN\n")

# -- 2. text that cannot be encoded (lone surrogates) -------------------------------------------
case("surrogate_arm.json", [("$.subject.arm", SURROGATE)],
     text=replaced('"arm": "perioperative"', '"arm": "\\ud800"'))
case("surrogate_site.json", [("$.lesions[0].site", SURROGATE)],
     text=replaced('"site": "segment VII"', '"site": "segment \\udfff VII"'))
case("surrogate_note.json", [("$.observations[1].note", SURROGATE)],
     text=replaced('"status": "present"', '"status": "present", "note": "\\udc80"'))
case("surrogate_key.json", [("$[\"x-\\\\ud834\"]", SURROGATE)],
     text=replaced('"format": "mrecist-case"', '"format": "mrecist-case", "x-\\ud834": 1'))
case("surrogate_status.json", [("$.observations[2].status", SURROGATE)],
     text=replaced('"status": "absent"', '"status": "\\ud800absent"'))

# -- 3. numbers out of bounds (never converted: no hang, no overflow) ---------------------------
case("setting_exponent_1e1000000.json", [("$.settings.max_targets_total", OUT_OF_RANGE)],
     text=replaced('"criteria": "mRECIST"',
                   '"criteria": "mRECIST", "settings": {"max_targets_total": 1e1000000}'))
case("setting_pr_threshold_1e999999.json", [("$.settings.pr_threshold", OUT_OF_RANGE)],
     text=replaced('"criteria": "mRECIST"',
                   '"criteria": "mRECIST", "settings": {"pr_threshold": 1e999999}'))
case("length_1e999999999.json", [("$.observations[0].viable_diameter_mm", OUT_OF_RANGE)],
     text=replaced('"viable_diameter_mm": 24.5', '"viable_diameter_mm": 1e999999999'))
case("length_integer_5000_digits.json",
     [("$.observations[0].viable_diameter_mm", "a number written with 5,000 characters")],
     text=replaced('"viable_diameter_mm": 24.5', '"viable_diameter_mm": ' + "9" * 5000))
case("length_tiny_exponent.json", [("$.observations[4].viable_diameter_mm", OUT_OF_RANGE)],
     text=replaced('"viable_diameter_mm": 8', '"viable_diameter_mm": 1e-999999999'))
case("length_long_fraction.json", [("$.observations[0].viable_diameter_mm", OUT_OF_RANGE)],
     text=replaced('"viable_diameter_mm": 24.5', '"viable_diameter_mm": 24.' + "5" * 100))
case("zero_huge_exponent.json", [("$.observations[4].gap_to_ablation_zone_mm", OUT_OF_RANGE)],
     text=replaced('"gap_to_ablation_zone_mm": 0', '"gap_to_ablation_zone_mm": 0e-1000000'))
case("coordinate_1e400.json", [("$.observations[0].geometry.line[1][0]", OUT_OF_RANGE)],
     text=replaced('"viable_diameter_mm": 24.5',
                   '"viable_diameter_mm": 24.5, "geometry": {"line": [[1, 2, 3], [1e400, 2, 3]]}'))
case("version_1e1000000.json", [("$.version", OUT_OF_RANGE)],
     text=replaced('"version": 1', '"version": 1e1000000'))
case("version_integer_4301_digits.json", [("$.version", "a number written with 4,301 characters")],
     text=replaced('"version": 1', '"version": ' + "1" * 4301))
case("extension_integer_10000_digits.json", [("$.x-big", OUT_OF_RANGE)],
     text=replaced('"format": "mrecist-case"', '"format": "mrecist-case", "x-big": -' + "7" * 10000))

# -- 6. settings of the wrong kind (strict, as case-format.md says) -----------------------------
case("setting_range_as_text.json",
     [("$.settings.technique_efficacy_window_days", "found the text \"-5-10\"")],
     settings(technique_efficacy_window_days="-5-10"))
case("setting_bool_as_text.json",
     [("$.settings.confirmation_required", "expected true or false (without quotes), found the text \"no\"")],
     settings(confirmation_required="no"))
case("setting_number_as_text.json",
     [("$.settings.ltp_max_distance_mm", "(without quotes), found the text \"5\"")],
     settings(ltp_max_distance_mm="5"))
case("setting_bool_as_number.json",
     [("$.settings.confirmation_required", "expected true or false (without quotes), found the number 1")],
     settings(confirmation_required=1))
case("setting_number_as_bool.json",
     [("$.settings.pr_threshold", "found true")], settings(pr_threshold=True))
case("setting_whole_number_with_fraction.json",
     [("$.settings.sd_min_days", "expected a whole number, found the number 4.5")],
     settings(sd_min_days=4.5))
case("setting_days_too_large.json",
     [("$.settings.confirm_min_days", "expected a whole number from 0 to 1000000")],
     settings(confirm_min_days=10**7))
case("setting_range_reversed.json",
     [("$.settings.technique_efficacy_window_days", "expected min <= max, found [56, 21]")],
     settings(technique_efficacy_window_days=[56, 21]))
case("setting_range_three_items.json",
     [("$.settings.technique_efficacy_window_days", "found a list of 3 items")],
     settings(technique_efficacy_window_days=[1, 2, 3]))
case("setting_range_negative.json",
     [("$.settings.technique_efficacy_window_days", "expected a number >= 0")],
     settings(technique_efficacy_window_days=[-5, 10]))
case("setting_choice_as_number.json",
     [("$.settings.viability_phase", "expected one of arterial, portal_venous, any, found the number 1")],
     settings(viability_phase=1))
case("setting_null.json", [("$.settings.ltp_max_distance_mm", "found null")],
     settings(ltp_max_distance_mm=None))

# -- 7. mask paths no file system holds ---------------------------------------------------------
case("mask_path_4096_characters.json",
     [("$.observations[0].geometry.mask", "4,096 characters long")],
     lambda d: d["observations"][0].update(geometry={"mask": "masks/" + "a" * 4090}))
case("mask_name_300_bytes.json",
     [("$.observations[0].geometry.ablation_zone_mask", "one name in it 300 bytes")],
     lambda d: d["observations"][0].update(geometry={"ablation_zone_mask": "m/" + "b" * 300}))

if __name__ == "__main__":
    for old in HERE.glob("*.json"):
        old.unlink()
    for name, text in files.items():
        (HERE / name).write_text(text, encoding="utf-8")
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1) + "\n", encoding="utf-8")
    print(f"{len(files)} files")
