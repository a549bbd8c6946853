"""The user's own settings for the plugin, kept between sessions (no Qt).

``$XDG_CONFIG_HOME/napari-mrecist/config.json`` (``~/.config/...`` by default) holds:

* ``salt`` -- a random value drawn once per installation.  Subject ids of readings begun from
  DICOM and the names of their autosaves are salted hashes of the patient and the studies, so
  they are stable on this machine (an autosave is found again after a crash) yet no hospital
  number can be recovered from them by hashing guesses;
* ``reader`` -- the id of the person at the keyboard, asked once and stamped on every
  observation they record (never the reader written in a case file someone else prepared);
* ``positions`` -- where the reader was in each reading (timepoint, lesion, when), keyed by a
  salted hash of the reading's file, so that reopening resumes there even when nothing was
  edited since the last save (the case file keeps the position only as of its last save).

The file is written atomically; a damaged file is set aside (``config.json.bad``) and replaced,
never silently merged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CONFIG_NAME = "config.json"
APP_DIR = "napari-mrecist"
POSITIONS_KEPT = 500  # the most recent readings' positions; older ones are forgotten


def config_dir() -> Path:
    """``$XDG_CONFIG_HOME/napari-mrecist`` (``~/.config/napari-mrecist`` by default)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / APP_DIR


def cache_dir() -> Path:
    """Where readings never saved to a case file are autosaved (``$XDG_CACHE_HOME``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / APP_DIR


def _path() -> Path:
    return config_dir() / CONFIG_NAME


def load() -> dict[str, Any]:
    """The stored settings (empty when there are none yet)."""
    path = _path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        # Keep the damaged file for inspection; start afresh rather than guess at its content.
        with contextlib.suppress(OSError):
            path.replace(path.with_name(CONFIG_NAME + ".bad"))
        return {}
    return data if isinstance(data, dict) else {}


def _store(data: dict[str, Any]) -> None:
    from mrecist_tool.atomic import atomic_write_text

    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def update(**changes: Any) -> dict[str, Any]:
    """Set some settings and write the file; returns all settings."""
    data = load()
    data.update(changes)
    _store(data)
    return data


def installation_salt() -> str:
    """This installation's salt, drawn and stored on first use."""
    data = load()
    salt = data.get("salt")
    if not isinstance(salt, str) or len(salt) < 16:
        salt = secrets.token_hex(16)
        update(salt=salt)
    return salt


def remembered_reader() -> str | None:
    """The reader id given at this keyboard before, or None when never asked."""
    reader = load().get("reader")
    return reader.strip() if isinstance(reader, str) and reader.strip() else None


def remember_reader(reader: str) -> None:
    update(reader=reader.strip())


def reading_key(patient: str, study_uids: Iterable[str]) -> str:
    """A stable, salted key for one subject's set of studies (autosave names).

    Parameters
    ----------
    patient
        The patient's pseudonym (already salted with :func:`installation_salt`).
    study_uids
        The Study Instance UIDs of the reading; their order does not matter.
    """
    text = "\x1f".join([installation_salt(), patient, *sorted(set(study_uids))])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _position_key(reading: Path) -> str:
    # Salted: the config names no subject folder (they may carry identifiers).
    text = "\x1f".join([installation_salt(), str(Path(reading).absolute())])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def remember_position(reading: Path, timepoint: str, lesion: str | None, when: str) -> None:
    """Keep where the reader is in ``reading`` (its case or scratch file); ``when`` is an ISO
    8601 instant, compared with the position saved in the case file."""
    key = _position_key(reading)  # first: drawing the salt writes the file
    data = load()
    positions = data.get("positions")
    positions = dict(positions) if isinstance(positions, dict) else {}
    positions[key] = {"timepoint": timepoint, "lesion": lesion, "updated": when}
    if len(positions) > POSITIONS_KEPT:
        newest = sorted(positions.items(), key=lambda kv: str(kv[1].get("updated", "")
                                                              if isinstance(kv[1], dict) else ""))
        positions = dict(newest[-POSITIONS_KEPT:])
    data["positions"] = positions
    _store(data)


def remembered_position(reading: Path) -> tuple[str | None, str | None, str | None]:
    """(timepoint, lesion, when) last kept for ``reading``, or Nones."""
    positions = load().get("positions")
    entry = positions.get(_position_key(reading)) if isinstance(positions, dict) else None
    if not isinstance(entry, dict):
        return None, None, None

    def text(key: str) -> str | None:
        value = entry.get(key)
        return value if isinstance(value, str) else None

    return text("timepoint"), text("lesion"), text("updated")
