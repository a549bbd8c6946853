"""The assessment dock widget: wiring between napari, the panels and the Qt-free session.

Every edit goes through :class:`~napari_mrecist._session.Session` (which stamps the reader at the
keyboard and the time, can undo it, and calls the engine); layers and panels are redrawn from the
session, so what is shown, measured and saved is one thing.  The work is split by concern:

* :class:`~.files.Files` -- the reader, opening, images, saving, autosave, the worklist;
* :class:`~.layer_set.LayerSet` -- each timepoint's layers, series and window;
* :class:`~.editing.Editing` -- lines, painting, one-click growth and every other edit;
* :mod:`.panels` -- the dock's sections; :class:`~.compare.CompareView` -- the linked prior;
  :class:`~.canvas_input.CanvasInput` -- PACS mouse and keys; :data:`~.actions.ACTIONS` --
  what every button and key does.

This class builds the dock, keeps the current timepoint and lesion, routes session changes to
the layers and panels, and offers the scripting API (``open_dicom``, ``add_lesion``, ``mark``,
``save`` ...) that ``mrecist view``, the tests and the screenshots use.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QEvent, QObject, QSize, Qt, QTimer
from qtpy.QtWidgets import (
    QAbstractSpinBox,
    QDockWidget,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from .. import _results, _segment, _worklist
from .._layers import DEFAULT_WINDOW, image_layer_data
from .._session import Session, SessionError
from .._studies import StudySet
from . import access
from .actions import ACTIONS, BY_NAME, help_text, key_table
from .canvas_input import CanvasInput, sequence_of
from .compare import CompareView
from .editing import Editing
from .files import Files
from .flow import FlowLayout
from .layer_set import LayerSet
from .panels import DEFAULT_PANELS, LesionPanel, MeasurePanel, Panel, ProcedurePanel, ResultsPanel, SubjectPanel
from .panels.worklist import WorklistPanel
from .timepoint_layers import TimepointLayers

if TYPE_CHECKING:
    import napari

    from mrecist_tool.dicom import Volume

RELAYOUT_DELAY_MS = 40  # calliper labels follow the zoom
DOCK_WIDTH = 360  # preferred dock width (px): with napari's layer docks, a 1366-px screen keeps its canvas


class DockKeys(QObject):
    """The dock's key filter: Alt/Ctrl action keys run their action.  Text fields keep their
    own Ctrl+Z (undo typing)."""

    def __init__(self, owner: AssessmentWidget):
        super().__init__(owner)
        self.owner = owner

    def eventFilter(self, obj: Any, event: Any) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            return False
        if not event.modifiers() & (Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.ControlModifier):
            return False
        seq = sequence_of(event)
        if seq not in self.owner.key_map or (
                isinstance(obj, (QLineEdit, QAbstractSpinBox)) and seq.startswith("Ctrl+")):
            return False
        event.accept()
        if kind == QEvent.Type.KeyPress:
            self.owner.action_key(seq)
        return True


class AssessmentWidget(QWidget):
    """mRECIST / RECIST 1.1 reading: timepoints, lesions, measurements, ablations, results."""

    def __init__(self, napari_viewer: napari.Viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = access.unwrap(napari_viewer)
        self.session: Session | None = None
        self.studies: StudySet | None = None
        self.current_tp: str | None = None
        self.window_preset = DEFAULT_WINDOW
        # Ask before unsaved work is left (opening another case, closing napari).  Work is always
        # flushed to the autosave first; a script driving the widget may turn the question off.
        self.ask_unsaved = True
        self.last_refresh_s = 0.0
        self._compare: CompareView | None = None
        self._deferred_show: str | None = None
        self._watched_window: Any = None
        self._keys = key_table()
        self.key_map = self._keys
        self.layer_set: LayerSet = LayerSet(self)
        self.editing: Editing = Editing(self)
        self.files: Files = Files(self)
        self._relayout_timer = self.timer(RELAYOUT_DELAY_MS, self.layer_set.relayout_callipers)

        self.panels: list[Panel] = []
        self._dock_keys = DockKeys(self)
        self._build_ui()
        self._watch_keys(self)
        qtv = access.qt_viewer(self.viewer)
        self.canvas_input = CanvasInput(self.viewer, [access.canvas_widget(qtv), qtv], self, set(self._keys))
        self.viewer.layers.events.inserted.connect(self._on_layer_inserted)
        self.viewer.mouse_drag_callbacks.append(self.editing.on_canvas_press)
        access.camera(self.viewer).events.zoom.connect(self._on_zoom)
        self._set_enabled(False)

    def _on_zoom(self, *_: Any) -> None:
        self._relayout_timer.start()

    def timer(self, ms: int, slot: Any) -> QTimer:
        """A single-shot timer owned by the widget (debounces)."""
        t = QTimer(self)
        t.setSingleShot(True)
        t.setInterval(ms)
        t.timeout.connect(slot)
        return t

    # ================================================================ the dock
    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        bar = FlowLayout()  # wraps rather than widening the dock
        self.open_btn = self._button(bar, "Open…", self.files.open_dialog, "Open a case file, or a subject's DICOM folder")
        self.worklist_btn = self._button(bar, "Worklist…", self.files.open_worklist_dialog,
                                         "Open a folder of many subjects (a trial export)")
        self.save_btn = self._button(bar, "Save", lambda: self.run_action("save"), help_text(BY_NAME["save"]))
        self.save_as_btn = self._button(bar, "Save as…", self.files.save_to_chosen_file, "Save the case file elsewhere")
        self.undo_btn = self._button(bar, "Undo", lambda: self.run_action("undo"), help_text(BY_NAME["undo"]))
        self.redo_btn = self._button(bar, "Redo", lambda: self.run_action("redo"), help_text(BY_NAME["redo"]))
        outer.addLayout(bar)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidgetResizable(True)
        self.body = QWidget()  # the whole panel, also below the scroll fold (screenshots)
        self._body_layout = QVBoxLayout(self.body)
        self.scroll_area.setWidget(self.body)
        outer.addWidget(self.scroll_area)
        for cls in DEFAULT_PANELS:
            self.add_panel(cls(self))
        keys = ", ".join(f"{' / '.join(a.keys)} {a.help}" for a in ACTIONS if a.keys)
        self.keys_label = QLabel(
            "<small>On the image: wheel or Up/Down scroll, PgUp/PgDn ten slices, Ctrl+wheel zooms, "
            "right- or middle-drag sets width/level, 1-4 and 0 window presets. "
            f"Keys: {keys}</small>")
        self.keys_label.setWordWrap(True)
        self._body_layout.addWidget(self.keys_label)
        self._body_layout.addStretch(1)

    def sizeHint(self) -> QSize:
        """At most ``DOCK_WIDTH`` wide: napari gives a dock its widget's preferred width, and a
        wide dock leaves a 1366-pixel screen little canvas (the reader can still widen it)."""
        hint = super().sizeHint()
        return QSize(min(hint.width(), DOCK_WIDTH), hint.height())

    def minimumSizeHint(self) -> QSize:
        """Wide enough for the panels with their vertical scroll bar: no sideways scrolling,
        no clipped button."""
        hint = super().minimumSizeHint()
        bar = self.scroll_area.verticalScrollBar()
        outer = self.layout()
        m = outer.contentsMargins() if outer is not None else None
        width = (self.body.minimumSizeHint().width() + 2 * self.scroll_area.frameWidth()
                 + (bar.sizeHint().width() if bar is not None else 0) + (m.left() + m.right() if m else 0))
        return QSize(max(hint.width(), width), hint.height())

    def _button(self, bar: Any, text: str, slot: Any, tip: str) -> QPushButton:
        b = QPushButton(text)
        b.setToolTip(tip)
        b.clicked.connect(lambda *_: slot())
        bar.addWidget(b)
        return b

    def add_panel(self, panel: Panel, before: type[Panel] | None = None) -> Panel:
        """Add a section to the dock: below the others, or above the first of type ``before``."""
        index = len(self.panels)
        if before is not None:
            index = next((i for i, p in enumerate(self.panels) if isinstance(p, before)), index)
        self.panels.insert(index, panel)
        self._body_layout.insertWidget(index, panel)
        if hasattr(self, "_dock_keys"):
            self._watch_keys(panel)
        if self.session is not None:
            panel.on_case()
            panel.on_timepoint()
        else:
            for w in panel.needs_case():
                w.setEnabled(False)
        return panel

    def panel(self, cls: type[Panel]) -> Any:
        """The first panel of type ``cls``."""
        return next(p for p in self.panels if isinstance(p, cls))

    subject_panel = property(lambda self: self.panel(SubjectPanel))
    lesion_panel = property(lambda self: self.panel(LesionPanel))
    measure_panel = property(lambda self: self.panel(MeasurePanel))
    results_panel = property(lambda self: self.panel(ResultsPanel))
    procedure_panel = property(lambda self: self.panel(ProcedurePanel))
    worklist_panel = property(lambda self: self.panel(WorklistPanel))

    def _set_enabled(self, on: bool) -> None:
        for w in (self.save_btn, self.save_as_btn, self.undo_btn, self.redo_btn):
            w.setEnabled(on)
        for p in self.panels:
            for w in p.needs_case():
                w.setEnabled(on)

    def _each_panel(self, hook: str) -> None:
        for p in self.panels:
            getattr(p, hook)()

    def dock_widget(self) -> QDockWidget | None:
        w = self.parent()
        while w is not None and not isinstance(w, QDockWidget):
            w = w.parent()
        return w

    # ================================================================ a case in, a case out
    def install(self, session: Session, studies: StudySet | None, show: bool = True) -> None:
        """Make ``session`` the open case (its images in ``studies``)."""
        self.set_compare(False)
        if self.session is not None:
            self.session.unsubscribe(self._on_session_changed)
        self.layer_set.clear()
        self.editing.reset()
        self.session, self.studies, self.current_tp = session, studies, None
        self.files.installed(session)
        session.set_reader(self.reader_id)
        session.subscribe(self._on_session_changed)
        self._set_enabled(True)
        self._each_panel("on_case")
        if show:
            tp, lesion = self.files.resume_position(session)
            self.show_timepoint(tp if tp in session.timepoints else session.baseline_id)
            if lesion in session.lesions:
                self.select_lesion(lesion)

    def use_studies(self, studies: StudySet) -> None:
        """Show the open case on other images (its images were relinked)."""
        tp = self.current_tp
        self.set_compare(False)
        self.layer_set.clear()
        self.studies, self.current_tp = studies, None
        self.subject_panel.show_images_status()
        if self.session is not None:
            self.show_timepoint(tp or self.session.baseline_id)

    def close_case(self) -> None:
        """Flush pending work to the autosave, then remove the case's layers and forget it."""
        self.files.autosave_now()
        self.set_compare(False)
        self.layer_set.clear()
        if self.session is not None:
            self.session.unsubscribe(self._on_session_changed)
        self.session, self.studies, self.current_tp = None, None, None
        self._set_enabled(False)
        self._each_panel("on_case")

    def image_layer_tuple(self, tp: str) -> tuple[Any, dict[str, Any], str] | None:
        """The layer-data tuple of a timepoint's image, marked so the widget adopts it."""
        vol = self.volume_for(tp)
        if vol is None or self.session is None:
            return None
        return image_layer_data(vol, f"{tp} {vol.phase}", self.window_preset, timepoint=tp,
                                case=str(self.session.path))

    def _on_layer_inserted(self, event: Any) -> None:
        layer = event.value
        meta = getattr(layer, "metadata", {}).get("mrecist", {}) if hasattr(layer, "metadata") else {}
        tp = meta.get("timepoint")
        s = self.session
        if s is None or tp not in s.timepoints or tp in self.layer_set.layers or meta.get("case") != str(s.path):
            return
        self.layer_set.adopt[tp] = layer
        # Add the annotation layers after napari has finished inserting this one.
        self._deferred_show = tp
        QTimer.singleShot(0, self._show_deferred)

    def _show_deferred(self) -> None:
        tp, self._deferred_show = self._deferred_show, None
        if tp is not None:
            self.show_timepoint(tp)

    # ================================================================ timepoints
    def timepoint_ids(self) -> list[str]:
        return [] if self.session is None else [t.id for t in self.session.sorted_timepoints()]

    def show_timepoint(self, tp: str) -> None:
        """Make ``tp`` the current timepoint: its layers visible, the others hidden."""
        if self.session is None or tp not in self.session.timepoints:
            return
        self.editing.stop_tool()
        self.current_tp = tp
        layers = self.layer_set.ensure(tp)
        self.layer_set.show_only(tp)
        if layers is not None:
            self.viewer.layers.selection.active = layers.lines
            layers.set_drawing_lesion(self.session, self.selected_lesion())
            self.layer_set.relayout_callipers()
        self._each_panel("on_timepoint")
        self._follow_compare()

    def step_timepoint(self, delta: int) -> None:
        ids = self.timepoint_ids()
        if ids:
            i = ids.index(self.current_tp) if self.current_tp in ids else -delta
            self.show_timepoint(ids[max(0, min(len(ids) - 1, i + delta))])

    def set_series(self, tp: str, uid: str) -> None:
        """Show (and measure on) another series of a timepoint."""
        if self.session is not None and self.layer_set.choose_series(tp, uid):
            self.show_timepoint(tp)

    def series_uid(self, tp: str) -> str | None:
        return self.layer_set.series_choice.get(tp)

    def volume_for(self, tp: str) -> Volume | None:
        """The volume shown for a timepoint (loaded on first use), or None without images."""
        return self.layer_set.volume_for(tp)

    def layers_for(self, tp: str) -> dict[str, Any]:
        """A timepoint's layers: ``image``, ``lines``, ``callipers`` and the masks made so far."""
        layers = self.layer_set.ensure(tp)
        return layers.as_dict() if layers is not None else {}

    def mask_layer(self, tp: str, kind: str) -> Any:
        """The Labels layer of a timepoint's ``viable`` or ``zone`` masks (made on first use);
        label value = the lesion's row in the table (1-based)."""
        return self.layer_set.mask_layer(tp, kind)

    def current_layers(self) -> TimepointLayers | None:
        return self.layer_set.current()

    def current_image_layer(self) -> Any:
        return self.layer_set.current_image()

    # ================================================================ window / level
    def window_preset_names(self) -> list[str]:
        return self.layer_set.preset_names()

    def set_window_preset(self, name: str) -> None:
        self.window_preset = name
        self.layer_set.apply_preset(name)

    def preset_key(self, digit: int) -> bool:
        """Number keys: 1-4 the presets in order, 0 the data's own range."""
        names = self.window_preset_names()
        index = len(names) - 1 if digit == 0 else digit - 1
        if not 0 <= index < len(names):
            return False
        self.set_window_preset(names[index])
        self.subject_panel.window_combo.setCurrentText(names[index])
        return True

    def set_window_range(self, low: float, high: float) -> None:
        layer = self.current_image_layer()
        if layer is not None and high > low:
            layer.contrast_limits = (low, high)

    def on_contrast(self, tp: str) -> None:
        if tp == self.current_tp:
            self.window_changed(self.viewer)

    # -- the canvas filter's host ----------------------------------------------------------------
    def image_layer_of(self, model: Any) -> Any:
        return self.current_image_layer()

    def window_changed(self, model: Any) -> None:
        self.subject_panel.sync_window()
        if self._compare is not None:
            self._compare.follow_window()

    def action_key(self, sequence: str) -> bool:
        action = self._keys.get(sequence)
        if action is None:
            return False
        self.run_action(action.name)
        return True

    def _watch_keys(self, root: QWidget) -> None:
        """The action keys work wherever the focus is in the dock (before a table or button
        takes Alt+Up, and before a menu mnemonic takes Alt+L)."""
        for w in [root, *root.findChildren(QWidget)]:
            w.installEventFilter(self._dock_keys)

    # ================================================================ session changes
    def _on_session_changed(self, session: Session) -> None:
        t0 = time.perf_counter()
        self.layer_set.render_changed_masks()
        self.editing.lines_timer.start()
        self._each_panel("refresh")
        self.files.schedule_autosave()
        self.last_refresh_s = time.perf_counter() - t0

    def render_changed(self) -> None:
        """Redraw lines (and the prior's annotations) that changed in the session."""
        self.layer_set.render_changed_lines()
        if self._compare is not None:
            self._compare.refresh()

    def refresh(self) -> None:
        """Redraw every panel from the session."""
        self._each_panel("refresh")

    def result_categories(self) -> dict[str, dict[str, str]]:
        """What the results panel shows, as text: timepoint → column → value."""
        return self.results_panel.categories()

    def criteria_note(self) -> str:
        s = self.session
        if s is None:
            return ""
        crit = s.criteria or s.settings().criteria
        return _results.criteria_note(list(s.observations.values()), s.lesions, crit, s.measure_field)

    # ================================================================ lesion selection
    def selected_lesions(self) -> list[str]:
        return self.lesion_panel.selected_lesions()

    def selected_lesion(self) -> str | None:
        ids = self.selected_lesions()
        return ids[0] if ids else None

    def select_lesion(self, lesion: str | None) -> None:
        """Select a lesion in the table (None: clear the selection)."""
        self.lesion_panel.select(lesion)

    def step_lesion(self, delta: int) -> None:
        if self.session is None or not self.session.lesions:
            return
        ids = list(self.session.lesions)
        cur = self.selected_lesion()
        i = ids.index(cur) if cur in ids else -delta
        self.select_lesion(ids[max(0, min(len(ids) - 1, i + delta))])

    def on_lesion_selected(self) -> None:
        s, tp, lid = self.session, self.current_tp, self.selected_lesion()
        layers = self.current_layers()
        if s is not None and layers is not None:
            layers.set_drawing_lesion(s, lid)
            if lid is not None:
                for layer in layers.masks.values():
                    layer.selected_label = s.lesion_index(lid)
        if s is not None and tp is not None and lid is not None:
            obs = s.observation(lid, tp)
            uid = obs.geometry.series_uid if obs is not None and obs.geometry is not None else None
            if uid and uid != self.series_uid(tp) and self.layer_set.can_show(tp, uid):
                self.set_series(tp, uid)  # show the phase this measurement was made on
        self._each_panel("on_selection")
        if lid is not None:
            self.jump_to_lesion(lid)

    def jump_to_lesion(self, lesion: str) -> None:
        """Move to the lesion's line (this timepoint's, else the nearest other timepoint's)."""
        s, tp = self.session, self.current_tp
        layers = self.current_layers()
        if s is None or tp is None or layers is None:
            return
        for t in [tp] + [x.id for x in s.sorted_timepoints() if x.id != tp]:
            pts = s.line_lps(lesion, t)
            if pts is not None:
                centre = layers.volume.lps_to_index(pts.mean(axis=0))
            else:
                mask = s.mask(lesion, t)
                if mask is None or not mask.any() or t != tp:
                    continue
                centre = np.argwhere(mask).mean(axis=0)
            world = np.asarray(layers.image.data_to_world(centre), dtype=float)
            z = round(float(centre[0]))
            if 0 <= z < layers.volume.shape[0]:
                self.viewer.dims.set_current_step(0, z)
            cam = access.camera(self.viewer)
            c = list(cam.center)
            c[-2:] = [float(world[-2]), float(world[-1])]
            cam.center = tuple(c)
            return

    # ================================================================ actions and edits
    def run_action(self, name: str) -> None:
        """Run an action of the table (buttons and keys share this)."""
        from napari.utils.notifications import show_warning

        try:
            BY_NAME[name].run(self)
        except SessionError as exc:
            show_warning(str(exc))

    # The scripting API: each one is the same call a button or key makes.
    def mark(self, status: str) -> None:
        self.editing.mark(status)

    def set_diameter(self, value: float) -> None:
        self.editing.set_diameter(value)

    def add_lesion(self, role: str, kind: str = "tumor", organ: str = "liver", site: str | None = None) -> str | None:
        return self.editing.add_lesion(role, kind, organ, site)

    def update_lesion(self, lesion: str, **changes: Any) -> None:
        self.editing.update_lesion(lesion, **changes)

    def remove_lesions(self, lesions: list[str], confirm: bool = True) -> bool:
        return self.editing.remove_lesions(lesions, confirm)

    def add_procedure(self, type_: str, when: dt.date, lesions: list[str], technique: str | None = None) -> str | None:
        return self.editing.add_procedure(type_, when, lesions, technique)

    def remove_procedure(self, procedure_id: str) -> None:
        self.editing.remove_procedure(procedure_id)

    def set_new_lesion_details(self, enhancement: str | None, equivocal: bool, near_lesion: str | None = None) -> None:
        self.run_guarded(self.editing.set_new_lesion_details, enhancement, equivocal, near_lesion)

    def set_criteria(self, criteria: str) -> None:
        self.editing.set_criteria(criteria)

    def set_timepoint_flags(self, imaging_done: bool | None = None, search_complete: bool | None = None) -> None:
        self.editing.set_timepoint_flags(imaging_done, search_complete)

    def set_baseline(self) -> None:
        self.run_guarded(self.editing.set_baseline)

    def grow_at(self, seed: tuple[int, int, int], kind: str, tolerance: float | None = None) -> _segment.Growth:
        return self.editing.grow_at(seed, kind, tolerance)

    def regrow(self) -> None:
        self.editing.regrow()

    def sync_masks_now(self) -> None:
        self.editing.sync_masks_now()

    def undo(self) -> None:
        self.editing.undo()

    def redo(self) -> None:
        self.editing.redo()

    def stop_tool(self) -> None:
        self.editing.stop_tool()

    def run_guarded(self, fn: Any, *args: Any) -> Any:
        """Call ``fn``; an edit the case does not allow becomes a warning."""
        from napari.utils.notifications import show_warning

        try:
            return fn(*args)
        except SessionError as exc:
            show_warning(str(exc))
            return None

    # ================================================================ files (see .files)
    @property
    def reader_id(self) -> str:
        """The person at the keyboard (asked once and remembered on this computer)."""
        return self.files.reader_id

    def set_reader_id(self, reader: str) -> None:
        self.files.set_reader(reader)

    def change_reader(self) -> None:
        self.files.change_reader()

    def open_path(self, path: str | Path) -> bool:
        return self.files.open_path(path)

    def open_case(self, path: str | Path, use_autosave: bool = True, show: bool = True) -> bool:
        return self.files.open_case(path, use_autosave, show)

    def open_dicom(self, folder: str | Path) -> bool:
        return self.files.open_dicom(folder)

    def relink_images(self, folder: str | Path | None = None) -> bool:
        return self.files.relink_images(folder)

    def save(self, path: str | Path | None = None) -> bool:
        return self.files.save(path)

    def save_to_chosen_file(self) -> bool:
        return self.files.save_to_chosen_file()

    def autosave_now(self) -> Path | None:
        return self.files.autosave_now()

    @property
    def has_unsaved_changes(self) -> bool:
        return self.files.has_unsaved_changes

    @property
    def worklist(self) -> _worklist.Worklist | None:
        return self.files.worklist

    @property
    def worklist_index(self) -> int | None:
        return self.files.worklist_index

    def open_worklist(self, folder: str | Path, resume: bool = True) -> bool:
        return self.files.open_worklist(folder, resume)

    def open_worklist_entry(self, index: int) -> bool:
        return self.files.open_entry(index)

    def step_worklist(self, delta: int) -> bool:
        return self.files.step_worklist(delta)

    def mark_reading_done(self) -> bool:
        return self.files.mark_done()

    # -- closing napari --------------------------------------------------------------------------
    def showEvent(self, event: Any) -> None:
        # Ask before the main window closes: watch its close event.
        top = self.window()
        if top is not None and top is not self and self._watched_window is not top:
            top.installEventFilter(self)
            self._watched_window = top
        super().showEvent(event)

    def eventFilter(self, obj: Any, event: Any) -> bool:
        if obj is self._watched_window and event.type() == QEvent.Type.Close:
            try:
                ok = self.files.confirm_leave("closing napari")
            except RuntimeError:  # parts already torn down
                ok = True
            if not ok:
                event.ignore()
                return True
            if event.spontaneous():  # napari itself may still ask, and be told no
                QTimer.singleShot(0, self._teardown_if_closed)
            else:
                self._teardown()
        return False

    def _teardown_if_closed(self) -> None:
        with contextlib.suppress(RuntimeError):
            if self._watched_window is not None and not self._watched_window.isVisible():
                self._teardown()

    def _teardown(self) -> None:
        """The window is closing: let go of napari (its canvas, callbacks and window), so
        nothing of it is kept alive by the plugin."""
        self.set_compare(False)
        self.canvas_input.remove()
        with contextlib.suppress(ValueError):
            self.viewer.mouse_drag_callbacks.remove(self.editing.on_canvas_press)
        with contextlib.suppress(Exception):
            access.camera(self.viewer).events.zoom.disconnect(self._on_zoom)
            self.viewer.layers.events.inserted.disconnect(self._on_layer_inserted)
        if self._watched_window is not None:
            with contextlib.suppress(RuntimeError):
                self._watched_window.removeEventFilter(self)
            self._watched_window = None

    def closeEvent(self, event: Any) -> None:
        with contextlib.suppress(Exception):
            self.files.autosave_now()
        self.set_compare(False)
        super().closeEvent(event)

    # ================================================================ the prior, side by side
    @property
    def compare_view(self) -> CompareView | None:
        return self._compare

    @property
    def compare_tp(self) -> str | None:
        return self._compare.tp if self._compare is not None else None

    def compare_with(self, tp: str | None) -> None:
        """Show ``tp`` (an earlier timepoint) in a second canvas linked both ways; None closes it."""
        if tp is None or self.session is None or tp not in self.session.timepoints:
            self.set_compare(False)
        elif self._compare is None:
            self._compare = CompareView(self, tp)
        else:
            self._compare.show(tp)
        self.subject_panel.on_timepoint()

    def set_compare(self, on: bool) -> None:
        """Compare with the latest earlier timepoint (the previous follow-up), or stop."""
        if on and self.session is not None and self.current_tp is not None:
            earlier = self.session.earlier_timepoints(self.current_tp)
            if earlier:
                self.compare_with(earlier[0])
        elif not on and self._compare is not None:
            self._compare.close()
            self._compare = None

    def _follow_compare(self) -> None:
        if self._compare is None or self.session is None or self.current_tp is None:
            return
        earlier = self.session.earlier_timepoints(self.current_tp)
        if not earlier:
            self.set_compare(False)
        elif self._compare.tp not in earlier:
            self._compare.show(earlier[0])
