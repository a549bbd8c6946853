"""Results: the engine's categories per timepoint and per ablated lesion, recomputed on every
edit, each cell's tooltip naming the rules behind it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtWidgets import QHeaderView, QLabel, QTableWidget, QVBoxLayout

from ... import _results
from .base import Panel, header, item, table_text, vheader

if TYPE_CHECKING:
    from ..widget import AssessmentWidget


class ResultsPanel(Panel):
    heading = "Results"

    def __init__(self, owner: AssessmentWidget):
        super().__init__(owner)
        self.setToolTip("Recomputed on every edit; hover over a cell for the rule IDs behind it")
        lay = QVBoxLayout(self)
        self.criteria_note = QLabel("")
        self.criteria_note.setWordWrap(True)
        self.criteria_note.setStyleSheet("color: #ff8c69")
        lay.addWidget(self.criteria_note)
        t = self.results_table = QTableWidget(0, len(_results.TIMEPOINT_COLUMNS))
        t.setHorizontalHeaderLabels(list(_results.TIMEPOINT_COLUMNS))
        # The dates are in the timepoint list; hiding them here keeps the categories in view.
        t.setColumnHidden(_results.TIMEPOINT_COLUMNS.index("date"), True)
        vheader(t).setVisible(False)
        header(t).setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        t.setMinimumHeight(110)
        t.setMaximumHeight(170)
        lay.addWidget(t)
        a = self.ablation_table = QTableWidget(0, len(_results.ABLATION_COLUMNS))
        vheader(a).setVisible(False)
        header(a).setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        a.setMaximumHeight(100)
        lay.addWidget(a)
        self.summary_label = QLabel("")
        self.summary_label.setWordWrap(True)
        lay.addWidget(self.summary_label)

    def on_case(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        s = self.owner.session
        if s is None:
            self.results_table.setRowCount(0)
            self.ablation_table.setRowCount(0)
            self.summary_label.setText("")
            self.criteria_note.setText("")
            return
        a = s.assessment()
        rows = _results.timepoint_rows(a)
        self.results_table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, cell in enumerate(row):
                self.results_table.setItem(r, c, item(cell.text, cell.tooltip, cell.emphasis))
        head, arows = _results.ablation_rows(a)
        self.ablation_table.setColumnCount(len(head))
        self.ablation_table.setHorizontalHeaderLabels(head)
        self.ablation_table.setRowCount(len(arows))
        for r, row in enumerate(arows):
            for c, cell in enumerate(row):
                self.ablation_table.setItem(r, c, item(cell.text, cell.tooltip, cell.emphasis))
        summary = _results.summary_line(a)
        self.summary_label.setText(summary.text)
        self.summary_label.setToolTip(summary.tooltip)
        self.criteria_note.setText(self.owner.criteria_note())

    def categories(self) -> dict[str, dict[str, str]]:
        """What the table shows: timepoint → column → text."""
        return {row["timepoint"].split(" ")[0]: row for row in table_text(self.results_table)}
