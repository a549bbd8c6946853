"""The one writer of files: a failed or interrupted save never damages what was there before.

Every file the toolkit writes goes through this module (a test scans the sources for writes
anywhere else):

* :func:`atomic_write_text`, :func:`atomic_write_bytes` and :func:`atomic_write_with` (for a
  library that writes to a path itself: pydicom, SimpleITK, matplotlib, pyarrow) replace one file:
  temporary file in the same folder, flushed to disk (``fsync``), renamed over the old one, then
  the folder flushed so the rename itself survives a crash.
* :func:`staged_folder` replaces a whole folder of files at once (a result set, a generated
  study): the new folder is built beside the old one and switched in with **one** rename (an
  atomic exchange of the two folders on Linux), so a reader — or a process killed at any moment —
  finds either the complete old set or the complete new one.  Files of other tools in the old
  folder are carried over; a stale staging folder left by a killed run is cleaned up (and
  anything of the user's in it put back) by :func:`recover_folder` on the next run.

Permissions: a new file gets what the user's umask gives (``0666 & ~umask``, as ``open()``
would), never the ``0600`` of a bare temporary file; a replaced file keeps its own mode.
Failures raise :class:`~mrecist_tool.errors.SaveError` naming the file and the reason.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import re
import secrets
import shutil
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .errors import SaveError

__all__ = [
    "Stage",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_with",
    "check_stageable",
    "file_mode",
    "new_file_mode",
    "recover_folder",
    "remove_stale_temporaries",
    "staged_folder",
]

_UMASK_LOCK = threading.Lock()
# ".NAME.RANDOM.tmp" (+ NAME's suffixes for the callback variant, so that a library that picks
# the format from the extension still sees it); what earlier versions left behind matches too.
_TEMP = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{6,16}\.tmp(\..*)?$")


def _umask() -> int:
    try:  # Linux: read it without changing it (changing it is not thread-safe)
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode ``open()`` gives a new file: ``0666`` less the user's umask."""
    return 0o666 & ~_umask()


def file_mode(path: str | os.PathLike[str]) -> int:
    """The mode a file written to ``path`` gets: the replaced file's, else :func:`new_file_mode`."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return new_file_mode()


def _fsync_folder(folder: str | os.PathLike[str]) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_file(path: str | os.PathLike[str]) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip().splitlines()
    first = text[-1].strip() if text else ""
    return f"{type(exc).__name__}: {first[:200]}" if first else type(exc).__name__


def _temp_name(path: Path, keep_suffix: bool) -> str:
    suffix = "".join(path.suffixes) if keep_suffix else ""
    return f".{path.name}.{secrets.token_hex(4)}.tmp{suffix}"


def _replace_with(path: str | os.PathLike[str], fill: Callable[[Path], None], *, keep_suffix: bool,
                  parents: bool, catch: tuple[type[BaseException], ...]) -> None:
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    tmp: Path | None = None
    failures: tuple[type[BaseException], ...] = (OSError, UnicodeEncodeError, *catch)
    try:
        if parents:
            folder.mkdir(parents=True, exist_ok=True)
        mode = file_mode(path)
        tmp = folder / _temp_name(path, keep_suffix)
        fill(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = None
        _fsync_folder(folder)
    except failures as exc:
        raise SaveError(f"{path}: could not save ({_reason(exc)}); the previous file, if any, is unchanged") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _write_new(path: Path, data: bytes, *, durable: bool = True) -> None:
    # O_EXCL: a temporary name is never shared; the umask applies as for any new file.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        if durable:
            os.fsync(fh.fileno())


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, parents: bool = False) -> None:
    """Write ``data`` to ``path`` atomically.

    Parameters
    ----------
    path : str or PathLike
        The file to create or replace.
    data : bytes
        Its whole new content.
    parents : bool
        Create missing parent folders first.

    Raises
    ------
    SaveError
        When the file cannot be written; the previous file, if any, is untouched and no
        temporary file is left behind.
    """
    _replace_with(path, lambda tmp: _write_new(tmp, data), keep_suffix=False, parents=parents, catch=())


def atomic_write_text(path: str | os.PathLike[str], text: str, *, parents: bool = False) -> None:
    """Write ``text`` to ``path`` atomically, as UTF-8 with its line ends as given.

    Parameters
    ----------
    path : str or PathLike
        The file to create or replace.
    text : str
        Its whole new content (``\\n`` stays ``\\n`` on every platform).
    parents : bool
        Create missing parent folders first.

    Raises
    ------
    SaveError
        As :func:`atomic_write_bytes`; also for text that cannot be encoded (a lone surrogate).
    """
    path = Path(path)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SaveError(f"{path}: could not save (the text cannot be written as UTF-8: {exc.reason} at "
                        f"position {exc.start}); the previous file, if any, is unchanged") from None
    atomic_write_bytes(path, data, parents=parents)


def atomic_write_with(path: str | os.PathLike[str], write: Callable[[Path], Any], *, parents: bool = False) -> None:
    """Let ``write(tmp)`` write the file at a temporary path, then put it in place atomically.

    For libraries that write to a path themselves (``ds.save_as``, ``sitk.WriteImage``,
    ``fig.savefig``, ``frame.to_parquet``).  The temporary name ends with ``path``'s suffixes, so
    a library that chooses the format from the extension still sees ``.nii.gz`` or ``.png``.

    Parameters
    ----------
    path : str or PathLike
        The file to create or replace.
    write : callable
        Called once with the temporary path; it must create that file.
    parents : bool
        Create missing parent folders first.

    Raises
    ------
    SaveError
        When ``write`` fails with an I/O error (``OSError``, or the ``RuntimeError`` SimpleITK
        raises), naming the file and the reason; other errors of ``write`` propagate unchanged.
        Either way the previous file is untouched and the temporary file removed.
    """

    def fill(tmp: Path) -> None:
        write(tmp)
        _fsync_file(tmp)

    _replace_with(path, fill, keep_suffix=True, parents=parents, catch=(RuntimeError,))


def remove_stale_temporaries(folder: str | os.PathLike[str], names: Callable[[str], bool] | None = None) -> list[Path]:
    """Remove temporary files that an interrupted write left in ``folder``.

    Only files named as this module names its temporaries (``.NAME.RANDOM.tmp``) are removed,
    and with ``names`` only those whose NAME it accepts.  Returns what was removed.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP.match(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        if names is not None and not names(match["name"]):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


# -- whole folders ---------------------------------------------------------------------------

_RENAME_EXCHANGE = 2
_libc: Any = None


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    global _libc
    if not hasattr(os, "sched_getaffinity"):  # not Linux
        return False
    if _libc is None:
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            _libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        except (OSError, AttributeError):
            _libc = False
    if not _libc:
        return False
    at_fdcwd = -100
    if _libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # the file system cannot exchange: fall back to two renames
    raise OSError(err, os.strerror(err), str(b))


def _stage_names(final: Path) -> re.Pattern[str]:
    return re.compile(rf"^\.{re.escape(final.name)}\.[0-9a-f]{{8}}\.(staging|old)$")


class Stage:
    """A folder being built beside ``final``; see :func:`staged_folder`.

    Files written with its methods are created new (they cannot exist yet) and, when the stage
    is durable, flushed to disk before the switch.
    """

    def __init__(self, final: Path, path: Path, durable: bool) -> None:
        self.final = final
        self.path = path
        self.durable = durable

    def _target(self, relative: str | os.PathLike[str]) -> Path:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def add_bytes(self, relative: str | os.PathLike[str], data: bytes) -> Path:
        """Write a new file of the stage (``relative`` to it)."""
        target = self._target(relative)
        _write_new(target, data, durable=self.durable)
        return target

    def add_text(self, relative: str | os.PathLike[str], text: str) -> Path:
        """Write a new UTF-8 text file of the stage."""
        return self.add_bytes(relative, text.encode("utf-8"))

    def add_with(self, relative: str | os.PathLike[str], write: Callable[[Path], Any]) -> Path:
        """Let ``write(path)`` write a new file of the stage."""
        target = self._target(relative)
        write(target)
        if self.durable:
            _fsync_file(target)
        return target


def write_new_file(path: str | os.PathLike[str], data: bytes) -> None:
    """Write a file that nobody reads until the staged folder holding it is switched in.

    For code that builds a :func:`staged_folder` through helpers that take a path inside it
    (``stage.path / ...``); the file must not exist yet.  Not flushed to disk on its own.
    """
    _write_new(Path(path), data, durable=False)


def write_new_file_with(path: str | os.PathLike[str], write: Callable[[Path], Any]) -> None:
    """:func:`write_new_file` for a library that writes to a path itself."""
    target = Path(path)
    if target.exists():
        raise FileExistsError(errno.EEXIST, "already exists", str(target))
    write(target)


def _lock(path: Path) -> int:
    import fcntl

    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise
    return fd


def recover_folder(final: str | os.PathLike[str], owned: Callable[[str], bool] | None = None) -> list[str]:
    """Clean up after a run that was killed while replacing ``final`` with :func:`staged_folder`.

    A staging folder nobody holds any more is removed; an entry in it that is not ``owned`` (a
    file or folder of the user's, carried over for the switch) and missing from ``final`` is put
    back first.  Temporary files of interrupted single-file writes of owned names in ``final``
    are removed too.  Returns a note per thing done, for the log.
    """
    final = Path(os.path.realpath(final))
    parent = final.parent
    pattern = _stage_names(final)
    notes: list[str] = []
    try:
        siblings = [e for e in os.scandir(parent) if pattern.match(e.name) and e.is_dir(follow_symlinks=False)]
    except OSError:
        siblings = []
    for entry in sorted(siblings, key=lambda e: e.name):
        stage = Path(entry.path)
        try:
            fd = _lock(stage)
        except OSError:
            continue  # another run is using it
        try:
            if stage.name.endswith(".old") and not final.exists():
                os.rename(stage, final)  # a two-rename switch stopped half-way: the old set is whole
                notes.append(f"restored {final} from an interrupted switch")
                continue
            for child in os.scandir(stage):
                if (owned is not None and not owned(child.name) and final.is_dir()
                        and not os.path.lexists(final / child.name)):
                    os.rename(child.path, final / child.name)
                    notes.append(f"put {final / child.name} back after an interrupted run")
            shutil.rmtree(stage, ignore_errors=True)
            notes.append(f"removed {stage.name}, left by an interrupted run")
        finally:
            os.close(fd)
    if final.is_dir():
        for path in remove_stale_temporaries(final, owned):
            notes.append(f"removed {path.name}, left by an interrupted write")
    return notes


def _probe_folder(folder: Path, name: str) -> str | None:
    """Why a folder cannot be made in ``folder`` (None: it can): made and removed at once."""
    probe = folder / f".{name}.{secrets.token_hex(4)}.staging"
    try:
        os.mkdir(probe, 0o700)
    except OSError as exc:
        return _reason(exc)
    with contextlib.suppress(OSError):
        os.rmdir(probe)
    return None


def check_stageable(final: str | os.PathLike[str]) -> None:
    """Check, before any work, that :func:`staged_folder` can put a new folder in place of ``final``.

    The new folder is built beside ``final`` and switched in with one rename, so the folder that
    holds ``final`` must be writable, not only ``final`` itself.  This is tried for real (a
    folder made and removed at once), so it holds for read-only file systems, access control
    lists and root alike.

    Parameters
    ----------
    final : str or PathLike
        The folder to be created or replaced (missing parent folders would be created).

    Raises
    ------
    SaveError
        Naming the folder that cannot be written and why; when ``final`` itself is writable,
        the message suggests a folder inside it instead.
    """
    final = Path(os.path.realpath(final))
    if os.path.lexists(final) and not final.is_dir():
        raise SaveError(f"{final}: cannot be used as a folder (it exists and is not a folder)")
    holder = final.parent
    while not os.path.lexists(holder) and holder != holder.parent:
        holder = holder.parent  # the nearest folder that exists: the others would be made in it
    if not holder.is_dir():
        raise SaveError(f"{final}: cannot be made ({holder} is not a folder)")
    why = _probe_folder(holder, final.name)
    if why is None:
        return
    hint = ""
    if final.is_dir() and _probe_folder(final, "probe") is None:
        hint = f"; {final} itself is writable: give a folder inside it, e.g. {final / 'results'}"
    raise SaveError(f"{final}: cannot write there ({holder}: {why}): the new set is built beside the folder "
                    f"and switched in whole with one rename, which needs a folder whose parent you can write "
                    f"to{hint}")


@contextlib.contextmanager
def staged_folder(final: str | os.PathLike[str], *, owned: Callable[[str], bool] | None = None,
                  durable: bool = True) -> Iterator[Stage]:
    """Build a folder aside and put it in place of ``final`` with one rename.

    Parameters
    ----------
    final : str or PathLike
        The folder to create or replace (a link to a folder is followed: the folder it names is
        replaced).
    owned : callable, optional
        ``owned(name)`` tells the entries of ``final`` that the new folder replaces; every other
        entry (another tool's file or folder) is carried over into the new folder.  Default:
        none is carried over (the new folder replaces everything).
    durable : bool
        Flush every file and the folders to disk before and after the switch.

    Yields
    ------
    Stage
        Write the new content with its methods, or into ``stage.path``.

    Raises
    ------
    SaveError
        When the folder cannot be staged or switched; ``final`` is then unchanged.

    Notes
    -----
    On Linux the switch is ``renameat2(RENAME_EXCHANGE)``: readers see the old folder or the new
    one, never a mix and never nothing.  Elsewhere it is two renames, and between them ``final``
    is briefly missing (never mixed); :func:`recover_folder` restores the old one if a run dies
    there.  If the body raises, the stage is removed and ``final`` is untouched.
    """
    final = Path(os.path.realpath(final))
    if final.exists() and not final.is_dir():
        raise SaveError(f"{final}: could not save (it exists and is not a folder)")
    parent = final.parent
    token = secrets.token_hex(4)
    stage_path = parent / f".{final.name}.{token}.staging"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        os.mkdir(stage_path, 0o777)  # as mkdir would make it: the umask applies
        fd = _lock(stage_path)
    except OSError as exc:
        raise SaveError(f"{final}: could not save ({parent}: {_reason(exc)}; the new folder is built beside it "
                        "and switched in whole); nothing was changed") from exc
    stage = Stage(final, stage_path, durable)
    switched = False
    try:
        yield stage  # an error of the caller's propagates as it is
        try:
            _switch(final, stage_path, owned, durable)
        except OSError as exc:
            raise SaveError(f"{final}: could not save ({_reason(exc)}); the previous folder, if any, is "
                            "unchanged") from exc
        switched = True
    finally:
        os.close(fd)
        if not switched and owned is not None:
            _put_back(final, stage_path, owned)
        shutil.rmtree(stage_path, ignore_errors=True)


def _switch(final: Path, stage_path: Path, owned: Callable[[str], bool] | None, durable: bool) -> None:
    if durable:
        for root, _dirs, _files in os.walk(stage_path):
            _fsync_folder(root)
    if not final.exists():
        os.chmod(stage_path, 0o777 & ~_umask())
        os.rename(stage_path, final)
        if durable:
            _fsync_folder(final.parent)
        return
    os.chmod(stage_path, stat.S_IMODE(os.stat(final).st_mode))
    if owned is not None:
        _carry_over(final, stage_path, owned)
    if _exchange(stage_path, final):
        pass  # stage_path now holds the old folder, removed by the caller
    else:
        old = stage_path.with_name(stage_path.name.replace(".staging", ".old"))
        os.rename(final, old)
        os.rename(stage_path, final)
        os.rename(old, stage_path)
    if durable:
        _fsync_folder(final.parent)


def _put_back(final: Path, stage_path: Path, owned: Callable[[str], bool]) -> None:
    """Undo :func:`_carry_over` after a failed switch: the user's entries go back to ``final``."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(stage_path):
            if not owned(entry.name) and not os.path.lexists(final / entry.name):
                with contextlib.suppress(OSError):
                    os.rename(entry.path, final / entry.name)


def _carry_over(final: Path, stage_path: Path, owned: Callable[[str], bool]) -> None:
    """Entries of ``final`` that the new folder does not replace: files hard-linked (copied if the
    file system cannot link), folders and anything else moved (put back by
    :func:`recover_folder` if the run dies before the switch)."""
    for entry in os.scandir(final):
        if owned(entry.name) or _TEMP.match(entry.name) or (stage_path / entry.name).exists():
            continue
        target = stage_path / entry.name
        if entry.is_file(follow_symlinks=False):
            try:
                os.link(entry.path, target)
            except OSError:
                shutil.copy2(entry.path, target)
        else:
            os.rename(entry.path, target)
