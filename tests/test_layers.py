"""The layers of the package hold (architecture.md, issue 9): the imports between its top-level
modules and subpackages, as the source writes them (imports inside functions included; those
only for type checking left out), form no cycle, and each layer imports only what lies below it
— ``pipeline`` below ``cli`` and ``analysis``, the rules core above nothing but the model."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

SRC = Path(__file__).parent.parent / "src" / "mrecist_tool"

#: What each part may import (besides itself).  Lower layers first; a new edge that goes up is
#: a design change to discuss, not to slip in.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "exitcodes": set(),
    "model": {"errors"},
    "safe_files": {"errors"},
    "atomic": {"errors"},
    "geometry": {"errors"},
    "rules": {"errors", "model"},
    "casefile": {"errors", "model", "rules", "atomic", "safe_files"},
    "dicom": {"errors", "model", "atomic", "safe_files"},
    "margin": {"errors", "model", "rules", "atomic", "safe_files", "geometry", "dicom"},
    "pipeline": {"errors", "model", "rules", "atomic", "safe_files", "geometry", "casefile", "dicom", "margin"},
    "exchange": {"errors", "model", "rules", "atomic", "safe_files", "geometry", "casefile", "dicom", "margin",
                 "pipeline"},
    "sample": {"errors", "model", "rules", "atomic", "safe_files", "geometry", "casefile", "dicom", "pipeline"},
    "analysis": {"errors", "model", "rules", "atomic", "safe_files", "geometry", "casefile", "pipeline",
                 "exchange"},
    "api": {"errors", "model", "rules", "casefile", "dicom", "pipeline", "analysis"},
    "__init__": {"errors", "api", "exitcodes"},
    "cli": {"errors", "exitcodes", "model", "rules", "atomic", "safe_files", "geometry", "casefile", "dicom",
            "margin", "pipeline", "exchange", "sample", "analysis", "api"},
}


def _part(path: Path) -> str:
    rel = path.relative_to(SRC).parts
    return "__init__" if rel == ("__init__.py",) else rel[0].removesuffix(".py")


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Line numbers of imports under ``if TYPE_CHECKING:`` (not run)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                for sub in ast.walk(inner):
                    if isinstance(sub, ast.Import | ast.ImportFrom):
                        lines.add(sub.lineno)
    return lines


def _targets(node: ast.Import | ast.ImportFrom, package: list[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name.split(".")[1] for a in node.names if a.name.startswith("mrecist_tool.")]
    if node.level:
        base = package[: len(package) - (node.level - 1)]
        parts = base + (node.module.split(".") if node.module else [])
    elif node.module and node.module.split(".")[0] == "mrecist_tool":
        parts = node.module.split(".")[1:]
    else:
        return []
    return [parts[0]] if parts else [a.name for a in node.names]


@functools.cache
def import_graph() -> dict[str, dict[str, list[str]]]:
    """part -> imported part -> where (file:line)."""
    graph: dict[str, dict[str, list[str]]] = {}
    for path in sorted(SRC.rglob("*.py")):
        part = _part(path)
        package = list(path.relative_to(SRC).parent.parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_only(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom) or node.lineno in skip:
                continue
            for target in _targets(node, package):
                target = target.removesuffix(".py")
                if target != part and ((SRC / target).is_dir() or (SRC / f"{target}.py").is_file()):
                    where = f"{path.relative_to(SRC)}:{node.lineno}"
                    graph.setdefault(part, {}).setdefault(target, []).append(where)
    return graph


def test_every_part_is_placed_in_a_layer() -> None:
    parts = {_part(p) for p in SRC.rglob("*.py")} - {"py"}
    assert parts <= set(ALLOWED), f"new parts without a layer: {sorted(parts - set(ALLOWED))}"


def test_each_part_imports_only_what_lies_below_it() -> None:
    offenders = [f"{part} imports {target} ({', '.join(where[:3])})"
                 for part, targets in import_graph().items()
                 for target, where in sorted(targets.items()) if target not in ALLOWED.get(part, set())]
    assert offenders == [], "imports that go up a layer:\n" + "\n".join(offenders)


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` as the path around it, or ``[]``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                here = [*path, node]
                return [*here[here.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt, [*path, node])):
                return found
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start, [])):
            return found
    return []


def test_the_imports_between_parts_form_no_cycle() -> None:
    cycle = find_cycle({part: set(targets) for part, targets in import_graph().items()})
    assert cycle == [], "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_the_check_sees_a_function_level_import_and_skips_a_type_only_one() -> None:
    graph = import_graph()
    # analysis/run.py imports the ADaM writer inside a function; margin/step.py names
    # pipeline.case only for type checking.
    assert "exchange" in graph["analysis"]
    assert "pipeline" not in graph.get("margin", {})
