"""The public face a notebook user discovers (issue 9): what ``import mrecist_tool`` offers, that
it is cheap, documented (numpydoc, with types), in step with docs/api.md and with the functions it
calls, that every error is an ``MrecistError`` and that exit codes live in one module."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mrecist_tool as mt
from mrecist_tool import pipeline

ROOT = Path(__file__).parent.parent
SOURCES = [ROOT / "src" / "mrecist_tool", ROOT / "plugins" / "napari" / "src"]
HEAVY = ("numpy", "pandas", "pydicom", "SimpleITK", "scipy", "matplotlib", "distributed", "napari")


def test_import_is_cheap() -> None:
    code = f"import sys, mrecist_tool; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_main_entry_points_are_exported() -> None:
    for name in ("read_case", "assess", "assess_files", "read_series", "analyze", "MrecistError", "Problem"):
        assert name in mt.__all__ and getattr(mt, name) is not None
    assert sorted(set(mt.__all__)) == sorted(mt.__all__)


def test_a_notebook_session(tmp_path: Path) -> None:
    case = mt.read_case(ROOT / "sample_data" / "cases" / "CRLM-S003.json")
    assert mt.assess(case).timepoint("FU1").overall.category == "PR"  # case-format.md's example
    batch = mt.assess_files(ROOT / "sample_data" / "cases", executor="serial")
    assert len(batch.accepted) == 6 and batch.results[0].assessment is not None
    with pytest.raises(mt.CaseFileError) as info:
        mt.read_case(ROOT / "tests" / "malformed" / "length_as_text.json")
    assert isinstance(info.value, mt.MrecistError) and isinstance(info.value, ValueError)
    assert info.value.problems[0].path == "$.observations[0].viable_diameter_mm"


def _public_functions() -> list[tuple[str, object]]:
    found = [(f"mrecist_tool.{n}", getattr(mt, n)) for n in mt.__all__ if inspect.isfunction(getattr(mt, n))]
    found += [(f"mrecist_tool.pipeline.{n}", getattr(pipeline, n)) for n in pipeline.__all__
              if inspect.isfunction(getattr(pipeline, n)) and n not in ("table_rows", "table_text")]
    return found


@pytest.mark.parametrize(("name", "func"), _public_functions(), ids=lambda x: x if isinstance(x, str) else "")
def test_public_functions_have_numpydoc_with_types(name: str, func: object) -> None:
    doc = inspect.getdoc(func) or ""
    sig = inspect.signature(func)  # type: ignore[arg-type]
    params = [p for p in sig.parameters if p not in ("self",)]
    if params:
        assert re.search(r"^Parameters\n-{10}$", doc, re.M), f"{name}: no Parameters section"
        for p in params:
            assert re.search(rf"^\*{{0,2}}{p} : \S", doc, re.M), f"{name}: parameter {p} not documented with a type"
    if sig.return_annotation not in (None, "None", inspect.Signature.empty):
        assert re.search(r"^(Returns|Yields)\n-+$", doc, re.M), f"{name}: no Returns section"
    for p in sig.parameters.values():
        assert p.annotation is not inspect.Parameter.empty, f"{name}: {p.name} has no type hint"


FACADE = {
    "read_case": "mrecist_tool.casefile:read_case",
    "validate_file": "mrecist_tool.casefile:validate_file",
    "write_case": "mrecist_tool.casefile:write_case",
    "assess": "mrecist_tool.rules:assess_case",
    "read_series": "mrecist_tool.dicom:read_series",
    "scan": "mrecist_tool.dicom:scan",
}


@pytest.mark.parametrize("name", sorted(FACADE))
def test_the_facade_keeps_the_signatures_of_what_it_calls(name: str) -> None:
    module, attr = FACADE[name].split(":")
    impl = getattr(importlib.import_module(module), attr)

    def shape(f: object) -> list[tuple[str, object, object]]:
        return [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]  # type: ignore[arg-type]

    assert shape(getattr(mt, name)) == shape(impl)


def test_docs_api_md_is_current() -> None:
    spec = importlib.util.spec_from_file_location("api_docs", ROOT / "scripts" / "api_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "api.md").read_text(encoding="utf-8") == module.render(), (
        "docs/api.md is out of date: run .venv/bin/python scripts/api_docs.py")


def _exception_classes() -> dict[str, tuple[list[str], str]]:
    classes: dict[str, tuple[list[str], str]] = {}
    for base in SOURCES:
        for path in sorted(base.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef):
                    names = [b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else ""
                             for b in node.bases]
                    classes[node.name] = (names, f"{path.relative_to(ROOT)}:{node.lineno}")
    return classes


def test_every_error_belongs_to_the_mrecist_error_hierarchy() -> None:
    classes = _exception_classes()
    builtin = {n for n, v in vars(__import__("builtins")).items() if isinstance(v, type) and issubclass(v, BaseException)}

    def reaches(name: str, seen: frozenset[str] = frozenset()) -> tuple[bool, bool]:
        """(is an exception, derives from MrecistError)."""
        if name == "MrecistError":
            return True, True
        if name in builtin:
            return True, False
        if name not in classes or name in seen:
            return False, False
        results = [reaches(b, seen | {name}) for b in classes[name][0]]
        return any(r[0] for r in results), any(r[1] for r in results)

    offenders = [f"{where}: {name}" for name, (_, where) in classes.items()
                 if not name.startswith("_") and reaches(name) == (True, False)]
    assert offenders == [], "errors outside the MrecistError hierarchy:\n" + "\n".join(offenders)
    assert issubclass(pipeline.executors.SchedulerError, mt.MrecistError)


def test_exit_codes_live_in_one_module() -> None:
    from mrecist_tool import exitcodes

    assert (exitcodes.EXIT_OK, exitcodes.EXIT_REFUSED, exitcodes.EXIT_USAGE) == (0, 1, 2)
    defined = []
    for path in sorted((ROOT / "src" / "mrecist_tool").rglob("*.py")):
        if path.name == "exitcodes.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                names += [e.id for t in node.targets if isinstance(t, ast.Tuple) for e in t.elts if isinstance(e, ast.Name)]
                if any(n.startswith("EXIT_") for n in names):
                    defined.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert defined == []
