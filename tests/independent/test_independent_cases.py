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
xfail does not accept.  The comparison and the xfail logic are shared with
``test_endpoint_cases.py`` in ``_independent_harness.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from _independent_harness import (
    OPEN_STATUSES,
    Disagreement,
    Table,
    case_param,
    check_is_well_formed,
    load_expectations,
    mrecist_command,
    read_table,
    run_checks,
)
from _independent_harness import evaluate as evaluate_check

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


@dataclass
class Results:
    """The tables of one ``mrecist assess`` run, indexed by row key."""

    tables: dict[str, Table]
    columns: dict[str, list[str]]
    refused: dict[str, str] = field(default_factory=dict)
    returncode: int = 0
    stderr: str = ""


EXPECTATIONS = load_expectations(EXPECTED_DIR)


@pytest.fixture(scope="session")
def results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    out = tmp_path_factory.mktemp("independent") / "out"
    env = dict(os.environ, PYTHONHASHSEED="0")
    proc = subprocess.run(
        [*mrecist_command(), "assess", str(CASES_DIR), "--out", str(out),
         "--print", "never", "--progress", "never", "--jobs", "1"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    # 0: all assessed; 1: some case refused (e.g. a setting the tool does not know yet) while
    # the others are still assessed and written.  Anything else is a failure of the run.
    assert proc.returncode in (0, 1), f"mrecist assess failed ({proc.returncode}):\n{proc.stderr}"
    tables: dict[str, Table] = {}
    columns: dict[str, list[str]] = {}
    for name, key in TABLE_KEYS.items():
        path = out / f"{name}.csv"
        if path.exists():
            tables[name], columns[name] = read_table(path, key)
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


def evaluate(check: dict[str, Any], subject: str, res: Results) -> str | None:
    """None when the check holds, else a one-line description of what the tool gave."""
    return evaluate_check(check, subject, res.tables, res.columns, TABLE_KEYS)


@pytest.mark.parametrize("spec", [case_param(s, lambda c: str(c["column"])) for s in EXPECTATIONS])
def test_case(spec: dict[str, Any], results: Results) -> None:
    subject = spec["subject"]
    if spec["case"] in results.refused:
        message = f"{spec['case']} was refused by mrecist assess: {results.refused[spec['case']]}"
        if any(c.get("status") in OPEN_STATUSES for c in spec["checks"]):
            raise Disagreement(message)
        raise AssertionError(message)
    run_checks(spec["checks"], lambda check: evaluate(check, subject, results))


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
            check_is_well_formed(spec, check, TABLE_KEYS)
