"""The few napari internals the plugin needs, in one place.

napari has no public API for the canvas's Qt widget (PACS-style mouse and keys are installed on
it as an event filter), for the main window (to ask before it closes with unsaved work), or for
a second canvas (the linked prior viewer is napari's *multiple viewers* pattern: a
``ViewerModel`` with its own ``QtViewer``).  Should napari rename these, only this module
changes.
"""

from __future__ import annotations

from typing import Any


def unwrap(viewer: Any) -> Any:
    """The viewer itself, not napari's ``PublicOnlyProxy`` around it (a widget built by napari
    receives the proxy, which warns on, and wraps the results of, the accesses below; Qt
    refuses the wrapped widgets)."""
    return getattr(viewer, "__wrapped__", viewer)


def qt_viewer(viewer: Any) -> Any:
    """The ``QtViewer`` of a napari ``Viewer``."""
    return viewer.window._qt_viewer


def canvas_widget(qtv: Any) -> Any:
    """The native Qt widget of a ``QtViewer``'s canvas (receives mouse and keys)."""
    return qtv.canvas.native


def main_window(viewer: Any) -> Any:
    """The ``QMainWindow`` of a napari ``Viewer``."""
    return viewer.window._qt_window


def new_qt_viewer(model: Any) -> Any:
    """A ``QtViewer`` (canvas, no window) for a ``ViewerModel``."""
    from napari._qt.qt_viewer import QtViewer

    return QtViewer(model)


def side_docks(viewer: Any) -> list[Any]:
    """napari's own docks beside the canvas (layer controls and layer list)."""
    qtv = qt_viewer(viewer)
    return [d for d in (getattr(qtv, "dockLayerControls", None), getattr(qtv, "dockLayerList", None))
            if d is not None]


def text_overlay(viewer: Any) -> Any:
    """The canvas's text overlay (``viewer.canvas.overlays["text"]`` since napari 0.9)."""
    canvas = getattr(viewer, "canvas", None)
    overlays = getattr(canvas, "overlays", None)
    if overlays is not None and "text" in overlays:
        return overlays["text"]
    return viewer.text_overlay


def camera(viewer: Any) -> Any:
    """The viewer's camera (``viewer.scene.camera`` since napari 0.9, ``viewer.camera`` before)."""
    scene = getattr(viewer, "scene", None)
    return scene.camera if scene is not None and hasattr(scene, "camera") else viewer.camera
