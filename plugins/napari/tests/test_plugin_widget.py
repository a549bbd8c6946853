"""Driving the assessment widget like a reader -- clicks on the dock, strokes and keys on the
canvas -- in a real napari viewer under Xvfb."""

from __future__ import annotations

import contextlib
import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from _gui import canvas, data_to_canvas, drag, key, pump, settled, when_dialog
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QLineEdit, QMessageBox

from mrecist_tool.casefile import read_case
from mrecist_tool.rules import assess_case
from napari_mrecist import assessment_widget
from napari_mrecist._qt import access
from napari_mrecist._results import timepoint_rows

pytestmark = pytest.mark.gui


@pytest.fixture
def widget(make_napari_viewer, case_dir: Path, qtbot):
    viewer = make_napari_viewer(show=True)
    access.main_window(viewer).resize(1280, 900)
    w = assessment_widget(viewer)
    assert w.open_dicom(case_dir / "dicom")
    qtbot.waitUntil(lambda: w.lesion_panel.table.isVisible() and canvas(viewer).width() > 100, timeout=15000)
    settled(qtbot, viewer)
    return w


def _categories_from_engine(case) -> dict[str, list[str]]:
    return {r[0].text.split()[0]: [c.text for c in r] for r in timepoint_rows(assess_case(case))}


def _categories_on_screen(w) -> dict[str, list[str]]:
    t = w.results_panel.results_table
    out = {}
    for r in range(t.rowCount()):
        row = [t.item(r, c).text() for c in range(t.columnCount())]
        out[row[0].split()[0]] = row
    return out


def _click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    pump(qtbot)


def _draw(qtbot, w, tp: str, a: tuple[int, int, int], b: tuple[int, int, int]) -> None:
    """Draw a line on the canvas from voxel ``a`` to voxel ``b`` (same slice), as a hand would."""
    w.viewer.dims.set_current_step(0, a[0])
    image = w.layers_for(tp)["image"]
    c = canvas(w.viewer)
    drag(qtbot, c, data_to_canvas(w.viewer, c, image, a), data_to_canvas(w.viewer, c, image, b))


def _paint(qtbot, w, tp: str, a: tuple[int, int, int], b: tuple[int, int, int]) -> None:
    _draw(qtbot, w, tp, a, b)
    w.sync_masks_now()


def test_reading_session_gives_the_engines_categories(widget, qtbot, case_dir: Path) -> None:
    """Add a target, draw its line, mark it absent at FU1, add its ablation, paint viable tissue
    at FU2: the panel shows what the engine gives for the saved case file (ABL-9 LTP → PD)."""
    w = widget
    lp, mp, pp = w.lesion_panel, w.measure_panel, w.procedure_panel
    assert w.timepoint_ids() == ["BL", "FU1", "FU2"] and w.current_tp == "BL"
    lp.role_combo.setCurrentText("target")
    qtbot.keyClicks(lp.site_edit, "segment VII")
    _click(qtbot, lp.add_btn)
    assert w.selected_lesion() == "T1"
    lp.role_combo.setCurrentText("non-target")
    _click(qtbot, lp.add_btn)
    w.select_lesion("T1")
    _click(qtbot, mp.buttons["draw_line"])
    lines = w.layers_for("BL")["lines"]
    assert lines.mode == "add_line"
    _draw(qtbot, w, "BL", (4, 20, 20), (4, 20, 60))  # 40 px × 0.7 mm
    obs = w.session.observation("T1", "BL")
    assert obs.status == "measured" and abs(float(obs.viable_diameter_mm) - 28.0) <= 0.4
    qtbot.waitUntil(lambda: any(str(x).startswith("T1 ") for x in w.layers_for("BL")["callipers"].features["label"]),
                    timeout=15000)
    w.viewer.dims.set_current_step(0, 0)
    w.select_lesion("NT1")
    w.select_lesion("T1")  # selecting a lesion jumps to its line's slice
    assert w.viewer.dims.current_step[0] == 4
    w.select_lesion("NT1")
    _click(qtbot, mp.buttons["mark_present"])

    key(qtbot, canvas(w.viewer), Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)  # next timepoint
    assert w.current_tp == "FU1"
    w.select_lesion("T1")
    _click(qtbot, mp.buttons["mark_absent"])
    w.select_lesion("NT1")
    _click(qtbot, mp.buttons["mark_present"])
    w.select_lesion("T1")
    pp.date_edit.setDate(pp.date_edit.date().fromString("2021-03-30", "yyyy-MM-dd"))
    pp.technique_combo.setCurrentText("MWA")
    _click(qtbot, pp.add_btn)
    assert [p.lesions for p in w.session.procedures.values()] == [("T1",)]

    w.show_timepoint("FU2")
    w.select_lesion("T1")
    _click(qtbot, mp.buttons["paint_viable"])
    viable = w.layers_for("FU2")["viable"]
    assert viable.mode == "paint" and viable.selected_label == 1
    viable.brush_size = 10
    _paint(qtbot, w, "FU2", (4, 60, 60), (4, 60, 72))
    obs = w.session.observation("T1", "FU2")
    assert obs.status == "measured" and obs.viable_diameter_mm > 0
    w.select_lesion("NT1")
    _click(qtbot, mp.buttons["mark_present"])

    screen = _categories_on_screen(w)
    assert screen["FU1"][6] == "CR" and screen["FU1"][9] == "PR"
    assert screen["FU2"][9] == "PD"
    assert all(o.reader == "test-reader" and o.recorded_at for o in w.session.observations.values())

    case_path = case_dir / "CRLM-T03.json"
    assert w.save(case_path)
    saved = read_case(case_path)
    assert _categories_from_engine(saved) == screen
    assert json.loads(case_path.read_text())["observations"][0]["geometry"]["line"]


def test_the_calliper_layer_is_shown_only_on_a_slice_with_a_line_to_label(widget, qtbot) -> None:
    """The calliper layer is hidden where it has nothing to show (it would cost every slice step
    a slice and a draw for nothing): a line brings its label on its slice, scrolling off that
    slice or to another timepoint hides it, undo takes it away again."""
    w = widget
    viewer = w.viewer
    callipers = w.layers_for("BL")["callipers"]
    assert len(callipers.data) == 0 and not callipers.visible and w.layers_for("BL")["lines"].visible
    w.add_lesion("target")
    viewer.dims.set_current_step(0, 3)
    w.layers_for("BL")["lines"].add_lines(np.array([[3, 30, 30], [3, 50, 30]]))
    qtbot.waitUntil(lambda: len(callipers.data) == 1 and callipers.visible, timeout=5000)
    key(qtbot, canvas(viewer), Qt.Key.Key_Down)  # the next slice, as the reader scrolls
    assert viewer.dims.current_step[0] != 3 and not callipers.visible
    viewer.dims.set_current_step(0, 3)
    assert callipers.visible
    w.show_timepoint("FU1")
    assert not callipers.visible and not w.layers_for("FU1")["callipers"].visible
    w.show_timepoint("BL")
    assert callipers.visible
    w.undo()
    qtbot.waitUntil(lambda: len(callipers.data) == 0 and not callipers.visible, timeout=5000)


def test_save_and_reopen_restores_lines_and_masks(make_napari_viewer, widget, qtbot, case_dir: Path) -> None:
    w = widget
    w.add_lesion("target")
    w.layers_for("BL")["lines"].add_lines(np.array([[3, 30, 30], [3, 50, 30]]))
    w.show_timepoint("FU1")
    w.select_lesion("T1")
    w.run_action("paint_zone")
    zone = w.layers_for("FU1")["zone"]
    zone.brush_size = 8
    _paint(qtbot, w, "FU1", (5, 40, 40), (5, 40, 44))
    w.run_action("mark_absent")
    path = case_dir / "reopen.json"
    assert w.save(path)

    w2 = assessment_widget(make_napari_viewer())
    assert w2.open_case(path)
    assert w2.session.to_case() == read_case(path)
    lines = w2.layers_for("BL")["lines"]
    assert len(lines.data) == 1
    np.testing.assert_allclose(lines.data[0][:, 1:], [[30, 30], [50, 30]], atol=0.02)
    zone2 = w2.layers_for("FU1")["zone"]
    np.testing.assert_array_equal(zone2.data > 0, zone.data > 0)
    assert w2.session.observation("T1", "FU1").geometry.ablation_zone_mask == "masks/T1_FU1_zone.nii.gz"


def test_autosave_after_an_edit_and_restore_on_open(make_napari_viewer, widget, qtbot, case_dir: Path,
                                                    notifications) -> None:
    w = widget
    path = case_dir / "auto.json"
    w.add_lesion("target")
    w.set_diameter(31.5)
    assert w.save(path)
    w.show_timepoint("FU1")
    w.select_lesion("T1")
    _click(qtbot, w.measure_panel.buttons["mark_too_small"])
    side = case_dir / "auto.autosave.json"
    # The debounced autosave (≤ 2 s) *of this edit*: the file alone could be an autosave of an
    # earlier state; 10 s because it writes and fsyncs on what may be a slow, shared disk.
    qtbot.waitUntil(lambda: side.exists() and w.files.autosaved_revision == w.session.revision, timeout=10000)
    w2 = assessment_widget(make_napari_viewer())
    assert w2.open_case(path)
    assert w2.session.observation("T1", "FU1").status == "too-small"
    assert any("restored" in str(n.message) for n in notifications)
    assert w2.save()
    assert not side.exists()


def test_a_reader_who_keeps_editing_is_autosaved_too(widget, qtbot, case_dir: Path) -> None:
    """Edits 0.7 s apart (under the 1.5 s autosave delay) used to push the autosave back on every
    edit, so nothing was saved until the reader paused: a crash lost all of it.  No edit now
    waits more than 2 s for its autosave, however fast the next ones come."""
    w = widget
    w.add_lesion("target")
    w.set_diameter(31.5)
    assert w.save(case_dir / "busy.json")
    w.show_timepoint("FU1")
    w.select_lesion("T1")
    first = w.session.revision
    autosaved_while_editing = []
    for i in range(6):  # 3.5 s of edits, never a 1.5 s pause
        _click(qtbot, w.measure_panel.buttons["mark_absent" if i % 2 == 0 else "mark_too_small"])
        qtbot.wait(700)
        autosaved_while_editing.append(w.files.autosaved_revision)
    assert max(autosaved_while_editing) > first, autosaved_while_editing
    assert (case_dir / "busy.autosave.json").exists()


def test_target_limits_come_from_the_rules_liver_and_hepatic_mr_b3(widget, qtbot, notifications) -> None:
    """MR-B3 / REC-B2: "liver" and "hepatic" are one organ, so a third target there is refused
    (2 per organ by default); a lung target is still allowed."""
    w = widget
    lp = w.lesion_panel
    for organ, expected in (("liver", "T1"), ("hepatic", "T2"), ("Liver", None), ("lung", "T3")):
        lp.organ_edit.clear()
        qtbot.keyClicks(lp.organ_edit, organ)
        before = set(w.session.lesions)
        _click(qtbot, lp.add_btn)
        added = set(w.session.lesions) - before
        assert added == ({expected} if expected else set()), organ
    assert any("per organ" in str(n.message) and "MR-B3" in str(n.message) for n in notifications)


def test_undo_redo_every_edit_including_from_the_dock(widget, qtbot) -> None:
    """Status clicks, typed diameters, lines, lesion add / remove and role changes are undone
    by Ctrl+Z on the canvas or the Undo button, and redone; Remove asks first; ids are never
    given again."""
    w = widget
    c = canvas(w.viewer)
    lp, mp = w.lesion_panel, w.measure_panel
    _click(qtbot, lp.add_btn)  # T1
    _click(qtbot, mp.buttons["mark_present"])
    mp.diameter_spin.setValue(22.0)
    _click(qtbot, mp.set_diameter_btn)
    assert str(w.session.observation("T1", "BL").viable_diameter_mm) == "22.0"
    key(qtbot, c, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert w.session.observation("T1", "BL").status == "present"
    _click(qtbot, w.undo_btn)
    assert w.session.observation("T1", "BL") is None
    _click(qtbot, w.redo_btn)
    assert w.session.observation("T1", "BL").status == "present"
    key(qtbot, c, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert str(w.session.observation("T1", "BL").viable_diameter_mm) == "22.0"

    _click(qtbot, lp.add_btn)  # T2
    when_dialog(lambda d: qtbot.mouseClick(d.button(QMessageBox.StandardButton.No), Qt.MouseButton.LeftButton))
    _click(qtbot, lp.remove_btn)
    assert "T2" in w.session.lesions  # "No": nothing removed
    when_dialog(lambda d: qtbot.mouseClick(d.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton))
    _click(qtbot, lp.remove_btn)
    assert "T2" not in w.session.lesions
    _click(qtbot, lp.add_btn)
    assert w.selected_lesion() == "T3"  # T2 is not given again
    _click(qtbot, w.undo_btn)
    _click(qtbot, w.undo_btn)
    assert list(w.session.lesions) == ["T1", "T2"]  # the removal undone

    # The role, edited in the table, is undone too.
    row = lp.row_of("T2")
    cell = lp.table.item(row, 1)
    lp.table.editItem(cell)
    editor = lp.table.findChild(type(lp.role_combo))
    editor.setCurrentText("non-target")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    pump(qtbot)
    assert w.session.lesions["T2"].role == "non-target"
    _click(qtbot, w.undo_btn)
    assert w.session.lesions["T2"].role == "target"


def test_a_drawn_line_is_undone_and_redone_on_the_canvas_too(widget, qtbot, notifications) -> None:
    """A line drawn with the mouse, then Ctrl+Z: the diameter and the line on the canvas go;
    Ctrl+Shift+Z brings both back; a second line replacing the first is undone to the first."""
    w = widget
    c = canvas(w.viewer)
    _click(qtbot, w.lesion_panel.add_btn)
    _click(qtbot, w.measure_panel.buttons["draw_line"])
    lines = w.layers_for("BL")["lines"]
    _draw(qtbot, w, "BL", (4, 20, 20), (4, 20, 60))  # 40 px × 0.7 mm
    assert abs(float(w.session.observation("T1", "BL").viable_diameter_mm) - 28.0) <= 0.4
    key(qtbot, c, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert w.session.observation("T1", "BL") is None
    qtbot.waitUntil(lambda: len(lines.data) == 0, timeout=5000)
    key(qtbot, c, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert abs(float(w.session.observation("T1", "BL").viable_diameter_mm) - 28.0) <= 0.4
    qtbot.waitUntil(lambda: len(lines.data) == 1, timeout=5000)

    _click(qtbot, w.measure_panel.buttons["draw_line"])
    _draw(qtbot, w, "BL", (4, 30, 20), (4, 30, 40))  # a shorter line replaces it: 14 mm
    # One line on the canvas, and it is the new one (20 px): one line alone is also the state
    # before the stroke, or the old line left in place.
    qtbot.waitUntil(lambda: len(lines.data) == 1 and abs(float(np.ptp(lines.data[0][:, 2])) - 20) < 0.5,
                    timeout=5000)
    assert abs(float(w.session.observation("T1", "BL").viable_diameter_mm) - 14.0) <= 0.4
    _click(qtbot, w.undo_btn)
    assert abs(float(w.session.observation("T1", "BL").viable_diameter_mm) - 28.0) <= 0.4
    qtbot.waitUntil(lambda: len(lines.data) == 1 and abs(float(np.ptp(lines.data[0][:, 2])) - 40) < 0.5,
                    timeout=5000)

    # The line deleted on the canvas (napari's select tool, Delete): the number stays, and the
    # reader is told so rather than left with a diameter and no line.
    lines.mode = "select"
    lines.selected_data = {0}
    key(qtbot, c, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: len(lines.data) == 0, timeout=5000)
    assert w.session.line_lps("T1", "BL") is None
    assert any(str(n.message).startswith("T1 at BL: its line was deleted; the diameter 28.0 mm is kept")
               for n in notifications)


def test_site_is_edited_in_the_table(widget, qtbot) -> None:
    w = widget
    _click(qtbot, w.lesion_panel.add_btn)
    t = w.lesion_panel.table
    item = t.item(0, 4)
    rect = t.visualItemRect(item)
    qtbot.mouseClick(t.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.keyClick(t, Qt.Key.Key_F2)  # edit the current cell
    editor = t.findChild(QLineEdit)
    assert editor is not None
    qtbot.keyClicks(editor, "segment VIII")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    pump(qtbot)
    assert w.session.lesions["T1"].site == "segment VIII"


def test_role_and_site_edited_with_mouse_and_keys_undone_removed_ids_never_reused(
        make_napari_viewer, widget, qtbot, case_dir: Path) -> None:
    """In the lesion table a double-click opens the role's choice list and the site's text field;
    Ctrl+Z undoes each edit; Remove asks first; a removed lesion's id is not given again, after
    saving and reopening too."""
    w = widget
    lp = w.lesion_panel
    t = lp.table
    _click(qtbot, lp.add_btn)  # T1
    _click(qtbot, lp.add_btn)  # T2

    def edit_cell(row: int, column: int) -> None:
        rect = t.visualItemRect(t.item(row, column))
        qtbot.mouseClick(t.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(t.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        pump(qtbot)

    edit_cell(lp.row_of("T2"), 1)
    combo = t.findChild(type(lp.role_combo))
    assert combo is not None and combo.currentText() == "target"
    qtbot.keyClick(combo, Qt.Key.Key_Down)  # target → non-target
    qtbot.keyClick(combo, Qt.Key.Key_Return)
    pump(qtbot)
    assert w.session.lesions["T2"].role == "non-target"
    assert t.item(lp.row_of("T2"), 1).text() == "non-target"

    edit_cell(lp.row_of("T2"), 4)
    editor = next(e for e in t.findChildren(QLineEdit) if e.isVisible())
    qtbot.keyClicks(editor, "segment IVa")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    pump(qtbot)
    assert w.session.lesions["T2"].site == "segment IVa"
    assert t.item(lp.row_of("T2"), 4).text() == "segment IVa"

    c = canvas(w.viewer)
    key(qtbot, c, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert w.session.lesions["T2"].site is None and t.item(lp.row_of("T2"), 4).text() == ""
    _click(qtbot, w.undo_btn)
    assert w.session.lesions["T2"].role == "target" and t.item(lp.row_of("T2"), 1).text() == "target"
    _click(qtbot, w.redo_btn)
    key(qtbot, c, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert (w.session.lesions["T2"].role, w.session.lesions["T2"].site) == ("non-target", "segment IVa")

    w.select_lesion("T1")
    assert lp.selected_lesions() == ["T1"]
    asked: list[str] = []

    def answer(dialog, button) -> None:  # type: ignore[no-untyped-def]
        asked.append(dialog.text())
        qtbot.mouseClick(dialog.button(button), Qt.MouseButton.LeftButton)

    when_dialog(lambda d: answer(d, QMessageBox.StandardButton.No))
    _click(qtbot, lp.remove_btn)
    assert "T1" in w.session.lesions and asked and "Remove T1" in asked[-1]
    when_dialog(lambda d: answer(d, QMessageBox.StandardButton.Yes))
    _click(qtbot, lp.remove_btn)
    assert list(w.session.lesions) == ["T2"], asked
    path = case_dir / "ids.json"
    assert w.save(path)

    w2 = assessment_widget(make_napari_viewer())
    assert w2.open_case(path, use_autosave=False)
    lp2 = w2.lesion_panel
    lp2.role_combo.setCurrentText("target")
    _click(qtbot, lp2.add_btn)
    assert set(w2.session.lesions) == {"T2", "T3"}  # T1 is not given again after reopening


def test_keys_on_the_canvas_and_in_the_dock(widget, qtbot) -> None:
    """The action keys work on the image (whatever layer is active) and in the dock."""
    w = widget
    w.add_lesion("target")
    w.set_diameter(20)
    w.add_procedure("ablation", date(2021, 3, 30), ["T1"], "RFA")
    c = canvas(w.viewer)
    key(qtbot, c, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    key(qtbot, c, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert w.current_tp == "FU2"
    w.add_lesion("new")
    w.set_new_lesion_details("typical", equivocal=True)
    obs = w.session.observation("N1", "FU2")
    assert (obs.enhancement, obs.equivocal) == ("typical", True)
    assert _categories_on_screen(w)["FU2"][8] == "equivocal"
    w.set_new_lesion_details("typical", equivocal=False, near_lesion="T1")
    assert w.session.observation("N1", "FU2").near_lesion == "T1"
    w.select_lesion("T1")
    w.run_action("paint_viable")  # a Labels layer is active: its own keys must not win
    key(qtbot, c, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
    assert w.session.observation("T1", "FU2").status == "absent"
    key(qtbot, w.lesion_panel.table, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)  # in the dock
    assert w.current_tp == "FU1"


def test_visit_without_imaging_is_ne_and_the_criteria_switch_says_why(widget, qtbot, notifications) -> None:
    """A visit marked 'no imaging' is not evaluable (the engine's NE); switching to RECIST 1.1
    tells the reader that viable diameters are not longest diameters."""
    w = widget
    sp = w.subject_panel
    w.add_lesion("target")
    w.set_diameter(25)
    w.show_timepoint("FU1")
    w.select_lesion("T1")
    w.set_diameter(24)
    assert _categories_on_screen(w)["FU1"][9] == "SD"
    _click(qtbot, sp.no_imaging_check)
    assert w.session.timepoints["FU1"].imaging == "not-done"
    assert _categories_on_screen(w)["FU1"][9] == "NE"
    assert _categories_on_screen(w) == _categories_from_engine(w.session.to_case())
    sp.criteria_combo.setFocus()
    key(qtbot, sp.criteria_combo, Qt.Key.Key_Down)  # mRECIST → RECIST1.1, by key on the box
    assert w.session.criteria == "RECIST1.1"
    assert w.session.measure_field("T1") == "longest_diameter_mm"
    note = w.results_panel.criteria_note.text()
    assert "longest diameter" in note and "BL: T1" in note
    assert any("viable" in str(n.message) and "NE" in str(n.message) for n in notifications)


def test_a_line_or_paint_on_a_coronal_series_gives_no_diameter_and_says_why(make_napari_viewer, qtbot, tmp_path: Path,
                                                                        notifications) -> None:
    """On a coronal series an in-plane length is not an axial diameter: a drawn line is refused
    (not kept on the canvas, nothing recorded) and painted viable tissue is kept without a
    diameter -- each with a warning naming lesion, timepoint, series and orientation."""
    _, w = _open_coronal_subject(make_napari_viewer, qtbot, tmp_path)
    uid = w.series_uid("BL")
    _click(qtbot, w.lesion_panel.add_btn)
    assert w.selected_lesion() == "T1"
    _click(qtbot, w.measure_panel.buttons["draw_line"])
    _draw(qtbot, w, "BL", (4, 20, 20), (4, 20, 60))

    def refused() -> bool:
        return any(str(n.message).startswith(f"T1 at BL: the line was not kept and no viable diameter was "
                                             f"recorded (series {uid})") and "coronal" in str(n.message)
                   for n in notifications)

    # No line on the canvas is also the state before the stroke: wait for the refusal itself
    # (on a time-out the asserts below say what is missing).
    with contextlib.suppress(qtbot.TimeoutError):
        qtbot.waitUntil(lambda: refused() and len(w.layers_for("BL")["lines"].data) == 0, timeout=5000)
    assert refused(), [str(n.message) for n in notifications]
    assert len(w.layers_for("BL")["lines"].data) == 0  # not kept
    assert w.session.observation("T1", "BL") is None

    _click(qtbot, w.measure_panel.buttons["paint_viable"])
    w.layers_for("BL")["viable"].brush_size = 10
    _paint(qtbot, w, "BL", (4, 60, 60), (4, 60, 72))
    assert w.session.mask("T1", "BL") is not None and w.session.mask("T1", "BL").any()  # the paint is kept
    obs = w.session.observation("T1", "BL")
    assert obs is None or obs.viable_diameter_mm is None
    said = [str(n.message) for n in notifications]
    assert any(m.startswith(f"T1 at BL: the viable diameter was not taken from the mask (series {uid})")
               and "coronal" in m for m in said), said


def _type_diameter(qtbot, w, text: str) -> None:  # type: ignore[no-untyped-def]
    """Type ``text`` into the measurement panel's diameter box and press Set diameter."""
    spin = w.measure_panel.diameter_spin
    qtbot.mouseClick(spin.lineEdit(), Qt.MouseButton.LeftButton)
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(spin.lineEdit(), text)
    _click(qtbot, w.measure_panel.set_diameter_btn)


def test_a_diameter_typed_on_a_coronal_series_is_kept_as_typed_and_says_the_series_is_not_axial(
        make_napari_viewer, widget, qtbot, tmp_path: Path, notifications) -> None:
    """A typed diameter is the reader's own measurement (maybe read on axial images on another
    workstation), so it is kept while a coronal series is shown -- unlike a line or a mask on it
    -- with a warning naming lesion, timepoint, series and orientation.  Typed while an axial
    series is shown, it gives no such warning."""
    axial = widget
    _click(qtbot, axial.lesion_panel.add_btn)
    _type_diameter(qtbot, axial, "31.5")
    assert str(axial.session.observation("T1", "BL").viable_diameter_mm) == "31.5"
    assert not any("kept as typed" in str(n.message) for n in notifications)

    _, w = _open_coronal_subject(make_napari_viewer, qtbot, tmp_path)
    uid = w.series_uid("BL")
    _click(qtbot, w.lesion_panel.add_btn)
    assert w.selected_lesion() == "T1"
    _type_diameter(qtbot, w, "22.5")
    obs = w.session.observation("T1", "BL")
    assert obs.status == "measured" and str(obs.viable_diameter_mm) == "22.5"  # kept, as typed
    said = [str(n.message) for n in notifications]
    assert any(m.startswith(f"T1 at BL: the typed viable diameter 22.5 mm is kept as typed, but the series "
                            f"shown (series {uid}) is not axial") and "coronal" in m for m in said), said


def test_sample_subject_round_trip_same_assessment(make_napari_viewer, qtbot, tmp_path: Path) -> None:
    """File ▸ Open Sample: the generated subject's ground-truth case file opens with its studies,
    lines and masks; saved again it is the same case (same assessment)."""
    viewer = make_napari_viewer()
    viewer.open_sample("napari-mrecist", "sample_subject")
    w = assessment_widget(viewer)
    qtbot.waitUntil(lambda: "lines BL" in [layer.name for layer in viewer.layers], timeout=15000)
    assert sum(1 for layer in viewer.layers if layer.name.startswith("BL ")) == 1
    original = read_case(w.session.path)
    assert w.session.to_case() == original
    layers = w.layers_for("FU2")
    assert layers["image"].scale[0] > 0 and (layers["zone"].data > 0).any()
    assert len(w.layers_for("BL")["lines"].data) >= 1
    out = tmp_path / "again" / original.source.name
    out.parent.mkdir()
    assert w.save(out)
    again = read_case(out)
    assert again.observations == original.observations
    assert assess_case(again).timepoints == assess_case(original).timepoints
    assert assess_case(again).ablations == assess_case(original).ablations


def test_reopening_shows_each_measurement_on_its_phase(make_napari_viewer, sample_studies: Path) -> None:
    """SYN-003's lesion was measured on the portal-venous series (its geometry says so): that
    series is shown, not the arterial default; a lesion measured on another phase switches."""
    w = assessment_widget(make_napari_viewer())
    case = sample_studies / "SYN-003" / "SYN-003.json"
    assert w.open_case(case, use_autosave=False)
    obs = w.session.observation("L1", "BL")
    assert w.series_uid("BL") == obs.geometry.series_uid
    assert w.volume_for("BL").phase == "portal-venous"


def test_clicking_a_lesion_shows_the_phase_it_was_measured_on(make_napari_viewer, qtbot, sample_studies: Path) -> None:
    """SYN-003 at FU2: L1 was measured on the portal-venous series, the new lesion N1 on the
    arterial one.  Reopened, a click on each lesion's row shows (and offers in the series box)
    the phase its measurement was made on, and its line is on the canvas."""
    viewer = make_napari_viewer(show=True)
    access.main_window(viewer).resize(1280, 900)
    w = assessment_widget(viewer)
    assert w.open_case(sample_studies / "SYN-003" / "SYN-003.json", use_autosave=False)
    qtbot.waitUntil(lambda: w.lesion_panel.table.isVisible() and canvas(viewer).width() > 100, timeout=15000)
    settled(qtbot, viewer)
    w.show_timepoint("FU2")
    t = w.lesion_panel.table
    combo = w.subject_panel.series_combo
    for lesion, phase in (("N1", "arterial"), ("L1", "portal-venous"), ("N1", "arterial")):
        rect = t.visualItemRect(t.item(w.lesion_panel.row_of(lesion), 0))
        qtbot.mouseClick(t.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        pump(qtbot)
        obs = w.session.observation(lesion, "FU2")
        assert w.selected_lesion() == lesion
        assert w.series_uid("FU2") == obs.geometry.series_uid and w.volume_for("FU2").phase == phase
        assert combo.currentText().startswith(phase)
        assert len(w.layers_for("FU2")["lines"].data) == 2  # both lines, whichever phase is shown


def test_mrecist_view_opens_a_case_with_the_widget(case_dir: Path, monkeypatch, own_napari_app) -> None:
    import napari

    from mrecist_tool.cli.main import main
    from napari_mrecist import _io
    from napari_mrecist._session import Session
    from napari_mrecist._studies import StudySet

    s = Session.new("CRLM-T09", StudySet.open(case_dir / "dicom").timepoints(), reader="r")
    _io.save_session(s, case_dir / "v.json")
    monkeypatch.setattr(napari, "run", lambda *a, **k: None)  # do not enter the event loop
    assert main(["view", str(case_dir / "nope.json")]) == 2
    try:
        assert main(["view", str(case_dir / "v.json"), "--reader", "dr-x"]) == 0
        w = assessment_widget(napari.current_viewer())
        assert w.session.subject.id == "CRLM-T09" and w.session.reader == "dr-x"
        w.ask_unsaved = False
    finally:
        if napari.current_viewer() is not None:
            napari.current_viewer().close()


def test_case_without_images_still_assesses(make_napari_viewer) -> None:
    """A hand-written case file with no DICOM beside it: no image layers, full results panel."""
    root = Path(__file__).resolve().parents[3] / "sample_data" / "cases"
    files = sorted(root.glob("*.json"))
    if not files:
        pytest.skip("no sample case files")
    w = assessment_widget(make_napari_viewer())
    assert w.open_case(files[0], use_autosave=False)
    assert len(w.viewer.layers) == 0
    assert _categories_on_screen(w) == _categories_from_engine(read_case(files[0]))


def _open_coronal_subject(make_napari_viewer, qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A subject whose series are coronal, opened from its DICOM folder in a shown viewer."""
    from _studies_fixture import write_subject

    # Not tmp_path / "dicom": with the ``widget`` fixture that is a link to the session's shared
    # subject, and coronal studies written through it changed the series every later test read.
    folder = write_subject(tmp_path / "coronal-dicom", coronal=True)
    viewer = make_napari_viewer(show=True)
    access.main_window(viewer).resize(1280, 900)
    w = assessment_widget(viewer)
    assert w.open_dicom(folder)
    qtbot.waitUntil(lambda: w.lesion_panel.table.isVisible() and canvas(viewer).width() > 100, timeout=15000)
    settled(qtbot, viewer)
    return viewer, w
