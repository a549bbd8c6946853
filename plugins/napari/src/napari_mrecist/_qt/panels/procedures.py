"""Procedures: ablations (and resections, systemic therapy) with their date, technique and the
lesions they treated."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from qtpy.QtCore import QDate, Qt
from qtpy.QtWidgets import (
    QComboBox,
    QDateEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mrecist_tool.model import PROCEDURE_TYPES

from ..flow import FlowLayout
from .base import Panel

if TYPE_CHECKING:
    from ..widget import AssessmentWidget


class ProcedurePanel(Panel):
    heading = "Procedures (ablations)"

    def __init__(self, owner: AssessmentWidget):
        super().__init__(owner)
        lay = QVBoxLayout(self)
        self.procedure_list = QListWidget()
        self.procedure_list.setMaximumHeight(64)
        lay.addWidget(self.procedure_list)
        row = FlowLayout()
        self.type_combo = QComboBox()
        self.type_combo.addItems(list(PROCEDURE_TYPES))
        self.date_edit = QDateEdit()
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("yyyy-MM-dd")
        self.technique_combo = QComboBox()
        self.technique_combo.setEditable(True)
        self.technique_combo.addItems(["MWA", "RFA", "IRE", "cryo", ""])
        self.add_btn = QPushButton("Add for selected")
        self.add_btn.setToolTip("Add the procedure for the lesions selected in the table")
        self.add_btn.clicked.connect(self._on_add)
        self.remove_btn = QPushButton("Remove")
        self.remove_btn.clicked.connect(self._on_remove)
        for w in (self.type_combo, self.date_edit, self.technique_combo, self.add_btn, self.remove_btn):
            row.addWidget(w)
        lay.addLayout(row)

    def needs_case(self) -> list[QWidget]:
        return [self.add_btn, self.remove_btn]

    def on_case(self) -> None:
        self.refresh()

    def on_timepoint(self) -> None:
        s, tp = self.owner.session, self.owner.current_tp
        if s is not None and tp is not None:
            d = s.timepoints[tp].date  # a procedure is usually dated near the study shown
            self.date_edit.setDate(QDate(d.year, d.month, d.day))

    def refresh(self) -> None:
        s = self.owner.session
        self.procedure_list.clear()
        if s is None:
            return
        for p in sorted(s.procedures.values(), key=lambda p: p.date):
            it = QListWidgetItem(f"{p.id}  {p.type}  {p.date.isoformat()}  {', '.join(p.lesions)}"
                                 + (f"  {p.technique}" if p.technique else ""))
            it.setData(Qt.ItemDataRole.UserRole, p.id)
            self.procedure_list.addItem(it)

    def _on_add(self) -> None:
        q = self.date_edit.date()
        self.owner.add_procedure(self.type_combo.currentText(), dt.date(q.year(), q.month(), q.day()),
                                 self.owner.selected_lesions(), self.technique_combo.currentText().strip() or None)

    def _on_remove(self) -> None:
        it = self.procedure_list.currentItem()
        if it is not None:
            self.owner.remove_procedure(it.data(Qt.ItemDataRole.UserRole))
