"""An earlier timepoint beside the current one, in a second canvas of the same size, linked both
ways: slice position (world mm along the slice axis, i.e. patient coordinates), zoom, pan and
window.  Either canvas leads; the other follows.  The window is copied as numbers only between
two CT series (Hounsfield units mean the same on both); an MR beside a CT, or two MR series
(whose signal has no absolute scale), share the preset by name, each from its own data -- an
MR window of 2-725 copied onto a CT in HU would show it washed out.

napari has one canvas per viewer, so the prior is a second ``ViewerModel`` with its own
``QtViewer`` in a dock placed between the main canvas and the assessment dock (napari's
*multiple viewers* pattern).  Grid mode was not used: it puts every layer -- lines and masks
included -- in a cell of its own.  The prior's lines, callipers and masks are shown read-only.

On a 1366-pixel screen two canvases, napari's layer docks and the assessment dock do not fit
side by side (the canvases shrank to a quarter of the screen), so napari's layer list and layer
controls are hidden while comparing and shown again when the comparison closes.  The widths are
equalised again whenever the main canvas is resized (window resized, a dock dragged).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QEvent, QObject, Qt, QTimer
from qtpy.QtWidgets import QWidget

from .._layers import image_layer_data, window_presets
from . import access
from .actions import key_table
from .canvas_input import CanvasInput
from .timepoint_layers import TimepointLayers

if TYPE_CHECKING:
    from .widget import AssessmentWidget

DOCK_NAME = "Prior (linked)"


class _ResizeWatch(QObject):
    """Calls ``callback`` (once, after the event loop settles) when the watched widget resizes."""

    def __init__(self, callback: Any):
        super().__init__()
        self._callback = callback
        self._pending = False

    def eventFilter(self, obj: Any, event: Any) -> bool:
        if event.type() == QEvent.Type.Resize and not self._pending:
            self._pending = True
            QTimer.singleShot(0, self._fire)
        return False

    def _fire(self) -> None:
        self._pending = False
        self._callback()


class CompareView:
    """The prior timepoint ``tp`` in a second, linked canvas."""

    def __init__(self, owner: AssessmentWidget, tp: str):
        from napari.components import ViewerModel

        self.owner = owner
        self.tp: str | None = None
        self.model = ViewerModel(title="prior")
        self.qt_viewer = access.new_qt_viewer(self.model)
        self.layers: TimepointLayers | None = None
        self._presets: dict[str, tuple[float, float]] = {}
        self._modality = ""
        self._linking = False
        window = access.main_window(owner.viewer)
        self._hidden_docks = [d for d in access.side_docks(owner.viewer) if d.isVisible()]
        for d in self._hidden_docks:
            d.hide()
        own = owner.dock_widget()
        # The assessment dock's width, given back when the comparison closes (else it keeps the
        # prior's share too and the main canvas is left a third of its width).
        self._own_width = own.width() if own is not None else None
        self.dock = owner.viewer.window.add_dock_widget(self.qt_viewer, name=DOCK_NAME, area="right")
        if own is not None:
            # [main canvas | prior | assessment]: the two canvases side by side.
            window.splitDockWidget(self.dock, own, Qt.Orientation.Horizontal)
        # No title bar: the canvases keep the same height (the prior's name is on its canvas).
        self.dock.setTitleBarWidget(QWidget())
        self.input = CanvasInput(self.model, [access.canvas_widget(self.qt_viewer), self.qt_viewer], self,
                                 set(key_table()))
        main = owner.viewer
        self._links = [
            (main.dims.events.point, self._from_main_point),
            (access.camera(main).events.zoom, self._from_main_camera),
            (access.camera(main).events.center, self._from_main_camera),
            (self.model.dims.events.point, self._to_main_point),
            (access.camera(self.model).events.zoom, self._to_main_camera),
            (access.camera(self.model).events.center, self._to_main_camera),
        ]
        for event, callback in self._links:
            event.connect(callback)
        self.show(tp)
        self._main_canvas = access.canvas_widget(access.qt_viewer(main))
        self._resize_watch = _ResizeWatch(self.equalize)
        for widget in (self._main_canvas, access.canvas_widget(self.qt_viewer)):
            widget.installEventFilter(self._resize_watch)
        QTimer.singleShot(0, self.equalize)

    # -- content ---------------------------------------------------------------------------------
    def show(self, tp: str) -> None:
        """Show timepoint ``tp`` (its series, lines and masks) and align it with the main canvas."""
        o = self.owner
        if o.session is None or (tp == self.tp and self.layers is not None):
            return
        if self.layers is not None:
            self.layers.remove()
            self.layers = None
        self.model.layers.clear()
        self.tp = tp
        vol = o.volume_for(tp)
        if vol is None:
            return
        self._presets = window_presets(vol)
        self._modality = vol.modality.upper()
        data, kwargs, _ = image_layer_data(vol, f"{tp} {vol.phase}", o.window_preset)
        image = self.model.add_image(data, **kwargs)
        overlay = access.text_overlay(self.model)
        overlay.text = f"Prior: {tp}  {o.session.timepoints[tp].date.isoformat()}"
        overlay.position = "top_left"
        overlay.font_size = 10
        overlay.visible = True
        self.layers = TimepointLayers(self.model, tp, vol, image, editable=False, qt_viewer=self.qt_viewer)
        self.refresh()
        self.model.layers.selection.active = image
        self._from_main_point()
        self._from_main_camera()
        self.follow_window()

    def refresh(self) -> None:
        """Redraw the prior's lines and masks from the session (they may be edited there)."""
        o = self.owner
        if self.layers is None or o.session is None or self.tp is None:
            return
        painted = {k for (_, t, k) in o.session.masks if t == self.tp}
        for kind in sorted(painted):
            self.layers.mask_layer(kind, o.session)
        self.layers.render_masks(o.session)
        self.layers.render_lines(o.session, None, float(access.camera(self.model).zoom))

    def equalize(self) -> None:
        """Give the two canvases the same width (nothing to do when they already have it)."""
        with contextlib.suppress(RuntimeError):
            main_width = self._main_canvas.width()
            if abs(main_width - access.canvas_widget(self.qt_viewer).width()) <= 4:
                return
            total = main_width + self.dock.width()
            access.main_window(self.owner.viewer).resizeDocks([self.dock], [total // 2], Qt.Orientation.Horizontal)

    # -- links -----------------------------------------------------------------------------------
    def _guard(self, fn: Any) -> None:
        if self._linking:
            return
        self._linking = True
        try:
            fn()
        finally:
            self._linking = False

    def _from_main_point(self, *_: Any) -> None:
        main = self.owner.viewer
        if self.model.dims.ndim == main.dims.ndim == 3:
            self._guard(lambda: self.model.dims.set_point(0, main.dims.point[0]))

    def _to_main_point(self, *_: Any) -> None:
        main = self.owner.viewer
        if self.model.dims.ndim == main.dims.ndim == 3:
            self._guard(lambda: main.dims.set_point(0, self.model.dims.point[0]))

    def _copy_camera(self, source: Any, target: Any) -> None:
        a, b = access.camera(source), access.camera(target)
        b.zoom = a.zoom
        centre = list(b.center)
        centre[-2:] = list(a.center)[-2:]
        b.center = tuple(centre)
        if self.layers is not None and self.owner.session is not None:
            self.layers.render_callipers(self.owner.session, float(access.camera(self.model).zoom))

    def _from_main_camera(self, *_: Any) -> None:
        self._guard(lambda: self._copy_camera(self.owner.viewer, self.model))

    def _to_main_camera(self, *_: Any) -> None:
        self._guard(lambda: self._copy_camera(self.model, self.owner.viewer))

    def same_units(self) -> bool:
        """Whether a window can be copied as numbers: both series CT (see the module docstring)."""
        o = self.owner
        main = o.volume_for(o.current_tp) if o.current_tp is not None else None
        return main is not None and main.modality.upper() == "CT" and self._modality == "CT"

    def follow_window(self) -> None:
        """The main image's window, applied to the prior (by preset name across MR / CT)."""
        main = self.owner.current_image_layer()
        if main is None or self.layers is None:
            return
        image = self.layers.image
        if self.same_units():
            self._guard(lambda: setattr(image, "contrast_limits", tuple(main.contrast_limits)))
        elif self.owner.window_preset in self._presets:
            limits = self._presets[self.owner.window_preset]
            self._guard(lambda: setattr(image, "contrast_limits", limits))

    # -- canvas host (PACS mouse and keys on the prior's canvas) ---------------------------------
    def image_layer_of(self, model: Any) -> Any:
        return self.layers.image if self.layers is not None else None

    def window_changed(self, model: Any) -> None:
        main = self.owner.current_image_layer()
        if main is not None and self.layers is not None and self.same_units():
            limits = tuple(self.layers.image.contrast_limits)
            self._guard(lambda: setattr(main, "contrast_limits", limits))
            self.owner.window_changed(self.owner.viewer)

    def preset_key(self, digit: int) -> bool:
        return self.owner.preset_key(digit)

    def action_key(self, sequence: str) -> bool:
        return self.owner.action_key(sequence)

    # -- closing ---------------------------------------------------------------------------------
    def close(self) -> None:
        for event, callback in self._links:
            with contextlib.suppress(Exception):
                event.disconnect(callback)
        self.input.remove()
        for widget in (self._main_canvas, access.canvas_widget(self.qt_viewer)):
            with contextlib.suppress(RuntimeError):
                widget.removeEventFilter(self._resize_watch)
        with contextlib.suppress(Exception):
            self.owner.viewer.window.remove_dock_widget(self.dock)
        for d in self._hidden_docks:
            with contextlib.suppress(RuntimeError):
                d.show()
        own = self.owner.dock_widget()
        if own is not None and self._own_width:
            window = access.main_window(self.owner.viewer)
            width = self._own_width
            with contextlib.suppress(RuntimeError):
                window.resizeDocks([own], [width], Qt.Orientation.Horizontal)
        with contextlib.suppress(Exception):
            self.qt_viewer.close()
        self.model.layers.clear()
