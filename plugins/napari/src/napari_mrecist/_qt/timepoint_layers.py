"""The napari layers of one timepoint, drawn from the session (never the other way round).

* ``image`` -- the series shown (its phase), scale and translate in mm;
* ``lines`` -- one line per measured lesion, in the lesion's colour;
* ``callipers`` -- each line's length as light text on a dark box edged in the lesion's colour,
  sized in screen pixels (re-laid out when the zoom changes) so it reads on any background;
  shown only on a slice that holds a box (a Shapes layer costs every slice step, empty or not);
* ``viable`` / ``zone`` masks -- label value = the lesion's row (1-based), coloured like the
  lesion: viable tissue filled, the ablation zone as an outline, so the two never look alike.
  Made when there is a mask to show or when painting starts (a volume-sized array each).

All layers share the volume's ``scale`` and ``translate``: data coordinates are the volume's
array indices ``(z, y, x)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from napari.utils.colormaps import DirectLabelColormap

from .._layers import geometry_kwargs
from .._session import MASK_VIABLE, MASK_ZONE, MaskEntry, Session
from . import access
from .colors import LABEL_BACKGROUND, labels_colormap, lesion_color
from .outline_labels import OutlineLabels

if TYPE_CHECKING:
    from mrecist_tool.dicom import Volume

LINE_WIDTH = 0.8  # data units (about a pixel at usual zooms): thin, as callipers are
# Per character width and box height, in screen pixels, of a size-9 label as vispy draws it
# (measured: "L1 11.8 mm" is 96 px wide at 100 dpi; 7 px a character left both ends outside
# the dark box, white on bright liver).
LABEL_PX = (10.5, 18.0)
MASK_STYLE = {MASK_VIABLE: {"opacity": 0.5, "contour": 0}, MASK_ZONE: {"opacity": 0.9, "contour": 2}}


def measure_text(session: Session, lesion: str, tp: str) -> str:
    obs = session.observation(lesion, tp)
    if obs is None:
        return lesion
    for value in (obs.viable_diameter_mm, obs.longest_diameter_mm, obs.short_axis_mm):
        if value is not None:
            return f"{lesion} {value} mm"
    return lesion


class TimepointLayers:
    """The layers of one timepoint in one viewer (the main one or the prior viewer)."""

    def __init__(self, viewer: Any, tp: str, volume: Volume, image: Any, editable: bool = True,
                 qt_viewer: Any = None):
        self.viewer = viewer
        self.tp = tp
        self.volume = volume
        self.image = image
        self.editable = editable
        self.syncing = False  # set while the layers are rewritten from the session
        geo = geometry_kwargs(volume)
        self.lines = viewer.add_shapes(
            name=f"lines {tp}", ndim=3, edge_color=lesion_color(1), edge_width=LINE_WIDTH, **geo,
            features={"lesion": np.array([], dtype=object)},
        )
        self.callipers = viewer.add_shapes(
            name=f"callipers {tp}", ndim=3, edge_width=0.4, face_color=LABEL_BACKGROUND, **geo,
            features={"label": np.array([], dtype=object)},
            text={"string": "{label}", "color": "white", "anchor": "center", "size": 9},
        )
        if qt_viewer is not None:  # a slice step must not recompile their shaders
            for layer in (self.lines, self.callipers):
                access.steady_shape_shaders(qt_viewer, layer)
        self._calliper_slices: frozenset[int] = frozenset()  # the slices holding a calliper box
        self._show_callipers(image.visible)
        viewer.dims.events.current_step.connect(self._on_step)
        self.masks: dict[str, Any] = {}
        self._shown: dict[str, tuple[Any, dict[str, MaskEntry]]] = {}  # what each mask layer shows
        self._geo = geo

    def as_dict(self) -> dict[str, Any]:
        out = {"image": self.image, "lines": self.lines, "callipers": self.callipers}
        out.update(self.masks)
        return out

    # -- masks -----------------------------------------------------------------------------------
    def mask_layer(self, kind: str, session: Session) -> Any:
        """The Labels layer of this timepoint's ``viable`` or ``zone`` masks (made on first use)."""
        if kind in self.masks:
            return self.masks[kind]

        layer = OutlineLabels(
            np.zeros(self.volume.shape, dtype=np.uint8), name=f"{kind} {self.tp}",
            colormap=DirectLabelColormap(color_dict=labels_colormap(len(session.lesions) + 1)),
            opacity=MASK_STYLE[kind]["opacity"], **self._geo)
        layer.contour = MASK_STYLE[kind]["contour"]
        self.viewer.add_layer(layer)
        layer.visible = self.image.visible
        self.masks[kind] = layer
        self._shown[kind] = self._entries(session, kind, layer.data.shape)[0], {}  # all zeros
        self.render_masks(session, (kind,))
        # Lines and their labels stay above the masks.
        for top in (self.lines, self.callipers):
            if top in self.viewer.layers:
                self.viewer.layers.move(self.viewer.layers.index(top), len(self.viewer.layers))
        return layer

    def render_masks(self, session: Session, kinds: tuple[str, ...] = (MASK_VIABLE, MASK_ZONE),
                     full: bool = False) -> None:
        """Rewrite the mask layers from the session (after growing, undo, removal, reopening).

        Only the box of what changed since the layer was last drawn is rewritten (a grown zone
        is a few thousand voxels of a 79-million-voxel series); a change of the lesions' order
        or number, which renumbers labels, rewrites the whole layer, as does ``full`` (strokes
        the session did not take must go)."""
        for kind in kinds:
            layer = self.masks.get(kind)
            if layer is None:
                continue
            shown = None if full else self._shown.get(kind)
            now = self._entries(session, kind, layer.data.shape)
            if shown is not None and shown[0] == now[0]:
                changed = [lid for lid in shown[1].keys() | now[1].keys() if shown[1].get(lid) is not now[1].get(lid)]
                boxes = [e.bounds() for lid in changed for e in (shown[1].get(lid), now[1].get(lid)) if e is not None]
                box = _union([b for b in boxes if b is not None])
                if box is not None:
                    self._draw(layer, session, now, box)
            else:
                self._draw(layer, session, now, None)
                self.syncing = True
                try:
                    layer.colormap = DirectLabelColormap(color_dict=labels_colormap(len(session.lesions) + 1))
                finally:
                    self.syncing = False
            self._shown[kind] = now

    def note_shown(self, session: Session, kind: str) -> None:
        """The layer shows the session's masks of ``kind`` (its painted strokes were just taken
        into the session)."""
        layer = self.masks.get(kind)
        if layer is not None:
            self._shown[kind] = self._entries(session, kind, layer.data.shape)

    def _entries(self, session: Session, kind: str,
                 shape: tuple[int, ...]) -> tuple[tuple[tuple[str, int], ...], dict[str, MaskEntry]]:
        """(each lesion's label value, the masks of ``kind`` drawn on this layer)."""
        labels = tuple((lid, session.lesion_index(lid)) for lid in session.lesions)
        entries = {lid: entry for (lid, t, k), entry in session.masks.items()
                   if t == self.tp and k == kind and lid in session.lesions and entry.array.shape == shape}
        return labels, entries

    def _draw(self, layer: Any, session: Session, now: tuple[Any, dict[str, MaskEntry]],
              box: tuple[slice, ...] | None) -> None:
        where = box if box is not None else tuple(slice(0, n) for n in layer.data.shape)
        data = np.zeros(tuple(s.stop - s.start for s in where), dtype=np.uint8)
        for lid, entry in now[1].items():
            data[entry.array[where]] = session.lesion_index(lid)
        self.syncing = True
        try:
            if box is None:
                if not np.array_equal(data, layer.data):
                    layer.data = data
            elif not np.array_equal(data, layer.data[where]):
                layer.data[where] = data
                layer.refresh()
        finally:
            self.syncing = False

    # -- lines and callipers ---------------------------------------------------------------------
    def render_lines(self, session: Session, selected: str | None, zoom: float) -> None:
        """Redraw every lesion's line of this timepoint from the session."""
        data, ids, colors = [], [], []
        for lid in session.lesions:
            pts = session.line_lps(lid, self.tp)
            if pts is None:
                continue
            data.append(self.volume.lps_to_index(pts))
            ids.append(lid)
            colors.append(lesion_color(session.lesion_index(lid)))
        layer = self.lines
        self.syncing = True
        try:
            layer.selected_data = set()
            if len(layer.data):
                layer.data = []
            if data:
                layer.add_lines(data, edge_color=colors, edge_width=LINE_WIDTH)
            layer.features = {"lesion": np.array(ids, dtype=object)}
        finally:
            self.syncing = False
        self.set_drawing_lesion(session, selected)
        self.render_callipers(session, zoom)

    def set_drawing_lesion(self, session: Session, lesion: str | None) -> None:
        """A line drawn from now on belongs to ``lesion`` (none: it is a stray line)."""
        self.lines.feature_defaults = {"lesion": lesion or ""}
        if lesion is not None and lesion in session.lesions:
            self.lines.current_edge_color = lesion_color(session.lesion_index(lesion))

    def render_callipers(self, session: Session, zoom: float) -> None:
        """Each line's length in a box beside its end, sized in screen pixels at ``zoom``."""
        rects, labels, colors = [], [], []
        sy, sx = float(self.volume.spacing[1]), float(self.volume.spacing[2])
        per_px_y, per_px_x = 1.0 / (max(zoom, 1e-6) * sy), 1.0 / (max(zoom, 1e-6) * sx)
        for lid in session.lesions:
            pts = session.line_lps(lid, self.tp)
            if pts is None:
                continue
            ends = self.volume.lps_to_index(pts)
            end = ends[int(np.argmax(ends[:, 2]))]  # the right-hand end
            text = measure_text(session, lid, self.tp)
            width = (len(text) * LABEL_PX[0] + 10) * per_px_x
            height = LABEL_PX[1] * per_px_y
            z, y0, x0 = float(end[0]), float(end[1]) - height / 2, float(end[2]) + 8 * per_px_x
            rects.append(np.array([[z, y0, x0], [z, y0, x0 + width], [z, y0 + height, x0 + width],
                                   [z, y0 + height, x0]]))
            labels.append(text)
            colors.append(lesion_color(session.lesion_index(lid)))
        layer = self.callipers
        self.syncing = True
        try:
            if len(layer.data):
                layer.data = []
            if rects:
                layer.add_rectangles(rects, edge_color=colors, face_color=LABEL_BACKGROUND)
            layer.features = {"label": np.array(labels, dtype=object)}
            layer.refresh_text()
            self._calliper_slices = frozenset(round(float(r[0, 0])) for r in rects)
            self._show_callipers(self.image.visible)
        finally:
            self.syncing = False

    def _on_step(self, _event: Any = None) -> None:
        if self.image.visible:
            self._show_callipers(True)

    def _show_callipers(self, timepoint_shown: bool) -> None:
        # A Shapes layer costs napari a slice and a draw on every slice step, empty or not (~7 ms of
        # the 50 a step may take).  The calliper boxes are display-only and each lies on its line's
        # slice, so the layer is shown only on a slice that holds one.
        on = timepoint_shown and self._calliper_on_this_slice()
        if self.callipers.visible != on:  # setting it redraws, even unchanged
            self.callipers.visible = on

    def _calliper_on_this_slice(self) -> bool:
        if not self._calliper_slices:
            return False
        dims = self.viewer.dims
        if tuple(dims.not_displayed) != (0,):  # the axes were rolled: napari decides what is shown
            return True
        z = round(float(self.callipers.world_to_data(dims.point)[0]))
        return z in self._calliper_slices

    # -- visibility ------------------------------------------------------------------------------
    def set_visible(self, on: bool) -> None:
        for layer in self.as_dict().values():
            if layer is not self.callipers:
                layer.visible = on
        self._show_callipers(on)

    def remove(self) -> None:
        self.viewer.dims.events.current_step.disconnect(self._on_step)
        for layer in self.as_dict().values():
            if layer in self.viewer.layers:
                self.viewer.layers.remove(layer)
        self.masks.clear()
        self._shown.clear()


def _union(boxes: list[tuple[slice, ...]]) -> tuple[slice, ...] | None:
    """The smallest box holding every box (``None`` for none)."""
    if not boxes:
        return None
    return tuple(slice(min(b[i].start for b in boxes), max(b[i].stop for b in boxes)) for i in range(len(boxes[0])))
