"""The main viewer's layers of every timepoint opened so far: which series is shown, its window,
and redrawing lines and masks when the session changes (e.g. after undo)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from napari.utils.notifications import show_error, show_warning

from mrecist_tool.errors import MrecistError

from .._layers import image_layer_data, window_presets
from .._session import MASK_VIABLE, MASK_ZONE, SessionError
from .._studies import for_reader
from . import access
from .timepoint_layers import TimepointLayers

if TYPE_CHECKING:
    from mrecist_tool.dicom import Volume

    from .widget import AssessmentWidget


class LayerSet:
    """Per-timepoint layers of the main viewer (see :class:`~.timepoint_layers.TimepointLayers`)."""

    def __init__(self, owner: AssessmentWidget):
        self.owner = owner
        self.viewer = owner.viewer
        self.layers: dict[str, TimepointLayers] = {}
        self.series_choice: dict[str, str] = {}
        self._presets: dict[str, dict[str, tuple[float, float]]] = {}
        self._reported: set[str] = set()
        self.mask_versions: dict[tuple[str, str], tuple[Any, ...]] = {}
        self._line_versions: dict[str, tuple[Any, ...]] = {}
        self.adopt: dict[str, Any] = {}
        self._connected: set[int] = set()  # mask layers whose paint events are watched

    def clear(self) -> None:
        """Remove every layer and forget series choices (another case, or its images moved)."""
        for layers in self.layers.values():
            layers.remove()
        self.layers.clear()
        self.series_choice.clear()
        self._presets.clear()
        self._reported.clear()
        self.mask_versions.clear()
        self._line_versions.clear()
        self._connected.clear()

    def current(self) -> TimepointLayers | None:
        tp = self.owner.current_tp
        return self.layers.get(tp) if tp is not None else None

    def current_image(self) -> Any:
        layers = self.current()
        return layers.image if layers is not None else None

    # -- series and volumes ----------------------------------------------------------------------
    def _report_once(self, key: str, message: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            show_error(message)

    def volume_for(self, tp: str) -> Volume | None:
        """The volume shown for a timepoint (loaded on first use), or None without images.

        The series is the one chosen, else the one its measurements were made on (reopening
        shows each measurement on its phase), else the preferred phase.  A series that cannot
        be loaded is reported once with the core's reason.
        """
        s, studies = self.owner.session, self.owner.studies
        if s is None or studies is None or tp not in s.timepoints:
            return None
        timepoint = s.timepoints[tp]
        uid = self.series_choice.get(tp)
        if uid is None:
            recorded = s.series_of(tp)
            loadable = {i.series_uid for i in studies.candidates(timepoint) if i.loadable}
            if recorded in loadable:
                uid = recorded
            else:
                info = studies.series_for(timepoint)
                if info is None:
                    self._report_once(f"series {tp}", f"{tp}: no image shown: {studies.why_no_series(timepoint)}")
                    return None
                uid = info.series_uid
        try:
            vol = studies.volume(uid)
        except (MrecistError, OSError, ValueError, KeyError) as exc:
            self._report_once(f"load {uid}", f"{tp}: series not loaded: {for_reader(str(exc))}")
            return None
        recorded_phase = {x.uid: x.phase for x in timepoint.series or ()}
        if uid in recorded_phase:
            vol.phase = recorded_phase[uid]
        self.series_choice[tp] = uid
        s.shown_series[tp] = uid
        return vol

    def can_show(self, tp: str, uid: str) -> bool:
        s, studies = self.owner.session, self.owner.studies
        return bool(s is not None and studies is not None and tp in s.timepoints and any(
            i.series_uid == uid and i.loadable for i in studies.candidates(s.timepoints[tp])))

    def choose_series(self, tp: str, uid: str) -> bool:
        """Show another series of ``tp``; its layers are rebuilt.  True when it changed."""
        if uid == self.series_choice.get(tp):
            return False
        old = self.layers.get(tp)
        self.series_choice[tp] = uid
        vol = self.volume_for(tp)
        if vol is None:
            return False
        if old is not None and old.volume.shape != vol.shape:
            show_warning("this series has another grid: masks are drawn on the series they were painted on")
        if old is not None:
            old.remove()
            del self.layers[tp]
        self.mask_versions = {k: v for k, v in self.mask_versions.items() if k[0] != tp}
        self._line_versions.pop(tp, None)
        return True

    # -- layers ----------------------------------------------------------------------------------
    def ensure(self, tp: str) -> TimepointLayers | None:
        if tp in self.layers:
            return self.layers[tp]
        s = self.owner.session
        vol = self.volume_for(tp)
        if vol is None or s is None:
            return None
        adopted = self.adopt.pop(tp, None)
        if adopted is not None and adopted in self.viewer.layers:
            image = adopted
        else:
            data, kwargs, _ = image_layer_data(vol, f"{tp} {vol.phase}", self.preset_for(tp, vol), timepoint=tp)
            image = self.viewer.add_image(data, **kwargs)
        first = not self.layers
        layers = TimepointLayers(self.viewer, tp, vol, image, qt_viewer=access.qt_viewer(self.viewer))
        self.layers[tp] = layers
        layers.lines.events.data.connect(lambda ev, t=tp: self.owner.editing.on_lines_event(t, ev))
        image.events.contrast_limits.connect(lambda *_, t=tp: self.owner.on_contrast(t))
        for kind in sorted({k for (_, t, k) in s.masks if t == tp}):
            self.connect_mask(tp, layers.mask_layer(kind, s))
        self.render_lines(tp)
        if first or self.viewer.dims.ndim != 3:
            self.viewer.reset_view()
            # Start in the middle of the volume, where a liver usually is.
            self.viewer.dims.set_current_step(0, vol.shape[0] // 2)
        return layers

    def connect_mask(self, tp: str, layer: Any) -> Any:
        kind = MASK_VIABLE if layer.name.startswith(MASK_VIABLE) else MASK_ZONE
        if id(layer) not in self._connected:
            layer.events.paint.connect(lambda ev, t=tp, k=kind: self.owner.editing.on_paint(t, k, ev))
            self._connected.add(id(layer))
        self.mask_versions[(tp, kind)] = self.mask_identity(tp, kind)
        return layer

    def mask_layer(self, tp: str, kind: str) -> Any:
        layers = self.ensure(tp)
        s = self.owner.session
        if layers is None or s is None:
            raise SessionError(f"no images for {tp}")
        layer = self.connect_mask(tp, layers.mask_layer(kind, s))
        if layer.visible != (tp == self.owner.current_tp):  # setting it redraws, even unchanged
            layer.visible = tp == self.owner.current_tp
        return layer

    def show_only(self, tp: str) -> None:
        for t, layers in self.layers.items():
            layers.set_visible(t == tp)

    # -- redrawing from the session --------------------------------------------------------------
    def line_signature(self, tp: str) -> tuple[Any, ...]:
        s = self.owner.session
        if s is None:
            return ()
        out = []
        for i, lid in enumerate(s.lesions):
            obs = s.observation(lid, tp)
            if obs is not None and obs.geometry is not None and obs.geometry.line is not None:
                line = obs.geometry.line
                out.append((i, lid, line, obs.viable_diameter_mm, obs.longest_diameter_mm, obs.short_axis_mm))
        return tuple(out)

    def render_lines(self, tp: str) -> None:
        layers = self.layers.get(tp)
        s = self.owner.session
        if layers is None or s is None:
            return
        layers.render_lines(s, self.owner.selected_lesion(), float(access.camera(self.viewer).zoom))
        self._line_versions[tp] = self.line_signature(tp)

    def forget_lines(self, tp: str) -> None:
        """Redraw ``tp``'s lines next time even if the session did not change (a stray line)."""
        self._line_versions.pop(tp, None)

    def render_changed_lines(self) -> None:
        for tp in list(self.layers):
            if self._line_versions.get(tp) != self.line_signature(tp):
                self.render_lines(tp)

    def relayout_callipers(self) -> None:
        layers = self.current()
        s = self.owner.session
        if layers is not None and s is not None:
            layers.render_callipers(s, float(access.camera(self.viewer).zoom))

    def mask_identity(self, tp: str, kind: str) -> tuple[Any, ...]:
        s = self.owner.session
        if s is None:
            return ()
        return (*((lid, id(e)) for (lid, t, k), e in s.masks.items() if t == tp and k == kind), tuple(s.lesions))

    def render_changed_masks(self) -> None:
        """Redraw the mask layers whose masks changed in the session (undo, redo, removal)."""
        s = self.owner.session
        if s is None:
            return
        for tp, layers in self.layers.items():
            kinds = {k for (_, t, k) in s.masks if t == tp} | set(layers.masks)
            for kind in sorted(kinds):
                identity = self.mask_identity(tp, kind)
                if self.mask_versions.get((tp, kind)) == identity:
                    continue
                if kind not in layers.masks:
                    self.connect_mask(tp, layers.mask_layer(kind, s))
                    layers.masks[kind].visible = tp == self.owner.current_tp
                else:
                    layers.render_masks(s, (kind,))
                self.mask_versions[(tp, kind)] = identity

    # -- window / level --------------------------------------------------------------------------
    def presets_of(self, tp: str, vol: Volume) -> dict[str, tuple[float, float]]:
        if tp not in self._presets:
            self._presets[tp] = window_presets(vol)
        return self._presets[tp]

    def preset_for(self, tp: str, vol: Volume) -> str:
        names = list(self.presets_of(tp, vol))
        return self.owner.window_preset if self.owner.window_preset in names else names[0]

    def preset_names(self) -> list[str]:
        layers = self.current()
        tp = self.owner.current_tp
        if layers is None or tp is None:
            return []
        return list(self.presets_of(tp, layers.volume))

    def apply_preset(self, name: str) -> None:
        """Apply a window preset to every timepoint's image that offers it."""
        for tp, layers in self.layers.items():
            presets = self.presets_of(tp, layers.volume)
            if name in presets:
                layers.image.contrast_limits = presets[name]
