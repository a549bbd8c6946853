"""Open only regular files, within size limits and inside the folder they belong to.

Every reader of user files (case files and their discovery, DICOM headers and pixels, masks,
DICOM SR) goes through here, because an ordinary ``open()`` of the wrong kind of path is a
hang or a leak rather than an error:

- a named pipe (FIFO) blocks ``open()`` until some other process writes to it -- forever, in a
  batch -- and a character device such as ``/dev/zero`` never ends;
- a symbolic link can lead a relative path such as ``masks/L1.nii.gz`` out of the case folder
  that case-format.md says it stays in, on reading and, worse, on writing.

So a path is checked with ``stat`` first (cheap, and no side effect), opened with
``O_NONBLOCK`` (so even a FIFO swapped in after the check cannot block the open) and checked
again with ``fstat`` on the descriptor actually opened: what is read is what was checked.
Containment compares real paths (``os.path.realpath``), so ``..`` and symbolic links are both
resolved before the comparison.

Refusals are :class:`NotRegularFileError` / :class:`OutsideFolderError` (both ``OSError``),
with a reason a person can act on ("a named pipe (FIFO), not a regular file").
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path
from typing import Any

from .errors import MrecistError

__all__ = [
    "CappedReader",
    "NotRegularFileError",
    "OutsideFolderError",
    "TooLargeError",
    "check_regular",
    "describe_kind",
    "display_name",
    "is_inside",
    "open_regular",
    "read_regular",
    "resolve_inside",
]


class NotRegularFileError(MrecistError, OSError):
    """The path is not a regular file (a FIFO, socket, device, folder, or nothing at all)."""

    def __init__(self, path: str | os.PathLike[str], reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class TooLargeError(MrecistError, OSError):
    """The file is larger than the reader accepts."""

    def __init__(self, path: str | os.PathLike[str], size: int, limit: int, what: str = "file"):
        self.path = str(path)
        self.size = size
        self.limit = limit
        self.reason = (f"the {what} is {_size(size)}; larger than the {_size(limit)} accepted "
                       f"for it")
        super().__init__(f"{path}: {self.reason}")


class OutsideFolderError(MrecistError, OSError):
    """A path that must stay inside a folder leads out of it (through ``..`` or a link)."""

    def __init__(self, path: str | os.PathLike[str], folder: str | os.PathLike[str], real: str):
        self.path = str(path)
        self.folder = str(folder)
        self.real = real
        self.reason = (f"leads outside the folder {folder} (it resolves to {real}, through a "
                       "symbolic link or '..')")
        super().__init__(f"{path}: {self.reason}")


def _size(n: int) -> str:
    if n >= 2**30:
        return f"{n / 2**30:.1f} GiB"
    if n >= 2**20:
        return f"{n / 2**20:.1f} MiB"
    if n >= 2**10:
        return f"{n / 2**10:.1f} KiB"
    return f"{n} bytes"


def display_name(path: str | os.PathLike[str]) -> str:
    """``path`` as text that can always be printed and written as UTF-8.

    File names are bytes on POSIX; Python shows bytes that are not UTF-8 as lone surrogates,
    which fail when written to a UTF-8 file.  Here they are shown as ``\\xNN`` escapes.
    """
    text = os.fspath(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")


def describe_kind(mode: int) -> str | None:
    """Why a file of this ``st_mode`` is not read ("a named pipe (FIFO)"), or None if regular."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a regular file: not opened (reading it would wait forever)"
    if stat.S_ISSOCK(mode):
        return "a socket, not a regular file: not opened"
    if stat.S_ISCHR(mode):
        return "a character device, not a regular file: not opened"
    if stat.S_ISBLK(mode):
        return "a block device, not a regular file: not opened"
    if stat.S_ISDIR(mode):
        return "a folder, not a file"
    return "not a regular file: not opened"


def check_regular(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` would not be opened, or None when it is a regular file (links followed).

    Never raises and never opens anything: safe to call on any path, for listings.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return "a broken symbolic link (its target does not exist)"
        return "no such file"
    except PermissionError:
        return "permission denied"
    except OSError as exc:
        return f"cannot be examined ({exc.strerror or exc})"
    return describe_kind(st.st_mode)


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | \
    getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def open_regular(path: str | os.PathLike[str], *, max_bytes: int | None = None,
                 what: str = "file") -> io.BufferedReader:
    """Open a regular file for binary reading, refusing anything else without blocking.

    Parameters
    ----------
    path
        The file (symbolic links are followed; use :func:`resolve_inside` first where the
        target must stay inside a folder).
    max_bytes
        Refuse files larger than this (checked on the opened descriptor).
    what
        How messages name the file ("case file", "mask", ...).

    Raises
    ------
    NotRegularFileError
        A FIFO, socket, device or folder; the reason says which.
    TooLargeError
        Larger than ``max_bytes``.
    OSError
        Missing, unreadable (the usual ``FileNotFoundError``, ``PermissionError``, ...).
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        pass  # missing, unreadable, a broken link: os.open raises the precise error
    else:
        if not stat.S_ISREG(mode):  # refused before opening: no device is ever opened
            raise NotRegularFileError(path, describe_kind(mode) or "not a regular file")
    fd = os.open(path, _OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        reason = describe_kind(st.st_mode)
        if reason is not None:  # swapped for a FIFO (or worse) between the check and the open
            raise NotRegularFileError(path, reason)
        if max_bytes is not None and st.st_size > max_bytes:
            raise TooLargeError(path, st.st_size, max_bytes, what)
        # O_NONBLOCK stays set: it has no effect on reads of a regular file.
        return io.open(fd, "rb")  # noqa: UP020  (typed: a BufferedReader, with readinto)
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike[str], *, max_bytes: int, what: str = "file") -> bytes:
    """The whole content of a regular file of at most ``max_bytes`` (see :func:`open_regular`).

    A file that grows past the limit while being read is refused too.
    """
    with open_regular(path, max_bytes=max_bytes, what=what) as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLargeError(path, len(data), max_bytes, what)
    return data


class CappedReader:
    """A binary file whose ``read(n)`` never asks for more than the bytes left in the file.

    ``BufferedReader.read(n)`` allocates ``n`` bytes before reading: a parser that trusts a
    length field of 0x7FFFFFFF in a 300-byte file (pydicom reading a damaged DICOM header) asks
    for 2 GiB.  Wrapped, it gets what the file has.  Everything else is the wrapped file's.
    """

    def __init__(self, fh: io.BufferedReader):
        self._fh = fh
        self._size = os.fstat(fh.fileno()).st_size

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            return self._fh.read()
        return self._fh.read(min(n, max(0, self._size - self._fh.tell())))

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def fileno(self) -> int:
        return self._fh.fileno()

    def close(self) -> None:
        self._fh.close()

    @property
    def name(self) -> Any:
        return self._fh.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)

    def __enter__(self) -> CappedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()


def is_inside(folder: str | os.PathLike[str], path: str | os.PathLike[str]) -> bool:
    """Whether the real path of ``path`` is ``folder``'s real path or below it."""
    base = os.path.realpath(folder)
    real = os.path.realpath(path)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def resolve_inside(folder: str | os.PathLike[str], relative: str | os.PathLike[str]) -> Path:
    """``folder / relative``, checked to stay inside ``folder`` once links are resolved.

    Works for paths that do not exist yet (the parts that exist are resolved), so it guards
    writes as well as reads.  Returns the path *as written* (``folder / relative``), not the
    resolved one, so messages keep the names the user knows.

    Raises
    ------
    OutsideFolderError
        When ``..`` or a symbolic link (of the file or of any folder on the way) leads out.
    """
    path = Path(folder) / relative
    base = os.path.realpath(folder)
    real = os.path.realpath(path)
    if not (real == base or real.startswith(base.rstrip(os.sep) + os.sep)):
        raise OutsideFolderError(path, folder, real)
    return path
