"""The public face a notebook user discovers (issue 9): what ``import mrecist_tool`` offers, that
it is cheap, documented (numpydoc, with types), in step with docs/api.md and with the functions it
calls, that every error is an ``MrecistError`` and that exit codes live in one module."""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def _api_docs() -> Any:
    spec = importlib.util.spec_from_file_location("api_docs", ROOT / "scripts" / "api_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


API_DOCS = _api_docs()


def _public_names() -> list[tuple[str, str]]:
    return [(module, name) for module in API_DOCS.PUBLIC_MODULES
            for name in importlib.import_module(module).__all__]


# numpydoc's own validator (numpydoc.validate) is the reference for the format: these of its
# checks must pass for every public function.
NUMPYDOC_CHECKS = {
    "GL08": "no docstring",
    "SS01": "no one-line summary",
    "GL06": "unknown section",
    "GL07": "sections in the wrong order",
    "PR01": "parameters not documented",
    "PR02": "documented parameters that are not in the signature",
    "PR03": "parameters documented in another order than the signature's",
    "PR04": "a parameter without a type",
    "PR07": "a parameter without a description",
    "RT01": "no Returns section although it returns something",
    "RT03": "a return value without a description",
    "YD01": "no Yields section for a generator",
}


def _raises_names(doc: Any) -> list[str]:
    return [name.strip() for entry in doc["Raises"] for name in (entry.type or entry.name).split(",")]


@pytest.mark.parametrize(("module", "name"), _public_names(), ids=lambda x: x)
def test_every_public_name_has_a_numpydoc_docstring_that_matches_its_signature(module: str, name: str) -> None:
    from numpydoc.docscrape import get_doc_object
    from numpydoc.validate import validate

    obj = getattr(importlib.import_module(module), name)
    kind = API_DOCS.kind_of(obj)
    where = f"{module}.{name}"
    if kind == "constant":
        assert API_DOCS.constant_comment(importlib.import_module(module), name), (
            f"{where}: a constant needs a '#:' comment above its assignment")
        return
    target = inspect.unwrap(obj)
    if kind == "function":
        found = validate(f"{target.__module__}.{target.__qualname__}")
        errors = [f"{code} ({NUMPYDOC_CHECKS[code]}): {message}" for code, message in found["errors"]
                  if code in NUMPYDOC_CHECKS]
        assert errors == [], f"{where}: " + "; ".join(errors)
        for p in inspect.signature(target).parameters.values():
            assert p.annotation is not inspect.Parameter.empty, f"{where}: {p.name} has no type hint"
        doc = get_doc_object(target)
    else:
        # A class: its constructor's parameters are documented under Parameters or, for the
        # records the toolkit returns (dataclasses), under Attributes; each with a type.
        doc = get_doc_object(target, config={"show_class_members": False})
        assert doc["Summary"], f"{where}: no one-line summary"
        documented = {e.name.lstrip("*"): e for e in [*doc["Parameters"], *doc["Attributes"]]}
        try:
            params = list(inspect.signature(target).parameters.values())
        except ValueError:  # an exception class that takes its message as the builtin does
            params = []
        init = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        missing = [p.name for p in init if p.name not in documented]
        assert missing == [], f"{where}: constructor parameters not documented: {missing}"
        untyped = [p.name for p in init if not documented[p.name].type]
        assert untyped == [], f"{where}: documented without a type: {untyped}"
        unknown = [e.name for e in doc["Parameters"] if e.name.lstrip("*") not in {p.name for p in init}]
        assert unknown == [], f"{where}: Parameters that the constructor does not take: {unknown}"
    for exc in _raises_names(doc):
        assert exc in _error_names(), f"{where}: Raises names {exc!r}, which is no exception class we know"


@functools.cache
def _error_names() -> set[str]:
    import builtins

    names = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}
    names |= set(_exception_classes())
    return names


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
    assert (ROOT / "docs" / "api.md").read_text(encoding="utf-8") == API_DOCS.render(), (
        "docs/api.md is out of date: run .venv/bin/python scripts/api_docs.py")


def test_the_api_page_covers_every_public_module() -> None:
    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for module, name in _public_names():
        assert f"## `{module}`" in page
        assert re.search(rf"(#### `{re.escape(name)}[(`]|- `{re.escape(name)}` : )", page), f"{module}.{name}"


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
