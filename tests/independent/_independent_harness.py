"""The comparison and strict-xfail harness shared by the independent case tests.

``test_independent_cases.py`` (``mrecist assess`` tables) and ``test_endpoint_cases.py``
(``endpoints.csv`` of ``mrecist analyze``) read their cases the same way: an expectation file per
case holds checks (table, row key, column, expected value, rule IDs, reason), each compared with
one cell of a CSV table of the tool.  A check marked ``"status": "disputed"`` (the tool disagrees
and the rules, re-read, still say otherwise) or ``"pending"`` (the tool does not output the value
yet) makes its case a strict ``xfail`` that accepts only :class:`Disagreement`: every other check
of the case raises ``AssertionError`` when it fails, which the xfail does not accept, and once the
tool gives the rules' answer the test XPASSes, which fails it (the signal to drop the status).
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest

#: Check statuses that make a case a strict xfail.
OPEN_STATUSES = {"disputed", "pending"}

#: A result table indexed by its row key.
Table = dict[tuple[str, ...], dict[str, str]]


class Disagreement(Exception):
    """A check recorded as disputed or pending still differs from the rules' answer."""


def load_expectations(expected_dir: Path) -> list[dict[str, Any]]:
    """Every ``*.expected.json`` of a folder, sorted by file name, with its name in ``_path``."""
    specs = []
    for path in sorted(expected_dir.glob("*.expected.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        spec["_path"] = path.name
        specs.append(spec)
    return specs


def mrecist_command() -> list[str]:
    """The installed ``mrecist`` console script beside this interpreter (else on PATH)."""
    beside = Path(sys.executable).with_name("mrecist")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("mrecist")
    if found:
        return [found]
    pytest.skip("the mrecist command is not installed (run make install)")
    raise AssertionError("unreachable")


def read_table(path: Path, key: tuple[str, ...]) -> tuple[Table, list[str]]:
    """A CSV table indexed by the values of its ``key`` columns (an empty cell as ``""``)."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = {tuple(row.get(k) or "" for k in key): row for row in reader}
        return rows, list(reader.fieldnames or [])


def number(text: str) -> Decimal | None:
    """The exact decimal value of a cell, or None when it is not a number."""
    try:
        return Decimal(text)
    except (InvalidOperation, ValueError):
        return None


def same(expected: str, actual: str) -> bool:
    """Equal as text, or as exact decimals when both are numbers ("8" == "8.0")."""
    if expected == actual:
        return True
    e, a = number(expected), number(actual)
    if e is not None and a is not None:
        return e == a
    return expected.strip().lower() == actual.strip().lower() and expected.lower() in {"true", "false"}


def evaluate(check: Mapping[str, Any], subject: str, tables: Mapping[str, Table],
             columns: Mapping[str, list[str]], table_keys: Mapping[str, tuple[str, ...]],
             key_defaults: Mapping[str, str] | None = None) -> str | None:
    """None when the check holds, else a one-line description of what the tool gave.

    The row is found by the case's subject, ``key_defaults`` and the check's ``key``, in the order
    of ``table_keys[check["table"]]``.
    """
    table = check["table"]
    key_names = table_keys[table]
    key_values = {"subject": subject, **(key_defaults or {}), **check.get("key", {})}
    key = tuple(str(key_values[k]) for k in key_names)
    column = check["column"]
    if column not in columns.get(table, []):
        return f"{table}.csv has no column {column!r}"
    row = tables[table].get(key)
    if row is None:
        return f"{table}.csv has no row {dict(zip(key_names, key, strict=True))}"
    actual = row[column] or ""
    expected = str(check["expected"])
    op = check.get("op", "equals")
    if op == "equals":
        ok = same(expected, actual)
    elif op == "contains":
        ok = expected.lower() in actual.lower()
    elif op == "nonempty":
        ok = actual.strip() != ""
    elif op in ("at_least", "at_most"):
        a, e = number(actual), number(expected)
        ok = a is not None and e is not None and (a >= e if op == "at_least" else a <= e)
    elif op == "approx":
        # Months are days / 30.4375 (GEN-6), shown rounded: agree to half a unit of the 4th decimal.
        a, e = number(actual), number(expected)
        ok = a is not None and e is not None and abs(a - e) <= Decimal("0.00005")
    else:
        raise ValueError(f"unknown op {op!r}")
    if ok:
        return None
    return f"{table}[{', '.join(key)}].{column}: expected {op} {expected!r}, tool gives {actual!r}"


def case_param(spec: dict[str, Any], label: Callable[[dict[str, Any]], str]) -> Any:
    """One case as a pytest parameter, a strict xfail when it has disputed or pending checks.

    ``label`` names an open check in the xfail reason (e.g. its column, or endpoint and column).
    """
    rules = ",".join(spec["rules"])
    open_checks = [c for c in spec["checks"] if c.get("status") in OPEN_STATUSES]
    marks = []
    if open_checks:
        reason = "; ".join(f"{label(c)}: {c.get('note', c['status'])}" for c in open_checks)
        marks.append(pytest.mark.xfail(strict=True, raises=Disagreement, reason=reason))
    return pytest.param(spec, id=f"{spec['subject']}[{rules}]", marks=marks)


def run_checks(checks: list[dict[str, Any]], evaluate_one: Callable[[dict[str, Any]], str | None]) -> None:
    """Fail on any agreed check that does not hold, then on any open check that does not.

    Raises ``AssertionError`` (never accepted by the strict xfail) for agreed checks and
    :class:`Disagreement` for disputed or pending ones.
    """
    agreed_failures: list[str] = []
    open_failures: list[str] = []
    for check in checks:
        problem = evaluate_one(check)
        if problem is None:
            continue
        line = f"{problem}  [{', '.join(check['rules'])}: {check['reason']}]"
        (open_failures if check.get("status") in OPEN_STATUSES else agreed_failures).append(line)
    assert not agreed_failures, "\n".join(agreed_failures)
    if open_failures:
        raise Disagreement("\n".join(open_failures))


def check_is_well_formed(spec: Mapping[str, Any], check: Mapping[str, Any],
                         table_keys: Mapping[str, tuple[str, ...]]) -> None:
    """A check names a known table, its rules and a reason; an open status comes with a note."""
    assert check["table"] in table_keys, (spec["_path"], check)
    assert check["rules"] and check["reason"], (spec["_path"], check)
    if check.get("status"):
        assert check["status"] in OPEN_STATUSES and check.get("note"), (spec["_path"], check)
