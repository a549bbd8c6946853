"""Saving and opening a session: the case file (atomic, via :mod:`mrecist_tool.casefile`), its
masks as NIfTI files under ``masks/`` next to it, and the autosave side file (no Qt).

Masks are written on the grid of the series they were painted on (spacing, origin and direction
in LPS, through SimpleITK), so any tool can overlay them on the DICOM.  A case file's mask paths
are relative to its folder (case-format.md).  The autosave is ``<case>.autosave.json`` with its
masks in ``<case stem>.autosave-masks/g<n>/`` (a new folder per autosave, so its masks always
match it, see :func:`write_autosave`); it is removed after a successful save.  A reading begun
from DICOM and never saved is autosaved under the user's cache folder with a stable, salted name
(:func:`scratch_path`), so it is found again after a crash.  The case file records where its
images are (:mod:`._images`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import weakref
from pathlib import Path

import numpy as np

from mrecist_tool.atomic import atomic_write_with
from mrecist_tool.model import Geometry

from . import _config
from ._images import IMAGES_KEY, images_entry
from ._session import MASK_VIABLE, MaskEntry, Session

MASK_DIR = "masks"
_GENERATION = re.compile(r"g[0-9]{1,9}")  # one autosave's masks: <case stem>.autosave-masks/g<n>/


def autosave_path(case_path: Path) -> Path:
    return case_path.with_name(case_path.name.removesuffix(".json") + ".autosave.json")


def _autosave_mask_dir(case_path: Path) -> str:
    return case_path.name.removesuffix(".json") + ".autosave-masks"


def scratch_path(key: str) -> Path:
    """Where a reading begun from DICOM and never saved lives until it is (its autosave is
    :func:`autosave_path` of this); ``key`` comes from :func:`._config.reading_key`."""
    return _config.cache_dir() / "readings" / f"{key}.json"


def _write_mask(entry: MaskEntry, path: Path) -> None:
    import SimpleITK as sitk

    from mrecist_tool.dicom import Volume, to_sitk

    path.parent.mkdir(parents=True, exist_ok=True)
    vol = Volume(array=entry.array.astype(np.uint8), spacing=entry.spacing, origin=entry.origin,
                 direction=entry.direction)
    image = to_sitk(vol)
    atomic_write_with(path, lambda tmp: sitk.WriteImage(image, str(tmp), True))


def read_mask(path: Path) -> MaskEntry:
    from mrecist_tool.dicom.sitk_bridge import read_volume_file
    from mrecist_tool.geometry.mask_values import binary_inside

    vol = read_volume_file(path)  # a regular file only: a FIFO must not block the viewer
    # A non-binary file (no zero voxel, several labels) is refused: shown as a mask it would be
    # measured and saved as a wrong one. The caller reports it and opens the case without it.
    return MaskEntry(binary_inside(vol.array), vol.spacing, vol.origin, vol.direction, path=None, dirty=False)


def _mask_name(lesion: str, tp: str, kind: str) -> str:
    return f"{lesion}_{tp}_{kind}.nii.gz"


def _inside(folder: Path, rel: str) -> Path:
    """``folder / rel``, refused when a symbolic link (of ``masks/`` or of the file) leads out of
    the case folder: a save never writes outside it (case-format.md)."""
    from mrecist_tool.errors import SaveError
    from mrecist_tool.safe_files import OutsideFolderError, resolve_inside

    try:
        return resolve_inside(folder, rel)
    except OutsideFolderError as exc:
        raise SaveError(f"{exc.path}: not saved: the mask path {exc.reason}; masks are written "
                        "only inside the case file's folder (remove the link, or save the case "
                        "in another folder)") from None


def _check_mask_targets(session: Session, folder: Path, subdir: str, keep_names: bool) -> None:
    """Every mask's target inside ``folder``, checked before anything is written."""
    for (lesion, tp, kind), entry in session.masks.items():
        rel = entry.path if (keep_names and entry.path) else f"{subdir}/{_mask_name(lesion, tp, kind)}"
        _inside(folder, rel)


def _write_masks(session: Session, folder: Path, subdir: str, only_dirty: bool,
                 keep_names: bool = True) -> list[str]:
    """Write the masks and point the observations' geometry at them; returns warnings.

    A mask read from a file keeps its relative path (``keep_names``), so a case opened and saved
    again points at the same files; a new mask is named ``<subdir>/<lesion>_<tp>_<kind>.nii.gz``.
    """
    _check_mask_targets(session, folder, subdir, keep_names)
    warnings: list[str] = []
    for (lesion, tp, kind), entry in sorted(session.masks.items()):
        obs = session.observations.get((lesion, tp))
        if obs is None:
            warnings.append(f"{kind} mask of {lesion} at {tp} not saved: record an observation first")
            continue
        rel = entry.path if (keep_names and entry.path) else f"{subdir}/{_mask_name(lesion, tp, kind)}"
        target = _inside(folder, rel)
        empty = not entry.array.any()
        if empty:
            rel_or_none: str | None = None
        else:
            if not only_dirty or entry.dirty or not target.exists():
                _write_mask(entry, target)
            rel_or_none = rel
            if keep_names:
                entry.path = rel
        geo = obs.geometry or Geometry()
        if kind == MASK_VIABLE:
            geo = dataclasses.replace(geo, mask=rel_or_none)
        else:
            geo = dataclasses.replace(geo, ablation_zone_mask=rel_or_none)
        # File bookkeeping, not a new reading: the reader stamp is left as it is.
        session.observations[(lesion, tp)] = dataclasses.replace(obs, geometry=geo)
    return warnings


def _record_images(session: Session, case_path: Path) -> None:
    if session.images_root is not None:
        session.extra[IMAGES_KEY] = images_entry(session.images_root, case_path)


def save_session(session: Session, path: Path | None = None) -> list[str]:
    """Save the case (atomic) and its masks; remove the autosave.  Returns warnings."""
    from mrecist_tool.casefile import case_problems, write_case

    target = Path(path or session.path or "")
    if not str(target):
        raise ValueError("no file name to save to")
    moved = session.path is not None and target.resolve() != Path(session.path).resolve()
    warnings = _write_masks(session, target.parent, MASK_DIR, only_dirty=not moved)
    _record_images(session, target)
    case = session.to_case()
    write_case(case, target)
    # Saved as it is (work is never refused), but the reader is told what keeps it from being
    # a finished reading that `mrecist assess` accepts.
    warnings += [f"Saved, not finished: {p.message}" + (f" [{p.rule}]" if p.rule else "")
                 for p in case_problems(case) if p.severity == "error"]
    for entry in session.masks.values():
        entry.dirty = False
    old = [autosave_path(Path(session.path))] if session.path else []
    if session.scratch_path is not None:  # a reading begun from DICOM was autosaved in the cache
        old.append(autosave_path(session.scratch_path))
    session.path = target
    session.scratch_path = None
    for p in {autosave_path(target), *old}:
        remove_autosave(p)
    return warnings


def remove_autosave(autosave_file: Path) -> None:
    autosave_file.unlink(missing_ok=True)
    case_like = autosave_file.with_name(autosave_file.name.replace(".autosave.json", ".json"))
    shutil.rmtree(case_like.parent / _autosave_mask_dir(case_like), ignore_errors=True)


def working_path(session: Session) -> Path:
    """The case file of the session, or its scratch file when it was never saved."""
    if session.path is not None:
        return Path(session.path)
    if session.scratch_path is not None:
        return session.scratch_path
    raise ValueError("the reading has neither a case file nor a scratch file")


@dataclasses.dataclass
class AutosaveMasks:
    """What the last autosave of one reading wrote: its side file and, per mask, the session's
    entry (weakly: a replaced mask is not kept alive) and the file holding it."""

    side: Path | None = None
    files: dict[tuple[str, str, str], tuple[weakref.ref[MaskEntry], Path]] = dataclasses.field(default_factory=dict)


def _generations(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_dir() and _GENERATION.fullmatch(p.name)] if folder.is_dir() else []


def write_autosave(session: Session, last: AutosaveMasks | None = None) -> Path:
    """Write the side file (atomic) with the masks painted so far; the case file is untouched.

    The masks go to a new folder ``<case stem>.autosave-masks/g<n>/`` and the side file is
    replaced only after every one of them is on disk; then the older folders are removed.  A
    crash at any moment leaves a side file whose masks are the ones it was written with (masks
    overwritten in place before the side file could be restored beside measurements of another
    state).  A mask unchanged since ``last`` is hard-linked from its previous file, not written
    again (~0.1 s each on a 512×512×300 grid, on the viewer's thread)."""
    from mrecist_tool.casefile import write_case

    case_path = working_path(session)
    case_path.parent.mkdir(parents=True, exist_ok=True)
    side = autosave_path(case_path)
    masks_root = case_path.parent / _autosave_mask_dir(case_path)
    previous = _generations(masks_root)
    generation = 1 + max((int(p.name[1:]) for p in previous), default=0)
    subdir = f"{_autosave_mask_dir(case_path)}/g{generation}"
    folder = case_path.parent / subdir  # where this autosave's masks go
    last = last if last is not None else AutosaveMasks()
    if last.side != side:  # another reading's files: nothing to link from
        last.files.clear()
    # Work on a copy so the saved case's mask paths are not redirected to the autosave folder.
    shadow = dataclasses.replace(session, observations=dict(session.observations),
                                 masks={k: dataclasses.replace(v, dirty=True) for k, v in session.masks.items()},
                                 extra=dict(session.extra), _listeners=[], _assessment=None,
                                 _undo=[], _redo=[])
    _check_mask_targets(shadow, case_path.parent, subdir, keep_names=False)
    for key, entry in session.masks.items():
        kept = last.files.get(key)
        if kept is not None and kept[0]() is entry and kept[1].is_file():
            folder.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):  # no hard links here: written again below
                os.link(kept[1], folder / _mask_name(*key))
                shadow.masks[key].dirty = False
    _write_masks(shadow, case_path.parent, subdir, only_dirty=True, keep_names=False)
    _record_images(shadow, side)
    write_case(shadow.to_case(), side)
    last.side = side
    last.files = {key: (weakref.ref(entry), folder / _mask_name(*key))
                  for key, entry in session.masks.items() if (folder / _mask_name(*key)).is_file()}
    # The side file now names g<n> only: older generations (and the flat files of autosaves
    # written before generations) are no longer read.
    if not masks_root.is_dir() or masks_root.is_symlink():
        return side
    for old in masks_root.iterdir():
        if old.name != f"g{generation}":
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
    return side


def newer_autosave(case_path: Path) -> Path | None:
    """The autosave of ``case_path`` when it is newer than the case file itself."""
    side = autosave_path(case_path)
    if side.exists() and (not case_path.exists() or side.stat().st_mtime >= case_path.stat().st_mtime):
        return side
    return None


def open_session(path: Path, reader: str | None = None, use_autosave: bool = True
                 ) -> tuple[Session, list[str], Path]:
    """Open a case file (or its newer autosave) with its masks.

    Returns the session, notes for the user (autosave restored, masks that could not be read)
    and the file actually read (the case or its autosave: image paths are relative to it).
    """
    from mrecist_tool.casefile import load_case
    from mrecist_tool.errors import CaseFileError

    path = Path(path)
    notes: list[str] = []
    source = path
    if use_autosave:
        side = newer_autosave(path)
        if side is not None:
            source = side
            notes.append(f"restored unsaved work from {side.name}")
    # The reader's own work may be unfinished (a target added, not yet measured at baseline):
    # it opens again, with that warned about, instead of being refused.
    case, problems = load_case(source, in_progress=True)
    if case is None:
        raise CaseFileError(str(source), problems)
    session = Session.from_case(case, path=path, reader=reader)
    for obs in case.observations:
        if obs.geometry is None:
            continue
        for kind, rel in ((MASK_VIABLE, obs.geometry.mask), ("zone", obs.geometry.ablation_zone_mask)):
            if not rel:
                continue
            mask_file = source.parent / rel
            try:
                entry = read_mask(mask_file)
            except Exception as exc:  # a bad mask must not stop the case from opening
                notes.append(f"{mask_file}: mask not read ({exc})")
                continue
            # Masks restored from the autosave are not yet in masks/: the next save writes them.
            entry.path = rel if source == path else None
            entry.dirty = source != path
            session.masks[(obs.lesion, obs.timepoint, kind)] = entry
    return session, notes, source
