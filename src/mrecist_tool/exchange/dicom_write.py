"""Saving a DICOM object atomically, with a message a person can act on.

The data set is encoded in memory first, so an encoding defect and a disk problem are told
apart: a full or read-only disk gives ``<file>: could not save (No space left on device) ...``
and never pydicom's internal text; the previous file, if any, is untouched and no temporary
file is left behind.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path
from typing import Any

from ..errors import SaveError


def encode_dataset(ds: Any) -> bytes:
    """The Part 10 file bytes of ``ds`` (preamble, file meta, data set)."""
    buffer = io.BytesIO()
    try:
        ds.save_as(buffer, enforce_file_format=True)
    except Exception as exc:  # pydicom raises several types for unencodable values
        raise SaveError(f"the DICOM object cannot be encoded ({type(exc).__name__}: {exc})") from None
    return buffer.getvalue()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, fsync, rename)."""
    folder = path.parent if str(path.parent) else Path(".")
    tmp: str | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SaveError(
            f"{path}: could not save ({reason}); the previous file, if any, is unchanged"
        ) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def save_dataset(ds: Any, out: str | Path) -> Path:
    """Encode ``ds`` and write it atomically to ``out``; :class:`SaveError` on failure."""
    path = Path(out)
    data = encode_dataset(ds)
    atomic_write_bytes(path, data)
    return path
