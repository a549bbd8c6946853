"""Real mouse and key input for GUI tests: Qt events sent to the widgets a person would use.

Mouse events go to napari's canvas widget (what a click on the image reaches first); positions
are computed from the camera (canvas pixels = (world - centre) × zoom + half the canvas), the
inverse of napari's own mapping.  Between moves the event loop runs, as it does under a hand.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qtpy.QtCore import QEvent, QPoint, QPointF, Qt
from qtpy.QtGui import QMouseEvent, QWheelEvent
from qtpy.QtWidgets import QApplication

from napari_mrecist._qt import access


def canvas(viewer: Any) -> Any:
    return access.canvas_widget(access.qt_viewer(access.unwrap(viewer)))


def canvas_of(qt_viewer: Any) -> Any:
    return access.canvas_widget(qt_viewer)


def world_to_canvas(model: Any, widget: Any, world_yx: tuple[float, float]) -> QPointF:
    cam = access.camera(model)
    cy, cx = cam.center[-2], cam.center[-1]
    return QPointF((world_yx[1] - cx) * cam.zoom + widget.width() / 2,
                   (world_yx[0] - cy) * cam.zoom + widget.height() / 2)


def data_to_canvas(model: Any, widget: Any, layer: Any, index_zyx: tuple[float, float, float]) -> QPointF:
    """Canvas position of a voxel index of ``layer`` (on the slice shown)."""
    world = np.asarray(layer.data_to_world(np.asarray(index_zyx, dtype=float)), dtype=float)
    return world_to_canvas(model, widget, (float(world[-2]), float(world[-1])))


def settled(qtbot: Any, viewer: Any, timeout_ms: int = 15000) -> Any:
    """Wait until the window's layout has settled (the canvas keeps its size for 0.3 s; docks
    are laid out over several event-loop turns after a window is shown or resized), so that
    positions computed from the camera are where a click lands.  Returns the canvas widget.
    (It returns at the timeout without raising; 15 s, as the other first-render waits: on a
    loaded 2-core machine a first napari window can take seconds to lay out, and returning
    early means clicks computed on an unsettled canvas.)"""
    import time

    widget = canvas(viewer)
    deadline = time.monotonic() + timeout_ms / 1000
    last, same = None, 0
    while same < 3 and time.monotonic() < deadline:
        qtbot.wait(100)
        size = (widget.width(), widget.height())
        same = same + 1 if size == last and size[0] > 100 else 0
        last = size
    return widget


def open_case_in_viewer(make_napari_viewer: Any, qtbot: Any, case: Any,
                        size: tuple[int, int] = (1366, 768)) -> tuple[Any, Any]:
    """A shown napari window of ``size`` with the assessment dock and ``case`` opened (its
    autosave ignored), laid out and settled: what a reader has after *Open…*.  Returns
    ``(viewer, widget)``."""
    from napari_mrecist import assessment_widget

    viewer = make_napari_viewer(show=True)
    access.main_window(viewer).resize(*size)
    w = assessment_widget(viewer)
    assert w.open_case(case, use_autosave=False)
    qtbot.waitUntil(lambda: canvas(viewer).width() > 100, timeout=15000)
    settled(qtbot, viewer)
    return viewer, w

def pump(qtbot: Any, ms: int = 15) -> None:
    qtbot.wait(ms)


def _send(widget: Any, kind: Any, pos: QPointF, button: Any, buttons: Any, mods: Any = Qt.KeyboardModifier.NoModifier) -> None:
    ev = QMouseEvent(kind, pos, QPointF(widget.mapToGlobal(pos.toPoint())), button, buttons, mods)
    QApplication.sendEvent(widget, ev)


def drag(qtbot: Any, widget: Any, start: QPointF, end: QPointF, button: Any = Qt.MouseButton.LeftButton,
         steps: int = 6, mods: Any = Qt.KeyboardModifier.NoModifier) -> None:
    """Press at ``start``, move to ``end`` in ``steps``, release: a stroke or a drawn line."""
    _send(widget, QEvent.Type.MouseMove, start, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, mods)
    pump(qtbot)
    _send(widget, QEvent.Type.MouseButtonPress, start, button, button, mods)
    pump(qtbot)
    for t in np.linspace(0, 1, steps + 1)[1:]:
        _send(widget, QEvent.Type.MouseMove, start + (end - start) * float(t), Qt.MouseButton.NoButton, button, mods)
        pump(qtbot)
    _send(widget, QEvent.Type.MouseButtonRelease, end, button, Qt.MouseButton.NoButton, mods)
    pump(qtbot, 30)


def click(qtbot: Any, widget: Any, pos: QPointF, button: Any = Qt.MouseButton.LeftButton) -> None:
    _send(widget, QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)
    pump(qtbot)
    _send(widget, QEvent.Type.MouseButtonPress, pos, button, button)
    pump(qtbot)
    _send(widget, QEvent.Type.MouseButtonRelease, pos, button, Qt.MouseButton.NoButton)
    pump(qtbot, 30)


def wheel(qtbot: Any, widget: Any, pos: QPointF, notches: int, mods: Any = Qt.KeyboardModifier.NoModifier) -> None:
    ev = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, 120 * notches),
                     Qt.MouseButton.NoButton, mods, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)
    pump(qtbot)


def key(qtbot: Any, widget: Any, k: Any, mods: Any = Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(widget, k, mods)
    pump(qtbot)


def centre(widget: Any) -> QPointF:
    return QPointF(widget.width() / 2, widget.height() / 2)


def modal(qtbot: Any, timeout: int = 15000) -> Any:
    """The modal dialog now open (a question the widget asked)."""
    found: list[Any] = []

    def check() -> bool:
        w = QApplication.activeModalWidget()
        if w is not None:
            found.append(w)
        return w is not None

    qtbot.waitUntil(check, timeout=timeout)
    return found[-1]


_armed: list[list[bool]] = []  # the when_dialog polls still waiting: disarmed after each test


def when_dialog(callback: Any, timeout_ms: int = 30000) -> None:
    """Run ``callback(dialog)`` as soon as a modal dialog opens.  Call it *before* the click or
    key that opens the dialog: that call blocks until the dialog is answered.

    The wait is generous (30 s): the dialog often comes after disk work (an autosave flushed
    first), and a dialog opening after the poll gave up blocks the test run for good -- there
    is no per-test timeout.  A poll that found no dialog is stopped when its test ends
    (:func:`disarm_dialogs`, from conftest), so it never answers a later test's dialog."""
    import time

    from qtpy.QtCore import QTimer

    deadline = time.monotonic() + timeout_ms / 1000
    live = [True]
    _armed.append(live)

    def poll() -> None:
        if not live[0]:
            return
        w = QApplication.activeModalWidget()
        if w is not None and w.isVisible():
            live[0] = False
            callback(w)
            return
        if time.monotonic() < deadline:
            QTimer.singleShot(20, poll)
        else:
            live[0] = False

    QTimer.singleShot(20, poll)


def disarm_dialogs() -> None:
    """Stop the :func:`when_dialog` polls still waiting (at the end of a test)."""
    for live in _armed:
        live[0] = False
    _armed.clear()


def press_button(qtbot: Any, dialog: Any, standard: Any) -> None:
    """Click a QMessageBox's standard button (Save, Discard, Cancel, Yes, No)."""
    qtbot.mouseClick(dialog.button(standard), Qt.MouseButton.LeftButton)


def type_and_enter(qtbot: Any, dialog: Any, text: str) -> None:
    """Type into a dialog's text field (replacing what is there) and press Enter."""
    from qtpy.QtWidgets import QLineEdit

    edits = [e for e in dialog.findChildren(QLineEdit) if e.isVisible()]
    edit = edits[0]
    edit.selectAll()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


class Bot:
    """The few qtbot calls the helpers use, for a script outside pytest (a child process)."""

    def wait(self, ms: int) -> None:
        import time

        end = time.monotonic() + ms / 1000
        app = QApplication.instance()
        while True:
            app.processEvents()
            if time.monotonic() >= end:
                return
            time.sleep(0.005)

    def waitUntil(self, check: Any, timeout: int = 5000) -> None:
        import time

        end = time.monotonic() + timeout / 1000
        while not check():
            if time.monotonic() > end:
                raise TimeoutError("condition not met")
            self.wait(20)

    def mouseClick(self, widget: Any, button: Any, *args: Any, **kwargs: Any) -> None:
        from qtpy.QtTest import QTest

        QTest.mouseClick(widget, button, *args, **kwargs)
        self.wait(15)

    def keyClick(self, widget: Any, k: Any, mods: Any = Qt.KeyboardModifier.NoModifier) -> None:
        from qtpy.QtTest import QTest

        QTest.keyClick(widget, k, mods)
        self.wait(15)

    def keyClicks(self, widget: Any, text: str) -> None:
        from qtpy.QtTest import QTest

        QTest.keyClicks(widget, text)
        self.wait(15)


def choose_folder(dialog: Any, folder: Any) -> None:
    """Answer a folder dialog with ``folder`` (Qt's own file dialog under Xvfb)."""
    dialog.setDirectory(str(folder))
    dialog.accept()
