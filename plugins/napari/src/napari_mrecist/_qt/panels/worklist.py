"""Worklist: the subjects of a trial export with everyone's reading status; open, next,
previous, mark done.  Hidden until a worklist is opened."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtWidgets import QAbstractItemView, QHBoxLayout, QHeaderView, QPushButton, QTableWidget, QVBoxLayout

from ..._worklist import DONE, IN_PROGRESS
from .base import ElidedLabel, Panel, header, item, vheader

if TYPE_CHECKING:
    from ..widget import AssessmentWidget

STATUS_COLORS = {DONE: "#8fd694", IN_PROGRESS: "#ffd166"}


class WorklistPanel(Panel):
    heading = "Worklist"

    def __init__(self, owner: AssessmentWidget):
        super().__init__(owner)
        lay = QVBoxLayout(self)
        self.folder_label = ElidedLabel("")
        lay.addWidget(self.folder_label)
        t = self.table = QTableWidget(0, 3)
        t.setHorizontalHeaderLabels(["subject", "you", "all readers"])
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        vheader(t).setVisible(False)
        header(t).setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header(t).setStretchLastSection(True)
        t.setMaximumHeight(150)
        t.setToolTip("Double-click a subject to open it")
        t.cellDoubleClicked.connect(lambda row, _c: self.slot(owner.open_worklist_entry, row)())
        lay.addWidget(t)
        row = QHBoxLayout()
        self.previous_btn = QPushButton("◀ Previous")
        self.previous_btn.clicked.connect(self.slot(owner.step_worklist, -1))
        self.next_btn = QPushButton("Next ▶")
        self.next_btn.clicked.connect(self.slot(owner.step_worklist, 1))
        self.done_btn = QPushButton("Mark done")
        self.done_btn.setToolTip("Save this reading and mark it done")
        self.done_btn.clicked.connect(self.slot(owner.mark_reading_done))
        for b in (self.previous_btn, self.next_btn, self.done_btn):
            row.addWidget(b)
        lay.addLayout(row)
        self.setVisible(False)

    def refresh_list(self) -> None:
        wl = self.owner.worklist
        self.setVisible(wl is not None)
        if wl is None:
            return
        self.folder_label.setText(f"{wl.root}  ·  {len(wl.subjects)} subjects")
        reader = self.owner.reader_id
        self.table.setRowCount(len(wl.subjects))
        for r, subject in enumerate(wl.subjects):
            mine = subject.status_of(reader)
            self.table.setItem(r, 0, item(subject.name, str(subject.folder)))
            self.table.setItem(r, 1, item(mine, background=STATUS_COLORS.get(mine)))
            self.table.setItem(r, 2, item(subject.summary()))
        current = self.owner.worklist_index
        if current is not None:
            self.table.blockSignals(True)
            self.table.selectRow(current)
            self.table.blockSignals(False)

    def on_case(self) -> None:
        self.refresh_list()
