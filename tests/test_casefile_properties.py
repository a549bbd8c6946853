"""Property-based tests of case-file reading and writing (hypothesis)."""

from __future__ import annotations

import contextlib
import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mrecist_tool.casefile import (
    case_from_dict,
    case_to_dict,
    dumps_case,
    read_case_text,
)
from mrecist_tool.casefile.jsontext import dumps, in_bounds
from mrecist_tool.errors import CaseFileError

IDS = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz0123456789._-", min_size=1, max_size=12)
# A case file holds numbers of at most 60 digits (jsontext.in_bounds): valid cases stay within it.
LENGTHS = st.decimals(min_value=0, max_value=500, allow_nan=False, allow_infinity=False).filter(in_bounds)
COORDS = st.decimals(min_value=-1000, max_value=1000, allow_nan=False, allow_infinity=False).filter(in_bounds)
# Any JSON value, numbers included that a case file cannot hold (1E-50, 70 digits): for the
# tests of damaged input.
JSON_SCALARS = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8) | \
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-10**6, max_value=10**6)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)
# The values an extension of a valid case holds: numbers within the format's bounds.  (Unbounded
# decimals here made "valid" cases the reader rightly refuses, an intermittent failure.)
VALID_SCALARS = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8) | \
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-10**6, max_value=10**6).filter(in_bounds)
VALID_VALUES = st.recursive(
    VALID_SCALARS,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)
EXTRAS = st.dictionaries(st.text("abcdefgh", min_size=1, max_size=5).map(lambda k: f"x-{k}"),
                         VALID_VALUES, max_size=2)
FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def valid_cases(draw: Any) -> dict[str, Any]:
    """A valid case-file dict (one baseline, targets measured at baseline, unique ids)."""
    criteria = draw(st.sampled_from(["mRECIST", "RECIST1.1"]))
    n_tp = draw(st.integers(1, 5))
    start = date(2020, 1, 1) + timedelta(days=draw(st.integers(0, 1000)))
    gaps = draw(st.lists(st.integers(1, 200), min_size=n_tp - 1, max_size=n_tp - 1))
    dates = [start]
    for g in gaps:
        dates.append(dates[-1] + timedelta(days=g))
    tp_ids = draw(st.lists(IDS, min_size=n_tp, max_size=n_tp, unique=True))
    timepoints = []
    for i, (tid, d) in enumerate(zip(tp_ids, dates, strict=True)):
        tp: dict[str, Any] = {"id": tid, "date": d.isoformat(), **draw(EXTRAS)}
        if i == 0:
            tp["baseline"] = True
        if i > 0 and draw(st.booleans()):
            tp["new_lesion_search"] = "incomplete"
        if draw(st.booleans()):
            tp["slice_thickness_mm"] = draw(LENGTHS)
        timepoints.append(tp)
    order = draw(st.permutations(range(n_tp)))
    lesion_ids = draw(st.lists(IDS, max_size=5, unique=True))
    lesions = []
    observations = []
    for lid in lesion_ids:
        role = draw(st.sampled_from(["target", "non-target", "new"] if n_tp > 1
                                    else ["target", "non-target"]))
        kind = draw(st.sampled_from(["tumor", "node", "porta-hepatis-node", "effusion"]))
        lesion = {"id": lid, "role": role, "kind": kind,
                  "organ": draw(st.sampled_from(["liver", "lung", "lymph node"])),
                  **draw(EXTRAS)}
        lesions.append(lesion)
        first = 0 if role != "new" else draw(st.integers(1, n_tp - 1))
        for k in range(first, n_tp):
            if k > first and not draw(st.booleans()):
                continue
            status = draw(st.sampled_from(["measured", "absent", "too-small", "present",
                                           "not-evaluable"]))
            if role == "target" and k == 0:
                status = "measured"
            o: dict[str, Any] = {"lesion": lid, "timepoint": tp_ids[k], "status": status}
            if status == "measured":
                if kind in ("node", "porta-hepatis-node"):
                    o["short_axis_mm"] = draw(LENGTHS)
                elif criteria == "mRECIST":
                    o["viable_diameter_mm"] = draw(LENGTHS)
                else:
                    o["longest_diameter_mm"] = draw(LENGTHS)
                if draw(st.booleans()):
                    o["geometry"] = {"line": [[draw(COORDS) for _ in range(3)],
                                              [draw(COORDS) for _ in range(3)]],
                                     "series_uid": "1.2.3"}
            if draw(st.booleans()):
                o["note"] = draw(st.text(max_size=10))
            o.update(draw(EXTRAS))
            observations.append(o)
    return {
        "format": "mrecist-case", "version": 1,
        "subject": {"id": draw(IDS), **draw(EXTRAS)},
        "criteria": criteria,
        "settings": draw(st.fixed_dictionaries({}, optional={
            "ltp_max_distance_mm": LENGTHS, "confirmation_required": st.booleans()})),
        "timepoints": [timepoints[i] for i in order],
        "lesions": lesions,
        "observations": observations,
        **draw(EXTRAS),
    }


@FAST
@given(valid_cases())
def test_to_dict_then_from_dict_is_the_identity(data: dict[str, Any]) -> None:
    case = case_from_dict(data)
    again = case_from_dict(case_to_dict(case))
    assert again == case
    assert case_to_dict(again) == case_to_dict(case)


@FAST
@given(valid_cases())
def test_written_text_reads_back_to_the_same_case(data: dict[str, Any]) -> None:
    case = case_from_dict(data)
    text = dumps_case(case)
    again = read_case_text(text)
    assert again == case
    assert case_to_dict(again) == case_to_dict(case)
    assert dumps_case(again) == text


@settings(max_examples=300, deadline=None)
@given(LENGTHS)
def test_any_decimal_length_is_read_back_exactly_gen1(value: Decimal) -> None:
    """GEN-1: a length written is the same decimal when read back."""
    data = json.loads((Path(__file__).parent / "malformed" / "valid" / "example.json")
                      .read_text("utf-8"), parse_float=Decimal)
    data["observations"][0]["viable_diameter_mm"] = value
    case = case_from_dict(data)
    again = read_case_text(dumps_case(case))
    got = again.observations[0].viable_diameter_mm
    assert got == value
    if value != value.to_integral_value() or "E" in str(value):
        assert str(got) == str(value)  # same digits, same exponent


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_reading_any_json_value_raises_only_case_file_error(value: Any) -> None:
    with contextlib.suppress(CaseFileError):
        case_from_dict(value)
    with contextlib.suppress(CaseFileError):
        read_case_text(dumps(value))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_reading_any_text_raises_only_case_file_error(text: str) -> None:
    with contextlib.suppress(CaseFileError):
        read_case_text(text)


@FAST
@given(valid_cases(), st.data())
def test_one_damaged_value_anywhere_raises_only_case_file_error(data: dict[str, Any],
                                                                 draw: Any) -> None:
    """Replace one value anywhere in a valid case by arbitrary JSON: never another error."""
    node: Any = data
    for _ in range(draw.draw(st.integers(1, 4))):
        if isinstance(node, dict) and node:
            key = draw.draw(st.sampled_from(sorted(node)))
            if not isinstance(node[key], dict | list) or draw.draw(st.booleans()):
                node[key] = draw.draw(JSON_VALUES)
                break
            node = node[key]
        elif isinstance(node, list) and node:
            i = draw.draw(st.integers(0, len(node) - 1))
            if not isinstance(node[i], dict | list) or draw.draw(st.booleans()):
                node[i] = draw.draw(JSON_VALUES)
                break
            node = node[i]
        else:
            break
    try:
        case = case_from_dict(data)
    except CaseFileError:
        return
    assert case_from_dict(case_to_dict(case)) == case


@FAST
@given(valid_cases())
def test_fast_path_and_full_check_build_the_same_case(data: dict[str, Any]) -> None:
    """The fast path only declines: with it switched off the same case and no problems."""
    import mrecist_tool.casefile._io as cf

    fast = cf._build(data, "f.json")
    saved = cf.fast_observation, cf.fast_timepoint
    cf.fast_observation = lambda d, ck: None  # type: ignore[assignment]
    cf.fast_timepoint = lambda d, ck, built: None  # type: ignore[assignment]
    try:
        full = cf._build(data, "f.json")
    finally:
        cf.fast_observation, cf.fast_timepoint = saved
    assert fast[0] == full[0]
    assert fast[1] == full[1]
    assert fast[0] is not None and case_to_dict(fast[0]) == case_to_dict(full[0])


def _example() -> dict[str, Any]:
    return json.loads((Path(__file__).parent / "malformed" / "valid" / "example.json")
                      .read_text("utf-8"), parse_float=Decimal)


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES, st.sampled_from(["top", "subject", "timepoint", "lesion", "observation"]))
def test_an_extension_is_kept_exactly_when_its_written_file_reads_back(value: Any, where: str) -> None:
    """GEN-1: what ``case_from_dict`` accepts, written, reads back; what it refuses (a number the
    format cannot hold, data built in Python) the reader refuses too, at the same place."""
    data = _example()
    target = {"top": data, "subject": data["subject"], "timepoint": data["timepoints"][0],
              "lesion": data["lesions"][0], "observation": data["observations"][0]}[where]
    target["x-value"] = value
    try:
        case = case_from_dict(data)
    except CaseFileError as built:
        with contextlib.suppress(CaseFileError):
            read_case_text(dumps(data))
            raise AssertionError(f"case_from_dict refused what reading accepts: {built}") from None
        return
    assert read_case_text(dumps_case(case)) == case


def test_a_number_out_of_range_in_an_extension_is_refused_at_its_place() -> None:
    data = _example()
    data["lesions"][0]["x-reader"] = {"scores": [1, Decimal("1E-50")], "weight": float("nan")}
    try:
        case_from_dict(data)
    except CaseFileError as exc:
        found = {(p.path, "out of the range" in p.message or "not a number JSON allows" in p.message)
                 for p in exc.problems}
    else:
        raise AssertionError("accepted a number a case file cannot hold")
    assert found == {("$.lesions[0].x-reader.scores[1]", True), ("$.lesions[0].x-reader.weight", True)}


@settings(max_examples=300, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-10**6, max_value=10**6))
def test_a_number_within_the_bounds_is_written_so_that_it_reads_back(value: Decimal) -> None:
    """GEN-1: every decimal the checks accept (``in_bounds``) is written (``str``) with a literal
    the reader accepts, and reads back as the same decimal; the others are refused either way."""
    from mrecist_tool.casefile.jsontext import bounded_decimal

    written = dumps(value).strip()
    if in_bounds(value):
        assert bounded_decimal(written) == value and str(bounded_decimal(written)) == written
    else:
        assert bounded_decimal(written) is None


def test_sixty_digits_that_would_be_written_longer_than_sixty_four_characters_are_refused() -> None:
    # -1.{59 digits}E-30 is within 1e-40..1e20 and has 60 digits, but str() writes 66 characters,
    # which the reader refuses: such a number was accepted, written, and the file then refused.
    value = Decimal("-1." + "1" * 59 + "E-30")
    assert not in_bounds(value)
    # A 64-character literal whose written form has 65 (a point is added) is refused on reading.
    data = _example()
    text = dumps(data).replace("{", '{"x-n": ' + "1" * 60 + "E-70, ", 1)
    try:
        read_case_text(text)
    except CaseFileError as exc:
        assert [p.path for p in exc.problems] == ["$.x-n"]
    else:
        raise AssertionError("a number that cannot be written back was accepted")
    assert in_bounds(Decimal("1" * 20 + "." + "1" * 40))  # 60 digits, 61 characters: fine
