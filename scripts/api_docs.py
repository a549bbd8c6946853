"""Generate docs/api.md from the docstrings of the public API (``mrecist_tool.__all__``).

Run ``.venv/bin/python scripts/api_docs.py`` after changing a public docstring; a test checks
that docs/api.md is current.  The numpydoc sections become bold headings and parameter lists.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "api.md"
SECTION = re.compile(r"^(Parameters|Returns|Yields|Raises|Attributes|Notes|Examples|See Also)$")
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
        if section in ("Parameters", "Returns", "Yields", "Raises", "Attributes") and line and not line.startswith(" "):
            match = ENTRY.match(line)
            out.append(f"- `{match[1]}` : {match[2]}" if match else f"- `{line}`")
        elif section in ("Parameters", "Returns", "Yields", "Raises", "Attributes") and line.startswith(" "):
            out.append(f"  {line.strip()}")
        elif section == "Examples" or line.startswith(">>>"):
            out.append(f"    {line}")
        else:
            out.append(line)
        i += 1
    return "\n".join(out).strip() + "\n"


def _signature(obj: object) -> str:
    """The signature with annotations as written (they are strings under postponed evaluation)."""
    sig = inspect.signature(obj)  # type: ignore[arg-type]
    params = []
    star_done = False
    for p in sig.parameters.values():
        if p.kind is p.KEYWORD_ONLY and not star_done:
            params.append("*")
            star_done = True
        text = p.name if p.kind is not p.VAR_KEYWORD else f"**{p.name}"
        if p.annotation is not p.empty:
            text += f": {p.annotation}"
        if p.default is not p.empty:
            text += f" = {p.default!r}"
        params.append(text)
    ret = f" -> {sig.return_annotation}" if sig.return_annotation is not sig.empty else ""
    return f"({', '.join(params)}){ret}"


def render() -> str:
    """The text of docs/api.md."""
    import mrecist_tool as mt

    parts = [
        "# Python API of mrecist-tool",
        "",
        "Generated from the docstrings by `scripts/api_docs.py` (a test keeps it current).",
        "Everything below is importable from the top-level package: `import mrecist_tool as mt`.",
        "",
        f"Version {mt.__version__}; rules: {mt.RULES_VERSION}.",
        "",
        _markdown(mt.__doc__ or ""),
    ]
    functions = [n for n in mt.__all__ if inspect.isfunction(getattr(mt, n))]
    classes = [n for n in mt.__all__ if inspect.isclass(getattr(mt, n))]
    parts += ["## Functions", ""]
    for name in functions:
        obj = getattr(mt, name)
        signature = _signature(obj)
        parts += [f"### `{name}{signature}`", "", _markdown(obj.__doc__ or ""), ""]
    parts += ["## Errors and problems", ""]
    for name in classes:
        obj = getattr(mt, name)
        bases = ", ".join(b.__name__ for b in obj.__bases__)
        parts += [f"### `{name}({bases})`", "", _markdown(obj.__doc__ or ""), ""]
    import mrecist_tool.exitcodes as codes

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
