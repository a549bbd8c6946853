"""A reading in a napari process of its own, driven by real mouse and key input, to be killed.

``python _child_read.py MODE DICOM_FOLDER OUT_DIR``; MODE is ``autosave`` (one edit) or ``full``
(open DICOM → measure → zone → LTP focus → new lesion → save → one more edit).  When the last
completed edit is in the autosave, the state a restore must give back is written to
``OUT_DIR/expected.json``; then an edit is started (a brush stroke held down) and
``OUT_DIR/ready`` appears: the parent test kills the process with SIGKILL there.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def mask_digest(session) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"/".join(k): hashlib.sha256(e.array.tobytes()).hexdigest()[:16] + f":{int(e.array.sum())}"
            for k, e in sorted(session.masks.items())}


def main() -> int:
    mode, folder, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    import napari
    from _gui import Bot, _send, canvas, data_to_canvas, drag, settled
    from qtpy.QtCore import QEvent, Qt

    from napari_mrecist import _io, assessment_widget
    from napari_mrecist._qt import access

    bot = Bot()
    viewer = napari.Viewer(show=True)
    access.main_window(viewer).resize(1280, 900)
    w = assessment_widget(viewer)
    # A first napari window in a fresh process: seconds on a loaded 2-core machine (the same
    # 15 s as the in-process tests give a first render; 5 s, the default, is not enough there).
    bot.waitUntil(lambda: w.isVisible() and canvas(viewer).width() > 100, timeout=15000)
    settled(bot, viewer)
    assert w.open_dicom(folder)
    lp, mp, pp = w.lesion_panel, w.measure_panel, w.procedure_panel
    c = canvas(viewer)

    def click(button) -> None:  # type: ignore[no-untyped-def]
        bot.mouseClick(button, Qt.MouseButton.LeftButton)

    def stroke(tp: str, a: tuple[int, int, int], b: tuple[int, int, int]) -> None:
        viewer.dims.set_current_step(0, a[0])
        image = w.layers_for(tp)["image"]
        drag(bot, c, data_to_canvas(viewer, c, image, a), data_to_canvas(viewer, c, image, b))
        w.sync_masks_now()

    lp.role_combo.setCurrentText("target")
    click(lp.add_btn)  # T1
    if mode == "full":
        click(mp.buttons["draw_line"])
        stroke("BL", (4, 40, 40), (4, 40, 70))
        bot.keyClick(c, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)  # FU1
        pp.date_edit.setDate(pp.date_edit.date().fromString("2021-03-30", "yyyy-MM-dd"))
        click(pp.add_btn)  # the ablation of T1
        click(mp.buttons["paint_zone"])
        w.layers_for("FU1")["zone"].brush_size = 12
        stroke("FU1", (4, 50, 50), (4, 50, 62))
        click(mp.buttons["mark_absent"])
        bot.keyClick(c, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)  # FU2
        w.select_lesion("T1")
        click(mp.buttons["paint_zone"])
        w.layers_for("FU2")["zone"].brush_size = 12
        stroke("FU2", (4, 50, 50), (4, 50, 62))
        click(mp.buttons["mark_present"])
        lp.role_combo.setCurrentText("new")
        click(lp.add_btn)  # N1: the LTP focus beside the zone
        mp.near_combo.setCurrentText("T1")
        mp.enhancement_combo.setCurrentText("typical")
        click(mp.apply_new_btn)
        click(mp.buttons["paint_viable"])
        w.layers_for("FU2")["viable"].brush_size = 6
        stroke("FU2", (4, 50, 72), (4, 50, 76))
        click(mp.buttons["gap_from_masks"])
        click(lp.add_btn)  # N2: a distant new lesion
        mp.enhancement_combo.setCurrentText("typical")
        click(mp.apply_new_btn)
        mp.diameter_spin.setValue(12.0)
        click(mp.set_diameter_btn)
        assert w.save(out / "case.json")
        w.select_lesion("T1")
        click(mp.buttons["mark_too_small"])  # saved only in the autosave
        working = out / "case.json"
    else:
        click(mp.buttons["mark_present"])
        working = w.session.scratch_path
    side = _io.autosave_path(working)
    start = time.monotonic()
    bot.waitUntil(lambda: side.exists() and w.files.autosaved_revision == w.session.revision, timeout=10000)
    (out / "expected.json").write_text(json.dumps({
        "categories": w.result_categories(),
        "observations": {f"{o.lesion}/{o.timepoint}": [o.status, str(o.viable_diameter_mm),
                                                       str(o.gap_to_ablation_zone_mm), o.reader]
                         for o in w.session.observations.values()},
        "masks": mask_digest(w.session),
        "subject": w.session.subject.id,
        "autosave_after_s": round(time.monotonic() - start, 2),
        "date": date.today().isoformat(),
    }))
    # An edit under way: the brush is down and moving when the process is killed.
    w.select_lesion("T1")
    click(mp.buttons["paint_viable"])
    image = w.layers_for(w.current_tp)["image"]
    p = data_to_canvas(viewer, c, image, (4, 20, 20))
    _send(c, QEvent.Type.MouseButtonPress, p, Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton)
    _send(c, QEvent.Type.MouseMove, p + (p - p) + type(p)(30, 0), Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton)
    (out / "ready").write_text("ready")
    while True:  # until SIGKILL
        bot.wait(100)


if __name__ == "__main__":
    sys.exit(main())
