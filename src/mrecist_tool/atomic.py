"""Atomic file writes: a failed or interrupted save never damages the previous file.

The one place the toolkit writes text files (case files, autosaves, result tables, reports,
simulated cohorts): temporary file in the same folder, fsync, ``os.replace``, then fsync of the
folder so the rename itself survives a crash.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import SaveError


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically: temp file in the same folder, fsync,
    ``os.replace``.  On failure the previous file is untouched, the temp file removed, and
    :class:`SaveError` names the file."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    tmp: str | None = None
    try:
        data = text.encode("utf-8")
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(OSError):
            # Keep the permissions of the file being replaced (mkstemp makes it 0600).
            mode = os.stat(path).st_mode & 0o777 if path.exists() else 0o644
            os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = None
        with contextlib.suppress(OSError):  # make the rename itself durable where supported
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except (OSError, UnicodeEncodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SaveError(f"{path}: could not save ({reason}); the previous file, if any, is unchanged") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
