"""Mouse and keys on a canvas as a PACS handles them (an event filter on the canvas widget).

* wheel: next / previous slice; **Ctrl+wheel**: zoom about the cursor;
* **right- or middle-drag**: window (horizontal: width) and level (vertical: centre);
* **Up / Down**: previous / next slice, **PgUp / PgDn**: ten slices, **Home / End**: first / last;
* **number keys**: window presets (see :mod:`.._layers`), whatever layer is active -- napari's
  own number keys (layer modes) are the dock's buttons' job here;
* every other key of the action table (:mod:`.actions`), e.g. Alt+A, Ctrl+Z.

The filter sees the events before napari and vispy, so a measurement layer being active (a
Shapes or Labels layer, whose napari keys would otherwise win) changes nothing.
"""

from __future__ import annotations

import contextlib
import math
import weakref
from typing import Any, Protocol

from qtpy.QtCore import QEvent, QObject, Qt
from qtpy.QtGui import QKeySequence

from . import access

WHEEL_STEP = 120  # one notch
ZOOM_PER_NOTCH = 1.15
PAGE = 10
DRAG_PIXELS = 200.0  # dragging this far doubles the width / moves the level by one width


class Host(Protocol):
    """What the filter asks of the widget (or of the prior viewer) it serves."""

    def image_layer_of(self, model: Any) -> Any: ...

    def window_changed(self, model: Any) -> None: ...

    def preset_key(self, digit: int) -> bool: ...

    def action_key(self, sequence: str) -> bool: ...


def sequence_of(event: Any) -> str:
    """A key event as a key sequence in portable text (``"Alt+L"``)."""
    mods = int(event.modifiers()) & int(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier
                                        | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier)
    return QKeySequence(mods | int(event.key())).toString(QKeySequence.SequenceFormat.PortableText)


class CanvasInput(QObject):
    """Installs itself on ``widgets`` (the canvas and the ``QtViewer`` that forwards keys)."""

    def __init__(self, model: Any, widgets: list[Any], host: Host, keys: set[str]):
        super().__init__(widgets[0])
        self.model = model
        self.host = host
        self.keys = keys  # action key sequences (portable text) handled on this canvas
        self._drag: tuple[float, float, float, float] | None = None  # x, y, centre, width
        # Weak: the filter must not keep napari's canvas alive after its window closed.
        self._widgets = [weakref.ref(w) for w in widgets]
        for w in widgets:
            w.installEventFilter(self)

    def remove(self) -> None:
        """Stop filtering and let go of the host (the window is closing)."""
        self.host = _NoHost()
        self.model = None
        for ref in self._widgets:
            w = ref()
            if w is not None:
                with contextlib.suppress(RuntimeError):  # widget already deleted
                    w.removeEventFilter(self)

    # -- dispatch --------------------------------------------------------------------------------
    def eventFilter(self, obj: Any, event: Any) -> bool:
        if self.model is None:
            return False
        kind = event.type()
        if kind == QEvent.Type.Wheel:
            return self._wheel(obj, event)
        if kind == QEvent.Type.MouseButtonPress and event.button() in (Qt.MouseButton.RightButton,
                                                                      Qt.MouseButton.MiddleButton):
            return self._start_window(event)
        if kind == QEvent.Type.MouseMove and self._drag is not None:
            return self._move_window(event)
        if kind == QEvent.Type.MouseButtonRelease and self._drag is not None and event.button() in (
                Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton):
            self._drag = None
            return True
        if kind == QEvent.Type.ShortcutOverride and self._claims(event):
            event.accept()  # deliver it to us as a key press, not to a menu mnemonic
            return True
        if kind == QEvent.Type.KeyPress:
            return self._key(event)
        return False

    def _claims(self, event: Any) -> bool:
        key = event.key()
        plain = not (event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier)
        if plain and (Qt.Key.Key_0 <= key <= Qt.Key.Key_9 or key in _NAV_KEYS):
            return True
        return sequence_of(event) in self.keys

    # -- slices ----------------------------------------------------------------------------------
    def step(self, n: int) -> None:
        dims = self.model.dims
        if dims.ndim < 3:
            return
        axis = dims.not_displayed[0] if dims.not_displayed else 0
        top = int(dims.nsteps[axis]) - 1
        dims.set_current_step(axis, max(0, min(top, int(dims.current_step[axis]) + n)))

    def _wheel(self, obj: Any, event: Any) -> bool:
        notches = event.angleDelta().y() / WHEEL_STEP
        if not notches:
            return True
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            pos = event.position() if hasattr(event, "position") else event.posF()
            self.zoom_at(ZOOM_PER_NOTCH ** notches, (pos.x(), pos.y()), obj)
        else:
            # Wheel towards the screen's top goes up the stack, as in a PACS.
            self.step(-int(math.copysign(max(1, round(abs(notches))), notches)))
        return True

    def zoom_at(self, factor: float, pos: tuple[float, float], widget: Any) -> None:
        """Zoom by ``factor`` keeping the point under ``pos`` (canvas pixels) in place."""
        cam = access.camera(self.model)
        zoom = float(cam.zoom)
        centre = list(cam.center)
        w, h = widget.width(), widget.height()
        sx, sy = pos[0] - w / 2, pos[1] - h / 2
        # world point under the cursor, on the two displayed axes (y, x)
        wy, wx = centre[-2] + sy / zoom, centre[-1] + sx / zoom
        new = zoom * factor
        centre[-2], centre[-1] = wy - sy / new, wx - sx / new
        cam.zoom = new
        cam.center = tuple(centre)

    # -- window / level --------------------------------------------------------------------------
    def _start_window(self, event: Any) -> bool:
        layer = self.host.image_layer_of(self.model)
        if layer is None:
            return True
        lo, hi = (float(v) for v in layer.contrast_limits)
        pos = event.position() if hasattr(event, "position") else event.localPos()
        self._drag = (pos.x(), pos.y(), (lo + hi) / 2, max(hi - lo, 1e-3))
        return True

    def _move_window(self, event: Any) -> bool:
        layer = self.host.image_layer_of(self.model)
        assert self._drag is not None
        if layer is None:
            return True
        x0, y0, centre, width = self._drag
        pos = event.position() if hasattr(event, "position") else event.localPos()
        new_width = width * 2 ** ((pos.x() - x0) / DRAG_PIXELS)
        new_centre = centre + (pos.y() - y0) / DRAG_PIXELS * width
        layer.contrast_limits = (new_centre - new_width / 2, new_centre + new_width / 2)
        self.host.window_changed(self.model)
        return True

    # -- keys ------------------------------------------------------------------------------------
    def _key(self, event: Any) -> bool:
        key = event.key()
        plain = not (event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier)
        if plain and key in _NAV_KEYS:
            dims = self.model.dims
            axis = dims.not_displayed[0] if dims.ndim >= 3 and dims.not_displayed else 0
            n = int(dims.nsteps[axis]) if dims.ndim >= 3 else 1
            self.step({Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1, Qt.Key.Key_PageUp: -PAGE,
                       Qt.Key.Key_PageDown: PAGE, Qt.Key.Key_Home: -n, Qt.Key.Key_End: n}[key])
            return True
        if plain and Qt.Key.Key_0 <= key <= Qt.Key.Key_9:
            self.host.preset_key(int(key) - int(Qt.Key.Key_0))
            return True
        seq = sequence_of(event)
        if seq in self.keys:
            self.host.action_key(seq)
            return True
        return False


class _NoHost:
    def image_layer_of(self, model: Any) -> Any:
        return None

    def window_changed(self, model: Any) -> None:
        return None

    def preset_key(self, digit: int) -> bool:
        return False

    def action_key(self, sequence: str) -> bool:
        return False


_NAV_KEYS = (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Home,
             Qt.Key.Key_End)
