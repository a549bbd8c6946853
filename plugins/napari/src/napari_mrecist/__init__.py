"""napari plugin for mrecist-tool: reading liver studies with mRECIST / RECIST 1.1 and
following ablated tumours.

Public API::

    from napari_mrecist import assessment_widget
    widget = assessment_widget(viewer)      # the docked Assessment widget (docked if needed)
    widget.open_dicom("subject/")           # or open_case("case.json"), open_worklist("export/")

Importing this package is cheap: Qt and napari load when the widget is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._qt.widget import AssessmentWidget

__all__ = ["AssessmentWidget", "assessment_widget"]

PLUGIN_NAME = "napari-mrecist"
WIDGET_NAME = "Assessment"


def assessment_widget(viewer: Any) -> AssessmentWidget:
    """The Assessment widget docked in ``viewer`` (docked now when it is not yet)."""
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN_NAME, WIDGET_NAME)
    return widget


def __getattr__(name: str) -> Any:
    if name == "AssessmentWidget":
        from ._qt.widget import AssessmentWidget

        return AssessmentWidget
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
