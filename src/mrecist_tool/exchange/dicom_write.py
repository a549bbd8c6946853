"""Saving a DICOM object atomically, with a message a person can act on.

The data set is encoded in memory first, so an encoding defect and a disk problem are told
apart: a full or read-only disk gives ``<file>: could not save (No space left on device) ...``
and never pydicom's internal text; the previous file, if any, is untouched and no temporary
file is left behind.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_bytes
from ..errors import SaveError


def encode_dataset(ds: Any) -> bytes:
    """The Part 10 file bytes of ``ds`` (preamble, file meta, data set)."""
    buffer = io.BytesIO()
    try:
        ds.save_as(buffer, enforce_file_format=True)
    except Exception as exc:  # pydicom raises several types for unencodable values
        raise SaveError(f"the DICOM object cannot be encoded ({type(exc).__name__}: {exc})") from None
    return buffer.getvalue()


def save_dataset(ds: Any, out: str | Path) -> Path:
    """Encode ``ds`` and write it atomically to ``out``; :class:`SaveError` on failure."""
    path = Path(out)
    data = encode_dataset(ds)
    atomic_write_bytes(path, data, parents=True)
    return path
