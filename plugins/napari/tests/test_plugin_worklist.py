"""A worklist: a folder of subjects, everyone's reading status, next / previous, mark done, and
resuming where the reader left off."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from _gui import pump
from _studies_fixture import write_subject
from qtpy.QtCore import Qt

from napari_mrecist import _config, assessment_widget
from napari_mrecist._worklist import DONE, IN_PROGRESS, NOT_STARTED

pytestmark = pytest.mark.gui


def _statuses(w) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    t = w.worklist_panel.table
    return [tuple(t.item(r, c).text() for c in range(3)) for r in range(t.rowCount())]


def test_worklist_status_next_previous_done_and_resume(make_napari_viewer, qtbot, tmp_path: Path) -> None:
    export = tmp_path / "export"
    for name in ("CRLM-001", "CRLM-002", "CRLM-003"):
        write_subject(export / name, n_slices=4)
    w = assessment_widget(make_napari_viewer(show=True))
    assert w.open_worklist(export)
    qtbot.waitUntil(w.worklist_panel.isVisible, timeout=15000)
    assert [s[0] for s in _statuses(w)] == ["CRLM-001", "CRLM-002", "CRLM-003"]
    assert w.worklist_index == 0 and all(s[1] == NOT_STARTED for s in _statuses(w))

    qtbot.mouseClick(w.lesion_panel.add_btn, Qt.MouseButton.LeftButton)
    w.show_timepoint("FU1")
    qtbot.mouseClick(w.measure_panel.buttons["mark_present"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(w.save_btn, Qt.MouseButton.LeftButton)  # saved where the worklist keeps readings
    reading = export / "readings" / "test-reader" / "CRLM-001.json"
    assert reading.exists()
    assert _statuses(w)[0] == ("CRLM-001", IN_PROGRESS, f"{IN_PROGRESS} (test-reader)")

    qtbot.mouseClick(w.worklist_panel.next_btn, Qt.MouseButton.LeftButton)
    pump(qtbot)
    assert w.worklist_index == 1 and w.session.path == export / "readings" / "test-reader" / "CRLM-002.json"
    qtbot.mouseClick(w.worklist_panel.previous_btn, Qt.MouseButton.LeftButton)
    pump(qtbot)
    assert w.worklist_index == 0 and w.current_tp == "FU1"  # resumed where it was left
    assert w.session.observation("T1", "FU1").status == "present"
    qtbot.mouseClick(w.worklist_panel.done_btn, Qt.MouseButton.LeftButton)
    assert _statuses(w)[0] == ("CRLM-001", DONE, f"{DONE} (test-reader)")

    # Another reader at the same export: sees who did what, starts at their own first subject.
    _config.remember_reader("dr-b")
    w2 = assessment_widget(make_napari_viewer())
    assert w2.open_worklist(export)
    assert w2.worklist_index == 0  # not started by dr-b
    assert _statuses(w2)[0] == ("CRLM-001", NOT_STARTED, f"{DONE} (test-reader)")
    # The first reader comes back: resumes at the first subject not done.
    _config.remember_reader("test-reader")
    w3 = assessment_widget(make_napari_viewer())
    assert w3.open_worklist(export)
    assert w3.worklist_index == 1


def test_after_a_crash_the_worklist_resumes_at_the_subject_timepoint_and_lesion(make_napari_viewer, qtbot,
                                                                              tmp_path: Path) -> None:
    """The reader moves on to the second subject, reads at FU2 and napari dies before any save:
    opening the export again lands on that subject (in progress beats not started), at FU2,
    with the lesion selected, the work restored from its autosave."""
    from _gui import canvas, key

    export = tmp_path / "export"
    for name in ("CRLM-001", "CRLM-002", "CRLM-003"):
        write_subject(export / name, n_slices=4)
    viewer = make_napari_viewer(show=True)
    w = assessment_widget(viewer)
    assert w.open_worklist(export)
    qtbot.waitUntil(lambda: w.worklist_panel.isVisible() and canvas(viewer).width() > 100, timeout=15000)
    qtbot.mouseClick(w.worklist_panel.next_btn, Qt.MouseButton.LeftButton)
    pump(qtbot)
    assert w.worklist_index == 1
    qtbot.mouseClick(w.lesion_panel.add_btn, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(w.lesion_panel.add_btn, Qt.MouseButton.LeftButton)  # T1, T2
    w.select_lesion("T1")
    c = canvas(viewer)
    key(qtbot, c, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    key(qtbot, c, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert w.current_tp == "FU2"
    key(qtbot, c, Qt.Key.Key_R, Qt.KeyboardModifier.AltModifier)  # present
    autosave = export / "readings" / "test-reader" / "CRLM-002.autosave.json"
    # The debounced autosave of the *last* edit; then napari "dies".  Waiting for the file alone
    # raced on a slow machine: an autosave of the two new lesions could already exist before the
    # status was autosaved (CI, stop 17).
    qtbot.waitUntil(lambda: autosave.exists() and w.files.autosaved_revision == w.session.revision,
                    timeout=5000)
    assert not (export / "readings" / "test-reader" / "CRLM-002.json").exists()

    w2 = assessment_widget(make_napari_viewer())
    assert w2.open_worklist(export)
    assert w2.worklist_index == 1
    assert _statuses(w2)[1][:2] == ("CRLM-002", IN_PROGRESS)
    assert w2.current_tp == "FU2" and w2.selected_lesion() == "T1"
    assert w2.session.observation("T1", "FU2").status == "present"


def _click_lesion(qtbot, w, lesion: str) -> None:  # type: ignore[no-untyped-def]
    t = w.lesion_panel.table
    rect = t.visualItemRect(t.item(w.lesion_panel.row_of(lesion), 0))
    qtbot.mouseClick(t.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    pump(qtbot)


def test_the_worklist_resumes_where_the_reader_looked_last_not_where_they_edited_last(
        qtbot, tmp_path: Path, own_napari_app) -> None:
    """The position was kept only with an edit: a reader who edited at baseline, then went to
    FU2 and selected a lesion to look at it, came back to baseline.  Now moving around is kept
    too (in the user config, written when leaving: next / previous, closing napari), without
    touching the saved reading."""
    import napari
    from _gui import canvas, key

    from napari_mrecist._qt import access

    export = tmp_path / "export"
    for name in ("CRLM-001", "CRLM-002"):
        write_subject(export / name, n_slices=4)
    viewer = napari.Viewer(show=True)  # closed by the test itself, through its window
    w = assessment_widget(viewer)
    assert w.open_worklist(export)
    qtbot.waitUntil(lambda: w.worklist_panel.isVisible() and canvas(viewer).width() > 100, timeout=15000)
    c = canvas(viewer)
    qtbot.mouseClick(w.lesion_panel.add_btn, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(w.lesion_panel.add_btn, Qt.MouseButton.LeftButton)  # T1, T2 at BL
    qtbot.mouseClick(w.save_btn, Qt.MouseButton.LeftButton)
    reading = export / "readings" / "test-reader" / "CRLM-001.json"
    saved = reading.read_bytes()

    # Look, without editing: FU2, lesion T1; then the next subject and back.
    key(qtbot, c, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    key(qtbot, c, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    _click_lesion(qtbot, w, "T1")
    assert (w.current_tp, w.selected_lesion()) == ("FU2", "T1")
    assert not w.files.has_unsaved_changes
    qtbot.mouseClick(w.worklist_panel.next_btn, Qt.MouseButton.LeftButton)
    pump(qtbot)
    assert w.worklist_index == 1
    qtbot.mouseClick(w.worklist_panel.previous_btn, Qt.MouseButton.LeftButton)
    pump(qtbot)
    assert w.worklist_index == 0
    assert (w.current_tp, w.selected_lesion()) == ("FU2", "T1")

    # Look again (FU1, T2) and close napari; a new napari opening the worklist resumes there.
    key(qtbot, c, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    _click_lesion(qtbot, w, "T2")
    assert (w.current_tp, w.selected_lesion()) == ("FU1", "T2")
    window = access.main_window(viewer)
    window.close()
    pump(qtbot, 50)
    with contextlib.suppress(RuntimeError):  # napari's own clean-up of what the user closed
        viewer.close()
    assert reading.read_bytes() == saved  # looking is no edit: the reading is untouched
    assert not (export / "readings" / "test-reader" / "CRLM-001.autosave.json").exists()

    viewer2 = napari.Viewer(show=True)
    w2 = assessment_widget(viewer2)
    assert w2.open_worklist(export)
    assert w2.worklist_index == 0
    assert (w2.current_tp, w2.selected_lesion()) == ("FU1", "T2")
    with contextlib.suppress(RuntimeError):
        viewer2.close()
    # These windows were made here, outside napari's fixture: reset its count of open canvases
    # as it does itself after a test.
    from napari._qt.qt_viewer import QtViewer

    QtViewer._instances.clear()
