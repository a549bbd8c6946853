"""Case files (``mrecist-case`` version 1, case-format.md): read, validate, write, discover, schema.

The public face is small on purpose; the modules behind it are:

- :mod:`._io` — building a :class:`~mrecist_tool.model.Case` from JSON and back, discovery;
- :mod:`.jsontext` — exact JSON parsing (decimals, duplicate keys, depth and size limits) and the
  stable, lossless writer;
- :mod:`.checks` — field-by-field checks that locate every problem by JSON path;
- :mod:`.xref` — cross-references between ids, dates and masks;
- :mod:`.fast` — the fast path for the common, plain shapes of timepoints and observations.
"""

from ._io import (
    MAX_FILE_BYTES,
    case_from_dict,
    case_problems,
    case_to_dict,
    check_measurements,
    discover_case_files,
    dumps_case,
    load_case,
    misspelt_keys_refused,
    read_case,
    read_case_text,
    schema,
    validate_file,
    write_case,
)

__all__ = [
    "MAX_FILE_BYTES",
    "case_from_dict",
    "case_problems",
    "case_to_dict",
    "check_measurements",
    "discover_case_files",
    "dumps_case",
    "load_case",
    "misspelt_keys_refused",
    "read_case",
    "read_case_text",
    "schema",
    "validate_file",
    "write_case",
]
