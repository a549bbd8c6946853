"""The contract between the dock widget and its sections."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Qt
from qtpy.QtGui import QBrush, QColor, QFont
from qtpy.QtWidgets import QGroupBox, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

if TYPE_CHECKING:
    from ..widget import AssessmentWidget

EMPHASIS = "#ff8c69"  # progression and not evaluable stand out


class Panel(QGroupBox):
    """A section of the dock.  Override what it needs; every hook has a default that does
    nothing.  ``owner`` is the :class:`~napari_mrecist._qt.widget.AssessmentWidget`."""

    heading = ""

    def __init__(self, owner: AssessmentWidget):
        super().__init__(self.heading)
        self.owner = owner

    def on_case(self) -> None:
        """A case was opened (``owner.session``) or closed (``None``)."""

    def on_timepoint(self) -> None:
        """``owner.current_tp`` changed."""

    def on_selection(self) -> None:
        """The selected lesion changed."""

    def refresh(self) -> None:
        """The session changed (any edit, undo or redo)."""

    def needs_case(self) -> list[QWidget]:
        """Controls enabled only while a case is open."""
        return []

    @staticmethod
    def slot(fn: Any, *args: Any) -> Any:
        """A Qt slot calling ``fn(*args)`` (whatever the signal passes, whatever ``fn`` returns)."""

        def run(*_: Any) -> None:
            fn(*args)

        return run


def header(table: QTableWidget) -> QHeaderView:
    h = table.horizontalHeader()
    assert h is not None
    return h


def vheader(table: QTableWidget) -> QHeaderView:
    h = table.verticalHeader()
    assert h is not None
    return h


def item(text: str, tooltip: str = "", bold: bool = False, editable: bool = False,
         background: str | None = None, data: Any = None) -> QTableWidgetItem:
    it = QTableWidgetItem(text)
    if not editable:
        it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsEditable)  # type: ignore[arg-type]
    if tooltip:
        it.setToolTip(tooltip)
    if bold:
        f = QFont()
        f.setBold(True)
        it.setFont(f)
        it.setForeground(QBrush(QColor(EMPHASIS)))
    if background:
        it.setBackground(QBrush(QColor(background)))
        it.setForeground(QBrush(QColor("black")))
    if data is not None:
        it.setData(Qt.ItemDataRole.UserRole, data)
    return it


def table_text(table: QTableWidget) -> list[dict[str, str]]:
    """A table's visible text, row by row, keyed by column header (tests, screenshots)."""
    out = []
    for r in range(table.rowCount()):
        row = {}
        for c in range(table.columnCount()):
            head, it = table.horizontalHeaderItem(c), table.item(r, c)
            row[head.text() if head else str(c)] = it.text() if it else ""
        out.append(row)
    return out
