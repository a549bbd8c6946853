"""Generate docs/api.md from the docstrings of the public modules (each one's ``__all__``).

Run ``.venv/bin/python scripts/api_docs.py`` after changing a public docstring; a test checks
that docs/api.md is current and that every public name has a numpydoc docstring whose
parameters match its signature (tests/test_public_api.py).  The numpydoc sections become bold
headings and parameter lists.  Constants are documented by a ``#:`` comment above their
assignment (the Sphinx convention), which this script reads from the source.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "api.md"

#: The public modules, in the order of the page: each one's ``__all__`` is its public face.
PUBLIC_MODULES = (
    "mrecist_tool",
    "mrecist_tool.casefile",
    "mrecist_tool.rules",
    "mrecist_tool.pipeline",
    "mrecist_tool.dicom",
    "mrecist_tool.geometry",
    "mrecist_tool.margin",
    "mrecist_tool.exchange",
    "mrecist_tool.analysis",
)

SECTION = re.compile(r"^(Parameters|Other Parameters|Returns|Yields|Raises|Warns|Attributes|Notes|Examples|"
                     r"See Also|References|Warnings)$")
LISTS = ("Parameters", "Other Parameters", "Returns", "Yields", "Raises", "Warns", "Attributes")
ENTRY = re.compile(r"^(\*{0,2}[A-Za-z_][\w, *]*) : (.+)$")


def _markdown(doc: str) -> str:
    lines = inspect.cleandoc(doc).splitlines()
    out: list[str] = []
    section = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if SECTION.match(line) and i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}:
            section = line
            out += ["", f"**{line}**", ""]
            i += 2
            continue
        if section in LISTS and line and not line.startswith(" "):
            match = ENTRY.match(line)
            out.append(f"- `{match[1]}` : {match[2]}" if match else f"- `{line}`")
        elif section in LISTS and line.startswith(" "):
            out.append(f"  {line.strip()}")
        elif section == "Examples" or line.startswith(">>>"):
            out.append(f"    {line}")
        else:
            out.append(line)
        i += 1
    return "\n".join(out).strip() + "\n"


def _default(value: object) -> str:
    text = repr(value)
    if " at 0x" in text:  # a function or object: its address changes from run to run
        return getattr(value, "__name__", type(value).__name__)
    return text


def signature(obj: object) -> str:
    """The signature with annotations as written (they are strings under postponed evaluation)."""
    sig = inspect.signature(obj)  # type: ignore[arg-type]
    params = []
    star_done = False
    for p in sig.parameters.values():
        if p.kind is p.KEYWORD_ONLY and not star_done:
            params.append("*")
            star_done = True
        if p.kind is p.VAR_POSITIONAL:
            star_done = True
        text = {p.VAR_KEYWORD: f"**{p.name}", p.VAR_POSITIONAL: f"*{p.name}"}.get(p.kind, p.name)
        if p.annotation is not p.empty:
            text += f": {p.annotation}"
        if p.default is not p.empty:
            text += f" = {_default(p.default)}"
        params.append(text)
    ret = f" -> {sig.return_annotation}" if sig.return_annotation is not sig.empty else ""
    return f"({', '.join(params)}){ret}"


def kind_of(obj: object) -> str:
    """``"class"``, ``"function"`` (also a cached or wrapped one) or ``"constant"``."""
    if inspect.isclass(obj):
        return "class"
    if callable(obj) and inspect.isfunction(inspect.unwrap(obj)):
        return "function"
    return "constant"


def constant_comment(module: ModuleType, name: str) -> str:
    """The ``#:`` comment above the assignment of ``name`` in ``module``'s package (or module)."""
    file = Path(module.__file__ or "")
    files = sorted(file.parent.glob("*.py")) if file.name == "__init__.py" else [file]
    for path in files:
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.parse("\n".join(lines)).body:
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign):
                targets = [node.target]
            if not any(isinstance(t, ast.Name) and t.id == name for t in targets):
                continue
            comment: list[str] = []
            k = node.lineno - 2
            while k >= 0 and lines[k].lstrip().startswith("#:"):
                comment.insert(0, lines[k].lstrip()[2:].strip())
                k -= 1
            if comment:
                return " ".join(comment)
    return ""


def _anchor(name: str) -> str:
    """GitHub's anchor of a heading that is ``name`` in backticks."""
    return name.replace(".", "").lower()


def _section(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    names = list(module.__all__)
    objects = {n: getattr(module, n) for n in names}
    top = module_name == "mrecist_tool"
    parts = [f"## `{module_name}`", ""]
    if not top:
        parts += [_markdown(module.__doc__ or ""), ""]
    constants = [n for n in names if kind_of(objects[n]) == "constant"]
    functions = [n for n in names if kind_of(objects[n]) == "function"]
    classes = [n for n in names if kind_of(objects[n]) == "class"]
    if constants:
        parts += ["### Constants", ""]
        for name in constants:
            parts.append(f"- `{name}` : {type(objects[name]).__name__} — {constant_comment(module, name)}")
        parts.append("")
    if functions:
        parts += ["### Functions", ""]
        for name in functions:
            obj = objects[name]
            parts += [f"#### `{name}{signature(obj)}`", "", _markdown(obj.__doc__ or ""), ""]
    if classes:
        parts += ["### Classes" if not top else "### Errors and problems", ""]
        for name in classes:
            obj = objects[name]
            bases = ", ".join(b.__name__ for b in obj.__bases__ if b is not object)
            parts += [f"#### `{name}" + (f"({bases})" if bases else "") + "`", "", _markdown(obj.__doc__ or ""), ""]
    return parts


def render() -> str:
    """The text of docs/api.md."""
    import mrecist_tool as mt
    import mrecist_tool.exitcodes as codes

    parts = [
        "# Python API of mrecist-tool",
        "",
        "Generated from the docstrings by `scripts/api_docs.py` (a test keeps it current and checks "
        "that every public name is documented).",
        "The main entry points are importable from the top-level package (`import mrecist_tool as mt`); "
        "each public module below lists its public names in `__all__`.",
        "",
        f"Version {mt.__version__}; rules: {mt.RULES_VERSION}.",
        "",
        _markdown(mt.__doc__ or ""),
        "Modules:",
        "",
    ]
    parts += [f"- [`{m}`](#{_anchor(m)})" for m in PUBLIC_MODULES]
    parts += ["", "Exit codes of the command line: [below](#exit-codes-mrecist_toolexitcodes).", ""]
    for module_name in PUBLIC_MODULES:
        parts += _section(module_name)
    parts += ["## Exit codes (`mrecist_tool.exitcodes`)", "", _markdown(codes.__doc__ or "")]
    return "\n".join(parts).rstrip() + "\n"


def main() -> int:
    sys.path.insert(0, str(ROOT / "src"))
    from mrecist_tool.atomic import atomic_write_text

    atomic_write_text(OUT, render())
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
