"""A content-addressed cache of margin results, so re-assessing a cohort does not register
unchanged images again.

The key is a SHA-256 over everything the result depends on: the bytes of every input file
(every file of a DICOM folder, with its relative name), the registration method, the lattice
step, the subcapsular setting, the QA thresholds, the landmarks and :data:`CACHE_VERSION`
(bumped whenever the computation changes).  Renaming or moving a file keeps its entry; editing
a mask by one voxel makes a new one.  Entries are small JSON files written atomically, in
``$MRECIST_MARGIN_CACHE`` or else ``$XDG_CACHE_HOME/mrecist-tool/margin`` (``~/.cache/...``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CACHE_VERSION = "margin-1"
_CHUNK = 1 << 20


def cache_dir() -> Path:
    env = os.environ.get("MRECIST_MARGIN_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mrecist-tool" / "margin"


def _hash_file(h: Any, path: Path) -> None:
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)


def content_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, or of a folder's files (relative names and bytes, sorted)."""
    h = hashlib.sha256()
    if path.is_dir():
        for q in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(str(q.relative_to(path)).encode("utf-8", "surrogatepass") + b"\0")
            _hash_file(h, q)
            h.update(b"\0")
    else:
        _hash_file(h, path)
    return h.hexdigest()


def cache_key(inputs: Iterable[tuple[str, Path | None]], parameters: dict[str, Any]) -> str:
    """The key of one margin: named inputs (``None`` when absent) and the parameters."""
    h = hashlib.sha256(CACHE_VERSION.encode())
    for name, path in inputs:
        h.update(name.encode() + b"=" + (content_digest(path).encode() if path is not None else b"-") + b";")
    h.update(json.dumps(parameters, sort_keys=True, default=str).encode())
    return h.hexdigest()


def load(key: str, folder: Path | None = None) -> dict[str, Any] | None:
    path = (folder or cache_dir()) / key[:2] / f"{key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("cache_version") == CACHE_VERSION else None


def store(key: str, result: dict[str, Any], folder: Path | None = None) -> None:
    """Keep a result; a cache that cannot be written is skipped silently (it only saves time)."""
    from ..atomic import atomic_write_text

    path = (folder or cache_dir()) / key[:2] / f"{key}.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({**result, "cache_version": CACHE_VERSION}))
    except OSError:
        pass
