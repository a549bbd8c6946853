"""The few napari internals the plugin needs, in one place.

napari has no public API for the canvas's Qt widget (PACS-style mouse and keys are installed on
it as an event filter), for the main window (to ask before it closes with unsaved work), or for
a second canvas (the linked prior viewer is napari's *multiple viewers* pattern: a
``ViewerModel`` with its own ``QtViewer``), or for the vispy visual of a layer (see
:func:`steady_shape_shaders`).  Should napari or vispy rename these, only this module changes.
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


def steady_shape_shaders(qtv: Any, layer: Any) -> bool:
    """Stop a Shapes layer's meshes from recompiling their shader program on every slice step.

    On a slice step napari hands the new slice's faces and outlines to vispy's ``MeshVisual``,
    which builds a new colour-transform shader function whenever it takes new data: the program
    is recompiled and relinked, about 20 ms per Shapes layer per step with software OpenGL --
    most of a wheel notch's time.  For colours given per face, per vertex or as one colour
    (what napari passes) the function is the same "pass the colour through" every time, so one
    instance per mesh is kept and reused, and vispy sees nothing changed.  Returns whether the
    layer's visual was found (else nothing changes).
    """
    visual = getattr(getattr(qtv, "canvas", None), "layer_to_visual", {}).get(layer)
    node = getattr(visual, "node", None)
    meshes = [v for v in getattr(node, "_subvisuals", ()) if hasattr(v, "_build_color_transform")]
    for mesh in meshes:
        _reuse_color_transform(mesh)
    return bool(meshes)


def _reuse_color_transform(mesh: Any) -> None:
    build = mesh._build_color_transform
    kept: list[Any] = []

    def reuse(colors: Any) -> Any:
        if colors.ndim == 2 and colors.shape[1] == 1:  # values through a colormap: as vispy does
            return build(colors)
        if not kept:
            kept.append(build(colors))
        return kept[0]

    object.__setattr__(mesh, "_build_color_transform", reuse)  # vispy visuals are frozen
