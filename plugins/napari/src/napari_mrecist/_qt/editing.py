"""Edits: drawing, painting and growing on the canvas, and every change made from the dock --
each one a session call, so each one is stamped, undoable and immediately assessed.

What napari's layers hold is taken into the session (a drawn line, painted strokes) and the
layers are then redrawn from the session, so a stray line or a label that is no lesion's is
removed from the canvas rather than kept out of sight of the saved case.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
from napari.utils.notifications import show_info, show_warning
from qtpy.QtCore import QTimer

from .. import _segment
from .._session import (
    MASK_VIABLE,
    MASK_ZONE,
    NonAxialSeries,
    Session,
    SessionError,
    field_words,
    non_axial_reason,
    series_words,
)
from . import dialogs

if TYPE_CHECKING:
    from .widget import AssessmentWidget

MASK_SYNC_DELAY_MS = 120  # paint strokes arrive in bursts; measure once per burst


class Editing:
    """The reader's edits of the open case (see the module docstring)."""

    def __init__(self, owner: AssessmentWidget):
        self.owner = owner
        self.pending_masks: set[tuple[str, str]] = set()
        self._paint_labels: set[int] = set()
        self.tool: tuple[str, str] | None = None  # ("grow", kind) while waiting for a click
        self.last_grow: tuple[str, str, str, tuple[int, int, int]] | None = None
        self.mask_timer = owner.timer(MASK_SYNC_DELAY_MS, self.sync_masks_now)
        self.lines_timer = owner.timer(0, owner.render_changed)

    def reset(self) -> None:
        self.pending_masks.clear()
        self._paint_labels.clear()
        self.tool = None
        self.last_grow = None
        self.owner.measure_panel.reset_tolerance()  # a new case starts from the default

    def need(self) -> tuple[Session, str, str]:
        """The session, the current timepoint and the selected lesion (or a reason why not)."""
        o = self.owner
        if o.session is None or o.current_tp is None:
            raise SessionError("open a case or a DICOM folder first")
        lid = o.selected_lesion()
        if lid is None:
            raise SessionError("select a lesion in the table first")
        return o.session, o.current_tp, lid

    # -- lines -----------------------------------------------------------------------------------
    def on_lines_event(self, tp: str, event: Any) -> None:
        o = self.owner
        layers = o.layer_set.layers.get(tp)
        s = o.session
        if layers is None or layers.syncing or s is None:
            return
        action = str(getattr(event, "action", "changed"))
        if action.endswith("ing"):
            return
        feats = layers.lines.features
        ids = list(feats["lesion"]) if "lesion" in feats else []
        found: dict[str, np.ndarray] = {}
        stray = 0
        for i, verts in enumerate(layers.lines.data):
            lid = str(ids[i]) if i < len(ids) else ""
            if lid not in s.lesions:
                stray += 1  # drawn with no lesion selected: it changes nothing
                continue
            if len(verts) >= 2:
                found[lid] = np.asarray(verts)[[0, -1]]  # a later line replaces an earlier one
        kept: list[str] = []
        try:
            with s.transaction("line"):
                for lid, verts in found.items():
                    old = s.line_lps(lid, tp)
                    new = layers.volume.index_to_lps(verts)
                    if old is None or not np.allclose(old, new, atol=0.01):
                        s.measure_line(lid, tp, verts[0], verts[1], layers.volume)
                for lid in list(s.lesions):
                    if lid not in found and s.line_lps(lid, tp) is not None:
                        s.remove_line(lid, tp)
                        obs = s.observation(lid, tp)
                        value = getattr(obs, s.measure_field(lid)) if obs is not None else None
                        if value is not None:
                            kept.append(f"{lid} at {tp}: its line was deleted; the diameter {value} mm is "
                                        "kept (draw or type another, mark a status, or Ctrl+Z)")
            for message in kept:  # the row still shows the number: say why
                show_info(message)
        except SessionError as exc:
            # Nothing was recorded (the transaction is undone): the refused line (e.g. drawn on
            # a coronal series, NonAxialSeries) must not stay on the canvas either.
            show_warning(str(exc))
            o.layer_set.forget_lines(tp)
        if stray:
            show_warning("select a lesion in the table before drawing its line: the line was not kept")
            o.layer_set.forget_lines(tp)  # redraw from the session: the stray line goes
        # Redraw from the session once napari has finished this event.
        self.lines_timer.start()

    def start_line(self) -> None:
        s, _tp, lid = self.need()
        layers = self.owner.layer_set.current()
        if layers is None:
            raise SessionError("no images for this timepoint: type the diameter instead")
        self.stop_tool()
        layers.set_drawing_lesion(s, lid)
        self.owner.viewer.layers.selection.active = layers.lines
        layers.lines.mode = "add_line"

    # -- painting --------------------------------------------------------------------------------
    def start_paint(self, kind: str) -> None:
        s, tp, lid = self.need()
        self.stop_tool()
        layer = self.owner.layer_set.mask_layer(tp, kind)
        layer.selected_label = s.lesion_index(lid)
        self.owner.viewer.layers.selection.active = layer
        layer.mode = "paint"

    def on_paint(self, tp: str, kind: str, event: Any) -> None:
        layers = self.owner.layer_set.layers.get(tp)
        if layers is None or layers.syncing:
            return
        self.pending_masks.add((tp, kind))
        for atom in event.value or ():
            with contextlib.suppress(Exception):
                if isinstance(atom, tuple) and len(atom) == 3:
                    self._paint_labels.update(int(v) for v in np.unique(atom[1]))
                    self._paint_labels.add(int(atom[2]))
                elif hasattr(atom, "old_values"):
                    self._paint_labels.update(int(v) for v in np.unique(atom.old_values))
                    self._paint_labels.add(int(atom.new_value))
        self._paint_labels.add(int(layers.masks[kind].selected_label))
        self.mask_timer.start()

    def sync_masks_now(self) -> None:
        """Take painted strokes into the session now (saving, undo and tests do not wait)."""
        self.mask_timer.stop()
        o = self.owner
        s = o.session
        pending, self.pending_masks = self.pending_masks, set()
        labels, self._paint_labels = self._paint_labels, set()
        if s is None:
            return
        for tp, kind in sorted(pending):
            layers = o.layer_set.layers.get(tp)
            layer = layers.masks.get(kind) if layers is not None else None
            if layers is None or layer is None:
                continue
            touched = {lab for lab in labels if lab > 0}
            touched |= {s.lesion_index(lid) for (lid, t, k) in s.masks if t == tp and k == kind and lid in s.lesions}
            stray = False
            try:
                with s.transaction(f"paint {kind}"):
                    for lab in sorted(touched):
                        lid = s.lesion_for_label(lab)
                        if lid is None:
                            stray = True
                            continue
                        before = s.masks.get((lid, tp, kind))
                        s.set_mask(lid, tp, kind, layer.data == lab, layers.volume)
                        if s.masks.get((lid, tp, kind)) is before:
                            continue
                        if kind == MASK_VIABLE:
                            # The diameter follows the painted viable tissue at once (MR-V1).
                            _measure_keeping_mask(s, lid, tp, layers.volume)
                        # ... and so does the gap between a focus and its zone (a brush edit of
                        # a grown mask must not leave the gap of the mask before it).
                        self._update_gaps(tp, lid)
            except SessionError as exc:
                show_warning(str(exc))
            o.layer_set.mask_versions[(tp, kind)] = o.layer_set.mask_identity(tp, kind)
            layers.note_shown(s, kind)
            if stray:
                # A label that is no lesion's is not kept, so it is not shown either.
                layers.render_masks(s, (kind,), full=True)
                show_warning("paint with a lesion selected: strokes of other labels were not kept")

    # -- one-click growth ------------------------------------------------------------------------
    def start_grow(self, kind: str) -> None:
        """Wait for a click inside the focus (``viable``) or the ablation zone (``zone``).

        The tolerance belongs to the structure grown: a growth of another structure (another
        lesion, timepoint or kind) starts from the default, so a tolerance raised to take in
        one zone does not leak the next focus into the liver (80 % set for a zone once grew
        a 82-voxel focus to over 34,000 voxels).  Growing the same structure again keeps the tolerance the
        reader set for it.  The slider shows the value the next click will use.
        """
        _, tp, lid = self.need()
        layers = self.owner.layer_set.current()
        if layers is None:
            raise SessionError("no images for this timepoint")
        self.stop_tool()
        if self.last_grow is not None and self.last_grow[:3] != (tp, lid, kind):
            # From now on the slider is the new structure's (it no longer regrows the last one).
            self.last_grow = None
            if self.owner.measure_panel.reset_tolerance():
                show_info(f"Growth tolerance back to {int(_segment.DEFAULT_TOLERANCE * 100)} % for {lid} {kind}")
        self.tool = ("grow", kind)
        self.owner.viewer.layers.selection.active = layers.image
        layers.image.mode = "pan_zoom"
        what = "the viable focus" if kind == MASK_VIABLE else "the ablation zone"
        show_info(f"Click inside {what}: its 3D mask grows from there (Esc cancels)")

    def stop_tool(self) -> None:
        self.tool = None
        layers = self.owner.layer_set.current()
        if layers is not None:
            for layer in (layers.lines, *layers.masks.values()):
                if layer.mode != "pan_zoom":
                    layer.mode = "pan_zoom"

    def on_canvas_press(self, viewer: Any, event: Any) -> None:
        if self.tool is None or self.tool[0] != "grow" or getattr(event, "button", 1) != 1:
            return
        layers = self.owner.layer_set.current()
        if layers is None:
            return
        kind = self.tool[1]
        data = np.asarray(layers.image.world_to_data(event.position), dtype=float)
        seed = tuple(round(v) for v in data[-3:])
        if not all(0 <= c < n for c, n in zip(seed, layers.volume.shape, strict=True)):
            show_warning("click inside the image")
            return
        self.tool = None
        try:
            self.grow_at(seed, kind)
        except SessionError as exc:
            show_warning(str(exc))
            return
        # Editable at once with the brush.
        QTimer.singleShot(0, lambda: self.owner.run_action("paint_viable" if kind == MASK_VIABLE else "paint_zone"))

    def grow_at(self, seed: tuple[int, int, int], kind: str, tolerance: float | None = None) -> _segment.Growth:
        """Grow the selected lesion's 3D ``viable`` or ``zone`` mask from ``seed`` (z, y, x) on the
        series shown, then measure: the diameter from a viable mask, and the gap to the
        ablation zone whenever both a focus and its zone are there."""
        s, tp, lid = self.need()
        layers = self.owner.layer_set.current()
        if layers is None:
            raise SessionError("no images for this timepoint")
        vol = layers.volume
        tol = self.owner.measure_panel.tolerance_value if tolerance is None else tolerance
        growth = _segment.grow(vol.array, vol.spacing, seed, kind, tol)
        self.owner.layer_set.mask_layer(tp, kind)
        with s.transaction(f"grow {kind}"):
            s.set_mask(lid, tp, kind, growth.mask, vol)
            if kind == MASK_VIABLE:
                _measure_keeping_mask(s, lid, tp, vol)
            self._update_gaps(tp, lid)
        self.last_grow = (tp, lid, kind, seed)
        show_info(f"{lid} {kind}: {growth.voxels} voxels grown (values {growth.low:.0f} to {growth.high:.0f})")
        if growth.cut_at_mm is not None:
            # The mask ends at a face of the search box, not at the structure's edge: say so.
            show_warning(f"{lid} {kind} at {tp}: the grown region reached the side of the "
                         f"{2 * growth.cut_at_mm:.0f} mm search box and was cut there -- it has most likely "
                         "leaked beyond the structure: lower the growth tolerance, or paint it")
        return growth

    def _update_gaps(self, tp: str, lesion: str) -> None:
        """Recompute the focus-to-zone gaps a new mask of ``lesion`` affects."""
        s = self.owner.session
        assert s is not None
        for lid in list(s.lesions):
            focus = s.mask(lid, tp, MASK_VIABLE)
            if focus is None or not focus.any():
                continue
            obs = s.observation(lid, tp)
            zone_of = (obs.near_lesion if obs is not None and obs.near_lesion else None) or lid
            zone = s.mask(zone_of, tp, MASK_ZONE)
            if zone is not None and zone.any() and lesion in (lid, zone_of):
                try:
                    s.gap_from_masks(lid, tp, zone_of)
                except SessionError as exc:  # e.g. painted on different grids: keep the mask
                    show_warning(f"the gap of {lid} at {tp} was not updated: {exc}")

    def regrow(self) -> None:
        """Grow the last grown structure again with the tolerance now set."""
        o = self.owner
        if self.last_grow is None or o.session is None:
            return
        tp, lid, kind, seed = self.last_grow
        if tp != o.current_tp or lid not in o.session.lesions:
            return
        o.select_lesion(lid)
        with contextlib.suppress(SessionError):
            self.grow_at(seed, kind)

    # -- measurements from masks -----------------------------------------------------------------
    def measure_from_mask(self) -> None:
        s, tp, lid = self.need()
        self.sync_masks_now()
        layers = self.owner.layer_set.current()
        s.measure_mask(lid, tp, layers.volume if layers is not None else None)

    def gap_from_masks(self) -> None:
        s, tp, lid = self.need()
        self.sync_masks_now()
        near = self.owner.measure_panel.near_combo.currentText() or None
        obs = s.gap_from_masks(lid, tp, near)
        show_info(f"{lid} at {tp}: gap to the ablation zone {obs.gap_to_ablation_zone_mm} mm")

    # -- statuses and numbers --------------------------------------------------------------------
    def mark(self, status: str) -> None:
        s, tp, lid = self.need()
        s.set_status(lid, tp, status)

    def set_diameter(self, value: float) -> None:
        s, tp, lid = self.need()
        fname = s.measure_field(lid)
        obs = s.set_measurement(lid, tp, Decimal(str(round(value, 1))))
        self._warn_typed_off_axial(lid, tp, field_words(fname), getattr(obs, fname))

    def _warn_typed_off_axial(self, lid: str, tp: str, words: str, value: Decimal | None) -> None:
        """A typed diameter is the reader's own measurement -- maybe read on axial images on
        another workstation -- so it is kept even while a coronal, sagittal or oblique series is
        shown (response-rules.md has no rule refusing a reported value; REC-M1 only asks for the
        measurement plane).  A line or a mask on such a series gives no diameter
        (:class:`NonAxialSeries`), so the reader is told this number did not come from it."""
        layers = self.owner.layer_set.current()
        reason = non_axial_reason(layers.volume.direction) if layers is not None else None
        if reason is None or layers is None or value is None:
            return
        show_warning(f"{lid} at {tp}: the typed {words} {value} mm is kept as typed, but the series shown"
                     f"{series_words(layers.volume)} is not axial -- {reason}. Keep it only "
                     "if it was measured on axial images (Ctrl+Z undoes it)")

    def set_new_lesion_details(self, enhancement: str | None, equivocal: bool, near_lesion: str | None = None) -> None:
        s, tp, lid = self.need()
        with s.transaction("new lesion details"):
            if s.observation(lid, tp) is None:
                s.set_status(lid, tp, "present")
            s.update_observation(lid, tp, enhancement=enhancement or None, equivocal=equivocal,
                                 near_lesion=near_lesion or None)

    # -- undo ------------------------------------------------------------------------------------
    def undo(self) -> None:
        s = self.owner.session
        if s is None:
            return
        self.sync_masks_now()  # a stroke still in flight becomes its own step first
        label = s.undo()
        show_info(f"undone: {label}" if label else "nothing to undo")

    def redo(self) -> None:
        s = self.owner.session
        if s is None:
            return
        self.sync_masks_now()
        label = s.redo()
        show_info(f"redone: {label}" if label else "nothing to redo")

    # -- lesions, procedures, timepoints ---------------------------------------------------------
    def add_lesion(self, role: str, kind: str = "tumor", organ: str = "liver", site: str | None = None) -> str | None:
        """Add a lesion and select it; over the target limits it is refused with a warning
        (the rules package counts, REC-B1 / MR-B3)."""
        o = self.owner
        if o.session is None:
            show_warning("open a case or a DICOM folder first")
            return None
        try:
            les = o.session.add_lesion(role, kind=kind, organ=organ, site=site, enforce_limits=True)
        except SessionError as exc:
            show_warning(f"Lesion not added: {exc}")
            o.lesion_panel.limit_label.setText(str(exc))
            return None
        o.select_lesion(les.id)
        return les.id

    def update_lesion(self, lesion: str, **changes: Any) -> None:
        """Change a lesion's role, kind, organ or site (undoable)."""
        o = self.owner
        if o.session is None:
            return
        try:
            o.session.update_lesion(lesion, **changes)
        except SessionError as exc:
            show_warning(str(exc))
            o.lesion_panel.refresh()
            return
        for warning in o.session.target_limit_warnings():
            show_warning(warning)

    def remove_lesions(self, lesions: list[str], confirm: bool = True) -> bool:
        """Remove lesions with their observations and masks, after asking (undoable)."""
        o = self.owner
        s = o.session
        if s is None or not lesions:
            return False
        n = sum(1 for (lid, _) in s.observations if lid in lesions)
        if confirm and not dialogs.confirm_remove(o, lesions, n):
            return False
        with s.transaction("remove lesion"):
            for lid in lesions:
                s.remove_lesion(lid)
        return True

    def add_procedure(self, type_: str, when: dt.date, lesions: list[str], technique: str | None = None) -> str | None:
        s = self.owner.session
        if s is None:
            return None
        try:
            return s.add_procedure(type_, when, lesions, technique).id
        except SessionError as exc:
            show_warning(str(exc))
            return None

    def remove_procedure(self, procedure_id: str) -> None:
        if self.owner.session is not None:
            self.owner.session.remove_procedure(procedure_id)

    def set_criteria(self, criteria: str) -> None:
        o = self.owner
        if o.session is None:
            return
        o.session.set_criteria(criteria)
        note = o.criteria_note()
        if note:
            show_warning(note)

    def set_timepoint_flags(self, imaging_done: bool | None = None, search_complete: bool | None = None) -> None:
        o = self.owner
        if o.session is not None and o.current_tp is not None:
            o.session.set_timepoint_flags(o.current_tp, imaging_done=imaging_done, search_complete=search_complete)

    def set_baseline(self) -> None:
        o = self.owner
        if o.session is not None and o.current_tp is not None:
            o.session.set_baseline(o.current_tp)


def _measure_keeping_mask(s: Session, lesion: str, tp: str, volume: Any) -> None:
    """The diameter from a freshly painted or grown viable mask; on a non-axial series the mask
    is kept and the reader is told why no diameter was taken (a refusal must not undo paint)."""
    try:
        s.measure_mask(lesion, tp, volume)
    except NonAxialSeries as exc:
        show_warning(str(exc))
