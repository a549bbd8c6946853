"""Reader contributions: an mRECIST case file, and a DICOM folder (one series or a subject).

Readers return ``None`` for paths they cannot handle, so napari offers the next plugin.  Errors
in a path they do handle are reported as napari notifications (never a traceback dialog) and
the reader returns napari's "nothing to add" sentinel ``[(None,)]``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

LayerData = tuple[Any, ...]
ReaderFunction = Callable[[Any], list[LayerData]]
NOTHING: list[LayerData] = [(None,)]  # napari's sentinel: handled, no layer to add
_MAX_PROBE = 64  # files looked at to decide whether a folder holds DICOM


def _single(path: Any) -> Path | None:
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    try:
        return Path(path)
    except TypeError:
        return None


def _is_case_file(p: Path) -> bool:
    if not (p.is_file() and p.suffix.lower() == ".json"):
        return False
    from mrecist_tool.safe_files import open_regular

    try:
        with open_regular(p) as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return b"mrecist-case" in head


def _looks_like_dicom_file(p: Path) -> bool:
    from mrecist_tool.safe_files import open_regular

    try:
        with open_regular(p) as fh:  # a FIFO in the folder must not block the probe
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def folder_has_dicom(folder: Path) -> bool:
    seen = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            if _looks_like_dicom_file(Path(dirpath) / name):
                return True
            seen += 1
            if seen >= _MAX_PROBE:
                return False
    return False


def get_case_reader(path: Any) -> ReaderFunction | None:
    """A reader for an mRECIST case file (``format: "mrecist-case"``), else ``None``."""
    p = _single(path)
    if p is None or not _is_case_file(p):
        return None
    return read_case_file


def get_dicom_reader(path: Any) -> ReaderFunction | None:
    """A reader for a DICOM file or folder (a series, or a subject's studies), else ``None``."""
    p = _single(path)
    if p is None:
        return None
    if p.is_file():
        return read_dicom if _looks_like_dicom_file(p) else None
    if p.is_dir() and folder_has_dicom(p):
        return read_dicom
    return None


def read_case_file(path: Any) -> list[LayerData]:
    """Open a case file in the assessment widget: its studies, lines and masks become layers.

    Without a viewer (e.g. ``npe2`` reading in a script), the case's baseline image is returned
    as a layer-data tuple instead.
    """
    import napari
    from napari.utils.notifications import show_error

    from mrecist_tool.errors import MrecistError

    from . import assessment_widget
    from ._studies import for_reader

    p = _single(path)
    assert p is not None
    viewer = napari.current_viewer()
    if viewer is not None:
        widget = assessment_widget(viewer)
        widget.open_case(p)
        return NOTHING
    try:
        from . import _io
        from ._images import locate
        from ._layers import image_layer_data

        session, _, source = _io.open_session(p)
        studies = locate(session, source).studies
        if studies is None:
            return NOTHING
        out: list[LayerData] = []
        for tp in session.sorted_timepoints():
            info = studies.series_for(tp)
            if info is not None:
                vol = studies.volume(info.series_uid)
                out.append(image_layer_data(vol, f"{tp.id} {vol.phase}", timepoint=tp.id))
        return out or NOTHING
    except (MrecistError, OSError, ValueError) as exc:
        show_error(f"Cannot open {p.name}: {for_reader(str(exc))}")
        return NOTHING


def read_dicom(path: Any) -> list[LayerData]:
    """Image layers in mm: the series (one series), or each timepoint's preferred series
    (a subject folder: arterial first, APP-1); only the first is visible."""
    from napari.utils.notifications import show_error, show_warning

    from mrecist_tool.errors import MrecistError

    from ._layers import image_layer_data
    from ._studies import StudySet, for_reader

    p = _single(path)
    assert p is not None
    folder = p.parent if p.is_file() else p
    try:
        studies = StudySet.open(folder)
        loadable = studies.scan_result.loadable_series
        problems = studies.problems()
        if not loadable:
            show_error("; ".join(problems) if problems else studies.nothing_found())
            return NOTHING
        for problem in problems:  # never a series quietly missing slices
            show_warning(problem)
        out: list[LayerData] = []
        if p.is_file():
            from mrecist_tool.dicom import read_header

            uid = read_header(p).series_uid
            vol = studies.volume(uid)
            out.append(image_layer_data(vol, vol.description or vol.phase))
        elif len(loadable) == 1:
            vol = studies.volume(loadable[0].series_uid)
            out.append(image_layer_data(vol, vol.description or vol.phase))
        else:
            for tp in studies.timepoints():
                info = studies.series_for(tp)
                if info is None:
                    continue
                vol = studies.volume(info.series_uid)
                out.append(image_layer_data(vol, f"{tp.id} {vol.phase}", timepoint=tp.id))
            for data in out[1:]:
                data[1]["visible"] = False
        for info in loadable:
            for w in info.warnings:
                show_warning(f"{info.description or info.series_uid}: {w}")
        return out or NOTHING
    except (MrecistError, OSError, ValueError, KeyError) as exc:
        show_error(f"Cannot open {p}: {for_reader(str(exc))}")
        return NOTHING
