"""Strict JSON reading and exact, atomic JSON writing for case files (case-format.md).

Reading: numbers with a fraction or exponent become :class:`decimal.Decimal` (never binary
floats, rule GEN-1); ``NaN`` / ``Infinity`` literals and duplicated keys are not refused by the
parser itself but marked, so the checker can name the JSON path where they occur; text that is
not JSON is reported with its line and column.  Writing: decimals are written digit for digit,
objects keep the key order they are given, small flat containers stay on one line (so a file
reads like the example in case-format.md), and the file is replaced atomically.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text  # noqa: F401  (re-exported: part of this module's API)
from ..errors import Problem

MAX_FILE_BYTES = 20 * 1024 * 1024  # 20 MiB: a real case file is a few tens of kB
MAX_DEPTH = 64  # deeper than any case file needs; protects the recursive code downstream


class NonFinite:
    """Stands in for a ``NaN`` / ``Infinity`` literal so its JSON path can be reported."""

    __slots__ = ("literal",)

    def __init__(self, literal: str):
        self.literal = literal

    def __repr__(self) -> str:
        return self.literal


class DupDict(dict[str, Any]):
    """A JSON object in which some key appeared more than once (the last value is kept)."""

    duplicates: tuple[str, ...] = ()


class _Hooks:
    """Parser hooks for one parse; ``defects`` tells whether a tree walk is needed."""

    __slots__ = ("defects",)

    def __init__(self) -> None:
        self.defects = False

    def pairs(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        d = dict(pairs)
        if len(d) != len(pairs):
            self.defects = True
            seen: set[str] = set()
            dups: list[str] = []
            for key, _ in pairs:
                if key in seen and key not in dups:
                    dups.append(key)
                seen.add(key)
            out = DupDict(d)
            out.duplicates = tuple(dups)
            return out
        return d

    def constant(self, literal: str) -> NonFinite:
        self.defects = True
        return NonFinite(literal)


def describe(value: Any) -> str:
    """A short description of a JSON value for messages: what was *found*."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, NonFinite):
        return value.literal
    if isinstance(value, int | Decimal | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {json.dumps(shown, ensure_ascii=False)}"
    if isinstance(value, dict):
        return "an object {...}"
    if isinstance(value, list):
        return "a list [...]"
    return type(value).__name__


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, col


def parse_text(text: str, file: str) -> tuple[Any, list[Problem]]:
    """Parse JSON text exactly; return ``(data, problems)`` (``data`` is ``None`` when not JSON).

    Problems found here: not JSON (with line and column), too deeply nested, ``NaN`` /
    ``Infinity`` literals and duplicated keys (each at its JSON path).
    """
    if text.startswith("\ufeff"):  # a byte-order mark from some Windows editors: harmless
        text = text[1:]
    if not text.strip():
        return None, [Problem(file, "$", "the file is empty; a case file is a JSON object "
                                          "starting with '{'")]
    hooks = _Hooks()
    try:
        data = json.loads(
            text,
            parse_float=Decimal,
            parse_constant=hooks.constant,
            object_pairs_hook=hooks.pairs,
        )
    except json.JSONDecodeError as exc:
        line, col = _line_col(text, exc.pos)
        hint = ""
        if "\x00" in text[:1024] or _looks_binary(text[:1024]):
            hint = " (the file looks like binary data, not text)"
        return None, [Problem(file, "$", f"not valid JSON at line {line}, column {col}: "
                                         f"{exc.msg}{hint}")]
    except RecursionError:
        return None, [Problem(file, "$", f"the JSON is nested too deeply to be a case file "
                                         f"(more than {MAX_DEPTH} levels expected at most)")]
    problems: list[Problem] = []
    if hooks.defects:
        problems.extend(walk_defects(data, file))
    return data, problems


def _looks_binary(head: str) -> bool:
    bad = sum(1 for ch in head if ord(ch) < 32 and ch not in "\t\r\n")
    return bad > 0


def _children(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (f"{path}.{key}" if _SIMPLE_KEY.match(key) else
                   f"{path}[{json.dumps(key, ensure_ascii=False)}]"), value
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield f"{path}[{i}]", value


_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def json_path(parent: str, key: str | int) -> str:
    """The JSON path of ``key`` under ``parent`` (``$.a.b[3]``; odd keys in brackets)."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _SIMPLE_KEY.match(key):
        return f"{parent}.{key}"
    return f"{parent}[{json.dumps(key, ensure_ascii=False)}]"


def walk_defects(data: Any, file: str, root: str = "$", depth0: int = 0) -> list[Problem]:
    """Every NaN/Infinity literal, duplicated key and over-deep nesting in ``data``.

    Iterative, so a pathological file cannot exhaust the Python stack here.
    """
    problems: list[Problem] = []
    stack: list[tuple[str, Any, int]] = [(root, data, depth0)]
    deep_reported = False
    while stack:
        path, node, depth = stack.pop()
        if isinstance(node, NonFinite):
            problems.append(Problem(file, path, f"found {node.literal}, which is not a number "
                                                "JSON allows; write a finite number or remove "
                                                "the entry"))
            continue
        if not isinstance(node, dict | list):
            continue
        if depth >= MAX_DEPTH:
            if not deep_reported:
                problems.append(Problem(file, path, f"nested more than {MAX_DEPTH} levels deep; "
                                                    "a case file never needs this"))
                deep_reported = True
            continue
        if isinstance(node, DupDict):
            for key in node.duplicates:
                problems.append(Problem(file, json_path(path, key),
                                        f"the key {key!r} appears more than once in this "
                                        "object; keep one (otherwise only the last would count)"))
        stack.extend((p, v, depth + 1) for p, v in reversed(list(_children(node, path))))
    return problems


def read_text(path: Path, file: str) -> tuple[str | None, list[Problem]]:
    """Read a file as UTF-8 text, refusing files over :data:`MAX_FILE_BYTES`."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_FILE_BYTES:
                return None, [Problem(file, "$", f"the file is {size / 2**20:.1f} MiB; case "
                                                 f"files larger than {MAX_FILE_BYTES // 2**20} "
                                                 "MiB are refused")]
            raw = fh.read(MAX_FILE_BYTES + 1)
    except IsADirectoryError:
        return None, [Problem(file, "$", "this is a folder, not a case file")]
    except FileNotFoundError:
        return None, [Problem(file, "$", "no such file")]
    except PermissionError:
        return None, [Problem(file, "$", "permission denied: the file cannot be read")]
    except OSError as exc:
        return None, [Problem(file, "$", f"the file cannot be read: {exc.strerror or exc}")]
    if len(raw) > MAX_FILE_BYTES:  # grew while reading, or a special file
        return None, [Problem(file, "$", f"case files larger than {MAX_FILE_BYTES // 2**20} "
                                         "MiB are refused")]
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        return None, [Problem(file, "$", f"not UTF-8 text (invalid byte at offset {exc.start}); "
                                         "a case file is JSON text saved as UTF-8")]


# -- writing ------------------------------------------------------------------------------

_INLINE_WIDTH = 100


def dumps(data: Any) -> str:
    """Pretty JSON text of ``data`` with decimals written exactly; ends with a newline."""
    out: list[str] = []
    _emit(data, 0, out, "$")
    out.append("\n")
    return "".join(out)


def _scalar(value: Any, path: str) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{path}: {value} cannot be written as a JSON number")
        text = str(value)
        return text
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{path}: {value} cannot be written as a JSON number")
        return repr(value)
    raise ValueError(f"{path}: a value of type {type(value).__name__} cannot be written to JSON")


def _is_flat(value: Any) -> bool:
    """A container of scalars, or of lists of scalars (e.g. a line's two points)."""
    items = value.values() if isinstance(value, dict) else value
    for item in items:
        if isinstance(item, dict):
            return False
        if isinstance(item, list | tuple) and any(isinstance(x, dict | list | tuple) for x in item):
            return False
    return True


def _inline(value: Any, path: str) -> str:
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{" + ", ".join(f"{_key(k, path)}: {_inline(v, json_path(path, k))}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_inline(v, f"{path}[{i}]") for i, v in enumerate(value)) + "]"
    return _scalar(value, path)


def _key(key: Any, path: str) -> str:
    if not isinstance(key, str):
        raise ValueError(f"{path}: object keys must be text, found {key!r}")
    return json.dumps(key, ensure_ascii=False)


def _emit(value: Any, indent: int, out: list[str], path: str) -> None:
    if indent > 2 * MAX_DEPTH:
        raise ValueError(f"{path}: nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict | list | tuple):
        if not value or (indent > 0 and _is_flat(value)):
            text = _inline(value, path)
            if len(text) + indent <= _INLINE_WIDTH:
                out.append(text)
                return
        pad = " " * (indent + 2)
        if isinstance(value, dict):
            out.append("{\n")
            for i, (k, v) in enumerate(value.items()):
                out.append(f"{pad}{_key(k, path)}: ")
                _emit(v, indent + 2, out, json_path(path, k))
                out.append(",\n" if i < len(value) - 1 else "\n")
            out.append(" " * indent + "}")
        else:
            out.append("[\n")
            for i, v in enumerate(value):
                out.append(pad)
                _emit(v, indent + 2, out, f"{path}[{i}]")
                out.append(",\n" if i < len(value) - 1 else "\n")
            out.append(" " * indent + "]")
        return
    out.append(_scalar(value, path))


