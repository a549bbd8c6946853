"""The contract between the dock widget and its sections."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QSize, Qt
from qtpy.QtGui import QBrush, QColor, QFont
from qtpy.QtWidgets import QGroupBox, QHeaderView, QLabel, QSizePolicy, QTableWidget, QTableWidgetItem, QWidget

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


class ElidedLabel(QLabel):
    """One line that fits whatever width the dock gives it: a long path is elided in the
    middle (its start and its file name stay), shown in full in the tooltip, and ``text()``
    is the full text.  Rich text (a short coloured status) is shown as it is."""

    PREFERRED_WIDTH = 220

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str | None) -> None:
        self._full = text or ""
        self.setToolTip("" if _rich(self._full) else self._full)
        self._elide()

    def text(self) -> str:
        return self._full

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._elide()

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:
        width = self.fontMetrics().horizontalAdvance(self._full) if not _rich(self._full) else super().sizeHint().width()
        return QSize(min(width, self.PREFERRED_WIDTH), super().sizeHint().height())

    def _elide(self) -> None:
        if _rich(self._full):
            super().setText(self._full)
        else:
            super().setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle, max(0, self.width())))


def _rich(text: str) -> bool:
    return text.lstrip().startswith("<")


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
