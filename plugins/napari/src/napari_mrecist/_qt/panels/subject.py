"""Subject: who reads, where the images are, timepoints, series (phase), window, criteria, priors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..flow import FlowLayout
from .base import ElidedLabel, Panel

if TYPE_CHECKING:
    from ..widget import AssessmentWidget

NO_PRIOR = "no prior"
COMBO_CHARS = 6


class SubjectPanel(Panel):
    heading = "Subject"

    def __init__(self, owner: AssessmentWidget):
        super().__init__(owner)
        lay = QVBoxLayout(self)
        self.subject_label = QLabel("no case open")
        self.subject_label.setWordWrap(True)
        lay.addWidget(self.subject_label)

        row = QHBoxLayout()
        self.reader_label = QLabel("")
        self.reader_label.setToolTip("Stamped on every observation you record")
        self.reader_btn = QPushButton("Change reader…")
        self.reader_btn.clicked.connect(lambda: owner.change_reader())
        row.addWidget(self.reader_label, 1)
        row.addWidget(self.reader_btn)
        lay.addLayout(row)

        row = QHBoxLayout()
        self.images_label = ElidedLabel("")
        self.relink_btn = QPushButton("Find images…")
        self.relink_btn.setToolTip("Point to the folder holding this case's DICOM studies")
        self.relink_btn.clicked.connect(self.slot(owner.relink_images))
        row.addWidget(self.images_label, 1)
        row.addWidget(self.relink_btn)
        lay.addLayout(row)

        self.timepoint_list = QListWidget()
        self.timepoint_list.setMaximumHeight(78)
        self.timepoint_list.currentRowChanged.connect(self._on_row)
        lay.addWidget(self.timepoint_list)

        row = QHBoxLayout()
        self.series_combo = QComboBox()
        self.series_combo.setToolTip("Series (phase) shown and measured on for this timepoint")
        self.series_combo.activated.connect(self._on_series)
        self.baseline_btn = QPushButton("Set as baseline")
        self.baseline_btn.clicked.connect(lambda: owner.set_baseline())
        row.addWidget(QLabel("Series"))
        row.addWidget(self.series_combo, 1)
        row.addWidget(self.baseline_btn)
        lay.addLayout(row)

        row = QHBoxLayout()
        self.window_combo = QComboBox()
        self.window_combo.setToolTip("Window presets: keys 1-4 on the image, 0 for the data's range;\n"
                                     "right- or middle-drag on the image: width (sideways) and level")
        self.window_combo.activated.connect(lambda i: owner.set_window_preset(self.window_combo.itemText(i)))
        self.window_slider = _range_slider()
        self.window_slider.setToolTip("Display range of the image (works whichever layer is active)")
        self.window_slider.valueChanged.connect(self._on_window_slider)
        row.addWidget(QLabel("Window"))
        row.addWidget(self.window_combo, 1)
        lay.addLayout(row)
        lay.addWidget(self.window_slider)  # its own line: the dock is narrow

        self.criteria_combo = QComboBox()
        self.criteria_combo.addItems(["mRECIST", "RECIST1.1"])
        self.criteria_combo.setToolTip("Response criteria of this case")
        self.criteria_combo.activated.connect(lambda i: owner.set_criteria(self.criteria_combo.itemText(i)))
        self.no_imaging_check = QCheckBox("no imaging")
        self.no_imaging_check.setToolTip("No imaging at this visit: the visit is not evaluable")
        self.no_imaging_check.clicked.connect(self._on_flags)
        self.search_incomplete_check = QCheckBox("search incomplete")
        self.search_incomplete_check.setToolTip("Coverage too small to exclude new lesions (REC-NE4)")
        self.search_incomplete_check.clicked.connect(self._on_flags)
        flags = FlowLayout()
        for w in (self.criteria_combo, self.no_imaging_check, self.search_incomplete_check):
            flags.addWidget(w)
        lay.addLayout(flags)

        row = QHBoxLayout()
        self.compare_combo = QComboBox()
        self.compare_combo.setToolTip("Show an earlier timepoint beside this one, linked both ways\n"
                                      "(slice position in patient coordinates, zoom, pan, window)")
        self.compare_combo.activated.connect(self._on_compare)
        row.addWidget(QLabel("Compare with"))
        row.addWidget(self.compare_combo, 1)
        lay.addLayout(row)
        self._syncing_window = False
        for combo in (self.series_combo, self.window_combo, self.compare_combo):
            # A long series description must not widen the dock: the box shows the start of
            # the text, its list the whole of it.
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(COMBO_CHARS)

    def needs_case(self) -> list[QWidget]:
        return [self.baseline_btn, self.criteria_combo, self.no_imaging_check, self.search_incomplete_check,
                self.compare_combo, self.series_combo, self.window_combo, self.window_slider]

    # -- hooks -----------------------------------------------------------------------------------
    def on_case(self) -> None:
        self.refresh()
        self.show_images_status()

    def on_timepoint(self) -> None:
        o = self.owner
        s, tp = o.session, o.current_tp
        if s is None or tp is None:
            return
        ids = o.timepoint_ids()
        self.timepoint_list.blockSignals(True)
        self.timepoint_list.setCurrentRow(ids.index(tp))
        self.timepoint_list.blockSignals(False)
        shown = s.timepoints[tp]
        self.no_imaging_check.setChecked(not shown.imaging_done)
        self.search_incomplete_check.setChecked(shown.new_lesion_search == "incomplete")
        self._fill_series()
        self._fill_windows()
        self._fill_compare()
        self.sync_window()

    def refresh(self) -> None:
        o = self.owner
        s = o.session
        self.reader_label.setText(f"Reader: <b>{o.reader_id}</b>")
        if s is None:
            self.subject_label.setText("no case open")
            self.timepoint_list.clear()
            return
        crit = s.criteria or s.settings().criteria
        where = s.path.name if s.path else "not saved yet"
        self.subject_label.setText(f"<b>{s.subject.id}</b>  ·  {crit}  ·  {where}")
        self.criteria_combo.setCurrentText(crit)
        self.timepoint_list.blockSignals(True)
        self.timepoint_list.clear()
        for tp in s.sorted_timepoints():
            phases = ", ".join(sorted({x.phase for x in tp.series or ()}))
            text = f"{'★ ' if tp.id == s.baseline_id else '   '}{tp.id}  {tp.date.isoformat()}"
            if phases:
                text += f"  [{phases}]"
            if not tp.imaging_done:
                text += "  (no imaging)"
            it = QListWidgetItem(text)
            it.setData(Qt.ItemDataRole.UserRole, tp.id)
            self.timepoint_list.addItem(it)
        if o.current_tp in s.timepoints:
            self.timepoint_list.setCurrentRow(o.timepoint_ids().index(o.current_tp))
        self.timepoint_list.blockSignals(False)

    def show_images_status(self) -> None:
        o = self.owner
        if o.session is None:
            self.images_label.setText("")
            self.relink_btn.setVisible(False)
            return
        if o.studies is None:
            self.images_label.setText("<span style='color:#ff8c69'>Images not found</span>")
            self.relink_btn.setVisible(True)
        else:
            self.images_label.setText(f"Images: {o.studies.root}")
            self.relink_btn.setVisible(True)
            self.relink_btn.setText("Other folder…")

    # -- series, window, compare -----------------------------------------------------------------
    def _fill_series(self) -> None:
        o = self.owner
        self.series_combo.clear()
        if o.studies is None or o.session is None or o.current_tp is None:
            return
        for info in o.studies.candidates(o.session.timepoints[o.current_tp]):
            if info.loadable:
                # Burned In Annotation YES: the pixels may show the patient's name or ID.
                burned = " · ⚠ burned-in annotation" if info.burned_in_annotation else ""
                self.series_combo.addItem(f"{info.phase} · {info.description or info.series_uid[-8:]}{burned}",
                                          info.series_uid)
                if burned:
                    self.series_combo.setItemData(
                        self.series_combo.count() - 1,
                        "Burned In Annotation: YES. The pixels may show the patient's name or ID; "
                        "do not share screenshots of this series.", Qt.ItemDataRole.ToolTipRole)
        idx = self.series_combo.findData(o.series_uid(o.current_tp))
        if idx >= 0:
            self.series_combo.setCurrentIndex(idx)

    def _fill_windows(self) -> None:
        o = self.owner
        self.window_combo.clear()
        names = o.window_preset_names()
        for i, name in enumerate(names):
            key = "0" if i == len(names) - 1 else str(i + 1)
            self.window_combo.addItem(name)
            self.window_combo.setItemData(i, f"key {key}", Qt.ItemDataRole.ToolTipRole)
        if o.window_preset in names:
            self.window_combo.setCurrentText(o.window_preset)

    def _fill_compare(self) -> None:
        o = self.owner
        self.compare_combo.clear()
        self.compare_combo.addItem(NO_PRIOR, None)
        if o.session is None or o.current_tp is None:
            return
        for tp in o.session.earlier_timepoints(o.current_tp):
            self.compare_combo.addItem(f"{tp} ({o.session.timepoints[tp].date.isoformat()})", tp)
        idx = self.compare_combo.findData(o.compare_tp)
        self.compare_combo.setCurrentIndex(max(idx, 0))

    def sync_window(self) -> None:
        """Show the current image's display range on the slider."""
        layer = self.owner.current_image_layer()
        if layer is None:
            return
        lo, hi = (float(v) for v in layer.contrast_limits_range)
        a, b = (float(v) for v in layer.contrast_limits)
        self._syncing_window = True
        try:
            self.window_slider.setRange(min(lo, a), max(hi, b))
            self.window_slider.setValue((a, b))
        finally:
            self._syncing_window = False

    def _on_window_slider(self, value: tuple[float, float]) -> None:
        if not self._syncing_window:
            self.owner.set_window_range(float(value[0]), float(value[1]))

    def _on_row(self, row: int) -> None:
        ids = self.owner.timepoint_ids()
        if 0 <= row < len(ids) and ids[row] != self.owner.current_tp:
            self.owner.show_timepoint(ids[row])

    def _on_series(self, index: int) -> None:
        uid = self.series_combo.itemData(index)
        if uid is not None and self.owner.current_tp is not None:
            self.owner.set_series(self.owner.current_tp, uid)

    def _on_flags(self) -> None:
        self.owner.set_timepoint_flags(imaging_done=not self.no_imaging_check.isChecked(),
                                       search_complete=not self.search_incomplete_check.isChecked())

    def _on_compare(self, index: int) -> None:
        self.owner.compare_with(self.compare_combo.itemData(index))


def _range_slider() -> QWidget:
    from superqt import QLabeledDoubleRangeSlider

    slider = QLabeledDoubleRangeSlider(Qt.Orientation.Horizontal)
    slider.setDecimals(0)
    return slider
