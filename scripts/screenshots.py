"""Screenshots of the real napari plugin for the README guide (docs/images/*.png).

Opens napari with the assessment widget and the generated sample subject (SYN-003: an ablated
target, complete at FU1, local tumour progression and a new lesion at FU2), performs a few reader
actions and saves window grabs, at a laptop's 1366×768 (the size the dock is made to fit).
Then the three sample subjects as a worklist (a trial's export), one read and marked done by one
reader, another in progress.  Run under Xvfb::

    xvfb-run -a -s "-screen 0 1700x1100x24" .venv/bin/python scripts/screenshots.py [--out docs/images]

PNGs are quantised to 256 colours so each stays well under 300 KB.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

WIDTH, HEIGHT = 1366, 768


def _save(qwidget, path: Path, max_width: int = 1280) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image
    from qtpy.QtCore import QBuffer, QByteArray, QIODevice

    pix = qwidget.grab()
    buf = QByteArray()
    dev = QBuffer(buf)
    dev.open(QIODevice.WriteOnly)
    pix.save(dev, "PNG")
    dev.close()
    import io

    img = Image.open(io.BytesIO(bytes(buf))).convert("RGB")
    if img.width > max_width:
        img = img.resize((max_width, round(img.height * max_width / img.width)), Image.LANCZOS)
    img.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    print(f"{path} {path.stat().st_size // 1024} KB")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("docs/images"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    import napari
    from qtpy.QtWidgets import QApplication

    from napari_mrecist import assessment_widget
    from napari_mrecist._sample_data import sample_case_path

    case = sample_case_path()
    viewer = napari.Viewer(title="mRECIST — sample subject", show=True)
    qt_window = viewer.window._qt_window  # a script, not plugin code: the window to grab
    qt_window.resize(WIDTH, HEIGHT)
    widget = assessment_widget(viewer)
    widget.set_reader_id("reader-A")
    widget.open_case(case, use_autosave=False)
    app = QApplication.instance()

    def settle() -> None:
        for _ in range(5):
            app.processEvents()
        # Toasts (e.g. napari's PyQt5 deprecation notice) would cover the canvas.
        for w in app.topLevelWidgets() + qt_window.findChildren(object):
            if type(w).__name__ == "NapariQtNotification":
                w.hide()
        viewer.screenshot(canvas_only=True, flash=False)  # make sure the canvas has drawn
        app.processEvents()

    def go_to_lesion(tp: str, lesion: str, zoom: float = 2.2) -> None:
        widget.show_timepoint(tp)
        widget.select_lesion(lesion)
        widget.jump_to_lesion(lesion)
        cam = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera
        cam.zoom = zoom
        settle()

    # 1. Baseline: the target's longest viable diameter, drawn as a line.
    go_to_lesion("BL", "L1")
    _save(qt_window, args.out / "measure-baseline.png")

    # 2. FU2: viable tissue at the zone's edge (LTP) and a new lesion; results panel updated.
    go_to_lesion("FU2", "L1")
    _save(qt_window, args.out / "follow-up-ltp.png")

    # 3. FU2 beside the previous follow-up FU1 (what LTP is judged against), two equal canvases
    #    linked both ways (napari's layer docks give way while comparing).
    widget.show_timepoint("FU2")
    widget.compare_with("FU1")
    for _ in range(10):  # the docks are laid out over several event-loop turns
        settle()
    go_to_lesion("FU2", "L1")
    _save(qt_window, args.out / "side-by-side.png")
    widget.compare_with(None)

    # 4. The dock widget alone: lesion table, one-click statuses, procedures and results.
    settle()
    widget.body.adjustSize()
    _save(widget.body, args.out / "assessment-panel.png", max_width=900)

    # 5. A worklist: the sample subjects as a trial's export; SYN-001 read and marked done by
    #    reader-A, SYN-002 in progress; reader-A resumes at SYN-002.
    export = Path(tempfile.mkdtemp(prefix="mrecist-worklist-")) / "export"
    export.mkdir()
    for subject in sorted(p for p in case.parent.parent.iterdir() if p.is_dir()):
        (export / subject.name).symlink_to(subject, target_is_directory=True)
    try:
        widget.open_worklist(export)
        widget.mark_reading_done()
        widget.step_worklist(1)
        widget.show_timepoint(widget.session.baseline_id)
        widget.save()
        widget.open_worklist(export)  # resumes at the first subject not done
        settle()
        _save(qt_window, args.out / "worklist.png")
    finally:
        shutil.rmtree(export.parent, ignore_errors=True)
    widget.ask_unsaved = False
    viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
