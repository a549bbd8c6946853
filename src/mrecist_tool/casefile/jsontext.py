"""Strict JSON reading and exact, atomic JSON writing for case files (case-format.md).

Reading: numbers with a fraction or exponent become :class:`decimal.Decimal` (never binary
floats, rule GEN-1); ``NaN`` / ``Infinity`` literals and duplicated keys are not refused by the
parser itself but marked, so the checker can name the JSON path where they occur; text that is
not JSON is reported with its line and column.  Writing: decimals are written digit for digit,
objects keep the key order they are given, small flat containers stay on one line (so a file
reads like the example in case-format.md), and the file is replaced atomically.
"""

from __future__ import annotations

import errno
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text  # noqa: F401  (re-exported: part of this module's API)
from ..errors import Problem
from ..safe_files import NotRegularFileError, TooLargeError, read_regular

#: The largest case file read, in bytes (a real case file is a few tens of kB); larger is refused.
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 64  # deeper than any case file needs; protects the recursive code downstream


class NonFinite:
    """Stands in for a ``NaN`` / ``Infinity`` literal so its JSON path can be reported."""

    __slots__ = ("literal",)

    def __init__(self, literal: str):
        self.literal = literal

    def __repr__(self) -> str:
        return self.literal

    def message(self) -> str:
        return (f"found {self.literal}, which is not a number JSON allows; write a finite "
                "number or remove the entry")


class OutOfRange(NonFinite):
    """Stands in for a number too large, too long or too finely divided for a case file.

    Such literals are never converted to ``int`` or exact decimals beyond their text: a
    ``1e1000000`` turned into an integer would take minutes, and an integer literal of over
    4,300 digits is refused by Python itself.  Like :class:`NonFinite`, the checker skips it
    and the parser's defect walk reports it once, at its JSON path.
    """

    __slots__ = ()

    def __init__(self, literal: str):
        shown = literal if len(literal) <= 40 else (
            f"{literal[:24]}... (a number written with {len(literal):,} characters)")
        super().__init__(shown)

    def message(self) -> str:
        return (f"found the number {self.literal}, which is out of the range a case file "
                f"holds ({RANGE_TEXT})")


class BadText:
    """Stands in for text that cannot be written as UTF-8 (a lone surrogate such as
    ``"\\ud800"``), so its JSON path can be reported.  Such text passes a JSON parser but fails
    later, while a table or a file is written; it is refused where it is read."""

    __slots__ = ("escaped", "what")

    def __init__(self, escaped: str, what: str = "text"):
        self.escaped = escaped
        self.what = what

    def message(self) -> str:
        return (f"found the {self.what} {self.escaped}, which holds a lone UTF-16 surrogate "
                "(half of a character pair, not a character); it could not be written to a "
                "table or a UTF-8 file")


# Bounds on every number of a case file (lengths in mm, days, counts, coordinates): far beyond
# any real value, and small enough that no conversion, arithmetic or formatting can hang or
# overflow (``int()`` of 1e1000000 takes minutes; ``format(Decimal("1e-999999999"), "f")`` is a
# gigabyte of zeros; Decimal arithmetic near 1e999999 overflows).
MAX_INT_DIGITS = 20  # |x| < 1e20
MIN_ADJUSTED = -40  # |x| >= 1e-40 unless x is 0
MAX_DIGITS = 60  # significant digits
MAX_NUMBER_CHARS = 64  # characters of a literal
_PLAIN_SHORT = 17  # a literal without exponent this short is always within the bounds above
RANGE_TEXT = (f"numbers are 0 or between 1e{MIN_ADJUSTED} and 1e{MAX_INT_DIGITS} in size, with "
              f"at most {MAX_DIGITS} digits, written with at most {MAX_NUMBER_CHARS} characters")


def bounded_decimal(literal: str) -> Decimal | None:
    """The exact value of a JSON number literal, or None when it is outside the bounds.

    Checked on the text and the decimal's exponent before any conversion that could be slow
    (``int()`` of ``1e1000000``) or overflow (``Decimal`` arithmetic near ``1e999999999``).
    """
    if len(literal) > MAX_NUMBER_CHARS:
        return None
    try:
        value = Decimal(literal)
    except ArithmeticError:  # decimal.InvalidOperation: an exponent beyond any context
        return None
    return value if in_bounds(value) else None


def in_bounds(value: Decimal) -> bool:
    """Whether a decimal is finite and within the bounds above (see :data:`RANGE_TEXT`)."""
    if not value.is_finite():
        return False
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if len(digits) > MAX_DIGITS:
        return False
    if not any(digits):  # zero, however written: only its exponent can be extreme
        return MIN_ADJUSTED - MAX_DIGITS <= exponent < MAX_INT_DIGITS
    if not MIN_ADJUSTED <= value.adjusted() < MAX_INT_DIGITS:
        return False
    # What the writer writes (``str``) must read back: a sign, the digits, a point and up to
    # six leading zeros or an exponent take at most 9 characters more; longer ones are checked
    # (``-1.{59 digits}E-30`` has 60 digits and is written with 66 characters).
    return len(digits) <= MAX_NUMBER_CHARS - 9 or len(str(value)) <= MAX_NUMBER_CHARS


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

    def number(self, literal: str) -> Decimal | OutOfRange:
        if len(literal) <= _PLAIN_SHORT and "e" not in literal and "E" not in literal:
            return Decimal(literal)
        value = bounded_decimal(literal)
        if value is None:
            self.defects = True
            return OutOfRange(literal)
        return value

    def integer(self, literal: str) -> int | OutOfRange:
        # Checked on the text: int() of 4,301 digits raises, and of fewer is merely slow.
        if len(literal) <= MAX_INT_DIGITS:  # a sign and up to 19 digits: below 1e20
            return int(literal)
        self.defects = True
        return OutOfRange(literal)


def has_bad_text(value: str) -> bool:
    """Text that is not valid Unicode: it holds lone surrogates."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def show_number(value: int | Decimal | float) -> str:
    """A number for a message, short even for a 10,000-digit integer built in Python."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"of about {int(value.bit_length() * 0.30103):,} digits"
    text = str(value)
    return text if len(text) <= 40 else text[:24] + "..."


def show_text(value: str) -> str:
    """``value`` quoted as JSON for a message, escaped where it could not be printed."""
    try:
        value.encode("utf-8")
        return json.dumps(value, ensure_ascii=False)
    except UnicodeEncodeError:
        return json.dumps(value)


def describe(value: Any) -> str:
    """A short description of a JSON value for messages: what was *found*."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, NonFinite):
        return value.literal
    if isinstance(value, BadText):
        return f"the text {value.escaped}"
    if isinstance(value, int | Decimal | float):
        return f"the number {show_number(value)}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {show_text(shown)}"
    if isinstance(value, dict):
        return "an object {...}"
    if isinstance(value, list):
        return "a list [...]"
    return type(value).__name__


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, col


# Text that cannot be encoded (a lone surrogate) can only enter through a \u escape: raw
# surrogates are not UTF-8.  Only files with such an escape need their strings examined.
_SUSPECT_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _Unparsed:
    """The result of :func:`parse_text` for text that is not JSON (``null`` is a value)."""

    def __repr__(self) -> str:
        return "UNPARSED"


UNPARSED: Any = _Unparsed()


def parse_text(text: str, file: str) -> tuple[Any, list[Problem]]:
    """Parse JSON text exactly; return ``(data, problems)``.

    ``data`` is :data:`UNPARSED` when the text is not JSON (a top-level ``null`` is ``None``,
    a value like any other).  Problems found here: not JSON (with line and column), too deeply
    nested, ``NaN`` / ``Infinity`` literals, numbers out of range, text that cannot be encoded
    and duplicated keys (each at its JSON path).
    """
    if text.startswith("\ufeff"):  # a byte-order mark from some Windows editors: harmless
        text = text[1:]
    if not text.strip():
        return UNPARSED, [Problem(file, "$", "the file is empty; a case file is a JSON object "
                                              "starting with '{'")]
    hooks = _Hooks()
    try:
        data = json.loads(
            text,
            parse_float=hooks.number,
            parse_int=hooks.integer,
            parse_constant=hooks.constant,
            object_pairs_hook=hooks.pairs,
        )
    except json.JSONDecodeError as exc:
        line, col = _line_col(text, exc.pos)
        hint = ""
        if "\x00" in text[:1024] or _looks_binary(text[:1024]):
            hint = " (the file looks like binary data, not text)"
        return UNPARSED, [Problem(file, "$", f"not valid JSON at line {line}, column {col}: "
                                              f"{exc.msg}{hint}")]
    except RecursionError:
        return UNPARSED, [Problem(file, "$", f"the JSON is nested too deeply to be a case file "
                                              f"(more than {MAX_DEPTH} levels expected at most)")]
    problems: list[Problem] = []
    if _SUSPECT_ESCAPE.search(text):
        data = _mark_bad_text(data)
        hooks.defects = True
    if hooks.defects:
        problems.extend(walk_defects(data, file))
    return data, problems


def _mark_bad_text(data: Any) -> Any:
    """Replace unencodable text values by :class:`BadText` (and keys by escaped keys).

    Iterative, like :func:`walk_defects`; containers are rebuilt only where something changed.
    """
    if isinstance(data, str):
        return BadText(json.dumps(data)) if has_bad_text(data) else data
    stack: list[Any] = [data]
    seen = 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > 10_000_000:  # bounded by the 20 MiB file size anyway
            break
        if isinstance(node, dict):
            bad_keys = [k for k in node if has_bad_text(k)]
            for key in bad_keys:
                # An unencodable key becomes its escaped form, its value the marker.
                del node[key]
                node[key.encode("utf-8", "backslashreplace").decode("utf-8")] = \
                    BadText(json.dumps(key), "key")
            for key, value in node.items():
                if isinstance(value, str):
                    if has_bad_text(value):
                        node[key] = BadText(json.dumps(value))
                elif isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, str):
                    if has_bad_text(value):
                        node[i] = BadText(json.dumps(value))
                elif isinstance(value, dict | list):
                    stack.append(value)
    return data


def _looks_binary(head: str) -> bool:
    bad = sum(1 for ch in head if ord(ch) < 32 and ch not in "\t\r\n")
    return bad > 0


def _children(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield json_path(path, key), value
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
    return f"{parent}[{show_text(key)}]"


def walk_defects(data: Any, file: str, root: str = "$", depth0: int = 0) -> list[Problem]:
    """Every NaN/Infinity literal, duplicated key and over-deep nesting in ``data``.

    Iterative, so a pathological file cannot exhaust the Python stack here.
    """
    problems: list[Problem] = []
    stack: list[tuple[str, Any, int]] = [(root, data, depth0)]
    deep_reported = False
    while stack:
        path, node, depth = stack.pop()
        if isinstance(node, NonFinite | BadText):
            problems.append(Problem(file, path, node.message()))
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
    """Read a regular file as UTF-8 text, refusing files over :data:`MAX_FILE_BYTES`.

    FIFOs, sockets and devices are refused without being opened for blocking reads
    (:mod:`mrecist_tool.safe_files`).
    """
    try:
        raw = read_regular(path, max_bytes=MAX_FILE_BYTES, what="case file")
    except TooLargeError as exc:
        return None, [Problem(file, "$", f"the file is {exc.size / 2**20:.1f} MiB; case "
                                         f"files larger than {MAX_FILE_BYTES // 2**20} "
                                         "MiB are refused")]
    except NotRegularFileError as exc:
        return None, [Problem(file, "$", exc.reason)]
    except IsADirectoryError:
        return None, [Problem(file, "$", "this is a folder, not a case file")]
    except FileNotFoundError:
        return None, [Problem(file, "$", "no such file")]
    except PermissionError:
        return None, [Problem(file, "$", "permission denied: the file cannot be read")]
    except OSError as exc:
        return None, [Problem(file, "$", f"the file cannot be read: {os_reason(exc)}")]
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        return None, [Problem(file, "$", f"not UTF-8 text (invalid byte at offset {exc.start}); "
                                         "a case file is JSON text saved as UTF-8")]


def os_reason(exc: BaseException) -> str:
    """The reason of an OSError without repeating a (possibly 4,000-character) file name."""
    if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
        return "the path is too long for the file system (a name over 255 characters, or a " \
               "path over 4,096)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


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


