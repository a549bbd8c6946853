"""Independent rule cases, checked against ``mrecist assess`` as a black box.

Every case in ``cases/`` was written by hand from ``response-rules.md`` and ``case-format.md``
alone, without reading the toolkit's code or its other tests; ``expected/<case>.expected.json``
holds the values derived from the rules, each with the rule IDs and one line of reasoning
(see README.md in this folder).

All cases are assessed in **one** run of the ``mrecist`` command (a session-scoped fixture), then
each case becomes one test whose id carries its rule IDs.  A check marked ``"status":
"disputed"`` (the tool disagrees and the rules, re-read, still say otherwise) or ``"pending"``
(the tool does not output the value yet) makes its case a strict ``xfail``: the test fails with
:class:`Disagreement` only when a disputed check still disagrees, and it XPASSes (and so fails,
being strict) once the tool gives the rules' answer, which is the signal to drop the status.
Every other check of the same case must still hold: it raises ``AssertionError``, which the
xfail does not accept.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
CASES_DIR = HERE / "cases"
EXPECTED_DIR = HERE / "expected"

#: Row keys of each result table of ``mrecist assess`` (case-format.md, "Results"; ``dlm.csv``
#: lists the disappearing liver metastases of PRE-3).
TABLE_KEYS = {
    "timepoints": ("subject", "timepoint"),
    "lesions": ("subject", "lesion", "timepoint"),
    "subjects": ("subject",),
    "ablations": ("subject", "lesion"),
    "dlm": ("subject", "lesion"),
}

#: Check statuses that make a case a strict xfail.
OPEN_STATUSES = {"disputed", "pending"}


class Disagreement(Exception):
    """A check recorded as disputed or pending still differs from the rules' answer."""


@dataclass
class Results:
    """The tables of one ``mrecist assess`` run, indexed by row key."""

    tables: dict[str, dict[tuple[str, ...], dict[str, str]]]
    columns: dict[str, list[str]]
    refused: dict[str, str] = field(default_factory=dict)
    returncode: int = 0
    stderr: str = ""


def _load_expectations() -> list[dict[str, Any]]:
    specs = []
    for path in sorted(EXPECTED_DIR.glob("*.expected.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        spec["_path"] = path.name
        specs.append(spec)
    return specs


EXPECTATIONS = _load_expectations()


def _mrecist_command() -> list[str]:
    """The installed ``mrecist`` console script beside this interpreter (else on PATH)."""
    beside = Path(sys.executable).with_name("mrecist")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("mrecist")
    if found:
        return [found]
    pytest.skip("the mrecist command is not installed (run make install)")
    raise AssertionError("unreachable")


def _read_table(path: Path, key: tuple[str, ...]) -> tuple[dict[tuple[str, ...], dict[str, str]], list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = {tuple(row[k] for k in key): row for row in reader}
        return rows, list(reader.fieldnames or [])


@pytest.fixture(scope="session")
def results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    out = tmp_path_factory.mktemp("independent") / "out"
    env = dict(os.environ, PYTHONHASHSEED="0")
    proc = subprocess.run(
        [*_mrecist_command(), "assess", str(CASES_DIR), "--out", str(out),
         "--print", "never", "--progress", "never", "--jobs", "1"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    # 0: all assessed; 1: some case refused (e.g. a setting the tool does not know yet) while
    # the others are still assessed and written.  Anything else is a failure of the run.
    assert proc.returncode in (0, 1), f"mrecist assess failed ({proc.returncode}):\n{proc.stderr}"
    tables: dict[str, dict[tuple[str, ...], dict[str, str]]] = {}
    columns: dict[str, list[str]] = {}
    for name, key in TABLE_KEYS.items():
        path = out / f"{name}.csv"
        if path.exists():
            tables[name], columns[name] = _read_table(path, key)
        else:
            tables[name], columns[name] = {}, []
    refused: dict[str, str] = {}
    assessment = out / "assessment.json"
    if assessment.exists():
        for item in json.loads(assessment.read_text(encoding="utf-8")).get("refused", []):
            text = json.dumps(item)
            refused[Path(str(item.get("file", text)) if isinstance(item, dict) else text).name] = text
    for line in proc.stderr.splitlines():
        for spec in EXPECTATIONS:
            if spec["case"] in line:
                refused.setdefault(spec["case"], line)
    return Results(tables, columns, refused, proc.returncode, proc.stderr)


def _same(expected: str, actual: str) -> bool:
    """Equal as text, or as exact decimals when both are numbers ("8" == "8.0")."""
    if expected == actual:
        return True
    try:
        return Decimal(expected) == Decimal(actual)
    except (InvalidOperation, ValueError):
        return expected.strip().lower() == actual.strip().lower() and expected.lower() in {"true", "false"}


def evaluate(check: dict[str, Any], subject: str, res: Results) -> str | None:
    """None when the check holds, else a one-line description of what the tool gave."""
    table = check["table"]
    key_names = TABLE_KEYS[table]
    key_values = {"subject": subject, **check.get("key", {})}
    key = tuple(str(key_values[k]) for k in key_names)
    column = check["column"]
    if column not in res.columns.get(table, []):
        return f"{table}.csv has no column {column!r}"
    row = res.tables[table].get(key)
    if row is None:
        return f"{table}.csv has no row {dict(zip(key_names, key, strict=True))}"
    actual = row[column] or ""
    expected = str(check["expected"])
    op = check.get("op", "equals")
    if op == "equals":
        ok = _same(expected, actual)
    elif op == "contains":
        ok = expected.lower() in actual.lower()
    elif op == "nonempty":
        ok = actual.strip() != ""
    else:
        raise ValueError(f"unknown op {op!r}")
    if ok:
        return None
    return f"{table}[{', '.join(key)}].{column}: expected {op} {expected!r}, tool gives {actual!r}"


def _param(spec: dict[str, Any]) -> Any:
    rules = ",".join(spec["rules"])
    open_checks = [c for c in spec["checks"] if c.get("status") in OPEN_STATUSES]
    marks = []
    if open_checks:
        reason = "; ".join(f"{c['column']}: {c.get('note', c['status'])}" for c in open_checks)
        marks.append(pytest.mark.xfail(strict=True, raises=Disagreement, reason=reason))
    return pytest.param(spec, id=f"{spec['subject']}[{rules}]", marks=marks)


@pytest.mark.parametrize("spec", [_param(s) for s in EXPECTATIONS])
def test_case(spec: dict[str, Any], results: Results) -> None:
    subject = spec["subject"]
    if spec["case"] in results.refused:
        message = f"{spec['case']} was refused by mrecist assess: {results.refused[spec['case']]}"
        if any(c.get("status") in OPEN_STATUSES for c in spec["checks"]):
            raise Disagreement(message)
        raise AssertionError(message)
    agreed_failures: list[str] = []
    open_failures: list[str] = []
    for check in spec["checks"]:
        problem = evaluate(check, subject, results)
        if problem is None:
            continue
        line = f"{problem}  [{', '.join(check['rules'])}: {check['reason']}]"
        (open_failures if check.get("status") in OPEN_STATUSES else agreed_failures).append(line)
    assert not agreed_failures, "\n".join(agreed_failures)
    if open_failures:
        raise Disagreement("\n".join(open_failures))


def test_every_case_has_expectations_and_rule_ids() -> None:
    """Each case file has exactly one expectation file, and every check names rules and a reason."""
    cases = {p.name for p in CASES_DIR.glob("*.json")}
    expected = {s["case"] for s in EXPECTATIONS}
    assert cases == expected, f"cases without expectations: {sorted(cases - expected)}; " \
                              f"expectations without a case: {sorted(expected - cases)}"
    for spec in EXPECTATIONS:
        case = json.loads((CASES_DIR / spec["case"]).read_text(encoding="utf-8"))
        assert case["subject"]["id"] == spec["subject"], spec["_path"]
        assert spec["rules"] and spec["checks"], spec["_path"]
        for check in spec["checks"]:
            assert check["table"] in TABLE_KEYS, (spec["_path"], check)
            assert check["rules"] and check["reason"], (spec["_path"], check)
            if check.get("status"):
                assert check["status"] in OPEN_STATUSES and check.get("note"), (spec["_path"], check)
