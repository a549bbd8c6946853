"""The assessment dock widget: a thin Qt layer over :class:`~._session.Session`.

Every edit goes through the session (which stamps reader and time and calls the engine); the
widget only turns clicks, drawn lines and painted masks into session calls and shows the
session's state and the engine's results.  Layers of one timepoint (image, ``lines``,
``viable`` and ``zone`` masks) share the volume's scale and translate, so their data
coordinates are the volume's indices.

Side by side: napari has one canvas per viewer, so the baseline is shown in a second
``ViewerModel`` with its own ``QtViewer`` in a dock (napari's *multiple viewer* pattern); its
slice position (world mm along the slice axis) and zoom follow the main viewer.  Grid mode was
not used: it puts every layer -- lines and masks included -- in its own cell.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import QDate, Qt, QTimer
from qtpy.QtGui import QBrush, QColor, QFont, QKeySequence
from qtpy.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QShortcut,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mrecist_tool.model import KINDS, PROCEDURE_TYPES, ROLES, Observation

from . import _io, _results
from ._layers import DEFAULT_WINDOW, WINDOWS, contrast_limits, geometry_kwargs, image_layer_data
from ._session import MASK_VIABLE, MASK_ZONE, Session, SessionError, default_reader_id
from ._studies import StudySet, dicom_root_for_case

if TYPE_CHECKING:
    import napari

    from mrecist_tool.dicom import Volume

AUTOSAVE_DELAY_MS = 1500  # ≤ 2 s: a crash loses at most this much work
MASK_SYNC_DELAY_MS = 120  # paint strokes arrive in bursts; measure once per burst

# (action name, key for napari's canvas, Qt key sequence for the dock, help)
SHORTCUTS: tuple[tuple[str, str, str, str], ...] = (
    ("draw_line", "Alt-L", "Alt+L", "draw the longest viable diameter as a line"),
    ("paint_viable", "Alt-P", "Alt+P", "paint the viable (enhancing) tissue mask"),
    ("paint_zone", "Alt-Z", "Alt+Z", "paint the ablation zone mask"),
    ("measure_mask", "Alt-M", "Alt+M", "take the diameter from the viable mask"),
    ("gap_from_masks", "Alt-G", "Alt+G", "gap from the focus to the ablation zone"),
    ("mark_absent", "Alt-A", "Alt+A", "mark absent (0 mm)"),
    ("mark_too_small", "Alt-T", "Alt+T", "mark too small to measure"),
    ("mark_present", "Alt-R", "Alt+R", "mark present"),
    ("mark_not_evaluable", "Alt-E", "Alt+E", "mark not evaluable"),
    ("mark_progressed", "Alt-X", "Alt+X", "mark unequivocal progression"),
    ("next_timepoint", "Alt-Down", "Alt+Down", "next timepoint"),
    ("previous_timepoint", "Alt-Up", "Alt+Up", "previous timepoint"),
    ("next_lesion", "Alt-Right", "Alt+Right", "next lesion"),
    ("previous_lesion", "Alt-Left", "Alt+Left", "previous lesion"),
    ("save", "Alt-S", "Alt+S", "save the case file"),
)


def _camera(viewer: Any) -> Any:
    """The viewer's camera (``viewer.scene.camera`` since napari 0.9, ``viewer.camera`` before)."""
    scene = getattr(viewer, "scene", None)
    return scene.camera if scene is not None and hasattr(scene, "camera") else viewer.camera


def _measure_value(obs: Observation) -> Decimal | None:
    for value in (obs.viable_diameter_mm, obs.longest_diameter_mm, obs.short_axis_mm):
        if value is not None:
            return value
    return None


def _header(table: QTableWidget) -> QHeaderView:
    header = table.horizontalHeader()
    assert header is not None
    return header


def _vheader(table: QTableWidget) -> QHeaderView:
    header = table.verticalHeader()
    assert header is not None
    return header


def _item(text: str, tooltip: str = "", bold: bool = False) -> QTableWidgetItem:
    it = QTableWidgetItem(text)
    it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsEditable)  # type: ignore[arg-type]
    if tooltip:
        it.setToolTip(tooltip)
    if bold:
        f = QFont()
        f.setBold(True)
        it.setFont(f)
        it.setForeground(QBrush(QColor("#ff8c69")))
    return it


class AssessmentWidget(QWidget):
    """mRECIST / RECIST 1.1 reading: timepoints, lesions, measurements, ablations, results."""

    def __init__(self, napari_viewer: napari.Viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.session: Session | None = None
        self.studies: StudySet | None = None
        self.current_tp: str | None = None
        self.window_preset = DEFAULT_WINDOW
        self._series_choice: dict[str, str] = {}  # timepoint → series uid shown
        self._layers: dict[str, dict[str, Any]] = {}  # timepoint → role → layer
        self._volumes: dict[str, Volume] = {}
        self._syncing = False
        self._autosaved_revision = -1
        self._pending_masks: set[tuple[str, str]] = set()
        self._compare: _CompareView | None = None
        self._adopt: dict[str, Any] = {}  # timepoint → image layer handed over by napari
        self._deferred_show: str | None = None
        self._deferred_lines: set[str] = set()
        self.last_refresh_s = 0.0

        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(AUTOSAVE_DELAY_MS)
        self._autosave_timer.timeout.connect(self._on_autosave_timer)
        self._mask_timer = QTimer(self)
        self._mask_timer.setSingleShot(True)
        self._mask_timer.setInterval(MASK_SYNC_DELAY_MS)
        self._mask_timer.timeout.connect(self._sync_pending_masks)

        self._build_ui()
        self._bind_shortcuts()
        self.viewer.layers.events.inserted.connect(self._on_layer_inserted)
        self._watched_window: Any = None

    # ================================================================ UI
    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        body = QWidget()
        self.body = body  # the whole panel, also below the scroll fold (screenshots)
        lay = QVBoxLayout(body)
        scroll.setWidget(body)
        outer.addWidget(scroll)

        # -- file and reader
        top = QHBoxLayout()
        self.reader_edit = QLineEdit(default_reader_id())
        self.reader_edit.setToolTip("Reader id stamped on every observation you record")
        self.reader_edit.editingFinished.connect(self._on_reader_changed)
        self.open_btn = QPushButton("Open…")
        self.open_btn.clicked.connect(self._open_dialog)
        self.save_btn = QPushButton("Save")
        self.save_btn.setToolTip("Save the case file (Alt+S)")
        self.save_btn.clicked.connect(self._act_save)
        self.save_as_btn = QPushButton("Save as…")
        self.save_as_btn.clicked.connect(self._save_as_dialog)
        top.addWidget(QLabel("Reader"))
        top.addWidget(self.reader_edit)
        for b in (self.open_btn, self.save_btn, self.save_as_btn):
            top.addWidget(b)
        lay.addLayout(top)

        # -- subject panel
        subj = QGroupBox("Subject")
        sl = QVBoxLayout(subj)
        self.subject_label = QLabel("no case open")
        sl.addWidget(self.subject_label)
        self.timepoint_list = QListWidget()
        self.timepoint_list.setMaximumHeight(80)
        self.timepoint_list.currentRowChanged.connect(self._on_timepoint_row)
        sl.addWidget(self.timepoint_list)
        row = QHBoxLayout()
        self.series_combo = QComboBox()
        self.series_combo.setToolTip("Series (phase) shown for this timepoint")
        self.series_combo.activated.connect(self._on_series_chosen)
        self.window_combo = QComboBox()
        self.window_combo.addItems(list(WINDOWS))
        self.window_combo.setCurrentText(DEFAULT_WINDOW)
        self.window_combo.setToolTip("Window preset (CT)")
        self.window_combo.currentTextChanged.connect(self.set_window_preset)
        self.baseline_btn = QPushButton("Set as baseline")
        self.baseline_btn.clicked.connect(self._on_set_baseline)
        self.compare_check = QCheckBox("Baseline side by side")
        self.compare_check.toggled.connect(self.set_compare)
        row.addWidget(self.series_combo, 2)
        row.addWidget(self.window_combo, 1)
        row.addWidget(self.baseline_btn)
        sl.addLayout(row)
        flags = QHBoxLayout()
        self.criteria_combo = QComboBox()
        self.criteria_combo.addItems(["mRECIST", "RECIST1.1"])
        self.criteria_combo.setToolTip("Response criteria of this case")
        self.criteria_combo.activated.connect(self._on_criteria_chosen)
        self.no_imaging_check = QCheckBox("no imaging")
        self.no_imaging_check.setToolTip("No imaging at this visit: the visit is not evaluable")
        self.no_imaging_check.clicked.connect(self._on_timepoint_flags)
        self.search_incomplete_check = QCheckBox("search incomplete")
        self.search_incomplete_check.setToolTip("Coverage too small to exclude new lesions (REC-NE4)")
        self.search_incomplete_check.clicked.connect(self._on_timepoint_flags)
        flags.addWidget(self.criteria_combo)
        flags.addWidget(self.no_imaging_check)
        flags.addWidget(self.search_incomplete_check)
        flags.addWidget(self.compare_check)
        sl.addLayout(flags)
        lay.addWidget(subj)

        # -- lesions
        les = QGroupBox("Lesions")
        ll = QVBoxLayout(les)
        self.lesion_table = QTableWidget(0, 6)
        self.lesion_table.setHorizontalHeaderLabels(["id", "role", "kind", "organ", "site", "this timepoint"])
        self.lesion_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.lesion_table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        _header(self.lesion_table).setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        _header(self.lesion_table).setStretchLastSection(True)
        _vheader(self.lesion_table).setVisible(False)
        self.lesion_table.setMinimumHeight(90)
        self.lesion_table.setMaximumHeight(170)
        self.lesion_table.itemSelectionChanged.connect(self._on_lesion_selected)
        ll.addWidget(self.lesion_table)
        add = QGridLayout()
        self.role_combo = QComboBox()
        self.role_combo.addItems(list(ROLES))
        self.kind_combo = QComboBox()
        self.kind_combo.addItems(list(KINDS))
        self.organ_edit = QLineEdit("liver")
        self.site_edit = QLineEdit()
        self.site_edit.setPlaceholderText("site, e.g. segment VII")
        self.add_lesion_btn = QPushButton("Add lesion")
        self.add_lesion_btn.clicked.connect(self._on_add_lesion)
        self.remove_lesion_btn = QPushButton("Remove")
        self.remove_lesion_btn.clicked.connect(self._on_remove_lesion)
        add.addWidget(self.role_combo, 0, 0)
        add.addWidget(self.kind_combo, 0, 1)
        add.addWidget(self.organ_edit, 0, 2)
        add.addWidget(self.site_edit, 1, 0, 1, 2)
        add.addWidget(self.add_lesion_btn, 1, 2)
        add.addWidget(self.remove_lesion_btn, 1, 3)
        ll.addLayout(add)
        self.limit_label = QLabel("")
        self.limit_label.setStyleSheet("color: #ff8c69")
        self.limit_label.setWordWrap(True)
        ll.addWidget(self.limit_label)
        lay.addWidget(les)

        # -- measuring
        meas = QGroupBox("Measure the selected lesion at this timepoint")
        ml = QGridLayout(meas)
        self.buttons: dict[str, QPushButton] = {}
        specs = [
            ("draw_line", "Draw line"), ("paint_viable", "Paint viable"), ("paint_zone", "Paint zone"),
            ("measure_mask", "Diameter from mask"), ("gap_from_masks", "Gap from masks"),
            ("mark_absent", "Absent"), ("mark_too_small", "Too small"), ("mark_present", "Present"),
            ("mark_not_evaluable", "Not evaluable"), ("mark_progressed", "Progressed"),
        ]
        keys = {name: (qt, helptext) for name, _, qt, helptext in SHORTCUTS}
        for i, (name, label) in enumerate(specs):
            b = QPushButton(label)
            qt, helptext = keys[name]
            b.setToolTip(f"{helptext} ({qt})")
            b.clicked.connect(lambda _=False, n=name: self.run_action(n))
            self.buttons[name] = b
            ml.addWidget(b, i // 5, i % 5)
        self.diameter_spin = QDoubleSpinBox()
        self.diameter_spin.setRange(0, 999.9)
        self.diameter_spin.setDecimals(1)
        self.diameter_spin.setSuffix(" mm")
        self.set_diameter_btn = QPushButton("Set diameter")
        self.set_diameter_btn.clicked.connect(lambda: self.set_diameter(self.diameter_spin.value()))
        ml.addWidget(self.diameter_spin, 2, 0, 1, 2)
        ml.addWidget(self.set_diameter_btn, 2, 2)
        self.measure_label = QLabel("")
        ml.addWidget(self.measure_label, 3, 0, 1, 5)
        # new lesion details
        self.enhancement_combo = QComboBox()
        self.enhancement_combo.addItems(["", "typical", "atypical"])
        self.enhancement_combo.setToolTip("New lesion: typical = arterial hyperenhancement with washout")
        self.equivocal_check = QCheckBox("equivocal")
        self.near_combo = QComboBox()
        self.near_combo.setToolTip("New focus next to an ablated lesion (LTP if within the distance)")
        self.apply_new_btn = QPushButton("Apply")
        self.apply_new_btn.clicked.connect(self._on_apply_new_details)
        nl = QHBoxLayout()
        nl.addWidget(QLabel("New lesion:"))
        nl.addWidget(self.enhancement_combo)
        nl.addWidget(self.equivocal_check)
        nl.addWidget(QLabel("near"))
        nl.addWidget(self.near_combo)
        nl.addWidget(self.apply_new_btn)
        ml.addLayout(nl, 4, 0, 1, 5)
        lay.addWidget(meas)

        # -- results
        res = QGroupBox("Results (recomputed on every edit; hover for rule IDs)")
        rl = QVBoxLayout(res)
        self.results_table = QTableWidget(0, len(_results.TIMEPOINT_COLUMNS))
        self.results_table.setHorizontalHeaderLabels(list(_results.TIMEPOINT_COLUMNS))
        # The dates are in the timepoint list; hiding them here keeps the categories in view.
        self.results_table.setColumnHidden(_results.TIMEPOINT_COLUMNS.index("date"), True)
        _vheader(self.results_table).setVisible(False)
        _header(self.results_table).setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.results_table.setMinimumHeight(130)
        rl.addWidget(self.results_table)
        self.ablation_table = QTableWidget(0, len(_results.ABLATION_COLUMNS))
        _vheader(self.ablation_table).setVisible(False)
        _header(self.ablation_table).setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.ablation_table.setMaximumHeight(110)
        rl.addWidget(self.ablation_table)
        self.summary_label = QLabel("")
        self.summary_label.setWordWrap(True)
        rl.addWidget(self.summary_label)
        lay.addWidget(res)

        # -- procedures
        proc = QGroupBox("Procedures (ablations)")
        pl = QVBoxLayout(proc)
        self.procedure_list = QListWidget()
        self.procedure_list.setMaximumHeight(70)
        pl.addWidget(self.procedure_list)
        pf = QHBoxLayout()
        self.proc_type_combo = QComboBox()
        self.proc_type_combo.addItems(list(PROCEDURE_TYPES))
        self.proc_date = QDateEdit()
        self.proc_date.setCalendarPopup(True)
        self.proc_date.setDisplayFormat("yyyy-MM-dd")
        self.proc_date.setMinimumWidth(135)
        self.proc_technique = QComboBox()
        self.proc_technique.setEditable(True)
        self.proc_technique.addItems(["MWA", "RFA", "IRE", "cryo", ""])
        self.add_proc_btn = QPushButton("Add (selected lesions)")
        self.add_proc_btn.clicked.connect(self._on_add_procedure)
        self.remove_proc_btn = QPushButton("Remove")
        self.remove_proc_btn.clicked.connect(self._on_remove_procedure)
        for w in (self.proc_type_combo, self.proc_date, self.proc_technique, self.add_proc_btn,
                  self.remove_proc_btn):
            pf.addWidget(w)
        pl.addLayout(pf)
        lay.addWidget(proc)

        help_text = ", ".join(f"{qt} {h}" for _, _, qt, h in SHORTCUTS)
        keys_label = QLabel(f"<small>Keys: {help_text}</small>")
        keys_label.setWordWrap(True)
        lay.addWidget(keys_label)
        lay.addStretch(1)
        self._set_enabled(False)

    def _set_enabled(self, on: bool) -> None:
        for w in (self.lesion_table, self.add_lesion_btn, self.remove_lesion_btn, self.save_btn,
                  self.save_as_btn, self.add_proc_btn, self.remove_proc_btn, self.set_diameter_btn,
                  self.apply_new_btn, self.baseline_btn, self.criteria_combo, self.no_imaging_check,
                  self.search_incomplete_check, *self.buttons.values()):
            w.setEnabled(on)

    def _bind_shortcuts(self) -> None:
        self._qshortcuts: list[QShortcut] = []
        for name, napari_key, qt_key, _ in SHORTCUTS:
            sc = QShortcut(QKeySequence(qt_key), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(lambda n=name: self.run_action(n))
            self._qshortcuts.append(sc)

            def _cb(viewer: Any, n: str = name) -> None:
                # The dock may have been closed while the viewer lives on.
                with contextlib.suppress(RuntimeError):
                    self.run_action(n)

            # On the canvas: napari's own key map, so the keys work while drawing.
            self.viewer.bind_key(napari_key, _cb, overwrite=True)

    # ================================================================ opening
    def open_path(self, path: str | Path) -> bool:
        """Open a case file, a DICOM folder (one series or a subject's studies)."""
        p = Path(path)
        if p.is_file() and p.suffix.lower() == ".json":
            return self.open_case(p)
        return self.open_dicom(p)

    def open_case(self, path: str | Path, use_autosave: bool = True, show: bool = True) -> bool:
        """Open a case file: its studies (found next to it) and its annotations.

        With ``show=False`` no layer is added yet: the baseline image is expected as a layer
        from napari (the sample-data contribution returns it) and is adopted when it arrives.
        """
        from mrecist_tool.errors import MrecistError

        path = Path(path)
        try:
            session, notes = _io.open_session(path, reader=self._reader_text(), use_autosave=use_autosave)
        except (MrecistError, OSError, ValueError) as exc:
            show_error(f"Cannot open {path.name}: {exc}")
            return False
        studies = None
        root = dicom_root_for_case(path)
        if root is not None:
            try:
                studies = StudySet.open(root)
            except Exception as exc:  # images are optional: the case still opens
                notes.append(f"images in {root} not read: {exc}")
        elif not session.timepoints:
            notes.append("no images found next to the case file")
        self._install(session, studies, show=show)
        for n in notes:
            show_warning(n) if "not" in n else show_info(n)
        return True

    def open_dicom(self, folder: str | Path) -> bool:
        """Start a new case from a DICOM folder: one timepoint per study date."""
        from mrecist_tool.errors import MrecistError

        folder = Path(folder)
        try:
            studies = StudySet.open(folder)
            tps = studies.timepoints()
            patients = studies.scan_result.patients
            subject = patients[0].pseudonym if patients else "SUBJECT"
            session = Session.new(subject, tps, reader=self._reader_text())
            scratch = _io.default_scratch_path(subject)
            if _io.newer_autosave(scratch) is not None:
                # Unsaved work on this subject from an earlier session (or a crash).
                session, _ = _io.open_session(scratch, reader=self._reader_text())
                session.path = None
                show_info(f"restored unsaved work on {subject} from the autosave")
        except (MrecistError, OSError, ValueError) as exc:
            show_error(f"Cannot open {folder}: {exc}")
            return False
        self._install(session, studies)
        return True

    def _install(self, session: Session, studies: StudySet | None, show: bool = True) -> None:
        if self.session is not None:
            self.session.unsubscribe(self._on_session_changed)
        self._remove_layers()
        self.session = session
        self.studies = studies
        self._series_choice.clear()
        self._volumes.clear()
        self.current_tp = None
        self._autosaved_revision = session.revision
        self.reader_edit.setText(session.reader)
        session.subscribe(self._on_session_changed)
        self._set_enabled(True)
        self._fill_timepoints()
        self.refresh()
        if show:
            self.show_timepoint(session.baseline_id)

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
        if s is None or tp not in s.timepoints or tp in self._layers or meta.get("case") != str(s.path):
            return
        self._adopt[tp] = layer
        # Add the annotation layers after napari has finished inserting this one.
        self._deferred_show = tp
        QTimer.singleShot(0, self._show_deferred)

    def _show_deferred(self) -> None:
        tp, self._deferred_show = self._deferred_show, None
        if tp is not None:
            self.show_timepoint(tp)

    def close_case(self) -> None:
        """Autosave pending work, then remove the case's layers and forget it."""
        self.autosave_now()
        self._remove_layers()
        if self.session is not None:
            self.session.unsubscribe(self._on_session_changed)
        self.session = None
        self.studies = None
        self.current_tp = None
        self._set_enabled(False)

    def _remove_layers(self) -> None:
        for layers in self._layers.values():
            for layer in layers.values():
                if layer in self.viewer.layers:
                    self.viewer.layers.remove(layer)
        self._layers.clear()

    # ================================================================ timepoints and layers
    def _fill_timepoints(self) -> None:
        assert self.session is not None
        s = self.session
        self.subject_label.setText(f"<b>{s.subject.id}</b>  ·  {s.criteria or s.settings().criteria}"
                                   + (f"  ·  {s.path.name}" if s.path else ""))
        self.criteria_combo.setCurrentText(s.criteria or s.settings().criteria)
        self.timepoint_list.blockSignals(True)
        self.timepoint_list.clear()
        for tp in s.sorted_timepoints():
            phases = ", ".join(sorted({x.phase for x in tp.series or ()}))
            text = f"{'★ ' if tp.id == s.baseline_id else '   '}{tp.id}  {tp.date.isoformat()}"
            if phases:
                text += f"  [{phases}]"
            if not tp.imaging_done:
                text += "  (no imaging)"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, tp.id)
            if tp.id == s.baseline_id:
                item.setToolTip("baseline")
            self.timepoint_list.addItem(item)
        self.timepoint_list.blockSignals(False)

    def timepoint_ids(self) -> list[str]:
        return [] if self.session is None else [t.id for t in self.session.sorted_timepoints()]

    def _on_timepoint_row(self, row: int) -> None:
        ids = self.timepoint_ids()
        if 0 <= row < len(ids) and ids[row] != self.current_tp:
            self.show_timepoint(ids[row])

    def volume_for(self, tp: str) -> Volume | None:
        """The volume shown for a timepoint (loaded on first use), or None without images."""
        if tp in self._volumes:
            return self._volumes[tp]
        if self.session is None or self.studies is None:
            return None
        timepoint = self.session.timepoints[tp]
        uid = self._series_choice.get(tp)
        if uid is None:
            info = self.studies.series_for(timepoint)
            if info is None:
                return None
            uid = info.series_uid
        try:
            vol = self.studies.volume(uid)
        except Exception as exc:
            show_error(f"{tp}: series not loaded: {exc}")
            return None
        recorded = {x.uid: x.phase for x in timepoint.series or ()}
        if uid in recorded:
            vol.phase = recorded[uid]
        self._series_choice[tp] = uid
        self._volumes[tp] = vol
        return vol

    def show_timepoint(self, tp: str) -> None:
        """Make ``tp`` the current timepoint: its layers visible, the others hidden."""
        if self.session is None or tp not in self.session.timepoints:
            return
        self.current_tp = tp
        ids = self.timepoint_ids()
        self.timepoint_list.blockSignals(True)
        self.timepoint_list.setCurrentRow(ids.index(tp))
        self.timepoint_list.blockSignals(False)
        self._ensure_layers(tp)
        for t, layers in self._layers.items():
            for layer in layers.values():
                layer.visible = t == tp
        layers = self._layers.get(tp, {})
        if "image" in layers:
            self.viewer.layers.selection.active = layers["lines"]
        self._fill_series_combo(tp)
        self._refresh_lesion_table()
        shown = self.session.timepoints[tp]
        self.no_imaging_check.setChecked(not shown.imaging_done)
        self.search_incomplete_check.setChecked(shown.new_lesion_search == "incomplete")
        d = shown.date  # a procedure is usually dated near the study shown
        self.proc_date.setDate(QDate(d.year, d.month, d.day))
        self._update_label_selection()
        if self._compare is not None:
            self._compare.show_baseline()

    def _fill_series_combo(self, tp: str) -> None:
        self.series_combo.clear()
        if self.studies is None or self.session is None:
            return
        timepoint = self.session.timepoints[tp]
        uids = {x.uid for x in timepoint.series or ()}
        for info in self.studies.scan_result.loadable_series:
            if info.series_uid in uids or (timepoint.study_uid and info.study_uid == timepoint.study_uid):
                self.series_combo.addItem(f"{info.phase} · {info.description or info.series_uid[-8:]}",
                                          info.series_uid)
        idx = self.series_combo.findData(self._series_choice.get(tp))
        if idx >= 0:
            self.series_combo.setCurrentIndex(idx)

    def _on_series_chosen(self, index: int) -> None:
        uid = self.series_combo.itemData(index)
        tp = self.current_tp
        if tp is None or uid is None or uid == self._series_choice.get(tp):
            return
        old = self._volumes.get(tp)
        self._series_choice[tp] = uid
        self._volumes.pop(tp, None)
        vol = self.volume_for(tp)
        if vol is None:
            return
        if old is not None and old.shape != vol.shape:
            # Lines are LPS and follow; masks live on a grid, so only same-grid series keep them.
            show_warning("this series has another grid: masks are drawn on the series they were painted on")
        for layer in self._layers.pop(tp, {}).values():
            self.viewer.layers.remove(layer)
        self.show_timepoint(tp)

    def _ensure_layers(self, tp: str) -> None:
        if tp in self._layers:
            return
        vol = self.volume_for(tp)
        if vol is None:
            self._layers[tp] = {}
            return
        adopted = self._adopt.pop(tp, None)
        if adopted is not None and adopted in self.viewer.layers:
            image = adopted
        else:
            data, kwargs, _ = image_layer_data(vol, f"{tp} {vol.phase}", self.window_preset, timepoint=tp)
            image = self.viewer.add_image(data, **kwargs)
        geo = geometry_kwargs(vol)
        lines = self.viewer.add_shapes(
            name=f"lines {tp}", ndim=3, edge_color="yellow", edge_width=1.5, **geo,
            features={"lesion": np.array([], dtype=object), "label": np.array([], dtype=object)},
            text={"string": "{label}", "color": "yellow", "anchor": "upper_left", "size": 10},
        )
        self._layers[tp] = {"image": image, "lines": lines}
        lines.events.data.connect(lambda ev, t=tp: self._on_lines_event(t, ev))
        self._render_lines(tp)
        # Mask layers cost a volume-sized array and texture each: made when there is a mask to
        # show or when the reader starts painting (keeps opening a 300-slice series fast).
        painted = {k for (_, t, k) in self.session.masks if t == tp} if self.session else set()
        for kind in (MASK_VIABLE, MASK_ZONE):
            if kind in painted:
                self.mask_layer(tp, kind)
        if len(self._layers) == 1 or self.viewer.dims.ndim != 3:
            self.viewer.reset_view()
            # Start in the middle of the volume, where a liver usually is.
            self.viewer.dims.set_current_step(0, vol.shape[0] // 2)

    def layers_for(self, tp: str) -> dict[str, Any]:
        """The napari layers of a timepoint: ``image``, ``lines``, and the mask layers
        (``viable``, ``zone``) made so far (see :meth:`mask_layer`)."""
        self._ensure_layers(tp)
        return self._layers.get(tp, {})

    def mask_layer(self, tp: str, kind: str) -> Any:
        """The Labels layer of a timepoint's ``viable`` or ``zone`` masks (made on first use);
        label value = the lesion's position in the table (1-based)."""
        layers = self.layers_for(tp)
        if kind in layers:
            return layers[kind]
        vol = self._volumes.get(tp)
        if vol is None:
            raise SessionError("no images for this timepoint")
        layer = self.viewer.add_labels(np.zeros(vol.shape, dtype=np.uint8), name=f"{kind} {tp}",
                                       opacity=0.45 if kind == MASK_VIABLE else 0.3, **geometry_kwargs(vol))
        layer.visible = tp == self.current_tp
        layers[kind] = layer
        layer.events.paint.connect(lambda ev, t=tp, k=kind: self._on_paint(t, k, ev))
        self._render_masks(tp)
        lid = self.selected_lesion()
        if lid is not None and self.session is not None:
            layer.selected_label = self.session.lesion_index(lid)
        if "lines" in layers:  # keep the lines drawn above the masks
            self.viewer.layers.move(self.viewer.layers.index(layers["lines"]), len(self.viewer.layers))
        return layer

    def set_window_preset(self, preset: str) -> None:
        self.window_preset = preset
        for tp, layers in self._layers.items():
            if "image" in layers and tp in self._volumes:
                layers["image"].contrast_limits = contrast_limits(self._volumes[tp], preset)

    # ================================================================ lines
    def _render_lines(self, tp: str) -> None:
        layer = self._layers.get(tp, {}).get("lines")
        vol = self._volumes.get(tp)
        if layer is None or vol is None or self.session is None:
            return
        data, ids, labels = [], [], []
        for lid in self.session.lesions:
            pts = self.session.line_lps(lid, tp)
            if pts is None:
                continue
            data.append(vol.lps_to_index(pts))
            ids.append(lid)
            obs = self.session.observation(lid, tp)
            value = None
            if obs is not None:
                value = _measure_value(obs)
            labels.append(f"{lid} {value} mm" if value is not None else lid)
        self._syncing = True
        try:
            layer.selected_data = set()
            if len(layer.data):
                layer.data = []
            if data:
                layer.add_lines(data)
            layer.features = {"lesion": np.array(ids, dtype=object), "label": np.array(labels, dtype=object)}
            layer.refresh_text()
        finally:
            self._syncing = False
        layer.feature_defaults = {"lesion": self.selected_lesion() or "", "label": ""}

    def _on_lines_event(self, tp: str, event: Any) -> None:
        if self._syncing or self.session is None:
            return
        action = str(getattr(event, "action", "changed"))
        if action.endswith("ing"):
            return
        layer = self._layers[tp]["lines"]
        vol = self._volumes.get(tp)
        if vol is None:
            return
        feats = layer.features
        ids = list(feats["lesion"]) if "lesion" in feats else [""] * len(layer.data)
        chosen = self.selected_lesion()
        found: dict[str, np.ndarray] = {}
        for i, verts in enumerate(layer.data):
            lid = ids[i] if i < len(ids) else ""
            if not lid or lid not in self.session.lesions:
                lid = chosen or ""
            if not lid or len(verts) < 2:
                continue
            found[lid] = np.asarray(verts)[[0, -1]]  # a later line replaces an earlier one
        s = self.session
        for lid, verts in found.items():
            old = s.line_lps(lid, tp)
            new = vol.index_to_lps(verts)
            if old is None or not np.allclose(old, new, atol=0.01):
                s.measure_line(lid, tp, verts[0], verts[1], vol)
        for lid in list(s.lesions):
            if lid not in found and s.line_lps(lid, tp) is not None:
                s.remove_line(lid, tp)
        if not chosen and len(found) < len(layer.data):
            show_warning("select a lesion in the table before drawing its line")
        # Redraw from the session once napari has finished this event (ids, one line per lesion).
        self._deferred_lines.add(tp)
        QTimer.singleShot(0, self._render_deferred_lines)

    def _render_deferred_lines(self) -> None:
        pending, self._deferred_lines = self._deferred_lines, set()
        for tp in pending:
            self._render_lines(tp)

    # ================================================================ masks
    def _render_masks(self, tp: str) -> None:
        if self.session is None:
            return
        for kind in (MASK_VIABLE, MASK_ZONE):
            layer = self._layers.get(tp, {}).get(kind)
            if layer is None:
                continue
            data = np.zeros(layer.data.shape, dtype=np.uint8)
            for (lid, t, k), entry in self.session.masks.items():
                if t == tp and k == kind and lid in self.session.lesions and entry.array.shape == data.shape:
                    data[entry.array] = self.session.lesion_index(lid)
            self._syncing = True
            try:
                layer.data = data
            finally:
                self._syncing = False

    def _on_paint(self, tp: str, kind: str, event: Any) -> None:
        if self._syncing:
            return
        self._pending_masks.add((tp, kind))
        self._paint_labels: set[int] = getattr(self, "_paint_labels", set())
        for atom in event.value or ():
            with contextlib.suppress(Exception):
                if isinstance(atom, tuple) and len(atom) == 3:
                    self._paint_labels.update(int(v) for v in np.unique(atom[1]))
                    self._paint_labels.add(int(atom[2]))
        layer = self._layers[tp][kind]
        self._paint_labels.add(int(layer.selected_label))
        self._mask_timer.start()

    def sync_masks_now(self) -> None:
        """Apply painted strokes at once (tests and saving do not wait for the debounce)."""
        self._mask_timer.stop()
        self._sync_pending_masks()

    def _sync_pending_masks(self) -> None:
        if self.session is None:
            return
        s = self.session
        labels: set[int] = getattr(self, "_paint_labels", set())
        self._paint_labels = set()
        pending, self._pending_masks = self._pending_masks, set()
        for tp, kind in pending:
            layer = self._layers[tp][kind]
            vol = self._volumes[tp]
            touched = {lab for lab in labels if lab > 0}
            touched |= {s.lesion_index(lid) for (lid, t, k) in s.masks if t == tp and k == kind and lid in s.lesions}
            for lab in sorted(touched):
                lid = s.lesion_for_label(lab)
                if lid is None:
                    continue
                s.set_mask(lid, tp, kind, layer.data == lab, vol, notify=False)
                if kind == MASK_VIABLE:
                    # The diameter follows the painted viable tissue at once (MR-V1).
                    s.measure_mask(lid, tp, vol)
                    self._render_lines(tp)
            if kind == MASK_ZONE:
                s.touch()

    # ================================================================ selection and actions
    def selected_lesion(self) -> str | None:
        rows = sorted({i.row() for i in self.lesion_table.selectedIndexes()})
        if not rows:
            return None
        item = self.lesion_table.item(rows[0], 0)
        return item.text() if item is not None else None

    def selected_lesions(self) -> list[str]:
        rows = sorted({i.row() for i in self.lesion_table.selectedIndexes()})
        out = []
        for r in rows:
            item = self.lesion_table.item(r, 0)
            if item is not None:
                out.append(item.text())
        return out

    def select_lesion(self, lesion: str) -> None:
        for r in range(self.lesion_table.rowCount()):
            item = self.lesion_table.item(r, 0)
            if item is not None and item.text() == lesion:
                self.lesion_table.selectRow(r)
                return

    def _on_lesion_selected(self) -> None:
        lid = self.selected_lesion()
        self._update_label_selection()
        self._update_measure_label()
        self._fill_new_lesion_details()
        if lid is not None:
            self.jump_to_lesion(lid)

    def _update_label_selection(self) -> None:
        lid = self.selected_lesion()
        if self.session is None or self.current_tp is None:
            return
        layers = self._layers.get(self.current_tp, {})
        if lid is not None:
            for kind in ("viable", "zone"):
                if kind in layers:
                    layers[kind].selected_label = self.session.lesion_index(lid)
            if "lines" in layers:
                layers["lines"].feature_defaults = {"lesion": lid, "label": ""}

    def jump_to_lesion(self, lesion: str) -> None:
        """Move to the lesion's line (this timepoint's, else the nearest other timepoint's)."""
        s, tp = self.session, self.current_tp
        if s is None or tp is None:
            return
        vol = self._volumes.get(tp)
        if vol is None:
            return
        order = [tp] + [t.id for t in s.sorted_timepoints() if t.id != tp]
        for t in order:
            pts = s.line_lps(lesion, t)
            if pts is None:
                mask = s.mask(lesion, t)
                if mask is None or not mask.any() or t != tp:
                    continue
                centre_idx = np.argwhere(mask).mean(axis=0)
            else:
                centre_idx = vol.lps_to_index(pts.mean(axis=0))
            world = np.asarray(centre_idx) * np.asarray(vol.spacing) + np.asarray(geometry_kwargs(vol)["translate"])
            z = round(float(centre_idx[0]))
            if 0 <= z < vol.shape[0]:
                self.viewer.dims.set_current_step(0, z)
            _camera(self.viewer).center = (float(world[0]), float(world[1]), float(world[2]))
            return

    def run_action(self, name: str) -> None:
        """Run a named action (buttons and keyboard shortcuts share this)."""
        try:
            getattr(self, f"_act_{name}")()
        except SessionError as exc:
            show_warning(str(exc))

    def _need(self) -> tuple[Session, str, str]:
        if self.session is None or self.current_tp is None:
            raise SessionError("open a case or a DICOM folder first")
        lid = self.selected_lesion()
        if lid is None:
            raise SessionError("select a lesion in the table first")
        return self.session, self.current_tp, lid

    def mark(self, status: str) -> None:
        s, tp, lid = self._need()
        s.set_status(lid, tp, status)

    def _act_mark_absent(self) -> None:
        self.mark("absent")

    def _act_mark_too_small(self) -> None:
        self.mark("too-small")

    def _act_mark_present(self) -> None:
        self.mark("present")

    def _act_mark_not_evaluable(self) -> None:
        self.mark("not-evaluable")

    def _act_mark_progressed(self) -> None:
        self.mark("progressed")

    def set_diameter(self, value: float) -> None:
        s, tp, lid = self._need()
        s.set_measurement(lid, tp, Decimal(str(round(value, 1))))

    def _act_draw_line(self) -> None:
        _s, tp, lid = self._need()
        layer = self._layers.get(tp, {}).get("lines")
        if layer is None:
            raise SessionError("no images for this timepoint: type the diameter instead")
        layer.feature_defaults = {"lesion": lid, "label": ""}
        self.viewer.layers.selection.active = layer
        layer.mode = "add_line"

    def _paint(self, kind: str) -> None:
        s, tp, lid = self._need()
        layer = self.mask_layer(tp, kind)
        layer.selected_label = s.lesion_index(lid)
        self.viewer.layers.selection.active = layer
        layer.mode = "paint"

    def _act_paint_viable(self) -> None:
        self._paint(MASK_VIABLE)

    def _act_paint_zone(self) -> None:
        self._paint(MASK_ZONE)

    def _act_measure_mask(self) -> None:
        s, tp, lid = self._need()
        self.sync_masks_now()
        s.measure_mask(lid, tp, self._volumes.get(tp))
        self._render_lines(tp)

    def _act_gap_from_masks(self) -> None:
        s, tp, lid = self._need()
        self.sync_masks_now()
        near = self.near_combo.currentText() or None
        obs = s.gap_from_masks(lid, tp, near)
        show_info(f"{lid} at {tp}: gap to the ablation zone {obs.gap_to_ablation_zone_mm} mm")

    def _step(self, ids: list[str], current: str | None, delta: int) -> str | None:
        if not ids:
            return None
        i = ids.index(current) if current in ids else -delta
        return ids[max(0, min(len(ids) - 1, i + delta))]

    def _act_next_timepoint(self) -> None:
        t = self._step(self.timepoint_ids(), self.current_tp, 1)
        if t:
            self.show_timepoint(t)

    def _act_previous_timepoint(self) -> None:
        t = self._step(self.timepoint_ids(), self.current_tp, -1)
        if t:
            self.show_timepoint(t)

    def _act_next_lesion(self) -> None:
        if self.session:
            lid = self._step(list(self.session.lesions), self.selected_lesion(), 1)
            if lid:
                self.select_lesion(lid)

    def _act_previous_lesion(self) -> None:
        if self.session:
            lid = self._step(list(self.session.lesions), self.selected_lesion(), -1)
            if lid:
                self.select_lesion(lid)

    def _act_save(self) -> None:
        self.save()

    # ---------------------------------------------------------------- lesions and procedures
    def add_lesion(self, role: str, kind: str = "tumor", organ: str = "liver", site: str | None = None) -> str | None:
        """Add a lesion and select it; over the target limits a warning is shown (REC-B1)."""
        if self.session is None:
            show_warning("open a case or a DICOM folder first")
            return None
        s = self.session
        if role == "target":
            ok, why = s.can_add_target(organ)
            if not ok:
                show_warning(f"Target limit: {why}")
                self.limit_label.setText(why)
                return None
        try:
            les = s.add_lesion(role, kind=kind, organ=organ, site=site)
        except SessionError as exc:
            show_warning(str(exc))
            return None
        self.select_lesion(les.id)
        return les.id

    def _on_add_lesion(self) -> None:
        self.add_lesion(self.role_combo.currentText(), self.kind_combo.currentText(),
                        self.organ_edit.text().strip() or "liver", self.site_edit.text().strip() or None)

    def _on_remove_lesion(self) -> None:
        if self.session is None:
            return
        for lid in self.selected_lesions():
            self.session.remove_lesion(lid)
        for tp in self._layers:
            self._render_lines(tp)
            self._render_masks(tp)

    def add_procedure(self, type_: str, when: dt.date, lesions: list[str], technique: str | None = None) -> str | None:
        if self.session is None:
            return None
        try:
            return self.session.add_procedure(type_, when, lesions, technique).id
        except SessionError as exc:
            show_warning(str(exc))
            return None

    def _on_add_procedure(self) -> None:
        q = self.proc_date.date()
        self.add_procedure(self.proc_type_combo.currentText(), dt.date(q.year(), q.month(), q.day()),
                           self.selected_lesions(), self.proc_technique.currentText().strip() or None)

    def _on_remove_procedure(self) -> None:
        item = self.procedure_list.currentItem()
        if item is not None and self.session is not None:
            self.session.remove_procedure(item.data(Qt.ItemDataRole.UserRole))

    def _fill_new_lesion_details(self) -> None:
        s, tp, lid = self.session, self.current_tp, self.selected_lesion()
        self.near_combo.blockSignals(True)
        self.near_combo.clear()
        self.near_combo.addItem("")
        if s is not None:
            self.near_combo.addItems([x for x in s.ablated_lesions() if x != lid])
        obs = s.observation(lid, tp) if (s and tp and lid) else None
        self.enhancement_combo.setCurrentText((obs.enhancement if obs else None) or "")
        self.equivocal_check.setChecked(bool(obs and obs.equivocal))
        self.near_combo.setCurrentText((obs.near_lesion if obs else None) or "")
        self.near_combo.blockSignals(False)

    def set_new_lesion_details(self, enhancement: str | None, equivocal: bool, near_lesion: str | None = None) -> None:
        s, tp, lid = self._need()
        obs = s.observation(lid, tp)
        changes: dict[str, Any] = {"enhancement": enhancement or None, "equivocal": equivocal,
                                   "near_lesion": near_lesion or None}
        if obs is None:
            s.set_status(lid, tp, "present")
        s.update_observation(lid, tp, **changes)

    def _on_apply_new_details(self) -> None:
        try:
            self.set_new_lesion_details(self.enhancement_combo.currentText() or None,
                                        self.equivocal_check.isChecked(), self.near_combo.currentText() or None)
        except SessionError as exc:
            show_warning(str(exc))

    def _on_criteria_chosen(self, index: int) -> None:
        if self.session is not None:
            self.session.set_criteria(self.criteria_combo.itemText(index))
            self._fill_timepoints()

    def _on_timepoint_flags(self) -> None:
        if self.session is not None and self.current_tp is not None:
            self.session.set_timepoint_flags(self.current_tp,
                                             imaging_done=not self.no_imaging_check.isChecked(),
                                             search_complete=not self.search_incomplete_check.isChecked())
            self._fill_timepoints()
            self.timepoint_list.setCurrentRow(self.timepoint_ids().index(self.current_tp))

    def _on_set_baseline(self) -> None:
        if self.session is not None and self.current_tp is not None:
            self.session.set_baseline(self.current_tp)
            self._fill_timepoints()
            self.show_timepoint(self.current_tp)

    def set_reader_id(self, reader: str) -> None:
        """Set the reader id stamped on the observations recorded from now on."""
        self.reader_edit.setText(reader)
        self._on_reader_changed()

    def _on_reader_changed(self) -> None:
        self._reader_typed = True
        if self.session is not None:
            self.session.set_reader(self.reader_edit.text())

    def _reader_text(self) -> str | None:
        # Only an id the user typed overrides the case's own reader (else: case, then OS user).
        if not getattr(self, "_reader_typed", False):
            return None
        return self.reader_edit.text().strip() or None

    # ================================================================ refresh
    def _on_session_changed(self, session: Session) -> None:
        self.refresh()
        self._autosave_timer.start()

    def refresh(self) -> None:
        """Recompute and redraw the lesion table, the procedures and the results panel."""
        import time

        t0 = time.perf_counter()
        if self.session is None:
            return
        self._refresh_lesion_table()
        self._refresh_procedures()
        self._refresh_results()
        self.last_refresh_s = time.perf_counter() - t0

    def _refresh_lesion_table(self) -> None:
        s = self.session
        if s is None:
            return
        keep = self._selected_set()
        a = s.assessment()
        self.lesion_table.blockSignals(True)
        self.lesion_table.setRowCount(len(s.lesions))
        for r, les in enumerate(s.lesions.values()):
            cell = _results.lesion_cell(a, les.id, self.current_tp) if self.current_tp else _results.Cell("")
            for c, (text, tip) in enumerate([(les.id, ""), (les.role, ""), (les.kind, ""), (les.organ, ""),
                                             (les.site or "", ""), (cell.text, cell.tooltip)]):
                self.lesion_table.setItem(r, c, _item(text, tip))
        self.lesion_table.clearSelection()
        for r, lid in enumerate(s.lesions):
            if lid in keep:
                self.lesion_table.selectRow(r)
        self.lesion_table.blockSignals(False)
        warnings = s.target_limit_warnings()
        self.limit_label.setText("\n".join(warnings))
        self._update_measure_label()

    def _update_measure_label(self) -> None:
        s = self.session
        if s is None:
            return
        obs = s.observation(self.selected_lesion() or "", self.current_tp or "")
        if obs is not None:
            value = _measure_value(obs)
            text = f"{obs.lesion} at {obs.timepoint}: {obs.status}"
            if value is not None:
                text += f", {value} mm"
            if obs.gap_to_ablation_zone_mm is not None:
                text += f", gap {obs.gap_to_ablation_zone_mm} mm"
            self.measure_label.setText(text + (f"  (by {obs.reader})" if obs.reader else ""))
        else:
            self.measure_label.setText("")

    def _selected_set(self) -> set[str]:
        return set(self.selected_lesions())

    def _refresh_procedures(self) -> None:
        s = self.session
        if s is None:
            return
        self.procedure_list.clear()
        for p in sorted(s.procedures.values(), key=lambda p: p.date):
            item = QListWidgetItem(f"{p.id}  {p.type}  {p.date.isoformat()}  {', '.join(p.lesions)}"
                                   + (f"  {p.technique}" if p.technique else ""))
            item.setData(Qt.ItemDataRole.UserRole, p.id)
            self.procedure_list.addItem(item)

    def _refresh_results(self) -> None:
        s = self.session
        if s is None:
            return
        a = s.assessment()
        rows = _results.timepoint_rows(a)
        self.results_table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, cell in enumerate(row):
                self.results_table.setItem(r, c, _item(cell.text, cell.tooltip, cell.emphasis))
        header, arows = _results.ablation_rows(a)
        self.ablation_table.setColumnCount(len(header))
        self.ablation_table.setHorizontalHeaderLabels(header)
        self.ablation_table.setRowCount(len(arows))
        for r, row in enumerate(arows):
            for c, cell in enumerate(row):
                self.ablation_table.setItem(r, c, _item(cell.text, cell.tooltip, cell.emphasis))
        summary = _results.summary_line(a)
        self.summary_label.setText(summary.text)
        self.summary_label.setToolTip(summary.tooltip)

    def result_categories(self) -> dict[str, dict[str, str]]:
        """What the results panel shows, as text: timepoint → column → value (for tests)."""
        out: dict[str, dict[str, str]] = {}
        t = self.results_table
        for r in range(t.rowCount()):
            row = {}
            for c in range(t.columnCount()):
                head, item = t.horizontalHeaderItem(c), t.item(r, c)
                row[head.text() if head else str(c)] = item.text() if item else ""
            out[row["timepoint"].split(" ")[0]] = row
        return out

    # ================================================================ saving
    def save(self, path: str | Path | None = None) -> bool:
        """Save the case file (atomic) with its masks; the autosave is removed."""
        if self.session is None:
            return False
        self.sync_masks_now()
        target = Path(path) if path else self.session.path
        if target is None:
            self._save_as_dialog()
            return self.session.path is not None and self.session.revision == self._autosaved_revision
        try:
            warnings = _io.save_session(self.session, target)
        except Exception as exc:
            show_error(f"Not saved: {exc}")
            return False
        self._autosave_timer.stop()
        self._autosaved_revision = self.session.revision
        for w in warnings:
            show_warning(w)
        show_info(f"Saved {target.name}")
        self._fill_timepoints()
        return True

    def _on_autosave_timer(self) -> None:
        self.autosave_now()

    def autosave_now(self) -> Path | None:
        """Write the autosave side file now, when something changed since the last one."""
        if self.session is None or self.session.revision == self._autosaved_revision:
            return None
        self.sync_masks_now()
        try:
            side = _io.write_autosave(self.session)
        except Exception as exc:
            show_warning(f"Autosave failed: {exc}")
            return None
        self._autosaved_revision = self.session.revision
        return side

    def _on_window_closing(self, *_: Any) -> None:
        with contextlib.suppress(Exception):
            self.autosave_now()

    def showEvent(self, event: Any) -> None:
        # Autosave when the main window closes: watch its close event (Qt, no napari internals).
        top = self.window()
        if top is not None and top is not self and self._watched_window is not top:
            top.installEventFilter(self)
            self._watched_window = top
        super().showEvent(event)

    def eventFilter(self, obj: Any, event: Any) -> bool:
        from qtpy.QtCore import QEvent

        if obj is self._watched_window and event.type() == QEvent.Type.Close:
            self._on_window_closing()
        return False

    def closeEvent(self, event: Any) -> None:
        self._on_window_closing()
        self.set_compare(False)
        super().closeEvent(event)

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a case file", "", "Case files (*.json)")
        if not path:
            path = QFileDialog.getExistingDirectory(self, "…or a DICOM folder")
        if path:
            self.open_path(path)

    def _save_as_dialog(self) -> None:
        if self.session is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save the case file", f"{self.session.subject.id}.json",
                                              "Case files (*.json)")
        if path:
            self.save(path)

    # ================================================================ side by side
    def set_compare(self, on: bool) -> None:
        """Show the baseline in a second canvas with linked slice position and zoom."""
        if on and self._compare is None:
            self._compare = _CompareView(self)
        elif not on and self._compare is not None:
            self._compare.close()
            self._compare = None
        if self.compare_check.isChecked() != on:
            self.compare_check.blockSignals(True)
            self.compare_check.setChecked(on)
            self.compare_check.blockSignals(False)

    @property
    def compare_view(self) -> _CompareView | None:
        return self._compare


class _CompareView:
    """A second napari canvas (``ViewerModel`` + ``QtViewer``) docked beside the main one."""

    def __init__(self, owner: AssessmentWidget):
        from napari._qt.qt_viewer import QtViewer
        from napari.components import ViewerModel

        self.owner = owner
        self.model = ViewerModel(title="baseline")
        self.qt_viewer = QtViewer(self.model)
        self._shown_tp: str | None = None
        self._linking = False
        self.dock = owner.viewer.window.add_dock_widget(self.qt_viewer, name="Baseline (linked)", area="left")
        main = owner.viewer
        main.dims.events.point.connect(self._follow_point)
        _camera(main).events.zoom.connect(self._follow_zoom)
        _camera(main).events.center.connect(self._follow_center)
        _camera(self.model).events.zoom.connect(self._lead_zoom)
        self.show_baseline()

    def show_baseline(self) -> None:
        o = self.owner
        if o.session is None:
            return
        bl = o.session.baseline_id
        if self._shown_tp == bl:
            return
        self.model.layers.clear()
        vol = o.volume_for(bl)
        if vol is None:
            return
        data, kwargs, _ = image_layer_data(vol, f"{bl} {vol.phase}", o.window_preset)
        self.model.add_image(data, **kwargs)
        geo = geometry_kwargs(vol)
        lines = [vol.lps_to_index(p) for lid in o.session.lesions
                 if (p := o.session.line_lps(lid, bl)) is not None]
        if lines:
            self.model.add_shapes(lines, shape_type="line", edge_color="yellow", edge_width=1.5,
                                  name=f"lines {bl}", **geo)
        self._shown_tp = bl
        self._follow_point()
        self._follow_zoom()
        self._follow_center()

    def _follow_point(self, *_: Any) -> None:
        main = self.owner.viewer
        if self.model.dims.ndim == main.dims.ndim == 3:
            # World mm along the slice axis: the same table position in both studies.
            self.model.dims.set_point(0, main.dims.point[0])

    def _follow_zoom(self, *_: Any) -> None:
        if self._linking:
            return
        self._linking = True
        try:
            _camera(self.model).zoom = _camera(self.owner.viewer).zoom
        finally:
            self._linking = False

    def _follow_center(self, *_: Any) -> None:
        if self._linking:
            return
        self._linking = True
        try:
            _camera(self.model).center = _camera(self.owner.viewer).center
        finally:
            self._linking = False

    def _lead_zoom(self, *_: Any) -> None:
        if self._linking:
            return
        self._linking = True
        try:
            _camera(self.owner.viewer).zoom = _camera(self.model).zoom
        finally:
            self._linking = False

    def close(self) -> None:
        main = self.owner.viewer
        for ev, cb in ((main.dims.events.point, self._follow_point), (_camera(main).events.zoom, self._follow_zoom),
                       (_camera(main).events.center, self._follow_center)):
            with contextlib.suppress(Exception):
                ev.disconnect(cb)
        with contextlib.suppress(Exception):
            main.window.remove_dock_widget(self.dock)
        with contextlib.suppress(Exception):
            self.qt_viewer.close()
        self.model.layers.clear()
