"""Lesions: the table (colour legend, role and site editable in place, what counted at this
timepoint and the gap to the ablation zone), adding and removing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QItemSelectionModel
from qtpy.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyledItemDelegate,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from mrecist_tool.model import KINDS, ROLES

from ... import _results
from ..colors import lesion_color
from ..flow import FlowLayout
from .base import Panel, header, item, vheader

if TYPE_CHECKING:
    from ..widget import AssessmentWidget

COLUMNS = ("id", "role", "kind", "organ", "site", "this timepoint", "gap")
EDITABLE = {"role": "role", "kind": "kind", "organ": "organ", "site": "site"}
CHOICES = {"role": ROLES, "kind": KINDS}
SHOWN_FIRST = ("id", "gap", "this timepoint")
GAP_TIP = "gap from the focus to the ablation zone (0 = contiguous)"


class _ChoiceDelegate(QStyledItemDelegate):
    """A combo box to edit a column whose values are fixed (role, kind)."""

    def __init__(self, choices: tuple[str, ...], parent: Any):
        super().__init__(parent)
        self.choices = choices

    def createEditor(self, parent: Any, option: Any, index: Any) -> QComboBox:
        combo = QComboBox(parent)
        combo.addItems(list(self.choices))
        return combo

    def setEditorData(self, editor: Any, index: Any) -> None:
        editor.setCurrentText(index.data() or "")

    def setModelData(self, editor: Any, model: Any, index: Any) -> None:
        model.setData(index, editor.currentText())


class LesionPanel(Panel):
    heading = "Lesions"

    def __init__(self, owner: AssessmentWidget):
        super().__init__(owner)
        lay = QVBoxLayout(self)
        t = self.table = QTableWidget(0, len(COLUMNS))
        t.setHorizontalHeaderLabels(list(COLUMNS))
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        t.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked  # type: ignore[arg-type]
                          | QAbstractItemView.EditTrigger.EditKeyPressed)
        header(t).setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header(t).setStretchLastSection(True)
        vheader(t).setVisible(False)
        t.setMinimumHeight(90)
        t.setMaximumHeight(160)
        t.setToolTip("Double-click a role, kind, organ or site to change it")
        for name, choices in CHOICES.items():
            t.setItemDelegateForColumn(COLUMNS.index(name), _ChoiceDelegate(choices, t))
        # Shown first, beside the id: the gap and what counted now.  The dock is ~360 px wide,
        # and the table scrolls sideways; the gap (the LTP number, ABL-6) must not be the
        # column scrolled out of sight.  Only the visual order changes (COLUMNS stays the model's).
        for visual, name in enumerate(SHOWN_FIRST):
            header(t).moveSection(header(t).visualIndex(COLUMNS.index(name)), visual)
        gap_header = t.horizontalHeaderItem(COLUMNS.index("gap"))
        if gap_header is not None:
            gap_header.setToolTip(GAP_TIP)
        t.itemSelectionChanged.connect(lambda: owner.on_lesion_selected())
        t.itemChanged.connect(self._on_item_changed)
        lay.addWidget(t)

        grid = FlowLayout()
        self.role_combo = QComboBox()
        self.role_combo.addItems(list(ROLES))
        self.kind_combo = QComboBox()
        self.kind_combo.addItems(list(KINDS))
        self.organ_edit = QLineEdit("liver")
        self.organ_edit.setToolTip("Organ (targets: at most 2 per organ, 5 in all by default)")
        self.site_edit = QLineEdit()
        self.site_edit.setPlaceholderText("site, e.g. segment VII")
        self.add_btn = QPushButton("Add lesion")
        self.add_btn.clicked.connect(self._on_add)
        self.remove_btn = QPushButton("Remove…")
        self.remove_btn.setToolTip("Remove the selected lesions (asks first; Ctrl+Z undoes)")
        self.remove_btn.clicked.connect(lambda *_: self._remove())
        for w in (self.role_combo, self.kind_combo, self.organ_edit, self.site_edit, self.add_btn,
                  self.remove_btn):
            grid.addWidget(w)
        lay.addLayout(grid)
        self.limit_label = QLabel("")
        self.limit_label.setStyleSheet("color: #ff8c69")
        self.limit_label.setWordWrap(True)
        lay.addWidget(self.limit_label)
        self._filling = False

    def needs_case(self) -> list[QWidget]:
        return [self.table, self.add_btn, self.remove_btn]

    # -- selection -------------------------------------------------------------------------------
    def selected_lesions(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        out = []
        for r in rows:
            it = self.table.item(r, 0)
            if it is not None:
                out.append(it.text())
        return out

    def select(self, lesion: str | None) -> None:
        if lesion is None:
            self.table.clearSelection()
            return
        for r in range(self.table.rowCount()):
            it = self.table.item(r, 0)
            if it is not None and it.text() == lesion:
                # Only this row, whatever modifier keys Qt believes are held (selectRow adds to
                # the selection while Shift or Ctrl is down, and Remove would take both).
                self.table.setCurrentCell(r, 0, QItemSelectionModel.SelectionFlag.ClearAndSelect  # type: ignore[call-overload]
                                          | QItemSelectionModel.SelectionFlag.Rows)
                return

    def row_of(self, lesion: str) -> int:
        for r in range(self.table.rowCount()):
            it = self.table.item(r, 0)
            if it is not None and it.text() == lesion:
                return r
        raise KeyError(lesion)

    # -- hooks -----------------------------------------------------------------------------------
    def on_case(self) -> None:
        self.refresh()

    def on_timepoint(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        o = self.owner
        s, tp = o.session, o.current_tp
        keep = set(self.selected_lesions())
        t = self.table
        self._filling = True
        t.blockSignals(True)
        try:
            if s is None:
                t.setRowCount(0)
                self.limit_label.setText("")
                return
            a = s.assessment()
            t.setRowCount(len(s.lesions))
            for r, les in enumerate(s.lesions.values()):
                cell = _results.lesion_cell(a, les.id, tp) if tp else _results.Cell("")
                obs = s.observation(les.id, tp) if tp else None
                gap = obs.gap_to_ablation_zone_mm if obs is not None else None
                near = f" to {obs.near_lesion}" if obs is not None and obs.near_lesion and gap is not None else ""
                color = lesion_color(r + 1)
                cells = [
                    item(les.id, "colour of its line and masks", background=color),
                    item(les.role, editable=True),
                    item(les.kind, editable=True),
                    item(les.organ, editable=True),
                    item(les.site or "", editable=True),
                    item(cell.text, cell.tooltip),
                    item(f"{gap} mm{near}" if gap is not None else "",
                         GAP_TIP),
                ]
                for c, it in enumerate(cells):
                    t.setItem(r, c, it)
            t.clearSelection()
            for r, lid in enumerate(s.lesions):
                if lid in keep:
                    t.selectRow(r)
            self.limit_label.setText("\n".join(s.target_limit_warnings()))
        finally:
            t.blockSignals(False)
            self._filling = False

    # -- edits -----------------------------------------------------------------------------------
    def _remove(self) -> None:
        self.owner.remove_lesions(self.owner.selected_lesions())

    def _on_add(self) -> None:
        self.owner.add_lesion(self.role_combo.currentText(), self.kind_combo.currentText(),
                              self.organ_edit.text().strip() or "liver", self.site_edit.text().strip() or None)

    def _on_item_changed(self, it: Any) -> None:
        if self._filling:
            return
        column = COLUMNS[it.column()]
        if column not in EDITABLE:
            return
        lid_item = self.table.item(it.row(), 0)
        if lid_item is None:
            return
        self.owner.update_lesion(lid_item.text(), **{EDITABLE[column]: it.text()})
