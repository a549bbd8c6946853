"""A reading not yet finished (REC-B1): a target added in the viewer but not yet observed at
baseline.  Saved as it is; `read_case` refuses it (it cannot be assessed), the viewer reopens it
with ``load_case(..., in_progress=True)`` and a warning naming the rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from casebuilder import build

from mrecist_tool.casefile import load_case, read_case, write_case
from mrecist_tool.errors import CaseFileError


def _unfinished(tmp_path: Path) -> Path:
    case = build(tps=[("BL", "2021-01-01"), ("FU1", "2021-03-01")], lesions={"L1": "target", "T2": "target"},
                 obs={("L1", "BL"): 20, ("L1", "FU1"): "14.0", ("T2", "FU1"): "present"})
    path = tmp_path / "unfinished.json"
    write_case(case, path)
    return path


def test_a_target_without_a_baseline_observation_is_refused_for_assessment(tmp_path: Path) -> None:
    path = _unfinished(tmp_path)
    with pytest.raises(CaseFileError, match="T2 has no observation at the baseline"):
        read_case(path)
    case, problems = load_case(path)
    assert case is None and [p.rule for p in problems if p.severity == "error"] == ["REC-B1"]


def test_the_same_file_opens_as_a_reading_in_progress_with_a_warning(tmp_path: Path) -> None:
    path = _unfinished(tmp_path)
    case, problems = load_case(path, in_progress=True)
    assert case is not None and [les.id for les in case.lesions] == ["L1", "T2"]
    assert [(p.severity, p.rule) for p in problems] == [("warning", "REC-B1")]
    assert "T2" in problems[0].message and "not finished" in problems[0].message
