"""``mrecist view [PATH]``: napari with the assessment widget docked and PATH opened.

PATH is a case file (its studies are found next to it, under ``dicom/``) or a DICOM folder (one
series, or a subject's studies: one timepoint per study date).  Without PATH the generated
sample subject is opened (written into the cache folder on first use).  napari and the plugin
are imported only when the command runs.

Exit status: 0 when the window was closed normally; 1 when PATH could not be opened or napari /
the plugin is missing; 2 usage error (PATH does not exist).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..exitcodes import EXIT_OK, EXIT_REFUSED, EXIT_USAGE


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "view",
        help="open napari with the mRECIST assessment widget",
        description="Open napari with the mRECIST assessment widget docked and PATH loaded: a "
        "case file (with its studies under dicom/ next to it) or a DICOM folder. Without PATH, "
        "the generated sample subject.",
    )
    parser.add_argument("path", nargs="?", metavar="FOLDER|CASE", help="case file or DICOM folder")
    parser.add_argument("--reader", help="reader id stamped on the observations you record")
    parser.add_argument("--no-autosave-restore", action="store_true",
                        help="open the case file as saved, ignoring a newer autosave")
    parser.set_defaults(func=run)


def no_display_message() -> str | None:
    """Why a window cannot open here, or None.  Qt aborts the whole process with an xcb error
    when there is no display, so this is checked before napari starts."""
    import os

    if not sys.platform.startswith("linux"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    if os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] in ("offscreen", "minimal", "vnc", "eglfs"):
        return None
    return ("mrecist view: no display (neither DISPLAY nor WAYLAND_DISPLAY is set), so the "
            "napari window cannot open. Run it from a desktop session or `ssh -X`; on a server "
            "without a screen, run it under a virtual display, e.g. `xvfb-run -a mrecist view "
            "CASE` (nothing is shown on screen; `scripts/screenshots.py` under xvfb-run saves "
            "pictures of the viewer).")


def run(args: argparse.Namespace) -> int:
    path = Path(args.path) if args.path else None
    if path is not None and not path.exists():
        print(f"mrecist view: {path}: no such file or folder", file=sys.stderr)
        return EXIT_USAGE
    message = no_display_message()
    if message:
        print(message, file=sys.stderr)
        return EXIT_REFUSED
    try:
        import napari

        from napari_mrecist import assessment_widget
        from napari_mrecist._sample_data import sample_case_path
    except ImportError as exc:
        print(f"mrecist view: napari and the napari-mrecist plugin are needed ({exc}); "
              "install them with `make install` or `pip install -e plugins/napari`", file=sys.stderr)
        return EXIT_REFUSED
    if path is None:
        try:
            path = sample_case_path()
        except Exception as exc:  # generation failed: say why, no traceback
            print(f"mrecist view: the sample subject could not be generated: {exc}", file=sys.stderr)
            return EXIT_REFUSED
    viewer = napari.Viewer(title=f"mRECIST — {path.name}")
    widget = assessment_widget(viewer)
    if args.reader:
        widget.set_reader_id(args.reader)
    if path.is_file():
        ok = widget.open_case(path, use_autosave=not args.no_autosave_restore)
    else:
        ok = widget.open_dicom(path)
    if not ok:
        print(f"mrecist view: {path} could not be opened (see the message in the window)", file=sys.stderr)
    napari.run()
    return EXIT_OK if ok else EXIT_REFUSED
